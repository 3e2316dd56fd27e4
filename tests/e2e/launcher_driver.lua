-- Driver for test_launcher.py: a Pixie process (the pixie Lua host) that
-- reads one JSON command per line on stdin and answers one JSON line on
-- stdout, so a test can hold warm tools across commands and kill -9 it.
-- Usage: pixie_lua_test launcher_driver.lua
--   {"op":"tool", "dir":D, "set":{field=value}}   -> {tool=<table>, python_source=}
--      (reads D/tool.json and D/.env through childenv.tool_table; "set"
--       overrides fields of the resulting tool table)
--   {"op":"start", "tool":T}                        -> launcher.start
--   {"op":"run", "tool":T, "body":S, "opts":O}      -> launcher.run
--   {"op":"get", "id":I, "path":P}                  -> launcher.get
--   {"op":"stop", "id":I, "grace_ms":G}             -> {stopped=bool, forced=bool}
--   {"op":"stop_all"} / {"op":"state"} / {"op":"output", "id":I}
--   {"op":"configure", "opts":O} / {"op":"mask_add", "value":V}
--   {"op":"set_store", "home":H} / {"op":"spawn_log", "home":H, "id":I}
--   {"op":"exit"}
-- Failures answer {"ok":false, "error":msg, "code":n}.
local cjson = require("cjson")
local childenv = require("pixie.childenv")
local fs = require("pixie.fs")
local launcher = require("pixie.launcher")
local mask = require("pixie.mask")
local toolspec = require("pixie.toolspec")

io.stdout:setvbuf("line")

local function answer(value, err, code)
  if value == nil then
    return { ok = false, error = err, code = code }
  end
  return { ok = true, value = value }
end

local ops = {}

function ops.tool(c)
  local text = assert(fs.read(c.dir .. "/tool.json"))
  local spec, errs = toolspec.parse(text, c.dir:match("[^/]+$"))
  if not spec then return nil, table.concat(errs, "; ") end
  local tool, source = childenv.tool_table({ id = spec.id, dir = c.dir, spec = spec }, c.opts)
  if not tool then return nil, source end
  for k, v in pairs(c.set or {}) do tool[k] = v end
  return { tool = tool, python_source = source }
end

function ops.start(c) return launcher.start(c.tool) end
function ops.run(c) return launcher.run(c.tool, c.body or "{}", c.opts) end
function ops.get(c) return launcher.get(c.id, c.path) end
function ops.stop(c)
  local _, was, forced = launcher.stop(c.id, c.grace_ms)
  return { stopped = was, forced = forced }
end
function ops.stop_all() return launcher.stop_all(0) end
function ops.state() return launcher.state() end
function ops.output(c) return launcher.output(c.id) or cjson.null end
function ops.configure(c) return launcher.configure(c.opts) end
function ops.mask_add(c) return mask.add(c.value) end

function ops.set_store(c)
  local st, err = require("pixie.store").open(c.home)
  if not st then return nil, err end
  return launcher.set_store(st:handle())
end

function ops.spawn_log(c)
  local st, err = require("pixie.store").open(c.home)
  if not st then return nil, err end
  return st:spawn_log_tail(c.id, 0, 10000)
end

for line in io.lines() do
  local c = cjson.decode(line)
  if c.op == "exit" then break end
  local fn = ops[c.op]
  local reply
  if not fn then
    reply = answer(nil, "unknown op " .. tostring(c.op))
  else
    local ok, v, err, code = pcall(fn, c)
    if not ok then
      reply = answer(nil, "raised: " .. tostring(v))
    else
      reply = answer(v, err, code)
    end
  end
  io.stdout:write(cjson.encode(reply), "\n")
end
return 0
