package inbound

import (
	"slices"
	"strings"

	"github.com/walletd/walletd"
)

// Actions a rule may run.
const (
	// ActionCompleteOrder records the payment on the order (pending →
	// processing) and, for an order of virtual products (meta_data
	// "virtual": true), completes it (→ completed).
	ActionCompleteOrder = "complete_order"
	// ActionMarkOrderPaid records the payment only (→ processing).
	ActionMarkOrderPaid = "mark_order_paid"
	// ActionRefundOrder refunds a paid order.
	ActionRefundOrder = "refund_order"
	// ActionFailOrder marks a pending order failed.
	ActionFailOrder = "fail_order"
	// ActionCompleteTopup completes a pending top-up (credits it).
	ActionCompleteTopup = "complete_topup"
	// ActionFailTopup marks a pending top-up failed.
	ActionFailTopup = "fail_topup"
)

// Actions lists the actions, and the target each acts on.
var Actions = map[string]string{
	ActionCompleteOrder: TargetOrder, ActionMarkOrderPaid: TargetOrder, ActionRefundOrder: TargetOrder,
	ActionFailOrder: TargetOrder, ActionCompleteTopup: TargetTopup, ActionFailTopup: TargetTopup,
}

// Rule runs Actions on the events of kind Trigger that meet every
// Condition.
type Rule struct {
	Name    string `json:"name"`
	Trigger string `json:"trigger"`
	// Conditions are equalities on the event: "target" (order, topup),
	// "event_type" (the provider's type), "currency" (ISO code).
	Conditions map[string]string `json:"conditions,omitempty"`
	Actions    []string          `json:"actions"`
}

// conditionKeys are the fields a condition may test.
var conditionKeys = []string{"target", "event_type", "currency"}

// DefaultRules are the rules of a gateway that configures none: a
// payment pays (and, for virtual products, completes) the order or
// completes the top-up; a refund refunds the order; a failure fails the
// top-up or the order.
var DefaultRules = []Rule{
	{Name: "order paid", Trigger: KindSucceeded, Conditions: map[string]string{"target": TargetOrder}, Actions: []string{ActionCompleteOrder}},
	{Name: "top-up paid", Trigger: KindSucceeded, Conditions: map[string]string{"target": TargetTopup}, Actions: []string{ActionCompleteTopup}},
	{Name: "order refunded", Trigger: KindRefunded, Conditions: map[string]string{"target": TargetOrder}, Actions: []string{ActionRefundOrder}},
	{Name: "top-up failed", Trigger: KindFailed, Conditions: map[string]string{"target": TargetTopup}, Actions: []string{ActionFailTopup}},
	{Name: "order failed", Trigger: KindFailed, Conditions: map[string]string{"target": TargetOrder}, Actions: []string{ActionFailOrder}},
}

func (r *Rule) check() error {
	if err := walletd.CheckText("name", r.Name, 100, false); err != nil {
		return err
	}
	if !slices.Contains(Kinds, r.Trigger) {
		return walletd.Errorf(walletd.EInvalid, "trigger must be one of %s.", strings.Join(Kinds, ", "))
	}
	for k, v := range r.Conditions {
		if !slices.Contains(conditionKeys, k) {
			return walletd.Errorf(walletd.EInvalid, "condition %s: the conditions are %s.", walletd.QuoteInput(k), strings.Join(conditionKeys, ", "))
		} else if len(v) > 200 {
			return walletd.Errorf(walletd.EInvalid, "condition %s is too long.", k)
		}
	}
	if len(r.Actions) == 0 || len(r.Actions) > 5 {
		return walletd.Errorf(walletd.EInvalid, "actions: one to five.")
	}
	target := ""
	for _, a := range r.Actions {
		t, ok := Actions[a]
		if !ok {
			return walletd.Errorf(walletd.EInvalid, "action %s: the actions are %s.", walletd.QuoteInput(a), strings.Join(sortedKeys(Actions), ", "))
		} else if target != "" && t != target {
			return walletd.Errorf(walletd.EInvalid, "actions: all act on an order, or all on a top-up.")
		}
		target = t
	}
	if c, ok := r.Conditions["target"]; ok && c != target {
		return walletd.Errorf(walletd.EInvalid, "actions on a %s need the condition target %s.", target, target)
	}
	return nil
}

// matches says whether the rule applies to ev: its trigger, its
// conditions and the target its actions act on.
func (r *Rule) matches(ev *Event) bool {
	if r.Trigger != ev.Kind || len(r.Actions) == 0 || Actions[r.Actions[0]] != ev.Target.Type {
		return false
	}
	for k, v := range r.Conditions {
		var got string
		switch k {
		case "target":
			got = ev.Target.Type
		case "event_type":
			got = ev.Type
		case "currency":
			got, v = ev.Currency, strings.ToUpper(v)
		}
		if got != v {
			return false
		}
	}
	return true
}
