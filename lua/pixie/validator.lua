-- The validator (SPEC §4.4): `pixie validate ID`, the dashboard's Validate.
--
-- validate(entry) -> report
--   report = { tool_id, tool_path, timestamp, overall = pass|warn|fail,
--              checks = { {name, status = pass|warn|fail|skip, message}... },
--              sample_inputs, sample_output, run_id }
-- Checks run in order; after a fail the remaining checks are skipped (with
-- the reason), the tool is stopped, and the report is stored masked.
-- Required secrets not set: a warn, and the spawn/run checks are skipped.
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

local M = {}

M.CHECKS = {
  "folder_structure", "tool_json_parses", "schema_coherent", "entrypoint_present",
  "interpreter_found", "required_secrets", "tool_spawns", "schema_matches_disk",
  "sample_run_succeeds", "output_conforms", "clean_shutdown",
}

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
  if not paths.is_type(dir .. "/pyproject.toml", "file") then
    return "warn", "pyproject.toml is missing (uv sync and share-tool expect it)"
  end
  return "pass", "tool.json and pyproject.toml present"
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

steps.sample_run_succeeds = function(ctx)
  ctx.sample_inputs = inputs.samples(ctx.spec)
  local record, problem = runs.execute(ctx.entry, ctx.sample_inputs, { source = "validator" })
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
  output_conforms = true, clean_shutdown = true,
}

local function overall_of(checks)
  local overall = "pass"
  for _, c in ipairs(checks) do
    if c.status == "fail" then return "fail" end
    if c.status == "warn" then overall = "warn" end
  end
  return overall
end

function M.validate(entry)
  local ctx = { entry = entry }
  local checks = {}
  local stop_reason
  for _, name in ipairs(M.CHECKS) do
    local status, message
    if stop_reason then
      status, message = "skip", stop_reason
    elseif ctx.skip_reason and NEEDS_PROCESS[name] then
      status, message = "skip", ctx.skip_reason
    else
      local ok, s, m = pcall(steps[name], ctx)
      if ok then
        status, message = s, m
      else
        status, message = "fail", "internal error: " .. tostring(s)
      end
      if status == "fail" then stop_reason = "skipped after " .. name .. " failed" end
    end
    checks[#checks + 1] = { name = name, status = status, message = message }
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
function M.validate_and_store(entry)
  local report = M.validate(entry)
  local st, err = runs.store()
  if not st then return report, nil, err end
  local id, serr = st:validation_report_add(entry.id, report.overall, report)
  return report, id, serr
end

return M
