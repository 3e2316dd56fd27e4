-- Tiny test harness for tests/lua/*_test.lua.
--   local t = require("harness")
--   t.test("name", function() t.eq(got, want) end)
--   return t.run()          -- returns the exit code
-- t.tmpdir(name) gives a fresh empty folder under the build tree.
local M = {}

local tests = {}

function M.test(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

function M.eq(got, want, what)
  if not deep_equal(got, want) then
    error(("%sexpected %s, got %s"):format(what and (what .. ": ") or "", show(want), show(got)), 2)
  end
end

function M.ok(cond, what)
  if not cond then error("expected true: " .. tostring(what), 2) end
  return cond
end

-- Asserts that string s contains plain substring sub.
function M.contains(s, sub, what)
  if type(s) ~= "string" or not s:find(sub, 1, true) then
    error(("%sexpected %s to contain %s"):format(what and (what .. ": ") or "", show(s), show(sub)), 2)
  end
end

-- Asserts that fn raises an error whose message contains sub.
function M.raises(fn, sub)
  local ok, err = pcall(fn)
  if ok then error("expected an error containing " .. show(sub), 2) end
  if sub and not tostring(err):find(sub, 1, true) then
    error(("expected error containing %s, got %s"):format(show(sub), show(tostring(err))), 2)
  end
end

-- Fresh empty folder for a test.
function M.tmpdir(name)
  local base = os.getenv("PIXIE_TEST_TMP") or "/tmp"
  local dir = ("%s/lua-%s-%d"):format(base, name, math.random(1, 1 << 30))
  assert(os.execute(("rm -rf '%s' && mkdir -p '%s'"):format(dir, dir)))
  return dir
end

-- Writes a file, creating parent folders.
function M.write(path, text)
  local dir = path:match("^(.*)/[^/]*$")
  if dir then assert(os.execute(("mkdir -p '%s'"):format(dir))) end
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

function M.run()
  local failed = 0
  for _, t in ipairs(tests) do
    local ok, err = xpcall(t.fn, debug.traceback)
    if ok then
      print("ok   " .. t.name)
    else
      failed = failed + 1
      print("FAIL " .. t.name .. "\n" .. tostring(err))
    end
  end
  print(("%d passed, %d failed"):format(#tests - failed, failed))
  return failed == 0 and 0 or 1
end

math.randomseed(os.time() ~ (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))

return M
