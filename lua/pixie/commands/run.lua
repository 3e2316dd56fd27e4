-- pixie run ID [key=value...] [--inputs FILE|-] [--json]
local argparse = require("pixie.argparse")
local json = require("pixie.json")
local out = require("pixie.out")
local inputs = require("pixie.inputs")
local sys = require("pixie.sys")

local command = {
  summary = "run a tool once with the given inputs and print its outputs",
  usage = "pixie run ID [key=value...] [--inputs FILE|-] [--json]",
  help = [[
  key=value      one input; converted to the input's type (numbers, true/false,
                 comma lists or JSON arrays for multiselect/tags, JSON for json)
  --inputs FILE  read a JSON object of inputs from FILE ('-' for stdin);
                 key=value arguments override it
  --json         print the run record as JSON
The tool is started, run once, and stopped. Exit 1 when the run fails.
Ctrl-C cancels the run (a streaming tool is asked to cancel first): it is
recorded as cancelled and the exit code is 130.
A streaming tool's text and log lines are shown as they arrive when the
output is a terminal (without --json); the final outputs follow.
]],
  order = 20,
  scan_secrets = true,
}

local INPUTS_LIMIT = 1024 * 1024
local EFBIG = sys.errno.EFBIG

-- Reads the --inputs source (a file, or stdin for "-"): a JSON object of
-- at most 1 MiB of UTF-8. Returns table | nil, message (naming the source).
local function read_inputs_file(source)
  local label = source == "-" and "--inputs - (stdin)" or ("--inputs " .. out.quote(source))
  local text, _, code
  if source == "-" then
    text = io.stdin:read(INPUTS_LIMIT + 1) or ""
    if #text > INPUTS_LIMIT then code = EFBIG end
  else
    text, _, code = require("pixie.fs").read(source, { limit = INPUTS_LIMIT })
  end
  if code == EFBIG then return nil, ("%s is larger than %d bytes"):format(label, INPUTS_LIMIT) end
  if not text then return nil, label .. ": " .. sys.strerror(code) end
  if text:match("^%s*$") then return nil, label .. " is empty (expected a JSON object)" end
  if not utf8.len(text) then return nil, label .. " is not valid UTF-8" end
  local value, derr = json.decode(text)
  if value == nil then return nil, label .. ": " .. derr end
  if type(value) ~= "table" or json.is_array(value) then return nil, label .. ": not a JSON object" end
  return value
end

-- Formats one output value for the terminal.
local function show(value)
  if type(value) == "table" then
    if value.value ~= nil and next(value, next(value)) == nil then return show(value.value) end
    return out.json(value, { indent = true }) or tostring(value)
  end
  if value == json.null then return "null" end
  return tostring(value)
end

local function print_record(record, spec)
  if record.status ~= "ok" then
    out.error(("run %s %s: %s"):format(record.id, record.status, record.error_text or ""))
    return
  end
  local shown = {}
  for _, o in ipairs(spec.outputs) do
    local v = record.outputs[o.key]
    if v ~= nil then
      out.print(("%s: %s"):format(o.label, show(v)))
      shown[o.key] = true
    end
  end
  for k, v in pairs(record.outputs) do
    if not shown[k] then out.print(("%s: %s"):format(k, show(v))) end
  end
end

-- One log line as text: a string, or {level, message} (else its JSON).
local function log_line(line)
  if type(line) ~= "table" then return tostring(line) end
  local text = line.message ~= nil and tostring(line.message) or (out.json(line) or "?")
  return line.level ~= nil and ("[%s] %s"):format(tostring(line.level), text) or text
end

-- A runs.execute on_event that prints streamed text and log lines as they
-- arrive, and a function to call when the run is over (ends the last line).
local function live_printer(spec)
  local labels, printed, mid_line = {}, {}, false
  for _, o in ipairs(spec.outputs) do labels[o.key] = o.label end
  local function line(text)
    if mid_line then out.write("\n"); mid_line = false end
    out.print(text)
  end
  local function on_event(changes)
    for _, c in ipairs(changes) do
      if c.op == "append" and type(c.value) == "string" then
        out.write(c.value)
        mid_line = c.value:sub(-1) ~= "\n"
      elseif c.op == "append" and type(c.value) == "table" then
        for _, l in ipairs(c.value) do line(("%s: %s"):format(labels[c.key], log_line(l))) end
        printed[c.key] = (printed[c.key] or 0) + #c.value
      elseif c.op == "lines" then
        local from = printed[c.key] or 0
        if #c.value < from then from = 0 end -- a shorter list: shown again
        for i = from + 1, #c.value do line(("%s: %s"):format(labels[c.key], log_line(c.value[i]))) end
        printed[c.key] = #c.value
      end
    end
    out.flush()
  end
  return on_event, function()
    if mid_line then out.write("\n") end
  end
end

function command.run(args)
  local cli = require("pixie.cli")
  local opts, rest = argparse.parse(args, { flags = { json = "boolean", inputs = "string" }, min = 1 })
  if not opts then return cli.usage_error(rest, command.usage) end
  local entry, code = cli.find_runnable_tool(rest[1])
  if not entry then return code end
  local given = {}
  if opts.inputs then
    local value, ierr = read_inputs_file(opts.inputs)
    if not value then out.error(ierr); return 1 end
    given = value
  end
  for i = 2, #rest do
    local key, text = rest[i]:match("^([^=]+)=(.*)$")
    if not key then return cli.usage_error("expected key=value, got '" .. out.quote(rest[i]) .. "'", command.usage) end
    local value, cerr = inputs.coerce(entry.spec, key, text)
    if value == nil then out.error(cerr); return 1 end
    given[key] = value
  end
  local runs = require("pixie.runs")
  local on_event, live_done
  if not opts.json and require("pixie.term").isatty("stdout") then
    on_event, live_done = live_printer(entry.spec)
  end
  -- Ctrl-C during the run cancels it (recorded `cancelled`, exit 130)
  local armed = sys.interrupt_arm()
  local ok, record, problem = pcall(runs.execute, entry, given, { source = "cli", on_event = on_event })
  if armed then sys.interrupt_disarm() end
  if not ok then error(record, 0) end
  if live_done then live_done() end
  require("pixie.launcher").stop(entry.spec.id)
  if not record then
    out.error(problem.message)
    return 1
  end
  if opts.json then
    out.print((out.json({
      run_id = record.id, tool_id = record.tool_id, status = record.status,
      outputs = record.outputs or json.null, error = record.error_text or json.null,
      duration_ms = record.duration_ms, started_at = record.started_at,
    })))
  else
    print_record(record, entry.spec)
  end
  if record.status == "cancelled" then return 130 end
  return record.status == "ok" and 0 or 1
end

return command
