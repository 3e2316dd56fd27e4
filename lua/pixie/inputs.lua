-- Run inputs against a tool's declared inputs (SPEC §4.1, §4.4):
--   check(spec, given)        -> values | nil, errors, fields (every problem at
--     once; fields = {input_key = message}, the same problems keyed by input;
--     a `layout: chat` tool also takes undeclared `messages` and `history`)
--   coerce(spec, key, text)   -> value | nil, error     (CLI key=value strings)
--   samples(spec)             -> values                 (validator sample run)
--   unencodable(value)        -> nil | message          (what JSON cannot carry)
-- `spec` is a normalised tool.json (lua/pixie/toolspec.lua).
local json = require("pixie.json")
local out = require("pixie.out")

local M = {}

local STRING_TYPES = {
  text = true, textarea = true, code = true, markdown = true, autocomplete = true,
  colour = true, date = true, time = true, datetime = true, file = true,
  image = true, audio = true,
}

local function is_null(v) return v == nil or v == json.null end

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

-- True when v is an array of numbers.
local function numbers(v)
  if not is_array(v) then return false end
  for _, x in ipairs(v) do
    if math.type(x) == nil then return false end
  end
  return true
end

local function option_values(input)
  local set = {}
  for _, o in ipairs(input.options or {}) do set[tostring(o.value)] = o.value end
  return set
end

local function describe_options(input)
  local names = {}
  for _, o in ipairs(input.options or {}) do names[#names + 1] = tostring(o.value) end
  return table.concat(names, ", ")
end

-- A value in a message: strings quoted (control characters as \xNN),
-- anything else as JSON (null, true, 1.5, [...]).
local function described(v)
  if type(v) == "string" then return "'" .. out.quote(v) .. "'" end
  return json.encode(v) or tostring(v)
end

-- The first problem JSON and the database cannot carry anywhere inside v:
-- a string (or key) that is not valid UTF-8, or a number that is not
-- finite. Returns nil when there is none, else a message.
local function unencodable(v, depth)
  if type(v) == "string" then
    if not utf8.len(v) then return "is not valid UTF-8" end
  elseif type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      return "holds a number that is not finite (JSON has no infinity or NaN)"
    end
  elseif type(v) == "table" then
    if depth > 100 then return "is nested too deeply" end
    for k, x in pairs(v) do
      local problem = unencodable(k, depth + 1) or unencodable(x, depth + 1)
      if problem then return problem end
    end
  end
  return nil
end

function M.unencodable(value)
  return unencodable(value, 0)
end

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- True when "YYYY-MM-DD" names a day of the (proleptic Gregorian) calendar.
local function real_date(text)
  local y, m, d = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return false end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 then return false end
  local leap = y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
  return d <= (m == 2 and leap and 29 or DAYS_IN_MONTH[m])
end

-- True when text is a time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff".
local function real_time(text)
  local h, mi, rest = text:match("^(%d%d):(%d%d)(.*)$")
  if not h or tonumber(h) > 23 or tonumber(mi) > 59 then return false end
  if rest == "" then return true end
  local s = rest:match("^:(%d%d)$") or rest:match("^:(%d%d)%.%d+$")
  return s ~= nil and tonumber(s) <= 59
end

-- True when text is "<date>T<time>" (or a space for the T) as above.
local function real_datetime(text)
  local date, time = text:match("^(%d%d%d%d%-%d%d%-%d%d)[T ](.+)$")
  return date ~= nil and real_date(date) and real_time(time)
end

-- The size in bytes of the file a data URL ("data:[type][;base64],DATA")
-- carries: base64 decoded, anything else as its text (an upper bound).
local function data_url_size(v)
  local comma = v:find(",", 1, true)
  if v:sub(1, 5) ~= "data:" or not comma then return #v end
  local payload = #v - comma
  if not v:sub(1, comma):find(";base64,", 1, true) then return payload end
  local pad = v:sub(-2) == "==" and 2 or (v:sub(-1) == "=" and 1 or 0)
  return payload // 4 * 3 + (payload % 4 == 0 and 0 or payload % 4 - 1) - pad
end

-- For a file, image or audio input with max_size_mb (MB = 2^20 bytes of the
-- decoded file; each file of a multiple input): the message when value v
-- holds a larger file, else nil.
function M.too_large(input, v)
  local limit = tonumber(input.max_size_mb)
  local t = input.type
  if not limit or v == nil or (t ~= "file" and t ~= "image" and t ~= "audio") then return nil end
  for _, x in ipairs(type(v) == "table" and v or { v }) do
    if type(x) == "string" and data_url_size(x) > limit * 1024 * 1024 then
      return ("the file is larger than its limit of %s MB"):format(("%g"):format(limit))
    end
  end
  return nil
end

-- Checks one present value against its input; returns value | nil, message.
local function check_value(input, v)
  local t = input.type
  local problem = M.unencodable(v) or M.too_large(input, v)
  if problem then return nil, problem end
  if (t == "file" or t == "image") and input.multiple == true and type(v) == "table" then
    -- several files: an array of data URLs (one file alone may come as a string)
    if not is_array(v) then return nil, "must be an array of files (data URL strings)" end
    for _, x in ipairs(v) do
      if type(x) ~= "string" then return nil, "must be an array of files (data URL strings)" end
    end
    return v
  end
  if STRING_TYPES[t] then
    if type(v) ~= "string" then return nil, "must be a string" end
    if input.max_length and utf8.len(v) > input.max_length then
      return nil, ("is longer than %d characters"):format(input.max_length)
    end
    if t == "date" and not real_date(v) then
      return nil, "must be a date YYYY-MM-DD (a day of the calendar)"
    end
    if t == "time" and not real_time(v) then return nil, "must be a time HH:MM (or HH:MM:SS)" end
    if t == "datetime" and not real_datetime(v) then
      return nil, "must be a date and time YYYY-MM-DDTHH:MM (or HH:MM:SS)"
    end
    return v
  elseif t == "number" or t == "slider" then
    if t == "slider" and input.range and is_array(v) then
      for _, x in ipairs(v) do
        if math.type(x) == nil or x ~= x or x == math.huge or x == -math.huge then
          return nil, "must be an array of finite numbers"
        end
      end
      return v
    end
    if math.type(v) == nil then return nil, "must be a number" end
    if v ~= v or v == math.huge or v == -math.huge then return nil, "must be a finite number" end
    if input.min and not is_null(input.min) and v < input.min then
      return nil, ("must be at least %s"):format(input.min)
    end
    if input.max and not is_null(input.max) and v > input.max then
      return nil, ("must be at most %s"):format(input.max)
    end
    return v
  elseif t == "checkbox" or t == "toggle" then
    if type(v) ~= "boolean" then return nil, "must be true or false" end
    return v
  elseif t == "select" or t == "radio" then
    local allowed = option_values(input)
    if type(v) == "table" or allowed[tostring(v)] == nil then
      return nil, "must be one of: " .. describe_options(input)
    end
    return allowed[tostring(v)]
  elseif t == "multiselect" then
    if not is_array(v) then return nil, "must be an array" end
    local allowed = option_values(input)
    for _, x in ipairs(v) do
      if type(x) == "table" or x == json.null or allowed[tostring(x)] == nil then
        return nil, ("%s is not one of: %s"):format(described(x), describe_options(input))
      end
    end
    return v
  elseif t == "tags" then
    if not is_array(v) then return nil, "must be an array of strings" end
    for _, x in ipairs(v) do
      if type(x) ~= "string" then return nil, "must be an array of strings" end
    end
    return v
  elseif t == "table" or t == "date_range" or t == "map_polygon" or t == "map_multipoint" then
    if not is_array(v) then return nil, "must be an array" end
    return v
  elseif t == "map_bbox" and is_array(v) and #v == 2 and numbers(v[1]) and numbers(v[2]) then
    return v -- [[south, west], [north, east]], as the original Pixie's page sent it
  elseif t == "map_point" or t == "map_bbox" then
    if not numbers(v) then return nil, "must be an array of numbers" end
    return v
  end
  return v -- json, hidden and other free-form types
end

-- True when the input is shown given the other values (show_if).
local function visible(input, values)
  local cond = input.show_if
  if type(cond) ~= "table" or is_null(cond.key) then return true end
  local other = values[cond.key]
  return other == cond.equals or tostring(other) == tostring(cond.equals)
end

-- What the original's chat page sends a `layout: chat` tool besides its
-- declared inputs: {messages = [{role, content}...], history = [...]}.
local CHAT_ENVELOPE = { messages = true, history = true }

function M.check(spec, given)
  if type(given) ~= "table" or is_array(given) and next(given) ~= nil then
    return nil, { "inputs must be a JSON object" }, {}
  end
  local errors, values, declared = {}, {}, {}
  for _, input in ipairs(spec.inputs or {}) do declared[input.key] = true end
  local unknown = {}
  for k in pairs(given) do
    if CHAT_ENVELOPE[k] and spec.layout == "chat" and not declared[k] then
      values[k] = given[k] -- the chat page's {messages, history}, passed as sent
    elseif not declared[k] then
      unknown[#unknown + 1] = tostring(k)
    end
  end
  table.sort(unknown)
  local fields = {}
  for _, k in ipairs(unknown) do
    errors[#errors + 1] = ("%s: unknown input"):format(out.quote(k))
    fields[k] = "unknown input"
  end
  for _, input in ipairs(spec.inputs or {}) do
    local v = given[input.key]
    if is_null(v) then v = nil end
    if v == nil and not is_null(input.default) then v = input.default end
    values[input.key] = v
  end
  for _, input in ipairs(spec.inputs or {}) do
    local v = values[input.key]
    if v == nil then
      if input.required ~= false and visible(input, values)
         and input.type ~= "checkbox" and input.type ~= "toggle" and input.type ~= "hidden" then
        errors[#errors + 1] = ("%s: required"):format(input.key)
        fields[input.key] = "required"
      end
    else
      local ok, err = check_value(input, v)
      if ok == nil then
        errors[#errors + 1] = ("%s: %s"):format(input.key, err)
        fields[input.key] = err
      else
        values[input.key] = ok
      end
    end
  end
  if #errors > 0 then return nil, errors, fields end
  return values
end

local TRUE_WORDS = { ["true"] = true, ["1"] = true, yes = true, on = true }
local FALSE_WORDS = { ["false"] = false, ["0"] = false, no = false, off = false }

-- Converts a command-line string to the input's type.
function M.coerce(spec, key, text)
  local input
  for _, i in ipairs(spec.inputs or {}) do
    if i.key == key then input = i end
  end
  if not input then return nil, ("%s: unknown input"):format(out.quote(key)) end
  if not utf8.len(text) then return nil, ("%s: the value is not valid UTF-8"):format(key) end
  local t = input.type
  if t == "number" or t == "slider" then
    local n = tonumber(text)
    if n == nil then return nil, ("%s: '%s' is not a number"):format(key, out.quote(text)) end
    if n ~= n or n == math.huge or n == -math.huge then
      return nil, ("%s: '%s' is not a finite number"):format(key, out.quote(text))
    end
    return math.tointeger(n) or n
  elseif t == "checkbox" or t == "toggle" then
    local w = text:lower()
    if TRUE_WORDS[w] then return true end
    if FALSE_WORDS[w] ~= nil then return false end
    return nil, ("%s: '%s' is not true or false"):format(key, out.quote(text))
  elseif t == "select" or t == "radio" then
    return option_values(input)[text] or text
  elseif t == "multiselect" or t == "tags" then
    if text:sub(1, 1) == "[" then
      local list, err = json.decode(text)
      if list == nil then return nil, ("%s: not valid JSON (%s)"):format(key, err) end
      return list
    end
    local list = json.array()
    for part in text:gmatch("[^,]+") do list[#list + 1] = part end
    if t == "multiselect" then
      local allowed = option_values(input)
      for i, v in ipairs(list) do
        if allowed[v] ~= nil then list[i] = allowed[v] end
      end
    end
    return list
  elseif STRING_TYPES[t] then
    return text
  end
  local v, err = json.decode(text)
  if v == nil then
    if t == "hidden" then return text end
    return nil, ("%s: not valid JSON (%s)"):format(key, err)
  end
  return v
end

local PNG_1X1 = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

-- Sample value for one input when it has no default (the original's table).
local function sample_for(input)
  local t = input.type
  if t == "checkbox" or t == "toggle" then return false end
  if t == "date" then return "2026-01-01" end
  if t == "time" then return "12:00" end
  if t == "datetime" then return "2026-01-01T12:00:00" end
  if t == "date_range" then return json.array({ "2026-01-01", "2026-01-08" }) end
  if t == "colour" then return "#000000" end
  if t == "json" then return {} end
  if t == "tags" or t == "multiselect" or t == "table" then return json.array() end
  if t == "hidden" then return json.null end
  if t == "number" or t == "slider" then
    local lo = not is_null(input.min) and input.min or nil
    local hi = not is_null(input.max) and input.max or nil
    local mid = (lo and hi) and (lo + hi) / 2 or lo or 0
    if math.type(lo or 0) == "integer" and math.type(hi or 0) == "integer" then
      mid = math.tointeger(math.floor(mid)) or mid
    end
    if t == "slider" and input.range then return json.array({ lo or 0, mid }) end
    return mid
  end
  if t == "select" or t == "radio" then
    return input.options and input.options[1] and input.options[1].value or ""
  end
  if t == "file" or t == "image" or t == "audio" then return PNG_1X1 end
  local centre = (type(input.default_center) == "table" and input.default_center)
                 or json.array({ 0, 0 })
  if t == "map_point" then return centre end
  if t == "map_bbox" then
    return json.array({ centre[1] - 0.01, centre[2] - 0.01, centre[1] + 0.01, centre[2] + 0.01 })
  end
  if t == "map_polygon" or t == "map_multipoint" then return json.array({ centre }) end
  return ""
end

function M.samples(spec)
  local values = {}
  for _, input in ipairs(spec.inputs or {}) do
    if not is_null(input.default) then
      values[input.key] = input.default
    else
      values[input.key] = sample_for(input)
    end
  end
  return values
end

return M
