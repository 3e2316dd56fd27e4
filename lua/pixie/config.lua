-- Pixie's configuration: the home folder and the PIXIE_* knobs.
-- Every knob has a default that works.
local fs = require("pixie.fs")

local M = {}

local home -- absolute path once chosen

-- Chooses the home: explicit dir, else PIXIE_HOME, else the current dir.
-- Returns the absolute path, or nil, message when it is not a folder.
function M.set_home(dir)
  dir = dir or os.getenv("PIXIE_HOME")
  if dir == nil or dir == "" then dir = "." end
  local st, err = fs.stat(dir)
  if not st then return nil, "home " .. err end
  if st.type ~= "directory" then return nil, "home " .. dir .. " is not a folder" end
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
