"""The dashboard's tool list (GET /api/tools) is answered from a cache (docs/dashboard-api.md
§3) and is never stale: every change that shows in it — made by the dashboard, by another
`pixie` process, or by hand in the tools folder — is in the very next answer. Each case
first reads the list (so it is cached), makes one change, and reads it again at once."""
import json
import os
import shutil
import threading
import time
import unittest

from pixie_testlib import ServeProcess, fixture_home, make_home, pixie, write

CANARY = "CANARY-cache-" + os.urandom(8).hex()


class CachedToolList(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = fixture_home("cache", ("secretprobe", "slow", "refcalc"))
        cls.server = ServeProcess(cls.home)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        assert CANARY not in cls.server.stderr()

    def tearDown(self):
        for body in self.server.bodies:
            self.assertNotIn(CANARY.encode(), body)

    def tools(self):
        """The list twice in a row (the second from the cache when nothing changed)."""
        first = self.fetch()
        self.assertEqual(first, self.fetch())
        return first

    def fetch(self):
        status, headers, body = self.server.request("GET", "/api/tools")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("cache-control"), "no-store")  # the browser never caches
        self.assertIn("content-security-policy", headers)
        return {t["id"]: t for t in json.loads(body)["tools"]}

    def tool_path(self, *parts):
        return os.path.join(self.home, "tools", *parts)

    def test_cli_set_secret_and_clear(self):
        self.assertEqual(self.tools()["secretprobe"]["secrets_missing"], ["PROBE_SECRET"])
        out = pixie("run-skill", "set-secret", "secretprobe", "PROBE_SECRET", home=self.home,
                    input=CANARY + "\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.fetch()["secretprobe"]["secrets_missing"], [])
        out = pixie("run-skill", "set-secret", "secretprobe", "PROBE_SECRET", "--clear",
                    home=self.home)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.fetch()["secretprobe"]["secrets_missing"], ["PROBE_SECRET"])

    def test_dashboard_set_secret(self):
        self.tools()
        status, _, _ = self.server.request("POST", "/api/tools/secretprobe/secrets/PROBE_SECRET",
                                           {"value": CANARY})
        self.assertEqual(status, 204)
        self.assertEqual(self.fetch()["secretprobe"]["secrets_missing"], [])
        status, _, _ = self.server.request("DELETE", "/api/tools/secretprobe/secrets/PROBE_SECRET")
        self.assertEqual(status, 204)
        self.assertEqual(self.fetch()["secretprobe"]["secrets_missing"], ["PROBE_SECRET"])

    def test_edited_tool_json_same_size(self):
        path = self.tool_path("refcalc", "tool.json")
        with open(path) as f:
            original = f.read()
        spec = json.loads(original)
        name = spec["name"]
        self.assertEqual(self.tools()["refcalc"]["name"], name)
        spec["name"] = name[::-1] if name[::-1] != name else name.upper()
        write(path, json.dumps(spec))
        self.assertEqual(self.fetch()["refcalc"]["name"], spec["name"])
        write(path, "{ broken")
        self.assertEqual(self.fetch()["refcalc"]["status"], "broken")
        write(path, original)
        self.assertEqual(self.fetch()["refcalc"]["status"], "ok")

    def test_tool_added_renamed_removed(self):
        self.assertNotIn("fresh", self.tools())
        os.mkdir(self.tool_path("fresh"))
        self.assertEqual(self.fetch()["fresh"]["status"], "broken")  # no tool.json yet
        spec = {"id": "fresh", "name": "Fresh", "version": "1.0.0", "description": "d",
                "inputs": [], "outputs": [{"key": "x", "type": "text", "label": "X"}]}
        write(self.tool_path("fresh", "tool.json"), json.dumps(spec))
        shutil.copy(self.tool_path("slow", "main.py"), self.tool_path("fresh", "main.py"))
        self.assertEqual(self.fetch()["fresh"]["status"], "ok")
        # renamed folder: still watched under its new name
        os.rename(self.tool_path("fresh"), self.tool_path("fresh2"))
        self.assertEqual(self.fetch()["fresh"]["status"], "ok")
        spec["name"] = "Fresh two"
        write(self.tool_path("fresh2", "tool.json"), json.dumps(spec))
        self.assertEqual(self.fetch()["fresh"]["name"], "Fresh two")
        shutil.rmtree(self.tool_path("fresh2"))
        self.assertNotIn("fresh", self.fetch())

    def test_symlinked_tool_json_target_edited(self):
        target = os.path.join(self.home, "linked-tool.json")
        spec = {"id": "linked", "name": "Linked one", "version": "1.0.0", "description": "d",
                "inputs": [], "outputs": [{"key": "x", "type": "text", "label": "X"}]}
        write(target, json.dumps(spec))
        os.mkdir(self.tool_path("linked"))
        os.symlink(target, self.tool_path("linked", "tool.json"))
        self.assertEqual(self.tools()["linked"]["name"], "Linked one")
        spec["name"] = "Linked two"
        write(target, json.dumps(spec))  # nothing in the tools folder changes
        self.assertEqual(self.fetch()["linked"]["name"], "Linked two")
        shutil.rmtree(self.tool_path("linked"))

    def test_cli_validation_shows(self):
        before = self.tools()["refcalc"]["validation"]
        out = pixie("validate", "refcalc", home=self.home, timeout=120)
        self.assertIn(out.returncode, (0, 1), out.stderr)
        after = self.fetch()["refcalc"]["validation"]
        self.assertIsNotNone(after)
        self.assertNotEqual(before, after)

    def test_warm_and_busy(self):
        self.assertEqual(self.tools()["slow"]["warm"], False)
        status, _, body = self.server.request("POST", "/api/tools/slow/run",
                                              {"inputs": {}, "wait": False})
        self.assertEqual(status, 202, body)
        run_id = json.loads(body)["run_id"]
        deadline = time.monotonic() + 60
        while not self.fetch()["slow"]["busy"]:  # the run starts on a job thread
            self.assertLess(time.monotonic(), deadline, "the run never showed as busy")
            time.sleep(0.05)
        self.assertEqual(self.fetch()["slow"]["warm"], True)
        status, _, _ = self.server.request("POST", f"/api/runs/{run_id}/cancel")
        self.assertIn(status, (200, 202))
        while self.fetch()["slow"]["busy"]:
            self.assertLess(time.monotonic(), deadline, "the cancelled run stayed busy")
            time.sleep(0.05)
        status, _, _ = self.server.request("POST", "/api/tools/slow/stop")
        self.assertEqual(status, 200)
        self.assertEqual(self.fetch()["slow"]["warm"], False)

    def test_many_readers_while_folders_change(self):
        """8 threads read the list while tool folders come and go; after each change has
        completed, a read begun later always shows it."""
        self.tools()
        stop = threading.Event()
        errors = []

        def reader():
            while not stop.is_set():
                try:
                    self.fetch()
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))
                    return

        threads = [threading.Thread(target=reader) for _ in range(8)]
        for t in threads:
            t.start()
        try:
            for i in range(40):
                tool = f"churn{i % 5}"
                if tool in self.fetch():
                    shutil.rmtree(self.tool_path(tool))
                    self.assertNotIn(tool, self.fetch())
                else:
                    os.mkdir(self.tool_path(tool))
                    write(self.tool_path(tool, "tool.json"), json.dumps({"id": tool}))
                    self.assertIn(tool, self.fetch())
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        for i in range(5):
            shutil.rmtree(self.tool_path(f"churn{i}"), ignore_errors=True)


class ToolsFolderMadeLater(unittest.TestCase):
    def test_home_without_tools_folder(self):
        home = make_home("cache-late")
        shutil.rmtree(os.path.join(home, "tools"), ignore_errors=True)
        server = ServeProcess(home)
        try:
            status, _, body = server.request("GET", "/api/tools")
            self.assertEqual((status, json.loads(body)["tools"]), (200, []))
            os.makedirs(os.path.join(home, "tools", "late"))
            write(os.path.join(home, "tools", "late", "tool.json"), "{}")
            status, _, body = server.request("GET", "/api/tools")
            self.assertEqual([t["id"] for t in json.loads(body)["tools"]], ["late"])
            # the tools folder replaced by another one
            os.rename(os.path.join(home, "tools"), os.path.join(home, "tools.old"))
            os.makedirs(os.path.join(home, "tools", "other"))
            status, _, body = server.request("GET", "/api/tools")
            self.assertEqual([t["id"] for t in json.loads(body)["tools"]], ["other"])
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
