"""pixie.server's binding end to end: serve with a test app
(serve_test_app.lua, via serve_driver.lua in the pixie Lua host) whose
routes open board entries, start jobs, and answer "sse" and "await". An SSE
stream gets every event then `final`; an await is held (no worker blocked:
other requests still answer) until the job finishes; a job's state was
initialised with the home; at most 32 jobs; a Lua error is a 500 that does
not leak its message; headers the app may not set are dropped."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import unittest

from pixie_testlib import SOURCE_DIR, Response, clean_env, make_home

BUILD_DIR = os.environ.get("PIXIE_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
LUA_HOST = os.path.join(BUILD_DIR, "tests", "pixie_lua_test")
HERE = os.path.dirname(os.path.abspath(__file__))


class ServeBoardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = make_home("serve-board")
        env = clean_env()
        env["LUA_PATH"] = os.path.join(HERE, "?.lua") + ";;"
        cls.proc = subprocess.Popen([LUA_HOST, os.path.join(HERE, "serve_driver.lua"), cls.home],
                                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        url = cls.proc.stdout.readline().strip()
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/", url)
        assert m, (url, cls.proc.stderr.read() if cls.proc.poll() is not None else "")
        cls.port = int(m.group(1))
        page = cls.get("/")
        cls.token = re.search(rb'content="([0-9a-f]{64})"', page.body).group(1).decode()

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        code = cls.proc.wait(timeout=30)
        cls.stderr = cls.proc.stderr.read()
        cls.proc.stdout.close()
        cls.proc.stderr.close()
        assert code == 0, (code, cls.stderr)

    @classmethod
    def raw(cls, text, body=b""):
        with socket.create_connection(("127.0.0.1", cls.port), timeout=60) as s:
            s.sendall(text.encode() + body)
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return Response(b"".join(chunks))

    @classmethod
    def get(cls, path, extra=""):
        return cls.raw(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{cls.port}\r\n{extra}\r\n")

    def post(self, path, body=b"{}"):
        return self.raw(f"POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{self.port}\r\n"
                        f"Origin: http://127.0.0.1:{self.port}\r\nX-Pixie-Token: {self.token}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n",
                        body)

    def test_sse_and_await_follow_a_job(self):
        r = self.post("/api/start?key=run1")
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(self.post("/api/start?key=run1").status, 409)  # open, unfinished
        results = {}

        def fetch(name, path):
            results[name] = self.get(path)

        threads = [threading.Thread(target=fetch, args=("sse", "/api/events?key=run1")),
                   threading.Thread(target=fetch, args=("await", "/api/await?key=run1"))]
        threads += [threading.Thread(target=fetch, args=(f"sse{i}", "/api/events?key=run1"))
                    for i in range(4)]
        for t in threads:
            t.start()
        # more held requests than the 2 workers, and the server still answers
        for _ in range(3):
            self.assertEqual(self.get("/api/state?key=run1").status, 200)
        self.assertEqual(json.loads(self.get("/api/state?key=run1").body), {"state": "running"})
        self.assertEqual(json.loads(self.post("/api/cancel?key=run1").body), {"cancelling": True})
        for t in threads:
            t.join(timeout=60)
            self.assertFalse(t.is_alive())
        final = {"done": True, "home": self.home}
        a = results["await"]
        self.assertEqual(a.status, 200)
        self.assertEqual(a.get("content-type"), "application/json")
        self.assertEqual(json.loads(a.body), final)
        for name in ["sse"] + [f"sse{i}" for i in range(4)]:
            s = results[name]
            self.assertEqual(s.status, 200)
            self.assertEqual(s.get("content-type"), "text/event-stream")
            self.assertEqual(s.get("x-frame-options"), "DENY")
            events = [e for e in s.body.decode().split("\n\n") if e]
            want = [f'event: update\ndata: {{"i":{i}}}\ndata: line two' for i in range(1, 21)]
            self.assertEqual(events[:20], want)
            self.assertEqual(len(events), 21)
            self.assertTrue(events[20].startswith("event: final\ndata: "))
            self.assertEqual(json.loads(events[20][len("event: final\ndata: "):]), final)
        self.assertEqual(json.loads(self.get("/api/state?key=run1").body), {"state": "finished"})
        # a finished entry: the whole history at once
        again = self.get("/api/events?key=run1")
        self.assertEqual(len([e for e in again.body.decode().split("\n\n") if e]), 21)
        self.assertEqual(self.get("/api/events?key=nope").status, 404)

    def test_at_most_32_jobs(self):
        r = self.get("/api/jobs?key=hold&n=40")
        self.assertEqual(json.loads(r.body), {"refused": 8})
        for i in range(1, 41):
            self.post(f"/api/cancel?key=hold:{i}")

    def test_lua_error_is_a_500_without_the_message(self):
        r = self.get("/api/boom?canary=CANARY-ROUTE-ERROR")
        self.assertEqual(r.status, 500)
        self.assertEqual(json.loads(r.body), {"error": "internal error"})
        self.assertNotIn(b"CANARY", r.body)
        r = self.get("/api/bad")
        self.assertEqual(r.status, 500)

    def test_request_table_and_reply_headers(self):
        r = self.get("/api/echo?a=1&b=two", "X-Test-Header: hi\r\n")
        self.assertEqual(json.loads(r.body), {"method": "GET", "path": "/api/echo",
                                              "query": {"a": "1", "b": "two"}, "body": "",
                                              "header": "hi"})
        r = self.post("/api/echo", b'{"x":1}')
        self.assertEqual(json.loads(r.body)["body"], '{"x":1}')
        r = self.get("/api/headers")
        self.assertEqual(r.status, 201)
        self.assertEqual(r.get("content-type"), "text/plain; charset=utf-8")
        self.assertEqual(r.get("x-test"), "yes")
        self.assertIsNone(r.get("access-control-allow-origin"))
        self.assertEqual(r.get("content-security-policy"),
                         "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                         "form-action 'self'")


if __name__ == "__main__":
    unittest.main()
