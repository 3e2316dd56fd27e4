"""share-tool and import-tool end to end (SPEC §6.2), through the built binary.

* Round trip: share-tool on a tool holding .env, .env.bak, .ENV, .venv/,
  .git/, data/, __pycache__/, *.pyc, a symlink to a file outside and a FIFO
  writes a zip with none of them that unzip -t and zipfile accept; importing
  it under a new id gives identical files and modes (tool.json differs only
  in its id).
* The hostile corpus (make_hostile_zips.py) through import-tool: each
  archive refused with its reason, exit 1, nothing under tools/ and no
  staging folder left.
* Import's own refusals: no tool.json, invalid tool.json, id mismatch,
  invalid id, id installed (and --replace replacing atomically).
* Kill during import: SIGKILL at random moments, 100 times; every visible
  tool folder is the complete old or the complete new tree, and the next
  import sweeps the hidden staging folders the killed ones left.
"""
import os
import random
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
import zipfile

import make_hostile_zips as corpus
from pixie_testlib import PIXIE_BIN, TMP_BASE, make_home, pixie, tree, write

TOOL_JSON = """{
  "id": "%s",
  "name": "Demo tool",
  "version": "1.2.3",
  "inputs": [{"key": "text", "label": "Text", "type": "text"}],
  "outputs": [{"key": "n", "label": "N", "type": "text"}],
  "secrets": [{"key": "API_TOKEN", "description": "token", "required": true}]
}
"""

# zip_tool's limit flags (the corpus's) -> import-tool's.
LIMIT_FLAGS = {"--max-archive": "--max-archive-bytes", "--max-entries": "--max-entries",
               "--max-file": "--max-file-bytes", "--max-total": "--max-total-bytes",
               "--max-ratio": "--max-ratio", "--ratio-min": "--ratio-min-bytes"}


def visible(tools_dir):
    """Entries of tools/ that are tools (not dot-folders)."""
    return sorted(n for n in os.listdir(tools_dir) if not n.startswith("."))


def make_source_tool(home, tool_id="demo"):
    """A tool with everything share-tool must leave out; returns its folder."""
    d = os.path.join(home, "tools", tool_id)
    write(os.path.join(d, "tool.json"), TOOL_JSON % tool_id)
    write(os.path.join(d, "main.py"), "print('hello')\n", 0o755)
    write(os.path.join(d, "pyproject.toml"), "[project]\nname = 'demo'\n")
    write(os.path.join(d, "lib", "util.py"), "X = 1\n" * 100)
    write(os.path.join(d, "lib", "caf\u00e9.txt"), "d\u00e9j\u00e0\n")
    os.makedirs(os.path.join(d, "empty"))
    write(os.path.join(d, ".env"), "API_TOKEN=canary-not-shared\n", 0o600)
    write(os.path.join(d, ".env.bak"), "API_TOKEN=old\n")
    write(os.path.join(d, ".ENV"), "X=1\n")
    write(os.path.join(d, "sub", ".env.local"), "X=1\n")
    write(os.path.join(d, ".venv", "bin", "python"), "#!/bin/sh\n", 0o755)
    write(os.path.join(d, ".git", "HEAD"), "ref: refs/heads/main\n")
    write(os.path.join(d, "data", "state.db"), "data")
    write(os.path.join(d, "__pycache__", "main.cpython-311.pyc"), "pyc")
    write(os.path.join(d, "lib", "old.pyc"), "pyc")
    write(os.path.join(d, ".DS_Store"), "junk")
    outside = os.path.join(home, "outside-secret.txt")
    write(outside, "outside\n")
    os.symlink(outside, os.path.join(d, "link-outside"))
    os.mkfifo(os.path.join(d, "fifo"))
    return d


EXCLUDED = {".env", ".env.bak", ".ENV", "sub/.env.local", ".venv", ".venv/bin",
            ".venv/bin/python", ".git", ".git/HEAD", "data", "data/state.db", "__pycache__",
            "__pycache__/main.cpython-311.pyc", "lib/old.pyc", ".DS_Store", "link-outside", "fifo"}


class ShareImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_BASE, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="share-import-", dir=TMP_BASE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def import_tool(self, home, zip_path, *args):
        return pixie("run-skill", "import-tool", zip_path, "--no-validate", *args, home=home,
                     timeout=300)

    def assert_refused(self, home, zip_path, reason, *args, before=None):
        tools = os.path.join(home, "tools")
        before = tree(tools) if before is None else before
        p = self.import_tool(home, zip_path, *args)
        self.assertEqual(p.returncode, 1, (zip_path, p.stdout, p.stderr))
        self.assertIn("(%s)" % reason, p.stderr, zip_path)
        self.assertEqual(p.stderr.count("\n"), 1, "one line: " + p.stderr)
        self.assertEqual(tree(tools), before, "tools/ exactly as it was: " + zip_path)

    def test_round_trip_leaves_out_secrets_and_keeps_files_and_modes(self):
        home = make_home("share")
        src = make_source_tool(home)
        out = os.path.join(self.tmp, "rt")
        os.makedirs(out)
        p = pixie("run-skill", "share-tool", "demo", "-o", os.path.join(out, "demo.zip"), home=home)
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("secrets", ".env.bak", ".venv/", ".git/", "data/", "__pycache__/",
                     "lib/old.pyc", "symlinks", "link-outside", "special", "fifo", ".DS_Store"):
            self.assertIn(word, p.stdout)
        self.assertNotIn("canary-not-shared", p.stdout + p.stderr)
        self.assertIn("5 files", p.stdout)
        z = os.path.join(out, "demo.zip")
        self.assertEqual(subprocess.run(["unzip", "-tqq", z]).returncode, 0)
        with zipfile.ZipFile(z) as zf:
            self.assertIsNone(zf.testzip())
            names = zf.namelist()
        self.assertTrue(all(n.startswith("demo/") for n in names), names)
        for n in names:
            self.assertNotIn(n[len("demo/"):].rstrip("/"), EXCLUDED)

        # The default name is <id>-<version>.zip in the current folder.
        cwd_out = os.path.join(self.tmp, "cwd")
        os.makedirs(cwd_out)
        p = subprocess.run([PIXIE_BIN, "--home", home, "run-skill", "share-tool", "demo"],
                           cwd=cwd_out, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.listdir(cwd_out), ["demo-1.2.3.zip"])

        dest = make_home("import")
        p = self.import_tool(dest, z, "--as", "demo-copy")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("set-secret demo-copy API_TOKEN", p.stdout)
        self.assertEqual(visible(os.path.join(dest, "tools")), ["demo-copy"])
        self.assertEqual(os.listdir(os.path.join(dest, "tools")), ["demo-copy"], "no staging left")
        got = tree(os.path.join(dest, "tools", "demo-copy"))
        want = {k: v for k, v in tree(src).items() if k not in EXCLUDED}
        got_json, want_json = got.pop("tool.json"), want.pop("tool.json")
        self.assertEqual(got, want)
        self.assertEqual(got_json[2], want_json[2].replace(b'"id": "demo"', b'"id": "demo-copy"'))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dest, "tools", "demo-copy")).st_mode),
                         0o755)

        # Same id again: refused; --replace swaps it in.
        self.assert_refused(dest, z, "installed", "--as", "demo-copy")
        p = self.import_tool(dest, z, "--as", "demo-copy", "--replace")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("replacing", p.stdout)
        self.assertEqual(os.listdir(os.path.join(dest, "tools")), ["demo-copy"])

        # Under its own id it is a valid, listed tool.
        p = self.import_tool(dest, z)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = pixie("tools", "--json", home=dest)
        self.assertIn('"demo"', p.stdout)

    def test_hostile_corpus_is_refused_with_its_reason(self):
        cases = corpus.build_hostile(os.path.join(self.tmp, "hostile"))
        self.assertGreaterEqual(len(cases), 30)
        home = make_home("hostile")
        checked = 0
        for case in cases:
            if case.stage != "inspect":
                continue  # no tool.json: covered with one below
            flags = []
            for i in range(0, len(case.limits), 2):
                flags += [LIMIT_FLAGS[case.limits[i]], case.limits[i + 1]]
            with self.subTest(case=case.name):
                self.assert_refused(home, case.path, case.reason, *flags)
                self.assertEqual(os.listdir(os.path.join(home, "tools")), [])
                checked += 1
        self.assertGreaterEqual(checked, 30)

    def test_flaws_only_the_bytes_show_are_refused_while_extracting(self):
        home = make_home("extract-stage")
        d = os.path.join(self.tmp, "xstage")
        os.makedirs(d)
        spec = (corpus.info("tool/tool.json"), (TOOL_JSON % "tool").encode())

        def build(name, data, **patch):
            path = os.path.join(d, name + ".zip")
            corpus.write_zip(path, [spec, (corpus.info("tool/x.bin"), data)])
            corpus.patch_file(path, index=1, **patch)
            return path

        self.assert_refused(home, build("lie_small", b"A" * 100000, usize=10), "size_mismatch")
        self.assert_refused(home, build("lie_large", b"0123456789", usize=100000), "size_mismatch")
        self.assert_refused(home, build("bad_crc", b"hello\n" * 10, crc=0x12345678), "crc")
        self.assertEqual(os.listdir(os.path.join(home, "tools")), [], "no staging folder left")

    def test_import_refuses_bad_tool_json_and_ids(self):
        home = make_home("refuse")
        d = os.path.join(self.tmp, "refuse")
        os.makedirs(d)

        def archive(name, entries):
            path = os.path.join(d, name + ".zip")
            corpus.write_zip(path, [(corpus.info(n), data.encode()) for n, data in entries])
            return path

        good = TOOL_JSON % "tool"
        self.assert_refused(home, archive("nospec", [("tool/main.py", "x")]), "no_tool_json")
        self.assert_refused(home, archive("nested", [("tool/sub/tool.json", good)]),
                            "no_tool_json")
        self.assert_refused(home, archive("notjson", [("tool/tool.json", "{nope")]),
                            "invalid_tool_json")
        self.assert_refused(home, archive("invalid", [("tool/tool.json", '{"id": "tool"}')]),
                            "invalid_tool_json")
        self.assert_refused(home, archive("mismatch", [("tool/tool.json", TOOL_JSON % "other")]),
                            "id_mismatch")
        self.assert_refused(home, archive("badtop", [("Bad_Id/tool.json", good)]), "invalid_id")
        ok = archive("ok", [("tool/tool.json", good)])
        self.assert_refused(home, ok, "invalid_id", "--as", "../escape")
        self.assert_refused(home, ok, "invalid_id", "--as", "UPPER")
        self.assertEqual(self.import_tool(home, ok).returncode, 0)
        self.assert_refused(home, ok, "installed")
        # A folder with another name that declares the id counts as installed.
        os.rename(os.path.join(home, "tools", "tool"), os.path.join(home, "tools", "renamed"))
        self.assert_refused(home, ok, "installed", "--replace")

    def test_kill_during_import_leaves_old_or_complete_tool(self):
        home = make_home("kill")
        tools = os.path.join(home, "tools")
        d = os.path.join(self.tmp, "kill")
        os.makedirs(d)
        entries = [(corpus.info("tool/tool.json"), (TOOL_JSON % "tool").encode())]
        for i in range(150):
            entries.append((corpus.info("tool/f/%03d.txt" % i), os.urandom(3000)))
        new_zip = os.path.join(d, "new.zip")
        corpus.write_zip(new_zip, entries)
        extracted = os.path.join(d, "expected")
        with zipfile.ZipFile(new_zip) as zf:
            zf.extractall(extracted)
        new_tree = tree(os.path.join(extracted, "tool"))
        for rel, (kind, _mode, data) in list(new_tree.items()):
            new_tree[rel] = (kind, 0o755 if kind == "dir" else 0o644, data)
        old = os.path.join(tools, "tool")
        write(os.path.join(old, "tool.json"), TOOL_JSON % "tool")
        write(os.path.join(old, "old-only.txt"), "old\n")
        old_tree = tree(old)

        argv = [PIXIE_BIN, "--home", home, "run-skill", "import-tool", new_zip, "--no-validate"]
        t0 = time.monotonic()
        subprocess.run(argv + ["--as", "probe"], check=True, capture_output=True)
        full = time.monotonic() - t0
        shutil.rmtree(os.path.join(tools, "probe"))
        rng = random.Random(1234)
        outcomes = {"old": 0, "new": 0, "absent": 0}
        for i in range(100):
            replace = i % 2 == 0
            extra = ["--replace"] if replace else ["--as", "fresh"]
            p = subprocess.Popen(argv + extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, full * 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.assertEqual(visible(tools), ["fresh", "tool"] if os.path.exists(
                os.path.join(tools, "fresh")) else ["tool"])
            got = tree(old)
            self.assertIn(got, (old_tree, new_tree), "tools/tool is partial after kill %d" % i)
            outcomes["old" if got == old_tree else "new"] += 1
            fresh = os.path.join(tools, "fresh")
            if os.path.exists(fresh):
                self.assertEqual(tree(fresh), _with_id(new_tree, "fresh"), "fresh is partial")
                shutil.rmtree(fresh)
            else:
                outcomes["absent"] += 1
            if got != old_tree:  # put the old version back for the next round
                shutil.rmtree(old)
                write(os.path.join(old, "tool.json"), TOOL_JSON % "tool")
                write(os.path.join(old, "old-only.txt"), "old\n")
        print("kill outcomes:", outcomes)
        # The next import sweeps what the killed ones left, then succeeds.
        p = subprocess.run(argv + ["--replace"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.listdir(tools), ["tool"], "stale staging folders swept")
        self.assertEqual(tree(old), new_tree)


def _with_id(t, tool_id):
    """t with tool.json's id changed (what --as writes)."""
    out = dict(t)
    kind, mode, data = out["tool.json"]
    out["tool.json"] = (kind, mode, data.replace(b'"id": "tool"', b'"id": "%s"' % tool_id.encode()))
    return out


if __name__ == "__main__":
    unittest.main()
