package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger/export"
)

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
		er, err := export.NewReader(bytes.NewReader(f.file))
		if err != nil {
			t.Fatal(err)
		}
		if h := er.Header(); h.Format != export.Format || h.LedgerID != f.l.DB.LedgerID() || h.Canonical != walletd.CanonicalVersion {
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
