package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
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
