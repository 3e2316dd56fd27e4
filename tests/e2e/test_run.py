"""pixie run / validate / logs on real tools: the examples and misbehaving
fixtures, with every byte of output masked (SPEC §3.4, §4)."""
import glob
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import unittest

from pixie_testlib import SOURCE_DIR, make_home, pixie, processes_inside, run_on_pty, write

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "tools")
CANARY = "CANARY-leak-7f3a9c-SECRET"
SIGNING_CANARY = "CANARY-sign-5d21-SECRET"


def home_with(*fixtures, examples=False):
    home = make_home("run", with_examples=examples)
    for name in fixtures:
        shutil.copytree(os.path.join(FIXTURES, name), os.path.join(home, "tools", name))
    lib = os.path.join(FIXTURES, "fixturelib.py")
    if fixtures and os.path.exists(lib):
        shutil.copy(lib, os.path.join(home, "tools", "fixturelib.py"))
    return home


def set_env(home, tool, key, value):
    write(os.path.join(home, "tools", tool, ".env"), f'{key}="{value}"\n', mode=0o600)


def every_byte_pixie_wrote(home):
    """Raw bytes of pixie.db (+ -wal, -shm) and every file under logs/."""
    blobs = []
    for path in glob.glob(os.path.join(home, "pixie.db*")) + glob.glob(os.path.join(home, "logs", "**"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                blobs.append((path, f.read()))
    return blobs


class RunEnvironment(unittest.TestCase):
    """Item 5 of issue 9: the per-tool folders, the run's ids and max_memory_mb 0."""

    def run_probe(self, home, reserve_mb):
        r = pixie("run", "envprobe", f"reserve_mb={reserve_mb}", "--json", home=home)
        return r, (json.loads(r.stdout) if r.stdout.strip() else None)

    def test_tool_sees_its_folders_and_the_run_ids(self):
        home = home_with("envprobe")
        real = os.path.realpath(home)
        r, record = self.run_probe(home, 0)
        self.assertEqual(r.returncode, 0, r.stderr)
        env = record["outputs"]["env"]
        tmp = os.path.join(real, "tmp", "envprobe")
        self.assertEqual((env["TMPDIR"], env["TEMP"], env["TMP"], env["tempfile_dir"]), (tmp,) * 4)
        self.assertEqual(env["tmp_mode"], "0o700")
        self.assertEqual(env["PIXIE_ARTEFACTS_DIR"], os.path.join(real, "artefacts", "envprobe"))
        self.assertEqual(env["PIXIE_RUN_ID"], "")  # a warm process serves many runs
        self.assertEqual(env["run_id"], record["run_id"])
        self.assertEqual(env["run_artefacts_dir"],
                         os.path.join(real, "artefacts", "envprobe", record["run_id"]))
        with open(os.path.join(home, ".gitignore")) as f:
            self.assertIn("tmp/", f.read().split())
        # the second run (same warm process) gets its own id
        r2, second = self.run_probe(home, 0)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertNotEqual(second["run_id"], record["run_id"])
        self.assertEqual(second["outputs"]["env"]["run_id"], second["run_id"])

    def test_max_memory_mb_zero_means_no_address_space_limit(self):
        home = home_with("envprobe")
        r, record = self.run_probe(home, 768)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(record["outputs"]["reserved_mb"], 768)
        path = os.path.join(home, "tools", "envprobe", "tool.json")
        with open(path) as f:
            spec = json.load(f)
        spec["max_memory_mb"] = 512
        with open(path, "w") as f:
            json.dump(spec, f)
        r, record = self.run_probe(home, 768)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(record["status"], "error")


class ExampleRuns(unittest.TestCase):
    def test_word_count_runs_and_is_recorded(self):
        home = home_with(examples=True)
        r = pixie("run", "word-count", "text=the cat and the hat", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Words: 5", r.stdout)
        self.assertIn("Most frequent word: the", r.stdout)
        db = sqlite3.connect(os.path.join(home, "pixie.db"))
        rows = db.execute("SELECT tool_id, status, inputs_json, outputs_json, source FROM runs").fetchall()
        self.assertEqual(len(rows), 1)
        tool_id, status, inputs_json, outputs_json, source = rows[0]
        self.assertEqual((tool_id, status, source), ("word-count", "ok", "cli"))
        self.assertEqual(json.loads(inputs_json)["text"], "the cat and the hat")
        self.assertEqual(json.loads(outputs_json)["words"], 5)

    def test_home_gets_a_gitignore_and_private_artefacts(self):
        home = home_with(examples=True)
        self.assertEqual(pixie("run", "word-count", "text=x", home=home).returncode, 0)
        with open(os.path.join(home, ".gitignore")) as f:
            rules = f.read().split()
        for rule in ("tools/*/.env", ".env", ".env.*", "tools/*/.venv/", "tools/*/data/", "pixie.db*", "logs/"):
            self.assertIn(rule, rules)
        for root, dirs, _ in os.walk(os.path.join(home, "artefacts")):
            for d in dirs:
                self.assertEqual(os.stat(os.path.join(root, d)).st_mode & 0o777, 0o700, d)

    def test_run_json_and_inputs_file(self):
        home = home_with(examples=True)
        write(os.path.join(home, "in.json"), json.dumps({"text": "a\nb", "ignore_case": False}))
        r = pixie("run", "word-count", "--inputs", os.path.join(home, "in.json"), "--json", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        record = json.loads(r.stdout)
        self.assertEqual(record["status"], "ok")
        self.assertEqual(record["outputs"]["lines"], 2)

    def test_a_json_array_is_not_an_inputs_object(self):
        home = home_with(examples=True)
        for text in ("[]", "[1]", "[\"text\"]"):
            with self.subTest(inputs=text):
                write(os.path.join(home, "in.json"), text)
                r = pixie("run", "word-count", "--inputs", os.path.join(home, "in.json"), home=home)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn("in.json: not a JSON object", r.stderr)

    def test_a_json_array_answer_is_not_an_outputs_object(self):
        home = home_with("badoutput")
        for kind in ("empty_array", "one", "array"):
            with self.subTest(kind=kind):
                r = pixie("run", "badoutput", f"kind={kind}", "--json", home=home)
                self.assertEqual(r.returncode, 1, r.stderr)
                record = json.loads(r.stdout)
                self.assertEqual(record["status"], "error")
                self.assertIn("tool answered with a JSON array; the outputs must be a JSON object",
                              record["error"])
        r = pixie("run", "badoutput", "kind=empty_object", "--json", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        record = json.loads(r.stdout)
        self.assertEqual((record["status"], record["outputs"]), ("ok", {}))

    def test_bad_inputs_are_all_reported_and_nothing_runs(self):
        home = home_with(examples=True)
        r = pixie("run", "word-count", "bogus=1", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bogus: unknown input", r.stderr)
        r = pixie("run", "word-count", "ignore_case=perhaps", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not true or false", r.stderr)
        r = pixie("run", "no-such-tool", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown tool", r.stderr)

    def test_missing_required_secret_fails_fast(self):
        home = home_with(examples=True)
        r = pixie("run", "hmac-sign", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing required secret SIGNING_KEY — set it in Settings or with set-secret", r.stderr)
        self.assertEqual(pixie("logs", "hmac-sign", home=home).stdout.strip(), "",
                         "nothing was spawned, so nothing was captured")

    def test_secret_reaches_the_tool_and_never_the_output(self):
        home = home_with(examples=True)
        set_env(home, "hmac-sign", "SIGNING_KEY", SIGNING_CANARY)
        r = pixie("run", "hmac-sign", "message=hello", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        want = hmac.new(SIGNING_CANARY.encode(), b"hello", hashlib.sha256).hexdigest()
        self.assertIn(want, r.stdout)
        self.assertFalse(SIGNING_CANARY in r.stdout + r.stderr, "canary printed")


    def test_terminal_escapes_from_a_tool_are_shown_not_obeyed(self):
        home = home_with(examples=True)
        spec_path = os.path.join(home, "tools", "word-count", "tool.json")
        with open(spec_path) as f:
            spec = json.load(f)
        spec["outputs"][0]["label"] = "Words\u001b[2J\u001b]0;owned\u0007"
        write(spec_path, json.dumps(spec))
        status, seen = run_on_pty(home, "run", "word-count", "text=a b")
        self.assertEqual(status, 0, seen)
        self.assertNotIn(b"\x1b", seen)
        self.assertIn(b"Words\\x1B[2J\\x1B]0;owned\\x07: 2", seen)
        piped = pixie("run", "word-count", "text=a b", home=home)
        self.assertIn("Words\x1b[2J", piped.stdout, "piped output stays byte for byte")


class Canary(unittest.TestCase):
    def test_leaked_secret_is_masked_everywhere(self):
        home = home_with("leaky")
        set_env(home, "leaky", "LEAK_TOKEN", CANARY)
        outputs = []
        for mode in ("return", "raise"):
            r = pixie("run", "leaky", f"mode={mode}", home=home)
            outputs.append(r.stdout + r.stderr)
        r = pixie("validate", "leaky", "--json", home=home)
        outputs.append(r.stdout + r.stderr)
        outputs.append(pixie("logs", "leaky", "-n", "500", home=home).stdout)
        joined = "\n".join(outputs)
        self.assertFalse(CANARY in joined, "canary printed")
        self.assertIn("***", joined)
        for path, blob in every_byte_pixie_wrote(home):
            self.assertFalse(CANARY.encode() in blob, f"canary found in {path}")
        db = sqlite3.connect(os.path.join(home, "pixie.db"))
        texts = [row[0] or "" for row in db.execute(
            "SELECT text FROM spawn_log UNION ALL SELECT outputs_json FROM runs "
            "UNION ALL SELECT error_text FROM runs UNION ALL SELECT report_json FROM validation_reports")]
        self.assertTrue(any("***" in t for t in texts))


    def test_every_tools_secret_is_registered_before_a_skill_runs(self):
        home = home_with(examples=True)
        set_env(home, "hmac-sign", "SIGNING_KEY", SIGNING_CANARY)
        write(os.path.join(home, "skills", "peek.lua"),
              'return { api = 1, summary = "reads a .env raw", run = function()\n'
              '  print(pixie.fs.read(pixie.home() .. "/tools/hmac-sign/.env"))\n'
              '  error("oops " .. pixie.fs.read(pixie.home() .. "/tools/hmac-sign/.env"))\n'
              'end }\n')
        r = pixie("run-skill", "peek", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertFalse(SIGNING_CANARY in r.stdout + r.stderr, "canary printed")
        self.assertIn("SIGNING_KEY=", r.stdout)
        self.assertIn("***", r.stdout)

    def test_another_tools_secret_in_inputs_is_masked(self):
        home = home_with(examples=True)
        set_env(home, "hmac-sign", "SIGNING_KEY", SIGNING_CANARY)
        r = pixie("run", "word-count", f"text=pasted {SIGNING_CANARY} by mistake", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(SIGNING_CANARY in r.stdout + r.stderr, "canary printed")
        for path, blob in every_byte_pixie_wrote(home):
            self.assertFalse(SIGNING_CANARY.encode() in blob, f"canary found in {path}")


    def test_skill_db_access_is_bound_and_masked(self):
        home = home_with(examples=True)
        set_env(home, "hmac-sign", "SIGNING_KEY", SIGNING_CANARY)
        self.assertEqual(pixie("run", "word-count", "text=a b", home=home).returncode, 0)
        write(os.path.join(home, "skills", "dbpeek.lua"),
              'return { api = 1, summary = "db", run = function(args)\n'
              '  local rows = assert(pixie.db.query("SELECT tool_id, status FROM runs WHERE tool_id = ?", "word-count"))\n'
              '  print(#rows, rows[1].tool_id, rows[1].status)\n'
              '  assert(pixie.db.exec("INSERT INTO settings (key, value) VALUES (?, ?)", "note", args[1]))\n'
              'end }\n')
        r = pixie("run-skill", "dbpeek", f"key={SIGNING_CANARY}", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1\tword-count\tok", r.stdout)
        value = sqlite3.connect(os.path.join(home, "pixie.db")).execute(
            "SELECT value FROM settings WHERE key = 'note'").fetchone()[0]
        self.assertEqual(value, "key=***")


class Validate(unittest.TestCase):
    def report(self, home, tool):
        r = pixie("validate", tool, "--json", home=home, timeout=120)
        report = json.loads(r.stdout)
        return r.returncode, report, {c["name"]: c for c in report["checks"]}

    def test_examples_pass_with_venv_warning_only(self):
        home = home_with(examples=True)
        code, report, checks = self.report(home, "word-count")
        self.assertEqual(code, 0, report)
        self.assertEqual(checks["sample_run_succeeds"]["status"], "pass")
        self.assertEqual(checks["output_conforms"]["status"], "pass")
        self.assertEqual(checks["clean_shutdown"]["status"], "pass")
        self.assertEqual(checks["interpreter_found"]["status"], "warn")
        self.assertEqual(report["overall"], "warn")
        db = sqlite3.connect(os.path.join(home, "pixie.db"))
        self.assertEqual(db.execute("SELECT overall FROM validation_reports").fetchall(), [("warn",)])

    def test_missing_secret_skips_process_checks(self):
        home = home_with(examples=True)
        code, report, checks = self.report(home, "hmac-sign")
        self.assertEqual(code, 0)
        self.assertEqual(checks["required_secrets"]["status"], "warn")
        self.assertEqual(checks["tool_spawns"]["status"], "skip")
        self.assertIn("SIGNING_KEY", checks["tool_spawns"]["message"])

    def test_misbehaving_tools_fail_on_the_right_check(self):
        cases = {
            "dies-early": "tool_spawns",
            "drifter": "schema_matches_disk",
            "badoutput": "sample_run_succeeds",
            "slow": "sample_run_succeeds",
            "memhog": "sample_run_succeeds",
        }
        home = home_with(*cases)
        for tool, check in cases.items():
            code, report, checks = self.report(home, tool)
            self.assertEqual(code, 1, tool)
            self.assertEqual(report["overall"], "fail", tool)
            failed = [c["name"] for c in report["checks"] if c["status"] == "fail"]
            self.assertEqual(failed, [check], (tool, report["checks"]))

    def test_forker_leaves_nothing_behind(self):
        home = home_with("forker")
        code, report, checks = self.report(home, "forker")
        self.assertNotEqual(checks["clean_shutdown"]["status"], "fail", report)
        self.assertEqual(processes_inside(home), [], "a process of the tool's tree survived")

    def test_reference_fixtures_pass_with_tolerance_yaml(self):
        home = home_with("refcalc")
        code, report, checks = self.report(home, "refcalc")
        self.assertEqual(code, 0, report)
        ref = checks["reference_fixtures_match"]
        self.assertEqual(ref["status"], "pass", ref)
        self.assertIn("3 fixtures: 2 passed, 0 failed, 1 skipped", ref["message"])
        by_name = {d["name"]: d for d in ref["details"]}
        self.assertEqual(by_name["not yet"]["status"], "skip")
        self.assertEqual(by_name["not yet"]["message"], "waiting for a cited source")
        self.assertEqual(checks["pyproject_ok"]["status"], "warn")
        self.assertEqual(checks["clean_shutdown"]["status"], "pass")
        # the tolerance.yaml override is what lets total pass: tighten it and it fails
        path = os.path.join(home, "tools", "refcalc", "reference", "tolerance.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("total: {rtol: 1.0e-6}", "total: {rtol: 1.0e-9}"))
        code, report, checks = self.report(home, "refcalc")
        self.assertEqual(code, 1)
        self.assertIn("total (number, numeric_isclose): rtol_exceeded",
                      checks["reference_fixtures_match"]["message"])
        # a tolerance.yaml that is not the subset fails the check, naming the line
        with open(path, "w") as f:
            f.write("defaults:\n  table: {compare: rows_ordered\n")
        code, report, checks = self.report(home, "refcalc")
        self.assertEqual(checks["reference_fixtures_match"]["status"], "fail")
        self.assertIn("tolerance.yaml", checks["reference_fixtures_match"]["message"])
        self.assertIn("line 2", checks["reference_fixtures_match"]["message"])

    def test_reference_fixture_that_fails_shows_the_diff(self):
        home = home_with("refbroken")
        code, report, checks = self.report(home, "refbroken")
        self.assertEqual(code, 1)
        self.assertEqual(report["overall"], "fail")
        ref = checks["reference_fixtures_match"]
        self.assertEqual(ref["status"], "fail")
        self.assertIn("FAIL three years at 5%: 1 output differs", ref["message"])
        self.assertIn("total (number, numeric_isclose): rtol_exceeded: 0.0099 > 1e-06 "
                      "(expected=1157.625, actual=1169.20125", ref["message"])
        diff = ref["details"][0]["diffs"][0]
        self.assertEqual((diff["output_key"], diff["expected"]), ("total", 1157.625))
        self.assertAlmostEqual(diff["actual"], 1169.20125)
        r = pixie("validate", "refbroken", home=home, timeout=120)
        self.assertIn("FAIL  reference_fixtures_match", r.stdout)
        self.assertIn("rtol_exceeded", r.stdout)

    def test_reference_flags_pick_fixtures(self):
        home = home_with("refcalc")
        r = pixie("validate", "refcalc", "--json", "--reference-only", "--tag", "long", home=home, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
        for name in ("sample_run_succeeds", "output_conforms", "streaming_check"):
            self.assertEqual(checks[name]["status"], "skip")
            self.assertEqual(checks[name]["message"], "skipped by --reference-only")
        self.assertEqual(checks["tool_spawns"]["status"], "pass")
        self.assertEqual([d["name"] for d in checks["reference_fixtures_match"]["details"]],
                         ["fifteen years at 5%"])
        for flag in ("three years at 5%", "basic", "fixture_basic.json"):
            r = pixie("validate", "refcalc", "--json", "--fixture", flag, home=home, timeout=120)
            details = {c["name"]: c for c in json.loads(r.stdout)["checks"]}["reference_fixtures_match"]["details"]
            self.assertEqual([d["name"] for d in details], ["three years at 5%"], flag)
        r = pixie("validate", "refcalc", "--json", "--fixture", "nope", home=home, timeout=120)
        ref = {c["name"]: c for c in json.loads(r.stdout)["checks"]}["reference_fixtures_match"]
        self.assertEqual(ref["status"], "skip")
        self.assertIn("named nope", ref["message"])

    def test_chat_tool_gets_the_chat_probe(self):
        home = home_with("chatbot")
        code, report, checks = self.report(home, "chatbot")
        self.assertEqual(code, 0, report)
        self.assertEqual(checks["sample_run_succeeds"]["status"], "pass", report)
        self.assertEqual(report["sample_inputs"]["messages"],
                         [{"role": "user", "content": "Validation probe message"}])
        self.assertEqual(report["sample_inputs"]["history"], [])
        self.assertEqual(report["sample_output"]["reply"], "(plain) you said: Validation probe message")
        self.assertEqual(checks["streaming_check"]["status"], "skip")
        self.assertEqual(checks["reference_fixtures_match"]["status"], "skip")

    def test_plain_report_names_checks(self):
        home = home_with(examples=True)
        r = pixie("validate", "word-count", home=home, timeout=120)
        self.assertIn("PASS  sample_run_succeeds", r.stdout)
        self.assertIn("word-count: warn", r.stdout)

    def test_lenient_tool_json_runs_with_warnings(self):
        """Item 6 of issue 9: what the original's pydantic models coerced is accepted, with a warning."""
        home = home_with("envprobe")
        path = os.path.join(home, "tools", "envprobe", "tool.json")
        with open(path) as f:
            spec = json.load(f)
        spec.update({"max_runtime_seconds": "60", "concurrent": "false"})
        spec["outputs"][0]["streaming"] = 0
        with open(path, "w") as f:
            json.dump(spec, f)
        r = pixie("tools", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('warning: max_runtime_seconds: the string "60" was read as the integer 60', r.stdout)
        self.assertIn('warning: concurrent: the string "false" was read as the boolean false', r.stdout)
        self.assertIn("warning: outputs[0].streaming: the number 0 was read as the boolean false", r.stdout)
        listed = json.loads(pixie("tools", "--json", home=home).stdout)
        self.assertEqual(listed[0]["status"], "ok")
        self.assertEqual(len(listed[0]["warnings"]), 3, listed)
        r = pixie("validate", "envprobe", "--json", home=home, timeout=120)
        report = json.loads(r.stdout)
        checks = {c["name"]: c for c in report["checks"]}
        self.assertEqual(checks["tool_json_parses"]["status"], "warn")
        self.assertIn("max_runtime_seconds", checks["tool_json_parses"]["message"])
        self.assertEqual(checks["schema_coherent"]["status"], "pass")
        self.assertEqual(checks["sample_run_succeeds"]["status"], "pass", report)


if __name__ == "__main__":
    unittest.main()
