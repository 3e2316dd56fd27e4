#!/usr/bin/env bash
# HTTP benchmark (issue 11): requests/s and p50/p99 latency of pixie serve
# for GET /api/tools with 100 tools (the dashboard's list, answered from
# the reply cache while nothing changes; also timed right after a change),
# GET /api/healthz (guard + a Lua state per worker + JSON) and a static
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
for i in $(seq -w 1 100); do # 100 copies of the word-count example, ids tool-001..100
  mkdir -p "$home/tools/tool-$i"
  sed "s/\"id\": *\"word-count\"/\"id\": \"tool-$i\"/" "$src/examples/tools/word-count/tool.json" \
    > "$home/tools/tool-$i/tool.json"
  cp "$src/examples/tools/word-count/main.py" "$home/tools/tool-$i/"
done
n_tools=${TOOLS_REQUESTS:-$n} # answered from the cache: as many as the others
echo "== http benchmark ($(nproc) CPUs, $n requests over $conc connections) =="
coproc PIX { exec "$pixie" --home "$home" serve --port 0 2>/dev/null; }
pid=$PIX_PID
read -r url <&"${PIX[0]}"
port=${url#http://127.0.0.1:}; port=${port%/}
asset=/vendor/marked/marked.min.js
tools_size=$(curl -s "http://127.0.0.1:$port/api/tools" | wc -c)
api_size=$(curl -s "http://127.0.0.1:$port/api/healthz" | wc -c)
asset_size=$(curl -s "http://127.0.0.1:$port$asset" | wc -c)
echo "-- pixie serve"
"$bench" load "$port" /api/tools "$n_tools" "$conc"
"$bench" load "$port" /api/healthz "$n" "$conc"
"$bench" load "$port" "$asset" "$n" "$conc"
# The same list right after a change (a tool's .env rewritten): never from
# the cache, so this is the cost of computing it in Lua.
for i in $(seq 50); do
  printf 'K=%s\n' "$i" > "$home/tools/tool-001/.env"
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/api/tools"
done | sort -n | awk '{ t[NR] = $1 * 1000 }
  END { printf "%-44s %5d requests  p50 %6.3f ms   p90 %6.3f ms\n", "/api/tools after a change (uncached)", NR, t[int(NR / 2)], t[int(NR * 0.9)] }'
kill -TERM "$pid"; wait "$pid" || true; pid=
for size in "$tools_size" "$api_size" "$asset_size"; do
  coproc BASE { "$bench" baseline "$size"; }
  read -r bport <&"${BASE[0]}"
  echo "-- libmicrohttpd baseline, constant $size bytes"
  "$bench" load "$bport" "/const-$size" "$n" "$conc"
  eval "exec ${BASE[1]}>&-"
  wait "$BASE_PID" 2>/dev/null || true
done
# From a tool's event to the dashboard page's EventSource (headless Chromium).
(cd "$src/tests/browser" && PIXIE_BIN="$pixie" node "$here/event_latency.mjs")
