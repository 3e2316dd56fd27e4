-- pixie help [COMMAND]
local out = require("pixie.out")

local command = {
  summary = "show the commands, or one command's usage",
  usage = "pixie help [COMMAND]",
  no_home = true,
  order = 100,
}

function command.run(args)
  local cli = require("pixie.cli")
  local commands = cli.commands()
  if args[1] then
    local c = commands[args[1]]
    if not c then return cli.usage_error("unknown command '" .. out.quote(args[1]) .. "'") end
    cli.print_help(c)
    return 0
  end
  local names = {}
  for name in pairs(commands) do names[#names + 1] = name end
  table.sort(names, function(a, b)
    local oa, ob = commands[a].order or 50, commands[b].order or 50
    if oa ~= ob then return oa < ob end
    return a < b
  end)
  out.print("usage: pixie [--home DIR] COMMAND [args...]")
  out.print("")
  out.print("Pixie runs your own small tools and keeps their secrets safe.")
  out.print("The home (tools/, pixie.db, logs/, skills/) is --home, else $PIXIE_HOME, else the current folder.")
  out.print("")
  out.print("commands:")
  for _, name in ipairs(names) do
    out.print(("  %-10s %s"):format(name, commands[name].summary))
  end
  out.print("")
  out.print("'pixie COMMAND --help' shows a command's options.")
  return 0
end

return command
