-- The small YAML subset a tool's reference/tolerance.yaml uses (read the
-- way PyYAML's safe_load reads it, for these forms only; no dependency):
--   * block mappings nested by indentation (spaces; a tab is an error);
--   * block sequences of scalars or flow values (`- 1e-6`);
--   * flow mappings `{rtol: 1.0e-4, compare: rows_ordered}` and flow
--     sequences `[a, b]`, nested;
--   * scalars: null/~, booleans (true/false/yes/no/on/off, any case), integers,
--     floats (1.0e-6, 1e-6, .5), 'single' and "double" quoted strings
--     (\" \\ \n \t escapes), plain strings;
--   * comments (`#` at a line start or after a space), blank lines, `---`.
-- Anything else (anchors, tags, multi-line strings, `?` keys) is an error.
--
-- parse(text) -> value | nil, "line N: message". An empty document is {}.
local json = require("pixie.json")

local M = {}

local BOOLS = {
  ["true"] = true, yes = true, on = true, ["false"] = false, no = false, off = false,
}

-- The text of a line without its comment (a # outside quotes at the
-- start or after whitespace), right-trimmed.
local function strip_comment(line)
  local quote
  for i = 1, #line do
    local c = line:sub(i, i)
    if quote then
      if c == quote and (quote == "'" or line:sub(i - 1, i - 1) ~= "\\") then quote = nil end
    elseif c == "'" or c == '"' then
      quote = c
    elseif c == "#" and (i == 1 or line:sub(i - 1, i - 1):match("%s")) then
      return (line:sub(1, i - 1):gsub("%s+$", ""))
    end
  end
  return (line:gsub("%s+$", ""))
end

local ESCAPES = { n = "\n", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/", r = "\r", ["0"] = "\0" }

-- A plain (unquoted) scalar's value.
local function plain_scalar(s)
  local lower = s:lower()
  if s == "~" or lower == "null" or s == "" then return json.null end
  if BOOLS[lower] ~= nil then return BOOLS[lower] end
  if s:match("^[+-]?%d+$") then return math.tointeger(tonumber(s)) or tonumber(s) end
  if s:match("^[+-]?%d*%.?%d*$") and s:match("%d") then return tonumber(s) end
  if s:match("^[+-]?%d*%.?%d*[eE][+-]?%d+$") and s:match("^[+-]?%.?%d") then return tonumber(s) end
  if lower == ".inf" or lower == "+.inf" then return math.huge end
  if lower == "-.inf" then return -math.huge end
  if lower == ".nan" then return 0 / 0 end
  return s
end

-- A reader over one flow value (or scalar) in string s from position i.
-- Returns value, next position | nil, message.
local parse_flow

local function skip_space(s, i)
  return s:match("^%s*()", i)
end

local function quoted(s, i)
  local q = s:sub(i, i)
  local out, j = {}, i + 1
  while j <= #s do
    local c = s:sub(j, j)
    if c == q then
      if q == "'" and s:sub(j + 1, j + 1) == "'" then
        out[#out + 1] = "'"
        j = j + 2
      else
        return table.concat(out), j + 1
      end
    elseif c == "\\" and q == '"' then
      local e = ESCAPES[s:sub(j + 1, j + 1)]
      if not e then return nil, "unknown escape \\" .. s:sub(j + 1, j + 1) end
      out[#out + 1] = e
      j = j + 2
    else
      out[#out + 1] = c
      j = j + 1
    end
  end
  return nil, "unterminated quoted string"
end

-- A plain scalar inside a flow collection ends at , ] } (and : for keys).
local function flow_plain(s, i, stops)
  local j = i
  while j <= #s do
    local c = s:sub(j, j)
    if stops:find(c, 1, true) then
      if c ~= ":" or s:sub(j + 1, j + 1):match("^[%s,%]}]?$") then break end
    end
    j = j + 1
  end
  return s:sub(i, j - 1):match("^(.-)%s*$"), j
end

parse_flow = function(s, i, depth)
  if depth > 64 then return nil, "nested too deeply" end
  i = skip_space(s, i)
  local c = s:sub(i, i)
  if c == "'" or c == '"' then return quoted(s, i) end
  if c == "[" then
    local arr = json.array()
    i = skip_space(s, i + 1)
    if s:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      local v, j = parse_flow(s, i, depth + 1)
      if v == nil then return nil, j end
      arr[#arr + 1] = v
      j = skip_space(s, j)
      local sep = s:sub(j, j)
      if sep == "]" then return arr, j + 1 end
      if sep ~= "," then return nil, "expected , or ] in a flow sequence" end
      i = j + 1
    end
  end
  if c == "{" then
    local obj = {}
    i = skip_space(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      i = skip_space(s, i)
      local key, j
      if s:sub(i, i) == "'" or s:sub(i, i) == '"' then
        key, j = quoted(s, i)
        if key == nil then return nil, j end
      else
        key, j = flow_plain(s, i, ":,}")
      end
      j = skip_space(s, j)
      if s:sub(j, j) ~= ":" then return nil, "expected 'key: value' in a flow mapping" end
      local v, k = parse_flow(s, j + 1, depth + 1)
      if v == nil then return nil, k end
      obj[key] = v
      k = skip_space(s, k)
      local sep = s:sub(k, k)
      if sep == "}" then return obj, k + 1 end
      if sep ~= "," then return nil, "expected , or } in a flow mapping" end
      i = k + 1
    end
  end
  if c == "&" or c == "*" or c == "!" or c == "|" or c == ">" then
    return nil, ("'%s' (anchors, tags, block scalars) is not supported"):format(c)
  end
  local text, j = flow_plain(s, i, depth > 0 and ",]}" or "")
  return plain_scalar(text), j
end

-- One whole inline value (the rest of a line after `key:` or `- `).
local function inline_value(text)
  local v, j = parse_flow(text, 1, 0)
  if v == nil then return nil, j end
  if skip_space(text, j) <= #text then return nil, "unexpected text after the value" end
  return v
end

-- Splits `key: rest` (key plain or quoted); nil when the line is not one.
local function split_key(text)
  local first = text:sub(1, 1)
  if first == "'" or first == '"' then
    local key, j = quoted(text, 1)
    if key == nil then return nil end
    local rest = text:match("^%s*:%s*(.*)$", j)
    if rest == nil then return nil end
    return key, rest
  end
  local key, rest = text:match("^([^:]-)%s*:%s+(.*)$")
  if key == nil then key = text:match("^([^:]-)%s*:$"); rest = "" end
  if key == nil or key == "" then return nil end
  return key, rest
end

function M.parse(text)
  if type(text) ~= "string" then return nil, "line 1: not text" end
  local lines = {}
  local n = 0
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    raw = raw:gsub("\r$", "")
    local body = strip_comment(raw)
    if body:match("^%s*\t") or body:match("^ *\t") then
      return nil, ("line %d: a tab in the indentation (YAML indents with spaces)"):format(n)
    end
    if body:match("%S") and body ~= "---" and body ~= "..." then
      local indent = #body:match("^ *")
      lines[#lines + 1] = { n = n, indent = indent, text = body:sub(indent + 1) }
    end
  end
  if #lines == 0 then return {} end

  local pos = 1
  local block

  -- A block (mapping or sequence) whose lines are indented exactly `indent`.
  block = function(indent, depth)
    if depth > 64 then return nil, ("line %d: nested too deeply"):format(lines[pos].n) end
    local first = lines[pos]
    local is_seq = first.text == "-" or first.text:sub(1, 2) == "- "
    local result = is_seq and json.array() or {}
    while pos <= #lines do
      local line = lines[pos]
      if line.indent < indent then break end
      if line.indent > indent then
        return nil, ("line %d: unexpected indentation"):format(line.n)
      end
      local value, rest, key
      if is_seq then
        if not (line.text == "-" or line.text:sub(1, 2) == "- ") then
          return nil, ("line %d: expected a '- ' item"):format(line.n)
        end
        rest = line.text:sub(3):match("^%s*(.-)$")
      else
        key, rest = split_key(line.text)
        if key == nil then return nil, ("line %d: expected 'key: value'"):format(line.n) end
        if result[key] ~= nil then return nil, ("line %d: duplicate key '%s'"):format(line.n, key) end
      end
      pos = pos + 1
      if rest == "" then
        if pos <= #lines and lines[pos].indent > indent then
          local err
          value, err = block(lines[pos].indent, depth + 1)
          if value == nil then return nil, err end
        else
          value = json.null
        end
      else
        local err
        value, err = inline_value(rest)
        if value == nil then return nil, ("line %d: %s"):format(line.n, err) end
      end
      if is_seq then result[#result + 1] = value else result[key] = value end
    end
    return result
  end

  local value, err = block(lines[1].indent, 0)
  if value == nil then return nil, err end
  if pos <= #lines then return nil, ("line %d: unexpected indentation"):format(lines[pos].n) end
  return value
end

return M
