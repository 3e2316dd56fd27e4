-- pixie skills [--json] [--export-claude DIR]
local argparse = require("pixie.argparse")
local json = require("pixie.json")
local out = require("pixie.out")
local skills = require("pixie.skills")
local utf8text = require("pixie.utf8text")

local command = {
  summary = "list the skills (yours and built-in) and where each comes from",
  usage = "pixie skills [--json] [--export-claude DIR]",
  help = "  --json               print a JSON array of {name, origin, path, shadows, summary,\n"
    .. "                       usage, error}\n"
    .. "  --export-claude DIR  write DIR/<name>/SKILL.md, a Claude Code skill calling\n"
    .. "                       'pixie --home HOME run-skill <name>', for every skill listed\n"
    .. "                       (see docs/skills.md, \"Using skills from Claude Code\")\n"
    .. "\n"
    .. "Search order: HOME/skills (user), $XDG_CONFIG_HOME/pixie/skills (config),\n"
    .. "then the built-in skills; the first match wins.\n",
  order = 40,
}

function command.run(args)
  local opts, rest = argparse.parse(args,
    { flags = { json = "boolean", ["export-claude"] = "string" }, max = 0 })
  if not opts then return require("pixie.cli").usage_error(rest, command.usage) end
  if opts["export-claude"] then
    if opts.json then
      return require("pixie.cli").usage_error("--json and --export-claude do not go together",
        command.usage)
    end
    return require("pixie.claude_export").export(opts["export-claude"],
      { info = out.print, warn = out.warn, error = out.error })
  end
  local list, problems = skills.list()
  for _, p in ipairs(problems) do out.warn(p) end
  if opts.json then
    -- a skill's text may hold any bytes; JSON must be UTF-8 (bad bytes as \xNN)
    local function text(v) return v and utf8text.repair(v) or json.null end
    local rows = json.array()
    for _, s in ipairs(list) do
      rows[#rows + 1] = {
        name = text(s.name),
        origin = s.origin,
        path = text(s.path),
        shadows = s.shadows or json.null,
        summary = text(s.summary),
        usage = text(s.usage),
        error = text(s.error),
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
