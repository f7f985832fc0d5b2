package walletd

import "time"

// The catalogue: variable products whose variations pair a challenge type
// with an account size, each with its own integer id, price and SKU (the
// reset-fee seed's "Account Reset Fee" product). Orders reference
// variation ids; the catalogue is ledger state like the orders, changed
// only by the writer.

// Product is a variable product: a name, a currency and its variations.
// Product and variation ids come from one sequence (as WooCommerce's
// posts do), so an id names a product or a variation, never both.
type Product struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Currency string `json:"currency"`
	// Enabled products sell; a disabled product's variations cannot be
	// ordered, whatever their own flag.
	Enabled bool `json:"enabled"`
	// VariationIDs lists the product's variations in creation order,
	// deleted ones left out.
	VariationIDs []int64   `json:"variation_ids"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Variation is one variation of a product: its two attributes, price
// (in the product's currency), SKU and enabled flag. Its attributes never
// change: a variation id means one challenge type and account size for
// as long as it exists, as the reset-fee seed asks ("do not delete or
// recreate variations").
type Variation struct {
	ID            int64  `json:"id"`
	ProductID     int64  `json:"product_id"`
	ChallengeType string `json:"challenge_type"`
	AccountSize   string `json:"account_size"`
	Price         Money  `json:"price"`
	Currency      string `json:"currency"`
	SKU           string `json:"sku,omitempty"`
	Enabled       bool   `json:"enabled"`
	// OrderLines counts the order lines that reference the variation.
	// Once it is above zero the variation can only be disabled, never
	// deleted.
	OrderLines int64 `json:"order_lines"`
	// Deleted marks a variation deleted before any order referenced it.
	// Its id is never reused; it is no longer listed or orderable.
	Deleted   bool      `json:"deleted,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Attribute names, as the seed's mapping table heads its columns.
const (
	AttrChallengeType = "Challenge Type"
	AttrAccountSize   = "Account Size"
)

// VariationName is the name an order line of variation v of product p
// carries: the product's name and the variation's attributes, as
// WooCommerce names a variation ("Account Reset Fee - 1 Step, $100,000").
func VariationName(p *Product, v *Variation) string {
	return p.Name + " - " + v.ChallengeType + ", " + v.AccountSize
}

// Orderable reports whether an order may reference variation v of p.
func (v *Variation) Orderable(p *Product) bool { return !v.Deleted && v.Enabled && p.Enabled }

// SKUIndex is the index row of a SKU (object kind ObjSKU, keyed by the
// SKU): the variation that holds it. SKUs are unique across the catalogue.
type SKUIndex struct {
	VariationID int64 `json:"variation_id"`
}
