package walletd

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
)

// Cursor is a place in a wallet's history, newest first: the page after
// it lists the transactions created before CreatedAt, or at CreatedAt with
// a smaller seq.
type Cursor struct {
	CreatedAt time.Time // UTC, to the second
	Seq       uint64
}

// CursorAfter returns the cursor of the page that follows t.
func CursorAfter(t *Transaction) *Cursor { return &Cursor{CreatedAt: t.CreatedAt, Seq: t.Seq} }

// String returns the cursor's opaque form, the next_cursor of the API.
func (c *Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.Unix(), 10) + ":" + strconv.FormatUint(c.Seq, 10)))
}

// ParseCursor parses a cursor String made. Anything else, including a
// cursor edited by hand, is refused with EInvalid.
func ParseCursor(s string) (*Cursor, error) {
	bad := Errorf(EInvalid, "cursor is not a cursor this API returned.")
	if s == "" || len(s) > 64 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	secs, seqs, ok := strings.Cut(string(b), ":")
	if !ok || !canonicalUint(seqs) || !canonicalInt(secs) {
		return nil, bad
	}
	unix, err1 := strconv.ParseInt(secs, 10, 64)
	seq, err2 := strconv.ParseUint(seqs, 10, 64)
	if err1 != nil || err2 != nil || seq == 0 || seq > math.MaxInt64 || unix < minUnix || unix > maxUnix {
		return nil, bad
	}
	c := &Cursor{CreatedAt: time.Unix(unix, 0).UTC(), Seq: seq}
	if c.String() != s {
		return nil, bad
	}
	return c, nil
}

// Balance is one wallet as the balances read model has it.
type Balance struct {
	WalletID  string
	UserID    string
	UserEmail string
	Currency  string
	Balance   string // fixed-scale decimal
	Status    string // active or frozen
	LastSeq   uint64 // ledger seq of the last event that changed the wallet
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Transaction is one credit or debit of a wallet.
type Transaction struct {
	TransactionID string
	Seq           uint64 // ledger seq
	WalletID      string
	UserID        string
	Kind          string // KindCredit or KindDebit
	Type          string
	Amount        string // fixed-scale decimal, positive
	Currency      string
	BalanceAfter  string
	Reason        string
	OrderID       string
	LedgerHash    string
	CreatedAt     time.Time // UTC, to the second
}

// TransactionQuery selects a page of a wallet's transactions.
type TransactionQuery struct {
	WalletID string
	Type     string    // exact type; "" for every type
	From     time.Time // created at or after; zero for no bound
	To       time.Time // created before; zero for no bound
	Cursor   *Cursor   // only transactions after the cursor; nil starts at the newest
	Limit    int       // page size (default 50)
}

// TransactionPage is one page, newest first: by creation time, then seq.
type TransactionPage struct {
	Items []Transaction
	// Next is the cursor of the next page; nil when this page is the last.
	Next *Cursor
}

// Statement is a wallet's account over a period [From, To): the balance
// before it, every transaction in it (oldest first) and the balance after.
type Statement struct {
	WalletID       string
	Currency       string
	From, To       time.Time
	OpeningBalance string // balance after the last transaction before From
	ClosingBalance string // balance after the last transaction before To
	TotalCredits   string
	TotalDebits    string
	Credits        int // number of credits in the period
	Debits         int // number of debits in the period
	Entries        []Transaction
}

// DailyTotal is the count and sum of one kind and type of transaction in
// one currency on one UTC day.
type DailyTotal struct {
	Date     string // YYYY-MM-DD
	Currency string
	Type     string
	Kind     string // KindCredit or KindDebit
	Count    int64
	Total    string // exact sum, fixed scale
}

// MaxStatementEntries bounds the transactions of one statement.
const MaxStatementEntries = 100000

// The times a cursor may hold: years 1 to 9999, as created_at.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// canonicalUint reports whether s is a decimal without sign or leading
// zeros, of at most 19 digits.
func canonicalUint(s string) bool {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalInt is canonicalUint with an optional minus sign (not on 0).
func canonicalInt(s string) bool {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		return rest != "0" && canonicalUint(rest)
	}
	return canonicalUint(s)
}
