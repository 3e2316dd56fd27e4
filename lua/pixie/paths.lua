-- Small questions about paths on disk, shared by the skill finder and the
-- validator.
local fs = require("pixie.fs")

local M = {}

-- is_type(path, kind) -> true when `path` exists (symlinks followed) and
-- its fs.stat type is `kind` ("file", "directory", ...); false otherwise,
-- including when it cannot be stat'ed.
function M.is_type(path, kind)
  local st = fs.stat(path)
  return st ~= nil and st.type == kind
end

return M
