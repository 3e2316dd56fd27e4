-- pixie version
local out = require("pixie.out")
local version = require("pixie.version")

local command = {
  summary = "print Pixie's version",
  usage = "pixie version",
  no_home = true,
  order = 99,
}

function command.run(args)
  if #args > 0 then
    return require("pixie.cli").usage_error("version takes no arguments", command.usage)
  end
  out.print("pixie " .. version.string .. " (" .. _VERSION .. ")")
  return 0
end

return command
