package events

// PluginOrderData is the data of plugin.order.processed: an order that a
// storefront plugin handed over through the plugin API was recorded
// (docs/plugin-api.md). It carries what the services behind the plugin
// API need to act on it — the customer, the products with their account
// size and challenge type, and the plugin's processing options
// (create_mt5_account, send_email) — beside walletd's order id, so that
// the service that opens trading accounts or sends emails subscribes to
// this one subject.
type PluginOrderData struct {
	// OrderID is walletd's order id (the order.created event's data.id).
	OrderID int64 `json:"order_id"`
	// ShopOrderID is the storefront's own order id, an integer when it is
	// one (WooCommerce, EDD).
	ShopOrderID StorefrontID `json:"shop_order_id"`
	// Source and ExternalID are the order's storefront reference:
	// "plugin_<plugin name>" and "<shop order id>@<site>".
	Source        string `json:"source"`
	ExternalID    string `json:"external_id"`
	PluginName    string `json:"plugin_name"`
	PluginVersion string `json:"plugin_version,omitempty"`
	SiteURL       string `json:"site_url"`
	// Status is the walletd order's status; ShopStatus the status the
	// storefront sent ("completed"), if any.
	Status            string                  `json:"status"`
	ShopStatus        string                  `json:"shop_status,omitempty"`
	Total             string                  `json:"total"`
	Currency          string                  `json:"currency"`
	Customer          PluginCustomer          `json:"customer"`
	WalletID          string                  `json:"wallet_id,omitempty"`
	Products          []PluginProduct         `json:"products"`
	ProcessingOptions PluginProcessingOptions `json:"processing_options"`
	// The ledger entry that recorded it.
	TransactionID uint64 `json:"transaction_id"`
	LedgerHash    string `json:"ledger_hash"`
	Seq           uint64 `json:"seq"`
}

// PluginCustomer is the customer of a plugin order as the plugin sent it,
// with the walletd user id it was recorded under (the email, lower case).
type PluginCustomer struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Country   string `json:"country,omitempty"`
}

// PluginProduct is one product of a plugin order: its name, quantity,
// the price the plugin sent (the line's total, as WooCommerce's
// get_total() gives it) and the trading-challenge attributes.
type PluginProduct struct {
	Name          string `json:"name"`
	Quantity      int64  `json:"quantity"`
	Price         string `json:"price"`
	AccountSize   string `json:"account_size,omitempty"`
	ChallengeType string `json:"challenge_type,omitempty"`
}

// PluginProcessingOptions are the plugin's processing_options: what the
// services subscribed to plugin.order.processed should do.
type PluginProcessingOptions struct {
	CreateMT5Account bool `json:"create_mt5_account"`
	SendEmail        bool `json:"send_email"`
	CreateUser       bool `json:"create_user"`
}
