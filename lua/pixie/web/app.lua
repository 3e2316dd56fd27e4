-- The dashboard's JSON API (SPEC §5.2, docs/dashboard-api.md §4), called by the C server
-- (src/api/server.c) on every worker and job thread's own Lua state:
--   init(home)    once per Lua state, before anything else
--   handle(req)   req = {method, path, query, headers, body} for /api/...
--                 -> status, body[, headers[, {cache = true}]] | "sse", key | "await", key
--                 (cache: a GET answer the server may give again while the
--                 files it watches and the warm pool are unchanged)
-- Routes are matched on the path's segments; a tool id is one segment of
-- [A-Za-z0-9._-]{1,128}. Unknown route 404, known route with another
-- method 405. Every body is JSON masked at the sink (pixie.web.http).
local config = require("pixie.config")
local http = require("pixie.web.http")

local M = {}

-- Route table: { method, pattern (segments, ":id" a tool id, ":key" a
-- secret name, ":run" a run id), module, function name }.
local ROUTES = {
  { "GET", "/api/healthz", "pixie.web.tools", "healthz" },
  { "GET", "/api/tools", "pixie.web.tools", "list" },
  { "GET", "/api/tools/:id", "pixie.web.tools", "get" },
  { "GET", "/api/tools/:id/secrets", "pixie.web.secrets", "list" },
  { "POST", "/api/tools/:id/secrets/:key", "pixie.web.secrets", "set" },
  { "DELETE", "/api/tools/:id/secrets/:key", "pixie.web.secrets", "clear" },
  { "POST", "/api/tools/:id/run", "pixie.web.runs", "start" },
  { "GET", "/api/tools/:id/runs", "pixie.web.runs", "list" },
  { "POST", "/api/tools/:id/stop", "pixie.web.tools", "stop" },
  { "POST", "/api/tools/:id/validate", "pixie.web.validation", "start" },
  { "GET", "/api/tools/:id/validation", "pixie.web.validation", "get" },
  { "GET", "/api/tools/:id/logs", "pixie.web.tools", "logs" },
  { "GET", "/api/tools/:id/autocomplete/:key", "pixie.web.autocomplete", "handle" },
  { "GET", "/api/runs/:run", "pixie.web.runs", "get" },
  { "POST", "/api/runs/:run/star", "pixie.web.runs", "star" },
  { "GET", "/api/runs/:run/events", "pixie.web.runs", "events" },
  { "POST", "/api/runs/:run/cancel", "pixie.web.runs", "cancel" },
  { "GET", "/api/launcher/state", "pixie.web.tools", "launcher_state" },
}

local TOOL_ID = "^[A-Za-z0-9._-]+$"

-- The segments of a path ("/api/tools/x" -> {"api", "tools", "x"}); nil
-- for an empty segment (a doubled or trailing slash).
local function segments(path)
  local parts = {}
  for part in (path .. "/"):gmatch("([^/]*)/") do parts[#parts + 1] = part end
  if parts[1] ~= "" then return nil end
  table.remove(parts, 1)
  for _, p in ipairs(parts) do
    if p == "" then return nil end
  end
  return parts
end

-- Splits each route's pattern once.
for _, r in ipairs(ROUTES) do r.parts = segments(r[2]) end

-- The captured arguments when the path's segments fit the route, else nil.
-- `bad` is set when only a capture's shape failed (e.g. a tool id too long).
local function fit(route, parts)
  if #route.parts ~= #parts then return nil end
  local args, names = {}, {}
  for i, p in ipairs(route.parts) do
    local got = parts[i]
    if p:sub(1, 1) == ":" then
      args[#args + 1] = got
      names[#args] = p
    elseif p ~= got then
      return nil
    end
  end
  return args, names
end

-- True when every tool id and run id captured has its shape (the allowed
-- characters, at most 128 bytes). Secret names are checked by their
-- handler (an invalid one is a 400, not a 404).
local function well_formed(args, names)
  for i, a in ipairs(args) do
    if names[i] ~= ":key" and (#a > 128 or not a:match(TOOL_ID)) then return false end
  end
  return true
end

-- init(home): chooses the home for this Lua state, registers every
-- secret of every tool with the masker (SPEC §3.4's startup scan) and opens
-- the store (tool output goes to its spawn_log). Raises when the home or
-- the store cannot be used (the server logs it and makes no state).
function M.init(home)
  assert(config.set_home(home))
  local tools = require("pixie.tools")
  require("pixie.secrets").register_home((tools.list()))
  assert(require("pixie.runs").store())
  return true
end

function M.handle(req)
  local parts = segments((req.path or ""):match("^[^?]*"))
  if not parts then return http.error(404, "no such route") end
  local allowed = {}
  for _, route in ipairs(ROUTES) do
    local args, names = fit(route, parts)
    if args then
      if route[1] == req.method then
        if not well_formed(args, names) then
          return http.error(404, parts[2] == "runs" and "unknown run" or "unknown tool")
        end
        return require(route[3])[route[4]](req, table.unpack(args))
      end
      allowed[#allowed + 1] = route[1]
    end
  end
  if #allowed > 0 then
    local status, body = http.error(405, "method not allowed", { allowed = allowed })
    return status, body, { Allow = table.concat(allowed, ", ") }
  end
  return http.error(404, "no such route")
end

return M
