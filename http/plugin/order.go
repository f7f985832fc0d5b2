package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
)

// order/process: a JWT (in the body) hands over one order. The token is
// checked, then spent (its jti recorded, durably, once), then the order is
// checked and recorded: a bad order_data still spends the token, as the
// guide says. The same shop order again answers 200 "Order already
// processed" and records nothing.

// processResponse is the 201 answer.
type processResponse struct {
	Message           string                         `json:"message"`
	OrderID           int64                          `json:"order_id"`
	WebhookID         string                         `json:"webhook_id"`
	Status            string                         `json:"status"`
	Total             string                         `json:"total"`
	Currency          string                         `json:"currency"`
	ShopOrderID       events.StorefrontID            `json:"shop_order_id"`
	CustomerEmail     string                         `json:"customer_email"`
	WalletID          string                         `json:"wallet_id"`
	ProcessingOptions events.PluginProcessingOptions `json:"processing_options"`
	APIVersion        string                         `json:"api_version"`
}

// Source returns the order source of a plugin: "plugin_" and the plugin
// name in lower case with every run of other characters than a-z and 0-9
// made one "_", cut to walletd.MaxSourceLen.
func Source(plugin string) string {
	var b strings.Builder
	b.WriteString("plugin_")
	under := true
	for _, r := range strings.ToLower(plugin) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	s := strings.TrimRight(b.String(), "_")
	if len(s) > walletd.MaxSourceLen {
		s = strings.TrimRight(s[:walletd.MaxSourceLen], "_")
	}
	return s
}

// ExternalID returns the external id of a shop's order: "<order id>@<site>",
// site being the site URL's host (lower case, with its port) and path
// without the trailing slash, so that two shops' order 1204 are two
// orders and http and https of one shop are one. When that is longer than
// walletd.MaxOrderIDLen the site is its SHA-256 instead (sha256:<32 hex>).
func ExternalID(orderID walletd.StorefrontID, siteURL string) string {
	site := siteURL
	if u, err := url.Parse(siteURL); err == nil && u.Host != "" {
		site = strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/")
	}
	id := string(orderID) + "@" + site
	if len(id) > walletd.MaxOrderIDLen {
		sum := sha256.Sum256([]byte(site))
		id = string(orderID) + "@sha256:" + hex.EncodeToString(sum[:16])
	}
	return id
}

// options reads processing_options: three optional booleans.
func options(raw json.RawMessage) (events.PluginProcessingOptions, error) {
	var o events.PluginProcessingOptions
	raw = nonNull(raw)
	if raw == nil {
		return o, nil
	}
	m, err := object("processing_options", raw)
	if err != nil {
		return o, err
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"create_mt5_account", &o.CreateMT5Account}, {"send_email", &o.SendEmail}, {"create_user", &o.CreateUser}} {
		v := nonNull(m[f.name])
		switch string(v) {
		case "":
		case "true", "1", `"1"`, `"true"`:
			*f.dst = true
		case "false", "0", `"0"`, `"false"`, `""`:
		default:
			return o, fieldErr("processing_options."+f.name, "must be true or false.")
		}
	}
	return o, nil
}

func (a *API) handleProcessOrder(w http.ResponseWriter, r *http.Request) {
	m, keys, ok := readObject(w, r)
	if !ok {
		return
	}
	f, ok := requireStrings(w, m, keys, "jwt_token", "plugin_name")
	if !ok {
		return
	}
	if nonNull(m["order_data"]) == nil {
		writeJSON(w, http.StatusBadRequest, missingBody{Error: msgMissing, Required: []string{"jwt_token", "plugin_name", "order_data"},
			Missing: []string{"order_data"}, Received: keys})
		return
	}
	// The token: valid, for this plugin, of a live key and family.
	c, err := ParseToken(f["jwt_token"], a.cfg.Keys, a.cfg.Issuer, a.cfg.Now)
	if err == nil && c.Subject != f["plugin_name"] {
		err = errBadToken
	}
	if err != nil {
		a.cfg.Logger.Info("plugin token refused", walletd.LogError, err)
		a.failed(r)
		writeError(w, http.StatusUnauthorized, msgInvalidJWT)
		return
	}
	if !a.keyLimited(w, c.KeyID) {
		return
	}
	ctx := r.Context()
	k, err := a.cfg.Store.PluginKey(ctx, c.KeyID)
	if err != nil && walletd.ErrorCode(err) != walletd.ENotFound {
		a.fail(w, r, err)
		return
	}
	revoked := err != nil || !k.Active()
	if !revoked && c.Family != "" {
		if revoked, err = a.cfg.Store.RefreshFamilyRevoked(ctx, c.Family); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if revoked {
		a.failed(r)
		writeError(w, http.StatusUnauthorized, msgInvalidJWT)
		return
	}
	// Spend it: from here on the token is used, whatever the order.
	if err := a.cfg.Store.SpendTokenID(ctx, c.ID, c.KeyID, a.cfg.Now(), c.ExpiresAt.Time); err != nil {
		if walletd.ErrorCode(err) == walletd.EConflict {
			a.failed(r)
			writeError(w, http.StatusUnauthorized, msgInvalidJWT)
			return
		}
		a.fail(w, r, err)
		return
	}

	od, err := ParseOrderData(m["order_data"], a.cfg.Currencies)
	if err != nil {
		badField(w, err)
		return
	}
	opts, err := options(m["processing_options"])
	if err != nil {
		badField(w, err)
		return
	}
	cmd := Command(od, opts, c)
	res, err := a.cfg.Writer.Submit(ctx, "", cmd)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o, _ := res.Object.(*walletd.ShopOrder)
	if o == nil {
		a.fail(w, r, walletd.Errorf(walletd.EInternal, "plugin: the writer reported no order"))
		return
	}
	if res.Replayed {
		writeJSON(w, http.StatusOK, map[string]any{"message": "Order already processed", "order_id": o.ID, "api_version": APIVersion})
		return
	}
	webhookID := ""
	for _, e := range res.Entries {
		if e.Type == walletd.TypePluginOrderProcessed {
			webhookID = e.EventID
		}
	}
	writeJSON(w, http.StatusCreated, processResponse{
		Message: "Order processed successfully", OrderID: o.ID, WebhookID: webhookID, Status: o.Status, Total: o.Total.String(),
		Currency: o.Currency, ShopOrderID: events.StorefrontID(od.OrderID), CustomerEmail: od.Customer.Email, WalletID: o.WalletID,
		ProcessingOptions: opts, APIVersion: APIVersion,
	})
}

// Command returns the writer command that records od for the token c.
//
// The lines: each product is a line named as sent. The guide's price is
// the line's total (WooCommerce's get_total()), so the unit price is
// price ÷ quantity when that is exact at the currency's scale; otherwise
// the line is recorded as quantity 1 at the total, named "name × n". When
// order_data.total exceeds the lines' sum (shipping, tax and fees the
// plugin does not itemise), a line "Other charges" holds the difference;
// when it is below, the difference is the discount_total.
func Command(od *OrderData, opts events.PluginProcessingOptions, c *Claims) *ledger.ProcessPluginOrder {
	scale := od.Scale
	fmtAmt := func(d decimal.Decimal) string { return walletd.FormatAmount(d, scale) }
	co := ledger.CreateOrder{
		Source:     Source(c.Subject),
		ExternalID: ExternalID(od.OrderID, c.SiteURL),
		Currency:   od.Currency,
		CustomerID: od.Customer.UserID,
		Billing: walletd.OrderAddress{FirstName: od.Customer.FirstName, LastName: od.Customer.LastName, Email: od.Customer.Email,
			Phone: od.Customer.Phone, Country: od.Customer.Country},
	}
	sum := decimal.Zero
	prods := make([]events.PluginProduct, 0, len(od.Products))
	for i, p := range od.Products {
		line := ledger.OrderLineInput{Name: p.Name, Quantity: p.Quantity, Price: fmtAmt(p.Price)}
		if p.Quantity > 1 {
			unit := p.Price.Div(decimal.NewFromInt(p.Quantity))
			if unit.Round(scale).Mul(decimal.NewFromInt(p.Quantity)).Equal(p.Price) {
				line.Price = fmtAmt(unit.Round(scale))
			} else {
				line.Name, line.Quantity = truncName(p.Name, " × "+strconv.FormatInt(p.Quantity, 10)), 1
			}
		}
		co.Lines = append(co.Lines, line)
		sum = sum.Add(p.Price)
		prods = append(prods, events.PluginProduct{Name: p.Name, Quantity: p.Quantity, Price: fmtAmt(p.Price),
			AccountSize: p.AccountSize, ChallengeType: p.ChallengeType})
		if p.AccountSize != "" || p.ChallengeType != "" {
			v, _ := json.Marshal(map[string]string{"account_size": p.AccountSize, "challenge_type": p.ChallengeType})
			co.MetaData = append(co.MetaData, ledger.OrderMetaInput{Key: "product_" + strconv.Itoa(i+1), Value: v})
		}
	}
	if len(od.Products) > 0 {
		switch d := od.Total.Sub(sum); {
		case d.IsPositive():
			co.Lines = append(co.Lines, ledger.OrderLineInput{Name: "Other charges (shipping, tax, fees)", Quantity: 1, Price: fmtAmt(d)})
		case d.IsNegative():
			co.DiscountTotal = fmtAmt(d.Neg())
		}
	}
	co.Total = fmtAmt(od.Total)
	optJSON, _ := json.Marshal(opts)
	meta := func(k, v string) {
		if v != "" {
			b, _ := json.Marshal(v)
			co.MetaData = append(co.MetaData, ledger.OrderMetaInput{Key: k, Value: b})
		}
	}
	meta("plugin_name", c.Subject)
	meta("plugin_version", c.PluginVersion)
	meta("site_url", c.SiteURL)
	meta("shop_order_id", string(od.OrderID))
	meta("shop_status", od.Status)
	co.MetaData = append(co.MetaData, ledger.OrderMetaInput{Key: "processing_options", Value: optJSON})
	return &ledger.ProcessPluginOrder{
		Order: co, CreateUser: opts.CreateUser, Email: od.Customer.Email,
		Event: events.PluginOrderData{
			ShopOrderID: events.StorefrontID(od.OrderID), PluginName: c.Subject, PluginVersion: c.PluginVersion, SiteURL: c.SiteURL,
			ShopStatus: od.Status, Customer: od.Customer, Products: prods, ProcessingOptions: opts,
		},
	}
}

// truncName appends suffix to name, cutting name to keep the whole within
// walletd.MaxNameLen bytes.
func truncName(name, suffix string) string {
	max := walletd.MaxNameLen - len(suffix)
	if len(name) > max {
		name = strings.ToValidUTF8(name[:max], "")
	}
	return name + suffix
}

// handleHealth reports the services the plugin API depends on.
func (a *API) handleHealth(w http.ResponseWriter, r *http.Request) {
	services := map[string]string{"api": "healthy"}
	status, code := "healthy", http.StatusOK
	for _, c := range a.cfg.Health {
		ctx, cancel := contextTimeout(r, 2*time.Second)
		err := c.Check(ctx)
		cancel()
		if err != nil {
			services[c.Name] = "unavailable"
			status, code = "degraded", http.StatusServiceUnavailable
			a.cfg.Logger.Warn("plugin health: service down", "service", c.Name, walletd.LogError, err)
		} else {
			services[c.Name] = "healthy"
		}
	}
	writeJSON(w, code, map[string]any{
		"status": status, "timestamp": a.cfg.Now().UTC().Format(time.RFC3339), "api_version": APIVersion, "services": services,
	})
}
