// Package export is walletd's JSON Lines export of a ledger, format
// walletd.export.v1: a Writer that encodes the entries and checkpoints of a
// ledger one line each, and a Reader that decodes them again as a
// walletd.EntryIterator, so that ledger.Verify can check an export as it
// checks the database. docs/auditing.md describes the format field by
// field. An export is, one JSON object per line:
//
//	{"record":"header","format":"walletd.export.v1","ledger_id":…,"exported_at":…,"canonical":"walletd.entry.v1"}
//	{"record":"entry","seq":1,"id":…,…,"prev_hash":…,"hash":…}      one per entry, in seq order
//	{"record":"checkpoint","seq":…,"ledger_id":…,"head_hash":…,"created_at":…,"signature":…}   one per checkpoint
//	{"record":"end","entries":N,"checkpoints":M}
//
// The end record lets a reader tell a complete file from a truncated one.
//
// # Why the JSON is hand-written
//
// Both directions bypass encoding/json on purpose.
//
// The reader's scanner (scanner.go, record.go) is strict where
// encoding/json is lenient, because an export comes from outside and an
// auditor's file must mean one thing only: every change to a line must
// either leave its meaning intact or be reported as damage at that entry's
// seq. encoding/json keeps the last of two duplicate keys, ignores unknown
// fields and matches keys case-insensitively ("Kind" fills kind), so a line
// with an added or altered key would still verify; it also replaces invalid
// UTF-8 with U+FFFD, so the error would name the hash, not the damage. The
// scanner refuses duplicate, unknown and missing keys, numbers that are not
// plain non-negative integers, a number where a string belongs and the
// reverse, upper-case hex, times not in their one exact form, and invalid
// UTF-8; FuzzExportReader and the flip-every-byte test hold it to that. It
// still reads any valid JSON rendering of the same data (other member
// order, spaces, \u escapes, \r\n line ends), so a file that passed through
// another JSON tool still verifies.
//
// Both directions are built for speed: the export of a large ledger runs to
// gigabytes, and a verifier reads it twice. The writer appends each line
// into one reused buffer, members in the frozen order of docs/auditing.md,
// with no reflection and no allocation per entry. The reader makes one
// string of each line, which the entry's fields then slice (so an entry owns
// its text without a copy per field), switches on keys instead of building
// maps, and decodes escapes only when a string has one. The verifier's first
// pass, ReadCheckpoints, skips the lines that start `{"record":"entry",`
// (every entry line the Writer writes) without parsing them.
package export

import "time"

// Format names the JSON Lines export format written by Writer.
// docs/auditing.md describes it field by field.
const Format = "walletd.export.v1"

// MaxLine bounds one line of an export. The longest entry walletd writes
// (every text field at its limit, 50 metadata keys) is far shorter.
const MaxLine = 1 << 20

// Record kinds: the value of the "record" field that starts every line. The
// field is not called "type" because entries have a "type" field of their
// own (topup, order_payment …).
const (
	RecordHeader     = "header"
	RecordEntry      = "entry"
	RecordCheckpoint = "checkpoint"
	RecordEnd        = "end"
)

// Header is the first line of an export.
type Header struct {
	Format     string    // Format
	LedgerID   string    // the ledger's id, which every checkpoint names
	ExportedAt time.Time // when the export was written
	Canonical  string    // walletd.CanonicalVersion of the entries' hashes
}
