package financing_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/financingtest"
	"github.com/walletd/walletd/migrations"
	"github.com/walletd/walletd/walletdtest"
)

// The upgrade to webhooks migration 00005 moves every postback of the
// old financing_postbacks table into the inbound pipeline: those not yet
// applied are pending and applied at the next start, those for review are
// dead letters, the others done; a resend of any of them is a duplicate.
func TestMigration_PostbacksMoveToInbound(t *testing.T) {
	e := newEnv(t, envOptions{})
	pending := e.order(t, "M-1", "")
	pendingTok := e.request(t, pending)
	retrying := e.order(t, "M-2", "")
	retryingTok := e.request(t, retrying)
	done := e.order(t, "M-3", "")
	doneTok := e.request(t, done)
	e.stop()

	// The webhooks.db as walletd left it before 00005 (migrated down to
	// 00004), its postbacks table holding one postback in each state.
	path := e.storePath
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	gp, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS("../migrations/webhooks"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gp.DownTo(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	bodies := map[string][]byte{
		"received": financingtest.PostbackBody(pendingTok, fmt.Sprint(pending), "approved", ""),
		"retrying": financingtest.PostbackBody(retryingTok, fmt.Sprint(retrying), "rejected", ""),
		"applied":  financingtest.PostbackBody(doneTok, fmt.Sprint(done), "preapproved", ""),
		"review":   financingtest.PostbackBody("forged", "top_abc", "approved", ""),
	}
	for state, body := range bodies {
		p, err := financing.ParsePostback(body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO financing_postbacks (event_id, body, x_timestamp, request_token, merchant_transaction_id, status, amount,
			state, outcome, attempts, next_attempt_at, received_at, updated_at) VALUES (?, ?, '1', ?, ?, ?, '', ?, ?, ?, 0, ?, ?)`,
			p.EventID, body, p.RequestToken, p.MerchantTransactionID, p.Status, state, "was "+state, map[bool]int{true: 2}[state == "retrying"], now, now); err != nil {
			t.Fatal(err)
		}
	}
	res, err := migrations.Up(context.Background(), db, "webhooks")
	if err != nil || len(res.Applied) == 0 || res.Applied[0] != 5 {
		t.Fatalf("%+v %v", res, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'financing_postbacks'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("financing_postbacks left: %d %v", n, err)
	}
	states := map[string]string{}
	rows, err := db.Query(`SELECT event_type, state, attempts, dead_reason FROM inbound_events WHERE gateway = 'wegetfinancing'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, state, reason string
		var attempts int
		rows.Scan(&typ, &state, &attempts, &reason)
		states[typ] = fmt.Sprintf("%s/%d/%s", state, attempts, reason)
	}
	rows.Close()
	want := map[string]string{"approved": "pending/0/", "rejected": "pending/2/", "preapproved": "done/0/"}
	for k, v := range want {
		if states[k] != v {
			t.Fatalf("events %v", states)
		}
	}
	db.Close()

	// walletd on the upgraded file: the pending postbacks are applied at
	// start-up.
	e.start(t, &financing.LedgerApplier{Service: e.svc})
	if o := e.waitOrder(t, pending, walletd.OrderProcessing); len(o.Payments) != 1 {
		t.Fatalf("order %+v", o)
	}
	e.waitOrder(t, retrying, walletd.OrderFailed)
	if o := e.getOrder(t, done); o.Status != walletd.OrderPending {
		t.Fatalf("order %+v", o)
	}
	ps, err := e.svc.Postbacks(context.Background(), 10)
	if err != nil || len(ps) != 4 {
		t.Fatalf("%+v %v", ps, err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Status+"/"+p.Reference] = p.State
	}
	if got["preapproved/"+fmt.Sprint(done)] != financing.StateIgnored && got["preapproved/"+fmt.Sprint(done)] != "applied" {
		t.Fatalf("postbacks %v", got)
	}
	if got["approved/top_abc"] != financing.StateReview {
		t.Fatalf("postbacks %v", got)
	}
	// A resend of a postback recorded before the upgrade is a duplicate.
	e.postback(t, pendingTok, financing.StatusApproved, "")
	ps, _ = e.svc.Postbacks(context.Background(), 10)
	for _, p := range ps {
		if p.Reference == fmt.Sprint(pending) && p.Duplicates != 1 {
			t.Fatalf("postback %+v", p)
		}
	}
	dl := e.deadLetters(t)
	if len(dl) != 1 || dl[0]["dead_reason"] != "was review" {
		t.Fatalf("dead letters %v", dl)
	}
	var logs int
	idb, _ := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	defer idb.Close()
	idb.QueryRow(`SELECT count(*) FROM inbound_log WHERE gateway = 'wegetfinancing' AND event_row IS NOT NULL`).Scan(&logs)
	if logs != 5 {
		t.Fatalf("%d log rows", logs)
	}
}

// waitOrder waits until order id is in status.
func (e *env) waitOrder(t *testing.T, id int64, status string) *walletd.ShopOrder {
	t.Helper()
	var o *walletd.ShopOrder
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if o = e.getOrder(t, id); o.Status != status {
			return fmt.Errorf("order %d is %s, want %s", id, o.Status, status)
		}
		return nil
	})
	return o
}
