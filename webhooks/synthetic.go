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
		TransactionID: 4821, UserID: "103", UserEmail: "jane@example.com", Amount: "25.00", Currency: "USD",
		BalanceAfter: "75.00", Type: "topup", Reason: "Test event", OrderID: "1204",
		LedgerHash: "0000000000000000000000000000000000000000000000000000000000000000", Seq: 4821, WalletID: "wal_test",
		TxnID: "txn_test",
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
			TransferID: 319, SenderID: "103", SenderEmail: "jane@example.com", RecipientID: "207",
			RecipientEmail: "bob@example.com", Amount: "10.00", Currency: "USD", Note: "Splitting lunch",
			TransactionID: 319, LedgerHash: tx.LedgerHash, Seq: 319, WalletID: "wal_test", TxnID: "txn_test", TfrID: "tfr_test",
		}
	case events.WalletCreated, events.WalletFrozen, events.WalletUnfrozen:
		status := "active"
		if key == events.WalletFrozen {
			status = "frozen"
		}
		v = events.WalletData{WalletID: "wal_test", UserID: "103", UserEmail: "jane@example.com", Currency: "USD",
			Status: status, Reason: "Test event", TransactionID: 4821, LedgerHash: tx.LedgerHash, Seq: 4821, TxnID: "txn_test"}
	case events.TopupPending, events.OrderCompleted, events.OrderRefunded:
		tx.Type, tx.Reason = "topup_pending", ""
		if key != events.TopupPending {
			tx.Type, tx.OrderID = "order_completed", "1204"
			if key == events.OrderRefunded {
				tx.Type = "order_refunded"
			}
		}
		v = tx
	case events.WalletUpdated, events.ConfigUpdated:
		u := events.UpdateData{Change: "limits", Settings: map[string]string{"daily": "100.00"},
			TransactionID: 4821, LedgerHash: tx.LedgerHash, Seq: 4821, TxnID: "txn_test"}
		if key == events.WalletUpdated {
			u.WalletID, u.UserID, u.UserEmail, u.Currency = "wal_test", "103", "jane@example.com", "USD"
		} else {
			u.Change, u.ID, u.Currency, u.Settings = "cashback_rule", "cbr_test", "USD", map[string]string{"id": "cbr_test", "percent": "5"}
		}
		v = u
	case events.LedgerCheckpoint:
		v = events.CheckpointData{LedgerID: "ldg_test", Seq: 1000, HeadHash: tx.LedgerHash,
			CreatedAt: now.UTC().Format("2006-01-02T15:04:05.000000Z"), Signature: ""}
	case events.PluginOrderProcessed:
		v = events.PluginOrderData{OrderID: 1205, ShopOrderID: "12345", Source: "plugin_your_plugin_name", ExternalID: "12345@shop.example.com",
			PluginName: "Your Plugin Name", PluginVersion: "1.0.0", SiteURL: "https://shop.example.com", Status: "completed", ShopStatus: "completed",
			Total: "99.00", Currency: "USD", WalletID: "wal_test",
			Customer:          events.PluginCustomer{UserID: "test@example.com", Email: "test@example.com", FirstName: "John", LastName: "Doe", Phone: "+1234567890", Country: "US"},
			Products:          []events.PluginProduct{{Name: "Challenge Account - $10,000", Quantity: 1, Price: "99.00", AccountSize: "10000", ChallengeType: "standard"}},
			ProcessingOptions: events.PluginProcessingOptions{CreateMT5Account: true, SendEmail: true, CreateUser: true},
			TransactionID:     4821, LedgerHash: tx.LedgerHash, Seq: 4821}
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
	if t, ok := v.(events.TransactionData); ok && key != events.WalletCredited && key != events.WalletDebited {
		v = flowSample(key, t)
	}
	b, _ := json.Marshal(v)
	return b
}

// flowSample adds to a test event's transaction fields the fields its
// flow carries (see docs/events.md).
func flowSample(key string, t events.TransactionData) events.FlowData {
	f := events.FlowData{TransactionData: t, HeldAfter: "0.00"}
	switch key {
	case events.TopupCompleted, events.TopupFailed, events.TopupPending:
		f.TopupID, f.Method, f.ExternalRef = "top_test", "card", "pi_test"
		if key == events.TopupFailed {
			f.FailureReason = "card declined"
		}
	case events.ReloadTriggered:
		f.TopupID, f.Method, f.Threshold, f.ReloadAmount = "top_test", "card", "20.00", "50.00"
	case events.WithdrawalRequested, events.WithdrawalApproved, events.WithdrawalRejected:
		f.WithdrawalID, f.Method, f.Destination = "wdr_test", "bank", "DE89 3704 0044 0532 0130 00"
		if key == events.WithdrawalRejected {
			f.FailureReason = "name mismatch"
		}
	case events.RedemptionCodeRedeemed:
		f.CodeID, f.CodeHint = "rdc_test", "…TEST"
	case events.MilestoneAwarded:
		f.MilestoneID, f.MilestoneName, f.Metric, f.Threshold = "mil_test", "Tenth order", "order_count", "10"
	case events.CashbackAwarded:
		f.RuleID, f.Percent, f.OrderTotal = "cbr_test", "5", "500.00"
	case events.ReferralRewarded:
		f.ReferralRole, f.ReferrerUserID, f.RefereeUserID = "referrer", "103", "207"
	case events.SpendingLimitBlocked:
		f.Operation, f.LimitKind, f.Limit, f.Spent, f.AttemptedAmount = "debit", "daily", "100.00", "80.00", "40.00"
	case events.KYCRequired:
		f.Operation, f.KYCStatus, f.KYCThreshold, f.AttemptedAmount = "withdrawal", "none", "1000.00", "1500.00"
	case events.OrderCompleted, events.OrderRefunded:
		f.OrderTotal = "500.00"
	}
	return f
}
