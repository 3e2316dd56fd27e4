"""Skills through the binary: `pixie skills`, `pixie run-skill`, the search
order (home, XDG config, built-in), shadowing, the error contract and the
example skill of docs/lua-api.md."""
import json
import os
import re
import tempfile
import unittest

from pixie_testlib import SOURCE_DIR, TMP_BASE, make_home, pixie, write

HELLO = """
return {
  api = 1,
  summary = "say hello",
  usage = "pixie run-skill hello [NAME]",
  run = function(args)
    print("hello, " .. (args[1] or "world") .. " from " .. pixie.home())
    return #args > 1 and 3 or 0
  end,
}
"""

BOOM = """
local function inner()
  error("the flux capacitor is empty")
end
return { api = 1, summary = "always fails", run = function() inner() end }
"""


def skill_source(summary, body=""):
    return 'return { api = 1, summary = "%s", run = function(args) %s end }' % (summary, body)


def fresh_dir(name):
    os.makedirs(TMP_BASE, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"e2e-{name}-", dir=TMP_BASE)


def listing(home, env=None):
    """`pixie skills --json` as {name: row}."""
    r = pixie("skills", "--json", home=home, env=env)
    assert r.returncode == 0, r.stderr
    return {row["name"]: row for row in json.loads(r.stdout)}


def docs_example():
    """(name, source) of the example skill in docs/lua-api.md."""
    with open(os.path.join(SOURCE_DIR, "docs", "lua-api.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- example-skill: ([a-z0-9-]+) -->\s*```lua\n(.*?)\n```", text, re.S)
    assert m, "docs/lua-api.md has no example-skill block"
    return m.group(1), m.group(2) + "\n"


class UserSkills(unittest.TestCase):
    def test_home_skill_runs_and_is_listed_as_user(self):
        home = make_home()
        write(os.path.join(home, "skills", "hello.lua"), HELLO)
        r = pixie("run-skill", "hello", "Ada", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"hello, Ada from {os.path.realpath(home)}\n")
        self.assertEqual(pixie("run-skill", "hello", "a", "b", home=home).returncode, 3)
        rows = listing(home)
        self.assertEqual(rows["hello"]["origin"], "user")
        self.assertEqual(rows["hello"]["summary"], "say hello")
        self.assertIsNone(rows["hello"]["shadows"])
        text = pixie("skills", home=home).stdout
        self.assertRegex(text, r"(?m)^hello\s+user\s+say hello$")
        self.assertRegex(text, r"(?m)^list-tools\s+built-in\s+")

    def test_folder_skill_with_its_own_module(self):
        home = make_home()
        write(os.path.join(home, "skills", "multi", "init.lua"),
              'local util = require("util")\n'
              + skill_source("folder skill", 'print(util.shout(args[1])) return 0'))
        write(os.path.join(home, "skills", "multi", "util.lua"),
              "return { shout = function(s) return s:upper() .. '!' end }")
        r = pixie("run-skill", "multi", "hey", home=home)
        self.assertEqual((r.returncode, r.stdout), (0, "HEY!\n"), r.stderr)

    def test_arguments_pass_through_untouched(self):
        home = make_home()
        write(os.path.join(home, "skills", "echo.lua"),
              skill_source("echo", 'print(table.concat(args, "|"))'))
        r = pixie("run-skill", "echo", "a", "--x=1", "-v", "--", "--help", home=home)
        self.assertEqual((r.returncode, r.stdout), (0, "a|--x=1|-v|--|--help\n"), r.stderr)

    def test_skill_reads_stdin(self):
        home = make_home()
        write(os.path.join(home, "skills", "count-lines.lua"),
              skill_source("count", 'local n = 0 for _ in io.lines() do n = n + 1 end print(n)'))
        r = pixie("run-skill", "count-lines", home=home, input="a\nb\nc\n")
        self.assertEqual((r.returncode, r.stdout), (0, "3\n"), r.stderr)


class SearchOrder(unittest.TestCase):
    def test_xdg_config_folder_is_searched_after_the_home(self):
        home = make_home()
        xdg = fresh_dir("xdg")
        env = {"XDG_CONFIG_HOME": xdg}
        write(os.path.join(xdg, "pixie", "skills", "mine.lua"), skill_source("from config", 'print("config")'))
        r = pixie("run-skill", "mine", home=home, env=env)
        self.assertEqual((r.returncode, r.stdout), (0, "config\n"), r.stderr)
        self.assertEqual(listing(home, env)["mine"]["origin"], "config")
        write(os.path.join(home, "skills", "mine.lua"), skill_source("from home", 'print("home")'))
        r = pixie("run-skill", "mine", home=home, env=env)
        self.assertEqual(r.stdout, "home\n")
        row = listing(home, env)["mine"]
        self.assertEqual((row["origin"], row["shadows"]), ("user", "config"))

    def test_home_dot_config_is_used_without_xdg_config_home(self):
        home = make_home()
        fake_home = fresh_dir("userhome")
        write(os.path.join(fake_home, ".config", "pixie", "skills", "dotconfig.lua"),
              skill_source("from ~/.config", 'print("dot")'))
        env = {"XDG_CONFIG_HOME": "", "HOME": fake_home}
        r = pixie("run-skill", "dotconfig", home=home, env=env)
        self.assertEqual((r.returncode, r.stdout), (0, "dot\n"), r.stderr)
        self.assertEqual(listing(home, env)["dotconfig"]["origin"], "config")
        # the e2e helper's own XDG_CONFIG_HOME hides it again
        self.assertEqual(pixie("run-skill", "dotconfig", home=home).returncode, 1)

    def test_user_skill_shadows_built_in_with_visible_mark(self):
        home = make_home(with_examples=True)
        builtin = pixie("run-skill", "list-tools", home=home)
        self.assertEqual(builtin.returncode, 0, builtin.stderr)
        self.assertIn("word-count", builtin.stdout)
        write(os.path.join(home, "skills", "list-tools.lua"),
              skill_source("my own list", 'print("mine")'))
        r = pixie("run-skill", "list-tools", home=home)
        self.assertEqual(r.stdout, "mine\n")
        text = pixie("skills", home=home).stdout
        self.assertRegex(text, r"(?m)^list-tools\s+user\s+my own list \(shadows built-in\)$")
        self.assertEqual(listing(home)["list-tools"]["shadows"], "built-in")

    def test_built_in_list_tools_json(self):
        r = pixie("run-skill", "list-tools", "--json", home=make_home(with_examples=True))
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {t["id"]: t for t in json.loads(r.stdout)}
        self.assertEqual(rows["hmac-sign"]["status"], "ok")
        self.assertEqual(rows["hmac-sign"]["name"], "HMAC signer")


class Errors(unittest.TestCase):
    def test_error_is_one_line_without_traceback(self):
        home = make_home()
        write(os.path.join(home, "skills", "boom.lua"), BOOM)
        r = pixie("run-skill", "boom", home=home)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("pixie: skill boom: "), lines[0])
        self.assertIn("boom.lua:3: the flux capacitor is empty", lines[0])
        self.assertNotIn("traceback", r.stderr)

    def test_pixie_debug_adds_the_traceback(self):
        home = make_home()
        write(os.path.join(home, "skills", "boom.lua"), BOOM)
        r = pixie("run-skill", "boom", home=home, env={"PIXIE_DEBUG": "1"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("the flux capacitor is empty", r.stderr)
        self.assertIn("stack traceback:", r.stderr)
        self.assertIn("inner", r.stderr)

    def test_non_table_return_is_one_line_and_listed_broken(self):
        home = make_home()
        write(os.path.join(home, "skills", "nothing.lua"), "local x = 1\n")
        r = pixie("run-skill", "nothing", home=home)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stderr, "pixie: skill nothing did not return a table (got nil)\n")
        row = listing(home)["nothing"]
        self.assertIn("did not return a table", row["error"])
        self.assertIn("BROKEN", pixie("skills", home=home).stdout)

    def test_strict_globals_and_read_only_api_through_the_binary(self):
        home = make_home()
        write(os.path.join(home, "skills", "typo.lua"), skill_source("t", "return pixi.home()"))
        write(os.path.join(home, "skills", "scribble.lua"), skill_source("s", "pixie.fs.read = nil"))
        r = pixie("run-skill", "typo", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("undeclared global 'pixi'", r.stderr)
        r = pixie("run-skill", "scribble", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("pixie API is read-only", r.stderr)

    def test_newer_api_is_refused_naming_both_versions(self):
        home = make_home()
        write(os.path.join(home, "skills", "future.lua"),
              'return { api = 99, summary = "f", run = function() end }')
        r = pixie("run-skill", "future", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs skill API 99", r.stderr)
        self.assertIn("offers skill API 1", r.stderr)

    def test_missing_name_is_usage_error(self):
        r = pixie("run-skill", home=make_home())
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: pixie run-skill", r.stderr)

    def test_unknown_and_invalid_names(self):
        home = make_home()
        for name in ("no-such-skill", "../etc/passwd", "Upper"):
            r = pixie("run-skill", name, home=home)
            self.assertEqual(r.returncode, 1, name)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("pixie skills", r.stderr)
            self.assertEqual(r.stdout, "")


class Help(unittest.TestCase):
    def test_every_listed_skill_has_help(self):
        home = make_home()
        write(os.path.join(home, "skills", "hello.lua"), HELLO)
        write(os.path.join(home, "skills", "boom.lua"), BOOM)
        rows = listing(home)
        self.assertGreaterEqual(len(rows), 3)
        for name, row in rows.items():
            r = pixie("run-skill", name, "--help", home=home)
            self.assertEqual(r.returncode, 0, (name, r.stderr))
            self.assertTrue(r.stdout.startswith("usage: pixie run-skill " + name), r.stdout)
            self.assertIn(row["summary"], r.stdout)

    def test_run_skill_own_help(self):
        r = pixie("run-skill", "--help", home=make_home())
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: pixie run-skill NAME", r.stdout)


class DocsExample(unittest.TestCase):
    def test_example_skill_from_the_docs_runs(self):
        name, source = docs_example()
        home = make_home(with_examples=True)
        write(os.path.join(home, "skills", name + ".lua"), source)
        r = pixie("run-skill", name, home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^hmac-sign\s+ok\s+in=2 out=2 secrets=SIGNING_KEY$")
        self.assertRegex(r.stdout, r"(?m)^word-count\s+ok\s+")
        r = pixie("run-skill", name, "--json", "hmac-sign", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [{
            "id": "hmac-sign", "status": "ok", "inputs": 2, "outputs": 2,
            "secrets": ["SIGNING_KEY"], "has_main": True}])
        r = pixie("run-skill", name, "nope", home=home)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, f"pixie: skill {name}: unknown tool 'nope'\n")
        r = pixie("run-skill", name, "--bogus", home=home)
        self.assertEqual(r.returncode, 2)
        r = pixie("run-skill", name, "--help", home=home)
        self.assertIn("--json", r.stdout)
        self.assertEqual(listing(home)[name]["origin"], "user")


if __name__ == "__main__":
    unittest.main()
