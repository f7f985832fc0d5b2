package export

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/walletd/walletd"
)

// LineError reports an entry line of an export that cannot be read as an
// entry (a damaged line), or damage after the last entry. BadSeq names the
// first seq it puts in doubt: the one after the last entry read, which is
// the line's own seq in a well-ordered file. ledger.Verify reports it.
type LineError struct {
	Line int    // 1-based line number in the file
	Seq  uint64 // the first seq in doubt
	Err  error
	cut  bool // the file ended early; Line is the last line read
}

// Error describes the damage and where it is.
func (e *LineError) Error() string {
	if e.cut {
		return "export: " + e.Err.Error()
	}
	return fmt.Sprintf("export line %d: %v", e.Line, e.Err)
}

// Unwrap returns the damage itself.
func (e *LineError) Unwrap() error { return e.Err }

// BadSeq names the first seq in doubt; ledger.Verify reports it.
func (e *LineError) BadSeq() uint64 { return e.Seq }

var _ walletd.EntryIterator = (*Reader)(nil)

// Reader reads an export as a walletd.EntryIterator, one line at a time.
// After Next has returned false, Checkpoints holds the checkpoint lines
// that followed the entries, and the end record has been checked.
//
// ledger.Verify needs the checkpoints before the entries, so a verifier of
// a file reads it twice: ReadCheckpoints, then a Reader
// (ledger.VerifyExport does both).
type Reader struct {
	lr          lineReader
	header      Header
	p           recordParser
	lastSeq     uint64
	entries     uint64
	checkpoints []*walletd.Checkpoint
	done        bool
	err         error // sticky
}

// NewReader reads and checks the header line of an export. A missing or
// damaged header is an error: nothing after it can be trusted.
func NewReader(r io.Reader) (*Reader, error) {
	er := &Reader{lr: newLineReader(r)}
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
func (r *Reader) Header() Header { return r.header }

// Checkpoints returns the checkpoints read after the entries; complete once
// Next has returned false with no error.
func (r *Reader) Checkpoints() []*walletd.Checkpoint { return r.checkpoints }

// Next fills e with the next entry line; false after the last one, once
// the checkpoint lines and the end record have been read and found
// consistent. A damaged entry line, or damage after the entries, gives a
// *LineError, whose BadSeq names the first seq in doubt.
func (r *Reader) Next(e *walletd.Entry) (bool, error) {
	if r.err != nil {
		return false, r.err
	} else if r.done {
		return false, nil
	}
	line, err := r.lr.next()
	if errors.Is(err, io.EOF) {
		return false, r.fail(r.cutShort())
	} else if err != nil {
		return false, r.fail(err)
	}
	kind, err := r.p.parse(line)
	if err == nil && kind == RecordEntry {
		if err = r.p.entry(e); err == nil {
			r.lastSeq = e.Seq
			r.entries++
			return true, nil
		}
		if seq, ok := r.p.seq(); ok {
			err = fmt.Errorf("entry seq %d: %w", seq, err)
		}
		return false, r.fail(err)
	} else if err != nil {
		return false, r.fail(err)
	}
	// The first line after the entries.
	if err := r.readTail(kind); err != nil {
		return false, r.fail(err)
	}
	r.done = true
	return false, nil
}

// readTail reads the checkpoint lines and the end record, starting with
// the line already parsed as kind.
func (r *Reader) readTail(kind string) error {
	for {
		switch kind {
		case RecordCheckpoint:
			cp, err := r.p.checkpoint()
			if err != nil {
				return err
			}
			r.checkpoints = append(r.checkpoints, cp)
		case RecordEnd:
			n, m, err := r.p.end()
			if err != nil {
				return err
			} else if n != r.entries || m != uint64(len(r.checkpoints)) {
				return fmt.Errorf("the end record counts %d entries and %d checkpoints, but the file has %d and %d",
					n, m, r.entries, len(r.checkpoints))
			}
			// Only blank lines may follow.
			for {
				line, err := r.lr.next()
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
		line, err := r.lr.next()
		if errors.Is(err, io.EOF) {
			return r.cutShort()
		} else if err != nil {
			return err
		}
		if kind, err = r.p.parse(line); err != nil {
			return err
		}
	}
}

// cutShort is the error for a file that ends before its end record.
func (r *Reader) cutShort() error {
	return fmt.Errorf("%w after line %d without its end record: it was cut short", errCutShort, r.lr.line)
}

func (r *Reader) fail(err error) error {
	r.err = &LineError{Line: r.lr.line, Seq: r.lastSeq + 1, Err: err, cut: errors.Is(err, errCutShort)}
	return r.err
}

// ReadCheckpoints reads a whole export and returns its header and every
// well-formed checkpoint line, wherever it is. It is the first of a
// verifier's two passes and is lenient on purpose: damaged lines are left
// for the Reader of the second pass to report with the seq they put in
// doubt.
func ReadCheckpoints(r io.Reader) (*Header, []*walletd.Checkpoint, error) {
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

// errCutShort marks a file that ends before its end record.
var errCutShort = errors.New("the export ends")

// errLineTooLong reports a line longer than MaxLine.
var errLineTooLong = fmt.Errorf("line is longer than %d bytes", MaxLine)

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
			if len(lr.buf)+len(chunk) > MaxLine {
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
	if len(lr.buf) > MaxLine {
		return errLineTooLong
	}
	return nil
}
