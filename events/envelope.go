// Package events defines walletd's events: the WalletPro v1 envelope, the
// catalogue of event keys and their data, and subject names. It is pure
// data; publishing lives in events/bus.
package events

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/segmentio/ksuid"
)

// APIVersion is the envelope's api_version.
const APIVersion = "v1"

// IDPrefix starts every event id.
const IDPrefix = "wph_"

// The WalletPro event keys (walletpro-webhooks seed), then walletd's own.
const (
	WalletCredited         = "wallet.credited"
	WalletDebited          = "wallet.debited"
	TopupCompleted         = "wallet.topup.completed"
	TopupFailed            = "wallet.topup.failed"
	ReloadTriggered        = "wallet.reload.triggered"
	TransferSent           = "wallet.transfer.sent"
	TransferReceived       = "wallet.transfer.received"
	WithdrawalRequested    = "wallet.withdrawal.requested"
	WithdrawalApproved     = "wallet.withdrawal.approved"
	WithdrawalRejected     = "wallet.withdrawal.rejected"
	RedemptionCodeRedeemed = "wallet.redemption_code.redeemed"
	MilestoneAwarded       = "wallet.milestone.awarded"
	CashbackAwarded        = "wallet.cashback.awarded"
	ReferralRewarded       = "wallet.referral.rewarded"
	SpendingLimitBlocked   = "wallet.spending_limit.blocked"
	KYCRequired            = "wallet.kyc.required"
	WalletCreated          = "wallet.created"
	WalletFrozen           = "wallet.frozen"
	WalletUnfrozen         = "wallet.unfrozen"
	WalletUpdated          = "wallet.updated"
	TopupPending           = "wallet.topup.pending"
	OrderCompleted         = "wallet.order.completed"
	OrderRefunded          = "wallet.order.refunded"
	OrderCreated           = "order.created"          // an order was created; data: the order (walletd.ShopOrder)
	OrderUpdated           = "order.updated"          // an order's status or payments changed; data: the order
	PluginOrderProcessed   = "plugin.order.processed" // a storefront plugin's order was recorded; data: PluginOrderData
	ConfigUpdated          = "config.updated"
	LedgerCheckpoint       = "ledger.checkpoint"
	Ping                   = "ping"
)

// Envelope is the WalletPro v1 envelope every event travels in. Field
// order is the order on the wire.
type Envelope struct {
	ID         string          `json:"id"`
	Event      string          `json:"event"`
	APIVersion string          `json:"api_version"`
	CreatedAt  string          `json:"created_at"`
	SiteURL    string          `json:"site_url"`
	Data       json.RawMessage `json:"data"`
	Test       bool            `json:"test,omitempty"`
}

// Record is one event ready to publish, with its place in the outbox
// order: ledger seq, then index among the events of that entry.
type Record struct {
	Seq      uint64    // ledger seq of the entry, or of the head a checkpoint signs
	Index    int       // 0, 1 … among the events of one entry
	Time     time.Time // when the entry or checkpoint was committed
	Wallet   string    // the wallet it belongs to, "" for none: picks the subject (subject.go)
	Envelope Envelope
}

// Checkpoint records are ordered after every entry event of their seq.
const CheckpointIndex = 100

// Key returns the record's event key.
func (r *Record) Key() string { return r.Envelope.Event }

// Body returns the envelope's JSON: the exact bytes published and signed.
func (r *Record) Body() []byte {
	b, _ := json.Marshal(r.Envelope)
	return b
}

// TimeFormat is created_at's format: RFC 3339 in UTC, to the second.
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime renders t as created_at.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// NewID returns a fresh event id: "wph_" + KSUID.
func NewID() string { return IDPrefix + ksuid.New().String() }

// DeriveID returns the id of the n-th further event of an entry whose first
// event has id: the same KSUID time with a payload taken from SHA-256 of
// (id, n). It is fixed by id, so every re-publication carries it unchanged.
func DeriveID(id string, n int) string {
	k, err := ksuid.Parse(strings.TrimPrefix(id, IDPrefix))
	if err != nil {
		sum := sha256.Sum256([]byte(id))
		k, _ = ksuid.FromParts(time.Unix(0, 0), sum[:16])
	}
	sum := sha256.Sum256(append([]byte(id), byte(n)))
	d, _ := ksuid.FromParts(k.Time(), sum[:16])
	return IDPrefix + d.String()
}

// IDFor returns a deterministic event id for something that is not an
// entry (a checkpoint): the KSUID of time t with a payload taken from
// SHA-256 of parts.
func IDFor(t time.Time, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	k, _ := ksuid.FromParts(t, h.Sum(nil)[:16])
	return IDPrefix + k.String()
}
