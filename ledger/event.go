package ledger

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/walletd/walletd/events"
)

// Party is what an event needs to know of a wallet that the entry does not
// carry: its owner's email. Counterparty is the other wallet of a transfer.
type Party struct {
	UserID string
	Email  string
}

// EntryEvents returns the events an entry publishes, in order. The first
// carries the entry's event id; further ones carry ids derived from it, so
// the same entry always yields the same events, byte for byte.
//
//   - open → wallet.created; freeze/unfreeze → wallet.frozen/unfrozen
//   - credit → wallet.credited (+ wallet.transfer.received for transfer_in)
//   - debit → wallet.debited (+ wallet.transfer.sent for transfer_out)
func EntryEvents(e *Entry, owner, counterparty Party, siteURL string) []events.Record {
	created := events.FormatTime(e.CreatedAt)
	mk := func(i int, key string, data any) events.Record {
		id := e.EventID
		if i > 0 {
			id = events.DeriveID(e.EventID, i)
		}
		b, _ := json.Marshal(data)
		return events.Record{Seq: e.Seq, Index: i, Time: e.CreatedAt, Envelope: events.Envelope{
			ID: id, Event: key, APIVersion: events.APIVersion, CreatedAt: created, SiteURL: siteURL, Data: b,
		}}
	}
	switch e.Kind {
	case KindOpen, KindFreeze, KindUnfreeze:
		key, status := events.WalletCreated, StatusActive
		if e.Kind == KindFreeze {
			key, status = events.WalletFrozen, StatusFrozen
		} else if e.Kind == KindUnfreeze {
			key = events.WalletUnfrozen
		}
		return []events.Record{mk(0, key, events.WalletData{
			WalletID: e.WalletID, UserID: e.UserID, UserEmail: owner.Email, Currency: e.Currency,
			Status: status, Reason: e.Reason, TransactionID: e.ID, LedgerHash: e.Hash.String(), Seq: e.Seq,
		})}
	case KindCredit, KindDebit:
	default:
		return nil
	}
	key := events.WalletCredited
	if e.Kind == KindDebit {
		key = events.WalletDebited
	}
	out := []events.Record{mk(0, key, events.TransactionData{
		TransactionID: e.ID, UserID: e.UserID, UserEmail: owner.Email, Amount: e.Amount, Currency: e.Currency,
		BalanceAfter: e.BalanceAfter, Type: e.Type, Reason: e.Reason, OrderID: e.OrderID,
		LedgerHash: e.Hash.String(), Seq: e.Seq, WalletID: e.WalletID,
	})}
	if e.TransferID != "" {
		t := events.TransferData{TransferID: e.TransferID, Amount: e.Amount, Currency: e.Currency, Note: e.Reason,
			TransactionID: e.ID, LedgerHash: e.Hash.String(), Seq: e.Seq}
		if e.Type == TypeTransferOut {
			t.SenderID, t.SenderEmail, t.RecipientID, t.RecipientEmail = e.UserID, owner.Email, counterparty.UserID, counterparty.Email
			out = append(out, mk(1, events.TransferSent, t))
		} else {
			t.SenderID, t.SenderEmail, t.RecipientID, t.RecipientEmail = counterparty.UserID, counterparty.Email, e.UserID, owner.Email
			out = append(out, mk(1, events.TransferReceived, t))
		}
	}
	return out
}

// CheckpointEvent returns the ledger.checkpoint event of cp. Its id is
// derived from the ledger id and seq, so it is the same on every publish.
func CheckpointEvent(cp *Checkpoint, siteURL string) events.Record {
	b, _ := json.Marshal(events.CheckpointData{
		LedgerID: cp.LedgerID, Seq: cp.Seq, HeadHash: cp.HeadHash.String(),
		CreatedAt: cp.CreatedAt.UTC().Format(TimeFormat), Signature: base64.StdEncoding.EncodeToString(cp.Signature),
	})
	return events.Record{Seq: cp.Seq, Index: events.CheckpointIndex, Time: cp.CreatedAt, Envelope: events.Envelope{
		ID:         events.IDFor(cp.CreatedAt, "checkpoint", cp.LedgerID, strconv.FormatUint(cp.Seq, 10)),
		Event:      events.LedgerCheckpoint,
		APIVersion: events.APIVersion,
		CreatedAt:  events.FormatTime(cp.CreatedAt),
		SiteURL:    siteURL,
		Data:       b,
	}}
}
