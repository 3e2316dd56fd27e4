#!/usr/bin/env bash
# Zip benchmark: share-tool and import-tool (--no-validate: no uv sync, no
# validator) on a generated ~100 MB tool tree (about 3,000 files: small
# sources, medium assets, large blobs; compressible text and random bytes),
# side by side with `zip -r -q` and `unzip -q` on the same tree / archive.
# Prints the best of RUNS (default 3) interleaved rounds, wall and CPU times,
# and the ratios (target <= 1.5 for both). import-tool fsyncs what it
# extracts, so a second row compares it with `unzip -q` followed by `sync -f`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${PIXIE_BUILD_DIR:-$here/../../build}
bin=${PIXIE_BIN:-$build/pixie}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/bench.py" "$bin" "$work" "${RUNS:-3}"
