package ledger

import (
	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// maxBalance is the largest balance a wallet may hold.
var maxBalance = decimal.New(1, walletd.MaxAmountDigits)
