-- The merge rules of streamed events (lua/pixie/stream_merge.lua,
-- docs/tool-format.md "Streaming outputs").
local t = require("harness")
local sm = require("pixie.stream_merge")
local json = require("pixie.json")

local spec = {
  outputs = {
    { key = "reply", type = "stream_text" },
    { key = "calls", type = "log" },
    { key = "curve", type = "chart_line" },
    { key = "table", type = "table" },
    { key = "status", type = "text", streaming = true },
    { key = "pct", type = "progress" },
  },
}

local function fresh()
  return sm.new(spec, { reply = "", calls = { lines = {} },
                        curve = { x = {}, series = { { name = "loss", y = {} } } } })
end

t.test("streaming_when_an_output_streams", function()
  t.ok(sm.streaming(spec), "spec streams")
  t.ok(not sm.streaming({ outputs = { { key = "a", type = "text" } } }), "plain text does not")
  t.ok(sm.streaming({ outputs = { { key = "a", type = "text", streaming = true } } }), "streaming flag")
  t.ok(sm.streaming({ outputs = { { key = "p", type = "progress" } } }), "progress")
  t.ok(sm.streaming({ outputs = { { key = "l", type = "log" } } }), "log")
end)

t.test("chunk_appends_to_the_stream_text_output", function()
  local s = fresh()
  sm.apply(s, "", { chunk = "12 * 7", done = false })
  local changes = sm.apply(s, "", { chunk = " = 84" })
  t.eq(sm.outputs(s).reply, "12 * 7 = 84")
  t.eq(changes, { { key = "reply", op = "append", value = " = 84" } })
  sm.apply(s, "", { reply = "!" }) -- its own key appends too
  t.eq(sm.outputs(s).reply, "12 * 7 = 84!")
  sm.apply(s, "", "raw text") -- data that is not JSON
  t.eq(sm.outputs(s).reply, "12 * 7 = 84!raw text")
  t.ok(not s.done, "not done yet")
  sm.apply(s, "", { reply = 5 }) -- not text: replaces what was appended
  t.eq(sm.outputs(s).reply, 5)
  sm.apply(s, "", { chunk = "x" })
  t.eq(sm.outputs(s).reply, "x")
end)

t.test("the_done_event_carries_a_stream_texts_whole_text", function()
  -- the original's whisper-transcription: segments under the output's own
  -- key, then the full transcript with done
  local s = fresh()
  sm.apply(s, "", { reply = "Hello ", done = false })
  sm.apply(s, "", { reply = "world. ", done = false })
  local changes = sm.apply(s, "", { reply = "Hello world.", done = true })
  t.eq(sm.outputs(s).reply, "Hello world.")
  t.eq(changes, { { key = "reply", op = "replace", value = "Hello world." } })
  t.ok(s.done, "done")
  -- an empty final value and a final chunk still append (llm-tool-use-agent)
  local a = fresh()
  sm.apply(a, "", { chunk = "6 * 7 = 42" })
  sm.apply(a, "", { chunk = "", reply = "", done = true })
  t.eq(sm.outputs(a).reply, "6 * 7 = 42")
  local b = fresh()
  sm.apply(b, "", { chunk = "6 * 7" })
  sm.apply(b, "", { chunk = " = 42", done = true })
  t.eq(sm.outputs(b).reply, "6 * 7 = 42")
end)

t.test("log_lines_replace_or_append", function()
  local s = fresh()
  sm.apply(s, "", { calls = { lines = { "a", "b" } } })
  t.eq(s.outputs.calls.lines, { "a", "b" })
  sm.apply(s, "", { calls = { lines = { "a", "b", "c" } } })
  t.eq(s.outputs.calls.lines, { "a", "b", "c" }, "a full lines list replaces")
  sm.apply(s, "calls", "d")
  sm.apply(s, "calls", { level = "info", message = "e" })
  sm.apply(s, "", { calls = json.array({ "f", "g" }) })
  t.eq(s.outputs.calls.lines, { "a", "b", "c", "d", { level = "info", message = "e" }, "f", "g" })
end)

t.test("chart_point_appends_full_chart_replaces", function()
  local s = fresh()
  sm.apply(s, "", { curve = { x = 1, y = 0.9, val_y = 1.2 }, epoch = 1 })
  sm.apply(s, "", { curve = { x = 2, y = 0.5, val_y = 0.8 } })
  t.eq(s.outputs.curve.x, { 1, 2 })
  t.eq(s.outputs.curve.series[1], { name = "loss", y = { 0.9, 0.5 } })
  t.eq(s.outputs.curve.series[2], { name = "validation", y = { 1.2, 0.8 } })
  local full = { x = { 1 }, series = { { name = "z", y = { 3 } } } }
  sm.apply(s, "", { curve = full })
  t.eq(s.outputs.curve, full)
end)

t.test("done_ends_and_full_values_replace", function()
  local s = fresh()
  local rows = { { a = 1 } }
  sm.apply(s, "", { table = { columns = { { key = "a", label = "A" } }, rows = rows }, done = true })
  t.ok(s.done, "done")
  t.eq(s.outputs.table.rows, rows)
end)

t.test("documented_payload_and_named_events", function()
  local s = fresh()
  sm.apply(s, "", { output_key = "status", value = "half" })
  t.eq(s.outputs.status, "half")
  sm.apply(s, "pct", 0.5)
  t.eq(s.outputs.pct, 0.5)
  sm.apply(s, "reply", { value = "hi", done = false })
  t.eq(sm.outputs(s).reply, "hi")
  sm.apply(s, "status", "named")
  t.eq(s.outputs.status, "named")
  sm.apply(s, "ping", { anything = 1 }) -- an unknown name is ignored
  sm.apply(s, "", { unknown_key = 1 })
  t.eq(s.outputs.unknown_key, nil)
  t.ok(not s.done, "not done")
  sm.apply(s, "", { output_key = "status", value = "end", done = true })
  t.eq(s.outputs.status, "end")
  t.ok(s.done, "done by the payload")
  local s2 = fresh()
  sm.apply(s2, "done", "")
  t.ok(s2.done, "done by a named event")
end)

t.test("initial_outputs_are_copied_and_finish_scrubs_text", function()
  local initial = { reply = "", calls = { lines = {} } }
  local s = sm.new(spec, initial)
  sm.apply(s, "", { chunk = "se" })
  sm.apply(s, "", { chunk = "cret" })
  sm.apply(s, "", { calls = "x" })
  t.eq(initial.calls.lines, {}, "the caller's table is left alone")
  local final = sm.finish(s, function(text) return (text:gsub("secret", "***")) end)
  t.eq(final.reply, "***")
end)

return t.run()
