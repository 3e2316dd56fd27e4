-- The one place Pixie's own Lua code writes to the terminal. Everything
-- written here passes secret masking (pixie.mask) as the last step, after
-- any escaping (mask at the sink: docs/security.md).
local mask = require("pixie.mask")
local term = require("pixie.term")
local json = require("pixie.json")

local M = {}

-- Returns text (tostring'd) with every registered secret value masked.
function M.scrub(text)
  return mask.scrub(tostring(text))
end

local write_error -- the first failed stdout write (disk full, closed), or nil

local stdout_is_terminal -- decided on the first write

-- Writes text to stdout, remembering the first failure. On a terminal,
-- control characters (from tools' labels, outputs or logs) are shown as
-- \xNN instead of being obeyed; piped output stays byte for byte.
local function emit(text)
  if stdout_is_terminal == nil then
    stdout_is_terminal = term.isatty("stdout")
  end
  if stdout_is_terminal then text = M.scrub(term.escape(text)) end
  local ok, err = io.stdout:write(text)
  if not ok and not write_error then write_error = err end
end

-- Writes the arguments (tostring'd, tab-separated) and a newline to stdout.
function M.print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  emit(M.scrub(table.concat(parts, "\t")) .. "\n")
end

-- Writes raw text to stdout (no newline added).
function M.write(text)
  emit(M.scrub(text))
end

-- Flushes stdout. Returns true | nil, message when this or any earlier
-- write to stdout failed (the output is then incomplete).
function M.flush()
  local ok, err = io.stdout:flush()
  if not ok and not write_error then write_error = err end
  if write_error then return nil, write_error end
  return true
end

-- JSON text of value (json.encode options, e.g. indent) masked at the
-- sink and still valid JSON: see json.encode's opts.mask. Returns text |
-- nil, reason (a value JSON cannot hold).
function M.json(value, opts)
  local o = { mask = M.scrub }
  for k, v in pairs(opts or {}) do o[k] = v end
  return json.encode(value, o)
end

-- The length of the longest start of text of at most limit bytes that
-- ends at a UTF-8 character boundary and not inside a "***".
local function head_length(text, limit)
  if #text <= limit then return #text end
  local cut = limit
  while cut > 0 and ((text:byte(cut + 1) & 0xC0) == 0x80
                     or (text:byte(cut) == 42 and text:byte(cut + 1) == 42)) do
    cut = cut - 1
  end
  return cut
end

-- text masked, then cut to at most limit bytes (mask first, then cut, so
-- a secret across the cut cannot leave its start behind): the start of
-- the text, or its end when from_end is true; never inside a UTF-8
-- character or a "***".
function M.clip(text, limit, from_end)
  text = M.scrub(text)
  if #text <= limit then return text end
  if not from_end then return text:sub(1, head_length(text, limit)) end
  local start = #text - limit + 1
  while start <= #text and ((text:byte(start) & 0xC0) == 0x80
                            or (text:byte(start - 1) == 42 and text:byte(start) == 42)) do
    start = start + 1
  end
  return text:sub(start)
end

local QUOTE_LIMIT = 80

-- A user-supplied string (an argument, a name, a path) made fit to echo
-- in a one-line message: secrets masked, every control character (newlines
-- too) as \xNN, masked again, cut to `limit` bytes (default 80, at a UTF-8
-- character boundary, never inside "***") with "... (N bytes)" when longer.
function M.quote(text, limit)
  limit = limit or QUOTE_LIMIT
  text = M.scrub(term.escape(M.scrub(text), "controls"))
  if #text <= limit then return text end
  return text:sub(1, head_length(text, limit)) .. ("... (%d bytes)"):format(#text)
end

-- Writes "pixie: <message>" to stderr, control characters other than tab
-- and newline as \xNN (pixie.term.escape, the rule log lines follow too),
-- so a message cannot carry terminal escapes.
function M.error(message)
  io.stderr:write(M.scrub(term.escape(M.scrub("pixie: " .. tostring(message)))), "\n")
  io.stderr:flush()
end

-- Writes a warning line to stderr, escaped as M.error does.
function M.warn(message)
  io.stderr:write(M.scrub(term.escape(M.scrub("pixie: warning: " .. tostring(message)))), "\n")
end

return M
