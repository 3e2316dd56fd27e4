"""The command line: help, version, exit codes, tools listing."""
import json
import os
import unittest

from pixie_testlib import EXAMPLES, make_home, pixie, write


class CommandLine(unittest.TestCase):
    def test_help_lists_commands_and_exits_zero(self):
        r = pixie("help")
        self.assertEqual(r.returncode, 0)
        for name in ("tools", "skills", "run-skill", "version"):
            self.assertIn(name, r.stdout)

    def test_every_command_has_help(self):
        listing = pixie("help").stdout
        names = [line.split()[0] for line in listing.splitlines()
                 if line.startswith("  ") and len(line.split()) > 1]
        self.assertGreaterEqual(len(names), 4)
        for name in names:
            r = pixie(name, "--help")
            self.assertEqual(r.returncode, 0, name)
            self.assertIn("usage: pixie", r.stdout, name)

    def test_unknown_command_is_usage_error_on_one_line(self):
        r = pixie("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_unknown_option_is_usage_error(self):
        r = pixie("tools", "--bogus", home=make_home())
        self.assertEqual(r.returncode, 2)
        self.assertIn("--bogus", r.stderr)

    def test_missing_home_fails_with_one_line(self):
        r = pixie("tools", home="/nonexistent/pixie-home")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertIn("/nonexistent/pixie-home", r.stderr)

    def test_version(self):
        r = pixie("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^pixie \d+\.\d+\.\d+")


class ToolsListing(unittest.TestCase):
    def test_examples_are_listed_ok(self):
        r = pixie("tools", "--json", home=EXAMPLES)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {t["id"]: t for t in json.loads(r.stdout)}
        self.assertIn("word-count", rows)
        self.assertIn("hmac-sign", rows)
        for row in rows.values():
            self.assertEqual(row["status"], "ok", row)

    def test_pixie_home_env_is_used(self):
        r = pixie("tools", env={"PIXIE_HOME": EXAMPLES})
        self.assertEqual(r.returncode, 0)
        self.assertIn("word-count", r.stdout)

    def test_malformed_json_is_broken_with_line_and_column(self):
        home = make_home()
        write(os.path.join(home, "tools", "bad", "tool.json"), '{\n  "id": "bad",\n  "name": oops\n}')
        r = pixie("tools", home=home)
        self.assertEqual(r.returncode, 0)
        self.assertIn("broken", r.stdout)
        self.assertIn("line 3, column", r.stdout)

    def test_label_on_secret_is_broken_with_migrate_hint(self):
        home = make_home()
        spec = {"id": "old", "name": "Old", "inputs": [], "outputs": [],
                "secrets": [{"key": "API_KEY", "label": "The key"}]}
        write(os.path.join(home, "tools", "old", "tool.json"), json.dumps(spec))
        r = pixie("tools", "--json", home=home)
        row = json.loads(r.stdout)[0]
        self.assertEqual(row["status"], "broken")
        text = " ".join(row["errors"])
        self.assertIn("secrets[0].label", text)
        self.assertIn("pixie run-skill migrate-tool-format old", text)

    def test_missing_tool_json_and_duplicates_are_broken_not_hidden(self):
        home = make_home()
        os.makedirs(os.path.join(home, "tools", "empty"))
        os.makedirs(os.path.join(home, "tools", ".hidden"))
        os.makedirs(os.path.join(home, "tools", "__pycache__"))  # Python's, when a tool imports a sibling
        spec = {"id": "twin", "name": "Twin", "inputs": [], "outputs": []}
        write(os.path.join(home, "tools", "twin", "tool.json"), json.dumps(spec))
        write(os.path.join(home, "tools", "twin-copy", "tool.json"), json.dumps(spec))
        rows = json.loads(pixie("tools", "--json", home=home).stdout)
        by_folder = {r["folder"]: r for r in rows}
        self.assertNotIn(".hidden", by_folder)
        self.assertNotIn("__pycache__", by_folder)
        self.assertEqual(by_folder["empty"]["status"], "broken")
        self.assertIn("tool.json is missing", by_folder["empty"]["errors"])
        for folder in ("twin", "twin-copy"):
            self.assertEqual(by_folder[folder]["status"], "broken")
            self.assertTrue(any("duplicate id 'twin'" in e for e in by_folder[folder]["errors"]))

    def test_garbage_tool_json_never_crashes(self):
        home = make_home()
        garbage = [b"", b"\x00\xff\xfe", b"[]", b"null", b"{" * 5000, b'{"id": 5}',
                   b'{"id": "x", "name": "x", "inputs": {}, "outputs": "no"}', b"\xef\xbb\xbf{}"]
        for i, g in enumerate(garbage):
            write(os.path.join(home, "tools", f"g{i}", "tool.json"), g)
        r = pixie("tools", "--json", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout)
        self.assertEqual(len(rows), len(garbage))
        for row in rows:
            self.assertEqual(row["status"], "broken", row)
            self.assertTrue(row["errors"], row)


if __name__ == "__main__":
    unittest.main()
