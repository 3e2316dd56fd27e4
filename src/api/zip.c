/* pixie.zip: packing, inspecting and extracting tool archives for Lua, over
 * src/core/zip_pack, zip_inspect and zip_extract, plus the staging folder
 * dance import-tool is built on.
 *
 *   pack(dir, out, {top, exclude, limits...}) -> report | nil, msg, reason
 *   inspect(zip [, limits]) -> report (with entries) | nil, msg, reason
 *   extract(zip, staging_dir [, limits]) -> report | nil, msg, reason
 *   stage(parent) -> path | nil, msg, errno     (".staging-<pid>-XXXXXX", 0700)
 *   commit(staging, dest [, {replace}]) -> true, replaced | nil, msg, errno
 *   discard(path) -> true | nil, msg, errno     (a folder tree, never followed)
 *   defaults -> the default limits
 *
 * limits: {max_archive_bytes, max_entries, max_file_bytes, max_total_bytes,
 * max_ratio, ratio_min_bytes}, each an integer >= 1 (absent: ZIP_DEFAULT_*).
 * A report: {top, files, dirs, bytes[, entries][, skipped]}. A refused
 * archive returns nil, message, reason (the stable code of zip_reason_code,
 * "dotenv", "name_traversal", ...), and for reason "io" the errno as a
 * fourth value. Misuse raises (api.h). */
#include "api.h"
#include "fsat.h"
#include "zip_extract.h"
#include "zip_pack.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One limit field: its Lua name and where it lives in struct zip_limits. */
static const struct {
    const char *name;
    size_t offset;
} limit_fields[] = {
    {"max_archive_bytes", offsetof(struct zip_limits, max_archive_bytes)},
    {"max_entries", offsetof(struct zip_limits, max_entries)},
    {"max_file_bytes", offsetof(struct zip_limits, max_file_bytes)},
    {"max_total_bytes", offsetof(struct zip_limits, max_total_bytes)},
    {"max_ratio", offsetof(struct zip_limits, max_ratio)},
    {"ratio_min_bytes", offsetof(struct zip_limits, ratio_min_bytes)},
};
#define NLIMITS (sizeof limit_fields / sizeof limit_fields[0])

static uint64_t *limit_slot(struct zip_limits *l, size_t i)
{
    return (uint64_t *)((char *)l + limit_fields[i].offset);
}

/* Reads the limit fields of the options table at arg (absent or nil: every
 * default) into l; raises on a field that is not an integer >= 1. */
static void check_limits(lua_State *L, int arg, struct zip_limits *l)
{
    zip_limits_init(l);
    for (size_t i = 0; i < NLIMITS; i++) {
        uint64_t *v = limit_slot(l, i);
        *v = (uint64_t)api_optinteger(L, arg, limit_fields[i].name, (lua_Integer)*v, 1,
                                      LUA_MAXINTEGER);
    }
}

/* Pushes the summary of rep as a new table. */
static void push_report(lua_State *L, const struct zip_report *rep)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, rep->top);
    lua_setfield(L, -2, "top");
    lua_pushinteger(L, (lua_Integer)rep->files);
    lua_setfield(L, -2, "files");
    lua_pushinteger(L, (lua_Integer)rep->dirs);
    lua_setfield(L, -2, "dirs");
    lua_pushinteger(L, (lua_Integer)rep->bytes);
    lua_setfield(L, -2, "bytes");
}

/* The refusal return: nil, message, reason code[, errno for "io"]. An
 * out-of-memory failure raises (api.h). */
static int push_refusal(lua_State *L, const struct zip_report *rep)
{
    if (rep->reason == ZIP_REASON_IO && rep->err == ENOMEM) {
        return api_nomem(L);
    }
    lua_pushnil(L);
    lua_pushstring(L, rep->message[0] ? rep->message : zip_reason_code(rep->reason));
    lua_pushstring(L, zip_reason_code(rep->reason));
    if (rep->reason == ZIP_REASON_IO) {
        lua_pushinteger(L, rep->err ? rep->err : EIO);
        return 4;
    }
    return 3;
}

/* ---- pack ---------------------------------------------------------------- */

/* What the pack callbacks need: the state, the exclude function's stack
 * index (0: none), the skipped table's index, and the first Lua error. */
struct pack_ctx {
    lua_State *L;
    int exclude, skipped;
    int failed; /* a callback raised; its error value is on the stack top */
    const char *relpath;
    int is_dir;
    enum zip_skip why;
    int verdict;
};

/* Protected body of the exclude callback: calls exclude(relpath, is_dir).
 * Arguments (run_protected): the context, exclude, the skipped table. */
static int call_exclude(lua_State *L)
{
    struct pack_ctx *c = lua_touserdata(L, 1);
    lua_pushvalue(L, 2);
    lua_pushstring(L, c->relpath);
    lua_pushboolean(L, c->is_dir);
    lua_call(L, 2, 1);
    c->verdict = lua_toboolean(L, -1);
    return 0;
}

/* Protected body of the skipped callback: appends {path, why}. */
static int record_skipped(lua_State *L)
{
    static const char *const whys[] = {"excluded", "symlink", "special"};
    struct pack_ctx *c = lua_touserdata(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, c->relpath);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, whys[c->why]);
    lua_setfield(L, -2, "why");
    lua_rawseti(L, 3, (lua_Integer)lua_rawlen(L, 3) + 1);
    return 0;
}

/* Runs body protected so that no Lua error unwinds through zip_pack; on
 * error keeps the error value on the stack and returns -ECANCELED. */
static int run_protected(struct pack_ctx *c, lua_CFunction body)
{
    if (c->failed) {
        return -ECANCELED;
    }
    /* A light C function, a pointer and copies of stack values: no
     * allocation (the stack room was reserved), so nothing raises here. */
    lua_pushcfunction(c->L, body);
    lua_pushlightuserdata(c->L, c);
    if (c->exclude) {
        lua_pushvalue(c->L, c->exclude);
    } else {
        lua_pushnil(c->L);
    }
    lua_pushvalue(c->L, c->skipped);
    if (lua_pcall(c->L, 3, 0, 0) != LUA_OK) {
        c->failed = 1;
        return -ECANCELED;
    }
    return 0;
}

static int pack_exclude(const char *relpath, int is_dir, void *ctx)
{
    struct pack_ctx *c = ctx;
    if (!c->exclude) {
        return 0;
    }
    c->relpath = relpath;
    c->is_dir = is_dir;
    int rc = run_protected(c, call_exclude);
    return rc != 0 ? rc : c->verdict;
}

static int pack_skipped(const char *relpath, enum zip_skip why, void *ctx)
{
    struct pack_ctx *c = ctx;
    c->relpath = relpath;
    c->why = why;
    return run_protected(c, record_skipped);
}

/* Closes the folder descriptor a box holds. */
static void release_fd(void *payload)
{
    int *fd = payload;
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = -1;
}

/* pack(dir, out [, opts]) -> {top, files, dirs, bytes, skipped} | nil, msg, reason.
 * opts: top (default: dir's last component), exclude = function(relpath,
 * is_dir) -> true to leave out, and the limits. An error raised by exclude
 * stops the pack and is raised again once the pack has cleaned up. */
static int zip_pack_l(lua_State *L)
{
    const char *dir = api_checkpath(L, 1);
    const char *out = api_checkpath(L, 2);
    struct zip_limits lim;
    check_limits(L, 3, &lim);
    const char *slash = strrchr(dir, '/');
    const char *top = api_optstring(L, 3, "top", slash && slash[1] ? slash + 1 : dir, NULL);
    struct pack_ctx c = {.L = L};
    if (!lua_isnoneornil(L, 3)) {
        int t = lua_getfield(L, 3, "exclude");
        luaL_argcheck(L, t == LUA_TNIL || t == LUA_TFUNCTION, 3,
                      "field 'exclude': function expected");
        c.exclude = t == LUA_TFUNCTION ? lua_gettop(L) : 0;
        if (!c.exclude) {
            lua_pop(L, 1);
        }
    }
    lua_newtable(L);
    c.skipped = lua_gettop(L);
    int *fd = api_newbox(L, sizeof *fd, release_fd);
    *fd = -1;
    luaL_checkstack(L, 8, "pack");
    if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        return api_fail(L, errno, "%s:", dir);
    }
    struct zip_pack_opts o = {top, pack_exclude, pack_skipped, &c, &lim};
    struct zip_report rep;
    int rc = zip_pack(*fd, out, &o, &rep);
    if (c.failed) {
        return lua_error(L); /* the callback's error, now that the pack cleaned up */
    }
    release_fd(fd);
    if (rc != 0) {
        return push_refusal(L, &rep);
    }
    push_report(L, &rep);
    lua_pushvalue(L, c.skipped);
    lua_setfield(L, -2, "skipped");
    return 1;
}

/* ---- inspect and extract ------------------------------------------------- */

/* An open archive and its plan, freed by the box if anything raises. */
struct inspection {
    zip_t *za;
    struct zip_plan plan;
};

static void release_inspection(void *payload)
{
    struct inspection *in = payload;
    zip_plan_free(&in->plan);
    if (in->za) {
        zip_discard(in->za);
        in->za = NULL;
    }
}

/* inspect(zip [, limits]) -> {top, files, dirs, bytes, entries} | nil, msg,
 * reason. entries: {name, size, type = "file"|"directory", exec} per entry
 * in archive order, names relative to the top folder (the top folder's own
 * entry left out). */
static int zip_inspect_l(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    struct zip_limits lim;
    check_limits(L, 2, &lim);
    struct inspection *in = api_newbox(L, sizeof *in, release_inspection);
    struct zip_report rep;
    if (!(in->za = zip_inspect_open_path(path, &lim, &rep)) ||
        zip_inspect_archive(in->za, &lim, &in->plan, &rep) != 0) {
        release_inspection(in);
        return push_refusal(L, &rep);
    }
    push_report(L, &rep);
    lua_createtable(L, (int)in->plan.count, 0);
    size_t top_len = strlen(rep.top);
    lua_Integer n = 0;
    for (size_t i = 0; i < in->plan.count; i++) {
        const struct zip_plan_entry *pe = &in->plan.entries[i];
        if (pe->len <= top_len) {
            continue;
        }
        lua_createtable(L, 0, 4);
        lua_pushlstring(L, pe->name + top_len + 1, pe->len - top_len - 1);
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, (lua_Integer)pe->size);
        lua_setfield(L, -2, "size");
        lua_pushstring(L, pe->is_dir ? "directory" : "file");
        lua_setfield(L, -2, "type");
        lua_pushboolean(L, pe->exec);
        lua_setfield(L, -2, "exec");
        lua_rawseti(L, -2, ++n);
    }
    lua_setfield(L, -2, "entries");
    release_inspection(in);
    return 1;
}

/* extract(zip, staging_dir [, limits]) -> {top, files, dirs, bytes} | nil,
 * msg, reason. staging_dir must be an empty folder (not a symlink); the
 * archive is inspected first, then extracted into it with the top folder
 * stripped; on failure it is emptied again. */
static int zip_extract_l(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    const char *staging = api_checkpath(L, 2);
    struct zip_limits lim;
    check_limits(L, 3, &lim);
    int *fd = api_newbox(L, sizeof *fd, release_fd);
    *fd = -1;
    if ((*fd = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        return api_fail(L, errno, "%s:", staging);
    }
    struct zip_report rep;
    int rc = zip_extract_path(path, *fd, &lim, &rep);
    release_fd(fd);
    if (rc != 0) {
        return push_refusal(L, &rep);
    }
    push_report(L, &rep);
    return 1;
}

/* ---- staging ------------------------------------------------------------- */

/* stage(parent) -> path of a new folder "<parent>/.staging-<pid>-XXXXXX"
 * (mode 0700) | nil, msg, errno. The pid lets a later run tell a folder
 * left by a killed process from one in use. */
static int zip_stage_l(lua_State *L)
{
    const char *parent = api_checkpath(L, 1);
    lua_pushfstring(L, "%s/.staging-%d-XXXXXX", parent, (int)getpid());
    size_t len;
    const char *tmpl = lua_tolstring(L, -1, &len);
    char *path = lua_newuserdatauv(L, len + 1, 0); /* Lua-owned: mkdtemp edits it */
    memcpy(path, tmpl, len + 1);
    if (!mkdtemp(path)) {
        return api_fail(L, errno, "cannot create a staging folder in %s:", parent);
    }
    lua_pushstring(L, path);
    return 1;
}

/* commit(staging, dest [, {replace = bool}]) -> true, replaced | nil, msg,
 * errno. Renames the folder `staging` to `dest` atomically, only when dest
 * does not exist (renameat2 RENAME_NOREPLACE; EEXIST otherwise). With
 * replace, an existing dest is exchanged with staging in one step
 * (RENAME_EXCHANGE), so dest is at every moment the old or the new folder;
 * the old one, now at `staging`, is then removed (replaced = true). */
static int zip_commit_l(lua_State *L)
{
    const char *staging = api_checkpath(L, 1);
    const char *dest = api_checkpath(L, 2);
    int replace = api_optboolean(L, 3, "replace", 0);
    int rc = fsat_rename_noreplace(AT_FDCWD, staging, AT_FDCWD, dest);
    if (rc == -EEXIST && replace) {
        struct stat st;
        if (lstat(dest, &st) != 0) {
            return api_fail(L, errno, "%s:", dest);
        }
        if (!S_ISDIR(st.st_mode)) {
            return api_fail(L, ENOTDIR, "%s:", dest);
        }
        if (renameat2(AT_FDCWD, staging, AT_FDCWD, dest, RENAME_EXCHANGE) != 0) {
            return api_fail(L, errno, "cannot exchange %s with %s:", dest, staging);
        }
        rc = fsat_remove_tree(AT_FDCWD, staging);
        if (rc != 0) {
            return api_fail(L, rc, "%s is in place, but its old version in %s remains:", dest,
                            staging);
        }
        lua_pushboolean(L, 1);
        lua_pushboolean(L, 1);
        return 2;
    }
    if (rc != 0) {
        return api_fail(L, rc, "cannot move %s to %s:", staging, dest);
    }
    lua_pushboolean(L, 1);
    lua_pushboolean(L, 0);
    return 2;
}

/* discard(path) -> true | nil, msg, errno: removes the folder tree at path
 * (symlinks inside are removed, never followed); a missing path is fine. */
static int zip_discard_l(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    int rc = fsat_remove_tree(AT_FDCWD, path);
    if (rc != 0) {
        return api_fail(L, rc, "cannot remove %s:", path);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg zip_functions[] = {
    {"pack", zip_pack_l},   {"inspect", zip_inspect_l}, {"extract", zip_extract_l},
    {"stage", zip_stage_l}, {"commit", zip_commit_l},   {"discard", zip_discard_l},
    {NULL, NULL},
};

int luaopen_pixie_zip(lua_State *L)
{
    luaL_newlib(L, zip_functions);
    struct zip_limits l;
    zip_limits_init(&l);
    lua_createtable(L, 0, (int)NLIMITS);
    for (size_t i = 0; i < NLIMITS; i++) {
        lua_pushinteger(L, (lua_Integer)*limit_slot(&l, i));
        lua_setfield(L, -2, limit_fields[i].name);
    }
    lua_setfield(L, -2, "defaults");
    return 1;
}
