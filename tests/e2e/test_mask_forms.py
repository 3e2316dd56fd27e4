"""Masking of derived forms, one test per form of the one table in
src/core/mask_forms.c (FORMS), each checked against the encoder that
produces it: Python's urllib.parse.quote (safe='' and '/', quote_plus),
json.dumps (ensure_ascii on and off, and applied twice), base64 (standard
and URL-safe, after prefixes of every length mod 3; base64.encodebytes at
76 columns and PEM's 64), Pixie's own JSON encoder and lua-cjson (run in
the pixie Lua host), and each line of a multi-line value. Every case is
masked by pixie.mask one-shot and streamed byte by byte. Values under 4
bytes are not registered. Canary values are never printed."""
import base64
import json
import os
import subprocess
import unittest
import urllib.parse

LUA_TEST = os.path.join(os.environ.get("PIXIE_BUILD_DIR", ""), "tests", "pixie_lua_test")
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mask_scrub.lua")

VALUES = [
    'CANARY-E2E/secret with space+plus"quote\\back',
    "CANARY \u00e9\u20ac\U0001F600 unicode secret",
    "CANARY\tctrl\x01\x7f-secret",
    "CANARY\x7f-mixed-p\u00e4ssw\u00f6rd",  # DEL and non-ASCII: the encoders disagree
    "line one CANARY-AAAA\nline two CANARY-BBBB\r\n  indented CANARY-CCCC  ",
    "user:CANARY-PW-SECRET@host",
    "CANARY-LONG-p\u00e4ss/" + "0123456789abcdef" * 6 + "-END",  # wraps at 64 and 76
]
SHORT = "abc"  # 3 bytes: never registered
FOUR = "zq9!"  # 4 bytes: registered as is, no derived form (all < 8 bytes)


def run_lua(commands):
    """Runs mask_scrub.lua with (op, bytes) commands; returns the results."""
    text = "".join(f"{op} {data.hex()}\n" for op, data in commands)
    r = subprocess.run([LUA_TEST, SCRIPT], input=text, capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"lua helper failed: {r.stderr}")
    return [line.split(" ") for line in r.stdout.splitlines()]


def dumps_inner(v, ascii_only):
    return json.dumps(v, ensure_ascii=ascii_only)[1:-1]


def lua_encodings(values):
    """{value: (pixie.json inner text, lua-cjson inner text)} from the Lua host."""
    results = run_lua([("E", v.encode()) for v in values])
    out = {}
    for v, (_, pix, cj) in zip(values, results):
        out[v] = (bytes.fromhex(pix).decode()[1:-1], bytes.fromhex(cj).decode()[1:-1])
    return out


def wrapped(v, width):
    """base64 of v wrapped at width columns, as base64.encodebytes (76) or PEM (64)."""
    if width == 76:
        return base64.encodebytes(v.encode()).decode()
    full = base64.b64encode(v.encode()).decode()
    return "".join(full[i:i + width] + "\n" for i in range(0, len(full), width))


def form_cases(v, lua):
    """{form name: [(label, text, expected masked text)]} for value v, one
    entry per row of FORMS; forms shorter than 8 bytes are left out."""
    def exact(label, form):
        return [(label, f"<{form}>", "<***>")] if len(form.encode()) >= 8 else []

    pixie_form, cjson_form = lua[v]
    cases = {
        "value": exact("as is", v),
        "url": exact("quote", urllib.parse.quote(v, safe=""))
        + exact("quote /", urllib.parse.quote(v))
        + exact("quote_plus", urllib.parse.quote_plus(v)),
        "json": exact("json.dumps", dumps_inner(v, True))
        + exact("json.dumps ascii off", dumps_inner(v, False))
        + exact("pixie.json", pixie_form) + exact("lua-cjson", cjson_form),
        "json_double": [],
        "base64": [],
        "base64_wrapped": [],
        "lines": [],
    }
    for a in (True, False):
        for b in (True, False):
            twice = json.dumps(json.dumps(v, ensure_ascii=a), ensure_ascii=b)
            cases["json_double"].append((f"json.dumps twice {a}/{b}", twice, '"\\"***\\""'))
    cases["json_double"].append(("json.dumps of a pixie-encoded text",
                                 json.dumps(pixie_form), '"***"'))
    cases["json_double"].append(("json.dumps of os.environ-like dump",
                                 json.dumps(json.dumps({"K": v})), '"{\\"K\\": \\"***\\"}"'))
    raw = v.encode()
    for prefix in (b"", b"x", b"xy", b"Basic ", b"user:"):
        for name, enc in (("std", base64.b64encode), ("url", base64.urlsafe_b64encode)):
            full = enc(prefix + raw).decode()
            bits_lo, bits_hi = 8 * len(prefix), 8 * (len(prefix) + len(raw))
            first, end = (bits_lo + 5) // 6, bits_hi // 6
            std = base64.b64encode(raw).decode()
            tails = [std[(len(std) - 1) // w * w:] for w in (76, 64) if len(std) > w]
            if any(len(t) >= 8 and full.endswith(t) for t in tails):
                end = len(full)  # the last line of a wrapped form covers the tail too
            cases["base64"].append((f"{name} after {prefix!r}", full,
                                    full[:first] + "***" + full[end:]))
    for width in (76, 64):
        text = wrapped(v, width)
        lines = text.splitlines()
        if len(lines) > 1:
            cases["base64_wrapped"].append((f"wrapped at {width}", text, "***\n"))
            for i, line in enumerate(lines):
                if len(line) >= 8:
                    cases["base64_wrapped"].append((f"line {i} at {width}", f"<{line}>", "<***>"))
    if "\n" in v or "\r" in v:
        for i, line in enumerate(v.splitlines()):
            cases["lines"] += exact(f"line {i}", line) + exact(f"line {i} trimmed", line.strip())
        cases["lines"] += exact("CRLF", v.replace("\r\n", "\n").replace("\n", "\r\n"))
    return cases


class MaskForms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(LUA_TEST, os.X_OK):
            raise AssertionError(f"pixie_lua_test not built at {LUA_TEST}")
        lua = lua_encodings(VALUES)
        cls.cases = {}  # form -> [(label, text, expected)]
        for v in VALUES:
            for form, items in form_cases(v, lua).items():
                cls.cases.setdefault(form, []).extend(
                    (f"{label} of value {VALUES.index(v)}", text, want)
                    for label, text, want in items)
        commands = [("V", v.encode()) for v in VALUES]
        flat = [c for form in sorted(cls.cases) for c in cls.cases[form]]
        for _, text, _ in flat:
            commands.append(("T", text.encode()))
            commands.append(("U", text.encode()))
        results = run_lua(commands)
        cls.added = [r for r in results if r[0] == "A"]
        scrubbed = [bytes.fromhex(r[1]).decode() for r in results if r[0] == "S"]
        cls.scrubbed = {}
        for i, (label, text, _) in enumerate(flat):
            cls.scrubbed[(label, text)] = (scrubbed[2 * i], scrubbed[2 * i + 1])

    def check_form(self, form):
        self.assertEqual(self.added, [["A", "true"]] * len(VALUES))
        self.assertTrue(self.cases[form], f"no case for form {form}")
        for label, text, want in self.cases[form]:
            one_shot, streamed = self.scrubbed[(label, text)]
            # assertEqual would print a canary on failure: compare, then name the case only
            self.assertTrue(one_shot == want, f"one-shot, {form}: {label}")
            self.assertTrue(streamed == want, f"streamed, {form}: {label}")

    def test_value(self):
        self.check_form("value")

    def test_url(self):
        self.check_form("url")

    def test_json_python_pixie_and_cjson(self):
        self.check_form("json")

    def test_json_double_escaped(self):
        self.check_form("json_double")

    def test_base64_every_alignment(self):
        self.check_form("base64")

    def test_base64_wrapped_mime_and_pem(self):
        self.check_form("base64_wrapped")

    def test_lines(self):
        self.check_form("lines")

    def test_short_values(self):
        results = run_lua([("V", SHORT.encode()), ("V", FOUR.encode()),
                           ("T", f"{SHORT} {FOUR} {base64.b64encode(FOUR.encode()).decode()}"
                            .encode())])
        self.assertEqual(results[0], ["A", "false"])
        self.assertEqual(results[1], ["A", "true"])
        out = bytes.fromhex(results[2][1]).decode()
        self.assertEqual(out, f"{SHORT} *** {base64.b64encode(FOUR.encode()).decode()}")


if __name__ == "__main__":
    unittest.main()
