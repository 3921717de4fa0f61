# edumon: make demo (one offline monitoring cycle) and make test (the test suite).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/.prefect
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DO_NOT_TRACK := 1

.PHONY: install lint test demo clean

install: $(STAMP)

# Re-installs only when pyproject.toml changes; safe to run twice.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch 2.13.0 is a CPU wheel on this disk; any other spec pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]" "torch==2.13.0"
	touch $(STAMP)

# The floor plan and the style: layers (import-linter), lint and format (ruff).
lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/edumon demo

clean:
	rm -rf $(VENV) demo/edumon.duckdb demo/digest.* .prefect
