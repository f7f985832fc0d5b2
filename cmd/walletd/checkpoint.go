package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
)

const checkpointUsage = `Usage:
  walletd checkpoint fetch [--url U] [--token T] [--checkpoint-pubkey P] [--out FILE]
      save the latest signed checkpoint of a running walletd (one JSON line,
      as GET /v1/ledger/checkpoints shows it) to FILE (mode 0600) or, without
      --out or with --out -, to stdout

The signature is checked before anything is saved: with the public key in
--checkpoint-pubkey (a copy you keep), else with the one the server serves.
walletd verify --checkpoint FILE then holds a ledger or an export against
the saved checkpoint (see docs/auditing.md). --token defaults to the
contents of <data-dir>/admin.key: the endpoint needs the admin scope.
`

// runCheckpoint is `walletd checkpoint`.
func runCheckpoint(ctx context.Context, args []string) error {
	return checkpointMain(ctx, args, os.Stdout, os.Stderr)
}

func checkpointMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, checkpointUsage)
		if len(args) == 0 {
			return exitError(2)
		}
		return nil
	}
	if verb := args[0]; verb != "fetch" {
		fmt.Fprintf(stderr, "walletd checkpoint: unknown verb %q\n\n%s", verb, checkpointUsage)
		return exitError(2)
	}
	fs := flag.NewFlagSet("checkpoint fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, checkpointUsage+"\nFlags:\n"); fs.PrintDefaults() }
	cl := &client.Client{}
	dataDir := dataDirFlag(fs)
	fs.StringVar(&cl.BaseURL, "url", "http://127.0.0.1:8080", "base URL of the walletd API")
	fs.StringVar(&cl.Token, "token", "", "admin API token (default: <data-dir>/admin.key)")
	pubPath := fs.String("checkpoint-pubkey", "", "check the signature with this public key, PEM (default: the key the server serves)")
	out := fs.String("out", "", "the file to write (mode 0600); empty or - for stdout")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	} else if fs.NArg() > 0 {
		return fmt.Errorf("checkpoint fetch: unexpected argument %q", fs.Arg(0))
	}
	var pinned ed25519.PublicKey
	if *pubPath != "" {
		var err error
		if pinned, err = keyfile.LoadCheckpointPublicKey(*pubPath); err != nil {
			return err
		}
	}
	if cl.Token == "" {
		var err error
		if cl.Token, err = readToken(dataPaths(*dataDir).AdminKey); err != nil {
			return fmt.Errorf("no --token and no admin key: %w", err)
		}
	}
	cp, served, err := cl.LedgerService().LatestCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint fetch: %w", err)
	}
	checked := "NOT CHECKED: the server serves no public key; give --checkpoint-pubkey"
	switch {
	case pinned != nil:
		if !cp.Verify(pinned) {
			return fmt.Errorf("checkpoint fetch: the checkpoint at seq %d does not verify with %s: not saved", cp.Seq, *pubPath)
		}
		checked = "signature checked with " + *pubPath
		if served != nil && !served.Equal(pinned) {
			checked += " (the server serves another public key)"
		}
	case served != nil:
		if !cp.Verify(served) {
			return fmt.Errorf("checkpoint fetch: the checkpoint at seq %d does not verify with the public key the server serves: not saved", cp.Seq)
		}
		checked = "signature checked with the public key the server serves"
	}
	b, err := json.Marshal(client.NewCheckpointJSON(cp))
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dest := "stdout"
	if *out == "" || *out == "-" {
		if _, err := stdout.Write(b); err != nil {
			return err
		}
	} else {
		if err := keyfile.WriteAtomic(*out, b, 0o600); err != nil {
			return fmt.Errorf("checkpoint fetch: %w", err)
		}
		dest = *out
	}
	fmt.Fprintf(stderr, "saved the checkpoint at seq %d of ledger %s, signed %s, to %s (%s)\n",
		cp.Seq, cp.LedgerID, cp.CreatedAt.Format(walletd.TimeFormat), dest, checked)
	return nil
}

// fileList is a repeatable flag of file names.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ", ") }

func (l *fileList) Set(s string) error {
	if s == "" {
		return errors.New("empty file name")
	}
	*l = append(*l, s)
	return nil
}

// maxCheckpointFile bounds a checkpoint file, which is read whole: a full
// page of the API is about 400 KB.
const maxCheckpointFile = 64 << 20

// readCheckpointFiles reads the checkpoints saved in each file, for
// verify --checkpoint; each is named by its file in verify's problems.
func readCheckpointFiles(names []string) ([]ledger.ExternalCheckpoint, error) {
	var out []ledger.ExternalCheckpoint
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxCheckpointFile+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", name, err)
		} else if len(b) > maxCheckpointFile {
			return nil, fmt.Errorf("checkpoint: %s is larger than %d MiB", name, maxCheckpointFile>>20)
		}
		cps, err := parseCheckpoints(b)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", name, err)
		}
		for _, cp := range cps {
			out = append(out, ledger.ExternalCheckpoint{Checkpoint: cp, Source: name})
		}
	}
	return out, nil
}

// parseCheckpoints reads the signed checkpoints in data: one or more JSON
// values, one a line or not, each one of
//
//   - a ledger.checkpoint event envelope, as published on NATS and as a
//     webhook delivery of the walletpro and standard formats carries it;
//   - the envelope's data alone, as a woocommerce delivery carries it;
//   - an item of GET /v1/ledger/checkpoints (what checkpoint fetch saves);
//   - that endpoint's whole answer, or its data, with several items;
//   - a checkpoint line of an export;
//   - an array of these.
//
// It is strict, because the file comes from outside: a duplicate key, a
// member not of its shape (a key in other case included), a null, a
// number for a string or the reverse, or invalid UTF-8 is an error. It
// does not check signatures; verify does.
func parseCheckpoints(data []byte) ([]*walletd.Checkpoint, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []*walletd.Checkpoint
	for {
		at := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		line := 1 + bytes.Count(data[:at], []byte("\n")) + leadingNewlines(data[at:])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		} else if err := walletd.CheckRawJSON("the value", raw); err != nil {
			return nil, fmt.Errorf("line %d: %s", line, walletd.ErrorMessage(err))
		}
		cps, err := checkpointsOf(raw, true)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, cps...)
	}
	if len(out) == 0 {
		return nil, errors.New("no checkpoint in it")
	}
	return out, nil
}

// leadingNewlines counts the line ends in the white space that starts b.
func leadingNewlines(b []byte) int {
	n := 0
	for _, c := range b {
		switch c {
		case '\n':
			n++
		case ' ', '\t', '\r':
		default:
			return n
		}
	}
	return n
}

// The members of each shape parseCheckpoints reads.
var (
	envelopeMembers   = members("id", "event", "api_version", "created_at", "site_url", "data", "test")
	answerMembers     = members("success", "data")
	pageMembers       = members("items", "public_key")
	checkpointMembers = members("seq", "ledger_id", "head_hash", "created_at", "signature", "message", "record")
)

func members(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkpointsOf reads one value of a checkpoint file; array says whether
// it may be an array (only at the top).
func checkpointsOf(raw json.RawMessage, array bool) ([]*walletd.Checkpoint, error) {
	if array && len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var out []*walletd.Checkpoint
		for i, item := range items {
			cps, err := checkpointsOf(item, false)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out = append(out, cps...)
		}
		return out, nil
	}
	obj, err := object(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case obj["event"] != nil: // an event envelope
		if err := only(obj, envelopeMembers, "an event envelope"); err != nil {
			return nil, err
		}
		var event string
		if err := member(obj, "event", &event); err != nil {
			return nil, err
		} else if event != events.LedgerCheckpoint {
			return nil, fmt.Errorf("an event %s, not %s", walletd.QuoteInput(event), events.LedgerCheckpoint)
		}
		cp, err := checkpointObject(obj["data"])
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		return []*walletd.Checkpoint{cp}, nil
	case obj["success"] != nil: // an answer of the API
		if err := only(obj, answerMembers, "an API answer"); err != nil {
			return nil, err
		}
		var ok bool
		if err := member(obj, "success", &ok); err != nil {
			return nil, err
		} else if !ok {
			return nil, errors.New("an API answer that is not a success")
		}
		page, err := object(obj["data"])
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		return checkpointPage(page)
	case obj["items"] != nil: // the data of that answer
		return checkpointPage(obj)
	}
	cp, err := checkpointObject(raw)
	if err != nil {
		return nil, err
	}
	return []*walletd.Checkpoint{cp}, nil
}

// checkpointPage reads the data of GET /v1/ledger/checkpoints.
func checkpointPage(obj map[string]json.RawMessage) ([]*walletd.Checkpoint, error) {
	if err := only(obj, pageMembers, "a page of checkpoints"); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := member(obj, "items", &items); err != nil {
		return nil, err
	}
	out := make([]*walletd.Checkpoint, 0, len(items))
	for i, item := range items {
		cp, err := checkpointObject(item)
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		out = append(out, cp)
	}
	return out, nil
}

// checkpointObject reads one checkpoint: an API item, an event's data or
// an export's checkpoint line.
func checkpointObject(raw json.RawMessage) (*walletd.Checkpoint, error) {
	obj, err := object(raw)
	if err != nil {
		return nil, err
	}
	if err := only(obj, checkpointMembers, "a checkpoint"); err != nil {
		return nil, err
	}
	if obj["record"] != nil {
		var record string
		if err := member(obj, "record", &record); err != nil {
			return nil, err
		} else if record != "checkpoint" {
			return nil, fmt.Errorf("an export line of record %s, not checkpoint", walletd.QuoteInput(record))
		}
	}
	var j client.CheckpointJSON
	for _, m := range []struct {
		name string
		v    any
	}{{"seq", &j.Seq}, {"ledger_id", &j.LedgerID}, {"head_hash", &j.HeadHash}, {"created_at", &j.CreatedAt}, {"signature", &j.Signature}} {
		if err := member(obj, m.name, m.v); err != nil {
			return nil, err
		}
	}
	if obj["message"] != nil {
		if err := member(obj, "message", &j.Message); err != nil {
			return nil, err
		}
	}
	return j.Checkpoint()
}

// object decodes raw as a JSON object; keys are compared exactly, as map
// keys, never case-insensitively.
func object(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// only refuses a member of obj that is not in allowed.
func only(obj map[string]json.RawMessage, allowed map[string]bool, what string) error {
	for k := range obj {
		if !allowed[k] {
			return fmt.Errorf("%s has no member %s", what, walletd.QuoteInput(k))
		}
	}
	return nil
}

// member decodes the required member name of obj into v, refusing null
// (which encoding/json would take as "leave v alone") and a value of
// another JSON type.
func member(obj map[string]json.RawMessage, name string, v any) error {
	raw, ok := obj[name]
	if !ok {
		return fmt.Errorf("member %q is missing", name)
	} else if string(raw) == "null" {
		return fmt.Errorf("member %q is null", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("member %q: %w", name, err)
	}
	return nil
}
