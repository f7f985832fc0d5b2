package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
)

// An append-based encoder for the hottest answer, the entry of a credit or
// debit: the same bytes as encoding/json makes of entryToJSON (the tests
// compare the two on every kind of text), without reflection and with one
// buffer from a pool.

// jsonAppender is data that writeData can append as JSON itself.
type jsonAppender interface {
	appendJSON(dst []byte) []byte
}

// entryAnswer is an entry answered as entryToJSON renders it.
type entryAnswer struct{ e *walletd.Entry }

// MarshalJSON makes entryAnswer usable wherever encoding/json is.
func (a entryAnswer) MarshalJSON() ([]byte, error) { return a.appendJSON(nil), nil }

func (a entryAnswer) appendJSON(dst []byte) []byte {
	e := a.e
	dst = append(dst, `{"transaction_id":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, `,"ledger_hash":`...)
	dst = appendJSONString(dst, e.Hash.String())
	dst = append(dst, `,"prev_hash":`...)
	dst = appendJSONString(dst, e.PrevHash.String())
	dst = appendOmitEmpty(dst, `,"request_hash":`, e.RequestHash)
	dst = appendOmitEmpty(dst, `,"email":`, e.Email)
	dst = appendField(dst, `,"key_id":`, e.KeyID)
	dst = appendField(dst, `,"event_id":`, e.EventID)
	dst = appendField(dst, `,"kind":`, e.Kind)
	dst = appendField(dst, `,"type":`, e.Type)
	dst = appendField(dst, `,"wallet_id":`, e.WalletID)
	dst = appendField(dst, `,"user_id":`, e.UserID)
	dst = appendField(dst, `,"currency":`, e.Currency)
	dst = appendField(dst, `,"amount":`, e.Amount)
	dst = appendField(dst, `,"balance_after":`, e.BalanceAfter)
	dst = appendField(dst, `,"held_after":`, e.HeldAfter)
	dst = appendField(dst, `,"available_after":`, client.AvailableAfter(e))
	dst = appendField(dst, `,"reason":`, e.Reason)
	dst = appendOmitEmpty(dst, `,"order_id":`, e.OrderID)
	dst = appendOmitEmpty(dst, `,"transfer_id":`, e.TransferID)
	dst = appendOmitEmpty(dst, `,"counterparty_wallet_id":`, e.Counterparty)
	dst = append(dst, `,"metadata":{`...)
	if e.Metadata != "" {
		// As entryToJSON: the stored object read back, keys sorted.
		var m map[string]string
		json.Unmarshal([]byte(e.Metadata), &m)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONString(dst, m[k])
		}
	}
	dst = append(dst, '}')
	dst = appendOmitEmpty(dst, `,"idempotency_key":`, e.IdempotencyKey)
	dst = append(dst, `,"created_at":"`...)
	dst = e.CreatedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

func appendField(dst []byte, name, v string) []byte {
	return appendJSONString(append(dst, name...), v)
}

func appendOmitEmpty(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return appendField(dst, name, v)
}

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping off: quotes, backslashes and control characters escaped,
// invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonBufs are the buffers of appended answers.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeAppended writes {"success":true,"data":…} with data appended by
// a, as writeData would with encoding/json, newline included.
func writeAppended(w http.ResponseWriter, status int, a jsonAppender) {
	bp := jsonBufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"success":true,"data":`...)
	b = a.appendJSON(b)
	b = append(b, "}\n"...)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(status)
	w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		jsonBufs.Put(bp)
	}
}
