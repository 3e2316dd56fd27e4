/* pixie: creates the Lua host and hands argv to lua/pixie/cli.lua. */
#include "host.h"

#include <lua.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    lua_State *L = host_new();
    if (!L) {
        fprintf(stderr, "pixie: out of memory\n");
        return 1;
    }
    int code = host_run_main(L, "pixie.cli", argc, argv);
    lua_close(L);
    return code;
}
