-- Helper for test_mask_forms.py: reads hex-encoded lines on stdin
--   V <hex>   register the value with pixie.mask.add
--   T <hex>   scrub the text (one-shot) and print "S <hex of result>"
--   U <hex>   stream the text one byte at a time, flush, print "S <hex>"
--   E <hex>   encode the text as a JSON string with pixie.json and with
--             lua-cjson, print "J <hex of pixie's> <hex of cjson's>"
-- and prints "A <true|false>" for each V.
-- Usage: pixie_lua_test mask_scrub.lua < commands
local mask = require("pixie.mask")
local json = require("pixie.json")
local cjson = require("cjson")

local function unhex(h)
  return (h:gsub("%x%x", function(b) return string.char(tonumber(b, 16)) end))
end

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

for line in io.stdin:lines() do
  local op, arg = line:match("^(%u) (%x*)$")
  local data = unhex(arg or "")
  if op == "V" then
    io.stdout:write("A ", tostring(mask.add(data)), "\n")
  elseif op == "T" then
    io.stdout:write("S ", hex(mask.scrub(data)), "\n")
  elseif op == "U" then
    local s <close> = mask.stream()
    local parts = {}
    for i = 1, #data do parts[#parts + 1] = s:feed(data:sub(i, i)) end
    parts[#parts + 1] = s:flush()
    io.stdout:write("S ", hex(table.concat(parts)), "\n")
  elseif op == "E" then
    io.stdout:write("J ", hex(assert(json.encode(data))), " ", hex(cjson.encode(data)), "\n")
  end
end
