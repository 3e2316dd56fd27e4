-- Serves with tests/e2e/serve_test_app.lua as the app (found through
-- LUA_PATH by every worker and job state): arg[1] is the home. Prints the
-- URL, exits 0 when serve returned true.
local server = require("pixie.server")
local ok, err = server.serve({
  home = arg[1], port = 0, workers = 2, app = "serve_test_app",
  on_ready = function(url)
    io.stdout:write(url, "\n")
    io.stdout:flush()
  end,
})
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
os.exit(0)
