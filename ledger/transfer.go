package ledger

import "github.com/walletd/walletd"

// Transfer moves an amount between two wallets of one currency as one
// atomic pair of entries.
type Transfer struct {
	FromWalletID string            `json:"from_wallet_id"`
	ToWalletID   string            `json:"to_wallet_id"`
	Amount       string            `json:"amount"`
	Note         string            `json:"note"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// Op names the command in fingerprints and logs.
func (*Transfer) Op() string { return "transfer" }

func (c *Transfer) apply(b *batch, r *request) error {
	from, to := b.wallet(c.FromWalletID), b.wallet(c.ToWalletID)
	if from == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %s not found.", walletd.QuoteInput(c.FromWalletID))
	} else if to == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %s not found.", walletd.QuoteInput(c.ToWalletID))
	} else if from.ID == to.ID {
		return walletd.Errorf(walletd.EInvalid, "A transfer needs two different wallets.")
	} else if from.Currency != to.Currency {
		return walletd.Errorf(walletd.ECurrencyMismatch, "Wallet %s holds %s and wallet %s holds %s.", from.ID, from.Currency, to.ID, to.Currency)
	}
	amount, err := walletd.ParseAmount(c.Amount, b.scale(from.Currency))
	if err != nil {
		return err
	}
	if err := walletd.CheckText("note", c.Note, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	meta, err := CanonicalMetadata(c.Metadata)
	if err != nil {
		return err
	}
	if to.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return walletd.Errorf(walletd.EInvalidAmount, "The transfer would take the recipient's balance above the maximum.")
	}
	if err := b.outgoing(r, from, amount, "transfer"); err != nil {
		return err
	}
	transferID := b.w.cfg.NewID("tfr")

	fw := b.mutable(from.ID)
	fw.Balance = fw.Balance.Sub(amount)
	b.countOutgoing(fw, amount)
	fw.UpdatedAt = b.now
	out := b.entryFor(fw, walletd.KindDebit, walletd.TypeTransferOut, amount)
	out.Reason, out.TransferID, out.Counterparty, out.Metadata = c.Note, transferID, to.ID, meta
	b.append(r, out)
	fw.LastSeq = out.Seq

	tw := b.mutable(to.ID)
	tw.Balance = tw.Balance.Add(amount)
	tw.UpdatedAt = b.now
	in := b.entryFor(tw, walletd.KindCredit, walletd.TypeTransferIn, amount)
	in.Reason, in.TransferID, in.Counterparty, in.Metadata = c.Note, transferID, from.ID, meta
	b.append(r, in)
	tw.LastSeq = in.Seq
	b.afterDebit(r, fw)
	return nil
}
