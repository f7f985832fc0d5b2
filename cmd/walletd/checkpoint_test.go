package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/ledger"
)

// testCheckpoint is a checkpoint signed with a fixed key.
func testCheckpoint(seq uint64) *walletd.Checkpoint {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	cp := &walletd.Checkpoint{LedgerID: "ldg_2frgivallQhXEVN9yNrSmvNUehm", Seq: seq, HeadHash: walletd.Hash{1, 2, 3},
		CreatedAt: time.Date(2024, 5, 1, 12, 1, 0, 500000000, time.UTC)}
	cp.Sign(priv)
	return cp
}

// checkpointShapes returns cp in each shape parseCheckpoints reads.
func checkpointShapes(cp *walletd.Checkpoint) map[string]string {
	env := ledger.CheckpointEvent(cp, "https://shop.example")
	item, _ := json.Marshal(client.NewCheckpointJSON(cp))
	return map[string]string{
		"Envelope":    string(env.Body()),
		"WebhookData": string(env.Envelope.Data),
		"APIItem":     string(item),
		"APIAnswer":   `{"success":true,"data":{"items":[` + string(item) + `],"public_key":""}}`,
		"APIData":     `{"items":[` + string(item) + `],"public_key":""}`,
		"ExportLine": `{"record":"checkpoint","seq":` + jsonText(cp.Seq) + `,"ledger_id":` + jsonText(cp.LedgerID) +
			`,"head_hash":"` + cp.HeadHash.String() + `","created_at":"` + cp.CreatedAt.Format(walletd.TimeFormat) +
			`","signature":` + jsonText(cp.Signature) + `}`,
		"Array": `[` + string(env.Body()) + `, ` + string(item) + `]`,
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestParseCheckpoints(t *testing.T) {
	cp := testCheckpoint(42)
	for shape, text := range checkpointShapes(cp) {
		t.Run(shape, func(t *testing.T) {
			got, err := parseCheckpoints([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if !bytes.Equal(g.Message(), cp.Message()) || !bytes.Equal(g.Signature, cp.Signature) {
					t.Fatalf("got %+v, want %+v", g, cp)
				}
			}
		})
	}
	t.Run("Several", func(t *testing.T) {
		// Lines of `nats sub --raw`, CRLF, blank lines, an indented value.
		var text strings.Builder
		for seq := uint64(1); seq <= 3; seq++ {
			text.WriteString(checkpointShapes(testCheckpoint(seq))["Envelope"] + "\r\n\n")
		}
		indented, _ := json.MarshalIndent(client.NewCheckpointJSON(testCheckpoint(4)), "", "  ")
		text.Write(indented)
		got, err := parseCheckpoints([]byte(text.String()))
		if err != nil {
			t.Fatal(err)
		} else if len(got) != 4 || got[0].Seq != 1 || got[3].Seq != 4 {
			t.Fatalf("got %d checkpoints", len(got))
		}
	})

	item := checkpointShapes(cp)["APIItem"]
	envelope := checkpointShapes(cp)["Envelope"]
	for name, tc := range map[string]struct{ text, want string }{
		"ErrEmpty":          {"\n \n", "no checkpoint"},
		"ErrNotJSON":        {"[#1] Received on \"walletd.ledger.checkpoint\"\n", "line 1: invalid character"},
		"ErrLineNumber":     {item + "\n" + item + "\n{\"seq\":\n", "line 3:"},
		"ErrNotObject":      {`"checkpoint"`, "not a JSON object"},
		"ErrNestedArray":    {`[[` + item + `]]`, "element 0: not a JSON object"},
		"ErrDuplicateKey":   {strings.Replace(item, `{"seq":42,`, `{"seq":42,"seq":43,`, 1), `key "seq" twice`},
		"ErrCaseVariant":    {strings.Replace(item, `"seq"`, `"Seq"`, 1), `no member "Seq"`},
		"ErrUnknownMember":  {strings.Replace(item, `{`, `{"note":"x",`, 1), `no member "note"`},
		"ErrMissingMember":  {strings.Replace(item, `"seq":42,`, ``, 1), `"seq" is missing`},
		"ErrNull":           {strings.Replace(item, `"seq":42`, `"seq":null`, 1), `"seq" is null`},
		"ErrSeqString":      {strings.Replace(item, `"seq":42`, `"seq":"42"`, 1), `"seq"`},
		"ErrSeqFraction":    {strings.Replace(item, `"seq":42`, `"seq":42.0`, 1), `"seq"`},
		"ErrSeqNegative":    {strings.Replace(item, `"seq":42`, `"seq":-42`, 1), `"seq"`},
		"ErrSeqZero":        {strings.Replace(item, `"seq":42`, `"seq":0`, 1), "seq must be 1 or more"},
		"ErrInvalidUTF8":    {strings.Replace(item, `"ledger_id":"ldg_`, "\"ledger_id\":\"\xffldg_", 1), "UTF-8"},
		"ErrMessage":        {strings.Replace(item, `\n42\n`, `\n43\n`, 1), "message"},
		"ErrOtherEvent":     {strings.Replace(envelope, `"ledger.checkpoint"`, `"wallet.credited"`, 1), `"wallet.credited", not ledger.checkpoint`},
		"ErrEnvelopeMember": {strings.Replace(envelope, `"site_url"`, `"Site_url"`, 1), `no member "Site_url"`},
		"ErrNotSuccess":     {`{"success":false,"data":{"items":[]}}`, "not a success"},
		"ErrExportRecord":   {strings.Replace(checkpointShapes(cp)["ExportLine"], `"checkpoint"`, `"entry"`, 1), `record "entry"`},
		"ErrHugeInput":      {`{"seq":1,"` + strings.Repeat("x", 1000) + `":1}`, "(1000 bytes)"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseCheckpoints([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseCheckpoints = %v, want an error with %q", err, tc.want)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes: %.100s…", len(err.Error()), err)
			}
		})
	}
}

// FuzzParseCheckpoints feeds the checkpoint file reader, whose input
// comes from outside. What it accepts must be checkpoints walletd could
// have written: each re-encodes to an item that reads back the same.
func FuzzParseCheckpoints(f *testing.F) {
	for _, text := range checkpointShapes(testCheckpoint(42)) {
		f.Add([]byte(text))
	}
	f.Add([]byte(checkpointShapes(testCheckpoint(1))["Envelope"] + "\n" + checkpointShapes(testCheckpoint(2))["APIItem"] + "\n"))
	f.Add([]byte(`{"seq":1,"seq":2}`))
	f.Add([]byte("[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cps, err := parseCheckpoints(data)
		if err != nil {
			return
		}
		for _, cp := range cps {
			b, _ := json.Marshal(client.NewCheckpointJSON(cp))
			again, err := parseCheckpoints(b)
			if err != nil || len(again) != 1 || !bytes.Equal(again[0].Message(), cp.Message()) || !bytes.Equal(again[0].Signature, cp.Signature) {
				t.Fatalf("%s does not read back: %v", b, err)
			}
		}
	})
}

func TestCheckpointFetch_Usage(t *testing.T) {
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	wantExit(t, checkpointMain(ctx, nil, &stdout, &stderr), 2)
	if !strings.Contains(stderr.String(), "walletd checkpoint fetch") {
		t.Fatalf("usage %q", stderr.String())
	}
	stderr.Reset()
	wantExit(t, checkpointMain(ctx, []string{"list"}, &stdout, &stderr), 2)
	if !strings.Contains(stderr.String(), `unknown verb "list"`) {
		t.Fatalf("stderr %q", stderr.String())
	}
	// No token and no admin key: an error, before any request.
	err := checkpointMain(ctx, []string{"fetch", "--data-dir", t.TempDir(), "--url", "http://127.0.0.1:1"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no --token") {
		t.Fatalf("err %v", err)
	}
}
