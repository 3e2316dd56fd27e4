"""Talks to tests/c/dotenv_tool (the C .env engine) in bulk, and reads .env
files with python-dotenv the way a tool does, for the differential tests.

Requests and replies are netstrings; see the header of dotenv_tool.c.
"""
import io
import os
import subprocess

from dotenv import dotenv_values
from dotenv.parser import parse_stream

DOTENV_TOOL = os.environ.get("PIXIE_DOTENV_TOOL") or os.path.join(
    os.environ.get("PIXIE_BUILD_DIR", "build"), "tests", "dotenv_tool")


def ns(data):
    """One netstring of bytes or str (UTF-8, surrogateescape)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return b"%d:%s," % (len(data), data)


class Replies:
    """Sequential reader of the netstrings in a reply stream."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def raw(self):
        colon = self.data.index(b":", self.pos)
        n = int(self.data[self.pos:colon])
        start = colon + 1
        chunk = self.data[start:start + n]
        assert self.data[start + n:start + n + 1] == b",", "malformed reply"
        self.pos = start + n + 1
        return chunk

    def text(self):
        return self.raw().decode("utf-8")

    def int(self):
        return int(self.raw())

    def parse_result(self):
        """(rc, [(key, value or None)], [warning lines]) of a parse reply."""
        rc = self.int()
        if rc != 0:
            return rc, None, None
        bindings = []
        for _ in range(self.int()):
            key = self.text()
            has = self.int()
            value = self.text()
            bindings.append((key, value if has else None))
        warnings = [self.int() for _ in range(self.int())]
        return rc, bindings, warnings


def run(requests, timeout=300):
    """Sends the request bytes to one dotenv_tool process; returns Replies.
    stderr is captured and returned too (tests assert it holds no canary)."""
    proc = subprocess.run([DOTENV_TOOL], input=b"".join(requests),
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError("dotenv_tool failed (%d)" % proc.returncode)
    return Replies(proc.stdout), proc.stderr


def req(op, *args):
    return ns(op) + b"".join(ns(a) for a in args)


def interp_req(path, override, environ):
    parts = [ns("interp"), ns(path), ns("1" if override else "0"), ns(str(len(environ)))]
    for k, v in environ.items():
        parts += [ns(k), ns(v)]
    return b"".join(parts)


def python_bindings(path):
    """python-dotenv's view of a file: [(key, value)] for bindings with a
    key, and the lines of malformed bindings, counted at their first
    non-blank character. A leading BOM is stripped first (python-dotenv
    main does this; 1.2.2 would keep it in the first key)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    bindings, warnings = [], []
    for b in parse_stream(io.StringIO(text)):
        if b.error:
            s = b.original.string
            lead = len(s) - len(s.lstrip())
            warnings.append(b.original.line + s[:lead].count("\n"))
        elif b.key is not None:
            bindings.append((b.key, b.value))
    return bindings, warnings


def python_values(path, interpolate=False):
    """dotenv_values(path) as a tool would call it."""
    return dict(dotenv_values(path, interpolate=interpolate))
