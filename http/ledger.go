package http

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/walletd/walletd"
)

// The ledger over HTTP: its entries (every answer of a write shows the
// entries it appended), its signed checkpoints and the verification of
// the whole chain.

func (s *Server) registerLedgerRoutes(handle handleFunc) {
	handle("GET", "/v1/ledger/verify", walletd.ScopeAdmin, s.handleVerify)
	handle("GET", "/v1/ledger/entries", walletd.ScopeAdmin, s.handleEntries)
	handle("GET", "/v1/ledger/checkpoints", walletd.ScopeAdmin, s.handleCheckpoints)
}

// entryJSON is a ledger entry (a transaction) as the API shows it.
type entryJSON struct {
	TransactionID  string            `json:"transaction_id"`
	Seq            uint64            `json:"seq"`
	LedgerHash     string            `json:"ledger_hash"`
	PrevHash       string            `json:"prev_hash"`
	RequestHash    string            `json:"request_hash,omitempty"`
	Email          string            `json:"email,omitempty"`
	KeyID          string            `json:"key_id"`
	EventID        string            `json:"event_id"`
	Kind           string            `json:"kind"`
	Type           string            `json:"type"`
	WalletID       string            `json:"wallet_id"`
	UserID         string            `json:"user_id"`
	Currency       string            `json:"currency"`
	Amount         string            `json:"amount"`
	BalanceAfter   string            `json:"balance_after"`
	HeldAfter      string            `json:"held_after"`
	AvailableAfter string            `json:"available_after"`
	Reason         string            `json:"reason"`
	OrderID        string            `json:"order_id,omitempty"`
	TransferID     string            `json:"transfer_id,omitempty"`
	Counterparty   string            `json:"counterparty_wallet_id,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	CreatedAt      string            `json:"created_at"`
}

func entryToJSON(e *walletd.Entry) entryJSON {
	out := entryJSON{
		TransactionID: e.ID, Seq: e.Seq, LedgerHash: e.Hash.String(), PrevHash: e.PrevHash.String(),
		RequestHash: e.RequestHash, Email: e.Email, KeyID: e.KeyID, EventID: e.EventID, Kind: e.Kind, Type: e.Type, WalletID: e.WalletID,
		UserID: e.UserID, Currency: e.Currency, Amount: e.Amount, BalanceAfter: e.BalanceAfter,
		HeldAfter: e.HeldAfter, AvailableAfter: availableAfter(e), Reason: e.Reason, OrderID: e.OrderID,
		TransferID: e.TransferID, Counterparty: e.Counterparty, IdempotencyKey: e.IdempotencyKey,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano), Metadata: map[string]string{},
	}
	if e.Metadata != "" {
		json.Unmarshal([]byte(e.Metadata), &out.Metadata)
	}
	return out
}

// availableAfter is an entry's balance minus its held amount, at the
// balance's scale: the entry's text is all there is of the wallet at that
// seq. An entry with no balance (a config entry) answers its balance.
func availableAfter(e *walletd.Entry) string {
	var b, h walletd.Money
	if b.UnmarshalText([]byte(e.BalanceAfter)) != nil || !b.IsSet() || h.UnmarshalText([]byte(e.HeldAfter)) != nil {
		return e.BalanceAfter
	}
	return walletd.NewMoney(b.Decimal().Sub(h.Decimal()), b.Scale()).String()
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	rep, err := s.Verify(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, rep)
}

func (s *Server) handleEntries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseSeq("after_seq", q.Get("after_seq"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	limit, err := parseLimit(q.Get("limit"), 100, 1000)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	entries, err := s.Ledger.Entries(r.Context(), after, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]entryJSON, 0, len(entries))
	next := after
	for _, e := range entries {
		items = append(items, entryToJSON(e))
		next = e.Seq
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_after_seq": next})
}

// checkpointJSON is a signed checkpoint as the API shows it.
type checkpointJSON struct {
	Seq       uint64 `json:"seq"`
	LedgerID  string `json:"ledger_id"`
	HeadHash  string `json:"head_hash"`
	CreatedAt string `json:"created_at"`
	Signature string `json:"signature"` // base64
	Message   string `json:"message"`   // the exact signed bytes
}

func (s *Server) handleCheckpoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseSeq("after_seq", q.Get("after_seq"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	limit, err := parseLimit(q.Get("limit"), 100, 1000)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	cps, err := s.Ledger.Checkpoints(r.Context(), after, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]checkpointJSON, 0, len(cps))
	for _, cp := range cps {
		items = append(items, checkpointJSON{
			Seq: cp.Seq, LedgerID: cp.LedgerID, HeadHash: cp.HeadHash.String(),
			CreatedAt: cp.CreatedAt.UTC().Format(walletd.TimeFormat),
			Signature: base64.StdEncoding.EncodeToString(cp.Signature), Message: string(cp.Message()),
		})
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "public_key": s.CheckpointPublicKey})
}
