package walletd_test

import (
	"encoding/json"
	"testing"

	"github.com/walletd/walletd"
)

func TestShopOrder_Virtual(t *testing.T) {
	meta := func(v string) []walletd.OrderMeta {
		return []walletd.OrderMeta{{Key: walletd.MetaVirtual, Value: json.RawMessage(v)}}
	}
	for _, tc := range []struct {
		name string
		o    walletd.ShopOrder
		want bool
	}{
		{"ResetFee", walletd.ShopOrder{Source: walletd.SourceResetFee}, true},
		{"NoMeta", walletd.ShopOrder{Source: "api"}, false},
		{"True", walletd.ShopOrder{Source: "api", MetaData: meta(`true`)}, true},
		{"TextTrue", walletd.ShopOrder{Source: "api", MetaData: meta(`"true"`)}, true},
		{"Yes", walletd.ShopOrder{Source: "api", MetaData: meta(`"yes"`)}, true},
		{"One", walletd.ShopOrder{Source: "api", MetaData: meta(`1`)}, true},
		{"False", walletd.ShopOrder{Source: "api", MetaData: meta(`false`)}, false},
		{"Zero", walletd.ShopOrder{Source: "api", MetaData: meta(`0`)}, false},
		{"Garbage", walletd.ShopOrder{Source: "api", MetaData: meta(`{`)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.o.Virtual(); got != tc.want {
				t.Fatalf("Virtual() = %v, want %v", got, tc.want)
			}
		})
	}
}
