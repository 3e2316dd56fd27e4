"""Generates a ~100 MB tool tree HOME/tools/<id> for the zip benchmark: a few
thousand files of mixed sizes, compressible text and random bytes, in nested
folders, with a valid tool.json. Deterministic (fixed seed).

usage: gen_tree.py HOME TOOL_ID [TOTAL_MB]"""
import json
import os
import random
import sys

home, tid = sys.argv[1], sys.argv[2]
total_mb = int(sys.argv[3]) if len(sys.argv) > 3 else 100
rng = random.Random(20261130)
root = os.path.join(home, "tools", tid)
os.makedirs(root, exist_ok=True)
spec = {
    "id": tid, "name": "Zip bench", "description": "A generated tool for bench/zip",
    "version": "1.0.0", "category": "bench/generated",
    "inputs": [{"key": "text", "label": "Text", "type": "textarea", "default": "hello"}],
    "outputs": [{"key": "result", "label": "Result", "type": "text"}],
}
with open(os.path.join(root, "tool.json"), "w") as f:
    json.dump(spec, f, indent=2)
with open(os.path.join(root, "main.py"), "w") as f:
    f.write("print('hello')\n")
with open(os.path.join(root, "pyproject.toml"), "w") as f:
    f.write('[project]\nname = "zip-bench"\nversion = "1.0.0"\n')

WORDS = ("def return import self value data result for while class lambda yield "
         "token window buffer stream error index count table row column").split()


def text_bytes(n):
    """Compressible source-like text of n bytes."""
    lines, size = [], 0
    while size < n:
        line = "    " * rng.randint(0, 3) + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + "\n"
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()[:n]


def random_bytes(n):
    return rng.randbytes(n)


# (count, min size, max size, share of random content)
PLAN = [
    (2600, 200, 16 * 1024, 0.1),           # small sources, mostly text
    (380, 32 * 1024, 200 * 1024, 0.5),     # medium assets, half random
    (8, 2 * 1024 * 1024, 6 * 1024 * 1024, 0.5),  # large blobs
]
budget = total_mb * 1024 * 1024
written, nfiles = 0, 0
for count, lo, hi, random_share in PLAN:
    for i in range(count):
        size = rng.randint(lo, hi)
        sub = os.path.join(root, f"pkg{i % 17:02d}", f"mod{i % 5}")
        os.makedirs(sub, exist_ok=True)
        is_random = rng.random() < random_share
        name = f"f{nfiles:05d}" + (".bin" if is_random else ".py")
        with open(os.path.join(sub, name), "wb") as f:
            f.write(random_bytes(size) if is_random else text_bytes(size))
        written += size
        nfiles += 1
# top up to the target with one file of each kind
rest = max(0, budget - written)
for kind in ("text", "random"):
    part = rest // 2
    with open(os.path.join(root, f"blob-{kind}.dat"), "wb") as f:
        f.write(text_bytes(part) if kind == "text" else random_bytes(part))
    written += part
    nfiles += 1
print(f"generated {nfiles + 3} files, {written / 1048576:.1f} MiB in {root}")
