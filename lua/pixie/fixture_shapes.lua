-- Reference comparators for outputs with a shape of their own, with the
-- original's semantics (its comparators/map.py, structural.py, timeline.py):
--   maps: coordinates rounded (round_digits, default 4 places, about 11 m);
--     map_points / map_heatmap as a set of points (heatmap intensities too),
--     map_route as an ordered list, map_polygons as a set of vertex sets,
--     map_choropleth by region key with float tolerance;
--   tree: node ids (`id`, else `name`) and children, matched by id unless
--     children_order is "ordered";
--   timeline / gantt / log: rows in order (`events` / `tasks` / `lines`).
-- Each compare(key, type, expected, actual, tol) -> diff | nil.
local V = require("pixie.fixture_values")

local M = {}

local NULL = V.NULL
local is_object, is_number, encode, diff = V.is_object, V.is_number, V.encode, V.diff

local function list_of(v)
  if type(v) == "table" and v ~= NULL and not is_object(v) then return v end
  return {}
end

---------------------------------------------------------------------------
-- Maps

-- A point's rounded key: "lat,lon" from {lat|latitude, lon|lng|longitude}
-- or [lat, lon, ...]; anything else keys as its JSON text.
local function point_key(p, digits)
  local lat, lon
  if is_object(p) then
    lat = p.lat ~= nil and p.lat or p.latitude
    lon = p.lon ~= nil and p.lon or (p.lng ~= nil and p.lng or p.longitude)
  elseif type(p) == "table" and p ~= NULL and #p >= 2 then
    lat, lon = p[1], p[2]
  end
  lat, lon = tonumber(lat), tonumber(lon)
  if not lat or not lon then return encode(p) end
  local f = "%." .. digits .. "f"
  -- "-0.0000" and "0.0000" are the same place
  local function r(x) return (f:format(x):gsub("^%-(0%.?0*)$", "%1")) end
  return r(lat) .. "," .. r(lon)
end

local function key_set(list, key_of)
  local set, n = {}, 0
  for _, item in ipairs(list) do
    local k = key_of(item)
    if not set[k] then set[k], n = item, n + 1 end
  end
  return set, n
end

-- Keys of a that b lacks, sorted.
local function missing_from(a, b)
  local out = {}
  for k in pairs(a) do
    if b[k] == nil then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

local function weight_of(p)
  if not is_object(p) then return nil end
  if p.intensity ~= nil then return p.intensity end
  return p.weight
end

local function compare_points(key, ty, e, a, tol, digits)
  local ep, ap = list_of(e.points), list_of(a.points)
  if #ep ~= #ap then
    return diff(key, ty, "points_round_set", #ep, #ap, ("point count differs: %d vs %d"):format(#ep, #ap))
  end
  local function key_of(p) return point_key(p, digits) end
  local es, as = key_set(ep, key_of), key_set(ap, key_of)
  local missing, extra = missing_from(es, as), missing_from(as, es)
  if #missing > 0 or #extra > 0 then
    return diff(key, ty, "points_round_set", missing, extra,
                ("point set differs (rounded %ddp): %d missing, %d extra"):format(digits, #missing, #extra))
  end
  if ty ~= "map_heatmap" then return nil end
  local rtol, atol = tonumber(tol.float_rtol) or 1.0e-6, tonumber(tol.float_atol) or 1.0e-9
  for _, k in ipairs(V.sorted_keys(es)) do
    local ew, aw = weight_of(es[k]), weight_of(as[k])
    if is_number(ew) and is_number(aw) and not V.isclose(ew, aw, rtol, atol) then
      return diff(key, ty, "points_round_set", ew, aw, ("intensity at %s differs: %s vs %s"):format(k, ew, aw))
    end
  end
  return nil
end

local function compare_route(key, ty, e, a, _, digits)
  local ep, ap = list_of(e.points), list_of(a.points)
  if #ep ~= #ap then
    return diff(key, ty, "route_round_ordered", #ep, #ap, ("vertex count differs: %d vs %d"):format(#ep, #ap))
  end
  for i = 1, #ep do
    local ek, ak = point_key(ep[i], digits), point_key(ap[i], digits)
    if ek ~= ak then
      return diff(key, ty, "route_round_ordered", ek, ak,
                  ("route vertex %d differs (rounded %ddp): %s vs %s"):format(i - 1, digits, ek, ak))
    end
  end
  return nil
end

local function compare_polygons(key, ty, e, a, _, digits)
  local ep, ap = list_of(e.polygons), list_of(a.polygons)
  if #ep ~= #ap then
    return diff(key, ty, "polygon_round_set", #ep, #ap, ("polygon count differs: %d vs %d"):format(#ep, #ap))
  end
  -- a polygon's key: the sorted set of its rounded vertices
  local function key_of(poly)
    local verts = is_object(poly) and poly.vertices or poly
    local set = key_set(list_of(verts), function(v) return point_key(v, digits) end)
    return table.concat(V.sorted_keys(set), ";")
  end
  local es, as = key_set(ep, key_of), key_set(ap, key_of)
  local mismatches = #missing_from(es, as) + #missing_from(as, es)
  if mismatches > 0 then
    return diff(key, ty, "polygon_round_set", #ep, #ap,
                ("polygon vertex sets differ (%d mismatches)"):format(mismatches))
  end
  return nil
end

-- A choropleth's values: an object (absent or [] count as empty), else nil.
local function region_values(v)
  if v == nil or is_object(v) then return v or {} end
  if type(v) == "table" and v ~= NULL and next(v) == nil then return v end
  return nil
end

local function compare_choropleth(key, ty, e, a, tol)
  local ev, av = region_values(e.values), region_values(a.values)
  if not ev or not av then
    return diff(key, ty, "keyed_values", e.values, a.values, "choropleth.values must be a dict of region->value")
  end
  local missing, extra = missing_from(ev, av), missing_from(av, ev)
  if #missing > 0 or #extra > 0 then
    return diff(key, ty, "keyed_values", missing, extra,
                ("region key set differs: missing %s, extra %s"):format(encode(missing), encode(extra)))
  end
  local rtol, atol = tonumber(tol.float_rtol) or 1.0e-6, tonumber(tol.float_atol) or 1.0e-9
  for _, region in ipairs(V.sorted_keys(ev)) do
    local x, y = ev[region], av[region]
    if V.deep(x, y, rtol, atol, "") then
      return diff(key, ty, "keyed_values", x, y,
                  ("region %s value: %s vs %s"):format(encode(region), encode(x), encode(y)))
    end
  end
  return nil
end

local MAPS = {
  map_points = compare_points, map_heatmap = compare_points, map_route = compare_route,
  map_polygons = compare_polygons, map_choropleth = compare_choropleth,
}

local function compare_map(key, ty, e, a, tol)
  if not is_object(e) or not is_object(a) then
    return diff(key, ty, "map:" .. tostring(tol.compare), e, a, "map payload must be an object")
  end
  local digits = math.tointeger(tonumber(tol.round_digits) or 4) or 4
  digits = math.max(0, math.min(digits, 12))
  return MAPS[ty](key, ty, e, a, tol, digits)
end

---------------------------------------------------------------------------
-- Trees

local function node_id(node)
  if is_object(node) then
    local id = node.id
    if id == nil or id == NULL or id == "" or id == false or id == 0 then id = node.name end
    if id == nil or id == NULL then return "" end
    return type(id) == "string" and id or encode(id)
  end
  return encode(node)
end

-- nil when the trees match, else a message naming the node's path.
local function tree_walk(e, a, ordered, path)
  if not is_object(e) or not is_object(a) then
    if not V.deep(e, a, 0, 0, "") then return nil end
    return ("node %s: leaf mismatch (%s vs %s)"):format(path, encode(e), encode(a))
  end
  if node_id(e) ~= node_id(a) then
    return ("node %s: id mismatch (%s vs %s)"):format(path, encode(node_id(e)), encode(node_id(a)))
  end
  local ec, ac = list_of(e.children), list_of(a.children)
  if #ec ~= #ac then
    return ("node %s: child count differs (%d vs %d)"):format(path, #ec, #ac)
  end
  if ordered then
    for i = 1, #ec do
      local sub = tree_walk(ec[i], ac[i], true, ("%s%d/"):format(path, i - 1))
      if sub then return sub end
    end
    return nil
  end
  local by_id = {}
  for _, c in ipairs(ac) do by_id[node_id(c)] = c end
  for _, c in ipairs(ec) do
    local id = node_id(c)
    if by_id[id] == nil then return ("node %s: child %s missing in actual"):format(path, encode(id)) end
    local sub = tree_walk(c, by_id[id], false, path .. id .. "/")
    if sub then return sub end
  end
  return nil
end

local function compare_tree(key, ty, e, a, tol)
  local er, ar = V.inner(e, "root"), V.inner(a, "root")
  local message = tree_walk(er, ar, tol.children_order == "ordered", "/")
  return message and diff(key, ty, "tree_structural", er, ar, message) or nil
end

---------------------------------------------------------------------------
-- Rows in order: timeline events, gantt tasks, log lines

local FIELD = { timeline = "events", gantt = "tasks", log = "lines" }

local function compare_rows(key, ty, e, a, tol)
  local field = FIELD[ty]
  local el = is_object(e) and e[field] or e
  local al = is_object(a) and a[field] or a
  if type(el) ~= "table" or el == NULL or is_object(el) or type(al) ~= "table" or al == NULL or is_object(al) then
    return diff(key, ty, "rows_ordered", el, al, ("%s expects a list under .%s"):format(ty, field))
  end
  if #el ~= #al then
    return diff(key, ty, "rows_ordered", #el, #al, ("%s count differs: %d vs %d"):format(field, #el, #al))
  end
  for i = 1, #el do
    local x, y = el[i], al[i]
    if ty == "log" and tol.allow_regex == true and type(x) == "string" and x:sub(1, 3) == "re:" then
      return diff(key, ty, "rows_ordered", x, y,
                  ("line %d: regular expressions (re:) are not supported by Pixie; "
                   .. "give the line exactly or set allow_regex: false"):format(i - 1))
    end
    local path, ex, ax = V.deep(x, y, 0, 0, "")
    if path then
      local where = ty == "log" and ("line %d"):format(i - 1) or ("row %d"):format(i - 1)
      if path ~= "" and is_object(x) then where = ("%s key %s"):format(where, encode(path)) end
      return diff(key, ty, "rows_ordered", x, y, ("%s: %s vs %s"):format(where, encode(ex), encode(ax)), path)
    end
  end
  return nil
end

M.COMPARE = { tree = compare_tree, timeline = compare_rows, gantt = compare_rows, log = compare_rows }
for ty in pairs(MAPS) do M.COMPARE[ty] = compare_map end

return M
