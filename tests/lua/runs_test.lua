-- pixie.runs bookkeeping around a run: a failure to save the tool's last
-- inputs or to prune old runs does not change the run's result, but it is
-- reported (record.warnings) and logged, never dropped.
local t = require("harness")
local config = require("pixie.config")
local runs = require("pixie.runs")
local tools = require("pixie.tools")

-- A home with one tool whose required secret is missing: execute records
-- an error run without spawning anything. retain_runs = 1, so the second
-- run prunes the first.
local function home_with_tool()
  local home = t.tmpdir("runs")
  t.write(home .. "/tools/needs-key/tool.json", [[{
    "id": "needs-key", "name": "Needs a key", "retain_runs": 1,
    "inputs": [{"key": "text", "label": "Text", "type": "text", "default": "x"}], "outputs": [{"key": "value", "label": "Value", "type": "text"}],
    "secrets": [{"key": "API_KEY", "description": "k", "required": true}]
  }]])
  assert(config.set_home(home))
  tools.clear_cache()
  local entry = assert(tools.get("needs-key"))
  t.eq(entry.status, "ok", table.concat(entry.errors, "; "))
  return home, entry
end

t.test("bookkeeping_that_succeeds_leaves_no_warnings", function()
  local _, entry = home_with_tool()
  local record, problem = runs.execute(entry, {})
  t.ok(record, problem and problem.message)
  t.eq(record.status, "error")
  t.contains(record.error_text, "missing required secret API_KEY")
  t.eq(record.warnings, {})
end)

t.test("failed_tool_state_and_prune_are_reported_not_dropped", function()
  local _, entry = home_with_tool()
  local st = assert(runs.store())
  assert(runs.execute(entry, {}))
  assert(st:handle():exec([[CREATE TRIGGER no_state BEFORE INSERT ON tool_state
    BEGIN SELECT RAISE(ABORT, 'tool_state refused by the test'); END]]))
  assert(st:handle():exec([[CREATE TRIGGER no_prune BEFORE DELETE ON runs
    BEGIN SELECT RAISE(ABORT, 'pruning refused by the test'); END]]))
  local record, problem = runs.execute(entry, {})
  t.ok(record, problem and problem.message)
  t.eq(record.status, "error", "the run's own result stands")
  t.eq(#record.warnings, 2, "both failures reported")
  t.contains(record.warnings[1], "the last inputs of needs-key were not saved")
  t.contains(record.warnings[1], "tool_state refused by the test")
  t.contains(record.warnings[2], "old runs of needs-key were not pruned")
  t.contains(record.warnings[2], "pruning refused by the test")
  t.eq(#assert(st:runs_list("needs-key")), 2, "nothing was pruned")
end)

t.test("start_then_complete_with_a_cancel_records_cancelled_without_spawning", function()
  local home = t.tmpdir("runs-cancel")
  t.write(home .. "/tools/plain/tool.json", [[{
    "id": "plain", "name": "Plain",
    "inputs": [{"key": "n", "label": "N", "type": "number", "default": 1}],
    "outputs": [{"key": "value", "label": "Value", "type": "text"}]
  }]])
  assert(config.set_home(home))
  tools.clear_cache()
  local entry = assert(tools.get("plain"))
  local _, problem = runs.start(entry, { n = "many", other = 1 })
  t.eq(problem.kind, "inputs")
  t.eq(problem.fields, { n = "must be a number", other = "unknown input" })
  local run = assert(runs.start(entry, { n = 2 }, { source = "dashboard" }))
  local st = assert(runs.store())
  t.eq(assert(st:run_get(run.id)).status, "running", "the row exists before the tool runs")
  local record = assert(runs.resume("plain", run.id, run.values, { cancelled = function() return true end }))
  t.eq(record.status, "cancelled")
  t.eq(record.source, "dashboard")
  t.eq(record.inputs, { n = 2 })
  for _, p in ipairs(require("pixie.launcher").state()) do
    t.ok(p.tool_id ~= "plain", "nothing was spawned")
  end
end)

return t.run()
