package migrations_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"github.com/walletd/walletd/migrations"
)

func TestUp(t *testing.T) {
	ctx := context.Background()
	for _, name := range migrations.Databases {
		t.Run(name, func(t *testing.T) {
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), name+".db")+"?_foreign_keys=on")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			res, err := migrations.Up(ctx, db, name)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Applied) == 0 || res.Applied[0] != 1 || res.Current != res.Applied[len(res.Applied)-1] {
				t.Fatalf("fresh database: %+v", res)
			}
			// Increasing; numbers may have gaps (each branch has its own).
			for i, v := range res.Applied {
				if i > 0 && v <= res.Applied[i-1] {
					t.Fatalf("versions applied out of order: %v", res.Applied)
				}
			}
			again, err := migrations.Up(ctx, db, name)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Applied) != 0 || again.Current != res.Current {
				t.Fatalf("migrated database: %+v", again)
			}
		})
	}
	t.Run("ErrUnknownDatabase", func(t *testing.T) {
		db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "x.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := migrations.Up(ctx, db, "nosuch"); err == nil {
			t.Fatal("Up of an unknown database succeeded")
		}
	})
}
