# koban — see scripts/test.sh for what `make test` sets up.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/koban-csirt/koban/internal/app.version=$(VERSION)
FUZZTIME ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test test-pg test-browser lint fuzz clean

all: build

build:
	go build -ldflags "$(LDFLAGS)" -o bin/koban ./cmd/koban

run:
	go run ./cmd/koban serve

# Everything: race detector, PostgreSQL conformance, browser tests.
# PKGS and GOTESTFLAGS narrow it, e.g. make test PKGS=./internal/ticket/... GOTESTFLAGS=-v
test:
	scripts/test.sh

test-pg:
	PKGS=./internal/store/... KOBAN_TEST_REQUIRE=postgres scripts/test.sh

test-browser:
	PKGS=./internal/app/... GOTESTFLAGS="-run TestBrowser $(GOTESTFLAGS)" KOBAN_TEST_REQUIRE=browser scripts/test.sh

lint:
	@unformatted=$$(gofmt -l .); \
	if [[ -n "$$unformatted" ]]; then echo "gofmt -l: not formatted:"; echo "$$unformatted"; exit 1; fi
	go vet -tags browser ./...
	go run $(STATICCHECK) -tags browser ./...

# Runs every Fuzz function for FUZZTIME (default 30s) each.
fuzz:
	@go test -list '^Fuzz' ./... | \
	awk '/^Fuzz/ { names = names " " $$1; next } /^ok / { if (names != "") print $$2 names; names = "" }' | \
	while read -r pkg names; do \
		for name in $$names; do \
			echo "fuzz: $$pkg $$name for $(FUZZTIME)"; \
			go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

clean:
	rm -rf bin
