-- Built-in skill: list the home's tools with their status.
-- Uses only the pixie API (it is the reference for the built-in path).
local pixie = require("pixie")

local USAGE = "pixie run-skill list-tools [--json]"

local function run(args)
  local opts, rest = pixie.args.parse(args, { flags = { json = "boolean" }, max = 0 })
  if not opts then return pixie.args.usage_error(rest, USAGE) end
  local tools, problem = pixie.tools.list()
  if problem then error(problem, 0) end
  if opts.json then
    local rows = pixie.json.array()
    for _, t in ipairs(tools) do
      rows[#rows + 1] = {
        id = t.id,
        name = t.spec and t.spec.name or pixie.json.null,
        status = t.status,
        errors = pixie.json.array(t.errors),
      }
    end
    print((pixie.json.encode(rows, { mask = pixie.mask.scrub })))
    return 0
  end
  if #tools == 0 then
    print("no tools in " .. assert(pixie.tools.dir()))
    return 0
  end
  for _, t in ipairs(tools) do
    print(("%-24s %-7s %s"):format(t.id, t.status, t.spec and t.spec.name or ""))
    for _, e in ipairs(t.errors) do print("    error: " .. e) end
  end
  return 0
end

return {
  api = 1,
  summary = "list the tools in the home with their status",
  usage = USAGE,
  help = "  --json   print a JSON array of {id, name, status, errors}\n",
  run = run,
}
