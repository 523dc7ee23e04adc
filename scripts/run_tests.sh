#!/usr/bin/env bash
# Runs the whole test suite in .venv. pytest's exit code 5 ("no tests collected") is a failure here.
set -u
cd "$(dirname "$0")/.."
BIN=.venv/bin
# Browser tests need Debian's chromium and CJK fonts; install them when missing (see scripts/install_browser.sh).
if [ -x scripts/install_browser.sh ]; then
  bash scripts/install_browser.sh || { echo "ブラウザの準備に失敗しました (browser setup failed)" >&2; exit 1; }
fi
# The grading sandbox tests need bubblewrap; install it when missing (see scripts/install_sandbox.sh).
bash scripts/install_sandbox.sh || { echo "採点サンドボックスの準備に失敗しました (sandbox setup failed)" >&2; exit 1; }
if [ -x scripts/install_hub.sh ]; then
  bash scripts/install_hub.sh || { echo "JupyterHub の準備に失敗しました (hub setup failed)" >&2; exit 1; }
fi
start=$(date +%s)
# One worker per core: notebook kernels and nbgrader subprocesses keep them busy. A later -n in "$@" wins.
"$BIN/python" -m pytest -n auto "$@"
rc=$?
echo "test suite: $(( $(date +%s) - start )) s, exit code $rc"
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
