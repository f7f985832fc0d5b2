package sqlitedb_test

import (
	"context"
	"testing"

	"github.com/walletd/walletd/sqlitedb"
)

// The limit is the process's: a connection opened before it is set and
// one opened after both report it, and setting it returns the one before.
func TestSetSoftHeapLimit(t *testing.T) {
	ctx := context.Background()
	before := MustOpen(t, sqlitedb.Options{})
	old, err := sqlitedb.SetSoftHeapLimit(ctx, 24<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := sqlitedb.SetSoftHeapLimit(ctx, old); err != nil {
			t.Error(err)
		}
	})
	after := MustOpen(t, sqlitedb.Options{CacheSize: -65536})
	for name, db := range map[string]*sqlitedb.DB{"opened before": before, "opened after": after} {
		for _, pool := range []struct {
			name string
			got  func() (int64, error)
		}{
			{"write", func() (int64, error) { return sqlitedb.SoftHeapLimit(ctx, db.Write) }},
			{"read", func() (int64, error) { return sqlitedb.SoftHeapLimit(ctx, db.Read) }},
		} {
			if n, err := pool.got(); err != nil || n != 24<<20 {
				t.Errorf("%s, %s connection: soft heap limit %d, %v; want %d", name, pool.name, n, err, 24<<20)
			}
		}
	}

	prev, err := sqlitedb.SetSoftHeapLimit(ctx, 0)
	if err != nil || prev != 24<<20 {
		t.Fatalf("SetSoftHeapLimit(0) = %d, %v; want the previous limit %d", prev, err, 24<<20)
	}
	if n, err := sqlitedb.SoftHeapLimit(ctx, after.Write); err != nil || n != 0 {
		t.Errorf("after SetSoftHeapLimit(0): %d, %v; want 0 (no limit)", n, err)
	}
	if _, err := sqlitedb.SetSoftHeapLimit(ctx, -1); err == nil {
		t.Error("SetSoftHeapLimit(-1): no error")
	}
	if n, err := sqlitedb.SoftHeapLimit(ctx, after.Write); err != nil || n != 0 {
		t.Errorf("a refused limit changed it: %d, %v", n, err)
	}
}
