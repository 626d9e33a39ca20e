# portfeil: two commands on a fresh machine. `make demo` runs the whole system; `make test` runs every check.
# Both create the virtual environment (.venv) and install the locked dependencies on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed
NODE_PEERS := tests/interop/node

.PHONY: demo test install lint typecheck pytest peers system bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --quiet -r requirements.lock --python $(PY)
	$(UV) pip install --quiet --no-deps -e . --python $(PY)
	@touch $@

install: $(STAMP)

demo: install
	$(VENV)/bin/portfeil demo

## test: lint, type-check, install the interop peers and the browser when possible, run the whole suite
test: install peers system lint typecheck pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: install
	$(VENV)/bin/mypy src

## the suite runs on both cores (pytest-xdist, one file per worker); PYTEST_ARGS="-n 0" runs it in one process
PYTEST_ARGS ?= -n auto --dist loadfile --durations=15
pytest: install
	$(PY) -m pytest $(PYTEST_ARGS)

## peers: the independent node implementations (SPECS.md section 7); skipped with a notice when npm is missing.
## `npm ci` refuses npm 11's own lock file when optional platform packages (cbor-extract) are left out of it;
## `npm install` then installs the same pinned versions.
peers:
	@if command -v npm >/dev/null 2>&1; then \
	  if [ ! -d $(NODE_PEERS)/node_modules ] || [ $(NODE_PEERS)/package-lock.json -nt $(NODE_PEERS)/node_modules ]; then \
	    (cd $(NODE_PEERS) && (npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
	      || npm install --no-audit --no-fund --loglevel=error)) && touch $(NODE_PEERS)/node_modules; \
	  fi; \
	else echo "notice: npm not found: interop tests against node peers will be skipped"; fi

## system: Debian packages some tests use: Chromium (accessibility and journey tests), SoftHSM2 (PKCS#11 keys),
## installed only where apt-get can run as root; elsewhere those tests skip with a visible reason
SYSTEM_PACKAGES := chromium softhsm2
system:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v softhsm2-util >/dev/null 2>&1 || missing="$$missing softhsm2"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $$missing >/dev/null 2>&1)) \
	      || echo "notice: could not install$$missing: the tests that need them will be skipped"; \
	  else echo "notice:$$missing not installed: the tests that need them will be skipped"; fi; \
	fi

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
