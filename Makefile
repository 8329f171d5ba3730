# Khlang: every target builds its own virtualenv so a fresh clone needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test bench soak serve browser-deps clean

# The runtime only: the site, the API and the command line (test tools are not installed for a demo).
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/khlang demo

serve: $(STAMP)
	$(BIN)/khlang serve

browser-deps:
	bash scripts/install-browser-deps.sh

test: $(TEST_STAMP) browser-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 -q tests

bench: $(STAMP)
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/web_bench.py
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/spending_bench.py
	$(BIN)/python bench/realdata_bench.py
	$(BIN)/python bench/load.py --rows 200000

# The long load test: the read mix while a 1,000,000-row file is ingested three times over.
soak: $(STAMP)
	$(BIN)/python bench/load.py --rows 1000000 --clients 4 --rounds 3

clean:
	rm -rf $(VENV) data/khlang.db* data/storage
