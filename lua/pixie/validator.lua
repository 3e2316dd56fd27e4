-- The validator (SPEC §4.4): `pixie validate ID`, the dashboard's Validate.
--
-- validate(entry [, opts]) -> report
--   opts: reference_only (skip the sample run, output and streaming checks),
--         fixture = NAME, tag = TAG (which reference fixtures run)
--   report = { tool_id, tool_path, timestamp, overall = pass|warn|fail,
--              checks = { {name, status = pass|warn|fail|skip, message
--                          [, details]}... },
--              sample_inputs, sample_output, run_id }
-- The original's checks, in its order (reference/pixie-original.md §6),
-- plus entrypoint_present, interpreter_found and required_secrets. Checks
-- run in order; after a fail the remaining checks are skipped (with the
-- reason), the tool is stopped, and the report is stored masked.
-- Required secrets not set: a warn, and the spawn/run checks are skipped.
-- pyproject_ok is at worst a warn: Pixie does not install dependencies.
-- A `layout: chat` tool's sample run sends the original's chat probe.
local json = require("pixie.json")
local fs = require("pixie.fs")
local paths = require("pixie.paths")
local toolspec = require("pixie.toolspec")
local inputs = require("pixie.inputs")
local outputs = require("pixie.outputs")
local secrets = require("pixie.secrets")
local childenv = require("pixie.childenv")
local launcher = require("pixie.launcher")
local runs = require("pixie.runs")
local fixtures = require("pixie.fixtures")
local sys = require("pixie.sys")
local stream_merge = require("pixie.stream_merge")

local M = {}

M.CHECKS = {
  "folder_structure", "tool_json_parses", "schema_coherent", "pyproject_ok", "entrypoint_present",
  "interpreter_found", "required_secrets", "tool_spawns", "schema_matches_disk",
  "sample_run_succeeds", "output_conforms", "streaming_check", "reference_fixtures_match",
  "clean_shutdown",
}

-- The original's chat probe (its validator's sample inputs for a chat tool).
M.CHAT_PROBE_TEXT = "Validation probe message"

-- Seconds all reference fixtures may take together (the original's budget)
-- unless the tool sets validator_timeout_override.
M.REFERENCE_BUDGET_S = 60

local SHUTDOWN_GRACE_MS = 5000

-- Deep equality of decoded JSON values; returns nil or the first differing path.
local function first_difference(a, b, path)
  if type(a) ~= type(b) then return path end
  if type(a) ~= "table" then
    if a == b then return nil end
    return path
  end
  for k, v in pairs(a) do
    local d = first_difference(v, b[k], path .. "." .. tostring(k))
    if d then return d end
  end
  for k in pairs(b) do
    if a[k] == nil then return path .. "." .. tostring(k) end
  end
  return nil
end

-- The checks, each fn(ctx) -> status, message. ctx carries the entry and
-- what earlier checks learned.
local steps = {}

steps.folder_structure = function(ctx)
  local dir = ctx.entry.dir
  if not paths.is_type(dir .. "/tool.json", "file") then return "fail", "tool.json is missing" end
  return "pass", "tool.json present"
end

steps.tool_json_parses = function(ctx)
  local text, err = fs.read(ctx.entry.dir .. "/tool.json", { limit = 1024 * 1024 })
  if not text then return "fail", err end
  local spec, errors, warnings = toolspec.parse(text, ctx.entry.folder)
  if not spec then return "fail", table.concat(errors, "\n") end
  ctx.spec, ctx.raw = spec, json.decode(text)
  for _, e in ipairs(ctx.entry.errors) do
    if e:match("^duplicate id") then return "fail", e end
  end
  ctx.coercions = {}
  for _, w in ipairs(warnings) do ctx.coercions[w] = true end
  if #warnings > 0 then return "warn", table.concat(warnings, "\n") end
  return "pass", "tool.json is valid"
end

steps.schema_coherent = function(ctx)
  local problems = toolspec.coherence(ctx.spec)
  if #problems > 0 then return "fail", table.concat(problems, "\n") end
  local warnings = {}
  for _, w in ipairs(ctx.entry.warnings) do
    if not ctx.coercions[w] then warnings[#warnings + 1] = w end -- shown by tool_json_parses
  end
  if #warnings > 0 then return "warn", table.concat(warnings, "\n") end
  return "pass", "keys unique, show_if targets exist"
end

-- Dependency sources uv would not fetch from PyPI (the original's list).
local NON_PYPI = { "git+", "url =", "url=", "file://", "@ http", "@http", ".whl", ".tar.gz", ".zip" }

steps.pyproject_ok = function(ctx)
  local path = ctx.entry.dir .. "/pyproject.toml"
  if not paths.is_type(path, "file") then
    return "warn", "pyproject.toml is missing (Pixie does not install dependencies; uv sync and share-tool expect it)"
  end
  local text, err = fs.read(path, { limit = 1024 * 1024 })
  if not text then return "warn", "pyproject.toml cannot be read: " .. tostring(err) end
  local problems = {}
  if not text:find("%[project%]") then problems[#problems + 1] = "pyproject.toml has no [project] table" end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local code = line:gsub("^%s*#.*", "")
    for _, marker in ipairs(NON_PYPI) do
      if code:find(marker, 1, true) then
        problems[#problems + 1] = "a dependency may not come from PyPI: " .. code:match("^%s*(.-)%s*$")
        break
      end
    end
  end
  if #problems > 0 then return "warn", table.concat(problems, "\n") end
  return "pass", "pyproject.toml present (Pixie does not install dependencies)"
end

steps.entrypoint_present = function(ctx)
  local path = ctx.entry.dir .. "/" .. ctx.spec.entrypoint
  if not paths.is_type(path, "file") then return "fail", ctx.spec.entrypoint .. " is missing" end
  return "pass", ctx.spec.entrypoint .. " present"
end

steps.interpreter_found = function(ctx)
  local python, source = childenv.python(ctx.entry.dir)
  if not python then return "fail", source end
  if source ~= "venv" then
    return "warn", ("no .venv; using %s (from %s)"):format(python, source)
  end
  return "pass", python
end

steps.required_secrets = function(ctx)
  local missing, env_err = secrets.missing_required(ctx.entry)
  if env_err then
    ctx.skip_reason = "the tool's .env cannot be read"
    return "fail", "cannot read the tool's .env: " .. env_err
  end
  if #missing > 0 then
    ctx.skip_reason = "required secret " .. table.concat(missing, ", ") .. " not set"
    return "warn", ctx.skip_reason .. " — set it in Settings or with set-secret"
  end
  return "pass", "every required secret is set"
end

steps.tool_spawns = function(ctx)
  launcher.stop(ctx.spec.id)
  local tool, err = childenv.tool_table(ctx.entry)
  if not tool then return "fail", err end
  local started, serr = launcher.start(tool)
  if not started then return "fail", serr end
  ctx.spawned = true
  return "pass", ("healthy on port %d (pid %d)"):format(started.port, started.pid)
end

steps.schema_matches_disk = function(ctx)
  local answer, err = launcher.get(ctx.spec.id, "/schema", 5000)
  if not answer then return "fail", "GET /schema failed: " .. err end
  if answer.status_code ~= 200 then return "fail", "GET /schema answered " .. answer.status_code end
  local served, derr = json.decode(answer.body or "")
  if served == nil then return "fail", "GET /schema is not JSON: " .. derr end
  local diff = first_difference(ctx.raw, served, "tool.json")
  if diff then return "fail", "/schema differs from tool.json at " .. diff end
  return "pass", "/schema matches tool.json"
end

-- The sample inputs: one value per declared input (its default, else a
-- generated one); for a chat tool the original's probe {messages, history}
-- replaces those keys (the other declared inputs keep their samples, so a
-- required one is never missing).
local function sample_inputs(spec)
  local values = inputs.samples(spec)
  if spec.layout ~= "chat" then return values end
  values.messages = json.array({ { role = "user", content = M.CHAT_PROBE_TEXT } })
  values.history = json.array()
  return values
end

steps.sample_run_succeeds = function(ctx)
  ctx.sample_inputs = sample_inputs(ctx.spec)
  local started = sys.monotonic_ms()
  local function on_event() -- called for events that changed an output
    ctx.first_event_ms = ctx.first_event_ms or math.floor(sys.monotonic_ms() - started)
  end
  local record, problem = runs.execute(ctx.entry, ctx.sample_inputs,
    { source = "validator", on_event = on_event })
  if not record then return "fail", problem.message end
  ctx.run_id = record.id
  if record.status ~= "ok" then
    return "fail", ("sample run %s: %s"):format(record.status, record.error_text or "")
  end
  ctx.sample_output = record.outputs
  return "pass", ("sample run ok in %d ms"):format(record.duration_ms or 0)
end

steps.output_conforms = function(ctx)
  local problems = outputs.conform(ctx.spec, ctx.sample_output)
  local status, lines = "pass", {}
  for _, p in ipairs(problems) do
    lines[#lines + 1] = p.message
    if p.level == "fail" then status = "fail" elseif status == "pass" then status = "warn" end
  end
  if status == "pass" then return "pass", "every declared output present and well-shaped" end
  return status, table.concat(lines, "\n")
end

-- The original's budget for a streaming tool's first non-empty event.
local FIRST_EVENT_MS = 10000

steps.streaming_check = function(ctx)
  if not stream_merge.streaming(ctx.spec) then return "skip", "no streaming output" end
  local ms = ctx.first_event_ms
  if not ms then return "fail", "the sample run's stream sent no non-empty event" end
  if ms > FIRST_EVENT_MS then
    return "fail", ("first non-empty event after %d ms (at most %d)"):format(ms, FIRST_EVENT_MS)
  end
  return "pass", ("first non-empty event after %d ms"):format(ms)
end

-- One fixture's result {name, file, status = pass|fail|skip, message, diffs}.
local function run_fixture(ctx, fixture, config)
  local result = { name = fixture.name, file = fixture.file, source = fixture.source, diffs = json.array() }
  if type(fixture.skip_reason) == "string" and fixture.skip_reason ~= "" then
    result.status, result.message = "skip", fixture.skip_reason
    return result
  end
  local record, problem = runs.execute(ctx.entry, fixture.inputs, { source = "validator" })
  if not record then
    result.status, result.message = "fail", "not run: " .. problem.message
    return result
  end
  result.run_id = record.id
  if record.status ~= "ok" then
    result.status, result.message = "fail", ("run %s: %s"):format(record.status, record.error_text or "")
    return result
  end
  local diffs = fixtures.compare_outputs(fixture, record.outputs, ctx.spec, config)
  for _, d in ipairs(diffs) do result.diffs[#result.diffs + 1] = d end
  if #diffs > 0 then
    result.status = "fail"
    result.message = ("%d output%s differ%s"):format(#diffs, #diffs == 1 and "" or "s", #diffs == 1 and "s" or "")
  else
    result.status, result.message = "pass", "matches"
  end
  return result
end

steps.reference_fixtures_match = function(ctx)
  local dir = ctx.entry.dir
  if not paths.is_type(dir .. "/reference", "directory") then return "skip", "no reference/ folder" end
  local config, terr = fixtures.tolerance(dir)
  if #terr > 0 then return "fail", "reference/tolerance.yaml: " .. table.concat(terr, "\n") end
  local all, lerr = fixtures.load(dir, ctx.spec)
  if #lerr > 0 then return "fail", table.concat(lerr, "\n") end
  local chosen = {}
  for _, f in ipairs(all) do
    if (not ctx.opts.fixture or fixtures.named(f, ctx.opts.fixture))
        and (not ctx.opts.tag or fixtures.tagged(f, ctx.opts.tag)) then
      chosen[#chosen + 1] = f
    end
  end
  if #chosen == 0 then
    local filter = ctx.opts.fixture and (" named " .. ctx.opts.fixture) or ""
    filter = filter .. (ctx.opts.tag and (" tagged " .. ctx.opts.tag) or "")
    return "skip", "no reference/fixture_*.json" .. filter
  end
  local budget_s = ctx.spec.validator_timeout_override or M.REFERENCE_BUDGET_S
  local started = sys.monotonic_ms()
  local results, lines = json.array(), {}
  local counts = { pass = 0, fail = 0, skip = 0 }
  for _, f in ipairs(chosen) do
    local r
    if sys.monotonic_ms() - started > budget_s * 1000 then
      r = { name = f.name, file = f.file, status = "fail", diffs = json.array(),
            message = ("not run: the reference budget of %d s was spent"):format(budget_s) }
    else
      r = run_fixture(ctx, f, config)
    end
    results[#results + 1] = r
    counts[r.status] = counts[r.status] + 1
    lines[#lines + 1] = ("%s %s: %s"):format(r.status:upper(), r.name, r.message)
    for _, d in ipairs(r.diffs) do
      lines[#lines + 1] = "  " .. fixtures.describe(d, config.options.truncate_diff_chars)
    end
  end
  ctx.reference_details = results
  local summary = ("%d fixture%s: %d passed, %d failed, %d skipped"):format(#chosen,
    #chosen == 1 and "" or "s", counts.pass, counts.fail, counts.skip)
  local message = summary .. "\n" .. table.concat(lines, "\n")
  if counts.fail > 0 then return "fail", message end
  if counts.pass == 0 then return "warn", message end
  return "pass", message
end

steps.clean_shutdown = function(ctx)
  local _, was_running, forced = launcher.stop(ctx.spec.id, SHUTDOWN_GRACE_MS)
  ctx.spawned = false
  if not was_running then return "warn", "the tool was no longer running" end
  if forced then return "warn", "the tool ignored SIGTERM for 5 s and was killed" end
  return "pass", "exited on SIGTERM"
end

-- Checks that need a running tool, skipped when secrets are missing.
local NEEDS_PROCESS = {
  tool_spawns = true, schema_matches_disk = true, sample_run_succeeds = true,
  output_conforms = true, streaming_check = true, reference_fixtures_match = true,
  clean_shutdown = true,
}

-- Checks --reference-only leaves out (the original's 8-10).
local NOT_REFERENCE = { sample_run_succeeds = true, output_conforms = true, streaming_check = true }

local function overall_of(checks)
  local overall = "pass"
  for _, c in ipairs(checks) do
    if c.status == "fail" then return "fail" end
    if c.status == "warn" then overall = "warn" end
  end
  return overall
end

function M.validate(entry, opts)
  local ctx = { entry = entry, opts = opts or {}, coercions = {} }
  local checks = {}
  local stop_reason
  for _, name in ipairs(M.CHECKS) do
    local status, message
    if stop_reason then
      status, message = "skip", stop_reason
    elseif ctx.skip_reason and NEEDS_PROCESS[name] then
      status, message = "skip", ctx.skip_reason
    elseif ctx.opts.reference_only and NOT_REFERENCE[name] then
      status, message = "skip", "skipped by --reference-only"
    else
      local ok, s, m = pcall(steps[name], ctx)
      if ok then
        status, message = s, m
      else
        status, message = "fail", "internal error: " .. tostring(s)
      end
      if status == "fail" then stop_reason = "skipped after " .. name .. " failed" end
    end
    local check = { name = name, status = status, message = message }
    if name == "reference_fixtures_match" and ctx.reference_details then check.details = ctx.reference_details end
    checks[#checks + 1] = check
  end
  if ctx.spawned then launcher.stop(entry.id) end
  return {
    tool_id = entry.id,
    tool_path = entry.dir,
    timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    overall = overall_of(checks),
    checks = json.array(checks),
    sample_inputs = ctx.sample_inputs,
    sample_output = ctx.sample_output,
    run_id = ctx.run_id,
  }
end

-- Validates and stores the report (masked). Returns report, stored_id | nil, msg.
function M.validate_and_store(entry, opts)
  local report = M.validate(entry, opts)
  local st, err = runs.store()
  if not st then return report, nil, err end
  local id, serr = st:validation_report_add(entry.id, report.overall, report)
  return report, id, serr
end

return M
