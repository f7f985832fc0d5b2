// Package financing offers consumer financing through a provider that
// speaks WeGetFinancing's v1 API (shared/seeds/wegetfinancing-custom-
// integration.txt, docs/financing.md): walletd, as the shop, creates a
// financing request for a pending order or top-up (POST
// {api}/merchant/{merchant_id}/requests, Basic auth), the customer
// completes the application at the returned href, and the provider's
// signed postback with the lender's decision is the only signal that pays,
// fails, cancels or refunds the order or top-up.
//
// The protocol parts are pure functions (VerifySignature, ParsePostback,
// Decide) so that an inbound pipeline can run them; Service keeps the
// settings, the one request per order or top-up and the inbound log in
// webhooks.db (Store), and Processor applies recorded postbacks through
// an Applier (LedgerApplier: the ledger's writer), after the postback has
// been answered.
package financing
