-- runs.execute on a streaming tool: opts.on_event sees every masked,
-- merged event as it arrives (the hook of the live views), and the record
-- holds the merged final outputs.
local t = require("harness")
local config = require("pixie.config")
local runs = require("pixie.runs")
local tools = require("pixie.tools")
local launcher = require("pixie.launcher")
local stream_merge = require("pixie.stream_merge")

local FIXTURES = assert(os.getenv("PIXIE_SOURCE_DIR"), "PIXIE_SOURCE_DIR") .. "/tests/fixtures/tools/"

local function copy(from, to)
  local f = assert(io.open(from, "rb"))
  local text = f:read("a")
  f:close()
  t.write(to, text)
end

t.test("on_event_sees_each_merged_event", function()
  local home = t.tmpdir("stream-run")
  copy(FIXTURES .. "fixturelib.py", home .. "/tools/fixturelib.py")
  copy(FIXTURES .. "stream-agent/main.py", home .. "/tools/stream-agent/main.py")
  copy(FIXTURES .. "stream-agent/tool.json", home .. "/tools/stream-agent/tool.json")
  assert(config.set_home(home))
  tools.clear_cache()
  local entry = assert(tools.get("stream-agent"))
  t.eq(entry.status, "ok", table.concat(entry.errors, "; "))
  local seen, replies = {}, {}
  local record, problem = runs.execute(entry, { question = "3 * 4" }, {
    on_event = function(changes, state)
      for _, c in ipairs(changes) do seen[#seen + 1] = c.key .. ":" .. c.op end
      replies[#replies + 1] = stream_merge.outputs(state).reply
    end,
  })
  launcher.stop("stream-agent", 1000)
  t.ok(record, problem and problem.message)
  t.eq(record.status, "ok", record.error_text)
  t.eq(record.outputs.reply, "3 * 4 = **12.0**")
  t.eq(seen, { "tool_calls:lines", "reply:append", "reply:append", "reply:append", "tool_calls:lines" })
  t.eq(replies, { "", "3 * 4", "3 * 4 = ", "3 * 4 = **12.0**", "3 * 4 = **12.0**" })
end)

return t.run()
