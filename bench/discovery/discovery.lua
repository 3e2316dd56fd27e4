-- Times tools.list() on a home: first call (cold: every tool.json read and
-- validated) and repeated calls (warm: cache hit by mtime/size).
local config = require("pixie.config")
local tools = require("pixie.tools")
local sys = require("pixie.sys")

local home = assert(arg and arg[1] or os.getenv("BENCH_HOME"), "usage: discovery.lua HOME")
assert(config.set_home(home))

local t0, c0 = sys.monotonic_ms(), os.clock()
local list = assert(tools.list())
-- A listing that found nothing measured nothing: say so rather than print a
-- ratio.
assert(#list > 0, "discovery bench: no tools found under " .. home .. "/tools")
local cold = sys.monotonic_ms() - t0
local cold_cpu = (os.clock() - c0) * 1000

local warm = {}
for i = 1, 11 do
  local t = sys.monotonic_ms()
  tools.list()
  warm[i] = sys.monotonic_ms() - t
end
table.sort(warm)
local ok = 0
for _, e in ipairs(list) do if e.status == "ok" then ok = ok + 1 end end
print(("pixie    tools=%d ok=%d  cold %.1f ms (cpu %.1f ms)  warm median %.1f ms"):format(
  #list, ok, cold, cold_cpu, warm[6]))
io.open(os.getenv("BENCH_OUT") or "/dev/null", "w"):write(("%f %f\n"):format(cold, warm[6]))
return 0
