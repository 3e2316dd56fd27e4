-- runs.execute on a streaming tool: opts.on_event sees every masked,
-- merged event as it arrives (the hook of the live views), and the record
-- holds the merged final outputs.
local t = require("harness")
local config = require("pixie.config")
local runs = require("pixie.runs")
local tools = require("pixie.tools")
local launcher = require("pixie.launcher")
local mask = require("pixie.mask")
local json = require("pixie.json")

local FIXTURES = assert(os.getenv("PIXIE_SOURCE_DIR"), "PIXIE_SOURCE_DIR") .. "/tests/fixtures/tools/"

local function copy(from, to)
  if to:match("/$") then to = to .. from:match("[^/]+$") end
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
    on_event = function(changes, outputs)
      for _, c in ipairs(changes) do seen[#seen + 1] = c.key .. ":" .. c.op end
      replies[#replies + 1] = outputs().reply
    end,
  })
  launcher.stop("stream-agent", 1000)
  t.ok(record, problem and problem.message)
  t.eq(record.status, "ok", record.error_text)
  t.eq(record.outputs.reply, "3 * 4 = **12.0**")
  t.eq(seen, { "tool_calls:lines", "reply:append", "reply:append", "reply:append", "tool_calls:lines" })
  t.eq(replies, { "", "3 * 4", "3 * 4 = ", "3 * 4 = **12.0**", "3 * 4 = **12.0**" })
end)

t.test("live_changes_never_show_a_secret_cut_across_chunks", function()
  local home = t.tmpdir("stream-live-mask")
  local token = "CANARY-live-51c0-SECRET"
  copy(FIXTURES .. "fixturelib.py", home .. "/tools/")
  copy(FIXTURES .. "stream-leaky/main.py", home .. "/tools/stream-leaky/")
  copy(FIXTURES .. "stream-leaky/tool.json", home .. "/tools/stream-leaky/")
  t.write(home .. "/tools/stream-leaky/.env", 'LEAK_TOKEN="' .. token .. '"\n')
  mask.add(token)
  assert(config.set_home(home))
  tools.clear_cache()
  local entry = assert(tools.get("stream-leaky"))
  local shown = {}
  local record, problem = runs.execute(entry, {}, {
    on_event = function(changes, outputs)
      shown[#shown + 1] = json.encode(changes)
      shown[#shown + 1] = json.encode(outputs())
    end,
  })
  launcher.stop("stream-leaky", 1000)
  t.ok(record, problem and problem.message)
  t.eq(record.status, "ok", record.error_text)
  local all = table.concat(shown, "\n")
  local half = #token // 2
  t.ok(not all:find(token:sub(1, half), 1, true), "the first half of the secret was shown")
  t.ok(not all:find(token:sub(half + 1), 1, true), "the second half of the secret was shown")
  t.contains(all, "cut ***")
end)

return t.run()
