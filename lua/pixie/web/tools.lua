-- Tool routes of the dashboard API (docs/dashboard-api.md §4): the tool list, one tool,
-- stop, its logs, the launcher's state and healthz.
local json = require("pixie.json")
local tools = require("pixie.tools")
local secrets = require("pixie.secrets")
local launcher = require("pixie.launcher")
local runs = require("pixie.runs")
local version = require("pixie.version")
local http = require("pixie.web.http")

local M = {}

-- tool_id -> {busy, ...} of the warm processes now.
local function warm_processes()
  local by_id = {}
  for _, p in ipairs(launcher.state()) do by_id[p.tool_id] = p end
  return by_id
end

-- The Tool object of docs/dashboard-api.md §4 for a listed entry; `warm` from
-- warm_processes(), `validation(id)` the overall of the tool's newest
-- validation report (nil when none).
local function tool_object(entry, warm, validation)
  local errors = json.array({})
  for i, e in ipairs(entry.errors or {}) do errors[i] = e end
  local t = { id = entry.id, status = entry.status, errors = errors }
  local spec = entry.spec
  if entry.status ~= "ok" or not spec then
    for _, k in ipairs({ "name", "description", "category", "version", "layout", "warm", "busy",
                         "validation", "secrets_missing" }) do
      t[k] = json.null
    end
    return t
  end
  t.name = spec.name or entry.id
  t.description = http.null(spec.description)
  t.category = http.null(spec.category)
  t.version = http.null(spec.version)
  t.layout = http.null(spec.layout)
  local p = warm[entry.id]
  t.warm = p ~= nil
  t.busy = p and p.busy or 0
  t.validation = http.null(validation(entry.id))
  -- a .env is read only when the tool requires a secret
  t.secrets_missing = json.array(secrets.any_required(entry) and secrets.missing_required(entry) or {})
  return t
end

-- The tool with id, or nil then the 404 answer. Broken tools are found.
function M.find(id)
  local entry = tools.get(id)
  if not entry then
    return nil, http.error(404, "unknown tool")
  end
  return entry
end

-- The tool with id when it is runnable, or nil then the error answer
-- (404 unknown, 409 broken).
function M.find_ok(id)
  local entry, status, body = M.find(id)
  if not entry then return nil, status, body end
  if entry.status ~= "ok" then
    return nil, http.error(409, ("tool '%s' is broken: %s"):format(id, entry.errors[1] or "?"))
  end
  return entry
end

function M.healthz()
  return http.json(200, { ok = true, version = version.string })
end

function M.list()
  local list, problem = tools.list()
  if problem then return http.error(500, problem) end
  local st = runs.store()
  local overall = st and st:validation_overall_latest() or {}
  local warm, rows = warm_processes(), json.array({})
  local function validation(id) return overall[id] end
  for _, entry in ipairs(list) do rows[#rows + 1] = tool_object(entry, warm, validation) end
  local status, body = http.json(200, { tools = rows })
  -- computed from the tools folder, the store and the warm pool only: the
  -- server gives it again until one of them changes (serve.lua's watch)
  return status, body, nil, { cache = true }
end

function M.get(_, id)
  local entry, status, body = M.find(id)
  if not entry then return status, body end
  local st = runs.store()
  local function validation(id)
    local report = st and st:validation_report_latest(id)
    return report and report.overall
  end
  local t = tool_object(entry, warm_processes(), validation)
  t.spec = entry.status == "ok" and entry.spec or json.null
  t.last_inputs = json.null
  if st and entry.status == "ok" then
    local state = st:tool_state_get(entry.id)
    if state and state.last_inputs ~= nil then t.last_inputs = state.last_inputs end
  end
  return http.json(200, t)
end

function M.stop(_, id)
  local entry, status, body = M.find(id)
  if not entry then return status, body end
  local _, was_running = launcher.stop(entry.id)
  return http.json(200, { stopped = was_running == true })
end

local LOG_LIMIT_MAX = 5000

function M.logs(req, id)
  local entry, status, body = M.find(id)
  if not entry then return status, body end
  local after, s1, b1 = http.query_integer(req, "after", 0, 0, math.maxinteger)
  if not after then return s1, b1 end
  local limit, s2, b2 = http.query_integer(req, "limit", 200, 1, LOG_LIMIT_MAX)
  if not limit then return s2, b2 end
  local st, err = runs.store()
  if not st then return http.error(500, err) end
  local rows, qerr = st:spawn_log_tail(entry.id, after, limit)
  if not rows then return http.error(500, qerr) end
  local lines, last = json.array({}), after
  for _, r in ipairs(rows) do
    lines[#lines + 1] = { id = r.id, stream = r.stream, text = r.text, at = r.ts }
    if r.id > last then last = r.id end
  end
  return http.json(200, { lines = lines, last = last })
end

function M.launcher_state()
  local rows = json.array({})
  for _, p in ipairs(launcher.state()) do
    rows[#rows + 1] = {
      tool_id = p.tool_id, pid = p.pid, port = p.port, started_at = http.null(p.started_at),
      last_used = http.null(p.last_used), busy = p.busy or 0,
    }
  end
  return http.json(200, { tools = rows })
end

return M
