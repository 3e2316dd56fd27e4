-- pixie.db (binding) and pixie.store (schema, runs, masking in one place).
local t = require("harness")
local db = require("pixie.db")
local json = require("pixie.json")
local store = require("pixie.store")

-- Reads a whole file as bytes ("" when missing).
local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local data = f:read("a")
  f:close()
  return data
end

local function fresh_store(name)
  local home = t.tmpdir(name)
  return assert(store.open(home)), home
end

-- Row count of a table through a second, independent handle.
local function count(path, sql, ...)
  local h <close> = assert(db.open(path))
  return assert(h:query(sql, ...))[1].n
end

t.test("db_binds_parameters_never_formats_them", function()
  local dir = t.tmpdir("db-bind")
  local h <close> = assert(db.open(dir .. "/x.db"))
  assert(h:exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v)"))
  local odd = {
    "it's", 'say "hi"', "'); DROP TABLE t; --", "line\nbreak\ttab", "\255\254 not utf-8",
    "?", "$1 :name @x", ("x"):rep(100000), "",
  }
  for i, v in ipairs(odd) do
    t.eq(h:exec("INSERT INTO t (k, v) VALUES (?, ?)", i, v), 1)
  end
  for i, v in ipairs(odd) do
    t.eq(h:query("SELECT v FROM t WHERE k = ?", i)[1].v, v, "value " .. i)
  end
  local rows = h:query("SELECT count(*) AS n FROM t WHERE v = ?", "'); DROP TABLE t; --")
  t.eq(rows[1].n, 1)
end)

t.test("db_types_round_trip_and_null_is_absent", function()
  local dir = t.tmpdir("db-types")
  local h <close> = assert(db.open(dir .. "/x.db"))
  local rows, cols = h:query("SELECT ? AS i, ? AS f, ? AS s, ? AS n, ? AS b, ? AS jn, x'00ff' AS bl",
                             42, 2.5, "s", nil, true, json.null)
  t.eq(cols, { "i", "f", "s", "n", "b", "jn", "bl" })
  local r = rows[1]
  t.eq(math.type(r.i), "integer")
  t.eq(r.i, 42)
  t.eq(r.f, 2.5)
  t.eq(r.s, "s")
  t.eq(r.n, nil)
  t.eq(r.b, 1)
  t.eq(r.jn, nil)
  t.eq(r.bl, "\0\255")
  t.eq(#h:query("SELECT 1 WHERE 0"), 0)
end)

t.test("db_misuse_raises_sql_errors_return_nil_message", function()
  local dir = t.tmpdir("db-misuse")
  local h = assert(db.open(dir .. "/x.db"))
  t.raises(function() h:exec("SELECT ?", {}) end, "cannot bind a table")
  t.raises(function() h:exec("SELECT ?", print) end, "cannot bind a function")
  t.raises(function() h:exec("SELECT ?") end, "takes 1 parameter(s), 0 given")
  t.raises(function() h:exec("SELECT ?, ?", 1) end, "takes 2 parameter(s), 1 given")
  t.raises(function() h:query("SELECT 1; SELECT 2") end, "only one SQL statement")
  t.raises(function() h:exec("SELECT ?; SELECT 2", 1) end, "only one SQL statement")
  t.raises(function() h:query("  -- nothing\n") end, "no SQL statement")
  t.raises(function() h:exec(42 == 42 and {} or "") end, "string expected")
  t.raises(function() h.exec({}, "SELECT 1") end, "pixie.db expected")
  t.raises(function() h:exec("SELECT 1;\0 DROP TABLE x") end, "NUL byte")
  t.raises(function() db.open(dir .. "/x.db\0.txt") end, "path contains a NUL byte")
  t.raises(function() db.open("") end, "empty path")
  local v, err = h:exec("INSERT INTO nowhere VALUES (1)")
  t.eq(v, nil)
  t.contains(err, "no such table: nowhere")
  t.ok(select(3, h:exec("INSERT INTO nowhere VALUES (1)")) > 0, "failures carry an errno code")
  v, err = h:query("SELEC 1")
  t.eq(v, nil)
  t.contains(err, "syntax error")
  -- the handle still works after failures
  t.eq(h:query("SELECT 7 AS x")[1].x, 7)
  h:close()
  h:close() -- idempotent
  t.raises(function() h:query("SELECT 1") end, "closed")
  t.raises(function() h:transaction(function() end) end, "closed")
  t.contains(tostring(h), "closed")
end)

t.test("db_exec_runs_exactly_one_statement_and_counts_changes", function()
  local dir = t.tmpdir("db-exec")
  local h <close> = assert(db.open(dir .. "/x.db"))
  assert(h:exec("CREATE TABLE a (x)"))
  assert(h:exec("CREATE TABLE settings (k)"))
  t.eq(h:exec("INSERT INTO a VALUES (1), (2);  -- trailing comment"), 2)
  t.eq(h:exec("UPDATE a SET x = x + ?", 10), 2)
  t.eq(h:last_insert_rowid(), 2)
  t.eq(h:query("SELECT sum(x) AS s FROM a")[1].s, 23)
  -- a second statement is refused before the first runs, parameters or not
  t.raises(function() h:exec("SELECT 1; DROP TABLE settings") end, "only one SQL statement")
  t.raises(function() h:exec("INSERT INTO a VALUES (5); DROP TABLE settings") end,
           "nothing was run")
  t.raises(function() h:exec("DELETE FROM a WHERE x = ?; DROP TABLE settings", 11) end,
           "only one SQL statement")
  t.raises(function() h:exec("-- nothing") end, "no SQL statement")
  t.eq(#h:query("SELECT name FROM sqlite_schema WHERE name = 'settings'"), 1, "settings kept")
  t.eq(h:query("SELECT count(*) AS n FROM a")[1].n, 2, "no insert ran")
end)

t.test("store_refuses_a_database_missing_a_table_or_column", function()
  for _, case in ipairs({
    { "DROP TABLE runs", "its table runs is missing" },
    { "ALTER TABLE settings DROP COLUMN value", "its table settings has no column value" },
    { "DROP TABLE spawn_log", "its table spawn_log is missing" },
  }) do
    local st, home = fresh_store("store-altered")
    local path = home .. "/pixie.db"
    assert(st:run_start("echo", {}, "cli"))
    assert(st.db:exec(case[1]))
    st:close()
    local again, err = store.open(home)
    t.eq(again, nil, case[1])
    t.contains(err, path .. " was altered outside Pixie (" .. case[2] .. ")")
    t.contains(err, "move it aside")
    -- never recreated over the history: the table is still gone
    local h <close> = assert(db.open(path))
    t.eq(#h:query("SELECT name FROM sqlite_schema WHERE name = 'runs'"),
         case[1] == "DROP TABLE runs" and 0 or 1, case[1])
  end
end)

t.test("sqlmask_masks_literals_and_refuses_secrets_elsewhere", function()
  local sqlmask = require("pixie.sqlmask")
  local function scrub(s) return (s:gsub("SECRET", "***")) end
  local cases = {
    { "SELECT 1", "SELECT 1" },
    { "INSERT INTO t VALUES ('a SECRET b', 'it''s SECRET')",
      "INSERT INTO t VALUES ('a *** b', 'it''s ***')" },
    { "SELECT \"SECRET\", [SECRET], `x``SECRET`", "SELECT \"***\", [***], `x``***`" },
    { "SELECT x'SECRET' /* it's */ ,'SECRET'", "SELECT x'***' /* it's */ ,'***'" },
    { "SELECT 'ok' -- don't\n, 'SECRET'", "SELECT 'ok' -- don't\n, '***'" },
    { "SELECT 'SECRET", "SELECT '***" },
  }
  for _, c in ipairs(cases) do t.eq(sqlmask.mask(c[1], scrub), c[2], c[1]) end
  for _, sql in ipairs({ "SELECT 1 -- SECRET", "SELECT 'a' || SECRET", "SELECT SECRET" }) do
    local v, err = sqlmask.mask(sql, scrub)
    t.eq(v, nil, sql)
    t.contains(err, "bound parameter")
  end
end)

t.test("db_transaction_commits_rolls_back_and_rethrows", function()
  local dir = t.tmpdir("db-tx")
  local h <close> = assert(db.open(dir .. "/x.db"))
  assert(h:exec("CREATE TABLE a (x)"))
  local ok, v = h:transaction(function(hh)
    assert(hh:exec("INSERT INTO a VALUES (1)"))
    return "done"
  end)
  t.eq(ok, true)
  t.eq(v, "done")
  local err_obj = {}
  local pok, perr = pcall(h.transaction, h, function()
    assert(h:exec("INSERT INTO a VALUES (2)"))
    error(err_obj)
  end)
  t.eq(pok, false)
  t.ok(perr == err_obj, "the original error object is rethrown")
  -- nested: the inner failure rolls back only the inner part
  h:transaction(function()
    assert(h:exec("INSERT INTO a VALUES (3)"))
    pcall(h.transaction, h, function()
      assert(h:exec("INSERT INTO a VALUES (4)"))
      error("inner")
    end)
  end)
  local rows = h:query("SELECT x FROM a ORDER BY x")
  t.eq(#rows, 2)
  t.eq(rows[1].x, 1)
  t.eq(rows[2].x, 3)
end)

t.test("db_close_via_to_be_closed_variable", function()
  local dir = t.tmpdir("db-close")
  local escaped
  do
    local h <close> = assert(db.open(dir .. "/x.db"))
    escaped = h
    assert(h:exec("CREATE TABLE a (x)"))
  end
  t.raises(function() escaped:query("SELECT 1") end, "closed")
end)

t.test("db_open_refuses_non_sqlite_file_and_keeps_it", function()
  local dir = t.tmpdir("db-refuse")
  local path = dir .. "/pixie.db"
  local junk = "this is my precious history, not SQLite\n" .. ("z"):rep(5000)
  t.write(path, junk)
  local h, err = db.open(path)
  t.eq(h, nil)
  t.contains(err, "is not a SQLite database")
  t.eq(slurp(path), junk)
  t.eq(slurp(path .. "-wal"), "")
  local st, serr = store.open(dir)
  t.eq(st, nil)
  t.contains(serr, "is not a SQLite database")
  t.eq(slurp(path), junk)
end)

t.test("store_migrations_idempotent_on_reopen", function()
  local st, home = fresh_store("st-migrate")
  local path = home .. "/pixie.db"
  t.eq(assert(st.db:query("PRAGMA user_version"))[1].user_version, store.SCHEMA_VERSION)
  local schema = assert(st.db:query("SELECT type, name, sql FROM sqlite_schema ORDER BY name"))
  st:close()
  local again = assert(store.open(home))
  t.ok(again ~= st, "a closed store is not served from the cache")
  t.eq(assert(again.db:query("SELECT type, name, sql FROM sqlite_schema ORDER BY name")), schema)
  t.ok(store.open(home) == again, "cached per path")
  again:close()
  -- a database from a newer Pixie is refused, not downgraded
  do
    local h <close> = assert(db.open(path))
    assert(h:exec("PRAGMA user_version = 99"))
  end
  local newer, err = store.open(home)
  t.eq(newer, nil)
  t.contains(err, "newer than this Pixie knows")
  do
    local h <close> = assert(db.open(path))
    t.eq(h:query("PRAGMA user_version")[1].user_version, 99)
  end
end)

t.test("store_run_lifecycle", function()
  local st = fresh_store("st-life")
  local id = assert(st:run_start("echo", { text = "it's \"quoted\"" }, "cli"))
  t.ok(id:match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"), "uuid v4: " .. id)
  local run = assert(st:run_get(id))
  t.eq(run.status, "running")
  t.eq(run.source, "cli")
  t.eq(run.inputs.text, "it's \"quoted\"")
  t.ok(run.started_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"), run.started_at)
  assert(st:run_finish(id, { status = "ok", outputs = { echo = "hi", n = 2 } }))
  run = assert(st:run_get(id))
  t.eq(run.status, "ok")
  t.eq(run.outputs, { echo = "hi", n = 2 })
  t.ok(run.finished_at >= run.started_at, "finished after started")
  t.eq(math.type(run.duration_ms), "integer")
  t.ok(run.duration_ms >= 0, "duration")
  local again, err = st:run_finish(id, { status = "error", error = "late" })
  t.eq(again, nil)
  t.contains(err, "is not running")
  local e = assert(st:run_start("echo", nil, "dashboard"))
  assert(st:run_finish(e, { status = "timeout", error = "deadline passed", duration_ms = 1234.4 }))
  run = assert(st:run_get(e))
  t.eq(run.error_text, "deadline passed")
  t.eq(run.duration_ms, 1234)
  t.eq(run.outputs, nil)
  local list = assert(st:runs_list("echo", 10))
  t.eq(#list, 2)
  t.eq(list[1].id, e, "newest first")
  t.eq(list[2].id, id)
  t.eq(#assert(st:runs_list("other")), 0)
  t.eq(#assert(st:runs_list(nil, 1)), 1)
  local missing, merr = st:run_get("nope")
  t.eq(missing, nil)
  t.contains(merr, "no run nope")
  t.raises(function() st:run_start("echo", {}, "elsewhere") end, "bad source")
  t.raises(function() st:run_finish(id, { status = "done" }) end, "bad status")
  t.raises(function() st:run_start("echo", { f = print }, "cli") end, "cannot store as JSON")
  st:close()
end)

t.test("store_prune_keeps_newest_and_starred", function()
  local st, home = fresh_store("st-prune")
  local ids = {}
  for i = 1, 6 do
    ids[i] = assert(st:run_start("t1", { i = i }, "cli"))
    assert(st:run_finish(ids[i], { status = "ok", outputs = {} }))
  end
  local other = assert(st:run_start("t2", {}, "cli"))
  assert(st:run_finish(other, { status = "ok" }))
  local running = assert(st:run_start("t1", {}, "cli"))
  assert(st:run_star(ids[1], true))
  assert(st:run_star(ids[2], true))
  assert(st:run_star(ids[2], false))
  t.eq(assert(st:prune("t1", 2)), 3) -- ids 2, 3, 4 go
  local left = {}
  for _, r in ipairs(assert(st:runs_list("t1", 100))) do left[r.id] = true end
  t.eq(left, { [ids[1]] = true, [ids[5]] = true, [ids[6]] = true, [running] = true })
  t.ok(assert(st:run_get(ids[1])).starred, "starred kept")
  t.ok(st:run_get(other), "other tools untouched")
  t.eq(assert(st:prune(nil, 0)), 3) -- all tools: ids 5, 6 and other
  t.eq(count(home .. "/pixie.db", "SELECT count(*) AS n FROM runs"), 2)
  st:close()
end)

t.test("store_marks_runs_of_dead_processes_aborted", function()
  local st, home = fresh_store("st-abort")
  local mine = assert(st:run_start("t", {}, "cli"))
  local dead = assert(st:run_start("t", {}, "cli"))
  local legacy = assert(st:run_start("t", {}, "cli"))
  local done = assert(st:run_start("t", {}, "cli"))
  assert(st:run_finish(done, { status = "ok" }))
  -- "dead": same boot, a pid that cannot exist; legacy: no owner at all
  assert(st.db:exec("UPDATE runs SET owner = 'x/999999999/1' WHERE id = ?", dead))
  assert(st.db:exec("UPDATE runs SET owner = NULL WHERE id = ?", legacy))
  st:close()
  st = assert(store.open(home)) -- mark_aborted runs at open
  t.eq(assert(st:run_get(mine)).status, "running", "a live process's run is left alone")
  for _, id in ipairs({ dead, legacy }) do
    local r = assert(st:run_get(id))
    t.eq(r.status, "error")
    t.eq(r.error_text, "aborted")
    t.ok(r.finished_at, "finished_at set")
  end
  t.eq(assert(st:run_get(done)).status, "ok")
  t.eq(assert(st:mark_aborted()), 0)
  st:close()
end)

t.test("store_tool_state_settings_reports", function()
  local st = fresh_store("st-misc")
  t.eq(st:tool_state_get("t"), nil)
  assert(st:tool_state_set("t", { last_inputs = { a = 1 }, pinned_warm = true }))
  assert(st:tool_state_set("t", { archived = 1 }))
  local s = assert(st:tool_state_get("t"))
  t.eq(s.last_inputs, { a = 1 })
  t.eq(s.pinned_warm, 1)
  t.eq(s.archived, 1)
  assert(st:tool_state_set("t", { last_inputs = json.null }))
  t.eq(assert(st:tool_state_get("t")).last_inputs, nil)
  t.raises(function() st:tool_state_set("t", { ["x; DROP TABLE runs"] = 1 }) end, "unknown field")
  t.eq(st:setting_get("theme"), nil)
  assert(st:setting_set("theme", "dark"))
  assert(st:setting_set("theme", "light"))
  t.eq(st:setting_get("theme"), "light")
  assert(st:setting_set("theme", nil))
  t.eq(st:setting_get("theme"), nil)
  t.eq(st:validation_report_latest("t"), nil)
  local r1 = assert(st:validation_report_add("t", "fail", { checks = { "a" } }))
  local r2 = assert(st:validation_report_add("t", "pass", { checks = { "b" } }))
  t.ok(r2 > r1, "ids grow")
  local latest = assert(st:validation_report_latest("t"))
  t.eq(latest.overall, "pass")
  assert(st:validation_report_add("u", "warn", {}))
  local all = assert(st:validation_overall_latest())
  t.eq(all.t, "pass")
  t.eq(all.u, "warn")
  t.eq(all.v, nil)
  t.eq(latest.report.checks[1], "b")
  t.raises(function() st:validation_report_add("t", "meh", {}) end, "bad overall")
  t.raises(function() st:validation_report_add("t", "pass", { f = print }) end, "cannot store")
  st:close()
end)

t.test("store_spawn_log_tail_and_cap", function()
  local st, home = fresh_store("st-log")
  for i = 1, 30 do assert(st:spawn_log_append("t", i % 2 == 0 and "stdout" or "stderr", "line " .. i)) end
  assert(st:spawn_log_append("u", "pixie", "other tool"))
  local tail = assert(st:spawn_log_tail("t", 0, 5))
  t.eq(#tail, 5)
  t.eq(tail[1].text, "line 26")
  t.eq(tail[5].text, "line 30")
  t.eq(tail[5].stream, "stdout")
  local after = assert(st:spawn_log_tail("t", tail[4].id, 100))
  t.eq(#after, 1)
  t.eq(after[1].text, "line 30")
  t.raises(function() st:spawn_log_append("t", "stdin", "x") end, "bad stream")
  t.eq(count(home .. "/pixie.db", "SELECT count(*) AS n FROM spawn_log WHERE tool_id = 'u'"), 1)
  st:close()
end)

-- The canary is registered with the process-wide masker; no byte of the
-- database files may hold it, whichever column it was written to.
t.test("store_masks_every_text_column_in_one_place", function()
  local canary = "CANARY-store-7f3a9-SECRET"
  require("pixie.mask").add(canary)
  local st, home = fresh_store("st-canary")
  local visible = "VISIBLE-marker-4242"
  local id = assert(st:run_start("t", { key = canary, note = visible }, "cli"))
  assert(st:run_finish(id, { status = "error", outputs = { out = "x" .. canary .. "y" },
                             error = "failed with " .. canary }))
  assert(st:validation_report_add("t", "warn", { detail = canary, list = { canary } }))
  assert(st:spawn_log_append("t", "stderr", "token=" .. canary .. "\n"))
  assert(st:tool_state_set("t", { last_inputs = { k = canary }, overrides = { canary },
                                  colour = canary }))
  assert(st:setting_set("s", canary))
  local run = assert(st:run_get(id))
  t.eq(run.inputs.key, "***")
  t.contains(run.error_text, "***")
  local path = home .. "/pixie.db"
  local bytes = slurp(path) .. slurp(path .. "-wal") .. slurp(path .. "-shm")
  t.contains(bytes, visible, "the byte search works")
  t.ok(not bytes:find(canary, 1, true), "canary absent from pixie.db, -wal and -shm")
  st:close()
  bytes = slurp(path) .. slurp(path .. "-wal") .. slurp(path .. "-shm")
  t.ok(not bytes:find(canary, 1, true), "canary absent after checkpoint on close")
end)

t.test("db_refuses_transaction_statements_use_transaction_fn", function()
  local dir = t.tmpdir("db-control")
  local h <close> = assert(db.open(dir .. "/x.db"))
  assert(h:exec("CREATE TABLE a (x)"))
  for _, sql in ipairs({ "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", "SAVEPOINT s",
                         "RELEASE s" }) do
    t.raises(function() h:exec(sql) end, "use transaction(fn)")
  end
  t.raises(function() h:query("BEGIN") end, "use transaction(fn)")
  t.eq(h:exec("VACUUM"), 0, "SQLite's own transaction inside VACUUM is allowed")
  -- the connection is not left inside a transaction: another handle writes
  local other <close> = assert(db.open(dir .. "/x.db"))
  t.eq(other:exec("INSERT INTO a VALUES (2)"), 1)
  t.eq(h:query("SELECT count(*) AS n FROM a")[1].n, 1)
end)

t.test("db_handles_share_one_connection_but_not_last_insert_rowid", function()
  local dir = t.tmpdir("db-shared")
  local a <close> = assert(db.open(dir .. "/x.db"))
  local b <close> = assert(db.open(dir .. "/./x.db"))
  assert(a:exec("CREATE TABLE p (k INTEGER PRIMARY KEY)"))
  assert(a:exec("CREATE TABLE q (k INTEGER PRIMARY KEY)"))
  assert(a:exec("INSERT INTO p VALUES (41)"))
  assert(b:exec("INSERT INTO q VALUES (7)"))
  assert(b:exec("UPDATE q SET k = 8"))
  t.eq(a:last_insert_rowid(), 41, "a's own insert, not b's")
  t.eq(b:last_insert_rowid(), 7)
  -- a transaction of one handle is seen whole by the other
  local ok = a:transaction(function()
    assert(a:exec("INSERT INTO p VALUES (1)"))
    t.eq(b:query("SELECT count(*) AS n FROM p")[1].n, 2, "same connection, same thread")
  end)
  t.eq(ok, true)
  a:close()
  t.eq(b:query("SELECT count(*) AS n FROM p")[1].n, 2, "closing one handle keeps the other")
end)

t.test("db_open_schema_version_is_checked_on_the_connection", function()
  local dir = t.tmpdir("db-schema")
  local path = dir .. "/pixie.db"
  local h <close> = assert(db.open(path, { schema_version = 2 }))
  assert(h:exec("CREATE TABLE t (x)"))
  local none, err = db.open(path, { schema_version = 2 })
  t.eq(none, nil)
  t.contains(err, "not a Pixie database")
  assert(h:exec("PRAGMA user_version = 5")) -- still in the WAL: page 1 says 0
  none, err = db.open(path, { schema_version = 2 })
  t.eq(none, nil)
  t.contains(err, "schema version 5, newer than this Pixie knows (2)")
  local same <close> = assert(db.open(path, { schema_version = 5 }))
  t.raises(function() db.open(path, { schema_version = -1 }) end, "integer in 0..2147483647 expected")
  t.raises(function() db.open(path, 5) end, "table expected")
end)

t.test("runs_store_points_the_launcher_sink_once", function()
  local launcher = require("pixie.launcher")
  local config = require("pixie.config")
  local runs = require("pixie.runs")
  local home = t.tmpdir("runs-sink")
  assert(config.set_home(home))
  local real, calls = launcher.set_store, 0
  launcher.set_store = function(...)
    calls = calls + 1
    return real(...)
  end
  local ok, err = pcall(function()
    for _ = 1, 5 do assert(runs.store()) end
  end)
  launcher.set_store = real
  assert(ok, err)
  t.eq(calls, 1, "set once, not on every run")
end)

return t.run()
