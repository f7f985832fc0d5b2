package ledger

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/walletd/walletd"

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
func EntryEvents(e *walletd.Entry, owner, counterparty Party, siteURL string) []events.Record {
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
	if meta := metaOf(e); meta[FlowKey] == walletd.FlowOrder && meta[metaOrder] != "" {
		return orderEvents(e, owner, meta, mk) // a step of an order (order_event.go)
	}
	if meta := metaOf(e); meta[FlowKey] == walletd.FlowPlugin {
		return pluginEvents(e, meta, mk) // a plugin order processed (plugin_order.go)
	}
	switch e.Kind {
	case walletd.KindOpen, walletd.KindFreeze, walletd.KindUnfreeze:
		key, status := events.WalletCreated, walletd.StatusActive
		switch e.Kind {
		case walletd.KindFreeze:
			key, status = events.WalletFrozen, walletd.StatusFrozen
		case walletd.KindUnfreeze:
			key = events.WalletUnfrozen
		}
		return []events.Record{mk(0, key, events.WalletData{
			WalletID: e.WalletID, UserID: events.StorefrontID(e.UserID), UserEmail: owner.Email, Currency: e.Currency,
			Status: status, Reason: e.Reason, TransactionID: e.Seq, LedgerHash: e.Hash.String(), Seq: e.Seq, TxnID: e.ID,
		})}
	case walletd.KindConfig:
		meta := metaOf(e)
		id := meta["id"]
		delete(meta, FlowKey)
		if meta == nil {
			meta = map[string]string{}
		}
		return []events.Record{mk(0, events.ConfigUpdated, events.UpdateData{
			Change: e.Type, ID: id, Currency: e.Currency, Settings: meta,
			TransactionID: e.Seq, LedgerHash: e.Hash.String(), Seq: e.Seq, TxnID: e.ID,
		})}
	}

	meta := metaOf(e)
	flow := meta[FlowKey]
	fd := flowData(e, owner, meta)
	switch e.Kind {
	case walletd.KindHold:
		return []events.Record{mk(0, events.WithdrawalRequested, fd)}
	case walletd.KindRelease:
		fd.FailureReason = e.Reason
		return []events.Record{mk(0, events.WithdrawalRejected, fd)}
	case walletd.KindSettle:
		return []events.Record{mk(0, events.WalletDebited, txnData(e, owner)), mk(1, events.WithdrawalApproved, fd)}
	case walletd.KindNote:
		switch e.Type {
		case walletd.TypeTopupPending:
			return []events.Record{mk(0, events.TopupPending, fd)}
		case walletd.TypeTopupFailed:
			fd.FailureReason = e.Reason
			return []events.Record{mk(0, events.TopupFailed, fd)}
		case walletd.TypeLimitBlocked:
			fd.AttemptedAmount = e.Amount
			return []events.Record{mk(0, events.SpendingLimitBlocked, fd)}
		case walletd.TypeKYCRequired:
			fd.AttemptedAmount = e.Amount
			return []events.Record{mk(0, events.KYCRequired, fd)}
		case walletd.TypeReloadTriggered:
			fd.ReloadAmount = e.Amount
			return []events.Record{mk(0, events.ReloadTriggered, fd)}
		case walletd.TypeOrderCompleted:
			fd.OrderTotal = e.Amount
			return []events.Record{mk(0, events.OrderCompleted, fd)}
		case walletd.TypeOrderRefunded:
			fd.OrderTotal = e.Amount
			return []events.Record{mk(0, events.OrderRefunded, fd)}
		case walletd.TypeLimits, walletd.TypeKYC, walletd.TypeAutoReload:
			delete(meta, FlowKey)
			if meta == nil {
				meta = map[string]string{}
			}
			return []events.Record{mk(0, events.WalletUpdated, events.UpdateData{
				Change: e.Type, WalletID: e.WalletID, UserID: events.StorefrontID(e.UserID), UserEmail: owner.Email, Currency: e.Currency,
				Settings: meta, TransactionID: e.Seq, LedgerHash: e.Hash.String(), Seq: e.Seq, TxnID: e.ID,
			})}
		}
		return nil
	case walletd.KindCredit, walletd.KindDebit:
	default:
		return nil
	}
	key := events.WalletCredited
	if e.Kind == walletd.KindDebit {
		key = events.WalletDebited
	}
	out := []events.Record{mk(0, key, txnData(e, owner))}
	if e.TransferID != "" {
		t := events.TransferData{TransferID: transferSeq(e), Amount: e.Amount, Currency: e.Currency, Note: e.Reason,
			TransactionID: e.Seq, LedgerHash: e.Hash.String(), Seq: e.Seq, WalletID: e.WalletID, TxnID: e.ID, TfrID: e.TransferID}
		self, other := events.StorefrontID(e.UserID), events.StorefrontID(counterparty.UserID)
		if e.Type == walletd.TypeTransferOut {
			t.SenderID, t.SenderEmail, t.RecipientID, t.RecipientEmail = self, owner.Email, other, counterparty.Email
			out = append(out, mk(1, events.TransferSent, t))
		} else {
			t.SenderID, t.SenderEmail, t.RecipientID, t.RecipientEmail = other, counterparty.Email, self, owner.Email
			out = append(out, mk(1, events.TransferReceived, t))
		}
		return out
	}
	if e.Kind == walletd.KindCredit {
		switch flow {
		case walletd.FlowTopup:
			out = append(out, mk(1, events.TopupCompleted, fd))
		case walletd.FlowRedemption:
			out = append(out, mk(1, events.RedemptionCodeRedeemed, fd))
		case walletd.FlowCashback:
			out = append(out, mk(1, events.CashbackAwarded, fd))
		case walletd.FlowMilestone:
			out = append(out, mk(1, events.MilestoneAwarded, fd))
		case walletd.FlowReferral:
			out = append(out, mk(1, events.ReferralRewarded, fd))
		}
	}
	return out
}

// txnData is the seed's transaction data of an entry: its seq as the
// integer transaction_id, the storefront's ids as integers where they are
// decimal (events.StorefrontID), then walletd's own fields.
func txnData(e *walletd.Entry, owner Party) events.TransactionData {
	return events.TransactionData{
		TransactionID: e.Seq, UserID: events.StorefrontID(e.UserID), UserEmail: owner.Email, Amount: e.Amount,
		Currency: e.Currency, BalanceAfter: e.BalanceAfter, Type: e.Type, Reason: e.Reason,
		OrderID: events.StorefrontID(e.OrderID), LedgerHash: e.Hash.String(), Seq: e.Seq, WalletID: e.WalletID, TxnID: e.ID,
	}
}

// transferSeq returns the integer transfer_id of a transfer leg: the seq
// of its debit leg. Transfer.apply appends the credit leg right after the
// debit leg, in the same request, so the credit leg's is its own seq - 1;
// both legs' events carry the same transfer_id, and no other transfer
// can have it.
func transferSeq(e *walletd.Entry) uint64 {
	if e.Type == walletd.TypeTransferIn && e.Seq > 1 {
		return e.Seq - 1
	}
	return e.Seq
}

// flowData is the data of a flow's event: the transaction fields, then
// what the flow recorded in the entry's metadata. Only metadata of
// entries walletd made (with FlowKey) is read.
func flowData(e *walletd.Entry, owner Party, meta map[string]string) events.FlowData {
	if meta[FlowKey] == "" {
		meta = nil
	}
	return events.FlowData{
		TransactionData: txnData(e, owner), HeldAfter: e.HeldAfter,
		TopupID: meta["topup_id"], WithdrawalID: meta["withdrawal_id"], Method: meta["method"],
		ExternalRef: meta["external_ref"], Destination: meta["destination"], CodeID: meta["code_id"], CodeHint: meta["code_hint"],
		MilestoneID: meta["milestone_id"], MilestoneName: meta["milestone_name"], Metric: meta["metric"],
		Threshold: meta["threshold"], KYCThreshold: meta["kyc_threshold"], RuleID: meta["rule_id"], Percent: meta["percent"],
		OrderTotal: meta["order_total"], ReferralRole: meta["referral_role"], ReferrerUserID: events.StorefrontID(meta["referrer_user_id"]),
		RefereeUserID: events.StorefrontID(meta["referee_user_id"]), LimitKind: meta["limit_kind"], Limit: meta["limit"],
		Spent: meta["spent"], Operation: meta["operation"], KYCStatus: meta["kyc_status"],
	}
}

// CheckpointEvent returns the ledger.checkpoint event of cp. Its id is
// derived from the ledger id and seq, so it is the same on every publish.
func CheckpointEvent(cp *walletd.Checkpoint, siteURL string) events.Record {
	b, _ := json.Marshal(events.CheckpointData{
		LedgerID: cp.LedgerID, Seq: cp.Seq, HeadHash: cp.HeadHash.String(),
		CreatedAt: cp.CreatedAt.UTC().Format(walletd.TimeFormat), Signature: base64.StdEncoding.EncodeToString(cp.Signature),
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
