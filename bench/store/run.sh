#!/usr/bin/env bash
# Store benchmark: the cost of the one-writer design (one SQLite connection
# per process, pixie.db.lock per write transaction, queued spawn_log) side
# by side with the previous two-connection design replayed with raw SQLite
# (bench_store.c). Rows per second and new/old ratios; synchronous=FULL, so
# the figures are mostly the disk's fsync rate. PAIRS, APPENDS and ROUNDS
# set the sizes (defaults 200, 1000, 3). The databases live in a temporary
# folder on the build tree's filesystem (a tmpfs would hide the syncs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${PIXIE_BUILD_DIR:-$here/../../build}
work=$(mktemp -d "$build/bench-store.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== store benchmark ($(nproc) CPUs, $(df -PT "$work" | awk 'NR == 2 { print $2 }')) =="
"$build/bench/bench_store" "$work" "${PAIRS:-200}" "${APPENDS:-1000}" "${ROUNDS:-3}"
