-- json.encode with opts.mask: masking at the sink never breaks the JSON.
-- A plain-Lua mask over a fixed list of patterns stands in for the registry,
-- so each case controls exactly which text is "registered".
local t = require("harness")
local json = require("pixie.json")
local cjson = require("cjson")

-- A mask replacing every occurrence of each literal pattern with "***",
-- and any run of adjacent "***" with one.
local function mask_of(patterns)
  return function(text)
    for _, p in ipairs(patterns) do
      text = text:gsub(p:gsub("%p", "%%%0"), "***")
    end
    return (text:gsub("%*%*%*%**", "***"))
  end
end

-- Encodes value with mask; checks the text parses and the mask leaves it
-- unchanged; returns the text.
local function encoded(value, mask, opts)
  local o = { mask = mask }
  for k, v in pairs(opts or {}) do o[k] = v end
  local text = assert(json.encode(value, o))
  t.ok(pcall(cjson.decode, text), "valid JSON: " .. text)
  t.eq(mask(text), text, "a fixpoint of the mask")
  return text
end

t.test("keyword_secret_becomes_a_masked_string", function()
  local text = encoded({ error = json.null, ok = true, list = { json.null } }, mask_of({ "null" }))
  t.eq(text, '{"error":"***","list":["***"],"ok":true}')
  t.eq(encoded(json.null, mask_of({ "null" }), { indent = true }), '"***"')
end)

t.test("number_secret_becomes_a_masked_string", function()
  t.eq(encoded({ n = 12345678, m = 5 }, mask_of({ "12345678" })), '{"m":5,"n":"***"}')
end)

t.test("strings_masked_before_and_after_escaping", function()
  -- the raw text holds the value; and an escaped form only appears after escaping
  t.eq(encoded({ "say SECRET" }, mask_of({ "SECRET" })), '["say ***"]')
  t.eq(encoded({ 'x"q\\u00e4' }, mask_of({ '\\"q\\\\u00e4' })), '["x***"]')
  -- a value only the raw text holds (escaping hides it from the document)
  t.eq(encoded({ k = 'ax"qb' }, mask_of({ 'x"q' })), '{"k":"a***b"}')
  t.eq(encoded({ ['ax"qb'] = 1 }, mask_of({ 'x"q' })), '{"a***b":1}')
end)

t.test("a_mask_that_cuts_an_escape_is_repaired", function()
  -- escaped 'abc\"z': the pattern takes the backslash of \" and leaves a bare quote
  t.eq(encoded({ 'abc"z' }, mask_of({ "abc\\" })), '["***\\"z"]')
  -- the pattern takes the quote of \" and leaves a lone backslash
  t.eq(encoded({ 'z"abc' }, mask_of({ '"abc' })), '["z***"]')
  t.eq(encoded({ 'z\\"ab' }, mask_of({ '"ab' })), '["z\\\\***"]')
  -- a \u escape cut in the middle
  t.eq(encoded({ "k\1yz" }, mask_of({ "01yz" })), '["k\\\\u00***"]')
  t.eq(encoded({ "\1\2" }, mask_of({ "01\\u" })), '["\\\\u00***0002"]')
end)

t.test("a_value_across_tokens_keeps_the_document_valid", function()
  -- masked text that still parses is kept
  t.eq(encoded({ "a", "b" }, mask_of({ 'a","b' })), '["***"]')
  -- masked text that would not parse: the document is given up
  t.eq(encoded({ 1, 2 }, mask_of({ "1,2" })), '"***"')
  t.eq(encoded({ k = "v" }, mask_of({ '":"v' })), '"***"')
end)

t.test("without_mask_nothing_changes", function()
  t.eq(json.encode({ n = 12345678, s = "null" }), '{"n":12345678,"s":"null"}')
  t.raises(function() json.encode({}, { mask = "x" }) end, "opts.mask")
end)

return t.run()
