-- Validation routes of the dashboard API (docs/dashboard-api.md §4): start a validation
-- (a job, board key "validate:<tool>") and read the latest report.
--   validate_job(tool_id): validator.validate_and_store, then
--   finish(key, 200, report JSON)
local json = require("pixie.json")
local log = require("pixie.log")
local tools = require("pixie.tools")
local runs = require("pixie.runs")
local http = require("pixie.web.http")
local web_tools = require("pixie.web.tools")

local M = {}

-- The board key of a tool's validation.
function M.key(tool_id)
  return "validate:" .. tool_id
end

function M.start(_, id)
  local entry, status, body = web_tools.find(id)
  if not entry then return status, body end
  local server, key = http.server(), M.key(entry.id)
  if server.board_state(key) == "running" then
    return http.error(409, ("a validation of %s is running"):format(entry.id))
  end
  local opened, oerr = server.board_open(key)
  if not opened then return http.error(409, oerr or "a validation is running") end
  local started, jerr = server.job("pixie.web.validation", "validate_job", entry.id)
  if not started then
    server.finish(key, 503, http.encode({ error = jerr }))
    return http.error(503, "the validation could not be started: " .. tostring(jerr))
  end
  return http.json(202, { started = true })
end

function M.validate_job(tool_id)
  local server, key = http.server(), M.key(tool_id)
  local ok, report = pcall(function()
    local entry, err = tools.get(tool_id)
    if not entry then error(err, 0) end
    local report, _, serr = require("pixie.validator").validate_and_store(entry)
    if serr then log.warn(("validation report of %s not stored: %s"):format(tool_id, serr)) end
    return report
  end)
  if ok then
    server.finish(key, 200, http.encode(report))
  else
    log.error(("validation of %s failed: %s"):format(tool_id, tostring(report)))
    server.finish(key, 500, http.encode({ error = "internal error" }))
  end
  return true
end

function M.get(_, id)
  local entry, status, body = web_tools.find(id)
  if not entry then return status, body end
  local st, err = runs.store()
  if not st then return http.error(500, err) end
  local row, rerr = st:validation_report_latest(entry.id)
  if row == nil and rerr then return http.error(500, rerr) end
  return http.json(200, {
    running = http.server().board_state(M.key(entry.id)) == "running",
    report = row and http.null(row.report) or json.null,
  })
end

return M
