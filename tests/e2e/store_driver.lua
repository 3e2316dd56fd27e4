-- Driver for test_store_connections.py: a Pixie process holding pixie.db
-- open while the test acts from outside. One command per line on stdin,
-- one answer line on stdout ("ok [value]" or "err <message>"):
--   db_open           a plain pixie.db handle on <home>/pixie.db
--   store_open        pixie.store.open(home) (the schema check runs)
--   insert KEY        a settings row through the plain handle
--   count             number of settings rows, through the plain handle
--   exit
-- Usage: pixie_lua_test store_driver.lua HOME
local db = require("pixie.db")
local store = require("pixie.store")

local home = arg[1]
io.stdout:setvbuf("line")
local h, st

local ops = {}
function ops.db_open()
  local err
  h, err = db.open(home .. "/pixie.db")
  return h and "" or nil, err
end
function ops.store_open()
  local err
  st, err = store.open(home)
  return st and "" or nil, err
end
function ops.insert(key)
  return h:exec("INSERT INTO settings (key, value) VALUES (?, ?)", key, key)
end
function ops.count()
  local rows, err = h:query("SELECT count(*) AS n FROM settings")
  return rows and rows[1].n, err
end

for line in io.lines() do
  local op, rest = line:match("^(%S+)%s*(.*)$")
  if op == "exit" then break end
  local ok, value, err = pcall(ops[op], rest)
  if ok and value ~= nil then
    io.stdout:write("ok ", tostring(value), "\n")
  else
    io.stdout:write("err ", tostring(ok and err or value):gsub("\n", " "), "\n")
  end
end
if st then st:close() end
if h then h:close() end
