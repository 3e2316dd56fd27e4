-- The binding idiom shared by every pixie.* C module (src/api/api.h):
-- paths with a NUL byte and numbers out of range raise; failures return
-- nil, message, errno; nothing C-owned leaks when a push raises; refusal
-- messages say what is really wrong.
local t = require("harness")
local db = require("pixie.db")
local env = require("pixie.env")
local fs = require("pixie.fs")
local launcher = require("pixie.launcher")
local log = require("pixie.log")
local mask = require("pixie.mask")
local proc = require("pixie.proc")

local NUL = "path contains a NUL byte"

t.test("every_binding_refuses_a_path_with_a_nul_byte", function()
  local dir = t.tmpdir("nulpath")
  t.write(dir .. "/f", "content")
  local bad = dir .. "/f\0.lua"
  t.raises(function() fs.read("/etc/hostname\0.lua") end, NUL)
  t.raises(function() fs.read(bad) end, NUL)
  t.raises(function() fs.write_atomic(bad, "x") end, NUL)
  t.raises(function() fs.stat(bad) end, NUL)
  t.raises(function() fs.list(dir .. "\0/x") end, NUL)
  t.raises(function() fs.mkdirs(dir .. "/d\0/e") end, NUL)
  t.raises(function() fs.remove(bad) end, NUL)
  t.raises(function() fs.rename(bad, dir .. "/g") end, NUL)
  t.raises(function() fs.rename(dir .. "/f", dir .. "/g\0x") end, NUL)
  t.raises(function() fs.chmod(bad, 420) end, NUL)
  t.raises(function() fs.realpath(bad) end, NUL)
  t.eq(fs.read(dir .. "/f"), "content") -- untouched by all of the above
  t.raises(function() env.read(dir .. "/.env\0x") end, NUL)
  t.raises(function() env.keys(dir .. "/.env\0x") end, NUL)
  t.raises(function() env.set(dir .. "/.env\0x", "K", "value") end, NUL)
  t.raises(function() env.unset(dir .. "/.env\0x", "K") end, NUL)
  t.raises(function() env.read(dir .. "/.env", { tools_root = dir .. "\0/x" }) end, "NUL byte")
  t.raises(function() db.open(dir .. "/x.db\0.txt") end, NUL)
  t.raises(function() proc.run({ "true" }, { cwd = dir .. "\0/x" }) end, "NUL byte")
  t.raises(function() log.open(dir .. "\0/logs") end, NUL)
  t.raises(function() launcher.get("t1", "/health\0x") end, NUL)
  t.eq(fs.stat(dir .. "/.env"), nil)
end)

t.test("proc_run_numbers_are_range_checked", function()
  t.raises(function() proc.run({ "true" }, { timeout_ms = math.maxinteger }) end,
    "field 'timeout_ms': integer in 0..")
  t.raises(function() proc.run({ "true" }, { timeout_ms = -1 }) end, "timeout_ms")
  t.raises(function() proc.run({ "true" }, { grace_ms = (1 << 32) + 1 }) end,
    "field 'grace_ms': integer in 0..")
  t.raises(function() proc.run({ "true" }, { max_output = math.maxinteger }) end, "max_output")
  t.raises(function() proc.run({ "true" }, { max_memory_mb = math.mininteger }) end, "max_memory_mb")
  t.raises(function() proc.run({ "true" }, { timeout_ms = "10" }) end, "timeout_ms")
  local r = assert(proc.run({ "true" }, { timeout_ms = 7 * 24 * 3600 * 1000, grace_ms = 0 }))
  t.eq(r.code, 0)
end)

t.test("other_numeric_arguments_are_range_checked", function()
  local dir = t.tmpdir("ranges")
  t.raises(function() fs.mkdirs(dir .. "/a", 1 << 40) end, "integer in 0..4095")
  t.raises(function() fs.write_atomic(dir .. "/a", "x", -1) end, "integer in 0..4095")
  t.raises(function() fs.read(dir .. "/a", { limit = -1 }) end, "field 'limit'")
  t.raises(function() launcher.stop("t1", math.maxinteger) end, "integer in 0..")
  t.raises(function() launcher.get("t1", "/", 0) end, "integer in 1..")
  t.eq(fs.stat(dir .. "/a"), nil)
end)

t.test("failures_return_nil_message_errno", function()
  local dir = t.tmpdir("fail")
  local v, msg, code = fs.read(dir .. "/missing")
  t.eq(v, nil)
  t.eq(msg, dir .. "/missing: No such file or directory")
  t.eq(code, 2)
  v, msg, code = fs.list(dir .. "/missing")
  t.eq({ v, msg, code }, { nil, dir .. "/missing: No such file or directory", 2 })
  v, msg, code = proc.run({ dir .. "/missing" })
  t.eq(v, nil)
  t.contains(msg, "missing")
  t.eq(code, 2)
end)

t.test("a_value_python_dotenv_cannot_read_back_is_refused_as_such", function()
  local dir = t.tmpdir("edom")
  local path = dir .. "/.env"
  for _, value in ipairs({ "line one\nline two\\", " padded\\", "a #b\\" }) do
    local v, msg, code = env.set(path, "K", value)
    t.eq(v, nil)
    t.eq(code, 33) -- EDOM
    t.eq(msg, "value of K ends with a backslash and has a line break, leading or trailing "
      .. "whitespace, whitespace before '#' or a leading quote: python-dotenv could not "
      .. "read it back; refused")
  end
  t.eq(fs.stat(path), nil)
  local v, msg = env.quote("line one\nline two\\")
  t.eq(v, nil)
  t.contains(msg, "value ends with a backslash")
  t.ok(not msg:find("UTF-8", 1, true), "not called invalid UTF-8")
  v, msg = env.quote("\xff\xfe")
  t.eq(msg, "value is not valid UTF-8; refused") -- never "value of the value"
  t.eq(env.quote("ends\\"), "ends\\") -- writable unquoted: accepted
end)

-- Runs fn with allocations failing after 0, 1, 2, ... successes until it
-- completes; returns how many runs raised a memory error.
local function under_memory_pressure(fn)
  local raised = 0
  for n = 0, 5000 do
    collectgarbage() -- what the last run made is allocated anew
    fail_allocs(n)
    local ok, err = pcall(fn)
    fail_allocs()
    if ok then return raised end
    t.contains(tostring(err), "not enough memory")
    raised = raised + 1
  end
  error("never completed")
end

local function open_fds()
  collectgarbage()
  collectgarbage()
  return #assert(fs.list("/proc/self/fd"))
end

t.test("nothing_leaks_when_a_push_raises", function()
  local dir = t.tmpdir("leak")
  for i = 1, 40 do t.write(("%s/entry-%02d"):format(dir, i), "x") end
  t.write(dir .. "/.env", "A=CANARY-LEAK-ONE\nB=CANARY-LEAK-TWO\n")
  local before = open_fds()
  t.ok(under_memory_pressure(function() return fs.list(dir) end) > 40, "fs.list raised mid-way")
  t.eq(open_fds(), before, "no DIR left open")
  t.ok(under_memory_pressure(function() return fs.read(dir .. "/.env") end) > 0, "fs.read")
  t.ok(under_memory_pressure(function() return env.read(dir .. "/.env") end) > 0, "env.read")
  t.ok(under_memory_pressure(function() return mask.scrub(("x"):rep(1000)) end) > 0, "scrub")
  t.eq(open_fds(), before)
  -- LeakSanitizer (sanitizer build) checks that no C buffer leaked at exit
end)

return t.run()
