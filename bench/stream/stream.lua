-- Pixie's side of the stream benchmark: runs the stream-bench tool through
-- runs.execute and measures, per event, the time from the tool writing it
-- (its stamp) to the merged output being visible to on_event; then the
-- events/s of a burst. Secrets are registered so every event is really
-- scanned by the masker. Prints "pixie <latency|burst> ..." lines.
local config = require("pixie.config")
local tools = require("pixie.tools")
local runs = require("pixie.runs")
local sys = require("pixie.sys")
local mask = require("pixie.mask")
local launcher = require("pixie.launcher")

local home, n, burst = arg[1], tonumber(arg[2]), tonumber(arg[3])
assert(config.set_home(home))
for i = 1, 50 do mask.add(("bench-secret-%04d-value"):format(i)) end
local entry = assert(tools.get("stream-bench"))

local function percentile(sorted, p)
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

-- warm the tool up (its start is not part of the figures)
assert(runs.execute(entry, { n = 5, pace_us = 0 }))

local lat = {}
local record = assert(runs.execute(entry, { n = n, pace_us = 1000 }, {
  on_event = function(changes)
    local now = sys.monotonic_ms()
    for _, c in ipairs(changes) do
      if c.key == "stamp" then lat[#lat + 1] = now - c.value / 1e6 end
    end
  end,
}))
assert(record.status == "ok", record.error_text)
table.sort(lat)
print(("pixie  latency over %d events: median %.3f ms, p99 %.3f ms"):format(
  #lat, percentile(lat, 0.5), percentile(lat, 0.99)))

local first, last, count
record = assert(runs.execute(entry, { n = burst, pace_us = 0 }, {
  on_event = function(changes)
    for _, c in ipairs(changes) do
      if c.key == "stamp" then
        first = first or c.value / 1e6
        last = sys.monotonic_ms()
        count = (count or 0) + 1
      end
    end
  end,
}))
assert(record.status == "ok", record.error_text)
print(("pixie  burst of %d events: %.0f events/s (masked, merged)"):format(
  count, count / ((last - first) / 1000)))
launcher.stop("stream-bench", 1000)
