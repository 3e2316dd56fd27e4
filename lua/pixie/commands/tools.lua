-- pixie tools [--json]
local argparse = require("pixie.argparse")
local tools = require("pixie.tools")
local json = require("pixie.json")
local out = require("pixie.out")

local command = {
  summary = "list the tools in the home, with broken ones and their errors",
  usage = "pixie tools [--json]",
  help = "  --json   print a JSON array of {id, folder, name, status, errors, warnings}\n",
  order = 10,
}

function command.run(args)
  local opts, rest = argparse.parse(args, { flags = { json = "boolean" }, max = 0 })
  if not opts then return require("pixie.cli").usage_error(rest, command.usage) end
  local list, problem = tools.list()
  if problem then
    out.error(problem)
    return 1
  end
  if opts.json then
    local rows = json.array()
    for _, t in ipairs(list) do
      rows[#rows + 1] = {
        id = t.id,
        folder = t.folder,
        name = t.spec and t.spec.name or json.null,
        status = t.status,
        errors = json.array(t.errors),
        warnings = json.array(t.warnings),
      }
    end
    out.print((out.json(rows)))
    return 0
  end
  if #list == 0 then
    out.print("no tools in " .. require("pixie.config").tools_dir())
    return 0
  end
  for _, t in ipairs(list) do
    -- the name is the tool author's text: shown on one line, escapes neutralised
    out.print(("%-24s %-7s %s"):format(t.id, t.status, t.spec and out.quote(t.spec.name, 200) or ""))
    for _, e in ipairs(t.errors) do out.print("    error: " .. e) end
    for _, w in ipairs(t.warnings) do out.print("    warning: " .. w) end
  end
  return 0
end

return command
