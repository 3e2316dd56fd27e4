"""Streaming runs (SPEC §4.1, issue 9 item 1): /run then /stream as
Server-Sent Events, each event masked and merged into the outputs; a stream
that goes wrong fails the run with the reason and leaves no process."""
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import unittest

from pixie_testlib import SOURCE_DIR, make_home, pixie, processes_inside, run_on_pty, write

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "tools")
CANARY = "CANARY-stream-3e8b1d-SECRET"


def home_with(*fixtures):
    home = make_home("stream")
    for name in fixtures:
        shutil.copytree(os.path.join(FIXTURES, name), os.path.join(home, "tools", name))
    shutil.copy(os.path.join(FIXTURES, "fixturelib.py"), os.path.join(home, "tools", "fixturelib.py"))
    return home


def run_json(home, tool, *args):
    r = pixie("run", tool, *args, "--json", home=home)
    return r, json.loads(r.stdout)


class StreamedOutputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = home_with("stream-agent", "stream-trainer", "stream-named")

    def test_agent_chunks_and_tool_calls_log(self):
        r = pixie("run", "stream-agent", "question=12 * 7", home=self.home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Reply: 12 * 7 = **84.0**", r.stdout)
        r, rec = run_json(self.home, "stream-agent", "question=6 * 7")
        self.assertEqual(rec["status"], "ok")
        self.assertEqual(rec["outputs"]["reply"], "6 * 7 = **42.0**")
        lines = rec["outputs"]["tool_calls"]["lines"]
        self.assertEqual([json.loads(x["message"]) for x in lines],
                         [{"calculator": "6 * 7"}, {"result": 42}])

    def test_validate_sees_the_merged_outputs(self):
        r = pixie("validate", "stream-agent", "--json", home=self.home)
        report = json.loads(r.stdout)
        self.assertEqual(report["sample_output"]["reply"], "12 * 7 = **84.0**")
        checks = {c["name"]: c["status"] for c in report["checks"]}
        self.assertEqual(checks["sample_run_succeeds"], "pass")
        self.assertEqual(checks["streaming_check"], "pass")

    def test_trainer_points_append_and_table_replaces(self):
        r, rec = run_json(self.home, "stream-trainer", "epochs=3")
        self.assertEqual(rec["status"], "ok", rec["error"])
        curve = rec["outputs"]["loss_curve"]
        self.assertEqual(curve["x"], [1, 2, 3])
        self.assertEqual(curve["series"][0]["y"], [1, 0.5, 1 / 3])
        self.assertEqual(curve["series"][1]["y"], [1.5, 1, 1 / 3 + 0.5])
        self.assertEqual(curve["x_label"], "Epoch")
        self.assertEqual([row["epoch"] for row in rec["outputs"]["epoch_summary"]["rows"]], [1, 2, 3])

    def test_named_events_and_documented_payload(self):
        r, rec = run_json(self.home, "stream-named")
        self.assertEqual(rec["status"], "ok", rec["error"])
        self.assertEqual(rec["outputs"]["status"], "finished")
        self.assertEqual(rec["outputs"]["progress"], 1)
        self.assertEqual(rec["outputs"]["notes"]["lines"],
                         ["first note", {"level": "info", "message": "second note"}])

    def test_a_terminal_sees_text_and_lines_as_they_arrive(self):
        status, seen = run_on_pty(self.home, "run", "stream-agent", "question=2 * 3")
        self.assertEqual(status, 0, seen)
        text = seen.decode().replace("\r\n", "\n")
        live = text.index('Tool calls: [tool] {"calculator": "2 * 3"}\n')
        self.assertEqual(text.index("2 * 3 = **6.0**\n"), live + len('Tool calls: [tool] {"calculator": "2 * 3"}\n'))
        self.assertIn('Tool calls: [tool] {"result": 6}\n', text)
        self.assertGreater(text.index("Reply: 2 * 3 = **6.0**"), live, "the final outputs come after")
        piped = pixie("run", "stream-agent", "question=2 * 3", home=self.home)
        self.assertEqual(piped.stdout.count("**6.0**"), 1, "piped: only the final outputs")
        self.assertNotIn("[tool]", piped.stdout)

    def test_no_process_left(self):
        pixie("run", "stream-trainer", home=self.home)
        self.assertEqual(processes_inside(self.home), [])


class StreamLeak(unittest.TestCase):
    def test_a_secret_in_streamed_events_leaves_no_trace(self):
        home = home_with("stream-leaky")
        write(os.path.join(home, "tools", "stream-leaky", ".env"), f'LEAK_TOKEN="{CANARY}"\n', mode=0o600)
        texts = []
        r = pixie("run", "stream-leaky", home=home)
        self.assertEqual(r.returncode, 0, r.stderr.replace(CANARY, "<canary>"))
        texts.append(r.stdout + r.stderr)
        r = pixie("run", "stream-leaky", "--json", home=home)
        texts.append(r.stdout + r.stderr)
        rec = json.loads(r.stdout)
        self.assertEqual(rec["outputs"]["reply"], "whole *** | cut *** | escaped ***")
        self.assertEqual(rec["outputs"]["notes"]["lines"], ["line ***"])
        r = pixie("validate", "stream-leaky", "--json", home=home)
        texts.append(r.stdout + r.stderr)
        texts.append(pixie("logs", "stream-leaky", "-n", "500", home=home).stdout)
        joined = "\n".join(texts)
        self.assertFalse(CANARY in joined, "canary printed")
        self.assertFalse(CANARY[: len(CANARY) // 2] in joined, "half of the canary printed")
        for path in glob.glob(os.path.join(home, "pixie.db*")) + glob.glob(os.path.join(home, "logs", "**"), recursive=True):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    blob = f.read()
                self.assertFalse(CANARY.encode() in blob, f"canary found in {path}")
        db = sqlite3.connect(os.path.join(home, "pixie.db"))
        outputs = [row[0] for row in db.execute("SELECT outputs_json FROM runs")]
        self.assertTrue(outputs and all("***" in o for o in outputs))


class FastAPIStream(unittest.TestCase):
    """A streaming tool written as the original's are, from its own venv."""

    def test_runs_unchanged_and_a_cut_stream_fails(self):
        home = home_with("fastapi-stream")
        folder = os.path.join(home, "tools", "fastapi-stream")
        write(os.path.join(folder, ".env"), f'AGENT_TOKEN="{CANARY}"\n', mode=0o600)
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages",
                        os.path.join(folder, ".venv")], check=True)
        r, rec = run_json(home, "fastapi-stream", "question=12 * 7")
        self.assertEqual(rec["status"], "ok", rec["error"])
        self.assertEqual(rec["outputs"]["reply"], "12 * 7 = **84.0** [***]")
        self.assertEqual(rec["outputs"]["tool_calls"]["lines"],
                         [{"level": "tool", "message": "calculator(12 * 7)"}])
        r2, cut = run_json(home, "fastapi-stream", "mode=cut")
        self.assertEqual(r2.returncode, 1)
        self.assertEqual(cut["status"], "error")
        self.assertIn("the tool's stream broke before it was done", cut["error"])
        self.assertFalse(CANARY in r.stdout + r.stderr + r2.stdout + r2.stderr)
        self.assertEqual(processes_inside(home), [])


class BrokenStreams(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = home_with("stream-broken")

    def broken(self, mode):
        r, rec = run_json(self.home, "stream-broken", f"mode={mode}")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(processes_inside(self.home), [], f"a process of the tool is left ({mode})")
        return rec

    def test_cut_mid_way(self):
        rec = self.broken("cut")
        self.assertEqual(rec["status"], "error")
        self.assertIn("stream ended without an event saying done", rec["error"])

    def test_never_done(self):
        rec = self.broken("nodone")
        self.assertEqual(rec["status"], "error")
        self.assertIn("stream ended without an event saying done", rec["error"])
        self.assertEqual(rec["outputs"], None)

    def test_stream_404(self):
        rec = self.broken("missing")
        self.assertEqual(rec["status"], "error")
        self.assertIn("/stream: tool answered 404: Not Found", rec["error"])

    def test_slow_stream_past_the_deadline(self):
        rec = self.broken("slow")
        self.assertEqual(rec["status"], "timeout")
        self.assertIn("the stream did not end within 6 s; the tool was stopped", rec["error"])

    def test_validate_fails_a_stream_that_never_sends_an_event(self):
        home = home_with("stream-broken")
        spec_path = os.path.join(home, "tools", "stream-broken", "tool.json")
        with open(spec_path) as f:
            spec = json.load(f)
        spec["inputs"][0]["default"] = "silent"  # the validator's sample run uses defaults
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        report = json.loads(pixie("validate", "stream-broken", "--json", home=home).stdout)
        checks = {c["name"]: c for c in report["checks"]}
        self.assertEqual(checks["sample_run_succeeds"]["status"], "pass")
        self.assertEqual(checks["streaming_check"]["status"], "fail")
        self.assertIn("sent no non-empty event", checks["streaming_check"]["message"])


if __name__ == "__main__":
    unittest.main()
