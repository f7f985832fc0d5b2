package webhooks_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/webhooks"
)

// TestDispatcher_WarnsOfAnotherSiteURL: a dispatcher whose Service has
// another site URL than the events in the stream (walletd dispatcher
// without serve's --public-url) says so once, naming both; one with the
// same says nothing.
func TestDispatcher_WarnsOfAnotherSiteURL(t *testing.T) {
	const warning = "the stream's events carry another site_url"
	for _, tc := range []struct {
		own  string
		warn bool
	}{{"http://127.0.0.1:8080", true}, {siteURL, false}} {
		n := mustNATS(t)
		e := mustService(t, func(s *webhooks.Service) { s.SiteURL = tc.own })
		logs := &syncBuffer{}
		d := startDispatcher(t, e.Svc, n, func(d *webhooks.Dispatcher) { d.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
		n.publish(t, events.WalletCredited, `{"amount":"1.00"}`)
		n.publish(t, events.WalletCredited, `{"amount":"2.00"}`)
		waitIdle(t, e, n)
		time.Sleep(100 * time.Millisecond)
		d.Close()
		got := logs.String()
		if !tc.warn {
			if strings.Contains(got, warning) {
				t.Errorf("site URL %s: warned\n%s", tc.own, got)
			}
			continue
		}
		if strings.Count(got, warning) != 1 || !strings.Contains(got, "stream_site_url="+siteURL) || !strings.Contains(got, "site_url="+tc.own) {
			t.Errorf("site URL %s: want one warning naming both URLs\n%s", tc.own, got)
		}
	}
}
