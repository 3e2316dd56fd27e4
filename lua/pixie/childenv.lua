-- A tool process's environment and interpreter (SPEC §3.5, §4.1), and the
-- tool table pixie.launcher takes.
--
-- The environment is built, never inherited: an allow-list of Pixie's own
-- variables, then the tool's .env values (interpolated as python-dotenv's
-- load_dotenv does, so the tool sees the same values whether or not it
-- calls load_dotenv), then Pixie's (they win over the .env):
-- PYTHONUNBUFFERED=1, PIXIE_TOOL_ID, PIXIE_ARTEFACTS_DIR, TMPDIR/TEMP/TMP.
--
-- Runs and warm processes: every run goes to a warm process that serves
-- many runs, and any change of its environment restarts it, so nothing
-- per-run is in the environment. PIXIE_ARTEFACTS_DIR is the tool's
-- artefacts folder <home>/artefacts/<id> (stable: every process, every
-- run); each run's own folder <home>/artefacts/<id>/<run_id> and its id
-- reach the tool with the run, in the body's `_pixie` {run_id,
-- artefacts_dir} and the X-Pixie-Run-Id / X-Pixie-Artefacts-Dir headers
-- (the original likewise never put a run id into a warm process).
-- PIXIE_RUN_ID is set only when a caller builds a process for one run
-- (opts.run_id, e.g. a skill's one-shot tool table).
-- TMPDIR, TEMP and TMP name the tool's own temporary folder
-- <home>/tmp/<id> (0700, created on demand, gitignored with the home).
local config = require("pixie.config")
local env = require("pixie.env")
local fs = require("pixie.fs")
local errno = require("pixie.sys").errno

local M = {}

-- Parent variables a tool may see (SPEC §3.5).
M.ALLOW = { "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM" }

-- The allow-listed variables of the parent. getenv defaults to os.getenv.
function M.allowed(getenv)
  getenv = getenv or os.getenv
  local out = {}
  for _, name in ipairs(M.ALLOW) do
    local v = getenv(name)
    if v ~= nil then out[name] = v end
  end
  return out
end

-- Builds the environment table {NAME = value}.
-- opts: tool_id (required), dotenv = values of the tool's .env (already
-- interpolated; default {}), run_id, artefacts_dir, tmp_dir (sets TMPDIR,
-- TEMP and TMP), getenv (default os.getenv).
function M.build(opts)
  assert(type(opts) == "table" and type(opts.tool_id) == "string", "build: tool_id required")
  local out = M.allowed(opts.getenv)
  for k, v in pairs(opts.dotenv or {}) do
    if v ~= nil then out[k] = v end
  end
  out.PYTHONUNBUFFERED = "1"
  out.PIXIE_TOOL_ID = opts.tool_id
  out.PIXIE_RUN_ID = opts.run_id
  out.PIXIE_ARTEFACTS_DIR = opts.artefacts_dir
  if opts.tmp_dir then
    out.TMPDIR, out.TEMP, out.TMP = opts.tmp_dir, opts.tmp_dir, opts.tmp_dir
  end
  return out
end

-- The tool's folders in the home: artefacts <home>/artefacts/<id> and
-- temporary <home>/tmp/<id>, created (0700) when missing.
-- Returns artefacts_dir, tmp_dir | nil, message.
function M.tool_dirs(tool_id)
  assert(type(tool_id) == "string" and tool_id:match("^[a-z][a-z0-9-]*$"), "tool_dirs: bad tool id")
  local home, err = config.home()
  if not home then return nil, err end
  local dirs = { config.join(home, "artefacts/" .. tool_id), config.join(home, "tmp/" .. tool_id) }
  for _, dir in ipairs(dirs) do
    local ok, merr = fs.mkdirs(dir, 0x1C0) -- 0700
    if not ok then return nil, merr end
  end
  return dirs[1], dirs[2]
end

-- nil when every .env binding can go into a process environment, else a
-- message naming the first key that cannot (never its value).
local function unpassable(values)
  local keys = {}
  for k in pairs(values) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if k == "" or k:find("[=%z]") then
      return ("the .env key '%s' cannot be a process environment name"):format((k:gsub("%z", "\\0")))
    end
    if type(values[k]) == "string" and values[k]:find("%z") then
      return ("the .env value of %s holds a NUL byte, which a process environment cannot carry"):format(k)
    end
  end
  return nil
end

-- Reads dir/.env interpolated (registering every value for masking); dir
-- must lie in the home's tools folder (config.tools_dir()), symlinks
-- resolved. Returns values (a missing file gives {}) | nil, message (also
-- when a binding cannot be passed to a process: a NUL byte, a bad name).
function M.read_dotenv(dir, getenv)
  local root, rerr = config.tools_dir()
  if not root then return nil, rerr end
  local values, err, code = env.read(dir .. "/.env", {
    tools_root = root, interpolate = true, override = false, environ = M.allowed(getenv),
  })
  if not values then
    if code == errno.ENOENT then return {} end -- no .env
    return nil, err
  end
  local problem = unpassable(values)
  if problem then return nil, problem end
  return values
end

local function executable(path)
  local st = fs.stat(path)
  return st ~= nil and st.type == "file" and (st.mode & 0x49) ~= 0 -- any x bit (0111)
end

-- Finds `name` on the ':'-separated path. Returns the full path or nil.
local function on_path(name, path)
  for dir in (path or ""):gmatch("[^:]+") do
    local candidate = dir .. "/" .. name
    if executable(candidate) then return candidate end
  end
  return nil
end

-- The interpreter for the tool in `dir`: dir/.venv/bin/python, else
-- PIXIE_PYTHON, else python3 on PATH. Returns path, source ("venv",
-- "PIXIE_PYTHON" or "PATH") | nil, message.
function M.python(dir, getenv)
  getenv = getenv or os.getenv
  local venv = dir .. "/.venv/bin/python"
  if executable(venv) then return venv, "venv" end
  local configured = getenv("PIXIE_PYTHON")
  if configured and configured ~= "" then
    if configured:find("/", 1, true) then return configured, "PIXIE_PYTHON" end
    local found = on_path(configured, getenv("PATH"))
    if found then return found, "PIXIE_PYTHON" end
    return nil, "PIXIE_PYTHON=" .. configured .. " is not on PATH"
  end
  local found = on_path("python3", getenv("PATH"))
  if found then return found, "PATH" end
  return nil, "no Python interpreter: no .venv in " .. dir .. ", PIXIE_PYTHON unset, no python3 on PATH"
end

-- The table pixie.launcher.start/run take, for a discovered tool entry
-- ({id, dir, spec}). opts: run_id, artefacts_dir (default the tool's
-- artefacts folder), getenv, dotenv (values to use instead of reading
-- dir/.env). Creates the tool's artefacts and temporary folders (see
-- tool_dirs). Returns tool, python_source | nil, message.
function M.tool_table(entry, opts)
  opts = opts or {}
  local spec = entry.spec
  if not spec then return nil, "tool '" .. tostring(entry.id) .. "' is broken" end
  local python, source = M.python(entry.dir, opts.getenv)
  if not python then return nil, source end
  local dotenv = opts.dotenv
  if not dotenv then
    local err
    dotenv, err = M.read_dotenv(entry.dir, opts.getenv)
    if not dotenv then return nil, err end
  end
  local artefacts_dir, tmp_dir = M.tool_dirs(spec.id)
  if not artefacts_dir then return nil, tmp_dir end
  return {
    id = spec.id,
    dir = entry.dir,
    python = python,
    entrypoint = spec.entrypoint or "main.py",
    env = M.build({
      tool_id = spec.id, dotenv = dotenv, run_id = opts.run_id,
      artefacts_dir = opts.artefacts_dir or artefacts_dir, tmp_dir = tmp_dir, getenv = opts.getenv,
    }),
    max_memory_mb = spec.max_memory_mb,
    max_runtime_seconds = spec.max_runtime_seconds,
    warm_keep_seconds = spec.warm_keep_seconds,
    concurrent = spec.concurrent,
  }, source
end

return M
