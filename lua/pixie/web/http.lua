-- Answers of the dashboard's JSON API (docs/dashboard-api.md §4): every body leaves
-- through M.json (pixie.out.json: masked at the sink, still valid JSON),
-- errors as {"error": msg, ...}. Also the `pixie.server` binding the routes
-- use (board and jobs, docs/dashboard-api.md §3), replaceable by a test's fake.
local json = require("pixie.json")
local out = require("pixie.out")

local M = {}

local server_binding -- set by use_server (tests), else pixie.server on first use

-- The board/job binding: the one given to use_server, else require("pixie.server").
function M.server()
  if not server_binding then server_binding = require("pixie.server") end
  return server_binding
end

-- Replaces the board/job binding (a test's fake; nil goes back to pixie.server).
function M.use_server(binding)
  server_binding = binding
end

-- JSON text of value, masked at the sink (raises on a value JSON cannot hold:
-- a programmer mistake, which C answers as a 500).
function M.encode(value)
  return assert(out.json(value))
end

-- status, masked JSON body of value.
function M.json(status, value)
  return status, M.encode(value)
end

-- status, {"error": message, ...extra fields}.
function M.error(status, message, extra)
  local body = { error = message }
  for k, v in pairs(extra or {}) do body[k] = v end
  return status, M.encode(body)
end

-- 204, no body.
function M.no_content()
  return 204, ""
end

-- The request body decoded as a JSON object. Returns the table | nil, then
-- the error answer (status, body) to return. An empty body is {} when
-- `empty_ok`.
function M.body_object(req, empty_ok)
  local text = req.body or ""
  if text == "" and empty_ok then return {} end
  local value, err = json.decode(text)
  if value == nil then return nil, M.error(400, "bad JSON: " .. tostring(err)) end
  if type(value) ~= "table" or json.is_array(value) then
    return nil, M.error(400, "bad JSON: the body must be a JSON object")
  end
  return value
end

-- v, or json.null when v is nil.
function M.null(v)
  if v == nil then return json.null end
  return v
end

-- An optional integer query parameter within [min, max]. Returns the value
-- (default when absent) | nil, then the error answer.
function M.query_integer(req, name, default, min, max)
  local text = (req.query or {})[name]
  if text == nil or text == "" then return default end
  local n = math.tointeger(tonumber(text))
  if not n or not tostring(text):match("^%d+$") or n < min or n > max then
    return nil, M.error(400, ("%s must be an integer from %d to %d"):format(name, min, max))
  end
  return n
end

return M
