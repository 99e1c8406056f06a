# relief — make demo | make test | make test-fast | make lint | make bench | make package | make jars | make versitygw
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
DEMO_ROWS ?= 200000
DEMO_BAD_LINES ?= 25
DEMO_COUNTY ?= Fresno
ROWS ?=
SHAPE ?=
REPEAT ?=
INPUT ?=
COUNTY ?=

# Object-store support, fetched once into the checkout (git-ignored), never at job time:
# - jars/lib/: hadoop-aws 3.4.1 (pyspark 4.0.1's Hadoop), the AWS SDK v2 modules S3A needs and
#   delta-spark 4.0.1, resolved from Maven Central by jars/pom.xml (jobs/runtime/spark.py passes
#   them with spark.jars for s3a:// locations);
# - .cache/versitygw-$(VERSITYGW_VERSION)/versitygw: an S3-compatible server (Apache-2.0) the
#   object-store tests start on loopback, built from the Go module proxy.
VERSITYGW_VERSION := v1.8.0
VERSITYGW := .cache/versitygw-$(VERSITYGW_VERSION)/versitygw
JARS_STAMP := jars/lib/.resolved
# Spark already ships these (newer): keep only what S3A and Delta add.
JARS_EXCLUDE := io.netty,org.scala-lang,org.antlr,org.slf4j,commons-codec,org.apache.httpcomponents

.PHONY: demo test test-fast lint bench package java-check clean jars versitygw object-store-deps

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
	$(VENV)/bin/relief generate --rows $(DEMO_ROWS) --seed 64 --bad-lines $(DEMO_BAD_LINES) --out $(DEMO_DIR)/doj_extract.csv
	$(VENV)/bin/relief run --input $(DEMO_DIR)/doj_extract.csv --warehouse $(DEMO_DIR)/warehouse --compute-at 2026-11-22 --force
	$(VENV)/bin/relief quarantine --warehouse $(DEMO_DIR)/warehouse
	$(VENV)/bin/relief report --warehouse $(DEMO_DIR)/warehouse --out $(DEMO_DIR)/report
	$(VENV)/bin/relief county packet --warehouse $(DEMO_DIR)/warehouse --county "$(DEMO_COUNTY)" --out $(DEMO_DIR)/packet --merged-only
	@echo
	@echo "Demo done. Everything is under $(DEMO_DIR)/ (every name and number in it is made up):"
	@echo "  county tables  $(DEMO_DIR)/warehouse/counties/<county>   (Delta; the runs ledger: $(DEMO_DIR)/warehouse/runs)"
	@echo "  validation     $(DEMO_DIR)/warehouse/validation/<run>/index.html"
	@echo "  quarantine     $(DEMO_DIR)/warehouse/quarantine   ($(DEMO_BAD_LINES) planted bad lines, summarised above)"
	@echo "  report         $(DEMO_DIR)/report/index.html"
	@echo "  packet         $(DEMO_DIR)/packet/   ($(DEMO_COUNTY): bulk motion, proposed orders merged into one PDF)"
	@echo
	@echo "Next:"
	@echo "  $(VENV)/bin/relief county pull --warehouse $(DEMO_DIR)/warehouse --county \"$(DEMO_COUNTY)\" --format xlsx --out $(DEMO_DIR)/pull"
	@echo "  xdg-open $(DEMO_DIR)/report/index.html      # or open it in any browser; no network needed"
	@echo "  $(VENV)/bin/relief audit verify --warehouse $(DEMO_DIR)/warehouse"

test: java-check $(STAMP)
	@$(MAKE) --no-print-directory object-store-deps || echo "relief: the object-store tests will skip: the S3A jars (mvn) or versitygw (go) could not be had"
	$(PY) -m pytest -q

# The edit-run loop: everything but the end-to-end runs (slow) and the standalone cluster.
test-fast: java-check $(STAMP)
	$(PY) -m pytest -q -m "not slow and not cluster"

jars: $(JARS_STAMP)

$(JARS_STAMP): jars/pom.xml
	@command -v mvn >/dev/null 2>&1 || { echo "relief: make jars needs Maven (Debian: apt-get install maven)"; exit 1; }
	rm -rf jars/lib
	cd jars && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib -DexcludeGroupIds=$(JARS_EXCLUDE)
	@touch $@

versitygw: $(VERSITYGW)

$(VERSITYGW):
	@command -v go >/dev/null 2>&1 || { echo "relief: make versitygw needs Go (https://go.dev/dl)"; exit 1; }
	GOBIN=$(abspath $(dir $(VERSITYGW))) go install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

object-store-deps: jars versitygw

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy -p relief.jobs -p relief.transforms

bench: java-check $(STAMP)
	$(PY) -m relief.jobs.bench $(if $(ROWS),--rows $(ROWS)) $(if $(SHAPE),--shape $(SHAPE)) $(if $(REPEAT),--repeat $(REPEAT)) $(if $(INPUT),--input $(INPUT)) $(if $(COUNTY),--input-county "$(COUNTY)")

package: $(STAMP)
	@mkdir -p dist
	rm -f dist/relief.zip
	cd src && zip -qr ../dist/relief.zip relief -x '*__pycache__*' 'relief/conf/*'
	@echo "dist/relief.zip (use with spark-submit --py-files; conf/ reaches the driver through RELIEF_CONF, see docs/operations.md)"

clean:
	rm -rf $(DEMO_DIR) dist .pytest_cache .mypy_cache .ruff_cache
