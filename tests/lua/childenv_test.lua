-- pixie.childenv: the child's environment is built from an allow-list, the
-- tool's .env (interpolated) and Pixie's own variables; the interpreter is
-- the tool's .venv, else PIXIE_PYTHON, else python3 on PATH.
local t = require("harness")
local childenv = require("pixie.childenv")
local config = require("pixie.config")

-- A fake parent environment.
local function parent(vars)
  return function(name) return vars[name] end
end

local function executable(path)
  t.write(path, "#!/bin/sh\n")
  assert(os.execute(("chmod 755 '%s'"):format(path)))
end

t.test("only allow-listed parent variables pass, then .env, then Pixie's", function()
  local env = childenv.build({
    tool_id = "demo",
    dotenv = { API_KEY = "CANARY-CHILDENV-SECRET", PATH = "/tool/bin" },
    run_id = "run-1",
    artefacts_dir = "/home/a",
    getenv = parent({ PATH = "/usr/bin", HOME = "/home/u", LANG = "C.UTF-8", TZ = "UTC",
                      AWS_SECRET_ACCESS_KEY = "CANARY-PARENT-SECRET", PIXIE_HOME = "/x",
                      PYTHONPATH = "/evil", LD_PRELOAD = "/evil.so" }),
  })
  t.eq(env, {
    PATH = "/tool/bin", HOME = "/home/u", LANG = "C.UTF-8", TZ = "UTC",
    API_KEY = "CANARY-CHILDENV-SECRET", PYTHONUNBUFFERED = "1", PIXIE_TOOL_ID = "demo",
    PIXIE_RUN_ID = "run-1", PIXIE_ARTEFACTS_DIR = "/home/a",
  })
end)

t.test("Pixie's own variables win over the .env", function()
  local env = childenv.build({ tool_id = "demo", dotenv = { PIXIE_TOOL_ID = "other",
                               PYTHONUNBUFFERED = "0" }, getenv = parent({}) })
  t.eq(env, { PIXIE_TOOL_ID = "demo", PYTHONUNBUFFERED = "1" })
end)

t.test(".env values are read interpolated from the allow-listed environment", function()
  local home = t.tmpdir("childenv")
  assert(config.set_home(home))
  local dir = home .. "/tools/demo"
  t.write(dir .. "/.env", 'GREETING="hi ${HOME}"\nOTHER=${NOT_ALLOWED:-fallback}\n')
  local values = assert(childenv.read_dotenv(dir, parent({ HOME = "/home/u", NOT_ALLOWED = "x" })))
  t.eq(values, { GREETING = "hi /home/u", OTHER = "fallback" })
  t.eq(childenv.read_dotenv(dir .. "-missing", parent({})), {})
end)

t.test("interpreter: .venv first, then PIXIE_PYTHON, then python3 on PATH", function()
  local root = t.tmpdir("childenv-python")
  local dir = root .. "/tools/demo"
  executable(root .. "/bin/python3")
  executable(root .. "/alt/mypython")
  local path = root .. "/nothing:" .. root .. "/bin"
  t.eq({ childenv.python(dir, parent({ PATH = path })) }, { root .. "/bin/python3", "PATH" })
  t.eq({ childenv.python(dir, parent({ PATH = path, PIXIE_PYTHON = root .. "/alt/mypython" })) },
       { root .. "/alt/mypython", "PIXIE_PYTHON" })
  t.eq({ childenv.python(dir, parent({ PATH = root .. "/alt", PIXIE_PYTHON = "mypython" })) },
       { root .. "/alt/mypython", "PIXIE_PYTHON" })
  executable(dir .. "/.venv/bin/python")
  t.eq({ childenv.python(dir, parent({ PATH = path, PIXIE_PYTHON = "mypython" })) },
       { dir .. "/.venv/bin/python", "venv" })
  local none, msg = childenv.python(root .. "/tools/other", parent({ PATH = root .. "/nothing" }))
  t.eq(none, nil)
  t.contains(msg, "no Python interpreter")
end)

t.test("tool_table carries the spec's limits and refuses broken tools", function()
  local root = t.tmpdir("childenv-table")
  assert(config.set_home(root))
  root = config.home()
  executable(root .. "/bin/python3")
  local entry = {
    id = "demo", dir = root .. "/tools/demo",
    spec = { id = "demo", entrypoint = "app.py", max_memory_mb = 256, max_runtime_seconds = 9,
             warm_keep_seconds = 30, concurrent = false },
  }
  local tool, source = childenv.tool_table(entry, { getenv = parent({ PATH = root .. "/bin" }),
                                                    dotenv = { K = "v" } })
  t.eq(source, "PATH")
  t.eq(tool, {
    id = "demo", dir = root .. "/tools/demo", python = root .. "/bin/python3",
    entrypoint = "app.py", max_memory_mb = 256, max_runtime_seconds = 9,
    warm_keep_seconds = 30, concurrent = false,
    env = { PATH = root .. "/bin", K = "v", PYTHONUNBUFFERED = "1", PIXIE_TOOL_ID = "demo",
            PIXIE_ARTEFACTS_DIR = root .. "/artefacts/demo", TMPDIR = root .. "/tmp/demo",
            TEMP = root .. "/tmp/demo", TMP = root .. "/tmp/demo" },
  })
  local none, msg = childenv.tool_table({ id = "bad", dir = root, spec = nil })
  t.eq(none, nil)
  t.contains(msg, "broken")
end)

t.test("every process gets the tool's artefacts and temporary folders (0700), not a run id", function()
  local root = t.tmpdir("childenv-dirs")
  assert(config.set_home(root))
  root = config.home()
  executable(root .. "/bin/python3")
  local entry = { id = "demo", dir = root .. "/tools/demo", spec = { id = "demo", max_memory_mb = 0 } }
  local tool = assert(childenv.tool_table(entry, { getenv = parent({ PATH = root .. "/bin",
    TMPDIR = "/parent/tmp" }), dotenv = { TMPDIR = "/dotenv/tmp", PIXIE_RUN_ID = "stale" } }))
  t.eq(tool.env.TMPDIR, root .. "/tmp/demo")
  t.eq(tool.env.TEMP, root .. "/tmp/demo")
  t.eq(tool.env.TMP, root .. "/tmp/demo")
  t.eq(tool.env.PIXIE_ARTEFACTS_DIR, root .. "/artefacts/demo")
  t.eq(tool.env.PIXIE_RUN_ID, nil) -- a warm process serves many runs
  t.eq(tool.max_memory_mb, 0)
  for _, dir in ipairs({ root .. "/tmp/demo", root .. "/artefacts/demo" }) do
    local st = assert(require("pixie.fs").stat(dir))
    t.eq(st.type, "directory")
    t.eq(st.mode & 0x1FF, 0x1C0) -- 0700
  end
  -- a one-shot table may carry its run
  local one = assert(childenv.tool_table(entry, { getenv = parent({ PATH = root .. "/bin" }), dotenv = {}, run_id = "r-9",
                                                  artefacts_dir = root .. "/artefacts/demo/r-9" }))
  t.eq(one.env.PIXIE_RUN_ID, "r-9")
  t.eq(one.env.PIXIE_ARTEFACTS_DIR, root .. "/artefacts/demo/r-9")
end)

return t.run()
