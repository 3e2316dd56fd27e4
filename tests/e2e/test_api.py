"""The dashboard's JSON API (SPEC §5.2, docs/dashboard-api.md §4) over real HTTP against
the real server (`pixie serve --port 0`), with real fixture tools: every
route and its error cases. A canary secret is set through the API and by
the set-secret skill; no response ever holds it."""
import hashlib
import json
import os
import secrets as pysecrets
import stat
import threading
import unittest
import urllib.parse

from dotenv import dotenv_values

from pixie_testlib import GUARD_S, ServeProcess, add_fixture, fixture_home, pixie, write

TOOLS = ("secretprobe", "envprobe", "stream-agent", "stream-cancel", "leaky", "chatbot", "stream-leaky")
CANARY = "CANARY-api-" + pysecrets.token_hex(8)
CLI_CANARY = "CANARY-cli-" + pysecrets.token_hex(8)
LEAK_CANARY = "CANARY-leak-" + pysecrets.token_hex(8)
STREAM_CANARY = "CANARY-stream-" + pysecrets.token_hex(8)
CANARIES = (CANARY, CLI_CANARY, LEAK_CANARY, STREAM_CANARY)


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = fixture_home("api", TOOLS)
        add_fixture(cls.home, "slow", max_runtime_seconds=2)
        # slow-forever: a run that does not stream and only a cancel ends
        add_fixture(cls.home, "slow", "slow-forever", max_runtime_seconds=600)
        write(os.path.join(cls.home, "tools", "broken", "tool.json"), "{ not json")
        cls.server = ServeProcess(cls.home)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        log = cls.server.stderr()
        for canary in CANARIES:
            assert canary not in log, "a secret reached the server's log"

    def tearDown(self):
        for body in self.server.bodies:
            for canary in CANARIES:
                self.assertNotIn(canary.encode(), body)

    # -- helpers -----------------------------------------------------------
    def get(self, path):
        status, headers, body = self.server.request("GET", path)
        return status, headers, json.loads(body) if body else None

    def send(self, method, path, body=None, raw=None):
        status, headers, data = self.server.request(method, path, body=raw if raw is not None else
                                                    (json.dumps(body) if body is not None else None))
        return status, headers, json.loads(data) if data else None

    def env_path(self, tool):
        return os.path.join(self.home, "tools", tool, ".env")

    def run_tool(self, tool, inputs, wait=True):
        return self.send("POST", f"/api/tools/{tool}/run", {"inputs": inputs, "wait": wait})

    # -- tools ---------------------------------------------------------------
    def test_healthz(self):
        status, headers, body = self.get("/api/healthz")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertEqual(body["ok"], True)
        self.assertIsInstance(body["version"], str)

    def test_tools_list_and_one_tool(self):
        status, _, body = self.get("/api/tools")
        self.assertEqual(status, 200)
        by_id = {t["id"]: t for t in body["tools"]}
        self.assertEqual(by_id["broken"]["status"], "broken")
        self.assertTrue(by_id["broken"]["errors"])
        probe = by_id["secretprobe"]
        for field in ("id", "name", "description", "category", "version", "layout", "status", "errors",
                      "warm", "busy", "validation", "secrets_missing"):
            self.assertIn(field, probe)
        self.assertEqual(probe["status"], "ok")
        status, _, one = self.get("/api/tools/envprobe")
        self.assertEqual(status, 200)
        self.assertEqual(one["spec"]["id"], "envprobe")
        self.assertIn("last_inputs", one)
        status, _, broken = self.get("/api/tools/broken")
        self.assertEqual((status, broken["spec"]), (200, None))

    def test_unknown_tool_404(self):
        for method, path, body in (("GET", "/api/tools/nope", None),
                                   ("GET", "/api/tools/nope/secrets", None),
                                   ("POST", "/api/tools/nope/run", {"inputs": {}}),
                                   ("POST", "/api/tools/nope/secrets/KEY", {"value": "abcdefgh"}),
                                   ("DELETE", "/api/tools/nope/secrets/KEY", None),
                                   ("GET", "/api/tools/nope/runs", None),
                                   ("POST", "/api/tools/nope/stop", None),
                                   ("POST", "/api/tools/nope/validate", None),
                                   ("GET", "/api/tools/nope/validation", None),
                                   ("GET", "/api/tools/nope/logs", None)):
            with self.subTest(method=method, path=path):
                status, headers, data = self.send(method, path, body)
                self.assertEqual(status, 404, data)
                self.assertIn("error", data)
                self.assertTrue(headers["content-type"].startswith("application/json"))

    def test_unknown_route_404_and_wrong_method_405(self):
        status, _, data = self.get("/api/nothing-here")
        self.assertEqual(status, 404)
        self.assertIn("error", data)
        status, _, data = self.send("POST", "/api/tools")
        self.assertEqual(status, 405)
        status, _, data = self.send("DELETE", "/api/tools/envprobe/run")
        self.assertEqual(status, 405)

    def test_bad_json_400(self):
        for path in ("/api/tools/envprobe/run", "/api/tools/secretprobe/secrets/PROBE_SECRET"):
            with self.subTest(path=path):
                status, _, data = self.send("POST", path, raw="{not json")
                self.assertEqual(status, 400)
                self.assertIn("JSON", data["error"])

    def test_invalid_inputs_400_with_fields(self):
        status, _, data = self.run_tool("envprobe", {"reserve_mb": "lots", "nope": 1})
        self.assertEqual(status, 400)
        self.assertTrue(data["error"].startswith("invalid inputs: "), data)
        self.assertEqual(len(data["errors"]), 2)
        self.assertEqual(set(data["fields"]), {"reserve_mb", "nope"})
        status, _, data = self.send("POST", "/api/tools/envprobe/run", {"inputs": [1, 2]})
        self.assertEqual(status, 400)
        status, _, data = self.send("POST", "/api/tools/envprobe/run", {"wait": "soon"})
        self.assertEqual(status, 400)

    # -- secrets -------------------------------------------------------------
    def test_secret_refusals(self):
        path = "/api/tools/secretprobe/secrets/"
        cases = (
            ("undeclared", "POST", "OTHER_KEY", {"value": CANARY}, 400),
            ("invalid name", "POST", "bad-name", {"value": CANARY}, 400),
            ("invalid name, digit", "POST", "1KEY", {"value": CANARY}, 400),
            ("invalid name, encoded", "POST", urllib.parse.quote("A B"), {"value": CANARY}, 400),
            ("undeclared delete", "DELETE", "OTHER_KEY", None, 400),
            ("empty", "POST", "PROBE_SECRET", {"value": ""}, 400),
            ("not a string", "POST", "PROBE_SECRET", {"value": 12345678}, 400),
            ("no value", "POST", "PROBE_SECRET", {}, 400),
            ("dotenv cannot hold it", "POST", "PROBE_SECRET", {"value": CANARY + "\nx\\"}, 400),
            ("100 KiB", "POST", "PROBE_SECRET", {"value": CANARY + "x" * (100 * 1024)}, 413),
        )
        for what, method, key, body, want in cases:
            with self.subTest(what):
                status, _, data = self.send(method, path + key, body)
                self.assertEqual(status, want, data)
                self.assertIn("error", data)
        self.assertNotIn("PROBE_SECRET", dotenv_values(self.env_path("secretprobe")))

    def test_secret_set_status_run_delete(self):
        path = "/api/tools/secretprobe/secrets/PROBE_SECRET"
        status, _, data = self.get("/api/tools/secretprobe/secrets")
        self.assertEqual(status, 200)
        self.assertEqual(data["secrets"], [{"key": "PROBE_SECRET", "description": "The value compared by hash",
                                            "required": True, "set": False}])
        self.assertEqual((data["undeclared"], data["env_error"]), ([], None))
        status, headers, raw = self.server.request("POST", path, json.dumps({"value": CANARY}))
        self.assertEqual((status, raw), (204, b""))
        self.assertEqual(stat.S_IMODE(os.stat(self.env_path("secretprobe")).st_mode), 0o600)
        self.assertEqual(dotenv_values(self.env_path("secretprobe")), {"PROBE_SECRET": CANARY})
        status, _, data = self.get("/api/tools/secretprobe/secrets")
        self.assertEqual(data["secrets"][0]["set"], True)
        status, _, tool = self.get("/api/tools/secretprobe")
        self.assertEqual(tool["secrets_missing"], [])
        status, _, run = self.run_tool("secretprobe", {"expect_sha256": sha256(CANARY)})
        self.assertEqual(status, 200)
        self.assertEqual(run["status"], "ok", run["error_text"])
        self.assertEqual(run["outputs"], {"matches": True, "present": True})
        # replaced: the tool was stopped, the next run sees the new value
        status, _, _ = self.send("POST", path, {"value": CANARY + "-2"})
        self.assertEqual(status, 204)
        status, _, run = self.run_tool("secretprobe", {"expect_sha256": sha256(CANARY + "-2")})
        self.assertEqual(run["outputs"]["matches"], True)
        status, _, _ = self.send("DELETE", path)
        self.assertEqual(status, 204)
        status, _, _ = self.send("DELETE", path)
        self.assertEqual(status, 204, "also when it was not set")
        self.assertEqual(dotenv_values(self.env_path("secretprobe")), {})
        status, _, data = self.get("/api/tools/secretprobe/secrets")
        self.assertEqual(data["secrets"][0]["set"], False)
        # a required secret missing: 200 and the run ends error, as the CLI
        status, _, run = self.run_tool("secretprobe", {})
        self.assertEqual((status, run["status"]), (200, "error"))
        self.assertIn("missing required secret PROBE_SECRET", run["error_text"])

    def test_cli_set_secret_is_seen_by_the_next_dashboard_run(self):
        path = "/api/tools/secretprobe/secrets/PROBE_SECRET"
        self.assertEqual(self.send("POST", path, {"value": CANARY})[0], 204)
        status, _, run = self.run_tool("secretprobe", {"expect_sha256": sha256(CANARY)})
        self.assertEqual(run["outputs"]["matches"], True, run)  # the tool is warm now
        cli = pixie("run-skill", "set-secret", "secretprobe", "PROBE_SECRET", home=self.home,
                    input=CLI_CANARY + "\n", timeout=GUARD_S)
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertNotIn(CLI_CANARY, cli.stdout + cli.stderr)
        status, _, run = self.run_tool("secretprobe", {"expect_sha256": sha256(CLI_CANARY)})
        self.assertEqual(status, 200)
        self.assertEqual(run["outputs"], {"matches": True, "present": True}, run)
        self.assertEqual(self.send("DELETE", path)[0], 204)

    # -- runs ----------------------------------------------------------------
    def test_run_wait_returns_the_record(self):
        status, headers, run = self.run_tool("envprobe", {"reserve_mb": 0})
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        for field in ("id", "tool_id", "status", "started_at", "finished_at", "duration_ms", "inputs",
                      "outputs", "error_text", "source", "starred", "label"):
            self.assertIn(field, run)
        self.assertEqual((run["status"], run["source"], run["tool_id"]), ("ok", "dashboard", "envprobe"))
        self.assertEqual(run["outputs"]["env"]["run_id"], run["id"])
        self.assertEqual(run["inputs"], {"reserve_mb": 0})
        status, _, again = self.get(f"/api/runs/{run['id']}")
        self.assertEqual(status, 200)
        self.assertEqual(again, run)
        status, _, tool = self.get("/api/tools/envprobe")
        self.assertEqual(tool["last_inputs"], {"reserve_mb": 0})

    def test_events_of_a_tool_streaming_its_secret_never_carry_it(self):
        # whole, cut across two events, JSON-escaped, in a named event and a log line
        self.assertEqual(self.send("POST", "/api/tools/stream-leaky/secrets/LEAK_TOKEN",
                                   {"value": STREAM_CANARY})[0], 204)
        status, _, data = self.run_tool("stream-leaky", {}, wait=False)
        self.assertEqual(status, 202)
        events = self.server.events(f"/api/runs/{data['run_id']}/events")
        self.assertEqual(events[-1][0], "final")
        final = json.loads(events[-1][1])
        self.assertEqual(final["status"], "ok", final)
        self.assertIn("whole *** |", final["outputs"]["reply"])
        text = "".join(d for _, d in events)
        half = len(STREAM_CANARY) // 2
        for piece in (STREAM_CANARY, STREAM_CANARY[:half], STREAM_CANARY[half:]):
            self.assertNotIn(piece, text)  # tearDown checks every raw body line too

    def test_run_no_wait_then_events_stream_updates_then_final(self):
        status, _, data = self.run_tool("stream-agent", {"question": "3 * 4"}, wait=False)
        self.assertEqual(status, 202)
        run_id = data["run_id"]
        events = self.server.events(f"/api/runs/{run_id}/events")
        names = [e for e, _ in events]
        self.assertEqual(names[-1], "final")
        updates = [json.loads(d) for e, d in events if e == "update"]
        self.assertGreaterEqual(len(updates), 2, events)
        for u in updates:
            self.assertIsInstance(u["changes"], list)
            for c in u["changes"]:
                self.assertEqual(set(c), {"key", "op", "value"})
        self.assertEqual(updates[-1]["outputs"]["reply"], "3 * 4 = **12.0**")
        final = json.loads(events[-1][1])
        self.assertEqual((final["id"], final["status"]), (run_id, "ok"))
        self.assertEqual(final["outputs"]["reply"], "3 * 4 = **12.0**")
        # finished: the events route still answers with the final record
        events = self.server.events(f"/api/runs/{run_id}/events")
        self.assertEqual(events[-1][0], "final")
        self.assertEqual(json.loads(events[-1][1])["status"], "ok")

    def test_cancel_of_a_streaming_run_ends_cancelled(self):
        status, _, data = self.run_tool("stream-cancel", {}, wait=False)
        self.assertEqual(status, 202)
        run_id = data["run_id"]
        cancel_sent = []

        def on_update(_):
            if not cancel_sent:  # the run is streaming: cancel it
                cancel_sent.append(self.send("POST", f"/api/runs/{run_id}/cancel"))

        events = self.server.events(f"/api/runs/{run_id}/events", on_update=on_update)
        self.assertEqual(cancel_sent[0][0], 202, cancel_sent)
        self.assertEqual(cancel_sent[0][2], {"cancelling": True})
        final = json.loads(events[-1][1])
        self.assertEqual(final["status"], "cancelled", final)
        self.assertTrue(os.path.exists(os.path.join(self.home, "tools", "stream-cancel", f"cancelled-{run_id}")),
                        "the tool got the soft cancel")
        status, _, data = self.send("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual(status, 409, data)
        status, _, data = self.send("POST", "/api/runs/no-such-run/cancel")
        self.assertEqual(status, 404, data)

    def test_cancel_of_a_run_that_does_not_stream(self):
        status, _, data = self.run_tool("slow-forever", {}, wait=False)
        self.assertEqual(status, 202)
        run_id = data["run_id"]
        for _ in range(GUARD_S * 10):  # until the tool runs (it prints "sleeping")
            _, _, logs = self.get("/api/tools/slow-forever/logs")
            if any("sleeping" in line["text"] for line in logs["lines"]):
                break
            threading.Event().wait(0.1)
        status, _, data = self.send("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual((status, data), (202, {"cancelling": True}))
        events = self.server.events(f"/api/runs/{run_id}/events")
        self.assertEqual(events[-1][0], "final")
        final = json.loads(events[-1][1])
        self.assertEqual(final["status"], "cancelled", final)
        self.assertEqual(self.get(f"/api/runs/{run_id}")[2]["status"], "cancelled")

    def test_chat_tool_takes_messages_and_history(self):
        history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
        messages = history + [{"role": "user", "content": "how are you?"}]
        status, _, run = self.run_tool("chatbot", {"messages": messages, "history": history,
                                                   "persona": "pirate"})
        self.assertEqual(status, 200)
        self.assertEqual(run["status"], "ok", run["error_text"])
        self.assertEqual(run["outputs"], {"reply": "(pirate) you said: how are you?", "turns": 5})

    def test_star_and_runs_list(self):
        _, _, first = self.run_tool("envprobe", {"reserve_mb": 0})
        _, _, second = self.run_tool("envprobe", {"reserve_mb": 1})
        status, _, data = self.get("/api/tools/envprobe/runs?limit=2")
        self.assertEqual(status, 200)
        self.assertEqual([r["id"] for r in data["runs"]], [second["id"], first["id"]])
        status, _, data = self.get("/api/tools/envprobe/runs?limit=1")
        self.assertEqual(len(data["runs"]), 1)
        self.assertEqual(self.get("/api/tools/envprobe/runs?limit=zero")[0], 400)
        status, _, run = self.send("POST", f"/api/runs/{first['id']}/star", {"starred": True})
        self.assertEqual((status, run["starred"], run["id"]), (200, True, first["id"]))
        self.assertEqual(self.get(f"/api/runs/{first['id']}")[2]["starred"], True)
        status, _, run = self.send("POST", f"/api/runs/{first['id']}/star", {"starred": False})
        self.assertEqual(run["starred"], False)
        self.assertEqual(self.send("POST", f"/api/runs/{first['id']}/star", {"starred": "yes"})[0], 400)
        self.assertEqual(self.send("POST", "/api/runs/no-such-run/star", {"starred": True})[0], 404)
        self.assertEqual(self.get("/api/runs/no-such-run")[0], 404)
        self.assertEqual(self.get("/api/runs/no-such-run/events")[0], 404)

    def test_stop_and_launcher_state(self):
        _, _, run = self.run_tool("envprobe", {"reserve_mb": 0})
        self.assertEqual(run["status"], "ok")
        status, _, state = self.get("/api/launcher/state")
        self.assertEqual(status, 200)
        rows = [r for r in state["tools"] if r["tool_id"] == "envprobe"]
        self.assertEqual(len(rows), 1, state)
        for field in ("tool_id", "pid", "port", "started_at", "last_used", "busy"):
            self.assertIn(field, rows[0])
        status, _, data = self.send("POST", "/api/tools/envprobe/stop")
        self.assertEqual((status, data), (200, {"stopped": True}))
        status, _, data = self.send("POST", "/api/tools/envprobe/stop")
        self.assertEqual((status, data), (200, {"stopped": False}))
        _, _, state = self.get("/api/launcher/state")
        self.assertEqual([r for r in state["tools"] if r["tool_id"] == "envprobe"], [])

    def test_logs_after_and_outputs_masked(self):
        # leaky prints, returns and raises its secret: every answer masks it
        self.assertEqual(self.send("POST", "/api/tools/leaky/secrets/LEAK_TOKEN", {"value": LEAK_CANARY})[0], 204)
        _, _, run = self.run_tool("leaky", {"mode": "return"})
        self.assertEqual((run["status"], run["outputs"]), ("ok", {"echo": "***"}))
        _, _, run = self.run_tool("leaky", {"mode": "raise"})
        self.assertEqual(run["status"], "error")
        self.assertIn("failed with ***", run["error_text"])
        self.send("POST", "/api/tools/leaky/stop")
        for _ in range(GUARD_S * 10):  # the output reaches spawn_log through a queue
            status, _, data = self.get("/api/tools/leaky/logs")
            if any("split *** end" in line["text"] for line in data["lines"]):
                break
            threading.Event().wait(0.1)
        self.assertEqual(status, 200)
        texts = [line["text"] for line in data["lines"]]
        self.assertIn("split *** end", "\n".join(texts))
        self.assertIn("run stdout ***", "\n".join(texts))
        for line in data["lines"]:
            self.assertEqual(set(line), {"id", "stream", "text", "at"})
        last = data["last"]
        self.assertEqual(last, data["lines"][-1]["id"])
        status, _, later = self.get(f"/api/tools/leaky/logs?after={last}")
        self.assertEqual((status, later["lines"], later["last"]), (200, [], last))
        first = data["lines"][0]["id"]
        status, _, part = self.get(f"/api/tools/leaky/logs?after={first}&limit=1")
        # the newest `limit` lines after the id: a live tail
        self.assertEqual([line["id"] for line in part["lines"]], [last])
        self.assertEqual(self.get("/api/tools/leaky/logs?after=minus")[0], 400)
        self.assertEqual(self.get("/api/tools/leaky/logs?limit=0")[0], 400)
        self.assertEqual(self.send("DELETE", "/api/tools/leaky/secrets/LEAK_TOKEN")[0], 204)

    def test_validate_and_validation(self):
        status, _, data = self.get("/api/tools/slow/validation")
        self.assertEqual((status, data), (200, {"running": False, "report": None}))
        status, _, data = self.send("POST", "/api/tools/slow/validate")
        self.assertEqual((status, data), (202, {"started": True}))
        # the sample run of `slow` lasts until its deadline: still running
        status, _, data = self.send("POST", "/api/tools/slow/validate")
        self.assertEqual(status, 409, data)
        for _ in range(GUARD_S * 10):  # a hang guard, not a timing assertion
            _, _, data = self.get("/api/tools/slow/validation")
            if not data["running"]:
                break
            threading.Event().wait(0.2)
        report = data["report"]
        self.assertEqual(report["tool_id"], "slow")
        self.assertEqual(report["overall"], "fail")
        self.assertIn("sample_run_succeeds", [c["name"] for c in report["checks"]])
        status, _, tools = self.get("/api/tools")
        self.assertEqual({t["id"]: t for t in tools["tools"]}["slow"]["validation"], "fail")

    def test_validate_again_once_finished(self):
        reports = []
        for _ in range(2):
            status, _, data = self.send("POST", "/api/tools/envprobe/validate")
            self.assertEqual((status, data), (202, {"started": True}))
            for _ in range(GUARD_S * 10):  # a hang guard, not a timing assertion
                _, _, data = self.get("/api/tools/envprobe/validation")
                if not data["running"]:
                    break
                threading.Event().wait(0.1)
            reports.append(data["report"])
        self.assertEqual([r["tool_id"] for r in reports], ["envprobe", "envprobe"])
        self.assertNotEqual(reports[0]["run_id"], reports[1]["run_id"], "a new report each time")


if __name__ == "__main__":
    unittest.main()
