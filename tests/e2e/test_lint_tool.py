"""lint-tool end to end (SPEC §6.2): a fixture tool with one synthetic token
per prefix rule, a high-entropy literal and placeholders; .env mode,
.gitignore coverage (our gitignore(5) evaluation checked against git
check-ignore itself), tracked .env, undeclared keys, declared secrets never
read. Every finding at its file:line, no false positive on placeholders,
exit 1, and no token text in the output. The example tools lint clean."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from pixie_testlib import EXAMPLES, pixie, write


def make_home(name, with_examples=False):
    """A fresh home outside any git work tree (the build tree is inside the
    repository, whose .gitignore would decide for every .env in it)."""
    home = tempfile.mkdtemp(prefix="pixie-lint-%s-" % name)
    os.makedirs(os.path.join(home, "tools"))
    r = subprocess.run(["git", "-C", home, "rev-parse", "--is-inside-work-tree"],
                       capture_output=True)
    assert r.returncode != 0, "the system temp folder lies inside a git work tree"
    if with_examples:
        for tool in os.listdir(os.path.join(EXAMPLES, "tools")):
            shutil.copytree(os.path.join(EXAMPLES, "tools", tool), os.path.join(home, "tools", tool))
    return home

# Synthetic tokens, assembled at run time (no token-shaped literal in the
# repository). Each must be reported by its rule and never printed.
ALNUM = "Q7wE9rT2yU4iO6pA8sD0fG1hJ3kL5zXcVbNm"
TOKENS = [
    ("AWS access key id", "AKIA" + "QWERTYUIOPASDFGH"),
    ("GitHub token", "ghp_" + ALNUM[:36]),
    ("GitHub fine-grained token", "github_pat_" + ALNUM + "_" + ALNUM[:12]),
    ("GitLab token", "glpat-" + ALNUM[:20]),
    ("Anthropic API key", "sk-ant-" + "api03-" + ALNUM),
    ("OpenAI API key", "sk-" + ALNUM + ALNUM[:12]),
    ("Slack token", "xoxb-" + "1234567890-" + ALNUM[:16]),
    ("Stripe live key", "sk_live_" + ALNUM[:24]),
    ("Google API key", "AIza" + ALNUM[:35]),
]
ENTROPY_LITERAL = "q8Zr2LmX9vT4nB7wK1pD"

TOOL_JSON = """{
  "id": "leaky",
  "name": "Leaky",
  "inputs": [],
  "outputs": [{"key": "o", "label": "O", "type": "text"}],
  "secrets": [
    {"key": "API_TOKEN", "description": "used", "required": true},
    {"key": "NEVER_READ", "description": "declared only"}
  ]
}
"""


def main_py():
    lines = ["import os"]
    for i, (_rule, tok) in enumerate(TOKENS):
        lines.append('value_%d = "%s"' % (i, tok))          # lines 2..10
    lines.append("-----BEGIN RSA PRIVATE KEY-----")          # 11
    lines.append('api_secret = "%s"' % ENTROPY_LITERAL)      # 12
    lines.append('password = "changeme-changeme-1"')         # 13 placeholder
    lines.append('api_key = "${API_KEY}"')                   # 14 placeholder
    lines.append('auth_token = "<your key goes here 123>"')  # 15 placeholder
    lines.append('token = os.environ["API_TOKEN"]')          # 16
    return "\n".join(lines) + "\n"


def make_leaky(home):
    d = os.path.join(home, "tools", "leaky")
    write(os.path.join(d, "tool.json"), TOOL_JSON)
    write(os.path.join(d, "main.py"), main_py())
    write(os.path.join(d, ".env"), "API_TOKEN=abc123\nEXTRA_KEY=1\n", 0o644)
    return d


class LintToolTest(unittest.TestCase):
    def setUp(self):
        self.homes = []

    def tearDown(self):
        for h in self.homes:
            shutil.rmtree(h, ignore_errors=True)

    def lint(self, home, *args):
        self.homes.append(home)
        return pixie("run-skill", "lint-tool", *args, home=home)

    def findings(self, home, tool="leaky"):
        p = self.lint(home, tool, "--json")
        report = json.loads(p.stdout)
        return p, [(f["severity"], f["file"], f["line"], f["message"]) for f in report[0]["findings"]]

    def test_fixture_findings_at_file_line_without_token_text(self):
        home = make_home("lint")
        make_leaky(home)
        p, found = self.findings(home)
        self.assertEqual(p.returncode, 1, p.stderr)
        want = [("error", "main.py", i + 2, "hardcoded secret: " + rule)
                for i, (rule, _tok) in enumerate(TOKENS)]
        want.append(("error", "main.py", 11, "hardcoded secret: private key"))
        want.append(("error", "main.py", 12,
                     "hardcoded secret: high-entropy literal assigned to a secret-looking name"))
        want.append(("error", ".env", None, ".env mode is 0644, not 0600"))
        want.append(("error", ".env", None, ".env is not covered by a .gitignore"))
        want.append(("warning", ".env", 2, "key EXTRA_KEY is not declared in tool.json"))
        want.append(("warning", "tool.json", 8,
                     "declared secret NEVER_READ is never read by the tool's code"))
        self.assertEqual(sorted(found, key=repr), sorted(want, key=repr))
        text = self.lint(home, "leaky")
        self.assertEqual(text.returncode, 1)
        self.assertIn("tools/leaky/main.py:12: error", text.stdout)
        for out in (p.stdout + p.stderr, text.stdout + text.stderr):
            for _rule, tok in TOKENS:
                self.assertNotIn(tok, out)
                self.assertNotIn(tok[8:], out)
            self.assertNotIn(ENTROPY_LITERAL, out)
            self.assertNotIn("abc123", out)
        # Stable JSON: the same bytes twice.
        self.assertEqual(self.lint(home, "leaky", "--json").stdout, p.stdout)

    def test_fixed_tool_is_clean_and_examples_lint_clean(self):
        home = make_home("lint-clean", with_examples=True)
        write(os.path.join(home, ".gitignore"), ".env\n")
        p = self.lint(home, "--all")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("error", p.stdout)
        self.assertIn("word-count: clean", p.stdout)

    def test_label_secrets_point_to_migrate_tool_format(self):
        home = make_home("lint-label")
        write(os.path.join(home, "tools", "old", "tool.json"),
              TOOL_JSON.replace('"leaky"', '"old"').replace('"description": "used"', '"label": "used"'))
        p = self.lint(home, "old")
        self.assertEqual(p.returncode, 1)
        self.assertIn("tools/old/tool.json:7: error", p.stdout)
        self.assertIn("migrate-tool-format old", p.stdout)

    def coverage(self, home_ignore, tool_ignore=None):
        """(our verdict, git's verdict) on tools/leaky/.env for these files."""
        home = make_home("lint-gi")
        make_leaky(home)
        os.chmod(os.path.join(home, "tools", "leaky", ".env"), 0o600)
        if home_ignore is not None:
            write(os.path.join(home, ".gitignore"), home_ignore)
        if tool_ignore is not None:
            write(os.path.join(home, "tools", "leaky", ".gitignore"), tool_ignore)
        _p, found = self.findings(home)
        ours = not any(f[3] == ".env is not covered by a .gitignore" for f in found)
        g = subprocess.run(["git", "init", "-q", home], capture_output=True)
        self.assertEqual(g.returncode, 0, g.stderr)
        theirs = subprocess.run(["git", "-C", home, "check-ignore", "-q", "--no-index",
                                 "tools/leaky/.env"]).returncode == 0
        # And in a git work tree, lint-tool asks git itself.
        _p, found = self.findings(home)
        in_git = not any(f[3] == ".env is not covered by a .gitignore" for f in found)
        shutil.rmtree(home)
        return ours, theirs, in_git

    def test_gitignore_coverage_is_judged_the_way_git_judges_it(self):
        cases = [
            (".env\n", None, True),
            ("/.env\n", None, False),                      # anchored to the home
            ("tools/*/.env\n", None, True),                # a middle slash anchors too
            ("**/.env\n", None, True),
            (".env/\n", None, False),                      # directory-only
            (".env\n!.env\n", None, False),                # negation
            ("*.env\n# .env\n", None, True),
            (".env*\n", None, True),
            ("tools/\n", None, True),                      # a parent folder
            ("tools/\n!tools/leaky/.env\n", None, True),   # no re-include inside it
            ("tools/le?ky/.[e]nv\n", None, True),
            (None, ".env\n", True),                        # the tool's own .gitignore
            (".env\n", "!.env\n", False),                  # deeper file overrides
            ("\\!x\n", None, False),
        ]
        for home_ignore, tool_ignore, want in cases:
            with self.subTest(home=home_ignore, tool=tool_ignore):
                ours, theirs, in_git = self.coverage(home_ignore, tool_ignore)
                self.assertEqual(theirs, want, "git's own verdict")
                self.assertEqual(ours, want, "our gitignore(5) evaluation")
                self.assertEqual(in_git, want, "git check-ignore in a work tree")

    def test_tracked_env_is_an_error(self):
        home = make_home("lint-git")
        make_leaky(home)
        os.chmod(os.path.join(home, "tools", "leaky", ".env"), 0o600)
        write(os.path.join(home, ".gitignore"), ".env\n")
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t"}
        subprocess.run(["git", "init", "-q", home], check=True)
        subprocess.run(["git", "-C", home, "add", "-f", "tools/leaky/.env"], check=True,
                       env={**os.environ, **env})
        _p, found = self.findings(home)
        self.assertIn(("error", ".env", None, ".env is tracked by git"), found)
        self.assertNotIn(("error", ".env", None, ".env is not covered by a .gitignore"), found)

    def test_usage(self):
        home = make_home("lint-usage")
        self.assertEqual(self.lint(home).returncode, 2)
        self.assertEqual(self.lint(home, "x", "--all").returncode, 2)
        self.assertEqual(self.lint(home, "nope").returncode, 1)


if __name__ == "__main__":
    unittest.main()
