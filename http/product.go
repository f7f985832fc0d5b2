package http

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// The catalogue over HTTP: variable products and their variations
// (ledger/product.go), and the export of the variation mapping the
// reset-fee seed asks the merchant to send (Variation ID | Challenge Type
// | Account Size).

func (s *Server) registerProductRoutes(handle handleFunc) {
	admin, read := walletd.ScopeAdmin, walletd.ScopeWalletsRead
	// The exports before {id}, which would match them.
	handle("GET", "/v1/products/variations.csv", read, s.handleVariationsCSV)
	handle("GET", "/v1/products/variations.json", read, s.handleVariationsJSON)
	handle("POST", "/v1/products", admin, s.handleCreateProduct)
	handle("GET", "/v1/products", read, s.handleListProducts)
	handle("GET", "/v1/products/{id}", read, s.handleGetProduct)
	handle("PATCH", "/v1/products/{id}", admin, s.handleUpdateProduct)
	handle("PATCH", "/v1/products/{id}/variations/{variation_id}", admin, s.handleUpdateVariation)
	handle("DELETE", "/v1/products/{id}/variations/{variation_id}", admin, s.handleDeleteVariation)
}

// attributeJSON is one attribute of a variable product and the options
// its variations take, in WooCommerce's shape.
type attributeJSON struct {
	Name      string   `json:"name"`
	Variation bool     `json:"variation"`
	Options   []string `json:"options"`
}

// variationJSON is a variation as the API shows it.
type variationJSON struct {
	ID            int64  `json:"id"`
	ProductID     int64  `json:"product_id"`
	Name          string `json:"name"`
	ChallengeType string `json:"challenge_type"`
	AccountSize   string `json:"account_size"`
	Price         string `json:"price"`
	Currency      string `json:"currency"`
	SKU           string `json:"sku"`
	Enabled       bool   `json:"enabled"`
	OrderLines    int64  `json:"order_lines"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
	written
}

// productJSON is a product as the API shows it, with its variations.
type productJSON struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"` // always "variable"
	Currency   string          `json:"currency"`
	Enabled    bool            `json:"enabled"`
	Attributes []attributeJSON `json:"attributes"`
	Variations []variationJSON `json:"variations"`
	CreatedAt  string          `json:"created_at"`
	UpdatedAt  string          `json:"updated_at"`
	written
}

func variationToJSON(p *walletd.Product, v *walletd.Variation, wr written) variationJSON {
	return variationJSON{ID: v.ID, ProductID: v.ProductID, Name: walletd.VariationName(p, v), ChallengeType: v.ChallengeType,
		AccountSize: v.AccountSize, Price: v.Price.String(), Currency: v.Currency, SKU: v.SKU, Enabled: v.Enabled,
		OrderLines: v.OrderLines, CreatedAt: timeJSON(v.CreatedAt), UpdatedAt: timeJSON(v.UpdatedAt), written: wr}
}

// productToJSON renders p with its variations vs (in p's order).
func productToJSON(p *walletd.Product, vs []*walletd.Variation, wr written) *productJSON {
	out := &productJSON{ID: p.ID, Name: p.Name, Type: "variable", Currency: p.Currency, Enabled: p.Enabled,
		Attributes: []attributeJSON{{Name: walletd.AttrChallengeType, Variation: true, Options: []string{}},
			{Name: walletd.AttrAccountSize, Variation: true, Options: []string{}}},
		Variations: make([]variationJSON, 0, len(vs)), CreatedAt: timeJSON(p.CreatedAt), UpdatedAt: timeJSON(p.UpdatedAt), written: wr}
	for _, v := range vs {
		out.Variations = append(out.Variations, variationToJSON(p, v, written{}))
		for i, opt := range []string{v.ChallengeType, v.AccountSize} {
			if !slices.Contains(out.Attributes[i].Options, opt) {
				out.Attributes[i].Options = append(out.Attributes[i].Options, opt)
			}
		}
	}
	return out
}

// productVariations reads the variations of p.
func (s *Server) productVariations(ctx context.Context, p *walletd.Product) ([]*walletd.Variation, error) {
	vs := make([]*walletd.Variation, 0, len(p.VariationIDs))
	for _, id := range p.VariationIDs {
		v, err := readObject[walletd.Variation](ctx, s, walletd.ObjVariation, walletd.IntKey(id))
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// renderProduct renders product p with its variations read from the ledger.
func (s *Server) renderProduct(ctx context.Context, p *walletd.Product, wr written) (*productJSON, error) {
	vs, err := s.productVariations(ctx, p)
	if err != nil {
		return nil, err
	}
	return productToJSON(p, vs, wr), nil
}

// pathID reads the integer id of path variable v. Returns ENotFound: a
// path that is no id names nothing.
func pathID(r *http.Request, v, what string) (int64, error) {
	s := mux.Vars(r)[v]
	id, ok := walletd.ParseOrderID(s)
	if !ok {
		return 0, walletd.Errorf(walletd.ENotFound, "%s %s not found.", what, walletd.QuoteInput(s))
	}
	return id, nil
}

// variationRequest is a variation in a product's body.
type variationRequest struct {
	ID            int64   `json:"id"`
	ChallengeType string  `json:"challenge_type"`
	AccountSize   string  `json:"account_size"`
	Price         string  `json:"price"`
	SKU           *string `json:"sku"`
	Enabled       *bool   `json:"enabled"`
}

func variationInputs(in []variationRequest) []ledger.VariationInput {
	out := make([]ledger.VariationInput, 0, len(in))
	for _, v := range in {
		out = append(out, ledger.VariationInput(v))
	}
	return out
}

func (s *Server) handleCreateProduct(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       string             `json:"name"`
		Currency   string             `json:"currency"`
		Enabled    *bool              `json:"enabled"`
		Variations []variationRequest `json:"variations"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	for _, v := range req.Variations {
		if v.ID != 0 {
			s.Error(w, r, walletd.Errorf(walletd.EInvalid, "A new product's variations have no id yet."))
			return
		}
	}
	cmd := &ledger.CreateProduct{Name: req.Name, Currency: req.Currency, Enabled: req.Enabled, Variations: variationInputs(req.Variations)}
	s.applyProduct(w, r, http.StatusCreated, cmd)
}

func (s *Server) handleUpdateProduct(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "Product")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var req struct {
		Name       *string            `json:"name"`
		Enabled    *bool              `json:"enabled"`
		Variations []variationRequest `json:"variations"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyProduct(w, r, http.StatusOK, &ledger.UpdateProduct{ID: id, Name: req.Name, Enabled: req.Enabled, Variations: variationInputs(req.Variations)})
}

// applyProduct applies a command that reports a product and answers it.
func (s *Server) applyProduct(w http.ResponseWriter, r *http.Request, status int, cmd walletd.Command) {
	s.apply(w, r, status, cmd, func(res *walletd.Result) (any, error) {
		p, err := resultObject[walletd.Product](r.Context(), s, res)
		if err != nil {
			return nil, err
		}
		return s.renderProduct(r.Context(), p, writtenBy(res.Entries))
	})
}

func (s *Server) handleUpdateVariation(w http.ResponseWriter, r *http.Request) {
	pid, err := pathID(r, "id", "Product")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	vid, err := pathID(r, "variation_id", "Variation")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var req struct {
		Price   *string `json:"price"`
		SKU     *string `json:"sku"`
		Enabled *bool   `json:"enabled"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyVariation(w, r, &ledger.UpdateVariation{ID: vid, ProductID: pid, Price: req.Price, SKU: req.SKU, Enabled: req.Enabled})
}

func (s *Server) handleDeleteVariation(w http.ResponseWriter, r *http.Request) {
	pid, err := pathID(r, "id", "Product")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	vid, err := pathID(r, "variation_id", "Variation")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyVariation(w, r, &ledger.DeleteVariation{ID: vid, ProductID: pid})
}

// applyVariation applies a command that reports a variation and answers it.
func (s *Server) applyVariation(w http.ResponseWriter, r *http.Request, cmd walletd.Command) {
	s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
		v, err := resultObject[walletd.Variation](r.Context(), s, res)
		if err != nil {
			return nil, err
		}
		p, err := readObject[walletd.Product](r.Context(), s, walletd.ObjProduct, walletd.IntKey(v.ProductID))
		if err != nil {
			return nil, err
		}
		out := variationToJSON(p, v, writtenBy(res.Entries))
		return &struct {
			variationJSON
			Deleted bool `json:"deleted,omitempty"`
		}{out, v.Deleted}, nil
	})
}

func (s *Server) handleGetProduct(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "Product")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, err := readObject[walletd.Product](r.Context(), s, walletd.ObjProduct, walletd.IntKey(id))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out, err := s.renderProduct(r.Context(), p, written{})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, out)
}

func (s *Server) handleListProducts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 50, 200)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		id, ok := walletd.ParseOrderID(c)
		if !ok {
			s.Error(w, r, walletd.Errorf(walletd.EInvalid, "cursor must be the next_cursor of a page."))
			return
		}
		after = walletd.IntKey(id)
	}
	list, err := s.Ledger.Objects(r.Context(), walletd.ObjProduct, after, limit+1)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items, next := make([]*productJSON, 0, min(len(list), limit)), ""
	for i, v := range list {
		p, ok := v.(*walletd.Product)
		if !ok {
			s.Error(w, r, errors.New("http: a product decoded as another type"))
			return
		}
		if i == limit {
			next = strconv.FormatInt(items[limit-1].ID, 10)
			break
		}
		out, err := s.renderProduct(r.Context(), p, written{})
		if err != nil {
			s.Error(w, r, err)
			return
		}
		items = append(items, out)
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// mappingRow is one row of the variation mapping.
type mappingRow struct {
	VariationID   int64  `json:"variation_id"`
	ChallengeType string `json:"challenge_type"`
	AccountSize   string `json:"account_size"`
	ProductID     int64  `json:"product_id"`
	Name          string `json:"name"`
	Price         string `json:"price"`
	Currency      string `json:"currency"`
	SKU           string `json:"sku"`
}

// eachMappingRow calls fn with each orderable variation of the catalogue
// after the variation whose key is after ("" from the first), in id
// order, until fn answers false: what a storefront's backend may send as
// product_id. It reads the catalogue a page at a time.
func (s *Server) eachMappingRow(ctx context.Context, after string, fn func(mappingRow) bool) error {
	products := map[int64]*walletd.Product{}
	for {
		page, err := s.Ledger.Objects(ctx, walletd.ObjVariation, after, 500)
		if err != nil {
			return err
		}
		for _, x := range page {
			v, ok := x.(*walletd.Variation)
			if !ok {
				return errors.New("http: a variation decoded as another type")
			}
			after = walletd.IntKey(v.ID)
			p := products[v.ProductID]
			if p == nil {
				if p, err = readObject[walletd.Product](ctx, s, walletd.ObjProduct, walletd.IntKey(v.ProductID)); err != nil {
					return err
				}
				products[v.ProductID] = p
			}
			if v.Orderable(p) && !fn(mappingRow{VariationID: v.ID, ChallengeType: v.ChallengeType, AccountSize: v.AccountSize, ProductID: p.ID,
				Name: walletd.VariationName(p, v), Price: v.Price.String(), Currency: v.Currency, SKU: v.SKU}) {
				return nil
			}
		}
		if len(page) < 500 {
			return nil
		}
	}
}

// handleVariationsJSON answers a page of the mapping: limit rows (up to
// MaxListRows, by default all of a catalogue that small), next_cursor to
// pass as cursor until it is empty.
func (s *Server) handleVariationsJSON(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), DefaultListRows, MaxListRows)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		id, ok := walletd.ParseOrderID(c)
		if !ok {
			s.Error(w, r, walletd.Errorf(walletd.EInvalid, "cursor must be the next_cursor of a page."))
			return
		}
		after = walletd.IntKey(id)
	}
	rows := make([]mappingRow, 0, 64)
	if err := s.eachMappingRow(r.Context(), after, func(m mappingRow) bool {
		rows = append(rows, m)
		return len(rows) <= limit
	}); err != nil {
		s.Error(w, r, err)
		return
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = strconv.FormatInt(rows[limit-1].VariationID, 10)
	}
	writeData(w, http.StatusOK, map[string]any{"items": rows, "next_cursor": next})
}

// handleVariationsCSV answers the whole mapping as the seed's table:
// Variation ID, Challenge Type, Account Size (RFC 4180, UTF-8), streamed
// a page of the catalogue at a time. An error after the header row cuts
// the table short.
func (s *Server) handleVariationsCSV(w http.ResponseWriter, r *http.Request) {
	var cw *csv.Writer
	start := func() {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="variations.csv"`)
		w.WriteHeader(http.StatusOK)
		cw = csv.NewWriter(w)
		cw.Write([]string{"Variation ID", walletd.AttrChallengeType, walletd.AttrAccountSize})
	}
	err := s.eachMappingRow(r.Context(), "", func(row mappingRow) bool {
		if cw == nil {
			start()
		}
		cw.Write([]string{strconv.FormatInt(row.VariationID, 10), csvSafe(row.ChallengeType), csvSafe(row.AccountSize)})
		return true
	})
	if err != nil && cw == nil {
		s.Error(w, r, err)
		return
	} else if err != nil {
		return
	}
	if cw == nil {
		start()
	}
	cw.Flush()
}
