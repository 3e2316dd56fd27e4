-- Text that must be valid UTF-8 (JSON output, messages, the database) made
-- from bytes that may not be (a folder name, a tool's error body):
--
--   utf8text.repair(text) -> text   every byte that does not start a valid
--                                   UTF-8 sequence written as \xNN (the form
--                                   Pixie's messages use for control bytes)
--   utf8text.valid(text) -> boolean
local M = {}

function M.valid(text)
  return utf8.len(text) ~= nil
end

function M.repair(text)
  local parts, i = {}, 1
  while true do
    local ok, bad = utf8.len(text, i)
    if ok then break end
    parts[#parts + 1] = text:sub(i, bad - 1)
    parts[#parts + 1] = ("\\x%02X"):format(text:byte(bad))
    i = bad + 1
  end
  if i == 1 then return text end
  parts[#parts + 1] = text:sub(i)
  return table.concat(parts)
end

return M
