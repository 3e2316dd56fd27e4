/* pixie.fs: file-system access for Lua. World failures return
 * nil, message, errno; misuse raises. */
#include "api.h"
#include "buf.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* Closes the descriptor a box holds (box release). */
static void release_fd(void *payload)
{
    int *fd = payload;
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = -1;
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

/* ---- walk ---------------------------------------------------------------- */

#define WALK_DEFAULT_MAX_DEPTH 32
#define WALK_DEFAULT_MAX_ENTRIES 100000

struct walk {
    lua_State *L;
    int out; /* stack index of the result array */
    int msg; /* stack index of the failure message slot */
    int err; /* errno of the failure, 0 while fine */
    lua_Integer n, max_entries;
    int max_depth;
};

/* Records a failure at `path` (relative to the walk's root): the message
 * "path: what", followed by strerror(e) when `sys` is set, and errno e.
 * Returns -1 for the caller to pass up. */
static int walk_fail(struct walk *w, int e, const char *path, const char *what, int sys)
{
    if (sys) {
        lua_pushfstring(w->L, "%s: %s: %s", *path ? path : ".", what, strerror(e));
    } else {
        lua_pushfstring(w->L, "%s: %s", *path ? path : ".", what);
    }
    lua_replace(w->L, w->msg);
    w->err = e;
    return -1;
}

/* Pushes the names in the folder open as fd (the caller's; not closed),
 * sorted by bytes, as an array. Returns 0 or -1 (walk_fail). */
static int walk_names(struct walk *w, int fd, const char *rel)
{
    lua_State *L = w->L;
    DIR **d = api_newbox(L, sizeof *d, release_dir);
    int dfd = dup(fd);
    if (dfd < 0 || !(*d = fdopendir(dfd))) {
        int e = errno;
        if (dfd >= 0) {
            close(dfd);
        }
        return walk_fail(w, e, rel, "cannot read the folder", 1);
    }
    lua_newtable(L);
    lua_Integer n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(*d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            lua_pushstring(L, e->d_name);
            lua_rawseti(L, -2, ++n);
        }
        errno = 0;
    }
    int rerr = errno;
    release_dir(d);
    if (rerr != 0) {
        return walk_fail(w, rerr, rel, "cannot read the folder", 1);
    }
    const char **v = api_push_strv(L, lua_gettop(L), "entry");
    qsort(v, (size_t)n, sizeof *v, compare_names);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_replace(L, -4); /* sorted names replace the box */
    lua_pop(L, 2);
    return 0;
}

/* Appends the entries below the folder open as fd, whose path relative to
 * the walk's root is `rel` ("" for the root), at `depth` (its children's
 * depth). Returns 0 or -1 (walk_fail). */
static int walk_dir(struct walk *w, int fd, const char *rel, int depth)
{
    lua_State *L = w->L;
    luaL_checkstack(L, 12, "walk");
    int base = lua_gettop(L);
    if (walk_names(w, fd, rel) != 0) {
        return -1;
    }
    int names = lua_gettop(L);
    lua_Integer count = (lua_Integer)lua_rawlen(L, names);
    if (count > 0 && depth > w->max_depth) {
        lua_settop(L, base);
        return walk_fail(w, ELOOP, rel, "has entries deeper than max_depth", 0);
    }
    int rc = 0;
    for (lua_Integer i = 1; rc == 0 && i <= count; i++) {
        lua_rawgeti(L, names, i);
        const char *name = lua_tostring(L, -1);
        if (*rel) {
            lua_pushfstring(L, "%s/%s", rel, name);
        } else {
            lua_pushvalue(L, -1);
        }
        const char *path = lua_tostring(L, -1);
        if (++w->n > w->max_entries) {
            rc = walk_fail(w, E2BIG, path, "more entries than max_entries", 0);
            break;
        }
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = walk_fail(w, errno, path, "cannot stat", 1);
            break;
        }
        lua_createtable(L, 0, 4);
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, "path");
        lua_pushstring(L, type_name(st.st_mode));
        lua_setfield(L, -2, "type");
        lua_pushinteger(L, (lua_Integer)st.st_size);
        lua_setfield(L, -2, "size");
        lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
        lua_setfield(L, -2, "mode");
        lua_rawseti(L, w->out, w->n);
        if (S_ISDIR(st.st_mode)) {
            int *sub = api_newbox(L, sizeof *sub, release_fd);
            *sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (*sub < 0) {
                rc = walk_fail(w, errno, path, "cannot open the folder", 1);
                break;
            }
            rc = walk_dir(w, *sub, path, depth + 1);
            release_fd(sub);
        }
        lua_settop(L, names);
    }
    lua_settop(L, base);
    return rc;
}

/* walk(dir [, {max_depth = 32, max_entries = 100000}]) -> entries | nil,
 * msg, errno. Every entry below dir, depth first, each folder's entries in
 * byte order of their names: {path (relative, '/'-separated), type, size,
 * mode}. Symlinks are listed as "link" and never followed (dir itself must
 * not be one). More than max_entries entries fails with E2BIG, an entry
 * deeper than max_depth levels with ELOOP: a walk never returns part of a
 * tree as if it were all of it. */
static int fs_walk(lua_State *L)
{
    const char *dir = api_checkpath(L, 1);
    struct walk w = {.L = L};
    w.max_depth = (int)api_optinteger(L, 2, "max_depth", WALK_DEFAULT_MAX_DEPTH, 1, 4096);
    w.max_entries =
        api_optinteger(L, 2, "max_entries", WALK_DEFAULT_MAX_ENTRIES, 0, LUA_MAXINTEGER);
    lua_settop(L, 2);
    lua_pushnil(L);
    w.msg = lua_gettop(L);
    lua_newtable(L);
    w.out = lua_gettop(L);
    int *fd = api_newbox(L, sizeof *fd, release_fd);
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0) {
        return api_fail(L, errno, "%s:", dir);
    }
    int rc = walk_dir(&w, *fd, "", 1);
    release_fd(fd);
    if (rc != 0) {
        if (w.err == ENOMEM) {
            return api_nomem(L);
        }
        return api_fail(L, w.err, "%s: %s", dir, lua_tostring(L, w.msg));
    }
    lua_settop(L, w.out);
    return 1;
}

static const luaL_Reg fs_functions[] = {
    {"read", fs_read},
    {"write_atomic", fs_write_atomic},
    {"stat", fs_stat},
    {"list", fs_list},
    {"mkdirs", fs_mkdirs},
    {"remove", fs_remove},
    {"rename", fs_rename},
    {"chmod", fs_chmod},
    {"realpath", fs_realpath},
    {"walk", fs_walk},
    {NULL, NULL},
};

int luaopen_pixie_fs(lua_State *L)
{
    luaL_newlib(L, fs_functions);
    return 1;
}
