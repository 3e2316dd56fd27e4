-- The bytes behind a media or file output value, as the original's
-- comparators read them (its comparators/media.py and file.py): a data URL
-- or plain base64 is decoded; anything else is compared as its own text.
--
-- media(value) -> bytes                   image / audio / video values
-- file(value)  -> bytes, mime             file values ({mime, data|data_url|content} or a string)
-- difference(expected, actual) -> nil | "size E vs A bytes, first difference at byte N"
-- csv_rows(text) -> rows (arrays of strings), as Python's csv.reader reads them
local json = require("pixie.json")

local M = {}

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local SEXTET = {}
for i = 1, #ALPHABET do SEXTET[ALPHABET:byte(i)] = i - 1 end

-- Python's base64.b64decode without validate: characters outside the
-- alphabet are dropped, the rest must be whole groups of four (padding
-- counted). Returns the bytes, or nil when the text is not base64.
function M.base64_decode(text)
  local body, pad = text:gsub("[^%w%+/=]", ""):match("^([%w%+/]*)(=*)$")
  if not body or (#body + #pad) % 4 ~= 0 or #pad > 2 then return nil end
  local out = {}
  for i = 1, #body, 4 do
    local n, count = 0, 0
    for j = i, math.min(i + 3, #body) do
      n = n * 64 + SEXTET[body:byte(j)]
      count = count + 1
    end
    for _ = count + 1, 4 do n = n * 64 end
    local bytes = string.char((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)
    out[#out + 1] = bytes:sub(1, count - 1)
  end
  return table.concat(out)
end

-- (bytes, mime) of a data URL, or nil when text is not one.
local function data_url(text)
  local prefix, payload = text:match("^data:([^,]*),(.*)$")
  if not prefix then return nil end
  return M.base64_decode(payload) or text, prefix:match("^[^;]*")
end

-- A value's text form for values that carry no bytes (the original used repr).
local function as_text(value)
  local text = json.encode(value)
  return text or tostring(value)
end

function M.media(value)
  if type(value) == "table" then
    for _, key in ipairs({ "data", "image", "value", "url" }) do
      if value[key] ~= nil then value = value[key]; break end
    end
  end
  if type(value) ~= "string" then return as_text(value) end
  local bytes = data_url(value)
  if bytes then return bytes end
  if value:match("^https?://") or value:match("^file://") then return value end
  return M.base64_decode(value) or value
end

function M.file(value)
  if type(value) == "string" then
    local bytes, mime = data_url(value)
    if bytes then return bytes, mime end
    return value, "text/plain"
  end
  if type(value) ~= "table" then return as_text(value), "application/octet-stream" end
  local mime = value.mime or value.content_type
  mime = type(mime) == "string" and mime ~= "" and mime or "application/octet-stream"
  local raw = value.data or value.data_url or value.content
  if raw == nil or raw == json.null then return "", mime end
  if type(raw) ~= "string" then return as_text(raw), mime end
  local bytes, url_mime = data_url(raw)
  if bytes then return bytes, url_mime ~= "" and url_mime or mime end
  return M.base64_decode(raw) or raw, mime
end

function M.difference(e, a)
  if e == a then return nil end
  local at = #e < #a and #e or #a
  for i = 1, at do
    if e:byte(i) ~= a:byte(i) then at = i - 1; break end
  end
  return ("size %d vs %d bytes, first difference at byte %d"):format(#e, #a, at)
end

-- One field of CSV text starting at i: the field and the index after it.
local function csv_field(text, i)
  if text:sub(i, i) ~= '"' then
    local j = text:find('[,\r\n]', i) or #text + 1
    return text:sub(i, j - 1), j
  end
  local parts, j = {}, i + 1
  while j <= #text do
    local q = text:find('"', j, true)
    if not q then parts[#parts + 1] = text:sub(j); return table.concat(parts), #text + 1 end
    parts[#parts + 1] = text:sub(j, q - 1)
    if text:sub(q + 1, q + 1) ~= '"' then
      local k = text:find('[,\r\n]', q + 1) or #text + 1
      parts[#parts + 1] = text:sub(q + 1, k - 1) -- text after a closing quote is kept, as csv does
      return table.concat(parts), k
    end
    parts[#parts + 1] = '"'
    j = q + 2
  end
  return table.concat(parts), j
end

function M.csv_rows(text)
  local rows, row, i = {}, {}, 1
  while i <= #text do
    local field
    field, i = csv_field(text, i)
    row[#row + 1] = field
    local sep = text:sub(i, i)
    if sep == "," then
      i = i + 1
      if i > #text then row[#row + 1] = "" end
    else
      rows[#rows + 1] = row
      row = {}
      if sep == "\r" and text:sub(i + 1, i + 1) == "\n" then i = i + 1 end
      i = i + 1
      while text:sub(i, i) == "\n" or text:sub(i, i) == "\r" do i = i + 1 end -- blank lines: no row
    end
  end
  if #row > 0 then rows[#rows + 1] = row end
  return rows
end

return M
