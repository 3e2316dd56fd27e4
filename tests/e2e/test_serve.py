"""pixie serve, black box: the real server on a free port in a temp home,
spoken to over raw sockets so that every header is exactly what the test
says. The guard (docs/dashboard-api.md §2) is tested one rule at a time, every other
rule satisfied; security headers on every response; pages carry the
token; vendor files; 127.0.0.1 only; signals; early failures."""
import os
import signal
import socket
import unittest

from pixie_testlib import (SECURITY_HEADERS, Response, ServeProcess, make_home, pixie,
                           raw_exchange, write)

VENDOR = {
    "/vendor/chart.js/chart.min.js": ("/usr/share/javascript/chart.js/chart.min.js",
                                      "text/javascript; charset=utf-8"),
    "/vendor/marked/marked.min.js": ("/usr/share/javascript/marked/marked.min.js",
                                     "text/javascript; charset=utf-8"),
    "/vendor/dompurify/purify.min.js": ("/usr/share/nodejs/dompurify/dist/purify.min.js",
                                        "text/javascript; charset=utf-8"),
    "/vendor/katex/katex.min.js": ("/usr/share/javascript/katex/katex.min.js",
                                   "text/javascript; charset=utf-8"),
    "/vendor/katex/katex.min.css": ("/usr/share/javascript/katex/katex.min.css",
                                    "text/css; charset=utf-8"),
    "/vendor/katex/fonts/KaTeX_Main-Regular.woff2":
        ("/usr/share/fonts/truetype/katex/KaTeX_Main-Regular.woff2", "font/woff2"),
    "/vendor/highlight.js/highlight.min.js":
        ("/usr/share/javascript/highlight.js/highlight.min.js", "text/javascript; charset=utf-8"),
    "/vendor/highlight.js/styles/github.css":
        ("/usr/share/javascript/highlight.js/styles/github.css", "text/css; charset=utf-8"),
    "/vendor/leaflet/leaflet.min.js": ("/usr/share/javascript/leaflet/leaflet.min.js",
                                       "text/javascript; charset=utf-8"),
    "/vendor/leaflet/leaflet.css": ("/usr/share/javascript/leaflet/leaflet.css",
                                    "text/css; charset=utf-8"),
    "/vendor/leaflet/images/marker-icon.png":
        ("/usr/share/javascript/leaflet/images/marker-icon.png", "image/png"),
}


class Server(ServeProcess):
    """ServeProcess whose stdout must begin with the URL, alone on its line."""

    def __init__(self, home, *args, env=None):
        super().__init__(home, args, env)
        if self.stdout_head != [self.url]:
            self.stop(signal.SIGKILL)
            raise AssertionError("stdout does not begin with the URL: %r %r"
                                 % (self.stdout_head, self.stderr()))


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = make_home("serve")
        cls.server = Server(cls.home)
        cls.port = cls.server.port
        cls.token = cls.server.token

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, code

    @classmethod
    def request_raw(cls, head, body=b""):
        """Sends head (str, ends with the blank line) and body; reads to EOF."""
        return Response(raw_exchange(cls.port, head.encode("latin-1"), body, timeout=30))

    def request(self, method, path, headers=None, body=b"", host="default"):
        """A request with Host 127.0.0.1:PORT (host=None: none; a list: each)."""
        lines = [f"{method} {path} HTTP/1.1"]
        if host == "default":
            host = f"127.0.0.1:{self.port}"
        for h in ([] if host is None else host if isinstance(host, list) else [host]):
            lines.append(f"Host: {h}")
        for name, value in (headers or []):
            lines.append(f"{name}: {value}")
        if body and not any(n.lower() in ("content-length", "transfer-encoding")
                            for n, _ in headers or []):
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close")
        return self.request_raw("\r\n".join(lines) + "\r\n\r\n", body)

    def good_post_headers(self, **change):
        """Headers of a POST that passes every rule; change replaces or
        (value None) removes one, by lower-case name with '_' for '-'."""
        h = {k.lower().replace("-", "_"): v for k, v in self.server.post_headers().items()}
        h.update(change)
        return [(k.replace("_", "-"), v) for k, v in h.items() if v is not None]

    def assert_security_headers(self, r, no_store=True):
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(r.get(name), value, name)
        if no_store:
            self.assertEqual(r.get("cache-control"), "no-store")
        self.assertFalse([n for n, _ in r.headers if n.startswith("access-control-")])

    # --- pages, API, files ---------------------------------------------------------------

    def test_page_has_the_token_and_no_marker(self):
        r = self.request("GET", "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.get("content-type"), "text/html; charset=utf-8")
        self.assert_security_headers(r)
        self.assertIsNotNone(self.token)
        self.assertIn(self.token.encode(), r.body)
        self.assertNotIn(b"__PIXIE_TOKEN__", r.body)
        # the token is per launch: not in the embedded source, a fresh value
        self.assertNotEqual(self.token, "0" * 64)

    def test_api_reaches_lua(self):
        r = self.request("GET", "/api/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.get("content-type"), "application/json")
        self.assertIn(b'"ok":true', r.body)
        self.assert_security_headers(r)

    def test_vendor_files_with_their_types(self):
        for url, (path, ctype) in VENDOR.items():
            with self.subTest(url=url):
                r = self.request("GET", url)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.get("content-type"), ctype)
                with open(path, "rb") as f:
                    self.assertEqual(r.body, f.read())
                self.assert_security_headers(r, no_store=False)
        r = self.request("GET", "/vendor/highlight.js/styles/github-dark.css")
        self.assertEqual((r.status, r.get("content-type")), (200, "text/css; charset=utf-8"))
        r = self.request("GET", "/vendor/LICENSES.txt")
        self.assertEqual(r.status, 200)
        for pkg in ("libjs-chart.js", "libjs-marked", "node-dompurify", "libjs-katex",
                    "fonts-katex", "libjs-highlight.js", "libjs-leaflet"):
            self.assertIn(pkg.encode(), r.body)

    def test_unknown_paths_are_404_json_with_headers(self):
        for path in ("/nope", "/vendor/nope.js", "/static/nope.js", "/vendor/../web/index.html",
                     "/static/%2e%2e/index.html", "/tool/a/b/c", "/tool/bad%20id",
                     "/web/index.html", "/api/nope"):
            with self.subTest(path=path):
                r = self.request("GET", path)
                self.assertEqual(r.status, 404)
                self.assertEqual(r.get("content-type"), "application/json")
                self.assertIn(b'"error"', r.body)
                self.assert_security_headers(r)

    # --- the guard, one rule at a time ---------------------------------------------------------

    def test_host_rule(self):
        p = self.port
        for host in (f"evil.test:{p}", f"0.0.0.0:{p}", f"127.0.0.1:{p + 1}", "127.0.0.1",
                     f"localhost.evil.test:{p}", [f"127.0.0.1:{p}", f"127.0.0.1:{p}"], None):
            with self.subTest(host=host):
                r = self.request("GET", "/api/healthz", host=host)
                self.assertEqual(r.status, 403)
                self.assert_security_headers(r)
        # HTTP/1.0 without any Host
        r = self.request_raw("GET /api/healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(r.status, 403)
        for host in (f"LOCALHOST:{p}", f"localhost:{p}", f"127.0.0.1:{p}"):
            with self.subTest(host=host):
                self.assertEqual(self.request("GET", "/api/healthz", host=host).status, 200)
        # pages and files are guarded too
        self.assertEqual(self.request("GET", "/", host=f"evil.test:{p}").status, 403)
        self.assertEqual(self.request("GET", "/vendor/marked/marked.min.js",
                                      host=f"evil.test:{p}").status, 403)

    def test_a_good_post_passes_the_guard(self):
        # the routes answer 405 for POST /api/healthz (GET only): the guard let it through
        r = self.request("POST", "/api/healthz", self.good_post_headers(), b"{}")
        self.assertEqual(r.status, 405)
        r = self.request("POST", "/api/healthz", self.good_post_headers(
            content_type="application/json; charset=utf-8", sec_fetch_site="same-origin"), b"{}")
        self.assertEqual(r.status, 405)
        r = self.request("POST", "/api/healthz", self.good_post_headers(
            origin=f"http://localhost:{self.port}"), b"{}", host=f"localhost:{self.port}")
        self.assertEqual(r.status, 405)
        # an empty body needs no content type
        r = self.request("POST", "/api/healthz", self.good_post_headers(content_type=None)
                         + [("Content-Length", "0")])
        self.assertEqual(r.status, 405)

    def test_post_rules_each_alone(self):
        p = self.port
        cases = [
            ("no token", dict(x_pixie_token=None), 403),
            ("wrong token", dict(x_pixie_token="0" * 64), 403),
            ("short token", dict(x_pixie_token=(self.token or "")[:63]), 403),
            ("no origin", dict(origin=None), 403),
            ("origin null", dict(origin="null"), 403),
            ("other origin", dict(origin=f"http://evil.test:{p}"), 403),
            ("origin of the other name", dict(origin=f"http://localhost:{p}"), 403),
            ("https origin", dict(origin=f"https://127.0.0.1:{p}"), 403),
            ("same-site", dict(sec_fetch_site="same-site"), 403),
            ("cross-site", dict(sec_fetch_site="cross-site"), 403),
            ("text/plain", dict(content_type="text/plain"), 415),
            ("form", dict(content_type="application/x-www-form-urlencoded"), 415),
            ("no content type", dict(content_type=None), 415),
        ]
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for name, change, status in cases:
                with self.subTest(method=method, rule=name):
                    r = self.request(method, "/api/healthz", self.good_post_headers(**change),
                                     b'{"a":1}')
                    self.assertEqual(r.status, status)
                    self.assertEqual(r.get("content-type"), "application/json")
                    self.assert_security_headers(r)

    def test_two_tokens_are_refused(self):
        h = self.good_post_headers() + [("X-Pixie-Token", self.token)]
        self.assertEqual(self.request("POST", "/api/healthz", h, b"{}").status, 403)

    def test_duplicate_content_length_is_400(self):
        h = self.good_post_headers() + [("Content-Length", "2"), ("Content-Length", "2")]
        r = self.request("POST", "/api/healthz", h, b"{}")
        self.assertEqual(r.status, 400)
        self.assert_security_headers(r)  # the guard's answer, not libmicrohttpd's
        h = [("Content-Length", "0"), ("Content-Length", "0")]
        self.assertEqual(self.request("GET", "/api/healthz", h).status, 400)

    def test_transfer_codings_other_than_chunked(self):
        """A coding Pixie cannot decode is 501 at once (libmicrohttpd alone would wait for
        the idle timeout); chunked with a Content-Length as well is 400."""
        for te in ("gzip", "gzip, chunked", "chunked, identity"):
            with self.subTest(te=te):
                h = self.good_post_headers() + [("Transfer-Encoding", te)]
                r = self.request("POST", "/api/healthz", h, b"3\r\n{}x\r\n0\r\n\r\n")
                self.assertEqual(r.status, 501)
                self.assertIn(b"chunked", r.body)
                self.assert_security_headers(r)
        h = self.good_post_headers() + [("Transfer-Encoding", "chunked"), ("Content-Length", "7")]
        r = self.request("POST", "/api/healthz", h, b"2\r\n{}\r\n0\r\n\r\n")
        self.assertEqual(r.status, 400)
        self.assert_security_headers(r)
        h = self.good_post_headers() + [("Transfer-Encoding", "Chunked")]
        r = self.request("POST", "/api/healthz", h, b"2\r\n{}\r\n0\r\n\r\n")
        self.assertEqual(r.status, 405)  # through the guard to the route: healthz takes GET

    def test_options_is_405(self):
        for path in ("/api/healthz", "/", "/vendor/marked/marked.min.js"):
            r = self.request("OPTIONS", path, [("Origin", "http://evil.test"),
                                               ("Access-Control-Request-Method", "POST")])
            self.assertEqual(r.status, 405)
            self.assert_security_headers(r)

    def test_static_files_take_get_only(self):
        r = self.request("POST", "/vendor/marked/marked.min.js", self.good_post_headers(), b"{}")
        self.assertEqual(r.status, 405)
        r = self.request("HEAD", "/vendor/marked/marked.min.js")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")

    def test_body_over_one_mib_is_413(self):
        big = b"[" + b"1," * (512 * 1024) + b"1]"
        self.assertGreater(len(big), 1024 * 1024)
        r = self.request("POST", "/api/healthz", self.good_post_headers(), big)
        self.assertEqual(r.status, 413)
        self.assert_security_headers(r)
        # chunked: no length known up front
        chunked = b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n"
        r = self.request("POST", "/api/healthz", self.good_post_headers()
                         + [("Transfer-Encoding", "chunked")], chunked)
        self.assertEqual(r.status, 413)
        self.assert_security_headers(r)
        # exactly 1 MiB is allowed (the routes then say 405: healthz is GET only)
        exact = b" " * (1024 * 1024 - 2) + b"{}"
        r = self.request("POST", "/api/healthz", self.good_post_headers(), exact)
        self.assertEqual(r.status, 405)

    def test_listens_on_127_0_0_1_only(self):
        port_hex = "%04X" % self.port
        listening = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state == "0A" and local.endswith(":" + port_hex):
                        listening.append((table, local))
        self.assertEqual(listening, [("/proc/net/tcp", "0100007F:" + port_hex)])


class ServeLifecycleTest(unittest.TestCase):
    def test_sigterm_and_sigint_exit_0(self):
        home = make_home("serve-sig")
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                server = Server(home)
                with socket.create_connection(("127.0.0.1", server.port), timeout=10):
                    pass
                self.assertEqual(server.stop(sig), 0)
                with self.assertRaises(OSError):
                    socket.create_connection(("127.0.0.1", server.port), timeout=5).close()

    def test_other_hosts_are_refused(self):
        home = make_home("serve-host")
        for host in ("0.0.0.0", "::", "192.168.1.1", "example.com"):
            with self.subTest(host=host):
                r = pixie("serve", "--port", "0", "--host", host, home=home, timeout=30)
                self.assertEqual(r.returncode, 2)
                self.assertIn("127.0.0.1", r.stderr)
                self.assertEqual(r.stdout, "")

    def test_localhost_host_is_accepted(self):
        server = Server(make_home("serve-localhost"), "--host", "localhost")
        self.assertEqual(server.stop(), 0)

    def test_port_in_use(self):
        home = make_home("serve-busy")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            r = pixie("serve", "--port", str(port), home=home, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"port {port} is in use", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_broken_store_fails_before_listening(self):
        home = make_home("serve-baddb")
        write(os.path.join(home, "pixie.db"), b"this is not a database" * 100)
        r = pixie("serve", "--port", "0", home=home, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("pixie.db", r.stderr)

    def test_open_without_a_browser_still_serves(self):
        server = Server(make_home("serve-open"), "--open", env={"PATH": "/nonexistent"})
        self.assertRegex(server.stdout_head[0], r"^http://127\.0\.0\.1:\d+/$")
        self.assertEqual(server.stop(signal.SIGTERM), 0)
        self.assertIn("no browser", server.stderr())

    def test_bad_options(self):
        home = make_home("serve-opts")
        for args in (["--port", "70000"], ["--workers", "0"], ["--port", "x"], ["extra"]):
            with self.subTest(args=args):
                r = pixie("serve", *args, home=home, timeout=30)
                self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
