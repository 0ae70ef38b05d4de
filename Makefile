# Every target a person, a test or a workflow runs. The first use creates .venv and
# installs the pinned dependencies; later uses skip that unless pyproject/lock changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0
# Where torch comes from: empty = pip's default; CI on GitHub sets the CPU wheel index.
TORCH_INDEX ?=
OVERRIDES ?=
PYTEST_ARGS ?=

# Stages run as `python -m shipyard.stages.*`: the venv must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: help setup params check-params repro test test-fast lint format lock push pull bench-pipeline clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first and exact: an open range with no torch present pulls the newest CUDA build.
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e '.[dev]'
	@touch $@

setup: $(STAMP) ## Create .venv and install pinned dependencies (idempotent)

params: $(STAMP) ## Compose conf/ into params.yaml (OVERRIDES="model.lr=0.01 data=synthetic")
	shipyard params $(OVERRIDES)

check-params: $(STAMP) ## Fail if params.yaml is out of sync with conf/
	shipyard check-params

repro: $(STAMP) ## Run the pipeline (dvc repro)
	dvc repro

test: $(STAMP) ## Run the whole test suite, end-to-end tests included
	pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## Unit tests only (skips the slow end-to-end runs)
	pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint and format check; workflows: schema and security audit
	ruff check .
	ruff format --check .
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yaml
	zizmor --offline .github/workflows

format: $(STAMP) ## Apply ruff's formatting and fixes
	ruff format .
	ruff check --fix .

lock: $(STAMP) ## Re-pin requirements/lock.txt from the current .venv
	pip freeze --exclude-editable | sed -E 's/^(torch==[0-9.]+)\+.*/\1/' > requirements/lock.txt

push: $(STAMP) ## Push data, features and models to the DVC remote
	dvc push

pull: $(STAMP) ## Pull data, features and models from the DVC remote
	dvc pull

bench-pipeline: $(STAMP) ## Time full and no-op dvc repro; list stages a model.* change reruns
	python benchmarks/pipeline.py

clean: ## Remove the venv and pipeline outputs in the workspace (the DVC cache stays)
	rm -rf $(VENV) data/raw data/features data/predictions models/mlp models/bundle models/*.skops
