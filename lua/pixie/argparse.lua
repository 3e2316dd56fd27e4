-- Command-line argument parsing shared by every command and skill.
--
-- parse(args, spec) -> opts, positional | nil, usage_error
--   spec.flags: { name = "boolean" | "string" | "integer", ... }
--   spec.short: { h = "help", n = "lines", ... } optional single-letter aliases
--   spec.min, spec.max: bounds on the number of positional arguments
-- "--name=value" and "--name value" both work; "--" ends the flags; "-" alone
-- is positional. "--help" is always accepted.
local out = require("pixie.out")

local M = {}

function M.parse(args, spec)
  local flags = spec.flags or {}
  local short = spec.short or {}
  local opts, positional = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do positional[#positional + 1] = args[j] end
      break
    end
    local name, value
    if a:sub(1, 2) == "--" then
      name, value = a:match("^%-%-([^=]+)=(.*)$")
      if not name then name = a:sub(3) end
    elseif a:match("^%-%a$") then
      name = short[a:sub(2)] or (a == "-h" and "help") or nil
      if not name then return nil, "unknown option " .. out.quote(a) end
    end
    if name then
      local kind = flags[name] or (name == "help" and "boolean") or nil
      if not kind then return nil, "unknown option --" .. out.quote(name) end
      if kind == "boolean" then
        if value ~= nil then return nil, "option --" .. name .. " takes no value" end
        opts[name] = true
      else
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then return nil, "option --" .. name .. " needs a value" end
        end
        if kind == "string" and value == "" then return nil, "option --" .. name .. " needs a value" end
        if kind == "integer" then
          local n = math.tointeger(tonumber(value))
          if not n then return nil, "option --" .. name .. " needs an integer, got '" .. out.quote(value) .. "'" end
          value = n
        end
        opts[name] = value
      end
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  if not opts.help then
    if spec.min and #positional < spec.min then
      return nil, "missing argument" .. (spec.min - #positional > 1 and "s" or "")
    end
    if spec.max and #positional > spec.max then
      return nil, "unexpected argument '" .. out.quote(positional[spec.max + 1]) .. "'"
    end
  end
  return opts, positional
end

return M
