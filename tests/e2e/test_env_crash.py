"""Writing .env safely (SPEC §3.2), with real processes and real files:

* kill -9 of a writer at random moments, 200 times: the file is always
  byte-identical to the old or the new content, mode 0600, never partial
  or empty; stray temp files are removed by the next write;
* 8 processes each setting 100 distinct keys in one .env concurrently end
  with all 800 keys (the folder lock serialises read-modify-write);
* umask 000 and a pre-existing 0644 file give 0600; a symlinked .env is
  refused and its target left unchanged; a tool folder reached through a
  symlink escaping tools/ is refused; set/unset keep every other line byte
  for byte; NUL and invalid UTF-8 values are refused.

Values are canaries; every process output is checked not to contain them.
"""
import glob
import os
import random
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import dotenv_driver as d
from pixie_testlib import TMP_BASE

CANARY = "CANARY-CRASH-SECRET"


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class EnvFileSafety(unittest.TestCase):
    def setUp(self):
        os.makedirs(TMP_BASE, exist_ok=True)
        self.home = tempfile.mkdtemp(prefix="env-safety-", dir=TMP_BASE)
        self.tools = os.path.join(self.home, "tools")
        self.tool = os.path.join(self.tools, "t1")
        os.makedirs(self.tool)
        self.env = os.path.join(self.tool, ".env")

    def assertNoCanary(self, *outputs):
        for out in outputs:
            self.assertNotIn(CANARY.encode(), out if isinstance(out, bytes) else out.encode())

    def test_kill_9_leaves_old_or_new_content(self):
        head = b"# keep this comment\r\nOTHER='x y'\n\n"
        with open(self.env, "wb") as f:
            f.write(head)
        # Large values make a torn write likely to be seen if it could happen.
        v1 = (CANARY + "-ONE-") * 5000
        v2 = (CANARY + "-TWO-") * 6000
        old = head + b'KEY="' + v1.encode() + b'"\n'
        new = head + b'KEY="' + v2.encode() + b'"\n'
        files = []
        for n, v in enumerate((v1, v2)):
            files.append(os.path.join(self.home, "value%d" % n))
            with open(files[-1], "w") as f:
                f.write(v)
        rng = random.Random(7)
        for _ in range(200):
            proc = subprocess.Popen([d.DOTENV_TOOL, "--loop", self.env, "KEY", files[0], files[1]],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # let it complete 1-6 writes, then kill it at a random moment
            # of the writes that follow
            for n in range(1, rng.randint(1, 6) + 1):
                self.assertEqual(proc.stdout.readline(), b"set %d\n" % n)
            time.sleep(rng.uniform(0, 0.02))
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate()
            self.assertEqual(proc.returncode, -signal.SIGKILL)
            self.assertNoCanary(out, err)
            data = read_bytes(self.env)
            self.assertTrue(data in (old, new), "torn .env of %d bytes" % len(data))
            self.assertEqual(mode_of(self.env), 0o600)
        # stray temp files of killed writers go away with the next write
        replies, err = d.run([d.req("set", self.env, "KEY", "CANARY-CRASH-SECRET-FINAL")])
        self.assertEqual(replies.int(), 0)
        self.assertEqual(glob.glob(self.env + ".tmp-*"), [])
        self.assertEqual(d.python_values(self.env)["KEY"], "CANARY-CRASH-SECRET-FINAL")

    def test_concurrent_writers_lose_no_update(self):
        procs = []
        for w in range(8):
            reqs = [d.req("set", self.env, "W%d_K%d" % (w, k), "%s-%d-%d" % (CANARY, w, k))
                    for k in range(100)]
            p = subprocess.Popen([d.DOTENV_TOOL], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            procs.append((p, b"".join(reqs)))
        results = []
        for p, data in procs:  # all started before any is fed
            p.stdin.write(data)
            p.stdin.close()
        for p, _ in procs:
            out = p.stdout.read()
            err = p.stderr.read()
            p.wait()
            self.assertEqual(p.returncode, 0)
            self.assertEqual(err, b"")
            results.append(d.Replies(out))
        for r in results:
            for _ in range(100):
                self.assertEqual(r.int(), 0)
                r.int()
        values = d.python_values(self.env)
        self.assertEqual(len(values), 800)
        for w in range(8):
            for k in range(100):
                self.assertEqual(values["W%d_K%d" % (w, k)], "%s-%d-%d" % (CANARY, w, k))
        self.assertEqual(mode_of(self.env), 0o600)

    def test_umask_000_and_existing_0644_give_0600(self):
        with open(self.env, "w") as f:
            f.write("A=1\n")
        os.chmod(self.env, 0o644)
        proc = subprocess.run([d.DOTENV_TOOL], input=d.req("set", self.env, "K", CANARY),
                              capture_output=True, preexec_fn=lambda: os.umask(0))
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(d.Replies(proc.stdout).int(), 0)
        self.assertEqual(mode_of(self.env), 0o600)
        fresh = os.path.join(self.tools, "t2", ".env")
        os.makedirs(os.path.dirname(fresh))
        proc = subprocess.run([d.DOTENV_TOOL], input=d.req("set", fresh, "K", CANARY),
                              capture_output=True, preexec_fn=lambda: os.umask(0))
        self.assertEqual(d.Replies(proc.stdout).int(), 0)
        self.assertEqual(mode_of(fresh), 0o600)
        self.assertEqual(d.python_values(fresh), {"K": CANARY})

    def test_symlinked_env_refused_target_unchanged(self):
        target = os.path.join(self.home, "elsewhere.txt")
        with open(target, "wb") as f:
            f.write(b"PRECIOUS=1\n")
        os.chmod(target, 0o644)
        os.symlink(target, self.env)
        replies, err = d.run([d.req("set", self.env, "K", CANARY), d.req("unset", self.env, "PRECIOUS"),
                              d.req("parse", self.env)])
        self.assertEqual(replies.int(), -40)  # -ELOOP
        replies.int()
        self.assertEqual(replies.int(), -40)
        replies.int()
        self.assertEqual(replies.int(), -40)  # not even read through the link
        self.assertEqual(read_bytes(target), b"PRECIOUS=1\n")
        self.assertEqual(mode_of(target), 0o644)
        self.assertTrue(os.path.islink(self.env))
        self.assertEqual(glob.glob(os.path.join(self.tool, ".env.tmp-*")), [])

    def test_tool_folder_symlink_escaping_tools_refused(self):
        outside = tempfile.mkdtemp(prefix="outside-", dir=self.home)
        os.symlink(outside, os.path.join(self.tools, "evil"))
        os.symlink(self.tool, os.path.join(self.tools, "alias"))  # stays inside: allowed
        replies, _ = d.run([
            d.req("rootset", os.path.join(self.tools, "evil", ".env"), self.tools, "K", CANARY),
            d.req("rootset", os.path.join(self.tools, "alias", ".env"), self.tools, "K", CANARY),
            d.req("rootset", os.path.join(self.tools, "..", ".env"), self.tools, "K", CANARY),
        ])
        self.assertEqual(replies.int(), -18)  # -EXDEV
        replies.int()
        self.assertEqual(replies.int(), 0)
        replies.int()
        self.assertEqual(replies.int(), -18)
        self.assertEqual(os.listdir(outside), [])
        self.assertFalse(os.path.exists(os.path.join(self.home, ".env")))
        self.assertEqual(d.python_values(self.env), {"K": CANARY})

    def test_set_and_unset_keep_other_lines_byte_for_byte(self):
        before = (b"# Settings\r\n"
                  b"\n"
                  b"   # indented comment\n"
                  b"export PLAIN=value # trailing comment\n"
                  b"SINGLE='it''s'\n"
                  b"DOUBLE=\"a\\tb\"   \n"
                  b"TARGET=old\n"
                  b"MULTI='line one\nline two'\n"
                  b"odd line without equals sign here\n"
                  b"\tSPACED = 'x' # c\r\n"
                  b"NOVALUE\n"
                  b"LAST=1")
        with open(self.env, "wb") as f:
            f.write(before)
        replies, err = d.run([d.req("set", self.env, "TARGET", CANARY)])
        self.assertEqual(replies.int(), 0)
        after_set = read_bytes(self.env)
        self.assertEqual(after_set, before.replace(b"TARGET=old\n", b'TARGET="' + CANARY.encode() + b'"\n'))
        replies, _ = d.run([d.req("set", self.env, "NEWKEY", CANARY + "-2"),
                            d.req("unset", self.env, "MULTI")])
        self.assertEqual([replies.int() for _ in range(4)], [0, 0, 0, 1])
        after = read_bytes(self.env)
        expected = after_set.replace(b"MULTI='line one\nline two'\n", b"") + \
            b'\nNEWKEY="' + CANARY.encode() + b'-2"\n'
        self.assertEqual(after, expected)
        self.assertNoCanary(err)

    def test_nul_and_invalid_utf8_refused_file_unchanged(self):
        with open(self.env, "wb") as f:
            f.write(b"A=1\n")
        os.chmod(self.env, 0o600)
        replies, err = d.run([d.req("set", self.env, "K", CANARY + "\x00x"),
                              d.req("set", self.env, "K", (CANARY + "\udcff").encode("utf-8", "surrogateescape")),
                              d.req("set", self.env, "bad-key", CANARY)])
        self.assertEqual(replies.int(), -22)  # -EINVAL
        replies.int()
        self.assertEqual(replies.int(), -84)  # -EILSEQ
        replies.int()
        self.assertEqual(replies.int(), -22)
        self.assertEqual(read_bytes(self.env), b"A=1\n")
        self.assertNoCanary(err)


if __name__ == "__main__":
    unittest.main()
