"""The original Pixie's discovery approach as a baseline: every listing scans
the folders and json-loads every tool.json (the original also ran Pydantic
validation on top, which only adds time), no cache."""
import json
import os
import sys
import time

home = sys.argv[1]


def scan():
    tools_dir = os.path.join(home, "tools")
    out = []
    for name in sorted(os.listdir(tools_dir)):
        path = os.path.join(tools_dir, name)
        if name.startswith(".") or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, "tool.json")) as f:
                out.append(json.load(f))
        except (OSError, ValueError) as exc:
            out.append({"error": str(exc)})
    return out


t0, c0 = time.perf_counter(), time.process_time()
n = len(scan())
cold = (time.perf_counter() - t0) * 1000
cold_cpu = (time.process_time() - c0) * 1000
warm = []
for _ in range(11):
    t = time.perf_counter()
    scan()
    warm.append((time.perf_counter() - t) * 1000)
warm.sort()
print(f"original tools={n}  cold {cold:.1f} ms (cpu {cold_cpu:.1f} ms)  warm median {warm[5]:.1f} ms (json.load only, no validation)")

pixie_cold, pixie_warm = (float(x) for x in os.environ.get("PIXIE_FIGURES", "0 0").split())
if pixie_cold and pixie_warm:
    print(f"ratio    original/pixie: cold {cold / pixie_cold:.1f}x  warm {warm[5] / pixie_warm:.1f}x"
          f"  (targets: pixie cold <= 150 ms, warm <= 30 ms)")
