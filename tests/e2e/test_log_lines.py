"""spawn_log holds whole lines and never a piece of a secret, however a tool
times its writes (issue 8, finding 7): a secret written in two pieces with a
pause between them, print("RAW:" + secret) as two writes (PYTHONUNBUFFERED),
and a piece of a secret left unfinished when the stream ends."""
import os
import sqlite3
import unittest

from pixie_testlib import pixie
from test_run import every_byte_pixie_wrote, home_with, set_env

CANARY = "CANARY-drip-4e8b1d-SECRET-9a7c"
RAW_LINES = 40


def pieces(value, n=8):
    """Every n-byte piece of value."""
    return {value[i:i + n] for i in range(len(value) - n + 1)}


class TimeReleasedSecrets(unittest.TestCase):
    def setUp(self):
        self.home = home_with("dribble")
        set_env(self.home, "dribble", "DRIP_TOKEN", CANARY)
        r = pixie("run", "dribble", f"lines={RAW_LINES}", home=self.home)
        self.assertEqual(r.returncode, 0, "pixie run dribble failed")
        self.assertFalse(any(p in r.stdout + r.stderr for p in pieces(CANARY)), "canary printed")

    def rows(self, stream):
        db = sqlite3.connect(os.path.join(self.home, "pixie.db"))
        try:
            return [t for (t,) in db.execute(
                "SELECT text FROM spawn_log WHERE tool_id = 'dribble' AND stream = ? ORDER BY id",
                (stream,))]
        finally:
            db.close()

    def test_no_piece_of_the_secret_is_stored_or_shown(self):
        logs = pixie("logs", "dribble", "-n", "500", home=self.home)
        self.assertEqual(logs.returncode, 0, logs.stderr)
        found = [p for p in pieces(CANARY) if p in logs.stdout + logs.stderr]
        self.assertEqual(len(found), 0, "a piece of the canary is in pixie logs")
        self.assertIn("drip-out *** end", logs.stdout)
        self.assertIn("drip-err *** end", logs.stdout)
        for path, blob in every_byte_pixie_wrote(self.home):
            found = [p for p in pieces(CANARY) if p.encode() in blob]
            self.assertEqual(len(found), 0, f"a piece of the canary is in {path}")

    def test_each_line_is_one_row(self):
        # row texts are compared, never shown: a failure could hold a piece
        out = self.rows("stdout")
        raw = [t for t in out if "RAW:" in t]
        self.assertEqual(len(raw), RAW_LINES, "rows holding RAW lines")
        self.assertEqual(sum(t == "RAW:***\n" for t in raw), RAW_LINES, "RAW rows that are one line")
        self.assertEqual(out.count("drip-out *** end\n"), 1, "the stdout line written in pieces")
        self.assertEqual(self.rows("stderr").count("drip-err *** end\n"), 1,
                         "the stderr line written in pieces")
        self.assertTrue(out[-1] == "tail ***", "the unfinished last line ends with the stream")
        self.assertEqual(sum(not t.endswith("\n") for t in out), 1, "rows without a newline")

if __name__ == "__main__":
    unittest.main()
