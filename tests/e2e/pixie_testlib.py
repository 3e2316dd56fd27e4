"""Shared helpers for the end-to-end tests: run the built binary, make homes.

Environment (set by ctest): PIXIE_BIN, PIXIE_SOURCE_DIR, PIXIE_BUILD_DIR,
PIXIE_TEST_TMP.
"""
import os
import pty
import shutil
import stat
import subprocess
import tempfile

PIXIE_BIN = os.environ.get("PIXIE_BIN") or "pixie"
SOURCE_DIR = os.environ.get("PIXIE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TMP_BASE = os.environ.get("PIXIE_TEST_TMP") or tempfile.gettempdir()
EXAMPLES = os.path.join(SOURCE_DIR, "examples")


def make_home(name="home", with_examples=False):
    """A fresh, empty Pixie home (tools/ inside) under the test tmp folder."""
    os.makedirs(TMP_BASE, exist_ok=True)
    home = tempfile.mkdtemp(prefix=f"e2e-{name}-", dir=TMP_BASE)
    os.makedirs(os.path.join(home, "tools"))
    if with_examples:
        for tool in os.listdir(os.path.join(EXAMPLES, "tools")):
            shutil.copytree(os.path.join(EXAMPLES, "tools", tool), os.path.join(home, "tools", tool))
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
    full_env = dict(os.environ)
    full_env.pop("PIXIE_HOME", None)
    full_env["XDG_CONFIG_HOME"] = os.path.join(TMP_BASE, "no-xdg-config")
    if env:
        full_env.update(env)
    return subprocess.run(argv, input=input, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


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
    env = dict(os.environ)
    env.pop("PIXIE_HOME", None)
    env["XDG_CONFIG_HOME"] = os.path.join(TMP_BASE, "no-xdg-config")
    proc = subprocess.Popen([PIXIE_BIN, "--home", home] + list(args), env=env,
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
