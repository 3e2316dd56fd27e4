"""The zip core (src/core/zip_*.c) through its driver tests/c/zip_tool.c.

* Every archive of the hostile corpus (make_hostile_zips.py) is refused
  with its own reason, at the stage that can see the flaw; extraction
  leaves the staging folder empty and writes nothing beside it; the driver
  runs under RLIMIT_FSIZE and its peak memory stays small.
* The positive corpus (zip -r, Python zipfile, shutil.make_archive)
  extracts to exactly the source tree (bytes and 0644/0755 modes).
* Differential: whatever Python's zipfile or `unzip -t` rejects, the
  importer (inspect, then extract) rejects too.
* Pack: a folder with secrets, tool-private folders, a symlink to a file
  outside and a FIFO packs to an archive without any of them that zipfile
  and `unzip -t` accept, and inspect + extract gives back identical files
  and modes.
"""
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest
import zipfile

import make_hostile_zips as corpus
from pixie_testlib import SOURCE_DIR, TMP_BASE, tree

ZIP_TOOL = os.environ.get("PIXIE_ZIP_TOOL") or os.path.join(
    os.environ.get("PIXIE_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"), "tests", "zip_tool")
FSIZE_LIMIT = 80 << 20      # above the 64 MiB per-file cap
RSS_LIMIT_KB = 256 * 1024   # peak memory of any driver run (generous for ASan)


def limit_child():
    """preexec_fn: a file-size cap whose violation fails the write (EFBIG)
    instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))


def run_tool(*args):
    """Runs zip_tool; returns (exit code, report dict, skipped lines)."""
    p = subprocess.run([ZIP_TOOL, *args], capture_output=True, text=True, timeout=300,
                       preexec_fn=limit_child)
    rep, skipped = {}, []
    for line in p.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key == "skipped":
            skipped.append(value)
        else:
            rep[key] = value
    if "reason" not in rep:
        raise AssertionError("zip_tool %s: no report (exit %d): %s" % (args, p.returncode, p.stderr))
    return p.returncode, rep, skipped


def python_accepts(path):
    """Python's zipfile opens the archive and reads every member intact."""
    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except Exception:  # noqa: BLE001 - any refusal counts
        return False


def unzip_accepts(path):
    return subprocess.run(["unzip", "-tqq", path], capture_output=True,
                          timeout=300).returncode == 0


class ZipCoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_BASE, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="zip-core-", dir=TMP_BASE)
        cls.hostile = corpus.build_hostile(os.path.join(cls.tmp, "hostile"))
        cls.tree_parent = os.path.join(cls.tmp, "tree")
        corpus.make_tree(os.path.join(cls.tree_parent, corpus.TOP))
        cls.positive = corpus.build_positive(os.path.join(cls.tmp, "positive"), cls.tree_parent)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def extract(self, case, sandbox_name):
        """Extracts case into <sandbox>/staging; returns (code, report, sandbox)."""
        sandbox = os.path.join(self.tmp, "sandbox", sandbox_name)
        os.makedirs(sandbox)
        staging = os.path.join(sandbox, "staging")
        code, rep, _ = run_tool(*case.limits, "extract", case.path, staging)
        return code, rep, sandbox

    def test_corpus_is_big_enough(self):
        self.assertGreaterEqual(len(self.hostile), 30)
        self.assertEqual(len({c.name for c in self.hostile}), len(self.hostile))

    def test_every_hostile_archive_is_refused_with_its_reason(self):
        for case in self.hostile:
            with self.subTest(case=case.name):
                code, rep, _ = run_tool(*case.limits, "inspect", case.path)
                want = case.reason if case.stage == "inspect" else "ok"
                self.assertEqual(rep["reason"], want, rep["message"])
                self.assertEqual(code, 0 if want == "ok" else 1)
                if want != "ok":
                    self.assertTrue(rep["message"])
                    self.assertTrue(rep["message"].isprintable(), "message is escaped")

                code, rep, sandbox = self.extract(case, case.name)
                self.assertEqual(code, 1)
                self.assertEqual(rep["reason"], case.reason, rep["message"])
                self.assertEqual(os.listdir(sandbox), ["staging"], "nothing beside staging")
                self.assertEqual(os.listdir(os.path.join(sandbox, "staging")), [],
                                 "a failed extraction leaves the staging folder empty")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        self.assertLess(peak, RSS_LIMIT_KB, "peak memory of the driver (KiB)")

    def test_refusal_names_the_entry(self):
        by_name = {c.name: c for c in self.hostile}
        _, rep, _ = run_tool("inspect", by_name["traversal"].path)
        self.assertIn("tool/../../evil.txt", rep["message"])
        self.assertEqual(rep["entry"], "1")
        _, rep, _ = run_tool("inspect", by_name["control_char"].path)
        self.assertIn("tool/a\\x1b[31m.txt", rep["message"])
        self.assertNotIn("\x1b", rep["message"])

    def test_positive_corpus_extracts_the_source_tree(self):
        source = tree(os.path.join(self.tree_parent, corpus.TOP))
        for case in self.positive:
            with self.subTest(case=case.name):
                code, rep, _ = run_tool("inspect", case.path)
                if case.stage != "ok":
                    self.assertEqual(rep["reason"], case.reason, rep["message"])
                    continue
                self.assertEqual((code, rep["reason"]), (0, "ok"), rep["message"])
                self.assertEqual(rep["top"], corpus.TOP)
                code, rep, sandbox = self.extract(case, "positive-" + case.name)
                self.assertEqual((code, rep["reason"]), (0, "ok"), rep["message"])
                got = tree(os.path.join(sandbox, "staging"))
                with zipfile.ZipFile(case.path) as z:
                    names = {n[len(corpus.TOP) + 1:].rstrip("/") for n in z.namelist()}
                want = {rel: v for rel, v in source.items()
                        if v[0] == "file" and rel in names or v[0] == "dir" and any(
                            n == rel or n.startswith(rel + "/") for n in names)}
                self.assertEqual(sorted(got), sorted(want))
                for rel, (kind, mode, data) in want.items():
                    self.assertEqual(got[rel][0], kind, rel)
                    self.assertEqual(got[rel][2], data, rel)
                    if kind == "dir" or case.name.startswith(("zip_r", "shutil", "python")):
                        self.assertEqual(got[rel][1], mode, "mode of " + rel)
                self.assertEqual(int(rep["files"]), sum(v[0] == "file" for v in want.values()))

    def test_differential_with_python_zipfile_and_unzip(self):
        for case in self.hostile + self.positive:
            with self.subTest(case=case.name):
                others_accept = python_accepts(case.path) and unzip_accepts(case.path)
                code, rep, _ = self.extract(case, "diff-" + case.name)
                if not others_accept:
                    self.assertEqual(code, 1, "zipfile or unzip -t rejects it, so must we")
                if case.stage == "ok":
                    self.assertTrue(others_accept, "positive archives are valid for everyone")

    def test_pack_round_trip_leaves_out_secrets_links_and_special_files(self):
        src = os.path.join(self.tmp, "pack-src")
        corpus.make_tree(src)
        outside = os.path.join(self.tmp, "outside-secret.txt")
        with open(outside, "w") as f:
            f.write("private\n")
        excluded = [".env", ".env.bak", ".ENV", ".venv", ".git", "data", "__pycache__"]
        for name in (".env", ".env.bak", ".ENV"):
            with open(os.path.join(src, name), "w") as f:
                f.write("KEY=value\n")
        for d in (".venv/bin", ".git/objects", "data", "lib/__pycache__"):
            os.makedirs(os.path.join(src, d))
            with open(os.path.join(src, d, "f"), "w") as f:
                f.write("x\n")
        os.symlink(outside, os.path.join(src, "link-out"))
        os.mkfifo(os.path.join(src, "fifo"))
        out = os.path.join(self.tmp, "packed.zip")
        args = ["pack", src, out, "mytool"]
        for name in excluded:
            args += ["--exclude", name]
        code, rep, skipped = run_tool(*args)
        self.assertEqual((code, rep["reason"]), (0, "ok"), rep["message"])
        self.assertIn("symlink link-out", skipped)
        self.assertIn("special fifo", skipped)
        for rel in (".env", ".env.bak", ".ENV", ".venv", ".git", "data", "lib/__pycache__"):
            self.assertIn("excluded " + rel, skipped)
        self.assertEqual([f for f in os.listdir(self.tmp) if ".tmp-" in f], [])

        self.assertTrue(python_accepts(out))
        self.assertTrue(unzip_accepts(out))
        with zipfile.ZipFile(out) as z:
            names = z.namelist()
            for zi in z.infolist():
                self.assertTrue(zi.filename.startswith("mytool/"))
                mode = zi.external_attr >> 16
                self.assertIn(stat.S_IMODE(mode), (0o644, 0o755))
                if not zi.filename.isascii():
                    self.assertTrue(zi.flag_bits & 0x800, "UTF-8 flag on " + zi.filename)
        for bad in excluded + ["link-out", "fifo"]:
            self.assertFalse([n for n in names if ("/" + bad) in n], bad)
        self.assertEqual(int(rep["files"]), 6)

        code, rep, _ = run_tool("inspect", out)
        self.assertEqual(rep["reason"], "ok", rep["message"])
        staging = os.path.join(self.tmp, "pack-staging")
        code, rep, _ = run_tool("extract", out, staging)
        self.assertEqual((code, rep["reason"]), (0, "ok"), rep["message"])
        want = {rel: v for rel, v in tree(src).items()
                if not any(part in excluded for part in rel.split("/"))
                and rel not in ("link-out", "fifo")}
        self.assertEqual(tree(staging), want)

    def test_pack_refuses_what_import_would_refuse(self):
        src = os.path.join(self.tmp, "pack-env")
        corpus.make_tree(src)
        with open(os.path.join(src, "lib", ".env.local"), "w") as f:
            f.write("KEY=value\n")
        out = os.path.join(self.tmp, "pack-env.zip")
        code, rep, _ = run_tool("pack", src, out, "mytool")
        self.assertEqual((code, rep["reason"]), (1, "dotenv"))
        self.assertIn("mytool/lib/.env.local", rep["message"])
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith("pack-env.zip")], [])

    def test_pack_of_an_empty_folder_gives_an_importable_archive(self):
        src = os.path.join(self.tmp, "pack-empty")
        os.makedirs(src)
        out = os.path.join(self.tmp, "pack-empty.zip")
        code, rep, _ = run_tool("pack", src, out, "empty")
        self.assertEqual((code, rep["reason"]), (0, "ok"), rep["message"])
        with zipfile.ZipFile(out) as z:
            self.assertEqual(z.namelist(), ["empty/"])
        code, rep, _ = run_tool("extract", out, os.path.join(self.tmp, "pack-empty-staging"))
        self.assertEqual((code, rep["reason"], rep["files"]), (0, "ok", "0"))

    def test_extract_refuses_a_staging_folder_that_is_not_empty(self):
        staging = os.path.join(self.tmp, "not-empty")
        os.makedirs(staging)
        with open(os.path.join(staging, "keep"), "w") as f:
            f.write("mine\n")
        code, rep, _ = run_tool("extract", self.positive[0].path, staging)
        self.assertEqual((code, rep["reason"]), (1, "not_empty"))
        self.assertEqual(os.listdir(staging), ["keep"])


if __name__ == "__main__":
    unittest.main()
