#!/usr/bin/env bash
# Prepares what the JupyterHub deployment (deploy/jupyterhub/) needs beyond `pip install -e '.[dev]'`:
#   1. jupyterhub in .venv (normally already there from the dev extra),
#   2. configurable-http-proxy from the npm registry into deploy/jupyterhub/node_modules (npm ci,
#      pinned by package-lock.json),
#   3. a Python that every learner account can execute, when .venv's own interpreter is not
#      reachable by other accounts (deploy/jupyterhub/cs_dojo_hub.py singleuser-env).
# Idempotent and quick when everything is in place. Where node/npm are missing it warns and exits 0, and the hub
# tests skip with that reason; under CI (CI=true) it exits 1 instead, because CI must run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
fail_or_warn() {
  echo "install_hub: WARNING $1" >&2
  case "${CI:-}" in true|1|yes) echo "install_hub: CI=true, so this is an error" >&2; exit 1 ;; esac
  exit 0
}
HUB=deploy/jupyterhub
PY=${VENV:-.venv}/bin/python

if ! "$PY" -c "import jupyterhub" 2>/dev/null; then
  echo "install_hub: installing jupyterhub into ${VENV:-.venv}"
  "$PY" -m pip install --quiet "jupyterhub>=5.3"
fi

want=$("$PY" -c "import json; print(json.load(open('$HUB/package-lock.json'))['packages']['node_modules/configurable-http-proxy']['version'])")
have=""
if [ -f "$HUB/node_modules/configurable-http-proxy/package.json" ]; then
  have=$("$PY" -c "import json; print(json.load(open('$HUB/node_modules/configurable-http-proxy/package.json'))['version'])")
fi
if [ "$have" != "$want" ] || [ ! -x "$HUB/node_modules/.bin/configurable-http-proxy" ]; then
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    fail_or_warn "node/npm not found; configurable-http-proxy not installed (hub tests will skip)"
  fi
  echo "install_hub: npm ci configurable-http-proxy@$want"
  if ! (cd "$HUB" && npm ci --no-audit --no-fund --loglevel=error); then
    fail_or_warn "npm ci failed; configurable-http-proxy not installed (hub tests will skip)"
  fi
fi

# Only root can build the shared interpreter copy (and only root runs a multi-user hub).
if [ "$(id -u)" = "0" ]; then
  "$PY" "$HUB/cs_dojo_hub.py" singleuser-env >/dev/null
fi
