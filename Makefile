# zk2kraft — see README.md. Every target that needs ZooKeeper installs it first (scripts/setup.sh).
GO        ?= go
PKGS      := ./...
BIN       := bin/zk2kraft
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# Integration tests share 2 cores with ZooKeeper ensembles: run packages one at a time.
TESTFLAGS ?= -p 1 -timeout 30m

.PHONY: all build setup test test-short test-faults bench bench-scale fuzz fuzz-brief demo lint clean generate

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/zk2kraft

setup:
	./scripts/setup.sh

generate:
	$(GO) generate ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Everything, integration tests against real ZooKeeper ensembles included.
test: setup lint
	$(GO) test $(TESTFLAGS) $(PKGS)

# Unit tests only: no ZooKeeper, no Docker.
test-short:
	$(GO) test -short $(PKGS)

# The fault matrix (e2e/faults): the whole migration under each fault, to
# parity. `make test` runs it too.
test-faults: setup
	$(GO) test $(TESTFLAGS) -v -run 'TestFaultMatrix' ./e2e/faults

# Benchmarks named in the issues; sized for 2 cores. Figures go to stdout.
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKGS)

bench-scale: setup
	ZK2KRAFT_SCALE=1 $(GO) test -run '^$$' -bench Scale -benchtime 1x -timeout 90m $(PKGS)

# Every fuzz target (grep "func Fuzz"), FUZZTIME each (default 20s).
fuzz:
	./scripts/fuzz.sh $${FUZZTIME:-20s}

# The same for 3s each: what CI runs after make test (.ci/run).
fuzz-brief:
	./scripts/fuzz.sh 3s

# The main job: a seeded local ensemble, migrated (see README).
demo: setup build
	./$(BIN) demo

clean:
	rm -rf bin
