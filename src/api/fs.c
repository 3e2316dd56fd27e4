/* pixie.fs: file-system access for Lua. World failures return
 * nil, message, errno; misuse raises. */
#include "api.h"
#include "buf.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_DEFAULT_READ_LIMIT (64u * 1024u * 1024u)

/* read(path [, {limit=N, nofollow=bool}]) -> data | nil, msg, errno */
static int fs_read(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    lua_Integer limit = api_optinteger(L, 2, "limit", FS_DEFAULT_READ_LIMIT, 0, LUA_MAXINTEGER);
    int nofollow = api_optboolean(L, 2, "nofollow", 0);
    struct buf *b = api_newbuf(L, 0);
    int rc = fsutil_read(path, (size_t)limit, nofollow, b);
    if (rc != 0) {
        return api_fail(L, rc, "%s:", path);
    }
    api_pushbuf(L, b);
    return 1;
}

/* write_atomic(path, data [, mode=0644]) -> true | nil, msg, errno */
static int fs_write_atomic(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    lua_Integer mode = api_optinteger(L, 3, NULL, 0644, 0, 07777);
    int rc = fsutil_write_atomic(path, data, len, (mode_t)mode);
    if (rc != 0) {
        return api_fail(L, rc, "%s:", path);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static const char *type_name(mode_t m)
{
    if (S_ISREG(m)) {
        return "file";
    }
    if (S_ISDIR(m)) {
        return "directory";
    }
    if (S_ISLNK(m)) {
        return "link";
    }
    return "other";
}

/* stat(path [, {nofollow=bool}]) -> {type, size, mode, mtime, mtime_ns,
 * uid, ino, dev} | nil, msg, errno. mtime is seconds (float). */
static int fs_stat(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    struct stat st;
    int r = api_optboolean(L, 2, "nofollow", 0) ? lstat(path, &st) : stat(path, &st);
    if (r != 0) {
        return api_fail(L, errno, "%s:", path);
    }
    lua_createtable(L, 0, 8);
    lua_pushstring(L, type_name(st.st_mode));
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, (lua_Integer)st.st_size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
    lua_setfield(L, -2, "mode");
    lua_pushnumber(L, (lua_Number)st.st_mtim.tv_sec + (lua_Number)st.st_mtim.tv_nsec / 1e9);
    lua_setfield(L, -2, "mtime");
    lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    lua_setfield(L, -2, "mtime_ns");
    lua_pushinteger(L, (lua_Integer)st.st_uid);
    lua_setfield(L, -2, "uid");
    lua_pushinteger(L, (lua_Integer)st.st_ino);
    lua_setfield(L, -2, "ino");
    lua_pushinteger(L, (lua_Integer)st.st_dev);
    lua_setfield(L, -2, "dev");
    return 1;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Closes the folder a listing holds (box release). */
static void release_dir(void *payload)
{
    DIR **d = payload;
    if (*d) {
        closedir(*d);
        *d = NULL;
    }
}

/* list(dir) -> sorted array of entry names (without . and ..) | nil, msg, errno */
static int fs_list(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    DIR **d = api_newbox(L, sizeof *d, release_dir); /* closed even if a push raises */
    if (!(*d = opendir(path))) {
        return api_fail(L, errno, "%s:", path);
    }
    lua_newtable(L);
    int names = lua_gettop(L);
    lua_Integer n = 0;
    struct dirent *e;
    while ((e = readdir(*d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            lua_pushstring(L, e->d_name);
            lua_rawseti(L, names, ++n);
        }
    }
    release_dir(d);
    const char **v = api_push_strv(L, names, "entry"); /* strings kept by `names` */
    qsort(v, (size_t)n, sizeof *v, compare_names);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* mkdirs(path [, mode=0755]) -> true | nil, msg, errno */
static int fs_mkdirs(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    lua_Integer mode = api_optinteger(L, 2, NULL, 0755, 0, 07777);
    int rc = fsutil_mkdirs(path, (mode_t)mode);
    if (rc != 0) {
        return api_fail(L, rc, "%s:", path);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* remove(path) -> true | nil, msg, errno (files, links, empty folders) */
static int fs_remove(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    if (remove(path) != 0) {
        return api_fail(L, errno, "%s:", path);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* rename(from, to) -> true | nil, msg, errno */
static int fs_rename(lua_State *L)
{
    const char *from = api_checkpath(L, 1);
    const char *to = api_checkpath(L, 2);
    if (rename(from, to) != 0) {
        return api_fail(L, errno, "%s:", from);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* chmod(path, mode) -> true | nil, msg, errno */
static int fs_chmod(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    lua_Integer mode = luaL_checkinteger(L, 2);
    luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode out of range");
    if (chmod(path, (mode_t)mode) != 0) {
        return api_fail(L, errno, "%s:", path);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* realpath(path) -> absolute canonical path | nil, msg, errno */
static int fs_realpath(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    char buf[PATH_MAX];
    if (!realpath(path, buf)) {
        return api_fail(L, errno, "%s:", path);
    }
    lua_pushstring(L, buf);
    return 1;
}

static const luaL_Reg fs_functions[] = {
    {"read", fs_read},         {"write_atomic", fs_write_atomic},
    {"stat", fs_stat},         {"list", fs_list},
    {"mkdirs", fs_mkdirs},     {"remove", fs_remove},
    {"rename", fs_rename},     {"chmod", fs_chmod},
    {"realpath", fs_realpath}, {NULL, NULL},
};

int luaopen_pixie_fs(lua_State *L)
{
    luaL_newlib(L, fs_functions);
    return 1;
}
