-- Built-in skill: rewrite tool.json from older shapes to the current one
-- (SPEC §6.2). tool.json is edited the way the .env writer edits .env: only
-- the members a migration changes change; every other byte (indentation,
-- key order, other fields, the final newline) is kept. The file is
-- scanned into a tree of byte spans, each migration (a pure function of
-- that tree) returns edits, the edits are applied to the text, and the
-- result must validate before anything is written. Writes are atomic
-- (temporary file, fsync, rename) after the old text is kept as
-- tool.json.bak. A second run changes nothing. --dry-run prints a diff and
-- writes nothing. A schema_version newer than this skill knows is refused.
local pixie = require("pixie")

local USAGE = "pixie run-skill migrate-tool-format <tool-id>|--all [--dry-run]"
local TOOL_JSON_LIMIT = 1024 * 1024
local CURRENT = { 1, 0 } -- the newest schema_version this skill knows ("1.0")

-- ---- a JSON scanner that keeps byte spans --------------------------------
-- node = { kind = "object"|"array"|"string"|"other", s, e (inclusive byte
-- offsets), value (strings), members = { {key, ks, ke, node}... } (objects),
-- items = { node... } (arrays) }. Only the layout matters here: the text
-- is also decoded by pixie.json, which is the judge of validity.

local scan_value

local function skip_ws(text, i)
  return text:find("[^ \t\r\n]", i) or #text + 1
end

local function scan_string(text, i)
  local j = i + 1
  while true do
    local c = text:find('["\\]', j)
    if not c then error("unterminated string", 0) end
    if text:sub(c, c) == '"' then
      return { kind = "string", s = i, e = c, value = pixie.json.decode(text:sub(i, c)) }, c + 1
    end
    j = c + 2
  end
end

local function scan_container(text, i, close, item)
  local node = { s = i }
  i = skip_ws(text, i + 1)
  if text:sub(i, i) == close then
    node.e = i
    return node, i + 1
  end
  while true do
    i = item(node, i)
    i = skip_ws(text, i)
    local c = text:sub(i, i)
    if c == close then
      node.e = i
      return node, i + 1
    end
    if c ~= "," then error("expected ',' or '" .. close .. "' at byte " .. i, 0) end
    i = skip_ws(text, i + 1)
  end
end

function scan_value(text, i)
  i = skip_ws(text, i)
  local c = text:sub(i, i)
  if c == "{" then
    local node, ni = scan_container(text, i, "}", function(node, j)
      if text:sub(j, j) ~= '"' then error("expected a key at byte " .. j, 0) end
      local key, kj = scan_string(text, j)
      kj = skip_ws(text, kj)
      if text:sub(kj, kj) ~= ":" then error("expected ':' at byte " .. kj, 0) end
      local value, vj = scan_value(text, kj + 1)
      node.members = node.members or {}
      table.insert(node.members, { key = key.value, ks = key.s, ke = key.e, node = value })
      return vj
    end)
    node.kind, node.members = "object", node.members or {}
    return node, ni
  elseif c == "[" then
    local node, ni = scan_container(text, i, "]", function(node, j)
      local value, vj = scan_value(text, j)
      node.items = node.items or {}
      table.insert(node.items, value)
      return vj
    end)
    node.kind, node.items = "array", node.items or {}
    return node, ni
  elseif c == '"' then
    return scan_string(text, i)
  end
  local e = (text:find("[,}%]%s]", i) or #text + 1) - 1
  if e < i then error("unexpected character at byte " .. i, 0) end
  return { kind = "other", s = i, e = e }, e + 1
end

local function member(object, key)
  for idx, m in ipairs(object.members) do
    if m.key == key then return m, idx end
  end
  return nil
end

-- ---- edits ----------------------------------------------------------------
-- An edit replaces text[s..e] (inclusive; e = s - 1 inserts) with `with`.

-- The edit renaming member m's key.
local function rename_key(m, new_key)
  return { s = m.ks, e = m.ke, with = pixie.json.encode(new_key) }
end

-- The edit removing member number idx of object (with one adjacent comma
-- and the whitespace before the next member, so the layout stays).
local function remove_member(object, idx)
  local ms = object.members
  if idx < #ms then return { s = ms[idx].ks, e = ms[idx + 1].ks - 1, with = "" } end
  if idx > 1 then return { s = ms[idx - 1].node.e + 1, e = ms[idx].node.e, with = "" } end
  return { s = ms[idx].ks, e = ms[idx].node.e, with = "" }
end

local function apply(text, edits)
  table.sort(edits, function(a, b) return a.s > b.s end)
  for _, ed in ipairs(edits) do text = text:sub(1, ed.s - 1) .. ed.with .. text:sub(ed.e + 1) end
  return text
end

-- ---- migrations -----------------------------------------------------------
-- Keyed by the schema_version a file declares (absent: "1.0"): pure
-- functions (root object node) -> array of edits, with a note each. A
-- future shape adds its key here, and a migration that moves a file to a
-- newer version edits its schema_version member too.

-- secrets[i].label -> description (an existing description is kept and the
-- label dropped).
local function secrets_label_to_description(root)
  local edits = {}
  local secrets = member(root, "secrets")
  if not secrets or secrets.node.kind ~= "array" then return edits end
  for _, s in ipairs(secrets.node.items) do
    if s.kind == "object" then
      local label, idx = member(s, "label")
      if label then
        if member(s, "description") then
          edits[#edits + 1] = remove_member(s, idx)
        else
          edits[#edits + 1] = rename_key(label, "description")
        end
      end
    end
  end
  return edits
end

local MIGRATIONS = {
  ["1.0"] = { secrets_label_to_description },
}

-- The version table {major, minor} of a schema_version string, or nil.
local function version_of(v)
  local major, minor = tostring(v):match("^(%d+)%.(%d+)$")
  if not major then
    major = tostring(v):match("^(%d+)$")
    minor = major and "0"
  end
  return major and { tonumber(major), tonumber(minor) }
end

local function newer(a, b)
  return a[1] > b[1] or (a[1] == b[1] and a[2] > b[2])
end

-- Migrates text. Returns new_text (equal to text when current) or nil, message.
local function migrate(text, name)
  local decoded, derr = pixie.json.decode(text)
  if type(decoded) ~= "table" or pixie.json.is_array(decoded) then
    return nil, "tool.json is not a JSON object" .. (derr and (": " .. derr) or "")
  end
  local declared = decoded.schema_version or "1.0"
  local version = version_of(declared)
  if not version then return nil, ("unknown schema_version %s"):format(tostring(declared)) end
  if newer(version, CURRENT) then
    return nil, ("schema_version %s is newer than this pixie knows (%d.%d); upgrade pixie")
      :format(tostring(declared), CURRENT[1], CURRENT[2])
  end
  local ok, root = pcall(scan_value, text, 1)
  if not ok then return nil, "tool.json cannot be scanned: " .. tostring(root) end
  local key = ("%d.%d"):format(version[1], version[2])
  local edits = {}
  for _, fn in ipairs(MIGRATIONS[key] or {}) do
    for _, ed in ipairs(fn(root)) do edits[#edits + 1] = ed end
  end
  local out = apply(text, edits)
  local _, errors = pixie.tools.validate_spec(out, name)
  if errors then return nil, "still invalid after migrating: " .. table.concat(errors, "; ") end
  return out
end

-- ---- diff -----------------------------------------------------------------

local function lines_of(text)
  local t = {}
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do t[#t + 1] = line end
  return t
end

-- Prints the changed lines of a -> b (a line LCS; tool.json is small).
local function print_diff(path, a, b)
  local x, y = lines_of(a), lines_of(b)
  local n, m = #x, #y
  local lcs = {}
  for i = n + 1, 1, -1 do
    lcs[i] = {}
    for j = m + 1, 1, -1 do
      if i > n or j > m then
        lcs[i][j] = 0
      elseif x[i] == y[j] then
        lcs[i][j] = lcs[i + 1][j + 1] + 1
      else
        lcs[i][j] = math.max(lcs[i + 1][j], lcs[i][j + 1])
      end
    end
  end
  print("--- " .. path)
  print("+++ " .. path .. " (migrated)")
  local i, j = 1, 1
  while i <= n or j <= m do
    if i <= n and j <= m and x[i] == y[j] then
      i, j = i + 1, j + 1
    elseif i <= n and (j > m or lcs[i + 1][j] >= lcs[i][j + 1]) then
      print(("-%d: %s"):format(i, x[i]))
      i = i + 1
    else
      print(("+%d: %s"):format(j, y[j]))
      j = j + 1
    end
  end
end

-- ---- the skill ------------------------------------------------------------

-- Migrates one tool folder. Returns true or false (a message printed).
local function migrate_tool(id, dir, dry_run)
  local path = dir .. "/tool.json"
  local text, rerr = pixie.fs.read(path, { limit = TOOL_JSON_LIMIT, nofollow = true })
  if not text then
    pixie.log.error(("%s: %s"):format(id, rerr))
    return false
  end
  local out, err = migrate(text, id)
  if not out then
    pixie.log.error(("%s: refused, nothing written: %s"):format(id, err))
    return false
  end
  if out == text then
    print(("%s: tool.json is current; nothing to change"):format(id))
    return true
  end
  if dry_run then
    print_diff(path, text, out)
    print(("%s: would rewrite tool.json (dry run: nothing written)"):format(id))
    return true
  end
  local st = pixie.fs.stat(path)
  local mode = st and st.mode or 420
  local ok, werr = pixie.fs.write_atomic(path .. ".bak", text, mode)
  if ok then ok, werr = pixie.fs.write_atomic(path, out, mode) end
  if not ok then
    pixie.log.error(("%s: %s"):format(id, werr))
    return false
  end
  print(("%s: tool.json migrated (the old one is tool.json.bak)"):format(id))
  return true
end

local function run(args)
  local opts, rest = pixie.args.parse(args, {
    flags = { all = "boolean", ["dry-run"] = "boolean" }, max = 1,
  })
  if not opts then return pixie.args.usage_error(rest, USAGE) end
  if (opts.all and rest[1]) or (not opts.all and not rest[1]) then
    return pixie.args.usage_error("give one <tool-id> or --all", USAGE)
  end
  local targets = {}
  if opts.all then
    local list, problem = pixie.tools.list()
    if problem then error(problem, 0) end
    for _, e in ipairs(list) do targets[#targets + 1] = { id = e.folder, dir = e.dir } end
  else
    local entry, err = pixie.tools.get(rest[1])
    if not entry then error(err, 0) end
    targets[1] = { id = entry.folder, dir = entry.dir }
  end
  local all_ok = true
  for _, t in ipairs(targets) do
    all_ok = migrate_tool(t.id, t.dir, opts["dry-run"]) and all_ok
  end
  return all_ok and 0 or 1
end

return {
  api = 1,
  summary = "rewrite tool.json from older shapes (secrets' label -> description), keeping its layout",
  usage = USAGE,
  help = "  --all       migrate every tool\n"
    .. "  --dry-run   print the changes as a diff and write nothing\n",
  run = run,
}
