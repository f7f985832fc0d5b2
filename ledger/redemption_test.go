package ledger_test

import (
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

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
