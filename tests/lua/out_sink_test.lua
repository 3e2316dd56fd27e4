-- pixie.out at the sink: mask first, then cut (never leaving the start of a
-- secret, never cutting a "***" or a UTF-8 character); JSON masked and valid.
local t = require("harness")
local mask = require("pixie.mask")
local json = require("pixie.json")
local out = require("pixie.out")

local SECRET = "CANARY-OUT-SINK-SECRET-5e1d"

t.test("clip masks before it cuts", function()
  mask.add(SECRET)
  local text = ("E"):rep(1990) .. SECRET .. ("x"):rep(100)
  local clipped = out.clip(text, 2000)
  t.eq(#clipped, 2000)
  t.eq(clipped, ("E"):rep(1990) .. "***" .. ("x"):rep(7))
  t.ok(not clipped:find("CANARY", 1, true), "no start of the secret")
end)

t.test("clip never cuts inside a mask", function()
  mask.add(SECRET)
  t.eq(out.clip(("E"):rep(1998) .. SECRET .. "x", 2000), ("E"):rep(1998))
  t.eq(out.clip(SECRET .. ("x"):rep(1999), 2000, true), ("x"):rep(1999))
  t.eq(out.clip("ab" .. SECRET .. "cd", 4, true), "cd")
  t.eq(out.clip("ab" .. SECRET .. "cd", 5, true), "***cd")
  t.eq(out.clip("short " .. SECRET, 2000), "short ***")
end)

t.test("clip cuts at a UTF-8 character boundary", function()
  t.eq(out.clip(("\u{e9}"):rep(10), 9), ("\u{e9}"):rep(4))
  t.eq(out.clip(("\u{e9}"):rep(10), 9, true), ("\u{e9}"):rep(4))
end)

t.test("quote masks and never cuts inside a mask", function()
  mask.add(SECRET)
  local q = out.quote(("a"):rep(79) .. SECRET, 80)
  t.eq(q, ("a"):rep(79) .. "... (82 bytes)")
end)

t.test("json with a keyword secret stays valid", function()
  mask.add("null")
  t.eq(out.json({ a = json.null, s = SECRET }), '{"a":"***","s":"***"}')
  t.eq(out.json({ 1, json.null }, { indent = true }), '[\n  1,\n  "***"\n]')
end)

return t.run()
