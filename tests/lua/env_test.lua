-- pixie.env binding and pixie.secrets policy: read/keys/set/unset/quote,
-- messages without values, status rows, missing required secrets.
local t = require("harness")
local env = require("pixie.env")
local secrets = require("pixie.secrets")
local fs = require("pixie.fs")
local config = require("pixie.config")

local CANARY = "CANARY-LUA-ENV-SECRET"

-- A tools/<id> folder with an optional .env text in a fresh home (made the
-- current home); returns the entry.
local function tool(dir_text, secrets_decl)
  local home = t.tmpdir("env")
  assert(config.set_home(home))
  local dir = home .. "/tools/t1"
  assert(fs.mkdirs(dir))
  if dir_text then t.write(dir .. "/.env", dir_text) end
  return { id = "t1", dir = dir, spec = { secrets = secrets_decl or {} } }, home
end

t.test("read_returns_values_and_warnings", function()
  local entry = tool("# c\nA=1\nB\nbad line\nC='x y'\nA=2\n")
  local values, warnings = env.read(secrets.env_path(entry))
  t.eq(values, { A = "2", C = "x y" })
  t.eq(warnings, { "line 4: malformed binding skipped" })
  t.eq(env.keys(secrets.env_path(entry)), { "A", "B", "C" })
end)

t.test("read_interpolates_on_request", function()
  local entry = tool("A=${H}\nB=${A}-${Z:-d}\n")
  local path = secrets.env_path(entry)
  t.eq(env.read(path), { A = "${H}", B = "${A}-${Z:-d}" })
  t.eq(env.read(path, { interpolate = true }), { A = "", B = "-d" })
  t.eq(env.read(path, { interpolate = true, environ = { H = "h" } }), { A = "h", B = "h-d" })
  t.raises(function() env.read(path, { environ = { H = 1 } }) end, "environ")
end)

t.test("read_refuses_an_expansion_that_explodes", function()
  local lines = { "A0=xxxxxxxxxxxxxxxx" }
  for i = 1, 40 do lines[#lines + 1] = ("A%d=${A%d}${A%d}"):format(i, i - 1, i - 1) end
  local entry = tool(table.concat(lines, "\n") .. "\n")
  local path = secrets.env_path(entry)
  t.eq(env.read(path).A40, "${A39}${A39}") -- not interpolated: read as written
  local v, msg, code = env.read(path, { interpolate = true })
  t.eq(v, nil)
  t.contains(msg, "expand to more than 8 MiB")
  t.eq(code, 7) -- E2BIG
end)

t.test("read_missing_and_symlink_fail_with_code", function()
  local entry = tool(nil)
  local v, msg, code = env.read(secrets.env_path(entry))
  t.eq(v, nil)
  t.eq(code, 2)
  t.contains(msg, ".env")
end)

t.test("set_unset_round_trip_and_mode", function()
  local entry = tool("# keep\nA='one'\n")
  local path = secrets.env_path(entry)
  local ok, warnings = env.set(path, "K", CANARY)
  t.eq(ok, true)
  t.eq(warnings, {})
  t.eq(env.read(path).K, CANARY)
  t.eq(fs.stat(path).mode, 384) -- 0600
  t.eq(fs.read(path), "# keep\nA='one'\nK=\"" .. CANARY .. "\"\n")
  local _, w = env.set(path, "D", "x${Y}")
  t.contains(w[1], "'${'")
  t.eq(select(2, env.unset(path, "K")), 1)
  t.eq(select(2, env.unset(path, "K")), 0)
  t.eq(env.read(path).K, nil)
end)

t.test("set_refusals_name_the_key_never_the_value_or_its_length", function()
  local entry = tool("")
  local path = secrets.env_path(entry)
  local v, msg, code = env.set(path, "K", CANARY .. "\0")
  t.eq(v, nil)
  t.ok(code and code > 0, "code")
  t.eq(msg, "value of K contains a NUL byte; refused")
  t.ok(not msg:find(CANARY, 1, true), "message holds no value")
  v, msg = env.set(path, "K", CANARY .. "\xff")
  t.eq(v, nil)
  t.contains(msg, "UTF-8")
  t.ok(not msg:find(CANARY, 1, true), "message holds no value")
  t.raises(function() env.set(path, "1BAD", "v") end, "key must match")
  t.raises(function() env.unset(path, "A-B") end, "key must match")
end)

t.test("set_refuses_escaping_tool_folder", function()
  local entry, home = tool(nil)
  local outside = t.tmpdir("outside")
  assert(os.execute(("ln -s '%s' '%s/tools/evil'"):format(outside, home)))
  local v, msg = env.set(home .. "/tools/evil/.env", "K", CANARY, { tools_root = home .. "/tools" })
  t.eq(v, nil)
  t.contains(msg, "outside the tools folder")
  t.eq(fs.stat(outside .. "/.env"), nil)
  t.ok(env.set(secrets.env_path(entry), "K", CANARY, { tools_root = home .. "/tools" }))
end)

t.test("quote_writes_the_python_dotenv_dialect", function()
  t.eq(env.quote('a"b\\c\nd'), '"a\\"b\\\\c\\nd"')
  t.eq(select(2, env.quote("${X}")), true)
  t.eq(env.quote("a\0b"), nil)
end)

t.test("status_rows_and_undeclared_keys", function()
  local decl = {
    { key = "API_KEY", description = "api", required = true },
    { key = "DB_URL", description = "db", required = true },
    { key = "OPTIONAL", description = "opt" },
    { key = "EMPTY", description = "empty", required = true },
  }
  local entry = tool("API_KEY=" .. CANARY .. "\nEXTRA=1\nEMPTY=\nLONELY\n", decl)
  local rows, undeclared, err = secrets.status(entry)
  t.eq(err, nil)
  t.eq(rows, {
    { key = "API_KEY", description = "api", required = true, status = "set" },
    { key = "DB_URL", description = "db", required = true, status = "not_set" },
    { key = "OPTIONAL", description = "opt", required = false, status = "not_set" },
    { key = "EMPTY", description = "empty", required = true, status = "not_set" },
  })
  t.eq(undeclared, { "EXTRA", "LONELY" })
  t.eq(secrets.missing_required(entry), { "DB_URL", "EMPTY" })
end)

t.test("status_without_env_file", function()
  local entry = tool(nil, { { key = "A", description = "a", required = true } })
  local rows, undeclared, err = secrets.status(entry)
  t.eq(err, nil)
  t.eq(rows[1].status, "not_set")
  t.eq(undeclared, {})
  t.eq(secrets.missing_required(entry), { "A" })
end)

t.test("values_read_or_set_are_masked", function()
  local mask = require("pixie.mask")
  local entry = tool("READ_ONE=CANARY-READ-ONE-SECRET\nMULTI=\"CANARY-LINE-A\nCANARY-LINE-B\"\n")
  local path = secrets.env_path(entry)
  t.eq(mask.scrub("x CANARY-READ-ONE-SECRET y"), "x CANARY-READ-ONE-SECRET y")
  assert(env.keys(path))
  t.eq(mask.scrub("x CANARY-READ-ONE-SECRET y"), "x *** y")
  t.eq(mask.scrub("CANARY-LINE-A"), "***")
  t.eq(mask.scrub("[CANARY-SET-ONLY-SECRET]"), "[CANARY-SET-ONLY-SECRET]")
  assert(env.set(path, "S", "CANARY-SET-ONLY-SECRET"))
  t.eq(mask.scrub("[CANARY-SET-ONLY-SECRET]"), "[***]")
  -- a refused value is registered too (it was handed to Pixie)
  assert(not env.set(path, "S", "CANARY-REFUSED-SECRET\0"))
  t.eq(mask.scrub("<CANARY-REFUSED-SECRET\0>"), "<***>")
  -- interpolated results are registered as well
  t.write(path, "I=${P}-CANARY-TAIL\n")
  assert(env.read(path, { interpolate = true, environ = { P = "pre" } }))
  t.eq(mask.scrub("pre-CANARY-TAIL"), "***")
end)

return t.run()
