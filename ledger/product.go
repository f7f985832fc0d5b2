package ledger

import (
	"slices"
	"strconv"
	"strings"

	"github.com/walletd/walletd"
)

// The catalogue: variable products and their variations (a challenge type
// and an account size, a price, a SKU, an enabled flag), with integer ids
// from one sequence. Each command records what it changed as config
// entries (type product, one per product; type variation, one per
// variation), so every change is in the chain and a config.updated event.
// A variation that an order references is never deleted, only disabled.

// Catalogue limits.
const (
	maxVariations   = 500
	maxAttributeLen = 100
	maxSKULen       = 100
)

// VariationInput is a variation to add (no ID: challenge type, account
// size and price required) or, in UpdateProduct, one to change (ID: its
// attributes, if given, must be its own; price, SKU and enabled as for
// UpdateVariation).
type VariationInput struct {
	ID            int64   `json:"id,omitempty"`
	ChallengeType string  `json:"challenge_type,omitempty"`
	AccountSize   string  `json:"account_size,omitempty"`
	Price         string  `json:"price,omitempty"`
	SKU           *string `json:"sku,omitempty"`
	Enabled       *bool   `json:"enabled,omitempty"`
}

// CreateProduct adds a variable product with its variations; both are
// enabled unless Enabled says otherwise.
type CreateProduct struct {
	Name       string           `json:"name"`
	Currency   string           `json:"currency"`
	Enabled    *bool            `json:"enabled,omitempty"`
	Variations []VariationInput `json:"variations"`
}

// UpdateProduct renames, enables or disables a product, and adds or
// changes variations of it. Nil fields are left as they are.
type UpdateProduct struct {
	ID         int64            `json:"id"`
	Name       *string          `json:"name,omitempty"`
	Enabled    *bool            `json:"enabled,omitempty"`
	Variations []VariationInput `json:"variations,omitempty"`
}

// UpdateVariation changes a variation's price, SKU ("" removes it) or
// enabled flag. ProductID, if given, must be its product.
type UpdateVariation struct {
	ID        int64   `json:"id"`
	ProductID int64   `json:"product_id,omitempty"`
	Price     *string `json:"price,omitempty"`
	SKU       *string `json:"sku,omitempty"`
	Enabled   *bool   `json:"enabled,omitempty"`
}

// DeleteVariation deletes a variation that no order references; one that
// an order references can only be disabled (EConflict). Its id is never
// used again.
type DeleteVariation struct {
	ID        int64 `json:"id"`
	ProductID int64 `json:"product_id,omitempty"`
}

// Op names the command in fingerprints and logs.
func (*CreateProduct) Op() string { return "create_product" }

// Op names the command in fingerprints and logs.
func (*UpdateProduct) Op() string { return "update_product" }

// Op names the command in fingerprints and logs.
func (*UpdateVariation) Op() string { return "update_variation" }

// Op names the command in fingerprints and logs.
func (*DeleteVariation) Op() string { return "delete_variation" }

func (c *CreateProduct) objectRef(es []*walletd.Entry) (string, string) {
	for _, e := range es {
		if e.Type == walletd.TypeProduct {
			if id, ok := walletd.ParseOrderID(metaOf(e)["id"]); ok {
				return walletd.ObjProduct, walletd.IntKey(id)
			}
		}
	}
	return "", ""
}
func (c *UpdateProduct) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjProduct, walletd.IntKey(c.ID)
}
func (c *UpdateVariation) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjVariation, walletd.IntKey(c.ID)
}
func (c *DeleteVariation) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjVariation, walletd.IntKey(c.ID)
}

// catalogueID issues the next id of the catalogue's sequence.
func (b *batch) catalogueID() (int64, error) {
	last := int64(0)
	if s := b.sequences.get(walletd.SeqCatalogue); s != nil {
		last = s.Last
	}
	if last >= walletd.MaxOrderID {
		return 0, walletd.Errorf(walletd.EUnavailable, "The catalogue's ids are exhausted.")
	}
	b.sequences.put(walletd.SeqCatalogue, &walletd.Sequence{Name: walletd.SeqCatalogue, Last: last + 1}, b.seq)
	return last + 1, nil
}

func (c *CreateProduct) apply(b *batch, r *request) error {
	if err := walletd.CheckText("name", c.Name, walletd.MaxNameLen, true); err != nil {
		return err
	} else if _, err := b.w.cfg.Currencies.Scale(c.Currency); err != nil {
		return err
	} else if len(c.Variations) == 0 {
		return walletd.Errorf(walletd.EInvalid, "A variable product needs at least one variation.")
	}
	id, err := b.catalogueID()
	if err != nil {
		return err
	}
	p := &walletd.Product{ID: id, Name: c.Name, Currency: c.Currency, Enabled: c.Enabled == nil || *c.Enabled,
		VariationIDs: []int64{}, CreatedAt: b.now, UpdatedAt: b.now}
	b.productEntry(r, p)
	if err := b.variationChanges(r, p, c.Variations); err != nil {
		return err
	}
	b.putProduct(p)
	return nil
}

func (c *UpdateProduct) apply(b *batch, r *request) error {
	p, err := b.product(c.ID)
	if err != nil {
		return err
	}
	if c.Name != nil {
		if err := walletd.CheckText("name", *c.Name, walletd.MaxNameLen, true); err != nil {
			return err
		}
		p.Name = *c.Name
	}
	if c.Enabled != nil {
		p.Enabled = *c.Enabled
	}
	if c.Name == nil && c.Enabled == nil && len(c.Variations) == 0 {
		return walletd.Errorf(walletd.EInvalid, "Nothing to change: give name, enabled or variations.")
	}
	p.UpdatedAt = b.now
	b.productEntry(r, p)
	if err := b.variationChanges(r, p, c.Variations); err != nil {
		return err
	}
	b.putProduct(p)
	return nil
}

func (c *UpdateVariation) apply(b *batch, r *request) error {
	v, p, err := b.variationOf(c.ID, c.ProductID)
	if err != nil {
		return err
	}
	if c.Price == nil && c.SKU == nil && c.Enabled == nil {
		return walletd.Errorf(walletd.EInvalid, "Nothing to change: give price, sku or enabled.")
	}
	in := VariationInput{ID: v.ID, SKU: c.SKU, Enabled: c.Enabled}
	if c.Price != nil {
		if in.Price = *c.Price; in.Price == "" {
			return walletd.Errorf(walletd.EInvalidAmount, "price: Amount is required.")
		}
	}
	if err := b.changeVariation(r, p, v, &in, "variation"); err != nil {
		return err
	}
	b.report(walletd.ObjVariation, walletd.IntKey(v.ID), b.variations.get(walletd.IntKey(v.ID)))
	return nil
}

func (c *DeleteVariation) apply(b *batch, r *request) error {
	v, p, err := b.variationOf(c.ID, c.ProductID)
	if err != nil {
		return err
	} else if v.OrderLines > 0 {
		return walletd.Errorf(walletd.EConflict, "Variation %d is referenced by %d order lines: it can be disabled, not deleted.", v.ID, v.OrderLines)
	}
	nv := *v
	nv.Deleted, nv.Enabled, nv.UpdatedAt = true, false, b.now
	if nv.SKU != "" {
		b.skus.put(nv.SKU, &walletd.SKUIndex{}, b.seq) // the SKU is free again
	}
	np := *p
	np.VariationIDs = slices.DeleteFunc(slices.Clone(p.VariationIDs), func(id int64) bool { return id == v.ID })
	np.UpdatedAt = b.now
	b.variationEntry(r, &np, &nv)
	b.variations.put(walletd.IntKey(nv.ID), &nv, b.seq)
	b.products.put(walletd.IntKey(np.ID), &np, b.seq)
	b.report(walletd.ObjVariation, walletd.IntKey(nv.ID), &nv)
	return nil
}

// product returns a copy of product id to change, or ENotFound.
func (b *batch) product(id int64) (*walletd.Product, error) {
	p := b.products.get(walletd.IntKey(id))
	if p == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Product %d not found.", id)
	}
	cp := *p
	cp.VariationIDs = append([]int64{}, p.VariationIDs...)
	return &cp, nil
}

// variationOf returns variation id and its product; ENotFound if either
// is unknown, the variation deleted, or not of product productID (when
// not 0).
func (b *batch) variationOf(id, productID int64) (*walletd.Variation, *walletd.Product, error) {
	v := b.variations.get(walletd.IntKey(id))
	if v == nil || v.Deleted || productID != 0 && v.ProductID != productID {
		return nil, nil, walletd.Errorf(walletd.ENotFound, "Variation %d not found.", id)
	}
	return v, b.products.get(walletd.IntKey(v.ProductID)), nil
}

// putProduct stores p, changed by the command, and reports it.
func (b *batch) putProduct(p *walletd.Product) {
	key := walletd.IntKey(p.ID)
	b.products.put(key, p, b.seq)
	b.report(walletd.ObjProduct, key, p)
}

// productEntry appends the config entry of p as it now is.
func (b *batch) productEntry(r *request, p *walletd.Product) {
	b.config(r, walletd.TypeProduct, p.Currency, map[string]string{
		"id": strconv.FormatInt(p.ID, 10), "name": p.Name, "enabled": strconv.FormatBool(p.Enabled),
	})
}

// variationEntry appends the config entry of variation v of p as it now is.
func (b *batch) variationEntry(r *request, p *walletd.Product, v *walletd.Variation) {
	b.config(r, walletd.TypeVariation, p.Currency, map[string]string{
		"id": strconv.FormatInt(v.ID, 10), "product_id": strconv.FormatInt(p.ID, 10), "challenge_type": v.ChallengeType,
		"account_size": v.AccountSize, "price": v.Price.String(), "sku": v.SKU, "enabled": strconv.FormatBool(v.Enabled),
		"deleted": boolText(v.Deleted),
	})
}

// variationChanges adds the variations of ins without an id to p, and
// changes those with one, which must be p's.
func (b *batch) variationChanges(r *request, p *walletd.Product, ins []VariationInput) error {
	for i := range ins {
		in := &ins[i]
		at := "variations[" + strconv.Itoa(i) + "]"
		if in.ID == 0 {
			if err := b.addVariation(r, p, in, at); err != nil {
				return err
			}
			continue
		}
		v, _, err := b.variationOf(in.ID, p.ID)
		if err != nil {
			return err
		}
		if in.ChallengeType != "" && in.ChallengeType != v.ChallengeType || in.AccountSize != "" && in.AccountSize != v.AccountSize {
			return walletd.Errorf(walletd.EInvalid, "%s: the attributes of variation %d never change; add a new variation instead.", at, v.ID)
		}
		if err := b.changeVariation(r, p, v, in, at); err != nil {
			return err
		}
	}
	if len(p.VariationIDs) > maxVariations {
		return walletd.Errorf(walletd.EInvalid, "A product has at most %d variations.", maxVariations)
	}
	return nil
}

// addVariation adds the variation in to p.
func (b *batch) addVariation(r *request, p *walletd.Product, in *VariationInput, at string) error {
	if err := checkAttribute(at+".challenge_type", in.ChallengeType); err != nil {
		return err
	} else if err := checkAttribute(at+".account_size", in.AccountSize); err != nil {
		return err
	}
	for _, id := range p.VariationIDs {
		if o := b.variations.get(walletd.IntKey(id)); o.ChallengeType == in.ChallengeType && o.AccountSize == in.AccountSize {
			return walletd.Errorf(walletd.EConflict, "%s: product %d already has the variation %s, %s (%d).", at, p.ID,
				walletd.QuoteInput(in.ChallengeType), walletd.QuoteInput(in.AccountSize), id)
		}
	}
	price, err := walletd.ParseAmount(in.Price, b.scale(p.Currency))
	if err != nil {
		return walletd.Errorf(walletd.EInvalidAmount, "%s.price: %s", at, walletd.ErrorMessage(err))
	}
	id, err := b.catalogueID()
	if err != nil {
		return err
	}
	v := &walletd.Variation{ID: id, ProductID: p.ID, ChallengeType: in.ChallengeType, AccountSize: in.AccountSize,
		Price: walletd.NewMoney(price, b.scale(p.Currency)), Currency: p.Currency, Enabled: in.Enabled == nil || *in.Enabled,
		CreatedAt: b.now, UpdatedAt: b.now}
	if in.SKU != nil {
		if err := b.takeSKU(at, *in.SKU, v); err != nil {
			return err
		}
	}
	p.VariationIDs = append(p.VariationIDs, v.ID)
	b.variationEntry(r, p, v)
	b.variations.put(walletd.IntKey(v.ID), v, b.seq)
	b.sequences.put(walletd.SeqCatalogue, &walletd.Sequence{Name: walletd.SeqCatalogue, Last: id}, b.seq)
	return nil
}

// changeVariation applies the price, SKU and enabled flag of in to v, a
// variation of p, and records it.
func (b *batch) changeVariation(r *request, p *walletd.Product, v *walletd.Variation, in *VariationInput, at string) error {
	nv := *v
	if in.Price != "" {
		price, err := walletd.ParseAmount(in.Price, b.scale(p.Currency))
		if err != nil {
			return walletd.Errorf(walletd.EInvalidAmount, "%s.price: %s", at, walletd.ErrorMessage(err))
		}
		nv.Price = walletd.NewMoney(price, b.scale(p.Currency))
	}
	if in.Enabled != nil {
		nv.Enabled = *in.Enabled
	}
	if in.SKU != nil && *in.SKU != v.SKU {
		if v.SKU != "" {
			b.skus.put(v.SKU, &walletd.SKUIndex{}, b.seq) // free the old one
		}
		nv.SKU = ""
		if err := b.takeSKU(at, *in.SKU, &nv); err != nil {
			return err
		}
	}
	nv.UpdatedAt = b.now
	b.variationEntry(r, p, &nv)
	b.variations.put(walletd.IntKey(nv.ID), &nv, b.seq)
	return nil
}

// takeSKU gives sku ("" for none) to v. SKUs are unique in the catalogue.
func (b *batch) takeSKU(at, sku string, v *walletd.Variation) error {
	if sku == "" {
		return nil
	}
	if err := walletd.CheckText(at+".sku", sku, maxSKULen, true); err != nil {
		return err
	} else if strings.TrimSpace(sku) != sku {
		return walletd.Errorf(walletd.EInvalid, "%s.sku has white space at an end.", at)
	}
	if prev := b.skus.get(sku); prev != nil && prev.VariationID != 0 {
		return walletd.Errorf(walletd.EConflict, "%s: SKU %s is variation %d's.", at, walletd.QuoteInput(sku), prev.VariationID)
	}
	v.SKU = sku
	b.skus.put(sku, &walletd.SKUIndex{VariationID: v.ID}, b.seq)
	return nil
}

// checkAttribute checks a variation attribute: 1 to maxAttributeLen
// bytes of text, without white space at either end.
func checkAttribute(field, s string) error {
	if err := walletd.CheckText(field, s, maxAttributeLen, true); err != nil {
		return err
	} else if strings.TrimSpace(s) != s {
		return walletd.Errorf(walletd.EInvalid, "%s has white space at an end.", field)
	}
	return nil
}
