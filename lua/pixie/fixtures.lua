-- Reference fixtures (the validator's `reference_fixtures_match` check, the
-- original's check 12): tools/<id>/reference/fixture_*.json, each
--   {name, source?, inputs, expected_outputs, tolerance? {key: {...}},
--    skip_reason?, tags?, validator_timeout_override?}
-- and an optional reference/tolerance.yaml
--   {defaults: {<output type>: {...}}, overrides: {<output key>: {...}},
--    options: {on_extra_output_key, on_missing_expected_key, truncate_diff_chars}}.
-- The tolerance of an output is layered, later wins, shallowly:
-- built-in default of its type < tolerance.yaml defaults[type] <
-- tolerance.yaml overrides[key] < the fixture's tolerance[key].
-- docs/tool-format.md ("Reference fixtures") is the user-facing text.
--
-- load(dir, spec) -> fixtures, errors      (sorted by file name)
-- tolerance(dir) -> config, errors          (config always usable)
-- compare_outputs(fixture, outputs, spec, config) -> diffs (array, empty = match)
-- compare(key, type, expected, actual, tol) -> diff | nil
--   diff = {output_key, output_type, comparator, expected, actual, metric, path}
-- describe(diff, limit) -> one line for a report
local fs = require("pixie.fs")
local json = require("pixie.json")
local yaml = require("pixie.yaml_subset")
local bytes = require("pixie.fixture_bytes")
local shapes = require("pixie.fixture_shapes")
local errno = require("pixie.sys").errno

local M = {}

M.FILE_LIMIT = 4 * 1024 * 1024
M.TRUNCATE = 400

local NULL = json.null
local RTOL, ATOL = 1.0e-6, 1.0e-9

local function num_tol(compare, extra)
  local t = { compare = compare, float_rtol = RTOL, float_atol = ATOL }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

-- Built-in tolerance by output type (the original's defaults).
M.BUILTIN = {
  number = { compare = "numeric_isclose", rtol = RTOL, atol = ATOL },
  boolean = { compare = "exact" },
  text = { compare = "exact" },
  markdown = { compare = "exact_after_normalize_whitespace" },
  code = { compare = "exact" },
  latex = { compare = "exact_after_normalize_whitespace" },
  stream_text = { compare = "exact" },
  diff = { compare = "exact" },
  kv = num_tol("dict_per_value", { allow_extra = false }),
  table = num_tol("rows_unordered"),
  tree = { compare = "structural", children_order = "unordered" },
  chart_line = num_tol("data_only", { series_match = "by_name" }),
  chart_bar = num_tol("data_only", { series_match = "by_name" }),
  chart_area = num_tol("data_only", { series_match = "by_name" }),
  chart_scatter = num_tol("data_only", { series_match = "by_name" }),
  chart_pie = num_tol("slices_unordered"),
  chart_histogram = num_tol("values_unordered"),
  chart_boxplot = num_tol("series_summary"),
  chart_heatmap = num_tol("matrix_elementwise"),
  chart_candlestick = num_tol("rows_ordered"),
  chart_radar = num_tol("data_only"),
  chart_sankey = num_tol("graph_set"),
  chart_treemap = num_tol("tree_set"),
  chart_network = num_tol("graph_set"),
  map_points = num_tol("set_equal_after_round_coords_4dp", { round_digits = 4 }),
  map_heatmap = num_tol("set_equal_after_round_coords_4dp", { round_digits = 4 }),
  map_choropleth = num_tol("keyed_values"),
  map_polygons = num_tol("set_equal_after_round_coords_4dp", { round_digits = 4 }),
  map_route = num_tol("ordered_after_round_coords_4dp", { round_digits = 4 }),
  image = { compare = "ssim", min_ssim = 0.95 },
  image_grid = { compare = "ssim_per_image", min_ssim = 0.95 },
  image_compare = { compare = "ssim_pair", min_ssim = 0.95 },
  audio = { compare = "spectrogram_l2", max_l2 = 0.05, sample_rate = 22050, n_mels = 128 },
  video = { compare = "skip", min_ssim = 0.90 },
  timeline = { compare = "rows_ordered" },
  gantt = { compare = "rows_ordered" },
  log = { compare = "rows_ordered", allow_regex = false },
  progress = { compare = "skip" },
  file = { compare = "mime_dispatch", float_rtol = RTOL },
}

local OPTION_VALUES = {
  on_extra_output_key = { warn = true, fail = true, ignore = true },
  on_missing_expected_key = { warn = true, fail = true, ignore = true },
}

---------------------------------------------------------------------------
-- Small helpers

local V = require("pixie.fixture_values")
local is_object, is_number, isclose, rel, encode = V.is_object, V.is_number, V.isclose, V.rel, V.encode
local diff, sorted_keys, deep = V.diff, V.sorted_keys, V.deep

local function clip(text, limit)
  limit = limit or M.TRUNCATE
  if #text <= limit then return text end
  return text:sub(1, math.max(0, limit - 4)) .. " ..."
end

local function tol_numbers(tol, rkey, akey)
  return tonumber(tol[rkey]) or RTOL, tonumber(tol[akey]) or ATOL
end

-- A structural comparison with float tolerance, as one diff.
local function structural(key, ty, comparator, e, a, tol, allow_extra)
  local rtol, atol = tol_numbers(tol, "float_rtol", "float_atol")
  local path, x, y = deep(e, a, rtol, atol, "", allow_extra)
  if not path then return nil end
  local metric
  if is_number(x) and is_number(y) then
    local r, d = rel(x, y)
    metric = ("%s: rtol_exceeded %.3g > %.3g (expected=%s, actual=%s, |delta|=%.3g)")
      :format(path ~= "" and path or "value", r, rtol, encode(x), encode(y), d)
  else
    metric = ("%s: expected %s, got %s"):format(path ~= "" and path or "value",
      clip(encode(x), 120), clip(encode(y), 120))
  end
  return diff(key, ty, comparator, x, y, metric, path ~= "" and path or nil)
end

---------------------------------------------------------------------------
-- Comparators by family

local function compare_number(key, ty, e, a, tol)
  if type(e) == "boolean" or type(a) == "boolean" then
    return diff(key, ty, "numeric_isclose", e, a, "boolean refused by numeric comparator")
  end
  local en, an = V.inner(e, "value"), V.inner(a, "value")
  if not is_number(en) then
    return diff(key, ty, "numeric_isclose", e, a, "expected value is not a number")
  end
  if not is_number(an) then
    return diff(key, ty, "numeric_isclose", e, a, "actual value is not a number")
  end
  local rtol, atol = tonumber(tol.rtol) or RTOL, tonumber(tol.atol) or ATOL
  if isclose(en, an, rtol, atol) then return nil end
  local r, d = rel(en, an)
  return diff(key, ty, "numeric_isclose", en, an,
    ("rtol_exceeded: %.3g > %.3g (expected=%s, actual=%s, |delta|=%.3g)"):format(r, rtol, encode(en), encode(an), d))
end

local function normalise_ws(s)
  local lines = {}
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = (line:gsub("%s+", " "):gsub("%s+$", ""))
  end
  return (table.concat(lines, "\n"):match("^%s*(.-)%s*$"))
end

local function first_offset(x, y)
  for i = 1, math.min(#x, #y) do
    if x:byte(i) ~= y:byte(i) then return i - 1 end
  end
  return math.min(#x, #y)
end

local function window(x, y)
  local at = first_offset(x, y)
  local lo = math.max(0, at - 20)
  return ("strings differ at offset %d: ...%s... vs ...%s..."):format(at,
    encode(x:sub(lo + 1, at + 20)), encode(y:sub(lo + 1, at + 20)))
end

local function compare_text(key, ty, e, a, tol)
  local mode = tol.compare or "exact"
  local name = ty .. ":" .. mode
  local es, as = V.inner(e, "value"), V.inner(a, "value")
  if type(es) ~= "string" then return diff(key, ty, name, e, a, "value is not a string (expected)") end
  if type(as) ~= "string" then return diff(key, ty, name, e, a, "value is not a string (actual)") end
  if ty == "latex" or mode == "exact_after_normalize_whitespace" then
    local function norm(s)
      if ty == "latex" then s = s:gsub("\\[,;:!]", " ") end
      return normalise_ws(s)
    end
    local en, an = norm(es), norm(as)
    if en == an then return nil end
    return diff(key, ty, name, es, as, window(en, an))
  end
  if mode == "json_normalized" then
    local ev, eerr = json.decode(es)
    local av, aerr = json.decode(as)
    if ev == nil or av == nil then
      return diff(key, ty, name, es, as, "json parse failure: " .. tostring(eerr or aerr))
    end
    if deep(ev, av, 0, 0, "") == nil then return nil end
    return diff(key, ty, name, ev, av, "json values differ structurally")
  end
  if es == as then return nil end
  return diff(key, ty, name, es, as, window(es, as))
end

local function compare_boolean(key, ty, e, a)
  local eb, ab = V.inner(e, "value"), V.inner(a, "value")
  if eb == ab then return nil end
  return diff(key, ty, "exact", e, a, ("expected %s, got %s"):format(encode(eb), encode(ab)))
end

local function column_names(cols)
  local out = {}
  if type(cols) ~= "table" or not json.is_array(cols) then return out end
  for _, c in ipairs(cols) do
    if type(c) == "string" then
      out[#out + 1] = c
    elseif is_object(c) and (c.key or c.label) ~= nil then
      out[#out + 1] = tostring(c.key or c.label)
    end
  end
  return out
end

local function row_dict(row, cols)
  if is_object(row) then return row end
  if type(row) == "table" and json.is_array(row) then
    local d = {}
    for i = 1, math.min(#cols, #row) do d[cols[i]] = row[i] end
    return d
  end
  return { _value = row }
end

-- Sort key of a row: per column (absent < number < text), as a string
-- list compared piecewise.
local function row_less(cols)
  local function rank(v)
    if v == nil or v == NULL then return 0, "" end
    if is_number(v) and type(v) ~= "boolean" then return 1, v end
    return 2, tostring(v)
  end
  return function(x, y)
    for _, c in ipairs(cols) do
      local rx, vx = rank(x[c])
      local ry, vy = rank(y[c])
      if rx ~= ry then return rx < ry end
      if vx ~= vy then return vx < vy end
    end
    return false
  end
end

local function compare_table(key, ty, e, a, tol)
  local mode = tol.compare or "rows_unordered"
  local name = "table_" .. mode
  if not is_object(e) or not is_object(a) then
    return diff(key, ty, name, e, a, "table value must be an object with columns and rows")
  end
  local ec, ac = column_names(e.columns), column_names(a.columns)
  if #ec > 0 and #ac > 0 and table.concat(ec, "\0") ~= table.concat(ac, "\0") then
    return diff(key, ty, name, ec, ac, ("column names differ: %s vs %s"):format(encode(ec), encode(ac)))
  end
  local cols = #ec > 0 and ec or ac
  local er = type(e.rows) == "table" and e.rows ~= NULL and e.rows or {}
  local ar = type(a.rows) == "table" and a.rows ~= NULL and a.rows or {}
  if #er ~= #ar then
    return diff(key, ty, name, #er, #ar, ("row counts differ: %d vs %d"):format(#er, #ar))
  end
  local rtol, atol = tol_numbers(tol, "float_rtol", "float_atol")
  local ed, ad = {}, {}
  for i = 1, #er do ed[i], ad[i] = row_dict(er[i], cols), row_dict(ar[i], cols) end
  if mode == "rows_unordered" and #cols > 0 then
    table.sort(ed, row_less(cols))
    table.sort(ad, row_less(cols))
  end
  for i = 1, #ed do
    local names = cols
    if #names == 0 then
      local seen = {}
      for k in pairs(ed[i]) do seen[k] = true end
      for k in pairs(ad[i]) do seen[k] = true end
      names = sorted_keys(seen)
    end
    for _, c in ipairs(names) do
      local x, y = ed[i][c], ad[i][c]
      local same
      if is_number(x) and is_number(y) then same = isclose(x, y, rtol, atol) else same = deep(x, y, 0, 0, "") == nil end
      if not same then
        local metric
        if is_number(x) and is_number(y) then
          metric = ("row %d column '%s': rtol_exceeded %.3g > %.3g (%s vs %s)")
            :format(i - 1, c, (rel(x, y)), rtol, encode(x), encode(y))
        else
          metric = ("row %d column '%s': %s vs %s"):format(i - 1, c, clip(encode(x), 120), clip(encode(y), 120))
        end
        return diff(key, ty, name, x, y, metric, ("rows[%d].%s"):format(i - 1, c))
      end
    end
  end
  return nil
end

-- Chart keys that are presentation, not data (ignored by data_only).
local PRESENTATION = {
  title = true, x_label = true, y_label = true, caption = true, colors = true, colours = true,
  color = true, colour = true, options = true, layout = true, style = true, legend = true,
}

local function data_of(v)
  if not is_object(v) then return v end
  local out = {}
  for k, x in pairs(v) do
    if not PRESENTATION[k] then out[k] = x end
  end
  return out
end

local function compare_chart(key, ty, e, a, tol)
  local mode = tol.compare or "data_only"
  return structural(key, ty, "chart_" .. mode, data_of(e), data_of(a), tol)
end

-- Media and files: Pixie carries no imaging or audio library, so it does
-- what the original does when its optional ones are missing (and what
-- `compare: size_sha256` / `sha256` ask for): the decoded bytes must be
-- equal, and a difference says which measure was replaced.
local DEGRADED = {
  image = "Pixie has no SSIM: the image bytes were compared",
  audio = "Pixie has no spectrogram: the audio bytes were compared",
  video = "Pixie decodes no video frames: the video bytes were compared",
  pdf = "Pixie extracts no PDF text: the file bytes were compared",
}
local BYTES_MODES = { size_sha256 = true, sha256 = true }

local function compare_bytes(key, ty, comparator, e, a, reason)
  local metric = bytes.difference(e, a)
  if not metric then return nil end
  if reason then metric = ("%s [%s]"):format(metric, reason) end
  return diff(key, ty, comparator, #e, #a, metric)
end

local function compare_image(key, ty, e, a, tol)
  local reason = not BYTES_MODES[tol.compare] and DEGRADED.image or nil
  return compare_bytes(key, ty, "image_bytes", bytes.media(e), bytes.media(a), reason)
end

local function compare_image_grid(key, ty, e, a, tol)
  local ei, ai = V.inner(e, "images"), V.inner(a, "images")
  if type(ei) ~= "table" or type(ai) ~= "table" or ei == NULL or ai == NULL then
    return diff(key, ty, "image_bytes_per_image", ei, ai, "image_grid expects .images: [...]")
  end
  if #ei ~= #ai then
    return diff(key, ty, "image_bytes_per_image", #ei, #ai,
                ("image count differs: %d vs %d"):format(#ei, #ai))
  end
  for i = 1, #ei do
    local d = compare_image(("%s[%d]"):format(key, i - 1), ty, ei[i], ai[i], tol)
    if d then return d end
  end
  return nil
end

local function compare_image_pair(key, ty, e, a, tol)
  for _, side in ipairs({ "before", "after" }) do
    local es = is_object(e) and e[side] or nil
    local as = is_object(a) and a[side] or nil
    if es ~= nil or as ~= nil then
      local d = compare_image(key .. "." .. side, ty, es, as, tol)
      if d then return d end
    end
  end
  return nil
end

local function compare_audio_video(key, ty, e, a, tol)
  local reason = not BYTES_MODES[tol.compare] and DEGRADED[ty] or nil
  return compare_bytes(key, ty, ty .. "_bytes", bytes.media(e), bytes.media(a), reason)
end

local function compare_file(key, ty, e, a, tol)
  local eb, em = bytes.file(e)
  local ab, am = bytes.file(a)
  if tol.compare ~= "sha256" and em == am then
    if em == "application/json" then
      local ev, eerr = json.decode(eb)
      local av, aerr = json.decode(ab)
      if ev == nil or av == nil then
        return diff(key, ty, "file_json", clip(eb, 120), clip(ab, 120),
                    "json parse failure: " .. tostring(eerr or aerr))
      end
      return structural(key, ty, "file_json", ev, av, { float_rtol = 0, float_atol = 0 })
    elseif em == "text/csv" then
      local er, ar = bytes.csv_rows(eb), bytes.csv_rows(ab)
      if #er > 0 and #ar > 0 then
        local rtol, atol = tol_numbers(tol, "float_rtol", "float_atol")
        local d = compare_table(key, ty, { columns = table.remove(er, 1), rows = er },
                                { columns = table.remove(ar, 1), rows = ar },
                                { compare = "rows_unordered", float_rtol = rtol, float_atol = atol })
        if d then d.comparator = "file_csv_table" end
        return d
      end
    elseif em == "application/pdf" then
      return compare_bytes(key, ty, "sha256_or_mime", eb, ab, DEGRADED.pdf)
    end
  end
  return compare_bytes(key, ty, "sha256_or_mime", eb, ab)
end

local FAMILY = {
  number = compare_number, boolean = compare_boolean, table = compare_table,
  image = compare_image, image_grid = compare_image_grid, image_compare = compare_image_pair,
  audio = compare_audio_video, video = compare_audio_video, file = compare_file,
}
for ty, fn in pairs(shapes.COMPARE) do FAMILY[ty] = fn end
for _, t in ipairs({ "text", "markdown", "code", "latex", "diff", "stream_text" }) do FAMILY[t] = compare_text end
for _, t in ipairs({ "chart_line", "chart_bar", "chart_area", "chart_scatter", "chart_pie",
                     "chart_histogram", "chart_boxplot", "chart_heatmap", "chart_candlestick",
                     "chart_radar", "chart_sankey", "chart_treemap", "chart_network" }) do
  FAMILY[t] = compare_chart
end

function M.compare(key, ty, e, a, tol)
  tol = tol or M.BUILTIN[ty] or {}
  if tol.compare == "skip" then
    return diff(key, ty, "skip", nil, nil, "comparison skipped by tolerance.compare: skip")
  end
  if ty == "progress" then return nil end
  local fn = FAMILY[ty]
  if fn then return fn(key, ty, e, a, tol) end
  if ty == "kv" then
    return structural(key, ty, "kv_dict_per_value", e, a, tol, tol.allow_extra == true)
  end
  -- any other type: structural, floats within tolerance
  return structural(key, ty, ty .. ":" .. tostring(tol.compare or "structural"), e, a, tol)
end

---------------------------------------------------------------------------
-- tolerance.yaml

local function default_config()
  return { defaults = {}, overrides = {}, options = {
    on_extra_output_key = "warn", on_missing_expected_key = "fail", truncate_diff_chars = M.TRUNCATE,
  } }
end

function M.tolerance(dir)
  local config, errors = default_config(), {}
  local path = dir .. "/reference/tolerance.yaml"
  local text, err, code = fs.read(path, { limit = M.FILE_LIMIT })
  if not text then
    if code == errno.ENOENT then return config, errors end
    errors[1] = "could not read tolerance.yaml: " .. tostring(err)
    return config, errors
  end
  local data, perr = yaml.parse(text)
  if data == nil then
    errors[1] = "could not parse tolerance.yaml at " .. perr
    return config, errors
  end
  if not is_object(data) and next(data) ~= nil then
    errors[1] = "tolerance.yaml top-level must be a mapping"
    return config, errors
  end
  for k, v in pairs(data) do
    if k ~= "defaults" and k ~= "overrides" and k ~= "options" then
      errors[#errors + 1] = ("%s: unknown key"):format(k)
    elseif v ~= NULL and not is_object(v) and next(v) ~= nil then
      errors[#errors + 1] = ("%s: must be a mapping"):format(k)
    end
  end
  for ty, block in pairs(is_object(data.defaults) and data.defaults or {}) do
    if not M.BUILTIN[ty] then
      errors[#errors + 1] = ("defaults.%s: unknown output type"):format(ty)
    elseif type(block) ~= "table" or json.is_array(block) and next(block) ~= nil then
      errors[#errors + 1] = ("defaults.%s: must be a mapping (write 'key: {...}' with a space after the colon)"):format(ty)
    else
      config.defaults[ty] = block
    end
  end
  for key, block in pairs(is_object(data.overrides) and data.overrides or {}) do
    if type(block) ~= "table" or json.is_array(block) and next(block) ~= nil then
      errors[#errors + 1] = ("overrides.%s: must be a mapping (write 'key: {...}' with a space after the colon)"):format(key)
    else
      config.overrides[key] = block
    end
  end
  for k, v in pairs(is_object(data.options) and data.options or {}) do
    if OPTION_VALUES[k] then
      if not OPTION_VALUES[k][v] then errors[#errors + 1] = ("options.%s: must be warn, fail or ignore"):format(k)
      else config.options[k] = v end
    elseif k == "truncate_diff_chars" then
      if math.type(v) ~= "integer" then errors[#errors + 1] = "options.truncate_diff_chars: must be an integer"
      else config.options[k] = v end
    else
      errors[#errors + 1] = ("options.%s: unknown key"):format(k)
    end
  end
  table.sort(errors)
  if #errors > 0 then return default_config(), errors end
  return config, errors
end

-- The effective tolerance of output key/type (see the header).
function M.merged(key, ty, config, fixture_tolerance)
  local out = {}
  for _, layer in ipairs({ M.BUILTIN[ty] or {}, config.defaults[ty] or {}, config.overrides[key] or {},
                           (fixture_tolerance or {})[key] or {} }) do
    if type(layer) == "table" then
      for k, v in pairs(layer) do out[k] = v end
    end
  end
  return out
end

---------------------------------------------------------------------------
-- Fixture files

local FIELDS = {
  name = "string", source = "string?", inputs = "object", expected_outputs = "object",
  tolerance = "object?", skip_reason = "string?", tags = "strings?", validator_timeout_override = "number?",
}

local function field_problem(k, v)
  local want = FIELDS[k]
  if not want then return "unknown field" end
  local optional = want:sub(-1) == "?"
  if optional then
    want = want:sub(1, -2)
    if v == NULL then return nil end
  end
  if want == "string" and type(v) ~= "string" then return "must be a string" end
  if want == "number" and type(v) ~= "number" then return "must be a number" end
  if want == "object" and not (is_object(v) or (type(v) == "table" and next(v) == nil)) then
    return "must be an object"
  end
  if want == "strings" then
    if type(v) ~= "table" or (next(v) ~= nil and not json.is_array(v)) then return "must be an array of strings" end
    for _, s in ipairs(v) do
      if type(s) ~= "string" then return "must be an array of strings" end
    end
  end
  return nil
end

-- One fixture file: fixture | nil, message.
local function load_one(path, file, declared)
  local text, err = fs.read(path, { limit = M.FILE_LIMIT })
  if not text then return nil, ("%s: could not read file: %s"):format(file, tostring(err)) end
  local data, derr = json.decode(text)
  if data == nil then return nil, ("%s: not valid JSON: %s"):format(file, derr) end
  if not is_object(data) then return nil, ("%s: top-level must be a JSON object"):format(file) end
  local problems = {}
  for _, k in ipairs(sorted_keys(data)) do
    local p = field_problem(k, data[k])
    if p then problems[#problems + 1] = ("  %s: %s"):format(k, p) end
  end
  for _, k in ipairs({ "name", "inputs", "expected_outputs" }) do
    if data[k] == nil then problems[#problems + 1] = ("  %s: field required"):format(k) end
  end
  if #problems == 0 then
    for key, tol in pairs(data.tolerance or {}) do
      if tol ~= NULL and not is_object(tol) and not (type(tol) == "table" and next(tol) == nil) then
        problems[#problems + 1] = ("  tolerance.%s: must be an object"):format(key)
      end
    end
  end
  if #problems > 0 then
    table.sort(problems)
    return nil, ("%s: invalid fixture\n%s"):format(file, table.concat(problems, "\n"))
  end
  local unknown = {}
  for k in pairs(data.expected_outputs) do
    if not declared[k] then unknown[#unknown + 1] = k end
  end
  if #unknown > 0 then
    table.sort(unknown)
    return nil, ("%s: expected_outputs references undeclared output key(s): %s"):format(file, table.concat(unknown, ", "))
  end
  data.file = file
  data.tags = data.tags or json.array()
  return data
end

function M.load(dir, spec)
  local fixtures, errors = {}, {}
  local ref = dir .. "/reference"
  local names, _, code = fs.list(ref)
  if not names then
    if code == errno.ENOENT or code == errno.ENOTDIR then return fixtures, errors end
    errors[1] = "cannot list reference/: " .. require("pixie.sys").strerror(code)
    return fixtures, errors
  end
  local declared = {}
  for _, o in ipairs(spec.outputs or {}) do declared[o.key] = true end
  for _, file in ipairs(names) do
    if file:match("^fixture_.*%.json$") then
      local f, err = load_one(ref .. "/" .. file, file, declared)
      if f then fixtures[#fixtures + 1] = f else errors[#errors + 1] = err end
    end
  end
  return fixtures, errors
end

-- True when the fixture is the one named: its name, its file name, or the
-- file name without fixture_ and .json.
function M.named(fixture, name)
  local stem = fixture.file:match("^fixture_(.*)%.json$")
  return fixture.name == name or fixture.file == name or stem == name
end

function M.tagged(fixture, tag)
  for _, t in ipairs(fixture.tags or {}) do
    if t == tag then return true end
  end
  return false
end

---------------------------------------------------------------------------
-- Comparing a run's outputs with a fixture

function M.compare_outputs(fixture, outputs, spec, config)
  local diffs = {}
  local by_key = {}
  for _, o in ipairs(spec.outputs or {}) do by_key[o.key] = o end
  local opts = config.options
  for _, key in ipairs(sorted_keys(fixture.expected_outputs)) do
    local expected = fixture.expected_outputs[key]
    local o = by_key[key]
    if not o then
      if opts.on_extra_output_key ~= "ignore" then
        diffs[#diffs + 1] = diff(key, "unknown", "schema_check", nil, nil,
          ("output key '%s' is not declared in tool.json"):format(key))
      end
    elseif type(outputs) ~= "table" or outputs[key] == nil then
      if opts.on_missing_expected_key ~= "ignore" then
        diffs[#diffs + 1] = diff(key, o.type, "key_presence", expected, nil,
          ("output key '%s' missing in /run response"):format(key))
      end
    else
      local tol = M.merged(key, o.type, config, fixture.tolerance)
      local d = M.compare(key, o.type, expected, outputs[key], tol)
      if d and d.comparator ~= "skip" then diffs[#diffs + 1] = d end -- skip: not compared
    end
  end
  return diffs
end

function M.describe(d, limit)
  local path = d.path and ("." .. d.path) or ""
  return clip(("%s%s (%s, %s): %s"):format(d.output_key, path, d.output_type, d.comparator, d.metric or ""),
    limit or M.TRUNCATE)
end

return M
