-- The home and the facts derived from it (lua/pixie/config.lua): a home
-- that cannot be used is `nil, message` for every caller, never a raise
-- (a request thread may ask); the tools root every .env operation is
-- contained in is config.tools_dir(), never a pattern over a tool's path.
--
-- The first tests run before any home is chosen, with PIXIE_HOME pointing
-- at a folder that does not exist: keep them first.
local t = require("harness")
local api = require("pixie.api")
local childenv = require("pixie.childenv")
local config = require("pixie.config")
local fs = require("pixie.fs")
local runs = require("pixie.runs")
local secrets = require("pixie.secrets")
local skills = require("pixie.skills")
local toolspec = require("pixie.toolspec")
local tools = require("pixie.tools")

local IO = [=["inputs": [{"key": "text", "label": "Text", "type": "text", "default": "x"}],
  "outputs": [{"key": "value", "label": "Value", "type": "text"}]]=]
local MISSING_HOME = t.tmpdir("home-missing") .. "/not-there"

-- Runs fn with os.getenv("PIXIE_HOME") answering `value`.
local function with_pixie_home(value, fn)
  local real = os.getenv
  os.getenv = function(name) -- luacheck: ignore 122
    if name == "PIXIE_HOME" then return value end
    return real(name)
  end
  local ok, err = pcall(fn)
  os.getenv = real -- luacheck: ignore 122
  if not ok then error(err, 0) end
end

-- Calls fn, asserting it returns (not raises) nil and a message naming the
-- missing home.
local function refuses(what, fn)
  local ok, value, message = pcall(fn)
  t.ok(ok, what .. " does not raise (" .. tostring(value) .. ")")
  t.eq(value, nil, what)
  t.contains(message, "not-there", what)
end

t.test("home_and_its_folders_are_nil_message_when_the_home_cannot_be_used", function()
  with_pixie_home(MISSING_HOME, function()
    refuses("home", config.home)
    refuses("tools_dir", config.tools_dir)
    refuses("skills_dir", config.skills_dir)
    refuses("logs_dir", config.logs_dir)
    refuses("db_path", config.db_path)
    refuses("ensure_gitignore", config.ensure_gitignore)
    local _, message = config.home()
    t.contains(message, "No such file or directory", "the reason comes from the errno")
  end)
end)

t.test("callers_of_the_home_propagate_its_failure", function()
  with_pixie_home(MISSING_HOME, function()
    local list, problem = tools.list()
    t.eq(list, {}, "no tools")
    t.contains(problem, "not-there", "tools.list")
    refuses("tools.get", function() return tools.get("x") end)
    refuses("skills.find", function() return skills.find("list-tools") end)
    local none, problems = skills.list()
    t.eq(none, {}, "no skills")
    t.contains(problems[1], "not-there", "skills.list")
    refuses("pixie.home", function() return api.get().home() end)
    refuses("pixie.tools.dir", function() return api.get().tools.dir() end)
    refuses("pixie.db.query", function() return api.get().db.query("SELECT 1") end)
    refuses("childenv.read_dotenv", function() return childenv.read_dotenv("/nowhere/tools/x") end)
    local rows, _, err = secrets.status({ id = "x", dir = "/nowhere/tools/x", spec = {} })
    t.eq(rows, {}, "no rows")
    t.contains(err, "not-there", "secrets.status")
  end)
end)

t.test("a_run_without_a_usable_home_is_a_problem_not_a_raise", function()
  local spec = assert(toolspec.parse('{"id": "demo", "name": "Demo", ' .. IO .. '}', "demo"))
  local entry = { id = "demo", folder = "demo", dir = "/nowhere/tools/demo", status = "ok",
                  spec = spec, errors = {}, warnings = {} }
  with_pixie_home(MISSING_HOME, function()
    local ok, record, problem = pcall(runs.execute, entry, {})
    t.ok(ok, "execute does not raise (" .. tostring(record) .. ")")
    t.eq(record, nil)
    t.eq(problem.kind, "home")
    t.contains(problem.message, "not-there")
  end)
end)

-- A home whose path would trip a pattern: a parent folder named "tools",
-- and '%', '-', '.' in its name. Returns home, entry of tools/t1.
local function odd_home()
  local home = t.tmpdir("home-odd") .. "/tools/a%b-c.d/tools.x"
  assert(fs.mkdirs(home .. "/tools/t1"))
  t.write(home .. "/tools/t1/tool.json", '{"id": "t1", "name": "T1", ' .. IO .. ', '
    .. '"secrets": [{"key": "API_KEY", "description": "k", "required": true}]}')
  t.write(home .. "/tools/t1/.env", "API_KEY=CANARY-HOME-ODD-SECRET\n")
  assert(config.set_home(home))
  tools.clear_cache()
  return home, assert(tools.get("t1"))
end

t.test("the_tools_root_of_an_odd_home_path_is_the_homes_tools_folder", function()
  local home, entry = odd_home()
  t.eq(entry.status, "ok", table.concat(entry.errors, "; "))
  t.eq(config.tools_dir(), fs.realpath(home) .. "/tools")
  t.eq(api.get().tools.dir(), config.tools_dir())
  local rows, _, err = secrets.status(entry)
  t.eq(err, nil)
  t.eq(rows[1].status, "set")
  t.eq(secrets.missing_required(entry), {})
  local values, verr = childenv.read_dotenv(entry.dir)
  t.ok(values, verr)
  t.ok(values.API_KEY ~= nil, "the .env was read")
end)

t.test("a_tool_folder_outside_the_homes_tools_folder_is_refused", function()
  local home = odd_home()
  -- A hand-made entry (a skill can pass any table) for a folder beside
  -- tools/: the containment root is the home's tools folder, not the
  -- entry's parent folder.
  local outside = home .. "/elsewhere/t2"
  t.write(outside .. "/.env", "API_KEY=CANARY-HOME-OUTSIDE-SECRET\n")
  local entry = { id = "t2", dir = outside,
                  spec = { secrets = { { key = "API_KEY", required = true } } } }
  local rows, _, err = secrets.status(entry)
  t.contains(err, "outside the tools folder", "secrets.status")
  t.eq(rows[1].status, "not_set")
  local values, verr = childenv.read_dotenv(outside)
  t.eq(values, nil)
  t.contains(verr, "outside the tools folder", "childenv.read_dotenv")
end)

t.test("a_missing_env_still_reads_as_empty", function()
  local home = odd_home()
  assert(fs.mkdirs(home .. "/tools/t3"))
  local entry = { id = "t3", dir = home .. "/tools/t3",
                  spec = { secrets = { { key = "K", required = true } } } }
  local rows, undeclared, err = secrets.status(entry)
  t.eq(err, nil, "a missing .env is no error")
  t.eq(undeclared, {})
  t.eq(rows[1].status, "not_set")
  t.eq(childenv.read_dotenv(entry.dir), {})
end)

return t.run()
