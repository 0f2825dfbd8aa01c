# The two commands a newcomer needs: `make run` and `make test`.
# Every target creates .venv and installs the project into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench chaos screenshots simulator clean lock wheelhouse deploy-test fleet-demo fleet-soak

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the kiosk; the built-in simulator when no PayPay keys are configured
	$(BIN)/kiosk run $(ARGS)

simulator: $(STAMP)  ## a stand-alone PayPay simulator with its control API
	$(BIN)/kiosk simulator --control $(ARGS)

lint: $(STAMP)  ## ruff (lint + format check) and mypy --strict on kiosk/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint  ## lint, then the whole suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## benchmark scripts; one JSON object per line
	$(BIN)/python -m bench

chaos: $(STAMP)  ## SIGKILL + hostile PayPay answers; judge ledger, vend log, screen (ARGS=--quick: ~1 min)
	$(BIN)/python -m tools.chaos $(ARGS)
	$(BIN)/python -m tools.chaos_mdb
	$(BIN)/python -m tools.chaos_mdb --credit

fleet-demo: $(STAMP)  ## broker, database, hub with status page, a few kiosks selling (Ctrl-C stops)
	$(BIN)/python -m tools.fleetdemo $(ARGS)

fleet-soak: $(STAMP)  ## 1,000 kiosks, outage, SIGKILLs, duplicates; fails on any loss
	$(BIN)/python -m tools.fleetsoak $(ARGS)

screenshots: $(STAMP)  ## regenerate the screenshots in docs/ from the UI snapshots
	$(BIN)/python -m pytest tests/ui -q --snapshot-update -k snapshot
	$(BIN)/python -m tests.ui.make_screenshots

lock: $(STAMP)  ## re-resolve requirements.lock, the versions install.sh installs
	$(BIN)/python -m tools.lock

wheelhouse: $(STAMP)  ## wheels for `install.sh --wheelhouse DIR` (offline); PLATFORM=manylinux2014_aarch64 for a Pi
	$(BIN)/python -m pip download --quiet --only-binary=:all: --dest wheelhouse \
	  $(if $(PLATFORM),--platform $(PLATFORM) --python-version 3.11) -r requirements.lock

deploy-test: $(STAMP)  ## as root: Debian 12 booted with systemd-nspawn; install.sh as a Pi admin; checks
	$(BIN)/python -m tools.deploytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
