package financing

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"
)

// Postback statuses (the seed's, and NOTES.md's refund).
const (
	StatusApproved    = "approved"
	StatusPreapproved = "preapproved"
	StatusRejected    = "rejected"
	StatusCancelled   = "cancelled"
	StatusRefund      = "refund"
)

// Statuses lists the postback statuses walletd acts on.
var Statuses = []string{StatusApproved, StatusPreapproved, StatusRejected, StatusCancelled, StatusRefund}

// Header names of a signed postback.
const (
	HeaderTimestamp = "x-timestamp"
	HeaderSignature = "x-signature"
)

// DefaultWindow is how far x-timestamp may be from walletd's clock.
const DefaultWindow = 5 * time.Minute

// MaxPostbackBytes bounds a postback's body.
const MaxPostbackBytes = 64 << 10

// ErrSignature is the error of a postback whose signature headers are
// missing, malformed, outside the window or do not match: answer 401.
var ErrSignature = errors.New("financing: bad postback signature")

// Sign returns the x-signature of a postback: hex(SHA-256(timestamp +
// username + body + password)), a plain SHA-256 as the official
// WooCommerce plugin computes it (NOTES.md).
func Sign(timestamp, username string, body []byte, password string) string {
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write([]byte(username))
	h.Write(body)
	h.Write([]byte(password))
	return hex.EncodeToString(h.Sum(nil))
}

// VerifySignature checks the x-timestamp and x-signature headers of a
// postback's raw body against the merchant's credentials: x-timestamp
// must be unix seconds within window of now, x-signature the hex SHA-256
// of Sign (either case), compared in constant time. It returns an error
// wrapping ErrSignature that says which check failed (for the log, not
// for the sender).
func VerifySignature(h http.Header, body []byte, username, password string, now time.Time, window time.Duration) error {
	ts, sig := h.Values(HeaderTimestamp), h.Values(HeaderSignature)
	if len(ts) != 1 || len(sig) != 1 {
		return fmt.Errorf("%w: want one %s and one %s header", ErrSignature, HeaderTimestamp, HeaderSignature)
	}
	t, err := ParseTimestamp(ts[0])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if d := now.Sub(t); d > window || d < -window {
		return fmt.Errorf("%w: %s is %s away from now, outside the %s window", ErrSignature, HeaderTimestamp, d.Round(time.Second), window)
	}
	given := strings.ToLower(sig[0])
	if len(given) != sha256.Size*2 {
		return fmt.Errorf("%w: %s is not %d hex digits", ErrSignature, HeaderSignature, sha256.Size*2)
	}
	want := Sign(ts[0], username, body, password)
	if subtle.ConstantTimeCompare([]byte(given), []byte(want)) != 1 {
		return fmt.Errorf("%w: %s does not match", ErrSignature, HeaderSignature)
	}
	return nil
}

// ParseTimestamp reads an x-timestamp: unix seconds, 1 to 12 decimal
// digits and nothing else.
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" || len(s) > 12 || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%s is not unix seconds", HeaderTimestamp)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not unix seconds", HeaderTimestamp)
	}
	return time.Unix(n, 0), nil
}

// Postback is a postback's payload, in either shape the provider sends:
// version 1.9's {"request_token", "merchant_transaction_id", "updates":
// {"status", "amount"?}}, or the integration guide's top-level "status"
// with "approved_amount".
type Postback struct {
	// EventID identifies the postback: the hex SHA-256 of the raw body. A
	// resend is the same bytes, so the same event.
	EventID               string
	Version               string
	RequestToken          string
	MerchantTransactionID string
	// Status is one of Statuses (lower case; "canceled" reads as
	// cancelled), or another status the provider sent, which walletd
	// records and does not act on.
	Status string
	// Amount is the amount of a refund (updates.amount) or the approved
	// amount (approved_amount, or updates.amount of an approval), as sent;
	// "" if none.
	Amount string
}

// flexText is a JSON string, or a number kept as its text (providers send
// amounts and ids either way).
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexText(s)
		return nil
	} else if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("want a string or a number")
	}
	*f = flexText(n.String())
	return nil
}

type postbackBody struct {
	Version               flexText `json:"version"`
	RequestToken          flexText `json:"request_token"`
	MerchantTransactionID flexText `json:"merchant_transaction_id"`
	Status                flexText `json:"status"`
	ApprovedAmount        flexText `json:"approved_amount"`
	Amount                flexText `json:"amount"`
	Updates               *struct {
		Status flexText `json:"status"`
		Amount flexText `json:"amount"`
	} `json:"updates"`
}

// Field bounds of a postback.
const (
	maxTokenLen  = 255
	maxAmountLen = 40
)

// ParsePostback reads a postback's raw body. It must be one JSON object
// (no duplicate keys, valid UTF-8), with a status (updates.status or
// status) and a request_token or merchant_transaction_id, each text of
// bounded length; fields walletd does not know are ignored. Returns
// EInvalid.
func ParsePostback(body []byte) (*Postback, error) {
	if len(body) > MaxPostbackBytes {
		return nil, walletd.Errorf(walletd.EInvalid, "The postback is larger than %d bytes.", MaxPostbackBytes)
	} else if err := walletd.CheckRawJSON("postback", body); err != nil {
		return nil, err
	}
	var in postbackBody
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, walletd.Errorf(walletd.EInvalid, "The postback is not the expected JSON object: %s", walletd.QuoteInput(err.Error()))
	}
	p := &Postback{Version: string(in.Version), RequestToken: string(in.RequestToken),
		MerchantTransactionID: string(in.MerchantTransactionID), Status: string(in.Status), Amount: string(in.ApprovedAmount)}
	if in.Updates != nil {
		if in.Updates.Status != "" {
			p.Status = string(in.Updates.Status)
		}
		if in.Updates.Amount != "" {
			p.Amount = string(in.Updates.Amount)
		}
	}
	if p.Amount == "" {
		p.Amount = string(in.Amount)
	}
	p.Status = strings.ToLower(strings.TrimSpace(p.Status))
	if p.Status == "canceled" {
		p.Status = StatusCancelled
	}
	for _, f := range []struct{ name, v string }{{"version", p.Version}, {"request_token", p.RequestToken},
		{"merchant_transaction_id", p.MerchantTransactionID}, {"status", p.Status}} {
		if err := walletd.CheckText(f.name, f.v, maxTokenLen, false); err != nil {
			return nil, err
		}
	}
	if err := walletd.CheckText("amount", p.Amount, maxAmountLen, false); err != nil {
		return nil, err
	}
	if p.Status == "" {
		return nil, walletd.Errorf(walletd.EInvalid, "The postback has no status (updates.status or status).")
	} else if p.RequestToken == "" && p.MerchantTransactionID == "" {
		return nil, walletd.Errorf(walletd.EInvalid, "The postback names neither a request_token nor a merchant_transaction_id.")
	}
	sum := sha256.Sum256(body)
	p.EventID = hex.EncodeToString(sum[:])
	return p, nil
}

// Actions of a Decision.
const (
	ActApprove    = "approve"    // pay the order, complete the top-up
	ActPreapprove = "preapprove" // record only
	ActReject     = "reject"     // fail the order or top-up
	ActCancel     = "cancel"     // cancel the order, fail the top-up
	ActRefund     = "refund"     // refund Amount of the order
	ActNone       = "none"       // a status walletd does not act on: record only
)

// Decision is what a postback asks of walletd: an action on the order or
// top-up its merchant_transaction_id names (OrderID or TopupID; both zero
// when it names none, and the request_token must be looked up).
type Decision struct {
	Action       string
	OrderID      int64
	TopupID      string
	RequestToken string
	// Amount is the approved amount or the refund's amount, "" if the
	// postback gave none.
	Amount string
}

// Decide maps a postback to its decision. merchant_transaction_id is a
// walletd reference (Reference): an order id in decimal, or a top-up id.
func Decide(p *Postback) Decision {
	d := Decision{RequestToken: p.RequestToken, Amount: p.Amount}
	switch p.Status {
	case StatusApproved:
		d.Action = ActApprove
	case StatusPreapproved:
		d.Action = ActPreapprove
	case StatusRejected:
		d.Action = ActReject
	case StatusCancelled:
		d.Action = ActCancel
	case StatusRefund:
		d.Action = ActRefund
	default:
		d.Action = ActNone
	}
	d.OrderID, d.TopupID = ParseReference(p.MerchantTransactionID)
	return d
}

// TopupPrefix starts every top-up id.
const TopupPrefix = "top_"

// Reference returns the merchant_transaction_id of an order or a top-up:
// the order's id in decimal, the top-up's id as it is.
func Reference(orderID int64, topupID string) string {
	if topupID != "" {
		return topupID
	}
	return strconv.FormatInt(orderID, 10)
}

// ParseReference is the inverse of Reference: an order id, or a top-up
// id; both zero for any other text.
func ParseReference(s string) (int64, string) {
	if id, ok := walletd.ParseOrderID(s); ok {
		return id, ""
	}
	if strings.HasPrefix(s, TopupPrefix) && len(s) > len(TopupPrefix) && len(s) <= 64 &&
		strings.Trim(s[len(TopupPrefix):], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == "" {
		return 0, s
	}
	return 0, ""
}
