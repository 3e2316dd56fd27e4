"""Differential tests: Pixie's .env engine (C, via tests/c/dotenv_tool)
against python-dotenv 1.2.x itself (the python3 first on PATH).

* 12,000 generated values written by Pixie (dotenv_set) are read back
  identically by dotenv_values(interpolate=False) and by Pixie's parser.
* Every fixture in tests/fixtures/dotenv/*.env parses identically: keys in
  order, values including None, and which bindings are dropped (warning
  lines).
* Interpolation (override on and off, with a supplied environment) matches
  python-dotenv's resolve_variables.

Failure messages name cases by index and length, never by value.
"""
import glob
import hashlib
import importlib.metadata
import os
import random
import re
import tempfile
import unittest
from unittest import mock

import dotenv.main

import dotenv_driver as d
from pixie_testlib import SOURCE_DIR, TMP_BASE

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "dotenv")
SHOW = os.environ.get("PIXIE_TEST_SHOW_VALUES") == "1"
VALUE = "v'\"#\n${X}"  # set into every fixture

PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
       "k3+/=\n-----END PRIVATE KEY-----\n")
PIECES = ['"', "'", "\\", "\\\\", "\r", "\n", "\r\n", "\t", " ", "  ", "#", " #", "# ",
          "=", "$", "${", "}", "${X}", "${X:-y}", "a", "b", "Z", "0", "é", "中文", "😀",
          "\u2028", "\u00a0", "\u0085", "\u3000", "\x01", "\x07", "\x08", "\x0b", "\x0c",
          "\x1b", "\x1c", "\x1f", "\x7f", "\\n", "\\'", '\\"', "export ", "\\r", "`", "%"]


def label(i, value):
    """How a failing case is named: index, length and a short digest."""
    if SHOW:
        return "case %d: %r" % (i, value)
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
    return "case %d (%d chars, sha256 %s)" % (i, len(value), digest)


def unwritable(value):
    """Values Pixie must refuse (-EDOM): ending in a backslash, so they
    cannot be quoted (python-dotenv reads the final \\" as an escaped
    quote), and not representable unquoted either."""
    return value.endswith("\\") and (
        "\n" in value or "\r" in value or value[0] in "'\"" or value[0].isspace()
        or value[-1].isspace() or re.search(r"\s#", value) is not None)


def generate_values(n, seed=20261128):
    rng = random.Random(seed)
    values = ["", " ", "\\", '"', "'", "\n", "\r", "\r\n", PEM, PEM.replace("\n", "\r\n"),
              "a\\", "\\a", " #x", "#x", "x #", "=", "==", "${HOME}", "\u2028", "\x85"]
    while len(values) < n:
        k = rng.randint(1, 12)
        v = "".join(rng.choice(PIECES) for _ in range(k))
        if rng.random() < 0.1:
            v = " " + v + " "
        if rng.random() < 0.05:
            v += PEM
        if rng.random() < 0.05:
            v = "".join(chr(rng.choice([rng.randint(1, 0x7f), rng.randint(0x80, 0xd7ff),
                                        rng.randint(0xe000, 0x10ffff)])) for _ in range(rng.randint(1, 30)))
        values.append(v)
    return values


class TestDotenvDifferential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_BASE, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="dotenv-diff-", dir=TMP_BASE)

    def test_reference_is_python_dotenv_1_2(self):
        self.assertTrue(importlib.metadata.version("python-dotenv").startswith("1.2."))

    def test_generated_values_round_trip(self):
        values = generate_values(12000)
        per_file = 100
        files, reqs = [], []
        for start in range(0, len(values), per_file):
            path = os.path.join(self.tmp, "gen-%05d.env" % start)
            with open(path, "wb") as f:  # some files start with other content
                f.write(b"# header\nOTHER='keep me'\n" if start % 300 == 0 else b"")
            files.append((path, start))
            for i in range(start, min(start + per_file, len(values))):
                reqs.append(d.req("memset", path, "K%d" % i, values[i]))
            reqs.append(d.req("flush", path))
            reqs.append(d.req("parse", path))
        replies, stderr = d.run(reqs)
        checked = refused = 0
        for path, start in files:
            end = min(start + per_file, len(values))
            for i in range(start, end):
                rc, expands = replies.int(), replies.int()
                if unwritable(values[i]):
                    self.assertEqual(rc, -33, label(i, values[i]))  # -EDOM
                    refused += 1
                    continue
                self.assertEqual(rc, 0, label(i, values[i]))
                self.assertEqual(expands, int("${" in values[i]), label(i, values[i]))
            self.assertEqual(replies.int(), 0)
            rc, bindings, warnings = replies.parse_result()
            self.assertEqual(rc, 0)
            self.assertEqual(warnings, [])
            ours = dict(bindings)
            theirs = d.python_values(path, interpolate=False)
            for i in range(start, end):
                if unwritable(values[i]):
                    self.assertNotIn("K%d" % i, ours)
                    continue
                key = "K%d" % i
                self.assertTrue(theirs.get(key) == values[i], "python-dotenv: " + label(i, values[i]))
                self.assertTrue(ours.get(key) == values[i], "pixie: " + label(i, values[i]))
                checked += 1
            if start % 300 == 0:
                self.assertEqual(theirs["OTHER"], "keep me")
                with open(path, "rb") as f:
                    self.assertTrue(f.read().startswith(b"# header\nOTHER='keep me'\n"))
        self.assertGreaterEqual(checked, 10000)
        self.assertGreater(refused, 0)
        self.assertLess(refused, len(values) // 50)
        self.assertEqual(stderr, b"")

    def test_quoted_trailing_backslash_breaks_python_dotenv(self):
        """Why values ending in a backslash are written unquoted: the quoted
        form swallows the following bindings in python-dotenv."""
        path = os.path.join(self.tmp, "trailing-backslash.env")
        with open(path, "w") as f:
            f.write('A="a\\\\"\nB="b"\n')
        self.assertEqual(d.python_values(path), {})
        path = os.path.join(self.tmp, "trailing-backslash-pixie.env")
        replies, _ = d.run([d.req("memset", path, "A", "a\\"), d.req("memset", path, "B", "x\\y\\"),
                            d.req("memset", path, "C", "c"), d.req("flush", path)])
        self.assertEqual([replies.int() for _ in range(7)], [0, 0, 0, 0, 0, 0, 0])
        self.assertEqual(d.python_values(path), {"A": "a\\", "B": "x\\y\\", "C": "c"})

    def test_quote_refuses_nul_and_invalid_utf8(self):
        bad = ["CANARY-NUL-\x00-SECRET", "CANARY-\udcff-SECRET", "\udcc3", "\udced\udca0\udc80"]
        replies, _ = d.run([d.req("quote", v) for v in bad]
                           + [d.req("memset", os.path.join(self.tmp, "bad.env"), "K", v) for v in bad])
        want = [-22, -84, -84, -84]  # -EINVAL (NUL byte), -EILSEQ (not UTF-8)
        quoted = []
        for _ in bad:
            quoted.append(replies.int())
            self.assertEqual(replies.raw(), b"")
        set_codes = []
        for _ in bad:
            set_codes.append(replies.int())
            replies.int()
        self.assertEqual(quoted, want)
        self.assertEqual(set_codes, want)

    def test_fixture_corpus_parses_identically(self):
        paths = sorted(glob.glob(os.path.join(FIXTURES, "*.env")))
        self.assertGreaterEqual(len(paths), 60)
        replies, _ = d.run([d.req("parse", p) for p in paths])
        for path in paths:
            name = os.path.basename(path)
            rc, bindings, warnings = replies.parse_result()
            self.assertEqual(rc, 0, name)
            want_bindings, want_warnings = d.python_bindings(path)
            self.assertEqual(bindings, want_bindings, name)
            self.assertEqual(warnings, want_warnings, name)
            if not name.startswith("bom"):
                self.assertEqual(dict(bindings), d.python_values(path), name)

    def test_fixture_corpus_interpolates_identically(self):
        environ = {"HOME": "/home/x", "A": "env-a", "X": "env-x", "B": ""}
        paths = sorted(glob.glob(os.path.join(FIXTURES, "*.env")))
        replies, _ = d.run([d.interp_req(p, override, environ) for p in paths for override in (True, False)])
        for path in paths:
            raw, _ = d.python_bindings(path)
            for override in (True, False):
                rc, bindings, _ = replies.parse_result()
                self.assertEqual(rc, 0)
                with mock.patch.dict(os.environ, environ, clear=True):
                    want = dict(dotenv.main.resolve_variables(raw, override=override))
                    if override and not os.path.basename(path).startswith("bom"):
                        self.assertEqual(want, dict(dotenv.dotenv_values(path)))
                self.assertEqual(dict(bindings), want, "%s override=%s" % (os.path.basename(path), override))

    def test_set_and_unset_on_fixtures_read_back_in_python_dotenv(self):
        """Pixie's rewrite of every fixture, read by python-dotenv: every
        other binding unchanged, the key set (or gone). When Pixie refuses
        (-EBADMSG) the file is untouched, and appending the new line would
        indeed have changed what python-dotenv reads."""
        paths = sorted(glob.glob(os.path.join(FIXTURES, "*.env")))
        cases = []
        for n, path in enumerate(paths):
            raw, _ = d.python_bindings(path)
            keys = [k for k, _ in raw if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)]
            for op, key in [("set", "NEW_KEY"), ("set", keys[-1] if keys else "K"),
                            ("set", keys[0] if keys else "K"), ("unset", keys[0] if keys else "K")]:
                copy = os.path.join(self.tmp, "fx-%d-%s-%s.env" % (n, op, key))
                with open(path, "rb") as src, open(copy, "wb") as dst:
                    dst.write(src.read())
                cases.append((path, copy, op, key))
        reqs = []
        for _, copy, op, key in cases:
            if op == "set":
                reqs += [d.req("memset", copy, key, VALUE), d.req("flush", copy)]
            else:
                reqs += [d.req("memunset", copy, key), d.req("flush", copy)]
        replies, _ = d.run(reqs)
        refused = 0
        for path, copy, op, key in cases:
            name = "%s %s %s" % (os.path.basename(path), op, key)
            rc, _flag = replies.int(), replies.int()
            replies.int()
            before, _ = d.python_bindings(path)
            if rc == -74:  # -EBADMSG: refused, file untouched
                refused += 1
                with open(path, "rb") as a, open(copy, "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)
                if key == "NEW_KEY":  # appending the line would have broken the file
                    with open(copy, "a", encoding="utf-8") as f:
                        f.write('\nNEW_KEY="v\'\\"#\\n${X}"\n')  # what Pixie would append
                    after, _ = d.python_bindings(copy)
                    broken = [b for b in after if b[0] != key] != before or (key, VALUE) not in after
                    self.assertTrue(broken, name)
                continue
            self.assertEqual(rc, 0, name)
            after, _ = d.python_bindings(copy)
            self.assertEqual([b for b in after if b[0] != key], [b for b in before if b[0] != key], name)
            mine = [v for k, v in after if k == key]
            self.assertEqual(mine, [VALUE] if op == "set" else [], name)
        self.assertGreater(refused, 0)

    def test_fixture_corpus_has_dropped_bindings_and_none(self):
        """The corpus exercises what matters: None values and dropped lines."""
        nones = drops = 0
        for path in glob.glob(os.path.join(FIXTURES, "*.env")):
            bindings, warnings = d.python_bindings(path)
            nones += sum(v is None for _, v in bindings)
            drops += len(warnings)
        self.assertGreater(nones, 5)
        self.assertGreater(drops, 10)

    INTERP_CASES = [
        ("A=1\nB=${A}\nC=${A}${B}x\n", {}),
        ("A=${HOME}\nHOME=file\nB=${HOME}\n", {"HOME": "/env/home"}),
        ("A=${MISSING}\nB=${MISSING:-dflt}\nC=${MISSING:-}\nD=${:-x}\nE=${}\n", {}),
        ("A\nB=${A:-dflt}\nA=\nC=${A:-dflt}\n", {"A": "env"}),
        ("A='${X}'\nB=\"${X}\"\nC=${X}\n", {"X": "ex"}),
        ("A=${X:y}\nB=${X:-${Y}}\nC=${X${Y}\nD=$X\nE=${X\n", {"X": "ex", "Y": "why"}),
        ("A=${A}a\nA=${A}b\nB=${A}\n", {"A": "env"}),
        ("P=${PATH}\nPATH=mine\nQ=${PATH}\n", {"PATH": "/usr/bin"}),
        ("A=1\nA\nB=${A:-d}\n", {}),
        ("A=${B}\nB=2\n", {"B": "env"}),
        ("M=\"${X}\n${Y:-multi\nline}\"\n", {"X": "1"}),
        ("U=${ünï}\nV=${ünï:-d}\n", {"ünï": "u"}),
        ("E=${EMPTY:-d}\n", {"EMPTY": ""}),
    ]

    def test_interpolation_matches_resolve_variables(self):
        reqs, cases = [], []
        for n, (text, environ) in enumerate(self.INTERP_CASES):
            path = os.path.join(self.tmp, "interp-%d.env" % n)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            for override in (True, False):
                reqs.append(d.interp_req(path, override, environ))
                cases.append((n, path, environ, override))
        replies, _ = d.run(reqs)
        for n, path, environ, override in cases:
            rc, bindings, _ = replies.parse_result()
            self.assertEqual(rc, 0)
            raw, _ = d.python_bindings(path)
            with mock.patch.dict(os.environ, environ, clear=True):
                want = dict(dotenv.main.resolve_variables(raw, override=override))
                if override:
                    self.assertEqual(want, dict(dotenv.dotenv_values(path)))
            self.assertEqual(dict(bindings), want, "interpolation case %d override=%s" % (n, override))


if __name__ == "__main__":
    unittest.main()
