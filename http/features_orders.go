package http

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// Cashback rules, milestones, referrals and orders over HTTP.

// ---------------------------------------------------------------------------
// Cashback rules, milestones, referrals

type cashbackRuleJSON struct {
	ID            string `json:"id"`
	Currency      string `json:"currency"`
	Percent       string `json:"percent"`
	MaxAmount     string `json:"max_amount,omitempty"`
	MinOrderTotal string `json:"min_order_total,omitempty"`
	CreatedAt     string `json:"created_at"`
	written
}

func cashbackRuleToJSON(c *walletd.CashbackRule) *cashbackRuleJSON {
	return &cashbackRuleJSON{ID: c.ID, Currency: c.Currency, Percent: c.Percent, MaxAmount: c.MaxAmount,
		MinOrderTotal: c.MinOrderTotal, CreatedAt: timeJSON(c.CreatedAt)}
}

func (s *Server) handleCreateCashbackRule(w http.ResponseWriter, r *http.Request) {
	var req ledger.CreateCashbackRule
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.apply(w, r, http.StatusCreated, &req, func(res *walletd.Result) (any, error) {
		c, err := resultObject[walletd.CashbackRule](r.Context(), s, res, walletd.ObjCashbackRule, entryMeta(res.Entries, 0)["id"])
		if err != nil {
			return nil, err
		}
		out := cashbackRuleToJSON(c)
		out.written = writtenBy(res.Entries)
		return out, nil
	})
}

func (s *Server) handleListCashbackRules(w http.ResponseWriter, r *http.Request) {
	listObjects(s, walletd.ObjCashbackRule, func(c *walletd.CashbackRule) string { return c.ID },
		func(c *walletd.CashbackRule) any { return cashbackRuleToJSON(c) })(w, r)
}

type milestoneJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Metric    string `json:"metric"`
	Threshold string `json:"threshold"`
	Reward    string `json:"reward"`
	Currency  string `json:"currency"`
	CreatedAt string `json:"created_at"`
	written
}

func milestoneToJSON(m *walletd.Milestone) *milestoneJSON {
	return &milestoneJSON{ID: m.ID, Name: m.Name, Metric: m.Metric, Threshold: m.Threshold, Reward: m.Reward,
		Currency: m.Currency, CreatedAt: timeJSON(m.CreatedAt)}
}

// threshold is a milestone threshold: a string, or for order_count
// milestones also a JSON integer.
type threshold struct {
	text   string
	number bool
}

func (t *threshold) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		t.text, t.number = string(b), true
		return nil
	}
	return json.Unmarshal(b, &t.text)
}

func (s *Server) handleCreateMilestone(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name      string    `json:"name"`
		Metric    string    `json:"metric"`
		Threshold threshold `json:"threshold"`
		Reward    string    `json:"reward"`
		Currency  string    `json:"currency"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	if req.Threshold.number && req.Metric != walletd.MetricOrderCount {
		s.Error(w, r, walletd.Errorf(EInvalidJSON, "Field \"threshold\" must be a string, not a JSON number, unless metric is order_count."))
		return
	}
	cmd := &ledger.CreateMilestone{Name: req.Name, Metric: req.Metric, Threshold: req.Threshold.text, Reward: req.Reward, Currency: req.Currency}
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		m, err := resultObject[walletd.Milestone](r.Context(), s, res, walletd.ObjMilestone, entryMeta(res.Entries, 0)["id"])
		if err != nil {
			return nil, err
		}
		out := milestoneToJSON(m)
		out.written = writtenBy(res.Entries)
		return out, nil
	})
}

func (s *Server) handleListMilestones(w http.ResponseWriter, r *http.Request) {
	listObjects(s, walletd.ObjMilestone, func(m *walletd.Milestone) string { return m.ID },
		func(m *walletd.Milestone) any { return milestoneToJSON(m) })(w, r)
}

type referralJSON struct {
	ID             string `json:"id"`
	ReferrerUserID string `json:"referrer_user_id"`
	RefereeUserID  string `json:"referee_user_id"`
	Status         string `json:"status"`
	OrderID        string `json:"order_id,omitempty"`
	CreatedAt      string `json:"created_at"`
	RewardedAt     string `json:"rewarded_at,omitempty"`
	written
}

func referralToJSON(f *walletd.Referral) *referralJSON {
	return &referralJSON{ID: f.ID, ReferrerUserID: f.ReferrerUserID, RefereeUserID: f.RefereeUserID, Status: f.Status,
		OrderID: f.OrderID, CreatedAt: timeJSON(f.CreatedAt), RewardedAt: timeJSON(f.RewardedAt)}
}

func (s *Server) handleCreateReferral(w http.ResponseWriter, r *http.Request) {
	var req ledger.CreateReferral
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.apply(w, r, http.StatusCreated, &req, func(res *walletd.Result) (any, error) {
		f, err := resultObject[walletd.Referral](r.Context(), s, res, walletd.ObjReferral, req.RefereeUserID)
		if err != nil {
			return nil, err
		}
		out := referralToJSON(f)
		out.written = writtenBy(res.Entries)
		return out, nil
	})
}

func (s *Server) handleGetReferral(w http.ResponseWriter, r *http.Request) {
	getObject(s, walletd.ObjReferral, "referee_user_id", func(f *walletd.Referral) any { return referralToJSON(f) })(w, r)
}

// ---------------------------------------------------------------------------
// Orders

type awardJSON struct {
	Kind          string `json:"kind"`
	TransactionID string `json:"transaction_id"`
	WalletID      string `json:"wallet_id"`
	UserID        string `json:"user_id"`
	Amount        string `json:"amount"`
	Ref           string `json:"ref"`
}

type orderJSON struct {
	OrderID     string          `json:"order_id"`
	UserID      string          `json:"user_id"`
	WalletID    string          `json:"wallet_id"`
	Total       string          `json:"total"`
	Currency    string          `json:"currency"`
	Items       json.RawMessage `json:"items,omitempty"`
	Status      string          `json:"status"`
	Awards      []awardJSON     `json:"awards"`
	CompletedAt string          `json:"completed_at"`
	RefundedAt  string          `json:"refunded_at,omitempty"`
	written
	// Transactions are the entries this request wrote (writes only): an
	// empty list on a repeat of a completed order.
	Transactions []entryJSON `json:"transactions,omitzero"`
}

func orderToJSON(o *walletd.Order) *orderJSON {
	out := &orderJSON{OrderID: o.ID, UserID: o.UserID, WalletID: o.WalletID, Total: o.Total, Currency: o.Currency,
		Items: o.Items, Status: o.Status, Awards: make([]awardJSON, 0, len(o.Awards)),
		CompletedAt: timeJSON(o.CompletedAt), RefundedAt: timeJSON(o.RefundedAt)}
	for _, a := range o.Awards {
		out.Awards = append(out.Awards, awardJSON(a))
	}
	return out
}

// renderOrder renders an order with the entries the request wrote.
func (s *Server) renderOrder(ctx context.Context, res *walletd.Result, id string) (*orderJSON, error) {
	o, err := resultObject[walletd.Order](ctx, s, res, walletd.ObjOrder, id)
	if err != nil {
		return nil, err
	}
	out := orderToJSON(o)
	out.written = writtenBy(res.Entries)
	out.Transactions = make([]entryJSON, 0, len(res.Entries))
	for _, e := range res.Entries {
		out.Transactions = append(out.Transactions, entryToJSON(e))
	}
	return out, nil
}

func (s *Server) handleCompleteOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID   string          `json:"user_id"`
		Total    string          `json:"total"`
		Currency string          `json:"currency"`
		Items    json.RawMessage `json:"items"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id := mux.Vars(r)["order_id"]
	cmd := &ledger.CompleteOrder{OrderID: id, UserID: req.UserID, Total: req.Total, Currency: req.Currency, Items: req.Items}
	res, err := s.Writer.Submit(r.Context(), r.Header.Get("Idempotency-Key"), cmd)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out, err := s.renderOrder(r.Context(), res, id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	// The first completion answers 201 (again, byte for byte, on an
	// Idempotency-Key replay); a repeat of a completed order with the same
	// terms writes nothing and answers 200 with the order as it is.
	status := http.StatusCreated
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		if len(res.Entries) == 0 {
			status = http.StatusOK
		}
	}
	writeData(w, status, out)
}

func (s *Server) handleRefundOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id := mux.Vars(r)["order_id"]
	s.apply(w, r, http.StatusOK, &ledger.RefundOrder{OrderID: id, Reason: req.Reason}, func(res *walletd.Result) (any, error) {
		return s.renderOrder(r.Context(), res, id)
	})
}

func (s *Server) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	getObject(s, walletd.ObjOrder, "order_id", func(o *walletd.Order) any { return orderToJSON(o) })(w, r)
}
