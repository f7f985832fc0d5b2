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

ci:
	bash .ci/run
