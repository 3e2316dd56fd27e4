local t = require("harness")
local ts = require("pixie.toolspec")
local json = require("pixie.json")

-- A minimal valid tool.json as a Lua table, with `extra` merged in.
local function tool(extra)
  local v = { id = "demo", name = "Demo", inputs = {}, outputs = {} }
  for k, x in pairs(extra or {}) do v[k] = x end
  return v
end

-- Parses the JSON encoding of value (so the tests see what discovery sees).
local function parse_value(value, name)
  return ts.parse(assert(json.encode(value)), name or "demo")
end

local function errors_text(errs)
  return table.concat(errs or {}, "\n")
end

-- Asserts parse fails and one error line starts with `prefix`.
local function fails_at(value, prefix, what)
  local spec, errs = parse_value(value)
  t.eq(spec, nil, what)
  for _, e in ipairs(errs) do
    if e:sub(1, #prefix) == prefix then return e end
  end
  error(("%s: no error at %q in:\n%s"):format(what or "", prefix, errors_text(errs)), 2)
end

local function accepts(value, what)
  local spec, errs = parse_value(value)
  if not spec then error((what or "") .. ": rejected:\n" .. errors_text(errs), 2) end
  return spec
end

local OPTS = { { value = "a", label = "A" }, { value = 2, label = "Two" }, { value = true, label = "Yes" } }
local COLS = { { key = "name", label = "Name", type = "text" }, { key = "qty", label = "Qty" } }

-- Per input type: extra fields of a valid entry, and a bad variant
-- { fields to merge, path suffix expected in the error }.
local INPUT_CASES = {
  text = { { placeholder = "x", max_length = 10 }, { { max_length = "ten" }, "max_length" } },
  textarea = { { monospace = true, max_length = 5 }, { { monospace = "maybe" }, "monospace" } },
  number = { { min = 0, max = 10.5, step = 0.5, unit = "kg" }, { { step = 0 }, "step" } },
  slider = { { min = 0, max = 100, step = 1, range = true }, { {}, "max" } },
  select = { { options = OPTS, searchable = true }, { {}, "options" } },
  multiselect = { { options = OPTS }, { { options = { { value = {}, label = "x" } } }, "options[0].value" } },
  checkbox = { { default = false }, { { options = OPTS }, "options" } },
  toggle = { { default = true }, { { placeholder = "x" }, "placeholder" } },
  radio = { { options = OPTS }, { { options = { { value = "a" } } }, "options[0].label" } },
  date = { { min = "2020-01-01", max = "2030-01-01" }, { { min = 2020 }, "min" } },
  time = { { default = "12:00" }, { { min = "x" }, "min" } },
  datetime = { {}, { { max_length = 3 }, "max_length" } },
  date_range = { {}, { { range = true }, "range" } },
  file = { { accept = { ".csv", ".txt" }, max_size_mb = 5, multiple = true },
           { { accept = { ".csv", 3 } }, "accept[1]" } },
  image = { { max_size_mb = 2.5, multiple = false }, { { max_size_mb = -1 }, "max_size_mb" } },
  audio = { { max_size_mb = 10 }, { { multiple = true }, "multiple" } },
  colour = { { default = "#ff0000" }, { { options = OPTS }, "options" } },
  json = { { schema = { type = "object" } }, { { schema = "object" }, "schema" } },
  code = { { language = "python" }, { { language = 3 }, "language" } },
  markdown = { {}, { { language = "md" }, "language" } },
  tags = { { suggestions = { "a", "b" } }, { { suggestions = "a,b" }, "suggestions" } },
  autocomplete = { { endpoint = "cities" }, { {}, "endpoint" } },
  table = { { columns = COLS, min_rows = 1, max_rows = 5 }, { {}, "columns" } },
  map_point = { { default_center = { 51.5, -0.1 }, default_zoom = 10 },
                { { default_center = { 1 } }, "default_center" } },
  map_bbox = { { default_zoom = 3 }, { { default_zoom = "three" }, "default_zoom" } },
  map_polygon = { { default_center = { 0, 0 } }, { { default_center = { 100, 0 } }, "default_center" } },
  map_multipoint = { {}, { { default_center = 0 }, "default_center" } },
  hidden = { { default = { nested = { 1, 2 } } }, { { label = 5 }, "label" } },
}

local OUTPUT_CASES = {
  number = { { format = "currency", precision = 2 }, { { format = "money" }, "format" } },
  boolean = { { true_label = "Yes", false_label = "No" }, { { true_label = true }, "true_label" } },
  table = { { columns = COLS, downloadable = true }, { { downloadable = "sometimes" }, "downloadable" } },
  chart_line = { { x_label = "t", y_label = "v", log_x = true, log_y = false }, { { log_x = 2 }, "log_x" } },
  chart_area = { { x_label = "t", log_y = true }, { { y_label = {} }, "y_label" } },
  map_points = { { default_center = { 10, 20 }, default_zoom = 4 }, { { default_zoom = true }, "default_zoom" } },
  code = { { language = "json" }, { { language = false }, "language" } },
}

t.test("input_and_output_type_lists_are_complete", function()
  t.eq(#ts.INPUT_TYPES, 28)
  t.eq(#ts.OUTPUT_TYPES, 39)
  for _, ty in ipairs(ts.INPUT_TYPES) do t.ok(INPUT_CASES[ty], "input case for " .. ty) end
end)

t.test("every_input_type_accepts_a_valid_entry", function()
  for _, ty in ipairs(ts.INPUT_TYPES) do
    local entry = { key = "k", label = "K", type = ty }
    for k, v in pairs(INPUT_CASES[ty][1]) do entry[k] = v end
    local spec = accepts(tool({ inputs = { entry } }), ty)
    t.eq(spec.inputs[1].type, ty)
    t.eq(spec.inputs[1].required, true, ty .. " required default")
  end
end)

t.test("every_input_type_rejects_a_bad_field_with_its_path", function()
  for _, ty in ipairs(ts.INPUT_TYPES) do
    local entry = { key = "k", label = "K", type = ty }
    for k, v in pairs(INPUT_CASES[ty][1]) do entry[k] = v end
    local bad, suffix = INPUT_CASES[ty][2][1], INPUT_CASES[ty][2][2]
    for k, v in pairs(bad) do entry[k] = v end
    if not next(bad) then
      entry[suffix] = nil -- the case removes a required field
    end
    local value = tool({ inputs = { { key = "first", label = "F", type = "text" }, entry } })
    fails_at(value, "inputs[1]." .. suffix, ty)
  end
end)

t.test("every_output_type_accepts_a_valid_entry_and_rejects_a_bad_one", function()
  for _, ty in ipairs(ts.OUTPUT_TYPES) do
    local case = OUTPUT_CASES[ty] or { {}, { { precision = 2 }, "precision" } }
    if ty == "number" then case = OUTPUT_CASES.number end
    local entry = { key = "o", label = "O", type = ty, caption = "c", unit = "u",
                    streaming = false, layout = "tab" }
    for k, v in pairs(case[1]) do entry[k] = v end
    local spec = accepts(tool({ outputs = { entry } }), ty)
    t.eq(spec.outputs[1].layout, "tab", ty)
    for k, v in pairs(case[2][1]) do entry[k] = v end
    fails_at(tool({ outputs = { entry } }), "outputs[0]." .. case[2][2], ty)
    fails_at(tool({ outputs = { { key = "o", type = ty } } }), "outputs[0].label", ty .. " label required")
  end
end)

t.test("label_on_a_secret_names_path_tool_and_migrate_command", function()
  local e = fails_at(tool({ secrets = { { key = "API_KEY", label = "The key" } } }), "secrets[0].label")
  t.eq(e, 'secrets[0].label: tool \'demo\': secrets use "description", not "label" — '
    .. "run `pixie run-skill migrate-tool-format demo`")
  local _, errs = ts.parse(assert(json.encode(tool({ secrets = {
    { key = "A", description = "ok" }, { key = "B", label = "x", description = "y" } } }))), "folder-x")
  t.eq(#errs, 1)
  t.contains(errs[1], "secrets[1].label: tool 'folder-x'")
  t.contains(errs[1], "pixie run-skill migrate-tool-format folder-x")
end)

t.test("unknown_keys_are_reported_at_every_level", function()
  local value = tool({
    source = { url = "x" },
    inputs = {
      { key = "a", label = "A", type = "select", colour_mode = 1,
        options = { { value = 1, label = "x", hint = "h" } },
        show_if = { key = "b", equals = 1, negate = true } },
      { key = "b", label = "B", type = "table", columns = { { key = "c", label = "C", width = 3 } } },
    },
    outputs = { { key = "o", label = "O", type = "text", colour = "red" },
                { key = "p", label = "P", type = "table", columns = { { key = "c", label = "C", sort = 1 } } } },
    secrets = { { key = "K", hint = "x" } },
  })
  local spec, errs = parse_value(value)
  t.eq(spec, nil)
  local text = errors_text(errs)
  for _, p in ipairs({ "source: unknown field", "inputs[0].colour_mode: unknown field",
                       "inputs[0].options[0].hint: unknown field",
                       "inputs[0].show_if.negate: unknown field",
                       "inputs[1].columns[0].width: unknown field",
                       "outputs[0].colour: unknown field",
                       "outputs[1].columns[0].sort: unknown field",
                       "secrets[0].hint: unknown field" }) do
    t.contains(text, p)
  end
  t.eq(#errs, 8, text)
end)

t.test("type_specific_field_on_another_type_is_unknown", function()
  fails_at(tool({ inputs = { { key = "a", label = "A", type = "text", options = OPTS } } }),
    "inputs[0].options: unknown field")
  fails_at(tool({ outputs = { { key = "a", label = "A", type = "text", precision = 1 } } }),
    "outputs[0].precision: unknown field")
end)

t.test("unknown_or_missing_type_is_reported", function()
  local e = fails_at(tool({ inputs = { { key = "a", label = "A", type = "colour_wheel" } } }), "inputs[0].type")
  t.contains(e, "unknown input type 'colour_wheel'")
  e = fails_at(tool({ outputs = { { key = "a", label = "A", type = "hologram" } } }), "outputs[0].type")
  t.contains(e, "unknown output type 'hologram'")
  fails_at(tool({ inputs = { { key = "a", label = "A" } } }), "inputs[0].type: is required")
  -- fields some other type knows are not also called unknown
  local _, errs = parse_value(tool({ inputs = { { key = "a", label = "A", type = "nope", placeholder = "p" } } }))
  t.eq(#errs, 1, errors_text(errs))
end)

t.test("many_errors_are_reported_together", function()
  local spec, errs = parse_value({ id = "Bad", name = 3, inputs = "x", outputs = {}, max_memory_mb = -1,
                                   concurrent = "maybe", layout = "grid", tags = { 1 } })
  t.eq(spec, nil)
  local text = errors_text(errs)
  for _, p in ipairs({ "id: 'Bad' does not match", "name: must be a string, got a number",
                       "inputs: must be an array, got a string", "max_memory_mb: must be an integer between 0",
                       "concurrent: must be a boolean", "layout: unknown layout 'grid'",
                       "tags[0]: must be a string" }) do
    t.contains(text, p)
  end
  t.eq(#errs, 7, text)
end)

t.test("error_count_is_capped_with_a_summary_line", function()
  local inputs = {}
  for i = 1, 500 do inputs[i] = { key = "k" .. i, label = "L", type = "text", zz = 1 } end
  local _, errs = parse_value(tool({ inputs = inputs }))
  t.eq(#errs, ts.MAX_ERRORS + 1)
  t.eq(errs[#errs], ("tool.json: %d more errors not shown"):format(500 - ts.MAX_ERRORS))
end)

t.test("id_pattern_and_length", function()
  for _, good in ipairs({ "a", "word-count", "x1-2-3", ("a"):rep(64) }) do
    accepts(tool({ id = good }), good)
    t.ok(ts.id_valid(good), good)
  end
  for _, bad in ipairs({ "", "A", "1abc", "-a", "a_b", "a.b", "a b", "héllo", ("a"):rep(65) }) do
    fails_at(tool({ id = bad }), "id: ", bad)
    t.ok(not ts.id_valid(bad), bad)
  end
  t.contains(fails_at(tool({ id = ("a"):rep(65) }), "id: "), "at most 64")
  fails_at(tool({ id = true }), "id: must be a string, got a boolean")
  fails_at(tool({ id = json.null }), "id: must be a string, got null")
  t.eq(("word-count"):match(ts.ID_PATTERN), "word-count")
end)

t.test("secret_key_pattern_and_uniqueness", function()
  for _, good in ipairs({ "A", "_x", "API_KEY", "key2", "a_B_3" }) do
    accepts(tool({ secrets = { { key = good } } }), good)
    t.ok(ts.secret_key_valid(good), good)
  end
  for _, bad in ipairs({ "", "1A", "A-B", "A B", "A=B", "É" }) do
    fails_at(tool({ secrets = { { key = bad } } }), "secrets[0].key", bad)
    t.ok(not ts.secret_key_valid(bad), bad)
  end
  t.ok(not ts.secret_key_valid(nil))
  fails_at(tool({ secrets = { { description = "no key" } } }), "secrets[0].key: is required")
  local e = fails_at(tool({ secrets = { { key = "A" }, { key = "B" }, { key = "A" } } }), "secrets[2].key")
  t.contains(e, "duplicate secret key 'A' (also secrets[0])")
  accepts(tool({ secrets = { { key = "A" }, { key = "a" } } }), "case-sensitive")
  fails_at(tool({ secrets = { { key = "A", required = "perhaps" } } }), "secrets[0].required")
  fails_at(tool({ secrets = { { key = "A", description = 5 } } }), "secrets[0].description")
end)

t.test("coherence_unique_keys_and_show_if_targets", function()
  local e = fails_at(tool({ inputs = { { key = "a", label = "A", type = "text" },
                                       { key = "a", label = "B", type = "text" } } }), "inputs[1].key")
  t.contains(e, "duplicate input key 'a' (also inputs[0])")
  fails_at(tool({ outputs = { { key = "o", label = "A", type = "text" },
                              { key = "o", label = "B", type = "number" } } }), "outputs[1].key: duplicate")
  e = fails_at(tool({ inputs = { { key = "a", label = "A", type = "text",
                                   show_if = { key = "missing", equals = 1 } } } }), "inputs[0].show_if.key")
  t.contains(e, "no input has key 'missing'")
  fails_at(tool({ inputs = { { key = "a", label = "A", type = "text", show_if = { key = "a", equals = 1 } } } }),
    "inputs[0].show_if.key: must name another input")
  fails_at(tool({ inputs = { { key = "a", label = "A", type = "text", show_if = { key = "b" } },
                             { key = "b", label = "B", type = "checkbox" } } }), "inputs[0].show_if.equals: is required")
  -- a later input is a valid target; equals may be null
  local spec = accepts(tool({ inputs = { { key = "a", label = "A", type = "text",
                                          show_if = { key = "b", equals = json.null } },
                                        { key = "b", label = "B", type = "checkbox" } } }))
  t.eq(spec.inputs[1].show_if.equals, json.null)
  fails_at(tool({ inputs = { { key = "a", label = "A", type = "slider", min = 5, max = 1 } } }), "inputs[0].min")
  fails_at(tool({ inputs = { { key = "a", label = "A", type = "table", columns = COLS, min_rows = 3, max_rows = 1 } } }),
    "inputs[0].min_rows")
  fails_at(tool({ inputs = { { key = "a", label = "A", type = "table",
                               columns = { { key = "c", label = "C" }, { key = "c", label = "D" } } } } }),
    "inputs[0].columns[1].key: duplicate column key")
  fails_at(tool({ inputs = { { key = "a", label = "A", type = "radio",
                               options = { { value = 1, label = "x" }, { value = 1.0, label = "y" } } } } }),
    "inputs[0].options[1].value: duplicate option value")
end)

t.test("coherence_is_exported_for_the_validator", function()
  local spec = accepts(tool({ inputs = { { key = "a", label = "A", type = "text" } } }))
  t.eq(ts.coherence(spec), {})
  spec.inputs[2] = { key = "a", label = "B", type = "text", show_if = { key = "zz", equals = 1 } }
  local errs = ts.coherence(spec)
  t.eq(#errs, 2, errors_text(errs))
  t.eq(ts.coherence("nonsense"), {})
end)

t.test("defaults_are_filled_at_every_level", function()
  local spec = accepts(tool({
    inputs = { { key = "a", label = "A", type = "slider", min = 0, max = 1 },
               { key = "t", label = "T", type = "tags" },
               { key = "s", label = "S", type = "select", options = OPTS } },
    outputs = { { key = "n", label = "N", type = "number" },
                { key = "tb", label = "TB", type = "table", columns = { { key = "c", label = "C" } } } },
    secrets = { { key = "K" }, { key = "L", description = json.null } },
  }))
  t.eq(spec.max_memory_mb, 512)
  t.eq(spec.max_runtime_seconds, 60)
  t.eq(spec.warm_keep_seconds, 300)
  t.eq(spec.concurrent, true)
  t.eq(spec.entrypoint, "main.py")
  t.eq(spec.schema_version, "1.0")
  t.eq(spec.retain_runs, 100)
  t.eq(spec.layout, "form")
  t.eq(spec.input_transport, "json")
  t.eq(spec.tags, {})
  t.eq(spec.archived, false)
  t.eq(spec.pinned_warm, false)
  t.eq(spec.requires_data_persistence, false)
  t.eq(spec.provides_file_endpoint, false)
  t.eq(spec.provides_autocomplete, false)
  t.eq(spec.description, nil)
  t.eq(spec.validator_timeout_override, nil)
  local a = spec.inputs[1]
  t.eq(a.required, true)
  t.eq(a.range, false)
  t.eq(spec.inputs[2].suggestions, {})
  t.eq(spec.inputs[3].searchable, false)
  t.eq(spec.outputs[1].format, "decimal")
  t.eq(spec.outputs[1].streaming, false)
  t.eq(spec.outputs[1].layout, "panel")
  t.eq(spec.outputs[2].downloadable, false)
  t.eq(spec.outputs[2].columns[1].type, "text")
  t.eq(spec.secrets[1], { key = "K", description = "", required = false })
  t.eq(spec.secrets[2].description, "")
  -- empty arrays encode as arrays, so the spec round-trips as JSON
  local text = assert(json.encode(spec))
  t.contains(text, '"tags":[]')
  t.contains(text, '"secrets":[{')
  accepts(assert(json.decode(text)), "normalised spec re-validates")
end)

t.test("empty_default_of_an_array_valued_input_encodes_as_array", function()
  local spec = assert(ts.parse('{"id":"x","name":"x","outputs":[],"inputs":['
    .. '{"key":"t","label":"T","type":"tags","default":[]},'
    .. '{"key":"m","label":"M","type":"multiselect","options":[],"default":[]},'
    .. '{"key":"f","label":"F","type":"file","multiple":true,"default":[]},'
    .. '{"key":"j","label":"J","type":"json","default":{}}]}', "x"))
  local text = assert(json.encode(spec.inputs))
  t.contains(text, '"key":"t","type":"tags","label":"T","default":[]')
  t.contains(text, '"key":"m","type":"multiselect","label":"M","default":[]')
  t.contains(text, '"key":"f","type":"file","label":"F","default":[]')
  t.contains(text, '"key":"j","type":"json","label":"J","default":{}')
end)

t.test("secrets_default_to_an_empty_array", function()
  local spec = accepts(tool())
  t.eq(spec.secrets, {})
  t.contains(assert(json.encode(spec)), '"secrets":[]')
end)

t.test("integers_are_strict", function()
  local spec = accepts(tool({ max_memory_mb = 256.0, retain_runs = 7 }))
  t.eq(math.type(spec.max_memory_mb), "integer")
  t.eq(spec.max_memory_mb, 256)
  fails_at(tool({ max_memory_mb = 256.5 }), "max_memory_mb: must be an integer, got 256.5")
  fails_at(tool({ max_runtime_seconds = true }), "max_runtime_seconds: must be an integer, got a boolean")
  fails_at(tool({ max_runtime_seconds = "sixty" }), "max_runtime_seconds: must be an integer, got a string")
  fails_at(tool({ max_runtime_seconds = "60.5" }), "max_runtime_seconds: must be an integer, got a string")
  fails_at(tool({ max_runtime_seconds = 0 }), "max_runtime_seconds: must be an integer between 1")
  fails_at(tool({ retain_runs = 0 }), "retain_runs")
  fails_at(tool({ warm_keep_seconds = -1 }), "warm_keep_seconds")
  accepts(tool({ warm_keep_seconds = 0 }))
  fails_at(tool({ max_memory_mb = 1e300 }), "max_memory_mb")
  fails_at(tool({ validator_timeout_override = 0 }), "validator_timeout_override")
  t.eq(accepts(tool({ validator_timeout_override = json.null })).validator_timeout_override, nil)
  t.eq(accepts(tool({ validator_timeout_override = 30 })).validator_timeout_override, 30)
  -- numbers too large for JSON doubles decode to inf: rejected, never raised on
  local spec2, errs = ts.parse('{"id":"x","name":"x","inputs":[{"key":"a","label":"A","type":"number",'
    .. '"default":1e999}],"outputs":[],"max_memory_mb":1e999}', "x")
  t.eq(spec2, nil)
  t.contains(errors_text(errs), "inputs[0].default: must be a finite number")
  t.contains(errors_text(errs), "max_memory_mb: must be an integer")
end)

t.test("null_only_where_the_model_allows_it", function()
  local spec = accepts(tool({ description = json.null, version = json.null, category = json.null,
                              icon = json.null, package = json.null, workspace_default = json.null }))
  t.eq(spec.description, nil)
  fails_at(tool({ name = json.null }), "name: must be a string, got null")
  fails_at(tool({ inputs = json.null }), "inputs: must be an array, got null")
  fails_at(tool({ concurrent = json.null }), "concurrent: must be a boolean")
  fails_at(tool({ entrypoint = json.null }), "entrypoint")
  fails_at(tool({ secrets = { json.null } }), "secrets[0]: must be an object, got null")
  fails_at(tool({ inputs = { { key = "a", label = json.null, type = "text" } } }), "inputs[0].label")
end)

t.test("entrypoint_must_stay_inside_the_tool_folder", function()
  for _, good in ipairs({ "main.py", "src/app.py", "./run.py", "a/b/c.py" }) do
    t.eq(accepts(tool({ entrypoint = good })).entrypoint, good)
  end
  for _, bad in ipairs({ "", "/etc/passwd", "../x.py", "a/../../x.py", "..", "src/", "a\\b.py", "a\nb" }) do
    fails_at(tool({ entrypoint = bad }), "entrypoint: ", bad)
  end
end)

t.test("enums_reject_unknown_values", function()
  for _, l in ipairs({ "form", "chat", "split" }) do t.eq(accepts(tool({ layout = l })).layout, l) end
  fails_at(tool({ input_transport = "xml" }), "input_transport: unknown input transport 'xml'")
  fails_at(tool({ outputs = { { key = "o", label = "O", type = "text", layout = "modal" } } }), "outputs[0].layout")
  for _, f in ipairs({ "decimal", "currency", "percent", "scientific" }) do
    accepts(tool({ outputs = { { key = "o", label = "O", type = "number", format = f } } }), f)
  end
end)

t.test("input_is_not_mutated", function()
  local value = tool({ inputs = { { key = "a", label = "A", type = "select", options = OPTS } },
                       secrets = { { key = "K", description = json.null } } })
  local before = assert(json.encode(value))
  local spec = assert(ts.validate(value, "demo"))
  t.eq(assert(json.encode(value)), before)
  t.ok(spec ~= value and spec.inputs ~= value.inputs and spec.inputs[1] ~= value.inputs[1])
  t.eq(value.inputs[1].required, nil)
  t.eq(value.secrets[1].description, json.null)
  spec.inputs[1].options[1].label = "changed"
  t.eq(OPTS[1].label, "A")
end)

t.test("empty_object_is_accepted_where_an_array_is_expected", function()
  local spec = assert(ts.parse('{"id":"x","name":"x","inputs":{},"outputs":[],"tags":{},"secrets":{}}', "x"))
  t.eq(#spec.inputs, 0)
  t.contains(assert(json.encode(spec)), '"inputs":[]')
  -- and an empty array where an object is expected
  accepts(tool({ inputs = { { key = "j", label = "J", type = "json", schema = json.array() } } }))
end)

t.test("garbage_gives_errors_and_never_raises", function()
  local cases = { "", "   \n", "\0\255\254", "[]", "[1,2]", "null", "true", "42", '"str"', ("{"):rep(5000),
                  ("["):rep(100000), '{"id": 5}', '{"id":"x","name":"x","inputs":{},"outputs":"no"}',
                  "\239\187\191{}", '{"a":', "\255\255", '{"id":"' .. ("x"):rep(2000000) .. '"}',
                  '{"' .. ("k"):rep(100000) .. '":1}' }
  for _, text in ipairs(cases) do
    local ok, spec, errs = pcall(ts.parse, text, "g")
    t.ok(ok, "raised on " .. text:sub(1, 20))
    t.eq(spec, nil, text:sub(1, 20))
    t.ok(type(errs) == "table" and #errs > 0, "errors for " .. text:sub(1, 20))
    for _, e in ipairs(errs) do
      t.ok(#e < 1000, "short message: " .. e:sub(1, 80))
      t.ok(not e:find("^tool%.json: internal error"), e)
    end
  end
  for _, v in ipairs({ 1, "x", true, print, json.null, { 1, 2 }, { [1] = 1, a = 2 } }) do
    local ok, spec, errs = pcall(ts.validate, v, "g")
    t.ok(ok and spec == nil and #errs == 1, "validate " .. tostring(v))
    t.contains(errs[1], "tool.json: must be a JSON object")
  end
  local ok, spec, errs = pcall(ts.parse, nil)
  t.ok(ok and spec == nil and #errs == 1)
end)

t.test("messages_about_garbage_are_specific", function()
  local _, errs = ts.parse("[]", "g")
  t.eq(errs, { "tool.json: must be a JSON object, got an array" })
  _, errs = ts.parse('{"id": "x",\n "name": oops}', "g")
  t.contains(errs[1], "tool.json: is not valid JSON: line 2, column")
  _, errs = ts.parse("", "g")
  t.eq(errs, { "tool.json: is empty" })
  _, errs = ts.parse('{"id":"x","name":"\255","inputs":[],"outputs":[]}', "g")
  t.eq(errs, { "tool.json: is not valid UTF-8 (bad byte at offset 18)" })
end)

t.test("utf8_bom_is_an_error_but_the_rest_is_still_checked", function()
  local text = assert(json.encode(tool({ concurrent = 3 })))
  local spec, errs = ts.parse("\239\187\191" .. text, "demo")
  t.eq(spec, nil)
  t.eq(#errs, 2, errors_text(errs))
  t.contains(errs[1], "tool.json: starts with a UTF-8 byte order mark")
  t.contains(errs[2], "concurrent: must be a boolean")
end)

t.test("lua_tables_with_cycles_or_functions_are_errors", function()
  local cyc = {}
  cyc.self = cyc
  local spec, errs = ts.validate(tool({ inputs = { { key = "a", label = "A", type = "hidden", default = cyc } } }))
  t.eq(spec, nil)
  t.contains(errs[1], "inputs[0].default.self: contains itself")
  spec, errs = ts.validate(tool({ inputs = { { key = "a", label = "A", type = "hidden", default = { f = print } } } }))
  t.eq(spec, nil)
  t.contains(errs[1], "inputs[0].default.f: must be a JSON value")
  local deep = {}
  local cur = deep
  for _ = 1, 300 do cur.x = {}; cur = cur.x end
  spec, errs = ts.validate(tool({ inputs = { { key = "a", label = "A", type = "hidden", default = deep } } }))
  t.eq(spec, nil)
  t.contains(errs[1], "nested deeper than")
end)

t.test("metatables_of_a_callers_tables_are_not_consulted", function()
  local trap = { __index = function() error("index trap") end,
                 __pairs = function() error("pairs trap") end,
                 __len = function() error("len trap") end }
  local value = setmetatable(tool({ inputs = setmetatable({
    setmetatable({ key = "a", label = "A", type = "map_point", default_center = setmetatable({ 1, 2 }, trap) }, trap),
  }, trap) }), trap)
  local ok, spec = pcall(ts.validate, value, "demo")
  t.ok(ok, spec)
  t.eq(spec.inputs[1].default_center, { 1, 2 })
end)

t.test("odd_keys_are_quoted_and_truncated_in_paths", function()
  local _, errs = ts.validate(tool({ ["we ird\n"] = 1, [("z"):rep(300)] = 2 }), "demo")
  local text = errors_text(errs)
  t.contains(text, '["we ird\\x0a"]: unknown field')
  t.contains(text, '["' .. ("z"):rep(40) .. '..."]: unknown field')
  t.ok(#text < 400, text)
end)

t.test("did_you_mean_for_case_mistakes", function()
  t.contains(fails_at(tool({ Name = "x" }), "Name: unknown field"), "did you mean 'name'")
end)

t.test("example_tools_are_valid", function()
  local src = assert(os.getenv("PIXIE_SOURCE_DIR"))
  for _, id in ipairs({ "hmac-sign", "word-count" }) do
    local f = assert(io.open(("%s/examples/tools/%s/tool.json"):format(src, id)))
    local spec, errs = ts.parse(f:read("a"), id)
    f:close()
    t.ok(spec, errors_text(errs))
    t.eq(spec.id, id)
  end
end)

t.test("fuzz_seed_corpus_behaves_as_named", function()
  -- seeds named valid-* parse; every other seed gives errors
  local src = assert(os.getenv("PIXIE_SOURCE_DIR"))
  local dir = src .. "/tests/fuzz/corpus/toolspec"
  local p = assert(io.popen("ls '" .. dir .. "'"))
  local n = 0
  for name in p:lines() do
    local f = assert(io.open(dir .. "/" .. name, "rb"))
    local spec, errs = ts.parse(f:read("a"), "seed")
    f:close()
    n = n + 1
    if name:match("^valid") then
      t.ok(spec, name .. ": " .. errors_text(errs))
    else
      t.ok(not spec and #errs > 0, name)
    end
  end
  p:close()
  t.ok(n >= 10, "at least 10 seeds")
end)

-- Parses value; returns the spec and its warnings joined (fails when rejected).
local function accepts_with_warnings(value)
  local spec, errs, warnings = parse_value(value)
  if not spec then error("rejected:\n" .. errors_text(errs), 2) end
  return spec, table.concat(warnings, "\n"), warnings
end

t.test("lenient_coercions_of_the_original_are_accepted_with_a_warning", function()
  -- a clean tool.json: no warnings
  local _, text = accepts_with_warnings(tool({ max_runtime_seconds = 60, concurrent = false }))
  t.eq(text, "")
  -- "60" -> 60 (int fields)
  local spec, w = accepts_with_warnings(tool({ max_runtime_seconds = "60", retain_runs = " 7 " }))
  t.eq(spec.max_runtime_seconds, 60)
  t.eq(math.type(spec.max_runtime_seconds), "integer")
  t.eq(spec.retain_runs, 7)
  t.contains(w, 'max_runtime_seconds: the string "60" was read as the integer 60')
  t.contains(w, "retain_runs:")
  -- booleans: pydantic's words in any case, and 0/1
  local cases = { ["false"] = false, ["True"] = true, yes = true, no = false, on = true, off = false,
                  ["1"] = true, ["0"] = false, t = true, f = false, y = true, n = false }
  for word, want in pairs(cases) do
    local s2, w2 = accepts_with_warnings(tool({ concurrent = word }))
    t.eq(s2.concurrent, want, word)
    t.contains(w2, "concurrent: the string", word)
    t.contains(w2, "the boolean " .. tostring(want), word)
  end
  local s3, w3 = accepts_with_warnings(tool({ concurrent = 0, archived = 1 }))
  t.eq({ s3.concurrent, s3.archived }, { false, true })
  t.contains(w3, "concurrent: the number 0 was read as the boolean false")
  t.contains(w3, "archived: the number 1 was read as the boolean true")
  -- nested fields too: input required, output streaming, number min/max as strings
  local s4, w4 = accepts_with_warnings(tool({
    inputs = { { key = "n", label = "N", type = "number", min = "0", max = "2.5", required = "false" } },
    outputs = { { key = "o", label = "O", type = "text", streaming = 1 } },
  }))
  t.eq(s4.inputs[1].min, 0)
  t.eq(s4.inputs[1].max, 2.5)
  t.eq(s4.inputs[1].required, false)
  t.eq(s4.outputs[1].streaming, true)
  t.contains(w4, 'inputs[0].max: the string "2.5" was read as the number 2.5')
  t.contains(w4, "inputs[0].required:")
  t.contains(w4, "outputs[0].streaming:")
  -- whole numbers are floats where floats are wanted (and integers stay integers)
  t.eq(accepts(tool({ inputs = { { key = "s", label = "S", type = "slider", min = 0, max = 10 } } })).inputs[1].max, 10)
  -- still refused (deliberate tightenings)
  fails_at(tool({ concurrent = 2 }), "concurrent: must be a boolean")
  fails_at(tool({ concurrent = "maybe" }), "concurrent: must be a boolean")
  fails_at(tool({ max_runtime_seconds = true }), "max_runtime_seconds: must be an integer, got a boolean")
  fails_at(tool({ max_runtime_seconds = "0x10" }), "max_runtime_seconds")
  fails_at(tool({ inputs = { { key = "n", label = "N", type = "number", min = "nan" } } }), "inputs[0].min")
  fails_at(tool({ inputs = { { key = "n", label = "N", type = "number", min = "inf" } } }), "inputs[0].min")
  fails_at(tool({ name = 5 }), "name: must be a string")
  fails_at(tool({ max_runtime_seconds = "0" }), "max_runtime_seconds: must be an integer between 1")
end)

t.test("a_rejected_tool_json_still_reports_its_coercions", function()
  local spec, errs, warnings = parse_value(tool({ concurrent = "yes", name = 3 }))
  t.eq(spec, nil)
  t.contains(errors_text(errs), "name: must be a string")
  t.contains(table.concat(warnings, "\n"), "concurrent:")
end)

return t.run()
