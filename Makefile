# relief — make demo | make test | make lint | make bench | make package
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
DEMO_ROWS ?= 200000
ROWS ?=
SHAPE ?=
REPEAT ?=
INPUT ?=
COUNTY ?=

.PHONY: demo test lint bench package java-check clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "relief needs Python 3.11 ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[job,dev]'
	@touch $(STAMP)

java-check:
	@v=$$(java -version 2>&1 | awk -F'"' '/version/ {print $$2}' | awk -F. '{print ($$1=="1") ? $$2 : $$1}'); \
	if [ -z "$$v" ]; then echo "relief: Java not found. Spark 4 needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)."; exit 1; fi; \
	if [ "$$v" -lt 17 ]; then echo "relief: Java $$v found; Spark 4 needs Java 17 or newer."; exit 1; fi

demo: java-check $(STAMP)
	@mkdir -p $(DEMO_DIR)
	$(VENV)/bin/relief generate --rows $(DEMO_ROWS) --seed 64 --out $(DEMO_DIR)/doj_extract.csv
	$(VENV)/bin/relief run --input $(DEMO_DIR)/doj_extract.csv --warehouse $(DEMO_DIR)/warehouse --compute-at 2026-11-22 --force
	@echo
	@echo "Demo done."
	@echo "  extract:        $(DEMO_DIR)/doj_extract.csv"
	@echo "  county tables:  $(DEMO_DIR)/warehouse/counties/<county>   (Delta; open with deltalake.DeltaTable)"
	@echo "  runs ledger:    $(DEMO_DIR)/warehouse/runs"
	@echo "  quarantine:     $(DEMO_DIR)/warehouse/quarantine"

test: java-check $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy transforms jobs

bench: java-check $(STAMP)
	$(PY) -m jobs.bench $(if $(ROWS),--rows $(ROWS)) $(if $(SHAPE),--shape $(SHAPE)) $(if $(REPEAT),--repeat $(REPEAT)) $(if $(INPUT),--input $(INPUT)) $(if $(COUNTY),--input-county "$(COUNTY)")

package: $(STAMP)
	@mkdir -p dist
	rm -f dist/relief.zip
	zip -qr dist/relief.zip jobs transforms expectations -x '*__pycache__*'
	@echo "dist/relief.zip (use with spark-submit --py-files; ship conf/ with --files or RELIEF_CONF)"

clean:
	rm -rf $(DEMO_DIR) dist .pytest_cache .mypy_cache .ruff_cache
