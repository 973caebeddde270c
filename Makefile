# Two commands matter: `make run` and `make test`. Everything else is in mk/*.mk, one file per area.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# Spark binds to this address in local mode; loopback avoids its hostname warning and any exposure.
export SPARK_LOCAL_IP ?= 127.0.0.1
# The Glue version to build, run and test for: 6.0 (Spark 4.1.1, AWS's default for new jobs) or 5.1
# (Spark 3.5.6). Each has its own virtualenv, so switching never reinstalls; pins: requirements/glue-*.txt.
GLUE_VERSION ?= 6.0
GLUE_VERSIONS := 6.0 5.1
ifeq ($(filter $(GLUE_VERSION),$(GLUE_VERSIONS)),)
$(error GLUE_VERSION must be one of $(GLUE_VERSIONS), got '$(GLUE_VERSION)')
endif
export GLUE_VERSION
PINS := requirements/glue-$(GLUE_VERSION).txt
VENV := .venv/glue-$(GLUE_VERSION)
PY := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.setup-stamp

# make run INPUT=path/to/segment-logs OUTPUT=path/to/interactions
SAMPLE_EVENTS ?= 20000
SAMPLE_DIR := build/sample/segment-logs
INPUT ?= $(SAMPLE_DIR)
OUTPUT ?= build/output/interactions
# On the sample data the job writes the whole dataset group: Users (identify traits) and Items (product
# properties) beside the interactions. JOB_ARGS given on the command line replaces this.
SAMPLE_JOB_ARGS := --USER_TRAITS plan,country,lifetime_value:float,interests \
  --ITEM_PROPERTIES category,brand,name,price:float
JOB_ARGS ?= $(if $(filter $(SAMPLE_DIR),$(INPUT)),$(SAMPLE_JOB_ARGS))

.PHONY: help setup run test lint format clean sample

help:
	@echo "make run    - set up, generate sample Segment data if no INPUT is given, run the Glue job locally"
	@echo "make test   - set up and run the whole test suite (lint included)"
	@echo "GLUE_VERSION=6.0 (default) or 5.1 on any target, e.g. make test GLUE_VERSION=5.1"
	@echo "make run INPUT=dir OUTPUT=dir JOB_ARGS='--SINGLE_FILE true' - run on your own files"
	@grep -h '^## ' mk/*.mk | sed 's/^## /make /'

$(SETUP_STAMP): pyproject.toml $(PINS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(PINS) -e '.[dev]'
	touch $@

setup: $(SETUP_STAMP)

$(SAMPLE_DIR): | $(SETUP_STAMP)
	$(PY) -m segment_personalize.sample_data --events $(SAMPLE_EVENTS) --out $(SAMPLE_DIR)

sample: $(SAMPLE_DIR)

run: $(SETUP_STAMP) $(if $(filter $(SAMPLE_DIR),$(INPUT)),$(SAMPLE_DIR))
	$(PY) jobs/segment_events_to_personalize.py --JOB_NAME local-run \
	  --S3_JSON_INPUT_PATH $(INPUT) --S3_CSV_OUTPUT_PATH $(OUTPUT) $(JOB_ARGS)
	$(MAKE) --no-print-directory run-followups

# Area files append steps to run after the job (e.g. the readiness query) as prerequisites of this.
run-followups:
	@:

lint: $(SETUP_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(SETUP_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(SETUP_STAMP) lint
	$(PY) -m pytest

clean:
	rm -rf build dist .pytest_cache .ruff_cache .hypothesis spark-warehouse

-include mk/*.mk
