# walletd's everyday tasks. CI runs .ci/run, which does what `make ci` does.
GO ?= go

.PHONY: build test lint bench fuzz fuzz-list ci run

build:
	$(GO) build -o bin/walletd ./cmd/walletd

run:
	$(GO) run ./cmd/walletd serve

test:
	$(GO) test -race -count=1 ./...

GOLANGCI_VERSION ?= v2.15.0

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...
	command -v golangci-lint >/dev/null || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	golangci-lint run ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./ledger/...

# Every fuzz target in the tree, as package:Target (docs/testing.md says
# what each covers). `make fuzz-list` fails when this list and the tree
# differ, so a target added, moved or removed is not silently skipped.
FUZZ_TARGETS = \
	.:FuzzCheckRawJSON \
	.:FuzzCheckText \
	.:FuzzMoney \
	.:FuzzParseAmount \
	.:FuzzStorefrontID \
	./cmd/walletd:FuzzByteSize \
	./cmd/walletd:FuzzParseCheckpoints \
	./events:FuzzParseSubject \
	./financing:FuzzParseAnswer \
	./financing:FuzzParsePostback \
	./financing:FuzzVerifySignature \
	./events/bus:FuzzIdentityInput \
	./http:FuzzDecodeJSON \
	./http:FuzzDecodePost \
	./http:FuzzEntryAnswer \
	./http:FuzzParsePaymentLink \
	./http:FuzzParseResetFeeRequest \
	./http:FuzzParseReturnLink \
	./http/plugin:FuzzParseObject \
	./http/plugin:FuzzParseOrderData \
	./http/plugin:FuzzParseToken \
	./ledger:FuzzCanonical \
	./ledger:FuzzFeatureParsers \
	./ledger:FuzzParseKSUID \
	./ledger/export:FuzzExportReader \
	./ledger/sqlite:FuzzHistoryBounds \
	./ledger/sqlite:FuzzParseEntryTime \
	./projections:FuzzCursor \
	./projections:FuzzParseTimeParam \
	./webhooks:FuzzParseCIDRs \
	./webhooks:FuzzParseRetryAfter \
	./webhooks:FuzzParseSchedule \
	./webhooks:FuzzValidateURL \
	./webhooks/inbound:FuzzGenericEvent \
	./webhooks/inbound:FuzzPayPalEvent \
	./webhooks/inbound:FuzzPayPalHeaders \
	./webhooks/inbound:FuzzStripeEvent \
	./webhooks/inbound:FuzzStripeSignature

# Time per target; before a release: make fuzz FUZZTIME=10m.
FUZZTIME ?= 30s
# Go minimises each new interesting input for up to 60 s by default, and
# FuzzDecodeJSON and FuzzExportReader spent most of their runs doing so
# (issue 18); 5 s leaves the time to fuzzing.
FUZZMINIMIZETIME ?= 5s

fuzz: fuzz-list
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) "$${t%%:*}"; \
	done

fuzz-list:
	@found=$$(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | \
		sed 's|^\(.*\)/[^/]*:func \(.*\)$$|\1:\2|' | sort | tr '\n' ' '); \
	listed=$$(printf '%s\n' $(FUZZ_TARGETS) | sort | tr '\n' ' '); \
	if [ "$$found" != "$$listed" ]; then \
		echo "FUZZ_TARGETS in the Makefile: $$listed"; echo "fuzz targets in the tree:   $$found"; exit 1; \
	fi

ci:
	bash .ci/run
