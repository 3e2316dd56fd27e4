-- pixie chat ID [--message TEXT]: a conversation with a `layout: chat` tool.
-- Each turn is one recorded run (runs.execute) with the chat page's inputs
-- {messages = the whole conversation including the new user message,
--  history = the turns before it} (docs/tool-format.md, "Chat tools").
local argparse = require("pixie.argparse")
local json = require("pixie.json")
local out = require("pixie.out")
local term = require("pixie.term")

local command = {
  summary = "talk with a chat tool in the terminal, or send it one message",
  usage = "pixie chat ID [--message TEXT]",
  help = [[
  --message TEXT  send one message, print the reply and exit (exit 1 when
                  the run failed, the error on stderr)
Without --message: type a line at the `you> ` prompt; the reply streams in
when the output is a terminal. The conversation is sent back with each turn.
/exit or Ctrl-D ends the session. Every turn is a recorded run.
The reply is the tool's first stream_text output, else its first text or
markdown output.
]],
  order = 23,
  scan_secrets = true,
}

local REPLY_TYPES = { text = true, markdown = true }

-- The key of the output that is the reply: the first stream_text output,
-- else the first text/markdown one; nil when there is none.
local function reply_key(spec)
  for _, o in ipairs(spec.outputs) do
    if o.type == "stream_text" then return o.key end
  end
  for _, o in ipairs(spec.outputs) do
    if REPLY_TYPES[o.type] then return o.key end
  end
  return nil
end

-- The reply's text in a run's outputs ("" when absent).
local function reply_text(outputs, key)
  local v = outputs and key and outputs[key]
  if type(v) == "table" and v.value ~= nil then v = v.value end
  if v == nil or v == json.null then return "" end
  if type(v) == "table" then return out.json(v) or "" end
  return tostring(v)
end

-- A copy of a list as a JSON array.
local function array_of(list)
  return json.array(table.move(list, 1, #list, 1, {}))
end

-- Runs one turn: the user's text after the conversation so far. Prints the
-- reply (streamed as it arrives when live, else whole at the end) after
-- prefix. Returns the reply text | nil, error message.
local function turn(entry, key, conversation, text, live, prefix)
  local messages = array_of(conversation)
  messages[#messages + 1] = { role = "user", content = text }
  local streamed = false
  local on_event
  if live and key then
    out.write(prefix)
    out.flush()
    on_event = function(changes)
      for _, c in ipairs(changes) do
        if c.key == key and c.op == "append" and type(c.value) == "string" and c.value ~= "" then
          out.write(c.value)
          streamed = true
        end
      end
      out.flush()
    end
  end
  local record, problem = require("pixie.runs").execute(entry,
    { messages = messages, history = array_of(conversation) }, { source = "cli", on_event = on_event })
  if on_event and streamed then out.write("\n") end
  if not record then
    if on_event and not streamed then out.write("\n") end
    return nil, problem.message
  end
  if record.status ~= "ok" then
    if on_event and not streamed then out.write("\n") end
    return nil, ("run %s %s: %s"):format(record.id, record.status, record.error_text or "")
  end
  local reply = reply_text(record.outputs, key)
  if not streamed then out.print((on_event and "" or prefix) .. reply) end
  return reply
end

-- The interactive session: reads lines until /exit or end of input.
local function session(entry, key, live)
  local conversation = {}
  local prompt = term.isatty("stdin")
  while true do
    if prompt then out.write("you> "); out.flush() end
    local line = io.read("l")
    if line == nil then
      if prompt then out.write("\n") end
      return 0
    end
    line = line:gsub("\r$", "")
    if line == "/exit" then return 0 end
    if line:match("%S") then
      local reply, err = turn(entry, key, conversation, line, live, entry.spec.id .. "> ")
      if reply then
        conversation[#conversation + 1] = { role = "user", content = line }
        conversation[#conversation + 1] = { role = "assistant", content = reply }
      else
        out.error(err)
      end
    end
  end
end

function command.run(args)
  local cli = require("pixie.cli")
  local opts, rest = argparse.parse(args, { flags = { message = "string" }, min = 1, max = 1 })
  if not opts then return cli.usage_error(rest, command.usage) end
  local entry, code = cli.find_runnable_tool(rest[1])
  if not entry then return code end
  if entry.spec.layout ~= "chat" then
    out.error(("tool '%s' is not a chat tool (its layout is '%s', not 'chat'); use pixie run"):format(
      entry.id, tostring(entry.spec.layout or "form")))
    return 1
  end
  local key = reply_key(entry.spec)
  local live = term.isatty("stdout")
  local result
  if opts.message then
    local reply, err = turn(entry, key, {}, opts.message, live, "")
    if not reply then out.error(err) end
    result = reply and 0 or 1
  else
    result = session(entry, key, live)
  end
  require("pixie.launcher").stop(entry.spec.id)
  return result
end

return command
