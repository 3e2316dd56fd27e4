-- Secret routes of the dashboard API (docs/dashboard-api.md §4, SPEC §3, §5.1): status
-- rows only, write-only set, clear. Writes go through pixie.secrets.set /
-- clear, the set-secret skill's path: .env 0600 atomically, the value
-- registered with the masker first, the tool stopped. No answer ever holds a
-- value or its length.
local json = require("pixie.json")
local secrets = require("pixie.secrets")
local log = require("pixie.log")
local errno = require("pixie.sys").errno
local http = require("pixie.web.http")
local web_tools = require("pixie.web.tools")

local M = {}

M.MAX_VALUE_BYTES = 64 * 1024

function M.list(_, id)
  local entry, status, body = web_tools.find_ok(id)
  if not entry then return status, body end
  local rows, undeclared, env_err = secrets.status(entry)
  local list = json.array({})
  for _, r in ipairs(rows) do
    list[#list + 1] = { key = r.key, description = r.description, required = r.required,
                        set = r.status == "set" }
  end
  return http.json(200, { secrets = list, undeclared = json.array(undeclared),
                          env_error = http.null(env_err) })
end

-- The tool and the declared key of a secret route, or nil then the error
-- answer: 404 unknown tool, 400 invalid name or undeclared key.
local function target(id, key)
  local entry, status, body = web_tools.find_ok(id)
  if not entry then return nil, status, body end
  if not key:match(secrets.KEY_PATTERN) then
    return nil, http.error(400, "invalid secret name (it must match " .. secrets.KEY_PATTERN .. ")")
  end
  if not secrets.declared(entry, key) then
    return nil, http.error(400, ("%s is not a secret tool %s declares"):format(key, entry.id))
  end
  return entry
end

-- Errors of pixie.env that come from the value (or the request), not the machine.
local VALUE_ERRORS = { [errno.EINVAL] = true, [errno.EILSEQ] = true, [errno.EDOM] = true }

function M.set(req, id, key)
  local entry, status, body = target(id, key)
  if not entry then return status, body end
  local args, s, b = http.body_object(req)
  if not args then return s, b end
  local value = args.value
  if type(value) ~= "string" or value == "" then
    return http.error(400, "value must be a non-empty string")
  end
  require("pixie.mask").add(value) -- before anything could show it
  if #value > M.MAX_VALUE_BYTES then
    return http.error(413, ("the value of %s is longer than %d bytes; nothing was written"):format(
      key, M.MAX_VALUE_BYTES))
  end
  local ok, warnings, code = secrets.set(entry, key, value)
  if not ok then
    if VALUE_ERRORS[code] then return http.error(400, warnings) end
    return http.error(500, warnings)
  end
  for _, w in ipairs(warnings) do log.warn(w) end
  log.info(("secret %s of tool %s set from the dashboard (%d bytes)"):format(key, entry.id, #value))
  return http.no_content()
end

function M.clear(_, id, key)
  local entry, status, body = target(id, key)
  if not entry then return status, body end
  local ok, err = secrets.clear(entry, key)
  if not ok then return http.error(500, err) end
  log.info(("secret %s of tool %s cleared from the dashboard"):format(key, entry.id))
  return http.no_content()
end

return M
