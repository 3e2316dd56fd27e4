"""Times share-tool against `zip -r -q` and import-tool against `unzip -q` on
the tree gen_tree.py makes; prints wall and CPU time (best of RUNS rounds)
and the ratios. Not a test: figures only.

usage: bench.py PIXIE_BIN WORKDIR [RUNS]"""
import os
import resource
import shutil
import subprocess
import sys
import time

pixie, work = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
here = os.path.dirname(os.path.abspath(__file__))
home, other = os.path.join(work, "home"), os.path.join(work, "other")
tid = "zip-bench"
# limits raised above the tree (100 MiB, ~3000 files, an archive of ~60 MiB)
LIMITS = ["--max-total-bytes", str(1 << 30), "--max-archive-bytes", str(1 << 30),
          "--max-file-bytes", str(1 << 28), "--max-entries", "100000"]
os.makedirs(os.path.join(other, "tools"), exist_ok=True)
subprocess.run([sys.executable, os.path.join(here, "gen_tree.py"), home, tid], check=True)


def run_once(argv, cwd=None, before=None):
    """(wall seconds, child CPU seconds) of one run of argv."""
    if before:
        before()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def interleaved(*cases):
    """Best (wall, CPU) per case over `runs` rounds; each round runs every
    case once, so a busy moment of the machine hits them all alike."""
    best = [None] * len(cases)
    for _ in range(runs):
        for i, case in enumerate(cases):
            wall, cpu = run_once(**case)
            best[i] = (wall, cpu) if best[i] is None else (min(best[i][0], wall), min(best[i][1], cpu))
    return best


def rm(path):
    def go():
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    return go


def row(label, pix, base, base_label):
    print(f"{label:<13} pixie {pix[0]:6.2f} s wall {pix[1]:6.2f} s cpu | {base_label:<10} "
          f"{base[0]:6.2f} s wall {base[1]:6.2f} s cpu | ratio wall {pix[0] / base[0]:.2f}"
          f"  cpu {pix[1] / base[1]:.2f}  (target <= 1.5)")


share_zip = os.path.join(work, "share.zip")
plain_zip = os.path.join(work, "plain.zip")
share, zipr = interleaved(
    dict(argv=[pixie, "--home", home, "run-skill", "share-tool", tid, "-o", share_zip] + LIMITS,
         before=rm(share_zip)),
    dict(argv=["zip", "-r", "-q", plain_zip, tid], cwd=os.path.join(home, "tools"), before=rm(plain_zip)))
installed = os.path.join(other, "tools", tid)
unzip_dir = os.path.join(work, "unzipped")
# import-tool fsyncs every file it extracts (a crash leaves the old tool or
# the complete new one); unzip does not. The same durability for unzip is
# unzip followed by sync -f.
imp, unz, unz_sync = interleaved(
    dict(argv=[pixie, "--home", other, "run-skill", "import-tool", share_zip, "--no-validate"] + LIMITS,
         before=rm(installed)),
    dict(argv=["unzip", "-q", share_zip, "-d", unzip_dir], before=rm(unzip_dir)),
    dict(argv=["sh", "-c", 'unzip -q "$0" -d "$1" && sync -f "$1"', share_zip, unzip_dir],
         before=rm(unzip_dir)))

size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(home, "tools", tid))
           for f in fs)
print(f"tree: {size / 1048576:.1f} MiB; share-tool archive {os.path.getsize(share_zip) / 1048576:.1f} MiB, "
      f"zip -r archive {os.path.getsize(plain_zip) / 1048576:.1f} MiB; best of {runs} interleaved rounds")
row("share-tool", share, zipr, "zip -r -q")
row("import-tool", imp, unz, "unzip -q")
row("import-tool", imp, unz_sync, "unzip+sync")
