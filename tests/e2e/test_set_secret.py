"""The set-secret skill through the binary (SPEC §6.2, §3.2-§3.4): hidden
input on a real pseudo-terminal (the value never shows, the terminal gets
its echo back on Ctrl-C and SIGTERM), stdin and --from-file input with the
exact newline rule and the 64 KiB cap, every refusal, --clear, and the
exact success line. Files are judged with python-dotenv itself."""
import fcntl
import json
import os
import shutil
import select
import signal
import stat
import subprocess
import sys
import termios
import time
import unittest

from dotenv import dotenv_values

from pixie_testlib import PIXIE_BIN, TMP_BASE, make_home, pixie, write

TOOL = "hmac-sign"
KEY = "SIGNING_KEY"
CANARY = "CANARY-set-secret-SECRET-5b1e"
PROMPT = b"Value for SIGNING_KEY (input hidden): "
SUCCESS = "Secret SIGNING_KEY set for tool hmac-sign.\n"
LIMIT = 64 * 1024


def env_path(home, tool=TOOL):
    return os.path.join(home, "tools", tool, ".env")


def env_values(home, tool=TOOL):
    """The tool's .env as python-dotenv reads it ({} when absent)."""
    path = env_path(home, tool)
    return dotenv_values(path) if os.path.exists(path) else {}


def set_secret(home, *args, input=None):
    """Runs set-secret with bytes on stdin (a pipe); text results."""
    argv = [PIXIE_BIN, "--home", home, "run-skill", "set-secret", *args]
    env = dict(os.environ)
    env.pop("PIXIE_HOME", None)
    env["XDG_CONFIG_HOME"] = os.path.join(TMP_BASE, "no-xdg-config")
    r = subprocess.run(argv, input=input if input is not None else b"", capture_output=True,
                       env=env, timeout=60)
    r.stdout = r.stdout.decode("utf-8", "replace")
    r.stderr = r.stderr.decode("utf-8", "replace")
    return r


# A tiny "shell" for job control: it takes the pty as its controlling
# terminal, runs argv as a foreground job in its own process group (so a
# Ctrl-Z really stops it: stops of orphaned groups are discarded), writes
# the job's pid and then "S" for each stop to fd REPORT_FD, and exits with
# the job's code (128 + N when signal N ended it).
JOB_SHELL = r"""
import os, signal, sys
report = int(os.environ.pop("REPORT_FD"))
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTTOU])
    os.tcsetpgrp(0, os.getpgrp())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTTOU])
    os.execv(sys.argv[1], sys.argv[1:])
try:
    os.setpgid(pid, pid)
except OSError:
    pass
os.write(report, b"%d\n" % pid)
while True:
    _, st = os.waitpid(pid, os.WUNTRACED)
    if os.WIFSTOPPED(st):
        os.write(report, b"S")
        continue
    code = os.waitstatus_to_exitcode(st)
    os._exit(code if code >= 0 else 128 - code)
"""


class PtyRun:
    """pixie run-skill set-secret ... on a fresh pseudo-terminal that is the
    process's controlling terminal (stdin, stdout and stderr all on it).
    With job_control, JOB_SHELL sits in between (self.job_pid, self.report)."""

    def __init__(self, home, *args, job_control=False):
        self.master, self.slave = os.openpty()
        env = dict(os.environ)
        env.pop("PIXIE_HOME", None)
        env["XDG_CONFIG_HOME"] = os.path.join(TMP_BASE, "no-xdg-config")
        env["TERM"] = "dumb"
        argv = [PIXIE_BIN, "--home", home, "run-skill", "set-secret", *args]
        pass_fds = ()
        if job_control:
            self.report, report_w = os.pipe()
            env["REPORT_FD"] = str(report_w)
            argv = [sys.executable, "-c", JOB_SHELL, *argv]
            pass_fds = (report_w,)

        def controlling_tty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            argv, stdin=self.slave, stdout=self.slave, stderr=self.slave, env=env,
            preexec_fn=controlling_tty, close_fds=True, pass_fds=pass_fds)
        self.out = b""
        if job_control:
            os.close(report_w)
            line = b""
            while not line.endswith(b"\n"):
                chunk = os.read(self.report, 1)
                if not chunk:
                    raise AssertionError("the job shell did not start the job")
                line += chunk
            self.job_pid = int(line)

    def next_report(self, timeout=30):
        """The job shell's next report byte ("S": the job stopped)."""
        r, _, _ = select.select([self.report], [], [], timeout)
        return os.read(self.report, 1) if r else b""

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        self.out += data
        return bool(data)

    def expect(self, text, count=1, timeout=30):
        """Reads until text has appeared count times; fails the test if not."""
        deadline = time.monotonic() + timeout
        while self.out.count(text) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                break
        if self.out.count(text) < count:
            raise AssertionError(f"{text!r} did not appear; output so far: {self.out!r}")

    def send(self, data):
        os.write(self.master, data)

    def echo_on(self):
        return bool(termios.tcgetattr(self.slave)[3] & termios.ECHO)

    def finish(self, timeout=60):
        """Waits for the process, drains the output, returns the exit code
        (negative: killed by that signal)."""
        code = self.proc.wait(timeout=timeout)
        while self._read(0.2):
            pass
        return code

    def close(self):
        for fd in (self.master, self.slave, getattr(self, "report", -1)):
            try:
                os.close(fd)
            except OSError:
                pass


class TerminalInput(unittest.TestCase):
    def setUp(self):
        self.home = make_home("set-secret-tty", with_examples=True)

    def run_pty(self, *args):
        run = PtyRun(self.home, *args)
        self.addCleanup(run.close)
        self.addCleanup(lambda: run.proc.poll() is None and run.proc.kill())
        return run

    def test_prompt_hides_the_typed_value(self):
        run = self.run_pty(TOOL, KEY)
        run.expect(PROMPT)
        self.assertFalse(run.echo_on(), "echo must be off while the prompt waits")
        run.send(CANARY.encode() + b"\r")
        self.assertEqual(run.finish(), 0, run.out)
        self.assertIn(SUCCESS.encode(), run.out.replace(b"\r\n", b"\n"))
        self.assertNotIn(CANARY.encode(), run.out)
        self.assertTrue(run.echo_on())
        self.assertEqual(env_values(self.home), {KEY: CANARY})
        self.assertEqual(stat.S_IMODE(os.stat(env_path(self.home)).st_mode), 0o600)

    def check_interrupted(self, interrupt, expected_signal):
        write(env_path(self.home), 'SIGNING_KEY="old-value-kept"\n', mode=0o600)
        run = self.run_pty(TOOL, KEY)
        run.expect(PROMPT)
        self.assertFalse(run.echo_on())
        run.send(b"CANARY-half-typed")
        interrupt(run)
        code = run.finish()
        self.assertEqual(code, -expected_signal, run.out)
        self.assertTrue(run.echo_on(), "the terminal must get its echo back")
        self.assertNotIn(b"CANARY", run.out)
        self.assertEqual(env_values(self.home), {KEY: "old-value-kept"})

    def test_ctrl_c_restores_echo_and_writes_nothing(self):
        self.check_interrupted(lambda run: run.send(b"\x03"), signal.SIGINT)

    def test_sigterm_restores_echo_and_writes_nothing(self):
        self.check_interrupted(lambda run: run.proc.send_signal(signal.SIGTERM), signal.SIGTERM)

    def test_sighup_restores_echo_and_writes_nothing(self):
        self.check_interrupted(lambda run: run.proc.send_signal(signal.SIGHUP), signal.SIGHUP)

    def test_ctrl_z_restores_echo_and_fg_prompts_again(self):
        run = PtyRun(self.home, TOOL, KEY, job_control=True)
        self.addCleanup(run.close)
        self.addCleanup(lambda: run.proc.poll() is None and run.proc.kill())
        run.expect(PROMPT)
        self.assertFalse(run.echo_on())
        run.send(b"CANARY-typed-before-ctrl-z")
        run.send(b"\x1a")
        self.assertEqual(run.next_report(), b"S", run.out)
        self.assertTrue(run.echo_on(), "a stopped job must leave echo on")
        os.killpg(run.job_pid, signal.SIGCONT)
        run.expect(PROMPT, count=2)
        self.assertFalse(run.echo_on(), "echo goes off again when the job continues")
        run.send(CANARY.encode() + b"\r")
        self.assertEqual(run.finish(), 0, run.out)
        self.assertNotIn(b"CANARY", run.out)
        self.assertTrue(run.echo_on())
        self.assertEqual(env_values(self.home), {KEY: CANARY})

    def test_terminal_line_limit_is_refused_not_cut(self):
        # the tty keeps at most 4095 bytes of a line and drops the rest, so a
        # line that long may have been cut: refused, nothing written
        run = self.run_pty(TOOL, KEY)
        run.expect(PROMPT)
        run.send(b"C" * 5000 + b"\r")
        self.assertEqual(run.finish(), 1, run.out)
        self.assertIn(b"too long for terminal input", run.out)
        self.assertNotIn(b"CCCC", run.out)
        self.assertTrue(run.echo_on())
        self.assertEqual(env_values(self.home), {})

    def test_undeclared_key_asks_and_no_writes_nothing(self):
        run = self.run_pty(TOOL, "EXTRA_KEY")
        run.expect(b"[y/N] ")
        run.send(b"n\r")
        self.assertEqual(run.finish(), 1, run.out)
        self.assertIn(b"Nothing was written.", run.out)
        self.assertEqual(env_values(self.home), {})

    def test_undeclared_key_asks_and_yes_sets_it(self):
        run = self.run_pty(TOOL, "EXTRA_KEY")
        run.expect(b"[y/N] ")
        run.send(b"y\r")
        run.expect(b"Value for EXTRA_KEY (input hidden): ")
        run.send(CANARY.encode() + b"\r")
        self.assertEqual(run.finish(), 0, run.out)
        self.assertIn(b"Secret EXTRA_KEY set for tool hmac-sign.", run.out)
        self.assertNotIn(CANARY.encode(), run.out)
        self.assertEqual(env_values(self.home), {"EXTRA_KEY": CANARY})


class PipedInput(unittest.TestCase):
    def setUp(self):
        self.home = make_home("set-secret", with_examples=True)

    def assert_clean(self, r, secret=CANARY):
        self.assertNotIn(secret, r.stdout)
        self.assertNotIn(secret, r.stderr)

    def test_value_lands_in_env_0600_and_is_never_printed(self):
        r = set_secret(self.home, TOOL, KEY, input=(CANARY + "\n").encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, SUCCESS)
        self.assert_clean(r)
        self.assertNotIn(str(len(CANARY)), r.stdout + r.stderr)
        self.assertEqual(env_values(self.home), {KEY: CANARY})
        self.assertEqual(stat.S_IMODE(os.stat(env_path(self.home)).st_mode), 0o600)

    def test_exactly_one_trailing_newline_is_stripped(self):
        cases = [
            (CANARY + "\n", CANARY),
            (CANARY + "\r\n", CANARY),
            (CANARY, CANARY),
            (CANARY + "\n\n", CANARY + "\n"),
            (CANARY + "\r\n\r\n", CANARY + "\r\n"),
            ("-----BEGIN KEY-----\nCANARY-pem\n-----END KEY-----\n\n",
             "-----BEGIN KEY-----\nCANARY-pem\n-----END KEY-----\n"),
        ]
        for given, stored in cases:
            with self.subTest(given=given):
                r = set_secret(self.home, TOOL, KEY, input=given.encode())
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(env_values(self.home), {KEY: stored})

    def test_64_kib_is_accepted_and_one_byte_more_refused(self):
        r = set_secret(self.home, TOOL, KEY, input=b"a" * LIMIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env_values(self.home), {KEY: "a" * LIMIT})
        r = set_secret(self.home, TOOL, KEY, input=b"b" * (LIMIT + 1))
        self.assertEqual(r.returncode, 1)
        self.assertIn("longer than 65536 bytes", r.stderr)
        self.assertEqual(env_values(self.home), {KEY: "a" * LIMIT}, "nothing written")

    def test_empty_value_refused(self):
        for given in (b"", b"\n", b"\r\n"):
            with self.subTest(given=given):
                r = set_secret(self.home, TOOL, KEY, input=given)
                self.assertEqual(r.returncode, 1)
                self.assertIn("empty value refused", r.stderr)
                self.assertFalse(os.path.exists(env_path(self.home)))

    def test_env_fragment_refused(self):
        r = set_secret(self.home, TOOL, KEY, input=b"SIGNING_KEY=CANARY-frag\nOTHER=CANARY-two\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn(".env line", r.stderr)
        self.assert_clean(r, "CANARY-frag")
        self.assertFalse(os.path.exists(env_path(self.home)))
        # lower-case or a leading space is a value, not a fragment
        r = set_secret(self.home, TOOL, KEY, input=b"abc=CANARY-def")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env_values(self.home), {KEY: "abc=CANARY-def"})

    def test_nul_or_invalid_utf8_refused(self):
        for given in (b"CANARY-nul\x00tail", b"CANARY-bad\xff"):
            with self.subTest(given=given):
                r = set_secret(self.home, TOOL, KEY, input=given)
                self.assertEqual(r.returncode, 1)
                self.assertIn("refused", r.stderr)
                self.assertNotIn(f"{len(given)} bytes", r.stderr, "set-secret never tells the length")
                self.assert_clean(r, "CANARY-")
                self.assertFalse(os.path.exists(env_path(self.home)))

    def test_interpolation_is_warned_about_and_written_literally(self):
        r = set_secret(self.home, TOOL, KEY, input=b"CANARY-${HOME}-x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, SUCCESS)
        self.assertIn("expands it", r.stderr)
        self.assertNotIn("CANARY-", r.stderr)
        self.assertEqual(dotenv_values(env_path(self.home), interpolate=False), {KEY: "CANARY-${HOME}-x"})

    def test_undeclared_key_needs_force_without_terminal(self):
        r = set_secret(self.home, TOOL, "EXTRA_KEY", input=CANARY.encode())
        self.assertEqual(r.returncode, 1)
        self.assertIn("--force", r.stderr)
        self.assertFalse(os.path.exists(env_path(self.home)))
        r = set_secret(self.home, TOOL, "EXTRA_KEY", "--force", input=CANARY.encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Secret EXTRA_KEY set for tool hmac-sign.\n")
        self.assertIn("not declared", r.stderr)
        self.assert_clean(r)
        self.assertEqual(env_values(self.home), {"EXTRA_KEY": CANARY})

    def test_value_on_argv_is_refused_and_not_repeated(self):
        for args in ([TOOL, KEY, CANARY], [TOOL, f"{KEY}={CANARY}"], [TOOL, KEY, f"--value={CANARY}"]):
            with self.subTest(args=args):
                r = set_secret(self.home, *args, input=b"CANARY-stdin-unused")
                self.assertEqual(r.returncode, 2)
                self.assertIn("never taken from the command line", r.stderr)
                self.assert_clean(r)
                self.assertFalse(os.path.exists(env_path(self.home)))

    def test_a_home_path_a_pattern_would_trip_on(self):
        # a parent folder named "tools" and '%', '-', '.' in the home's path:
        # the tools root is the home's tools folder, whatever the path holds
        parent = make_home("set-secret-odd")
        home = os.path.join(parent, "tools", "a%b-c.d", "tools.x")
        shutil.copytree(self.home, home)
        r = set_secret(home, TOOL, KEY, input=CANARY.encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, SUCCESS)
        self.assertEqual(env_values(home), {KEY: CANARY})
        r = set_secret(home, TOOL, KEY, "--clear")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(env_values(home), {})

    def test_a_tool_folder_linked_from_outside_the_tools_folder_is_refused(self):
        outside = make_home("set-secret-outside")
        shutil.copytree(os.path.join(self.home, "tools", TOOL), os.path.join(outside, TOOL))
        os.symlink(os.path.join(outside, TOOL), os.path.join(self.home, "tools", "linked"))
        with open(os.path.join(outside, TOOL, "tool.json")) as f:
            spec = json.load(f)
        spec["id"] = "linked"
        write(os.path.join(outside, TOOL, "tool.json"), json.dumps(spec))
        r = set_secret(self.home, "linked", KEY, input=CANARY.encode())
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("outside the tools folder", r.stderr)
        self.assert_clean(r)
        self.assertFalse(os.path.exists(os.path.join(outside, TOOL, ".env")))

    def test_from_file(self):
        src = os.path.join(self.home, "value.txt")
        write(src, CANARY + "\n\n")
        r = set_secret(self.home, TOOL, KEY, "--from-file", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, SUCCESS)
        self.assert_clean(r)
        self.assertEqual(env_values(self.home), {KEY: CANARY + "\n"})
        write(src, "c" * (LIMIT + 1))
        r = set_secret(self.home, TOOL, KEY, f"--from-file={src}")
        self.assertEqual(r.returncode, 1)
        self.assertIn("longer than 65536 bytes", r.stderr)
        self.assertEqual(env_values(self.home), {KEY: CANARY + "\n"})
        r = set_secret(self.home, TOOL, KEY, "--from-file", src + ".missing")
        self.assertEqual(r.returncode, 1)
        self.assertIn("value.txt.missing", r.stderr)

    def test_clear_removes_only_that_key(self):
        write(env_path(self.home), "# keep me\nOTHER='x y'\nSIGNING_KEY=CANARY-old\n", mode=0o600)
        r = set_secret(self.home, TOOL, KEY, "--clear")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Secret SIGNING_KEY cleared for tool hmac-sign.\n")
        with open(env_path(self.home)) as f:
            self.assertEqual(f.read(), "# keep me\nOTHER='x y'\n")
        r = set_secret(self.home, TOOL, KEY, "--clear")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("was not set", r.stdout)

    def test_clear_without_env_file_is_not_an_error(self):
        r = set_secret(self.home, TOOL, KEY, "--clear")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("was not set", r.stdout)
        self.assertFalse(os.path.exists(env_path(self.home)))

    def test_unknown_tool(self):
        r = set_secret(self.home, "no-such-tool", KEY, input=CANARY.encode())
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown tool 'no-such-tool'", r.stderr)
        self.assert_clean(r)

    def test_broken_tool_names_its_first_error(self):
        write(os.path.join(self.home, "tools", "broken", "tool.json"), '{"id": "broken", "name": 5}')
        r = set_secret(self.home, "broken", KEY, input=CANARY.encode())
        self.assertEqual(r.returncode, 1)
        self.assertIn("tool 'broken' is broken", r.stderr)
        self.assertIn("name", r.stderr)
        self.assertFalse(os.path.exists(env_path(self.home, "broken")))

    def test_invalid_key_name(self):
        for key in ("1ABC", "A-B", "A B"):
            with self.subTest(key=key):
                r = set_secret(self.home, TOOL, key, input=CANARY.encode())
                self.assertEqual(r.returncode, 2)
                self.assertIn("invalid KEY name", r.stderr)
        self.assertFalse(os.path.exists(env_path(self.home)))

    def test_help_lists_the_options(self):
        r = pixie("run-skill", "set-secret", "--help", home=self.home)
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ("--from-file", "--clear", "--force", "never taken from the command line"):
            self.assertIn(word, r.stdout)


if __name__ == "__main__":
    unittest.main()
