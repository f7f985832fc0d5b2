package financing

// Log attribute keys of the financing log lines, besides walletd's own
// (walletd.LogError, walletd.LogEventID). No password, signature or body
// is ever logged.
const (
	logStatus     = "postback_status" // the provider's status of a postback
	logState      = "state"           // the inbound log's state after an attempt
	logOutcome    = "outcome"
	logReference  = "merchant_transaction_id"
	logKind       = "kind"
	logOrderID    = "order_id"
	logMetaKey    = "meta_key"
	logAPIURL     = "api_url"
	logMerchantID = "merchant_id"
)
