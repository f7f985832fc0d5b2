package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckDataDir(t *testing.T) {
	newLogger := func() (*slog.Logger, *bytes.Buffer) {
		var b bytes.Buffer
		return slog.New(slog.NewTextHandler(&b, nil)), &b
	}
	mode := func(t *testing.T, path string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}

	t.Run("CreatesDir0700", func(t *testing.T) {
		// Under a umask that would leave it open, the new dir is 0700.
		old := syscall.Umask(0)
		defer syscall.Umask(old)
		dir := filepath.Join(t.TempDir(), "a", "data")
		logger, logs := newLogger()
		if err := checkDataDir(dir, false, logger); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, dir); m != 0o700 {
			t.Fatalf("mode %04o, want 0700", m)
		}
		if !strings.Contains(logs.String(), "created data dir") {
			t.Fatalf("not logged: %s", logs)
		}
	})

	t.Run("TightensFiles", func(t *testing.T) {
		dir := t.TempDir()
		nested := filepath.Join(dir, "nats", "jetstream")
		if err := os.MkdirAll(nested, 0o700); err != nil {
			t.Fatal(err)
		}
		loose := map[string]os.FileMode{
			filepath.Join(dir, "ledger.db"):     0o644,
			filepath.Join(dir, "ledger.db-wal"): 0o664,
			filepath.Join(dir, "admin.key"):     0o604,
			filepath.Join(nested, "msgs.blk"):   0o640,
		}
		tight := filepath.Join(dir, "keyring.json")
		for p, m := range loose {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(tight, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// A link to a file outside is not followed.
		outside := filepath.Join(t.TempDir(), "outside")
		if err := os.WriteFile(outside, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(outside, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		logger, logs := newLogger()
		if err := checkDataDir(dir, false, logger); err != nil {
			t.Fatal(err)
		}
		for p, m := range loose {
			if got := mode(t, p); got != 0o600 {
				t.Errorf("%s: mode %04o, want 0600", p, got)
			}
			if want := fmt.Sprintf("path=%s mode=%04o new_mode=0600", p, m); !strings.Contains(logs.String(), want) {
				t.Errorf("no log %q:\n%s", want, logs)
			}
		}
		if strings.Contains(logs.String(), tight) || strings.Contains(logs.String(), "outside") {
			t.Errorf("logged a file that needed nothing:\n%s", logs)
		}
		if got := mode(t, outside); got != 0o644 {
			t.Errorf("followed a link out of the data dir: %04o", got)
		}
	})

	t.Run("ThroughSymlink", func(t *testing.T) {
		real := t.TempDir()
		f := filepath.Join(real, "ledger.db")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(t.TempDir(), "data")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		logger, _ := newLogger()
		if err := checkDataDir(link, false, logger); err != nil {
			t.Fatal(err)
		}
		if got := mode(t, f); got != 0o600 {
			t.Fatalf("mode %04o, want 0600", got)
		}
	})

	t.Run("ErrWritableByGroup", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o770); err != nil {
			t.Fatal(err)
		}
		logger, _ := newLogger()
		err := checkDataDir(dir, false, logger)
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "0770") ||
			!strings.Contains(err.Error(), "--insecure-data-dir-permissions") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("ReadableByOthersAllowed", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		logger, logs := newLogger()
		if err := checkDataDir(dir, false, logger); err != nil || logs.Len() != 0 {
			t.Fatalf("got %v, logs %s", err, logs)
		}
	})

	t.Run("InsecureWarns", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		logger, logs := newLogger()
		if err := checkDataDir(dir, true, logger); err != nil {
			t.Fatal(err)
		}
		if s := logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "data_dir="+dir) ||
			!strings.Contains(s, "mode=0777") || !strings.Contains(s, "--insecure-data-dir-permissions") {
			t.Fatalf("no warning: %s", s)
		}
		if m := mode(t, dir); m != 0o777 {
			t.Fatalf("the flag changed the dir's mode to %04o", m)
		}
	})

	t.Run("ErrNotADirectory", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		logger, _ := newLogger()
		if err := checkDataDir(f, false, logger); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("got %v", err)
		}
	})
}
