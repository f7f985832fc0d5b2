package walletd

import (
	"errors"
	"fmt"
)

// Error codes. They are the codes API clients see in {"code": "..."}; the
// http package maps each to a status in one table.
const (
	EInvalid             = "invalid_request"
	EInvalidAmount       = "invalid_amount"
	EInvalidCurrency     = "invalid_currency"
	ECurrencyMismatch    = "currency_mismatch"
	EInsufficientFunds   = "insufficient_funds"
	EWalletFrozen        = "wallet_frozen"
	EWalletExists        = "wallet_exists"
	ENotFound            = "not_found"
	EIdempotencyConflict = "idempotency_conflict"
	EConflict            = "conflict"
	EUnavailable         = "unavailable"
	ESpendingLimit       = "spending_limit_exceeded"
	EKYCRequired         = "kyc_required"
	ECodeExpired         = "code_expired"
	ECodeExhausted       = "code_exhausted"
	ECodeUsed            = "code_already_redeemed"
	EInternal            = "internal"
	// EProvider: a third party walletd called (a financing provider)
	// refused or failed; the message carries its reason.
	EProvider = "provider_error"
)

// Error is the one error type of the domain: a machine code and a message
// that is safe to show to the caller.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("ledger: code=%s message=%s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error inside err, "" for nil, and
// EInternal for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the *Error inside err, or a generic
// message for internal errors so that no internals leak to callers.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
