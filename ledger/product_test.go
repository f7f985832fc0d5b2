package ledger_test

import (
	"context"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// testProduct is a product mustProduct created.
type testProduct struct {
	id         int64
	variations []int64
}

func boolp(v bool) *bool { return &v }

// mustProduct creates "Account Reset Fee" in USD with three variations:
// 1 Step $100,000 at 49.00 (SKU RESET-1-100K), 2 Step $100,000 at 59.00,
// 1 Step $200,000 at 89.00.
func mustProduct(tb testing.TB, l *walletdtest.Ledger) testProduct {
	tb.Helper()
	res := mustSubmit(tb, l, "", &ledger.CreateProduct{Name: "Account Reset Fee", Currency: "USD", Variations: []ledger.VariationInput{
		{ChallengeType: "1 Step", AccountSize: "$100,000", Price: "49", SKU: str("RESET-1-100K")},
		{ChallengeType: "2 Step", AccountSize: "$100,000", Price: "59.00"},
		{ChallengeType: "1 Step", AccountSize: "$200,000", Price: "89"},
	}})
	p := res.Object.(*walletd.Product)
	return testProduct{id: p.ID, variations: p.VariationIDs}
}

func variation(tb testing.TB, l *walletdtest.Ledger, id int64) *walletd.Variation {
	tb.Helper()
	v, err := l.DB.Object(context.Background(), walletd.ObjVariation, walletd.IntKey(id))
	if err != nil {
		tb.Fatal(err)
	}
	return v.(*walletd.Variation)
}

func TestCatalogue(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	p := mustProduct(t, l)
	if p.id != 1 || len(p.variations) != 3 || p.variations[0] != 2 || p.variations[2] != 4 {
		t.Fatalf("product %+v: ids from one sequence", p)
	}
	v := variation(t, l, p.variations[0])
	if v.ProductID != 1 || v.Price.String() != "49.00" || v.SKU != "RESET-1-100K" || !v.Enabled || v.Currency != "USD" {
		t.Fatalf("variation %+v", v)
	}
	if n := len(entriesOfType(t, l, walletd.KindConfig, walletd.TypeVariation)); n != 3 {
		t.Fatalf("%d variation entries", n)
	}

	t.Run("OrderLine", func(t *testing.T) {
		l.MustWallet(t, "ann", "USD")
		c := &ledger.CreateOrder{Currency: "USD", CustomerID: "ann", Lines: []ledger.OrderLineInput{{VariationID: p.variations[1], Quantity: 2}}}
		o := shopOrder(t, mustSubmit(t, l, "", c))
		line := o.Lines[0]
		if line.Name != "Account Reset Fee - 2 Step, $100,000" || line.ProductID != p.id || line.Price.String() != "59.00" || o.Total.String() != "118.00" {
			t.Fatalf("line %+v", line)
		}
		if variation(t, l, p.variations[1]).OrderLines != 1 {
			t.Fatal("the variation does not count the line")
		}
		for name, tc := range map[string]struct {
			line ledger.OrderLineInput
			code string
		}{
			"Product":    {ledger.OrderLineInput{VariationID: p.id}, walletd.ENotFound},
			"WrongPrice": {ledger.OrderLineInput{VariationID: p.variations[0], Price: "48"}, walletd.EInvalidAmount},
			"WrongName":  {ledger.OrderLineInput{VariationID: p.variations[0], Name: "Cheap"}, walletd.EInvalid},
			"OtherProd":  {ledger.OrderLineInput{VariationID: p.variations[0], ProductID: 77}, walletd.EInvalid},
		} {
			_, err := submit(l, "", &ledger.CreateOrder{Currency: "USD", Lines: []ledger.OrderLineInput{tc.line}})
			if walletd.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", name, err, tc.code)
			}
		}
		_, err := submit(l, "", &ledger.CreateOrder{Currency: "EUR", Lines: []ledger.OrderLineInput{{VariationID: p.variations[0]}}})
		wantCode(t, err, walletd.ECurrencyMismatch)
		// The catalogue's price, given, is accepted.
		mustSubmit(t, l, "", &ledger.CreateOrder{Currency: "USD", Lines: []ledger.OrderLineInput{{VariationID: p.variations[0], Price: "49.00"}}})
	})
	t.Run("Update", func(t *testing.T) {
		res := mustSubmit(t, l, "", &ledger.UpdateVariation{ID: p.variations[0], Price: str("45.5"), SKU: str("R1")})
		if v := res.Object.(*walletd.Variation); v.Price.String() != "45.50" || v.SKU != "R1" {
			t.Fatalf("variation %+v", v)
		}
		// The old SKU is free again, the new one taken.
		_, err := submit(l, "", &ledger.UpdateVariation{ID: p.variations[1], SKU: str("R1")})
		wantCode(t, err, walletd.EConflict)
		mustSubmit(t, l, "", &ledger.UpdateVariation{ID: p.variations[1], SKU: str("RESET-1-100K")})
		up := mustSubmit(t, l, "", &ledger.UpdateProduct{ID: p.id, Name: str("Reset"), Variations: []ledger.VariationInput{
			{ChallengeType: "2 Step", AccountSize: "$200,000", Price: "99"},
			{ID: p.variations[2], Enabled: boolp(false)},
		}}).Object.(*walletd.Product)
		if up.Name != "Reset" || len(up.VariationIDs) != 4 || up.VariationIDs[3] != 5 || variation(t, l, p.variations[2]).Enabled {
			t.Fatalf("product %+v", up)
		}
		for name, tc := range map[string]struct {
			cmd  walletd.Command
			code string
		}{
			"Attributes":     {&ledger.UpdateProduct{ID: p.id, Variations: []ledger.VariationInput{{ID: p.variations[0], ChallengeType: "3 Step"}}}, walletd.EInvalid},
			"SamePair":       {&ledger.UpdateProduct{ID: p.id, Variations: []ledger.VariationInput{{ChallengeType: "1 Step", AccountSize: "$100,000", Price: "1"}}}, walletd.EConflict},
			"Nothing":        {&ledger.UpdateProduct{ID: p.id}, walletd.EInvalid},
			"UnknownProduct": {&ledger.UpdateProduct{ID: 99, Name: str("x")}, walletd.ENotFound},
			"OtherProduct":   {&ledger.UpdateVariation{ID: p.variations[0], ProductID: 99, Price: str("1")}, walletd.ENotFound},
			"ZeroPrice":      {&ledger.UpdateVariation{ID: p.variations[0], Price: str("0")}, walletd.EInvalidAmount},
			"EmptyPrice":     {&ledger.UpdateVariation{ID: p.variations[0], Price: str("")}, walletd.EInvalidAmount},
			"TooPrecise":     {&ledger.CreateProduct{Name: "x", Currency: "USD", Variations: []ledger.VariationInput{{ChallengeType: "a", AccountSize: "b", Price: "0.001"}}}, walletd.EInvalidAmount},
			"NoVariations":   {&ledger.CreateProduct{Name: "x", Currency: "USD"}, walletd.EInvalid},
			"NoName":         {&ledger.CreateProduct{Currency: "USD", Variations: []ledger.VariationInput{{ChallengeType: "a", AccountSize: "b", Price: "1"}}}, walletd.EInvalid},
			"Currency":       {&ledger.CreateProduct{Name: "x", Currency: "XXX", Variations: []ledger.VariationInput{{ChallengeType: "a", AccountSize: "b", Price: "1"}}}, walletd.EInvalidCurrency},
			"SpaceAttr":      {&ledger.CreateProduct{Name: "x", Currency: "USD", Variations: []ledger.VariationInput{{ChallengeType: " a", AccountSize: "b", Price: "1"}}}, walletd.EInvalid},
		} {
			_, err := submit(l, "", tc.cmd)
			if walletd.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", name, err, tc.code)
			}
		}
	})
	t.Run("DisableAndDelete", func(t *testing.T) {
		// A disabled variation, or one of a disabled product, is not orderable.
		_, err := submit(l, "", &ledger.CreateOrder{Currency: "USD", Lines: []ledger.OrderLineInput{{VariationID: p.variations[2]}}})
		wantCode(t, err, walletd.EConflict)
		mustSubmit(t, l, "", &ledger.UpdateProduct{ID: p.id, Enabled: boolp(false)})
		_, err = submit(l, "", &ledger.CreateOrder{Currency: "USD", Lines: []ledger.OrderLineInput{{VariationID: 5}}})
		wantCode(t, err, walletd.EConflict)
		mustSubmit(t, l, "", &ledger.UpdateProduct{ID: p.id, Enabled: boolp(true)})
		// Referenced by an order: only disabled, never deleted.
		_, err = submit(l, "", &ledger.DeleteVariation{ID: p.variations[1]})
		wantCode(t, err, walletd.EConflict)
		res := mustSubmit(t, l, "", &ledger.DeleteVariation{ID: 5, ProductID: p.id})
		if v := res.Object.(*walletd.Variation); !v.Deleted {
			t.Fatalf("variation %+v", v)
		}
		_, err = submit(l, "", &ledger.DeleteVariation{ID: 5})
		wantCode(t, err, walletd.ENotFound)
		_, err = submit(l, "", &ledger.CreateOrder{Currency: "USD", Lines: []ledger.OrderLineInput{{VariationID: 5}}})
		wantCode(t, err, walletd.ENotFound)
		// Ids are never reused.
		next := mustSubmit(t, l, "", &ledger.CreateProduct{Name: "Other", Currency: "USD",
			Variations: []ledger.VariationInput{{ChallengeType: "a", AccountSize: "b", Price: "1"}}}).Object.(*walletd.Product)
		if next.ID != 6 || next.VariationIDs[0] != 7 {
			t.Fatalf("next product %+v, want 6 and variation 7", next)
		}
	})
	l.Reopen(t)
	if v := variation(t, l, p.variations[1]); v.OrderLines != 1 || v.SKU != "RESET-1-100K" {
		t.Fatalf("variation after restart %+v", v)
	}
	_, err := submit(l, "", &ledger.UpdateVariation{ID: p.variations[0], SKU: str("RESET-1-100K")})
	wantCode(t, err, walletd.EConflict)
	verifies(t, l)
}
