# The first two targets are all a newcomer needs: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make serve` installs the service alone; the rest also installs the test tools and the
# `detect` extra (Ultralytics + PyTorch, several GB, from local wheels where the machine has them).
BASE_STAMP := $(VENV)/.base-stamp
STAMP := $(VENV)/.installed-stamp
# datumaro, which tests read our exports with, pins older Pillow and pyarrow than the service and adds
# opencv-python-headless beside Ultralytics' opencv-python: it gets a venv of its own, built for `make test`
# (tests/domain/objects/test_datumaro_reads.py runs it in a subprocess). The stamp names the version.
DATUMARO := 1.13.12
DATUMARO_VENV := .venv-datumaro
DATUMARO_STAMP := $(DATUMARO_VENV)/.stamp-$(DATUMARO)

.PHONY: serve test lint schema bench fuzz clean graphiql-assets

$(BASE_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $(BASE_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(BASE_STAMP)

# tests/browser drives Debian's headless chromium (through the playwright package, never its own
# browser download).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# GraphiQL's browser files (graph/static/graphiql/): fetched again from the npm registry and checked
# against the sha384 of manifest.json.
graphiql-assets:
	$(PYTHON) graph/static/fetch_assets.py

$(DATUMARO_STAMP):
	@test -x $(DATUMARO_VENV)/bin/python || $(PYTHON) -m venv $(DATUMARO_VENV)
	$(DATUMARO_VENV)/bin/pip install --quiet --upgrade pip
	$(DATUMARO_VENV)/bin/pip install --quiet datumaro==$(DATUMARO)
	@touch $(DATUMARO_STAMP)

serve: $(BASE_STAMP)
	$(BIN)/annograph migrate
	$(BIN)/annograph demo --if-empty
	$(BIN)/annograph serve

test: $(STAMP) $(DATUMARO_STAMP) $(CHROMIUM)
	$(BIN)/pytest

# The schemathesis run of `make test` with 10 times the examples per root field and caller (admin and
# anonymous), bounded at 40 minutes; it must find no server error.
fuzz: $(STAMP)
	ANNOGRAPH_FUZZ_EXAMPLES=300 timeout 2400 $(BIN)/pytest tests/graph/test_fuzz.py -k sqlite -q

# ruff, the import contracts (.importlinter) and mypy ([tool.mypy] in pyproject.toml); each must pass.
lint: $(STAMP)
	$(BIN)/ruff check graph domain persistence migrations tests bench && $(BIN)/lint-imports
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/annograph schema

bench: $(STAMP)
	$(BIN)/python -m bench.trajectory
	$(BIN)/python -m bench.frames
	$(BIN)/python -m bench.statements
	$(BIN)/python -m bench.auth
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.saves
	$(BIN)/python -m bench.ground_truth
	$(BIN)/python -m bench.annotation_formats
	$(BIN)/python -m bench.analysis
	$(BIN)/python -m bench.evaluation
	$(BIN)/python -m bench.detection
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.export
	$(BIN)/python -m bench.video
	$(BIN)/python -m bench.lerobot
	$(BIN)/python -m bench.limits
	$(BIN)/python -m bench.jobs
	$(BIN)/python -m bench.segments
	$(BIN)/python -m bench.lerobot_export
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.compare
	$(BIN)/python -m bench.statistics
	$(BIN)/python -m bench.reads

clean:
	rm -rf $(VENV) $(DATUMARO_VENV) var
