package http

import (
	"encoding/json"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

// Rewards over HTTP: the cashback rules, milestones, referrals and
// referral settings that completed orders are paid by (see order.go).

func (s *Server) registerRewardRoutes(handle handleFunc) {
	admin := walletd.ScopeAdmin
	handle("POST", "/v1/cashback-rules", admin, s.handleCreateCashbackRule)
	handle("GET", "/v1/cashback-rules", admin, listObjects(s, walletd.ObjCashbackRule,
		func(c *walletd.CashbackRule) string { return c.ID }, cashbackRuleToJSON))
	handle("POST", "/v1/milestones", admin, s.handleCreateMilestone)
	handle("GET", "/v1/milestones", admin, listObjects(s, walletd.ObjMilestone,
		func(m *walletd.Milestone) string { return m.ID }, milestoneToJSON))
	handle("GET", "/v1/settings/referrals", admin, getSettings(s, walletd.ObjReferralSettings, referralSettingsToJSON))
	handle("PUT", "/v1/settings/referrals", admin, putSettings(s, func() walletd.Command { return new(ledger.SetReferralSettings) }, referralSettingsToJSON))
	handle("POST", "/v1/referrals", admin, s.handleCreateReferral)
	handle("GET", "/v1/referrals/{referee_user_id}", admin, getObject(s, walletd.ObjReferral, "referee_user_id", referralToJSON))
}

// cashbackRuleJSON is a cashback rule as the API shows it.
type cashbackRuleJSON struct {
	ID            string `json:"id"`
	Currency      string `json:"currency"`
	Percent       string `json:"percent"`
	MaxAmount     string `json:"max_amount,omitempty"`
	MinOrderTotal string `json:"min_order_total,omitempty"`
	CreatedAt     string `json:"created_at"`
	written
}

func cashbackRuleToJSON(c *walletd.CashbackRule, wr written) *cashbackRuleJSON {
	return &cashbackRuleJSON{ID: c.ID, Currency: c.Currency, Percent: c.Percent.String(), MaxAmount: c.MaxAmount.String(),
		MinOrderTotal: c.MinOrderTotal.String(), CreatedAt: timeJSON(c.CreatedAt), written: wr}
}

func (s *Server) handleCreateCashbackRule(w http.ResponseWriter, r *http.Request) {
	var req ledger.CreateCashbackRule
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	applyObject(s, w, r, http.StatusCreated, &req, cashbackRuleToJSON)
}

// milestoneJSON is a milestone as the API shows it.
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

func milestoneToJSON(m *walletd.Milestone, wr written) *milestoneJSON {
	return &milestoneJSON{ID: m.ID, Name: m.Name, Metric: m.Metric, Threshold: m.Threshold.String(), Reward: m.Reward.String(),
		Currency: m.Currency, CreatedAt: timeJSON(m.CreatedAt), written: wr}
}

// threshold is a milestone threshold: a string, or for order_count
// milestones also a JSON integer.
type threshold struct {
	text   string
	number bool
}

// UnmarshalJSON reads a JSON string or number; the rules check the text.
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
	applyObject(s, w, r, http.StatusCreated, cmd, milestoneToJSON)
}

// referralJSON is a referral as the API shows it.
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

func referralToJSON(f *walletd.Referral, wr written) *referralJSON {
	return &referralJSON{ID: f.ID, ReferrerUserID: f.ReferrerUserID, RefereeUserID: f.RefereeUserID, Status: f.Status,
		OrderID: f.OrderID, CreatedAt: timeJSON(f.CreatedAt), RewardedAt: timeJSON(f.RewardedAt), written: wr}
}

func (s *Server) handleCreateReferral(w http.ResponseWriter, r *http.Request) {
	var req struct { // the storefront's user ids: JSON integers or strings
		ReferrerUserID walletd.StorefrontID `json:"referrer_user_id"`
		RefereeUserID  walletd.StorefrontID `json:"referee_user_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.CreateReferral{ReferrerUserID: req.ReferrerUserID.String(), RefereeUserID: req.RefereeUserID.String()}
	applyObject(s, w, r, http.StatusCreated, cmd, referralToJSON)
}

// referralSettingsJSON are the referral rewards of a currency as the API
// shows them.
type referralSettingsJSON struct {
	Currency       string `json:"currency"`
	ReferrerReward string `json:"referrer_reward"`
	RefereeReward  string `json:"referee_reward"`
	MinOrderTotal  string `json:"min_order_total,omitempty"`
	UpdatedAt      string `json:"updated_at"`
	written
}

func referralSettingsToJSON(rs *walletd.ReferralSettings, wr written) *referralSettingsJSON {
	return &referralSettingsJSON{Currency: rs.Currency, ReferrerReward: rs.ReferrerReward.String(), RefereeReward: rs.RefereeReward.String(),
		MinOrderTotal: rs.MinOrderTotal.String(), UpdatedAt: timeJSON(rs.UpdatedAt), written: wr}
}
