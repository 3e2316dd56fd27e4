-- Masking the SQL text a skill hands pixie.db (docs/lua-api.md, pixie.db):
--
--   sqlmask.mask(sql, scrub) -> masked sql | nil, message
--
-- The text is split into SQLite tokens that can carry a value: string and
-- blob literals ('...', X'...'), quoted identifiers ("...", `...`, [...]),
-- comments and the rest. Each quoted token's content is unescaped, passed
-- to scrub (known secret values become ***) and quoted again, so a literal
-- holding a secret stores *** exactly as a bound parameter would. A known
-- secret anywhere else (a number, a bare word, a comment) is refused: it
-- cannot be masked without changing the statement, and a bound parameter
-- is the way to pass it.
local M = {}

-- Closing character of each quote that opens a token.
local CLOSE = { ["'"] = "'", ['"'] = '"', ["`"] = "`", ["["] = "]" }

-- Finds the end of the quoted token opened at i (character q). Returns the
-- index of its closing quote (nil when unterminated) and its unescaped
-- content (a doubled closing quote stands for one, except in [...]).
local function quoted(sql, i, q)
  local close = CLOSE[q]
  local parts, pos = {}, i + 1
  while true do
    local j = sql:find(close, pos, true)
    if not j then
      parts[#parts + 1] = sql:sub(pos)
      return nil, table.concat(parts)
    end
    parts[#parts + 1] = sql:sub(pos, j - 1)
    if close ~= "]" and sql:sub(j + 1, j + 1) == close then
      parts[#parts + 1] = close
      pos = j + 2
    else
      return j, table.concat(parts)
    end
  end
end

-- End of the comment starting at i ("--" to the line end, "/*" to "*/").
local function comment_end(sql, i)
  if sql:sub(i, i + 1) == "--" then
    return (sql:find("\n", i + 2, true)) or #sql
  end
  local j = sql:find("*/", i + 2, true)
  return j and j + 1 or #sql
end

function M.mask(sql, scrub)
  local out, bare_from, i, n = {}, 1, 1, #sql
  -- Keeps the bare text from bare_from to upto; false when it holds a secret.
  local function bare(upto)
    local text = sql:sub(bare_from, upto)
    out[#out + 1] = text
    return scrub(text) == text
  end
  local clean = true
  while clean and i <= n do
    local c = sql:sub(i, i)
    local two = sql:sub(i, i + 1)
    if CLOSE[c] then
      clean = bare(i - 1)
      local j, content = quoted(sql, i, c)
      local masked = scrub(content)
      if c ~= "[" then masked = masked:gsub(CLOSE[c], CLOSE[c] .. CLOSE[c]) end
      out[#out + 1] = c .. masked .. (j and CLOSE[c] or "")
      i = (j or n) + 1
      bare_from = i
    elseif two == "--" or two == "/*" then
      i = comment_end(sql, i) + 1 -- comments stay in the bare text
    else
      i = i + 1
    end
  end
  if not (clean and bare(n)) then
    return nil, "the SQL text holds a known secret value outside a string literal;"
      .. " pass it as a bound parameter (?)"
  end
  return table.concat(out)
end

return M
