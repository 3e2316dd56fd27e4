-- A JSON-schema engine: checks decoded JSON documents against declarative
-- schemas written in Lua (its own small schema language, not the JSON
-- Schema standard), with every error reported at once as "path: message"
-- (0-based JSON paths such as `inputs[2].options[0].value`; the context's
-- root name, e.g. `tool.json`, stands for the document itself).
-- The engine of lua/pixie/toolspec.lua; the model itself lives there.
--
-- A schema is object_schema({field, ...}); a field is field(name, kind,
-- opts) with opts: required, nullable (JSON null = absent), default,
-- default_array (default is a fresh json.array()), and per kind:
--   string: nonempty, max (bytes), pattern (+ pattern_hint), refine(v) -> problem|nil
--   int: min, max          number: positive     enum: values (via enum())
--   array: item (a field)  object: schema       typed: by_type, fallback
--   any / json_object: free-form JSON, deep-copied   bool, scalar
-- More kinds: M.CHECK[kind] = function(ctx, field, value, path) -> value|nil.
-- Lenient where the original's pydantic models were (docs/tool-format.md,
-- "Lenient coercions"): int accepts a string of digits ("60"); number a
-- numeric string ("2.5"); bool 0/1 and pydantic's words ("true", "no",
-- "on", "1", ...). Each coercion is accepted with a warning naming the
-- field and the coercion (ctx.warnings; result() returns them third).
-- check_object never mutates its input and returns a new table whose keys
-- are ordered (json.ordered) as the schema lists them.
local json = require("pixie.json")

local M = {}

M.MAX_ERRORS = 100
M.MAX_DEPTH = 200 -- nesting of free-form values

local NULL = json.null
local ARRAY_MT = getmetatable(json.array())

---------------------------------------------------------------------------
-- Messages and paths

-- A user-provided string made safe and short for a message: control
-- bytes, quotes and backslashes escaped, cut at 40 bytes.
local function quote(s)
  s = tostring(s)
  local cut = #s > 40
  if cut then s = s:sub(1, 40) end
  s = s:gsub("[%c'\\\127]", function(c) return ("\\x%02x"):format(c:byte()) end)
  return "'" .. s .. (cut and "...'" or "'")
end

-- Memo of "is this key a plain name" (bounded: user keys can be many).
local plain_names, plain_count = {}, 0

local function is_plain(key)
  local known = plain_names[key]
  if known ~= nil then return known end
  local plain = #key <= 64 and key:match("^[A-Za-z_][A-Za-z0-9_]*$") ~= nil
  if plain_count < 4096 then
    plain_names[key] = plain
    plain_count = plain_count + 1
  end
  return plain
end

-- path + object key: `a.b` for plain names, `a["odd key"]` otherwise.
local function join(path, key)
  if type(key) == "string" and is_plain(key) then
    return path == "" and key or (path .. "." .. key)
  end
  local shown = quote(key):sub(2, -2):gsub('"', '\\"')
  return path .. '["' .. shown .. '"]'
end

-- path + array index i (1-based in Lua, shown 0-based): `a[0]`.
local function index(path, i)
  return path .. "[" .. (i - 1) .. "]"
end

-- "array", "object", "empty" (either) or "mixed" for a table.
local function shape(t)
  local n, max, strings = 0, 0, 0
  for k in next, t do -- next, not pairs: no __pairs of a caller's table runs
    n = n + 1
    if type(k) == "string" then
      strings = strings + 1
    elseif math.type(k) == "integer" and k >= 1 then
      if k > max then max = k end
    else
      return "mixed"
    end
  end
  if n == 0 then return "empty" end
  if strings == n then return "object" end
  if strings == 0 and max == n then return "array" end
  return "mixed"
end

-- What a value is, for "must be X, got Y" messages.
local function describe(v)
  if v == NULL then return "null" end
  local t = type(v)
  if t == "table" then
    local sh = shape(v)
    if sh == "array" then return "an array" end
    if sh == "object" then return "an object" end
    if sh == "empty" then return "an empty array/object" end
    return "a table with mixed keys"
  end
  if t == "string" or t == "number" or t == "boolean" then return "a " .. t end
  return "a Lua " .. t .. " (not a JSON value)"
end

-- A fresh error collector; root names the whole document in messages.
-- Callers may store their own fields in it.
local function new_ctx(root)
  return { errors = {}, count = 0, warnings = {}, root = root or "document" }
end

-- Records warning `path: msg` (capped like errors, without the count).
local function warn(ctx, path, msg)
  if #ctx.warnings < M.MAX_ERRORS then
    ctx.warnings[#ctx.warnings + 1] = (path ~= "" and path or ctx.root) .. ": " .. msg
  end
end

-- The warning of an accepted coercion of `from` (a JSON value) to `to`.
local function coerced(ctx, path, from, to_text, what)
  local shown = type(from) == "string" and ('the string "%s"'):format(quote(from):sub(2, -2))
    or ("the number %s"):format(("%.17g"):format(from))
  warn(ctx, path, ("%s was read as %s %s (the original Pixie coerced it; write %s)")
    :format(shown, what, to_text, to_text))
end

-- Records error `path: msg` (path "" = the document); only the first
-- M.MAX_ERRORS are kept, the rest counted.
local function add(ctx, path, msg)
  ctx.count = ctx.count + 1
  if #ctx.errors < M.MAX_ERRORS then
    ctx.errors[#ctx.errors + 1] = (path ~= "" and path or ctx.root) .. ": " .. msg
  end
end

-- Adds "must be <want>, got <what v is>" and returns nil.
local function bad(ctx, path, want, v)
  add(ctx, path, ("must be %s, got %s"):format(want, describe(v)))
  return nil
end

-- True for a number that is neither NaN nor infinite.
local function finite(x)
  return x == x and x ~= math.huge and x ~= -math.huge
end

-- cjson decodes every number as a float: integral values become integers.
local function norm_number(x)
  if math.type(x) == "float" and x == math.floor(x) and math.abs(x) < 2 ^ 53 then
    return math.tointeger(x)
  end
  return x
end

---------------------------------------------------------------------------
-- Field kinds. Each checker is check(ctx, field, value, path) -> normalised
-- value, or nil after adding an error. `value` is never nil or (for a
-- nullable field) null: check_object handles absence and defaults.

local CHECK = {}

local function check_value(ctx, f, v, path)
  return CHECK[f.kind](ctx, f, v, path)
end

function CHECK.string(ctx, f, v, path)
  if type(v) ~= "string" then return bad(ctx, path, "a string", v) end
  if f.nonempty and v == "" then
    add(ctx, path, "must not be empty")
    return nil
  end
  if f.max and #v > f.max then
    add(ctx, path, ("must be at most %d bytes long (got %d)"):format(f.max, #v))
    return nil
  end
  if f.pattern and not v:match(f.pattern) then
    add(ctx, path, ("%s does not match %s%s"):format(quote(v), f.pattern, f.pattern_hint or ""))
    return nil
  end
  local problem = f.refine and f.refine(v)
  if problem then
    add(ctx, path, problem)
    return nil
  end
  return v
end

-- pydantic's lax booleans: these strings (any case) and the numbers 0, 1.
local BOOL_WORDS = {
  ["0"] = false, off = false, f = false, ["false"] = false, n = false, no = false,
  ["1"] = true, on = true, t = true, ["true"] = true, y = true, yes = true,
}

function CHECK.bool(ctx, _, v, path)
  if type(v) == "boolean" then return v end
  local b
  if type(v) == "string" then
    b = BOOL_WORDS[v:lower()]
  elseif type(v) == "number" and (v == 0 or v == 1) then
    b = v == 1
  end
  if b == nil then
    return bad(ctx, path, "a boolean (true or false; the original also took 0, 1, \"true\", \"no\", ...)", v)
  end
  coerced(ctx, path, v, tostring(b), "the boolean")
  return b
end

-- A numeric string as pydantic's lax int/float read it (surrounding
-- spaces allowed; decimal only, no hex, no inf/nan); nil otherwise.
local function numeric_string(v, integer)
  local s = v:match("^%s*(.-)%s*$")
  local ok
  if integer then
    ok = s:match("^[+-]?%d+$") ~= nil
  else
    local mantissa = s:match("^([+-]?%d*%.?%d*)$") or s:match("^([+-]?%d*%.?%d*)[eE][+-]?%d+$")
    ok = mantissa ~= nil and mantissa:find("%d") ~= nil
  end
  if not ok then return nil end
  local x = integer and math.tointeger(tonumber(s)) or tonumber(s)
  if x == nil or not finite(x) then return nil end
  return x
end

-- Adds the range error for a number outside [f.min, f.max]; true if inside.
local function in_range(ctx, f, x, path, what)
  if (f.min and x < f.min) or (f.max and x > f.max) then
    if f.min and f.max then
      add(ctx, path, ("must be %s between %s and %s"):format(what, f.min, f.max))
    elseif f.min then
      add(ctx, path, ("must be %s >= %s"):format(what, f.min))
    else
      add(ctx, path, ("must be %s <= %s"):format(what, f.max))
    end
    return false
  end
  return true
end

function CHECK.int(ctx, f, v, path)
  if type(v) == "string" then
    local x = numeric_string(v, true)
    if x == nil then return bad(ctx, path, "an integer", v) end
    coerced(ctx, path, v, tostring(x), "the integer")
    v = x
  end
  if type(v) ~= "number" then return bad(ctx, path, "an integer", v) end
  local i = finite(v) and math.tointeger(v)
  if not i then
    add(ctx, path, ("must be an integer, got %s"):format(("%.17g"):format(v)))
    return nil
  end
  if not in_range(ctx, f, i, path, "an integer") then return nil end
  return i
end

function CHECK.number(ctx, f, v, path)
  if type(v) == "string" then
    local x = numeric_string(v, false)
    if x == nil then return bad(ctx, path, "a number", v) end
    coerced(ctx, path, v, ("%.17g"):format(x), "the number")
    v = x
  end
  if type(v) ~= "number" then return bad(ctx, path, "a number", v) end
  if not finite(v) then
    add(ctx, path, "must be a finite number")
    return nil
  end
  if f.positive and v <= 0 then
    add(ctx, path, "must be greater than 0")
    return nil
  end
  return norm_number(v)
end

function CHECK.enum(ctx, f, v, path)
  if type(v) ~= "string" then return bad(ctx, path, "a string", v) end
  if not f.set[v] then
    add(ctx, path, ("unknown %s %s (known: %s)"):format(f.what or "value", quote(v),
      table.concat(f.values, ", ")))
    return nil
  end
  return v
end

-- Deep copy of a free-form JSON value; nil after an error. `stack` holds
-- the tables being copied (a Lua caller may pass a cycle).
local function copy_json(ctx, v, path, depth, stack)
  local t = type(v)
  if v == NULL or t == "string" or t == "boolean" then return v end
  if t == "number" then
    if not finite(v) then
      add(ctx, path, "must be a finite number")
      return nil
    end
    return norm_number(v)
  end
  if t ~= "table" then return bad(ctx, path, "a JSON value", v) end
  if depth > M.MAX_DEPTH then
    add(ctx, path, ("is nested deeper than %d levels"):format(M.MAX_DEPTH))
    return nil
  end
  if stack[v] then
    add(ctx, path, "contains itself")
    return nil
  end
  local sh = shape(v)
  if sh == "mixed" then return bad(ctx, path, "a JSON array or object", v) end
  stack[v] = true
  local out, ok = {}, true
  if sh == "array" or (sh == "empty" and getmetatable(v) == ARRAY_MT) then
    out = json.array()
    for i = 1, rawlen(v) do
      local x = copy_json(ctx, rawget(v, i), index(path, i), depth + 1, stack)
      if x == nil then ok = false end
      out[i] = x
    end
  else
    for k, x in next, v do
      local c = copy_json(ctx, x, join(path, k), depth + 1, stack)
      if c == nil then ok = false end
      out[k] = c
    end
  end
  stack[v] = nil
  return ok and out or nil
end

function CHECK.any(ctx, _, v, path)
  return copy_json(ctx, v, path, 1, {})
end

-- A free-form JSON object (e.g. the json input's `schema`).
function CHECK.json_object(ctx, _, v, path)
  local sh = type(v) == "table" and shape(v)
  if sh ~= "object" and sh ~= "empty" then return bad(ctx, path, "an object", v) end
  return copy_json(ctx, v, path, 1, {})
end

-- An option value: string, number or boolean.
function CHECK.scalar(ctx, _, v, path)
  local t = type(v)
  if t == "string" or t == "boolean" then return v end
  if t == "number" and finite(v) then return norm_number(v) end
  return bad(ctx, path, "a string, a finite number or a boolean", v)
end

function CHECK.array(ctx, f, v, path)
  local sh = type(v) == "table" and shape(v)
  if sh ~= "array" and sh ~= "empty" then return bad(ctx, path, "an array", v) end
  local out = json.array()
  for i = 1, rawlen(v) do
    local x = check_value(ctx, f.item, rawget(v, i), index(path, i))
    if x == nil then x = false end -- keeps the indexes; the spec is dropped anyway
    out[i] = x
  end
  return out
end

-- Checks object v against schema s (see object_schema); returns the
-- normalised table, possibly partial when errors were added (callers only
-- hand it out when there were none), or nil when v is not an object.
local function check_object(ctx, s, v, path)
  local sh = type(v) == "table" and shape(v)
  if sh ~= "object" and sh ~= "empty" then return bad(ctx, path, "an object", v) end
  local out = {}
  for _, f in ipairs(s.fields) do
    local x = rawget(v, f.name)
    if x == nil or (x == NULL and f.nullable) then
      if f.required then
        add(ctx, join(path, f.name), "is required")
      elseif f.default_array then
        out[f.name] = json.array()
      else
        out[f.name] = f.default
      end
    else
      out[f.name] = check_value(ctx, f, x, join(path, f.name))
    end
  end
  local unknown
  for k in next, v do
    if not s.known[k] then
      unknown = unknown or {}
      unknown[#unknown + 1] = k
    end
  end
  if unknown then table.sort(unknown) end
  for _, k in ipairs(unknown or {}) do
    if not (s.on_unknown and s.on_unknown(ctx, k, join(path, k))) then
      local hint = ""
      local lower = k:lower()
      if s.known[lower] then hint = (" (did you mean '%s'?)"):format(lower) end
      add(ctx, join(path, k), "unknown field" .. hint)
    end
  end
  if s.finish then s.finish(out) end
  return json.ordered(out, s.order)
end

function CHECK.object(ctx, f, v, path)
  return check_object(ctx, f.schema, v, path)
end

-- A typed entry (input or output): the schema is chosen by `type`; an
-- absent or unknown type checks the base fields only and reports as
-- unknown only keys that no type knows.
function CHECK.typed(ctx, f, v, path)
  local s = type(v) == "table" and rawget(f.by_type, rawget(v, "type") or false)
  return check_object(ctx, s or f.fallback, v, path)
end

---------------------------------------------------------------------------
-- Field and schema constructors (each returns the opts table, completed)

local function field(name, kind, opts)
  local f = opts or {}
  f.name, f.kind = name, kind
  return f
end

local function req_str(name, opts)
  opts = opts or {}
  opts.required = true
  return field(name, "string", opts)
end

local function opt_str(name)
  return field(name, "string", { nullable = true })
end

local function bool(name, default)
  return field(name, "bool", { default = default })
end

local function enum(name, values, opts)
  opts = opts or {}
  opts.values, opts.set = values, {}
  for _, v in ipairs(values) do opts.set[v] = true end
  return field(name, "enum", opts)
end

local function array_of(name, item, opts)
  opts = opts or {}
  opts.item = item
  return field(name, "array", opts)
end

-- Builds a schema from an ordered field list (plus `extra` fields);
-- on_unknown(ctx, key, path) may claim an unknown key (returns true).
local function object_schema(fields, extra, on_unknown)
  local s = { fields = {}, known = {}, order = {}, on_unknown = on_unknown }
  for _, list in ipairs({ fields, extra or {} }) do
    for _, f in ipairs(list) do
      s.fields[#s.fields + 1] = f
      s.known[f.name] = true
      s.order[#s.order + 1] = f.name
    end
  end
  return s
end

-- Returns value, nil, warnings, or nil, the error array (with an "N more
-- errors" line when more than M.MAX_ERRORS were found), warnings, as
-- parse/validate functions do. warnings: array of "path: message".
local function result(ctx, value)
  if ctx.count > #ctx.errors then
    ctx.errors[#ctx.errors + 1] = ("%s: %d more errors not shown"):format(ctx.root, ctx.count - #ctx.errors)
  end
  if ctx.count > 0 then return nil, ctx.errors, ctx.warnings end
  return value, nil, ctx.warnings
end

M.CHECK = CHECK
M.quote, M.join, M.index, M.shape, M.describe = quote, join, index, shape, describe
M.new_ctx, M.add, M.bad, M.result, M.warn = new_ctx, add, bad, result, warn
M.finite, M.norm_number = finite, norm_number
M.check_value, M.check_object = check_value, check_object
M.field, M.req_str, M.opt_str, M.bool, M.enum, M.array_of = field, req_str, opt_str, bool, enum, array_of
M.object_schema = object_schema

return M
