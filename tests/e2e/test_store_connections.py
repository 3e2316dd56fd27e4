"""pixie.db shared with other connections (security anchors §5.3, issue 7
item 2): opening the store never drops the POSIX locks this process holds
on the database (closing any descriptor of the file would), so another
process closing its connection cannot believe it is the last one and
checkpoint and delete the WAL under a live connection; and writers of
different processes take pixie.db.lock for their write transactions.
"""
import fcntl
import os
import sqlite3
import subprocess
import time
import unittest

import pixie_testlib

LUA_TEST = os.path.join(os.environ.get("PIXIE_BUILD_DIR", ""), "tests", "pixie_lua_test")
HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "store_driver.lua")
WRITER = os.path.join(HERE, "store_writer.lua")


class Driver:
    """A pixie process running store_driver.lua on a home."""

    def __init__(self, home):
        self.proc = subprocess.Popen([LUA_TEST, DRIVER, home], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ask(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().decode().rstrip("\n")
        if not answer.startswith("ok"):
            raise AssertionError(f"{line}: {answer or self.proc.stderr.read().decode()}")
        return answer[3:]

    def close(self):
        self.proc.stdin.write(b"exit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def new_store(name):
    """A home with an initialised pixie.db (WAL mode) and its path."""
    home = pixie_testlib.make_home(name)
    driver = Driver(home)
    driver.ask("store_open")
    assert driver.close() == 0
    return home, os.path.join(home, "pixie.db")


class StoreConnectionsTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.access(LUA_TEST, os.X_OK), f"{LUA_TEST} not built")

    def test_store_open_keeps_other_connections_wal_intact(self):
        home, path = new_store("second-connection")
        other = sqlite3.connect(path, isolation_level=None)
        driver = Driver(home)
        try:
            driver.ask("db_open")
            driver.ask("insert before")
            other.execute("BEGIN")  # a read transaction held while store.open runs
            self.assertEqual(other.execute("SELECT count(*) FROM settings").fetchone()[0], 1)
            driver.ask("store_open")
            self.assertEqual(other.execute("SELECT count(*) FROM settings").fetchone()[0], 1)
            other.execute("COMMIT")
            other.execute("INSERT INTO settings (key, value) VALUES ('other', 'x')")  # still works
            other.close()  # were our locks dropped, this close would delete the WAL
            self.assertTrue(os.path.exists(path + "-wal"), "the WAL was deleted under us")
            self.assertTrue(os.path.exists(path + "-shm"), "the -shm was deleted under us")
            driver.ask("insert after")
            self.assertEqual(driver.ask("count"), "3")
            again = sqlite3.connect(path)
            try:
                self.assertEqual(again.execute("SELECT key FROM settings ORDER BY key").fetchall(),
                                 [("after",), ("before",), ("other",)])
                self.assertEqual(again.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            finally:
                again.close()
        finally:
            self.assertEqual(driver.close(), 0)
        check = sqlite3.connect(path)
        try:
            self.assertEqual(check.execute("SELECT count(*) FROM settings").fetchone()[0], 3)
        finally:
            check.close()

    def test_writers_of_other_processes_wait_for_the_lock_file(self):
        home, path = new_store("lock-file")
        lock_path = path + ".lock"
        self.assertEqual(os.stat(lock_path).st_mode & 0o777, 0o600)
        with open(lock_path, "r+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another Pixie process writing
            writer = subprocess.Popen([LUA_TEST, WRITER, home, "3"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
            time.sleep(0.5)  # time enough to write, were the lock ignored
            try:
                self.assertIsNone(writer.poll(), "the writer did not wait for pixie.db.lock")
                con = sqlite3.connect(path)  # reads never take the lock
                try:
                    self.assertEqual(con.execute("SELECT count(*) FROM runs").fetchone()[0], 0)
                finally:
                    con.close()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        out, err = writer.communicate(timeout=60)
        self.assertEqual(writer.returncode, 0, err.decode(errors="replace"))
        self.assertEqual(len([l for l in out.decode().splitlines() if l.startswith("F ")]), 3)
        con = sqlite3.connect(path)
        try:
            self.assertEqual(con.execute("SELECT count(*) FROM runs WHERE status = 'ok'")
                             .fetchone()[0], 3)
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
        finally:
            con.close()


if __name__ == "__main__":
    unittest.main()
