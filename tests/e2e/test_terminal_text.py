"""What reaches a terminal: log lines (src/core/log.c, escaped in C by
src/core/termtext.c) and printed lines (lua/pixie/out.lua) show the same
control characters as \\xNN; the log file keeps them, one line per event."""
import os
import unittest

from pixie_testlib import make_home, run_on_pty, write

# Every control byte except NUL (pixie.log takes a C string) and LF (a log
# line writes LF as \x0A, printed text keeps it), DEL, and a few printable
# bytes; no ']' so the markers hold.
SAMPLE_LUA = "string.char(%s) .. 'A\\\\z'" % ", ".join(
    str(b) for b in list(range(1, 10)) + list(range(11, 32)) + [127])

SKILL = """
return { api = 1, summary = "prints and logs control bytes", run = function()
  local s = %s
  print("OUT[" .. s .. "]")
  pixie.log.error("LOG[" .. s .. "]")
  return 0
end }
""" % SAMPLE_LUA


def between(data, start, end=b"]"):
    i = data.index(start) + len(start)
    return data[i:data.index(end, i)]


class TerminalText(unittest.TestCase):
    def test_log_lines_and_printed_lines_escape_the_same_bytes(self):
        home = make_home("termtext")
        write(os.path.join(home, "skills", "ctl.lua"), SKILL)
        rc, seen = run_on_pty(home, "run-skill", "ctl")
        self.assertEqual(rc, 0, seen)
        printed = between(seen, b"OUT[")
        logged = between(seen, b"LOG[")
        self.assertEqual(logged, printed)
        self.assertIn(b"\\x01\\x02", logged)
        self.assertIn(b"\\x1B\\x1C\\x1D\\x1E\\x1F\\x7FA\\z", logged)
        self.assertIn(b"\\x08\t\\x0B", logged, "tab is kept")
        self.assertNotIn(b"\x1b", seen)

    def test_log_file_keeps_bytes_but_not_line_breaks(self):
        home = make_home("termtext-file")
        write(os.path.join(home, "skills", "nl.lua"), """
return { api = 1, summary = "logs a forged line", run = function()
  pixie.log.error("one\\n2026-01-01T00:00:00.000Z ERROR lua: forged\\r\\27[2J")
  return 0
end }
""")
        rc, seen = run_on_pty(home, "run-skill", "nl")
        self.assertEqual(rc, 0, seen)
        self.assertIn(b"one\\x0A2026-01-01T00:00:00.000Z ERROR lua: forged\\x0D\\x1B[2J", seen)
        with open(os.path.join(home, "logs", "pixie.log"), "rb") as f:
            lines = [l for l in f.read().split(b"\n") if b"forged" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(b"one\\x0A2026-01-01T00:00:00.000Z ERROR lua: forged\\x0D\x1b[2J", lines[0])


if __name__ == "__main__":
    unittest.main()
