"""No process of a tool's tree outlives its run, whatever the tool does to
escape (tests/fixtures/tools/escaper: setsid double forks with an empty
environment, on /dev/null or keeping the tool's pipes; a grandchild joining
Pixie's process group; a SIGTERM-ignorer), and Pixie never hangs on pipes a
descendant holds: after a normal `pixie run`, a launcher stop, a deadline,
`kill -9` of Pixie and `pkill -f "pixie ... run"` (docs/architecture.md,
"Tool processes")."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import unittest
import uuid

from pixie_testlib import PIXIE_BIN, TMP_BASE, make_home
from test_launcher import Driver, copy_tool, identity, wait_until

MODES = ("daemon-null", "daemon-pipes", "join-group", "ignore-term")
RETURNS_WITHIN = 20  # seconds: generous; the claim is "returns", not a timing


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


class EscapeTestCase(unittest.TestCase):
    """A fresh home with the escaper fixture; every process of its tree is
    recognised by a unique tag (the escapees' command line), the .env nonce
    (the tool and its forks) or a working directory inside the home."""

    def setUp(self):
        self.home = make_home("escapes")
        self.nonce = "NONCE_" + uuid.uuid4().hex
        self.folder = copy_tool("escaper", self.home, dotenv={"TEST_NONCE": self.nonce})
        self.tags = []
        self.seen = set()

    def tearDown(self):
        left = self.survivors()
        for proc in left:  # never leak: whatever survived is killed here
            try:
                os.kill(proc[0], signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.home, ignore_errors=True)

    def new_tag(self, mode):
        tag = f"{mode}-{uuid.uuid4().hex[:12]}"
        self.tags.append(tag)
        return tag

    def survivors(self):
        """Identities of live processes of the tool's tree (any tag)."""
        found = []
        marks = [f"escaper-{t}".encode() for t in self.tags]
        nonce = f"TEST_NONCE={self.nonce}".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            proc = identity(int(pid))
            if proc is None:
                continue
            cmdline = _read(f"/proc/{pid}/cmdline").split(b"\0")
            environ = _read(f"/proc/{pid}/environ").split(b"\0")
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                cwd = ""
            if any(m in cmdline for m in marks) or nonce in environ or \
                    cwd.startswith(self.home):
                found.append(proc)
        return found

    def escapees(self, tag):
        mark = f"escaper-{tag}".encode()
        return [int(p) for p in filter(str.isdigit, os.listdir("/proc"))
                if mark in _read(f"/proc/{p}/cmdline").split(b"\0")
                and identity(int(p)) is not None]

    def assert_nothing_survives(self, what):
        gone = wait_until(lambda: not self.survivors(), 10)
        self.assertTrue(gone, f"{what}: left alive {self.survivors()}")

    def pixie_argv(self, *args):
        return [PIXIE_BIN, "--home", self.home, *args]

    def pixie_env(self):
        env = dict(os.environ)
        env.pop("PIXIE_HOME", None)
        env["XDG_CONFIG_HOME"] = os.path.join(TMP_BASE, "no-xdg-config")
        return env

    def body(self, mode, tag, hang=0):
        return json.dumps({"inputs": {"mode": mode, "tag": tag, "hang": hang}})


class CliRun(EscapeTestCase):
    def test_pixie_run_returns_and_leaves_no_process(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                tag = self.new_tag(mode)
                r = subprocess.run(self.pixie_argv("run", "escaper", f"mode={mode}", f"tag={tag}"),
                                   capture_output=True, text=True, env=self.pixie_env(),
                                   timeout=RETURNS_WITHIN)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("Pids: ", r.stdout)
                self.assert_nothing_survives(f"pixie run, mode {mode}")

    def test_deadline_of_pixie_run_leaves_no_process(self):
        """max_runtime_seconds 1: the run is killed 1 + 5 s in, with one
        escaper of each style alive."""
        path = os.path.join(self.folder, "tool.json")
        with open(path) as f:
            spec = json.load(f)
        spec["max_runtime_seconds"] = 1
        with open(path, "w") as f:
            json.dump(spec, f)
        tag = self.new_tag("all")
        r = subprocess.run(self.pixie_argv("run", "escaper", "mode=all", f"tag={tag}", "hang=600"),
                           capture_output=True, text=True, env=self.pixie_env(),
                           timeout=RETURNS_WITHIN)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("its processes were killed", r.stderr)
        self.assert_nothing_survives("deadline of pixie run")

    def test_pipes_held_outside_the_tree_do_not_hang_pixie_run(self):
        """The tool hands its stdout/stderr to this test process (outside
        the tree, so no kill closes them): pixie run still returns."""
        path = os.path.join(self.home, "holder.sock")
        held = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(1)

            def hold():
                conn, _ = server.accept()
                with conn:
                    _, fds, _, _ = socket.recv_fds(conn, 1, 2)
                    held.extend(fds)
                    conn.sendall(b"k")

            holder = threading.Thread(target=hold, daemon=True)
            holder.start()
            try:
                r = subprocess.run(self.pixie_argv("run", "escaper", "mode=pass-pipes", "tag=t",
                                                   f"socket={path}"),
                                   capture_output=True, text=True, env=self.pixie_env(),
                                   timeout=RETURNS_WITHIN)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(len(held), 2)
            finally:
                holder.join(RETURNS_WITHIN)
                for fd in held:
                    os.close(fd)
        self.assert_nothing_survives("pass-pipes")

    def test_pkill_of_pixie_run_leaves_no_tool_process(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                tag = self.new_tag(mode)
                proc = subprocess.Popen(
                    self.pixie_argv("run", "escaper", f"mode={mode}", f"tag={tag}", "hang=600"),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.pixie_env())
                try:
                    self.assertTrue(wait_until(lambda: self.escapees(tag), RETURNS_WITHIN))
                    pattern = f"{self.home} run"  # `pkill -f "pixie run"`, this test's only
                    # only Pixie matches: the watchdog has a command line of its own
                    matched = subprocess.run(["pgrep", "-f", pattern], capture_output=True,
                                             text=True).stdout.split()
                    self.assertEqual(matched, [str(proc.pid)])
                    watchdogs = [p for p in filter(str.isdigit, os.listdir("/proc"))
                                 if _read(f"/proc/{p}/comm") == b"pixie-watchdog\n"
                                 and _read(f"/proc/{p}/stat").rsplit(b")", 1)[1].split()[1]
                                 == str(proc.pid).encode()]
                    self.assertEqual(len(watchdogs), 1)
                    self.assertEqual(_read(f"/proc/{watchdogs[0]}/cmdline").rstrip(b"\0"),
                                     b"pixie-watchdog")
                    subprocess.run(["pkill", "-f", pattern], check=True)
                    proc.wait(timeout=RETURNS_WITHIN)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                self.assert_nothing_survives(f"pkill, mode {mode}")


class DriverRuns(EscapeTestCase):
    """Through launcher_driver.lua: a Pixie process that keeps the tool warm."""

    def setUp(self):
        super().setUp()
        self.driver = Driver({"PIXIE_HOME": self.home})
        self.tool = self.driver.tool(self.folder)

    def tearDown(self):
        self.driver.close()
        super().tearDown()

    def test_stop_leaves_no_process(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                tag = self.new_tag(mode)
                reply = self.driver.ok("run", tool=self.tool, body=self.body(mode, tag))
                self.assertEqual(reply["status_code"], 200, reply)
                self.assertEqual(len(self.escapees(tag)), 1)
                self.assertTrue(self.driver.ok("stop", id="escaper", grace_ms=5000)["stopped"])
                self.assert_nothing_survives(f"stop, mode {mode}")

    def test_deadline_leaves_no_process(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                tag = self.new_tag(mode)
                reply = self.driver.ok("run", tool=self.tool, body=self.body(mode, tag, 600),
                                       opts={"deadline_ms": 1500})
                self.assertTrue(reply["timed_out"], reply)
                self.assertIn("its processes were killed", reply["error"])
                self.assert_nothing_survives(f"deadline, mode {mode}")
                self.assertEqual(self.driver.state(), [])

    def test_kill_9_of_pixie_leaves_no_process(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                if self.driver.proc.poll() is not None:
                    self.driver.close()
                    self.driver = Driver({"PIXIE_HOME": self.home})
                tag = self.new_tag(mode)
                reply = self.driver.ok("run", tool=self.tool, body=self.body(mode, tag))
                self.assertEqual(reply["status_code"], 200, reply)
                self.assertEqual(len(self.escapees(tag)), 1)
                self.driver.proc.kill()  # no sweep, no atexit: the watchdog's job
                self.driver.proc.wait()
                self.assert_nothing_survives(f"kill -9, mode {mode}")


if __name__ == "__main__":
    unittest.main()
