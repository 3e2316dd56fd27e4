-- Running a tool once, the way every entry point does it (SPEC §4.1–§4.3):
-- the dashboard, `pixie run` and the validator's sample run all come here.
--
-- execute(entry, given, opts) -> record | nil, problem
--   entry: a discovered tool (lua/pixie/tools.lua); given: inputs table;
--   opts.source: "cli" | "dashboard" | "validator" (default "cli");
--   opts.on_event(changes, outputs): optional, called for each streamed event
--   once it is masked and merged: changes as stream_merge.apply gives them
--   (an "append" to a stream_text output passes a mask stream of its own, so
--   a secret cut across chunks never shows: its value may be "" while the
--   masker holds text back, released by a later event); outputs() gives
--   the merged, masked outputs so far (a stream_text output as the changes
--   released it). For live views.
-- A streaming tool (stream_merge.streaming) is POSTed /run, then its
-- /stream?run_id= is read as Server-Sent Events within the same deadline;
-- each event is masked, then merged (lua/pixie/stream_merge.lua).
-- Ctrl-C while the tool runs (only when the caller armed it with
-- sys.interrupt_arm, as `pixie run` does), or opts.cancelled() returning
-- true (checked before the spawn, after /run and at each streamed event:
-- the dashboard's per-run cancel), records the run cancelled, after a
-- streaming tool's soft cancel (POST /cancel?run_id=), and stops the tool.
-- start/complete/resume below are execute in two steps (the dashboard
-- answers at once with the run id, a job thread runs the tool).
--   record: the stored runs row (status ok|error|timeout|cancelled, outputs, error_text),
--   plus `warnings` (array, possibly empty): bookkeeping around the run that
--   failed without changing its result (the tool's last inputs not saved,
--   old runs not pruned); each is also logged as a warning.
--   problem: { kind = "broken"|"inputs"|"home"|"store", message, errors = {...} }
--   (kind "inputs" also has fields = {input_key = message})
--   for failures that happen before a run exists (nothing is spawned).
-- A missing required secret fails fast, before anything is spawned, and is
-- recorded as an error run so the history shows it.
local json = require("pixie.json")
local config = require("pixie.config")
local fs = require("pixie.fs")
local inputs = require("pixie.inputs")
local tools = require("pixie.tools")
local secrets = require("pixie.secrets")
local store = require("pixie.store")
local childenv = require("pixie.childenv")
local launcher = require("pixie.launcher")
local log = require("pixie.log")
local utf8text = require("pixie.utf8text")
local out = require("pixie.out")
local sys = require("pixie.sys")
local stream_merge = require("pixie.stream_merge")
local mask = require("pixie.mask")

local M = {}

local DETAIL_LIMIT = 2000
local MESSAGE_ERRORS = 5 -- input errors named in a problem's one-line message

local sink_store -- the store this Lua state pointed the launcher's output at
local gitignored = {} -- home -> true once its .gitignore was checked in this state

-- The store for the current home. The first time a store is opened here,
-- the launcher's output (process-wide) is pointed at its spawn_log, once:
-- every Lua state of the process shares the same C store, so a second
-- state setting it again changes nothing.
function M.store()
  local home, herr = config.home()
  if not home then return nil, herr end
  if not gitignored[home] then -- once per home and state, not on every request
    local ok, gerr = config.ensure_gitignore()
    if ok then gitignored[home] = true else log.warn("the home's .gitignore was not written: " .. tostring(gerr)) end
  end
  local st, err = store.open(home)
  if not st then return nil, err end
  if sink_store ~= st then
    launcher.set_store(st:handle())
    sink_store = st
  end
  return st
end

-- Text of a failed answer: the JSON `detail` when there is one, else the
-- start of the body; masked before it is cut to DETAIL_LIMIT bytes (a
-- secret across the cut must not leave its start behind), bytes that are
-- not UTF-8 then shown as \xNN.
local function failure_text(status_code, body)
  local decoded = body and json.decode(body)
  local detail
  if type(decoded) == "table" then detail = decoded.detail end
  local text
  if detail ~= nil and detail ~= json.null then
    if type(detail) ~= "string" then detail = out.json(detail) or tostring(detail) end
    text = utf8text.repair(out.clip(detail, DETAIL_LIMIT))
  else
    text = utf8text.repair(out.clip(body or "", DETAIL_LIMIT))
  end
  return ("tool answered %d%s"):format(status_code, text ~= "" and (": " .. text) or "")
end

-- The request body of SPEC §4.1: envelope plus a flat copy of every input.
local function request_body(run_id, values, artefacts_dir)
  local body = {}
  for k, v in pairs(values) do body[k] = v end
  body.run_id = run_id
  body.inputs = values
  body._pixie = { run_id = run_id, artefacts_dir = artefacts_dir }
  return assert(json.encode(body))
end

-- What a decoded JSON value that is not an object is, for a message.
local function json_kind(value)
  if value == json.null then return "JSON null" end
  if type(value) == "table" then return "a JSON array" end
  return "a JSON " .. type(value)
end

-- Turns the launcher's answer into {status, outputs, error}.
local function outcome(answer, err, spec)
  if not answer then
    return { status = "error", error = err }
  end
  if answer.timed_out then
    return {
      status = "timeout",
      error = answer.error or ("no answer within %d s; the tool was stopped"):format(
        spec.max_runtime_seconds + 5),
    }
  end
  if answer.status_code < 200 or answer.status_code > 299 then
    return { status = "error", error = failure_text(answer.status_code, answer.body) }
  end
  local outputs, derr = json.decode(answer.body or "")
  if outputs == nil then
    return { status = "error", error = "tool answered with invalid JSON: " .. derr }
  end
  if type(outputs) ~= "table" or json.is_array(outputs) then
    return { status = "error",
             error = ("tool answered with %s; the outputs must be a JSON object"):format(json_kind(outputs)) }
  end
  local problem = inputs.unencodable(outputs)
  if problem then return { status = "error", error = "tool answered with outputs Pixie cannot store: a value " .. problem } end
  return { status = "ok", outputs = outputs }
end

-- Every string in a decoded value masked (keys included): a secret written
-- with JSON escapes is whole only after decoding.
local function scrub_deep(v)
  if type(v) == "string" then return out.scrub(v) end
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[scrub_deep(k)] = scrub_deep(x) end
  return setmetatable(c, getmetatable(v))
end

-- The masked value of one event's data: its JSON, or the text itself.
local function event_value(data)
  local text = out.scrub(data)
  local value = json.decode(text)
  if value == nil then return text end
  return scrub_deep(value)
end

-- Percent-encodes a query value.
local function query_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- Reads the tool's /stream for run_id after a successful /run (result ok,
-- with its initial outputs) and merges it; stop() returning true after an
-- event ends the reading early (a cancel). Returns the run's result.
local function read_stream(tool, spec, answer, run_id, result, deadline_at, on_event, stop)
  local state = stream_merge.new(spec, result.outputs)
  local left = math.floor(deadline_at - sys.monotonic_ms())
  local limit_s = spec.max_runtime_seconds + 5
  if left <= 0 then
    launcher.stop(spec.id, 1000)
    return { status = "timeout", error = ("no end of the stream within %d s; the tool was stopped"):format(limit_s) }
  end
  -- stream_text key -> {stream = its mask stream, shown = released pieces}:
  -- what a live view sees of that output
  local live = {}
  local function start_live(key, base)
    if type(base) == "table" then base = base.value end
    live[key] = { stream = mask.stream(), shown = { type(base) == "string" and out.scrub(base) or "" } }
  end
  for _, o in ipairs(spec.outputs) do
    if o.type == "stream_text" then start_live(o.key, state.outputs[o.key]) end
  end
  local function outputs()
    local shown = stream_merge.outputs(state, out.scrub)
    for key, l in pairs(live) do shown[key] = table.concat(l.shown) end
    return shown
  end
  local got, err, code = launcher.stream(spec.id, answer.pid or 0, "/stream?run_id=" .. query_escape(run_id), {
    deadline_ms = left,
    on_event = function(name, data)
      local changes = stream_merge.apply(state, out.scrub(name), event_value(data))
      if not on_event or #changes == 0 then return state.done or stop() end
      for _, c in ipairs(changes) do
        local l = live[c.key]
        if l and c.op == "append" then
          c.value = l.stream:feed(c.value)
          l.shown[#l.shown + 1] = c.value
        elseif l then -- replaced by a value that is not text: appends start again
          l.stream:close()
          start_live(c.key, nil)
        end
      end
      on_event(changes, outputs)
      return state.done or stop()
    end,
  })
  for _, l in pairs(live) do l.stream:close() end
  if not got and code == sys.errno.EINTR then stop(true) end -- Ctrl-C cut the transfer
  if not got then
    return { status = "error", error = "the tool's stream broke before it was done: " .. tostring(err) }
  end
  if got.timed_out then
    return { status = "timeout",
             error = ("the stream did not end within %d s; the tool was stopped"):format(limit_s) }
  end
  if got.status_code < 200 or got.status_code > 299 then
    return { status = "error", error = "/stream: " .. failure_text(got.status_code, got.body) }
  end
  if not state.done then
    return { status = "error", error = "the tool's stream ended without an event saying done: true" }
  end
  return { status = "ok", outputs = stream_merge.finish(state, out.scrub) }
end

local CANCEL_WAIT_MS = 5000

-- The result of a run cut short by Ctrl-C (pixie run arms the flag:
-- sys.interrupt_arm). A streaming tool is sent the original's soft cancel,
-- POST /cancel?run_id=, and given up to CANCEL_WAIT_MS to answer it (a tool
-- without /cancel just answers 404); then the tool's tree is stopped either
-- way. The flag is cleared first, so that the POST itself is not aborted.
local function cancelled(spec, run_id, streaming)
  sys.interrupted(true)
  if streaming then
    local got, err = launcher.post(spec.id, "/cancel?run_id=" .. query_escape(run_id), "", CANCEL_WAIT_MS)
    if not got then log.info(("the tool %s was not told to cancel: %s"):format(spec.id, tostring(err))) end
  end
  launcher.stop(spec.id, CANCEL_WAIT_MS)
  return { status = "cancelled", error = "cancelled by the user" }
end

-- Appends the masked tail of the tool's output to an error text (bytes
-- that are not UTF-8 as \xNN).
local function with_output_tail(text, tool_id)
  local tail = launcher.output(tool_id)
  if tail and tail ~= "" then
    return text .. "\n--- tool output (last lines) ---\n" .. utf8text.repair(out.clip(tail, DETAIL_LIMIT, true))
  end
  return text
end

-- A problem of execute for a message from the store or the home.
local function problem_of(kind, message)
  return nil, { kind = kind, message = message, errors = { message } }
end

-- Records a failed bookkeeping step (ok, err of a store call) in warnings
-- and the log; the run's own result stands.
local function note(warnings, what, ok, err)
  if ok then return end
  local text = ("%s: %s"):format(what, tostring(err))
  warnings[#warnings + 1] = text
  log.warn(text)
end

-- A run's "was it asked to stop?" check: Ctrl-C (armed by `pixie run`) or
-- the caller's own opts.cancelled() (the dashboard's per-run cancel).
-- Sticky: once it has said yes (or was told, stop(true): a transfer that
-- Ctrl-C cut) it keeps saying yes, so the verdict after the stream is the
-- one that stopped it.
local function stop_check(opts)
  local asked = false
  return function(told)
    asked = asked or told == true or sys.interrupted()
      or (opts.cancelled ~= nil and opts.cancelled() == true)
    return asked
  end
end

-- start(entry, given, opts) -> run | nil, problem
-- The first half of execute: checks the inputs (problem.kind "inputs" with
-- errors and fields = {input_key = message}), saves them as the tool's last
-- inputs and records the run row as running. Nothing is spawned.
--   run = { id, entry, values, source, warnings } for complete().
function M.start(entry, given, opts)
  opts = opts or {}
  local source = opts.source or "cli"
  if entry.status ~= "ok" then
    return nil, { kind = "broken", message = ("tool '%s' is broken: %s"):format(entry.id, entry.errors[1]),
                  errors = entry.errors }
  end
  local spec = entry.spec
  local values, errors, fields = inputs.check(spec, given or {})
  if not values then
    local shown = table.move(errors, 1, math.min(#errors, MESSAGE_ERRORS), 1, {})
    local more = #errors > MESSAGE_ERRORS and (" (and %d more)"):format(#errors - MESSAGE_ERRORS) or ""
    return nil, { kind = "inputs", message = "invalid inputs: " .. table.concat(shown, "; ") .. more,
                  errors = errors, fields = fields or {} }
  end
  local home, herr = config.home()
  if not home then return problem_of("home", herr) end
  local st, serr = M.store()
  if not st then return problem_of("store", serr) end
  local warnings = {}
  note(warnings, ("the last inputs of %s were not saved"):format(spec.id),
       st:tool_state_set(spec.id, { last_inputs = values }))
  local run_id, rerr = st:run_start(spec.id, values, source)
  if not run_id then return problem_of("store", rerr) end
  return { id = run_id, entry = entry, values = values, source = source, warnings = warnings }
end

-- The result of running the tool for a started run (secrets checked first).
local function perform(run, opts)
  local entry, spec, run_id, values = run.entry, run.entry.spec, run.id, run.values
  local stop_asked = stop_check(opts)
  local missing, env_err = secrets.missing_required(entry)
  if env_err then
    return { status = "error", error = "cannot read the tool's .env: " .. env_err }
  elseif #missing > 0 then
    return {
      status = "error",
      error = ("missing required secret %s — set it in Settings or with set-secret"):format(missing[1]),
    }
  end
  local home, herr = config.home()
  if not home then return { status = "error", error = herr } end
  local artefacts_dir = ("%s/artefacts/%s/%s"):format(home, spec.id, run_id)
  local tool, terr = childenv.tool_table(entry)
  local ok, merr = fs.mkdirs(artefacts_dir, 0x1C0) -- 0700
  if not tool or not ok then
    return { status = "error", error = terr or merr }
  end
  if stop_asked() then return cancelled(spec, run_id, false) end
  local deadline_ms = (spec.max_runtime_seconds + 5) * 1000
  local deadline_at = sys.monotonic_ms() + deadline_ms
  local answer, aerr = launcher.run(tool, request_body(run_id, values, artefacts_dir), {
    run_id = run_id,
    artefacts_dir = artefacts_dir,
    deadline_ms = deadline_ms,
  })
  local result = outcome(answer, aerr, spec)
  local streaming = stream_merge.streaming(spec)
  if result.status == "ok" and streaming and not stop_asked() then
    result = read_stream(tool, spec, answer, run_id, result, deadline_at, opts.on_event, stop_asked)
  end
  if stop_asked() then
    result = cancelled(spec, run_id, streaming)
  elseif result.status ~= "ok" then
    result.error = with_output_tail(result.error, spec.id)
  end
  return result
end

-- complete(run, opts) -> record | nil, problem
-- The second half of execute, for a run made by start (maybe in another
-- Lua state: see resume): a missing required secret ends it as an error
-- without spawning; else the tool runs (opts.on_event, opts.cancelled as
-- for execute); the row is finished, old runs pruned, the record returned.
function M.complete(run, opts)
  opts = opts or {}
  local st, serr = M.store()
  if not st then return problem_of("store", serr) end
  local spec = run.entry.spec
  local warnings = run.warnings or {}
  local result = perform(run, opts)
  local finished, ferr = st:run_finish(run.id, result)
  if not finished then return problem_of("store", ferr) end
  note(warnings, ("old runs of %s were not pruned"):format(spec.id), st:prune(spec.id, spec.retain_runs))
  local record, gerr = st:run_get(run.id)
  if not record then return problem_of("store", gerr) end
  record.warnings = warnings
  return record
end

-- resume(tool_id, run_id, values, opts) -> record | nil, problem
-- complete() for a run started elsewhere (a dashboard job thread), from the
-- tool id, the run id and the inputs start() checked. A tool that is gone
-- or broken by now ends the run as an error.
function M.resume(tool_id, run_id, values, opts)
  local entry, err = tools.get(tool_id)
  if not entry or entry.status ~= "ok" then
    local st, serr = M.store()
    if not st then return problem_of("store", serr) end
    local text = entry and ("tool '%s' is broken: %s"):format(entry.id, entry.errors[1]) or err
    local finished, ferr = st:run_finish(run_id, { status = "error", error = text })
    if not finished then return problem_of("store", ferr) end
    local record, gerr = st:run_get(run_id)
    if not record then return problem_of("store", gerr) end
    record.warnings = {}
    return record
  end
  return M.complete({ id = run_id, entry = entry, values = values, warnings = {} }, opts)
end

-- execute = start + complete, in this Lua state.
function M.execute(entry, given, opts)
  local run, problem = M.start(entry, given, opts)
  if not run then return nil, problem end
  return M.complete(run, opts)
end

return M
