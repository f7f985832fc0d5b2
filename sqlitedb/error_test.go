package sqlitedb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/sqlitedb"
)

func TestFormatError(t *testing.T) {
	t.Run("Nil", func(t *testing.T) {
		if err := sqlitedb.FormatError(nil); err != nil {
			t.Fatalf("FormatError(nil) = %v", err)
		}
	})
	t.Run("Other", func(t *testing.T) {
		other := errors.New("other")
		if err := sqlitedb.FormatError(other); !errors.Is(err, other) || walletd.ErrorCode(err) != walletd.EInternal {
			t.Fatalf("FormatError(other) = %v", err)
		}
	})

	ctx := context.Background()
	db := MustOpen(t, sqlitedb.Options{})
	if _, err := db.Write.ExecContext(ctx, `
		CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT UNIQUE, n INTEGER CHECK (n >= 0));
		CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent (id));
		INSERT INTO parent (id, name, n) VALUES ('p1', 'one', 1);`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, query, message string
	}{
		{"PrimaryKey", `INSERT INTO parent (id, name, n) VALUES ('p1', 'two', 2)`, "The record already exists."},
		{"Unique", `INSERT INTO parent (id, name, n) VALUES ('p2', 'one', 2)`, "The record already exists."},
		{"Check", `INSERT INTO parent (id, name, n) VALUES ('p3', 'three', -1)`, "The change conflicts with existing data."},
		{"ForeignKey", `INSERT INTO child (id, parent_id) VALUES ('c1', 'nosuch')`, "The change conflicts with existing data."},
		{"NotNull", `INSERT INTO child (id, parent_id) VALUES ('c2', NULL)`, "The change conflicts with existing data."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Write.ExecContext(ctx, tt.query)
			if err == nil {
				t.Fatal("the constraint did not fail")
			}
			got := sqlitedb.FormatError(fmt.Errorf("wrapped: %w", err))
			if code := walletd.ErrorCode(got); code != walletd.EConflict {
				t.Fatalf("code %q (%v)", code, got)
			}
			if msg := walletd.ErrorMessage(got); msg != tt.message {
				t.Fatalf("message %q, want %q", msg, tt.message)
			}
		})
	}
}
