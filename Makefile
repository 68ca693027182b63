# Two commands do all set-up on a fresh machine (see README):
#   make run    – creates .venv, installs the app, starts it on the embedded defaults
#   make test   – also installs what the tests need (redis-server via apt when missing), runs them
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint test-js test-py bench clean system-deps screenshot installer

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

LINT_DIRS := wacrm_desktop tests scripts $(wildcard bench)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

test-js:
	node --test tests/js/

test-py: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

test: $(STAMP) system-deps lint test-js test-py

bench: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.run_all

screenshot: $(STAMP)
	xvfb-run -a -s "-screen 0 1440x900x24" $(BIN)/python scripts/demo_screenshot.py docs/demo.png

# PyInstaller onedir build in dist/wacrm/, then a smoke run of the frozen app (offscreen demo).
installer: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,build]'
	$(BIN)/pyinstaller --noconfirm --clean build_installer.spec
	scripts/smoke_frozen.sh dist/wacrm

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache build dist
