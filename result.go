package walletd

// Result is the outcome of a command: the entries it appended, in seq
// order, and what the writer had in hand when it applied them, so that
// callers need not re-derive it from the entries' text.
type Result struct {
	// Entries are the entries the command appended. A replayed request
	// gets the entries of the original one.
	Entries []*Entry
	// Replayed says the command did nothing new: an Idempotency-Key
	// replay, or a repeat of work already done (an order completed again
	// with the same terms, with no entries).
	Replayed bool
	// Wallets are the wallets the command's entries changed, once each in
	// the order of their first entry, each as the command left it. A
	// replay rebuilds them from the original entries, so it reports the
	// same amounts as the original answer.
	Wallets []WalletBalance
	// Object is the object the command created or changed (a *Topup, a
	// *Withdrawal, an *Order …), or nil for commands that have none. A
	// replay carries the object as it is now, read from the ledger.
	Object any
	// ObjectKind and ObjectID name Object (ObjTopup and the top-up's id,
	// ObjKYCSettings and the currency …), also on a replay whose object
	// could not be read; both are "" for commands without an object.
	ObjectKind string
	ObjectID   string
	// Unchanged is the wallet, as it is, when the command asked for what
	// the wallet already had (limits, KYC status or auto-reload set to
	// their current values): such a command appends nothing, so Entries
	// is empty and no seq is used. nil for every other outcome.
	Unchanged *Wallet
}

// Wallet returns the balance of wallet id as the command left it, or nil
// if the command did not change it.
func (r *Result) Wallet(id string) *WalletBalance {
	for i := range r.Wallets {
		if r.Wallets[i].WalletID == id {
			return &r.Wallets[i]
		}
	}
	return nil
}

// WalletBalance is the money of one wallet after a command: what its last
// entry in the command says, held as Money at the currency's scale.
type WalletBalance struct {
	WalletID string
	Currency string
	Balance  Money
	Held     Money
	// Seq is the seq of the command's last entry of this wallet.
	Seq uint64
}

// Available returns Balance minus Held at the same scale: what a debit
// could take after the command, the API's available_after. The ledger
// never holds more than a wallet's balance, so it is never negative.
func (b WalletBalance) Available() Money {
	return NewMoney(b.Balance.Decimal().Sub(b.Held.Decimal()), b.Balance.Scale())
}
