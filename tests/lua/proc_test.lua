-- pixie.proc.run: explicit environment, exit codes and signals, stdin,
-- timeouts that kill the whole tree, misuse raises, failures return nil, msg.
local t = require("harness")
local proc = require("pixie.proc")

local PATH = { PATH = "/usr/bin:/bin" }

t.test("environment is exactly the given table", function()
  local r = assert(proc.run({ "env" }, { env = { PATH = "/usr/bin:/bin", ONLY = "this" } }))
  local lines = {}
  for line in r.stdout:gmatch("[^\n]+") do lines[#lines + 1] = line end
  table.sort(lines)
  t.eq(lines, { "ONLY=this", "PATH=/usr/bin:/bin" })
  t.eq(r.code, 0)
  local empty = assert(proc.run({ "/usr/bin/env" }))
  t.eq(empty.stdout, "")
end)

t.test("exit code, stderr, stdin and cwd", function()
  local dir = t.tmpdir("proc")
  local r = assert(proc.run({ "sh", "-c", "cat; pwd; echo err >&2; exit 4" },
    { env = PATH, stdin = "in-data\n", cwd = dir }))
  t.eq(r.code, 4)
  t.eq(r.signal, nil)
  t.eq(r.stdout, "in-data\n" .. dir .. "\n")
  t.eq(r.stderr, "err\n")
  t.eq(r.timed_out, false)
end)

t.test("signal death is reported", function()
  local r = assert(proc.run({ "sh", "-c", "kill -9 $$" }, { env = PATH }))
  t.eq(r.code, nil)
  t.eq(r.signal, 9)
end)

t.test("timeout kills the whole tree", function()
  local marker = "PIXIE_PROC_TEST=" .. tostring(math.random(1, 1 << 30))
  local env = { PATH = "/usr/bin:/bin", PIXIE_PROC_TEST = marker:match("=(.*)") }
  local r = assert(proc.run({ "sh", "-c", "sleep 300 & (trap '' TERM; sleep 301) & echo up; wait" },
    { env = env, timeout_ms = 300, grace_ms = 100 }))
  t.eq(r.timed_out, true)
  t.eq(r.stdout, "up\n")
  t.ok(r.signal == 15 or r.signal == 9, "killed by a signal")
  -- nothing with our marker in its environment is left
  local left = assert(proc.run({ "sh", "-c", "grep -lz '^" .. marker ..
    "$' /proc/[0-9]*/environ 2>/dev/null | grep -v self; true" }, { env = PATH }))
  t.eq(left.stdout, "")
end)

t.test("output is capped and marked truncated", function()
  local r = assert(proc.run({ "sh", "-c", "head -c 100000 /dev/zero" },
    { env = PATH, max_output = 1000 }))
  t.eq(#r.stdout, 1000)
  t.eq(r.truncated, true)
end)

t.test("missing program is a world failure", function()
  local r, msg, code = proc.run({ "no-such-program-xyz" }, { env = PATH })
  t.eq(r, nil)
  t.contains(msg, "no-such-program-xyz")
  t.eq(code, 2)
end)

t.test("misuse raises", function()
  t.raises(function() proc.run("ls") end, "bad argument")
  t.raises(function() proc.run({}) end, "non-empty")
  t.raises(function() proc.run({ "ls" }, { env = { ["A=B"] = "x" } }) end, "env")
  t.raises(function() proc.run({ "ls" }, { env = { A = 1 } }) end, "env")
  t.raises(function() proc.run({ "ls" }, { timeout_ms = -1 }) end, "timeout_ms")
  t.raises(function() proc.run({ "ls" }, { cwd = 5 }) end, "cwd")
end)

return t.run()
