# Patient messaging assistant: `make run` to use it, `make test` to check it.
# Every target installs what it needs first; nothing is reinstalled, retrained or reseeded
# unless its inputs changed. `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYENV_ROOT   ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON_311   ?= $(shell command -v python3.11 || command -v python3)
PYTHON_310   ?= $(PYENV_ROOT)/versions/3.10.13/bin/python
PY           := .venv/bin/python
PY_RASA      := .venv-rasa/bin/python
RASA         := .venv-rasa/bin/rasa
EHR_URL      ?= http://127.0.0.1:8090/fhir
PIP_FLAGS    := --disable-pip-version-check --progress-bar on

.PHONY: help install run run-scaled outbox test test-backend test-actions test-rasa test-nlu lint train migrate seed seed-import browser bench

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# --- installation ------------------------------------------------------------------------
.venv/.installed: requirements/backend.txt requirements/dev.txt
	@echo "[install] backend environment (Python 3.11): .venv"
	@test -x $(PY) || $(PYTHON_311) -m venv .venv
	$(PY) -m pip install $(PIP_FLAGS) -r requirements/backend.txt -r requirements/dev.txt
	@touch $@

.venv-rasa/.installed: requirements/rasa.txt requirements/rasa-constraints.txt
	@echo "[install] Rasa environment (Python 3.10, includes TensorFlow: several minutes): .venv-rasa"
	@test -x $(PY_RASA) || $(PYTHON_310) -m venv .venv-rasa
	$(PY_RASA) -m pip install $(PIP_FLAGS) -r requirements/rasa.txt -c requirements/rasa-constraints.txt
	@touch $@

.venv-ehr/.installed: requirements/ehr.txt
	@echo "[install] EHR environment (sekmet-fhir): .venv-ehr"
	@test -x .venv-ehr/bin/python || $(PYTHON_311) -m venv .venv-ehr
	.venv-ehr/bin/python -m pip install $(PIP_FLAGS) -r requirements/ehr.txt
	@touch $@

ehr/medplum/node_modules/.installed: ehr/medplum/package-lock.json
	@echo "[install] Medplum FHIR router (second FHIR server for the EHR tests)"
	cd ehr/medplum && npm ci --no-audit --no-fund
	@touch $@

browser: ## install Debian's chromium + chromium-driver for the browser test
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "[install] chromium and chromium-driver (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

install: .venv/.installed .venv-rasa/.installed .venv-ehr/.installed ehr/medplum/node_modules/.installed ## install every environment that is missing or stale
	@test -f .env || { cp .env.example .env; echo "[install] wrote .env from .env.example"; }

# --- model, database, EHR ----------------------------------------------------------------
train: .venv-rasa/.installed ## train the Rasa model unless one for the current data exists
	@$(PY_RASA) scripts/model_cache.py train

migrate: .venv/.installed ## apply database migrations
	@$(PY) -m backend.db.migrate

seed: install ## rebuild the embedded EHR from scratch (stop `make run` first)
	$(PY) -m scripts.seed_ehr --rebuild

seed-import: install ## import Synthea bundles: make seed-import DIR=../shared/data/fhir/synthea_r4
	@test -n "$(DIR)" || { echo "usage: make seed-import DIR=folder-of-bundles"; exit 2; }
	$(PY) -m scripts.seed_ehr --import "$(DIR)"

# --- run ---------------------------------------------------------------------------------
run: install train ## install, train, migrate, seed and start all five processes
	@$(PY) -m scripts.run

run-scaled: install train ## the same, scaled: 2 hub workers, 2 Rasa instances, PostgreSQL, Redis
	@$(PY) -m scripts.run --scaled

outbox: .venv/.installed ## the development outbox with one-time codes (masked on its web page)
	@$(PY) -m scripts.outbox

.PHONY: rotate-keys
rotate-keys: .venv/.installed ## re-encrypt everything at rest under ENCRYPTION_KEY (docs/security.md); ARGS="--tracker-db URL"
	@$(PY) -m scripts.rotate_keys $(ARGS)

# --- checks ------------------------------------------------------------------------------
lint: .venv/.installed ## ruff (lint and format) over the whole tree, mypy over the code
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy backend channels symptom_rules scripts bot

test-rasa: train ## rasa data validate + rasa test on the test stories
	$(RASA) data validate --data bot/data --fail-on-warnings
	$(RASA) test core --model "$$($(PY_RASA) scripts/model_cache.py path)" \
	  --stories tests/stories --fail-on-prediction-errors --out var/results

test-nlu: train ## NLU: 2-fold cross-validation report + held-out score, failing below the floors
	$(RASA) test nlu --nlu bot/data/nlu --config tests/nlu/config-cv.yml \
	  --cross-validation --folds 2 --out var/results/nlu-cv --no-plot
	$(PY_RASA) scripts/score_nlu_heldout.py --model "$$($(PY_RASA) scripts/model_cache.py path)" \
	  --json var/results/nlu-heldout.json
	$(PY_RASA) scripts/check_nlu_thresholds.py

test-actions: .venv-rasa/.installed ## unit tests of the actions, the hub channel, the action server (Rasa's env)
	$(PY_RASA) -m pytest -q -p no:cacheprovider tests/actions tests/bot

test-backend: install browser train ## backend, channels, triage, EHR, end-to-end and browser tests
	$(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/actions --ignore=tests/bot

test: install browser lint test-actions test-rasa test-nlu test-backend ## everything CI runs

bench: install train ## benchmarks (figures only; see bench/)
	$(PY) bench/latency.py
	$(PY) bench/redflag_screen.py
