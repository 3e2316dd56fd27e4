-- Built-in skill: pack a tool's source into a .zip to share (SPEC §6.2).
-- Secrets (.env, .env.*), the virtual environment, git metadata, runtime
-- data, bytecode and editor/OS junk are left out at any depth; symlinks and
-- special files are never followed nor packed. The archive is written
-- atomically by pixie.zip.pack, which also re-inspects it, so what this
-- skill produces always passes import-tool's archive checks.
local pixie = require("pixie")

local USAGE = "pixie run-skill share-tool <tool-id> [-o OUT.zip] [--max-entries N] "
  .. "[--max-file-bytes N] [--max-total-bytes N] [--max-archive-bytes N] [--max-ratio N] [--ratio-min-bytes N]"

-- What is left out, one class per row: a label for the report and a test
-- on the last path component (folded to lower case) and whether it is a
-- folder. The first matching class wins.
local CLASSES = {
  { label = "secrets (.env, .env.*)",
    test = function(n) return n == ".env" or n:sub(1, 5) == ".env." end },
  { label = "virtual environment (.venv/)", test = function(n) return n == ".venv" end },
  { label = "git metadata (.git/)", test = function(n) return n == ".git" end },
  { label = "runtime data (data/)", test = function(n, dir) return dir and n == "data" end },
  { label = "bytecode (__pycache__/, *.pyc)",
    test = function(n, dir)
      return (dir and n == "__pycache__") or (not dir and (n:match("%.py[co]$") ~= nil))
    end },
  { label = "editor and OS junk",
    test = function(n, dir)
      if dir then return n == ".idea" or n == ".vscode" end
      return n == ".ds_store" or n == "thumbs.db" or n == "ehthumbs.db" or n == "desktop.ini"
        or n:sub(1, 2) == "._" or n:sub(-1) == "~" or n:match("%.sw[op]$") ~= nil
        or n:match("^#.*#$") ~= nil or n:sub(1, 2) == ".#"
    end },
}

-- The class label of relpath, or nil to pack it. Trailing dots and spaces
-- are dropped before comparing, as Windows would (".env." is a .env).
local function class_of(relpath, is_dir)
  local name = (relpath:match("[^/]+$") or relpath):lower():gsub("[%. ]+$", "")
  if name == "" then name = relpath:match("[^/]+$"):lower() end
  for _, c in ipairs(CLASSES) do
    if c.test(name, is_dir) then return c.label end
  end
  return nil
end

-- Human size: "812 B", "3.2 KiB", "4.0 MiB".
local function size_text(n)
  if n < 1024 then return ("%d B"):format(n) end
  if n < 1024 * 1024 then return ("%.1f KiB"):format(n / 1024) end
  return ("%.1f MiB"):format(n / (1024 * 1024))
end

-- Prints the paths of one class, at most `shown`, then how many more.
local function print_class(label, paths)
  local shown = 8
  local list = {}
  for i = 1, math.min(#paths, shown) do list[i] = paths[i] end
  local more = #paths > shown and (" and %d more"):format(#paths - shown) or ""
  print(("  left out %s: %s%s"):format(label, table.concat(list, ", "), more))
end

local function run(args)
  local opts, rest = pixie.args.parse(args, {
    flags = pixie.zip.limit_flags({ out = "string" }), short = { o = "out" }, min = 1, max = 1,
  })
  if not opts then return pixie.args.usage_error(rest, USAGE) end
  local entry, err = pixie.tools.get(rest[1])
  if not entry then error(err, 0) end
  if entry.status ~= "ok" then
    error(("tool '%s' is broken: %s (see 'pixie validate %s')")
      :format(entry.id, entry.errors[1] or "?", entry.id), 0)
  end
  local id = entry.spec.id
  local version = (entry.spec.version or "0.0.0"):gsub("[^%w%.%+%-]", "_")
  local out = opts.out or ("%s-%s.zip"):format(id, version)
  if out == "" then return pixie.args.usage_error("-o needs a file name", USAGE) end

  -- An older archive inside the tool folder is never packed into the new one.
  local dir_real = pixie.fs.realpath(entry.dir)
  local out_dir = out:match("^(.*)/[^/]*$") or "."
  local out_parent = pixie.fs.realpath(out_dir == "" and "/" or out_dir)
  if not out_parent then error(("cannot write %s: folder %s does not exist"):format(out, out_dir), 0) end
  local out_rel
  if dir_real and (out_parent == dir_real or out_parent:sub(1, #dir_real + 1) == dir_real .. "/") then
    out_rel = (out_parent .. "/" .. out:match("[^/]+$")):sub(#dir_real + 2)
  end

  local by_class, order = {}, {}
  local function note(label, path)
    if not by_class[label] then
      by_class[label] = {}
      order[#order + 1] = label
    end
    table.insert(by_class[label], path)
  end
  local popts = pixie.zip.limits_of(opts)
  popts.top = id
  popts.exclude = function(relpath, is_dir)
    if relpath == out_rel then
      note("the archive itself", relpath)
      return true
    end
    local label = class_of(relpath, is_dir)
    if label then note(label, relpath .. (is_dir and "/" or "")) end
    return label ~= nil
  end
  local rep, msg, reason = pixie.zip.pack(entry.dir, out, popts)
  if not rep then
    error(("cannot share %s (%s): %s"):format(id, reason, msg), 0)
  end
  for _, s in ipairs(rep.skipped) do
    if s.why == "symlink" then note("symlinks (never followed)", s.path) end
    if s.why == "special" then note("special files (FIFOs, devices, sockets)", s.path) end
  end
  local st = pixie.fs.stat(out)
  print(("Shared tool %s as %s"):format(id, out))
  print(("  %d file%s, %s (archive %s), one top folder %s/"):format(rep.files,
    rep.files == 1 and "" or "s", size_text(rep.bytes), size_text(st and st.size or 0), id))
  for _, label in ipairs(order) do print_class(label, by_class[label]) end
  if #order == 0 then print("  nothing left out") end
  print("  secrets are never shared: the receiver sets their own with set-secret")
  return 0
end

return {
  api = 1,
  summary = "pack a tool's source into <id>-<version>.zip, without secrets, venv, git or data",
  usage = USAGE,
  help = "  -o, --out FILE        the archive to write (default <id>-<version|0.0.0>.zip)\n"
    .. "  --max-entries N ...   raise a limit of the archive self-check (see docs/lua-api.md)\n",
  run = run,
}
