-- pixie.web.autocomplete's pure parts: which endpoints become a path on the
-- tool (and which are refused), and which tool answers are suggestions.
local t = require("harness")
local ac = require("pixie.web.autocomplete")
local json = require("pixie.json")

t.test("bare_names_go_under_autocomplete", function()
  t.eq(ac.tool_path("cities", "pa"), "/autocomplete/cities?q=pa")
  t.eq(ac.tool_path("city_names-v2.x~", ""), "/autocomplete/city_names-v2.x~?q=")
  t.eq(ac.tool_path("cities", "a b&c=d/é"), "/autocomplete/cities?q=a%20b%26c%3Dd%2F%C3%A9")
end)

t.test("paths_are_kept_with_their_query", function()
  t.eq(ac.tool_path("/suggest", "x"), "/suggest?q=x")
  t.eq(ac.tool_path("/lookup/city?lang=en", "x"), "/lookup/city?lang=en&q=x")
  t.eq(ac.tool_path("/a/./b", "x"), "/a/./b?q=x")
end)

t.test("endpoints_off_the_tool_are_refused", function()
  for _, e in ipairs({ "http://127.0.0.1:9/x", "https://example.com/", "//example.com/x", "HTTP://x",
                       "file:///etc/passwd", "relative/path", "/a b", "/a\r\nHost: x", "/x#frag",
                       "/..", "/a/../../b", "/a/..?q=1", "\\\\host\\x", "/\\host", "", ".", "..",
                       "javascript:alert(1)", "127.0.0.1:80/x" }) do
    local path, why = ac.tool_path(e, "q")
    t.eq(path, nil, e)
    t.ok(type(why) == "string" and #why > 0, e)
  end
  t.eq(ac.tool_path(nil, "q"), nil)
end)

t.test("answers_that_are_suggestions", function()
  t.eq(json.encode(assert(ac.parse('["a", 2, 1.5, true]'))), '["a","2","1.5","true"]')
  t.eq(json.encode(assert(ac.parse('{"suggestions": [{"value": "v"}, {"value": 3, "label": "Three"}]}'))),
    '[{"label":"v","value":"v"},{"label":"Three","value":"3"}]')
  t.eq(json.encode(assert(ac.parse('{"results": ["r"]}'))), '["r"]')
  t.eq(json.encode(assert(ac.parse('[]'))), '[]')
  local many = {}
  for i = 1, 150 do many[i] = tostring(i) end
  t.eq(#assert(ac.parse(json.encode(json.array(many)))), ac.MAX_SUGGESTIONS)
end)

t.test("junk_answers_say_why", function()
  local cases = {
    ["<html>"] = "not JSON",
    ['{"matches": []}'] = "not a list",
    ['"text"'] = "not a list",
    ["null"] = "not a list",
    ['[null]'] = "suggestion 1",
    ['["a", [1]]'] = "suggestion 2",
    ['[{"label": "x"}]'] = "without a string or number `value`",
    ['[{"value": "v", "label": 5}]'] = "label",
    ['[{"value": {"x": 1}}]'] = "value",
  }
  for body, why in pairs(cases) do
    local list, err = ac.parse(body)
    t.eq(list, nil, body)
    t.contains(err, why, body)
  end
  t.contains(select(2, ac.parse(json.encode({ string.rep("x", ac.MAX_TEXT + 1) }))), "suggestion 1")
end)

return t.run()
