-- The tool.json model (SPEC §2, reference/pixie-original.md §1), strict:
-- every field of every level is declared here once, as data; an unknown key,
-- a wrong type, a missing required field or an unknown input/output `type`
-- is an error naming its JSON path (0-based indexes), e.g.
--   inputs[2].colour_mode: unknown field
--   secrets[0].label: tool 'x': secrets use "description", not "label" — …
-- Every problem is reported at once (capped at M.MAX_ERRORS lines plus one
-- "N more errors" line). docs/tool-format.md is the user-facing reference.
--
-- parse(text, tool) -> spec, nil, warnings | nil, errors, warnings
--   text: the bytes of tool.json; tool: name used in messages (folder name)
-- validate(value, tool) -> the same, for an already decoded table
--   warnings: array of "path: message", one per lenient coercion the
--   original's pydantic models made too ("60" read as 60, "false" as
--   false: see jsonschema.lua and docs/tool-format.md); empty when none.
--   spec: a NEW normalised table (the input is never mutated): every default
--   filled at every level, JSON null of a string|null field becomes nil
--   (absent), integral numbers become Lua integers, arrays are json.array()
--   and objects json.ordered() in the order of this file, so json.encode
--   gives a stable, readable document.
--   errors: array of "path: message" strings (non-empty).
-- coherence(spec) -> errors (array, empty when coherent): the cross-field
--   checks of the validator's "schema coherent" step (SPEC §4.4): unique
--   input / output / secret keys, show_if naming another existing input,
--   unique option values and column keys, min <= max. validate() reports
--   these too, so a tool that fails them is listed as broken.
-- Neither parse nor validate ever raises, whatever they are given.
local json = require("pixie.json")
local schema = require("pixie.jsonschema")

local M = {}

M.ID_PATTERN = "^[a-z][a-z0-9-]*$"
M.ID_MAX = 64
M.SECRET_KEY_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
M.MAX_ERRORS = schema.MAX_ERRORS

M.INPUT_TYPES = {
  "text", "textarea", "number", "slider", "select", "multiselect", "checkbox",
  "toggle", "radio", "date", "time", "datetime", "date_range", "file", "image",
  "audio", "colour", "json", "code", "markdown", "tags", "autocomplete",
  "table", "map_point", "map_bbox", "map_polygon", "map_multipoint", "hidden",
}

M.OUTPUT_TYPES = {
  "text", "markdown", "number", "boolean", "table", "kv", "chart_line",
  "chart_bar", "chart_scatter", "chart_area", "chart_pie", "chart_histogram",
  "chart_boxplot", "chart_heatmap", "chart_candlestick", "chart_radar",
  "chart_sankey", "chart_treemap", "chart_network", "map_points",
  "map_heatmap", "map_choropleth", "map_polygons", "map_route", "image",
  "image_grid", "image_compare", "audio", "video", "latex", "code", "diff",
  "tree", "timeline", "gantt", "progress", "log", "stream_text", "file",
}

local BOM = "\239\187\191"

-- True when key is a valid secret (environment variable) name.
function M.secret_key_valid(key)
  return type(key) == "string" and #key <= 128 and key:match(M.SECRET_KEY_PATTERN) ~= nil
end

-- True when id is a valid tool id (pattern and length).
function M.id_valid(id)
  return type(id) == "string" and #id <= M.ID_MAX and id:match(M.ID_PATTERN) ~= nil
end

local CHECK = schema.CHECK
local quote, join, index, shape, describe = schema.quote, schema.join, schema.index, schema.shape, schema.describe
local add, bad, finite, norm_number = schema.add, schema.bad, schema.finite, schema.norm_number
local field, req_str, opt_str, bool = schema.field, schema.req_str, schema.opt_str, schema.bool
local enum, array_of, object_schema = schema.enum, schema.array_of, schema.object_schema
local check_object = schema.check_object

-- An error collector carrying the tool name used in messages.
local function new_ctx(tool)
  local ctx = schema.new_ctx("tool.json")
  ctx.tool = tool
  return ctx
end

---------------------------------------------------------------------------
-- The model, as data.

-- File `accept`: one string (".csv,.txt" or "image/*") or an array of them.
function CHECK.accept(ctx, _, v, path)
  if type(v) == "string" then return v end
  local sh = type(v) == "table" and shape(v)
  if sh ~= "array" and sh ~= "empty" then
    return bad(ctx, path, "a string or an array of strings", v)
  end
  local out = json.array()
  for i = 1, rawlen(v) do
    local x = rawget(v, i)
    if type(x) ~= "string" then
      bad(ctx, index(path, i), "a string", x)
      out[i] = false
    else
      out[i] = x
    end
  end
  return out
end

-- A map centre: [latitude, longitude].
function CHECK.point(ctx, _, v, path)
  if type(v) ~= "table" or shape(v) ~= "array" or rawlen(v) ~= 2 then
    return bad(ctx, path, "an array of two numbers [latitude, longitude]", v)
  end
  local lat, lon = rawget(v, 1), rawget(v, 2)
  if type(lat) ~= "number" or type(lon) ~= "number"
      or not finite(lat) or not finite(lon) then
    return bad(ctx, path, "an array of two numbers [latitude, longitude]", v)
  end
  if lat < -90 or lat > 90 or lon < -180 or lon > 180 then
    add(ctx, path, "latitude must be within [-90, 90] and longitude within [-180, 180]")
    return nil
  end
  return json.array({ norm_number(lat), norm_number(lon) })
end

local function key_field()
  return req_str("key", { nonempty = true, max = 128 })
end

local OPTION = object_schema({
  field("value", "scalar", { required = true }),
  req_str("label"),
})

local COLUMN = object_schema({
  req_str("key", { nonempty = true, max = 128 }),
  req_str("label"),
  field("type", "string", { default = "text", nonempty = true }),
})

local SHOW_IF = object_schema({
  req_str("key", { nonempty = true }),
  field("equals", "any", { required = true }),
})

local function options() return array_of("options", field("", "object", { schema = OPTION }), { required = true }) end
local function opt_int(name, min) return field(name, "int", { nullable = true, min = min }) end
local function opt_num(name, positive) return field(name, "number", { nullable = true, positive = positive }) end
local function map_fields()
  return { field("default_center", "point", { nullable = true }), opt_num("default_zoom") }
end
local function columns(required)
  return array_of("columns", field("", "object", { schema = COLUMN }),
    { required = required, nullable = not required })
end

local INPUT_EXTRA = {
  text = { opt_str("placeholder"), opt_int("max_length", 0) },
  textarea = { opt_str("placeholder"), opt_int("max_length", 0), bool("monospace", false) },
  number = { opt_num("min"), opt_num("max"), opt_num("step", true), opt_str("unit") },
  slider = { field("min", "number", { required = true }), field("max", "number", { required = true }),
             opt_num("step", true), bool("range", false) },
  select = { options(), bool("searchable", false) },
  multiselect = { options() },
  radio = { options() },
  date = { opt_str("min"), opt_str("max") },
  file = { field("accept", "accept", { nullable = true }), opt_num("max_size_mb", true),
           bool("multiple", false) },
  image = { opt_num("max_size_mb", true), bool("multiple", false) },
  audio = { opt_num("max_size_mb", true) },
  json = { field("schema", "json_object", { nullable = true }) },
  code = { opt_str("language") },
  tags = { array_of("suggestions", field("", "string"), { default_array = true }) },
  autocomplete = { req_str("endpoint", { nonempty = true }) },
  table = { columns(true), opt_int("min_rows", 0), opt_int("max_rows", 0) },
  map_point = map_fields(),
  map_bbox = map_fields(),
  map_polygon = map_fields(),
  map_multipoint = map_fields(),
}

local OUTPUT_EXTRA = {
  number = { enum("format", { "decimal", "currency", "percent", "scientific" },
                  { default = "decimal", what = "number format" }),
             opt_int("precision", 0) },
  boolean = { opt_str("true_label"), opt_str("false_label") },
  table = { columns(false), bool("downloadable", false) },
  chart_line = { opt_str("x_label"), opt_str("y_label"), bool("log_x", false), bool("log_y", false) },
  chart_area = { opt_str("x_label"), opt_str("y_label"), bool("log_x", false), bool("log_y", false) },
  map_points = map_fields(),
  code = { opt_str("language") },
}

local function input_base()
  return {
    key_field(),
    enum("type", M.INPUT_TYPES, { required = true, what = "input type" }),
    req_str("label"),
    opt_str("description"),
    field("default", "any", { nullable = true }),
    bool("required", true),
    opt_str("group"),
    field("show_if", "object", { schema = SHOW_IF, nullable = true }),
  }
end

local function output_base()
  return {
    key_field(),
    enum("type", M.OUTPUT_TYPES, { required = true, what = "output type" }),
    req_str("label"),
    opt_str("description"),
    opt_str("caption"),
    opt_str("unit"),
    bool("streaming", false),
    enum("layout", { "panel", "tab", "inline" }, { default = "panel", what = "output layout" }),
    opt_str("default_export_format"),
    array_of("supported_export_formats", field("", "string"), { nullable = true }),
  }
end

-- Input types whose value is an array (SPEC §4.4 sample values).
local ARRAY_VALUED = {
  multiselect = true, tags = true, table = true, date_range = true, map_point = true,
  map_bbox = true, map_polygon = true, map_multipoint = true,
}

-- JSON [] and {} decode to the same empty table: an empty `default` is
-- an array for array-valued input types, so it is sent to the tool as [].
local function fix_empty_default(input)
  local d = input.default
  if type(d) == "table" and next(d) == nil and (ARRAY_VALUED[input.type]
      or input.multiple == true or input.range == true) then
    input.default = json.array()
  end
end

-- The typed field for inputs or outputs: one schema per type, plus a
-- fallback for an absent/unknown type that knows the union of all fields.
-- finish(out), if given, adjusts each normalised entry.
local function typed(types, base, extra, finish)
  local f = field("", "typed", { by_type = {} })
  local union, seen = {}, {}
  for _, ty in ipairs(types) do
    f.by_type[ty] = object_schema(base(), extra[ty])
    f.by_type[ty].finish = finish
    for _, x in ipairs(extra[ty] or {}) do
      if not seen[x.name] then
        seen[x.name] = true
        union[#union + 1] = x
      end
    end
  end
  f.fallback = object_schema(base())
  for _, x in ipairs(union) do f.fallback.known[x.name] = true end
  return f
end

-- secrets[i].label: the historic field, with the migration hint.
local function secret_label(ctx, key, path)
  if key ~= "label" then return false end
  add(ctx, path, ('tool %s: secrets use "description", not "label" — run `pixie run-skill migrate-tool-format %s`')
    :format(quote(ctx.tool), quote(ctx.tool):sub(2, -2)))
  return true
end

local SECRET = object_schema({
  req_str("key", { max = 128, pattern = M.SECRET_KEY_PATTERN,
                   pattern_hint = " (a letter or _, then letters, digits or _)" }),
  field("description", "string", { nullable = true, default = "" }),
  bool("required", false),
}, nil, secret_label)

-- entrypoint builds a file path: relative, inside the tool folder.
local function entrypoint_problem(s)
  if s:sub(1, 1) == "/" then return "must be a relative path inside the tool folder, not absolute" end
  if s:find("[%c\\]") then return "must not contain control characters or backslashes" end
  if s:sub(-1) == "/" then return "must name a file, not a folder" end
  for part in (s .. "/"):gmatch("([^/]*)/") do
    if part == ".." then return "must not contain '..'" end
  end
  return nil
end

local WEEK = 7 * 24 * 3600

local TOP = object_schema({
  req_str("id", { max = M.ID_MAX, pattern = M.ID_PATTERN,
                  pattern_hint = " (a lowercase letter, then lowercase letters, digits or '-')" }),
  req_str("name", { nonempty = true, max = 200 }),
  opt_str("description"),
  opt_str("version"),
  opt_str("category"),
  opt_str("icon"),
  enum("layout", { "form", "chat", "split" }, { default = "form", what = "layout" }),
  array_of("inputs", typed(M.INPUT_TYPES, input_base, INPUT_EXTRA, fix_empty_default), { required = true }),
  array_of("outputs", typed(M.OUTPUT_TYPES, output_base, OUTPUT_EXTRA), { required = true }),
  array_of("secrets", field("", "object", { schema = SECRET }), { default_array = true }),
  field("warm_keep_seconds", "int", { default = 300, min = 0, max = WEEK }),
  field("max_memory_mb", "int", { default = 512, min = 0, max = 1024 * 1024 }),
  field("max_runtime_seconds", "int", { default = 60, min = 1, max = WEEK }),
  field("schema_version", "string", { default = "1.0", nonempty = true, max = 32 }),
  bool("concurrent", true),
  field("validator_timeout_override", "int", { nullable = true, min = 1, max = WEEK }),
  bool("requires_data_persistence", false),
  enum("input_transport", { "json", "multipart" }, { default = "json", what = "input transport" }),
  bool("provides_file_endpoint", false),
  bool("provides_autocomplete", false),
  field("retain_runs", "int", { default = 100, min = 1, max = 1000000 }),
  array_of("tags", field("", "string"), { default_array = true }),
  bool("archived", false),
  bool("pinned_warm", false),
  field("entrypoint", "string", { default = "main.py", nonempty = true, max = 255,
                                  refine = entrypoint_problem }),
  opt_str("package"),
  opt_str("workspace_default"),
})

---------------------------------------------------------------------------
-- Coherence (cross-field checks)

local function entries(list)
  return type(list) == "table" and list or {}
end

-- Reports every entry of list whose `key` repeats an earlier one.
local function unique_keys(ctx, list, path, what)
  local first = {}
  for i, e in ipairs(entries(list)) do
    local k = type(e) == "table" and e.key
    if type(k) == "string" then
      if first[k] then
        add(ctx, join(index(path, i), "key"),
          ("duplicate %s key %s (also %s)"):format(what, quote(k), index(path, first[k])))
      else
        first[k] = i
      end
    end
  end
  return first
end

local function min_max(ctx, e, path, lo, hi)
  local a, b = e[lo], e[hi]
  if type(a) == "number" and type(b) == "number" and a > b then
    add(ctx, join(path, lo), ("must not be greater than %s"):format(hi))
  end
end

local function check_input_coherence(ctx, e, path, keys)
  local cond = e.show_if
  if type(cond) == "table" and type(cond.key) == "string" then
    if cond.key == e.key then
      add(ctx, join(join(path, "show_if"), "key"), "must name another input, not the input itself")
    elseif not keys[cond.key] then
      add(ctx, join(join(path, "show_if"), "key"), ("no input has key %s"):format(quote(cond.key)))
    end
  end
  local seen = {}
  for j, o in ipairs(entries(e.options)) do
    local v = type(o) == "table" and o.value
    if type(o) == "table" and v ~= nil then
      if seen[v] then
        add(ctx, join(index(join(path, "options"), j), "value"), "duplicate option value")
      end
      seen[v] = true
    end
  end
  unique_keys(ctx, e.columns, join(path, "columns"), "column")
  if e.type == "number" or e.type == "slider" then min_max(ctx, e, path, "min", "max") end
  if e.type == "table" then min_max(ctx, e, path, "min_rows", "max_rows") end
end

-- Cross-field checks over a (possibly partial) normalised spec.
local function coherence(ctx, spec)
  local keys = unique_keys(ctx, spec.inputs, "inputs", "input")
  for i, e in ipairs(entries(spec.inputs)) do
    if type(e) == "table" then check_input_coherence(ctx, e, index("inputs", i), keys) end
  end
  unique_keys(ctx, spec.outputs, "outputs", "output")
  for i, e in ipairs(entries(spec.outputs)) do
    if type(e) == "table" then
      unique_keys(ctx, e.columns, join(index("outputs", i), "columns"), "column")
    end
  end
  unique_keys(ctx, spec.secrets, "secrets", "secret")
end

function M.coherence(spec)
  local ctx = new_ctx("?")
  if type(spec) == "table" then coherence(ctx, spec) end
  return ctx.errors
end

---------------------------------------------------------------------------
-- Entry points

-- The name shown in messages: the folder name, else the id, else "?".
local function tool_name(tool, value)
  if type(tool) == "string" and tool ~= "" then return tool end
  if type(value) == "table" and M.id_valid(rawget(value, "id")) then return value.id end
  return "?"
end

local function validate_into(ctx, value)
  local sh = type(value) == "table" and shape(value)
  if sh ~= "object" and sh ~= "empty" then
    add(ctx, "", ("must be a JSON object, got %s"):format(describe(value)))
    return nil
  end
  local spec = check_object(ctx, TOP, value, "")
  coherence(ctx, spec)
  return spec
end

-- Runs fn(ctx) under pcall: a bug here must not take Pixie down; it is
-- reported as an error line (the fuzz target treats it as a failure).
local function guarded(ctx, fn, ...)
  local ok, result = pcall(fn, ctx, ...)
  if not ok then
    add(ctx, "", "internal error while checking (please report): " .. tostring(result))
    return nil
  end
  return result
end

function M.validate(value, tool)
  local ctx = new_ctx(tool_name(tool, value))
  local spec = guarded(ctx, validate_into, value)
  return schema.result(ctx, spec)
end

local function parse_into(ctx, text)
  if type(text) ~= "string" then
    add(ctx, "", ("must be text, got %s"):format(describe(text)))
    return nil
  end
  if text:sub(1, 3) == BOM then
    add(ctx, "", "starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM "
      .. "(Python's json module refuses it, so the tool could not read its own tool.json)")
    text = text:sub(4)
  end
  local ulen, bad_at = utf8.len(text)
  if not ulen then
    add(ctx, "", ("is not valid UTF-8 (bad byte at offset %d)"):format(bad_at - 1))
  end
  if text:match("^%s*$") then
    add(ctx, "", "is empty")
    return nil
  end
  local value, err = json.decode(text, { integers = false }) -- the schema engine normalises numbers
  if value == nil then
    add(ctx, "", "is not valid JSON: " .. tostring(err))
    return nil
  end
  if text:match("^%s*%[") then -- [] decodes to the same empty table as {}
    add(ctx, "", "must be a JSON object, got an array")
    return nil
  end
  ctx.tool = tool_name(ctx.tool ~= "?" and ctx.tool or nil, value)
  return validate_into(ctx, value)
end

function M.parse(text, tool)
  local ctx = new_ctx(type(tool) == "string" and tool ~= "" and tool or "?")
  local spec = guarded(ctx, parse_into, text)
  return schema.result(ctx, spec)
end

return M
