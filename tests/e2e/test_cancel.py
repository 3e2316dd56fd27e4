"""Ctrl-C during `pixie run` (issue 9 item 2): a streaming tool is sent the
original's soft cancel (POST /cancel?run_id=), the run is recorded
`cancelled`, the tool's tree is stopped and the exit code is 130."""
import glob
import json
import os
import pty
import shutil
import sqlite3
import subprocess
import unittest

from pixie_testlib import PIXIE_BIN, SOURCE_DIR, make_home, processes_inside

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "tools")


def read_until(master, marker):
    """Terminal output up to (and including) the first chunk holding marker,
    or all of it when the terminal closes first."""
    seen = b""
    while marker not in seen:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


class CtrlC(unittest.TestCase):
    def setUp(self):
        self.home = make_home("cancel")
        shutil.copytree(os.path.join(FIXTURES, "stream-cancel"), os.path.join(self.home, "tools", "stream-cancel"))
        shutil.copy(os.path.join(FIXTURES, "fixturelib.py"), os.path.join(self.home, "tools", "fixturelib.py"))

    def cancelled_runs(self, tool_id):
        db = sqlite3.connect(os.path.join(self.home, "pixie.db"))
        rows = db.execute("SELECT id, status, error_text FROM runs WHERE tool_id = ?", (tool_id,)).fetchall()
        db.close()
        return rows

    def test_ctrl_c_cancels_a_run_that_does_not_stream(self):
        folder = os.path.join(self.home, "tools", "slow")
        shutil.copytree(os.path.join(FIXTURES, "slow"), folder)
        with open(os.path.join(folder, "tool.json")) as f:
            spec = json.load(f)
        spec["max_runtime_seconds"] = 600  # only Ctrl-C ends it
        with open(os.path.join(folder, "tool.json"), "w") as f:
            json.dump(spec, f)
        proc = subprocess.Popen([PIXIE_BIN, "--home", self.home, "run", "slow"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        while not processes_inside(self.home) and proc.poll() is None:
            os.sched_yield()
        os.killpg(proc.pid, 2)  # while it starts or runs: either is cancelled
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, err)
        self.assertEqual(err.decode().count("cancelled by the user"), 1, err)
        rows = self.cancelled_runs("slow")
        self.assertEqual([r[1:] for r in rows], [("cancelled", "cancelled by the user")])
        self.assertEqual(processes_inside(self.home), [])

    def test_ctrl_c_cancels_a_streaming_run(self):
        master, slave = pty.openpty()
        proc = subprocess.Popen([PIXIE_BIN, "--home", self.home, "run", "stream-cancel"],
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        try:
            seen = read_until(master, b"tick")
            self.assertIn(b"tick", seen, "the stream shows live before Ctrl-C")
            # Ctrl-C as the terminal sends it: SIGINT to the foreground group
            os.killpg(proc.pid, 2)
            seen += read_until(master, b"\x00never")
            code = proc.wait(timeout=60)
        finally:
            os.close(master)
        self.assertEqual(code, 130, seen)
        text = seen.decode(errors="replace")
        self.assertEqual(text.count("cancelled by the user"), 1, text)
        rows = self.cancelled_runs("stream-cancel")
        self.assertEqual(len(rows), 1)
        run_id, status, error_text = rows[0]
        self.assertEqual((status, error_text), ("cancelled", "cancelled by the user"))
        marker = os.path.join(self.home, "tools", "stream-cancel", f"cancelled-{run_id}")
        self.assertTrue(os.path.exists(marker), "the tool's /cancel was called for this run")
        self.assertEqual(glob.glob(os.path.join(self.home, "tools", "stream-cancel", "cancelled-*")), [marker])
        self.assertEqual(processes_inside(self.home), [])


if __name__ == "__main__":
    unittest.main()
