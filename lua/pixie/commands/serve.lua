-- pixie serve [--port N] [--open] [--workers N] [--host H]
local argparse = require("pixie.argparse")
local out = require("pixie.out")

local command = {
  summary = "serve the dashboard on 127.0.0.1 until interrupted",
  usage = "pixie serve [--port N] [--open] [--workers N] [--host H]",
  help = [[
  --port N      the port to listen on (default 7860; 0 picks a free one)
  --open        open the dashboard in a browser (xdg-open or sensible-browser)
  --workers N   request threads (default 4)
  --host H      127.0.0.1 or localhost only: the dashboard is never reachable
                from another machine
The URL is printed once the server listens. Ctrl-C (or SIGTERM) stops the
server and every tool it started.
]],
  order = 30,
  scan_secrets = true,
}

local LOCAL_HOSTS = { ["127.0.0.1"] = true, ["localhost"] = true }

-- Upload routes (SPEC §5.3 "any body <= 1 MiB unless an upload route says
-- otherwise"): a run carries its file, image and audio inputs base64-encoded
-- in its JSON body, so POST /api/tools/<id>/run may have UPLOAD_MAX bytes;
-- every other route keeps the server's 1 MiB (the secret routes refuse a
-- value over 64 KiB themselves). '*' is one path segment.
local UPLOAD_ROUTES = { "/api/tools/*/run" }
local UPLOAD_MAX = 64 * 1024 * 1024

-- Seconds-scale heartbeat of idle SSE streams is the server's default
-- (15 s); PIXIE_TEST_SSE_HEARTBEAT_MS overrides it, for tests only.
local function heartbeat_ms()
  local v = os.getenv("PIXIE_TEST_SSE_HEARTBEAT_MS")
  local n = v and tonumber(v)
  if n and math.type(n) == "integer" and n >= 10 and n <= 3600000 then return n end
  return nil
end

-- Opens url in a browser in the background when a launcher is installed;
-- never fails.
local function open_browser(url)
  for _, prog in ipairs({ "xdg-open", "sensible-browser" }) do
    local found = os.execute("command -v " .. prog .. " >/dev/null 2>&1")
    if found then
      os.execute(("%s '%s' >/dev/null 2>&1 </dev/null &"):format(prog, url))
      return
    end
  end
  out.warn("no browser opener found (xdg-open, sensible-browser); open " .. url .. " yourself")
end

-- The folders the dashboard's cached answers (GET /api/tools) are computed
-- from, for pixie.server.serve's `watch`: the run store's files in the
-- home, and the tools folder with each tool's tool.json and .env.
local function answers_depend_on(home)
  local config = require("pixie.config")
  local watch = { { dir = home, names = { "pixie.db", "pixie.db-wal", "pixie.db-journal" } } }
  local tools_dir = config.tools_dir()
  if tools_dir then watch[#watch + 1] = { dir = tools_dir, children = { "tool.json", ".env" } } end
  return watch
end

function command.run(args)
  local cli = require("pixie.cli")
  local opts, rest = argparse.parse(args, {
    flags = { port = "integer", open = "boolean", workers = "integer", host = "string" },
    max = 0,
  })
  if not opts then return cli.usage_error(rest, command.usage) end
  local host = opts.host or "127.0.0.1"
  if not LOCAL_HOSTS[host:lower()] then
    return cli.usage_error(("--host %s refused: the dashboard listens on 127.0.0.1 only"):format(
      out.quote(host)), command.usage)
  end
  local port = opts.port or 7860
  if port < 0 or port > 65535 then return cli.usage_error("--port must be 0 to 65535", command.usage) end
  local workers = opts.workers or 4
  if workers < 1 or workers > 64 then return cli.usage_error("--workers must be 1 to 64", command.usage) end
  local home, herr = require("pixie.config").home()
  if not home then out.error(herr); return 1 end
  -- a broken pixie.db fails here, before anything listens
  local st, serr = require("pixie.runs").store()
  if not st then out.error(serr); return 1 end
  local ok, err = require("pixie.server").serve({
    home = home, port = port, workers = workers, watch = answers_depend_on(home),
    upload_routes = UPLOAD_ROUTES, upload_max = UPLOAD_MAX, heartbeat_ms = heartbeat_ms(),
    on_ready = function(url)
      out.print(url)
      out.flush()
      if opts.open then open_browser(url) end
    end,
  })
  if not ok then out.error(err); return 1 end
  return 0
end

return command
