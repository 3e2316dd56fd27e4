-- The tool.json model (SPEC §2, reference/pixie-original.md §1).
-- PLACEHOLDER: minimal checks only; the complete strict model replaces this.
--
-- parse(text, tool) -> spec | nil, errors
--   text: the bytes of tool.json; tool: name used in messages (folder name)
--   spec: the normalised table with defaults filled
--   errors: array of "path: message" strings, every problem found
-- validate(value, tool) -> spec | nil, errors   (for an already decoded table)
local json = require("pixie.json")

local M = {}

function M.validate(value, tool)
  local errors = {}
  if type(value) ~= "table" then
    return nil, { "tool.json must be a JSON object" }
  end
  if type(value.id) ~= "string" or not value.id:match("^[a-z][a-z0-9-]*$") then
    errors[#errors + 1] = "id: must match ^[a-z][a-z0-9-]*$"
  end
  for i, s in ipairs(type(value.secrets) == "table" and value.secrets or {}) do
    if type(s) == "table" and s.label ~= nil then
      errors[#errors + 1] = ("secrets[%d].label: tool %s: secrets use 'description', not 'label'; run `pixie run-skill migrate-tool-format %s`")
        :format(i - 1, tool, tool)
    end
  end
  if #errors > 0 then return nil, errors end
  return value
end

function M.parse(text, tool)
  local value, err = json.decode(text)
  if value == nil then
    return nil, { "tool.json is not valid JSON: " .. err }
  end
  return M.validate(value, tool)
end

return M
