# The Makefile is the project's interface: `make help` lists every routine action.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO            ?= go
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
# The OpenAPI document and redocly, installed with dynalite by npm ci from local/package-lock.json.
OPENAPI       := pkg/apigw/openapi.yaml
REDOCLY       := REDOCLY_SUPPRESS_UPDATE_NOTICE=true local/node_modules/.bin/redocly

export PORT DYNAMODB_PORT DYNAMODB_ENDPOINT

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  \033[36m%-28s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

## ---- local stack ----

.PHONY: run
run: $(DYNALITE) bin/docs/index.html ## Start dynalite, seed the demo data and serve the API (and /docs, /openapi.yaml) on 127.0.0.1:$PORT
	$(GO) run ./local/cmd/run -port $(PORT) -dynamodb-port $(DYNAMODB_PORT) -fixtures $(FIXTURES)

.PHONY: seed
seed: ## Load FIXTURES into $DYNAMODB_ENDPOINT, creating tables if missing (idempotent)
	$(GO) run ./local/cmd/seed -endpoint $(DYNAMODB_ENDPOINT) -fixtures $(FIXTURES)

.PHONY: invoke
invoke: bin/local/bootstrap $(RIE) ## Run the built bootstrap under the Lambda emulator with EVENT, as sam local invoke does
	@$(GO) run ./local/cmd/invoke -bootstrap bin/local/bootstrap -rie $(RIE) -endpoint $(DYNAMODB_ENDPOINT) -event $(EVENT)

$(DYNALITE): local/package.json local/package-lock.json
	cd local && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(RIE):
	GOBIN=$(LOCAL_BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# Debian's chromium, for the test that opens the API reference; installed only where missing and
# where apt-get runs as root (CI's machines), otherwise that test says how and skips.
.PHONY: chromium
chromium: ## Install headless Chromium for the API reference test (apt-get, as root) if missing
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing and cannot be installed here (apt-get install -y chromium, as root): the API reference test will skip"; fi

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

.PHONY: test
test: $(DYNALITE) $(RIE) chromium ## Run every test: unit, handler, integration (dynalite, moto), emulator, template, fuzz corpus
	$(GO) test -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory lint-template

.PHONY: lint
lint: ## gofmt, go vet, cfn-lint and the OpenAPI lint
	@unformatted=$$(gofmt -l functions pkg local); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(MAKE) --no-print-directory lint-template
	$(MAKE) --no-print-directory lint-openapi

.PHONY: lint-template
lint-template: ## cfn-lint on template.yaml (required under CI=true)
	@if command -v cfn-lint >/dev/null; then cfn-lint template.yaml && echo "cfn-lint: template.yaml clean"; \
	elif [ "$${CI:-}" = "true" ]; then echo "cfn-lint is required under CI=true but is not installed" >&2; exit 1; \
	else echo "cfn-lint not installed: skipping the template lint (pip install cfn-lint)"; fi

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
	rm -rf bin .aws-sam local/bin local/node_modules
