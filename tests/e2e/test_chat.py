"""pixie chat (issue 9 item 3): a conversation with a `layout: chat` tool
through a terminal, each turn a recorded run that sends the conversation
back; one-shot --message; a tool that is not a chat tool is refused."""
import json
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import unittest

from pixie_testlib import PIXIE_BIN, SOURCE_DIR, make_home, pixie

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "tools")


def home_with(*fixtures):
    home = make_home("chat")
    for name in fixtures:
        shutil.copytree(os.path.join(FIXTURES, name), os.path.join(home, "tools", name))
    shutil.copy(os.path.join(FIXTURES, "fixturelib.py"), os.path.join(home, "tools", "fixturelib.py"))
    # stream-agent as a chat tool: its reply streams in as chunk text
    chat = os.path.join(home, "tools", "stream-chat")
    shutil.copytree(os.path.join(FIXTURES, "stream-agent"), chat)
    with open(os.path.join(chat, "tool.json")) as f:
        spec = json.load(f)
    spec.update(id="stream-chat", name="Stream chat", layout="chat")
    with open(os.path.join(chat, "tool.json"), "w") as f:
        json.dump(spec, f)
    return home


def runs_of(home, tool):
    db = sqlite3.connect(os.path.join(home, "pixie.db"))
    try:
        rows = db.execute("SELECT inputs_json, outputs_json, status, source FROM runs"
                          " WHERE tool_id = ? ORDER BY started_at, rowid", (tool,)).fetchall()
    finally:
        db.close()
    return [(json.loads(i), json.loads(o) if o else None, s, src) for i, o, s, src in rows]


class Terminal:
    """pixie chat on a pty: stdin, stdout and stderr all the terminal."""

    def __init__(self, home, *args):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([PIXIE_BIN, "--home", home, "chat", *args],
                                     stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.seen = b""

    def read_until(self, marker, count):
        """Reads until marker occurs count times in all output so far (or EOF)."""
        while self.seen.count(marker) < count:
            ready, _, _ = select.select([self.master], [], [], 60)
            if not ready:
                raise AssertionError(f"no {marker!r} in {self.seen!r}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                raise AssertionError(f"EOF before {marker!r}: {self.seen!r}")
            self.seen += chunk

    def send(self, data):
        os.write(self.master, data)

    def finish(self):
        """Reads to EOF; returns (exit code, text seen)."""
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        os.close(self.master)
        return self.proc.wait(timeout=60), self.seen.decode().replace("\r\n", "\n")


class Chat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = home_with("chatbot", "stream-agent")

    def test_two_turns_send_the_history_back(self):
        before = len(runs_of(self.home, "chatbot")) if os.path.exists(os.path.join(self.home, "pixie.db")) else 0
        t = Terminal(self.home, "chatbot")
        t.read_until(b"you> ", 1)
        t.send(b"hello there\n")
        t.read_until(b"you> ", 2)
        t.send(b"and again\n")
        t.read_until(b"you> ", 3)
        t.send(b"\x04")  # Ctrl-D: end of input
        code, text = t.finish()
        self.assertEqual(code, 0, text)
        self.assertIn("chatbot> (plain) you said: hello there\n", text)
        self.assertIn("chatbot> (plain) you said: and again\n", text)
        rows = runs_of(self.home, "chatbot")[before:]
        self.assertEqual(len(rows), 2, "each turn is a recorded run")
        (first_in, first_out, s1, src1), (second_in, second_out, s2, src2) = rows
        self.assertEqual((s1, s2, src1, src2), ("ok", "ok", "cli", "cli"))
        self.assertEqual(first_in["history"], [])
        self.assertEqual(first_in["messages"], [{"role": "user", "content": "hello there"}])
        turn1 = [{"role": "user", "content": "hello there"},
                 {"role": "assistant", "content": "(plain) you said: hello there"}]
        self.assertEqual(second_in["history"], turn1)
        self.assertEqual(second_in["messages"], turn1 + [{"role": "user", "content": "and again"}])
        # what the tool itself received: 1 message, then 2 history + 3 messages
        self.assertEqual((first_out["turns"], second_out["turns"]), (1, 5))

    def test_a_streaming_reply_shows_on_the_terminal_and_exit_ends(self):
        t = Terminal(self.home, "stream-chat")
        t.read_until(b"you> ", 1)
        t.send(b"what is 12 * 7?\n")
        t.read_until(b"you> ", 2)
        t.send(b"/exit\n")
        code, text = t.finish()
        self.assertEqual(code, 0, text)
        self.assertIn("stream-chat> 12 * 7 = **84.0**\n", text)
        self.assertEqual(text.count("**84.0**"), 1, "the reply is shown once")
        rows = runs_of(self.home, "stream-chat")
        self.assertEqual([r[1]["reply"] for r in rows], ["12 * 7 = **84.0**"])

    def test_message_one_shot(self):
        r = pixie("chat", "chatbot", "--message", "just once", home=self.home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "(plain) you said: just once\n")
        r = pixie("chat", "stream-chat", "--message", "go", home=self.home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "12 * 7 = **84.0**\n")

    def test_message_one_shot_failure_exits_1(self):
        home = home_with("chatbot")
        main = os.path.join(home, "tools", "chatbot", "main.py")
        with open(main) as f:
            text = f.read()
        with open(main, "w") as f:  # the chatbot, failing every run
            f.write(text.replace("def run(body):\n", "def run(body):\n    return 500, {\"detail\": \"model unavailable\"}\n", 1))
        r = pixie("chat", "chatbot", "--message", "hi", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("error: tool answered 500: model unavailable", r.stderr)
        self.assertEqual([row[2] for row in runs_of(home, "chatbot")], ["error"])

    def test_a_tool_that_is_not_a_chat_tool_is_refused(self):
        r = pixie("chat", "stream-agent", "--message", "hi", home=self.home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a chat tool", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(runs_of(self.home, "stream-agent") if os.path.exists(
            os.path.join(self.home, "pixie.db")) else [], [])


if __name__ == "__main__":
    unittest.main()
