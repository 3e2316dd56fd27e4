"""The original Pixie's masking algorithm as a baseline: a logging filter that,
for every registered raw value, does `if value in message: message =
message.replace(value, "***")` on each log line (no derived forms).

usage: original.py DIR C_RESULTS
DIR holds log.txt and secrets-<N>.txt from `bench_mask --write DIR`;
C_RESULTS is the output of `bench_mask` (its RESULT lines). Prints the
original's throughput (thread CPU time, on as many lines as fit in about
3 s per N) and the ratios against Pixie's engine, then checks the targets."""
import re
import sys
import time

TIME_BUDGET = 3.0


def mask_line(message, values):
    for value in values:
        if value in message:
            message = message.replace(value, "***")
    return message


def run(lines, values):
    done = 0
    t0 = time.thread_time()
    for line in lines:
        mask_line(line, values)
        done += len(line)
        if done & 0xFFFF < 200 and time.thread_time() - t0 > TIME_BUDGET:
            break
    return done / 1e6 / (time.thread_time() - t0)


def main():
    folder, results_path = sys.argv[1], sys.argv[2]
    with open(f"{folder}/log.txt", encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    c = {}
    with open(results_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("RESULT "):
                fields = dict(kv.split("=") for kv in line.split()[1:])
                c[int(fields["n"])] = {k: float(v) for k, v in fields.items()}
    print()
    print(f"{'secrets':<8} {'original':>13} {'pixie stream':>13} {'pixie/orig':>11}"
          f" {'per-line/orig':>14} {'naive C/orig':>13}")
    ok = True
    for n in (10, 100, 1000):
        with open(f"{folder}/secrets-{n}.txt", encoding="utf-8") as f:
            values = [v for v in f.read().split("\n") if len(v) >= 4]
        orig = run(lines, values)
        r = c[n]
        print(f"{n:<8} {orig:8.1f} MB/s {r['stream']:8.0f} MB/s {r['stream'] / orig:10.0f}x"
              f" {r['lines'] / orig:13.0f}x {r['naive'] / orig:12.1f}x")
        if n == 1000:
            ok = r["stream"] >= 500 and r["stream"] / orig >= 100
            print()
            print(f"targets at 1,000 secrets: >= 500 MB/s single-threaded: {r['stream']:.0f} MB/s;"
                  f" >= 100x the original: {r['stream'] / orig:.0f}x -> {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
