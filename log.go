package walletd

// Log attribute keys: every package logs with these, so that one query
// finds one wallet, event or endpoint across the writer, the bus, the
// projections, the webhooks and the HTTP layer.
const (
	LogComponent     = "component"
	LogRequestID     = "request_id"
	LogRoute         = "route"
	LogStatus        = "status"      // an HTTP answer's status
	LogHTTPStatus    = "http_status" // a webhook receiver's answer
	LogWalletID      = "wallet_id"
	LogEndpointID    = "endpoint_id"
	LogDeliveryID    = "delivery_id"
	LogEventID       = "event_id"
	LogAttempt       = "attempt"
	LogSeq           = "seq"
	LogIndex         = "index"
	LogStream        = "stream"
	LogConsumer      = "consumer"
	LogStreamSeq     = "stream_seq"
	LogStreamLastSeq = "stream_last_seq"
	LogRetryIn       = "retry_in"
	LogError         = "error"
)
