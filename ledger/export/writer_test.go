package export_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger/export"
)

func TestWriter(t *testing.T) {
	t.Run("ErrInvalidUTF8", func(t *testing.T) {
		ew, err := export.NewWriter(io.Discard, "ldg_x", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := ew.WriteEntry(&walletd.Entry{Seq: 1, Reason: "bad \xff byte"}); err == nil || !strings.Contains(err.Error(), "reason") {
			t.Fatalf("want an error naming reason, got %v", err)
		}
	})
	t.Run("ErrOrder", func(t *testing.T) {
		ew, _ := export.NewWriter(io.Discard, "ldg_x", time.Now())
		if err := ew.WriteEntry(&walletd.Entry{Seq: 2}); err != nil {
			t.Fatal(err)
		}
		if err := ew.WriteEntry(&walletd.Entry{Seq: 2}); err == nil {
			t.Fatal("entry 2 twice: want an error")
		}
		if err := ew.WriteCheckpoint(&walletd.Checkpoint{Seq: 2}); err != nil {
			t.Fatal(err)
		}
		if err := ew.WriteEntry(&walletd.Entry{Seq: 3}); err == nil {
			t.Fatal("entry after a checkpoint: want an error")
		}
	})
	t.Run("ErrWrite", func(t *testing.T) {
		ew, err := export.NewWriter(failWriter{}, "ldg_x", time.Now())
		if err != nil {
			t.Fatal(err) // buffered: nothing written yet
		}
		if err := ew.Close(); err == nil {
			t.Fatal("want the write error from Close")
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
