#!/usr/bin/env bash
# Installs what the real-browser tests (tests/test_browser_lab.py, marker `browser`) need:
# Debian's Chromium (/usr/bin/chromium), the Noto CJK fonts so Japanese renders, and the Noto colour emoji font
# so the ✅/❌ marks the lessons print show as they do on a learner's machine (not as empty boxes).
#
# - Idempotent: when both are already installed it only runs two dpkg queries and exits 0.
# - As root it installs them with apt-get (running `apt-get update` only if the first attempt fails).
# - As non-root it prints the command to run and exits 0; the browser tests then skip with the same hint.
# - It never downloads a browser build (no `playwright install`); Playwright drives Debian's chromium
#   through `executable_path`.
set -u

PACKAGES=(chromium fonts-noto-cjk fonts-noto-color-emoji)
CHROMIUM=/usr/bin/chromium

is_installed() {
  # dpkg's status line reads "install ok installed" for a fully installed package.
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
else
  # Not a Debian-like system: we cannot check packages, so only look for the browser binary.
  [ -x "$CHROMIUM" ] || missing+=(chromium)
fi

if [ "${#missing[@]}" -eq 0 ] && [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  {
    echo "ブラウザテストに必要なパッケージがありません: ${missing[*]:-chromium}"
    echo "browser tests need Debian packages that are missing: ${missing[*]:-chromium}"
    echo "install them with:  sudo apt-get install ${PACKAGES[*]}"
    echo "(the browser tests are skipped until then; nothing else is affected)"
  } >&2
  exit 0
fi

echo "installing ${missing[*]} with apt-get (browser tests)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/cs-dojo-install-browser.log 2>&1
}
if ! apt_install; then
  echo "apt-get install failed; refreshing package lists and retrying..." >&2
  apt-get update -q >>/tmp/cs-dojo-install-browser.log 2>&1 || true
  if ! apt_install; then
    tail -n 20 /tmp/cs-dojo-install-browser.log >&2
    echo "could not install ${missing[*]} (full log: /tmp/cs-dojo-install-browser.log)" >&2
    exit 1
  fi
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "apt-get reported success but $CHROMIUM is missing" >&2
  exit 1
fi
echo "browser ready: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
