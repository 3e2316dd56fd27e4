"""Masking through the binary: what a skill prints (print, io.write through
pixie.out, pixie.log, its error message) never shows a secret that was
registered with pixie.mask.add or read from a tool's .env with pixie.env;
pixie.log lines land masked in <home>/logs/pixie.log, mode 0600; a file a
skill writes with pixie.fs.write_atomic is masked too."""
import os
import stat
import subprocess
import unittest

from pixie_testlib import make_home, pixie, write

CANARY = "CANARY/E2E-MASK-7f3a9c-SECRET"
ENV_CANARY = "CANARY-DOTENV-b81e44-SECRET"

LEAKY = """
return {
  api = 1,
  summary = "prints secrets every way it can",
  run = function(args)
    pixie.mask.add(args[1])
    local values = pixie.env.read(pixie.home() .. "/tools/demo/.env")
    local env_secret = values.API_KEY
    print("print:", args[1], env_secret)
    pixie.log.info("log:", args[1], env_secret)
    pixie.log.warn("url form: " .. args[1]:gsub("/", "%%2F"))
    error("failed with " .. args[1] .. " and " .. env_secret)
  end,
}
"""


class MaskedOutput(unittest.TestCase):
    def test_skill_output_log_and_errors_are_masked(self):
        home = make_home("mask")
        write(os.path.join(home, "tools", "demo", ".env"), f'API_KEY="{ENV_CANARY}"\n', mode=0o600)
        write(os.path.join(home, "skills", "leaky.lua"), LEAKY)
        r = pixie("run-skill", "leaky", CANARY, home=home)
        self.assertEqual(r.returncode, 1, r.stderr)
        for secret in (CANARY, ENV_CANARY):
            self.assertNotIn(secret, r.stdout)
            self.assertNotIn(secret, r.stderr)
        self.assertIn("print:\t***\t***", r.stdout)
        self.assertIn("INFO  lua: log: *** ***", r.stderr)
        self.assertIn("failed with *** and ***", r.stderr)
        self.assertNotIn(CANARY.replace("/", "%2F"), r.stderr)  # a derived form
        self.assertIn("WARN  lua: url form: ***", r.stderr)
        log_path = os.path.join(home, "logs", "pixie.log")
        self.assertEqual(stat.S_IMODE(os.stat(log_path).st_mode), 0o600)
        with open(log_path, encoding="utf-8") as f:
            log = f.read()
        self.assertIn("lua: log: *** ***", log)
        self.assertNotIn(CANARY, log)
        self.assertNotIn(ENV_CANARY, log)

    def test_a_file_a_skill_writes_is_masked(self):
        home = make_home("mask-file")
        write(os.path.join(home, "skills", "dump.lua"),
              'return { api = 1, summary = "writes a secret to a file", run = function(args)\n'
              '  pixie.mask.add(args[1])\n'
              '  assert(pixie.fs.write_atomic(args[2], "token=" .. args[1] .. "\\n", 384))\n'
              'end }\n')
        target = os.path.join(home, "shared.txt")
        r = pixie("run-skill", "dump", CANARY, target, home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"token=***\n")

    def test_log_threshold_hides_info_from_stderr_but_not_the_file(self):
        home = make_home("mask-level")
        write(os.path.join(home, "skills", "talk.lua"),
              'return { api = 1, summary = "s", run = function() pixie.log.info("quiet line")'
              ' pixie.log.error("loud line") end }')
        r = pixie("run-skill", "talk", home=home, env={"PIXIE_LOG_LEVEL": "error"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("quiet line", r.stderr)
        self.assertIn("ERROR lua: loud line", r.stderr)
        with open(os.path.join(home, "logs", "pixie.log"), encoding="utf-8") as f:
            log = f.read()
        self.assertIn("INFO  lua: quiet line", log)
        self.assertIn("ERROR lua: loud line", log)

    def test_uncaught_error_reported_by_the_host_is_masked(self):
        home = make_home("mask-host")
        script = os.path.join(home, "boom.lua")
        write(script, f'require("pixie.mask").add("{CANARY}")\n'
                      f'error("uncaught: {CANARY}")\n')
        lua_test = os.path.join(os.environ.get("PIXIE_BUILD_DIR", ""), "tests", "pixie_lua_test")
        r = subprocess.run([lua_test, script], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("uncaught: ***", r.stderr)
        self.assertNotIn(CANARY, r.stderr)

    def test_commands_that_log_nothing_create_no_log(self):
        home = make_home("mask-nolog")
        r = pixie("tools", home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(home, "logs")))


if __name__ == "__main__":
    unittest.main()
