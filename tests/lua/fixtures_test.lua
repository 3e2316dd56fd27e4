-- pixie.fixtures and pixie.yaml_subset: the reference check's comparison
-- and tolerance semantics (the original's check 12) and the YAML subset of
-- reference/tolerance.yaml.
local t = require("harness")
local fx = require("pixie.fixtures")
local yaml = require("pixie.yaml_subset")
local json = require("pixie.json")

t.test("yaml subset: block and flow mappings, scalars, comments", function()
  local v = assert(yaml.parse([[
# comment
---
defaults:
  number: {rtol: 1.0e-4, atol: 1e-6}   # trailing comment
  table:
    compare: rows_ordered
    float_rtol: .5
overrides:
  "odd key": {compare: 'it''s', tags: [a, "b c", 3]}
  flag: yes
  none: ~
  text: plain words # not this
options:
  truncate_diff_chars: 200
  list:
    - 1
    - two
]]))
  t.eq(v.defaults.number, { rtol = 1.0e-4, atol = 1e-6 })
  t.eq(v.defaults.table, { compare = "rows_ordered", float_rtol = 0.5 })
  t.eq(v.overrides["odd key"], { compare = "it's", tags = { "a", "b c", 3 } })
  t.eq(v.overrides.flag, true)
  t.eq(v.overrides.none, json.null)
  t.eq(v.overrides.text, "plain words")
  t.eq(math.type(v.options.truncate_diff_chars), "integer")
  t.eq(v.options.list, { 1, "two" })
  t.eq(yaml.parse(""), {})
  t.eq(yaml.parse("# only a comment\n"), {})
end)

t.test("yaml subset: errors name the line", function()
  local cases = {
    ["a:\n  b: {c: 1\n"] = "line 2",
    ["a: 1\n   b: 2\n"] = "line 2",
    ["a:\n\tb: 1\n"] = "line 2",
    ["a: 1\na: 2\n"] = "line 2: duplicate key",
    ["a: &x 1\n"] = "line 1",
    ["just text\n"] = "line 1",
  }
  for text, want in pairs(cases) do
    local v, err = yaml.parse(text)
    t.eq(v, nil, text)
    t.contains(err, want, text)
  end
end)

t.test("numbers: math.isclose with rtol and atol, booleans refused, {value} unwrapped", function()
  local tol = { rtol = 1e-6, atol = 1e-9 }
  t.eq(fx.compare("x", "number", 100, 100.00009, tol), nil)
  local d = fx.compare("x", "number", 100, 100.001, tol)
  t.eq(d.comparator, "numeric_isclose")
  t.contains(d.metric, "rtol_exceeded: 1e-05 > 1e-06 (expected=100, actual=100.001, |delta|=0.001)")
  t.eq(fx.compare("x", "number", 0, 1e-10, tol), nil) -- atol near zero
  t.ok(fx.compare("x", "number", 0, 1e-8, tol) ~= nil)
  t.eq(fx.compare("x", "number", 5, { value = 5 }, tol), nil)
  t.eq(fx.compare("x", "number", 1, true, tol).metric, "boolean refused by numeric comparator")
  t.eq(fx.compare("x", "number", 0 / 0, 0 / 0, tol), nil)
  t.contains(fx.compare("x", "number", 1, "1", tol).metric, "actual value is not a number")
end)

t.test("text family: exact, whitespace-normalised, json-normalised, latex", function()
  t.eq(fx.compare("s", "text", "a b", "a b", fx.BUILTIN.text), nil)
  t.contains(fx.compare("s", "text", "abc", "abd", fx.BUILTIN.text).metric, "strings differ at offset 2")
  local md = fx.merged("s", "markdown", { defaults = {}, overrides = {} })
  t.eq(fx.compare("s", "markdown", "a  b\t\n\nc  ", " a b\n\nc", md), nil)
  t.ok(fx.compare("s", "markdown", "a b\n\n c", "a b\n\nc", md) ~= nil) -- inner line starts count
  t.ok(fx.compare("s", "text", "a  b", "a b", fx.BUILTIN.text) ~= nil)
  t.eq(fx.compare("s", "code", '{"a": 1, "b": [1,2]}', '{"b":[1,2],"a":1}', { compare = "json_normalized" }), nil)
  t.eq(fx.compare("s", "latex", "x\\,y", "x y", fx.BUILTIN.latex), nil)
  t.eq(fx.compare("s", "text", { value = "v" }, "v", fx.BUILTIN.text), nil)
end)

t.test("tables: unordered rows by default, list rows by column, float tolerance", function()
  local e = { columns = { "k", "v" }, rows = { { "a", 1.0 }, { "b", 2.0 } } }
  local a = { columns = { { key = "k", label = "K" }, { key = "v", label = "V" } },
              rows = { { k = "b", v = 2.0000001 }, { k = "a", v = 1 } } }
  t.eq(fx.compare("t", "table", e, a, fx.BUILTIN.table), nil)
  local d = fx.compare("t", "table", e, a, { compare = "rows_ordered", float_rtol = 1e-6, float_atol = 1e-9 })
  t.eq(d.comparator, "table_rows_ordered")
  t.eq(d.path, "rows[0].k")
  t.contains(fx.compare("t", "table", e, { columns = { "k", "v" }, rows = { { "a", 1 } } }, fx.BUILTIN.table).metric,
    "row counts differ: 2 vs 1")
  t.contains(fx.compare("t", "table", e, { columns = { "k", "w" }, rows = {} }, fx.BUILTIN.table).metric,
    "column names differ")
end)

t.test("charts compare data only; kv allow_extra; progress is not compared", function()
  local e = { title = "A", x = { 1, 2 }, series = { { name = "s", values = { 1.0, 2.0 } } } }
  local a = { title = "B", x = { 1, 2 }, series = { { name = "s", values = { 1.0, 2.0000000001 } } } }
  t.eq(fx.compare("c", "chart_line", e, a, fx.BUILTIN.chart_line), nil)
  a.series[1].values[2] = 2.1
  local d = fx.compare("c", "chart_line", e, a, fx.BUILTIN.chart_line)
  t.eq(d.path, "series[0].values[1]")
  local kv_e, kv_a = { pairs = { a = 1 } }, { pairs = { a = 1 }, extra = 2 }
  t.ok(fx.compare("k", "kv", kv_e, kv_a, fx.BUILTIN.kv) ~= nil)
  t.eq(fx.compare("k", "kv", kv_e, kv_a, { compare = "dict_per_value", allow_extra = true }), nil)
  t.eq(fx.compare("p", "progress", 1, 0, fx.BUILTIN.progress).comparator, "skip")
end)

-- base64 of text, for data URLs and file values.
local function b64(text)
  local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((text:gsub(".", function(c)
    local bits, b = "", c:byte()
    for i = 8, 1, -1 do bits = bits .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return A:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#text % 3 + 1])
end

t.test("media: the decoded bytes must be equal, and a difference names the weaker check", function()
  local png = "data:image/png;base64," .. b64("\137PNG pixels A")
  local other = "data:image/png;base64," .. b64("\137PNG pixels B")
  t.eq(fx.compare("i", "image", png, png, fx.BUILTIN.image), nil)
  t.eq(fx.compare("i", "image", png, { data = png }, fx.BUILTIN.image), nil)
  local d = fx.compare("i", "image", png, other, fx.BUILTIN.image)
  t.eq(d.comparator, "image_bytes")
  t.contains(d.metric, "size 13 vs 13 bytes, first difference at byte 12")
  t.contains(d.metric, "no SSIM")
  t.eq(fx.compare("i", "image", png, other, { compare = "size_sha256" }).metric,
       "size 13 vs 13 bytes, first difference at byte 12")
  d = fx.compare("g", "image_grid", { images = { png, png } }, { images = { png, other } }, fx.BUILTIN.image_grid)
  t.eq(d.output_key, "g[1]")
  t.contains(fx.compare("g", "image_grid", { png }, { png, png }, fx.BUILTIN.image_grid).metric,
             "image count differs: 1 vs 2")
  t.eq(fx.compare("c", "image_compare", { before = png, after = png }, { before = png, after = other },
                  fx.BUILTIN.image_compare).output_key, "c.after")
  t.contains(fx.compare("a", "audio", b64("RIFF1"), b64("RIFF2"), fx.BUILTIN.audio).metric, "no spectrogram")
  t.eq(fx.compare("a", "audio", b64("RIFF1"), "data:audio/wav;base64," .. b64("RIFF1"), fx.BUILTIN.audio), nil)
  t.eq(fx.compare("v", "video", "x", "y", fx.BUILTIN.video).comparator, "skip") -- opt-in, as the original
  t.contains(fx.compare("v", "video", "x", "y", { compare = "per_frame_ssim_mean" }).metric, "no video frames")
end)

t.test("maps: coordinates rounded to 4 places; points and polygons as sets, routes in order", function()
  local B = fx.BUILTIN
  local pts = { points = { { lat = 51.50001, lon = -0.12001 }, { 48.85661, 2.35221, "Paris" } } }
  local moved = { points = { { 48.856609, 2.352209 }, { latitude = 51.500014, lng = -0.120014 } } }
  t.eq(fx.compare("m", "map_points", pts, moved, B.map_points), nil) -- order and spelling ignored
  moved.points[1][1] = 48.8571
  local d = fx.compare("m", "map_points", pts, moved, B.map_points)
  t.eq(d.comparator, "points_round_set")
  t.eq(d.metric, "point set differs (rounded 4dp): 1 missing, 1 extra")
  t.contains(fx.compare("m", "map_points", pts, { points = { pts.points[1] } }, B.map_points).metric,
             "point count differs: 2 vs 1")
  local heat = { points = { { lat = 1, lon = 2, intensity = 0.5 } } }
  t.contains(fx.compare("h", "map_heatmap", heat, { points = { { lat = 1, lon = 2, weight = 0.7 } } },
                        B.map_heatmap).metric, "intensity at 1.0000,2.0000 differs: 0.5 vs 0.7")
  local route = { points = { { 1, 2 }, { 3, 4 } } }
  t.eq(fx.compare("r", "map_route", route, { points = { { 1.00001, 2 }, { 3, 4 } } }, B.map_route), nil)
  t.eq(fx.compare("r", "map_route", route, { points = { { 3, 4 }, { 1, 2 } } }, B.map_route).metric,
       "route vertex 0 differs (rounded 4dp): 1.0000,2.0000 vs 3.0000,4.0000")
  local square = { polygons = { { vertices = { { 0, 0 }, { 0, 1 }, { 1, 1 } } }, { { 5, 5 }, { 5, 6 }, { 6, 6 } } } }
  local turned = { polygons = { { { 6, 6 }, { 5, 5 }, { 5, 6 } }, { vertices = { { 1, 1 }, { 0, 0 }, { 0, 1 } } } } }
  t.eq(fx.compare("p", "map_polygons", square, turned, B.map_polygons), nil)
  turned.polygons[1][1] = { 6, 7 }
  t.eq(fx.compare("p", "map_polygons", square, turned, B.map_polygons).metric,
       "polygon vertex sets differ (2 mismatches)")
  local regions = { values = { FR = 1.0, DE = "high" } }
  t.eq(fx.compare("c", "map_choropleth", regions, { values = { DE = "high", FR = 1.0000000001 } },
                  B.map_choropleth), nil)
  t.contains(fx.compare("c", "map_choropleth", regions, { values = { FR = 1 } }, B.map_choropleth).metric,
             'missing ["DE"]')
  t.contains(fx.compare("m", "map_points", "nope", pts, B.map_points).metric, "map payload must be an object")
end)

t.test("trees match children by id unless ordered; rows compare in order", function()
  local e = { root = { id = "r", children = { { id = "a", value = 1 }, { name = "b", children = {} } } } }
  local a = { root = { id = "r", children = { { name = "b" }, { id = "a", value = 2 } } } }
  t.eq(fx.compare("t", "tree", e, a, fx.BUILTIN.tree), nil) -- ids and shape only, as the original
  t.eq(fx.compare("t", "tree", e, a, { compare = "structural", children_order = "ordered" }).metric,
       'node /0/: id mismatch ("a" vs "b")')
  a.root.children[1] = { name = "c" }
  t.eq(fx.compare("t", "tree", e, a, fx.BUILTIN.tree).metric, 'node /: child "b" missing in actual')
  local tl = { events = { { date = "2024-01-01", label = "start" }, { date = "2024-02-01", label = "end" } } }
  t.eq(fx.compare("l", "timeline", tl, { events = { tl.events[1], tl.events[2] } }, fx.BUILTIN.timeline), nil)
  local d = fx.compare("l", "timeline", tl, { events = { tl.events[2], tl.events[1] } }, fx.BUILTIN.timeline)
  t.eq(d.metric, 'row 0 key "date": "2024-01-01" vs "2024-02-01"')
  t.contains(fx.compare("g", "gantt", { tasks = {} }, { rows = {} }, fx.BUILTIN.gantt).metric,
             "gantt expects a list under .tasks")
  t.eq(fx.compare("g", "log", { lines = { "a", "b" } }, { lines = { "a", "c" } }, fx.BUILTIN.log).metric,
       'line 1: "b" vs "c"')
  t.contains(fx.compare("g", "log", { "re:a.*" }, { "abc" }, { compare = "rows_ordered", allow_regex = true }).metric,
             "not supported")
end)

t.test("files: json and csv by content, pdf and the rest by bytes", function()
  local function file(mime, text) return { mime = mime, data = b64(text) } end
  t.eq(fx.compare("f", "file", file("application/json", '{"a": 1}'), file("application/json", '{ "a":1 }'),
                  fx.BUILTIN.file), nil)
  t.eq(fx.compare("f", "file", file("application/json", '{"a": 1}'), file("application/json", '{"a": 2}'),
                  fx.BUILTIN.file).comparator, "file_json")
  t.eq(fx.compare("f", "file", file("text/csv", "a,b\n1,2\n3,4\n"), file("text/csv", "a,b\r\n3,4\r\n1,2\r\n"),
                  fx.BUILTIN.file), nil)
  local d = fx.compare("f", "file", file("text/csv", 'a,b\n1,"x, ""y"""\n'), file("text/csv", 'a,b\n1,"x, y"\n'),
                       fx.BUILTIN.file)
  t.eq(d.comparator, "file_csv_table")
  t.contains(d.metric, [["x, \"y\""]])
  t.contains(fx.compare("f", "file", "data:application/pdf;base64," .. b64("%PDF-1"),
                        "data:application/pdf;base64," .. b64("%PDF-2"), fx.BUILTIN.file).metric, "no PDF text")
  t.eq(fx.compare("f", "file", file("text/plain", "same"), file("text/plain", "same"), fx.BUILTIN.file), nil)
  t.eq(fx.compare("f", "file", file("text/csv", "a\n1\n"), file("text/csv", "a\n1\n"), { compare = "sha256" }), nil)
  t.eq(fx.compare("f", "file", "plain text", "plain text!", fx.BUILTIN.file).comparator, "sha256_or_mime")
end)

t.test("tolerance layers: builtin < yaml defaults < yaml overrides < fixture", function()
  local config = { defaults = { number = { rtol = 1e-3 } }, overrides = { total = { atol = 5 } } }
  t.eq(fx.merged("other", "number", config, nil), { compare = "numeric_isclose", rtol = 1e-3, atol = 1e-9 })
  t.eq(fx.merged("total", "number", config, nil), { compare = "numeric_isclose", rtol = 1e-3, atol = 5 })
  t.eq(fx.merged("total", "number", config, { total = { rtol = 0.5 } }),
       { compare = "numeric_isclose", rtol = 0.5, atol = 5 })
end)

t.test("fixture files and tolerance.yaml are checked like the original's models", function()
  local dir = t.tmpdir("fixtures")
  local spec = { outputs = { { key = "total", type = "number" } } }
  t.eq({ fx.load(dir, spec) }, { {}, {} }) -- no reference/
  t.write(dir .. "/reference/fixture_a.json", '{"name": "a", "inputs": {}, "expected_outputs": {"total": 1}}')
  t.write(dir .. "/reference/fixture_b.json", '{"name": "b", "inputs": {}, "expected_outputs": {"nope": 1}}')
  t.write(dir .. "/reference/fixture_c.json", '{"name": "c", "inputs": {}, "expected_outputs": {}, "label": 1}')
  t.write(dir .. "/reference/fixture_d.json", '[1]')
  t.write(dir .. "/reference/other.json", '{}')
  local list, errors = fx.load(dir, spec)
  t.eq(#list, 1)
  t.eq(list[1].name, "a")
  t.eq(#errors, 3)
  t.contains(errors[1], "fixture_b.json: expected_outputs references undeclared output key(s): nope")
  t.contains(errors[2], "fixture_c.json: invalid fixture")
  t.contains(errors[2], "label: unknown field")
  t.contains(errors[3], "fixture_d.json: top-level must be a JSON object")
  t.ok(fx.named(list[1], "a") and fx.named(list[1], "fixture_a.json"))
  local config, terr = fx.tolerance(dir)
  t.eq(terr, {})
  t.eq(config.options.on_missing_expected_key, "fail")
  t.write(dir .. "/reference/tolerance.yaml", "defaults:\n  hologram: {rtol: 1}\n  table: 3\nextra: 1\n")
  _, terr = fx.tolerance(dir)
  t.eq(terr, { "defaults.hologram: unknown output type",
               "defaults.table: must be a mapping (write 'key: {...}' with a space after the colon)",
               "extra: unknown key" })
  t.write(dir .. "/reference/tolerance.yaml", "overrides:\n  total:{rtol: 1}\n")
  _, terr = fx.tolerance(dir)
  t.contains(terr[1], "could not parse tolerance.yaml at line 2")
  -- options: missing keys can be ignored
  t.write(dir .. "/reference/tolerance.yaml", "options:\n  on_missing_expected_key: ignore\n")
  config = assert(fx.tolerance(dir))
  t.eq(fx.compare_outputs({ expected_outputs = { total = 1 } }, {}, spec, config), {})
  config = fx.tolerance(dir .. "/none")
  local diffs = fx.compare_outputs({ expected_outputs = { total = 1 } }, {}, spec, config)
  t.eq(diffs[1].comparator, "key_presence")
end)

return t.run()
