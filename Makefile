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

.PHONY: setup study frontier test test-fast ci-deps report readme lint dry-run plan plan-costs lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

study: setup plan
	$(BIN)/snakemake --cores $(CORES) $(DATA_CONFIG) $(SNAKEMAKE_ARGS)

# The default study plus the curves and the compression frontier (frontier.yaml: more chains, more
# seeds); reuses every output the default study made.
FRONTIER := --configfile config.yaml frontier.yaml
frontier: setup
	@$(MAKE) --no-print-directory plan PLAN_CONFIG="$(FRONTIER)"
	$(BIN)/snakemake --cores $(CORES) $(FRONTIER) $(DATA_CONFIG) $(SNAKEMAKE_ARGS)

dry-run: setup
	$(BIN)/snakemake -n --cores $(CORES) $(DATA_CONFIG) $(SNAKEMAKE_ARGS)

# The run's wall and CPU time before it starts, at CORES cores (recorded in results/plan.json: the
# report sets the run's actual beside it; make study and make frontier plan first) (and on SLURM, on paper, with
# PLAN_ARGS="--slurm-nodes 4 --cores-per-node 8"): the dry run's jobs priced by an earlier run's
# benchmark files in results/, or the shipped medians of the default study for a first run.
PLAN_CORES = $(if $(filter all,$(CORES)),$(shell nproc),$(CORES))
plan: setup
	@mkdir -p .snakemake
	@$(BIN)/snakemake -n --cores $(PLAN_CORES) $(PLAN_CONFIG) $(DATA_CONFIG) $(SNAKEMAKE_ARGS) > .snakemake/plan-dryrun.txt 2>&1 \
	  || (cat .snakemake/plan-dryrun.txt; exit 1)
	@PYTHONPATH=scripts $(BIN)/python -m dnncomp.study.plan .snakemake/plan-dryrun.txt --cores $(PLAN_CORES) --record $(PLAN_ARGS)

# The shipped job costs (docs/results/job_costs.csv) from the last run's benchmark files.
plan-costs: setup
	PYTHONPATH=scripts $(BIN)/python -m dnncomp.study.plan - --cores 1 --write-costs docs/results/job_costs.csv < /dev/null

report: setup
	$(BIN)/snakemake --report report.html $(DATA_CONFIG)

# The README's results block and figure, from the last run's results/ (tests check they agree).
readme: setup
	PYTHONPATH=scripts $(BIN)/python -m dnncomp.report.readme results README.md

# The full suite (what CI runs). The tests use the MNIST subset in tests/data; DATA_DIR, when set,
# adds a check of that subset against the full copy.
test: setup
	DNNCOMP_FULL_DATA_DIR=$(abspath $(strip $(DATA_DIR))) $(BIN)/python -m pytest -q tests

# Unit and config tests only, for day-to-day work (under a minute).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow" tests

# Programs some tests drive (headless Chromium, a one-node SLURM cluster); those tests skip without
# them. Needs root and apt-get; CI runs it before `make test`.
ci-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium slurmctld slurmd slurm-client munge >/dev/null; \
	else echo "ci-deps: needs root and apt-get; the browser and SLURM tests will skip"; fi

# Style (ruff lint and format, snakefmt; settings in pyproject.toml) and Snakemake's own lint.
lint: setup
	$(BIN)/ruff check scripts tests
	$(BIN)/ruff format --check scripts tests
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint $(DATA_CONFIG)

# Pin the environment, then write the conda environment from the same pins (tests check they agree).
lock:
	$(PYTHON) -m venv /tmp/dnncomp-lock && /tmp/dnncomp-lock/bin/pip install -q -r requirements.in && \
	  (echo "# Pinned environment (pip freeze of requirements.in on Python 3.11). Regenerate: make lock"; \
	   /tmp/dnncomp-lock/bin/pip freeze) > requirements.txt
	$(MAKE) envs/study.yaml

envs/study.yaml: requirements.txt scripts/dnncomp/study/envfile.py
	PYTHONPATH=scripts $(PYTHON) -m dnncomp.study.envfile requirements.txt > $@

clean:
	rm -rf results .snakemake report.html
