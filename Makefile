GO        ?= go
BIN       ?= bin/spdk-agent
PKGS      ?= ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

# The real-SPDK tier's target, made absolute: tests run in their package's
# directory.
ifneq ($(SPDK_TGT),)
override SPDK_TGT := $(abspath $(SPDK_TGT))
export SPDK_TGT
endif

.PHONY: all build test test-spdk difftest demo bench fuzz lint abuse clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

# All tests, race detector on. This is what CI runs. The real-SPDK tier
# (tests named *Real*) runs when SPDK_TGT names an spdk_tgt binary.
test:
	@if [ -z "$$SPDK_TGT" ]; then echo "real-SPDK tier skipped: SPDK_TGT is not set (make test-spdk SPDK_TGT=path/to/spdk_tgt)"; fi
	@if [ -z "$$KUBEBUILDER_ASSETS" ]; then echo "Kubernetes API tier skipped: KUBEBUILDER_ASSETS is not set (export KUBEBUILDER_ASSETS=\$$(hack/kubeassets/build.sh))"; fi
	$(GO) test -race -count=1 $(PKGS)
	cd deploy && $(GO) test -count=1 ./...

# The real-SPDK tier alone; needs SPDK_TGT.
test-spdk:
	@if [ -z "$$SPDK_TGT" ]; then echo "test-spdk: set SPDK_TGT to an spdk_tgt binary" >&2; exit 2; fi
	$(GO) test -race -count=1 -run Real $(PKGS)

# The differential tester: SEEDS random sequences of STEPS calls each,
# sent to the simulator and to a fresh spdk_tgt; needs SPDK_TGT.
SEEDS ?= 20
STEPS ?= 300
difftest:
	@if [ -z "$$SPDK_TGT" ]; then echo "difftest: set SPDK_TGT to an spdk_tgt binary" >&2; exit 2; fi
	$(GO) run ./hack/difftest -spdk-tgt "$$SPDK_TGT" -seeds $(SEEDS) -steps $(STEPS)

# The whole job on the built-in SPDK simulator, then exit.
demo: build
	$(BIN) demo --once

# The load-and-abuse suite against the built agent on the simulator;
# ABUSE_FLAGS=-short is the CI form (SPDK stopped 8 s instead of 60 s).
ABUSE_FLAGS ?=
abuse: build
	$(GO) run ./hack/abuse -bin $(BIN) $(ABUSE_FLAGS)

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
