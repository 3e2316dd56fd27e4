"""`pixie skills --export-claude DIR`: Claude Code wrappers for every skill.

Front matter is parsed with PyYAML when the interpreter has it; otherwise
with parse_front_matter_strict below, a strict parser for exactly the subset
the exporter emits (a bare `name`, a double-quoted `description` with YAML's
escapes), which rejects anything else."""
import json
import os
import re
import unittest

from pixie_testlib import TMP_BASE, make_home, pixie, write

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the interpreter
    yaml = None

BUILT_INS = ["import-tool", "lint-tool", "list-tools", "migrate-tool-format", "set-secret", "share-tool"]

# A summary and usage built to break naive front matter: colons, both quotes,
# newlines and a `---` line, YAML indicators, backslashes, a tab, C1 NEL,
# U+2028, a BOM, invalid UTF-8 and a Markdown fence.
HOSTILE_SUMMARY = (
    '```\n---\nkey: value "quoted" \'single\'\\n\n---\nname: evil\n# not a comment & *alias !tag %x @y `z`'
    ' {a: [b]} | > \\ \t tab \u0085nel \u2028ls \ufeffbom <BAD> end\n```\n---')
HOSTILE_BYTES = HOSTILE_SUMMARY.encode().replace(b"<BAD>", b"\xff\xfe")  # not UTF-8
HOSTILE_SKILL = """
return {
  api = 1,
  summary = %s,
  usage = "pixie run-skill hostile <x>\\n---\\ndescription: \\"owned\\"",
  run = function() return 0 end,
}
"""

# Phrases that would have the agent take a secret's value in the chat.
ACCEPT_VALUE = re.compile(
    r"paste|send (me|it|the)|tell me (the|your)|give me (the|your)|share (it|the|your)|reply with"
    r"|provide (the|your)|(type|enter|write) (it|the value|your) (here|below)|in (the|this) chat"
    r"|in your (reply|message|answer)|what is (the|your) (value|key|secret|token)",
    re.I)


def lua_string(data):
    """A Lua string literal holding the bytes `data`."""
    raw = data
    return '"' + "".join(f"\\{b}" if (b < 0x20 or b in (0x22, 0x5C) or b > 0x7E) else chr(b)
                         for b in raw) + '"'


YAML_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "0": "\0", "L": "\u2028",
                "P": "\u2029", "N": "\u0085", "_": "\u00a0", "/": "/", " ": " "}


def parse_front_matter_strict(text):
    """name: bare word, description: one double-quoted scalar; else raises."""
    lines = text.split("\n")
    if len(lines) != 2:
        raise ValueError("expected exactly name and description")
    m = re.fullmatch(r"name: ([a-z0-9][a-z0-9-]*)", lines[0])
    d = re.fullmatch(r'description: "((?:[^"\\\x00-\x1f\x7f]|\\.)*)"', lines[1])
    if not m or not d:
        raise ValueError("front matter outside the emitted subset")
    out, body, i = [], d.group(1), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        width = {"x": 2, "u": 4, "U": 8}.get(e)
        if width:
            out.append(chr(int(body[i + 2:i + 2 + width], 16)))
            i += 2 + width
        else:
            out.append(YAML_ESCAPES[e])
            i += 2
    return {"name": m.group(1), "description": "".join(out)}


def split_skill_md(path):
    """(front matter dict, markdown body) of a SKILL.md; asserts the shape."""
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")  # strict: the file is valid UTF-8
    assert text.startswith("---\n"), path
    end = text.index("\n---\n", 3)
    header, body = text[4:end], text[end + 5:]
    meta = yaml.safe_load(header) if yaml else parse_front_matter_strict(header)
    assert isinstance(meta, dict) and set(meta) == {"name", "description"}, meta
    assert all(isinstance(v, str) for v in meta.values()), meta
    assert len(meta["description"]) <= 1024 and "\n" not in meta["description"]
    fences = [line for line in body.split("\n") if line.startswith(("```", "~~~"))]
    assert body.strip() and len(fences) % 2 == 0, path
    return meta, body


def export(home, out_dir):
    return pixie("skills", "--export-claude", out_dir, home=home)


class ExportClaude(unittest.TestCase):
    def setUp(self):
        self.home = make_home("claude")
        self.out = os.path.join(self.home, "claude-skills")

    def test_every_skill_is_exported_as_front_matter_and_markdown(self):
        write(os.path.join(self.home, "skills", "my_skill.lua"),
              'return { api = 1, summary = "mine", run = function() end }')
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        names = sorted(os.listdir(self.out))
        self.assertEqual(names, sorted(BUILT_INS + ["my-skill"]))
        for name in names:
            meta, body = split_skill_md(os.path.join(self.out, name, "SKILL.md"))
            self.assertEqual(meta["name"], name)
            self.assertIn("Pixie skill", meta["description"])
            skill = "my_skill" if name == "my-skill" else name
            self.assertIn(f"pixie --home {self.home} run-skill {skill}", body)
        meta, _ = split_skill_md(os.path.join(self.out, "share-tool", "SKILL.md"))
        self.assertIn("pixie run-skill share-tool <tool-id>", meta["description"])

    def test_hostile_summary_still_yields_valid_front_matter(self):
        write(os.path.join(self.home, "skills", "hostile.lua"), HOSTILE_SKILL % lua_string(HOSTILE_BYTES))
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        meta, body = split_skill_md(os.path.join(self.out, "hostile", "SKILL.md"))
        self.assertEqual(meta["name"], "hostile")
        desc = meta["description"]
        self.assertTrue(desc.startswith("Pixie skill hostile: ``` --- key: value"), desc)
        for piece in ['key: value "quoted" \'single\'\\n', "--- name: evil", "# not a comment & *alias",
                      "{a: [b]} | > \\", "\\xFF\\xFE end", 'description: "owned"']:
            self.assertIn(piece, desc)
        self.assertNotIn("\u2028", desc)
        self.assertNotIn("\u0085", desc)
        # the body keeps the summary on one line: no line of it closes or opens anything
        self.assertNotIn("\nname: evil", body)
        self.assertFalse(re.search(r"^---$", body, re.M), "a bare --- line in the body")

    def test_set_secret_wrapper_keeps_the_value_out_of_the_conversation(self):
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        meta, body = split_skill_md(os.path.join(self.out, "set-secret", "SKILL.md"))
        self.assertIn("OPENAI_API_KEY for whisper-transcription", meta["description"])
        self.assertIn(f"pixie --home {self.home} run-skill set-secret <tool-id> <KEY>\n", body)
        self.assertIn("http://127.0.0.1:7860/tool/<tool-id>/settings", body)
        self.assertIn("hidden prompt", body)
        self.assertIn("own terminal", body)
        self.assertIn("report only the status", body)
        whole = meta["description"] + "\n" + body
        self.assertIsNone(ACCEPT_VALUE.search(whole), ACCEPT_VALUE.search(whole))
        # no command line in it carries a value: set-secret lines end at <KEY> or --clear
        for line in body.splitlines():
            if "run-skill set-secret" in line:
                self.assertRegex(line.strip().strip("`"), r"set-secret <tool-id> <KEY>( --clear)?$")

    def test_re_export_is_idempotent(self):
        self.assertEqual(export(self.home, self.out).returncode, 0)
        before = {}
        for name in os.listdir(self.out):
            path = os.path.join(self.out, name, "SKILL.md")
            with open(path, "rb") as f:
                before[name] = (f.read(), os.stat(path).st_mtime_ns, os.stat(path).st_ino)
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"({0} written, {len(BUILT_INS)} unchanged)", r.stdout)
        after = {}
        for name in os.listdir(self.out):
            path = os.path.join(self.out, name, "SKILL.md")
            with open(path, "rb") as f:
                after[name] = (f.read(), os.stat(path).st_mtime_ns, os.stat(path).st_ino)
        self.assertEqual(before, after)
        self.assertEqual(sorted(os.listdir(os.path.join(self.out, "set-secret"))), ["SKILL.md"])

    def test_a_changed_summary_is_rewritten(self):
        path = os.path.join(self.home, "skills", "mine.lua")
        write(path, 'return { api = 1, summary = "first", run = function() end }')
        self.assertEqual(export(self.home, self.out).returncode, 0)
        write(path, 'return { api = 1, summary = "second", run = function() end }')
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("(1 written,", r.stdout)
        meta, _ = split_skill_md(os.path.join(self.out, "mine", "SKILL.md"))
        self.assertIn("second", meta["description"])

    def test_symlinks_in_dir_are_not_followed(self):
        outside = os.path.join(self.home, "outside")
        os.makedirs(outside)
        victim = os.path.join(self.home, "victim.txt")
        write(victim, "untouched\n")
        os.makedirs(os.path.join(self.out, "lint-tool"))
        os.symlink(outside, os.path.join(self.out, "share-tool"))
        os.symlink(victim, os.path.join(self.out, "lint-tool", "SKILL.md"))
        os.symlink(os.path.join(outside, "made"), os.path.join(self.out, "list-tools"))  # dangling
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 1)
        for name in ("share-tool", "lint-tool", "list-tools"):
            self.assertRegex(r.stderr, rf"skill {name}: .*is a symlink; refused")
        self.assertEqual(os.listdir(outside), [])
        with open(victim) as f:
            self.assertEqual(f.read(), "untouched\n")
        self.assertTrue(os.path.islink(os.path.join(self.out, "lint-tool", "SKILL.md")))
        # the others are still exported
        split_skill_md(os.path.join(self.out, "set-secret", "SKILL.md"))

    def test_a_skill_md_pixie_did_not_write_is_kept(self):
        path = os.path.join(self.out, "share-tool", "SKILL.md")
        write(path, "---\nname: share-tool\ndescription: mine\n---\nhand written\n")
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not generated by Pixie", r.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), "---\nname: share-tool\ndescription: mine\n---\nhand written\n")

    def test_nothing_is_written_outside_dir_for_invalid_names(self):
        write(os.path.join(self.home, "skills", "Bad Name.lua"),
              'return { api = 1, summary = "x", run = function() end }')
        write(os.path.join(self.home, "skills", "..evil.lua"),
              'return { api = 1, summary = "x", run = function() end }')
        r = export(self.home, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.out)), sorted(BUILT_INS))
        self.assertEqual(sorted(os.listdir(self.home)), sorted(["tools", "skills", "claude-skills"]))

    def test_skills_json_is_utf8_whatever_the_summary_holds(self):
        write(os.path.join(self.home, "skills", "hostile.lua"), HOSTILE_SKILL % lua_string(HOSTILE_BYTES))
        r = pixie("skills", "--json", home=self.home)  # decoding as UTF-8 raises on a bad byte
        self.assertEqual(r.returncode, 0, r.stderr)
        row = [x for x in json.loads(r.stdout) if x["name"] == "hostile"][0]
        self.assertIn("\\xFF\\xFE end", row["summary"])

    def test_json_and_export_together_is_a_usage_error(self):
        r = pixie("skills", "--json", "--export-claude", os.path.join(TMP_BASE, "x"), home=self.home)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
