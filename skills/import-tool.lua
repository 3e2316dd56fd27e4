-- Built-in skill: install a tool from a .zip (SPEC §6.2).
--
-- Order: the whole archive is inspected first (pixie.zip.inspect: names,
-- types, .env/.git/.venv, duplicates, encryption, sizes, one top folder);
-- the id is checked (valid, not installed unless --replace); only then is
-- anything written, and only into a fresh hidden staging folder under
-- tools/ (".staging-<pid>-XXXXXX", 0700, never listed as a tool). There
-- the bytes are counted, tool.json is validated (with the new id for
-- --as), and the folder is renamed into place in one step
-- (renameat2 RENAME_NOREPLACE; --replace exchanges it with the old folder
-- atomically). Any failure removes the staging folder, so tools/ is left
-- exactly as it was; a staging folder left by a killed import is removed
-- by the next one. Afterwards: `uv sync` when uv exists, the validator,
-- and which secrets to set. Secrets are never imported: an archive with a
-- .env anywhere is refused.
local pixie = require("pixie")

local USAGE = "pixie run-skill import-tool <file.zip> [--as NEW-ID] [--replace] [--no-validate] "
  .. "[--max-entries N] [--max-file-bytes N] [--max-total-bytes N] [--max-archive-bytes N] "
  .. "[--max-ratio N] [--ratio-min-bytes N]"
local TOOL_JSON_LIMIT = 1024 * 1024
local STAGING_PATTERN = "^%.staging%-(%d+)%-%w%w%w%w%w%w$"

local function fail(message) error(message, 0) end

-- A refusal: "refused FILE (reason): message", one line, exit 1. `reason`
-- is pixie.zip's code or one of this skill's (no_tool_json, invalid_id,
-- invalid_tool_json, id_mismatch, installed).
local zip_path
local function refuse(reason, message)
  fail(("refused %s (%s): %s"):format(zip_path, reason, message))
end

-- True when id is a valid tool id (asked of the tool.json model itself).
local function valid_id(id)
  return pixie.tools.validate_spec({ id = id, name = "n", inputs = {}, outputs = {} }) ~= nil
end

-- Removes staging folders whose import process is gone (killed mid-way).
local function sweep(tools_dir)
  for _, name in ipairs(pixie.fs.list(tools_dir) or {}) do
    local pid = name:match(STAGING_PATTERN)
    if pid and not pixie.fs.stat("/proc/" .. pid) then
      pixie.zip.discard(tools_dir .. "/" .. name)
    end
  end
end

-- The tool.json text staged at dir, given the id `id`: the file's own
-- bytes when its id already is `id`, else the same text with only the id
-- member's value changed. Returns text, spec or fails.
local function staged_spec(dir, id, top)
  local text, err = pixie.fs.read(dir .. "/tool.json", { limit = TOOL_JSON_LIMIT, nofollow = true })
  if not text then refuse("invalid_tool_json", "tool.json cannot be read: " .. err) end
  local decoded, derr = pixie.json.decode(text)
  if type(decoded) ~= "table" or pixie.json.is_array(decoded) then
    refuse("invalid_tool_json", "tool.json is not a JSON object" .. (derr and (": " .. derr) or ""))
  end
  if decoded.id ~= id then
    if decoded.id ~= top then
      refuse("id_mismatch", ("tool.json declares id '%s' but the archive's folder is '%s'")
        :format(tostring(decoded.id), top))
    end
    local n
    text, n = text:gsub('("id"%s*:%s*)"' .. top:gsub("%-", "%%-") .. '"', '%1"' .. id .. '"', 1)
    local check = n == 1 and pixie.json.decode(text)
    if not check or check.id ~= id then refuse("invalid_tool_json", "cannot set the id in tool.json") end
    decoded = check
  end
  local spec, errors = pixie.tools.validate_spec(decoded, id)
  if not spec then refuse("invalid_tool_json", "tool.json is invalid: " .. table.concat(errors, "; ")) end
  return text, spec
end

-- The path of `prog` on PATH, or nil.
local function on_path(prog)
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local st = pixie.fs.stat(dir .. "/" .. prog)
    if st and st.type == "file" then return dir .. "/" .. prog end
  end
  return nil
end

-- The environment handed to uv and to the validator: this process's own
-- basics (never a tool's secrets).
local function base_env()
  local env = {}
  for _, k in ipairs({ "PATH", "HOME", "LANG", "PIXIE_PYTHON", "XDG_CONFIG_HOME", "UV_CACHE_DIR" }) do
    env[k] = os.getenv(k)
  end
  return env
end

-- uv sync, then the validator (pixie validate ID), reporting both.
local function after_install(entry)
  local env = base_env()
  local uv = on_path("uv")
  if uv then
    print("Running uv sync ...")
    local r = pixie.proc.run({ uv, "sync" }, { cwd = entry.dir, env = env, timeout_ms = 600000 })
    local exit_status = r and r.code
    if exit_status ~= 0 then
      print("  uv sync failed:\n" .. ((r and (r.stderr ~= "" and r.stderr or r.stdout)) or "?"))
    end
  else
    print(("uv not found: create the venv with  cd %s && python3 -m venv .venv && "
      .. ".venv/bin/pip install -e .  (or install uv and run uv sync)"):format(entry.dir))
  end
  local exe = pixie.fs.realpath("/proc/self/exe")
  local home = pixie.home()
  if not exe or not home then
    print("Validate it with: pixie validate " .. entry.id)
    return
  end
  local r = pixie.proc.run({ exe, "--home", home, "validate", entry.id }, { env = env, timeout_ms = 600000 })
  if r then io.write(r.stdout, r.stderr) end
end

-- Tells the user which declared secrets to set (names only: none came along).
local function print_secrets(spec)
  if #(spec.secrets or {}) == 0 then return end
  print("Secrets are never imported; set this tool's own with:")
  for _, s in ipairs(spec.secrets) do
    print(("  pixie run-skill set-secret %s %s%s"):format(spec.id, s.key,
      s.required and "   (required)" or ""))
  end
end

local function run(args)
  local opts, rest = pixie.args.parse(args, {
    flags = pixie.zip.limit_flags({ as = "string", replace = "boolean", ["no-validate"] = "boolean" }),
    min = 1, max = 1,
  })
  if not opts then return pixie.args.usage_error(rest, USAGE) end
  zip_path = rest[1]
  local limits = pixie.zip.limits_of(opts)

  -- 1. The whole archive, before anything is written.
  local report, msg, reason = pixie.zip.inspect(zip_path, limits)
  if not report then refuse(reason, msg) end
  local has_spec = false
  for _, e in ipairs(report.entries) do
    if e.name == "tool.json" and e.type == "file" then has_spec = true end
  end
  if not has_spec then
    refuse("no_tool_json", ("no tool.json in its folder %s/"):format(report.top))
  end
  local id = opts.as or report.top
  if not valid_id(id) then
    refuse("invalid_id", ("'%s' is not a valid tool id (a lowercase letter, then lowercase "
      .. "letters, digits or '-')%s"):format(id, opts.as and "" or "; use --as NEW-ID"))
  end

  -- 2. The id must be free (or --replace).
  local tools_dir = assert(pixie.tools.dir())
  local made, merr = pixie.fs.mkdirs(tools_dir)
  if not made then fail(merr) end
  sweep(tools_dir)
  local dest = tools_dir .. "/" .. id
  local existing = pixie.fs.stat(dest, { nofollow = true })
  for _, e in ipairs(pixie.tools.list()) do
    if e.id == id and e.folder ~= id then
      refuse("installed", ("folder %s already holds tool '%s'"):format(e.folder, id))
    end
  end
  if existing and not opts.replace then
    refuse("installed", ("tool '%s' is already installed (use --replace, or --as NEW-ID)"):format(id))
  end
  if existing and existing.type ~= "directory" then
    refuse("installed", ("%s exists and is not a folder"):format(dest))
  end

  -- 3. Staging: extracted, counted and validated while invisible.
  local staging, serr = pixie.zip.stage(tools_dir)
  if not staging then fail(serr) end
  local guard <close> = setmetatable({}, { __close = function()
    if staging then pixie.zip.discard(staging) end
  end })
  local x, xmsg, xreason = pixie.zip.extract(zip_path, staging, limits)
  if not x then refuse(xreason, xmsg) end
  if x.files ~= report.files or x.bytes ~= report.bytes then
    refuse("size_mismatch", ("extracted %d files, %d bytes; the archive declares %d, %d")
      :format(x.files, x.bytes, report.files, report.bytes))
  end
  local text, spec = staged_spec(staging, id, report.top)
  if opts.as and opts.as ~= report.top then
    local ok, werr = pixie.fs.write_atomic(staging .. "/tool.json", text, 420)
    if not ok then fail(werr) end
  end
  local ok, cerr = pixie.fs.chmod(staging, 493)
  if not ok then fail(cerr) end

  -- 4. Into place in one step.
  local committed, replaced_or_err = pixie.zip.commit(staging, dest, { replace = opts.replace })
  if not committed then fail(replaced_or_err) end
  staging = nil
  print(("Imported tool %s (%d files, %d bytes) into %s%s"):format(id, x.files, x.bytes, dest,
    replaced_or_err and ", replacing the old version" or ""))

  -- 5. Afterwards: environment, validator, secrets.
  if not opts["no-validate"] then
    local entry = pixie.tools.get(id)
    if entry then after_install(entry) end
  end
  print_secrets(spec)
  return 0
end

return {
  api = 1,
  summary = "install a tool from a .zip: checked whole first, staged, renamed into place atomically",
  usage = USAGE,
  help = "  --as NEW-ID        install under another id (tool.json's id is rewritten)\n"
    .. "  --replace          replace an installed tool of that id (atomically)\n"
    .. "  --no-validate      skip uv sync and the validator afterwards\n"
    .. "  --max-entries N ...  raise an archive limit (defaults in docs/lua-api.md, pixie.zip)\n",
  run = run,
}
