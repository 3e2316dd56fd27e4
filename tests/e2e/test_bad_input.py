"""Bad input, always (SPEC §7, §8), through the built binary: a table-driven
sweep of hostile arguments over every command and built-in skill, and of
hostile homes (broken tool.json, tools/, .env, pixie.db, logs/, skills/).

Invariants checked for every case (see BadInputCase.check):
* the process ends by itself (a timeout fails the case);
* the exit code is the expected one (1 or 2 for errors; never a signal);
* stderr is a few short lines, each starting with "pixie:" (or "usage:"),
  with no Lua traceback, internal error ("attempt to ...", "(error object
  is ...") or source position inside Pixie, and no terminal escape;
* no canary secret value (every .env here holds one) appears in stdout or
  stderr;
* every file that existed before (tool.json, .env, pixie.db, skills, ...)
  is byte-for-byte unchanged afterwards (pixie.db may change only where
  the failure is recorded on purpose: a failed run, a validation report).
No case spawns a tool (every one fails before a tool would start) except
BadValues' tool that answers with bytes that are not UTF-8.
"""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import unittest

from pixie_testlib import EXAMPLES, PIXIE_BIN, TMP_BASE

CANARY = "CANARY-BADINPUT-7f3a-SECRET"
CANARY_ENV = f"SIGNING_KEY={CANARY}\nOTHER_TOKEN=CANARY-OTHER-9c1d-SECRET\n"
CANARIES = (CANARY.encode(), b"CANARY-OTHER-9c1d-SECRET")
TIMEOUT = 30
MAX_STDERR_LINES = 4
MAX_LINE_BYTES = 600
INTERNAL = re.compile(
    rb"attempt to (index|call|perform|concatenate|compare|get length|add|sub|mul|div)"
    rb"|stack traceback|\(error object is|assertion failed"
    rb"|(^|[\s'\"(])(lua/pixie/|built-in:skills/)[\w/.-]*\.lua:\d+:")
ESC = b"\x1b"
HUGE_ARG = "H" * (120 * 1024)  # Linux caps one argv string at 128 KiB
BINARY = b"\x01\x02\xff\xfe\x1b[31mred\x7f"

NUMBERS_TOOL = {
    "id": "numbers", "name": "Numbers", "description": "typed inputs",
    "inputs": [
        {"key": "n", "label": "N", "type": "number"},
        {"key": "j", "label": "J", "type": "json", "required": False},
        {"key": "m", "label": "M", "type": "multiselect", "required": False,
         "options": [{"value": "a", "label": "A"}]},
        {"key": "flag", "label": "Flag", "type": "checkbox", "required": False},
        {"key": "pick", "label": "Pick", "type": "select", "required": False,
         "options": [{"value": "x", "label": "X"}]},
        {"key": "d", "label": "D", "type": "date", "required": False},
        {"key": "tm", "label": "Tm", "type": "time", "required": False},
    ],
    "outputs": [{"key": "out", "label": "Out", "type": "text"}],
    "secrets": [{"key": "SIGNING_KEY", "description": "a canary", "required": True}],
}


def new_dir(name):
    os.makedirs(TMP_BASE, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"e2e-bad-{name}-", dir=TMP_BASE)


def put(path, data, mode=None):
    """Writes bytes or str to path (folders created)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        os.chmod(path, mode)


def base_home(name, db=True):
    """A home with the two examples, numbers/, canaries in every .env and
    (db=True) an initialised pixie.db."""
    home = new_dir(name)
    shutil.copytree(os.path.join(EXAMPLES, "tools"), os.path.join(home, "tools"))
    put(os.path.join(home, "tools", "numbers", "tool.json"), json.dumps(NUMBERS_TOOL))
    put(os.path.join(home, "tools", "numbers", "main.py"), "raise SystemExit(3)\n")
    for tool in ("hmac-sign", "numbers", "word-count"):
        put(os.path.join(home, "tools", tool, ".env"), CANARY_ENV, 0o600)
    put(os.path.join(home, ".env"), CANARY_ENV, 0o600)
    if db:
        r = run_pixie(["--home", home, "logs", "word-count"])
        assert r.returncode == 0, r.stderr
    return home


def run_pixie(argv, stdin=b"", env=None, preexec=None, stdout=subprocess.PIPE):
    """Runs the binary with bytes I/O; raises TimeoutExpired on a hang."""
    full_env = dict(os.environ)
    full_env.pop("PIXIE_HOME", None)
    full_env.pop("PIXIE_DEBUG", None)
    full_env["XDG_CONFIG_HOME"] = os.path.join(TMP_BASE, "no-xdg-config")
    full_env.update(env or {})
    return subprocess.run([PIXIE_BIN] + list(argv), input=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, env=full_env, timeout=TIMEOUT,
                          preexec_fn=preexec)


def snapshot(root):
    """{relative path: sha256 | 'dir' | 'fifo' | 'link:target'} of everything
    under root except the folders Pixie may legitimately add to."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("artefacts", "__pycache__")]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                result[rel] = "link:" + os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                result[rel] = "dir"
            elif stat.S_ISFIFO(st.st_mode):
                result[rel] = "fifo"
            elif rel.startswith("pixie.db-") or rel == ".gitignore":
                continue  # SQLite's -wal/-shm and the first-write .gitignore
            else:
                with open(path, "rb") as f:
                    result[rel] = hashlib.sha256(f.read()).hexdigest()
    return result


class BadInputCase(unittest.TestCase):
    """Shared checker for one invocation."""

    def check(self, argv, codes=(1, 2), home=None, stdin=b"", must=None, env=None,
              preexec=None, watch=None, stderr_lines=MAX_STDERR_LINES, records=False,
              writes_on_success=False, stdout=subprocess.PIPE):
        """Runs pixie [--home home] argv and checks the invariants. must: a
        bytes/str regex stderr+stdout must match. watch: folder whose files
        must be unchanged (default home); records: the command stores its
        failure in pixie.db on purpose; writes_on_success: files may change
        when the command succeeds. Returns the CompletedProcess."""
        full = (["--home", home] if home is not None else []) + list(argv)
        label = repr([a if len(a) < 80 else a[:20] + "..." for a in map(str, full)])
        watch = watch or home
        before = snapshot(watch) if watch else None
        try:
            r = run_pixie(full, stdin=stdin, env=env, preexec=preexec, stdout=stdout)
        except subprocess.TimeoutExpired:
            self.fail(f"{label}: did not end within {TIMEOUT} s")
        err, out = r.stderr, r.stdout or b""
        self.assertIn(r.returncode, codes, f"{label}: exit {r.returncode}, stderr {err[:300]!r}")
        lines = err.splitlines()
        self.assertLessEqual(len(lines), stderr_lines, f"{label}: stderr {err[:600]!r}")
        for line in lines:
            self.assertRegex(line, rb"^(pixie: |usage: )", f"{label}: stderr {err[:300]!r}")
            self.assertLessEqual(len(line), MAX_LINE_BYTES, f"{label}: long line {line[:200]!r}")
        self.assertIsNone(INTERNAL.search(err), f"{label}: internal error in {err[:400]!r}")
        self.assertNotIn(ESC, err, f"{label}: terminal escape echoed in {err[:200]!r}")
        for canary in CANARIES:
            self.assertNotIn(canary, out + err, f"{label}: canary leaked")
        if must is not None:
            pattern = must.encode() if isinstance(must, str) else must
            self.assertRegex(err + out, pattern, f"{label}: stderr {err[:400]!r}")
        if watch and not (writes_on_success and r.returncode == 0):
            after = snapshot(watch)
            if records:
                before.pop("pixie.db", None)
            changed = {k for k, v in before.items() if after.get(k) != v}
            self.assertEqual(changed, set(), f"{label}: files changed or removed")
        return r


class HostileArguments(BadInputCase):
    @classmethod
    def setUpClass(cls):
        cls.home = base_home("args")
        cls.files = new_dir("args-files")
        f = cls.files
        put(os.path.join(f, "array.json"), "[1, 2]")
        put(os.path.join(f, "string.json"), '"text"')
        put(os.path.join(f, "bad-utf8.json"), b'{"n": "\xff\xfe"}')
        put(os.path.join(f, "garbage.json"), b"\x00\x01{{{")
        put(os.path.join(f, "inf.json"), '{"n": 1e999}')
        put(os.path.join(f, "big.json"), b'{"j": "' + b"x" * (10 * 1024 * 1024) + b'"}')
        put(os.path.join(f, "empty"), b"")
        many = {f"k{i}": 1 for i in range(5000)}
        many["x" * 100000] = 1
        put(os.path.join(f, "many-keys.json"), json.dumps(many))
        put(os.path.join(f, "fragment"), "SIGNING_KEY=abc\n")
        put(os.path.join(f, "long-value"), b"v" * (100 * 1024))
        os.mkfifo(os.path.join(f, "fifo"))
        os.mkdir(os.path.join(f, "dir"))
        os.symlink("loop-b", os.path.join(f, "loop-a"))
        os.symlink("loop-a", os.path.join(f, "loop-b"))

    def f(self, name):
        return os.path.join(self.files, name)

    def sweep(self, cases):
        for case in cases:
            argv, codes = case[0], case[1]
            must = case[2] if len(case) > 2 else None
            stdin = case[3] if len(case) > 3 else b""
            with self.subTest(argv=[a[:40] for a in argv]):
                self.check(argv, codes=codes, home=self.home, must=must, stdin=stdin)

    def test_global_options(self):
        h = self.home
        cases = [
            (["--home"], (2,), "--home needs a folder", None),
            (["--home", "", "tools"], (2,), "--home needs a folder", None),
            (["--home=", "tools"], (2,), "--home needs a folder", None),
            (["--home", self.f("array.json"), "tools"], (1,), "not a folder", None),
            (["--home", self.f("loop-a"), "tools"], (1,), "symbolic links", None),
            (["--home", self.f("nowhere"), "tools"], (1,), "No such file", None),
            (["--home", "/tmp/x\ny\x1b[2J", "tools"], (1,), r"home /tmp/x\\x0Ay\\x1B\[2J: No such", None),
            (["--home", "/" + "abcdefghi/" * 600, "tools"], (1,), "File name too long", None),
            (["--bogus"], (2,), "unknown option --bogus", h),
            (["-x", "tools"], (2,), "unknown option -x", h),
            ([""], (2,), "unknown command ''", h),
            (["frobnicate"], (2,), "unknown command", h),
            ([HUGE_ARG], (2,), "unknown command", h),
            ([HUGE_ARG] * 9, (2,), "unknown command", h),
        ]
        for argv, codes, must, home in cases:
            with self.subTest(argv=[a[:40] for a in argv]):
                self.check(argv, codes=codes, must=must, home=home, watch=self.home)
        r = self.check([BINARY], codes=(2,), home=h, must="unknown command")
        self.assertIn(b"red", r.stderr)

    def test_unreadable_home(self):
        home = new_dir("unreadable-parent")
        locked = os.path.join(home, "locked")
        os.makedirs(os.path.join(locked, "tools"))
        os.chmod(home, 0o755)
        os.chmod(locked, 0)
        preexec = None
        if os.geteuid() == 0:
            # root reads anything: run as nobody to make the folder unreadable
            def preexec():
                os.setgid(65534)
                os.setuid(65534)
        try:
            self.check(["--home", locked, "tools"], codes=(1,), must="Permission denied",
                       preexec=preexec)
        finally:
            os.chmod(locked, 0o755)

    def test_output_that_cannot_be_written(self):
        """A full disk or a closed stdout is an error, never a silent exit 0."""
        with open("/dev/full", "wb") as full:
            for argv in (["tools"], ["tools", "--json"], ["skills"], ["help"], ["tools", "--help"],
                         ["version"], ["run-skill", "list-tools"]):
                with self.subTest(argv=argv):
                    self.check(argv, codes=(1,), home=self.home, stdout=full,
                               must="cannot write the output: No space left")
        self.check(["tools"], codes=(1,), home=self.home, stdout=subprocess.DEVNULL,
                   preexec=lambda: os.close(1), must="cannot write the output")

    def test_tools_skills_version_help(self):
        self.sweep([
            (["tools", "extra"], (2,), "unexpected argument 'extra'"),
            (["tools", ""], (2,), "unexpected argument ''"),
            (["tools", "--bogus"], (2,), "unknown option --bogus"),
            (["tools", "--json=1"], (2,), "takes no value"),
            (["tools", HUGE_ARG], (2,), "unexpected argument"),
            (["tools", "--" + HUGE_ARG], (2,), "unknown option"),
            (["skills", "x"], (2,), "unexpected argument"),
            (["skills", "--json", "--bogus"], (2,), "unknown option"),
            (["version", "x"], (2,), "no arguments"),
            (["help", "nosuch"], (2,), "unknown command 'nosuch'"),
            (["help", HUGE_ARG], (2,), "unknown command"),
        ])

    def test_run_arguments(self):
        self.sweep([
            (["run"], (2,), "missing argument"),
            (["run", ""], (1,), "unknown tool ''"),
            (["run", "nosuch"], (1,), "unknown tool 'nosuch'"),
            (["run", HUGE_ARG], (1,), "unknown tool"),
            (["run", "numbers", "--bogus"], (2,), "unknown option --bogus"),
            (["run", "numbers", "--json=yes"], (2,), "takes no value"),
            (["run", "numbers", "--inputs"], (2,), "--inputs needs a value"),
            (["run", "numbers", "--inputs="], (2,), "--inputs needs a value"),
            (["run", "numbers", "no-equals"], (2,), "expected key=value"),
            (["run", "numbers", "=x"], (2,), "expected key=value"),
            (["run", "numbers", "n=1", HUGE_ARG], (2,), "expected key=value"),
            (["run", "numbers", "bogus=1"], (1,), "bogus: unknown input"),
            (["run", "numbers", "n=abc"], (1,), "n: 'abc' is not a number"),
            (["run", "numbers", "n=1e999"], (1,), "n: .*finite"),
            (["run", "numbers", "n=-1e999"], (1,), "n: .*finite"),
            (["run", "numbers", "n=" + HUGE_ARG], (1,), "not a number"),
            (["run", "numbers", "n=1", "j={"], (1,), "j: not valid JSON"),
            (["run", "numbers", "n=1", "m=[1,"], (1,), "m: not valid JSON"),
            (["run", "numbers", "n=1", "m=zzz"], (1,), "m: 'zzz' is not one of"),
            (["run", "numbers", "n=1", "flag=maybe"], (1,), "flag: 'maybe' is not true or false"),
            (["run", "numbers", "n=1", "pick=nope"], (1,), "pick: must be one of"),
            (["run", "numbers", "n=1", "\x01\x1b=1"], (1,), "unknown input"),
        ])

    def test_run_inputs_file(self):
        self.sweep([
            (["run", "numbers", "--inputs", self.f("array.json")], (1,), "JSON object"),
            (["run", "numbers", "--inputs", self.f("string.json")], (1,), "not a JSON object"),
            (["run", "numbers", "--inputs", self.f("bad-utf8.json")], (1,), "bad-utf8.json"),
            (["run", "numbers", "--inputs", self.f("garbage.json")], (1,), "garbage.json"),
            (["run", "numbers", "--inputs", self.f("inf.json")], (1,), "n: .*finite"),
            (["run", "numbers", "--inputs", self.f("big.json")], (1,), "larger than"),
            (["run", "numbers", "--inputs", self.f("empty")], (1,), "empty"),
            (["run", "numbers", "--inputs", self.f("many-keys.json")], (1,), r"unknown input.*\(and \d+ more\)"),
            (["run", "numbers", "--inputs", self.f("fifo")], (1,), "fifo"),
            (["run", "numbers", "--inputs", self.f("dir")], (1,), "dir"),
            (["run", "numbers", "--inputs", self.f("loop-a")], (1,), "symbolic links"),
            (["run", "numbers", "--inputs", self.f("nowhere")], (1,), "--inputs .*nowhere"),
            (["run", "numbers", "--inputs", "-"], (1,), "JSON object", b"[1]"),
            (["run", "numbers", "--inputs", "-"], (1,), "stdin", b"\xff\xfe\x00"),
            (["run", "numbers", "--inputs", "-"], (1,), "stdin", b""),
            (["run", "numbers", "--inputs", "-"], (1,), "larger than",
             b'{"j": "' + b"x" * (10 * 1024 * 1024) + b'"}'),
        ])

    def test_logs_and_validate_arguments(self):
        self.sweep([
            (["logs"], (2,), "missing argument"),
            (["logs", "a", "b"], (2,), "unexpected argument 'b'"),
            (["logs", "nosuch"], (1,), "unknown tool 'nosuch'"),
            (["logs", "word-count", "-n"], (2,), "needs a value"),
            (["logs", "word-count", "-n", "-5"], (2,), "at least 1"),
            (["logs", "word-count", "-n", "0"], (2,), "at least 1"),
            (["logs", "word-count", "-n", "abc"], (2,), "needs an integer"),
            (["logs", "word-count", "-n", "1.5"], (2,), "needs an integer"),
            (["logs", "word-count", "-n", "99999999999999999999"], (2,), "needs an integer"),
            (["logs", "word-count", "-n", HUGE_ARG], (2,), "needs an integer"),
            (["logs", "word-count", "--lines="], (2,), "needs an integer"),
            (["logs", "word-count", "--follow=no"], (2,), "takes no value"),
            (["logs", "word-count", "-q"], (2,), "unknown option -q"),
            (["validate"], (2,), "missing argument"),
            (["validate", "a", "b"], (2,), "unexpected argument"),
            (["validate", ""], (1,), "unknown tool ''"),
            (["validate", "nosuch"], (1,), "unknown tool"),
            (["validate", "numbers", "--bogus"], (2,), "unknown option"),
        ])

    def test_run_skill_and_list_tools(self):
        self.sweep([
            (["run-skill"], (2,), "needs a skill name"),
            (["run-skill", ""], (2,), "needs a skill name"),
            (["run-skill", "-x"], (2,), "unknown option -x"),
            (["run-skill", "nosuch"], (1,), "unknown skill 'nosuch'"),
            (["run-skill", "Bad Name"], (1,), "invalid skill name"),
            (["run-skill", "../../etc/passwd"], (1,), "invalid skill name"),
            (["run-skill", HUGE_ARG], (1,), "invalid skill name"),
            (["run-skill", "list-tools", "x"], (2,), "unexpected argument"),
            (["run-skill", "list-tools", "--bogus"], (2,), "unknown option"),
            (["run-skill", "list-tools", "--json=1"], (2,), "takes no value"),
        ])

    def test_set_secret_arguments(self):
        s = ["run-skill", "set-secret"]
        self.sweep([
            (s, (2,), "expected <tool-id> and <KEY>"),
            (s + ["hmac-sign"], (2,), "expected <tool-id> and <KEY>"),
            (s + ["", ""], (2,), "invalid KEY"),
            (s + ["hmac-sign", "SIGNING_KEY", "extra"], (2,), "too many arguments"),
            (s + ["hmac-sign", "SIGNING_KEY=" + CANARY], (2,), "name alone"),
            (s + ["hmac-sign", "bad key"], (2,), "invalid KEY"),
            (s + ["hmac-sign", HUGE_ARG + "!"], (2,), "invalid KEY"),
            (s + ["hmac-sign", "SIGNING_KEY", "--bogus"], (2,), "unknown option --bogus"),
            (s + ["hmac-sign", "SIGNING_KEY", "--value=" + CANARY], (2,), "unknown option"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file"], (2,), "needs a PATH"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file="], (2,), "needs a PATH"),
            (s + ["hmac-sign", "SIGNING_KEY", "--clear", "--from-file", "x"], (2,), "--clear"),
            (s + ["nosuch", "SIGNING_KEY"], (1,), "unknown tool 'nosuch'"),
            (s + ["hmac-sign", "UNDECLARED"], (1,), "--force", b"value\n"),
            (s + ["hmac-sign", "SIGNING_KEY"], (1,), "empty value", b""),
            (s + ["hmac-sign", "SIGNING_KEY"], (1,), "looks like a .env line", b"A=b\n"),
            (s + ["hmac-sign", "SIGNING_KEY"], (1,), "longer than|too long",
             b"x" * (65 * 1024)),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file", self.f("nowhere")], (1,), "nowhere"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file", self.f("dir")], (1,), "dir"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file", self.f("empty")], (1,), "empty value"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file", self.f("fifo")], (1,), "empty value"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file", self.f("fragment")], (1,), ".env line"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file", self.f("long-value")], (1,), "longer than"),
            (s + ["hmac-sign", "SIGNING_KEY", "--from-file", self.f("loop-a")], (1,), "symbolic"),
        ])

    def test_set_secret_refusals(self):
        s = ["run-skill", "set-secret", "hmac-sign", "SIGNING_KEY"]
        self.check(s, codes=(1,), home=self.home, stdin=b"value-\x00-with-nul", must="NUL byte")
        self.check(s, codes=(1,), home=self.home, stdin=b"bad-\xff\xfe-value", must="UTF-8")

    def test_set_secret_in_a_folder_it_cannot_write(self):
        home = base_home("readonly-tool", db=False)
        for dirpath, dirnames, filenames in os.walk(home):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)
        preexec = None
        if os.geteuid() == 0:
            def preexec():
                os.setgid(65534)
                os.setuid(65534)
        value = b"a-new-value-of-some-length"
        for extra in ([], ["--clear"]):
            with self.subTest(extra=extra):
                self.check(["run-skill", "set-secret", "hmac-sign", "SIGNING_KEY"] + extra,
                           codes=(1,), home=home, stdin=value, preexec=preexec,
                           must="Permission denied")


GARBAGE_TOOL_JSON = [
    b"", b"{", b"null", b"[]", b'"x"', b"1e999", b"\xef\xbb\xbf{}", b"\x00\x00\x00",
    b"\xff\xfe{\x00}", b'{"id": 1}', b'{"id": "a", "inputs": "x"}',
    b'{"id": "a", "inputs": [1, null, "x"]}', b'{"id": "a", "inputs": [{"key": null}]}',
    b'{"id": "a", "outputs": {"x": 1}}', b'{"id": "a", "secrets": [{"key": {}}]}',
    b'{"id": "a", "max_runtime_seconds": 1e308}', b'{"id": "a", "max_runtime_seconds": -1}',
    b'{"id": "../../x"}', b'{"id": "a", "inputs": [{"key": "x", "type": "select", "options": "z"}]}',
    b'{"id": "a", "inputs": [{"key": "x", "type": "select", "options": [null, 1, {}]}]}',
    b"[" * 100000, b'{"a":' * 5000, b'{"id": "' + b"i" * (2 * 1024 * 1024) + b'"}',
    b'{"id": "dup", "id": "dup2"}', b'{"id": "x\\u0000y"}', b'{"id": "\\ud800"}',
    b'{"id": "a", "name": "' + b"\\u001b[31m" + b'"}',
    "{\"id\": \"ok-json\", \"name\": \"" + CANARY + "\", \"inputs\": 5}",
]


class HostileHomes(BadInputCase):
    def test_tool_json_garbage_is_listed_broken(self):
        home = base_home("tooljson", db=False)
        tools = os.path.join(home, "tools")
        for i, text in enumerate(GARBAGE_TOOL_JSON):
            put(os.path.join(tools, f"g{i:02d}", "tool.json"), text)
        os.mkdir(os.path.join(tools, "dir-json"))
        os.mkdir(os.path.join(tools, "dir-json", "tool.json"))
        os.mkdir(os.path.join(tools, "fifo-json"))
        os.mkfifo(os.path.join(tools, "fifo-json", "tool.json"))
        os.mkdir(os.path.join(tools, "link-json"))
        os.symlink("nowhere", os.path.join(tools, "link-json", "tool.json"))
        os.mkdir(os.path.join(tools, "no-json"))
        put(os.path.join(tools, "escapes", "tool.json"), json.dumps(
            {"id": "escapes", "name": "Evil\x1b[2Jname", "inputs": [], "outputs": []}))
        os.symlink("loop-b", os.path.join(tools, "loop-a"))
        os.symlink("loop-a", os.path.join(tools, "loop-b"))
        r = self.check(["tools", "--json"], codes=(0,), home=home)
        rows = {t["folder"]: t for t in json.loads(r.stdout)}
        broken = [f"g{i:02d}" for i in range(len(GARBAGE_TOOL_JSON))] + [
            "dir-json", "fifo-json", "link-json", "no-json", "loop-a", "loop-b"]
        for folder in broken:
            with self.subTest(folder=folder):
                self.assertIn(folder, rows)
                self.assertEqual(rows[folder]["status"], "broken")
                self.assertTrue(rows[folder]["errors"])
                for e in rows[folder]["errors"]:
                    self.assertLess(len(e), 400, e[:200])
                    self.assertNotIn("\x1b", e)
        for ok in ("hmac-sign", "word-count", "numbers", "escapes"):
            self.assertEqual(rows[ok]["status"], "ok")
        self.assertIn("larger than", rows["g22"]["errors"][0])
        r = self.check(["tools"], codes=(0,), home=home)
        self.assertNotIn(ESC, r.stdout)
        self.assertIn(b"Evil\\x1B[2Jname", r.stdout)
        self.check(["run-skill", "list-tools", "--json"], codes=(0,), home=home)
        for folder in ("g00", "g02", "g09", "g22", "g27", "fifo-json", "loop-a"):
            with self.subTest(run=folder):
                self.check(["run", rows[folder]["id"]], codes=(1,), home=home, must="broken")
        for folder in ("g00", "loop-a"):
            with self.subTest(validate=folder):
                r = self.check(["validate", rows[folder]["id"], "--json"], codes=(1,), home=home,
                               records=True)
                self.assertEqual(json.loads(r.stdout)["overall"], "fail")

    def test_tools_folder_that_is_a_file(self):
        home = new_dir("toolsfile")
        put(os.path.join(home, "tools"), "not a folder\n")
        self.check(["tools"], codes=(1,), home=home, must="tools.* is not a folder")
        self.check(["tools", "--json"], codes=(1,), home=home, must="is not a folder")
        self.check(["run", "x"], codes=(1,), home=home, must="is not a folder")
        self.check(["run-skill", "list-tools"], codes=(1,), home=home, must="is not a folder")
        os.remove(os.path.join(home, "tools"))
        os.symlink("tools", os.path.join(home, "tools"))
        self.check(["tools"], codes=(1,), home=home, must="tools.*symbolic links")

    def test_hostile_dotenv(self):
        big = (CANARY_ENV + "PAD=" + "p" * (2 * 1024 * 1024) + "\n").encode()
        variants = {
            "fifo": None, "dir": None, "symlink": None, "loop": None,
            "big": big,
            "bad-utf8": b"SIGNING_KEY=" + CANARY.encode() + b"\xff\xfe\n",
            "nul": b"SIGNING_KEY=" + CANARY.encode() + b"\x00tail\n",
            "unterminated": ('SIGNING_KEY="' + CANARY + "\nOTHER=1\n").encode(),
            "unterminated-single": ("SIGNING_KEY='" + CANARY + "\n").encode(),
            "garbage": b"\x00\x01\x02 = = export export \"'\\\n" + CANARY.encode(),
        }
        for name, data in variants.items():
            with self.subTest(env=name):
                home = base_home("dotenv-" + name, db=False)
                path = os.path.join(home, "tools", "hmac-sign", ".env")
                os.remove(path)
                if name == "fifo":
                    os.mkfifo(path)
                elif name == "dir":
                    os.mkdir(path)
                elif name == "symlink":
                    os.symlink(os.path.join(home, ".env"), path)
                elif name == "loop":
                    os.symlink(".env", path)
                else:
                    put(path, data, 0o600)
                expect = "missing required secret" if name.startswith("unterminated") else r"\.env"
                if name == "garbage":
                    expect = r"missing required secret|\.env"
                self.check(["run", "hmac-sign"], codes=(1,), home=home, must=expect, records=True)
                if expect == r"\.env":
                    self.check(["validate", "hmac-sign"], codes=(1,), home=home, records=True,
                               must=r"FAIL .*\.env")
                # --clear may repair a .env it can parse (that is its job)
                r = self.check(["run-skill", "set-secret", "hmac-sign", "SIGNING_KEY", "--clear"],
                               codes=(0, 1), home=home, writes_on_success=True)
                if r.returncode == 1 and name not in ("unterminated-single", "garbage"):
                    self.check(["run-skill", "set-secret", "hmac-sign", "SIGNING_KEY"],
                               codes=(1,), home=home, stdin=b"new-value\n", must=r"\.env")
                self.check(["tools"], codes=(0,), home=home)

    def test_hostile_database(self):
        def sqlite_file(path, sql):
            c = sqlite3.connect(path)
            c.executescript(sql)
            c.commit()
            c.close()

        cases = {
            "garbage": "not a SQLite database",
            "truncated": "integrity check|malformed|not a SQLite",
            "empty-header": "not a SQLite database|integrity|malformed",
            "directory": "not a regular file",
            "foreign": "not a Pixie database",
            "newer": "newer than this Pixie",
            "symlink-loop": "is a symbolic link",
        }
        for name, must in cases.items():
            with self.subTest(db=name):
                home = base_home("db-" + name)
                path = os.path.join(home, "pixie.db")
                with open(path, "rb") as f:
                    good = f.read()
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)
                if name == "garbage":
                    put(path, b"garbage " * 1000)
                elif name == "truncated":
                    put(path, good[:len(good) // 2 + 100])
                elif name == "empty-header":
                    put(path, good[:100] + b"\x00" * 4000)
                elif name == "directory":
                    os.mkdir(path)
                elif name == "foreign":
                    sqlite_file(path, "CREATE TABLE runs (x); INSERT INTO runs VALUES (1);")
                    mode = 0o644
                    os.chmod(path, mode)
                elif name == "newer":
                    sqlite_file(path, "PRAGMA user_version = 999; CREATE TABLE t (x);")
                    mode = 0o644
                    os.chmod(path, mode)
                elif name == "symlink-loop":
                    os.symlink("pixie.db", path)
                self.check(["logs", "word-count"], codes=(1,), home=home, must=must)
                self.check(["run", "word-count"], codes=(1,), home=home, must=must)
                self.check(["tools"], codes=(0,), home=home)
                if name in ("foreign", "newer"):  # refused untouched: no WAL, same mode
                    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), mode)
                    self.assertFalse(os.path.exists(path + "-wal"))
                    with open(path, "rb") as f:
                        self.assertEqual(f.read(20)[18:20], b"\x01\x01")

    def test_database_files_that_are_not_regular_files(self):
        """pixie.db, -wal, -shm or pixie.db.lock as a FIFO, a symbolic link (to
        a good database or dangling) or a directory: run, logs and validate
        each end at once with one line naming the file, exit 1, nothing
        spawned and nothing changed."""
        kinds = {
            "fifo": (lambda p, good: os.mkfifo(p), "is a FIFO, not a regular file"),
            "link": (lambda p, good: os.symlink(good, p), "is a symbolic link"),
            "dangling": (lambda p, good: os.symlink("nowhere", p), "is a symbolic link"),
            "directory": (lambda p, good: os.mkdir(p), "is a directory, not a regular file"),
        }
        home = base_home("db-notreg")
        path = os.path.join(home, "pixie.db")
        good = os.path.join(home, "good.db")
        shutil.copyfile(path, good)
        for suffix in ("", "-wal", "-shm", ".lock"):
            for kind, (make, must) in kinds.items():
                with self.subTest(file="pixie.db" + suffix, kind=kind):
                    target = path + suffix
                    for extra in ("", "-wal", "-shm"):
                        if os.path.lexists(path + extra):
                            os.remove(path + extra)
                    if suffix:
                        shutil.copyfile(good, path)
                    if os.path.lexists(target):
                        os.remove(target)
                    make(target, good)
                    pattern = re.escape(target) + " " + must
                    for argv in (["run", "word-count", "text=hi"], ["logs", "word-count"],
                                 ["validate", "word-count"]):
                        r = self.check(argv, codes=(1,), home=home, must=pattern, stderr_lines=1)
                        self.assertEqual(r.stdout, b"", f"{argv}: {r.stdout[:200]!r}")
                    if os.path.isdir(target) and not os.path.islink(target):
                        os.rmdir(target)
                    else:
                        os.remove(target)

    def test_skill_sql_runs_one_statement_and_masks_literals(self):
        """pixie.db.exec from a skill: a second statement is refused before
        anything runs; a canary in a string literal is stored as ***; a
        canary elsewhere in the text is refused; after the skill drops
        runs, every command refuses the altered database in one line."""
        home = base_home("db-skill")
        skill = (
            "return { api = 1, summary = 's', run = function(args)\n"
            "  local key = pixie.env.read(pixie.home() .. '/.env').SIGNING_KEY\n"
            "  local sql = args[1]:gsub('@KEY@', key)\n"
            "  local n, err = pixie.db.exec(sql)\n"
            "  if not n then error(err, 0) end\n"
            "  return 0 end }\n")
        put(os.path.join(home, "skills", "sql.lua"), skill)
        db = os.path.join(home, "pixie.db")

        def settings():
            c = sqlite3.connect(db)
            try:
                return c.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
            finally:
                c.close()

        self.check(["run-skill", "sql", "SELECT 1; DROP TABLE settings"], codes=(1,),
                   home=home, must="only one SQL statement", records=True)
        self.assertEqual(settings(), [])
        self.check(["run-skill", "sql", "INSERT INTO settings VALUES ('k', 'v'); "
                    "INSERT INTO settings VALUES ('k2', 'v2')"], codes=(1,), home=home,
                   must="nothing was run", records=True)
        self.assertEqual(settings(), [])
        literal = "INSERT INTO settings VALUES ('lit', 'x @KEY@ ''y''')"
        self.check(["run-skill", "sql", literal], codes=(0,), home=home, writes_on_success=True)
        self.assertEqual(settings(), [("lit", "x *** 'y'")])
        self.check(["run-skill", "sql", "INSERT INTO settings VALUES ('bare', 1) -- @KEY@"],
                   codes=(1,), home=home, must="bound parameter", records=True)
        self.assertEqual(settings(), [("lit", "x *** 'y'")])
        for suffix in ("", "-wal"):
            if os.path.exists(db + suffix):
                with open(db + suffix, "rb") as f:
                    self.assertNotIn(CANARY.encode(), f.read(), "canary in pixie.db" + suffix)
        self.check(["run-skill", "sql", "DROP TABLE runs"], codes=(0,), home=home,
                   writes_on_success=True)
        for argv in (["run", "word-count", "text=hi"], ["logs", "word-count"],
                     ["validate", "word-count"], ["run-skill", "sql", "SELECT 1"]):
            self.check(argv, codes=(1,), home=home, stderr_lines=1,
                       must="pixie.db was altered outside Pixie .its table runs is missing.")
        c = sqlite3.connect(db)
        self.assertEqual(c.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'runs'")
                         .fetchone()[0], 0, "never recreated over the history")
        c.close()

    def test_read_only_database(self):
        home = base_home("db-readonly")
        os.chmod(home, 0o755)
        os.chmod(os.path.join(home, "pixie.db"), 0o444)
        preexec = None
        if os.geteuid() == 0:
            def preexec():
                os.setgid(65534)
                os.setuid(65534)
        self.check(["logs", "word-count"], codes=(1,), home=home, preexec=preexec,
                   must="pixie.db")

    def test_skills_folder_that_is_a_file(self):
        home = base_home("skillsfile", db=False)
        put(os.path.join(home, "skills"), "not a folder\n")
        xdg = new_dir("xdg")
        put(os.path.join(xdg, "pixie", "skills"), "not a folder either\n")
        r = self.check(["skills"], codes=(0,), home=home, env={"XDG_CONFIG_HOME": xdg},
                       must="warning: user skills folder .* is not a folder")
        self.assertIn(b"warning: config skills folder", r.stderr)
        self.assertIn(b"list-tools", r.stdout)
        self.check(["run-skill", "mine"], codes=(1,), home=home, must="unknown skill 'mine'")

    def test_logs_folder_that_is_a_file(self):
        home = base_home("logsfile")
        shutil.rmtree(os.path.join(home, "logs"), ignore_errors=True)
        put(os.path.join(home, "logs"), "not a folder\n")
        self.check(["tools"], codes=(0,), home=home)
        self.check(["logs", "nosuch"], codes=(1,), home=home, must="unknown tool")
        self.check(["run", "numbers", "bogus=1"], codes=(1,), home=home, must="unknown input")

    def test_hostile_skills(self):
        home = base_home("skills", db=False)
        skills = os.path.join(home, "skills")
        cases = {
            "garbage": ("return {{{ ]]", "garbage.lua:\\d+: "),
            "bytecode": (b"\x1bLuaT\x00\x19\x93\r\n\x1a\n", "precompiled Lua bytecode"),
            "binary": (b"\x00\x01\x02\xff\xfe", "skill binary: "),
            "recurse-top": ("local function f() return f() + 1 end f()", "stack overflow"),
            "recurse-run": ("return { api = 1, summary = 's', run = function() "
                            "local function g() return 1 + g() end return g() end }",
                            "stack overflow"),
            "huge-table": ("local t = {} for i = 1, 2000000 do t[i] = i end "
                           "return { api = 1, summary = 's', run = function() return t end }",
                           "run returned a table"),
            "huge-return": ("local t = {} for i = 1, 200000 do t[i] = i end "
                            "return table.unpack(t)", "skill huge-return"),
            "error-table": ("return { api = 1, summary = 's', run = function() error({}) end }",
                            "raised a table"),
            "error-nil": ("return { api = 1, summary = 's', run = function() error() end }",
                          "raised nil|skill error-nil"),
            "error-tostring": ("return { api = 1, summary = 's', run = function() "
                               "error(setmetatable({}, {__tostring = function() error('inner') end})) end }",
                               "skill error-tostring"),
            "bad-exit": ("return { api = 1, summary = 's', run = function() return 1e300 end }",
                         "exit code 0-255"),
            "top-loop": ("while true do end", "ran too long"),
            "raising-index": ("return setmetatable({}, {__index = function() error('gotcha') end})",
                              "gotcha"),
            "no-api": ("return { summary = 's', run = function() end }", "api"),
            "secret-error": ("return { api = 1, summary = 's', run = function() "
                             "local v = pixie.env.read(pixie.home() .. '/tools/hmac-sign/.env', "
                             "{tools_root = pixie.home() .. '/tools'}) "
                             "error('leaking ' .. v.SIGNING_KEY) end }", "skill secret-error: .*leaking"),
            "Bad-Name": ("return {}", "invalid skill name"),
        }
        for name, (source, _) in cases.items():
            put(os.path.join(skills, name + ".lua"), source)
        os.mkdir(os.path.join(skills, "dir-no-init"))
        os.symlink("loop-b.lua", os.path.join(skills, "loop-a.lua"))
        os.symlink("loop-a.lua", os.path.join(skills, "loop-b.lua"))
        r = self.check(["skills", "--json"], codes=(0,), home=home)
        rows = {s["name"]: s for s in json.loads(r.stdout)}
        for name in ("garbage", "bytecode", "binary", "recurse-top", "top-loop",
                     "raising-index", "no-api", "Bad-Name", "huge-return"):
            with self.subTest(listed=name):
                self.assertIsNotNone(rows[name]["error"], rows[name])
                self.assertNotRegex(rows[name]["error"], INTERNAL.pattern.decode())
        self.check(["skills"], codes=(0,), home=home)
        for name, (_, must) in cases.items():
            with self.subTest(run=name):
                self.check(["run-skill", name], codes=(1,), home=home, must=must)
        self.check(["run-skill", "loop-a"], codes=(1,), home=home, must="unknown skill")

def strict_json(data, label):
    """Parses bytes as JSON the strict way: UTF-8 only, no control
    characters in strings, no NaN/Infinity. Raises ValueError."""
    def no_constant(name):
        raise ValueError(f"{label}: non-standard JSON constant {name}")
    return json.loads(data.decode("utf-8"), strict=True, parse_constant=no_constant)


BAD_BODY_TOOL = {
    "id": "badbody", "name": "Bad body", "description": "answers with bad bytes",
    "inputs": [{"key": "mode", "label": "Mode", "type": "text"}],
    "outputs": [{"key": "out", "label": "Out", "type": "text"}],
    "max_runtime_seconds": 10,
}
BAD_BODY_MAIN = r'''
import argparse, json, pathlib, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
SCHEMA = (pathlib.Path(__file__).parent / "tool.json").read_bytes()
ANSWERS = {
    "body": (500, b"boom \xff\xfe half \xc3"),
    "detail": (500, b'{"detail": "bad \xff detail"}'),
    "plain": (500, b"plain failure"),
    "ok": (200, b'{"out": "fine"}'),
    "inf": (200, b'{"out": [1, -1e999]}'),
    "bytes": (200, b'{"out": "x\xff"}'),
}
class H(BaseHTTPRequestHandler):
    def send(self, status, data):
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.send(200, b'{"ok": true}' if self.path == "/healthz" else SCHEMA)
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        sys.stderr.buffer.write(b"stderr \xff\xfe bytes\n")
        sys.stderr.flush()
        self.send(*ANSWERS.get(body["inputs"]["mode"], ANSWERS["body"]))
    def log_message(self, *a):
        pass
p = argparse.ArgumentParser()
p.add_argument("--port", type=int)
HTTPServer(("127.0.0.1", p.parse_args().port), H).serve_forever()
'''


class BadValues(BadInputCase):
    """Finding 10 of issue 8: every bad value gets a clear error or correct
    output, and every --json output parses strictly."""

    def test_bad_input_values_are_refused_clearly(self):
        home = base_home("values")
        cases = [
            (["n=1", "j=1e999"], "j: holds a number that is not finite"),
            (["n=1", "j=-1e400"], "j: holds a number that is not finite"),
            (["n=1", 'j={"a": [1, {"b": 1e999}]}'], "j: holds a number that is not finite"),
            (["n=1", "d=2024-13-45"], "d: must be a date YYYY-MM-DD"),
            (["n=1", "d=2023-02-29"], "d: must be a date YYYY-MM-DD"),
            (["n=1", "d=2024-02-30"], "d: must be a date YYYY-MM-DD"),
            (["n=1", "tm=25:99"], "tm: must be a time"),
            (["n=1", "m=[null]"], "m: null is not one of: a"),
            (["n=1", 'm=["a", true]'], "m: true is not one of: a"),
            (["n=1", b"d=\xff\xfe"], "d: the value is not valid UTF-8"),
            (["n=1", b"j=\"\xc3\""], "j: the value is not valid UTF-8"),
            (["n=1", 'j="\\ud800"'], "j: not valid JSON .*invalid unicode escape"),
        ]
        for args, must in cases:
            for json_flag in ([], ["--json"]):
                with self.subTest(args=args, json=json_flag):
                    r = self.check(["run", "numbers"] + args + json_flag, codes=(1,), home=home,
                                   must=must, stderr_lines=1)
                    self.assertNotIn(b"userdata", r.stderr)
                    self.assertEqual(r.stdout, b"")
        inputs = os.path.join(new_dir("values-inputs"), "in.json")
        put(inputs, b'{"n": 1, "d": "2024-04-31", "j": {"k": [-1e999]}}')
        self.check(["run", "numbers", "--inputs", inputs], codes=(1,), home=home,
                   must="j: holds a number that is not finite.*; d: must be a date",
                   stderr_lines=1)

    def test_root_home_paths_have_one_slash(self):
        for argv in (["tools"], ["tools", "--json"]):
            with self.subTest(argv=argv):
                r = run_pixie(["--home", "/"] + argv)
                self.assertNotIn(b"//", r.stdout + r.stderr, r.stdout[:300])

    def test_tools_json_with_a_folder_name_that_is_not_utf8(self):
        home = base_home("values-folder", db=False)
        folder = os.path.join(home.encode(), b"tools", b"bad\xff\xfename")
        os.mkdir(folder)
        with open(os.path.join(folder, b"tool.json"), "w") as f:
            f.write(json.dumps(dict(BAD_BODY_TOOL, id="badname")))
        r = self.check(["tools", "--json"], codes=(0,), home=home)
        rows = {t["folder"]: t for t in strict_json(r.stdout, "tools --json")}
        self.assertEqual(rows["bad\\xFF\\xFEname"]["status"], "broken")
        self.assertIn("not valid UTF-8", rows["bad\\xFF\\xFEname"]["errors"][0])
        r = self.check(["tools"], codes=(0,), home=home)
        r.stdout.decode("utf-8")
        self.check(["run", "bad\\xFF\\xFEname"], codes=(1,), home=home, must="broken")

    def test_error_bodies_that_are_not_utf8_are_shown_escaped(self):
        home = base_home("values-body", db=True)
        put(os.path.join(home, "tools", "badbody", "tool.json"), json.dumps(BAD_BODY_TOOL))
        put(os.path.join(home, "tools", "badbody", "main.py"), BAD_BODY_MAIN)
        put(os.path.join(home, "tools", "badbody", "pyproject.toml"),
            '[project]\nname = "badbody"\nversion = "1"\n')
        expect = {
            "body": "tool answered 500: boom \\xFF\\xFE half \\xC3",
            "detail": "tool answered 500: bad \\xFF detail",
            "plain": "tool answered 500: plain failure",
            "inf": "tool answered with outputs Pixie cannot store: a value holds a number that "
                   "is not finite",
            "bytes": "tool answered with outputs Pixie cannot store: a value is not valid UTF-8",
        }
        for mode, text in expect.items():
            with self.subTest(mode=mode):
                # stderr holds the tool's output tail too: not one-line
                r = run_pixie(["--home", home, "run", "badbody", "mode=" + mode])
                self.assertEqual(r.returncode, 1, r.stderr[:300])
                self.assertIn(text.encode(), r.stderr)
                r.stderr.decode("utf-8")
                self.assertNotIn(b"500: false", r.stderr)
                self.assertIsNone(INTERNAL.search(r.stderr))
                r = self.check(["run", "badbody", "mode=" + mode, "--json"], codes=(1,),
                               home=home, records=True)
                record = strict_json(r.stdout, "run --json")
                self.assertTrue(record["error"].startswith(text), record["error"][:200])
        r = self.check(["validate", "badbody", "--json"], codes=(1,), home=home, records=True)
        report = strict_json(r.stdout, "validate --json")
        self.assertEqual(report["overall"], "fail")
        r = self.check(["run", "badbody", "mode=ok", "--json"], codes=(0,), home=home,
                       records=True)
        self.assertEqual(strict_json(r.stdout, "run --json")["outputs"], {"out": "fine"})
        c = sqlite3.connect(os.path.join(home, "pixie.db"))
        c.text_factory = bytes
        for (error_text,) in c.execute("SELECT error_text FROM runs WHERE error_text IS NOT NULL"):
            error_text.decode("utf-8")  # every stored error is valid UTF-8
        c.close()


if __name__ == "__main__":
    unittest.main()
