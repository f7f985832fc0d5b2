package export_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger/export"
)

// FuzzExportReader feeds arbitrary files to the reader: it must never
// panic, every error of the entry pass must name a seq, and any entry it
// accepts must survive a write and a second read unchanged.
func FuzzExportReader(f *testing.F) {
	fx := buildExportFixture(f)
	f.Add(fx.file)
	lines := exportLines(fx.file)
	f.Add(bytes.Join(lines[:4], nil))
	f.Add(append(bytes.Clone(lines[0]), `{"record":"entry","seq":1,"id":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"}`+"\n"...))
	f.Add([]byte(`{"record":"header"}` + "\n{}\n"))
	f.Add([]byte("{\"record\" : \"end\" , \"entries\" : 0 , \"checkpoints\" : 18446744073709551615}\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		if _, _, err := export.ReadCheckpoints(bytes.NewReader(file)); err != nil {
			return
		}
		er, err := export.NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("the first pass accepted the header, the second did not: %v", err)
		}
		for i := 0; i < 1<<16; i++ {
			var e walletd.Entry
			ok, err := er.Next(&e)
			if err != nil {
				var bad interface{ BadSeq() uint64 }
				if !errors.As(err, &bad) {
					t.Fatalf("error without a seq: %v", err)
				}
				return
			} else if !ok {
				return
			}
			// Write the entry back and read it again.
			var buf bytes.Buffer
			ew, err := export.NewWriter(&buf, "ldg_fuzz", time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			if err := ew.WriteEntry(&e); err != nil {
				t.Fatalf("entry read but not writable: %v", err)
			}
			if err := ew.Close(); err != nil {
				t.Fatal(err)
			}
			er2, err := export.NewReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			var e2 walletd.Entry
			if ok, err := er2.Next(&e2); !ok || err != nil {
				t.Fatalf("rewritten entry unreadable: %v %v\n%s", ok, err, buf.Bytes())
			} else if !reflect.DeepEqual(e, e2) {
				t.Fatalf("entry changed on rewrite:\n%+v\n%+v", e, e2)
			}
		}
	})
}
