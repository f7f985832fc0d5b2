package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/export"
	"github.com/walletd/walletd/walletdtest"
)

// verifyFixture is a data directory as walletd serve leaves it: ledger.db
// with entries and checkpoints, keyring.json and checkpoint.pub.
type verifyFixture struct {
	l   *walletdtest.Ledger
	dir string
	p   paths
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 5 })
	a := l.MustWallet(t, "alice", "USD")
	b := l.MustWallet(t, "bob", "USD")
	for i := 0; i < 20; i++ {
		l.MustCredit(t, a, "10.00")
	}
	if _, err := l.Writer.Submit(context.Background(), "transfer-1", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "5.00"}); err != nil {
		t.Fatal(err)
	}
	p := dataPaths(l.Dir)
	if err := keyfile.SaveKeyring(p.Keyring, l.Keyring); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(l.Pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.CheckpointPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &verifyFixture{l: l, dir: l.Dir, p: p}
}

// exec runs a walletd command as main would and returns its stdout.
func execVerify(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := verifyMain(context.Background(), args, &out)
	return out.String(), err
}

func wantExit(t *testing.T, err error, code int) {
	t.Helper()
	var ee exitError
	if !errors.As(err, &ee) || int(ee) != code {
		t.Fatalf("want exit status %d, got %v", code, err)
	}
}

// tamperLedger changes the ledger file behind the writer's back.
func tamperLedger(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f := newVerifyFixture(t)
		if err := run(ctx, []string{"verify", "--data-dir", f.dir}); err != nil {
			t.Fatal(err)
		}
		out, err := execVerify(t, "--data-dir", f.dir)
		if err != nil {
			t.Fatal(err)
		} else if !strings.HasPrefix(out, "ok entries=24 head_seq=24 head_hash=") || !strings.Contains(out, "checkpoints=4") {
			t.Fatalf("output %q", out)
		}
	})

	t.Run("JSON", func(t *testing.T) {
		f := newVerifyFixture(t)
		out, err := execVerify(t, "--data-dir", f.dir, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var rep ledger.VerifyReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		} else if !rep.OK || rep.HeadSeq != 24 || len(rep.HeadHash) != 64 {
			t.Fatalf("report %+v", rep)
		}
	})

	t.Run("ErrTampered", func(t *testing.T) {
		f := newVerifyFixture(t)
		tamperLedger(t, f.p.LedgerDB, `UPDATE entries SET amount = '1000.00' WHERE seq = 7`)
		wantExit(t, run(ctx, []string{"verify", "--data-dir", f.dir}), 1)
		out, err := execVerify(t, "--data-dir", f.dir)
		wantExit(t, err, 1)
		if !strings.HasPrefix(out, "FAIL first_bad_seq=7: ") {
			t.Fatalf("output %q", out)
		}
		out, err = execVerify(t, "--data-dir", f.dir, "--json")
		wantExit(t, err, 1)
		var rep ledger.VerifyReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.OK || rep.FirstBadSeq != 7 {
			t.Fatalf("report %+v, %v", rep, err)
		}
	})

	t.Run("ErrTailCut", func(t *testing.T) {
		f := newVerifyFixture(t)
		tamperLedger(t, f.p.LedgerDB, `DELETE FROM entries WHERE seq > 12`)
		out, err := execVerify(t, "--data-dir", f.dir)
		wantExit(t, err, 1)
		if !strings.HasPrefix(out, "FAIL first_bad_seq=13: ") {
			t.Fatalf("output %q", out)
		}
	})

	t.Run("Export", func(t *testing.T) {
		f := newVerifyFixture(t)
		file := filepath.Join(t.TempDir(), "ledger.jsonl")
		if err := run(ctx, []string{"export", "--data-dir", f.dir, "--out", file}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("export file: %v %v", fi, err)
		}
		exportArgs := []string{"--export", file, "--keyring", f.p.Keyring, "--checkpoint-pubkey", f.p.CheckpointPub}
		if err := run(ctx, append([]string{"verify"}, exportArgs...)); err != nil {
			t.Fatal(err)
		}
		// The export and the database verify to the same head.
		dbOut, err := execVerify(t, "--data-dir", f.dir)
		if err != nil {
			t.Fatal(err)
		}
		exOut, err := execVerify(t, exportArgs...)
		if err != nil {
			t.Fatal(err)
		}
		if head(dbOut) != head(exOut) {
			t.Fatalf("database: %s\nexport:   %s", dbOut, exOut)
		}

		t.Run("ErrTampered", func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.SplitAfter(b, []byte("\n"))
			lines[9] = bytes.Replace(lines[9], []byte(`"amount":"10.00"`), []byte(`"amount":"99.00"`), 1)
			bad := filepath.Join(t.TempDir(), "tampered.jsonl")
			if err := os.WriteFile(bad, bytes.Join(lines, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := execVerify(t, "--export", bad, "--keyring", f.p.Keyring, "--checkpoint-pubkey", f.p.CheckpointPub)
			wantExit(t, err, 1)
			if !strings.HasPrefix(out, "FAIL first_bad_seq=9: ") {
				t.Fatalf("output %q", out)
			}
			wantExit(t, run(ctx, []string{"verify", "--export", bad, "--keyring", f.p.Keyring, "--checkpoint-pubkey", f.p.CheckpointPub}), 1)
		})

		t.Run("ErrNotAnExport", func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "notes.txt")
			os.WriteFile(bad, []byte("hello\n"), 0o600)
			out, err := execVerify(t, "--export", bad, "--keyring", f.p.Keyring, "--checkpoint-pubkey", f.p.CheckpointPub)
			wantExit(t, err, 1)
			if !strings.HasPrefix(out, "FAIL: ") {
				t.Fatalf("output %q", out)
			}
		})

		t.Run("Stdout", func(t *testing.T) {
			// --out - writes to stdout: swap it for a file for the test.
			file := filepath.Join(t.TempDir(), "stdout.jsonl")
			fh, err := os.Create(file)
			if err != nil {
				t.Fatal(err)
			}
			old := os.Stdout
			os.Stdout = fh
			err = run(ctx, []string{"export", "--data-dir", f.dir, "--out", "-"})
			os.Stdout = old
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := execVerify(t, "--export", file, "--keyring", f.p.Keyring, "--checkpoint-pubkey", f.p.CheckpointPub); err != nil {
				t.Fatal(err)
			}
		})
	})

	// Missing files are errors (exit 2 from main), not verification failures.
	t.Run("ErrMissingFiles", func(t *testing.T) {
		f := newVerifyFixture(t)
		empty := t.TempDir()
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"NoKeyring", []string{"verify", "--data-dir", empty}, "keyring.json"},
			{"NoPublicKey", []string{"verify", "--data-dir", empty, "--keyring", f.p.Keyring}, "checkpoint.pub"},
			{"NoLedger", []string{"verify", "--data-dir", empty, "--keyring", f.p.Keyring, "--checkpoint-pubkey", f.p.CheckpointPub}, "no ledger at"},
			{"NoExportKeys", []string{"verify", "--export", "x.jsonl"}, "--keyring"},
			{"NoExportFile", []string{"verify", "--export", filepath.Join(empty, "x.jsonl"), "--keyring", f.p.Keyring, "--checkpoint-pubkey", f.p.CheckpointPub}, "x.jsonl"},
			{"ExportNoOut", []string{"export", "--data-dir", f.dir}, "--out"},
			{"ExportNoLedger", []string{"export", "--data-dir", empty, "--out", filepath.Join(empty, "x.jsonl")}, "no ledger at"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := run(ctx, tc.args)
				var ee exitError
				if err == nil || errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("want an error mentioning %q, got %v", tc.want, err)
				}
			})
		}
		// Verify never creates a ledger where there was none.
		if _, err := os.Stat(filepath.Join(empty, "ledger.db")); !os.IsNotExist(err) {
			t.Fatalf("verify created %s", filepath.Join(empty, "ledger.db"))
		}
	})
}

// head returns the "entries=… head_seq=… head_hash=… checkpoints=…" part of
// an ok line.
func head(out string) string {
	if i := strings.Index(out, " elapsed="); i > 0 {
		return out[:i]
	}
	return out
}

// saveCheckpoint writes cp in every shape verify --checkpoint reads and
// returns the files by shape.
func saveCheckpoint(t *testing.T, f *verifyFixture, cps ...*walletd.Checkpoint) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	write := func(shape string, b []byte) {
		files[shape] = filepath.Join(dir, shape+".json")
		if err := os.WriteFile(files[shape], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := os.ReadFile(f.p.CheckpointPub)
	if err != nil {
		t.Fatal(err)
	}
	var nats, items [][]byte
	for _, cp := range cps {
		ev := ledger.CheckpointEvent(cp, "https://shop.example")
		nats = append(nats, ev.Body())
		b, _ := json.Marshal(client.NewCheckpointJSON(cp))
		items = append(items, b)
	}
	last := len(cps) - 1
	// As published on NATS and delivered by a walletpro or standard webhook.
	write("Envelope", nats[last])
	// `nats sub --raw` appends one envelope a line.
	write("NATSLines", append(bytes.Join(nats, []byte("\n")), '\n'))
	// As a woocommerce webhook delivers it: the envelope's data.
	write("WebhookData", ledger.CheckpointEvent(cps[last], "").Envelope.Data)
	// One item of GET /v1/ledger/checkpoints, as checkpoint fetch saves it.
	write("APIItem", append(items[last], '\n'))
	// The whole answer, indented by a tool on the way.
	answer := map[string]any{"success": true, "data": map[string]any{"items": json.RawMessage("[" + string(bytes.Join(items, []byte(","))) + "]"), "public_key": string(pub)}}
	b, err := json.MarshalIndent(answer, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	write("APIAnswer", b)
	// A checkpoint line of an export.
	var line bytes.Buffer
	ew, err := export.NewWriter(&line, cps[last].LedgerID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := ew.WriteCheckpoint(cps[last]); err != nil {
		t.Fatal(err)
	}
	if err := ew.Close(); err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.SplitAfter(line.Bytes(), []byte("\n")) {
		if bytes.HasPrefix(l, []byte(`{"record":"checkpoint"`)) {
			write("ExportLine", l)
		}
	}
	if len(files) != 6 {
		t.Fatalf("shapes %v", files)
	}
	return files
}

// storedCheckpoints returns the checkpoints in the fixture's ledger.
func storedCheckpoints(t *testing.T, f *verifyFixture) []*walletd.Checkpoint {
	t.Helper()
	cps, err := f.l.DB.Checkpoints(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return cps
}

// TestVerify_Checkpoint holds a ledger against checkpoints kept outside
// it: the one defence against an operator who cuts the tail off together
// with the checkpoint rows that covered it.
func TestVerify_Checkpoint(t *testing.T) {
	ctx := context.Background()
	f := newVerifyFixture(t) // 24 entries, checkpoints at 5, 10, 15, 20
	cps := storedCheckpoints(t, f)
	if len(cps) != 4 || cps[3].Seq != 20 {
		t.Fatalf("stored checkpoints %+v", cps)
	}
	files := saveCheckpoint(t, f, cps...)

	t.Run("OK", func(t *testing.T) {
		for shape, file := range files {
			out, err := execVerify(t, "--data-dir", f.dir, "--checkpoint", file)
			if err != nil {
				t.Fatalf("%s: %v\n%s", shape, err, out)
			} else if !strings.HasPrefix(out, "ok entries=24 ") || !strings.Contains(out, " checkpoints=4 external_checkpoints=") {
				t.Fatalf("%s: output %q", shape, out)
			}
		}
		// Repeated, and in the JSON report.
		out, err := execVerify(t, "--data-dir", f.dir, "--checkpoint", files["APIItem"], "--checkpoint", files["NATSLines"], "--json")
		if err != nil {
			t.Fatal(err)
		}
		var rep ledger.VerifyReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || rep.ExternalCheckpoints != 5 {
			t.Fatalf("report %+v, %v", rep, err)
		}
	})

	t.Run("ErrTruncatedWithCheckpoints", func(t *testing.T) {
		// The operator's copy: the tail after 12 is deleted with the
		// checkpoint rows that covered it.
		g := newVerifyFixture(t)
		kept := saveCheckpoint(t, g, storedCheckpoints(t, g)[3])
		g.l.Close()
		tamperLedger(t, g.p.LedgerDB, `DELETE FROM entries WHERE seq > 12; DELETE FROM checkpoints WHERE seq > 12`)

		// The limit: on its own, the shorter ledger verifies.
		out, err := execVerify(t, "--data-dir", g.dir)
		if err != nil || !strings.HasPrefix(out, "ok entries=12 head_seq=12 ") {
			t.Fatalf("without --checkpoint: %v %q", err, out)
		}
		for shape, file := range kept {
			out, err := execVerify(t, "--data-dir", g.dir, "--checkpoint", file)
			wantExit(t, err, 1)
			want := "FAIL first_bad_seq=13: the ledger ends at seq 12 but checkpoint " + file + " signs seq 20: entries were removed\n"
			if out != want {
				t.Fatalf("%s: output\n%q, want\n%q", shape, out, want)
			}
		}
		wantExit(t, run(ctx, []string{"verify", "--data-dir", g.dir, "--checkpoint", kept["Envelope"]}), 1)

		// An export of the cut ledger, the same.
		exp := filepath.Join(t.TempDir(), "ledger.jsonl")
		if err := run(ctx, []string{"export", "--data-dir", g.dir, "--out", exp}); err != nil {
			t.Fatal(err)
		}
		args := []string{"--export", exp, "--keyring", g.p.Keyring, "--checkpoint-pubkey", g.p.CheckpointPub}
		if out, err := execVerify(t, args...); err != nil {
			t.Fatalf("export without --checkpoint: %v %q", err, out)
		}
		out, err = execVerify(t, append(args, "--checkpoint", kept["APIAnswer"])...)
		wantExit(t, err, 1)
		if !strings.HasPrefix(out, "FAIL first_bad_seq=13: the ledger ends at seq 12 but checkpoint ") {
			t.Fatalf("export: output %q", out)
		}
	})

	t.Run("ErrRewritten", func(t *testing.T) {
		// A checkpoint signed with the ledger's key at seq 10 over another
		// head: the ledger is not the one that was signed.
		cp := *cps[1]
		cp.HeadHash = cps[0].HeadHash
		cp.Sign(f.l.Priv)
		file := saveCheckpoint(t, f, &cp)["APIItem"]
		out, err := execVerify(t, "--data-dir", f.dir, "--checkpoint", file)
		wantExit(t, err, 1)
		if !strings.HasPrefix(out, "FAIL first_bad_seq=10: seq 10: hash differs from checkpoint "+file) {
			t.Fatalf("output %q", out)
		}
	})

	t.Run("ErrForged", func(t *testing.T) {
		// A checkpoint of a seq the ledger never reached, not signed by its
		// key: refused for its signature, not taken as proof of a cut.
		forged := *cps[3]
		forged.Seq = 99
		forged.Signature = append([]byte(nil), cps[3].Signature...)
		for shape, file := range saveCheckpoint(t, f, &forged) {
			out, err := execVerify(t, "--data-dir", f.dir, "--checkpoint", file)
			wantExit(t, err, 1)
			if want := "FAIL first_bad_seq=99: checkpoint " + file + " (seq 99) has a bad signature"; !strings.HasPrefix(out, want) {
				t.Fatalf("%s: output %q, want %q", shape, out, want)
			}
		}
	})

	t.Run("ErrOtherLedger", func(t *testing.T) {
		// Another ledger's checkpoint: its own key, so a bad signature here.
		other := newVerifyFixture(t)
		file := saveCheckpoint(t, other, storedCheckpoints(t, other)[0])["Envelope"]
		out, err := execVerify(t, "--data-dir", f.dir, "--checkpoint", file)
		wantExit(t, err, 1)
		if !strings.Contains(out, "has a bad signature") {
			t.Fatalf("output %q", out)
		}
		// Signed with this ledger's key but naming another ledger: a
		// ledger replaced by a fresh one under the same keys.
		cp := *cps[0]
		cp.LedgerID = storedCheckpoints(t, other)[0].LedgerID
		cp.Sign(f.l.Priv)
		file = saveCheckpoint(t, f, &cp)["APIItem"]
		out, err = execVerify(t, "--data-dir", f.dir, "--checkpoint", file)
		wantExit(t, err, 1)
		if want := fmt.Sprintf("FAIL first_bad_seq=5: checkpoint %s (seq 5) names ledger %q, not %q", file, cp.LedgerID, cps[0].LedgerID); !strings.HasPrefix(out, want) {
			t.Fatalf("output %q, want %q", out, want)
		}
	})

	// A checkpoint file that cannot be read stops verify before it starts
	// (exit 2 from main), naming the file.
	t.Run("ErrUnreadable", func(t *testing.T) {
		dir := t.TempDir()
		for name, body := range map[string]string{
			"empty.json":   "",
			"text.json":    "[#1] Received on \"walletd.ledger.checkpoint\"\n",
			"entry.json":   `{"record":"entry","seq":1}`,
			"missing.json": "-",
		} {
			path := filepath.Join(dir, name)
			if body != "-" {
				os.WriteFile(path, []byte(body), 0o600)
			}
			err := run(ctx, []string{"verify", "--data-dir", f.dir, "--checkpoint", path})
			var ee exitError
			if err == nil || errors.As(err, &ee) || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s: want an error naming the file, got %v", name, err)
			}
		}
	})
}
