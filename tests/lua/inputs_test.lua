local t = require("harness")
local inputs = require("pixie.inputs")
local outputs = require("pixie.outputs")
local json = require("pixie.json")

local spec = {
  inputs = {
    { key = "text", type = "text", required = true, max_length = 5 },
    { key = "n", type = "number", min = 1, max = 10, default = 3, required = true },
    { key = "mode", type = "select", required = true,
      options = { { value = "a", label = "A" }, { value = 2, label = "Two" } } },
    { key = "flag", type = "checkbox", required = true },
    { key = "extra", type = "text", required = true, show_if = { key = "flag", equals = true } },
    { key = "day", type = "date", required = false },
  },
  outputs = {
    { key = "result", type = "text" },
    { key = "score", type = "number" },
    { key = "grid", type = "table" },
  },
}

t.test("valid_inputs_get_defaults", function()
  local v = assert(inputs.check(spec, { text = "hi", mode = "a" }))
  t.eq(v.n, 3)
  t.eq(v.mode, "a")
end)

t.test("every_problem_reported_at_once", function()
  local v, errors = inputs.check(spec, { text = "toolong", n = 11, mode = "zzz", flag = "yes", bogus = 1 })
  t.eq(v, nil)
  local all = table.concat(errors, "\n")
  t.contains(all, "bogus: unknown input")
  t.contains(all, "text: is longer than 5")
  t.contains(all, "n: must be at most 10")
  t.contains(all, "mode: must be one of: a, 2")
  t.contains(all, "flag: must be true or false")
  t.eq(#errors, 5)
end)

t.test("required_missing_and_show_if", function()
  local _, errors = inputs.check(spec, {})
  t.contains(table.concat(errors, "\n"), "text: required")
  t.contains(table.concat(errors, "\n"), "mode: required")
  t.ok(not table.concat(errors, "\n"):find("extra", 1, true), "extra hidden by show_if")
  local _, errors2 = inputs.check(spec, { text = "a", mode = 2, flag = true })
  t.eq(errors2, { "extra: required" })
end)

t.test("multiple_files_are_an_array_of_data_urls", function()
  local files = { inputs = { { key = "docs", type = "file", multiple = true, required = true },
                             { key = "one", type = "image", required = false } } }
  local url = "data:text/plain;base64,aGk="
  local values = assert(inputs.check(files, { docs = { url, url } }))
  t.eq(#values.docs, 2)
  t.ok(inputs.check(files, { docs = url }))
  local _, errors, fields = inputs.check(files, { docs = { url, 3 }, one = { url } })
  t.eq(#errors, 2)
  t.contains(fields.docs, "must be an array of files")
  t.contains(fields.one, "must be a string")
end)

t.test("option_value_types_kept", function()
  local v = assert(inputs.check(spec, { text = "a", mode = "2" }))
  t.eq(v.mode, 2)
end)

t.test("cli_coercion", function()
  t.eq(inputs.coerce(spec, "n", "7"), 7)
  t.eq(inputs.coerce(spec, "flag", "yes"), true)
  t.eq(select(2, inputs.coerce(spec, "n", "seven")), "n: 'seven' is not a number")
  t.eq(select(2, inputs.coerce(spec, "nope", "1")), "nope: unknown input")
end)

t.test("samples_follow_the_original", function()
  local s = inputs.samples(spec)
  t.eq(s.n, 3)
  t.eq(s.mode, "a")
  t.eq(s.flag, false)
  t.eq(s.day, "2026-01-01")
  t.eq(s.text, "")
  local v = inputs.samples({ inputs = { { key = "x", type = "number", min = 0, max = 10 } } })
  t.eq(v.x, 5)
end)

t.test("outputs_conform", function()
  t.eq(outputs.conform(spec, { result = "x", score = { value = 2 }, grid = { columns = {}, rows = {} } }), {})
  local p = outputs.conform(spec, { result = 5, grid = { rows = {} }, more = 1 })
  local text = {}
  for _, x in ipairs(p) do text[#text + 1] = x.level .. " " .. x.message end
  text = table.concat(text, "\n")
  t.contains(text, "fail output 'result' (text) must be a string")
  t.contains(text, "fail output 'score' is missing")
  t.contains(text, "fail output 'grid' (table) is missing columns")
  t.contains(text, "warn undeclared output 'more'")
  t.eq(outputs.conform(spec, json.array({ 1 }))[1].level, "fail")
end)


t.test("map_bbox_takes_both_shapes", function()
  local box = { inputs = { { key = "area", type = "map_bbox", required = true } }, outputs = {} }
  local flat = assert(inputs.check(box, { area = { 47.4, -1.2, 50.3, 5.8 } }))
  t.eq(flat.area[4], 5.8)
  -- the original Pixie's page sent [[south, west], [north, east]]: passed on unchanged
  local nested = assert(inputs.check(box, { area = { { 47.4, -1.2 }, { 50.3, 5.8 } } }))
  t.eq(nested.area[2][2], 5.8)
  for _, bad in ipairs({ { { 47.4, "w" }, { 50.3, 5.8 } }, { { 1, 2 }, 3 }, "47,1,50,5" }) do
    local v, errors = inputs.check(box, { area = bad })
    t.eq(v, nil)
    t.contains(errors[1], "area: must be an array of numbers")
  end
end)

t.test("files_over_max_size_mb_are_refused_for_every_run", function()
  local spec1 = { inputs = { { key = "doc", type = "file", required = true, max_size_mb = 0.001 },
                             { key = "pics", type = "image", multiple = true, required = false,
                               max_size_mb = 0.001 } }, outputs = {} }
  local small = "data:text/plain;base64," .. ("QUJD"):rep(100)   -- 300 bytes
  local big = "data:text/plain;base64," .. ("QUJD"):rep(400)     -- 1200 bytes > 1048.576
  t.ok(inputs.check(spec1, { doc = small, pics = { small, small } }))
  local v, errors = inputs.check(spec1, { doc = big, pics = { small, big } })
  t.eq(v, nil)
  t.contains(table.concat(errors, "\n"), "doc: the file is larger than its limit of 0.001 MB")
  t.contains(table.concat(errors, "\n"), "pics: the file is larger than its limit of 0.001 MB")
  t.eq(inputs.too_large(spec1.inputs[1], "data:;base64," .. ("QUJD"):rep(349) .. "QQ=="), nil) -- 1048 bytes
  t.eq(inputs.too_large({ key = "t", type = "text", max_size_mb = 0 }, big), nil) -- files only
end)

return t.run()
