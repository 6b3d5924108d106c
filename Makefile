# The README's commands. Everything installs into this folder (.venv, node_modules); re-runs are fast.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# The project's libraries, for `python -m rft...` and app.py (the installed package keeps them under
# nova_rft_kit/, see nova_rft_kit/__init__.py).
export PYTHONPATH := $(CURDIR):$(CURDIR)/lambda_src
export PIP_DISABLE_PIP_VERSION_CHECK := 1

SPEC ?= reward_specs/gsm8k.toml
DATA ?= data/sample/train.jsonl
ARGS ?=

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help setup demo test lint synth deploy destroy clean

help:
	@echo "make demo     set up, synthesize all stacks (cdk-nag gate), run the reward over the sample data"
	@echo "make test     ruff (lint and format), mypy (strict), the pytest suite, cfn-lint on the synthesized templates"
	@echo "make synth    synthesize (pass context with ARGS='-c key=value ...')"
	@echo "make deploy   npx cdk deploy --all (ARGS='-c start_job=true' starts the training job: costs money)"
	@echo "make destroy  npx cdk destroy --all (buckets are retained unless -c retain_data=false)"

$(PY_STAMP): constraints.txt requirements.txt requirements-dev.txt lambda_src/reward/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip==25.3
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[cdk]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

synth: setup
	npx cdk synth --quiet $(ARGS)

demo: synth
	python -m rft.demo --spec $(SPEC) --data $(DATA)

lint: setup
	ruff check .
	ruff format --check .
	mypy

test: lint
	python -m pytest -q -p no:cacheprovider -n auto --dist loadfile --durations=15
	npx cdk synth --quiet $(ARGS)
	cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json

deploy: setup
	npx cdk deploy --all $(ARGS)

destroy: setup
	npx cdk destroy --all $(ARGS)

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache .hypothesis
