#!/usr/bin/env bash
# Installs bubblewrap (Debian package `bubblewrap`, the `bwrap` command), which `cs-dojo grade` uses to run every
# submission in its own sandbox (own PID, network, IPC and mount namespaces; see docs/trainer.md, "採点のサンドボックス").
#
# - Idempotent: when bwrap is already on PATH it exits 0 at once.
# - As root it installs the package with apt-get (running `apt-get update` only if the first attempt fails).
# - As non-root it prints the command to run and exits 0; `cs-dojo grade --sandbox auto` then grades with process
#   isolation only and says so, `--sandbox required` refuses.
set -u

if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  {
    echo "採点のサンドボックス (bubblewrap) がインストールされていません。"
    echo "the grading sandbox (bubblewrap) is not installed; install it with:  sudo apt-get install bubblewrap"
    echo "(until then \`cs-dojo grade\` grades with process isolation only and prints a warning)"
  } >&2
  exit 0
fi

LOG="${TMPDIR:-/tmp}/cs-dojo-install-sandbox.log"
echo "installing bubblewrap with apt-get (grading sandbox)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  apt-get install -y -q --no-install-recommends bubblewrap >"$LOG" 2>&1
}
if ! apt_install; then
  echo "apt-get install failed; refreshing package lists and retrying..." >&2
  apt-get update -q >>"$LOG" 2>&1 || true
  if ! apt_install; then
    tail -n 20 "$LOG" >&2
    echo "could not install bubblewrap (full log: $LOG)" >&2
    exit 1
  fi
fi

if ! command -v bwrap >/dev/null 2>&1; then
  echo "apt-get reported success but bwrap is not on PATH" >&2
  exit 1
fi
echo "sandbox ready: $(bwrap --version 2>/dev/null || echo bwrap)" >&2
