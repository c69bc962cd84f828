# NDX: `make demo` brings the system up and walks through it; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen

.PHONY: help install tools demo up down status tour test test-unit k8s-check lint proto proto-check docs docs-check bench bench-report chaos soak reliability-report clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-19s %s\n", $$1, $$2}'

install: ## Install uv if missing and the Python workspace (locked versions)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --all-packages --frozen --quiet

tools: ## Install the pinned Node tools (buf)
	@test -x node_modules/.bin/buf || npm install --no-fund --no-audit --silent

demo: install up tour ## Install, start Kafka, the registries and the gateway, and walk through agencies' calls and the audit trail

up: install ## Start Kafka (KRaft), certificates, the three registries and the gateway; seed if empty
	@$(RUN) ndx up

down: ## Stop what `make up` started (data stays in .ndx/)
	@$(RUN) ndx down

status: ## Show what is running
	@$(RUN) ndx status

tour: ## The guided walk-through, agencies calling via the gateway (needs `make up`)
	@bash scripts/tour.sh

test: install ## Run the whole test suite (starts a real Kafka broker and PostgreSQL as needed)
	@$(RUN) pytest

test-unit: install ## Only the tests that need no broker or database
	@$(RUN) pytest -m "not kafka and not postgres"

k8s-check: install ## Render deploy/k8s (pinned kustomize), validate every object, lint the Dockerfiles
	@$(RUN) pytest -q -m deploy tests/deploy

lint: install tools proto-check docs-check ## ruff, mypy (strict), buf lint, and generated code up to date
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) mypy libs/runtime/src libs/refdata/src libs/cli/src services/population/src \
	  services/land/src services/business-registry/src services/gateway/src
	@npx --no-install buf lint

proto: install ## Regenerate Python code from proto/
	@bash scripts/gen_proto.sh

proto-check: proto ## Fail when the committed generated code differs from proto/
	@git diff --exit-code --stat -- libs/contracts/src || \
	  (echo "generated code is out of date: run 'make proto' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- libs/contracts/src)" || \
	  (git status --porcelain -- libs/contracts/src; echo "untracked generated files: run 'make proto' and commit" >&2; exit 1)

docs: install ## Regenerate docs/ from the code (configuration reference, AsyncAPI documents)
	@$(RUN) ndx docs

docs-check: install ## Fail when a generated document in docs/ is out of date
	@$(RUN) ndx docs --check

bench: install ## Every benchmark (about 20 min): figures and ratios in bench/results/, plots and docs/benchmarks.md
	@$(RUN) python bench/run_all.py

bench-report: install ## Render docs/benchmarks.md and its plots from bench/results/ alone
	@$(RUN) python bench/report.py

# The bad-input scenarios live beside the code they attack; `make chaos` runs them with the faults.
BAD_INPUT := tests/gateway/test_properties.py tests/gateway/test_certificates.py \
  tests/gateway/test_policy_reload.py tests/flows/test_poison_events.py \
  libs/cli/tests/test_audit_verify.py
RELIABILITY := NDX_RELIABILITY_RESULTS=$(CURDIR)/bench/results/reliability

chaos: install ## Fault and bad-input scenarios at 10x their test size (about 15 min); renders docs/reliability.md
	@$(RELIABILITY) NDX_CHAOS_SCALE=10 $(RUN) pytest -o timeout=1800 tests/faults $(BAD_INPUT)
	@$(RUN) python bench/reliability_report.py

soak: install ## Ten minutes of mixed traffic through the gateway: RSS, errors, lag, every event accounted; renders docs/reliability.md
	@$(RELIABILITY) $(RUN) python bench/soak.py
	@$(RUN) python bench/reliability_report.py

reliability-report: install ## Render docs/reliability.md from bench/results/reliability/ alone
	@$(RUN) python bench/reliability_report.py

clean: down ## Stop everything and delete local state (.ndx/)
	rm -rf .ndx
