-- Sets KEY_10 in the given .env `n` times; prints "median p90 n" in ms.
local env = require("pixie.env")
local sys = require("pixie.sys")

local path, n = arg[1], tonumber(arg[2] or "400")
local times = {}
for i = 1, n do
  local t0 = sys.monotonic_ms()
  assert(env.set(path, "KEY_10", "BENCH-VALUE-" .. i))
  times[i] = sys.monotonic_ms() - t0
end
assert(env.read(path).KEY_10 == "BENCH-VALUE-" .. n)
table.sort(times)
print(("%f %f %d"):format(times[(n + 1) // 2], times[math.ceil(n * 0.9)], n))
return 0
