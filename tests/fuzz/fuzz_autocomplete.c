/* Fuzz target for the autocomplete route's two parsers of untrusted text
 * (lua/pixie/web/autocomplete.lua). An input starting with 'e' is
 * "e<endpoint>\n<q>" for tool_path(endpoint, q) (the endpoint comes from a
 * tool.json, q from the page); any other input is a tool's answer body
 * for parse(body). Invariants, any broken one aborts:
 *   1. neither raises;
 *   2. parse gives nil and a non-empty reason, or at most MAX_SUGGESTIONS
 *      suggestions, each a string or {value, label} of strings no longer
 *      than MAX_TEXT, and the list encodes as JSON;
 *   3. tool_path gives nil and a non-empty reason, or a path on the tool:
 *      it starts with one '/', holds no byte a URL cannot (controls, space,
 *      '#', '\'), no ".." segment, and ends with q percent-encoded.
 * The Lua host and coverage: lua_target.h. */
#include "fuzz.h"
#include "lua_target.h"

static const char CHECKER[] =
    "local ac = require('pixie.web.autocomplete')\n"
    "local json = require('pixie.json')\n"
    "local function reason(why)\n"
    "  if type(why) ~= 'string' or why == '' then return 'nil without a reason' end\n"
    "  return true\n"
    "end\n"
    "local function check_list(list, why)\n"
    "  if list == nil then return reason(why) end\n"
    "  if type(list) ~= 'table' or not json.is_array(list) and #list > 0 then\n"
    "    return 'not an array'\n"
    "  end\n"
    "  if #list > ac.MAX_SUGGESTIONS then return 'too many suggestions' end\n"
    "  for _, s in ipairs(list) do\n"
    "    local texts = type(s) == 'table' and { s.value, s.label } or { s }\n"
    "    for _, t in ipairs(texts) do\n"
    "      if type(t) ~= 'string' then return 'a suggestion that is not text' end\n"
    "      if #t > ac.MAX_TEXT then return 'a suggestion longer than MAX_TEXT' end\n"
    "    end\n"
    "  end\n"
    "  if not json.encode({ suggestions = list }) then return 'does not encode' end\n"
    "  return true\n"
    "end\n"
    "local function check_path(path, why, q)\n"
    "  if path == nil then return reason(why) end\n"
    "  if path:sub(1, 1) ~= '/' or path:sub(1, 2) == '//' then return 'not a path: ' .. path end\n"
    "  if path:find('[%c %#\\\\\\127-\\255]') then return 'a byte a URL cannot hold' end\n"
    "  for seg in ((path:match('^[^?]*')) .. '/'):gmatch('([^/]*)/') do\n"
    "    if seg == '..' then return 'climbs out with ..' end\n"
    "  end\n"
    "  local escaped = q:gsub('[^%w%-%._~]', function(c) return ('%%%02X'):format(c:byte()) end)\n"
    "  if path:sub(-(#escaped + 2)) ~= 'q=' .. escaped then return 'q is not at the end' end\n"
    "  return true\n"
    "end\n"
    "return function(text)\n"
    "  if text:sub(1, 1) == 'e' then\n"
    "    local endpoint, q = text:sub(2):match('^([^\\n]*)\\n?(.*)$')\n"
    "    local path, why = ac.tool_path(endpoint, q)\n"
    "    return check_path(path, why, q)\n"
    "  end\n"
    "  return check_list(ac.parse(text))\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return lua_target_run("=fuzz_autocomplete", CHECKER, sizeof CHECKER - 1, data, size);
}
