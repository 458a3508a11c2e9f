# mmdlm: `make demo` runs the whole pipeline on the synthetic cohort, `make test` runs the tests.
# Each target sets up .venv first (re-installed only when pyproject.toml changes). pip installs without
# byte-compiling, then compileall compiles site-packages and src once, in parallel (-j0): every later process
# (loader and pool workers included) starts from the .pyc files even where PYTHONDONTWRITEBYTECODE=1 is set
# (CI, Docker images), where lazy compilation would compile torch and Lightning again in every process.
# The installed packages' own test suites (tests/ and test/ folders: a fifth of the files, never imported by
# mmdlm) are left out: 35 s instead of 50 s on 2 cores.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT ?= demo-run

export PIP_NO_CACHE_DIR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv demo test bench lint screenshot clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile -e '.[dev]'
	$(BIN)/python -m compileall -q -j0 -x 'site-packages/.*/tests?/' $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') src \
		> $(VENV)/compileall.log || true
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mmdlm demo --out $(DEMO_OUT) --force

# a hard cap (coreutils timeout) besides pytest-timeout's per test: a process that hangs at exit (a stuck
# pool thread joined at interpreter shutdown) fails the run in 40 minutes instead of stalling CI
test: $(STAMP)
	timeout -k 60 2400 $(BIN)/python -m pytest -q -p no:cacheprovider

# the demo's report rendered in headless Chromium (Debian's chromium) to a full-page PNG
screenshot: $(STAMP)
	$(BIN)/mmdlm report --run $(DEMO_OUT) --screenshot $(DEMO_OUT)/report.png

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(DEMO_OUT) bench/out bench/results.json .pytest_cache
