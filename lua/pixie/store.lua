-- pixie.store: the run store in <home>/pixie.db (SPEC §4.3) — schema,
-- migrations and the bookkeeping every part of Pixie uses.
--
--   local store = require("pixie.store")
--   local st = assert(store.open(home))        -- cached per path and Lua state
--   local id = assert(st:run_start("echo", {text = "hi"}, "cli"))
--   st:run_finish(id, {status = "ok", outputs = {echo = "hi"}})
--
-- Masking: every free text going into the database (inputs_json,
-- outputs_json, error_text, report_json, last_inputs_json, overrides_json,
-- spawn_log text, settings values) passes masked() below, the one place that
-- calls require("pixie.out").scrub, so no caller can forget it. It is the
-- last step before the column is bound (after JSON encoding: masked_json).
--
-- Timestamps are ISO-8601 UTC with milliseconds ("2026-11-28T17:46:01.123Z"),
-- made by SQLite. Rows come back as tables keyed by column name; a NULL
-- column is absent (nil). World failures return nil, message; misuse raises.
local config = require("pixie.config")
local db = require("pixie.db")
local json = require("pixie.json")
local out = require("pixie.out")
local sys = require("pixie.sys")

local M = {}

local NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

M.STATUSES = { running = true, ok = true, error = true, timeout = true, cancelled = true }
M.SOURCES = { dashboard = true, cli = true, validator = true, skill = true }
M.STREAMS = { stdout = true, stderr = true, pixie = true }
M.OVERALL = { pass = true, warn = true, fail = true }

-- Ordered migrations: migrations[n] brings the schema from version n-1 to n.
-- Each receives the open handle inside the open transaction and raises on
-- failure (the whole migration then rolls back). Append, never edit (the
-- statements of one step are a list: h:exec runs exactly one statement).
-- After a new step, update SCHEMA below.
local function exec_each(h, statements)
  for _, sql in ipairs(statements) do assert(h:exec(sql)) end
end

local migrations = {
  function(h)
    exec_each(h, {
      [[CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        tool_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        inputs_json TEXT,
        outputs_json TEXT,
        error_text TEXT,
        status TEXT NOT NULL DEFAULT 'running'
          CHECK (status IN ('running', 'ok', 'error', 'timeout', 'cancelled')),
        duration_ms INTEGER,
        starred INTEGER NOT NULL DEFAULT 0 CHECK (starred IN (0, 1)),
        label TEXT,
        source TEXT NOT NULL DEFAULT 'cli'
          CHECK (source IN ('dashboard', 'cli', 'validator', 'skill')),
        owner TEXT,
        meta_json TEXT,
        total_artefact_bytes INTEGER NOT NULL DEFAULT 0
      )]],
      [[CREATE INDEX runs_tool_started ON runs (tool_id, started_at DESC)]],
      [[CREATE INDEX runs_started ON runs (started_at DESC)]],
      [[CREATE INDEX runs_running ON runs (status) WHERE status = 'running']],
      [[CREATE INDEX runs_starred ON runs (tool_id) WHERE starred = 1]],
      [[CREATE TABLE tool_state (
        tool_id TEXT PRIMARY KEY,
        last_inputs_json TEXT,
        overrides_json TEXT,
        favourited INTEGER NOT NULL DEFAULT 0,
        sort_order INTEGER,
        archived INTEGER NOT NULL DEFAULT 0,
        archived_at TEXT,
        pinned INTEGER NOT NULL DEFAULT 0,
        pinned_at TEXT,
        pinned_warm INTEGER NOT NULL DEFAULT 0,
        default_warm_keep_seconds INTEGER,
        colour TEXT,
        last_run_at TEXT,
        run_count_total INTEGER NOT NULL DEFAULT 0
      )]],
      [[CREATE TABLE validation_reports (
        id INTEGER PRIMARY KEY,
        tool_id TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        overall TEXT NOT NULL CHECK (overall IN ('pass', 'warn', 'fail')),
        report_json TEXT NOT NULL
      )]],
      [[CREATE INDEX validation_reports_tool ON validation_reports (tool_id, timestamp DESC, id DESC)]],
      [[CREATE TABLE spawn_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tool_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'pixie')),
        text TEXT NOT NULL
      )]],
      [[CREATE INDEX spawn_log_tool ON spawn_log (tool_id, id)]],
      [[CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT
      )]],
    })
  end,
}

M.SCHEMA_VERSION = #migrations

-- The tables and columns the code relies on after the last migration,
-- checked at every open: a database whose schema lost one of them (a skill
-- dropped a table, a tool altered one) is refused, never recreated over
-- its history.
local SCHEMA = {
  runs = { "id", "tool_id", "started_at", "finished_at", "inputs_json", "outputs_json",
           "error_text", "status", "duration_ms", "starred", "label", "source", "owner",
           "meta_json", "total_artefact_bytes" },
  tool_state = { "tool_id", "last_inputs_json", "overrides_json", "favourited", "sort_order",
                 "archived", "archived_at", "pinned", "pinned_at", "pinned_warm",
                 "default_warm_keep_seconds", "colour", "last_run_at", "run_count_total" },
  validation_reports = { "id", "tool_id", "timestamp", "overall", "report_json" },
  spawn_log = { "id", "tool_id", "ts", "stream", "text" },
  settings = { "key", "value" },
}
local SCHEMA_TABLES = {}
for name in pairs(SCHEMA) do SCHEMA_TABLES[#SCHEMA_TABLES + 1] = name end
table.sort(SCHEMA_TABLES)

-- The one place where free text bound for the database is masked. Looks
-- pixie.out.scrub up at every call, so the masker wired in later applies.
local function masked(text)
  if text == nil or text == json.null then return nil end
  return out.scrub(tostring(text))
end

-- JSON-encodes value (nil stays NULL) masked by masked(): every string
-- before and after escaping, and the whole text after encoding, so the
-- column holds no registered form and is still valid JSON (json.encode's
-- opts.mask). Raises when the value cannot be encoded (a programmer mistake).
local function masked_json(value)
  if value == nil then return nil end
  local text, err = json.encode(value, { mask = masked })
  if not text then error("cannot store as JSON: " .. err, 3) end
  return text
end

-- Decodes a JSON column (nil when absent or no longer valid JSON).
local function decoded(text)
  if text == nil then return nil end
  return (json.decode(text))
end

-- Reads the first line of a file under /proc (nil when unreadable).
local function proc_line(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local line = f:read("l")
  f:close()
  return line
end

-- Identity of a live process: "<boot id>/<pid>/<start time>", or nil.
local function process_identity(pid)
  local boot = proc_line("/proc/sys/kernel/random/boot_id")
  local stat = proc_line(("/proc/%d/stat"):format(pid))
  if not boot or not stat then return nil end
  local after = stat:match("^.*%)%s+(.*)$")
  if not after then return nil end
  local fields = {}
  for f in after:gmatch("%S+") do fields[#fields + 1] = f end
  local start = fields[20] -- field 22 of stat(5); fields[1] is field 3
  if not start then return nil end
  return ("%s/%d/%s"):format(boot, pid, start)
end

local self_identity -- this process's, computed once

local function my_identity()
  if self_identity == nil then
    self_identity = process_identity(sys.getpid()) or false
  end
  return self_identity or nil
end

-- True when the process that wrote `owner` is still running.
local function owner_alive(owner)
  if not owner then return false end
  local pid = tonumber(owner:match("^[^/]*/(%d+)/"))
  return pid ~= nil and process_identity(pid) == owner
end

local Store = {}
Store.__index = Store

-- Runs fn(h) in one transaction; returns fn's first result | nil, message
-- (any error inside fn, e.g. from assert(h:exec(...)), rolls back).
local function atomically(h, fn)
  local ok, committed, value = pcall(h.transaction, h, fn)
  if not ok then return nil, tostring(committed) end
  if not committed then return nil, value end
  return value
end

-- Applies the pending migrations in one BEGIN IMMEDIATE transaction.
-- Returns true | nil, message.
local function migrate(h, path)
  local rows, err = h:query("PRAGMA user_version")
  if not rows then return nil, err end
  if rows[1].user_version == M.SCHEMA_VERSION then return true end
  return atomically(h, function()
    local version = assert(h:query("PRAGMA user_version"))[1].user_version
    if version > M.SCHEMA_VERSION then
      error(("%s has schema version %d, newer than this Pixie knows (%d); "
             .. "use a newer Pixie"):format(path, version, M.SCHEMA_VERSION), 0)
    end
    for v = version + 1, M.SCHEMA_VERSION do
      local ok, err = pcall(migrations[v], h)
      if not ok then
        error(("%s is not a Pixie database (schema step %d failed: %s); refusing to use it"
               .. " — move it aside to start a new history")
              :format(path, v, tostring(err):gsub("^[^:]*:%d+: ", "")), 0)
      end
    end
    assert(h:exec(("PRAGMA user_version = %d"):format(M.SCHEMA_VERSION)))
    return true
  end)
end

-- Compares the database's tables and columns with SCHEMA. Returns true |
-- nil, message naming the first table or column missing.
local function check_tables(h, path)
  for _, name in ipairs(SCHEMA_TABLES) do
    local rows, err = h:query("SELECT type FROM sqlite_schema WHERE name = ?", name)
    if not rows then return nil, err end
    local problem
    if not rows[1] or rows[1].type ~= "table" then
      problem = ("its table %s is missing"):format(name)
    else
      local cols, cerr = h:query("SELECT name FROM pragma_table_info(?)", name)
      if not cols then return nil, cerr end
      local have = {}
      for _, c in ipairs(cols) do have[c.name] = true end
      for _, col in ipairs(SCHEMA[name]) do
        if not have[col] then
          problem = ("its table %s has no column %s"):format(name, col)
          break
        end
      end
    end
    if problem then
      return nil, ("%s was altered outside Pixie (%s); refusing to use it — move it aside "
                   .. "to start a new history"):format(path, problem)
    end
  end
  return true
end

local cache = {} -- db path -> open store of this Lua state

-- open(home) -> store | nil, message. Opens (creating) <home>/pixie.db,
-- migrates it and marks runs left running by a dead Pixie as aborted. The
-- store is cached per path for this Lua state; every Lua state of the
-- process shares its one connection (src/core/store.h). A database newer
-- than SCHEMA_VERSION, or another program's (tables, no Pixie schema
-- version), is refused by db.open on the connection before anything in
-- the file changes; one missing a table or column of SCHEMA is refused.
function M.open(home)
  if type(home) ~= "string" then error("store.open: home must be a string", 2) end
  local path = config.join(home, "pixie.db")
  local cached = cache[path]
  if cached and cached.db then return cached end
  local h, err = db.open(path, { schema_version = M.SCHEMA_VERSION })
  if not h then return nil, err end
  local migrated, merr = migrate(h, path)
  if migrated then migrated, merr = check_tables(h, path) end
  if not migrated then
    h:close()
    return nil, merr
  end
  local st = setmetatable({ db = h, path = path }, Store)
  local _, aerr = st:mark_aborted()
  if aerr then
    h:close()
    return nil, aerr
  end
  cache[path] = st
  return st
end

-- Closes the store's handle (idempotent) and forgets it from the cache.
function Store:close()
  if self.db then
    self.db:close()
    self.db = nil
  end
  if cache[self.path] == self then cache[self.path] = nil end
end

-- The open handle, raising after close (misuse).
function Store:handle()
  if not self.db then error("store is closed", 3) end
  return self.db
end

-- run_start(tool_id, inputs, source) -> run_id | nil, message.
-- inputs is a table (stored as masked JSON); source one of M.SOURCES.
function Store:run_start(tool_id, inputs, source)
  if type(tool_id) ~= "string" or tool_id == "" then error("run_start: bad tool_id", 2) end
  if not M.SOURCES[source] then error("run_start: bad source " .. tostring(source), 2) end
  local id = assert(sys.uuid4())
  local n, err = self:handle():exec(
    "INSERT INTO runs (id, tool_id, started_at, inputs_json, status, source, owner) "
      .. "VALUES (?, ?, " .. NOW .. ", ?, 'running', ?, ?)",
    id, tool_id, masked_json(inputs or {}), source, my_identity())
  if not n then return nil, err end
  return id
end

-- run_finish(run_id, {status, outputs, error, duration_ms}) -> true | nil, msg.
-- status is ok|error|timeout|cancelled; outputs any JSON value; error text.
-- duration_ms defaults to finished_at - started_at. Only a running run can
-- be finished.
function Store:run_finish(run_id, result)
  if type(result) ~= "table" then error("run_finish: result must be a table", 2) end
  local status = result.status
  if not M.STATUSES[status] or status == "running" then
    error("run_finish: bad status " .. tostring(status), 2)
  end
  local n, err = self:handle():exec(
    "UPDATE runs SET finished_at = " .. NOW .. ", status = ?, outputs_json = ?, "
      .. "error_text = ?, duration_ms = coalesce(?, CAST(round((julianday(" .. NOW
      .. ") - julianday(started_at)) * 86400000) AS INTEGER)) "
      .. "WHERE id = ? AND status = 'running'",
    status, masked_json(result.outputs), masked(result.error),
    type(result.duration_ms) == "number" and math.floor(result.duration_ms + 0.5) or nil, run_id)
  if not n then return nil, err end
  if n == 0 then return nil, ("run %s is not running"):format(tostring(run_id)) end
  return true
end

-- Adds decoded inputs/outputs to a runs row.
local function run_row(row)
  row.inputs = decoded(row.inputs_json)
  row.outputs = decoded(row.outputs_json)
  row.starred = row.starred == 1
  return row
end

-- run_get(id) -> row (with decoded inputs/outputs) | nil, message
function Store:run_get(id)
  local rows, err = self:handle():query("SELECT * FROM runs WHERE id = ?", id)
  if not rows then return nil, err end
  if not rows[1] then return nil, ("no run %s"):format(tostring(id)) end
  return run_row(rows[1])
end

-- runs_list(tool_id | nil, limit = 50) -> rows newest first | nil, message
function Store:runs_list(tool_id, limit)
  limit = math.tointeger(limit or 50)
  if not limit or limit < 0 then error("runs_list: bad limit", 2) end
  local rows, err = self:handle():query(
    "SELECT * FROM runs WHERE (?1 IS NULL OR tool_id = ?1) "
      .. "ORDER BY started_at DESC, rowid DESC LIMIT ?2", tool_id, limit)
  if not rows then return nil, err end
  for _, row in ipairs(rows) do run_row(row) end
  return rows
end

-- run_star(id, starred) -> true | nil, message
function Store:run_star(id, starred)
  local n, err = self:handle():exec("UPDATE runs SET starred = ? WHERE id = ?",
                                    starred and 1 or 0, id)
  if not n then return nil, err end
  if n == 0 then return nil, ("no run %s"):format(tostring(id)) end
  return true
end

-- prune(tool_id | nil, retain_runs = 100) -> number deleted | nil, message.
-- Keeps, per tool, the newest retain_runs un-starred finished runs, every
-- starred run and every running run (as the original: starred never count).
function Store:prune(tool_id, retain_runs)
  retain_runs = math.tointeger(retain_runs or 100)
  if not retain_runs or retain_runs < 0 then error("prune: bad retain_runs", 2) end
  return self:handle():exec([[
    DELETE FROM runs WHERE rowid IN (
      SELECT rowid FROM (
        SELECT rowid, row_number() OVER (
          PARTITION BY tool_id ORDER BY started_at DESC, rowid DESC) AS n
        FROM runs
        WHERE starred = 0 AND status <> 'running' AND (?1 IS NULL OR tool_id = ?1))
      WHERE n > ?2)]], tool_id, retain_runs)
end

-- mark_aborted() -> number marked | nil, message. Runs left "running" by a
-- process that is gone (crash, kill) become status error, error_text
-- "aborted", finished_at now. Runs of live processes are left alone.
function Store:mark_aborted()
  local h = self:handle()
  local rows, err = h:query("SELECT id, owner FROM runs WHERE status = 'running'")
  if not rows then return nil, err end
  local count = 0
  for _, row in ipairs(rows) do
    if not owner_alive(row.owner) then
      local n, uerr = h:exec(
        "UPDATE runs SET status = 'error', error_text = 'aborted', finished_at = " .. NOW
          .. " WHERE id = ? AND status = 'running'", row.id)
      if not n then return nil, uerr end
      count = count + n
    end
  end
  return count
end

-- Columns tool_state_set accepts: name -> "json" (value encoded + masked),
-- "text" (masked) or "value" (bound as is).
local TOOL_STATE_COLUMNS = {
  last_inputs = "json", overrides = "json", favourited = "value", sort_order = "value",
  archived = "value", archived_at = "value", pinned = "value", pinned_at = "value",
  pinned_warm = "value", default_warm_keep_seconds = "value", colour = "text",
  last_run_at = "value", run_count_total = "value",
}

-- tool_state_get(tool_id) -> row (last_inputs / overrides decoded) | nil
-- when the tool has no state | nil, message
function Store:tool_state_get(tool_id)
  local rows, err = self:handle():query("SELECT * FROM tool_state WHERE tool_id = ?", tool_id)
  if not rows then return nil, err end
  local row = rows[1]
  if row then
    row.last_inputs = decoded(row.last_inputs_json)
    row.overrides = decoded(row.overrides_json)
  end
  return row
end

-- tool_state_set(tool_id, fields) -> true | nil, message. Upserts the named
-- fields only (keys of TOOL_STATE_COLUMNS; json.null clears one).
function Store:tool_state_set(tool_id, fields)
  if type(tool_id) ~= "string" or type(fields) ~= "table" then
    error("tool_state_set(tool_id, fields)", 2)
  end
  local names, cols, values = {}, { "tool_id" }, { tool_id }
  for k in pairs(fields) do names[#names + 1] = k end
  table.sort(names)
  local sets = {}
  for _, k in ipairs(names) do
    local kind = TOOL_STATE_COLUMNS[k]
    if not kind then error("tool_state_set: unknown field " .. tostring(k), 2) end
    local v = fields[k]
    local col = k
    if kind == "json" then
      col = k .. "_json"
      v = v ~= json.null and masked_json(v) or nil
    elseif kind == "text" then
      v = masked(v)
    elseif v == json.null then
      v = nil
    end
    cols[#cols + 1] = col
    values[#values + 1] = v
    sets[#sets + 1] = ("%s = excluded.%s"):format(col, col)
  end
  local sql = ("INSERT INTO tool_state (%s) VALUES (%s) ON CONFLICT (tool_id) DO %s"):format(
    table.concat(cols, ", "), ("?, "):rep(#cols - 1) .. "?",
    #sets > 0 and ("UPDATE SET " .. table.concat(sets, ", ")) or "NOTHING")
  local n, err = self:handle():exec(sql, table.unpack(values, 1, #cols))
  if not n then return nil, err end
  return true
end

-- validation_report_add(tool_id, overall, report) -> id | nil, message.
-- report is a table stored as masked JSON; reports older than 30 days are
-- dropped, except the tool's newest.
function Store:validation_report_add(tool_id, overall, report)
  if not M.OVERALL[overall] then error("validation_report_add: bad overall", 2) end
  local h = self:handle()
  local report_json = masked_json(report)
  return atomically(h, function()
    assert(h:exec("INSERT INTO validation_reports (tool_id, timestamp, overall, report_json) "
                    .. "VALUES (?, " .. NOW .. ", ?, ?)", tool_id, overall, report_json))
    local id = h:last_insert_rowid()
    assert(h:exec("DELETE FROM validation_reports WHERE tool_id = ?1 AND id <> ?2 AND timestamp < "
                    .. "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 days')", tool_id, id))
    return id
  end)
end

-- validation_report_latest(tool_id) -> row (report decoded) | nil when none
-- | nil, message
function Store:validation_report_latest(tool_id)
  local rows, err = self:handle():query(
    "SELECT * FROM validation_reports WHERE tool_id = ? ORDER BY timestamp DESC, id DESC LIMIT 1",
    tool_id)
  if not rows then return nil, err end
  local row = rows[1]
  if row then row.report = decoded(row.report_json) end
  return row
end

-- validation_overall_latest() -> { [tool_id] = overall of its newest report }
-- for every tool with a report (one query, the reports not decoded) | nil,
-- message.
function Store:validation_overall_latest()
  local rows, err = self:handle():query([[
    SELECT tool_id, overall FROM (
      SELECT tool_id, overall, row_number() OVER (
        PARTITION BY tool_id ORDER BY timestamp DESC, id DESC) AS newest
      FROM validation_reports)
    WHERE newest = 1]])
  if not rows then return nil, err end
  local by_tool = {}
  for _, r in ipairs(rows) do by_tool[r.tool_id] = r.overall end
  return by_tool
end

-- spawn_log_append(tool_id, stream, text) -> true | nil, message. The text
-- is masked here; the per-tool cap (PIXIE_SPAWN_LOG_MAX_ROWS) is applied by
-- the C store, the same code the launcher thread uses.
function Store:spawn_log_append(tool_id, stream, text)
  if not M.STREAMS[stream] then error("spawn_log_append: bad stream " .. tostring(stream), 2) end
  return self:handle():spawn_log_append(tool_id, stream, masked(text))
end

-- spawn_log_tail(tool_id, after_id = 0, limit = 200) -> rows oldest first
-- (the newest `limit` rows with id > after_id) | nil, message
function Store:spawn_log_tail(tool_id, after_id, limit)
  return self:handle():query([[
    SELECT * FROM (SELECT id, tool_id, ts, stream, text FROM spawn_log
                   WHERE tool_id = ?1 AND id > ?2 ORDER BY id DESC LIMIT ?3)
    ORDER BY id]], tool_id, math.tointeger(after_id or 0), math.tointeger(limit or 200))
end

-- setting_get(key) -> value | nil when unset | nil, message
function Store:setting_get(key)
  local rows, err = self:handle():query("SELECT value FROM settings WHERE key = ?", key)
  if not rows then return nil, err end
  return rows[1] and rows[1].value
end

-- setting_set(key, value | nil) -> true | nil, message (nil deletes)
function Store:setting_set(key, value)
  if type(key) ~= "string" then error("setting_set: key must be a string", 2) end
  local n, err
  if value == nil then
    n, err = self:handle():exec("DELETE FROM settings WHERE key = ?", key)
  else
    n, err = self:handle():exec(
      "INSERT INTO settings (key, value) VALUES (?, ?) "
        .. "ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, masked(value))
  end
  if not n then return nil, err end
  return true
end

return M
