"""The launcher through the Lua API (pixie.launcher + pixie.childenv), driven
by launcher_driver.lua in the pixie Lua host: readiness, failures with
masked output, deadlines, tree kills, parent death, warm reuse, eviction,
the child's environment and descriptors, original-style FastAPI tools."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

from pixie_testlib import SOURCE_DIR, TMP_BASE, write

BUILD_DIR = os.environ.get("PIXIE_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
LUA_HOST = os.path.join(BUILD_DIR, "tests", "pixie_lua_test")
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher_driver.lua")
FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "tools")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with fastapi/uvicorn/dotenv
PARENT_CANARY = "CANARY-PARENT-ENV-SECRET"


def copy_tool(name, home, new_id=None, dotenv=None):
    """Copies fixture `name` (and fixturelib.py) into home/tools; returns its
    folder. new_id rewrites the id in tool.json; dotenv writes a .env."""
    tools = os.path.join(home, "tools")
    os.makedirs(tools, exist_ok=True)
    shutil.copy(os.path.join(FIXTURES, "fixturelib.py"), tools)
    dest = os.path.join(tools, new_id or name)
    shutil.copytree(os.path.join(FIXTURES, name), dest)
    if new_id:
        path = os.path.join(dest, "tool.json")
        with open(path) as f:
            spec = json.load(f)
        spec["id"] = new_id
        write(path, json.dumps(spec))
    if dotenv is not None:
        write(os.path.join(dest, ".env"),
              "".join(f'{k}="{v}"\n' for k, v in dotenv.items()), mode=0o600)
    return dest


def processes_with_env(entry):
    """Pids of live processes whose environment holds `entry` exactly."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if entry.encode() in env:
            found.append(int(pid))
    return found


def identity(pid):
    """(pid, start time) of a live (not zombie) process, else None. Checks
    compare identities, not pids: pids are reused (pid_max may be 32768)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (pid, fields[19])


def alive(proc):
    """True when proc (an identity, or a pid) is still that live process."""
    if isinstance(proc, int):
        return identity(proc) is not None
    return proc is not None and identity(proc[0]) == proc


def wait_until(predicate, limit=10.0):
    """Polls predicate until true or `limit` seconds pass; returns its value."""
    end = time.monotonic() + limit
    value = predicate()
    while not value and time.monotonic() < end:
        time.sleep(0.05)
        value = predicate()
    return value


class Driver:
    """One Pixie process holding a warm pool, commanded over stdin."""

    def __init__(self, extra_env=None):
        env = dict(os.environ)
        env.update({"PIXIE_PYTHON": SYSTEM_PYTHON, "LANG": "C.UTF-8",
                    "PIXIE_LEAK_CANARY": PARENT_CANARY})
        env.pop("LC_ALL", None)
        env.pop("PIXIE_WARM_KEEP_MAX", None)
        env.update(extra_env or {})
        self.proc = subprocess.Popen([LUA_HOST, DRIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True)

    def call(self, op, **args):
        args["op"] = op
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("driver died: " + self.proc.stderr.read())
        return json.loads(line)

    def ok(self, op, **args):
        reply = self.call(op, **args)
        if not reply["ok"]:
            raise AssertionError(f"{op} failed: {reply.get('error')}")
        return reply["value"]

    def tool(self, folder, **overrides):
        return self.ok("tool", dir=folder, set=overrides)["tool"]

    def state(self):
        value = self.ok("state")
        return value if isinstance(value, list) else []

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("exit")
            except (AssertionError, BrokenPipeError):
                pass
            self.proc.wait(timeout=30)
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.proc.stderr.close()


class LauncherTestCase(unittest.TestCase):
    def setUp(self):
        os.makedirs(TMP_BASE, exist_ok=True)
        self.home = tempfile.mkdtemp(prefix="e2e-launcher-", dir=TMP_BASE)
        self.nonce = "NONCE_" + uuid.uuid4().hex
        self.driver = Driver({"PIXIE_HOME": self.home})

    def tearDown(self):
        self.driver.close()
        left = wait_until(lambda: not processes_with_env(f"TEST_NONCE={self.nonce}"), 5)
        self.assertTrue(left, "tool processes outlived the Pixie process")
        shutil.rmtree(self.home, ignore_errors=True)

    def fixture(self, name, new_id=None, **dotenv):
        dotenv.setdefault("TEST_NONCE", self.nonce)
        return copy_tool(name, self.home, new_id, dotenv)

    def tree(self):
        return processes_with_env(f"TEST_NONCE={self.nonce}")


class Lifecycle(LauncherTestCase):
    def test_start_is_healthy_and_runs_reuse_the_warm_process(self):
        tool = self.driver.tool(self.fixture("fdcheck"))
        started = self.driver.ok("start", tool=tool)
        self.assertTrue(started["started"])
        self.assertTrue(alive(started["pid"]))
        first = self.driver.ok("run", tool=tool, body='{"inputs": {}}')
        second = self.driver.ok("run", tool=tool, body='{"inputs": {}}')
        self.assertEqual(first["status_code"], 200)
        self.assertFalse(first["started"])
        self.assertEqual(first["pid"], started["pid"])
        self.assertEqual(second["pid"], started["pid"])
        rows = self.driver.state()
        self.assertEqual([(r["tool_id"], r["pid"], r["busy"]) for r in rows],
                         [("fdcheck", started["pid"], 0)])
        self.assertGreaterEqual(rows[0]["last_used"], rows[0]["started_at"])

    def test_child_environment_fds_group_and_limits(self):
        tool = self.driver.tool(self.fixture("fdcheck", FROM_DOTENV="dotenv-value"),
                                max_memory_mb=300)
        tool["env"]["PIXIE_ARTEFACTS_DIR"] = "/tmp/artefacts"
        out = json.loads(self.driver.ok("run", tool=tool, body='{"run_id": "r-1"}',
                                        opts={"run_id": "r-1"})["body"])
        expected = {k: os.environ[k] for k in ("PATH", "HOME", "TZ", "TERM",
                                               "LC_CTYPE") if k in os.environ}
        tmp = os.path.join(os.path.realpath(self.home), "tmp", "fdcheck")  # the tool's own
        expected.update({"TMPDIR": tmp, "TEMP": tmp, "TMP": tmp})
        expected.update({"LANG": "C.UTF-8", "FROM_DOTENV": "dotenv-value",
                         "TEST_NONCE": self.nonce, "PYTHONUNBUFFERED": "1",
                         "PIXIE_TOOL_ID": "fdcheck", "PIXIE_ARTEFACTS_DIR": "/tmp/artefacts"})
        self.assertEqual(out["env"], expected)
        self.assertNotIn(PARENT_CANARY, json.dumps(out))
        self.assertEqual(sorted(out["fds"]), ["0", "1", "2"])
        self.assertEqual(out["fds"]["0"], "/dev/null")
        self.assertTrue(out["fds"]["1"].startswith("pipe:"), out["fds"])
        self.assertTrue(out["fds"]["2"].startswith("pipe:"), out["fds"])
        self.assertTrue(out["pgid_is_pid"])
        self.assertEqual(out["limits"], {"as": 300 * 1024 * 1024, "core": 0})
        self.assertEqual(out["cwd"], os.path.realpath(tool["dir"]))
        self.assertEqual(out["headers"].get("x-pixie-run-id"), "r-1")
        self.assertEqual(out["headers"].get("content-type"), "application/json")

    def test_dies_early_fails_fast_with_exit_code_and_output(self):
        tool = self.driver.tool(self.fixture("dies-early"))
        reply = self.driver.call("start", tool=tool)
        self.assertFalse(reply["ok"])
        self.assertIn("exited before it was ready", reply["error"])
        self.assertIn("exit code 3", reply["error"])
        self.assertIn("settings.ini is missing", reply["error"])
        self.assertEqual(reply["code"], 10)  # ECHILD
        self.assertEqual(self.driver.state(), [])
        self.assertEqual(self.tree(), [])

    def test_missing_interpreter_is_a_clear_error(self):
        tool = self.driver.tool(self.fixture("fdcheck"), python="/nonexistent/bin/python")
        reply = self.driver.call("start", tool=tool)
        self.assertFalse(reply["ok"])
        self.assertIn("/nonexistent/bin/python", reply["error"])
        self.assertEqual(reply["code"], 2)  # ENOENT

    def test_deadline_kills_the_tree_and_reports_timeout(self):
        tool = self.driver.tool(self.fixture("slow"))
        self.assertEqual(tool["max_runtime_seconds"], 1)
        proc = identity(self.driver.ok("start", tool=tool)["pid"])
        reply = self.driver.ok("run", tool=tool, body="{}")  # deadline 1 + 5 s
        self.assertTrue(reply["timed_out"])
        self.assertIn("did not answer /run", reply["error"])
        self.assertEqual(reply["pid"], proc[0])
        self.assertFalse(alive(proc))
        self.assertEqual(self.tree(), [])
        self.assertEqual(self.driver.state(), [])

    def test_stop_leaves_no_process_of_the_tree(self):
        tool = self.driver.tool(self.fixture("forker"))
        reply = self.driver.ok("run", tool=tool, body="{}")
        pids = [identity(int(p)) for p in json.loads(reply["body"])["pids"].split()]
        pids.append(identity(reply["pid"]))
        self.assertEqual(len(pids), 4)
        self.assertTrue(all(alive(p) for p in pids))
        # one of them ignores SIGTERM: the stop had to SIGKILL it
        self.assertEqual(self.driver.ok("stop", id="forker", grace_ms=500),
                         {"stopped": True, "forced": True})
        self.assertFalse(any(alive(p) for p in pids))
        self.assertEqual(self.tree(), [])
        self.assertEqual(self.driver.ok("stop", id="forker"), {"stopped": False, "forced": False})

    def test_a_tool_that_exits_on_sigterm_is_not_forced(self):
        tool = self.driver.tool(self.fixture("fdcheck"))
        proc = identity(self.driver.ok("start", tool=tool)["pid"])
        self.assertIsNotNone(proc)
        self.assertEqual(self.driver.ok("stop", id="fdcheck"), {"stopped": True, "forced": False})
        self.assertFalse(alive(proc))

    def test_kill_9_of_pixie_takes_every_tool_process_with_it(self):
        forker = self.driver.tool(self.fixture("forker"))
        fdcheck = self.driver.tool(self.fixture("fdcheck"))
        self.driver.ok("start", tool=fdcheck)
        reply = self.driver.ok("run", tool=forker, body="{}")
        pids = [identity(int(p)) for p in json.loads(reply["body"])["pids"].split()]
        self.assertEqual(len(self.tree()), 5)
        self.driver.proc.kill()  # at once: the watchdog needs no sweep to find them
        self.driver.proc.wait()
        # (an exiting process's environ reads empty before it is a zombie)
        gone = wait_until(lambda: not self.tree() and not any(alive(p) for p in pids), 2.5)
        self.assertTrue(gone, f"left alive: {self.tree()}")

    def test_env_change_restarts_the_warm_process(self):
        folder = self.fixture("fdcheck", VALUE="one")
        first = self.driver.ok("run", tool=self.driver.tool(folder), body="{}")
        first_proc = identity(first["pid"])
        write(os.path.join(folder, ".env"), f'TEST_NONCE="{self.nonce}"\nVALUE="two"\n')
        second = self.driver.ok("run", tool=self.driver.tool(folder), body="{}")
        self.assertTrue(second["started"])
        self.assertNotEqual(first["pid"], second["pid"])
        self.assertEqual(json.loads(second["body"])["env"]["VALUE"], "two")
        self.assertTrue(wait_until(lambda: not alive(first_proc)))


class Pool(LauncherTestCase):
    def test_lru_cap_evicts_least_recently_used(self):
        self.driver.ok("configure", opts={"warm_keep_max": 2})
        tools = {i: self.driver.tool(self.fixture("fdcheck", new_id=f"lru-{i}")) for i in "abc"}
        pids = {i: identity(self.driver.ok("start", tool=t)["pid"])
                for i, t in tools.items() if i != "c"}
        self.driver.ok("run", tool=tools["a"], body="{}")  # a is now more recent than b
        self.driver.ok("start", tool=tools["c"])
        ids = wait_until(lambda: len(self.driver.state()) <= 2 and
                         sorted(r["tool_id"] for r in self.driver.state()))
        self.assertEqual(ids, ["lru-a", "lru-c"])
        self.assertTrue(wait_until(lambda: not alive(pids["b"])))

    def test_idle_tool_is_evicted_after_warm_keep_seconds(self):
        tool = self.driver.tool(self.fixture("fdcheck"), warm_keep_seconds=0)
        self.driver.ok("run", tool=tool, body="{}")
        self.assertTrue(wait_until(lambda: self.driver.state() == []))
        self.assertTrue(wait_until(lambda: not self.tree()))

    def test_schema_of_a_drifting_tool_is_handed_back(self):
        folder = self.fixture("drifter")
        tool = self.driver.tool(folder)
        self.assertTrue(self.driver.ok("start", tool=tool)["started"])
        served = self.driver.ok("get", id="drifter", path="/schema")
        self.assertEqual(served["status_code"], 200)
        with open(os.path.join(folder, "tool.json")) as f:
            on_disk = json.load(f)
        self.assertNotEqual(json.loads(served["body"]), on_disk)
        self.assertEqual(json.loads(served["body"])["name"], "Drifted name")

    def test_malformed_output_is_handed_back_raw(self):
        tool = self.driver.tool(self.fixture("badoutput"))
        for kind, raw in (("garbage", "this is {not json"), ("array", "[1, 2, 3]"),
                          ("truncated", '{"value": "cut')):
            reply = self.driver.ok("run", tool=tool,
                                   body=json.dumps({"inputs": {"kind": kind}}))
            self.assertEqual((reply["status_code"], reply["body"]), (200, raw))

    def test_memory_limit_stops_a_hog(self):
        tool = self.driver.tool(self.fixture("memhog"))
        self.assertEqual(tool["max_memory_mb"], 200)
        reply = self.driver.ok("run", tool=tool, body="{}")
        self.assertEqual(reply["status_code"], 500)
        self.assertIn("MemoryError", reply["body"])
        output = wait_until(lambda: "allocated" in (self.driver.ok("output", id="memhog") or ""))
        self.assertTrue(output)
        out = self.driver.ok("output", id="memhog")
        allocated = int(out.split("allocated ")[1].split()[0])
        self.assertLess(allocated, 200)


class Secrets(LauncherTestCase):
    def test_leaky_secret_never_appears_in_captured_output(self):
        token = "CANARY-LEAKY-" + uuid.uuid4().hex + "-SECRET"
        tool = self.driver.tool(self.fixture("leaky", LEAK_TOKEN=token))
        self.assertEqual(tool["env"]["LEAK_TOKEN"], token)  # the tool gets it
        self.driver.ok("set_store", home=self.home)
        ok = self.driver.ok("run", tool=tool, body='{"inputs": {"mode": "return"}}')
        self.assertEqual(json.loads(ok["body"])["echo"], token)  # runs.lua masks bodies
        failed = self.driver.ok("run", tool=tool, body='{"inputs": {"mode": "raise"}}')
        self.assertEqual(failed["status_code"], 500)
        self.driver.ok("stop", id="leaky", grace_ms=1000)  # flushes every stream
        output = self.driver.ok("output", id="leaky")
        self.assertIn("starting with token ***", output)
        self.assertIn("split *** end", output)
        self.assertIn("RuntimeError: failed with ***", output)
        self.assertNotIn(token, output)
        rows = self.driver.ok("spawn_log", home=self.home, id="leaky")
        logged = "".join(r["text"] for r in rows)
        self.assertIn("run stdout ***", logged)
        self.assertIn("failed with ***", logged)
        self.assertEqual({r["stream"] for r in rows}, {"stdout", "stderr"})
        self.assertNotIn(token, logged)
        with open(os.path.join(self.home, "pixie.db"), "rb") as f:
            self.assertNotIn(token.encode(), f.read())

    def test_fastapi_classic_tool_runs_unchanged_from_its_venv(self):
        folder = self.fixture("fastapi-classic", GREETING_SECRET="CANARY-FASTAPI-SECRET")
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages",
                        os.path.join(folder, ".venv")], check=True)
        reply = self.driver.ok("tool", dir=folder)
        self.assertEqual(reply["python_source"], "venv")
        tool = reply["tool"]
        self.assertEqual(tool["python"], os.path.join(folder, ".venv", "bin", "python"))
        result = self.driver.ok("run", tool=tool, body='{"run_id": "r", "inputs": {"name": "Ada"}}')
        self.assertEqual(result["status_code"], 200, result)
        self.assertEqual(json.loads(result["body"]),
                         {"greeting": "Hello, Ada!", "secret_length": len("CANARY-FASTAPI-SECRET")})
        bad = self.driver.ok("run", tool=tool, body='{"inputs": {"name": 5}}')
        self.assertEqual(bad["status_code"], 422)
        self.assertEqual(json.loads(bad["body"]), {"detail": "name must be a string"})
        self.assertNotIn("CANARY-FASTAPI-SECRET", self.driver.ok("output", id="fastapi-classic"))


if __name__ == "__main__":
    unittest.main()
