package walletd

// Limits are a wallet's spending limits over debits, transfers out and
// withdrawals. The zero Money is no limit.
type Limits struct {
	PerTransaction Money `json:"per_transaction,omitzero"`
	Daily          Money `json:"daily,omitzero"`
	Monthly        Money `json:"monthly,omitzero"`
}

// AutoReload tops a wallet up when a debit takes its balance below
// Threshold. The zero Money as Amount is off.
type AutoReload struct {
	Threshold Money  `json:"threshold,omitzero"`
	Amount    Money  `json:"amount,omitzero"`
	Method    string `json:"method,omitempty"`
}

// WalletFeatures is the part of a wallet's state that the features add:
// settings and the counters the writer checks them with. It is a value
// type: copying a Wallet copies it.
type WalletFeatures struct {
	KYCStatus  string     `json:"kyc_status,omitempty"` // "" is KYCNone
	Limits     Limits     `json:"limits"`
	AutoReload AutoReload `json:"auto_reload"`
	// Spent on day DayKey and in month MonthKey, in the limits' time
	// zone. The counters are written in their shortest form (MoneyOf),
	// as they have always been stored.
	DayKey     string `json:"day_key,omitempty"`
	DaySpent   Money  `json:"day_spent,omitzero"`
	MonthKey   string `json:"month_key,omitempty"`
	MonthSpent Money  `json:"month_spent,omitzero"`
	// Outgoing is everything ever sent out, for the cumulative KYC threshold.
	Outgoing Money `json:"outgoing,omitzero"`
	// ReloadTopupID is the auto-reload top-up still pending, if any.
	ReloadTopupID string `json:"reload_topup_id,omitempty"`
}

// KYC returns the wallet's KYC status, KYCNone when never set.
func (f *WalletFeatures) KYC() string {
	if f.KYCStatus == "" {
		return KYCNone
	}
	return f.KYCStatus
}
