package export

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/walletd/walletd"
)

// Writer writes an export: the header, then every entry in seq order, then
// every checkpoint, then (on Close) the end record. It buffers; Close
// flushes but does not close the underlying writer.
type Writer struct {
	bw          *bufio.Writer
	buf         []byte
	entries     uint64
	checkpoints uint64
	lastSeq     uint64
	closed      bool
	err         error // sticky write error
}

// NewWriter writes the header to w and returns a writer for the rest.
func NewWriter(w io.Writer, ledgerID string, exportedAt time.Time) (*Writer, error) {
	ew := &Writer{bw: bufio.NewWriterSize(w, 256<<10), buf: make([]byte, 0, 2048)}
	if err := validUTF8("ledger_id", ledgerID); err != nil {
		return nil, fmt.Errorf("export: header: %w", err)
	}
	b := append(ew.buf[:0], `{"record":"header","format":`...)
	b = appendJSONString(b, Format)
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
func (w *Writer) WriteEntry(e *walletd.Entry) error {
	if w.err != nil {
		return w.err
	} else if w.closed {
		return errors.New("export: writer is closed")
	} else if w.checkpoints > 0 {
		return fmt.Errorf("export: entry %d after a checkpoint", e.Seq)
	} else if w.entries > 0 && e.Seq <= w.lastSeq {
		return fmt.Errorf("export: entry %d after entry %d", e.Seq, w.lastSeq)
	}
	b := append(w.buf[:0], `{"record":"entry","seq":`...)
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
	w.buf = b
	if err := w.write(b); err != nil {
		return err
	}
	w.entries++
	w.lastSeq = e.Seq
	return nil
}

// WriteCheckpoint appends one checkpoint line; checkpoints follow the
// entries.
func (w *Writer) WriteCheckpoint(cp *walletd.Checkpoint) error {
	if w.err != nil {
		return w.err
	} else if w.closed {
		return errors.New("export: writer is closed")
	} else if err := validUTF8("ledger_id", cp.LedgerID); err != nil {
		return fmt.Errorf("export: checkpoint %d: %w", cp.Seq, err)
	}
	b := append(w.buf[:0], `{"record":"checkpoint","seq":`...)
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
	w.buf = b
	if err := w.write(b); err != nil {
		return err
	}
	w.checkpoints++
	return nil
}

// Counts returns the entries and checkpoints written so far.
func (w *Writer) Counts() (entries, checkpoints uint64) { return w.entries, w.checkpoints }

// Close writes the end record and flushes. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.err != nil || w.closed {
		return w.err
	}
	w.closed = true
	b := append(w.buf[:0], `{"record":"end","entries":`...)
	b = strconv.AppendUint(b, w.entries, 10)
	b = append(b, `,"checkpoints":`...)
	b = strconv.AppendUint(b, w.checkpoints, 10)
	b = append(b, "}\n"...)
	if err := w.write(b); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("export: %w", err)
	}
	return w.err
}

func (w *Writer) write(b []byte) error {
	if _, err := w.bw.Write(b); err != nil {
		w.err = fmt.Errorf("export: %w", err)
	}
	return w.err
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
