# Two commands set everything up on a fresh Debian / Raspberry Pi OS machine:
#   make demo   -- virtual environment, install, run the whole system on embedded defaults
#   make test   -- install what the tests need (mosquitto, postgresql, chromium from the OS too),
#                  lint, types, tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP  := $(VENV)/.installed
# A real Home Assistant for tests/homeassistant, in its own venv (its pins clash with ours)
HA_VENV  ?= .venv-ha
HA_STAMP := $(HA_VENV)/.installed
HA_REQS  := tests/homeassistant/requirements.txt

.PHONY: demo test lint types pytest bench os-packages clean

# the demo needs only what Wachter runs on (a first run should be short); the tests add .[dev]
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --prefer-binary -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/pip install -q --prefer-binary -e ".[dev]"
	touch $(STAMP)

$(HA_STAMP): $(HA_REQS)
	rm -rf $(HA_VENV)
	$(PYTHON) -m venv $(HA_VENV)
	$(HA_VENV)/bin/pip install -q --upgrade pip
	$(HA_VENV)/bin/pip install -q --no-deps -r $(HA_REQS)
	touch $(HA_STAMP)

os-packages:
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { \
	  echo "installing mosquitto from the OS packages"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq mosquitto; \
	  $$SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing postgresql from the OS packages (receiver store tests on PostgreSQL)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; \
	  $$SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true; }
	@command -v shellcheck >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq shellcheck; }
	@command -v systemd-analyze >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq systemd; }
	@[ -x /usr/bin/chromium ] || { \
	  echo "installing chromium from the OS packages (browser tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

demo: $(RUNTIME)
	$(BIN)/wachter demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

types: $(STAMP)
	$(BIN)/mypy

# -rs: every skip is listed with its reason in the summary (a skip is never a silent pass)
pytest: $(STAMP) $(HA_STAMP) os-packages
	$(BIN)/pytest -q -rs -p no:cacheprovider $(PYTEST_ARGS)

test: lint types pytest

bench: $(STAMP) os-packages
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(HA_VENV) .mypy_cache .ruff_cache
