-- The dashboard's JSON API handlers (lua/pixie/web/*), called directly
-- through require("pixie.web.app").handle(req) with a temporary home, real
-- fixture tools and a small fake of the pixie.server board/job binding
-- (jobs run inline when the test says so).
local t = require("harness")
local json = require("pixie.json")
local launcher = require("pixie.launcher")
local fs = require("pixie.fs")
local http = require("pixie.web.http")
local app = require("pixie.web.app")
local tools = require("pixie.tools")

local SRC = assert(os.getenv("PIXIE_SOURCE_DIR"), "PIXIE_SOURCE_DIR")
local FIXTURES = SRC .. "/tests/fixtures/tools/"
local CANARY = "CANARY-web-api-7d1e-value"

local function copy(from, to)
  local f = assert(io.open(from, "rb"))
  local text = f:read("a")
  f:close()
  t.write(to, text)
end

-- A fake board: keys -> {state, events, status, body, cancel}; jobs queued
-- and run by run_jobs().
local function fake_server()
  local board, jobs = {}, {}
  local s = { board = board, jobs = jobs }
  function s.board_open(k)
    if board[k] and board[k].state == "running" then return nil, "open" end
    board[k] = { state = "running", events = {} }
    return true
  end
  function s.publish(k, e, d) table.insert(board[k].events, { event = e, data = d }); return true end
  function s.finish(k, status, body)
    board[k].state, board[k].status, board[k].body = "finished", status, body
    return true
  end
  function s.cancel(k)
    if board[k] and board[k].state == "running" then board[k].cancel = true; return true end
    return false
  end
  function s.cancelled(k) return board[k] ~= nil and board[k].cancel == true end
  function s.board_state(k) return board[k] and board[k].state end
  function s.job(mod, fn, arg) jobs[#jobs + 1] = { mod, fn, arg }; return true end
  function s.run_jobs()
    while #jobs > 0 do
      local j = table.remove(jobs, 1)
      require(j[1])[j[2]](j[3])
    end
  end
  return s
end

local server

local function home_with(names)
  local home = t.tmpdir("web-api")
  copy(FIXTURES .. "fixturelib.py", home .. "/tools/fixturelib.py")
  for _, name in ipairs(names) do
    copy(FIXTURES .. name .. "/main.py", home .. "/tools/" .. name .. "/main.py")
    copy(FIXTURES .. name .. "/tool.json", home .. "/tools/" .. name .. "/tool.json")
  end
  t.write(home .. "/tools/broken/tool.json", "{ not json")
  tools.clear_cache()
  assert(app.init(home))
  server = fake_server()
  http.use_server(server)
  return home
end

-- handle() with a JSON body; returns status, decoded body (or raw), headers.
local function call(method, path, body, query)
  local text = body
  if type(body) == "table" then text = assert(json.encode(body)) end
  local status, out, headers = app.handle({ method = method, path = path, query = query or {},
                                            headers = {}, body = text or "" })
  if type(status) == "number" and out ~= "" and (not headers or not headers["Content-Type"]) then
    local decoded = json.decode(out)
    t.ok(decoded ~= nil, "JSON body: " .. tostring(out))
    return status, decoded, headers, out
  end
  return status, out, headers, out
end

t.test("healthz_and_unknown_routes", function()
  home_with({})
  local s, b = call("GET", "/api/healthz")
  t.eq(s, 200); t.eq(b.ok, true); t.ok(type(b.version) == "string")
  t.eq((call("GET", "/api/nope")), 404)
  t.eq((call("GET", "/api/tools/")), 404)
  local s2, b2, h2 = call("DELETE", "/api/healthz")
  t.eq(s2, 405); t.contains(b2.error, "method"); t.eq(h2.Allow, "GET")
end)

t.test("tools_list_and_one_tool", function()
  home_with({ "secretprobe", "envprobe" })
  local s, b = call("GET", "/api/tools")
  t.eq(s, 200)
  local by = {}
  for _, x in ipairs(b.tools) do by[x.id] = x end
  t.eq(by.broken.status, "broken"); t.ok(#by.broken.errors > 0)
  t.eq(by.secretprobe.status, "ok")
  t.eq(by.secretprobe.secrets_missing, { "PROBE_SECRET" })
  t.eq(by.secretprobe.warm, false); t.eq(by.secretprobe.busy, 0)
  t.eq(by.secretprobe.validation, json.null)
  local s2, one = call("GET", "/api/tools/envprobe")
  t.eq(s2, 200); t.eq(one.spec.id, "envprobe"); t.eq(one.last_inputs, json.null)
  t.eq((call("GET", "/api/tools/missing")), 404)
  t.eq((call("GET", "/api/tools/bad%20id")), 404)
  local s3, br = call("GET", "/api/tools/broken")
  t.eq(s3, 200); t.eq(br.spec, json.null)
end)

t.test("secrets_set_status_clear_never_show_the_value", function()
  local home = home_with({ "secretprobe" })
  local s, b, _, raw = call("GET", "/api/tools/secretprobe/secrets")
  t.eq(s, 200)
  t.eq(b.secrets, { { key = "PROBE_SECRET", description = "The value compared by hash", required = true, set = false } })
  t.eq(b.env_error, json.null)
  s, b = call("POST", "/api/tools/secretprobe/secrets/PROBE_SECRET", { value = CANARY })
  t.eq(s, 204); t.eq(b, "")
  t.eq(fs.stat(home .. "/tools/secretprobe/.env").mode & 0x1FF, 0x180, ".env is 0600")
  s, b, _, raw = call("GET", "/api/tools/secretprobe/secrets")
  t.eq(b.secrets[1].set, true)
  t.ok(not raw:find(CANARY, 1, true))
  -- the masker knows it now
  t.ok(not require("pixie.out").scrub("x " .. CANARY):find(CANARY, 1, true), "registered with the masker")
  s = call("DELETE", "/api/tools/secretprobe/secrets/PROBE_SECRET")
  t.eq(s, 204)
  s = call("DELETE", "/api/tools/secretprobe/secrets/PROBE_SECRET")
  t.eq(s, 204, "also when not set")
  _, b = call("GET", "/api/tools/secretprobe/secrets")
  t.eq(b.secrets[1].set, false)
end)

t.test("secrets_refusals", function()
  home_with({ "secretprobe" })
  local p = "/api/tools/secretprobe/secrets/"
  t.eq((call("POST", p .. "OTHER_KEY", { value = "abcdefgh" })), 400)
  t.eq((call("POST", p .. "bad-name", { value = "abcdefgh" })), 400)
  t.eq((call("POST", p .. "1BAD", { value = "abcdefgh" })), 400)
  t.eq((call("DELETE", p .. "OTHER_KEY")), 400)
  t.eq((call("POST", p .. "PROBE_SECRET", "{not json")), 400)
  t.eq((call("POST", p .. "PROBE_SECRET", { value = "" })), 400)
  t.eq((call("POST", p .. "PROBE_SECRET", { value = 12 })), 400)
  t.eq((call("POST", p .. "PROBE_SECRET", "[1]")), 400)
  local s, b = call("POST", p .. "PROBE_SECRET", { value = "CANARY-nl\nx\\" })
  t.eq(s, 400); t.contains(b.error, "python-dotenv")
  t.ok(not b.error:find("CANARY-nl", 1, true))
  s = call("POST", p .. "PROBE_SECRET", { value = ("C"):rep(64 * 1024 + 1) })
  t.eq(s, 413)
  t.eq((call("POST", "/api/tools/missing/secrets/PROBE_SECRET", { value = "abcdefgh" })), 404)
end)

t.test("run_wait_and_no_wait_and_invalid_inputs", function()
  home_with({ "envprobe", "secretprobe" })
  local s, b = call("POST", "/api/tools/envprobe/run", { inputs = { reserve_mb = "lots" } })
  t.eq(s, 400); t.contains(b.error, "invalid inputs")
  t.ok(b.fields.reserve_mb ~= nil, "field-keyed error"); t.eq(#b.errors, 1)
  s, b = call("POST", "/api/tools/envprobe/run", { inputs = { nope = 1 } })
  t.eq(s, 400); t.eq(b.fields.nope, "unknown input")
  t.eq((call("POST", "/api/tools/envprobe/run", "{bad")), 400)
  t.eq((call("POST", "/api/tools/envprobe/run", { wait = "yes" })), 400)
  t.eq((call("POST", "/api/tools/missing/run", {})), 404)
  -- wait = true: "await" on the run's key, the job finishes it
  local kind, key = call("POST", "/api/tools/envprobe/run", { inputs = { reserve_mb = 0 } })
  t.eq(kind, "await")
  server.run_jobs()
  launcher.stop("envprobe", 1000)
  local entry = server.board[key]
  t.eq(entry.status, 200)
  local run = json.decode(entry.body)
  t.eq(run.id, key); t.eq(run.status, "ok", run.error_text); t.eq(run.source, "dashboard")
  t.eq(run.outputs.env.run_id, key); t.eq(run.starred, false); t.eq(run.label, json.null)
  -- wait = false: 202 with the id
  s, b = call("POST", "/api/tools/secretprobe/run", { inputs = {}, wait = false })
  t.eq(s, 202); t.ok(b.run_id)
  server.run_jobs()
  local r2 = json.decode(server.board[b.run_id].body)
  t.eq(r2.status, "error"); t.contains(r2.error_text, "missing required secret PROBE_SECRET")
  -- runs list, get, star, events of a finished run
  local s3, list = call("GET", "/api/tools/envprobe/runs", nil, { limit = "5" })
  t.eq(s3, 200); t.eq(#list.runs, 1); t.eq(list.runs[1].id, key)
  t.eq((call("GET", "/api/tools/envprobe/runs", nil, { limit = "x" })), 400)
  local s4, got = call("GET", "/api/runs/" .. key)
  t.eq(s4, 200); t.eq(got.status, "ok")
  t.eq((call("GET", "/api/runs/no-such-run")), 404)
  local s5, starred = call("POST", "/api/runs/" .. key .. "/star", { starred = true })
  t.eq(s5, 200); t.eq(starred.starred, true)
  t.eq((call("POST", "/api/runs/" .. key .. "/star", { starred = "y" })), 400)
  t.eq((call("POST", "/api/runs/" .. key .. "/cancel")), 409)
  local kind2 = call("GET", "/api/runs/" .. key .. "/events")
  t.eq(kind2, "sse", "still on the board")
  server.board[key] = nil
  local s6, text, h6 = call("GET", "/api/runs/" .. key .. "/events")
  t.eq(s6, 200); t.eq(h6["Content-Type"], "text/event-stream")
  t.contains(text, "event: final\ndata: {")
  local s7, one = call("GET", "/api/tools/envprobe")
  t.eq(s7, 200); t.eq(one.last_inputs, { reserve_mb = 0 })
end)

t.test("streaming_run_publishes_updates_then_final", function()
  home_with({ "stream-agent" })
  local s, b = call("POST", "/api/tools/stream-agent/run", { inputs = { question = "3 * 4" }, wait = false })
  t.eq(s, 202)
  server.run_jobs()
  launcher.stop("stream-agent", 1000)
  local entry = server.board[b.run_id]
  t.ok(#entry.events >= 2, "updates published")
  for _, e in ipairs(entry.events) do
    t.eq(e.event, "update")
    local d = json.decode(e.data)
    t.ok(type(d.changes) == "table" and type(d.outputs) == "table")
  end
  t.eq(json.decode(entry.events[#entry.events].data).outputs.reply, "3 * 4 = **12.0**")
  t.eq(json.decode(entry.body).status, "ok")
end)

t.test("cancel_flag_ends_a_streaming_run_cancelled", function()
  home_with({ "stream-cancel" })
  local s, b = call("POST", "/api/tools/stream-cancel/run", { wait = false })
  t.eq(s, 202)
  local key = b.run_id
  -- the cancel route sets the flag and queues the cancel job; the run's
  -- job then stops at its next event
  local s2, c = call("POST", "/api/runs/" .. key .. "/cancel")
  t.eq(s2, 202); t.eq(c.cancelling, true)
  t.eq(server.jobs[2][2], "cancel_job")
  table.remove(server.jobs, 2)
  server.run_jobs()
  launcher.stop("stream-cancel", 1000)
  t.eq(json.decode(server.board[key].body).status, "cancelled")
  t.eq((call("POST", "/api/runs/" .. key .. "/cancel")), 409)
end)

t.test("stop_logs_launcher_state_validation", function()
  home_with({ "envprobe" })
  local _, b = call("POST", "/api/tools/envprobe/stop")
  t.eq(b.stopped, false)
  local kind = call("POST", "/api/tools/envprobe/run", { inputs = { reserve_mb = 0 } })
  t.eq(kind, "await")
  server.run_jobs()
  local _, st = call("GET", "/api/launcher/state")
  t.eq(st.tools[1].tool_id, "envprobe")
  _, b = call("POST", "/api/tools/envprobe/stop")
  t.eq(b.stopped, true)
  local s, logs = call("GET", "/api/tools/envprobe/logs", nil, { after = "0" })
  t.eq(s, 200); t.ok(type(logs.lines) == "table"); t.ok(math.type(logs.last) == "integer")
  t.eq((call("GET", "/api/tools/envprobe/logs", nil, { after = "-1" })), 400)
  local s2, v = call("GET", "/api/tools/envprobe/validation")
  t.eq(s2, 200); t.eq(v.running, false); t.eq(v.report, json.null)
  local s3, started = call("POST", "/api/tools/envprobe/validate")
  t.eq(s3, 202); t.eq(started.started, true)
  t.eq((call("POST", "/api/tools/envprobe/validate")), 409, "one at a time")
  _, v = call("GET", "/api/tools/envprobe/validation")
  t.eq(v.running, true)
  server.run_jobs()
  _, v = call("GET", "/api/tools/envprobe/validation")
  t.eq(v.running, false); t.eq(v.report.tool_id, "envprobe")
  t.ok(({ pass = true, warn = true, fail = true })[v.report.overall], "an overall result")
  t.ok(#v.report.checks > 0, "the report's checks")
end)

return t.run()
