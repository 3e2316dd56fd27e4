-- Output conformance (SPEC §4.4, reference/pixie-original.md §6 shape rules).
-- conform(spec, body) -> problems: array of {level = "fail"|"warn", message}
-- A missing or null declared key fails; an undeclared extra key warns.
local json = require("pixie.json")

local M = {}

local SCALAR = {
  text = "string", markdown = "string", code = "string", latex = "string",
  stream_text = "string", image = "string", audio = "string", video = "string",
  number = "number", progress = "number", boolean = "boolean",
}

local REQUIRED_FIELDS = {
  table = { "columns", "rows" }, kv = { "pairs" },
  chart_line = { "x", "series" }, chart_bar = { "x", "series" }, chart_area = { "x", "series" },
  chart_scatter = { "series" }, chart_pie = { "slices" }, chart_histogram = { "values" },
  chart_boxplot = { "series" }, chart_heatmap = { "z" }, chart_candlestick = { "points" },
  chart_radar = { "axes", "series" }, chart_sankey = { "nodes", "links" },
  chart_treemap = { "nodes" }, chart_network = { "nodes", "edges" },
  map_points = { "points" }, map_heatmap = { "points" }, map_route = { "points" },
  map_choropleth = { "geojson", "values" }, map_polygons = { "polygons" },
  image_grid = { "images" }, image_compare = { "before", "after" }, diff = { "before", "after" },
  tree = { "root" }, timeline = { "events" }, gantt = { "tasks" }, log = { "lines" },
  file = { "filename", "data" },
}

-- Returns nil when value fits the output, else a reason.
local function shape_problem(output, value)
  local want = SCALAR[output.type]
  if want then
    if type(value) == "table" and value.value ~= nil then value = value.value end
    if want == "number" and math.type(value) ~= nil then return nil end
    if want == "boolean" and (type(value) == "boolean" or value == 0 or value == 1) then return nil end
    if want == "string" and type(value) == "string" then return nil end
    return ("must be a %s%s"):format(want, want == "boolean" and " (or 0/1)" or "")
  end
  local fields = REQUIRED_FIELDS[output.type]
  if fields then
    if type(value) ~= "table" then return "must be an object" end
    local missing = {}
    for _, f in ipairs(fields) do
      if value[f] == nil or value[f] == json.null then missing[#missing + 1] = f end
    end
    if #missing > 0 then return "is missing " .. table.concat(missing, ", ") end
  end
  return nil
end

function M.conform(spec, body)
  local problems = {}
  if type(body) ~= "table" or (#body > 0) then
    return { { level = "fail", message = "the answer is not a JSON object" } }
  end
  local declared = {}
  for _, output in ipairs(spec.outputs or {}) do
    declared[output.key] = true
    local v = body[output.key]
    if v == nil or v == json.null then
      problems[#problems + 1] = { level = "fail", message = ("output '%s' is missing"):format(output.key) }
    else
      local why = shape_problem(output, v)
      if why then
        problems[#problems + 1] = {
          level = "fail", message = ("output '%s' (%s) %s"):format(output.key, output.type, why),
        }
      end
    end
  end
  local extra = {}
  for k in pairs(body) do
    if not declared[k] then extra[#extra + 1] = tostring(k) end
  end
  table.sort(extra)
  for _, k in ipairs(extra) do
    problems[#problems + 1] = { level = "warn", message = ("undeclared output '%s'"):format(k) }
  end
  return problems
end

return M
