"""`pixie serve` under load (issue 11): 100 tools, 64 keep-alive connections
hammering GET /api/tools for 20 s while a streaming run is watched through
/api/runs/<id>/events. Zero errors, the stream keeps flowing, and the
server's memory (VmRSS) and open fds come back within 10 % of a baseline
taken once warm-up bursts of the same load no longer grow it (the
allocator's arenas, ASan's included, have reached their working size).
No timing assertions."""
import http.client
import json
import math
import os
import threading
import time
import unittest

from pixie_testlib import GUARD_S, ServeProcess, add_fixture, fixture_home

N_TOOLS = 100
CONNECTIONS = 64
LOAD_SECONDS = 20
WARMUP_SECONDS = 8
WARMUP_ROUNDS_MAX = 3
WARMED_GROWTH = 1.03  # a round growing RSS by less than this: warmed up


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def small_asan_quarantine():
    """Under ASan a freed block waits in a 256 MiB quarantine: RSS would
    grow through the whole run. A small quarantine keeps the memory
    comparison meaningful (no effect on a plain build)."""
    return {"ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=8",
                                                   "thread_local_quarantine_size_kb=64"]))}


class Hammer:
    """CONNECTIONS threads, each on one keep-alive connection, sending GET
    /api/tools until stopped; counts answers and every error."""

    def __init__(self, port, expect_ids):
        self.port = port
        self.expect = expect_ids
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.errors = []
        self.connects = 0

    def worker(self):
        conn = None
        while not self.stop_flag.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=GUARD_S)
                    with self.lock:
                        self.connects += 1
                conn.request("GET", "/api/tools")
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise AssertionError(f"status {resp.status}: {data[:200]!r}")
                ids = {t["id"] for t in json.loads(data)["tools"]}
                if not self.expect <= ids:
                    raise AssertionError(f"tools missing from the list: {sorted(self.expect - ids)[:5]}")
                if resp.will_close:
                    conn.close()
                    conn = None
                with self.lock:
                    self.ok += 1
            except Exception as exc:  # every failure counts
                with self.lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def run(self, seconds):
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(CONNECTIONS)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        self.stop_flag.set()
        for t in threads:
            t.join(GUARD_S)
            assert not t.is_alive(), "a load thread hung"


class Watcher(threading.Thread):
    """Reads /api/runs/<id>/events to its end: counts update events, keeps
    the final event's data."""

    def __init__(self, server, run_id):
        super().__init__(daemon=True)
        self.server, self.run_id = server, run_id
        self.updates = 0
        self.final = None
        self.error = None

    def count(self, _data):
        self.updates += 1

    def run(self):
        try:
            events = self.server.events(f"/api/runs/{self.run_id}/events", on_update=self.count)
            if events and events[-1][0] == "final":
                self.final = json.loads(events[-1][1])
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"


class ServeLoadTest(unittest.TestCase):
    def setUp(self):
        self.home = fixture_home("serve-load", ["stream-cancel"])
        for i in range(N_TOOLS - 1):
            add_fixture(self.home, "refcalc", f"calc-{i:03d}", name=f"Calculator {i}")
        self.ids = {f"calc-{i:03d}" for i in range(N_TOOLS - 1)} | {"stream-cancel"}
        self.server = ServeProcess(self.home, env=small_asan_quarantine())
        self.addCleanup(self.server.stop)

    def streaming_run(self):
        """Starts stream-cancel (it streams until cancelled) and a watcher."""
        status, _, body = self.server.request("POST", "/api/tools/stream-cancel/run", {"inputs": {}, "wait": False})
        self.assertEqual(status, 202, body[:300])
        run_id = json.loads(body)["run_id"]
        watcher = Watcher(self.server, run_id)
        watcher.start()
        return run_id, watcher

    def cancel(self, run_id, watcher):
        status, _, body = self.server.request("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual(status, 202, body[:300])
        watcher.join(GUARD_S)
        self.assertFalse(watcher.is_alive(), "the events stream did not end after cancel")
        self.assertIsNone(watcher.error, watcher.error)
        self.assertIsNotNone(watcher.final, "the events stream ended with no final event")
        self.assertEqual(watcher.final.get("status"), "cancelled", watcher.final)

    def load(self, seconds):
        run_id, watcher = self.streaming_run()
        hammer = Hammer(self.server.port, self.ids)
        hammer.run(seconds)
        self.assertEqual(hammer.errors[:5], [], f"{len(hammer.errors)} errors in {hammer.ok + len(hammer.errors)} requests")
        self.assertGreater(hammer.ok, CONNECTIONS, "the load got fewer answers than connections")
        self.assertGreaterEqual(watcher.updates, 2, "the streaming run sent under 2 updates during the load")
        self.assertIsNone(watcher.final, f"the streaming run ended during the load: {watcher.final}")
        self.cancel(run_id, watcher)
        return hammer

    def settle(self):
        """Waits until the server's fd count stops falling (closed sockets
        of the load released), then returns (rss KiB, fds)."""
        last = None
        for _ in range(50):
            now = self.server.fd_count()
            if now == last:
                break
            last = now
            time.sleep(0.2)
        return rss_kib(self.server.proc.pid), self.server.fd_count()

    def test_load_leaves_memory_and_fds_at_baseline(self):
        cold = (rss_kib(self.server.proc.pid), self.server.fd_count())
        # Warm-up: the same load, so allocator arenas and caches are grown.
        base_rss, base_fds = 0, 0
        for _ in range(WARMUP_ROUNDS_MAX):
            self.load(WARMUP_SECONDS)
            last_rss = base_rss
            base_rss, base_fds = self.settle()
            if base_rss < last_rss * WARMED_GROWTH:
                break
        hammer = self.load(LOAD_SECONDS)
        rss, fds = self.settle()
        print(f"\n{hammer.ok / LOAD_SECONDS:.0f} requests/s; cold rss {cold[0]} KiB fds {cold[1]}; baseline rss {base_rss} KiB fds {base_fds}; "
              f"after {hammer.ok} requests on {hammer.connects} connections: rss {rss} KiB fds {fds}")
        self.assertLessEqual(fds, math.ceil(base_fds * 1.1), f"open fds grew from {base_fds} to {fds}")
        self.assertLessEqual(rss, base_rss * 1.1, f"VmRSS grew from {base_rss} KiB to {rss} KiB")
        # Still serving, and a clean stop.
        status, _, _ = self.server.request("GET", "/api/healthz")
        self.assertEqual(status, 200)
        code = self.server.stop()
        self.assertEqual(code, 0, "pixie serve exited with %s after SIGTERM; stderr: %s" % (code, self.server.stderr()[-4000:]))


if __name__ == "__main__":
    unittest.main()
