"""Mask at the sink, after the last encoding (issue 8, findings 1-3): the
hostile fixture tool returns its secrets re-encoded (json.dumps of a
non-ASCII secret, of os.environ, twice), mixed-escaped (DEL and non-ASCII,
as Pixie's own encoder writes it), straddling the 2,000-byte cut of error
text, base64-wrapped, and in the encodings docs/security.md lists as not
masked (hex, reversed, case changed). For every mode a byte scan of
everything Pixie produced — `run` and `run --json` output, `logs`,
`validate --json`, pixie.db with -wal and -shm, logs/ — finds no registered
form of any secret and no start of a secret cut in half; every `--json`
document parses although a 4-byte secret `null` is registered. Canary values
are never printed: a failure names the mode, the artefact and the form."""
import base64
import glob
import json
import os
import shutil
import unittest
import urllib.parse

from pixie_testlib import SOURCE_DIR, make_home, pixie, write

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "tools")
SECRET = "CANARY-p\u00e4ssw\u00f6rd-\u00e9t\u00e9-" + "0123456789abcdef" * 4 + "-HOSTILE"
MIXED = "CANARY\x7f-mix\u00e9d-93ab/HOSTILE"
NULL = "null"  # a secret equal to a JSON keyword: checked by parsing, not scanned
SECRETS = {"HOSTILE_SECRET": SECRET, "HOSTILE_MIXED": MIXED, "HOSTILE_NULL": NULL}

# Expected gaps (docs/security.md, "What it cannot catch"): how each shows the secret.
GAP_MODES = {
    "hex": SECRET.encode().hex(),
    "reversed": SECRET[::-1],
    "upper": SECRET.upper(),
    "lower": SECRET.lower(),
}

# JSON string escaping styles of mask_forms.c: (ensure_ascii, DEL escaped, '/' escaped)
STYLES = [(True, True, False), (False, False, False), (False, True, False), (False, True, True)]


def escaped(text, style):
    ascii_only, dele, slash = style
    s = json.dumps(text, ensure_ascii=ascii_only)[1:-1]
    if dele and not ascii_only:
        s = s.replace("\x7f", "\\u007f")
    if slash:
        s = s.replace("/", "\\/")
    return s


def registered_forms(v):
    """{name: bytes} of every form Pixie registers for v (mask_forms.h)."""
    raw = v.encode()
    forms = {"value": raw}
    for name, text in (("quote", urllib.parse.quote(v, safe="")), ("quote /", urllib.parse.quote(v)),
                       ("quote_plus", urllib.parse.quote_plus(v))):
        forms[name] = text.encode()
    for i, first in enumerate(STYLES):
        once = escaped(v, first)
        forms[f"json {i}"] = once.encode()
        for j, second in enumerate(STYLES):
            forms[f"json {i} then {j}"] = escaped(once, second).encode()
    for pad in range(3):
        for name, enc in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            full = enc(b"\0" * pad + raw).decode()
            first, end = (8 * pad + 5) // 6, 8 * (pad + len(raw)) // 6
            forms[f"{name} pad {pad}"] = full[first:end].encode()
    full = base64.b64encode(raw).decode()
    for width in (76, 64):
        lines = [full[i:i + width] for i in range(0, len(full), width)]
        if len(lines) > 1:
            forms[f"wrapped {width}"] = "\n".join(lines).encode()
            for k, line in enumerate(lines):
                forms[f"wrapped {width} line {k}"] = line.encode()
    # the start of a secret cut in half (truncate-then-mask leaves it)
    forms["first half"] = raw[:len(raw) // 2]
    return {k: f for k, f in forms.items() if len(f) >= 8 or k == "value"}


def home_with_hostile():
    home = make_home("hostile")
    shutil.copytree(os.path.join(FIXTURES, "hostile"), os.path.join(home, "tools", "hostile"))
    shutil.copy(os.path.join(FIXTURES, "fixturelib.py"), os.path.join(home, "tools", "fixturelib.py"))
    env = "".join(f'{k}="{v}"\n' for k, v in SECRETS.items())
    write(os.path.join(home, "tools", "hostile", ".env"), env, mode=0o600)
    return home


def produce(home, mode):
    """Runs every command of the scan in mode; returns ({artefact: bytes}, run --json text,
    validate --json text)."""
    write(os.path.join(home, "tools", "hostile", "mode.txt"), mode + "\n")
    found = {}
    r = pixie("run", "hostile", home=home)
    found["run stdout"], found["run stderr"] = r.stdout, r.stderr
    rj = pixie("run", "hostile", "--json", home=home)
    found["run --json stdout"], found["run --json stderr"] = rj.stdout, rj.stderr
    vj = pixie("validate", "hostile", "--json", home=home)
    found["validate --json stdout"], found["validate --json stderr"] = vj.stdout, vj.stderr
    lg = pixie("logs", "hostile", "-n", "1000", home=home)
    found["logs stdout"], found["logs stderr"] = lg.stdout, lg.stderr
    blobs = {k: v.encode("utf-8", "surrogateescape") for k, v in found.items()}
    paths = glob.glob(os.path.join(home, "pixie.db*")) + glob.glob(
        os.path.join(home, "logs", "**"), recursive=True)
    for path in paths:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                blobs[os.path.relpath(path, home)] = f.read()
    return blobs, rj.stdout, vj.stdout


class HostileTool(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.forms = {}
        for key, v in SECRETS.items():
            if v != NULL:
                for name, form in registered_forms(v).items():
                    cls.forms[f"{key} {name}"] = form

    def scan(self, mode, blobs):
        self.assertIn("pixie.db", blobs)
        for artefact, blob in blobs.items():
            for name, form in self.forms.items():
                # assertNotIn would print the canary: name the place only
                self.assertFalse(form in blob, f"mode {mode}: {name} found in {artefact}")

    def check_json(self, mode, text, what):
        try:
            return json.loads(text)
        except ValueError:
            self.fail(f"mode {mode}: {what} is not valid JSON")

    def check_mode(self, mode):
        home = home_with_hostile()
        blobs, run_json, validate_json = produce(home, mode)
        self.scan(mode, blobs)
        record = self.check_json(mode, run_json, "run --json")
        report = self.check_json(mode, validate_json, "validate --json")
        self.assertEqual(record["tool_id"], "hostile")
        self.assertEqual(report["tool_id"], "hostile")
        self.assertNotIn("null", run_json, f"mode {mode}: the secret null is a bare token")
        return record, report

    def test_json_dumps_of_a_non_ascii_secret(self):
        record, report = self.check_mode("dumps_secret")
        self.assertEqual(record["outputs"]["out"], '"***"')
        self.assertEqual(report["sample_output"]["out"], '"***"')

    def test_json_dumps_of_the_environment(self):
        record, _ = self.check_mode("dumps_environ")
        env = json.loads(record["outputs"]["out"])
        self.assertEqual(env["HOSTILE_SECRET"], "***")
        self.assertEqual(env["HOSTILE_MIXED"], "***")

    def test_double_json_escaping(self):
        record, _ = self.check_mode("double")
        self.assertIn("***", record["outputs"]["out"])

    def test_mixed_escaping_of_del_and_non_ascii(self):
        record, _ = self.check_mode("mixed")
        self.assertEqual(record["outputs"], {"out": "***", "escaped": "***", "dumped": '"***"'})

    def test_secret_across_the_error_text_cut(self):
        record, report = self.check_mode("truncate")
        self.assertEqual(record["status"], "error")
        self.assertTrue(record["error"].startswith('tool answered 500: {"message": "EEEE'))
        self.assertIn("***", record["error"])
        self.assertEqual(report["overall"], "fail")

    def test_secret_across_the_cut_of_a_plain_error_body(self):
        record, _ = self.check_mode("truncate_plain")
        self.assertTrue(record["error"].startswith("tool answered 500: EEEE"))
        self.assertIn("***", record["error"])

    def test_secret_across_the_json_detail_cut(self):
        record, _ = self.check_mode("truncate_json")
        self.assertEqual(record["status"], "error")
        self.assertIn("***", record["error"])

    def test_base64_wrapped_at_76_and_64_columns(self):
        record, _ = self.check_mode("wrapped")
        self.assertEqual(set(record["outputs"]["out"].split()), {"***"})

    def test_plain_run_keeps_every_json_document_valid_with_a_null_secret(self):
        record, report = self.check_mode("plain")
        self.assertEqual(record["status"], "ok")
        self.assertEqual(record["error"], "***")  # a JSON null, masked as a string
        self.assertIn(report["overall"], ("pass", "warn"))

    def test_listings_stay_valid_json_with_a_null_secret(self):
        home = home_with_hostile()
        # a broken tool gives `tools --json` a JSON null to print
        os.makedirs(os.path.join(home, "tools", "broken"))
        for argv in (("tools", "--json"), ("skills", "--json"), ("run-skill", "list-tools", "--json")):
            r = pixie(*argv, home=home)
            self.assertEqual(r.returncode, 0, f"{argv}: exit {r.returncode}")
            self.check_json(" ".join(argv), r.stdout, " ".join(argv))

    def test_expected_gaps_are_not_masked(self):
        home = home_with_hostile()
        for mode, shown in GAP_MODES.items():
            blobs, run_json, _ = produce(home, mode)
            self.scan(mode, blobs)
            record = self.check_json(mode, run_json, "run --json")
            # documented as not masked: the transformed value comes through
            self.assertTrue(record["outputs"]["out"] == shown, f"mode {mode} was masked")


if __name__ == "__main__":
    unittest.main()
