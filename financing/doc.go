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
// Decide). Service keeps the settings and the one request per order or
// top-up in webhooks.db (Store) and logs each request it sends in the
// inbound log. The postbacks go through the shared inbound pipeline
// (webhooks/inbound) as its wegetfinancing gateway (Adapter): verified
// with the settings' credentials, recorded and deduplicated, answered
// "OK" once recorded, then applied by an Applier (LedgerApplier: the
// ledger's writer) in the pipeline's workers, which retry errors with
// backoff and dead-letter what is for review.
package financing
