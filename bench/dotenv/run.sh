#!/usr/bin/env bash
# .env write benchmark: median latency of setting one key in a .env holding
# ~20 keys, many iterations in one process, Pixie (pixie.env.set: lock,
# read, parse, rewrite, re-parse check, temp file, fsync, rename, fsync of
# the folder) side by side with python-dotenv's set_key (same file shape;
# temp file + rename, no fsync at all), python-dotenv's set_key followed by
# an fsync of the file and the folder (same durability as Pixie), and the
# ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${PIXIE_BUILD_DIR:-$here/../../build}
iterations=${BENCH_ITERATIONS:-400}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pixie" "$work/python" "$work/durable"
for d in pixie python durable; do python3 "$here/make_env.py" "$work/$d/.env"; done
pixie=$("$build/tests/pixie_lua_test" "$here/set_key.lua" "$work/pixie/.env" "$iterations")
python=$(python3 "$here/set_key.py" "$work/python/.env" "$iterations")
durable=$(python3 "$here/set_key.py" "$work/durable/.env" "$iterations" fsync)
python3 - "$pixie" "$python" "$durable" <<'PY'
import sys
p = [float(x) for x in sys.argv[1].split()]
q = [float(x) for x in sys.argv[2].split()[:3]]
r = [float(x) for x in sys.argv[3].split()[:3]]
print("set one key in a 20-key .env (%d iterations each, one process each)" % int(p[2]))
print("  pixie.env.set            median %8.3f ms   p90 %8.3f ms" % (p[0], p[1]))
print("  python-dotenv set_key    median %8.3f ms   p90 %8.3f ms" % (q[0], q[1]))
print("  set_key + fsync file+dir median %8.3f ms   p90 %8.3f ms" % (r[0], r[1]))
print("  ratio pixie / set_key          %.2fx (median)" % (p[0] / q[0]))
print("  ratio pixie / set_key + fsync  %.2fx (median)" % (p[0] / r[0]))
print("  (python-dotenv %s writes no fsync; Pixie fsyncs the file and the folder)" % sys.argv[2].split()[3])
PY
