GO        ?= go
BIN       ?= bin/spdk-agent
PKGS      ?= ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test demo bench fuzz lint clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

# All tests, race detector on. This is what CI runs.
test:
	$(GO) test -race -count=1 $(PKGS)
	cd deploy && $(GO) test -count=1 ./...

# The whole job on the built-in SPDK simulator, then exit.
demo: build
	$(BIN) demo --once

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

# Every fuzz target, FUZZTIME each.
fuzz:
	FUZZTIME=$(FUZZTIME) ./hack/fuzz.sh

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck $(PKGS)

clean:
	rm -rf bin
