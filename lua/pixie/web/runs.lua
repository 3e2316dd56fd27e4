-- Run routes of the dashboard API (docs/dashboard-api.md §4) and the job functions that
-- do the long work on a job thread (docs/dashboard-api.md §3):
--   run_job(arg)    arg = JSON {tool_id, run_id, values}: runs.resume with
--                   update events published on the board key = run id, then
--                   finish(run_id, 200, Run JSON)
--   cancel_job(arg) arg = JSON {tool_id, run_id}: the original's soft cancel
--                   (POST /cancel?run_id=; a tool that accepts it has up to
--                   5 s to end the run), then, if the run is still going,
--                   the tool's tree is stopped
--   oversized_files(spec, given) -> nil | errors, fields: the file, image
--                   and audio inputs over their max_size_mb (inputs.too_large,
--                   which inputs.check applies for every run too; the run route
--                   answers 413 with them first; its body may be 64 MiB, serve.lua)
-- The run's own job sees the cancel flag (pixie.server.cancelled) and
-- records the run cancelled.
local inputs = require("pixie.inputs")
local json = require("pixie.json")
local log = require("pixie.log")
local sys = require("pixie.sys")
local launcher = require("pixie.launcher")
local runs = require("pixie.runs")
local http = require("pixie.web.http")
local web_tools = require("pixie.web.tools")

local M = {}

M.CANCEL_WAIT_MS = 5000
local LIST_LIMIT_MAX = 1000

-- The Run object of docs/dashboard-api.md §4 for a store row.
function M.run_object(row)
  return {
    id = row.id, tool_id = row.tool_id, status = row.status, started_at = row.started_at,
    finished_at = http.null(row.finished_at), duration_ms = http.null(row.duration_ms),
    inputs = http.null(row.inputs), outputs = http.null(row.outputs),
    error_text = http.null(row.error_text), source = row.source, starred = row.starred == true,
    label = http.null(row.label),
  }
end

-- The store, or nil then the 500 answer.
local function store()
  local st, err = runs.store()
  if not st then return nil, http.error(500, err) end
  return st
end

-- The stored run with id, or nil then the error answer (404 unknown).
local function find_run(id)
  if type(id) ~= "string" or not id:match("^[%w%-]+$") or #id > 64 then
    return nil, http.error(404, "unknown run")
  end
  local st, s, b = store()
  if not st then return nil, s, b end
  local rows, err = st:handle():query("SELECT id FROM runs WHERE id = ?", id)
  if not rows then return nil, http.error(500, err) end
  if not rows[1] then return nil, http.error(404, "unknown run") end
  local row, gerr = st:run_get(id)
  if not row then return nil, http.error(500, gerr) end
  return row, st
end

-- Ends a started run that no job will complete as an error (best effort).
local function abandon(run_id, text)
  local st = runs.store()
  if st then st:run_finish(run_id, { status = "error", error = text }) end
end

-- The file, image and audio inputs over their max_size_mb (inputs.too_large):
-- nil when none, else errors and fields = {input_key = message}.
function M.oversized_files(spec, given)
  local errors, fields = {}, {}
  for _, input in ipairs(spec and spec.inputs or {}) do
    local msg = inputs.too_large(input, given[input.key])
    if msg then
      errors[#errors + 1] = input.key .. ": " .. msg
      fields[input.key] = msg
    end
  end
  if #errors == 0 then return nil end
  return errors, fields
end

function M.start(req, id)
  local entry, status, body = web_tools.find_ok(id)
  if not entry then return status, body end
  local args, s, b = http.body_object(req, true)
  if not args then return s, b end
  local given = args.inputs
  if given == nil or given == json.null then given = {} end
  if type(given) == "table" and not json.is_array(given) then
    local errors, fields = M.oversized_files(entry.spec, given)
    if errors then
      return http.error(413, "invalid inputs: " .. table.concat(errors, "; "),
                        { errors = json.array(errors), fields = fields })
    end
  end
  local wait = args.wait
  if wait == nil or wait == json.null then wait = true end
  if type(wait) ~= "boolean" then return http.error(400, "wait must be true or false") end
  if type(given) ~= "table" or json.is_array(given) then
    return http.error(400, "invalid inputs: inputs must be a JSON object",
                      { errors = json.array({ "inputs must be a JSON object" }), fields = {} })
  end
  local run, problem = runs.start(entry, given, { source = "dashboard" })
  if not run then
    if problem.kind == "inputs" then
      return http.error(400, problem.message, { errors = json.array(problem.errors),
                                                fields = problem.fields or {} })
    end
    return http.error(500, problem.message)
  end
  local server = http.server()
  local opened, oerr = server.board_open(run.id)
  local started, jerr
  if opened then
    started, jerr = server.job("pixie.web.runs", "run_job",
      assert(json.encode({ tool_id = entry.id, run_id = run.id, values = run.values })))
  end
  if not started then
    local why = oerr or jerr
    abandon(run.id, "the dashboard could not start the run: " .. tostring(why))
    if opened then server.finish(run.id, 503, http.encode({ error = why })) end
    return http.error(503, "the run could not be started: " .. tostring(why))
  end
  if wait then return "await", run.id end
  return http.json(202, { run_id = run.id })
end

-- Publishes one update event of a running run.
local function publish_update(server, key, changes, outputs)
  local ok, err = server.publish(key, "update",
    http.encode({ changes = json.array(changes), outputs = outputs() }))
  if not ok then log.warn(("run %s: update not published: %s"):format(key, tostring(err))) end
end

function M.run_job(arg)
  local a = assert(json.decode(arg))
  local server = http.server()
  local key = a.run_id
  local ok, record, problem = pcall(runs.resume, a.tool_id, a.run_id, a.values, {
    source = "dashboard",
    on_event = function(changes, outputs) publish_update(server, key, changes, outputs) end,
    cancelled = function() return server.cancelled(key) == true end,
  })
  if not ok then
    log.error(("run %s failed: %s"):format(key, tostring(record)))
    abandon(key, "internal error")
    server.finish(key, 500, http.encode({ error = "internal error" }))
  elseif not record then
    abandon(key, problem.message)
    server.finish(key, 500, http.encode({ error = problem.message }))
  else
    server.finish(key, 200, http.encode(M.run_object(record)))
  end
  return true
end

function M.list(req, id)
  local entry, status, body = web_tools.find(id)
  if not entry then return status, body end
  local limit, s, b = http.query_integer(req, "limit", 50, 1, LIST_LIMIT_MAX)
  if not limit then return s, b end
  local st, s2, b2 = store()
  if not st then return s2, b2 end
  local rows, err = st:runs_list(entry.id, limit)
  if not rows then return http.error(500, err) end
  local list = json.array({})
  for _, r in ipairs(rows) do list[#list + 1] = M.run_object(r) end
  return http.json(200, { runs = list })
end

function M.get(_, run_id)
  local row, s, b = find_run(run_id)
  if not row then return s, b end
  return http.json(200, M.run_object(row))
end

function M.star(req, run_id)
  local row, st, b = find_run(run_id)
  if not row then return st, b end
  local args, s, b2 = http.body_object(req)
  if not args then return s, b2 end
  if type(args.starred) ~= "boolean" then return http.error(400, "starred must be true or false") end
  local ok, err = st:run_star(run_id, args.starred)
  if not ok then return http.error(500, err) end
  return M.get(nil, run_id)
end

function M.events(_, run_id)
  local row, s, b = find_run(run_id)
  if not row then return s, b end
  if http.server().board_state(run_id) ~= nil then return "sse", run_id end
  -- no longer on the board (or run elsewhere): one final event at once
  return 200, "event: final\ndata: " .. http.encode(M.run_object(row)) .. "\n\n",
         { ["Content-Type"] = "text/event-stream" }
end

function M.cancel(_, run_id)
  local row, s, b = find_run(run_id)
  if not row then return s, b end
  local server = http.server()
  if row.status ~= "running" or server.board_state(run_id) ~= "running" then
    return http.error(409, ("run %s is not running in this dashboard"):format(run_id))
  end
  if not server.cancel(run_id) then
    return http.error(409, ("run %s is not running in this dashboard"):format(run_id))
  end
  local started, err = server.job("pixie.web.runs", "cancel_job",
    assert(json.encode({ tool_id = row.tool_id, run_id = run_id })))
  if not started then
    -- the run's job still sees the flag at its next event
    log.warn(("run %s: the cancel job did not start: %s"):format(run_id, tostring(err)))
  end
  return http.json(202, { cancelling = true })
end

-- Percent-encodes a query value.
local function query_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

function M.cancel_job(arg)
  local a = assert(json.decode(arg))
  local server = http.server()
  local got, err = launcher.post(a.tool_id, "/cancel?run_id=" .. query_escape(a.run_id), "",
                                 M.CANCEL_WAIT_MS)
  if not got then log.info(("the tool %s was not told to cancel: %s"):format(a.tool_id, tostring(err))) end
  -- a tool that took the soft cancel gets up to CANCEL_WAIT_MS to end the
  -- run; one without /cancel (or that refused it) is stopped at once
  if got and got.status_code >= 200 and got.status_code <= 299 then
    local until_ms = sys.monotonic_ms() + M.CANCEL_WAIT_MS
    while server.board_state(a.run_id) == "running" and sys.monotonic_ms() < until_ms do
      sys.sleep_ms(50)
    end
  end
  if server.board_state(a.run_id) == "running" then launcher.stop(a.tool_id, M.CANCEL_WAIT_MS) end
  return true
end

return M
