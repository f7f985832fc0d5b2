package keyfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/walletd/walletd/keyfile"
)

// TestWriteAtomic replaces a file twice and checks content, mode and that
// no temporary file is left behind.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"one", "two, longer"} {
		if err := keyfile.WriteAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("content %q, want %q", b, content)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v", fi.Mode().Perm())
		}
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left: %v", names)
	}
	if err := keyfile.WriteAtomic(filepath.Join(dir, "no", "such", "dir"), nil, 0o600); err == nil {
		t.Fatal("WriteAtomic into a missing directory succeeded")
	}
}

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
