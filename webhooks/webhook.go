// Package webhooks sends walletd's events to subscriber endpoints over
// HTTPS, as the WalletPro webhooks documentation describes: signed
// requests, a retry schedule, suspension, a bounded delivery log, manual
// retries with the same event id, test events and secret rotation.
//
// The pieces:
//
//   - DB is webhooks.db: endpoints, deliveries (one per endpoint and event,
//     with the exact bytes to send) and the attempts log.
//   - Service manages endpoints for the admin API and runs the senders: one
//     lane per endpoint with a small concurrency limit, so that a slow or
//     dead receiver never holds up the others, and one committer that
//     writes the outcomes of many attempts in one transaction.
//   - Dispatcher is the JetStream consumer: for each event it records one
//     delivery per matching endpoint in one transaction, then acknowledges.
//
// Delivery is at least once: an event is acknowledged on the stream only
// after its deliveries are committed, and a delivery is marked done only
// after the receiver answered 2xx. Receivers de-duplicate on the envelope
// id, which every retry and manual re-send carries unchanged.
package webhooks

import (
	"slices"
	"strings"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
)

// Endpoint statuses.
const (
	// StatusActive endpoints receive deliveries.
	StatusActive = "active"
	// StatusDisabled endpoints queue no deliveries. An admin disables an
	// endpoint, or the receiver does by answering 410 Gone.
	StatusDisabled = "disabled"
	// StatusSuspended endpoints failed a delivery's last retry. Nothing is
	// sent to them; their deliveries, and those of later events, are held
	// until an admin enables them again.
	StatusSuspended = "suspended"
)

// Signing formats.
const (
	// FormatWalletPro signs with X-WalletPro-Signature: t=<unix>,v1=<hex>,
	// HMAC-SHA256 of "{t}.{body}" (the default).
	FormatWalletPro = "walletpro"
	// FormatStandard follows Standard Webhooks: webhook-id,
	// webhook-timestamp and webhook-signature: v1,<base64>.
	FormatStandard = "standard"
	// FormatWooCommerce sends WooCommerce's REST order object for the order
	// topics, and the envelope's data object for the events an endpoint
	// lists, with X-WC-Webhook-* headers, signed with base64 HMAC-SHA256 of
	// the body.
	FormatWooCommerce = "woocommerce"
)

// Formats lists the signing formats.
var Formats = []string{FormatWalletPro, FormatStandard, FormatWooCommerce}

// Delivery states.
const (
	StatePending   = "pending"   // waiting for its next attempt
	StateSucceeded = "succeeded" // the receiver answered 2xx
	StateFailed    = "failed"    // given up: retries exhausted, 410, one-shot failed, or discarded
	StateHeld      = "held"      // the endpoint is suspended; kept until it is enabled
)

// Delivery kinds.
const (
	KindEvent = "event" // an event from the stream
	KindTest  = "test"  // a synthetic event with "test": true
	KindPing  = "ping"  // sent when an endpoint is created
)

// Attempt results, as the log shows them.
const (
	ResultSucceeded = "succeeded" // 2xx
	ResultRetrying  = "retrying"  // failed; another attempt is scheduled
	ResultFailed    = "failed"    // failed; no further attempt
	ResultHeld      = "held"      // failed while the endpoint became suspended
	ResultSuspended = "suspended" // the last retry failed; the endpoint is now suspended
	ResultDisabled  = "disabled"  // 410 Gone: the endpoint is now disabled
)

// LogSize is how many attempts the log keeps per endpoint.
const LogSize = 100

// DefaultSchedule is the delay before each retry: five retries after the
// first attempt.
var DefaultSchedule = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 4 * time.Hour}

// SeedEvents lists the 16 event keys of the WalletPro webhooks
// documentation, in its order: what a walletpro endpoint with an empty
// filter receives (with pings and test events).
var SeedEvents = []string{
	events.WalletCredited, events.WalletDebited, events.TopupCompleted, events.TopupFailed,
	events.ReloadTriggered, events.TransferSent, events.TransferReceived, events.WithdrawalRequested,
	events.WithdrawalApproved, events.WithdrawalRejected, events.RedemptionCodeRedeemed,
	events.MilestoneAwarded, events.CashbackAwarded, events.ReferralRewarded,
	events.SpendingLimitBlocked, events.KYCRequired,
}

// OwnEvents lists walletd's own event keys, which the seed does not know.
// An endpoint in the walletpro or woocommerce format receives them only
// when it lists them.
var OwnEvents = []string{
	events.WalletCreated, events.WalletUpdated, events.WalletFrozen, events.WalletUnfrozen,
	events.TopupPending, events.OrderCompleted, events.OrderRefunded, events.ConfigUpdated, events.LedgerCheckpoint,
	events.PluginOrderProcessed,
}

// WooCommerce order topics: the storefront order flows publish them, and
// the woocommerce format sends them with WooCommerce's REST order object
// as the body (woocommerce.go).
const (
	OrderCreated = "order.created"
	OrderUpdated = "order.updated"
)

// WooCommerce's other order topics. walletd never emits them (its orders
// are ledger objects, never deleted or restored), so an endpoint may not
// list them.
const (
	OrderDeleted  = "order.deleted"
	OrderRestored = "order.restored"
)

// OrderTopics lists the WooCommerce order topics walletd emits: what a
// woocommerce endpoint with an empty filter receives.
var OrderTopics = []string{OrderCreated, OrderUpdated}

// KnownEvents lists the event keys an endpoint may subscribe to and send
// as a test: the 16 WalletPro keys, walletd's own, and the WooCommerce
// order topics.
var KnownEvents = slices.Concat(SeedEvents, OwnEvents, OrderTopics)

// IsKnownEvent reports whether key is in KnownEvents.
func IsKnownEvent(key string) bool { return slices.Contains(KnownEvents, key) }

// isOrderTopic reports whether key is one of the WooCommerce order topics
// walletd emits.
func isOrderTopic(key string) bool { return slices.Contains(OrderTopics, key) }

// DefaultEvents returns the events an endpoint of format receives when its
// filter is empty:
//
//   - walletpro: the 16 seed events (SeedEvents), so that a receiver written
//     from the seed, which may refuse keys it does not know, never gets
//     one of walletd's own and is never suspended for it;
//   - standard: every event but ledger.checkpoint (for auditors) and
//     config.updated (for operators);
//   - woocommerce: the order topics (OrderTopics).
//
// Pings and test events are sent whatever the filter.
func DefaultEvents(format string) []string {
	switch format {
	case FormatStandard:
		return slices.DeleteFunc(slices.Clone(KnownEvents), func(k string) bool {
			return k == events.LedgerCheckpoint || k == events.ConfigUpdated
		})
	case FormatWooCommerce:
		return slices.Clone(OrderTopics)
	default:
		return slices.Clone(SeedEvents)
	}
}

// topic splits an event key into a WooCommerce resource and event:
// "order.updated" → ("order", "updated"); "wallet.transfer.sent" →
// ("wallet", "transfer.sent").
func topic(key string) (resource, event string) {
	resource, event, _ = strings.Cut(key, ".")
	return resource, event
}

// endpointMatches reports whether the endpoint's filter selects event key:
// a listed key, or with an empty filter one of its format's defaults
// (DefaultEvents). The standard format's default is "every event but",
// so that it also takes events added after the endpoint was saved.
func endpointMatches(e *walletd.WebhookEndpoint, key string) bool {
	if len(e.Events) > 0 {
		return slices.Contains(e.Events, key)
	}
	switch e.Format {
	case FormatStandard:
		return key != events.LedgerCheckpoint && key != events.ConfigUpdated
	case FormatWooCommerce:
		return isOrderTopic(key)
	default:
		return slices.Contains(SeedEvents, key)
	}
}
