-- pixie skills [--json]
local argparse = require("pixie.argparse")
local json = require("pixie.json")
local out = require("pixie.out")
local skills = require("pixie.skills")

local command = {
  summary = "list the skills (yours and built-in) and where each comes from",
  usage = "pixie skills [--json]",
  help = "  --json   print a JSON array of {name, origin, path, shadows, summary, usage, error}\n"
    .. "\n"
    .. "Search order: HOME/skills (user), $XDG_CONFIG_HOME/pixie/skills (config),\n"
    .. "then the built-in skills; the first match wins.\n",
  order = 40,
}

function command.run(args)
  local opts, rest = argparse.parse(args, { flags = { json = "boolean" }, max = 0 })
  if not opts then return require("pixie.cli").usage_error(rest, command.usage) end
  local list, problems = skills.list()
  for _, p in ipairs(problems) do out.warn(p) end
  if opts.json then
    local rows = json.array()
    for _, s in ipairs(list) do
      rows[#rows + 1] = {
        name = s.name,
        origin = s.origin,
        path = s.path,
        shadows = s.shadows or json.null,
        summary = s.summary or json.null,
        usage = s.usage or json.null,
        error = s.error or json.null,
      }
    end
    out.print((out.json(rows)))
    return 0
  end
  for _, s in ipairs(list) do
    local mark = s.shadows and (" (shadows " .. s.shadows .. ")") or ""
    if s.error then
      out.print(("%-22s %-9s BROKEN%s"):format(s.name, s.origin, mark))
      out.print("    error: " .. s.error)
    else
      out.print(("%-22s %-9s %s%s"):format(s.name, s.origin, s.summary, mark))
    end
  end
  return 0
end

return command
