package client

import (
	"context"

	"github.com/walletd/walletd"
)

// FinancingService is the financing settings of the API (the admin's
// side of docs/financing.md), for `walletd financing`.
type FinancingService struct {
	Client *Client
}

// FinancingService returns the financing settings of the API.
func (c *Client) FinancingService() *FinancingService { return &FinancingService{Client: c} }

// Settings returns the settings, without the password. Returns EConflict
// when financing is not configured.
func (s *FinancingService) Settings(ctx context.Context) (*walletd.FinancingSettings, error) {
	var out walletd.FinancingSettings
	if _, err := s.Client.do(ctx, &request{method: "GET", path: "/v1/financing/settings"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetSettings stores the settings. Returns EInvalid, EInvalidAmount,
// EInvalidCurrency.
func (s *FinancingService) SetSettings(ctx context.Context, in walletd.FinancingSettingsInput) (*walletd.FinancingSettings, error) {
	var out walletd.FinancingSettings
	if _, err := s.Client.do(ctx, &request{method: "PUT", path: "/v1/financing/settings", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
