package financing

// Log attribute keys of the financing log lines, besides walletd's own
// (walletd.LogError, walletd.LogEventID). No password, signature or body
// is ever logged.
const (
	logReference  = "merchant_transaction_id"
	logKind       = "kind"
	logOrderID    = "order_id"
	logMetaKey    = "meta_key"
	logAPIURL     = "api_url"
	logMerchantID = "merchant_id"
)
