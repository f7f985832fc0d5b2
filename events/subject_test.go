package events_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/walletd/walletd/events"
)

func TestSubject(t *testing.T) {
	tests := []struct {
		name, wallet, key, want string
	}{
		{"Wallet", "wal_36FtpZ3Lr2Yf8o1m3f0U1M8aQXs", "wallet.credited", "walletd.w._.wal_36FtpZ3Lr2Yf8o1m3f0U1M8aQXs.wallet.credited"},
		{"WalletFlow", "wal_1", "wallet.withdrawal.approved", "walletd.w._.wal_1.wallet.withdrawal.approved"},
		{"NoWallet", "", "ledger.checkpoint", "walletd.sys.ledger.checkpoint"},
		{"Config", "", "config.updated", "walletd.sys.config.updated"},
		{"EscapedWallet", "a.b*c>d e%", "wallet.credited", "walletd.w._.a%2Eb%2Ac%3Ed%20e%25.wallet.credited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := events.Subject("walletd", tt.wallet, tt.key)
			if got != tt.want {
				t.Fatalf("Subject = %q, want %q", got, tt.want)
			}
			p, ok := events.ParseSubject("walletd", got)
			if !ok || p.Wallet != tt.wallet || p.Key != tt.key || p.Legacy {
				t.Fatalf("ParseSubject(%q) = %+v, %v", got, p, ok)
			}
		})
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name, subject string
		want          events.SubjectParts
		ok            bool
	}{
		{"Stored", "walletd.w.3.wal_1.wallet.credited", events.SubjectParts{Key: "wallet.credited", Wallet: "wal_1", Partition: "3"}, true},
		{"Published", "walletd.w._.wal_1.wallet.topup.completed", events.SubjectParts{Key: "wallet.topup.completed", Wallet: "wal_1", Partition: "_"}, true},
		{"System", "walletd.sys.ledger.checkpoint", events.SubjectParts{Key: "ledger.checkpoint"}, true},
		{"Legacy", "walletd.wallet.credited", events.SubjectParts{Key: "wallet.credited", Legacy: true}, true},
		{"LegacyCheckpoint", "walletd.ledger.checkpoint", events.SubjectParts{Key: "ledger.checkpoint", Legacy: true}, true},
		{"OtherPrefix", "other.w.3.wal_1.wallet.credited", events.SubjectParts{}, false},
		{"PrefixOnly", "walletd.", events.SubjectParts{}, false},
		{"WalletNoKey", "walletd.w.3.wal_1", events.SubjectParts{}, false},
		{"WalletEmptyToken", "walletd.w..wal_1.wallet.credited", events.SubjectParts{}, false},
		{"SystemNoKey", "walletd.sys", events.SubjectParts{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := events.ParseSubject("walletd", tt.subject)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("ParseSubject(%q) = %+v, %v; want %+v, %v", tt.subject, got, ok, tt.want, tt.ok)
			}
			if key, ok := events.KeyFromSubject("walletd", tt.subject); ok != tt.ok || key != tt.want.Key {
				t.Fatalf("KeyFromSubject(%q) = %q, %v", tt.subject, key, ok)
			}
		})
	}
	t.Run("PrefixOfTokens", func(t *testing.T) {
		p, ok := events.ParseSubject("acme.walletd", "acme.walletd.w.0.wal_1.wallet.debited")
		if !ok || p.Wallet != "wal_1" || p.Key != "wallet.debited" {
			t.Fatalf("%+v %v", p, ok)
		}
	})
}

// TestPartition checks the partition walletd documents against the one
// the NATS server computes with the stream's own transform.
func TestPartition(t *testing.T) {
	for _, n := range []int{1, 2, 8, 13, 1024} {
		src, dst := events.PartitionTransform("walletd", n)
		tr, err := server.NewSubjectTransform(src, dst)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for i := 0; i < 200; i++ {
			wallet := fmt.Sprintf("wal_%d_%x", i, i*7919)
			if i%50 == 0 {
				wallet += ".odd*id" // escaped: still one token
			}
			published := events.Subject("walletd", wallet, "wallet.withdrawal.requested")
			stored, err := tr.Match(published)
			if err != nil {
				t.Fatalf("transform of %s: %v", published, err)
			}
			p, ok := events.ParseSubject("walletd", stored)
			if !ok || p.Wallet != wallet || p.Key != "wallet.withdrawal.requested" {
				t.Fatalf("stored %s parses as %+v, %v", stored, p, ok)
			}
			if want := fmt.Sprint(events.Partition(wallet, n)); p.Partition != want {
				t.Fatalf("n=%d wallet %s: NATS put it in partition %s, Partition says %s", n, wallet, p.Partition, want)
			}
		}
		// The sys branch and legacy subjects are stored as they are.
		for _, s := range []string{"walletd.sys.ledger.checkpoint", "walletd.wallet.credited", "walletd.wallet.transfer.sent"} {
			if _, err := tr.Match(s); err == nil {
				t.Fatalf("the transform matches %s", s)
			}
		}
	}
}

// FuzzParseSubject: any subject parses without panicking, and whatever
// Subject makes parses back to its wallet and key.
func FuzzParseSubject(f *testing.F) {
	f.Add("walletd", "wal_36FtpZ3Lr2Yf8o1m3f0U1M8aQXs", "wallet.credited", "walletd.w.3.wal_1.wallet.credited")
	f.Add("walletd", "", "ledger.checkpoint", "walletd.sys.config.updated")
	f.Add("acme.walletd", "a.b%2E*>", "wallet.transfer.sent", "walletd.wallet.credited")
	f.Add("walletd", "%", "x", "walletd.w.%.%.%")
	f.Fuzz(func(t *testing.T, prefix, wallet, key, subject string) {
		events.ParseSubject(prefix, subject)
		if prefix == "" || key == "" || strings.ContainsAny(prefix+key, " \t\r\n*>") ||
			strings.Contains("."+key+".", "..") || strings.HasPrefix(key, "w.") || strings.HasPrefix(key, "sys.") ||
			key == "w" || key == "sys" {
			return // not a prefix and key walletd uses
		}
		s := events.Subject(prefix, wallet, key)
		p, ok := events.ParseSubject(prefix, s)
		if !ok || p.Wallet != wallet || p.Key != key || p.Legacy {
			t.Fatalf("Subject(%q, %q, %q) = %q parses as %+v, %v", prefix, wallet, key, s, p, ok)
		}
		if wallet != "" && events.Partition(wallet, 8) >= 8 {
			t.Fatal("partition out of range")
		}
	})
}

// TestSubject_KeysDoNotCollide: no event key starts with a branch token,
// so a legacy subject (<prefix>.<event key>) never reads as a new one.
func TestSubject_KeysDoNotCollide(t *testing.T) {
	keys := []string{
		events.WalletCredited, events.WalletDebited, events.TopupCompleted, events.TopupFailed, events.ReloadTriggered,
		events.TransferSent, events.TransferReceived, events.WithdrawalRequested, events.WithdrawalApproved,
		events.WithdrawalRejected, events.RedemptionCodeRedeemed, events.MilestoneAwarded, events.CashbackAwarded,
		events.ReferralRewarded, events.SpendingLimitBlocked, events.KYCRequired, events.WalletCreated, events.WalletFrozen,
		events.WalletUnfrozen, events.WalletUpdated, events.TopupPending, events.OrderCompleted, events.OrderRefunded,
		events.ConfigUpdated, events.LedgerCheckpoint, events.Ping, events.PluginOrderProcessed,
	}
	for _, key := range keys {
		p, ok := events.ParseSubject("walletd", "walletd."+key)
		if !ok || !p.Legacy || p.Key != key {
			t.Errorf("legacy subject of %s parses as %+v, %v", key, p, ok)
		}
	}
}
