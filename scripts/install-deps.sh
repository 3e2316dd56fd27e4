#!/usr/bin/env bash
# Installs everything Pixie needs to build and test on Debian 12, from
# Debian's registry (and npm for the browser tests). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  liblua5.4-dev lua-cjson libsqlite3-dev libzip-dev libmicrohttpd-dev libcurl4-openssl-dev
  python3 python3-dotenv python3-venv python3-fastapi python3-uvicorn
  clang libclang-rt-14-dev
  unzip zip curl
  # The dashboard's vendored libraries (embedded at build time, docs/dashboard-api.md §6)
  # and the browser the browser tests drive.
  libjs-chart.js libjs-marked node-dompurify libjs-katex fonts-katex
  libjs-highlight.js libjs-leaflet chromium
)
# Node for the browser tests: Debian's only when no node is installed (a
# newer node already on the machine is kept).
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The differential tests judge our .env files with python-dotenv itself.
if ! python3 -c "import dotenv" 2>/dev/null; then
  python3 -m pip install --quiet python-dotenv || {
    echo "install-deps: the python3 on PATH has no python-dotenv; install it for $(command -v python3)" >&2
    exit 1
  }
fi

# The browser tests' one npm dependency (playwright-core, pinned in
# tests/browser/package-lock.json; it drives the Debian chromium, it never
# downloads a browser).
want=$(node -p 'require("./tests/browser/package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./tests/browser/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$want" != "$have" ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
