package walletd_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/walletd/walletd"
)

// storedObjects are objects as the writer stored them before its amounts
// were typed (from ledger/testdata/golden/state.txt): they must read back
// and write out byte for byte.
var storedObjects = []struct{ kind, data string }{
	{walletd.ObjCashbackRule, `{"id":"cbr_0001","currency":"USD","percent":"5.5","max_amount":"10.00","min_order_total":"","created_at":"2026-03-02T09:01:05.01625Z"}`},
	{walletd.ObjCashbackRule, `{"id":"cbr_0002","currency":"USD","percent":"2.5","max_amount":"","min_order_total":"1000.00","created_at":"2026-03-02T09:01:06.0165Z"}`},
	{walletd.ObjKYCSettings, `{"currency":"JPY","threshold":"100000","cumulative_threshold":"","updated_at":"2026-03-02T09:00:26.0065Z"}`},
	{walletd.ObjKYCSettings, `{"currency":"USD","threshold":"500.00","cumulative_threshold":"2000.00","updated_at":"2026-03-02T09:00:25.00625Z"}`},
	{walletd.ObjMilestone, `{"id":"mil_0001","name":"Second order","metric":"order_count","threshold":"2","reward":"3.00","currency":"USD","created_at":"2026-03-02T09:01:08.017Z"}`},
	{walletd.ObjMilestone, `{"id":"mil_0002","name":"Big spender","metric":"lifetime_spend","threshold":"150.00","reward":"7.50","currency":"USD","created_at":"2026-03-02T09:01:09.01725Z"}`},
	{walletd.ObjMilestoneAward, `{"milestone_id":"mil_0001","user_id":"bob","order_id":"1002","transaction_id":"txn_0070","created_at":"2026-03-02T09:01:17.01925Z"}`},
	{walletd.ObjMilestoneAward, `{"milestone_id":"mil_0002","user_id":"bob","order_id":"1002","transaction_id":"txn_0071","created_at":"2026-03-02T09:01:17.01925Z"}`},
	{walletd.ObjOrder, `{"order_id":"1001","user_id":"bob","wallet_id":"wal_0002","total":"80.00","currency":"USD","status":"refunded","awards":[{"kind":"cashback","transaction_id":"txn_0066","wallet_id":"wal_0002","user_id":"bob","amount":"4.40","ref":"cbr_0001"},{"kind":"referral_referrer","transaction_id":"txn_0067","wallet_id":"wal_0001","user_id":"alice","amount":"4.00","ref":"ref_0001"},{"kind":"cashback_reversal","transaction_id":"txn_0082","wallet_id":"wal_0002","user_id":"bob","amount":"4.40","ref":"txn_0066"}],"completed_at":"2026-03-02T09:01:14.0185Z","refunded_at":"2026-03-02T09:01:24.021Z","fingerprint":"e271326a3f8f7bbe18cb0a871a1d6ece18b411fd32d7bad91f3ed77c46fab562"}`},
	{walletd.ObjOrder, `{"order_id":"1002","user_id":"bob","wallet_id":"wal_0002","total":"400.00","currency":"USD","items":[{"sku":"a","qty":2}],"status":"completed","awards":[{"kind":"cashback","transaction_id":"txn_0069","wallet_id":"wal_0002","user_id":"bob","amount":"10.00","ref":"cbr_0001"},{"kind":"milestone","transaction_id":"txn_0070","wallet_id":"wal_0002","user_id":"bob","amount":"3.00","ref":"mil_0001"},{"kind":"milestone","transaction_id":"txn_0071","wallet_id":"wal_0002","user_id":"bob","amount":"7.50","ref":"mil_0002"}],"completed_at":"2026-03-02T09:01:17.01925Z","fingerprint":"ecab54221e8e882294cc11360371df259994c0e8bee0407874435ef80e502da9"}`},
	{walletd.ObjRedemption, `{"code":"WELCOME-10","user_id":"alice","wallet_id":"wal_0001","transaction_id":"txn_0054","created_at":"2026-03-02T09:01:00.015Z"}`},
	{walletd.ObjRedemption, `{"code":"WELCOME-10","user_id":"erin","wallet_id":"wal_0006","transaction_id":"txn_0088","created_at":"2026-03-02T09:01:31.02275Z"}`},
	{walletd.ObjCode, `{"id":"rdc_0001","code":"WELCOME-10","amount":"10.00","currency":"USD","max_redemptions":5,"redemptions":1,"per_user_once":true,"expires_at":"2029-12-31T22:00:00Z","created_at":"2026-03-02T09:00:57.01425Z"}`},
	{walletd.ObjCode, `{"id":"rdc_0002","code":"GIFT-0001","amount":"2.50","currency":"USD","max_redemptions":1,"redemptions":1,"per_user_once":false,"expires_at":null,"created_at":"2026-03-02T09:00:58.0145Z"}`},
	{walletd.ObjCodeIndex, `{"id":"rdc_0002"}`},
	{walletd.ObjCodeIndex, `{"id":"rdc_0001"}`},
	{walletd.ObjReferral, `{"id":"ref_0001","referrer_user_id":"alice","referee_user_id":"bob","status":"rewarded","order_id":"1001","created_at":"2026-03-02T09:01:12.018Z","rewarded_at":"2026-03-02T09:01:14.0185Z"}`},
	{walletd.ObjReferral, `{"id":"ref_0002","referrer_user_id":"dave","referee_user_id":"erin","status":"rewarded","order_id":"3001","created_at":"2026-03-02T09:01:13.01825Z","rewarded_at":"2026-03-02T09:01:20.02Z"}`},
	{walletd.ObjReferralSettings, `{"currency":"JPY","referrer_reward":"0","referee_reward":"100","min_order_total":"","updated_at":"2026-03-02T09:01:11.01775Z"}`},
	{walletd.ObjReferralSettings, `{"currency":"USD","referrer_reward":"4.00","referee_reward":"0.00","min_order_total":"50.00","updated_at":"2026-03-02T09:01:10.0175Z"}`},
	{walletd.ObjTopup, `{"id":"top_0001","wallet_id":"wal_0001","user_id":"alice","amount":"100.00","currency":"USD","method":"card","external_ref":"","origin":"auto_reload","status":"completed","failure_reason":"","transaction_id":"txn_0035","created_at":"2026-03-02T09:00:36.009Z","updated_at":"2026-03-02T09:00:38.0095Z"}`},
	{walletd.ObjTopup, `{"id":"top_0002","wallet_id":"wal_0001","user_id":"alice","amount":"25.50","currency":"USD","method":"card","external_ref":"pi_1","origin":"api","status":"completed","failure_reason":"","transaction_id":"txn_0037","created_at":"2026-03-02T09:00:39.00975Z","updated_at":"2026-03-02T09:00:40.01Z"}`},
	{walletd.ObjUserStats, `{"user_id":"alice","currency":"JPY","lifetime_spend":"999","order_count":1}`},
	{walletd.ObjUserStats, `{"user_id":"bob","currency":"USD","lifetime_spend":"1480.00","order_count":3}`},
	{walletd.ObjWithdrawal, `{"id":"wdr_0001","wallet_id":"wal_0002","user_id":"bob","amount":"30.00","currency":"USD","method":"bank","destination":"DE89","status":"approved","reject_reason":"","transaction_id":"txn_0041","created_at":"2026-03-02T09:00:44.011Z","updated_at":"2026-03-02T09:00:45.01125Z","day_key":"2026-03-02","month_key":"2026-03"}`},
	{walletd.ObjWithdrawal, `{"id":"wdr_0002","wallet_id":"wal_0002","user_id":"bob","amount":"20.10","currency":"USD","method":"bank","destination":"","status":"rejected","reject_reason":"name mismatch","transaction_id":"","created_at":"2026-03-02T09:00:46.0115Z","updated_at":"2026-03-02T09:00:47.01175Z","day_key":"2026-03-02","month_key":"2026-03"}`},
}

func TestDecodeObject(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		for _, o := range storedObjects {
			v, err := walletd.DecodeObject(o.kind, []byte(o.data))
			if err != nil {
				t.Fatalf("DecodeObject(%s, %s): %v", o.kind, o.data, err)
			}
			if out, err := json.Marshal(v); err != nil || string(out) != o.data {
				t.Errorf("%s written back as\n%s\nwant\n%s (%v)", o.kind, out, o.data, err)
			}
		}
	})
	t.Run("Types", func(t *testing.T) {
		for kind, want := range map[string]any{
			walletd.ObjTopup: (*walletd.Topup)(nil), walletd.ObjOrder: (*walletd.Order)(nil), walletd.ObjCodeIndex: (*walletd.CodeIndex)(nil),
		} {
			v, err := walletd.DecodeObject(kind, []byte("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := typeName(v), typeName(want); got != want {
				t.Errorf("DecodeObject(%s) = %s, want %s", kind, got, want)
			}
		}
	})
	t.Run("ErrUnknownKind", func(t *testing.T) {
		if _, err := walletd.DecodeObject("nope", []byte("{}")); err == nil {
			t.Fatal("DecodeObject of an unknown kind succeeded")
		}
	})
	t.Run("ErrBadAmount", func(t *testing.T) {
		// A malformed stored amount is an error, never a zero.
		for _, data := range []string{`{"id":"top_1","amount":"25,00"}`, `{"id":"top_1","amount":"-5.00"}`, `{"id":"top_1","amount":25}`} {
			if v, err := walletd.DecodeObject(walletd.ObjTopup, []byte(data)); err == nil {
				t.Errorf("DecodeObject(%s) = %+v", data, v)
			}
		}
	})
}

// storedFeatures are wallet features as the writer stored them before
// their amounts were typed.
var storedFeatures = []string{
	`{"kyc_status":"pending","limits":{},"auto_reload":{},"day_key":"2026-03-02","day_spent":"1480","month_key":"2026-03","month_spent":"1480","outgoing":"1480"}`,
	`{"limits":{"per_transaction":"300.00","daily":"400.00","monthly":"1000.50"},"auto_reload":{"threshold":"500.00","amount":"100.00","method":"card"},"day_key":"2026-03-02","day_spent":"121","month_key":"2026-03","month_spent":"507.25","outgoing":"507.25"}`,
	`{"limits":{},"auto_reload":{},"day_key":"2026-03-02","day_spent":"0","month_key":"2026-03","month_spent":"0","outgoing":"0"}`,
	`{"limits":{},"auto_reload":{},"day_key":"2026-03-02","day_spent":"122","month_key":"2026-03","month_spent":"508.25","outgoing":"508.25"}`,
	`{"limits":{},"auto_reload":{},"day_key":"2026-03-02","day_spent":"3","month_key":"2026-03","month_spent":"3","outgoing":"3"}`,
	`{"limits":{},"auto_reload":{},"day_key":"2026-03-02","day_spent":"4.5","month_key":"2026-03","month_spent":"4.5","outgoing":"4.5"}`,
	`{}`,
}

func TestWalletFeatures_JSON(t *testing.T) {
	for _, data := range storedFeatures {
		var f walletd.WalletFeatures
		if err := json.Unmarshal([]byte(data), &f); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if data == "{}" {
			if f != (walletd.WalletFeatures{}) {
				t.Fatalf("{} read as %+v", f)
			}
			continue
		}
		if out, err := json.Marshal(&f); err != nil || string(out) != data {
			t.Errorf("features written back as\n%s\nwant\n%s (%v)", out, data, err)
		}
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }
