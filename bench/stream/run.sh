#!/usr/bin/env bash
# Stream benchmark (issue 9): event relay latency — from the tool writing an
# event to Pixie's merged output being visible (runs.execute's on_event:
# SSE parsing, masking with 50 registered secrets, JSON decoding, merging)
# — median and p99 over N events paced 1 ms apart, and events/s of a burst,
# side by side with reading the same tool's /stream directly with libcurl.
# Target: <= 1 ms median added latency.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${PIXIE_BUILD_DIR:-$src/build}
python=${PIXIE_BENCH_PYTHON:-/usr/bin/python3}
n=${EVENTS:-1000}
burst=${BURST:-20000}
home=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$home"' EXIT
mkdir -p "$home/tools"
cp -r "$here/tool" "$home/tools/stream-bench"
cp "$src/tests/fixtures/tools/fixturelib.py" "$home/tools/fixturelib.py"
echo "== stream benchmark ($(nproc) CPUs) =="
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$home/tools/stream-bench" && exec "$python" main.py --port "$port") &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
"$build/bench/bench_stream" "$port" "$n" "$burst"
kill "$pid"; pid=
PIXIE_PYTHON=$python "$build/tests/pixie_lua_test" "$here/stream.lua" "$home" "$n" "$burst"
