-- The `pixie` API table that skills see (SPEC §6.3, docs/lua-api.md).
--
-- MODULES below is the one list of what the API holds. Each entry is
--   { name, source }
-- where source is either a module name (the module is used as is when it is
-- present — in package.preload or already loaded — and the field is simply
-- absent otherwise) or a function returning the value (for values built
-- here). Adding a module to the API is one line in this list, plus its
-- documentation in docs/lua-api.md §5 and docs/pixie-api.d.lua
-- (tests/lua/skills_test.lua checks that both mention every member).
--
-- get() -> the read-only proxy of the API: the table and every nested table
-- are proxies whose writes raise "pixie API is read-only", whose reads go to
-- the real table and which iterate with pairs (__pairs) and #.
local M = {}

-- What getmetatable() returns for an API proxy.
M.PROTECTED = "pixie API is read-only"

-- Deep copy of plain data (tables are copied, metatables kept), so that a
-- skill never holds a table shared with Pixie's own caches.
local function copy(value, seen)
  if type(value) ~= "table" then return value end
  seen = seen or {}
  if seen[value] then return seen[value] end
  local t = {}
  seen[value] = t
  for k, v in pairs(value) do t[copy(k, seen)] = copy(v, seen) end
  return setmetatable(t, getmetatable(value))
end

-- pixie.tools: discovery and the tool.json model, returning copies.
local function tools_api()
  local tools = require("pixie.tools")
  local toolspec = require("pixie.toolspec")
  return {
    -- list() -> array of {id, folder, dir, status, errors, warnings, spec}[, problem]
    list = function()
      local list, problem = tools.list()
      return copy(list), problem
    end,
    -- get(id) -> entry | nil, message
    get = function(id)
      if type(id) ~= "string" then
        error("bad argument #1 to 'get' (string expected, got " .. type(id) .. ")", 2)
      end
      local entry, err = tools.get(id)
      if not entry then return nil, err end
      return copy(entry)
    end,
    -- dir() -> absolute path of the home's tools folder | nil, message
    dir = require("pixie.config").tools_dir,
    -- validate_spec(value [, name]) -> spec, nil, warnings | nil, errors,
    -- warnings (arrays of strings; warnings name the lenient coercions the
    -- original Pixie made too); value is a decoded table or the JSON text
    -- of a tool.json.
    validate_spec = function(value, name)
      if name ~= nil and type(name) ~= "string" then
        error("bad argument #2 to 'validate_spec' (string expected, got " .. type(name) .. ")", 2)
      end
      name = name or "tool"
      if type(value) == "string" then return toolspec.parse(value, name) end
      if type(value) ~= "table" then
        error("bad argument #1 to 'validate_spec' (table or string expected, got "
          .. type(value) .. ")", 2)
      end
      return toolspec.validate(copy(value), name)
    end,
  }
end

-- The one list of what `pixie` holds. Keep it sorted by name.
-- pixie.db: the home's pixie.db through bound parameters. String
-- parameters and the string literals of the SQL text are masked before
-- they reach the database (lua/pixie/sqlmask.lua), so a skill cannot store
-- a known secret there by mistake.
local function db_api()
  local function handle()
    local home, herr = require("pixie.config").home()
    if not home then return nil, herr end
    local st, err = require("pixie.store").open(home)
    if not st then return nil, err end
    return st:handle()
  end
  -- The handle's method `name` called with the SQL text and parameters
  -- masked; the caller's wrong types still raise from the method.
  local function masked_call(name)
    return function(sql, ...)
      local h, err = handle()
      if not h then return nil, err end
      local scrub = require("pixie.out").scrub
      if type(sql) == "string" then
        local masked, merr = require("pixie.sqlmask").mask(sql, scrub)
        if not masked then return nil, name .. ": " .. merr end
        sql = masked
      end
      local params = table.pack(...)
      for i = 1, params.n do
        if type(params[i]) == "string" then params[i] = scrub(params[i]) end
      end
      return h[name](h, sql, table.unpack(params, 1, params.n))
    end
  end
  return {
    -- query(sql, ...) -> rows (column name -> value) | nil, message
    query = masked_call("query"),
    -- exec(sql, ...) -> number of changed rows | nil, message
    exec = masked_call("exec"),
  }
end

local MODULES = {
  { "args", function()
      local argparse = require("pixie.argparse")
      return { parse = argparse.parse, usage_error = require("pixie.cli").usage_error }
    end },
  { "db", db_api },
  { "env", function() -- the tools' .env files and secret status (no values in status)
      local e, secrets = require("pixie.env"), require("pixie.secrets")
      return {
        read = e.read, keys = e.keys, set = e.set, unset = e.unset, quote = e.quote,
        path = secrets.env_path, status = secrets.status, missing_required = secrets.missing_required,
        -- set_secret(entry, key, value) / clear_secret(entry, key): write
        -- inside the home's tools folder, then stop the tool (pixie.secrets)
        set_secret = function(entry, key, value) return secrets.set(copy(entry), key, value) end,
        clear_secret = function(entry, key) return secrets.clear(copy(entry), key) end,
      }
    end },
  { "fs", function() -- pixie.fs; what a skill writes is masked at the sink
      local fs, out, t = require("pixie.fs"), require("pixie.out"), {}
      for k, v in pairs(fs) do t[k] = v end
      t.write_atomic = function(path, data, mode)
        if type(data) ~= "string" then return fs.write_atomic(path, data, mode) end -- misuse raises
        return fs.write_atomic(path, out.scrub(data), mode)
      end
      return t
    end },
  { "home", function() return require("pixie.config").home end },
  { "json", "pixie.json" },
  { "launcher", function() -- warm tool processes; no store wiring or pool settings for skills
      local l, childenv = require("pixie.launcher"), require("pixie.childenv")
      return {
        tool = function(entry, opts) return childenv.tool_table(copy(entry), opts) end,
        start = l.start, run = l.run, get = l.get, stop = l.stop, state = l.state,
        output = l.output,
      }
    end },
  { "log", function() -- pixie.log without open/close: masked, to stderr and logs/
      local l = require("pixie.log")
      return { debug = l.debug, info = l.info, warn = l.warn, error = l.error }
    end },
  { "mask", function() -- add/scrub/count/stream
      local m = require("pixie.mask")
      return { add = m.add, scrub = m.scrub, count = m.count, stream = m.stream }
    end },
  { "proc", "pixie.proc" },
  { "sys", function() -- errno names only (a plain copy: the API proxy makes it read-only)
      local names = {}
      for name, value in pairs(require("pixie.sys").errno) do names[name] = value end
      return { errno = names }
    end },
  { "term", "pixie.term" },
  { "tools", tools_api },
  { "version", function() return require("pixie.version").string end },
  { "zip", function() -- pixie.zip plus the flags that raise its limits
      local zip, t = require("pixie.zip"), {}
      for k, v in pairs(zip) do t[k] = v end
      local function flag(field) return (field:gsub("_", "-")) end
      -- limit_flags(flags) -> flags with an integer --max-entries ... per
      -- limit of pixie.zip.defaults added (for pixie.args.parse)
      t.limit_flags = function(flags)
        for field in pairs(zip.defaults) do flags[flag(field)] = "integer" end
        return flags
      end
      -- limits_of(opts) -> the limits table those parsed flags give
      t.limits_of = function(opts)
        local limits = {}
        for field in pairs(zip.defaults) do limits[field] = opts[flag(field)] end
        return limits
      end
      return t
    end },
}

-- True when module `name` can be required (preloaded or already loaded).
local function present(name)
  return package.loaded[name] ~= nil or package.preload[name] ~= nil
end

-- Builds the real (writable) API table from modules (default MODULES).
function M.build(modules)
  local api = {}
  for _, entry in ipairs(modules or MODULES) do
    local name, source = entry[1], entry[2]
    if type(source) == "function" then
      api[name] = source()
    elseif present(source) then
      api[name] = require(source)
    end
  end
  return api
end

local function read_only()
  error("pixie API is read-only", 2)
end

-- Returns the read-only proxy of table t, creating it once per table;
-- `proxies` maps real tables to their proxies.
local function proxy_of(t, proxies)
  local p = proxies[t]
  if p then return p end
  local function wrap(v)
    if type(v) == "table" then return proxy_of(v, proxies) end
    return v
  end
  p = setmetatable({}, {
    __index = function(_, k) return wrap(t[k]) end,
    __newindex = read_only,
    __pairs = function()
      return function(_, k)
        local nk, nv = next(t, k)
        return nk, wrap(nv)
      end, nil, nil
    end,
    __len = function() return #t end,
    __name = "pixie API",
    __metatable = M.PROTECTED,
  })
  proxies[t] = p
  return p
end

-- Wraps any table in read-only proxies (nested tables included).
function M.read_only(t)
  return proxy_of(t, setmetatable({}, { __mode = "k" }))
end

local cached

-- The read-only `pixie` API, built once per process.
function M.get()
  if not cached then cached = M.read_only(M.build()) end
  return cached
end

return M
