-- Pixie's configuration: the home folder and the PIXIE_* knobs.
-- Every knob has a default that works.
local fs = require("pixie.fs")
local sys = require("pixie.sys")

local M = {}

local home -- absolute path once chosen
local PATH_LIMIT = 400 -- bytes of a path shown in a message

-- pixie.out, loaded on first use (it needs the masker).
local function out() return require("pixie.out") end

-- Chooses the home: explicit dir, else PIXIE_HOME, else the current dir.
-- Returns the absolute path, or nil, message when it is not a folder.
function M.set_home(dir)
  dir = dir or os.getenv("PIXIE_HOME")
  if dir == nil or dir == "" then dir = "." end
  local shown = out().quote(dir, PATH_LIMIT)
  local st, _, code = fs.stat(dir)
  if not st then
    return nil, ("home %s: %s"):format(shown, sys.strerror(code))
  end
  if st.type ~= "directory" then
    return nil, "home " .. shown .. " is not a folder"
  end
  local real, _, rcode = fs.realpath(dir)
  if not real then
    return nil, ("home %s: %s"):format(shown, sys.strerror(rcode))
  end
  home = real
  return home
end

-- The home folder (chosen on first use if set_home was not called).
-- Returns the absolute path | nil, message (never raises: a request may ask).
function M.home()
  if home then return home end
  return M.set_home(nil)
end

-- dir .. "/" .. name without doubling the slash of a dir ending in one
-- (the root "/" is a home too: its tools are "/tools", not "//tools").
function M.join(dir, name)
  return (dir:sub(-1) == "/" and dir or dir .. "/") .. name
end

-- The function returning <home>/<name> | nil, message.
local function in_home(name)
  return function()
    local h, err = M.home()
    if not h then return nil, err end
    return M.join(h, name)
  end
end

M.tools_dir = in_home("tools")
M.skills_dir = in_home("skills")
M.logs_dir = in_home("logs")
M.db_path = in_home("pixie.db")
local gitignore_path = in_home(".gitignore")

-- What a home's .gitignore covers (SPEC §1): secrets at any depth, tool
-- environments and data, Pixie's own state.
M.GITIGNORE = table.concat({
  "# Written by Pixie: keep secrets and local state out of git.",
  "tools/*/.env",
  ".env",
  ".env.*",
  "**/.env",
  "**/.env.*",
  "tools/*/.venv/",
  "tools/*/data/",
  "pixie.db*",
  "logs/",
  "artefacts/",
  "tmp/",
  "",
}, "\n")

-- Creates <home>/.gitignore when absent (never touches an existing one).
-- Returns true | nil, message.
function M.ensure_gitignore()
  local path, err = gitignore_path()
  if not path then return nil, err end
  if fs.stat(path, { nofollow = true }) then return true end
  return fs.write_atomic(path, M.GITIGNORE, 0x1A4) -- 0644
end

-- Integer knob PIXIE_<NAME> with a default.
function M.integer(name, default)
  local v = os.getenv("PIXIE_" .. name)
  return v and math.tointeger(tonumber(v)) or default
end

-- String knob PIXIE_<NAME> with a default.
function M.string(name, default)
  local v = os.getenv("PIXIE_" .. name)
  if v == nil or v == "" then return default end
  return v
end

return M
