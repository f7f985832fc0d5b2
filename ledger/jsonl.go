package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/walletd/walletd"
)

// ExportFormat names the JSON Lines export format written by ExportWriter.
// docs/auditing.md describes it field by field.
const ExportFormat = "walletd.export.v1"

// MaxExportLine bounds one line of an export. The longest entry walletd
// writes (every text field at its limit, 50 metadata keys) is far shorter.
const MaxExportLine = 1 << 20

// Record kinds: the value of the "record" field that starts every line. The
// field is not called "type" because entries have a "type" field of their
// own (topup, order_payment …).
const (
	RecordHeader     = "header"
	RecordEntry      = "entry"
	RecordCheckpoint = "checkpoint"
	RecordEnd        = "end"
)

// An export is, one JSON object per line:
//
//	{"record":"header","format":"walletd.export.v1","ledger_id":…,"exported_at":…,"canonical":"walletd.entry.v1"}
//	{"record":"entry","seq":1,"id":…,…,"prev_hash":…,"hash":…}      one per entry, in seq order
//	{"record":"checkpoint","seq":…,"ledger_id":…,"head_hash":…,"created_at":…,"signature":…}   one per checkpoint
//	{"record":"end","entries":N,"checkpoints":M}
//
// The end record lets a reader tell a complete file from a truncated one.

// ExportHeader is the first line of an export.
type ExportHeader struct {
	Format     string    // ExportFormat
	LedgerID   string    // the ledger's id, which every checkpoint names
	ExportedAt time.Time // when the export was written
	Canonical  string    // CanonicalVersion of the entries' hashes
}

// ExportWriter writes an export: the header, then every entry in seq
// order, then every checkpoint, then (on Close) the end record. It buffers;
// Close flushes but does not close the underlying writer.
type ExportWriter struct {
	w           *bufio.Writer
	buf         []byte
	entries     uint64
	checkpoints uint64
	lastSeq     uint64
	closed      bool
	err         error // sticky write error
}

// NewExportWriter writes the header to w and returns a writer for the rest.
func NewExportWriter(w io.Writer, ledgerID string, exportedAt time.Time) (*ExportWriter, error) {
	ew := &ExportWriter{w: bufio.NewWriterSize(w, 256<<10), buf: make([]byte, 0, 2048)}
	if err := validUTF8("ledger_id", ledgerID); err != nil {
		return nil, fmt.Errorf("export: header: %w", err)
	}
	b := append(ew.buf[:0], `{"record":"header","format":`...)
	b = appendJSONString(b, ExportFormat)
	b = append(b, `,"ledger_id":`...)
	b = appendJSONString(b, ledgerID)
	b = append(b, `,"exported_at":"`...)
	b = exportedAt.UTC().AppendFormat(b, walletd.TimeFormat)
	b = append(b, `","canonical":`...)
	b = appendJSONString(b, walletd.CanonicalVersion)
	b = append(b, "}\n"...)
	ew.buf = b
	if err := ew.write(b); err != nil {
		return nil, err
	}
	return ew, nil
}

// WriteEntry appends one entry line. Entries must come in seq order and
// before any checkpoint. Text that is not valid UTF-8 cannot be carried by
// JSON without changing it, so such an entry is refused rather than
// silently altered.
func (ew *ExportWriter) WriteEntry(e *walletd.Entry) error {
	if ew.err != nil {
		return ew.err
	} else if ew.closed {
		return errors.New("export: writer is closed")
	} else if ew.checkpoints > 0 {
		return fmt.Errorf("export: entry %d after a checkpoint", e.Seq)
	} else if ew.entries > 0 && e.Seq <= ew.lastSeq {
		return fmt.Errorf("export: entry %d after entry %d", e.Seq, ew.lastSeq)
	}
	b := append(ew.buf[:0], `{"record":"entry","seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	for _, f := range [...]struct {
		name, value string
	}{
		{"id", e.ID}, {"event_id", e.EventID}, {"kind", e.Kind}, {"type", e.Type},
		{"wallet_id", e.WalletID}, {"user_id", e.UserID}, {"email", e.Email},
		{"currency", e.Currency}, {"amount", e.Amount}, {"balance_after", e.BalanceAfter},
		{"held_after", e.HeldAfter}, {"reason", e.Reason}, {"order_id", e.OrderID},
		{"transfer_id", e.TransferID}, {"counterparty_wallet_id", e.Counterparty},
		{"metadata", e.Metadata}, {"idempotency_key", e.IdempotencyKey},
		{"request_hash", e.RequestHash},
	} {
		if err := validUTF8(f.name, f.value); err != nil {
			return fmt.Errorf("export: entry %d: %w", e.Seq, err)
		}
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = appendJSONString(b, f.value)
	}
	if err := validUTF8("key_id", e.KeyID); err != nil {
		return fmt.Errorf("export: entry %d: %w", e.Seq, err)
	}
	b = append(b, `,"created_at":"`...)
	b = e.CreatedAt.UTC().AppendFormat(b, walletd.TimeFormat)
	b = append(b, `","key_id":`...)
	b = appendJSONString(b, e.KeyID)
	b = append(b, `,"prev_hash":"`...)
	b = appendHex(b, e.PrevHash[:])
	b = append(b, `","hash":"`...)
	b = appendHex(b, e.Hash[:])
	b = append(b, "\"}\n"...)
	ew.buf = b
	if err := ew.write(b); err != nil {
		return err
	}
	ew.entries++
	ew.lastSeq = e.Seq
	return nil
}

// WriteCheckpoint appends one checkpoint line; checkpoints follow the
// entries.
func (ew *ExportWriter) WriteCheckpoint(cp *walletd.Checkpoint) error {
	if ew.err != nil {
		return ew.err
	} else if ew.closed {
		return errors.New("export: writer is closed")
	} else if err := validUTF8("ledger_id", cp.LedgerID); err != nil {
		return fmt.Errorf("export: checkpoint %d: %w", cp.Seq, err)
	}
	b := append(ew.buf[:0], `{"record":"checkpoint","seq":`...)
	b = strconv.AppendUint(b, cp.Seq, 10)
	b = append(b, `,"ledger_id":`...)
	b = appendJSONString(b, cp.LedgerID)
	b = append(b, `,"head_hash":"`...)
	b = appendHex(b, cp.HeadHash[:])
	b = append(b, `","created_at":"`...)
	b = cp.CreatedAt.UTC().AppendFormat(b, walletd.TimeFormat)
	b = append(b, `","signature":"`...)
	b = base64.StdEncoding.AppendEncode(b, cp.Signature)
	b = append(b, "\"}\n"...)
	ew.buf = b
	if err := ew.write(b); err != nil {
		return err
	}
	ew.checkpoints++
	return nil
}

// Counts returns the entries and checkpoints written so far.
func (ew *ExportWriter) Counts() (entries, checkpoints uint64) { return ew.entries, ew.checkpoints }

// Close writes the end record and flushes. It does not close the
// underlying writer.
func (ew *ExportWriter) Close() error {
	if ew.err != nil || ew.closed {
		return ew.err
	}
	ew.closed = true
	b := append(ew.buf[:0], `{"record":"end","entries":`...)
	b = strconv.AppendUint(b, ew.entries, 10)
	b = append(b, `,"checkpoints":`...)
	b = strconv.AppendUint(b, ew.checkpoints, 10)
	b = append(b, "}\n"...)
	if err := ew.write(b); err != nil {
		return err
	}
	if err := ew.w.Flush(); err != nil {
		ew.err = fmt.Errorf("export: %w", err)
	}
	return ew.err
}

func (ew *ExportWriter) write(b []byte) error {
	if _, err := ew.w.Write(b); err != nil {
		ew.err = fmt.Errorf("export: %w", err)
	}
	return ew.err
}

func validUTF8(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8, which JSON cannot carry unchanged", field)
	}
	return nil
}

// appendJSONString appends s as a JSON string, escaping only what JSON
// requires: the quote, the backslash and control characters.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendHex(b, src []byte) []byte {
	const hexDigits = "0123456789abcdef"
	for _, c := range src {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// ExportLineError reports an entry line of an export that cannot be read
// as an entry (a damaged line), or damage after the last entry. BadSeq
// names the first seq it puts in doubt: the one after the last entry read,
// which is the line's own seq in a well-ordered file. Verify reports it.
type ExportLineError struct {
	Line int    // 1-based line number in the file
	Seq  uint64 // the first seq in doubt
	Err  error
	cut  bool // the file ended early; Line is the last line read
}

func (e *ExportLineError) Error() string {
	if e.cut {
		return "export: " + e.Err.Error()
	}
	return fmt.Sprintf("export line %d: %v", e.Line, e.Err)
}

func (e *ExportLineError) Unwrap() error { return e.Err }

// BadSeq implements the interface Verify uses to name the seq.
func (e *ExportLineError) BadSeq() uint64 { return e.Seq }

var _ EntryIterator = (*ExportReader)(nil)

// ExportReader reads an export as an EntryIterator, one line at a time.
// After Next has returned false, Checkpoints holds the checkpoint lines
// that followed the entries, and the end record has been checked.
//
// Verify needs the checkpoints before the entries, so a verifier of a file
// reads it twice: ReadExportCheckpoints, then an ExportReader (VerifyExport
// does both).
type ExportReader struct {
	lr          lineReader
	header      ExportHeader
	p           recordParser
	lastSeq     uint64
	entries     uint64
	checkpoints []*walletd.Checkpoint
	done        bool
	err         error // sticky
}

// NewExportReader reads and checks the header line of an export. A
// missing or damaged header is an error: nothing after it can be trusted.
func NewExportReader(r io.Reader) (*ExportReader, error) {
	er := &ExportReader{lr: newLineReader(r)}
	line, err := er.lr.next()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("export: the file is empty")
	} else if err != nil {
		return nil, fmt.Errorf("export line 1: %w", err)
	}
	h, err := parseHeader(&er.p, line)
	if err != nil {
		return nil, fmt.Errorf("export line 1: %w", err)
	}
	er.header = *h
	return er, nil
}

// Header returns the export's header.
func (er *ExportReader) Header() ExportHeader { return er.header }

// Checkpoints returns the checkpoints read after the entries; complete once
// Next has returned false with no error.
func (er *ExportReader) Checkpoints() []*walletd.Checkpoint { return er.checkpoints }

// Next fills e with the next entry line; false after the last one, once
// the checkpoint lines and the end record have been read and found
// consistent. A damaged entry line, or damage after the entries, gives an
// *ExportLineError, whose BadSeq names the first seq in doubt.
func (er *ExportReader) Next(e *walletd.Entry) (bool, error) {
	if er.err != nil {
		return false, er.err
	} else if er.done {
		return false, nil
	}
	line, err := er.lr.next()
	if errors.Is(err, io.EOF) {
		return false, er.fail(er.cutShort())
	} else if err != nil {
		return false, er.fail(err)
	}
	kind, err := er.p.parse(line)
	if err == nil && kind == RecordEntry {
		if err = er.p.entry(e); err == nil {
			er.lastSeq = e.Seq
			er.entries++
			return true, nil
		}
		if seq, ok := er.p.seq(); ok {
			err = fmt.Errorf("entry seq %d: %w", seq, err)
		}
		return false, er.fail(err)
	} else if err != nil {
		return false, er.fail(err)
	}
	// The first line after the entries.
	if err := er.readTail(kind); err != nil {
		return false, er.fail(err)
	}
	er.done = true
	return false, nil
}

// readTail reads the checkpoint lines and the end record, starting with
// the line already parsed as kind.
func (er *ExportReader) readTail(kind string) error {
	for {
		switch kind {
		case RecordCheckpoint:
			cp, err := er.p.checkpoint()
			if err != nil {
				return err
			}
			er.checkpoints = append(er.checkpoints, cp)
		case RecordEnd:
			n, m, err := er.p.end()
			if err != nil {
				return err
			} else if n != er.entries || m != uint64(len(er.checkpoints)) {
				return fmt.Errorf("the end record counts %d entries and %d checkpoints, but the file has %d and %d",
					n, m, er.entries, len(er.checkpoints))
			}
			// Only blank lines may follow.
			for {
				line, err := er.lr.next()
				if errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return err
				} else if len(bytes.TrimSpace(line)) != 0 {
					return errors.New("a line follows the end record")
				}
			}
		case RecordEntry:
			return errors.New("an entry line follows the checkpoints")
		default:
			return fmt.Errorf("unexpected %q record", kind)
		}
		line, err := er.lr.next()
		if errors.Is(err, io.EOF) {
			return er.cutShort()
		} else if err != nil {
			return err
		}
		if kind, err = er.p.parse(line); err != nil {
			return err
		}
	}
}

// cutShort is the error for a file that ends before its end record.
func (er *ExportReader) cutShort() error {
	return fmt.Errorf("%w after line %d without its end record: it was cut short", errCutShort, er.lr.line)
}

func (er *ExportReader) fail(err error) error {
	er.err = &ExportLineError{Line: er.lr.line, Seq: er.lastSeq + 1, Err: err, cut: errors.Is(err, errCutShort)}
	return er.err
}

// ReadExportCheckpoints reads a whole export and returns its header and
// every well-formed checkpoint line, wherever it is. It is the first of a
// verifier's two passes and is lenient on purpose: damaged lines are left
// for the ExportReader of the second pass to report with the seq they put
// in doubt.
func ReadExportCheckpoints(r io.Reader) (*ExportHeader, []*walletd.Checkpoint, error) {
	lr := newLineReader(r)
	var p recordParser
	line, err := lr.next()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("export: the file is empty")
	} else if err != nil {
		return nil, nil, fmt.Errorf("export line 1: %w", err)
	}
	h, err := parseHeader(&p, line)
	if err != nil {
		return nil, nil, fmt.Errorf("export line 1: %w", err)
	}
	var cps []*walletd.Checkpoint
	entryPrefix := []byte(`{"record":"entry",`)
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			return h, cps, nil
		} else if errors.Is(err, errLineTooLong) {
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("export line %d: %w", lr.line, err)
		}
		if bytes.HasPrefix(line, entryPrefix) {
			continue // the common case, skipped without parsing
		}
		if kind, err := p.parse(line); err == nil && kind == RecordCheckpoint {
			if cp, err := p.checkpoint(); err == nil {
				cps = append(cps, cp)
			}
		}
	}
}

// VerifyExport verifies the export in r, which it reads twice. If
// opt.LedgerID is empty, the header's ledger id is used: every checkpoint
// must name it. A damaged header is an error; any other damage is a
// failed report naming the first seq in doubt.
func VerifyExport(ctx context.Context, r io.ReadSeeker, opt VerifyOptions) (*VerifyReport, *ExportHeader, error) {
	h, cps, err := ReadExportCheckpoints(r)
	if err != nil {
		return nil, nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, nil, fmt.Errorf("export: rewind: %w", err)
	}
	er, err := NewExportReader(r)
	if err != nil {
		return nil, nil, err
	}
	if opt.LedgerID == "" {
		opt.LedgerID = h.LedgerID
	}
	rep, err := Verify(ctx, er, cps, opt)
	return rep, h, err
}

// errCutShort marks a file that ends before its end record.
var errCutShort = errors.New("the export ends")

// errLineTooLong reports a line longer than MaxExportLine.
var errLineTooLong = fmt.Errorf("line is longer than %d bytes", MaxExportLine)

// lineReader splits its input into lines, without the newline.
type lineReader struct {
	r    *bufio.Reader
	buf  []byte
	line int // number of the line last returned
}

func newLineReader(r io.Reader) lineReader {
	return lineReader{r: bufio.NewReaderSize(r, 256<<10)}
}

// next returns the next line, valid until the following call; io.EOF at
// the end. A final line without a newline is a line.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if err == nil {
			lr.line++
			if len(lr.buf) == 0 {
				return chunk[:len(chunk)-1], nil
			}
			lr.buf = append(lr.buf, chunk[:len(chunk)-1]...)
			return lr.buf, lr.check()
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(lr.buf)+len(chunk) > MaxExportLine {
				// Skip the rest of the line, so the caller may go on.
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = lr.r.ReadSlice('\n')
				}
				lr.line++
				if err != nil && !errors.Is(err, io.EOF) {
					return nil, err
				}
				return nil, errLineTooLong
			}
			lr.buf = append(lr.buf, chunk...)
			continue
		}
		if errors.Is(err, io.EOF) {
			lr.buf = append(lr.buf, chunk...)
			if len(lr.buf) == 0 {
				return nil, io.EOF
			}
			lr.line++
			return lr.buf, lr.check()
		}
		return nil, err
	}
}

func (lr *lineReader) check() error {
	if len(lr.buf) > MaxExportLine {
		return errLineTooLong
	}
	return nil
}

// parseHeader parses and checks a header line.
func parseHeader(p *recordParser, line []byte) (*ExportHeader, error) {
	kind, err := p.parse(line)
	if err != nil {
		return nil, err
	} else if kind != RecordHeader {
		return nil, fmt.Errorf("the first line is a %q record, not the header", kind)
	}
	var h ExportHeader
	var at string
	if err := p.fields(map[string]*string{"format": &h.Format, "ledger_id": &h.LedgerID, "exported_at": &at, "canonical": &h.Canonical}, nil); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if h.Format != ExportFormat {
		return nil, fmt.Errorf("header: format %q is not %q", h.Format, ExportFormat)
	} else if h.Canonical != walletd.CanonicalVersion {
		return nil, fmt.Errorf("header: canonical encoding %q is not %q, the one this walletd verifies", h.Canonical, walletd.CanonicalVersion)
	}
	if h.ExportedAt, err = parseExportTime(at); err != nil {
		return nil, fmt.Errorf("header: exported_at: %w", err)
	}
	return &h, nil
}

// parseExportTime parses a TimeFormat time and insists on the exact text
// (hashes cover the time re-rendered in that form, so nothing else may
// pass for it).
func parseExportTime(s string) (time.Time, error) {
	t, err := time.Parse(walletd.TimeFormat, s)
	if err != nil {
		return t, err
	} else if t.Format(walletd.TimeFormat) != s {
		return t, fmt.Errorf("%q is not in the form %s", s, walletd.TimeFormat)
	}
	return t, nil
}

// jsonValue is one member of a flat JSON object: a string or a
// non-negative integer.
type jsonValue struct {
	key   string
	str   string
	num   uint64
	isNum bool
}

// recordParser parses one export line: a flat JSON object whose values
// are strings or non-negative integers. It is strict on purpose: the input
// comes from outside, and an auditor's file must mean one thing only, so
// duplicate keys (refused by the decoders: entry, fields), unknown or
// missing fields, leading zeros and upper-case hex are all errors.
type recordParser struct {
	vals []jsonValue
	s    string // the line as a string; values without escapes slice it
	i    int
}

// parse parses line and returns the value of its "record" member.
func (p *recordParser) parse(line []byte) (string, error) {
	p.vals = p.vals[:0]
	p.s, p.i = string(line), 0
	if !utf8.ValidString(p.s) {
		return "", errors.New("line is not valid UTF-8")
	}
	p.space()
	if !p.eat('{') {
		return "", p.errorf("want '{'")
	}
	p.space()
	if !p.eat('}') {
		for {
			p.space()
			key, err := p.str()
			if err != nil {
				return "", err
			}
			p.space()
			if !p.eat(':') {
				return "", p.errorf("want ':' after key %q", key)
			}
			p.space()
			v := jsonValue{key: key}
			if p.i < len(p.s) && p.s[p.i] == '"' {
				if v.str, err = p.str(); err != nil {
					return "", err
				}
			} else if v.num, err = p.uint(); err != nil {
				return "", fmt.Errorf("%s: %w", key, err)
			} else {
				v.isNum = true
			}
			p.vals = append(p.vals, v)
			p.space()
			if p.eat('}') {
				break
			} else if !p.eat(',') {
				return "", p.errorf("want ',' or '}'")
			}
		}
	}
	p.space()
	if p.i != len(p.s) {
		return "", p.errorf("text after the object")
	}
	record, n := "", 0
	for _, v := range p.vals {
		if v.key == "record" {
			if v.isNum {
				return "", errors.New("record is not a string")
			}
			record = v.str
			n++
		}
	}
	switch n {
	case 0:
		return "", errors.New("no record field")
	case 1:
		return record, nil
	}
	return "", errors.New(`duplicate key "record"`)
}

func (p *recordParser) errorf(format string, args ...any) error {
	return fmt.Errorf("malformed JSON at byte %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func (p *recordParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *recordParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// uint parses a JSON number that must be a non-negative integer without
// leading zeros, fraction or exponent, within uint64.
func (p *recordParser) uint() (uint64, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	digits := p.s[start:p.i]
	if digits == "" {
		return 0, p.errorf("want a string or a non-negative integer")
	} else if len(digits) > 1 && digits[0] == '0' {
		return 0, p.errorf("number with a leading zero")
	} else if p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		return 0, p.errorf("want an integer")
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, p.errorf("integer out of range")
	}
	return n, nil
}

// str parses a JSON string. Without escapes it is a substring of the line.
func (p *recordParser) str() (string, error) {
	if !p.eat('"') {
		return "", p.errorf("want a string")
	}
	start := p.i
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", p.errorf("control character in a string")
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}

// strSlow decodes a string with escapes, from start (after the quote).
func (p *recordParser) strSlow(start int) (string, error) {
	b := []byte(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			break
		}
		esc := p.s[p.i+1]
		p.i += 2
		switch esc {
		case '"', '\\', '/':
			b = append(b, esc)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A surrogate must come as a high-low pair.
				if !(p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u') {
					return "", p.errorf("lone surrogate in \\u escape")
				}
				p.i += 2
				r2, ok := p.hex4()
				if !ok {
					return "", p.errorf("bad \\u escape")
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", p.errorf("bad surrogate pair in \\u escape")
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", p.errorf("bad escape \\%c", esc)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *recordParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// fields assigns the parsed members to strs and nums by key, and requires
// every one of them, once, and no other member than "record".
func (p *recordParser) fields(strs map[string]*string, nums map[string]*uint64) error {
	seen := 0
	for i, v := range p.vals {
		if v.key == "record" {
			continue
		}
		for _, w := range p.vals[:i] {
			if w.key == v.key {
				return fmt.Errorf("duplicate key %q", v.key)
			}
		}
		if dst, ok := strs[v.key]; ok {
			if v.isNum {
				return fmt.Errorf("%s is a number, want a string", v.key)
			}
			*dst = v.str
		} else if dst, ok := nums[v.key]; ok {
			if !v.isNum {
				return fmt.Errorf("%s is a string, want a number", v.key)
			}
			*dst = v.num
		} else {
			return fmt.Errorf("unknown field %q", v.key)
		}
		seen++
	}
	if seen != len(strs)+len(nums) {
		for k := range strs {
			if !p.has(k) {
				return fmt.Errorf("missing field %q", k)
			}
		}
		for k := range nums {
			if !p.has(k) {
				return fmt.Errorf("missing field %q", k)
			}
		}
	}
	return nil
}

func (p *recordParser) has(key string) bool {
	for _, v := range p.vals {
		if v.key == key {
			return true
		}
	}
	return false
}

// seq returns the parsed "seq" member, if the line had a numeric one.
func (p *recordParser) seq() (uint64, bool) {
	for _, v := range p.vals {
		if v.key == "seq" && v.isNum {
			return v.num, true
		}
	}
	return 0, false
}

// entryFieldCount is the number of members of an entry line besides
// "record".
const entryFieldCount = 23

// entry fills e from a parsed entry line. It is the hot path of verifying
// an export, so it switches on keys instead of building maps.
func (p *recordParser) entry(e *walletd.Entry) error {
	var seen [entryFieldCount]bool
	var createdAt, prevHash, hash string
	for _, v := range p.vals {
		var dst *string
		idx := 0
		switch v.key {
		case "record":
			continue
		case "seq":
			if !v.isNum {
				return errors.New("seq is a string, want a number")
			}
			if seen[0] {
				return errors.New(`duplicate key "seq"`)
			}
			e.Seq = v.num
			seen[0] = true
			continue
		case "id":
			dst, idx = &e.ID, 1
		case "event_id":
			dst, idx = &e.EventID, 2
		case "kind":
			dst, idx = &e.Kind, 3
		case "type":
			dst, idx = &e.Type, 4
		case "wallet_id":
			dst, idx = &e.WalletID, 5
		case "user_id":
			dst, idx = &e.UserID, 6
		case "email":
			dst, idx = &e.Email, 7
		case "currency":
			dst, idx = &e.Currency, 8
		case "amount":
			dst, idx = &e.Amount, 9
		case "balance_after":
			dst, idx = &e.BalanceAfter, 10
		case "held_after":
			dst, idx = &e.HeldAfter, 11
		case "reason":
			dst, idx = &e.Reason, 12
		case "order_id":
			dst, idx = &e.OrderID, 13
		case "transfer_id":
			dst, idx = &e.TransferID, 14
		case "counterparty_wallet_id":
			dst, idx = &e.Counterparty, 15
		case "metadata":
			dst, idx = &e.Metadata, 16
		case "idempotency_key":
			dst, idx = &e.IdempotencyKey, 17
		case "request_hash":
			dst, idx = &e.RequestHash, 18
		case "created_at":
			dst, idx = &createdAt, 19
		case "key_id":
			dst, idx = &e.KeyID, 20
		case "prev_hash":
			dst, idx = &prevHash, 21
		case "hash":
			dst, idx = &hash, 22
		default:
			return fmt.Errorf("unknown field %q", v.key)
		}
		if v.isNum {
			return fmt.Errorf("%s is a number, want a string", v.key)
		} else if seen[idx] {
			return fmt.Errorf("duplicate key %q", v.key)
		}
		*dst = v.str
		seen[idx] = true
	}
	for i, ok := range seen {
		if !ok {
			return fmt.Errorf("missing field %q", entryFieldNames[i])
		}
	}
	var err error
	if e.CreatedAt, err = parseExportTime(createdAt); err != nil {
		return fmt.Errorf("created_at: %w", err)
	}
	if err := parseLowerHex(&e.PrevHash, prevHash); err != nil {
		return fmt.Errorf("prev_hash: %w", err)
	}
	if err := parseLowerHex(&e.Hash, hash); err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	return nil
}

var entryFieldNames = [entryFieldCount]string{"seq", "id", "event_id", "kind", "type", "wallet_id",
	"user_id", "email", "currency", "amount", "balance_after", "held_after", "reason", "order_id",
	"transfer_id", "counterparty_wallet_id", "metadata", "idempotency_key", "request_hash",
	"created_at", "key_id", "prev_hash", "hash"}

// checkpoint returns the checkpoint of a parsed checkpoint line.
func (p *recordParser) checkpoint() (*walletd.Checkpoint, error) {
	cp := &walletd.Checkpoint{}
	var head, at, sig string
	if err := p.fields(map[string]*string{"ledger_id": &cp.LedgerID, "head_hash": &head, "created_at": &at, "signature": &sig},
		map[string]*uint64{"seq": &cp.Seq}); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var err error
	if err := parseLowerHex(&cp.HeadHash, head); err != nil {
		return nil, fmt.Errorf("checkpoint %d: head_hash: %w", cp.Seq, err)
	}
	if cp.CreatedAt, err = parseExportTime(at); err != nil {
		return nil, fmt.Errorf("checkpoint %d: created_at: %w", cp.Seq, err)
	}
	if cp.Signature, err = base64.StdEncoding.Strict().DecodeString(sig); err != nil {
		return nil, fmt.Errorf("checkpoint %d: signature is not base64", cp.Seq)
	}
	return cp, nil
}

// end returns the counts of a parsed end record.
func (p *recordParser) end() (entries, checkpoints uint64, err error) {
	if err := p.fields(nil, map[string]*uint64{"entries": &entries, "checkpoints": &checkpoints}); err != nil {
		return 0, 0, fmt.Errorf("end record: %w", err)
	}
	return entries, checkpoints, nil
}

// parseLowerHex parses a 64-character lower-case hex hash. Upper case is
// refused so that one hash has one spelling.
func parseLowerHex(h *walletd.Hash, s string) error {
	if len(s) != 2*walletd.HashSize {
		return fmt.Errorf("%d characters, want %d", len(s), 2*walletd.HashSize)
	}
	for i := 0; i < walletd.HashSize; i++ {
		hi, ok1 := lowerHexVal(s[2*i])
		lo, ok2 := lowerHexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return errors.New("not lower-case hex")
		}
		h[i] = hi<<4 | lo
	}
	return nil
}

func lowerHexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
