-- The autocomplete route of the dashboard API (docs/dashboard-api.md §4):
--   GET /api/tools/<id>/autocomplete/<key>?q=<text>
-- asks the tool's own loopback server for suggestions for its
-- `{type: "autocomplete", endpoint: …}` input <key> and answers
-- {"suggestions": [string | {value, label}…]}, masked like every answer.
--
-- What `endpoint` names (docs/tool-format.md): the original Pixie's page
-- asked `/tool/<id>/autocomplete/<endpoint>?q=` and its tools declared
-- `provides_autocomplete` for a `/autocomplete/<name>` route, so a bare
-- name ("cities") means GET /autocomplete/cities?q=… on the tool; a path
-- ("/suggest/cities", with or without its own query) is asked as given with
-- q added. Anything else — an absolute URL, "//host", a relative path,
-- spaces or control bytes — is refused: Pixie only ever talks to the tool's
-- own server on 127.0.0.1.
--
-- The tool is started when it is not warm and asked with a short deadline,
-- on a job thread (the request waits on the board, no worker is held):
--   job(arg)  arg = JSON {key = board key, tool_id, path}
local json = require("pixie.json")
local log = require("pixie.log")
local sys = require("pixie.sys")
local tools = require("pixie.tools")
local childenv = require("pixie.childenv")
local launcher = require("pixie.launcher")
local http = require("pixie.web.http")
local web_tools = require("pixie.web.tools")

local M = {}

M.TIMEOUT_MS = 3000      -- the tool's answer, once it is running
M.MAX_QUERY = 1000       -- bytes of q
M.MAX_SUGGESTIONS = 100  -- more are cut off
M.MAX_TEXT = 1000        -- bytes of one value or label

-- Percent-encodes everything but the unreserved characters.
local function query_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- The path on the tool for an input's endpoint and the query text, or nil
-- then why the endpoint is refused.
function M.tool_path(endpoint, q)
  if type(endpoint) ~= "string" or endpoint == "" then return nil, "it is empty" end
  local path
  if endpoint:match("^[%w%-%._~]+$") and endpoint ~= "." and endpoint ~= ".." then
    path = "/autocomplete/" .. endpoint
  elseif endpoint:sub(1, 1) ~= "/" then
    return nil, "it is not a path on the tool (a bare name or a path starting with /)"
  elseif endpoint:sub(1, 2) == "//" or endpoint:find("\\", 1, true) then
    return nil, "it names another host, not a path on the tool"
  elseif not endpoint:match("^/[%w%-%._~!$&'()*+,;=:@%%/?]*$") then
    return nil, "it holds characters a URL path cannot (spaces, control bytes, #…)"
  else
    path = endpoint
  end
  for segment in (path:match("^[^?]*") .. "/"):gmatch("([^/]*)/") do
    if segment == ".." then return nil, "it climbs out of the tool with .." end
  end
  return path .. (path:find("?", 1, true) and "&" or "?") .. "q=" .. query_escape(q)
end

-- A suggestion made of one item of the tool's answer, or nil then why not.
local function suggestion(item)
  local function text(v)
    if type(v) == "string" then return #v <= M.MAX_TEXT and v or nil end
    if math.type(v) then return tostring(v) end
    if type(v) == "boolean" then return tostring(v) end
    return nil
  end
  if type(item) ~= "table" then
    local s = text(item)
    if not s then return nil, "not a string, number or {value, label}" end
    return s
  end
  if json.is_array(item) then return nil, "an array, not a string or {value, label}" end
  local value = text(item.value)
  if not value then return nil, "an object without a string or number `value`" end
  local label = item.label
  if label == nil or label == json.null then
    label = value
  elseif type(label) ~= "string" or #label > M.MAX_TEXT then
    return nil, "an object whose `label` is not a string"
  end
  return { value = value, label = label }
end

-- The suggestions of a tool's answer body: a JSON array, or an object with
-- a `suggestions` (or the original's `results`) array. Returns the array |
-- nil, why the answer is not usable.
function M.parse(body)
  local doc, err = json.decode(body or "")
  if doc == nil then return nil, "the tool's answer is not JSON (" .. tostring(err) .. ")" end
  local list = doc
  if type(doc) == "table" and not json.is_array(doc) then
    list = doc.suggestions
    if list == nil then list = doc.results end
  end
  if type(list) ~= "table" or not json.is_array(list) then
    return nil, "the tool's answer is not a list of suggestions "
      .. "(a JSON array, or an object with a `suggestions` array)"
  end
  local out = json.array({})
  for i, item in ipairs(list) do
    if i > M.MAX_SUGGESTIONS then break end
    local s, why = suggestion(item)
    if s == nil then return nil, ("suggestion %d of the tool's answer is %s"):format(i, why) end
    out[#out + 1] = s
  end
  return out
end

function M.handle(req, id, key)
  local entry, status, body = web_tools.find_ok(id)
  if not entry then return status, body end
  local input
  for _, i in ipairs(entry.spec.inputs or {}) do
    if i.key == key then input = i break end
  end
  if not input then return http.error(404, "unknown input") end
  if input.type ~= "autocomplete" then
    return http.error(400, ("input '%s' is a %s input, not autocomplete"):format(key, tostring(input.type)))
  end
  local q = (req.query or {}).q or ""
  if #q > M.MAX_QUERY then
    return http.error(400, ("q is longer than %d bytes"):format(M.MAX_QUERY))
  end
  local path, why = M.tool_path(input.endpoint, q)
  if not path then
    return http.error(400, ("the endpoint of input '%s' is refused: %s"):format(key, why))
  end
  local server = http.server()
  local board_key = "autocomplete:" .. assert(sys.uuid4())
  local opened, oerr = server.board_open(board_key)
  local started, jerr
  if opened then
    started, jerr = server.job("pixie.web.autocomplete", "job",
      assert(json.encode({ key = board_key, tool_id = entry.id, path = path })))
  end
  if not started then
    local msg = "no suggestions now: " .. tostring(oerr or jerr)
    if opened then server.finish(board_key, 503, http.encode({ error = msg })) end
    return http.error(503, msg)
  end
  return "await", board_key
end

-- status, body of the answer for a tool's suggestions (on a job thread).
local function ask(tool_id, path)
  local entry = tools.get(tool_id)
  if not entry or entry.status ~= "ok" then return http.error(404, "unknown tool") end
  local tool, terr = childenv.tool_table(entry)
  if not tool then return http.error(502, "the tool could not be prepared: " .. tostring(terr)) end
  local started, serr = launcher.start(tool)
  if not started then return http.error(502, "the tool did not start: " .. tostring(serr)) end
  local got, gerr, code = launcher.get(entry.id, path, M.TIMEOUT_MS)
  if not got then
    if math.abs(tonumber(code) or 0) == sys.errno.ETIMEDOUT then
      return http.error(502, ("the tool did not answer within %d s"):format(M.TIMEOUT_MS // 1000))
    end
    return http.error(502, "the tool did not answer: " .. tostring(gerr))
  end
  if got.status_code ~= 200 then
    local excerpt = (got.body or ""):sub(1, 200)
    return http.error(502, ("the tool answered %d: %s"):format(got.status_code, excerpt))
  end
  local list, perr = M.parse(got.body)
  if not list then return http.error(502, perr) end
  return http.json(200, { suggestions = list })
end

function M.job(arg)
  local a = assert(json.decode(arg))
  local server = http.server()
  local ok, status, body = pcall(ask, a.tool_id, a.path)
  if not ok then
    log.error(("autocomplete %s failed: %s"):format(a.tool_id, tostring(status)))
    status, body = http.error(500, "internal error")
  end
  server.finish(a.key, status, body)
end

return M
