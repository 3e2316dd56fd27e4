-- Pixie's configuration: the home folder and the PIXIE_* knobs.
-- Every knob has a default that works.
local fs = require("pixie.fs")

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
  local st, err = fs.stat(dir)
  if not st then
    return nil, ("home %s: %s"):format(out().quote(dir, PATH_LIMIT), tostring(err):match("[^:]*$"):sub(2))
  end
  if st.type ~= "directory" then
    return nil, "home " .. out().quote(dir, PATH_LIMIT) .. " is not a folder"
  end
  home = assert(fs.realpath(dir))
  return home
end

-- The home folder (chosen on first use if set_home was not called).
function M.home()
  if not home then
    local h, err = M.set_home(nil)
    if not h then error(err, 0) end
  end
  return home
end

function M.tools_dir() return M.home() .. "/tools" end
function M.skills_dir() return M.home() .. "/skills" end
function M.logs_dir() return M.home() .. "/logs" end
function M.db_path() return M.home() .. "/pixie.db" end

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
  "",
}, "\n")

-- Creates <home>/.gitignore when absent (never touches an existing one).
-- Returns true | nil, message.
function M.ensure_gitignore()
  local path = M.home() .. "/.gitignore"
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
