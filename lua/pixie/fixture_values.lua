-- The small vocabulary of the reference comparators (lua/pixie/fixtures.lua,
-- lua/pixie/fixture_shapes.lua): JSON value tests, math.isclose, a diff
-- record, and deep equality with float tolerance.
--   diff = {output_key, output_type, comparator, expected, actual, metric, path}
local json = require("pixie.json")

local M = {}

local NULL = json.null
M.NULL = NULL

function M.is_object(v)
  return type(v) == "table" and v ~= NULL and not json.is_array(v)
end

-- v.field when v is an object holding it (an output's {value: ...},
-- {images: [...]}, {root: ...} wrapper), else v itself.
function M.inner(v, field)
  if M.is_object(v) and v[field] ~= nil then return v[field] end
  return v
end

function M.is_number(v)
  return type(v) == "number"
end

function M.isclose(a, b, rtol, atol)
  if a ~= a and b ~= b then return true end -- two NaNs match
  if a ~= a or b ~= b then return false end
  if a == b then return true end
  if a == math.huge or a == -math.huge or b == math.huge or b == -math.huge then return false end
  local d = math.abs(a - b)
  return d <= math.max(rtol * math.max(math.abs(a), math.abs(b)), atol)
end

-- Achieved relative difference, for messages.
function M.rel(a, b)
  local d = math.abs(a - b)
  return d / math.max(math.abs(a), math.abs(b), 1.0e-300), d
end

function M.encode(v)
  if v == nil then return "null" end
  return json.encode(v) or tostring(v)
end

function M.diff(key, ty, comparator, expected, actual, metric, path)
  return { output_key = key, output_type = ty, comparator = comparator, expected = expected,
           actual = actual, metric = metric, path = path }
end

function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Deep equality of JSON values with float tolerance on numbers. Returns
-- nil on match, else path, expected value, actual value there.
-- opts.allow_extra: extra object keys of `actual` (top level only) are fine.
function M.deep(e, a, rtol, atol, path, allow_extra)
  if M.is_number(e) and M.is_number(a) then
    if M.isclose(e, a, rtol, atol) then return nil end
    return path, e, a
  end
  if type(e) ~= "table" or type(a) ~= "table" or e == NULL or a == NULL then
    if e == a then return nil end
    return path, e, a
  end
  local ea, aa = json.is_array(e), json.is_array(a)
  if ea ~= aa then return path, e, a end
  if ea then
    if #e ~= #a then return path .. ".length", #e, #a end
    for i = 1, #e do
      local p, x, y = M.deep(e[i], a[i], rtol, atol, ("%s[%d]"):format(path, i - 1))
      if p then return p, x, y end
    end
    return nil
  end
  for _, k in ipairs(M.sorted_keys(e)) do
    local sub = path == "" and tostring(k) or (path .. "." .. tostring(k))
    if a[k] == nil then return sub, e[k], nil end
    local p, x, y = M.deep(e[k], a[k], rtol, atol, sub)
    if p then return p, x, y end
  end
  if not allow_extra then
    for _, k in ipairs(M.sorted_keys(a)) do
      if e[k] == nil then return path == "" and tostring(k) or (path .. "." .. tostring(k)), nil, a[k] end
    end
  end
  return nil
end

return M
