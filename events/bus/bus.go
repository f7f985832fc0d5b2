// Package bus carries walletd's events over NATS JetStream: the embedded
// server, the stream, the outbox relay that publishes to it, and the
// Consumer that readers of the stream (the projector, the webhook
// dispatcher) apply it through.
//
// Every long-running part has the same lifecycle: set the fields, Open
// starts its goroutines (failing fast on what can be checked at once),
// Close stops them and waits.
package bus
