-- Tool discovery (SPEC §2): every direct subfolder of tools/ (dot-folders
-- skipped) is a tool; one whose tool.json is missing, unreadable, not JSON
-- or invalid is listed as broken with every error, never hidden. Two folders
-- with one id are both broken. Parses are cached by (mtime, size) of
-- tool.json, so listing again is cheap.
local fs = require("pixie.fs")
local config = require("pixie.config")
local sys = require("pixie.sys")
local toolspec = require("pixie.toolspec")
local utf8text = require("pixie.utf8text")

local M = {}

local TOOL_JSON_LIMIT = 1024 * 1024

-- folder path -> { mtime_ns, size, spec, errors }
local cache = {}

local errno = sys.errno

-- Parses dir/tool.json, reusing the cached result when unchanged.
-- Returns spec | nil, errors (array); then the coercion warnings (array or nil).
local function load_spec(dir, folder)
  local path = dir .. "/tool.json"
  local st, _, scode = fs.stat(path)
  if not st then
    cache[dir] = nil
    if scode == errno.ENOENT then return nil, { "tool.json is missing" } end
    return nil, { "tool.json: " .. sys.strerror(scode) }
  end
  local hit = cache[dir]
  if hit and hit.mtime_ns == st.mtime_ns and hit.size == st.size then
    return hit.spec, hit.errors, hit.warnings
  end
  local spec, errors, warnings
  if st.type ~= "file" then
    errors = { "tool.json is not a regular file" }
  else
    local text, _, code = fs.read(path, { limit = TOOL_JSON_LIMIT })
    if code == errno.EFBIG then
      errors = { ("tool.json is larger than %d bytes"):format(TOOL_JSON_LIMIT) }
    elseif not text then
      errors = { "tool.json cannot be read: " .. sys.strerror(code) }
    else
      spec, errors, warnings = toolspec.parse(text, folder)
    end
  end
  cache[dir] = { mtime_ns = st.mtime_ns, size = st.size, spec = spec, errors = errors, warnings = warnings }
  return spec, errors, warnings
end

-- The entry of a tools/ child that is a symlink which cannot be followed
-- (dangling or a loop): listed as broken rather than hidden. nil otherwise.
local function unfollowable(dir, folder)
  local lst = fs.stat(dir, { nofollow = true })
  if not lst or lst.type ~= "link" then return nil end
  local _, _, code = fs.stat(dir)
  return {
    id = folder, folder = folder, dir = dir, errors = {
      "the tool folder is a symlink that cannot be followed: " .. sys.strerror(code),
    }, warnings = {},
  }
end

-- The entry of a tools/ child whose name is not valid UTF-8: listed as
-- broken under the name with each bad byte as \xNN (no tool id, URL, JSON
-- document or database row can carry the raw name). Never parsed or run.
local function misnamed(dir, folder)
  local shown = utf8text.repair(folder)
  return {
    id = shown, folder = shown, dir = dir, errors = {
      "the folder name is not valid UTF-8; rename the folder",
    }, warnings = {},
  }
end

-- Lists every tool in the home's tools folder (config.tools_dir()), sorted
-- by id. Each entry: { id, folder, dir, status = "ok"|"broken",
-- errors = {...}, warnings = {...}, spec = normalised spec or nil }
-- A missing tools/ gives an empty list; one that is not a readable folder,
-- or a home that cannot be used, gives the empty list and a message as
-- second result.
function M.list()
  local entries = {}
  local tools_dir, derr = config.tools_dir()
  if not tools_dir then return entries, derr end
  local names, lerr, code = fs.list(tools_dir)
  if not names then
    if code == errno.ENOENT then return entries end -- a fresh home
    if code == errno.ENOTDIR then return entries, tools_dir .. " is not a folder" end
    return entries, "cannot list the tools: " .. tostring(lerr)
  end
  for _, folder in ipairs(names) do
    local dir = tools_dir .. "/" .. folder
    -- hidden folders and Python's bytecode cache (made when a tool imports
    -- a sibling module) are never tools
    local st = folder:sub(1, 1) ~= "." and folder ~= "__pycache__" and fs.stat(dir)
    if st and not utf8text.valid(folder) then
      entries[#entries + 1] = misnamed(dir, folder)
    elseif st and st.type == "directory" then
      local spec, errors, coercions = load_spec(dir, folder)
      local entry = {
        id = spec and spec.id or folder,
        folder = folder,
        dir = dir,
        spec = spec,
        errors = {},
        warnings = {},
      }
      for _, e in ipairs(errors or {}) do entry.errors[#entry.errors + 1] = e end
      for _, w in ipairs(coercions or {}) do entry.warnings[#entry.warnings + 1] = w end
      if spec and spec.id ~= folder then
        entry.warnings[#entry.warnings + 1] =
          ("folder name '%s' differs from the tool id '%s'"):format(folder, spec.id)
      end
      entries[#entries + 1] = entry
    elseif folder:sub(1, 1) ~= "." and not st then
      entries[#entries + 1] = unfollowable(dir, folder)
    end
  end
  local by_id = {}
  for _, e in ipairs(entries) do
    by_id[e.id] = by_id[e.id] or {}
    table.insert(by_id[e.id], e)
  end
  for id, group in pairs(by_id) do
    if #group > 1 then
      for _, e in ipairs(group) do
        for _, other in ipairs(group) do
          if other ~= e then
            e.errors[#e.errors + 1] =
              ("duplicate id '%s': folder '%s' declares it too"):format(id, other.folder)
          end
        end
      end
    end
  end
  for _, e in ipairs(entries) do
    e.status = #e.errors == 0 and "ok" or "broken"
  end
  table.sort(entries, function(a, b)
    if a.id ~= b.id then return a.id < b.id end
    return a.folder < b.folder
  end)
  return entries
end

-- The tool with this id, or nil, message. A broken tool is returned too
-- (check entry.status).
function M.get(id)
  local list, problem = M.list()
  for _, e in ipairs(list) do
    if e.id == id and e.status == "ok" then return e end
  end
  for _, e in ipairs(list) do
    if e.id == id or e.folder == id then return e end
  end
  if problem then return nil, problem end
  return nil, "unknown tool '" .. require("pixie.out").quote(tostring(id)) .. "'"
end

-- Forgets every cached parse (tests and long-lived servers after edits).
function M.clear_cache()
  cache = {}
end

return M
