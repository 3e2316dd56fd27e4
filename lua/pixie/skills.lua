-- Finding, loading and running skills (SPEC §6.1, docs/lua-api.md).
--
-- Search order (first match wins): the home's skills/ ("user"), then
-- $XDG_CONFIG_HOME/pixie/skills/ or ~/.config/pixie/skills/ ("config"),
-- then the built-ins embedded from the repository's skills/ ("built-in").
-- In each folder a skill is <name>.lua or <name>/init.lua (the file wins
-- when both exist). Names match ^[a-z0-9][a-z0-9_-]*$.
--
-- A skill runs in its own environment (see new_env): an allow-list of safe
-- globals, `pixie` = the read-only API, strict globals, a `require` that
-- gives only pixie API modules and, for a folder skill, the folder's own
-- modules. Only text chunks load.
local api = require("pixie.api")
local config = require("pixie.config")
local embedded = require("pixie.embedded")
local fs = require("pixie.fs")
local out = require("pixie.out")
local paths = require("pixie.paths")
local errno = require("pixie.sys").errno
local version = require("pixie.version")

local M = {}

local NAME_PATTERN = "^[a-z0-9][a-z0-9_-]*$"
local MODULE_PATTERN = "^[a-z0-9_][a-z0-9_-]*$" -- one part of a.b.c in require
local SOURCE_LIMIT = 4 * 1024 * 1024
-- A skill's top level only defines things; one that runs longer than this
-- many VM instructions (about a second) is stopped, so a stray loop cannot
-- hang `pixie skills`.
local LOAD_HOOK_STEP = 1000000
local LOAD_INSTRUCTION_LIMIT = 200 * LOAD_HOOK_STEP
local DEFAULT_USAGE = "pixie run-skill %s [args...]"
local ENV_PROTECTED = "skill environment" -- getmetatable() of a skill's _ENV

-- True when name is a valid skill name.
function M.valid_name(name)
  return type(name) == "string" and #name <= 64 and name:match(NAME_PATTERN) ~= nil
end

-- Returns path with every relative entry removed (entries are ';'-separated;
-- relative = not starting with '/'). Used for package.path and cpath.
function M.strip_relative(path)
  local kept = {}
  for entry in path:gmatch("[^;]+") do
    if entry:sub(1, 1) == "/" then kept[#kept + 1] = entry end
  end
  return table.concat(kept, ";")
end

-- Removes relative entries from package.path and package.cpath, so nothing
-- is ever loaded from the current directory once a skill is involved.
function M.harden_package_path()
  package.path = M.strip_relative(package.path)
  package.cpath = M.strip_relative(package.cpath)
end

-- The per-user config folder for skills: $XDG_CONFIG_HOME/pixie/skills when
-- XDG_CONFIG_HOME is set and absolute, else $HOME/.config/pixie/skills;
-- nil when neither is known.
function M.config_dir()
  local xdg = os.getenv("XDG_CONFIG_HOME")
  if xdg and xdg:sub(1, 1) == "/" then return xdg .. "/pixie/skills" end
  local home = os.getenv("HOME")
  if home and home:sub(1, 1) == "/" then return home .. "/.config/pixie/skills" end
  return nil
end

-- The search roots in order: array of {origin, dir} or {origin, embedded}
-- | nil, message when the home cannot be used.
-- opts.home / opts.config_dir override the home and the config folder
-- (opts.config_dir = false drops it).
function M.roots(opts)
  opts = opts or {}
  local user_dir, err
  if opts.home then
    user_dir = opts.home .. "/skills"
  else
    user_dir, err = config.skills_dir()
    if not user_dir then return nil, err end
  end
  local roots = {}
  local seen = {}
  local function add_dir(origin, dir)
    if not dir then return end
    local real = fs.realpath(dir) or dir
    if seen[real] then return end
    seen[real] = true
    roots[#roots + 1] = { origin = origin, dir = dir }
  end
  add_dir("user", user_dir)
  if opts.config_dir ~= false then add_dir("config", opts.config_dir or M.config_dir()) end
  roots[#roots + 1] = { origin = "built-in", embedded = "skills" }
  return roots
end

-- Finds skill `name` in one root. Returns an entry
--   {name, origin, path, folder (folder skills: dir or embedded prefix)}
-- or nil.
local function find_in(root, name)
  if root.embedded then
    local file = root.embedded .. "/" .. name .. ".lua"
    if embedded.get(file) then
      return { name = name, origin = root.origin, path = file, builtin = true }
    end
    file = root.embedded .. "/" .. name .. "/init.lua"
    if embedded.get(file) then
      return { name = name, origin = root.origin, path = file, builtin = true,
               folder = root.embedded .. "/" .. name }
    end
    return nil
  end
  local file = root.dir .. "/" .. name .. ".lua"
  if paths.is_type(file, "file") then
    return { name = name, origin = root.origin, path = file }
  end
  file = root.dir .. "/" .. name .. "/init.lua"
  if paths.is_type(file, "file") then
    return { name = name, origin = root.origin, path = file, folder = root.dir .. "/" .. name }
  end
  return nil
end

-- find(name [, roots]) -> entry | nil, message. The first root holding the
-- skill wins; entry.shadows names the origin of the next root holding it.
function M.find(name, roots)
  if not M.valid_name(name) then
    return nil, ("invalid skill name '%s' (use a-z, 0-9, '-' and '_')"):format(out.quote(tostring(name)))
  end
  if not roots then
    local err
    roots, err = M.roots()
    if not roots then return nil, err end
  end
  local found
  for _, root in ipairs(roots) do
    local entry = find_in(root, name)
    if entry and not found then
      found = entry
    elseif entry then
      found.shadows = entry.origin
      break
    end
  end
  if not found then return nil, ("unknown skill '%s'"):format(name) end
  return found
end

-- Candidate skill names in one root (valid or not), sorted, and a message
-- when the root's folder exists but cannot be listed.
local function names_in(root)
  local names, seen, problem = {}, {}, nil
  local function add(n)
    if n and not seen[n] then seen[n] = true; names[#names + 1] = n end
  end
  if root.embedded then
    local prefix = root.embedded .. "/"
    for _, path in ipairs(embedded.list(prefix)) do
      local rest = path:sub(#prefix + 1)
      add(rest:match("^([^/]+)%.lua$") or rest:match("^([^/]+)/init%.lua$"))
    end
  else
    local entries, err, code = fs.list(root.dir)
    if code == errno.ENOTDIR then
      problem = ("%s skills folder %s is not a folder; its skills are ignored"):format(root.origin, root.dir)
    elseif not entries and code ~= errno.ENOENT then
      problem = ("%s skills folder cannot be listed: %s"):format(root.origin, tostring(err))
    end
    for _, entry in ipairs(entries or {}) do
      if entry:sub(1, 1) ~= "." then -- skip hidden files and editor droppings
        local stem = entry:match("^(.+)%.lua$")
        if stem and paths.is_type(root.dir .. "/" .. entry, "file") then
          add(stem)
        elseif paths.is_type(root.dir .. "/" .. entry .. "/init.lua", "file") then
          add(entry)
        end
      end
    end
  end
  table.sort(names)
  return names, problem
end

-- Reads a skill source file (a path on disk, or an embedded name).
-- Returns text | nil, message.
local function read_source(path, builtin)
  if builtin then
    local text = embedded.get(path)
    if not text then return nil, "cannot read built-in " .. path end
    return text
  end
  local text, err = fs.read(path, { limit = SOURCE_LIMIT })
  if not text then return nil, "cannot read " .. tostring(err) end
  return text
end

-- Compiles text (a skill file or a folder skill's module) in env.
-- Refuses bytecode with a clear message. Returns function | nil, message.
local function compile(text, path, builtin, env)
  if text:sub(1, 1) == "\27" then
    return nil, path .. " is precompiled Lua bytecode; skills must be Lua source text"
  end
  local chunkname = "@" .. (builtin and ("built-in:" .. path) or path)
  return load(text, chunkname, "t", env)
end

-- Shallow copy of a library table, so a skill's writes stay its own.
local function lib_copy(lib, names)
  local t = {}
  if names then
    for _, n in ipairs(names) do t[n] = lib[n] end
  else
    for k, v in pairs(lib) do t[k] = v end
  end
  return t
end

-- Builds the `require` a skill sees. "pixie" gives the API and "pixie.X"
-- its module X; for a folder skill, "a" / "a.b" load the folder's own
-- a.lua / a/b.lua once, in the skill's environment. Anything else raises.
local function skill_require(entry, env)
  local pixie = api.get()
  local loaded = {}
  return function(modname)
    if type(modname) ~= "string" then
      error("bad argument #1 to 'require' (string expected, got " .. type(modname) .. ")", 2)
    end
    if modname == "pixie" then return pixie end
    local sub = modname:match("^pixie%.(.+)$")
    if sub then
      local v = pixie[sub]
      if v == nil then error("module '" .. modname .. "' is not part of the pixie API", 2) end
      return v
    end
    if not entry.folder then
      error(("require '%s': a single-file skill can require only 'pixie' modules"):format(modname), 2)
    end
    local parts = {}
    for part in (modname .. "."):gmatch("([^.]*)%.") do
      if not part:match(MODULE_PATTERN) or part == "init" then
        error(("require '%s': not a valid module name for a skill folder"):format(modname), 2)
      end
      parts[#parts + 1] = part
    end
    local state = loaded[modname]
    if state == false then error("require '" .. modname .. "': circular require", 2) end
    if state ~= nil then return state end
    local path = entry.folder .. "/" .. table.concat(parts, "/") .. ".lua"
    local text, err = read_source(path, entry.builtin)
    if not text then
      error(("require '%s': module not found in the skill folder (%s)"):format(modname, err), 2)
    end
    local chunk, cerr = compile(text, path, entry.builtin, env)
    if not chunk then error(cerr, 0) end
    loaded[modname] = false
    -- forget the failed attempt when the module raises (after the message
    -- handler has run, so PIXIE_DEBUG tracebacks stay complete)
    local _ <close> = setmetatable({}, { __close = function(_, err)
      if err ~= nil then loaded[modname] = nil end
    end })
    local value = chunk(modname)
    if value == nil then value = true end
    loaded[modname] = value
    return value
  end
end

-- getmetatable for skills: the string metatable comes back read-only, so
-- a skill cannot change the string library Pixie itself uses.
local string_meta = api.read_only(getmetatable(""))
local function skill_getmetatable(v)
  if type(v) == "string" then return string_meta end
  return getmetatable(v)
end

-- rawset for skills: refuses the API proxies and the environment itself,
-- which would otherwise be a way around read-only and strict globals.
local function skill_rawset(t, k, v)
  local mt = getmetatable(t)
  if mt == api.PROTECTED or mt == ENV_PROTECTED then
    error("rawset: the pixie API and skill globals are read-only", 2)
  end
  return rawset(t, k, v)
end

-- Builds a fresh skill environment for entry (see docs/lua-api.md
-- "Sandbox"). Every global is read-only; reading or assigning a name that
-- is not on the allow-list raises "undeclared global 'x'".
function M.new_env(entry)
  local g = {
    _VERSION = _VERSION,
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    pcall = pcall, select = select, tonumber = tonumber, tostring = tostring,
    type = type, xpcall = xpcall, rawequal = rawequal, rawlen = rawlen,
    rawget = rawget, rawset = skill_rawset, setmetatable = setmetatable,
    getmetatable = skill_getmetatable,
    string = lib_copy(string), table = lib_copy(table), math = lib_copy(math),
    utf8 = lib_copy(utf8), coroutine = lib_copy(coroutine),
    os = lib_copy(os, { "clock", "date", "difftime", "getenv", "time" }),
    io = {
      -- stdin only; writes go through masking like print
      read = function(...) return io.stdin:read(...) end,
      lines = function(...) return io.stdin:lines(...) end,
      write = function(...)
        for i = 1, select("#", ...) do
          local v = select(i, ...)
          if type(v) ~= "string" and type(v) ~= "number" then
            error(("bad argument #%d to 'write' (string expected, got %s)"):format(i, type(v)), 2)
          end
          out.write(tostring(v))
        end
      end,
    },
    print = out.print,
    pixie = api.get(),
  }
  local env = setmetatable({}, {
    __index = function(_, k)
      local v = g[k]
      if v == nil then error("undeclared global '" .. tostring(k) .. "'", 2) end
      return v
    end,
    __newindex = function(_, k)
      if g[k] ~= nil then
        error("cannot assign to global '" .. tostring(k) .. "' (skill globals are read-only)", 2)
      end
      error("assignment to undeclared global '" .. tostring(k) .. "' (use a local)", 2)
    end,
    __pairs = function() return next, g, nil end,
    __metatable = ENV_PROTECTED,
  })
  g._G = env
  g.require = skill_require(entry, env)
  return env
end

-- "major" of an api value: integer N or string "N" / "N.M"; nil if invalid.
local function api_major(v)
  if math.type(v) == "integer" and v >= 1 then return v end
  if type(v) == "string" then
    local major = v:match("^(%d+)$") or v:match("^(%d+)%.%d+$")
    return major and math.tointeger(tonumber(major)) or nil
  end
  return nil
end

-- Checks the table a skill returned. Returns nil or a message.
local function check_skill(name, skill)
  if type(skill) ~= "table" then
    return ("skill %s did not return a table (got %s)"):format(name, type(skill))
  end
  local major = api_major(skill.api)
  if skill.api == nil then
    return ("skill %s has no 'api' field (add api = %d)"):format(name, version.skill_api)
  elseif not major then
    return ("skill %s: 'api' must be a positive integer, got %s"):format(name, tostring(skill.api))
  elseif major > version.skill_api then
    return ("skill %s needs skill API %s, but this pixie %s offers skill API %d; update pixie")
      :format(name, tostring(skill.api), version.string, version.skill_api)
  end
  if type(skill.run) ~= "function" then
    return ("skill %s has no run function (got %s for 'run')"):format(name, type(skill.run))
  end
  if type(skill.summary) ~= "string" or skill.summary == "" then
    return ("skill %s has no 'summary' string"):format(name)
  end
  for _, field in ipairs({ "usage", "help" }) do
    if skill[field] ~= nil and type(skill[field]) ~= "string" then
      return ("skill %s: '%s' must be a string, got %s"):format(name, field, type(skill[field]))
    end
  end
  return nil
end

-- One-line form of an error value (newlines folded).
local function one_line(e)
  local s
  if type(e) == "string" or type(e) == "number" then
    s = tostring(e)
  else
    local mt = getmetatable(e)
    s = (type(mt) == "table" and mt.__tostring) and tostring(e)
      or ("raised a %s value instead of an error message"):format(type(e))
  end
  return (s:gsub("%s*\n%s*", " "))
end

local function debugging()
  return os.getenv("PIXIE_DEBUG") == "1"
end

-- xpcall message handler: one line, plus a traceback under PIXIE_DEBUG=1.
local function handler(e)
  local msg = one_line(e)
  if debugging() then return debug.traceback(msg, 2) end
  return msg
end

-- Calls fn(arg) under xpcall with an instruction budget of
-- LOAD_INSTRUCTION_LIMIT; restores any previous hook. Returns ok, result.
local function call_bounded(fn, arg)
  local old_hook, old_mask, old_count = debug.gethook()
  local steps = 0
  debug.sethook(function()
    steps = steps + 1
    if steps * LOAD_HOOK_STEP >= LOAD_INSTRUCTION_LIMIT then
      error("top level ran too long (a skill's top level should only define things;"
        .. " do the work in run)", 0)
    end
  end, "", LOAD_HOOK_STEP)
  local ok, result = xpcall(fn, handler, arg)
  debug.sethook(old_hook, old_mask, old_count)
  return ok, result
end

-- load(entry) -> skill table | nil, message. Runs the skill's top-level
-- chunk in a fresh environment and validates the table it returns.
function M.load(entry)
  M.harden_package_path()
  local text, err = read_source(entry.path, entry.builtin)
  if not text then return nil, ("skill %s: %s"):format(entry.name, err) end
  local env = M.new_env(entry)
  local chunk, cerr = compile(text, entry.path, entry.builtin, env)
  if not chunk then return nil, ("skill %s: %s"):format(entry.name, cerr) end
  local ok, result = call_bounded(chunk, entry.name)
  if not ok then return nil, ("skill %s: %s"):format(entry.name, result) end
  -- pcall: a returned table with a raising __index must not escape
  local checked, problem = pcall(check_skill, entry.name, result)
  if not checked then return nil, ("skill %s: %s"):format(entry.name, one_line(problem)) end
  if problem then return nil, problem end
  return result
end

-- list([roots]) -> array of {name, origin, path, shadows, summary, usage,
-- error}, sorted by name; the first root wins, a shadowed origin is
-- recorded, and a skill that fails to load is listed with its error.
-- Second result: messages for skill folders that exist but cannot be listed
-- (or for a home that cannot be used: the list is then empty).
function M.list(roots)
  if not roots then
    local err
    roots, err = M.roots()
    if not roots then return {}, { err } end
  end
  local by_name, names, problems = {}, {}, {}
  for _, root in ipairs(roots) do
    local root_names, problem = names_in(root)
    problems[#problems + 1] = problem
    for _, name in ipairs(root_names) do
      local entry = by_name[name]
      if not entry then
        entry = M.valid_name(name) and find_in(root, name)
          or { name = name, origin = root.origin, invalid = true,
               path = (root.dir or root.embedded) .. "/" .. name }
        by_name[name] = entry
        names[#names + 1] = name
      elseif not entry.shadows then
        entry.shadows = root.origin
      end
    end
  end
  table.sort(names)
  local result = {}
  for _, name in ipairs(names) do
    local entry = by_name[name]
    if entry.invalid then
      entry.error = ("invalid skill name '%s' (use a-z, 0-9, '-' and '_'; start with a letter or digit)")
        :format(out.quote(name))
    else
      local skill, err = M.load(entry)
      if skill then
        entry.summary = skill.summary
        entry.usage = skill.usage or DEFAULT_USAGE:format(name)
      else
        entry.error = err
      end
    end
    result[#result + 1] = entry
  end
  return result, problems
end

-- Prints a skill's usage, summary and help text to stdout.
local function print_help(name, skill)
  out.print("usage: " .. (skill.usage or DEFAULT_USAGE:format(name)))
  out.print("")
  out.print(skill.summary)
  if skill.help then
    out.print("")
    out.write((skill.help:gsub("\n*$", "\n")))
  end
end

-- Converts run's return value to an exit code; nil, message when invalid.
local function exit_code(v)
  if v == nil or v == true then return 0 end
  if v == false then return 1 end
  if math.type(v) == "integer" and v >= 0 and v <= 255 then return v end
  return nil, ("run returned %s; return nothing, a boolean or an exit code 0-255")
    :format(type(v) == "number" and tostring(v) or "a " .. type(v))
end

-- run(name, args [, roots]) -> exit code. Finds, loads and runs a skill;
-- every failure is one line on stderr ("pixie: skill NAME: ...", with a
-- traceback under PIXIE_DEBUG=1) and exit 1. "--help" / "-h" before any
-- "--" prints the skill's help instead of running it.
function M.run(name, args, roots)
  local entry, err = M.find(name, roots)
  if not entry then
    out.error(err .. " (see 'pixie skills')")
    return 1
  end
  local skill, lerr = M.load(entry)
  if not skill then
    out.error(lerr)
    return 1
  end
  local argv = table.move(args or {}, 1, #(args or {}), 1, {})
  if require("pixie.cli").wants_help(argv) then
    print_help(name, skill)
    return 0
  end
  local ok, result = xpcall(skill.run, handler, argv)
  out.flush() -- a failure is remembered and reported by the caller
  if not ok then
    out.error(("skill %s: %s"):format(name, result))
    return 1
  end
  local code, cerr = exit_code(result)
  if not code then
    out.error(("skill %s: %s"):format(name, cerr))
    return 1
  end
  return code
end

return M
