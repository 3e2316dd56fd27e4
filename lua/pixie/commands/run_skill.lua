-- pixie run-skill NAME [args...]
local skills = require("pixie.skills")

local command = {
  summary = "run a skill (see 'pixie skills'); 'run-skill NAME --help' shows its usage",
  usage = "pixie run-skill NAME [args...]",
  help = "Arguments after NAME go to the skill unchanged; 'pixie run-skill NAME --help'\n"
    .. "prints the skill's own usage.\n",
  order = 41,
  scan_secrets = true,
  -- cli.lua shows this command's help only for "--help" right after the
  -- command name; later arguments belong to the skill.
  passthrough = true,
}

function command.run(args)
  local name = args[1]
  if not name or name == "" then
    return require("pixie.cli").usage_error("run-skill needs a skill name (see 'pixie skills')",
      command.usage)
  end
  if name:sub(1, 1) == "-" then
    return require("pixie.cli").usage_error("unknown option " .. name, command.usage)
  end
  return skills.run(name, table.move(args, 2, #args, 1, {}))
end

return command
