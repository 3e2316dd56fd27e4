"""Sets KEY_10 with python-dotenv's set_key n times; prints "median p90 n
version" in ms. With a third argument "fsync", each set_key is followed by
an fsync of the file and of its folder (what Pixie does for durability)."""
import importlib.metadata
import os
import statistics
import sys
import time

from dotenv import dotenv_values, set_key

path, n = sys.argv[1], int(sys.argv[2])
durable = len(sys.argv) > 3 and sys.argv[3] == "fsync"


def sync(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


times = []
for i in range(1, n + 1):
    t0 = time.perf_counter()
    set_key(path, "KEY_10", "BENCH-VALUE-%d" % i)
    if durable:
        sync(path)
        sync(os.path.dirname(os.path.abspath(path)))
    times.append((time.perf_counter() - t0) * 1000)
assert dotenv_values(path)["KEY_10"] == "BENCH-VALUE-%d" % n
times.sort()
print("%f %f %d %s" % (statistics.median(times), times[int(n * 0.9) - 1], n,
                       importlib.metadata.version("python-dotenv")))
