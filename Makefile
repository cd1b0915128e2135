# The first two targets are all a newcomer needs: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test lint schema bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/annograph migrate
	$(BIN)/annograph demo --if-empty
	$(BIN)/annograph serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check graph domain persistence migrations tests bench

schema: $(STAMP)
	$(BIN)/annograph schema

bench: $(STAMP)
	$(BIN)/python -m bench.trajectory
	$(BIN)/python -m bench.frames
	$(BIN)/python -m bench.statements
	$(BIN)/python -m bench.auth
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.saves

clean:
	rm -rf $(VENV) var
