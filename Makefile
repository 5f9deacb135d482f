# Two commands on a fresh machine:
#   make study   set up .venv and run the whole study on config.yaml (results/, results/report.html)
#   make test    set up .venv and run the test suite
# Local dataset copies: DATA_DIR (default ../shared/data when that folder exists, else download).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
DATA_DIR ?= $(wildcard ../shared/data)
SNAKEMAKE_ARGS ?=
DATA_CONFIG := $(if $(strip $(DATA_DIR)),--config data_dir=$(DATA_DIR),)

.PHONY: setup study test report lint dry-run lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

study: setup
	$(BIN)/snakemake --cores $(CORES) $(DATA_CONFIG) $(SNAKEMAKE_ARGS)

dry-run: setup
	$(BIN)/snakemake -n --cores $(CORES) $(DATA_CONFIG) $(SNAKEMAKE_ARGS)

report: setup
	$(BIN)/snakemake --report report.html $(DATA_CONFIG)

test: setup
	DNNCOMP_DATA_DIR=$(abspath $(or $(strip $(DATA_DIR)),data)) $(BIN)/python -m pytest -q tests

lint: setup
	$(BIN)/snakemake --lint $(DATA_CONFIG)

lock:
	$(PYTHON) -m venv /tmp/dnncomp-lock && /tmp/dnncomp-lock/bin/pip install -q -r requirements.in && \
	  (echo "# Pinned environment (pip freeze of requirements.in on Python 3.11). Regenerate: make lock"; \
	   /tmp/dnncomp-lock/bin/pip freeze) > requirements.txt

clean:
	rm -rf results .snakemake report.html
