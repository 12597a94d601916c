# The two commands a user needs: `make demo` (one erasure end to end on the local emulation)
# and `make test` (every test). Both install what they need on first use.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
STAMP := $(VENV)/.installed-$(shell cksum < tests/requirements.txt | cut -d' ' -f1)
NODE_STAMP := tests/node_modules/.installed
# checkov gets a venv of its own: it pins boto3==1.35.49, which cannot share one with the
# boto3 that moto and the SAM CLI use (tests/requirements.txt).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := $(VENV)/checkov
CHECKOV := $(abspath $(CHECKOV_VENV))/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: setup demo validate fuzz bench test test-rust test-e2e lint build clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/requirements.txt
	touch $@

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

$(NODE_STAMP): tests/package.json
	cd tests && npm install --no-audit --no-fund --silent
	touch $@

## demo: erase the users of events/request.csv (or CSV=path) on the local emulation; PLAN=1
## previews the file first (a plan receipt, read-only), then erases it.
demo: setup
	$(PY) -m tests.demo $(if $(CSV),--csv $(abspath $(CSV))) $(if $(PLAN),--plan) $(if $(JSON),--json)

## validate: check a request file with the workflow's own rules before uploading it (make validate CSV=path).
validate:
	@test -n "$(CSV)" || { echo "usage: make validate CSV=path/to/file.csv"; exit 2; }
	cargo run --quiet --release -p erasure-cli -- validate $(abspath $(CSV))

## fuzz: fuzz the request parser for FUZZ_SECONDS (default 300); not part of `make test`.
FUZZ_SECONDS ?= 300
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	mkdir -p fuzz/corpus/request_csv
	# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
	RUSTC_BOOTSTRAP=1 cargo fuzz run request_csv fuzz/corpus/request_csv tests/corpus -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1

## bench: one table of measured figures (preparation, Pinpoint at the quota, emulation capacity,
## cold starts, zip sizes, cost per million users); about 35 minutes from cold, 5 once built
## (BENCH_ARGS=--no-build); not part of `make test`. Results: BENCHMARKS.md.
bench: setup
	$(PY) -m tests.bench $(BENCH_ARGS)

## test: formatting, lints, unit tests, SDK error mapping, template and ASL checks, end-to-end tests, sam build.
test: setup lint test-rust test-e2e build

## lint: also the template's security scan: cfn-lint, then checkov (any failed check fails; skips
## need a written reason in template.yaml, see docs/SECURITY.md). cfn-lint runs twice: on the SAM
## source, and on what CloudFormation really receives after the SAM transform (run offline), with
## the parameters' extremes: the roles' generated policies and the inlined state machine are only
## there (a list nested in an IAM Resource, a function as a Join delimiter).
TRANSFORMED := .build/transformed
lint: setup $(CHECKOV_STAMP)
	cargo fmt --all -- --check
	cargo clippy --all-targets --quiet -- -D warnings
	cd tests && npx --no-install asl-validator --json-path ../statemachine/erasure.asl.json
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml
	mkdir -p $(TRANSFORMED)
	$(PY) -m tests.cfn.transform -o $(TRANSFORMED)/sample.json
	$(PY) -m tests.cfn.transform --extremes -o $(TRANSFORMED)/largest.json
	$(PY) -m tests.cfn.transform --param PinpointApplicationIds= --param CustomerProfilesDomainNames= --param ReceiptLockMode=COMPLIANCE -o $(TRANSFORMED)/smallest.json
	$(BIN)/cfn-lint $(TRANSFORMED)/sample.json $(TRANSFORMED)/largest.json $(TRANSFORMED)/smallest.json
	$(CHECKOV) -f template.yaml --framework cloudformation --quiet --compact --skip-download

test-rust:
	cargo test --workspace --quiet
	cargo test -p erasure-shared --no-default-features --quiet

test-e2e: setup
	$(PY) -m pytest tests -q

## build: the deployable artefacts, as `sam build` makes them (release, arm64, via cargo lambda).
build: setup
	$(BIN)/sam build --template template.yaml

clean:
	rm -rf .aws-sam .emulation target
