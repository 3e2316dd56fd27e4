/* pixie.db: SQLite databases for Lua, over src/core/store.
 *
 *   db.open(path [, {schema_version = n}]) -> handle | nil, msg, errno
 *   h:exec(sql, ...) -> changes | nil, msg, errno (exactly one statement)
 *   h:query(sql, ...) -> rows, columns | nil, msg, errno (exactly one statement)
 *   h:transaction(fn) -> true, fn's results | nil, msg, errno (errors rethrown)
 *   h:last_insert_rowid() -> integer   (of this handle's last INSERT)
 *   h:check([full]) -> true | nil, msg, errno   (quick_check / integrity_check)
 *   h:spawn_log_append(tool_id, stream, text) -> true | nil, msg, errno
 *   h:close()  (idempotent; also __gc and __close)
 *
 * Every handle on a file shares the process's one connection to it (see
 * store.h): each call holds the connection while it runs, transaction(fn)
 * for the whole of fn, so other threads' Lua states wait and never see a
 * half-done transaction. BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE in SQL
 * raise: transaction(fn) is the one way to group statements. With
 * schema_version, open refuses a database newer than that version or one
 * holding another program's tables (checked on the connection).
 *
 * Parameters are always bound, never formatted into SQL: nil (and
 * json.null) -> NULL, boolean -> 0/1, integer, float, string -> TEXT byte
 * for byte (SQLite does not validate UTF-8, so any bytes round-trip).
 * Rows are tables keyed by column name; a NULL column is absent from the
 * row (reads as nil); `columns` lists the names in order. BLOBs come back
 * as strings. Misuse (closed handle, wrong types, parameter count) raises;
 * SQL and database failures return nil, message, errno (api_fail). */
#include "api.h"
#include "store.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <string.h>

#define DB_MT "pixie.db"

struct db_handle {
    struct store *s;         /* NULL when closed */
    struct store_stmt *stmt; /* statement of the call in progress */
    lua_Integer last_rowid;  /* rowid of this handle's last INSERT */
};

/* Finalizes the statement in flight (giving its hold on the connection
 * back). */
static void drop_stmt(struct db_handle *h)
{
    store_finalize(h->stmt);
    h->stmt = NULL;
}

/* Returns the open handle at idx, raising when closed or not a handle. */
static struct db_handle *check_open(lua_State *L, int idx)
{
    struct db_handle *h = luaL_checkudata(L, idx, DB_MT);
    if (!h->s) {
        luaL_argerror(L, idx, "database handle is closed");
    }
    return h;
}

struct store *db_check_store(lua_State *L, int idx)
{
    return check_open(L, idx)->s;
}

/* Runs body with the method's arguments (already checked) while holding
 * the connection.
 * Whatever happens inside (a Lua error, out of memory), the statement in
 * flight is finalized and the connection given back before the error is
 * rethrown, so no other thread is left waiting. Returns body's results. */
static int with_connection(lua_State *L, lua_CFunction body)
{
    struct db_handle *h = check_open(L, 1);
    struct store *s = h->s;
    int n = lua_gettop(L);
    lua_pushvalue(L, 1); /* keeps the handle alive below body's frame */
    lua_insert(L, 1);
    lua_pushcfunction(L, body);
    lua_insert(L, 2);
    store_lock(s);
    int status = lua_pcall(L, n, LUA_MULTRET, 0);
    drop_stmt(h);
    store_unlock(s);
    if (status != LUA_OK) {
        return lua_error(L);
    }
    return lua_gettop(L) - 1;
}

/* Raises unless every argument from `first` to the top is bindable. */
static void check_params(lua_State *L, int first)
{
    int top = lua_gettop(L);
    for (int i = first; i <= top; i++) {
        int t = lua_type(L, i);
        int ok = t == LUA_TNIL || t == LUA_TBOOLEAN || t == LUA_TNUMBER || t == LUA_TSTRING ||
                 (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, i) == NULL);
        if (!ok) {
            luaL_argerror(L, i, lua_pushfstring(L, "cannot bind a %s", luaL_typename(L, i)));
        }
    }
}

/* The failure return of core error rc: nil, the connection's last error
 * message, errno (api_fail). Called with the connection held. */
static int fail_sql(lua_State *L, struct db_handle *h, int rc)
{
    return api_fail(L, rc, "%s", store_errmsg(h->s));
}

/* Binds arguments first..top to h->stmt. Raises when their count differs
 * from the statement's. Returns 0 or a negative errno. */
static int bind_params(lua_State *L, struct db_handle *h, int first)
{
    int n = lua_gettop(L) - first + 1;
    int want = store_param_count(h->stmt);
    if (n != want) {
        return luaL_error(L, "statement takes %d parameter(s), %d given", want, n);
    }
    for (int i = 1; i <= n; i++) {
        int idx = first + i - 1;
        int rc;
        switch (lua_type(L, idx)) {
        case LUA_TBOOLEAN:
            rc = store_bind_int64(h->stmt, i, lua_toboolean(L, idx));
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, idx)) {
                rc = store_bind_int64(h->stmt, i, (int64_t)lua_tointeger(L, idx));
            } else {
                rc = store_bind_double(h->stmt, i, (double)lua_tonumber(L, idx));
            }
            break;
        case LUA_TSTRING: {
            size_t len;
            const char *p = lua_tolstring(L, idx, &len);
            rc = store_bind_text(h->stmt, i, p, len);
            break;
        }
        default:
            rc = store_bind_null(h->stmt, i);
            break;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Prepares the next statement of sql at *pos into h->stmt (NULL at the
 * end). Raises for a transaction statement. Returns 0 or a negative errno. */
static int next_stmt(lua_State *L, struct db_handle *h, const char *sql, size_t len, size_t *pos)
{
    size_t used;
    int rc = store_prepare(h->s, sql + *pos, len - *pos, &h->stmt, &used);
    if (rc == -EPERM) {
        return luaL_error(L, "BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not allowed "
                             "in SQL; use transaction(fn)");
    }
    *pos += used;
    return rc;
}

/* 1 when sql holds anything but whitespace and comments after pos (a
 * statement, or text that does not even parse). */
static int has_more(struct store *s, const char *sql, size_t len, size_t pos)
{
    struct store_stmt *st;
    size_t used;
    int rc = store_prepare(s, sql + pos, len - pos, &st, &used);
    store_finalize(st);
    return rc != 0 || st != NULL;
}

/* Pushes column i of the current row (not NULL). */
static void push_column(lua_State *L, struct store_stmt *st, int i)
{
    switch (store_column_type(st, i)) {
    case STORE_INTEGER:
        lua_pushinteger(L, (lua_Integer)store_column_int64(st, i));
        break;
    case STORE_FLOAT:
        lua_pushnumber(L, (lua_Number)store_column_double(st, i));
        break;
    default: {
        size_t len;
        const void *p = store_column_bytes(st, i, &len);
        lua_pushlstring(L, p, len);
        break;
    }
    }
}

/* The SQL text at argument 2 and its length in *len (raises on a NUL
 * byte) after checking the bound parameters from argument 3 on. */
static const char *check_sql(lua_State *L, size_t *len)
{
    const char *sql = luaL_checklstring(L, 2, len);
    luaL_argcheck(L, strlen(sql) == *len, 2, "SQL contains a NUL byte");
    check_params(L, 3);
    return sql;
}

/* Prepares the one statement of the SQL at argument 2 into h->stmt and
 * binds arguments 3.. to it. Raises when the text holds no statement or
 * more than one (nothing has run then), or the parameter count differs.
 * Returns 0 or a negative errno (message: store_errmsg). */
static int prepare_one(lua_State *L, struct db_handle *h, const char *what)
{
    size_t len;
    const char *sql = lua_tolstring(L, 2, &len);
    size_t pos = 0;
    int rc = next_stmt(L, h, sql, len, &pos);
    if (rc != 0) {
        return rc;
    }
    if (!h->stmt) {
        return luaL_argerror(L, 2, "no SQL statement");
    }
    if (has_more(h->s, sql, len, pos)) {
        return luaL_error(L, "%s: only one SQL statement is allowed (nothing was run)", what);
    }
    return bind_params(L, h, 3);
}

/* exec's body (connection held; arguments checked). */
static int exec_locked(lua_State *L)
{
    struct db_handle *h = lua_touserdata(L, 1);
    int64_t before = store_total_changes(h->s);
    store_take_insert_rowid(h->s);
    int rc = prepare_one(L, h, "exec");
    if (rc != 0) {
        return fail_sql(L, h, rc);
    }
    while ((rc = store_step(h->stmt)) == 1) {
    }
    if (rc < 0) {
        return fail_sql(L, h, rc);
    }
    drop_stmt(h);
    int64_t rowid = store_take_insert_rowid(h->s);
    if (rowid != 0) {
        h->last_rowid = (lua_Integer)rowid;
    }
    lua_pushinteger(L, (lua_Integer)(store_total_changes(h->s) - before));
    return 1;
}

/* exec(sql, ...) -> changes | nil, msg */
static int db_exec(lua_State *L)
{
    size_t len;
    check_open(L, 1);
    check_sql(L, &len);
    return with_connection(L, exec_locked);
}

/* query's body (connection held; arguments checked). */
static int query_locked(lua_State *L)
{
    struct db_handle *h = lua_touserdata(L, 1);
    int rc = prepare_one(L, h, "query");
    if (rc != 0) {
        return fail_sql(L, h, rc);
    }
    int ncol = store_column_count(h->stmt);
    lua_settop(L, 2);
    lua_createtable(L, ncol, 0); /* 3: columns */
    for (int i = 0; i < ncol; i++) {
        lua_pushstring(L, store_column_name(h->stmt, i));
        lua_rawseti(L, 3, i + 1);
    }
    lua_newtable(L); /* 4: rows */
    lua_Integer n = 0;
    while ((rc = store_step(h->stmt)) == 1) {
        lua_createtable(L, 0, ncol);
        for (int i = 0; i < ncol; i++) {
            if (store_column_type(h->stmt, i) == STORE_NULL) {
                continue;
            }
            lua_rawgeti(L, 3, i + 1);
            push_column(L, h->stmt, i);
            lua_rawset(L, -3);
        }
        lua_rawseti(L, 4, ++n);
    }
    if (rc < 0) {
        return fail_sql(L, h, rc);
    }
    lua_pushvalue(L, 3);
    return 2;
}

/* query(sql, ...) -> rows, columns | nil, msg */
static int db_query(lua_State *L)
{
    size_t len;
    check_open(L, 1);
    check_sql(L, &len);
    return with_connection(L, query_locked);
}

/* transaction(fn) -> true, fn's results | nil, msg. BEGIN IMMEDIATE under
 * the write lock (or a SAVEPOINT when already inside a transaction),
 * COMMIT on return, ROLLBACK and rethrow when fn raises. fn receives the
 * handle. The connection is this thread's until the transaction ends. */
static int db_transaction(lua_State *L)
{
    struct db_handle *h = check_open(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    struct store *s = h->s;
    char err[512];
    store_retain(s); /* alive even if fn closes the handle */
    int rc = store_begin(s, err, sizeof err);
    if (rc != 0) {
        store_release(s);
        return api_fail(L, rc, "%s", err);
    }
    lua_pushboolean(L, 1); /* 3: first result */
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    int status = lua_pcall(L, 1, LUA_MULTRET, 0);
    int closed = h->s == NULL;
    if (status != LUA_OK || closed) {
        store_rollback(s);
    } else {
        rc = store_commit(s, err, sizeof err);
    }
    store_release(s);
    if (status != LUA_OK) {
        return lua_error(L);
    }
    if (closed) {
        return luaL_error(L, "transaction: the handle was closed inside the transaction");
    }
    if (rc != 0) {
        return api_fail(L, rc, "%s", err);
    }
    return lua_gettop(L) - 2;
}

/* last_insert_rowid() -> integer: the rowid of this handle's last INSERT
 * (0 before any), whatever other threads inserted since. */
static int db_last_insert_rowid(lua_State *L)
{
    struct db_handle *h = check_open(L, 1);
    lua_pushinteger(L, h->last_rowid);
    return 1;
}

/* check([full]) -> true | nil, msg */
static int db_check(lua_State *L)
{
    struct db_handle *h = check_open(L, 1);
    char err[512];
    int rc = store_check(h->s, lua_toboolean(L, 2), err, sizeof err);
    if (rc != 0) {
        return api_fail(L, rc, "%s", err);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* spawn_log_append(tool_id, stream, text) -> true | nil, msg, errno.
 * text must already be masked (lua/pixie/store.lua does it). Written
 * before it returns. */
static int db_spawn_log_append(lua_State *L)
{
    struct db_handle *h = check_open(L, 1);
    const char *tool_id = luaL_checkstring(L, 2);
    static const char *const streams[] = {"stdout", "stderr", "pixie", NULL};
    const char *stream = streams[luaL_checkoption(L, 3, NULL, streams)];
    size_t len;
    const char *text = luaL_checklstring(L, 4, &len);
    int rc = store_spawn_log_append(h->s, tool_id, stream, text, len);
    if (rc != 0) {
        return api_fail(L, rc, "spawn_log append:");
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* close() — idempotent; also __gc and __close. */
static int db_close(lua_State *L)
{
    struct db_handle *h = luaL_checkudata(L, 1, DB_MT);
    drop_stmt(h);
    store_release(h->s);
    h->s = NULL;
    return 0;
}

static int db_tostring(lua_State *L)
{
    struct db_handle *h = luaL_checkudata(L, 1, DB_MT);
    lua_pushfstring(L, "pixie.db (%s)", h->s ? store_path(h->s) : "closed");
    return 1;
}

/* open(path [, {schema_version = n}]) -> handle | nil, msg, errno */
static int db_open(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    luaL_argcheck(L, path[0] != '\0', 1, "empty path");
    int schema_version = (int)api_optinteger(L, 2, "schema_version", STORE_ANY_SCHEMA, 0, INT_MAX);
    struct db_handle *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->s = NULL;
    h->stmt = NULL;
    h->last_rowid = 0;
    luaL_setmetatable(L, DB_MT);
    char err[1024];
    int rc = store_open(path, schema_version, &h->s, err, sizeof err);
    if (rc != 0) {
        return api_fail(L, rc, "%s", err);
    }
    return 1;
}

static const luaL_Reg db_methods[] = {
    {"exec", db_exec},
    {"query", db_query},
    {"transaction", db_transaction},
    {"last_insert_rowid", db_last_insert_rowid},
    {"check", db_check},
    {"spawn_log_append", db_spawn_log_append},
    {"close", db_close},
    {NULL, NULL},
};

static const luaL_Reg db_meta[] = {
    {"__gc", db_close},
    {"__close", db_close},
    {"__tostring", db_tostring},
    {NULL, NULL},
};

static const luaL_Reg db_functions[] = {
    {"open", db_open},
    {NULL, NULL},
};

int luaopen_pixie_db(lua_State *L)
{
    api_register_class(L, DB_MT, db_meta, db_methods);
    luaL_newlib(L, db_functions);
    return 1;
}
