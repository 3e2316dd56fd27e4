"""Shared helpers for the end-to-end tests: run the built binary, make homes,
run `pixie serve` and speak HTTP to it.

Environment (set by ctest): PIXIE_BIN, PIXIE_SOURCE_DIR, PIXIE_BUILD_DIR,
PIXIE_TEST_TMP.
"""
import http.client
import json
import os
import pty
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading

PIXIE_BIN = os.environ.get("PIXIE_BIN") or "pixie"
SOURCE_DIR = os.environ.get("PIXIE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TMP_BASE = os.environ.get("PIXIE_TEST_TMP") or tempfile.gettempdir()
EXAMPLES = os.path.join(SOURCE_DIR, "examples")
FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "tools")
GUARD_S = 120  # a socket read or a wait this long means the server hung
URL_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/")
TOKEN_META = re.compile(r'<meta name="pixie-token" content="([0-9a-f]{64})">')
SECURITY_HEADERS = {
    "content-security-policy":
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


def clean_env(extra=None):
    """os.environ without PIXIE_HOME and with an empty XDG config folder, so
    nothing of the machine's own Pixie set-up reaches a test; extra on top."""
    env = dict(os.environ)
    env.pop("PIXIE_HOME", None)
    env["XDG_CONFIG_HOME"] = os.path.join(TMP_BASE, "no-xdg-config")
    env.update(extra or {})
    return env


def make_home(name="home", with_examples=False):
    """A fresh, empty Pixie home (tools/ inside) under the test tmp folder."""
    os.makedirs(TMP_BASE, exist_ok=True)
    home = tempfile.mkdtemp(prefix=f"e2e-{name}-", dir=TMP_BASE)
    os.makedirs(os.path.join(home, "tools"))
    if with_examples:
        for tool in os.listdir(os.path.join(EXAMPLES, "tools")):
            shutil.copytree(os.path.join(EXAMPLES, "tools", tool), os.path.join(home, "tools", tool))
    return home


def add_fixture(home, fixture, tool_id=None, **spec):
    """Copies tests/fixtures/tools/<fixture> into home's tools/ as tool_id
    (default: the fixture's name; another id is written into its tool.json);
    spec: fields of its tool.json to replace."""
    dest = os.path.join(home, "tools", tool_id or fixture)
    shutil.copytree(os.path.join(FIXTURES, fixture), dest)
    if tool_id and tool_id != fixture:
        spec["id"] = tool_id
    if spec:
        path = os.path.join(dest, "tool.json")
        with open(path) as f:
            data = json.load(f)
        data.update(spec)
        write(path, json.dumps(data))
    return dest


def fixture_home(name, tools=()):
    """make_home(name) holding the named fixture tools and the fixturelib.py
    they import."""
    home = make_home(name)
    for tool in tools:
        add_fixture(home, tool)
    shutil.copy(os.path.join(FIXTURES, "fixturelib.py"), os.path.join(home, "tools"))
    return home


def write(path, text, mode=None):
    """Writes text (str or bytes) to path, creating folders."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    if mode is not None:
        os.chmod(path, mode)


def pixie(*args, home=None, input=None, env=None, timeout=60):
    """Runs the pixie binary; returns CompletedProcess with text stdout/stderr."""
    argv = [PIXIE_BIN]
    if home is not None:
        argv += ["--home", home]
    argv += list(args)
    return subprocess.run(argv, input=input, capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout)


def tree(root):
    """{relpath: (kind, mode, bytes)} of everything under root, symlinks not
    followed: the whole state of a folder, for before/after comparisons."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), None)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), f.read())
            else:
                out[rel] = ("other", st.st_mode, None)
    return out


def processes_inside(home):
    """Pids of live processes whose working directory is inside home."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cwd.startswith(home) and state != "Z":
            found.append(int(pid))
    return found


def run_on_pty(home, *args):
    """Runs pixie with stdout and stderr on one pty (stdin closed) until it
    exits; returns (exit status, the bytes the terminal saw)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([PIXIE_BIN, "--home", home] + list(args), env=clean_env(),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.wait(timeout=60), seen


def parse_response(raw):
    """(status, [(lower-case name, value)...] in order, body bytes) of a raw
    HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return status, headers, body


class Response:
    """A raw HTTP response: status, headers (every one, in order), body."""

    def __init__(self, raw):
        self.status, self.headers, self.body = parse_response(raw)

    def get(self, name):
        """The first value of the header called name (lower case), or None."""
        values = [v for n, v in self.headers if n == name]
        return values[0] if values else None


def raw_exchange(port, head, body=b"", timeout=60):
    """Sends head then body (bytes) on a fresh connection to 127.0.0.1:port
    and returns every byte answered, read to EOF. The server may answer and
    close before reading all it was sent: a broken pipe or a reset ends the
    sending, or the reading, quietly."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(head)
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered before the request was read
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


class ServeProcess:
    """`pixie --home HOME serve --port 0 ARGS...` with clean_env(env).

    The URL is read from stdout (the lines up to and including it are kept
    in stdout_head), the rest of stdout is drained on a thread, stderr goes
    to HOME.serve-stderr (stderr()), and the page's token is read from GET /.
    request() and events() record every body they read in `bodies`, for the
    canary checks."""

    def __init__(self, home, args=(), env=None):
        self.home = home
        self.err_path = home + ".serve-stderr"
        self.err = open(self.err_path, "wb")
        self.bodies = []
        self.port = self.url = self.token = None
        self.stdout_head = []
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        argv = [shutil.which(PIXIE_BIN) or PIXIE_BIN, "--home", home, "serve", "--port", "0", *args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err, env=clean_env(env))
        try:
            for raw in self.proc.stdout:
                self.stdout_head.append(raw.decode(errors="replace").strip())
                found = URL_LINE.search(self.stdout_head[-1])
                if found:
                    self.port, self.url = int(found.group(1)), found.group(0)
                    break
            if self.port is None:
                raise AssertionError(f"pixie serve printed no URL (stdout {self.stdout_head!r}); "
                                     "stderr: " + self.stderr())
            self._drainer.start()  # so that the server never blocks on stdout
            status, _, page = self.request("GET", "/")
            assert status == 200, (status, page[:300])
            found = TOKEN_META.search(page.decode(errors="replace"))
            assert found, "GET / has no pixie-token meta tag"
            self.token = found.group(1)
        except BaseException:
            self.stop(signal.SIGKILL)
            if not self._drainer.is_alive():
                self.proc.stdout.close()
            raise

    def _drain(self):
        self.proc.stdout.read()
        self.proc.stdout.close()

    def stderr(self):
        """All the server wrote to stderr so far."""
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        """Sends sig (if the server still runs) and waits for the exit;
        returns the exit status, or None when the server had to be killed
        after GUARD_S seconds. Calling it again returns the same status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=GUARD_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.err.close()

    def fd_count(self):
        """How many file descriptors the server has open."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=GUARD_S)

    def post_headers(self):
        """The headers that get a state-changing request past the guard."""
        return {"Origin": f"http://127.0.0.1:{self.port}", "X-Pixie-Token": self.token,
                "Content-Type": "application/json"}

    def request(self, method, path, body=None, headers=None, state_changing=None):
        """One request on its own connection; returns (status, headers dict
        with lower-case names, body bytes). A dict or list body is sent as
        JSON. state_changing (default: POST, PUT, PATCH or DELETE) adds
        post_headers(); headers are added last."""
        if state_changing is None:
            state_changing = method in ("POST", "PUT", "PATCH", "DELETE")
        hdrs = self.post_headers() if state_changing else {}
        hdrs.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            self.bodies.append(data)
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def get_json(self, path):
        """GET path, which must answer 200; its JSON body."""
        status, _, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def events(self, path, on_update=None):
        """Reads an SSE answer to its end (or to its `final` event):
        [(event, data)...]; on_update(data) is called at each `update`."""
        conn = self.connect()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            assert resp.status == 200, (resp.status, resp.read())
            assert resp.getheader("Content-Type").startswith("text/event-stream")
            out, event, data = [], None, []
            while True:
                line = resp.readline()
                if not line:
                    break
                self.bodies.append(line)
                line = line.decode().rstrip("\r\n")
                if line == "":
                    if event is not None or data:
                        out.append((event or "message", "\n".join(data)))
                        if on_update and event == "update":
                            on_update(out[-1][1])
                        if event == "final":
                            break
                    event, data = None, []
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
            return out
        finally:
            conn.close()
