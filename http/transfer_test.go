package http_test

import (
	"strings"
	"testing"
)

func TestTransfers(t *testing.T) {
	s := mustServer(t)
	a, b := s.mustWallet(t, "a", "USD"), s.mustWallet(t, "b", "USD")
	eur := s.mustWallet(t, "c", "EUR")
	s.mustCredit(t, a.ID, "100.00")
	r := s.do(t, "POST", "/v1/transfers", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": b.ID, "amount": "30.50", "note": "lunch"}))
	r.expect(t, 201, "")
	var tr struct {
		TransferID    string `json:"transfer_id"`
		TransactionID string `json:"transaction_id"`
		Seq           uint64 `json:"seq"`
		LedgerHash    string `json:"ledger_hash"`
		BalanceAfter  string `json:"balance_after"`
		Debit, Credit entry
	}
	r.data(t, &tr)
	if tr.TransferID == "" || tr.BalanceAfter != "69.50" || tr.Credit.BalanceAfter != "30.50" || tr.Credit.Seq != tr.Debit.Seq+1 ||
		tr.Seq != tr.Credit.Seq || tr.LedgerHash != tr.Credit.LedgerHash || tr.Credit.PrevHash != tr.Debit.LedgerHash {
		t.Fatalf("unexpected transfer %+v", tr)
	}
	if s.wallet(t, a.ID).Balance != "69.50" || s.wallet(t, b.ID).Balance != "30.50" {
		t.Fatal("balances do not match the transfer")
	}
	bad := []struct {
		name, body string
		status     int
		code       string
	}{
		{"CurrencyMismatch", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": eur.ID, "amount": "1.00"}), 422, "currency_mismatch"},
		{"SameWallet", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": a.ID, "amount": "1.00"}), 400, "invalid_request"},
		{"InsufficientFunds", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": b.ID, "amount": "69.51"}), 422, "insufficient_funds"},
		{"UnknownFrom", mustJSON(map[string]string{"from_wallet_id": "wal_x", "to_wallet_id": b.ID, "amount": "1.00"}), 404, "not_found"},
		{"UnknownTo", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": "wal_x", "amount": "1.00"}), 404, "not_found"},
		{"BadAmount", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": b.ID, "amount": "1e400"}), 400, "invalid_amount"},
		{"TooPrecise", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": b.ID, "amount": "0.001"}), 400, "invalid_amount"},
		{"WrongType", `{"from_wallet_id":1,"to_wallet_id":"x","amount":"1.00"}`, 400, "invalid_json"},
		{"Malformed", `{`, 400, "invalid_json"},
	}
	for _, tc := range bad {
		t.Run("Err"+tc.name, func(t *testing.T) {
			s.do(t, "POST", "/v1/transfers", tc.body).expect(t, tc.status, tc.code)
			if s.wallet(t, a.ID).Balance != "69.50" || s.wallet(t, b.ID).Balance != "30.50" {
				t.Fatal("a refused transfer moved money")
			}
		})
	}

	// Metadata values may be a storefront's integer ids, kept as digits.
	t.Run("IntegerMetadata", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/transfers", `{"from_wallet_id":"`+a.ID+`","to_wallet_id":"`+b.ID+`","amount":"1.50","metadata":{"order_id":1204,"ref":"x"}}`)
		r.expect(t, 201, "")
		var tr struct{ Debit, Credit entry }
		r.data(t, &tr)
		for _, e := range []entry{tr.Debit, tr.Credit} {
			if e.Metadata["order_id"] != "1204" || e.Metadata["ref"] != "x" {
				t.Fatalf("leg metadata %+v", e.Metadata)
			}
		}
	})
	t.Run("ErrMetadataValue", func(t *testing.T) {
		before := s.entryCount(t)
		for _, v := range []string{`1.5`, `-1`, `true`, `1e3`, `99999999999999999999`} {
			r := s.do(t, "POST", "/v1/transfers", `{"from_wallet_id":"`+a.ID+`","to_wallet_id":"`+b.ID+`","amount":"1.00","metadata":{"order_id":`+v+`}}`)
			r.expect(t, 400, "invalid_request")
			if !strings.Contains(r.Message, `Field "metadata"`) {
				t.Fatalf("%s: message %q", v, r.Message)
			}
		}
		if s.entryCount(t) != before {
			t.Fatal("a refused transfer wrote entries")
		}
	})
}
