-- Secret status of a tool (SPEC §3.3): which declared secrets are set in
-- the tool's own .env, which are missing, which keys are not declared.
-- Only key names and "set"/"not_set" leave this module, never a value.
-- Tool entries come from pixie.tools.list: { dir = ".../tools/<folder>",
-- spec = { secrets = { {key, description, required}, ... } } }.
local config = require("pixie.config")
local env = require("pixie.env")
local errno = require("pixie.sys").errno

local M = {}

-- The names a .env key may have (pixie.env refuses any other).
M.KEY_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"

-- Path of the tool's .env file.
function M.env_path(entry)
  return entry.dir .. "/.env"
end

-- Reads the tool's .env, contained in the home's tools folder (a .env
-- whose folder, symlinks resolved, lies outside it is refused). Returns
-- values, keys (file order) or, when the file cannot be read, empty tables
-- and the message (none when it is simply missing).
local function load(entry)
  local root, rerr = config.tools_dir()
  if not root then return {}, {}, rerr end
  local opts = { tools_root = root }
  local values, err, code = env.read(M.env_path(entry), opts)
  if not values then
    if code == errno.ENOENT then return {}, {}, nil end -- no .env yet
    return {}, {}, err
  end
  local keys = env.keys(M.env_path(entry), opts) or {}
  return values, keys, nil
end

local function declared(entry)
  return (entry.spec and entry.spec.secrets) or {}
end

-- Status rows for the declared secrets, in declaration order:
-- { key, description, required, status = "set"|"not_set" } ("set" when the
-- .env binds a non-empty value). Also returns the array of keys present
-- in .env but not declared (file order), and an error message when the
-- .env exists but cannot be read (every row is then "not_set").
function M.status(entry)
  local values, keys, err = load(entry)
  local rows, known = {}, {}
  for _, s in ipairs(declared(entry)) do
    local v = values[s.key]
    rows[#rows + 1] = {
      key = s.key,
      description = s.description or "",
      required = s.required == true,
      status = (v ~= nil and v ~= "") and "set" or "not_set",
    }
    known[s.key] = true
  end
  local undeclared = {}
  for _, k in ipairs(keys) do
    if not known[k] then undeclared[#undeclared + 1] = k end
  end
  return rows, undeclared, err
end

-- True when the tool declares a required secret.
function M.any_required(entry)
  for _, s in ipairs(declared(entry)) do
    if s.required == true then return true end
  end
  return false
end

-- Keys of required declared secrets that are not set, in declaration
-- order (empty when none), and the message when the .env exists but
-- cannot be read (the keys it may hold then count as missing).
function M.missing_required(entry)
  local rows, _, err = M.status(entry)
  local missing = {}
  for _, r in ipairs(rows) do
    if r.required and r.status == "not_set" then missing[#missing + 1] = r.key end
  end
  return missing, err
end

-- Registers, for masking, every value of every tool's .env in the home
-- (SPEC §3.4: the startup scan), so a secret of any tool is masked in
-- whatever the command prints — even when a skill reads a .env raw.
-- pixie.env.read registers what it reads; unreadable files are skipped
-- (the commands that use one report it).
function M.register_home(entries)
  for _, entry in ipairs(entries) do load(entry) end
end

-- The tool's declared secret row for key, or nil.
function M.declared(entry, key)
  for _, s in ipairs(declared(entry)) do
    if s.key == key then return s end
  end
  return nil
end

-- The one write path of a secret (the set-secret skill and the dashboard):
-- pixie.env.set inside the home's tools folder (atomic, 0600, locked; the
-- value is registered with the masker before anything else), then the
-- tool's warm process (of this process's pool) is stopped so the next run
-- sees the value; a warm process of another Pixie process is restarted by
-- its launcher, which treats a changed environment as stale. The caller
-- checks the key name and whether it is declared.
-- Returns true, warnings | nil, message, code (the message names the key,
-- never the value nor its length).
function M.set(entry, key, value)
  local root, rerr = config.tools_dir()
  if not root then return nil, rerr end
  local ok, warnings, code = env.set(M.env_path(entry), key, value, { tools_root = root })
  if not ok then return nil, warnings, code end
  require("pixie.launcher").stop(entry.id)
  return true, warnings
end

-- Removes key from the tool's .env, then stops the tool as set does.
-- Returns true, removed (number of bindings removed) | nil, message, code.
function M.clear(entry, key)
  local root, rerr = config.tools_dir()
  if not root then return nil, rerr end
  local ok, removed, code = env.unset(M.env_path(entry), key, { tools_root = root })
  if not ok then return nil, removed, code end
  require("pixie.launcher").stop(entry.id)
  return true, removed
end

return M
