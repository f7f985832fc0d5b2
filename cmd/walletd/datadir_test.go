package main_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServe_DataDirPermissions runs walletd serve on data directories of
// several modes: one writable by others is refused unless
// --insecure-data-dir-permissions; one serve creates is 0700 and every
// file serve writes in it is 0600.
func TestServe_DataDirPermissions(t *testing.T) {
	looseDir := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	t.Run("ErrWritableByOthers", func(t *testing.T) {
		for _, mode := range []fs.FileMode{0o777, 0o770, 0o702, os.ModeSticky | 0o777} {
			dir := looseDir(t)
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0").CombinedOutput()
			if err == nil {
				t.Fatalf("mode %v: serve started", mode)
			}
			for _, want := range []string{dir, octal(mode.Perm()), "--insecure-data-dir-permissions"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("mode %v: the message lacks %q:\n%s", mode, want, out)
				}
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("mode %v: serve wrote %v before refusing", mode, names)
			}
		}
	})

	t.Run("InsecureFlagWarns", func(t *testing.T) {
		dir := looseDir(t)
		p := startServe(t, dir, "--insecure-data-dir-permissions")
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: exit %v\n%s", err, p.Logs())
		}
		var warned bool
		for _, line := range strings.Split(p.Logs(), "\n") {
			if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "--insecure-data-dir-permissions") &&
				strings.Contains(line, `"mode":"0777"`) && strings.Contains(line, dir) {
				warned = true
			}
		}
		if !warned {
			t.Fatalf("no warning naming the dir, its mode and the flag:\n%s", p.Logs())
		}
		assertPrivateFiles(t, dir, 0o777) // the flag leaves the dir as it is
	})

	t.Run("FreshDirPrivate", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "parent", "data")
		p := startServe(t, dir)
		var w struct{ ID string }
		if _, err := p.call("POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`, "", &w); err != nil {
			t.Fatal(err)
		}
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"10.00"}`, "", nil); err != nil {
			t.Fatal(err)
		}
		// While serving: the databases' -wal and -shm files exist.
		files := assertPrivateFiles(t, dir, 0o700)
		for _, f := range []string{"ledger.db", "ledger.db-wal", "ledger.db-shm", "projections.db", "webhooks.db",
			"keyring.json", "checkpoint.key", "checkpoint.pub", "admin.key", "webhooks.key", "LOCK"} {
			if !files[f] {
				t.Errorf("no %s in the data dir (has %v)", f, files)
			}
		}
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: exit %v\n%s", err, p.Logs())
		}
		assertPrivateFiles(t, dir, 0o700)

		t.Run("LooseFilesTightened", func(t *testing.T) {
			for _, f := range []string{"ledger.db", "admin.key", "checkpoint.pub"} {
				if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := startServe(t, dir)
			if err := p.stop(t, syscall.SIGTERM); err != nil {
				t.Fatalf("SIGTERM: exit %v\n%s", err, p.Logs())
			}
			assertPrivateFiles(t, dir, 0o700)
			for _, f := range []string{"ledger.db", "admin.key", "checkpoint.pub"} {
				if !strings.Contains(p.Logs(), filepath.Join(dir, f)+`","mode":"0644","new_mode":"0600"`) {
					t.Errorf("no log of %s tightened:\n%s", f, p.Logs())
				}
			}
		})
	})
}

// assertPrivateFiles walks dir: it must have dirMode, no directory under
// it may be open to group or others and every file must be 0600. It
// returns the names of the files directly in dir.
func assertPrivateFiles(tb testing.TB, dir string, dirMode fs.FileMode) map[string]bool {
	tb.Helper()
	top := map[string]bool{}
	check := func(path string, d fs.DirEntry) error {
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		switch {
		case path == dir:
			if mode != dirMode {
				tb.Errorf("the data dir has mode %s, want %s", octal(mode), octal(dirMode))
			}
		case d.IsDir():
			if mode&0o077 != 0 {
				tb.Errorf("%s has mode %s, want none for group and others", path, octal(mode))
			}
		default:
			if !fi.Mode().IsRegular() || mode != 0o600 {
				tb.Errorf("%s has mode %s (%v), want a regular file of mode 0600", path, octal(mode), fi.Mode().Type())
			}
			if filepath.Dir(path) == dir {
				top[d.Name()] = true
			}
		}
		return nil
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			err = check(path, d)
		}
		if errors.Is(err, fs.ErrNotExist) && path != dir {
			return nil // gone since it was listed: NATS's temporary files
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return top
}

func octal(m fs.FileMode) string { return fmt.Sprintf("%04o", m.Perm()) }

func dirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}
