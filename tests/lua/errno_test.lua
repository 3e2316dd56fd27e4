-- pixie.sys.errno: the errno names with this platform's values, read-only,
-- what every Lua comparison of a failure's code uses.
local t = require("harness")
local api = require("pixie.api")
local fs = require("pixie.fs")
local sys = require("pixie.sys")

local errno = sys.errno

t.test("errno_names_match_the_codes_the_bindings_return", function()
  local dir = t.tmpdir("errno")
  t.eq(select(3, fs.read(dir .. "/missing")), errno.ENOENT, "missing file")
  t.eq(select(3, fs.rename(dir, dir .. "/inside")), errno.EINVAL, "a folder renamed into itself")
  t.write(dir .. "/file", "x")
  t.eq(select(3, fs.list(dir .. "/file")), errno.ENOTDIR, "listing a file")
  t.eq(select(3, fs.read(dir .. "/file", { limit = 0 })), errno.EFBIG, "over the limit")
  for _, name in ipairs({ "ENOENT", "EEXIST", "EACCES", "ENOTDIR", "EISDIR", "ELOOP", "EINVAL",
                          "ENOSPC", "EROFS", "EPERM", "EBUSY", "ENOMEM", "EILSEQ", "EBADMSG",
                          "EDOM", "E2BIG", "EOVERFLOW", "ETIMEDOUT", "ECHILD", "EFBIG", "EXDEV" }) do
    t.ok(math.type(errno[name]) == "integer" and errno[name] > 0, name)
  end
end)

t.test("errno_is_read_only_and_an_unknown_name_raises", function()
  t.raises(function() errno.ENOENT = 1 end, "read-only")
  t.raises(function() errno.EMADEUP = 1 end, "read-only")
  t.raises(function() return errno.ENOENTT end, "no ENOENTT")
  t.raises(function() setmetatable(errno, nil) end, "protected metatable")
  local seen = 0
  for name, value in pairs(errno) do
    t.eq(errno[name], value, name)
    seen = seen + 1
  end
  t.ok(seen >= 70, "pairs lists every name (" .. seen .. ")")
end)

t.test("strerror_gives_the_reason_for_a_code", function()
  t.eq(sys.strerror(errno.ENOENT), "No such file or directory")
  t.raises(function() sys.strerror(0) end, "out of range")
end)

t.test("skills_see_the_errno_names_read_only", function()
  local pixie = api.get()
  t.eq(pixie.sys.errno.ENOENT, errno.ENOENT)
  t.eq(pixie.sys.errno.EFBIG, errno.EFBIG)
  t.raises(function() pixie.sys.errno.ENOENT = 0 end, "read-only")
  t.eq(pixie.sys.strerror, nil, "skills get the names only")
end)

-- No Lua source compares a code with a typed errno number or reads the
-- reason out of a strerror message.
t.test("no_magic_errno_numbers_or_strerror_parsing_in_lua", function()
  local src = assert(os.getenv("PIXIE_SOURCE_DIR"), "PIXIE_SOURCE_DIR is set by ctest")
  local bad = {}
  for _, folder in ipairs({ "lua/pixie", "lua/pixie/commands", "skills" }) do
    for _, name in ipairs(assert(fs.list(src .. "/" .. folder))) do
      if name:match("%.lua$") then
        local text = assert(fs.read(src .. "/" .. folder .. "/" .. name))
        local n = 0
        for line in text:gmatch("[^\n]*") do
          n = n + 1
          local typed = false
          for name in pairs(errno) do
            typed = typed or line:match("%f[%w_]" .. name .. "%s*=%s*%d") ~= nil
          end
          if typed or line:match("%f[%w_]code%s*[=~]=%s*%d") or line:match("No such file")
            or line:match('%(%"%^%.[-*]: %"') or line:match("%[%^:%]%*%$") then
            bad[#bad + 1] = ("%s/%s:%d: %s"):format(folder, name, n, line)
          end
        end
      end
    end
  end
  t.eq(table.concat(bad, "\n"), "", "magic errno numbers or strerror parsing")
end)

return t.run()
