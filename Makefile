# Khlang: every target builds its own virtualenv so a fresh clone needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

# An editable install compiles none of our own modules, and where PYTHONDONTWRITEBYTECODE is set nothing ever
# caches them: every start would compile about 100 modules again (0.2 s of `khlang serve`'s start). Compiling
# is quick and skips what is up to date.
COMPILE = $(BIN)/python -m compileall -q -j 0 khlang catalog spending ingest web

.PHONY: demo test bench soak serve test-deps cluster clean

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
	$(COMPILE)
	$(BIN)/khlang demo

serve: $(STAMP)
	$(COMPILE)
	$(BIN)/khlang serve

# Chromium, Thai fonts and PostgreSQL's programs from Debian, where missing.
test-deps:
	bash scripts/install-test-deps.sh

# The suites that must hold on both catalogue databases: CKAN clients, the permission matrix, search, the
# DataStore and the injected faults. On PostgreSQL each test gets a new database in a throwaway cluster.
PG_SUITES := tests/test_web_api_ckanapi.py tests/test_web_api_clients.py tests/test_security_permissions.py \
	tests/test_catalog_search.py tests/test_web_datastore.py tests/test_catalog_datastore_q.py \
	tests/test_catalog_datastore_indexes.py tests/test_fault_recovery.py tests/test_catalog_postgresql.py tests/test_project_cluster.py \
	tests/test_web_accounts.py tests/test_catalog_search_forgiving.py tests/test_catalog_search_replica.py

test: $(TEST_STAMP) test-deps
	$(COMPILE)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 -q tests
	KHLANG_TEST_BACKEND=postgresql $(BIN)/python -m pytest -n 2 -q $(PG_SUITES)

bench: $(STAMP)
	bash scripts/install-test-deps.sh --cluster
	$(COMPILE)
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/web_bench.py
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/export_bench.py
	$(BIN)/python bench/peers_bench.py
	$(BIN)/python bench/spending_bench.py
	$(BIN)/python bench/realdata_bench.py
	$(BIN)/python bench/load.py --rows 200000
	$(BIN)/python bench/load.py --rows 200000 --cluster

# A throwaway PostgreSQL, two nodes on one shared storage folder and HAProxy on http://127.0.0.1:8080/ (docs/deploy.md).
cluster: $(STAMP)
	bash scripts/install-test-deps.sh --cluster
	$(BIN)/python scripts/cluster.py

# The long load test: the read mix while a 1,000,000-row file is ingested three times over.
soak: $(STAMP)
	$(BIN)/python bench/load.py --rows 1000000 --clients 4 --rounds 3

clean:
	rm -rf $(VENV) data/khlang.db* data/storage
