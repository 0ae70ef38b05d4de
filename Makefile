# Every target a person, a test or a workflow runs. The first use creates .venv and
# installs the pinned dependencies; later uses skip that unless pyproject/lock changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch's pin, read from the lock (its one source), to install it first.
TORCH_VERSION := $(shell sed -n 's/^torch==//p' requirements/lock.txt)
# Where torch comes from: empty = pip's default; CI on GitHub sets the CPU wheel index.
TORCH_INDEX ?=
OVERRIDES ?=
PYTEST_ARGS ?=
PORT ?= 3000
# Cases per operation and phase for `make contract-test` (schemathesis, deterministic).
EXAMPLES ?= 100
# The bento built for models/bundle's model version (not shipyard:latest, which a failed
# build leaves naming the previous model's bento).
BENTO ?= $$(shipyard bento-tag)
# The model's name in the git-tag registry (GTO): tags <name>@vX.Y.Z and <name>#prod#N.
REGISTRY_NAME ?= shipyard
BASE ?= main
# Where the report's images point: `.` = beside report.md; a URL (the plots branch on
# GitHub); empty = no image links (a fork's job summary: the PNGs are in the artifact).
IMAGE_URL ?= .
BRANCH ?=
PLOTS_FOLDER ?= local
PR ?=
IMAGE ?= ghcr.io/$(shell git config --get remote.origin.url 2>/dev/null | sed -E 's#.*[:/]([^/]+/[^/.]+)(\.git)?$$#\1#' | tr A-Z a-z)
S3_URL ?=
# The service's logs (serve.prediction_log, serve.feedback_log under SHIPYARD_STATE_DIR), or
# STORE: where `make monitor-collect` put them (a folder or s3://).
LOG ?= logs/predictions.jsonl
FEEDBACK ?= logs/feedback.jsonl
STORE ?=
RETRAIN_BRANCH ?= shipyard/retrain
S3_ENDPOINT ?=
DEPLOY_URL ?=
export FORK_NOTE := **From a fork, so not recorded:** this run had no secrets. It reproduced \
without the DVC remote, pushed no outputs, committed no dvc.lock or metrics to the branch and \
posted no comment; the plots are PNG files in the `report` artifact. To record it, a \
maintainer pushes the branch to this repository and opens the pull request from there.
# Targets depend on $(SETUP); `make SETUP= ...` uses the current environment as it is.
SETUP ?= $(STAMP)

# Stages run as `python -m shipyard.stages.*`: the venv must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: help setup params check-params check-lock repro test test-fast lint format lock push \
	pull gate pr-report summary record publish-plots comment commit-status release-plan release-local \
	image register promote deploy abort rollback collect-logs promotion-check validate-deploy \
	kubectl remote-s3 serve bento serve-bento monitor monitor-collect labels drift-issue \
	retrain-pr contract-test bench-pipeline bench-scale bench-monitor bench-serving \
	bench-training predict clean

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first and exact: an open range with no torch present pulls the newest CUDA build.
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e '.[dev]'
	$(MAKE) --no-print-directory kubectl
	@touch $@

setup: $(SETUP) ## Create .venv and install pinned dependencies (idempotent)

params: $(SETUP) ## Compose conf/ into params.yaml (OVERRIDES="model.lr=0.01 data=synthetic")
	shipyard params $(OVERRIDES)

check-params: $(SETUP) ## Fail if params.yaml is out of sync with conf/
	shipyard check-params

check-lock: $(SETUP) ## Fail if dvc.lock does not describe the code, params and commands
	shipyard check-lock

repro: $(SETUP) ## Run the pipeline (dvc repro); report/repro.json: what each stage did, in s
	shipyard repro

test: $(SETUP) ## Run the whole test suite, end-to-end tests included
	pytest $(PYTEST_ARGS)

test-fast: $(SETUP) ## Unit tests only (skips the slow end-to-end runs)
	pytest -m "not slow" $(PYTEST_ARGS)

lint: $(SETUP) ## ruff, workflows (schema, security audit), params.yaml in sync, deploy overlays
	ruff check .
	ruff format --check .
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yaml
	zizmor --offline --persona auditor .github/workflows
	shipyard check-params
	$(MAKE) --no-print-directory validate-deploy

format: $(SETUP) ## Apply ruff's formatting and fixes
	ruff format .
	ruff check --fix .

lock: $(SETUP) ## Re-pin requirements/lock.txt from the current .venv
	pip freeze --exclude-editable | sed -E 's/^(torch==[0-9.]+)\+.*/\1/' > requirements/lock.txt

push: $(SETUP) ## Push data, features, models and the run cache to the DVC remote
	dvc push --run-cache

pull: $(SETUP) ## Pull outputs and the run cache from the DVC remote (what it lacks, repro makes)
	dvc pull --run-cache --allow-missing

remote-s3: $(SETUP) ## Make S3_URL (s3://bucket/path) the default remote, locally (keys: AWS_* env)
	@test -n "$(S3_URL)" || { echo "set S3_URL=s3://bucket/path"; exit 2; }
	dvc remote add --local --force --default s3 $(S3_URL)
	$(if $(S3_ENDPOINT),dvc remote modify --local s3 endpointurl $(S3_ENDPOINT))

gate: $(SETUP) ## Quality gate vs BASE (limits, paired bootstrap) -> report/gate.json; exit 1 on failure
	@mkdir -p report
	shipyard gate --base $(BASE) --output report/gate.json

pr-report: $(SETUP) ## report/report.md + PNG plots vs BASE (what CML posts on a pull request)
	shipyard report --base $(BASE) --output report/report.md --image-url "$(IMAGE_URL)"

record: $(SETUP) ## Commit dvc.lock + git-tracked outputs the reproduction changed (push: BRANCH=)
	shipyard record $(if $(BRANCH),--push-to "$(BRANCH)")

publish-plots: $(SETUP) ## Push report/*.png to the shipyard-plots branch under PLOTS_FOLDER/
	shipyard publish-plots --folder "$(PLOTS_FOLDER)"

summary: ## Append report/report.md to the job summary (GITHUB_STEP_SUMMARY); say what a fork's run lacks
	@test -n "$$GITHUB_STEP_SUMMARY" || { echo "GITHUB_STEP_SUMMARY is not set (a workflow sets it)"; exit 2; }
	cat report/report.md >> "$$GITHUB_STEP_SUMMARY"
	$(if $(filter false,$(SAME_REPO)),@printf '%s\n' "$$FORK_NOTE" | tee -a "$$GITHUB_STEP_SUMMARY")

comment: ## Post report/report.md on pull request PR as one comment, updated in place (CML)
	@test -n "$(PR)" || { echo "set PR=<pull request number>"; exit 2; }
	cml comment update --target=pr/$(PR) --watermark-title=shipyard report/report.md

commit-status: $(SETUP) ## Post report/gate.json's verdict on HEAD (GITHUB_TOKEN, GITHUB_REPOSITORY)
	shipyard commit-status --sha "$$(git rev-parse HEAD)" $(if $(RUN_URL),--url "$(RUN_URL)")

release-plan: $(SETUP) ## Is the bundle's model version new to the registry? (nothing to ship if not)
	shipyard release-plan --name $(REGISTRY_NAME)

release-local: $(SETUP) ## The release up to pushing: dvc status clean, bento built, served, smoke-tested
	shipyard release-check
	$(MAKE) --no-print-directory bento
	b=$(BENTO) && shipyard smoke --bento "$$b"

image: $(SETUP) ## Containerize the bento as IMAGE:<model version> and IMAGE:<commit> (needs Docker)
	v=$$(shipyard model-version) && b=$(BENTO) && bentoml containerize "$$b" \
		-t $(IMAGE):$$v -t $(IMAGE):$$(git rev-parse --short HEAD)
	docker push --all-tags $(IMAGE)

register: $(SETUP) ## Record this commit's model version in the git-tag registry (GTO), stage staging, once
	@# A retried release (the last one failed before promotion) finds HEAD registered.
	v=$$(shipyard model-version) && if [ -n "$$(git tag --points-at HEAD '$(REGISTRY_NAME)@v*')" ]; \
		then echo "register: HEAD is already registered"; \
		else gto register $(REGISTRY_NAME) --push --message "$$v" \
			&& gto assign $(REGISTRY_NAME) --stage staging --push --message "$$v"; fi

# kubectl: the one on PATH, else a pinned release checked against its published sha256,
# installed into the venv by `make setup` (kustomize is built in).
KUBECTL_VERSION := v1.33.0
KUBECTL_SHA256 := 9efe8d3facb23e1618cba36fb1c4e15ac9dc3ed5a2c2e18109e4a66b2bac12dc
# How a release goes out: rolling | canary | blue-green | shadow (deploy/overlays).
STRATEGY := $(or $(STRATEGY),rolling)
# The Kubernetes minor versions every overlay's render must be valid for.
K8S_VERSIONS ?= 1.33 1.34 1.35
# The canary's (or blue-green preview's) own address, for its smoke test.
CANDIDATE_URL ?=
# Prediction logs for `make promotion-check` (the canary's; none = the stable log's shadow rows).
STABLE_LOG ?= build/logs/stable.jsonl
CANARY_LOG ?= $(if $(filter canary,$(STRATEGY)),build/logs/canary.jsonl)
# Traffic to wait for before the logs are collected, and where a pod logs its predictions
# (SHIPYARD_STATE_DIR in deploy/app + serve.prediction_log.path).
SOAK_S ?= 600
POD_LOG ?= /var/lib/shipyard/logs/predictions.jsonl

kubectl: ## Install the pinned kubectl into the venv unless one is on PATH
	@command -v kubectl >/dev/null || { \
		curl -fsSL -o $(BIN)/kubectl.part https://dl.k8s.io/release/$(KUBECTL_VERSION)/bin/linux/amd64/kubectl \
		&& echo "$(KUBECTL_SHA256)  $(BIN)/kubectl.part" | sha256sum -c --quiet - \
		&& chmod +x $(BIN)/kubectl.part && mv $(BIN)/kubectl.part $(BIN)/kubectl; }

validate-deploy: $(SETUP) kubectl ## Render each deploy/overlays/* (kubectl kustomize), check schemas (K8S_VERSIONS, strict) and rules
	shipyard validate-deploy --k8s-versions $(K8S_VERSIONS)

DEPLOY_STEP = shipyard deploy --strategy $(STRATEGY) --image $(IMAGE) --name $(REGISTRY_NAME) \
	--deploy-url "$(DEPLOY_URL)" --candidate-url "$(CANDIDATE_URL)"
KUBE_ENV = $(if $(KUBECONFIG_DATA),umask 077 && printf '%s' "$$KUBECONFIG_DATA" > build/kubeconfig &&)

deploy abort promote rollback collect-logs: export KUBECONFIG := $(if $(KUBECONFIG_DATA),$(CURDIR)/build/kubeconfig,$(KUBECONFIG))
deploy: $(SETUP) ## Put IMAGE:<model version> out by STRATEGY (one apply), wait, smoke-test; abort on failure
	@# A workflow hands the cluster's kubeconfig over as content (KUBECONFIG_DATA, a secret).
	@mkdir -p build && $(KUBE_ENV) true
	$(DEPLOY_STEP) --phase deploy

collect-logs: ## After SOAK_S s of traffic: the prediction log of a stable (and a canary) pod -> build/logs/
	@mkdir -p build/logs && $(KUBE_ENV) true
	sleep $(SOAK_S)
	kubectl exec deployment/shipyard -- cat $(POD_LOG) > $(STABLE_LOG)
	$(if $(CANARY_LOG),kubectl exec deployment/shipyard-canary -- cat $(POD_LOG) > $(CANARY_LOG))

promotion-check: $(SETUP) ## The candidate's logged answers vs stable's -> report/promotion.{json,md}; exit 1: do not promote
	shipyard promotion-check --stable $(STABLE_LOG) $(if $(CANARY_LOG),--canary $(CANARY_LOG))

promote: $(SETUP) ## The candidate takes all traffic (STRATEGY's promote step), then registry stage prod
	@mkdir -p build && $(KUBE_ENV) true
	$(DEPLOY_STEP) --phase promote
	v=$$(shipyard model-version) && gto assign $(REGISTRY_NAME) --stage prod --push --message "$$v"

abort: $(SETUP) ## Back to the version in prod (the registry's): the candidate is withdrawn
	@mkdir -p build && $(KUBE_ENV) true
	$(DEPLOY_STEP) --phase abort

rollback: $(SETUP) ## Stage prod to the previous good version (GTO history; --force: it was in prod before), redeploy its image
	read -r commit v <<< "$$(shipyard rollback-target --name $(REGISTRY_NAME))" \
		&& gto assign $(REGISTRY_NAME) "$$commit" --stage prod --force --push --message "$$v" \
		&& echo "rollback: prod is $$v, image $(IMAGE):$$v"
	$(MAKE) --no-print-directory abort STRATEGY=$(STRATEGY)

serve: $(SETUP) ## Serve models/bundle from the working tree on localhost (PORT=3000)
	SHIPYARD_BUNDLE=models/bundle SHIPYARD_STATE_DIR=$(CURDIR) \
		bentoml serve shipyard.serving.service:Predictor \
		--host 127.0.0.1 --port $(PORT)

bento: $(SETUP) ## Put models/bundle in BentoML's model store and build the bento
	shipyard import-model
	rm -rf dist && python -m pip wheel -q --no-deps --no-build-isolation -w dist .
	shipyard bento

serve-bento: $(SETUP) ## Serve the bento built for models/bundle (or BENTO=tag) on localhost (PORT=3000)
	b=$(BENTO) && SHIPYARD_STATE_DIR=$(CURDIR) bentoml serve "$$b" \
		--host 127.0.0.1 --port $(PORT)

monitor: $(SETUP) ## Drift, outputs, labels of the newest logged window -> reports/monitoring/ (STORE= to read collected logs)
	shipyard monitor $(if $(STORE),--log "$(STORE)" --feedback "$(STORE)",--log $(LOG) --feedback $(FEEDBACK))

monitor-collect: $(SETUP) ## Rotated prediction/feedback logs -> Parquet partitions in STORE (default: the DVC remote's)
	shipyard monitor collect --log $(LOG) --feedback $(FEEDBACK) $(if $(STORE),--store "$(STORE)")

labels: $(SETUP) ## Append a file of labels (LABELS=file.csv: request_id, row, label) to the feedback log
	@test -n "$(LABELS)" || { echo "set LABELS=<csv or parquet file>"; exit 2; }
	shipyard monitor labels "$(LABELS)" --feedback $(FEEDBACK)

drift-issue: $(SETUP) ## Open or update the one drift issue, when the monitoring decision is "issue"
	shipyard monitor issue

retrain-pr: $(SETUP) ## When the decision is "retrain": new labelled rows -> data/feedback on RETRAIN_BRANCH, pull request
	shipyard monitor retrain-pr --branch $(RETRAIN_BRANCH) --base $(BASE)

predict: $(SETUP) ## Score INPUT (.parquet/.csv) offline with models/bundle -> OUTPUT (+ .rejects.parquet)
	shipyard predict --bundle models/bundle --input $(INPUT) --output $(OUTPUT)

contract-test: $(SETUP) ## schemathesis, every check, against models/bundle served (EXAMPLES=100)
	shipyard contract-test --max-examples $(EXAMPLES)

bench-pipeline: $(SETUP) ## Full, no-op and model.* repro times; each stage's imports vs its work
	python -m benchmarks.pipeline

bench-training: $(SETUP) ## Lightning vs a hand-written loop: ms/epoch on digits, samples/s at 1M rows
	python -m benchmarks.training

bench-scale: $(SETUP) ## Wall time and peak memory per stage at 10k, 100k, 1M and 10M rows
	python -m benchmarks.scale

bench-monitor: $(SETUP) ## False alarms, power by shift and window, realized-accuracy test, cost at 100k rows
	python -m benchmarks.monitor

bench-serving: $(SETUP) ## req/s and p50/p99 of /predict vs a no-op BentoML service and in-process
	python -m benchmarks.serving

clean: ## Remove the venv and pipeline outputs in the workspace (the DVC cache stays)
	rm -rf $(VENV) data/raw data/features data/predictions models/mlp models/bundle models/*.skops
