# The Makefile is the project's interface: `make help` lists every routine action.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO            ?= go
ENGINE        ?= dynalite
PORT          ?= 3000
DYNAMODB_PORT ?= 8000
DYNAMODB_ENDPOINT ?= http://127.0.0.1:$(DYNAMODB_PORT)
FIXTURES      ?= local/fixtures/demo.json
EVENT         ?= events/update-success.json
FUZZTIME      ?= 30s
BENCH_FLAGS   ?=
STACK_NAME    ?= phone-numbers

FUNCTION_PKG  := ./functions/update-phone-number
GO_BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w -buildid="
LOCAL_BIN     := $(CURDIR)/local/bin
# A stamp, not node_modules/.bin/dynalite itself: npm gives installed files fixed old dates.
DYNALITE      := local/node_modules/.installed
RIE           := $(LOCAL_BIN)/aws-lambda-rie
# The emulator's module publishes no tagged release on the module proxy: pin the commit.
RIE_VERSION   := v0.0.0-20261030222936-bef5c4ba774d
# staticcheck, run by make lint through the module proxy at this version; it fails on any finding.
STATICCHECK_VERSION := v0.8.2
# The OpenAPI document and redocly, installed with dynalite by npm ci from local/package-lock.json.
OPENAPI       := pkg/apigw/openapi.yaml
REDOCLY       := REDOCLY_SUPPRESS_UPDATE_NOTICE=true local/node_modules/.bin/redocly
GO_VERSION    := $(shell sed -n 's/^go //p' go.mod)
# The project's own Python virtualenv (make python-tools): its tools are used when not on PATH.
VENV_BIN      := $(CURDIR)/local/.venv/bin

export PORT DYNAMODB_PORT DYNAMODB_ENDPOINT

.PHONY: help
help: ## List the targets
	@if [ -t 1 ]; then on=$$(printf '\033[36m'); off=$$(printf '\033[0m'); else on=; off=; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  %s%-28s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

## ---- prerequisites: one line each, saying what is missing and how to install it ----

.PHONY: need-go need-node
need-go:
	@command -v $(GO) >/dev/null || { echo "go is missing: this project needs Go $(GO_VERSION) or newer (go.mod); install it from https://go.dev/doc/install (macOS: brew install go)" >&2; exit 1; }

need-node:
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "node or npm is missing: dynalite needs Node.js 18 or newer with npm; install it (Debian/Ubuntu: apt-get install nodejs npm; macOS: brew install node)" >&2; exit 1; }

## ---- local stack ----

# Built, then exec'd: make's child is the server itself, which stops everything it started and
# exits 0 on Ctrl-C, SIGTERM or SIGHUP (`go run` would leave it behind on SIGTERM).
.PHONY: run
run: need-go $(if $(filter dynalite,$(ENGINE)),$(DYNALITE)) bin/docs/index.html ## Start ENGINE (dynalite, or moto), seed the demo data and serve the API (and /docs, /openapi.yaml) on 127.0.0.1:$PORT
	@$(GO) build -o $(LOCAL_BIN)/run ./local/cmd/run
	@exec $(LOCAL_BIN)/run -engine $(ENGINE) -port $(PORT) -dynamodb-port $(DYNAMODB_PORT) -fixtures $(FIXTURES)

.PHONY: seed
seed: need-go ## Load FIXTURES into $DYNAMODB_ENDPOINT, creating tables if missing (idempotent)
	@$(GO) build -o $(LOCAL_BIN)/seed ./local/cmd/seed
	@$(LOCAL_BIN)/seed -endpoint $(DYNAMODB_ENDPOINT) -fixtures $(FIXTURES)

.PHONY: invoke
invoke: need-go bin/local/bootstrap $(RIE) ## Run the built bootstrap under the Lambda emulator with EVENT, as sam local invoke does
	@$(GO) build -o $(LOCAL_BIN)/invoke ./local/cmd/invoke
	@$(LOCAL_BIN)/invoke -bootstrap bin/local/bootstrap -rie $(RIE) -endpoint $(DYNAMODB_ENDPOINT) -event $(EVENT)

$(DYNALITE): local/package.json local/package-lock.json | need-node
	cd local && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(RIE): | need-go
	GOBIN=$(LOCAL_BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# Debian's chromium, for the test that opens the API reference; installed only where missing and
# where apt-get runs as root (CI's machines), otherwise that test says how and skips.
.PHONY: chromium
chromium: ## Install headless Chromium for the API reference test (apt-get, as root) if missing
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing and cannot be installed here (apt-get install -y chromium, as root): the API reference test will skip"; fi

.PHONY: python-tools
python-tools: need-go ## Install moto_server and cfn-lint (pinned) into local/.venv, for make test and ENGINE=moto
	@$(GO) run ./local/cmd/test -install-python-tools

.PHONY: tools
tools: $(DYNALITE) $(RIE) chromium ## Install the local tooling (dynalite, redocly, the Lambda emulator, chromium)

## ---- build ----

.PHONY: build
build: bin/arm64/bootstrap ## Build the deployable arm64 bootstrap into bin/arm64/
	@ls -l bin/arm64/bootstrap

.PHONY: bin/arm64/bootstrap
bin/arm64/bootstrap:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GO_BUILD_FLAGS) -o $@ $(FUNCTION_PKG)

.PHONY: bin/local/bootstrap
bin/local/bootstrap:
	@CGO_ENABLED=0 GOOS=linux $(GO) build $(GO_BUILD_FLAGS) -o $@ $(FUNCTION_PKG)

# Called by `sam build` (BuildMethod: makefile), which sets ARTIFACTS_DIR to the function's build
# folder. Without it the bootstrap would land in /bootstrap: refuse, and say what to run instead.
ARTIFACTS_DIR_MISSING := ARTIFACTS_DIR is not set. This is the build step sam build runs and it sets ARTIFACTS_DIR.   By hand run `make build` (bin/arm64/bootstrap) or give a folder: make build-UpdatePhoneNumberFunction ARTIFACTS_DIR=/tmp/out
.PHONY: build-UpdatePhoneNumberFunction
build-UpdatePhoneNumberFunction:
	$(if $(strip $(ARTIFACTS_DIR)),,$(error $(ARTIFACTS_DIR_MISSING)))
	@mkdir -p "$(ARTIFACTS_DIR)"
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GO_BUILD_FLAGS) -o "$(ARTIFACTS_DIR)/bootstrap" $(FUNCTION_PKG)

## ---- quality ----

# local/cmd/test builds first, then runs the tests phase by phase (unit, integration on dynalite,
# on moto, emulator, template, with cfn-lint), printing each phase's counts and time, and ends
# with a summary naming anything skipped for a missing tool and how to install it.
.PHONY: test
test: need-go $(DYNALITE) $(RIE) chromium ## Run every test: unit, handler, integration (dynalite, moto), emulator, template, fuzz corpus
	@$(GO) run ./local/cmd/test

.PHONY: lint
lint: need-go ## gofmt, go vet, staticcheck, a darwin/arm64 build, the README's Go version, cfn-lint, the OpenAPI lint
	@unformatted=$$(gofmt -l functions pkg local); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	@grep -q "Go $(GO_VERSION)" README.md || { echo "README.md does not name Go $(GO_VERSION), the version go.mod requires" >&2; exit 1; }
	$(MAKE) --no-print-directory lint-template
	$(MAKE) --no-print-directory lint-openapi

.PHONY: lint-template
lint-template: ## cfn-lint on template.yaml (required under CI=true)
	@export PATH="$$PATH:$(VENV_BIN)"; \
	if command -v cfn-lint >/dev/null; then cfn-lint template.yaml && echo "cfn-lint: template.yaml clean"; \
	elif [ "$${CI:-}" = "true" ]; then echo "cfn-lint is missing, and CI=true requires it: run make python-tools, or pip install 'cfn-lint==1.51.0'" >&2; exit 1; \
	else echo "cfn-lint is missing: skipping the template lint; run make python-tools, or pip install 'cfn-lint==1.51.0'"; fi

.PHONY: lint-openapi
lint-openapi: $(DYNALITE) ## Lint the OpenAPI document pkg/apigw/openapi.yaml with redocly (recommended-strict)
	$(REDOCLY) lint --config local/redocly.yaml $(OPENAPI)

.PHONY: docs
docs: bin/docs/index.html ## Build the HTML API reference from pkg/apigw/openapi.yaml into bin/docs/ (served at /docs by make run)

# The same command as apidocs.Build, which builds the page when make run's /docs finds none.
bin/docs/index.html: $(OPENAPI) local/redocly.yaml $(DYNALITE)
	$(REDOCLY) build-docs --config local/redocly.yaml --inlineBundle $(OPENAPI) --output $@

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s)
	$(GO) test -run='^$$' -fuzz='^FuzzValidate$$' -fuzztime=$(FUZZTIME) ./pkg/webhook/
	$(GO) test -run='^$$' -fuzz='^FuzzParseUpdateInput$$' -fuzztime=$(FUZZTIME) ./pkg/apigw/
	$(GO) test -run='^$$' -fuzz='^FuzzHandler$$' -fuzztime=$(FUZZTIME) ./pkg/apigw/

.PHONY: attempts
attempts: $(DYNALITE) ## Measure the storage retry policy under 32 and 64 concurrent clients on ENGINE (local/cmd/attempts/README.md)
	$(GO) run ./local/cmd/attempts -engine $(ENGINE) $(ATTEMPTS_FLAGS)

.PHONY: bench
bench: ## Measure the function against same-work references (see local/cmd/bench/README.md); flags in BENCH_FLAGS
	@# Installing the tools prints to stderr: stdout is the table, or with -json the JSON rows only.
	@$(MAKE) --no-print-directory tools >&2
	@$(GO) run ./local/cmd/bench -go $(GO) -rie $(RIE) $(BENCH_FLAGS)

## ---- deploy ----

.PHONY: deploy
deploy: ## sam build && sam deploy (uses samconfig.toml)
	sam build && sam deploy

.PHONY: deploy-rehearsal
deploy-rehearsal: $(RIE) ## Rehearse sam build + deploy on moto, no AWS account: create, PATCH the stack's tables, update, delete, adopt
	@$(GO) run ./local/cmd/deploy-rehearsal -rie $(RIE)

.PHONY: clean
clean: ## Remove build output and installed local tooling
	rm -rf bin .aws-sam local/bin local/node_modules local/.venv
