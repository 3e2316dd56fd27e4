-- Merging a tool's Server-Sent Events into its run's outputs (SPEC §4.1;
-- the rules are written down in docs/tool-format.md, "Streaming outputs").
-- Pure: no I/O, no masking (the caller masks every event before it comes
-- here). The C side only delivers (event name, data) pairs.
--
--   streaming(spec) -> boolean: the run streams (an output with
--     streaming = true or of type stream_text, log or progress)
--   new(spec, initial) -> state: initial = the /run answer's outputs (an
--     object; copied); state.outputs are the merged outputs, state.done
--   apply(state, name, value) -> changes: one event; name is the event's
--     name ("" when none), value its data decoded from JSON (or the raw text
--     when it is not JSON). changes is an array of
--     {key =, op = "append"|"lines"|"point"|"replace", value =}: what
--     changed, for a live view. Sets state.done on `done: true`.
--   outputs(state [, scrub]) -> the merged outputs so far (stream_text
--     pieces are joined only here, so a long stream appends in linear
--     time); with scrub, a copy whose stream_text values went through it
--     (a secret cut across two chunks is whole only once they are joined)
--   finish(state, scrub) -> outputs: the merged outputs, each stream_text
--     value passed through scrub once more (a secret cut across two chunks
--     is whole only after the merge).
local json = require("pixie.json")

local M = {}

local STREAM_TYPES = { stream_text = true, log = true, progress = true }
local SERIES_CHARTS = { chart_line = true, chart_bar = true, chart_area = true }
local WRAPPER_KEYS = { value = true, done = true, output_key = true }

function M.streaming(spec)
  for _, o in ipairs(spec.outputs or {}) do
    if o.streaming == true or STREAM_TYPES[o.type] then return true end
  end
  return false
end

-- A shallow-enough copy: tables are copied deeply (the merge appends in place).
local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return setmetatable(c, getmetatable(v))
end

function M.new(spec, initial)
  local state = { outputs = copy(initial or {}), by_key = {}, done = false, pieces = {} }
  for _, o in ipairs(spec.outputs or {}) do
    state.by_key[o.key] = o
    if o.type == "stream_text" and not state.text_key then state.text_key = o.key end
  end
  return state
end

local function is_array(t)
  return type(t) == "table" and json.is_array(t)
end

-- The scalar inside v ({value = x} or x).
local function scalar(v)
  if type(v) == "table" and v.value ~= nil then return v.value end
  return v
end

local function append_text(state, key, text, changes)
  if type(text) ~= "string" or text == "" then return end
  local pieces = state.pieces[key]
  if not pieces then
    local cur = scalar(state.outputs[key])
    pieces = { type(cur) == "string" and cur or "" }
    state.pieces[key] = pieces
  end
  pieces[#pieces + 1] = text
  changes[#changes + 1] = { key = key, op = "append", value = text }
end

function M.outputs(state, scrub)
  for key, pieces in pairs(state.pieces) do
    local text = table.concat(pieces)
    state.outputs[key] = text
    state.pieces[key] = { text }
  end
  if not scrub then return state.outputs end
  local shown = {}
  for k, v in pairs(state.outputs) do
    local o = state.by_key[k]
    shown[k] = (o and o.type == "stream_text" and type(v) == "string") and scrub(v) or v
  end
  return shown
end

-- log: {lines = [...]} replaces the lines; a string, a line object or an
-- array of lines is appended.
local function merge_log(state, key, v, changes)
  local cur = state.outputs[key]
  if type(cur) ~= "table" or type(cur.lines) ~= "table" then
    cur = { lines = {} }
    state.outputs[key] = cur
  end
  if type(v) == "table" and not is_array(v) and type(v.lines) == "table" then
    cur.lines = copy(v.lines)
    changes[#changes + 1] = { key = key, op = "lines", value = cur.lines }
    return
  end
  local added = (type(v) == "table" and is_array(v)) and v or { v }
  for _, line in ipairs(added) do cur.lines[#cur.lines + 1] = copy(line) end
  changes[#changes + 1] = { key = key, op = "append", value = added }
end

-- A single point {x =, y =, val_y = ...} (x a scalar) for a series chart.
local function is_point(v)
  return type(v) == "table" and v.x ~= nil and type(v.x) ~= "table" and v.series == nil
end

-- Appends a point: x to the chart's x, y to the first series, val_y to the
-- second (made, named "validation", when the chart has only one); any other
-- <name>_y or <name> number to the series of that name.
local function merge_point(state, key, p, changes)
  local cur = state.outputs[key]
  if type(cur) ~= "table" then cur = {}; state.outputs[key] = cur end
  if type(cur.x) ~= "table" then cur.x = {} end
  if type(cur.series) ~= "table" then cur.series = {} end
  cur.x[#cur.x + 1] = p.x
  local function series(i, name)
    local s = cur.series[i]
    if not s then
      s = { name = name, y = {} }
      cur.series[i] = s
    end
    if type(s.y) ~= "table" then s.y = {} end
    return s
  end
  if p.y ~= nil then local s = series(1, "y"); s.y[#s.y + 1] = p.y end
  if p.val_y ~= nil then local s = series(2, "validation"); s.y[#s.y + 1] = p.val_y end
  changes[#changes + 1] = { key = key, op = "point", value = p }
end

-- One output's value from an event. `final`: the value came under its own
-- key in an event saying done, which carries a stream_text's whole text
-- (the original's whisper-transcription sends its segments, then the full
-- transcript with done): it replaces rather than appends.
local function merge_key(state, key, v, changes, final)
  local o = state.by_key[key]
  if not o then return end
  if o.type == "stream_text" and type(scalar(v)) == "string" and not (final and scalar(v) ~= "") then
    append_text(state, key, scalar(v), changes)
  elseif o.type == "log" then
    merge_log(state, key, v, changes)
  elseif SERIES_CHARTS[o.type] and is_point(v) then
    merge_point(state, key, v, changes)
  else
    state.pieces[key] = nil
    state.outputs[key] = copy(v)
    changes[#changes + 1] = { key = key, op = "replace", value = v }
  end
end

-- An object keyed by output keys (the original tools' style) or the
-- documented {output_key, value, done} payload.
local function merge_object(state, obj, changes)
  if type(obj.output_key) == "string" then
    merge_key(state, obj.output_key, obj.value, changes)
  else
    for k, v in pairs(obj) do
      if k ~= "done" then
        if state.by_key[k] then
          merge_key(state, k, v, changes, obj.done == true)
        elseif k == "chunk" and state.text_key then
          append_text(state, state.text_key, v, changes)
        end
      end
    end
  end
  if obj.done == true then state.done = true end
end

-- Only the documented wrapper keys: {value =, done =}.
local function is_wrapper(v)
  if type(v) ~= "table" or is_array(v) or v.value == nil then return false end
  for k in pairs(v) do
    if not WRAPPER_KEYS[k] then return false end
  end
  return true
end

function M.apply(state, name, value)
  local changes = {}
  if name == "" or name == "message" then
    if type(value) == "table" and not is_array(value) then
      merge_object(state, value, changes)
    elseif type(value) == "string" and state.text_key then
      append_text(state, state.text_key, value, changes)
    end
  elseif name == "done" then
    state.done = true
  elseif state.by_key[name] then
    if is_wrapper(value) then
      merge_key(state, name, value.value, changes)
      if value.done == true then state.done = true end
    else
      merge_key(state, name, value, changes)
    end
  end
  return changes
end

function M.finish(state, scrub)
  return M.outputs(state, scrub)
end

return M
