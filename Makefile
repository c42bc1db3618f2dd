# Every target creates the virtualenv and installs what it needs, so each works on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	touch $@

## serve: set up and run the server on the default flows in flows/
serve: $(VENV)/.installed-test
	$(BIN)/callflow serve --host $(HOST) --port $(PORT)

## test: set up, then lint, type-check and run the whole test suite
test: $(VENV)/.installed-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

## bench: run the benchmarks (installs the optional peers twilio and plivo)
bench: $(VENV)/.installed-bench $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
