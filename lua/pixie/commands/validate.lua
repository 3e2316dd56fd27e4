-- pixie validate ID [--json] [--reference-only] [--fixture NAME] [--tag TAG]
local argparse = require("pixie.argparse")
local out = require("pixie.out")

local command = {
  summary = "check a tool end to end (spawn, schema, sample run, outputs) and store the report",
  usage = "pixie validate ID [--json] [--reference-only] [--fixture NAME] [--tag TAG]",
  help = "  --json             print the report as JSON\n"
    .. "  --reference-only   only the reference fixtures (skip the sample run, output and streaming checks)\n"
    .. "  --fixture NAME     only the reference fixture NAME (its name, or file fixture_NAME.json)\n"
    .. "  --tag TAG          only the reference fixtures tagged TAG\n"
    .. "Exit 1 when any check fails.\n",
  order = 21,
  scan_secrets = true,
}

local MARK = { pass = "PASS", warn = "WARN", fail = "FAIL", skip = "SKIP" }

function command.run(args)
  local cli = require("pixie.cli")
  local opts, rest = argparse.parse(args, {
    flags = { json = "boolean", ["reference-only"] = "boolean", fixture = "string", tag = "string" },
    min = 1, max = 1,
  })
  if not opts then return cli.usage_error(rest, command.usage) end
  local entry, code = cli.find_tool(rest[1])
  if not entry then return code end
  -- a database that cannot be used fails here, before a tool is spawned
  local st, store_err = require("pixie.runs").store()
  if not st then out.error(store_err); return 1 end
  local validator = require("pixie.validator")
  local report, _, serr = validator.validate_and_store(entry, {
    reference_only = opts["reference-only"], fixture = opts.fixture, tag = opts.tag,
  })
  if serr then out.warn("report not stored: " .. serr) end
  if opts.json then
    out.print((out.json(report)))
  else
    out.print(("%s: %s"):format(report.tool_id, report.overall))
    for _, c in ipairs(report.checks) do
      local lines = {}
      for line in (c.message or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
      out.print(("  %s  %-24s %s"):format(MARK[c.status], c.name, lines[1] or ""))
      for i = 2, #lines do out.print(("        %-24s %s"):format("", lines[i])) end
    end
  end
  return report.overall == "fail" and 1 or 0
end

return command
