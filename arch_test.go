package walletd_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// module is walletd's module path.
const module = "github.com/walletd/walletd"

// layers ranks walletd's packages as docs/architecture.md draws them: a
// package may import packages of a lower layer and, within its own layer,
// only its own family (the packages under one top-level directory, such as
// ledger and ledger/sqlite, or http and http/client). A package not named
// here takes the layer of its longest named prefix, so that a new
// sub-package (webhooks/inbound, http/plugin) is placed with its family.
var layers = map[string]int{
	"":           0, // the root package: the domain
	"events":     0, // the event catalogue
	"migrations": 0,
	// Helpers over the domain alone: database opening, files of secrets.
	"sqlitedb":      1,
	"keyfile":       1,
	"ledger/export": 2,
	"events/bus":    2,
	"ledger":        3,
	"projections":   3,
	"webhooks":      3,
	// The storefront flows that drive the writer with ledger commands
	// and keep their logs in webhooks.db: above ledger and webhooks,
	// below http.
	"webhooks/inbound": 4,
	"financing":        4,
	"http":             5,
	"walletdtest":      5, // test support: real parts below http
	"cmd":              6,

	// The bridge of financing's postbacks into the inbound pipeline
	// (financing and webhooks/inbound share a layer).
	"financing/gateway": 5,
}

// layerOf returns the layer of a package path relative to the module.
func layerOf(rel string) (int, bool) {
	for p := rel; ; p = filepath.Dir(p) {
		if p == "." {
			p = ""
		}
		if l, ok := layers[p]; ok {
			return l, true
		}
		if p == "" {
			return 0, false
		}
	}
}

// family is a package's top-level directory ("" for the root).
func family(rel string) string {
	head, _, _ := strings.Cut(rel, "/")
	return head
}

// TestPackageGraph checks that every package imports inward only: the
// root package and the event catalogue import nothing of walletd's; the
// peers ledger, projections and webhooks do not import one another (within
// a family, ledger/sqlite's outbox uses the ledger's entry→event mapping);
// only cmd wires http to the stores. `go list` gives the imports of the
// non-test files.
func TestPackageGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := rel(f[0])
		from, ok := layerOf(pkg)
		if !ok {
			t.Errorf("package %q has no layer: add it to layers in arch_test.go and to docs/architecture.md", f[0])
			continue
		}
		n++
		for _, imp := range f[1:] {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := rel(imp)
			to, _ := layerOf(dep)
			if to < from || family(dep) == family(pkg) && pkg != "" && dep != "" {
				continue
			}
			t.Errorf("%s (layer %d) imports %s (layer %d): dependencies point inward (docs/architecture.md)", f[0], from, imp, to)
		}
	}
	if n < 10 {
		t.Fatalf("go list named %d packages:\n%s", n, out)
	}
}

// rel returns a package path relative to the module ("" for the root).
func rel(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

// maxLines is where a Go file must be split (STYLE: "split before ~600
// lines"), tests included: tests follow the files they test.
const maxLines = 600

// TestFileSize checks that no Go file of the module is longer than
// maxLines.
func TestFileSize(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte("\n")); n > maxLines {
			t.Errorf("%s has %d lines: split it by concept below %d", path, n, maxLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
