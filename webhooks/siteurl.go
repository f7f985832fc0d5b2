package webhooks

import (
	"encoding/json"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events/bus"
)

// checkSiteURL compares, once per Dispatcher (from Open), the site_url of the
// first event read from the stream with the Service's SiteURL. The relay
// publishes its own (walletd serve's --public-url); the events a recovery
// reads from the ledger (Dispatcher.Ledger), and the ping and test events,
// carry the Service's. When the two differ those bodies are not what the
// relay published, which a walletd dispatcher started without serve's
// --public-url would otherwise do silently: it says so.
func (a *dispatch) checkSiteURL(b *bus.Batch) {
	if a.siteChecked {
		return
	}
	for i := range b.Msgs {
		m := &b.Msgs[i]
		if m.Seq == 0 {
			continue // recovered from the ledger: no stream sequence
		}
		a.siteChecked = true
		var env struct {
			SiteURL *string `json:"site_url"`
		}
		if json.Unmarshal(m.Data, &env) != nil || env.SiteURL == nil {
			return
		}
		if own := a.d.Service.SiteURL; *env.SiteURL != own {
			a.d.Logger.Warn("webhooks: the stream's events carry another site_url than this dispatcher's; the events it recovers from the ledger, pings and test events carry its own: give it the relay's (walletd serve's --public-url)",
				"component", "webhook-dispatcher", "stream_site_url", *env.SiteURL, "site_url", own, walletd.LogStreamSeq, m.Seq)
		}
		return
	}
}
