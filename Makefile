# walletd's everyday tasks. CI runs .ci/run, which does what `make ci` does.
GO ?= go

.PHONY: build test lint bench fuzz ci run

build:
	$(GO) build -o bin/walletd ./cmd/walletd

run:
	$(GO) run ./cmd/walletd serve

test:
	$(GO) test -race -count=1 ./...

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./ledger/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseAmount -fuzztime 30s ./ledger/
	$(GO) test -run '^$$' -fuzz FuzzCanonical -fuzztime 30s ./ledger/
	$(GO) test -run '^$$' -fuzz FuzzExportReader -fuzztime 30s ./ledger/
	$(GO) test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime 30s ./http/
	$(GO) test -run '^$$' -fuzz FuzzParseTimeParam -fuzztime 30s ./projections/
	$(GO) test -run '^$$' -fuzz FuzzCursor -fuzztime 30s ./projections/
	for f in FuzzParseCIDRs FuzzValidateURL FuzzParseSchedule FuzzParseRetryAfter; do \
		$(GO) test -run '^$$' -fuzz $$f -fuzztime 30s ./webhooks/ || exit 1; done

ci:
	bash .ci/run
