# Ferry: one Makefile for the Go workspace (go.work). Targets loop over MODULES; a module with
# no Go files yet is reported and skipped, never counted as passed.
#
#   make build           go build ./... in every module, then bin/ingester, bin/router,
#                        bin/out_ferry.so (make plugin), bin/ferry-testhost and bin/mkchunk (make testhost)
#   make test            the one test command: deps, check-generate, lint, check-compose, kafka-up,
#                        then go test -race -count=1 ./... in every module against the real broker,
#                        then test-faults
#   make test-faults     the fault suite (e2e/cmd/ferry-faults): the delivery guarantee under killed
#                        processes, broker outages, a broken destination, undeliverable records; on a
#                        broker of its own (FAULTS_KAFKA_PORT); 3 to 4 minutes; ends with `faults: ...`
#   make test-unit       the same go tests with no broker (FERRY_KAFKA_BROKERS unset)
#   make lint            go vet, staticcheck (pinned) and gofmt in every module
#   make generate        protoc with the pinned plugins; rewrites the Go code in proto/
#   make check-generate  fails when the committed generated code is not what generate makes
#   make fuzz            every Fuzz* target for FUZZTIME (10s) each
#   make kafka-up | kafka-down
#   make up | down       the local system (deploy/local/up.sh, down.sh)
#   make check-compose   docker-compose config -q, when docker-compose.yaml exists
#   make bench           the benchmark harness (BENCH.md); bench-quick: about a minute
#   make deps            the Debian packages a fresh machine lacks (test and up run it first)
#   make clean
#
# Pinned tools are installed into .bin/ with `go install pkg@version`, once per version.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

# Every module that go.work uses, in build order; `make lint` fails when the two lists differ.
MODULES := proto internal plugin ingester router e2e bench

BIN := $(CURDIR)/bin
TOOLS := $(CURDIR)/.bin
TEST_OUT := $(CURDIR)/run/test

STATICCHECK_VERSION := v0.8.2
GOTESTSUM_VERSION := v1.13.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
# The generated files name the protoc that made them, so another protoc makes a diff.
PROTOC_VERSION := 3.21.12

KAFKA_PORT ?= $(or $(FERRY_KAFKA_PORT),19092)
# The fault suite stops, freezes and restarts its broker, so it runs one of its own on these
# ports, never the shared one on KAFKA_PORT that other tests use at the same time.
FAULTS_KAFKA_PORT ?= 39092
FAULTS_KAFKA_CONTROLLER_PORT ?= 39093
FUZZTIME ?= 10s
TESTFLAGS ?= -race -count=1

# No VCS stamping: builds in CI clones and in worktrees behave the same. The Go on the
# machine builds everything (no toolchain download behind our back).
export GOFLAGS ?= -buildvcs=false
export GOTOOLCHAIN ?= local
export FERRY_KAFKA_PORT := $(KAFKA_PORT)
export MODULES

EACH_MODULE := $(CURDIR)/tools/each-module.sh
STATICCHECK := $(TOOLS)/staticcheck
GOTESTSUM := $(TOOLS)/gotestsum
PROTOC_GEN_GO := $(TOOLS)/protoc-gen-go
PROTOC_GEN_GO_GRPC := $(TOOLS)/protoc-gen-go-grpc


.PHONY: deps bench bench-quick
.PHONY: all build build-modules binaries plugin testhost test test-unit go-test test-faults lint vet modules-check \
	staticcheck fmt-check generate check-generate fuzz kafka-up kafka-down up down \
	check-compose clean tools

all: build

## build ---------------------------------------------------------------------------------------

build: build-modules binaries plugin testhost

build-modules:
	@$(EACH_MODULE) go build ./...

# The service binaries; a cmd folder that does not exist yet is skipped with a message.
binaries:
	@mkdir -p $(BIN)
	for cmd in ingester/cmd/ingester router/cmd/router; do
	  if ! ls "$$cmd"/*.go >/dev/null 2>&1; then echo "--- $$cmd: not written yet, skipped"; continue; fi
	  echo "--- bin/$${cmd##*/}"
	  (cd "$${cmd%%/*}" && go build -o "$(BIN)/$${cmd##*/}" "./$${cmd#*/}")
	done

plugin:
	@mkdir -p $(BIN)
	echo "--- bin/out_ferry.so"
	cd plugin && go build -buildmode=c-shared -o $(BIN)/out_ferry.so .

# The C test host that loads out_ferry.so as Fluent Bit does, and mkchunk, which turns JSON
# lines into Fluent Bit msgpack chunks for it to replay.
testhost:
	@mkdir -p $(BIN)
	echo "--- bin/ferry-testhost"
	gcc -O2 -Wall -o $(BIN)/ferry-testhost plugin/testhost/testhost.c -ldl -lpthread
	echo "--- bin/mkchunk"
	(cd plugin && go build -o $(BIN)/mkchunk ./cmd/mkchunk)

## test ----------------------------------------------------------------------------------------

# Runs every step even after one fails, so one CI run reports everything; fails at the end if
# any step failed. The last line is the count of tests (a failed step that is not a test counts
# as one failure).
test: deps
	@started=$$SECONDS; failed_steps=()
	rm -rf $(TEST_OUT); mkdir -p $(TEST_OUT)
	step() {
	  local name=$$1 t0=$$SECONDS; shift
	  echo; echo "=== make test: $$name"
	  if "$$@"; then echo "=== $$name: ok ($$((SECONDS - t0))s)"
	  else echo "=== $$name: FAILED ($$((SECONDS - t0))s)"; failed_steps+=("$$name"); fi
	}
	step check-generate $(MAKE) --no-print-directory check-generate
	step lint $(MAKE) --no-print-directory lint
	step check-compose $(MAKE) --no-print-directory check-compose
	step kafka-up $(MAKE) --no-print-directory kafka-up
	step go-test $(MAKE) --no-print-directory go-test FERRY_KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT)
	step test-faults $(MAKE) --no-print-directory test-faults
	echo
	echo "make test: $$((SECONDS - started))s in all; failed steps: $${failed_steps[*]:-none}"
	tools/test-summary.sh "$(TEST_OUT)" "$${failed_steps[@]}"

test-unit:
	@rm -rf $(TEST_OUT); mkdir -p $(TEST_OUT)
	status=0
	env -u FERRY_KAFKA_BROKERS $(MAKE) --no-print-directory go-test || status=1
	if [ $$status -ne 0 ]; then tools/test-summary.sh "$(TEST_OUT)" go-test; else tools/test-summary.sh "$(TEST_OUT)"; fi

# go test in every module through gotestsum: the console shows go test's own output, and the
# JSON events land in run/test/<module>.json for the summary.
go-test: $(GOTESTSUM)
	@mkdir -p $(TEST_OUT)
	echo "FERRY_KAFKA_BROKERS=$${FERRY_KAFKA_BROKERS:-<unset: integration tests skip>}"
	FERRY_LABEL="go test $(TESTFLAGS) ./..." $(EACH_MODULE) sh -c '"$$0" --format standard-quiet --jsonfile "$$1/$$FERRY_MODULE.json" -- $(TESTFLAGS) ./...' \
	  $(GOTESTSUM) $(TEST_OUT)

# The fault suite: real binaries (-race), the real plugin in the C test host, a broker of its own
# that it resets, stops and freezes. It builds what it runs itself (Go's build cache makes that
# cheap after go-test), prints one line per scenario and ends with
#   faults: scenarios=N sent=S delivered=D lost=L duplicates_written=W peak_rss_mib=M
# and fails when an event was lost or written twice, or a scenario's checks failed. The output
# is also kept in run/test/faults.txt.
test-faults: deps
	@mkdir -p $(TEST_OUT)
	cd e2e && go run ./cmd/ferry-faults -kafka-port $(FAULTS_KAFKA_PORT) -kafka-controller-port $(FAULTS_KAFKA_CONTROLLER_PORT) \
	  | tee $(TEST_OUT)/faults.txt

# Debian packages a fresh machine lacks (protoc, Maven, a JRE, docker-compose, gcc...).
deps:
	@tools/install-deps.sh

## bench ---------------------------------------------------------------------------------------

# The benchmark harness (bench/, BENCH.md): real broker, ingester and router, numbers with
# same-run baselines. bench-quick takes about a minute and ends with one `bench: ...` line.
bench: deps kafka-up
	@mkdir -p run
	cd bench && go run ./cmd/ferry-bench -plugin -json $(CURDIR)/run/bench.json

bench-quick: deps kafka-up
	@cd bench && go run ./cmd/ferry-bench -quick

## lint ----------------------------------------------------------------------------------------

lint:
	@status=0
	$(MAKE) --no-print-directory modules-check || status=1
	$(MAKE) --no-print-directory vet || status=1
	$(MAKE) --no-print-directory staticcheck || status=1
	$(MAKE) --no-print-directory fmt-check || status=1
	exit $$status

vet:
	@$(EACH_MODULE) go vet ./...

# A module in go.work but not in MODULES would be skipped by every target without a word.
modules-check:
	@in_work=$$(sed -n 's|^[[:space:]]*\./\([^[:space:]]*\).*|\1|p' go.work | sort)
	in_make=$$(printf '%s\n' $(MODULES) | sort)
	if [ "$$in_work" != "$$in_make" ]; then
	  echo "modules-check: go.work uses {$$(echo $$in_work)} but MODULES in the Makefile lists {$$(echo $$in_make)}; make them agree"; exit 1
	fi
	echo "--- modules-check: MODULES matches go.work"

staticcheck: $(STATICCHECK)
	@$(EACH_MODULE) $(STATICCHECK) ./...

# gofmt over our Go files; the generated *.pb.go are protoc's business.
fmt-check:
	@unformatted=$$(find $(MODULES) -name '*.go' ! -name '*.pb.go' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)
	if [ -n "$$unformatted" ]; then
	  echo "gofmt: these files are not formatted (run gofmt -w on them):"; echo "$$unformatted" | sed 's/^/  /'; exit 1
	fi
	echo "--- gofmt: ok"

## generated code ------------------------------------------------------------------------------

# protoc writes into a scratch folder first; then proto/ gets exactly the files it made, so a
# .pb.go whose .proto was deleted goes away too.
generate: $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
	@command -v protoc >/dev/null || { echo "generate: protoc is not installed; apt-get install protobuf-compiler (Debian 12 ships $(PROTOC_VERSION))"; exit 1; }
	have=$$(protoc --version | awk '{print $$2}')
	if [ "$$have" != "$(PROTOC_VERSION)" ]; then
	  if [ "$${PROTOC_ANY_VERSION:-}" = 1 ]; then
	    echo "generate: WARNING: protoc is $$have, the committed code was made with $(PROTOC_VERSION); the version comments in the .pb.go files will change"
	  else
	    echo "generate: protoc is $$have but the committed code is made with $(PROTOC_VERSION) (Debian 12's protobuf-compiler);"
	    echo "          another version rewrites every file's header. Use protoc $(PROTOC_VERSION), or PROTOC_ANY_VERSION=1 to go on anyway."
	    exit 1
	  fi
	fi
	scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT
	cd proto
	protos=$$(find . -name '*.proto' -not -path './.*' | sed 's|^\./||' | sort)
	[ -n "$$protos" ] || { echo "generate: no .proto files under proto/"; exit 1; }
	protoc -I . \
	  --plugin=protoc-gen-go=$(PROTOC_GEN_GO) --plugin=protoc-gen-go-grpc=$(PROTOC_GEN_GO_GRPC) \
	  --go_out="$$scratch" --go_opt=paths=source_relative \
	  --go-grpc_out="$$scratch" --go-grpc_opt=paths=source_relative \
	  $$protos
	find . -name '*.pb.go' | sed 's|^\./||' | while read -r f; do
	  [ -f "$$scratch/$$f" ] || { echo "generate: removing $$f (its .proto is gone)"; rm -f "$$f"; }
	done
	(cd "$$scratch" && find . -name '*.pb.go' | sed 's|^\./||') | while read -r f; do
	  if ! cmp -s "$$scratch/$$f" "$$f"; then mkdir -p "$$(dirname "$$f")"; cp "$$scratch/$$f" "$$f"; echo "generate: wrote proto/$$f"; fi
	done
	echo "--- generate: proto/ is up to date ($$(echo $$protos | wc -w) .proto files)"

pb_state = find proto -name '*.pb.go' -print0 | sort -z | xargs -0 -r sha256sum

check-generate:
	@before=$$($(pb_state))
	$(MAKE) --no-print-directory generate
	after=$$($(pb_state))
	if [ "$$before" != "$$after" ]; then
	  echo "check-generate: the generated code in proto/ was stale: it did not match its .proto files."
	  echo "                make generate has now rewritten it; review 'git diff proto/' and commit the result."
	  git status --porcelain -- proto/ | sed 's/^/  /' || true
	  exit 1
	fi
	if [ -n "$${CI:-}" ] && [ -n "$$(git status --porcelain -- proto/ 2>/dev/null)" ]; then
	  echo "check-generate: proto/ differs from the commit in CI:"; git status --porcelain -- proto/ | sed 's/^/  /'; exit 1
	fi
	echo "--- check-generate: the committed generated code matches the .proto files"

## fuzz ----------------------------------------------------------------------------------------

fuzz:
	@$(EACH_MODULE) $(CURDIR)/tools/fuzz.sh $(FUZZTIME)

## local system and broker ---------------------------------------------------------------------

kafka-up:
	@deploy/kafka/kafka.sh up

kafka-down:
	@deploy/kafka/kafka.sh down

up: deps build
	@deploy/local/up.sh

down:
	@deploy/local/down.sh

check-compose:
	@if [ ! -f docker-compose.yaml ]; then echo "--- check-compose: no docker-compose.yaml yet, skipped"; exit 0; fi
	command -v docker-compose >/dev/null || { echo "check-compose: docker-compose is not installed; apt-get install docker-compose"; exit 1; }
	docker-compose -f docker-compose.yaml config -q
	echo "--- check-compose: docker-compose.yaml is valid"

## tools ---------------------------------------------------------------------------------------

tools: $(STATICCHECK) $(GOTESTSUM) $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)

# A tool is (re)installed when its binary is missing or older than the stamp of its pinned
# version; a new version in this file means a new stamp, so the next run reinstalls.
go_install = @mkdir -p $(TOOLS); echo "--- installing $(1)@$(2) into .bin/"; \
	GOBIN=$(TOOLS) GOFLAGS= go install $(1)@$(2); touch $@

$(STATICCHECK): $(TOOLS)/.staticcheck-$(STATICCHECK_VERSION)
	$(call go_install,honnef.co/go/tools/cmd/staticcheck,$(STATICCHECK_VERSION))
$(GOTESTSUM): $(TOOLS)/.gotestsum-$(GOTESTSUM_VERSION)
	$(call go_install,gotest.tools/gotestsum,$(GOTESTSUM_VERSION))
$(PROTOC_GEN_GO): $(TOOLS)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
	$(call go_install,google.golang.org/protobuf/cmd/protoc-gen-go,$(PROTOC_GEN_GO_VERSION))
$(PROTOC_GEN_GO_GRPC): $(TOOLS)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
	$(call go_install,google.golang.org/grpc/cmd/protoc-gen-go-grpc,$(PROTOC_GEN_GO_GRPC_VERSION))

$(TOOLS)/.%:
	@mkdir -p $(TOOLS); touch $@

## clean ---------------------------------------------------------------------------------------

# Leaves run/secrets, run/certs and the Kafka cache alone: they are the local system's state
# (deploy/kafka/kafka.sh reset and rm -rf run/ remove those).
clean:
	@rm -rf $(BIN) $(TEST_OUT)
	echo "--- removed bin/ and run/test/"
