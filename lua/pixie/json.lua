-- pixie.json: JSON for Pixie. Decoding is lua-cjson (fast, C) with the
-- position turned into line and column; encoding is our own, because the
-- cjson in Debian 12 (2.1.0) cannot tell an empty array from an empty object.
--
-- decode(text) -> value | nil, "line L, column C: reason"
--   integral numbers come back as Lua integers (floats with
--   opts.integers = false, cheaper when the caller normalises numbers
--   itself), `[]` as json.array().
-- encode(value [, {indent = true, mask = fn}]) -> text | nil, reason
--   tables marked with json.array() are arrays; other tables are arrays when
--   they are non-empty sequences, else objects with keys sorted (or in the
--   order listed by json.ordered()).
--   opts.mask (text -> masked text, e.g. pixie.out.scrub): mask at the sink
--   and stay valid JSON. Each string is masked, escaped, and its escaped
--   text masked again (repaired where a "***" cut an escape); a number or
--   keyword the mask would change is written as the string "***"; then the
--   whole text is masked once more, which can only change it when a
--   registered value spans several tokens: the result is kept when it still
--   parses, else the document becomes "***". The text returned is one the
--   mask leaves unchanged (docs/security.md, "JSON at the sink"). A document
--   with nothing to mask costs two mask calls, not one per token.
-- is_array(t) -> true when table t is (or encodes as) a JSON array.
-- json.null is the sentinel for JSON null (decode gives it, encode takes it).
local cjson_base = require("cjson")

local M = {}

local cjson = cjson_base.new()
cjson.decode_max_depth(200)
cjson.decode_invalid_numbers(false)

M.null = cjson.null

local ARRAY_MT = { __name = "pixie.json.array" }
-- keys array -> metatable recording that key order (one per order, reused:
-- a metatable costs nothing to the collector, a weak side table would).
local ORDER_MT = setmetatable({}, { __mode = "k" })

-- Marks t (default {}) as a JSON array, even when empty. Returns t.
function M.array(t)
  return setmetatable(t or {}, ARRAY_MT)
end

-- Records the key order used when encoding object t. Returns t.
function M.ordered(t, keys)
  local mt = ORDER_MT[keys]
  if not mt then
    mt = { __name = "pixie.json.ordered", order = keys }
    ORDER_MT[keys] = mt
  end
  setmetatable(t, mt)
  return t
end

-- Converts a byte offset (1-based) into a 1-based line and column.
local function line_column(text, offset)
  local line, last_nl = 1, 0
  local pos = 1
  while true do
    local nl = text:find("\n", pos, true)
    if not nl or nl >= offset then break end
    line, last_nl, pos = line + 1, nl, nl + 1
  end
  return line, offset - last_nl
end

-- A string no JSON document contains: it stands in for the element of an
-- empty array while cjson decodes, so `[]` can come back as json.array().
local EMPTY_MARK_ID = "pixie-empty-array-" .. tostring({}):match("0x(%x+)")
local EMPTY_MARK = "\0" .. EMPTY_MARK_ID .. "\0"
local EMPTY_MARK_JSON = '"\\u0000' .. EMPTY_MARK_ID .. '\\u0000"'

-- Rewrites every `[ ]` outside strings as `[EMPTY_MARK]`. Returns the new
-- text, or nil when the document has no empty array.
local function mark_empty_arrays(text)
  if not text:find("%[%s*%]") then return nil end
  local out, copied, pos = {}, 1, 1
  while true do
    local s = text:find('["%[]', pos)
    if not s then break end
    if text:byte(s) == 34 then -- a string: skip to its closing quote
      local j = s + 1
      while true do
        local q = text:find('["\\]', j)
        if not q then j = #text + 1; break end
        if text:byte(q) == 92 then j = q + 2 else j = q + 1; break end
      end
      pos = j
    else
      local close = text:match("^%[%s*()%]", s)
      if close then
        out[#out + 1] = text:sub(copied, s) .. EMPTY_MARK_JSON
        copied = close
        pos = close + 1
      else
        pos = s + 1
      end
    end
  end
  out[#out + 1] = text:sub(copied)
  return table.concat(out)
end

-- After cjson: integral floats become integers (cjson 2.1.0 decodes every
-- number as a float) unless `integers` is false, and marked empty arrays
-- become json.array().
local function fix_decoded(v, integers)
  if v[1] == EMPTY_MARK and v[2] == nil then
    v[1] = nil
    return setmetatable(v, ARRAY_MT)
  end
  for k, x in next, v do
    local tx = type(x)
    if tx == "table" then
      v[k] = fix_decoded(x, integers)
    elseif integers and tx == "number" and x == math.floor(x) and x > -2^53 and x < 2^53 then
      v[k] = math.tointeger(x)
    end
  end
  return v
end

-- Applies fix_decoded to a decoded top-level value.
local function fixed(v, integers, marked)
  if type(v) == "table" then
    if integers or marked then return fix_decoded(v, integers) end
    return v
  end
  if integers and type(v) == "number" and v == math.floor(v) and v > -2^53 and v < 2^53 then
    return math.tointeger(v)
  end
  return v
end

function M.decode(text, opts)
  if type(text) ~= "string" then
    error("json.decode: expected a string, got " .. type(text), 2)
  end
  local integers = not (opts and opts.integers == false)
  local marked = mark_empty_arrays(text)
  local ok, value = pcall(cjson.decode, marked or text)
  if ok then return fixed(value, integers, marked) end
  if marked then -- report positions of the original text
    ok, value = pcall(cjson.decode, text)
    if ok then return fixed(value, integers, false) end
  end
  local msg = tostring(value)
  local reason, char = msg:match("^(.-) at character (%d+)$")
  if reason then
    local line, col = line_column(text, tonumber(char))
    return nil, ("line %d, column %d: %s"):format(line, col, reason)
  end
  return nil, msg
end

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function escape_char(c)
  return ESCAPES[c] or ("\\u%04x"):format(c:byte())
end

-- The text between the quotes of the JSON string for s.
local function escaped(s)
  return (s:gsub('[%c"\\]', escape_char))
end

-- A masked string body made a valid JSON string body again: a backslash
-- that no longer starts an escape (its escape was cut by "***") is escaped,
-- and so is a quote that lost its backslash.
local function repaired(body)
  local parts, pos = {}, 1
  while true do
    local at = body:find('[\\"]', pos)
    if not at then break end
    local keep = at
    if body:byte(at) == 34 then
      parts[#parts + 1] = body:sub(pos, at - 1) .. '\\"'
    elseif body:find('^[\\"/bfnrt]', at + 1) then
      keep = at + 1
      parts[#parts + 1] = body:sub(pos, keep)
    elseif body:find("^u%x%x%x%x", at + 1) then
      keep = at + 5
      parts[#parts + 1] = body:sub(pos, keep)
    else
      parts[#parts + 1] = body:sub(pos, at - 1) .. "\\\\"
    end
    pos = keep + 1
  end
  parts[#parts + 1] = body:sub(pos)
  return table.concat(parts)
end

local MASKED_TOKEN = '"***"'
local MASK_ROUNDS = 3 -- re-masking a repaired text; more rounds end in "***"

-- The JSON string for s; with mask, masked before and after escaping.
local function encode_string(s, mask)
  if not mask then return '"' .. escaped(s) .. '"' end
  local body = escaped(mask(s))
  for _ = 1, MASK_ROUNDS do
    local m = mask(body)
    if m == body then return '"' .. body .. '"' end
    body = repaired(m)
  end
  return MASKED_TOKEN
end

-- A number or keyword token; with mask, "***" when the mask would change it.
local function token(text, mask)
  if mask and mask(text) ~= text then return MASKED_TOKEN end
  return text
end

local function encode_number(n)
  if n ~= n or n == math.huge or n == -math.huge then
    error("cannot encode " .. tostring(n) .. " in JSON", 0)
  end
  if math.type(n) == "integer" then return ("%d"):format(n) end
  if n == math.floor(n) and math.abs(n) < 2^53 then return ("%.1f"):format(n) end
  local s = ("%.14g"):format(n)
  if tonumber(s) ~= n then s = ("%.17g"):format(n) end
  return s
end

-- True when table t encodes as a JSON array: marked by json.array() (as
-- decode marks `[]`) or a non-empty sequence. A decoded JSON object never
-- is one (its keys are strings), so this tells `[]` from `{}` after decode.
local function is_array(t)
  if getmetatable(t) == ARRAY_MT then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end
M.is_array = is_array

local encode_value

local function encode_table(t, buf, indent, depth, seen, mask)
  if seen[t] then error("cannot encode a table that contains itself", 0) end
  if depth > 200 then error("cannot encode: nesting deeper than 200", 0) end
  seen[t] = true
  local nl, pad, pad_in = "", "", ""
  if indent then
    nl = "\n"
    pad = ("  "):rep(depth)
    pad_in = ("  "):rep(depth + 1)
  end
  if is_array(t) then
    if #t == 0 then
      buf[#buf + 1] = "[]"
    else
      buf[#buf + 1] = "[" .. nl
      for i = 1, #t do
        buf[#buf + 1] = pad_in
        encode_value(t[i], buf, indent, depth + 1, seen, mask)
        buf[#buf + 1] = (i < #t and "," or "") .. nl
      end
      buf[#buf + 1] = pad .. "]"
    end
  else
    local keys, listed = {}, {}
    local mt = getmetatable(t)
    for _, k in ipairs(mt and mt.order or {}) do
      if t[k] ~= nil and not listed[k] then keys[#keys + 1] = k; listed[k] = true end
    end
    local rest = {}
    for k in pairs(t) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        error("cannot encode a table key of type " .. type(k), 0)
      end
      if not listed[k] then rest[#rest + 1] = tostring(k) end
    end
    table.sort(rest)
    for _, k in ipairs(rest) do keys[#keys + 1] = k end
    if #keys == 0 then
      buf[#buf + 1] = "{}"
    else
      buf[#buf + 1] = "{" .. nl
      for i, k in ipairs(keys) do
        local v = t[k]
        if v == nil then v = t[math.tointeger(tonumber(k))] end
        buf[#buf + 1] = pad_in .. encode_string(k, mask) .. (indent and ": " or ":")
        encode_value(v, buf, indent, depth + 1, seen, mask)
        buf[#buf + 1] = (i < #keys and "," or "") .. nl
      end
      buf[#buf + 1] = pad .. "}"
    end
  end
  seen[t] = nil
end

encode_value = function(v, buf, indent, depth, seen, mask)
  local tv = type(v)
  if tv == "string" then
    buf[#buf + 1] = encode_string(v, mask)
  elseif tv == "number" then
    buf[#buf + 1] = token(encode_number(v), mask)
  elseif tv == "boolean" then
    buf[#buf + 1] = token(v and "true" or "false", mask)
  elseif v == nil or v == M.null then
    buf[#buf + 1] = token("null", mask)
  elseif tv == "table" then
    encode_table(v, buf, indent, depth, seen, mask)
  else
    error("cannot encode a " .. tv .. " in JSON", 0)
  end
end

-- The sink pass over a whole document whose tokens are masked already: a
-- change means a registered value spans tokens; keep the masked text while
-- it parses, else give up on the document.
local function masked_document(text, mask)
  for _ = 1, MASK_ROUNDS do
    local m = mask(text)
    if m == text then return text end
    if not pcall(cjson.decode, m) then return MASKED_TOKEN end
    text = m
  end
  return MASKED_TOKEN
end

-- The JSON text of value, its tokens masked with mask (nil: unmasked).
local function encode_with(value, indent, mask)
  local buf = {}
  local ok, err = pcall(encode_value, value, buf, indent, 0, {}, mask)
  if not ok then return nil, tostring(err) end
  return table.concat(buf)
end

function M.encode(value, opts)
  local mask = opts and opts.mask
  if mask ~= nil and type(mask) ~= "function" then
    error("json.encode: opts.mask must be a function", 2)
  end
  local indent = opts and opts.indent
  if not mask then return encode_with(value, indent, nil) end
  -- Fast path: encode once, collecting every text the token masks would
  -- see (raw strings, escaped bodies, numbers, keywords), then mask all of
  -- them joined and the document, two calls in all. The mask matches
  -- substrings, so when neither changes no single token would have (a
  -- match across a joint only sends us down the slow path).
  local seen = {}
  local text, err = encode_with(value, indent, function(t)
    seen[#seen + 1] = t
    return t
  end)
  if not text then return nil, err end
  local joined = table.concat(seen, "\0")
  if mask(joined) == joined and mask(text) == text then return text end
  return masked_document(assert(encode_with(value, indent, mask)), mask)
end

return M
