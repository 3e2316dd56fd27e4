-- The command line: pixie [--home DIR] COMMAND [args...]
-- Each command is a module lua/pixie/commands/<name>.lua returning
-- { summary = "...", usage = "...", order = N, run = function(args) -> code }
-- and optionally help (text), no_home, passthrough (only a leading --help
-- is the command's; later arguments are passed on untouched).
-- Exit codes: 0 success, 1 failure, 2 usage error.
local embedded = require("pixie.embedded")
local config = require("pixie.config")
local out = require("pixie.out")

local M = {}

-- name -> command module, for every embedded command.
function M.commands()
  local commands = {}
  for _, path in ipairs(embedded.list("lua/pixie/commands/")) do
    local name = path:match("^lua/pixie/commands/([%w%-_]+)%.lua$")
    if name then
      commands[name:gsub("_", "-")] = require("pixie.commands." .. name)
    end
  end
  return commands
end

-- Prints a usage error and returns exit code 2.
function M.usage_error(message, usage)
  out.error(message)
  if usage then io.stderr:write(out.scrub("usage: " .. usage), "\n") end
  return 2
end

-- True when "--help" or "-h" appears before any "--".
function M.wants_help(args)
  for _, a in ipairs(args) do
    if a == "--" then return false end
    if a == "--help" or a == "-h" then return true end
  end
  return false
end

-- Looks up tool `id` (pixie.tools.get). Returns the entry, or prints the
-- lookup error and returns nil, 1 (the exit code for the command to return).
function M.find_tool(id)
  local entry, err = require("pixie.tools").get(id)
  if not entry then
    out.error(err)
    return nil, 1
  end
  return entry
end

-- find_tool for commands that run the tool: a broken tool is also refused
-- (its first error printed) with nil, 1.
function M.find_runnable_tool(id)
  local entry, code = M.find_tool(id)
  if not entry then return nil, code end
  if entry.status ~= "ok" then
    out.error(("tool '%s' is broken: %s"):format(entry.id, entry.errors[1]))
    return nil, 1
  end
  return entry
end

-- Prints a command's usage, summary and option help to stdout.
function M.print_help(command)
  out.print("usage: " .. command.usage)
  out.print("")
  out.print(command.summary)
  if command.help then
    out.print("")
    out.write(command.help:gsub("\n*$", "\n"))
  end
end

-- Flushes stdout: code when all output was written, else 1 with an error
-- (a full disk or closed stdout must not pass for success).
local function finish(code)
  local flushed, werr = out.flush()
  if not flushed then
    out.error("cannot write the output: " .. tostring(werr))
    return 1
  end
  return code
end

function M.main(args)
  local i = 1
  local home
  while args[i] and args[i]:sub(1, 1) == "-" do
    local a = args[i]
    if a == "--home" then
      home = args[i + 1]
      if not home or home == "" then return M.usage_error("--home needs a folder") end
      i = i + 2
    elseif a:match("^%-%-home=") then
      home = a:sub(8)
      if home == "" then return M.usage_error("--home needs a folder") end
      i = i + 1
    elseif a == "--help" or a == "-h" then
      args = { "help" }
      i = 1
      break
    elseif a == "--version" then
      args = { "version" }
      i = 1
      break
    else
      return M.usage_error("unknown option " .. out.quote(a), "pixie [--home DIR] COMMAND [args...]")
    end
  end
  local name = args[i]
  if not name then
    require("pixie.commands.help").run({})
    return 2
  end
  local command = M.commands()[name]
  if not command then
    return M.usage_error("unknown command '" .. out.quote(name) .. "' (see 'pixie help')")
  end
  if home or not command.no_home then
    local ok, err = config.set_home(home)
    if not ok then out.error(err); return 1 end
    require("pixie.log").open(config.logs_dir())
    if command.scan_secrets then
      require("pixie.secrets").register_home((require("pixie.tools").list()))
    end
  end
  local rest = table.move(args, i + 1, #args, 1, {})
  -- A passthrough command (run-skill) hands later arguments on unchanged,
  -- so only a leading --help is its own.
  local help
  if command.passthrough then
    help = rest[1] == "--help" or rest[1] == "-h"
  else
    help = M.wants_help(rest)
  end
  if help then
    M.print_help(command)
    return finish(0)
  end
  return finish(command.run(rest) or 0)
end

return M
