package http

import (
	"fmt"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

// Transfers over HTTP: one debit leg and one credit leg, committed
// together.

func (s *Server) registerTransferRoutes(handle handleFunc) {
	handle("POST", "/v1/transfers", walletd.ScopeWalletsWrite, s.handleTransfer)
}

// transferJSON is the response of POST /v1/transfers.
type transferJSON struct {
	TransferID    string    `json:"transfer_id"`
	FromWalletID  string    `json:"from_wallet_id"`
	ToWalletID    string    `json:"to_wallet_id"`
	Amount        string    `json:"amount"`
	Currency      string    `json:"currency"`
	Note          string    `json:"note"`
	TransactionID string    `json:"transaction_id"` // the debit leg
	Seq           uint64    `json:"seq"`            // the last seq the transfer wrote
	LedgerHash    string    `json:"ledger_hash"`    // the hash at Seq
	BalanceAfter  string    `json:"balance_after"`  // the sender's balance after
	Debit         entryJSON `json:"debit"`
	Credit        entryJSON `json:"credit"`
}

// transferRequest is the body of POST /v1/transfers. Metadata values may
// be JSON integers (a storefront's order id), kept as their digits.
type transferRequest struct {
	FromWalletID string                           `json:"from_wallet_id"`
	ToWalletID   string                           `json:"to_wallet_id"`
	Amount       string                           `json:"amount"`
	Note         string                           `json:"note"`
	Metadata     map[string]walletd.TextOrInteger `json:"metadata"`
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	var req transferRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.Transfer{FromWalletID: req.FromWalletID, ToWalletID: req.ToWalletID, Amount: req.Amount,
		Note: req.Note, Metadata: metadataOf(req.Metadata)}
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		if len(res.Entries) < 2 {
			return nil, fmt.Errorf("http: a transfer wrote %d entries, not its two legs", len(res.Entries))
		}
		out, in := entryToJSON(res.Entries[0]), entryToJSON(res.Entries[1])
		return transferJSON{
			TransferID: out.TransferID, FromWalletID: out.WalletID, ToWalletID: in.WalletID,
			Amount: out.Amount, Currency: out.Currency, Note: out.Reason,
			TransactionID: out.TransactionID, Seq: in.Seq, LedgerHash: in.LedgerHash,
			BalanceAfter: out.BalanceAfter, Debit: out, Credit: in,
		}, nil
	})
}
