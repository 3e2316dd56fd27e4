-- A stand-in for pixie.web.app in test_serve_board.py: routes that drive the
-- event board, jobs, SSE and await replies of pixie.server.
local server = require("pixie.server")
local json = require("pixie.json")
local sys = require("pixie.sys")

local M = {}

local home

function M.init(h)
  home = h
end

local function err(status, msg) return status, json.encode({ error = msg }) end

function M.handle(req)
  local key = req.query.key
  local path = req.path
  if path == "/api/start" then
    local ok, oerr = server.board_open(key)
    if not ok then return err(409, oerr) end
    local started, jerr = server.job("serve_test_app", "work", key)
    if not started then return err(500, jerr) end
    return 202, json.encode({ started = true })
  elseif path == "/api/events" then
    if not server.board_state(key) then return err(404, "no such key") end
    return "sse", key
  elseif path == "/api/await" then
    return "await", key
  elseif path == "/api/cancel" then
    return 200, json.encode({ cancelling = server.cancel(key) })
  elseif path == "/api/state" then
    return 200, json.encode({ state = server.board_state(key) or json.null })
  elseif path == "/api/jobs" then
    -- as many jobs as asked; reports how many were refused
    local refused = 0
    for i = 1, tonumber(req.query.n) do
      if not server.job("serve_test_app", "hold", key .. ":" .. i) then refused = refused + 1 end
    end
    return 200, json.encode({ refused = refused })
  elseif path == "/api/boom" then
    error("route failed with " .. (req.query.canary or ""))
  elseif path == "/api/bad" then
    return "sse"
  elseif path == "/api/headers" then
    return 201, "plain", { ["Content-Type"] = "text/plain; charset=utf-8", ["X-Test"] = "yes",
      ["Access-Control-Allow-Origin"] = "*", ["Content-Security-Policy"] = "none" }
  elseif path == "/api/echo" then
    return 200, json.encode({ method = req.method, path = req.path, query = req.query,
      body = req.body, header = req.headers["x-test-header"] or json.null })
  end
  return err(404, "not found")
end

-- A job: 20 update events, then waits for the cancel flag, then finishes
-- with the home its state was initialised with.
function M.work(key)
  for i = 1, 20 do
    assert(server.publish(key, "update", json.encode({ i = i }) .. "\nline two"))
  end
  local t0 = sys.monotonic_ms()
  while not server.cancelled(key) and sys.monotonic_ms() - t0 < 30000 do sys.sleep_ms(10) end
  assert(server.finish(key, 200, json.encode({ done = true, home = home })))
end

-- A job that waits until its board entry (opened here) is cancelled.
function M.hold(key)
  server.board_open(key)
  local t0 = sys.monotonic_ms()
  while not server.cancelled(key) and sys.monotonic_ms() - t0 < 30000 do sys.sleep_ms(10) end
  server.finish(key, 200, "{}")
end

return M
