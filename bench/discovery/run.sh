#!/usr/bin/env bash
# Discovery benchmark: time to list 1,000 generated tools, cold (first
# listing in a fresh process, every tool.json parsed) and warm (same process,
# cache by mtime/size), side by side with the original Pixie's approach
# (Python: scan folders, json.load + validate every tool.json on every
# listing, no cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${PIXIE_BUILD_DIR:-$here/../../build}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
python3 "$here/gen_tools.py" "$home" 1000
out=$(mktemp)
BENCH_OUT=$out "$build/tests/pixie_lua_test" "$here/discovery.lua" "$home"
bin=${PIXIE_BIN:-$build/pixie}
start=$(date +%s%N)
"$bin" --home "$home" tools --json >/dev/null
end=$(date +%s%N)
echo "pixie    whole 'pixie tools --json' process: $(( (end - start) / 1000000 )) ms"
PIXIE_FIGURES=$(cat "$out") python3 "$here/original.py" "$home"
rm -f "$out"
