"""Durability of pixie.db against a process crash (SPEC §4.3, security
anchors §5.5): a writer recording runs is kill -9'ed at a random moment,
100 times; after each kill the database passes PRAGMA integrity_check and
every run the writer reported as committed (printed after COMMIT returned)
is present with the state it reported. Runs left "running" by the killed
writers are marked aborted when the store is next opened. Two writer
processes at once never see SQLITE_BUSY (busy_timeout, BEGIN IMMEDIATE).
"""
import os
import random
import signal
import sqlite3
import subprocess
import time
import unittest

import pixie_testlib

LUA_TEST = os.path.join(os.environ.get("PIXIE_BUILD_DIR", ""), "tests", "pixie_lua_test")
WRITER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "store_writer.lua")
KILLS = 100


def writer_env():
    env = dict(os.environ)
    env["PIXIE_SPAWN_LOG_MAX_ROWS"] = "100000000"  # keep every row: all must be found
    return env


def check_db(test, path, started, finished, logged):
    con = sqlite3.connect(path)
    try:
        test.assertEqual(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
        status = dict(con.execute("SELECT id, status FROM runs"))
        texts = {row[0] for row in con.execute("SELECT text FROM spawn_log")}
    finally:
        con.close()
    missing = [i for i in started if i not in status]
    test.assertEqual(missing, [], "runs reported started are missing")
    not_ok = [i for i in finished if status.get(i) != "ok"]
    test.assertEqual(not_ok, [], "runs reported finished are not ok")
    lost = [m for m in logged if m not in texts]
    test.assertEqual(lost, [], "spawn_log rows reported committed are missing")
    return status


class StoreDurabilityTest(unittest.TestCase):
    def test_kill_9_never_loses_a_reported_commit(self):
        self.assertTrue(os.access(LUA_TEST, os.X_OK), f"{LUA_TEST} not built")
        home = pixie_testlib.make_home("durability")
        path = os.path.join(home, "pixie.db")
        rng = random.Random()
        started, finished, logged = set(), set(), set()
        killed_mid_run = 0
        for _ in range(KILLS):
            proc = subprocess.Popen([LUA_TEST, WRITER, home], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=writer_env())
            first = proc.stdout.readline()  # the writer is open and writing
            time.sleep(rng.uniform(0, 0.05))
            proc.send_signal(signal.SIGKILL)
            rest, err = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, -signal.SIGKILL, err.decode(errors="replace"))
            lines = (first + rest).decode().splitlines()
            self.assertTrue(lines, "the writer reported nothing: " + err.decode(errors="replace"))
            for line in lines:
                kind, _, value = line.partition(" ")
                {"S": started, "F": finished, "L": logged}[kind].add(value)
            if lines[-1].startswith("S "):
                killed_mid_run += 1
            check_db(self, path, started, finished, logged)
        # a clean writer run marks every run the killed writers left running
        done = subprocess.run([LUA_TEST, WRITER, home, "3"], capture_output=True,
                              env=writer_env(), timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace"))
        status = check_db(self, path, started, finished, logged)
        self.assertNotIn("running", status.values())
        con = sqlite3.connect(path)
        try:
            rows = {r[0]: r[1:] for r in con.execute(
                "SELECT id, status, error_text, finished_at FROM runs")}
        finally:
            con.close()
        for run_id in started - finished:  # killed between the two commits (or prints)
            st, error_text, finished_at = rows[run_id]
            self.assertIn(st, ("ok", "error"))
            if st == "error":
                self.assertEqual(error_text, "aborted")
            self.assertIsNotNone(finished_at)
        print(f"{KILLS} kills, {len(started)} runs started, {len(finished)} finished, "
              f"{len(logged)} log rows, {killed_mid_run} kills between start and finish reports")

    def test_two_writer_processes_never_see_busy(self):
        home = pixie_testlib.make_home("two-writers")
        procs = [subprocess.Popen([LUA_TEST, WRITER, home, "150"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=writer_env()) for _ in range(2)]
        finished = set()
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            self.assertEqual(proc.returncode, 0, err.decode(errors="replace"))
            finished |= {line[2:] for line in out.decode().splitlines() if line.startswith("F ")}
        self.assertEqual(len(finished), 300)
        con = sqlite3.connect(os.path.join(home, "pixie.db"))
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            self.assertEqual(con.execute("SELECT count(*) FROM runs WHERE status = 'ok'")
                             .fetchone()[0], 300)
            self.assertEqual(con.execute("SELECT count(*) FROM spawn_log").fetchone()[0], 300)
        finally:
            con.close()


if __name__ == "__main__":
    unittest.main()
