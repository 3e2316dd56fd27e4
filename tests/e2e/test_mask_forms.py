"""Masking of derived forms, checked against Python's own encoders: for each
canary value, the URL (urllib.parse.quote with safe='' and '/', quote_plus),
JSON (json.dumps, ensure_ascii on and off) and base64 (standard and URL-safe,
after prefixes of every length mod 3) forms, and each line of a multi-line
value, are masked by pixie.mask (one-shot and streamed byte by byte) running
in the pixie Lua host. Values under 4 bytes are not registered."""
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
    "line one CANARY-AAAA\nline two CANARY-BBBB\r\n  indented CANARY-CCCC  ",
    "user:CANARY-PW-SECRET@host",
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
    return [line.split(" ", 1) for line in r.stdout.splitlines()]


def exact_forms(v):
    """Derived forms that must be masked whole (each >= 8 bytes)."""
    forms = {
        "quote": urllib.parse.quote(v, safe=""),
        "quote_slash": urllib.parse.quote(v),
        "quote_plus": urllib.parse.quote_plus(v),
        "json_ascii": json.dumps(v)[1:-1],
        "json_utf8": json.dumps(v, ensure_ascii=False)[1:-1],
    }
    for i, line in enumerate(v.splitlines()):
        if len(line.strip().encode()) >= 8:
            forms[f"line{i}"] = line.strip()
    return forms


def base64_cases(v):
    """(label, encoded text, expected masked text) for base64(prefix + v):
    the characters that depend only on v's bytes become one ***."""
    raw = v.encode()
    cases = []
    for prefix in (b"", b"x", b"xy", b"Basic ", b"user:"):
        for name, enc in (("std", base64.b64encode), ("url", base64.urlsafe_b64encode)):
            full = enc(prefix + raw).decode()
            bits_lo, bits_hi = 8 * len(prefix), 8 * (len(prefix) + len(raw))
            first, end = (bits_lo + 5) // 6, bits_hi // 6
            cases.append((f"{name} after {prefix!r}", full, full[:first] + "***" + full[end:]))
    return cases


class MaskForms(unittest.TestCase):
    def setUp(self):
        if not os.access(LUA_TEST, os.X_OK):
            self.fail(f"pixie_lua_test not built at {LUA_TEST}")

    def test_derived_forms_are_masked_one_shot_and_streamed(self):
        commands = [("V", v.encode()) for v in VALUES]
        checks = []  # (label, text, expected)
        for v in VALUES:
            for label, form in exact_forms(v).items():
                checks.append((f"{label} of {v[:12]!r}", f"<{form}>", "<***>"))
            for label, text, want in base64_cases(v):
                checks.append((f"{label} of {v[:12]!r}", text, want))
        for _, text, _ in checks:
            commands.append(("T", text.encode()))
            commands.append(("U", text.encode()))
        results = run_lua(commands)
        self.assertEqual([r for r in results if r[0] == "A"], [["A", "true"]] * len(VALUES))
        scrubbed = [bytes.fromhex(r[1]).decode() for r in results if r[0] == "S"]
        self.assertEqual(len(scrubbed), 2 * len(checks))
        for i, (label, text, want) in enumerate(checks):
            self.assertEqual(scrubbed[2 * i], want, f"one-shot, {label}")
            self.assertEqual(scrubbed[2 * i + 1], want, f"streamed, {label}")
        for out in scrubbed:
            for v in VALUES:
                self.assertNotIn(v, out)

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
