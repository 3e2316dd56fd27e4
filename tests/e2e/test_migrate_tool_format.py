"""migrate-tool-format end to end (SPEC §6.2): tool.json edited like .env —
only the migrated members change, every other byte is kept; a .bak keeps
the old text; a second run changes nothing; --dry-run prints a diff and
writes nothing; a newer schema_version, or a result that would still be
invalid, is refused with nothing written."""
import json
import os
import unittest

from pixie_testlib import make_home, pixie, write

OLD = """{
    "id": "old-tool",
    "name": "Old tool",
    "inputs": [],
    "outputs": [ {"key": "o", "label": "Out", "type": "text"} ],
    "secrets": [
        {"key": "A_KEY", "label": "The A key", "required": true},
        {"label": "dup", "key": "B", "description": "kept"},
        {"key": "C", "description": "only", "label": "last"},
        {
          "key": "D",
          "label": "multi\\u00e9"
        }
    ],
    "max_runtime_seconds":   10
}"""

# Exactly the bytes the migration may change, changed.
NEW = (OLD.replace('"label": "The A key"', '"description": "The A key"')
       .replace('{"label": "dup", "key": "B"', '{"key": "B"')
       .replace('"description": "only", "label": "last"}', '"description": "only"}')
       .replace('"label": "multi\\u00e9"', '"description": "multi\\u00e9"'))


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


class MigrateToolFormatTest(unittest.TestCase):
    def setUp(self):
        self.home = make_home("migrate")
        self.dir = os.path.join(self.home, "tools", "old-tool")
        self.path = os.path.join(self.dir, "tool.json")
        write(self.path, OLD, 0o640)

    def migrate(self, *args):
        return pixie("run-skill", "migrate-tool-format", *args, home=self.home)

    def test_label_secrets_become_valid_with_every_other_byte_unchanged(self):
        self.assertNotEqual(NEW, OLD)
        p = pixie("tools", "--json", home=self.home)
        self.assertIn("broken", p.stdout)
        p = self.migrate("old-tool")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(read(self.path), NEW)
        self.assertEqual(read(self.path + ".bak"), OLD)
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o640)
        tools = json.loads(pixie("tools", "--json", home=self.home).stdout)
        self.assertEqual([t["status"] for t in tools], ["ok"])
        secrets = json.loads(NEW)["secrets"]
        self.assertEqual([s["description"] for s in secrets], ["The A key", "kept", "only", "multi\u00e9"])

    def test_second_run_changes_nothing(self):
        self.assertEqual(self.migrate("old-tool").returncode, 0)
        st = os.stat(self.path)
        os.remove(self.path + ".bak")
        p = self.migrate("--all")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("nothing to change", p.stdout)
        self.assertEqual(read(self.path), NEW)
        self.assertEqual(os.stat(self.path).st_mtime_ns, st.st_mtime_ns)
        self.assertFalse(os.path.exists(self.path + ".bak"), "no .bak for a file left alone")

    def test_dry_run_prints_a_diff_and_writes_nothing(self):
        p = self.migrate("old-tool", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('-7:         {"key": "A_KEY", "label": "The A key", "required": true},', p.stdout)
        self.assertIn('+7:         {"key": "A_KEY", "description": "The A key", "required": true},',
                      p.stdout)
        self.assertEqual(read(self.path), OLD)
        self.assertEqual(os.listdir(self.dir), ["tool.json"])

    def test_newer_schema_version_is_refused(self):
        newer = OLD.replace('"max_runtime_seconds"', '"schema_version": "1.1", "max_runtime_seconds"')
        write(self.path, newer)
        p = self.migrate("old-tool")
        self.assertEqual(p.returncode, 1)
        self.assertIn("newer", p.stderr)
        self.assertEqual(read(self.path), newer)
        self.assertEqual(os.listdir(self.dir), ["tool.json"])

    def test_a_result_that_would_stay_invalid_is_refused(self):
        bad = OLD.replace('"max_runtime_seconds"', '"colour": 1, "max_runtime_seconds"')
        write(self.path, bad)
        p = self.migrate("--all")
        self.assertEqual(p.returncode, 1)
        self.assertIn("colour", p.stderr)
        self.assertEqual(read(self.path), bad)
        self.assertEqual(os.listdir(self.dir), ["tool.json"])

    def test_usage_needs_one_tool_or_all(self):
        self.assertEqual(self.migrate().returncode, 2)
        self.assertEqual(self.migrate("old-tool", "--all").returncode, 2)
        self.assertEqual(self.migrate("nope").returncode, 1)


if __name__ == "__main__":
    unittest.main()
