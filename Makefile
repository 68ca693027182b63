# Two commands do all set-up on a fresh machine (see README):
#   make run    – creates .venv, installs the app, starts it on the embedded defaults
#   make test   – also installs what the tests need (redis-server via apt when missing), runs them
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint test-js test-py bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/wacrm $(ARGS)

demo: $(STAMP)
	$(BIN)/wacrm --demo $(ARGS)

system-deps:
	@command -v redis-server >/dev/null 2>&1 || scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check wacrm_desktop tests bench
	$(BIN)/ruff format --check wacrm_desktop tests bench

test-js:
	node --test tests/js/

test-py: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

test: $(STAMP) system-deps lint test-js test-py

bench: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
