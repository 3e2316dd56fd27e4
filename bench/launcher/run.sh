#!/usr/bin/env bash
# Launcher benchmark: (1) spawn-to-ready overhead = Pixie's time from request
# to healthy minus the same tool's bare time from exec to first successful
# /healthz (tight connect loop, no sleep), median over interleaved runs,
# target <= 10 ms; (2) per-run overhead of launcher_run on a warm tool
# versus POST /run with libcurl in the same process, target <= 1 ms median.
# Tools: the stdlib example word-count, and the FastAPI fixture (uvicorn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${PIXIE_BUILD_DIR:-$src/build}
python=${PIXIE_BENCH_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/examples/tools/word-count" "$work/word-count"
cp -r "$src/tests/fixtures/tools/fastapi-classic" "$work/fastapi-classic"
echo "== launcher benchmark ($(nproc) CPUs) =="
"$build/bench/bench_launcher" "$work/word-count" "$python" "${RUNS:-30}" "${CALLS:-500}"
"$build/bench/bench_launcher" "$work/fastapi-classic" "$python" "${FASTAPI_RUNS:-12}" "${CALLS:-500}"
