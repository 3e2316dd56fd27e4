-- The set-secret skill prints pixie.env's refusal as the binding words it
-- (no pattern over another module's message): the true reason, the key,
-- never the value nor its length.
local t = require("harness")
local fs = require("pixie.fs")

local BIN = assert(os.getenv("PIXIE_BIN"), "PIXIE_BIN")
local SRC = assert(os.getenv("PIXIE_SOURCE_DIR"), "PIXIE_SOURCE_DIR")

-- Runs set-secret for hmac-sign in a fresh home with the value in a file;
-- returns the exit status and everything printed.
local function set_secret(value)
  local home = t.tmpdir("set-secret")
  assert(os.execute(("mkdir -p '%s/tools' && cp -r '%s/examples/tools/hmac-sign' '%s/tools/'")
    :format(home, SRC, home)))
  local file = home .. "/value"
  t.write(file, value)
  local p = assert(io.popen(("XDG_CONFIG_HOME='%s/xdg' '%s' --home '%s' run-skill set-secret "
    .. "hmac-sign SIGNING_KEY --from-file '%s' </dev/null 2>&1"):format(home, BIN, home, file)))
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out, home
end

t.test("set_secret_says_why_python_dotenv_could_not_read_the_value_back", function()
  local value = "CANARY-SETSECRET-one\nCANARY-SETSECRET-two\\"
  local code, out, home = set_secret(value)
  t.eq(code, 1)
  t.contains(out, "value of SIGNING_KEY ends with a backslash and has a line break")
  t.contains(out, "python-dotenv could not read it back; refused")
  t.ok(not out:find("UTF-8", 1, true), "not called invalid UTF-8")
  t.ok(not out:find(tostring(#value), 1, true), "never tells the length")
  t.ok(not out:find("CANARY-SETSECRET", 1, true), "never shows the value")
  t.eq(fs.stat(home .. "/tools/hmac-sign/.env"), nil)
end)

t.test("set_secret_refusal_is_the_binding_message_as_is", function()
  local code, out = set_secret("CANARY-SETSECRET-bad\xff")
  t.eq(code, 1)
  t.contains(out, "value of SIGNING_KEY is not valid UTF-8; refused")
  t.ok(not out:find("bytes", 1, true), "no length in any form")
end)

return t.run()
