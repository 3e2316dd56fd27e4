-- pixie logs ID [-n N] [--follow]
local argparse = require("pixie.argparse")
local out = require("pixie.out")

local command = {
  summary = "show a tool's captured output (masked), optionally following it",
  usage = "pixie logs ID [-n N] [--follow]",
  help = "  -n, --lines N   how many recent lines to show (default 50)\n"
    .. "  --follow        keep printing new output until interrupted\n",
  order = 22,
  scan_secrets = true,
}

local FOLLOW_POLL_MS = 250

local function print_rows(rows)
  local last
  for _, r in ipairs(rows) do
    local text = r.text:gsub("\n$", "")
    for line in (text .. "\n"):gmatch("(.-)\n") do
      out.print(("%s %-6s %s"):format(r.ts, r.stream, line))
    end
    last = r.id
  end
  return last
end

function command.run(args)
  local cli = require("pixie.cli")
  local opts, rest = argparse.parse(args, {
    flags = { lines = "integer", follow = "boolean" }, short = { n = "lines" }, min = 1, max = 1,
  })
  if not opts then return cli.usage_error(rest, command.usage) end
  local n = opts.lines or 50
  if n < 1 then return cli.usage_error("-n must be at least 1", command.usage) end
  local entry, code = cli.find_tool(rest[1])
  if not entry then return code end
  local st, serr = require("pixie.runs").store()
  if not st then out.error(serr); return 1 end
  local rows, qerr = st:spawn_log_tail(entry.id, 0, n)
  if not rows then out.error(qerr); return 1 end
  local last = print_rows(rows) or 0
  out.flush()
  while opts.follow do
    require("pixie.sys").sleep_ms(FOLLOW_POLL_MS)
    local more = st:spawn_log_tail(entry.id, last, 500)
    if more then
      last = print_rows(more) or last
      local flushed, werr = out.flush()
      if not flushed then -- the reader went away: stop following
        out.error("cannot write the output: " .. tostring(werr))
        return 1
      end
    end
  end
  return 0
end

return command
