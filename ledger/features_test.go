package ledger_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// clock is a settable time for the writer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func str(s string) *string { return &s }

// wallet returns the committed state of a wallet.
func wallet(tb testing.TB, l *walletdtest.Ledger, id string) *walletd.Wallet {
	tb.Helper()
	w, err := l.DB.Wallet(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func wantMoney(tb testing.TB, l *walletdtest.Ledger, id, balance, held string) {
	tb.Helper()
	w := wallet(tb, l, id)
	if w.Balance.String() != balance || w.Held.String() != held {
		tb.Fatalf("wallet %s: balance %s held %s, want %s and %s", id, w.Balance, w.Held, balance, held)
	}
}

func verifies(tb testing.TB, l *walletdtest.Ledger) {
	tb.Helper()
	if rep := l.Verify(tb); !rep.OK {
		tb.Fatalf("ledger does not verify: %+v", rep)
	}
}

// race submits cmd from n goroutines at once and returns how many
// succeeded and the error codes of the rest.
func race(tb testing.TB, l *walletdtest.Ledger, n int, cmd func(i int) walletd.Command) (ok int, codes map[string]int) {
	tb.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var okN atomic.Int64
	codes = map[string]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			if _, err := submit(l, "", cmd(i)); err != nil {
				mu.Lock()
				codes[walletd.ErrorCode(err)]++
				mu.Unlock()
				return
			}
			okN.Add(1)
		}(i)
	}
	close(start)
	wg.Wait()
	return int(okN.Load()), codes
}

func TestTopup(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")

	res := mustSubmit(t, l, "", &ledger.CreateTopup{WalletID: w, Amount: "25.00", Method: "card", ExternalRef: "pi_1"})
	top := res.Object.(*walletd.Topup)
	if top.Status != walletd.StatusPending || top.Amount != "25.00" || top.ID == "" {
		t.Fatalf("topup %+v", top)
	}
	wantMoney(t, l, w, "0", "0")

	done := mustSubmit(t, l, "", &ledger.CompleteTopup{TopupID: top.ID}).Object.(*walletd.Topup)
	if done.Status != walletd.StatusCompleted || done.TransactionID == "" {
		t.Fatalf("completed topup %+v", done)
	}
	wantMoney(t, l, w, "25", "0")
	_, err := submit(l, "", &ledger.CompleteTopup{TopupID: top.ID})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.FailTopup{TopupID: top.ID, Reason: "late"})
	wantCode(t, err, walletd.EConflict)
	wantMoney(t, l, w, "25", "0")

	_, err = submit(l, "", &ledger.CompleteTopup{TopupID: "top_nope"})
	wantCode(t, err, walletd.ENotFound)
	for _, bad := range []*ledger.CreateTopup{
		{WalletID: w, Amount: "0.001", Method: "card"},
		{WalletID: w, Amount: "1e400", Method: "card"},
		{WalletID: w, Amount: "-0", Method: "card"},
		{WalletID: w, Amount: "NaN", Method: "card"},
		{WalletID: w, Amount: "5", Method: ""},
		{WalletID: w, Amount: "5", Method: "Card!"},
	} {
		if _, err := submit(l, "", bad); walletd.ErrorCode(err) != walletd.EInvalidAmount && walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	_, err = submit(l, "", &ledger.CreateTopup{WalletID: "wal_nope", Amount: "5", Method: "card"})
	wantCode(t, err, walletd.ENotFound)

	// Fail is final too.
	t2 := mustSubmit(t, l, "", &ledger.CreateTopup{WalletID: w, Amount: "5", Method: "card"}).Object.(*walletd.Topup)
	failed := mustSubmit(t, l, "", &ledger.FailTopup{TopupID: t2.ID, Reason: "card declined"}).Object.(*walletd.Topup)
	if failed.Status != walletd.StatusFailed || failed.FailureReason != "card declined" {
		t.Fatalf("failed topup %+v", failed)
	}
	_, err = submit(l, "", &ledger.CompleteTopup{TopupID: t2.ID})
	wantCode(t, err, walletd.EConflict)

	// Many completes and fails at once: exactly one wins.
	t3 := mustSubmit(t, l, "", &ledger.CreateTopup{WalletID: w, Amount: "10", Method: "card"}).Object.(*walletd.Topup)
	ok, codes := race(t, l, 40, func(i int) walletd.Command {
		if i%2 == 0 {
			return &ledger.CompleteTopup{TopupID: t3.ID}
		}
		return &ledger.FailTopup{TopupID: t3.ID}
	})
	if ok != 1 || codes[walletd.EConflict] != 39 {
		t.Fatalf("%d won, others %v", ok, codes)
	}
	after := wallet(t, l, w).Balance.String()
	if after != "25" && after != "35" {
		t.Fatalf("balance %s", after)
	}

	// An idempotent replay of the creation answers with the same top-up.
	r1 := mustSubmit(t, l, "k-top", &ledger.CreateTopup{WalletID: w, Amount: "7", Method: "card"})
	r2 := mustSubmit(t, l, "k-top", &ledger.CreateTopup{WalletID: w, Amount: "7", Method: "card"})
	if !r2.Replayed || r2.Object.(*walletd.Topup).ID != r1.Object.(*walletd.Topup).ID {
		t.Fatalf("replay %+v, original %+v", r2.Object, r1.Object)
	}
	verifies(t, l)
}

func TestWithdrawal(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "100.00")

	d := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "30.00", Method: "bank", Destination: "DE89…"}).Object.(*walletd.Withdrawal)
	wantMoney(t, l, w, "100", "30")
	if got := wallet(t, l, w).Available().String(); got != "70" {
		t.Fatalf("available %s", got)
	}
	// The hold counts against what else may leave.
	_, err := submit(l, "", debit(w, "70.01"))
	wantCode(t, err, walletd.EInsufficientFunds)
	_, err = submit(l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "70.01", Method: "bank"})
	wantCode(t, err, walletd.EInsufficientFunds)

	// A pending withdrawal and its hold survive a restart.
	l.Reopen(t)
	wantMoney(t, l, w, "100", "30")
	_, err = submit(l, "", debit(w, "70.01"))
	wantCode(t, err, walletd.EInsufficientFunds)
	mustSubmit(t, l, "", &ledger.ApproveWithdrawal{WithdrawalID: d.ID})
	wantMoney(t, l, w, "70", "0")
	_, err = submit(l, "", &ledger.ApproveWithdrawal{WithdrawalID: d.ID})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.RejectWithdrawal{WithdrawalID: d.ID})
	wantCode(t, err, walletd.EConflict)

	d2 := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "20", Method: "bank"}).Object.(*walletd.Withdrawal)
	rej := mustSubmit(t, l, "", &ledger.RejectWithdrawal{WithdrawalID: d2.ID, Reason: "name mismatch"}).Object.(*walletd.Withdrawal)
	if rej.Status != walletd.StatusRejected || rej.RejectReason != "name mismatch" {
		t.Fatalf("rejected %+v", rej)
	}
	wantMoney(t, l, w, "70", "0")

	// Approve against reject, many at once: exactly one wins and the
	// money adds up either way.
	for round := 0; round < 5; round++ {
		d3 := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "1", Method: "bank"}).Object.(*walletd.Withdrawal)
		before := wallet(t, l, w).Balance
		ok, codes := race(t, l, 20, func(i int) walletd.Command {
			if i%2 == 0 {
				return &ledger.ApproveWithdrawal{WithdrawalID: d3.ID}
			}
			return &ledger.RejectWithdrawal{WithdrawalID: d3.ID}
		})
		if ok != 1 || codes[walletd.EConflict] != 19 {
			t.Fatalf("%d won, others %v", ok, codes)
		}
		after := wallet(t, l, w)
		approved := after.Balance.Equal(before.Sub(decimal.NewFromInt(1)))
		if !after.Held.IsZero() || !(approved || after.Balance.Equal(before)) {
			t.Fatalf("after the race: balance %s held %s (before %s)", after.Balance, after.Held, before)
		}
	}
	verifies(t, l)
}

// entriesOfType returns the committed entries of one kind and type.
func entriesOfType(tb testing.TB, l *walletdtest.Ledger, kind, typ string) []*walletd.Entry {
	tb.Helper()
	var out []*walletd.Entry
	for _, e := range allEntries(tb, l) {
		if e.Kind == kind && e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestSpendingLimits(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)}
	// The limits count in UTC+3: 22:00 UTC on 31 March is already 1 April there.
	zone := time.FixedZone("UTC+3", 3*3600)
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.Now = clk.Now; c.LimitLocation = zone })
	w := l.MustWallet(t, "u1", "USD")
	other := l.MustWallet(t, "u2", "USD")
	l.MustCredit(t, w, "1000.00")

	_, err := submit(l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100.001")})
	wantCode(t, err, walletd.EInvalidAmount)
	mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100"), Daily: str("150"), Monthly: str("300")})
	if got := wallet(t, l, w).Features.Limits; got != (walletd.Limits{PerTransaction: "100.00", Daily: "150.00", Monthly: "300.00"}) {
		t.Fatalf("limits %+v", got)
	}

	// Per transaction, over each outgoing operation.
	for _, cmd := range []walletd.Command{
		debit(w, "100.01"),
		transfer(w, other, "100.01"),
		&ledger.RequestWithdrawal{WalletID: w, Amount: "100.01", Method: "bank"},
	} {
		_, err := submit(l, "", cmd)
		wantCode(t, err, walletd.ESpendingLimit)
	}
	wantMoney(t, l, w, "1000", "0")
	if n := len(entriesOfType(t, l, walletd.KindNote, walletd.TypeLimitBlocked)); n != 3 {
		t.Fatalf("%d blocked entries, want 3", n)
	}

	// Daily: 100 + 50 pass, the next cent does not.
	mustSubmit(t, l, "", debit(w, "100"))
	mustSubmit(t, l, "", transfer(w, other, "50"))
	_, err = submit(l, "", debit(w, "0.01"))
	wantCode(t, err, walletd.ESpendingLimit)

	// A refused request replayed with its key is refused again, from the
	// ledger, without a second record.
	before := len(allEntries(t, l))
	for i := 0; i < 2; i++ {
		_, err = submit(l, "k-blocked", debit(w, "1"))
		wantCode(t, err, walletd.ESpendingLimit)
	}
	if after := len(allEntries(t, l)); after != before+1 {
		t.Fatalf("%d entries after two tries, want %d", after, before+1)
	}

	// The next day in the limits' zone: the daily counter starts again,
	// the monthly one does not.
	clk.Set(clk.Now().Add(24 * time.Hour))
	mustSubmit(t, l, "", debit(w, "100"))
	mustSubmit(t, l, "", debit(w, "50"))
	clk.Set(clk.Now().Add(24 * time.Hour))
	_, err = submit(l, "", debit(w, "0.01")) // 300 this month
	wantCode(t, err, walletd.ESpendingLimit)
	blocked := entriesOfType(t, l, walletd.KindNote, walletd.TypeLimitBlocked)
	if m := metaMap(t, blocked[len(blocked)-1]); m["limit_kind"] != "monthly" || m["limit"] != "300.00" || m["spent"] != "300.00" {
		t.Fatalf("last refusal %v", m)
	}

	// A rejected withdrawal gives its amount back to the periods.
	clk.Set(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	d := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "100", Method: "bank"}).Object.(*walletd.Withdrawal)
	mustSubmit(t, l, "", debit(w, "50"))
	_, err = submit(l, "", debit(w, "1"))
	wantCode(t, err, walletd.ESpendingLimit)
	mustSubmit(t, l, "", &ledger.RejectWithdrawal{WithdrawalID: d.ID})
	mustSubmit(t, l, "", debit(w, "100"))

	// Removing the limits lifts them; they survive a restart.
	mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, Daily: str("10")})
	l.Reopen(t)
	_, err = submit(l, "", debit(w, "10.01"))
	wantCode(t, err, walletd.ESpendingLimit)
	mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w})
	mustSubmit(t, l, "", debit(w, "200"))
	verifies(t, l)
}

func metaMap(tb testing.TB, e *walletd.Entry) map[string]string {
	tb.Helper()
	var m map[string]string
	if err := jsonUnmarshal(e.Metadata, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestKYC(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	other := l.MustWallet(t, "u2", "USD")
	l.MustCredit(t, w, "1000")

	// No settings: no gate.
	mustSubmit(t, l, "", debit(w, "500"))
	mustSubmit(t, l, "", &ledger.SetKYCSettings{Threshold: "100", CumulativeThreshold: "700"})

	for _, cmd := range []walletd.Command{
		debit(w, "100.01"),
		transfer(w, other, "150"),
		&ledger.RequestWithdrawal{WalletID: w, Amount: "101", Method: "bank"},
	} {
		_, err := submit(l, "", cmd)
		wantCode(t, err, walletd.EKYCRequired)
	}
	mustSubmit(t, l, "", debit(w, "100")) // at the threshold is allowed: 600 out so far
	// Cumulative: 600 + 100.01 > 700.
	mustSubmit(t, l, "", debit(w, "100"))
	_, err := submit(l, "", debit(w, "0.01"))
	wantCode(t, err, walletd.EKYCRequired)
	reqs := entriesOfType(t, l, walletd.KindNote, walletd.TypeKYCRequired)
	if len(reqs) != 4 {
		t.Fatalf("%d kyc_required entries, want 4", len(reqs))
	}
	wantMoney(t, l, w, "300", "0")

	// Pending is not verified; verified passes.
	mustSubmit(t, l, "", &ledger.SetKYC{WalletID: w, Status: walletd.KYCPending})
	_, err = submit(l, "", debit(w, "150"))
	wantCode(t, err, walletd.EKYCRequired)
	_, err = submit(l, "", &ledger.SetKYC{WalletID: w, Status: "approved"})
	wantCode(t, err, walletd.EInvalid)
	mustSubmit(t, l, "", &ledger.SetKYC{WalletID: w, Status: walletd.KYCVerified})
	mustSubmit(t, l, "", debit(w, "150"))
	if got := wallet(t, l, w).Features.KYC(); got != walletd.KYCVerified {
		t.Fatalf("kyc %s", got)
	}
	// Settings of another currency do not apply.
	j := l.MustWallet(t, "u1", "JPY")
	l.MustCredit(t, j, "100000")
	mustSubmit(t, l, "", debit(j, "50000"))
	verifies(t, l)
}

func TestAutoReload(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "100")
	_, err := submit(l, "", &ledger.SetAutoReload{WalletID: w, Threshold: "20"})
	wantCode(t, err, walletd.EInvalidAmount)
	mustSubmit(t, l, "", &ledger.SetAutoReload{WalletID: w, Threshold: "20", Amount: "50", Method: "card"})

	mustSubmit(t, l, "", debit(w, "80")) // 20: not below
	if wallet(t, l, w).Features.ReloadTopupID != "" {
		t.Fatal("reload at the threshold")
	}
	res := mustSubmit(t, l, "", debit(w, "5")) // 15: below
	if len(res.Entries) != 2 || res.Entries[1].Type != walletd.TypeReloadTriggered {
		t.Fatalf("debit below the threshold wrote %d entries", len(res.Entries))
	}
	pending := wallet(t, l, w).Features.ReloadTopupID
	top, err := l.DB.Object(context.Background(), walletd.ObjTopup, pending)
	if err != nil {
		t.Fatal(err)
	}
	if tp := top.(*walletd.Topup); tp.Status != walletd.StatusPending || tp.Amount != "50.00" || tp.Origin != "auto_reload" || tp.Method != "card" {
		t.Fatalf("reload topup %+v", tp)
	}
	// No second trigger while it is pending.
	res = mustSubmit(t, l, "", debit(w, "5"))
	if len(res.Entries) != 1 {
		t.Fatal("second trigger while a reload is pending")
	}
	mustSubmit(t, l, "", &ledger.CompleteTopup{TopupID: pending})
	wantMoney(t, l, w, "60", "0")
	if wallet(t, l, w).Features.ReloadTopupID != "" {
		t.Fatal("reload still pending after completion")
	}
	// Transfers out trigger too.
	other := l.MustWallet(t, "u2", "USD")
	res = mustSubmit(t, l, "", transfer(w, other, "45"))
	if len(res.Entries) != 3 || res.Entries[2].Type != walletd.TypeReloadTriggered {
		t.Fatalf("transfer below the threshold wrote %d entries", len(res.Entries))
	}
	// Removed: nothing fires.
	mustSubmit(t, l, "", &ledger.FailTopup{TopupID: wallet(t, l, w).Features.ReloadTopupID, Reason: "declined"})
	mustSubmit(t, l, "", &ledger.SetAutoReload{WalletID: w, Remove: true})
	_, err = submit(l, "", &ledger.SetAutoReload{WalletID: w, Remove: true})
	wantCode(t, err, walletd.ENotFound)
	if res = mustSubmit(t, l, "", debit(w, "1")); len(res.Entries) != 1 {
		t.Fatal("reload fired after removal")
	}
	verifies(t, l)
}

func TestRedemptionCodes(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.Now = clk.Now })
	_, err := submit(l, "", &ledger.CreateRedemptionCode{Amount: "5.001", Currency: "USD", MaxRedemptions: 1})
	wantCode(t, err, walletd.EInvalidAmount)
	_, err = submit(l, "", &ledger.CreateRedemptionCode{Amount: "5", Currency: "USD"})
	wantCode(t, err, walletd.EInvalid)
	_, err = submit(l, "", &ledger.CreateRedemptionCode{Amount: "5", Currency: "USD", MaxRedemptions: 1, ExpiresAt: "2025-01-01T00:00:00Z"})
	wantCode(t, err, walletd.EInvalid)

	gen := mustSubmit(t, l, "", &ledger.CreateRedemptionCode{Amount: "5", Currency: "USD", MaxRedemptions: 3}).Object.(*walletd.RedemptionCode)
	if len(gen.Code) != 14 {
		t.Fatalf("generated code %q", gen.Code)
	}
	mustSubmit(t, l, "", &ledger.CreateRedemptionCode{Code: "welcome-10", Amount: "10", Currency: "USD", MaxRedemptions: 100,
		PerUserOnce: true, ExpiresAt: "2026-02-01T00:00:00Z"})
	_, err = submit(l, "", &ledger.CreateRedemptionCode{Code: "WELCOME-10", Amount: "1", Currency: "USD", MaxRedemptions: 1})
	wantCode(t, err, walletd.EConflict)
	// The chain records the code's terms, not the code.
	for _, e := range entriesOfType(t, l, walletd.KindConfig, walletd.ObjCode) {
		if m := metaMap(t, e); m["code_hint"] == "" || containsAny(e.Metadata, gen.Code, "WELCOME-10") {
			t.Fatalf("config entry shows the code: %s", e.Metadata)
		}
	}

	// Thirty wallets race for three redemptions.
	var wallets []string
	for i := 0; i < 30; i++ {
		wallets = append(wallets, l.MustWallet(t, "user"+string(rune('a'+i)), "USD"))
	}
	ok, codes := race(t, l, 30, func(i int) walletd.Command { return &ledger.Redeem{WalletID: wallets[i], Code: gen.Code} })
	if ok != 3 || codes[walletd.ECodeExhausted] != 27 {
		t.Fatalf("%d redeemed, others %v", ok, codes)
	}

	w := wallets[0]
	mustSubmit(t, l, "", &ledger.Redeem{WalletID: w, Code: " welcome-10 "})
	_, err = submit(l, "", &ledger.Redeem{WalletID: w, Code: "WELCOME-10"})
	wantCode(t, err, walletd.ECodeUsed)
	_, err = submit(l, "", &ledger.Redeem{WalletID: w, Code: "NO-SUCH-CODE"})
	wantCode(t, err, walletd.ENotFound)
	j := l.MustWallet(t, "userb", "JPY")
	_, err = submit(l, "", &ledger.Redeem{WalletID: j, Code: "WELCOME-10"})
	wantCode(t, err, walletd.ECurrencyMismatch)

	// Neither creation nor redemption writes a code into the chain.
	for _, e := range allEntries(t, l) {
		if containsAny(e.Metadata+e.Reason, gen.Code, "WELCOME-10") {
			t.Fatalf("entry %d shows a code: %s %s", e.Seq, e.Reason, e.Metadata)
		}
	}

	l.Reopen(t) // redemptions and per-user records survive a restart
	_, err = submit(l, "", &ledger.Redeem{WalletID: w, Code: "WELCOME-10"})
	wantCode(t, err, walletd.ECodeUsed)
	_, err = submit(l, "", &ledger.Redeem{WalletID: wallets[5], Code: gen.Code})
	wantCode(t, err, walletd.ECodeExhausted)
	clk.Set(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	_, err = submit(l, "", &ledger.Redeem{WalletID: wallets[1], Code: "WELCOME-10"})
	wantCode(t, err, walletd.ECodeExpired)
	verifies(t, l)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestOrders(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	alice := l.MustWallet(t, "alice", "USD")
	bob := l.MustWallet(t, "bob", "USD")
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "5", MaxAmount: "10"})
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "2", MinOrderTotal: "1000"})
	mustSubmit(t, l, "", &ledger.CreateMilestone{Name: "Second order", Metric: walletd.MetricOrderCount, Threshold: "2", Reward: "3"})
	mustSubmit(t, l, "", &ledger.CreateMilestone{Name: "Big spender", Metric: walletd.MetricLifetimeSpend, Threshold: "150", Reward: "7.50"})
	mustSubmit(t, l, "", &ledger.SetReferralSettings{ReferrerReward: "4", RefereeReward: "2", MinOrderTotal: "50"})
	mustSubmit(t, l, "", &ledger.CreateReferral{ReferrerUserID: "alice", RefereeUserID: "bob"})
	_, err := submit(l, "", &ledger.CreateReferral{ReferrerUserID: "carol", RefereeUserID: "bob"})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.CreateReferral{ReferrerUserID: "bob", RefereeUserID: "bob"})
	wantCode(t, err, walletd.EInvalid)
	for _, bad := range []walletd.Command{
		&ledger.CreateCashbackRule{Percent: "0"},
		&ledger.CreateCashbackRule{Percent: "100.5"},
		&ledger.CreateCashbackRule{Percent: "1e2"},
		&ledger.CreateMilestone{Name: "x", Metric: walletd.MetricOrderCount, Threshold: "1.5", Reward: "1"},
		&ledger.CreateMilestone{Name: "x", Metric: "visits", Threshold: "1", Reward: "1"},
		&ledger.CreateMilestone{Name: "x", Metric: walletd.MetricLifetimeSpend, Threshold: "10", Reward: "0.001"},
		&ledger.SetReferralSettings{ReferrerReward: "0", RefereeReward: "0"},
		&ledger.CompleteOrder{OrderID: "o", UserID: "alice", Total: "NaN", Currency: "USD"},
		&ledger.CompleteOrder{OrderID: "o", UserID: "alice", Total: "10", Currency: "XXX"},
		&ledger.CompleteOrder{OrderID: "o", UserID: "alice", Total: "10", Currency: "USD", Items: []byte(`[{"sku":`)},
	} {
		if _, err := submit(l, "", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	_, err = submit(l, "", &ledger.CompleteOrder{OrderID: "o-0", UserID: "nobody", Total: "10", Currency: "USD"})
	wantCode(t, err, walletd.ENotFound)

	// Bob's first order: 5% cashback capped at 10 → 4.00 of 80; referral
	// pays bob 2 and alice 4.
	o1 := mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "80.00", Currency: "USD"})
	order := o1.Object.(*walletd.Order)
	if len(order.Awards) != 3 || order.Awards[0].Amount != "4.00" || order.Awards[1].Kind != walletd.AwardReferee || order.Awards[2].Kind != walletd.AwardReferrer {
		t.Fatalf("awards %+v", order.Awards)
	}
	wantMoney(t, l, bob, "6", "0")
	wantMoney(t, l, alice, "4", "0")

	// The same order again: the original result, nothing new. Other terms: 409.
	again := mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "80", Currency: "USD"})
	if !again.Replayed || len(again.Entries) != 0 || again.Object.(*walletd.Order).Awards[0].TransactionID != order.Awards[0].TransactionID {
		t.Fatalf("repeat %+v", again)
	}
	_, err = submit(l, "", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "81", Currency: "USD"})
	wantCode(t, err, walletd.EConflict)

	// Second order: cashback 10 (capped), milestone "Second order" 3 and,
	// at 80+400 ≥ 150, "Big spender" 7.50; no more referral.
	mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1002", UserID: "bob", Total: "400", Currency: "USD"})
	wantMoney(t, l, bob, "26.5", "0")
	wantMoney(t, l, alice, "4", "0")
	// Third: 2% of 1000 = 20 beats 5% capped at 10; milestones are once.
	mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1003", UserID: "bob", Total: "1000", Currency: "USD"})
	wantMoney(t, l, bob, "46.5", "0")

	// Twenty completions of one new order at once: one award.
	ok, codes := race(t, l, 20, func(int) walletd.Command {
		return &ledger.CompleteOrder{OrderID: "1004", UserID: "alice", Total: "20", Currency: "USD"}
	})
	if ok != 20 || len(codes) != 0 {
		t.Fatalf("%d answered, errors %v", ok, codes)
	}
	wantMoney(t, l, alice, "5", "0") // 4 + 5% of 20
	if n := len(entriesOfType(t, l, walletd.KindNote, walletd.TypeOrderCompleted)); n != 4 {
		t.Fatalf("%d order_completed entries, want 4", n)
	}

	// Refund reverses the cashback, once.
	mustSubmit(t, l, "", debit(alice, "4.50")) // alice spends most of it
	ref := mustSubmit(t, l, "", &ledger.RefundOrder{OrderID: "1004", Reason: "returned"}).Object.(*walletd.Order)
	if ref.Status != walletd.StatusRefunded || ref.Awards[len(ref.Awards)-1].Kind != walletd.AwardCashbackReversal || ref.Awards[len(ref.Awards)-1].Amount != "0.50" {
		t.Fatalf("refund %+v", ref)
	}
	wantMoney(t, l, alice, "0", "0")
	_, err = submit(l, "", &ledger.RefundOrder{OrderID: "1004"})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.RefundOrder{OrderID: "9999"})
	wantCode(t, err, walletd.ENotFound)
	mustSubmit(t, l, "", &ledger.RefundOrder{OrderID: "1001"})
	wantMoney(t, l, bob, "42.5", "0")

	// After a restart an order is still done once.
	l.Reopen(t)
	again = mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1002", UserID: "bob", Total: "400.00", Currency: "USD"})
	if !again.Replayed {
		t.Fatal("order completed twice across a restart")
	}
	wantMoney(t, l, bob, "42.5", "0")
	verifies(t, l)
}

// A command that fails part-way leaves nothing of itself in the batch.
func TestFailedCommandLeavesNoTrace(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "999999999999995.00") // near the largest balance
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "100"})
	before := len(allEntries(t, l))
	// The cashback would overflow the balance after the order entry and
	// user totals were written in the batch: all of it is taken back.
	_, err := submit(l, "", &ledger.CompleteOrder{OrderID: "x", UserID: "u1", Total: "10", Currency: "USD"})
	wantCode(t, err, walletd.EInvalidAmount)
	if after := len(allEntries(t, l)); after != before {
		t.Fatalf("%d entries after a failed order, want %d", after, before)
	}
	if _, err := l.DB.Object(context.Background(), walletd.ObjOrder, "x"); walletd.ErrorCode(err) != walletd.ENotFound {
		t.Fatalf("order object after failure: %v", err)
	}
	if _, err := l.DB.Object(context.Background(), walletd.ObjUserStats, "u1/USD"); walletd.ErrorCode(err) != walletd.ENotFound {
		t.Fatalf("user totals after failure: %v", err)
	}
	if got := wallet(t, l, w).LastSeq; got != uint64(before-1) {
		t.Fatalf("wallet last_seq %d", got)
	}
	verifies(t, l)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
