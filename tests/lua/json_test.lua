local t = require("harness")
local json = require("pixie.json")

t.test("decode_error_names_line_and_column", function()
  local v, err = json.decode('{\n  "id": "x",\n  "name": oops\n}')
  t.eq(v, nil)
  t.contains(err, "line 3, column")
end)

t.test("round_trip_keeps_values", function()
  local v = assert(json.decode('{"a": [1, 2.5, "x"], "b": null, "c": true}'))
  t.eq(v.a[2], 2.5)
  t.eq(v.b, json.null)
  local again = assert(json.decode(assert(json.encode(v))))
  t.eq(again.a[3], "x")
end)

t.test("empty_array_encodes_as_array", function()
  t.eq(json.encode(json.array()), "[]")
end)

t.test("strings_escape_controls_and_quotes", function()
  t.eq(json.encode('a"b\\c\n\1'), '"a\\"b\\\\c\\n\\u0001"')
  t.eq(json.decode(json.encode('a"b\\c\n\1\127')), 'a"b\\c\n\1\127')
end)

t.test("objects_sorted_or_ordered", function()
  t.eq(json.encode({ b = 1, a = 2 }), '{"a":2,"b":1}')
  t.eq(json.encode(json.ordered({ b = 1, a = 2 }, { "b", "a" })), '{"b":1,"a":2}')
end)

t.test("numbers_round_trip", function()
  for _, n in ipairs({ 0, -1, 1.5, 0.1, 1e300, 2^53, -0.000123 }) do
    t.eq(json.decode(json.encode(n)), n)
  end
  local v, err = json.encode(0/0)
  t.eq(v, nil)
  t.contains(err, "nan")
end)

t.test("integers_stay_integers", function()
  local v = assert(json.decode('{"n": 5, "f": 2.5, "big": 1e300, "neg": -7}'))
  t.eq(math.type(v.n), "integer")
  t.eq(math.type(v.neg), "integer")
  t.eq(math.type(v.f), "float")
  t.eq(json.encode(v.n), "5")
end)

t.test("empty_arrays_survive_a_round_trip", function()
  local text = '{"a": [], "b": {}, "c": [[ ], {"d": []}], "s": "[] in a \\" string []"}'
  local v = assert(json.decode(text))
  t.eq(json.encode(v.a), "[]")
  t.eq(json.encode(v.b), "{}")
  t.eq(json.encode(v.c), '[[],{"d":[]}]')
  t.eq(v.s, '[] in a " string []')
end)

t.test("error_position_unaffected_by_empty_arrays", function()
  local _, err = json.decode('{"a": [],\n "b": oops}')
  t.contains(err, "line 2, column")
end)

return t.run()
