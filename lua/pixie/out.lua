-- The one place Pixie's own Lua code writes to the terminal. Everything
-- written here passes secret masking (pixie.mask).
local mask = require("pixie.mask")

local M = {}

-- Returns text (tostring'd) with every registered secret value masked.
function M.scrub(text)
  return mask.scrub(tostring(text))
end

-- Writes the arguments (tostring'd, tab-separated) and a newline to stdout.
function M.print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  io.stdout:write(M.scrub(table.concat(parts, "\t")), "\n")
end

-- Writes raw text to stdout (no newline added).
function M.write(text)
  io.stdout:write(M.scrub(text))
end

-- Writes "pixie: <message>" to stderr.
function M.error(message)
  io.stderr:write(M.scrub("pixie: " .. tostring(message)), "\n")
  io.stderr:flush()
end

-- Writes a warning line to stderr.
function M.warn(message)
  io.stderr:write(M.scrub("pixie: warning: " .. tostring(message)), "\n")
end

return M
