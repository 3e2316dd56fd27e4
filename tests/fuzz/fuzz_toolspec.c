/* Fuzz target for the tool.json model: feeds the input as text to
 * require("pixie.toolspec").parse(text, "fuzz") under a protected call.
 * Invariant: parse never raises, and returns either a spec table or nil plus
 * a non-empty array of error strings, none of them the "internal error"
 * line its own safety net produces. Anything else aborts. The Lua host is
 * created once per process.
 *
 * A spec must also encode as JSON and parse again to the same encoding
 * (normalisation is idempotent). The Lua host and coverage: lua_target.h. */
#include "fuzz.h"
#include "lua_target.h"

/* Returns a function(text) -> true | message that checks the invariant. */
static const char CHECKER[] =
    "local ts = require('pixie.toolspec')\n"
    "local json = require('pixie.json')\n"
    "return function(text)\n"
    "  local spec, errs = ts.parse(text, 'fuzz')\n"
    "  if spec ~= nil then\n"
    "    if type(spec) ~= 'table' or errs ~= nil then return 'spec with errors' end\n"
    "    if type(spec.id) ~= 'string' or type(spec.inputs) ~= 'table' then return 'bad spec' end\n"
    "    local once, why = json.encode(spec)\n"
    "    if not once then return 'spec does not encode: ' .. why end\n"
    "    local again, errs2 = ts.parse(once, 'fuzz')\n"
    "    if not again then return 'normalised spec rejected: ' .. errs2[1] end\n"
    "    if json.encode(again) ~= once then return 'normalisation is not idempotent' end\n"
    "    return true\n"
    "  end\n"
    "  if type(errs) ~= 'table' or #errs == 0 then return 'nil spec without errors' end\n"
    "  for _, e in ipairs(errs) do\n"
    "    if type(e) ~= 'string' then return 'non-string error' end\n"
    "    if e:find('^tool%.json: internal error') then return e end\n"
    "  end\n"
    "  return true\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return lua_target_run("=fuzz_toolspec", CHECKER, sizeof CHECKER - 1, data, size);
}
