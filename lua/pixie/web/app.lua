-- The dashboard's JSON API (CONTRACT §4). STUB: the real routes replace
-- this file; it answers GET /api/healthz and 404 otherwise.
local json = require("pixie.json")

local M = {}

local home -- the Pixie home, for the real routes

-- Called once per Lua state (worker or job thread) before any request.
function M.init(h)
  home = h
end

-- req = {method, path, query, headers, body} -> status, body[, headers]
function M.handle(req)
  if req.path == "/api/healthz" and req.method == "GET" then
    return 200, json.encode({ ok = true, version = require("pixie.version").string })
  end
  return 404, json.encode({ error = "not found" })
end

return M
