"""GET /api/tools/<id>/autocomplete/<key>?q= (docs/dashboard-api.md §4) over real HTTP
against `pixie serve` with the real fixture tool `suggester`: suggestions from a
bare endpoint name (/autocomplete/<name> on the tool) and from a path with its
own query; the tool started on demand; junk answers, a failing, a missing and a
slow endpoint give 502 with the reason; a secret inside a suggestion comes back
masked; an endpoint that is an absolute URL, another host or climbs with .. is
refused without asking anything; unknown tool/input 404, wrong input type 400."""
import json
import os
import secrets as pysecrets
import unittest
import urllib.parse

from pixie_testlib import ServeProcess, fixture_home, write

CANARY = "CANARY-suggest-" + pysecrets.token_hex(8)


class AutocompleteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = fixture_home("autocomplete", ("suggester", "every-input"))
        write(os.path.join(cls.home, "tools", "broken", "tool.json"), "{ not json")
        cls.server = ServeProcess(cls.home)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        assert CANARY not in cls.server.stderr(), "a secret reached the server's log"

    def tearDown(self):
        for body in self.server.bodies:
            self.assertNotIn(CANARY.encode(), body)

    def ask(self, tool, key, q=None):
        path = f"/api/tools/{tool}/autocomplete/{key}"
        if q is not None:
            path += "?q=" + urllib.parse.quote(q, safe="")
        status, headers, body = self.server.request("GET", path)
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)
        return status, json.loads(body)

    def test_suggestions_from_a_name_start_the_tool(self):
        self.server.request("POST", "/api/tools/suggester/stop")
        status, body = self.ask("suggester", "city", "pa")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"suggestions": [{"value": "Paris", "label": "Paris, France"}, "Parma"]})
        status, body = self.ask("suggester", "city", "L")
        self.assertEqual(body["suggestions"], ["Lisbon",
                                               {"value": "London", "label": "London, UK"}, "Lyon"])
        status, body = self.ask("suggester", "city", "zz")
        self.assertEqual((status, body), (200, {"suggestions": []}))
        status, body = self.ask("suggester", "city")  # no q: the empty text
        self.assertEqual(len(body["suggestions"]), 6)

    def test_the_tool_stays_warm_across_requests_and_runs(self):
        # Each request is answered on its own job thread with its own Lua
        # state: the tool started by one must be the one the next ones use
        # (the environment handed to the launcher used to come in the
        # state's hash order, so the tool looked changed and was restarted).
        def pid():
            tools = json.loads(self.server.request("GET", "/api/launcher/state")[2])["tools"]
            return [t["pid"] for t in tools if t["tool_id"] == "suggester"]
        self.assertEqual(self.ask("suggester", "city", "p")[0], 200)
        first = pid()
        self.assertEqual(len(first), 1)
        for q in ("pa", "par", "l", "lo", "ly", "x"):
            self.assertEqual(self.ask("suggester", "city", q)[0], 200)
            self.assertEqual(pid(), first, f"the tool was restarted for q={q}")
        status, _, body = self.server.request("POST", "/api/tools/suggester/run",
                                              body={"inputs": {"city": "Lyon"}})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["status"], "ok", body)
        self.assertEqual(pid(), first, "the tool was restarted for a run")

    def test_a_path_endpoint_keeps_its_query(self):
        status, body = self.ask("suggester", "lookup", "a b&c")
        self.assertEqual((status, body), (200, {"suggestions": ["a b&c-en", "a b&c-2"]}))

    def test_junk_answers_are_502_with_the_reason(self):
        cases = {
            "text": "not JSON",
            "shape": "not a list of suggestions",
            "item": "suggestion 2 of the tool's answer",
            "label": "label",
            "boom": "answered 500",
        }
        for q, reason in cases.items():
            with self.subTest(q=q):
                status, body = self.ask("suggester", "junk", q)
                self.assertEqual(status, 502, body)
                self.assertIn(reason, body["error"])
        status, body = self.ask("suggester", "missing", "x")
        self.assertEqual(status, 502, body)
        self.assertIn("404", body["error"])

    def test_a_slow_endpoint_is_cut_short(self):
        status, body = self.ask("suggester", "slow", "x")
        self.assertEqual(status, 502, body)
        self.assertIn("did not answer within", body["error"])
        # the tool still answers the next question
        status, body = self.ask("suggester", "city", "po")
        self.assertEqual((status, body), (200, {"suggestions": [{"value": "Porto", "label": "Porto, Portugal"}]}))

    def test_a_secret_in_a_suggestion_is_masked(self):
        status, _, _ = self.server.request("POST", "/api/tools/suggester/secrets/SUGGEST_TOKEN",
                                           body={"value": CANARY})
        self.assertEqual(status, 204)
        status, body = self.ask("suggester", "leaky", "t")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["suggestions"][0], "token ***")
        self.assertEqual(body["suggestions"][1], {"value": "***", "label": "label ***"})

    def test_endpoints_off_the_tool_are_refused(self):
        for key in ("absolute", "hostless", "climber"):
            with self.subTest(key=key):
                status, body = self.ask("suggester", key, "x")
                self.assertEqual(status, 400, body)
                self.assertIn("refused", body["error"])

    def test_errors(self):
        status, body = self.ask("nope", "city", "x")
        self.assertEqual((status, body["error"]), (404, "unknown tool"))
        status, body = self.ask("suggester", "nope", "x")
        self.assertEqual((status, body["error"]), (404, "unknown input"))
        status, body = self.ask("suggester", "note", "x")
        self.assertEqual(status, 400, body)
        self.assertIn("not autocomplete", body["error"])
        status, body = self.ask("broken", "city", "x")
        self.assertEqual(status, 409, body)
        status, body = self.ask("suggester", "city", "x" * 1001)
        self.assertEqual(status, 400, body)
        status, _, _ = self.server.request("POST", "/api/tools/suggester/autocomplete/city")
        self.assertEqual(status, 405)


if __name__ == "__main__":
    unittest.main()
