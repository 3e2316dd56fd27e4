-- Built-in skill: set or clear one secret in a tool's own .env (SPEC §6.2,
-- §3.2-§3.4). The value never comes from the command line: it is typed at a
-- hidden prompt on a terminal, read from stdin to EOF, or read from
-- --from-file. Nothing this skill prints ever contains the value or its
-- length.
local pixie = require("pixie")

local USAGE = "pixie run-skill set-secret <tool-id> <KEY> [--from-file PATH] [--clear] [--force]"
local MAX_BYTES = 64 * 1024
local KEY_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
local FRAGMENT_PATTERN = "^[A-Z_][A-Z0-9_]*="
local NOT_FROM_ARGV = "values are never taken from the command line; "
  .. "type it at the prompt, pipe it on stdin or use --from-file PATH"

-- A failure: one line on stderr ("pixie: skill set-secret: ..."), exit 1.
local function fail(message)
  error(message, 0)
end

-- Parses args. Returns opts {id, key, from_file, clear, force} or nil,
-- message (a usage error). Messages never repeat an argument's text that
-- could be a value pasted by mistake.
local function parse(args)
  local opts, positional = {}, {}
  local i, options_done = 1, false
  while i <= #args do
    local a = args[i]
    if options_done or a:sub(1, 1) ~= "-" or a == "-" then
      positional[#positional + 1] = a
    elseif a == "--" then
      options_done = true
    elseif a == "--clear" then
      opts.clear = true
    elseif a == "--force" then
      opts.force = true
    elseif a == "--from-file" then
      opts.from_file = args[i + 1]
      if not opts.from_file then return nil, "--from-file needs a PATH" end
      i = i + 1
    elseif a:match("^%-%-from%-file=") then
      opts.from_file = a:sub(#"--from-file=" + 1)
    else
      local name = a:match("^(%-%-[a-z][a-z-]*)=") or a:match("^%-%-[a-z][a-z-]*$")
      if not name or a:find("=", 1, true) then
        return nil, "unknown option " .. (name or "") .. "; " .. NOT_FROM_ARGV
      end
      return nil, "unknown option " .. name
    end
    i = i + 1
  end
  if #positional > 2 then return nil, "too many arguments: " .. NOT_FROM_ARGV end
  if #positional < 2 then return nil, "expected <tool-id> and <KEY>" end
  if opts.clear and opts.from_file then return nil, "--clear takes no value (drop --from-file)" end
  opts.id, opts.key = positional[1], positional[2]
  if not opts.key:match(KEY_PATTERN) then
    if opts.key:find("=", 1, true) then return nil, "KEY must be a name alone: " .. NOT_FROM_ARGV end
    return nil, "invalid KEY name (it must match " .. KEY_PATTERN .. ")"
  end
  if opts.from_file == "" then return nil, "--from-file needs a PATH" end
  return opts
end

-- The tool entry for id; fails when it is unknown or broken.
local function find_tool(id)
  local entry, err = pixie.tools.get(id)
  if not entry then fail(err) end
  if entry.status ~= "ok" then
    fail(("tool '%s' is broken: %s (see 'pixie validate %s')"):format(id, entry.errors[1] or "?", id))
  end
  return entry
end

local function is_declared(entry, key)
  for _, s in ipairs(entry.spec.secrets or {}) do
    if s.key == key then return true end
  end
  return false
end

-- Removes exactly one trailing "\n" or "\r\n".
local function strip_one_newline(value)
  if value:sub(-2) == "\r\n" then return value:sub(1, -3) end
  if value:sub(-1) == "\n" then return value:sub(1, -2) end
  return value
end

-- Reads the value from --from-file, the terminal or stdin. The value is
-- registered for masking before anything else happens to it.
local function read_value(opts, interactive)
  local value, err, code
  if opts.from_file then
    value, err, code = pixie.fs.read(opts.from_file, { limit = MAX_BYTES })
    if not value and code == pixie.sys.errno.EFBIG then
      fail(("%s is longer than %d bytes; refused (nothing was written)"):format(opts.from_file, MAX_BYTES))
    end
    if not value then fail(err) end
    value = strip_one_newline(value)
  elseif interactive then
    value, err = pixie.term.read_secret(("Value for %s (input hidden): "):format(opts.key), { max = MAX_BYTES })
    if err == "too long" then
      fail("value too long for terminal input; pipe it on stdin or use --from-file PATH (nothing was written)")
    end
    if not value then fail("could not read the value: " .. tostring(err) .. " (nothing was written)") end
  else
    value, err = pixie.term.read_stdin(MAX_BYTES)
    if not value then fail(tostring(err) .. " on stdin; refused (nothing was written)") end
    value = strip_one_newline(value)
  end
  pixie.mask.add(value)
  return value
end

-- Refuses values that are empty or look like a pasted .env fragment.
local function check_value(value)
  if value == "" then fail("empty value refused (nothing was written); use --clear to remove a secret") end
  if value:match(FRAGMENT_PATTERN) then
    fail("the value looks like a .env line (NAME=...), usually a paste of several keys; "
      .. "give the value alone (nothing was written)")
  end
end

-- Asks (terminal) or requires --force (no terminal) for an undeclared key.
-- Returns true to go on.
local function confirm_undeclared(opts, interactive)
  if not opts.force and not interactive then
    fail(("%s is not declared in tool.json of %s; pass --force to set it anyway"):format(opts.key, opts.id))
  end
  pixie.log.warn(("%s is not declared in the secrets of tool %s; the tool may ignore it"):format(opts.key, opts.id))
  if opts.force then return true end
  return pixie.term.confirm(("Set undeclared %s anyway? [y/N] "):format(opts.key)) == true
end

local function run(args)
  local opts, perr = parse(args)
  if not opts then return pixie.args.usage_error(perr, USAGE) end
  local entry = find_tool(opts.id)
  -- pixie.env.set_secret / clear_secret (the dashboard's path too): every
  -- .env operation stays inside the home's tools folder (a tool folder that
  -- is a symlink to elsewhere is refused, never written through), then the
  -- tool's warm process is stopped so the next run sees the change.
  if opts.clear then
    local ok, removed = pixie.env.clear_secret(entry, opts.key)
    if not ok then fail(removed) end
    if removed > 0 then
      print(("Secret %s cleared for tool %s."):format(opts.key, opts.id))
    else
      print(("Secret %s was not set for tool %s; nothing to clear."):format(opts.key, opts.id))
    end
    return 0
  end
  local interactive = pixie.term.isatty("stdin")
  if not is_declared(entry, opts.key) and not confirm_undeclared(opts, interactive) then
    print("Nothing was written.")
    return 1
  end
  local value = read_value(opts, interactive)
  check_value(value)
  -- pixie.env's refusals name the key, never the value or its length, so
  -- they are printed as they come (set-secret never tells the length, §6.2).
  local ok, warnings = pixie.env.set_secret(entry, opts.key, value)
  if not ok then fail(warnings) end
  for _, w in ipairs(warnings) do pixie.log.warn(w) end
  print(("Secret %s set for tool %s."):format(opts.key, opts.id))
  return 0
end

return {
  api = 1,
  summary = "set or clear a secret in a tool's .env (the value is never taken from argv)",
  usage = USAGE,
  help = [[
  On a terminal the value is typed at a hidden prompt; otherwise it is read
  from stdin to end of input (at most 64 KiB) and one trailing newline is
  removed. The value is never taken from the command line.
  --from-file PATH   read the value from PATH (at most 64 KiB, one trailing
                     newline removed)
  --clear            remove KEY from the tool's .env
  --force            set a KEY the tool does not declare without asking
]],
  run = run,
}
