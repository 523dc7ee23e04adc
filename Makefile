# CS Dojo — two commands: `make lab` (set up + open JupyterLab) and `make test` (whole test suite).
# Only Python 3.11, make and git are needed; everything else is installed here into .venv (PyPI only).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.cs-dojo-installed
PYTEST_ARGS ?=
LAB_ARGS ?=

.PHONY: setup lab test test-fast lint bench data clean-notebooks help

help:
	@echo "make lab    — 環境を準備して JupyterLab で curriculum/ を開く (set up and open JupyterLab)"
	@echo "make test   — 環境を準備してテストをすべて実行する (set up and run the whole test suite; CI runs this)"
	@echo "make test-fast — ブラウザと JupyterHub 以外のテスト (quick loop: no browser, no hub, no system installs)"
	@echo "make lint   — ruff でコードを検査する (lint with ruff)"
	@echo "make setup  — 環境の準備だけを行う (.venv, extensions, fonts)"
	@echo "make clean-notebooks — ノートブックの出力を消してナビゲーションを作り直す (strip outputs, regenerate navigation)"
	@echo "make bench  — ベンチマークを実行する (run benchmarks/)"
	@echo "make data   — datasets/ をシードから再生成する (regenerate shipped data)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m cs_helpers.maint.setup_env
	touch $(STAMP)

setup: $(STAMP)
	@bash scripts/install_sandbox.sh

lab: setup
	$(BIN)/python -m cs_helpers.maint.setup_env --lab $(LAB_ARGS)

test: setup
	bash scripts/run_tests.sh $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -n auto -m "not browser and not hub" $(PYTEST_ARGS)

lint: setup
	$(BIN)/python -m ruff check .

bench: setup
	$(BIN)/python -m benchmarks

data: setup
	$(BIN)/cs-dojo data regenerate

clean-notebooks: setup
	$(BIN)/python -m cs_helpers.maint.nbclean curriculum exercises
