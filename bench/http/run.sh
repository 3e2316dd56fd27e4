#!/usr/bin/env bash
# HTTP benchmark (issue 11): requests/s and p50/p99 latency of pixie serve
# for GET /api/healthz (guard + a Lua state per worker + JSON) and a static
# vendor file (guard + a prepared response), side by side with a minimal
# libmicrohttpd server (bench_http baseline) answering a constant body of
# the same size. Keep-alive connections; N requests over CONC connections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${PIXIE_BUILD_DIR:-$src/build}
pixie=${PIXIE_BIN:-$build/pixie}
bench=$build/bench/bench_http
n=${REQUESTS:-20000}
conc=${CONC:-8}
home=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$home"' EXIT
mkdir -p "$home/tools"
echo "== http benchmark ($(nproc) CPUs, $n requests over $conc connections) =="
coproc PIX { exec "$pixie" --home "$home" serve --port 0 2>/dev/null; }
pid=$PIX_PID
read -r url <&"${PIX[0]}"
port=${url#http://127.0.0.1:}; port=${port%/}
asset=/vendor/marked/marked.min.js
api_size=$(curl -s "http://127.0.0.1:$port/api/healthz" | wc -c)
asset_size=$(curl -s "http://127.0.0.1:$port$asset" | wc -c)
echo "-- pixie serve"
"$bench" load "$port" /api/healthz "$n" "$conc"
"$bench" load "$port" "$asset" "$n" "$conc"
kill -TERM "$pid"; wait "$pid" || true; pid=
for size in "$api_size" "$asset_size"; do
  coproc BASE { "$bench" baseline "$size"; }
  read -r bport <&"${BASE[0]}"
  echo "-- libmicrohttpd baseline, constant $size bytes"
  "$bench" load "$bport" "/const-$size" "$n" "$conc"
  eval "exec ${BASE[1]}>&-"
  wait "$BASE_PID" 2>/dev/null || true
done
