-- The skill loader and runner (lua/pixie/skills.lua) and the read-only
-- pixie API (lua/pixie/api.lua).
local t = require("harness")
local api = require("pixie.api")
local config = require("pixie.config")
local skills = require("pixie.skills")

-- A fresh home and config folder; returns home, config skills dir, roots.
local function setup(name)
  local base = t.tmpdir("skills-" .. name)
  local home = base .. "/home"
  local conf = base .. "/xdg/pixie/skills"
  t.write(home .. "/tools/.keep", "")
  t.write(conf .. "/.keep", "")
  assert(config.set_home(home))
  return home, conf, skills.roots({ home = home, config_dir = conf })
end

local function skill_source(summary, body)
  return ("return { api = 1, summary = %q, run = function(args) %s end }"):format(summary, body or "")
end

-- Loads skill `name` from roots; returns the skill table (asserting success).
local function load_ok(name, roots)
  local entry = assert(skills.find(name, roots))
  local skill, err = skills.load(entry)
  t.ok(skill, err)
  return skill, entry
end

local function load_err(name, roots)
  local entry = assert(skills.find(name, roots))
  local skill, err = skills.load(entry)
  t.eq(skill, nil, "load should fail")
  return err
end

t.test("search order: user, then config, then built-in", function()
  local home, conf, roots = setup("order")
  local entry = assert(skills.find("list-tools", roots))
  t.eq(entry.origin, "built-in")
  t.eq(entry.shadows, nil)
  t.write(conf .. "/list-tools.lua", skill_source("config copy"))
  entry = assert(skills.find("list-tools", roots))
  t.eq(entry.origin, "config")
  t.eq(entry.shadows, "built-in")
  t.eq(entry.path, conf .. "/list-tools.lua")
  t.write(home .. "/skills/list-tools.lua", skill_source("user copy"))
  entry = assert(skills.find("list-tools", roots))
  t.eq(entry.origin, "user")
  t.eq(entry.shadows, "config")
  t.eq(load_ok("list-tools", roots).summary, "user copy")
end)

t.test("name.lua and name/init.lua; the file wins in one folder", function()
  local home, _, roots = setup("forms")
  t.write(home .. "/skills/dirskill/init.lua", skill_source("folder form"))
  local skill, entry = load_ok("dirskill", roots)
  t.eq(skill.summary, "folder form")
  t.eq(entry.folder, home .. "/skills/dirskill")
  t.write(home .. "/skills/dirskill.lua", skill_source("file form"))
  t.eq(load_ok("dirskill", roots).summary, "file form")
end)

t.test("listing: every skill with origin, shadow mark and load errors", function()
  local home, conf, roots = setup("list")
  t.write(home .. "/skills/list-tools.lua", skill_source("mine"))
  t.write(home .. "/skills/good.lua", skill_source("a good one"))
  t.write(home .. "/skills/broken.lua", "return {")
  t.write(home .. "/skills/Bad_Name.lua", skill_source("bad name"))
  t.write(home .. "/skills/notes.txt", "not a skill")
  t.write(home .. "/skills/.hidden.lua", skill_source("hidden"))
  t.write(home .. "/skills/trap.lua",
    "return setmetatable({}, { __index = function() error('no fields here') end })")
  t.write(conf .. "/from-config/init.lua", skill_source("configured"))
  local by = {}
  for _, s in ipairs(skills.list(roots)) do by[s.name] = s end
  t.eq(by["list-tools"].origin, "user")
  t.eq(by["list-tools"].shadows, "built-in")
  t.eq(by["list-tools"].summary, "mine")
  t.eq(by.good.summary, "a good one")
  t.eq(by.good.shadows, nil)
  t.eq(by["from-config"].origin, "config")
  t.contains(by.broken.error, "skill broken:")
  t.contains(by["Bad_Name"].error, "invalid skill name")
  t.eq(by["notes"], nil)
  t.eq(by[".hidden"], nil)
  t.contains(by.trap.error, "no fields here")
  t.eq(by["notes.txt"], nil)
end)

t.test("skill names that could build odd paths are refused", function()
  local _, _, roots = setup("names")
  for _, bad in ipairs({ "", "../x", "a/b", "-x", "_x", "X", "a.b", "a b", ("a"):rep(65) }) do
    local entry, err = skills.find(bad, roots)
    t.eq(entry, nil, bad)
    t.contains(err, "invalid skill name", bad)
  end
  t.ok(skills.valid_name("a-b_9"), "a-b_9")
end)

t.test("strict globals: reading or writing an undeclared global raises", function()
  local home, _, roots = setup("strict")
  t.write(home .. "/skills/reader.lua", skill_source("r", "return undefined_thing"))
  t.write(home .. "/skills/writer.lua", skill_source("w", "oops = 1"))
  t.write(home .. "/skills/reassign.lua", skill_source("a", "print = nil"))
  t.write(home .. "/skills/toplevel.lua", "local x = missing_at_load\n" .. skill_source("t"))
  t.raises(function() load_ok("reader", roots).run({}) end, "undeclared global 'undefined_thing'")
  t.raises(function() load_ok("writer", roots).run({}) end, "undeclared global 'oops'")
  t.raises(function() load_ok("reassign", roots).run({}) end, "cannot assign to global 'print'")
  t.contains(load_err("toplevel", roots), "undeclared global 'missing_at_load'")
end)

t.test("sandbox: allow-listed globals only", function()
  local home, _, roots = setup("sandbox")
  local probe = [[
    local found = {}
    for _, name in ipairs(args) do
      local ok = pcall(function() return _G[name] end)
      found[#found + 1] = name .. "=" .. tostring(ok)
    end
    return table.concat(found, ",")
  ]]
  t.write(home .. "/skills/probe.lua", ("return { api = 1, summary = 'p', run = function(args) %s end }"):format(probe))
  local run = load_ok("probe", roots).run
  t.eq(run({ "load", "loadfile", "dofile", "debug", "package", "collectgarbage" }),
    "load=false,loadfile=false,dofile=false,debug=false,package=false,collectgarbage=false")
  t.eq(run({ "pairs", "string", "table", "math", "utf8", "os", "io", "pixie", "require", "print" }),
    "pairs=true,string=true,table=true,math=true,utf8=true,os=true,io=true,pixie=true,require=true,print=true")
  t.write(home .. "/skills/libs.lua", skill_source("l", [[
    local seen = {}
    for _, n in ipairs({ "execute", "remove", "rename", "exit", "tmpname", "getenv", "time" }) do
      seen[#seen + 1] = n .. "=" .. type(os[n])
    end
    for _, n in ipairs({ "open", "popen", "output", "read", "write" }) do
      seen[#seen + 1] = n .. "=" .. type(io[n])
    end
    string.upper = nil
    return table.concat(seen, ",")
  ]]))
  t.eq(load_ok("libs", roots).run({}),
    "execute=nil,remove=nil,rename=nil,exit=nil,tmpname=nil,getenv=function,time=function,"
    .. "open=nil,popen=nil,output=nil,read=function,write=function")
  t.eq(string.upper("x"), "X", "a skill's string table is its own copy")
end)

t.test("require: pixie modules, and a folder skill's own modules only", function()
  local home, _, roots = setup("require")
  t.write(home .. "/skills/single.lua", skill_source("s", [[
    if args[1] == "pixie" then return require("pixie") == pixie end
    if args[1] == "fs" then return require("pixie.fs") == pixie.fs end
    return require(args[1])
  ]]))
  local run = load_ok("single", roots).run
  t.eq(run({ "pixie" }), true)
  t.eq(run({ "fs" }), true)
  t.raises(function() run({ "os" }) end, "a single-file skill can require only 'pixie' modules")
  t.raises(function() run({ "pixie.nope" }) end, "not part of the pixie API")
  t.write(home .. "/skills/multi/init.lua", [[
    local util = require("util")
    local deep = require("lib.deep")
    return { api = 1, summary = "m", run = function(args)
      if args[1] then return require(args[1]) end
      return util.twice(deep.value) .. ":" .. tostring(require("util") == util)
    end }
  ]])
  t.write(home .. "/skills/multi/util.lua", "return { twice = function(x) return x .. x end }")
  t.write(home .. "/skills/multi/lib/deep.lua", "return { value = 'ab' }")
  t.write(home .. "/skills/multi/loop.lua", "return require('loop')")
  t.write(home .. "/skills/multi/leak.lua", "leaked = true")
  t.write(home .. "/skills/multi/fails.lua", "error('module body failed')")
  run = load_ok("multi", roots).run
  t.eq(run({}), "abab:true")
  t.raises(function() run({ "../single" }) end, "not a valid module name")
  t.raises(function() run({ "init" }) end, "not a valid module name")
  t.raises(function() run({ "missing" }) end, "module not found in the skill folder")
  t.raises(function() run({ "loop" }) end, "circular require")
  t.raises(function() run({ "fails" }) end, "module body failed")
  t.raises(function() run({ "fails" }) end, "module body failed")
  t.raises(function() run({ "leak" }) end, "undeclared global 'leaked'")
end)

t.test("the pixie API is read-only, nested tables too, and iterable", function()
  local home, _, roots = setup("readonly")
  t.write(home .. "/skills/ro.lua", skill_source("ro", [[
    local what = args[1]
    if what == "top" then pixie.extra = 1
    elseif what == "replace" then pixie.fs = {}
    elseif what == "nested" then pixie.fs.read = nil
    elseif what == "tools" then pixie.tools.list = print
    elseif what == "log" then pixie.log.info = nil
    elseif what == "meta" then setmetatable(pixie, nil)
    elseif what == "rawset" then rawset(pixie.fs, "read", nil)
    elseif what == "rawenv" then rawset(_G, "sneaky", 1)
    elseif what == "keys" then
      local keys = {}
      for k in pairs(pixie) do keys[#keys + 1] = k end
      table.sort(keys)
      return table.concat(keys, ",")
    end
  ]]))
  local run = load_ok("ro", roots).run
  for _, what in ipairs({ "top", "replace", "nested", "tools", "log" }) do
    t.raises(function() run({ what }) end, "pixie API is read-only")
  end
  t.raises(function() run({ "meta" }) end, "protected metatable")
  t.raises(function() run({ "rawset" }) end, "read-only")
  t.raises(function() run({ "rawenv" }) end, "read-only")
  local keys = run({ "keys" })
  for _, k in ipairs({ "fs", "home", "json", "log", "tools", "version" }) do
    t.contains(keys, k)
  end
  t.eq(type(require("pixie.fs").read), "function", "the real module is untouched")

  local p = api.read_only({ a = { b = { c = 1 } }, list = { 10, 20, 30 } })
  t.eq(p.a.b.c, 1)
  t.raises(function() p.a.b.c = 2 end, "pixie API is read-only")
  t.raises(function() p.a.b.new = 2 end, "pixie API is read-only")
  t.eq(#p.list, 3)
  local sum = 0
  for _, v in ipairs(p.list) do sum = sum + v end
  t.eq(sum, 60)
  local inner
  for k, v in pairs(p) do if k == "a" then inner = v end end
  t.eq(inner, p.a, "pairs yields the same proxies")
  t.raises(function() inner.b = 1 end, "pixie API is read-only")
end)

t.test("API: contents, absent modules stay absent", function()
  setup("contents")
  local pixie = api.get()
  t.eq(pixie.version, require("pixie.version").string)
  t.eq(pixie.home(), config.home())
  t.eq(type(pixie.fs.read), "function")
  t.eq(pixie.json.encode({ 1, 2 }), "[1,2]")
  for _, level in ipairs({ "debug", "info", "warn", "error" }) do
    t.eq(type(pixie.log[level]), "function", level)
  end
  local built = api.build({ { "fs", "pixie.fs" }, { "nope", "pixie.no_such_module" },
                           { "value", function() return 42 end } })
  t.eq(built.fs, require("pixie.fs"))
  t.eq(built.nope, nil)
  t.eq(built.value, 42)
end)

t.test("API: pixie.tools returns copies and validates specs", function()
  local home = setup("tools")
  t.write(home .. "/tools/one/tool.json",
    '{"id": "one", "name": "One", "inputs": [], "outputs": []}')
  local pixie = api.get()
  local list = pixie.tools.list()
  t.eq(#list, 1)
  t.eq(list[1].id, "one")
  t.eq(list[1].status, "ok")
  list[1].spec.name = "changed by a skill"
  t.eq(pixie.tools.list()[1].spec.name, "One", "the discovery cache is not shared")
  t.eq(pixie.tools.get("one").id, "one")
  local none, err = pixie.tools.get("two")
  t.eq(none, nil)
  t.contains(err, "unknown tool 'two'")
  t.raises(function() pixie.tools.get(5) end, "string expected")
  local spec = pixie.tools.validate_spec({ id = "ok-id", name = "N", inputs = {}, outputs = {} })
  t.eq(spec.id, "ok-id")
  local bad, errors = pixie.tools.validate_spec('{"id": "Bad Id"}', "bad")
  t.eq(bad, nil)
  t.ok(#errors >= 1, "errors listed")
  t.raises(function() pixie.tools.validate_spec(42) end, "table or string expected")
end)

t.test("api version: a newer major is refused naming both versions", function()
  local home, _, roots = setup("apiver")
  local offered = require("pixie.version").skill_api
  local newer = offered + 1
  t.write(home .. "/skills/future.lua", ("return { api = %d, summary = 'f', run = function() end }"):format(newer))
  t.write(home .. "/skills/future-minor.lua",
    ("return { api = '%d.0', summary = 'f', run = function() end }"):format(newer))
  t.write(home .. "/skills/minor.lua",
    ("return { api = '%d.7', summary = 'm', run = function() end }"):format(offered))
  t.write(home .. "/skills/noapi.lua", "return { summary = 'n', run = function() end }")
  t.write(home .. "/skills/badapi.lua", "return { api = 'one', summary = 'n', run = function() end }")
  local err = load_err("future", roots)
  t.contains(err, "needs skill API " .. newer)
  t.contains(err, "offers skill API " .. offered)
  t.contains(load_err("future-minor", roots), "needs skill API " .. newer .. ".0")
  t.eq(load_ok("minor", roots).summary, "m")
  t.contains(load_err("noapi", roots), "has no 'api' field")
  t.contains(load_err("badapi", roots), "'api' must be a positive integer")
end)

t.test("shape: non-table return, missing run, missing summary", function()
  local home, _, roots = setup("shape")
  t.write(home .. "/skills/nothing.lua", "local x = 1")
  t.write(home .. "/skills/number.lua", "return 42")
  t.write(home .. "/skills/norun.lua", "return { api = 1, summary = 's' }")
  t.write(home .. "/skills/nosummary.lua", "return { api = 1, run = function() end }")
  t.write(home .. "/skills/badusage.lua", "return { api = 1, summary = 's', usage = 3, run = function() end }")
  t.eq(load_err("nothing", roots), "skill nothing did not return a table (got nil)")
  t.eq(load_err("number", roots), "skill number did not return a table (got number)")
  t.contains(load_err("norun", roots), "skill norun has no run function")
  t.contains(load_err("nosummary", roots), "has no 'summary' string")
  t.contains(load_err("badusage", roots), "'usage' must be a string")
end)

t.test("a top level that never ends is stopped; the string metatable is read-only", function()
  local home, _, roots = setup("bounded")
  t.write(home .. "/skills/spin.lua", "while true do end")
  t.contains(load_err("spin", roots), "top level ran too long")
  t.eq(debug.gethook(), nil, "the hook is removed afterwards")
  t.write(home .. "/skills/strmeta.lua", skill_source("s", "getmetatable('').__index.upper = nil"))
  t.raises(function() load_ok("strmeta", roots).run({}) end, "pixie API is read-only")
  t.eq(("x"):upper(), "X")
end)

t.test("bytecode is refused with a clear message", function()
  local home, _, roots = setup("bytecode")
  local bytecode = string.dump(load("return { api = 1, summary = 'b', run = function() end }"))
  t.write(home .. "/skills/compiled.lua", bytecode)
  t.contains(load_err("compiled", roots), "precompiled Lua bytecode")
  t.write(home .. "/skills/folder/init.lua", [[
    return { api = 1, summary = 'f', run = function() return require('bin') end }
  ]])
  t.write(home .. "/skills/folder/bin.lua", bytecode)
  t.raises(function() load_ok("folder", roots).run({}) end, "precompiled Lua bytecode")
end)

t.test("relative package.path and cpath entries are removed", function()
  local home, _, roots = setup("path")
  local saved_path, saved_cpath = package.path, package.cpath
  package.path = "./?.lua;?.lua;/abs/?.lua;lib/?.lua;/usr/share/lua/5.4/?/init.lua"
  package.cpath = "./?.so;/usr/lib/x/?.so"
  t.write(home .. "/skills/p.lua", skill_source("p"))
  load_ok("p", roots)
  local path, cpath = package.path, package.cpath
  package.path, package.cpath = saved_path, saved_cpath
  t.eq(path, "/abs/?.lua;/usr/share/lua/5.4/?/init.lua")
  t.eq(cpath, "/usr/lib/x/?.so")
end)

t.test("run: exit codes, errors, help and unknown skills", function()
  local home, _, roots = setup("run")
  local cases = {
    { "nil", "", 0 }, { "true", "return true", 0 }, { "false", "return false", 1 },
    { "three", "return 3", 3 }, { "string", "return 'x'", 1 }, { "big", "return 256", 1 },
    { "raise", "error('boom')", 1 }, { "object", "error({})", 1 },
  }
  for _, c in ipairs(cases) do
    t.write(home .. "/skills/" .. c[1] .. ".lua", skill_source(c[1], c[2]))
  end
  for _, c in ipairs(cases) do
    t.eq(skills.run(c[1], {}, roots), c[3], c[1])
  end
  t.eq(skills.run("raise", { "--help" }, roots), 0, "--help never runs the skill")
  t.eq(skills.run("raise", { "--", "--help" }, roots), 1, "after -- it is an argument")
  t.eq(skills.run("no-such-skill", {}, roots), 1)
  t.eq(skills.run("../evil", {}, roots), 1)
  t.write(home .. "/skills/argv.lua", skill_source("a", "return #args == 2 and args[1] == 'x' and args[2] == '--y'"))
  t.eq(skills.run("argv", { "x", "--y" }, roots), 0)
end)

t.test("the built-in list-tools loads from the embedded skills/", function()
  local _, _, roots = setup("builtin")
  local skill, entry = load_ok("list-tools", roots)
  t.eq(entry.origin, "built-in")
  t.eq(entry.builtin, true)
  t.eq(skill.api, 1)
  t.contains(skill.usage, "list-tools")
end)

t.test("config_dir follows XDG_CONFIG_HOME or HOME", function()
  local xdg, home = os.getenv("XDG_CONFIG_HOME"), os.getenv("HOME")
  local dir = skills.config_dir()
  if xdg and xdg:sub(1, 1) == "/" then
    t.eq(dir, xdg .. "/pixie/skills")
  elseif home then
    t.eq(dir, home .. "/.config/pixie/skills")
  else
    t.eq(dir, nil)
  end
end)

t.test("docs and LuaLS stubs cover every API member", function()
  setup("docs")
  local src = assert(os.getenv("PIXIE_SOURCE_DIR"), "PIXIE_SOURCE_DIR is set by ctest")
  local fs = require("pixie.fs")
  local stub = assert(fs.read(src .. "/docs/pixie-api.d.lua"))
  local doc = assert(fs.read(src .. "/docs/lua-api.md"))
  t.ok(load(stub, "=pixie-api.d.lua", "t"), "the stub file is valid Lua")
  local n = 0
  for k in pairs(api.get()) do
    n = n + 1
    t.ok(stub:find("pixie." .. k, 1, true), "pixie-api.d.lua mentions pixie." .. k)
    t.ok(doc:find("`pixie." .. k, 1, true), "lua-api.md mentions pixie." .. k)
  end
  t.ok(n >= 7, "API members counted")
end)

return t.run()
