# Aduan developer entry points. `make up` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
UV_DIR := $(patsubst %/,%,$(dir $(UV)))
UV_VERSION := 0.13.8
RUN := $(UV) run --frozen
PROTO_DIR := protos
GEN_DIR := libs/aduan-platform/src
PROTOS := $(wildcard $(PROTO_DIR)/aduan/v1/*.proto)

.PHONY: help uv sync up demo token test lint fmt protos protos-check unit integration e2e faults bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# The hint goes to stderr, so that `$(make token ...)` captures the token alone.
uv: ## Install uv with pip when it is missing
	@command -v $(UV) >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user "uv==$(UV_VERSION)" \
		|| $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@if ! command -v uv >/dev/null 2>&1 && [ -x "$(UV)" ]; then \
		echo "uv is installed at $(UV), which is not on your PATH; add it with: export PATH=\"$(UV_DIR):\$$PATH\"" >&2; \
	fi

sync: uv ## Install the workspace from the committed lock file
	$(UV) sync --frozen --all-packages

up: sync ## Run NATS, the four services and the desk locally (Ctrl-C stops everything)
	$(RUN) aduan up

demo: uv ## File a sample complaint on the running stack (`make up`) and read it back
	$(RUN) aduan demo

# Silent, so that `export ADUAN_TOKEN=$(make token ROLE=auditor)` captures the token alone.
token: uv ## A development token for the running stack: make token ROLE=officer OFFICE=KANTAH.32.73
	@$(if $(ROLE),,$(error ROLE is required, e.g. make token ROLE=officer OFFICE=KANTAH.32.73))
	@$(RUN) aduan token $(foreach role,$(ROLE),--role $(role))$(if $(OFFICE), --office $(OFFICE))

test: sync lint protos-check ## Lint, then unit, integration, chart and e2e tests
	$(RUN) pytest

unit: sync ## Unit tests only (no network)
	$(RUN) pytest -m "not integration and not e2e and not faults"

integration: sync
	$(RUN) pytest -m integration

e2e: sync
	$(RUN) pytest tests/e2e

faults: sync ## The fault suite at full size (more load, longer faults; about 20 minutes)
	ADUAN_FAULTS_SIZE=full $(RUN) pytest -m faults --timeout 1800 -v -s

lint: sync ## ruff, mypy and the import contracts (lint-imports)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports

fmt: sync
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

protos: sync ## Regenerate the committed protobuf and gRPC code
	$(RUN) python -m aduan_devtools.protogen $(PROTO_DIR) $(GEN_DIR)

protos-check: sync ## Fail when the committed generated code is stale
	$(RUN) python -m aduan_devtools.protogen --check $(PROTO_DIR) $(GEN_DIR)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

bench: sync ## Run the benchmarks B1-B7 (PostgreSQL ones with ADUAN_TEST_POSTGRES_URL); bench/results/*.json
	$(RUN) python bench/b1_intake.py
	$(RUN) python bench/b2_end_to_end.py
	$(RUN) python bench/b2_end_to_end.py --rate 40
	$(RUN) python bench/b3_rebuild.py
	if [ -n "$$ADUAN_TEST_POSTGRES_URL" ]; then $(RUN) python bench/b3_rebuild.py --store postgresql; fi
	$(RUN) python bench/b4_scale.py
	$(RUN) python bench/b6_boundaries.py
	$(RUN) python bench/b7_text_rules.py
	if [ -n "$$ADUAN_TEST_POSTGRES_URL" ]; then $(RUN) python bench/b5_takeover.py; fi
