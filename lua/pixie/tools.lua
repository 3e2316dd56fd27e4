-- Tool discovery (SPEC §2): every direct subfolder of tools/ (dot-folders
-- skipped) is a tool; one whose tool.json is missing, unreadable, not JSON
-- or invalid is listed as broken with every error, never hidden. Two folders
-- with one id are both broken. Parses are cached by (mtime, size) of
-- tool.json, so listing again is cheap.
local fs = require("pixie.fs")
local config = require("pixie.config")
local toolspec = require("pixie.toolspec")

local M = {}

local TOOL_JSON_LIMIT = 1024 * 1024

-- folder path -> { mtime_ns, size, spec, errors }
local cache = {}

-- Parses dir/tool.json, reusing the cached result when unchanged.
-- Returns spec | nil, errors (array).
local function load_spec(dir, folder)
  local path = dir .. "/tool.json"
  local st, err = fs.stat(path)
  if not st then
    cache[dir] = nil
    if err:match("No such file") then return nil, { "tool.json is missing" } end
    return nil, { "tool.json: " .. err:gsub("^.-: ", "") }
  end
  local hit = cache[dir]
  if hit and hit.mtime_ns == st.mtime_ns and hit.size == st.size then
    return hit.spec, hit.errors
  end
  local spec, errors
  if st.type ~= "file" then
    errors = { "tool.json is not a regular file" }
  else
    local text, rerr, code = fs.read(path, { limit = TOOL_JSON_LIMIT })
    if code == 27 then -- EFBIG
      errors = { ("tool.json is larger than %d bytes"):format(TOOL_JSON_LIMIT) }
    elseif not text then
      errors = { "tool.json cannot be read: " .. rerr:gsub("^.-: ", "") }
    else
      spec, errors = toolspec.parse(text, folder)
    end
  end
  cache[dir] = { mtime_ns = st.mtime_ns, size = st.size, spec = spec, errors = errors }
  return spec, errors
end

-- The entry of a tools/ child that is a symlink which cannot be followed
-- (dangling or a loop): listed as broken rather than hidden. nil otherwise.
local function unfollowable(dir, folder)
  local lst = fs.stat(dir, { nofollow = true })
  if not lst or lst.type ~= "link" then return nil end
  local _, err = fs.stat(dir)
  return {
    id = folder, folder = folder, dir = dir, errors = {
      "the tool folder is a symlink that cannot be followed: " .. tostring(err):gsub("^.*: ", ""),
    }, warnings = {},
  }
end

-- Lists every tool under home/tools, sorted by id.
-- Each entry: { id, folder, dir, status = "ok"|"broken", errors = {...},
--               warnings = {...}, spec = normalised spec or nil }
-- A missing tools/ gives an empty list; one that is not a readable folder
-- gives the empty list and a message as second result.
function M.list(home)
  local tools_dir = (home or config.home()) .. "/tools"
  local names, lerr, code = fs.list(tools_dir)
  local entries = {}
  if not names then
    if code == 2 then return entries end -- ENOENT: a fresh home
    if code == 20 then return entries, tools_dir .. " is not a folder" end -- ENOTDIR
    return entries, "cannot list the tools: " .. tostring(lerr)
  end
  for _, folder in ipairs(names) do
    local dir = tools_dir .. "/" .. folder
    local st = folder:sub(1, 1) ~= "." and fs.stat(dir)
    if st and st.type == "directory" then
      local spec, errors = load_spec(dir, folder)
      local entry = {
        id = spec and spec.id or folder,
        folder = folder,
        dir = dir,
        spec = spec,
        errors = {},
        warnings = {},
      }
      for _, e in ipairs(errors or {}) do entry.errors[#entry.errors + 1] = e end
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
function M.get(id, home)
  local list, problem = M.list(home)
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
