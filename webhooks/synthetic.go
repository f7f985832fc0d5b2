package webhooks

import (
	"encoding/json"
	"time"

	"github.com/walletd/walletd/events"
)

// syntheticData returns the data object of a test event: the shape of the
// real event with made-up values, so a receiver can exercise its handler.
func syntheticData(key string, now time.Time) json.RawMessage {
	tx := events.TransactionData{
		TransactionID: "txn_test", UserID: "103", UserEmail: "jane@example.com", Amount: "25.00", Currency: "USD",
		BalanceAfter: "75.00", Type: "topup", Reason: "Test event", OrderID: "1204",
		LedgerHash: "0000000000000000000000000000000000000000000000000000000000000000", Seq: 1, WalletID: "wal_test",
	}
	var v any
	switch key {
	case events.WalletCredited, events.TopupCompleted, events.ReloadTriggered, events.WithdrawalApproved,
		events.RedemptionCodeRedeemed, events.MilestoneAwarded, events.CashbackAwarded, events.ReferralRewarded:
		switch key {
		case events.CashbackAwarded:
			tx.Type, tx.Reason = "cashback", "5% cashback on order #1204"
		case events.ReferralRewarded:
			tx.Type = "referral"
		case events.MilestoneAwarded:
			tx.Type = "milestone"
		case events.RedemptionCodeRedeemed:
			tx.Type = "redemption_code"
		case events.WithdrawalApproved:
			tx.Type = "withdrawal"
		}
		v = tx
	case events.WalletDebited, events.WithdrawalRequested, events.WithdrawalRejected, events.TopupFailed,
		events.SpendingLimitBlocked, events.KYCRequired:
		tx.Type, tx.Amount, tx.BalanceAfter, tx.Reason = "order_payment", "40.00", "35.00", "Test event"
		switch key {
		case events.WithdrawalRequested, events.WithdrawalRejected:
			tx.Type = "withdrawal"
		case events.TopupFailed:
			tx.Type = "topup"
		}
		v = tx
	case events.TransferSent, events.TransferReceived:
		v = events.TransferData{
			TransferID: "tfr_test", SenderID: "103", SenderEmail: "jane@example.com", RecipientID: "207",
			RecipientEmail: "bob@example.com", Amount: "10.00", Currency: "USD", Note: "Splitting lunch",
			TransactionID: "txn_test", LedgerHash: tx.LedgerHash, Seq: 1,
		}
	case events.WalletCreated, events.WalletFrozen, events.WalletUnfrozen:
		status := "active"
		if key == events.WalletFrozen {
			status = "frozen"
		}
		v = events.WalletData{WalletID: "wal_test", UserID: "103", UserEmail: "jane@example.com", Currency: "USD",
			Status: status, Reason: "Test event", TransactionID: "txn_test", LedgerHash: tx.LedgerHash, Seq: 1}
	case events.LedgerCheckpoint:
		v = events.CheckpointData{LedgerID: "ldg_test", Seq: 1000, HeadHash: tx.LedgerHash,
			CreatedAt: now.UTC().Format("2006-01-02T15:04:05.000000Z"), Signature: ""}
	case OrderCreated, OrderUpdated, OrderDeleted, OrderRestored:
		wc := now.UTC().Format("2006-01-02T15:04:05")
		v = map[string]any{
			"id": 1204, "parent_id": 0, "number": "1204", "order_key": "wc_order_test", "created_via": "walletd",
			"status": "completed", "currency": "USD", "date_created": wc, "date_created_gmt": wc,
			"date_modified": wc, "date_modified_gmt": wc, "total": "25.00", "total_tax": "0.00",
			"customer_id": 103, "billing": map[string]string{"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"},
			"payment_method": "walletd", "transaction_id": "txn_test", "line_items": []any{},
		}
	default: // ping and anything else
		v = map[string]string{"message": "walletd test event"}
	}
	b, _ := json.Marshal(v)
	return b
}
