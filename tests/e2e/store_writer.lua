-- Writer for test_store_durability.py: records runs in <home>/pixie.db in a
-- loop and reports each step on stdout only after its commit returned:
--   S <run id>   run_start committed (status running)
--   F <run id>   run_finish committed (status ok)
--   L <marker>   spawn_log row committed (written at once, not queued)
-- Usage: pixie_lua_test store_writer.lua HOME [COUNT]   (no COUNT: forever)
local store = require("pixie.store")

local home, count = arg[1], tonumber(arg[2] or "")
io.stdout:setvbuf("line")
local st = assert(store.open(home))
local i = 0
while not count or i < count do
  i = i + 1
  local id = assert(st:run_start("durable", { i = i, pad = ("p"):rep(i % 300) }, "cli"))
  io.stdout:write("S ", id, "\n")
  assert(st:run_finish(id, { status = "ok", outputs = { i = i } }))
  io.stdout:write("F ", id, "\n")
  local marker = ("%d-%s"):format(i, id)
  assert(st:spawn_log_append("durable", "stdout", marker))
  io.stdout:write("L ", marker, "\n")
end
st:close()
