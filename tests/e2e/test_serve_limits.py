"""pixie serve's limits, black box (SPEC §5.3, docs/dashboard-api.md §2): a body
over its cap refused while it still arrives, the run route as an upload
route (files up to their max_size_mb travel in the run's JSON), idle SSE
streams whose clients left freed by the heartbeat, libmicrohttpd's own
error answers (fixed text, nothing from the request), and SIGTERM/SIGINT
leaving no process of any tool tree behind."""
import base64
import hashlib
import json
import os
import select
import signal
import socket
import time
import unittest

from pixie_testlib import (SECURITY_HEADERS, ServeProcess, fixture_home, parse_response,
                           processes_inside, raw_exchange, tree)

MIB = 1024 * 1024


def wait_until(cond, seconds):
    """Polls cond until it is true or `seconds` passed; returns its last value."""
    end = time.monotonic() + seconds
    while True:
        value = cond()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.05)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def parse(raw):
    """(status, {lower name: value}, body) of a raw HTTP response."""
    status, headers, body = parse_response(raw)
    return status, dict(headers), body


class RawServer(ServeProcess):
    """ServeProcess plus requests written on raw sockets: bodies the server
    may refuse before it has read them."""

    def raw_head(self, method, path, extra=""):
        h = self.post_headers()
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in h.items()]
        return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()

    def raw_post(self, path, body, chunked=False):
        """POSTs body (bytes) over a raw socket (declared length, or one chunk);
        the server may answer before reading it. Returns the raw answer."""
        if chunked:
            extra = "Transfer-Encoding: chunked\r\n"
            body = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        else:
            extra = f"Content-Length: {len(body)}\r\n"
        return raw_exchange(self.port, self.raw_head("POST", path, extra + "Connection: close\r\n"),
                            body, timeout=120)

    def chunked_upload(self, path, total, chunk=64 * 1024, pause=0.0):
        """POSTs a chunked body of `total` bytes (sleeping `pause` seconds
        between chunks) while watching for an answer, and stops sending once
        one arrives. Returns (bytes of the body written
        when the answer came, or all of them if it came after the end; the
        raw answer read to EOF)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=120)
        s.sendall(self.raw_head("POST", path, "Transfer-Encoding: chunked\r\n"))
        s.setblocking(False)
        piece = b" " * chunk
        produced, written, pending, ended = 0, 0, b"", False
        answer, answered_at = b"", None
        try:
            while True:
                if not pending and not ended:
                    n = min(chunk, total - produced)
                    pending = (b"%x\r\n" % n + piece[:n] + b"\r\n") if n else b"0\r\n\r\n"
                    produced += n
                    ended = n == 0
                sending = pending and answered_at is None
                r, w, _ = select.select([s], [s] if sending else [], [], 60)
                if not r and not w:
                    break
                if r:
                    try:
                        data = s.recv(65536)
                    except ConnectionResetError:
                        data = b""
                    if not data:
                        break
                    if answered_at is None:
                        answered_at = written
                    answer += data
                elif w:
                    try:
                        n = s.send(pending)
                    except (BrokenPipeError, ConnectionResetError):
                        pending, ended = b"", True
                        continue
                    written += n
                    pending = pending[n:]
                    if not pending and pause:
                        time.sleep(pause)
        finally:
            s.close()
        return (written if answered_at is None else answered_at), answer


def data_url(raw, kind="application/octet-stream"):
    return f"data:{kind};base64," + base64.b64encode(raw).decode()


class BodyLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RawServer(fixture_home("limits", ["filesize", "secretprobe"]))

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def assert_413(self, raw, limit):
        status, headers, body = parse(raw)
        self.assertEqual(status, 413)
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(headers.get(name), value, name)
        self.assertEqual(headers.get("cache-control"), "no-store")
        self.assertEqual(headers.get("content-type"), "application/json")
        self.assertEqual(json.loads(body[:int(headers["content-length"])]),
                         {"error": f"request body too large ({limit} at most)"})

    def healthy(self):
        self.assertEqual(self.server.request("GET", "/api/healthz")[0], 200)

    def test_chunked_body_over_the_cap_is_refused_while_it_arrives(self):
        folder = os.path.join(self.server.home, "tools", "secretprobe")
        before = tree(folder)
        sent, raw = self.server.chunked_upload("/api/tools/secretprobe/secrets/PROBE_KEY",
                                               50 * MIB, pause=0.002)
        self.assert_413(raw, "1 MiB")
        # answered after the first MiB, not after the 50: the rest was never read
        self.assertLess(sent, 16 * MIB)
        self.assertEqual(tree(folder), before)  # no .env written
        self.healthy()

    def test_a_client_that_sends_on_regardless_is_cut_off_quietly(self):
        """A client that ignores the early 413 and keeps sending is cut off after a few MiB
        more; closing that connection is Pixie's choice, not a fault to warn about."""
        chunk = b" " * 65536
        sent = 0
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=120) as s:
            s.sendall(self.server.raw_head("POST", "/api/tools/secretprobe/secrets/PROBE_KEY",
                                           "Transfer-Encoding: chunked\r\n"))
            try:
                while sent < 64 * MIB:
                    s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        self.assertLess(sent, 32 * MIB)  # cut off, not read to the end
        self.healthy()
        self.assertNotIn("internal error", self.server.stderr())

    def test_upload_route_is_refused_past_its_own_cap(self):
        runs = len(self.server.get_json("/api/tools/filesize/runs")["runs"])
        sent, raw = self.server.chunked_upload("/api/tools/filesize/run", 100 * MIB,
                                               chunk=1024 * 1024)
        self.assert_413(raw, "64 MiB")
        self.assertGreater(sent, 64 * MIB)
        self.assertLess(sent, 90 * MIB)
        self.assertEqual(len(self.server.get_json("/api/tools/filesize/runs")["runs"]), runs)
        self.healthy()

    def test_declared_length_over_the_cap_is_413_at_once(self):
        h = self.server.raw_head("POST", "/api/tools/filesize/run",
                                 f"Content-Length: {64 * MIB + 1}\r\n")
        self.assert_413(raw_exchange(self.server.port, h), "64 MiB")

    def test_a_5_mib_file_runs_end_to_end(self):
        raw = os.urandom(5 * MIB)
        status, _, body = self.server.request(
            "POST", "/api/tools/filesize/run", {"inputs": {"doc": data_url(raw)}})
        self.assertEqual(status, 200, body[:300])
        run = json.loads(body)
        self.assertEqual(run["status"], "ok", run.get("error_text"))
        self.assertEqual(run["outputs"]["size"], 5 * MIB)
        self.assertEqual(run["outputs"]["sha256"], hashlib.sha256(raw).hexdigest())

    def test_a_file_over_its_max_size_mb_is_refused_by_field(self):
        runs_before = self.server.get_json("/api/tools/filesize/runs")["runs"]
        status, _, body = self.server.request(
            "POST", "/api/tools/filesize/run",
            {"inputs": {"doc": data_url(b"x" * (8 * MIB + 1)),
                        "pic": data_url(b"p" * (MIB // 2 + 1), "image/png")}})
        self.assertEqual(status, 413, body[:300])
        answer = json.loads(body)
        self.assertEqual(set(answer["fields"]), {"doc", "pic"})
        self.assertIn("8 MB", answer["fields"]["doc"])
        self.assertIn("0.5 MB", answer["fields"]["pic"])
        self.assertIn("doc", answer["error"])
        self.assertIn("8 MB", answer["error"])
        # exactly at the limit is fine
        status, _, body = self.server.request(
            "POST", "/api/tools/filesize/run", {"inputs": {"doc": data_url(b"y" * (8 * MIB))}})
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body)["outputs"]["size"], 8 * MIB)
        runs_after = self.server.get_json("/api/tools/filesize/runs")["runs"]
        self.assertEqual(len(runs_after), len(runs_before) + 1)

    def test_other_routes_keep_one_mib(self):
        big = json.dumps({"value": "v" * (2 * MIB)}).encode()
        for path in ("/api/tools/filesize/validate", "/api/tools/secretprobe/secrets/PROBE_KEY",
                     "/api/tools/filesize/stop", "/api/tools/filesize/run/x",
                     "/api/tools/a/b/run", "/api/tools/filesize/runs"):
            for chunked in (False, True):
                with self.subTest(path=path, chunked=chunked):
                    self.assert_413(self.server.raw_post(path, big, chunked), "1 MiB")
        # the run route takes the same 2 MiB (and runs: no input is required)
        for chunked in (False, True):
            status, _, body = parse(self.server.raw_post("/api/tools/filesize/run", big, chunked))
            self.assertEqual(status, 200, body[:300])
        self.healthy()


class HeartbeatTest(unittest.TestCase):
    def test_streams_of_clients_that_left_are_freed_while_the_run_goes_on(self):
        # one worker: its Lua state (and the files it opens) exists before the baseline
        server = ServeProcess(fixture_home("heartbeat", ["napper"]), args=("--workers", "1"),
                              env={"PIXIE_TEST_SSE_HEARTBEAT_MS": "200"})
        try:
            status, _, body = server.request(
                "POST", "/api/tools/napper/run", {"inputs": {"seconds": 120}, "wait": False})
            self.assertEqual(status, 202, body)
            run_id = json.loads(body)["run_id"]
            self.assertTrue(wait_until(
                lambda: any(t["tool_id"] == "napper" and t["busy"]
                            for t in server.get_json("/api/launcher/state")["tools"]), 60))
            baseline = server.fd_count()
            clients = []
            for _ in range(20):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
                s.sendall(f"GET /api/runs/{run_id}/events HTTP/1.1\r\n"
                          f"Host: 127.0.0.1:{server.port}\r\n\r\n".encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(4096)
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
                self.assertIn(b"text/event-stream", head)
                clients.append(s)
            self.assertGreaterEqual(server.fd_count(), baseline + 15)  # each holds a socket
            # a client that stays hears the keepalive comment (EventSource ignores it)
            seen = b""
            while b": keepalive\n\n" not in seen:
                seen += clients[0].recv(4096)
            for s in clients:
                s.close()
            back = wait_until(lambda: server.fd_count() <= baseline, 30)
            self.assertTrue(back, f"fds {server.fd_count()} > baseline {baseline}")
            self.assertEqual(server.get_json(f"/api/runs/{run_id}")["status"], "running")
        finally:
            self.assertEqual(server.stop(), 0)


MHD_ANSWERS = {
    # name: (request bytes (CANARY is replaced), status, body)
    "bad request line": (b"GARBAGE CANARY\r\n\r\n", 400,
                         b"<html><head><title>Request malformed</title></head><body>Your HTTP "
                         b"request was syntactically incorrect.</body></html>"),
    "header line without a colon": (
        b"GET / HTTP/1.1\r\nHost: HOST\r\nCANARY\r\n\r\n", 400,
        b"<html><head><title>Request malformed</title></head><body>Your HTTP "
        b"request was syntactically incorrect.</body></html>"),
    "unknown HTTP version": (
        b"GET /CANARY HTTP/9.9\r\nHost: HOST\r\n\r\n", 505,
        b"<html><head><title>Requested HTTP version is not supported</title></head>"
        b"<body>Requested HTTP version is not supported.</body></html>"),
    "headers over the 64 KiB pool": (
        b"GET /api/healthz HTTP/1.1\r\nHost: HOST\r\nX-Big: " + b"CANARY" * 12000 + b"\r\n\r\n",
        431,
        b"<html><head><title>Request too big</title></head><body>Your HTTP header was too big "
        b"for the memory constraints of this webserver.</body></html>"),
    "URL over the pool": (
        b"GET /" + b"CANARY" * 12000 + b" HTTP/1.1\r\nHost: HOST\r\n\r\n", 414,
        b"<html><head><title>Request too big</title></head><body>Your HTTP header was too big "
        b"for the memory constraints of this webserver.</body></html>"),
    "malformed chunk": (
        b"POST /api/healthz HTTP/1.1\r\nHost: HOST\r\nGOOD\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"ZZCANARY\r\n", 400,
        b"<html><head><title>Request malformed</title></head><body>Your HTTP chunked encoding "
        b"was syntactically incorrect.</body></html>"),
    "chunk size too large": (
        b"POST /api/healthz HTTP/1.1\r\nHost: HOST\r\nGOOD\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"FFFFFFFFFFFFFFFFFFFF\r\nCANARY", 413,
        b"<html><head><title>Request content too large</title></head><body>The chunk size used "
        b"in your HTTP chunked encoded request is too large.</body></html>"),
    "bad Content-Length": (
        b"POST /api/healthz HTTP/1.1\r\nHost: HOST\r\nGOOD\r\nContent-Length: xCANARY\r\n\r\n", 400,
        b"<html><head><title>Request malformed</title></head><body>Your HTTP request has wrong "
        b"value for <b>Content-Length</b> header.</body></html>"),
}


class MhdAnswersTest(unittest.TestCase):
    """libmicrohttpd 0.9.75 answers these itself, before Pixie sees the
    request, and has no hook to add headers to them (docs/dashboard.md,
    Limits): their bodies are its fixed text, nothing of the request."""

    def test_its_own_answers_hold_nothing_of_the_request(self):
        server = ServeProcess(fixture_home("mhd-answers"))
        canary = "CANARY" + os.urandom(6).hex()
        good = "\r\n".join(f"{k}: {v}" for k, v in server.post_headers().items()).encode()
        try:
            for name, (data, status, body) in MHD_ANSWERS.items():
                with self.subTest(case=name):
                    data = (data.replace(b"CANARY", canary.encode())
                            .replace(b"HOST", f"127.0.0.1:{server.port}".encode())
                            .replace(b"GOOD", good))
                    raw = raw_exchange(server.port, data, timeout=30)
                    self.assertNotIn(canary.encode(), raw)
                    got_status, headers, got_body = parse(raw)
                    self.assertEqual(got_status, status)
                    self.assertTrue(got_body.endswith(body), got_body)
                    self.assertEqual(server.request("GET", "/api/healthz")[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)


class SignalTest(unittest.TestCase):
    """SIGTERM or SIGINT: pixie exits 0 and no process of any tool tree is
    left — neither a warm tool's (forker leaves a setsid child, one that
    ignores SIGTERM and a double-forked daemon) nor a running one's
    (napper, mid-run, with the child it forked)."""

    def check(self, sig):
        server = ServeProcess(fixture_home("signal", ["forker", "napper"]))
        try:
            status, _, body = server.request("POST", "/api/tools/forker/run", {"inputs": {}})
            self.assertEqual(status, 200, body)
            run = json.loads(body)
            self.assertEqual(run["status"], "ok", run.get("error_text"))
            escapees = [int(p) for p in run["outputs"]["pids"].split()]
            status, _, body = server.request(
                "POST", "/api/tools/napper/run", {"inputs": {"seconds": 120}, "wait": False})
            self.assertEqual(status, 202, body)
            napper_dir = os.path.join(server.home, "tools", "napper")
            # napper's server and the child its run forked (cwd: its folder)
            self.assertTrue(wait_until(lambda: len(processes_inside(napper_dir)) >= 2, 60))
            state = server.get_json("/api/launcher/state")["tools"]
            self.assertEqual({t["tool_id"] for t in state}, {"forker", "napper"})
            pids = set(processes_inside(server.home)) | set(escapees) | {t["pid"] for t in state}
            self.assertGreaterEqual(len(pids), 6)
            self.assertTrue(all(alive(p) for p in escapees))
        except BaseException:
            server.stop(signal.SIGKILL)
            raise
        self.assertEqual(server.stop(sig), 0)
        left = wait_until(lambda: [p for p in pids if alive(p)] == [], 5)
        self.assertTrue(left, f"left alive: {[p for p in pids if alive(p)]}")
        self.assertEqual(processes_inside(server.home), [])

    def test_sigterm_leaves_no_tool_behind(self):
        self.check(signal.SIGTERM)

    def test_sigint_leaves_no_tool_behind(self):
        self.check(signal.SIGINT)


if __name__ == "__main__":
    unittest.main()
