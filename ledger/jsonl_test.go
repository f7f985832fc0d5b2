package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// exportFixture is a real ledger with entries of every kind and awkward
// text, and its export.
type exportFixture struct {
	l       *walletdtest.Ledger
	entries []*walletd.Entry // as read back from the database
	cps     []*walletd.Checkpoint
	file    []byte // the export
}

// buildExportFixture builds a ledger of about forty entries with a
// checkpoint every 10 and exports it.
func buildExportFixture(tb testing.TB) *exportFixture {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, func(c *ledger.WriterConfig) { c.CheckpointEvery = 10 })
	ctx := context.Background()
	a := l.MustWallet(tb, "alice", "USD")
	b := l.MustWallet(tb, "bob-the-builder", "USD")
	y := l.MustWallet(tb, "yuki", "JPY")
	cmds := []struct {
		key string
		cmd walletd.Command
	}{
		{"idem-1", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "100.00", Type: "topup",
			Reason:  "Grüße, ünïcödé \u2028 and a \"quote\", a \\ backslash and a\ttab",
			OrderID: "order-1", Metadata: map[string]string{"channel": "web", "note": "<b>&</b>\nline two \x01"}}},
		{"", &ledger.Post{WalletID: y, Kind: walletd.KindCredit, Amount: "5000", Type: "cashback"}},
		{"idem-2", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "12.34", Note: "rent 🏠"}},
		{"", &ledger.SetStatus{WalletID: b, Frozen: true, Reason: "review"}},
		{"", &ledger.SetStatus{WalletID: b, Frozen: false}},
		// Every kind of entry the features write: note, hold, settle,
		// release and config.
		{"", &ledger.CreateTopup{WalletID: a, Amount: "9.99", Method: "card"}},
		{"", &ledger.RequestWithdrawal{WalletID: a, Amount: "1.00", Method: "bank"}},
		{"", &ledger.CreateCashbackRule{Percent: "2.5"}},
		{"", &ledger.CompleteOrder{OrderID: "o-1", UserID: "alice", Total: "40.00", Currency: "USD"}},
	}
	for _, c := range cmds {
		if _, err := l.Writer.Submit(ctx, c.key, c.cmd); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < 30; i++ {
		l.MustCredit(tb, a, fmt.Sprintf("%d.%02d", i+1, i))
	}
	f := &exportFixture{l: l}
	it, err := l.DB.IterateEntries(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	var buf bytes.Buffer
	ew, err := ledger.NewExportWriter(&buf, l.DB.LedgerID(), time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	for {
		e := new(walletd.Entry)
		ok, err := it.Next(e)
		if err != nil {
			tb.Fatal(err)
		} else if !ok {
			break
		}
		f.entries = append(f.entries, e)
		if err := ew.WriteEntry(e); err != nil {
			tb.Fatal(err)
		}
	}
	if f.cps, err = l.DB.Checkpoints(ctx, 0, 0); err != nil {
		tb.Fatal(err)
	}
	for _, cp := range f.cps {
		if err := ew.WriteCheckpoint(cp); err != nil {
			tb.Fatal(err)
		}
	}
	if err := ew.Close(); err != nil {
		tb.Fatal(err)
	}
	if len(f.cps) < 3 {
		tb.Fatalf("only %d checkpoints", len(f.cps))
	}
	f.file = buf.Bytes()
	return f
}

func (f *exportFixture) opts() ledger.VerifyOptions {
	return ledger.VerifyOptions{Keyring: f.l.Keyring, PublicKey: f.l.Pub}
}

// verifyExportBytes runs VerifyExport over file.
func verifyExportBytes(tb testing.TB, file []byte, opt ledger.VerifyOptions) (*ledger.VerifyReport, error) {
	tb.Helper()
	rep, _, err := ledger.VerifyExport(context.Background(), bytes.NewReader(file), opt)
	return rep, err
}

// exportLines splits an export into its lines, each with its newline.
func exportLines(file []byte) [][]byte {
	return bytes.SplitAfter(file, []byte("\n"))
}

// lineOfSeq returns the index of the line of entry seq (the header is 0).
func lineOfSeq(seq uint64) int { return int(seq) }

func TestExport_RoundTrip(t *testing.T) {
	f := buildExportFixture(t)
	dbRep := f.l.Verify(t)
	if !dbRep.OK {
		t.Fatalf("database does not verify: %+v", dbRep)
	}

	t.Run("OK", func(t *testing.T) {
		rep, err := verifyExportBytes(t, f.file, f.opts())
		if err != nil {
			t.Fatal(err)
		} else if !reflect.DeepEqual(rep, dbRep) {
			t.Fatalf("export verifies as %+v, database as %+v", rep, dbRep)
		}
	})

	t.Run("SameEntries", func(t *testing.T) {
		er, err := ledger.NewExportReader(bytes.NewReader(f.file))
		if err != nil {
			t.Fatal(err)
		}
		if h := er.Header(); h.Format != ledger.ExportFormat || h.LedgerID != f.l.DB.LedgerID() || h.Canonical != walletd.CanonicalVersion {
			t.Fatalf("header %+v", h)
		}
		for i := 0; ; i++ {
			var e walletd.Entry
			ok, err := er.Next(&e)
			if err != nil {
				t.Fatal(err)
			} else if !ok {
				if i != len(f.entries) {
					t.Fatalf("read %d entries, want %d", i, len(f.entries))
				}
				break
			}
			if !reflect.DeepEqual(&e, f.entries[i]) {
				t.Fatalf("entry %d:\n got %+v\nwant %+v", i+1, e, *f.entries[i])
			}
		}
		if !reflect.DeepEqual(er.Checkpoints(), f.cps) {
			t.Fatalf("checkpoints differ")
		}
	})

	t.Run("HeaderFirst", func(t *testing.T) {
		first := string(exportLines(f.file)[0])
		if !strings.HasPrefix(first, `{"record":"header","format":"walletd.export.v1","ledger_id":"ldg_`) ||
			!strings.HasSuffix(first, `,"canonical":"walletd.entry.v1"}`+"\n") {
			t.Fatalf("header line %s", first)
		}
	})

	// Any JSON writer may re-encode the file: other key order, spaces,
	// other escapes. It still means the same and verifies.
	t.Run("ReencodedOK", func(t *testing.T) {
		var out bytes.Buffer
		for _, line := range exportLines(f.file) {
			if len(line) == 0 {
				continue
			}
			d := json.NewDecoder(bytes.NewReader(line))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(m, "", " ") // sorted keys, HTML escapes
			if err != nil {
				t.Fatal(err)
			}
			out.Write(bytes.ReplaceAll(b, []byte("\n"), nil))
			out.WriteString("\r\n")
		}
		rep, err := verifyExportBytes(t, out.Bytes(), f.opts())
		if err != nil {
			t.Fatal(err)
		} else if !reflect.DeepEqual(rep, dbRep) {
			t.Fatalf("re-encoded export verifies as %+v", rep)
		}
	})
}

// TestExport_FlipByte flips every byte of one entry line in turn: each
// flip must make Verify name that entry's seq.
func TestExport_FlipByte(t *testing.T) {
	f := buildExportFixture(t)
	for _, seq := range []uint64{1, 4, uint64(len(f.entries))} {
		lines := exportLines(f.file)
		before := len(bytes.Join(lines[:lineOfSeq(seq)], nil))
		line := lines[lineOfSeq(seq)]
		for i := range line {
			file := bytes.Clone(f.file)
			file[before+i] ^= 0x01
			rep, err := verifyExportBytes(t, file, f.opts())
			if err != nil {
				t.Fatalf("seq %d byte %d (%q): %v", seq, i, line[i], err)
			} else if rep.OK || rep.FirstBadSeq != seq {
				t.Fatalf("seq %d byte %d (%q→%q): want first bad seq %d, got %+v", seq, i, line[i], line[i]^1, seq, rep)
			}
		}
	}
}

func TestExport_Damage(t *testing.T) {
	f := buildExportFixture(t)
	n := uint64(len(f.entries))
	lines := exportLines(f.file)
	join := func(ls ...[][]byte) []byte {
		var out []byte
		for _, l := range ls {
			out = append(out, bytes.Join(l, nil)...)
		}
		return out
	}
	replaceLine := func(i int, s string) []byte {
		if s+"\n" == string(lines[i]) {
			t.Fatalf("line %d: the replacement changes nothing", i)
		}
		out := append([][]byte{}, lines...)
		out[i] = []byte(s + "\n")
		return join(out)
	}
	entryLine := func(seq uint64) string { return strings.TrimSuffix(string(lines[lineOfSeq(seq)]), "\n") }
	cpLine := func(i int) string { return strings.TrimSuffix(string(lines[int(n)+1+i]), "\n") }

	for _, tc := range []struct {
		name    string
		file    []byte
		wantBad uint64
	}{
		{"ErrCutInEntries", join(lines[:lineOfSeq(7)+1]), 8},
		{"ErrCutMidLine", join(lines[:lineOfSeq(7)], [][]byte{lines[lineOfSeq(7)][:40]}), 7},
		{"ErrCutInCheckpoints", join(lines[:len(lines)-3]), n + 1},
		{"ErrNoEndRecord", join(lines[:len(lines)-2]), n + 1},
		{"ErrEntryRemoved", join(lines[:lineOfSeq(5)], lines[lineOfSeq(6):]), 5},
		{"ErrEntriesSwapped", join(lines[:5], [][]byte{lines[6], lines[5]}, lines[7:]), 5},
		{"ErrEndCountsWrong", replaceLine(len(lines)-2, fmt.Sprintf(`{"record":"end","entries":%d,"checkpoints":%d}`, n+1, len(f.cps))), n + 1},
		{"ErrLineAfterEnd", join(lines, [][]byte{[]byte(entryLine(1) + "\n")}), n + 1},
		{"ErrEntryAfterCheckpoints", join(lines[:len(lines)-2], [][]byte{lines[1]}, lines[len(lines)-2:]), n + 1},
		{"ErrDuplicateKey", replaceLine(lineOfSeq(3), strings.Replace(entryLine(3), `"kind":`, `"kind":"credit","kind":`, 1)), 3},
		{"ErrUnknownField", replaceLine(lineOfSeq(3), strings.Replace(entryLine(3), `"kind":`, `"extra":"x","kind":`, 1)), 3},
		{"ErrMissingField", replaceLine(lineOfSeq(3), strings.Replace(entryLine(3), `"reason":`, `"reasons":`, 1)), 3},
		{"ErrUpperHex", replaceLine(lineOfSeq(3), strings.Replace(entryLine(3), `"hash":"`+f.entries[2].Hash.String(),
			`"hash":"`+strings.ToUpper(f.entries[2].Hash.String()), 1)), 3},
		{"ErrSeqLeadingZero", replaceLine(lineOfSeq(3), strings.Replace(entryLine(3), `"seq":3,`, `"seq":03,`, 1)), 3},
		{"ErrSeqString", replaceLine(lineOfSeq(3), strings.Replace(entryLine(3), `"seq":3,`, `"seq":"3",`, 1)), 3},
		{"ErrTimeNotCanonical", replaceLine(lineOfSeq(3), strings.Replace(entryLine(3), `"created_at":"`+f.entries[2].CreatedAt.Format(walletd.TimeFormat),
			`"created_at":"`+strings.Replace(f.entries[2].CreatedAt.Format(walletd.TimeFormat), ".", ",", 1), 1)), 3},
		{"ErrBadSignature", replaceLine(int(n)+1, strings.Replace(cpLine(0), `"signature":"`, `"signature":"AAAA`, 1)), f.cps[0].Seq},
		{"ErrCheckpointNotBase64", replaceLine(int(n)+1, strings.Replace(cpLine(0), `"signature":"`, `"signature":"*`, 1)), n + 1},
		{"ErrCheckpointRemoved", join(lines[:int(n)+1], lines[int(n)+2:]), n + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := verifyExportBytes(t, tc.file, f.opts())
			if err != nil {
				t.Fatal(err)
			} else if rep.OK || rep.FirstBadSeq != tc.wantBad {
				t.Fatalf("want first bad seq %d, got %+v", tc.wantBad, rep)
			}
		})
	}

	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"ErrEmpty", nil},
		{"ErrNoHeader", join(lines[1:])},
		{"ErrOtherFormat", replaceLine(0, strings.Replace(string(lines[0]), "walletd.export.v1", "walletd.export.v2", 1))},
		{"ErrOtherCanonical", replaceLine(0, strings.Replace(string(lines[0]), "walletd.entry.v1", "walletd.entry.v9", 1))},
		{"ErrHeaderNotJSON", replaceLine(0, "walletd export")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rep, err := verifyExportBytes(t, tc.file, f.opts()); err == nil {
				t.Fatalf("want an error, got %+v", rep)
			}
		})
	}

	t.Run("ErrOtherLedger", func(t *testing.T) {
		opt := f.opts()
		opt.LedgerID = "ldg_other"
		rep, err := verifyExportBytes(t, f.file, opt)
		if err != nil {
			t.Fatal(err)
		} else if rep.OK {
			t.Fatal("an export of another ledger verified")
		}
	})
}

func TestExportWriter(t *testing.T) {
	t.Run("ErrInvalidUTF8", func(t *testing.T) {
		ew, err := ledger.NewExportWriter(io.Discard, "ldg_x", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := ew.WriteEntry(&walletd.Entry{Seq: 1, Reason: "bad \xff byte"}); err == nil || !strings.Contains(err.Error(), "reason") {
			t.Fatalf("want an error naming reason, got %v", err)
		}
	})
	t.Run("ErrOrder", func(t *testing.T) {
		ew, _ := ledger.NewExportWriter(io.Discard, "ldg_x", time.Now())
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
		ew, err := ledger.NewExportWriter(failWriter{}, "ldg_x", time.Now())
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
		if _, _, err := ledger.ReadExportCheckpoints(bytes.NewReader(file)); err != nil {
			return
		}
		er, err := ledger.NewExportReader(bytes.NewReader(file))
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
			ew, err := ledger.NewExportWriter(&buf, "ldg_fuzz", time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			if err := ew.WriteEntry(&e); err != nil {
				t.Fatalf("entry read but not writable: %v", err)
			}
			if err := ew.Close(); err != nil {
				t.Fatal(err)
			}
			er2, err := ledger.NewExportReader(&buf)
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
