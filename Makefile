# CRM analytics kit. Everything runs in a local virtual environment (.venv) created on first use
# from constraints.txt, so every machine resolves the same versions.
#   make report   generate the default data if data/raw is empty, run the latest complete month
#   make test     unit, end-to-end and notebook (nbval) tests
#   make lab      JupyterLab on notebooks/ with this environment's kernel
#   make notebooks  re-execute the committed notebooks in place (refresh their stored outputs)
#   make bench    benchmarks, 10k to 1M customers (writes benchmarks/RESULTS.md); make bench-quick: 10k, printed
#   make messages  extract the translatable text into crm_utils/locale/messages.pot and update every catalogue

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= data/raw
REPORTS_DIR ?= reports
MONTH ?= latest
KERNEL := crm-analytics
# Caches of matplotlib and Jupyter stay inside the project, not in the user's home.
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export PYTHONHASHSEED := 0

.PHONY: help setup data report test lab notebooks bench bench-quick lock clean messages

help:
	@sed -n '2,9p' Makefile | sed 's/^# *//'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (crm-analytics)" >/dev/null
	@touch $@

setup: $(STAMP)

data: $(STAMP)
	@if ls $(DATA_DIR)/orders.* >/dev/null 2>&1; then \
		echo "using the data in $(DATA_DIR)"; \
	else \
		$(BIN)/crm-report generate --out $(DATA_DIR); \
	fi

report: data
	@$(BIN)/crm-report run --month $(MONTH) --data-dir $(DATA_DIR) --reports-dir $(REPORTS_DIR)

# The committed notebook outputs are those of the default synthetic data, kept apart from data/raw
# (which may hold an analyst's own export).
DEFAULT_DATA := $(CURDIR)/.cache/default-data

$(DEFAULT_DATA)/orders.csv: $(STAMP) $(wildcard crm_utils/synth/*.py)
	$(BIN)/crm-report generate --out $(DEFAULT_DATA) --force

# Notebook runs of `make test` and `make notebooks` write to a fresh folder of their own.
NB_RUNS := $(CURDIR)/.cache/nbruns

test: $(DEFAULT_DATA)/orders.csv
	rm -rf $(NB_RUNS)
	@# Unit, end-to-end and notebook tests in one session on every core: a test file stays on one
	@# worker (so its fixtures run once), and the notebooks are one unit of work run in order on one
	@# worker, since each reads what the ones before it wrote (tests/conftest.py); they overlap the
	@# tests instead of following them on one core.
	CRM_RUNS_DIR=$(NB_RUNS) CRM_DATA_DIR=$(DEFAULT_DATA) $(BIN)/python -m pytest tests notebooks -n auto --dist loadfile \
		--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider --durations=15

lab: data
	$(BIN)/jupyter lab --notebook-dir=notebooks

notebooks: $(DEFAULT_DATA)/orders.csv
	@rm -rf $(NB_RUNS)
	@for nb in notebooks/[0-9][0-9]_*.ipynb; do \
		echo "executing $$nb"; \
		CRM_RUNS_DIR=$(NB_RUNS) CRM_DATA_DIR=$(DEFAULT_DATA) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.kernel_name=$(KERNEL) --ExecutePreprocessor.timeout=1800 "$$nb" || exit 1; \
	done

# The full record (about an hour: 10k to 1M customers, results into benchmarks/RESULTS.md) ...
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_segmentation.py
	$(BIN)/python benchmarks/bench_prediction.py
	$(BIN)/python benchmarks/bench_forecasting.py --record --repeats 1
	$(BIN)/python benchmarks/bench_forecast_realdata.py --record

# ... and the quick check: one monthly run on 10,000 customers, numbers printed, nothing recorded.
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py --sizes 10000 --repeats 1 --no-save

# The report's languages (crm_utils/i18n.py): what babel.cfg names is extracted into the template, and
# every catalogue crm_utils/locale/<locale>/LC_MESSAGES/messages.po is updated from it (new text comes
# in untranslated, and tests/test_i18n.py names it until it is translated). A new language:
#   $(BIN)/pybabel init -i crm_utils/locale/messages.pot -d crm_utils/locale -l <locale>
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k NC_:1c,2 --no-location --sort-output --project crm-utils \
		--copyright-holder "crm-utils contributors" -o crm_utils/locale/messages.pot .
	$(BIN)/pybabel update -i crm_utils/locale/messages.pot -d crm_utils/locale --width 100 \
		--ignore-obsolete

# Re-resolve the newest versions allowed by pyproject.toml and pin them in constraints.txt.
lock:
	rm -rf .cache/lockvenv && $(PYTHON) -m venv .cache/lockvenv
	.cache/lockvenv/bin/pip install --quiet -e ".[test]"
	{ sed -n '1,2p' constraints.txt; .cache/lockvenv/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .cache/lockvenv

clean:
	rm -rf $(VENV) .cache $(REPORTS_DIR)/interactive
