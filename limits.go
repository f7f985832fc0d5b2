package walletd

// Limits are a wallet's spending limits over debits, transfers out and
// withdrawals. An empty string is no limit.
type Limits struct {
	PerTransaction string `json:"per_transaction,omitempty"`
	Daily          string `json:"daily,omitempty"`
	Monthly        string `json:"monthly,omitempty"`
}

// AutoReload tops a wallet up when a debit takes its balance below
// Threshold. Amount "" is off.
type AutoReload struct {
	Threshold string `json:"threshold,omitempty"`
	Amount    string `json:"amount,omitempty"`
	Method    string `json:"method,omitempty"`
}

// WalletFeatures is the part of a wallet's state that the features add:
// settings and the counters the writer checks them with. It is a value
// type: copying a Wallet copies it.
type WalletFeatures struct {
	KYCStatus  string     `json:"kyc_status,omitempty"` // "" is KYCNone
	Limits     Limits     `json:"limits"`
	AutoReload AutoReload `json:"auto_reload"`
	// Spent today and this month, in the limits' time zone.
	DayKey     string `json:"day_key,omitempty"`
	DaySpent   string `json:"day_spent,omitempty"`
	MonthKey   string `json:"month_key,omitempty"`
	MonthSpent string `json:"month_spent,omitempty"`
	// Outgoing is everything ever sent out, for the cumulative KYC threshold.
	Outgoing string `json:"outgoing,omitempty"`
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
