#!/usr/bin/env bash
# Masking benchmark: throughput of Pixie's masker on a generated >= 64 MB
# web/app log with 10, 100 and 1,000 registered secrets (derived forms on),
# side by side with a naive per-pattern memmem search-and-replace in C
# (bench_mask.c) and the original Pixie's per-value `in`/`replace` filter in
# Python (original.py). BENCH_MASK_MB sets the log size (default 64).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${PIXIE_BUILD_DIR:-$here/../../build}
bench="$build/bench/bench_mask"
mb=${BENCH_MASK_MB:-64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" --mb "$mb" --write "$work"
"$bench" --mb "$mb" | tee "$work/c-results.txt"
python3 "$here/original.py" "$work" "$work/c-results.txt"
