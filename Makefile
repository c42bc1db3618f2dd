# Every target creates the virtualenv and installs what it needs, so each works on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

# Debian packages the tests start for real, as command:package (Redis and nginx on loopback
# ports; openssl makes the test TLS certificate; Graphviz draws `callflow explore --format svg`;
# headless Chromium and its driver open the console). Installed when missing (CI runs as root).
SYSTEM_PACKAGES := redis-server:redis-server nginx:nginx openssl:openssl dot:graphviz \
	chromium:chromium chromedriver:chromium-driver

.PHONY: serve test check bench clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Serving needs the package alone; the test and bench stamps add their extras.
$(VENV)/.installed-serve: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	touch $@

## serve: set up and run the server on the default flows in flows/
serve: $(VENV)/.installed-serve
	$(BIN)/callflow serve --host $(HOST) --port $(PORT)

## system-packages: install the Debian packages the tests need, when missing
system-packages:
	@missing=""; \
	for pair in $(SYSTEM_PACKAGES); do \
		command -v "$${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/$${pair%%:*}" ] || \
			missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		for service in redis-server nginx; do service "$$service" stop >/dev/null 2>&1 || true; done; \
	fi

## test: set up, then lint, type-check and run the whole test suite
test: system-packages $(VENV)/.installed-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest

## bench: run the benchmarks (installs the optional peers twilio and plivo)
bench: system-packages $(VENV)/.installed-bench $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
