/* pixie.env: the tools' .env files (SPEC §3.1-§3.2) for Lua.
 *   read(path [, opts])            -> values, warnings | nil, msg, code
 *   keys(path [, opts])            -> array of keys in file order | nil, msg, code
 *   set(path, key, value [, opts]) -> true, warnings | nil, msg, code
 *   unset(path, key [, opts])      -> true, removed | nil, msg, code
 *   quote(value)                   -> text, expands | nil, msg, code
 * opts: tools_root = dir (the .env's folder must lie inside it, symlinks
 * resolved); for read also interpolate = bool (default false), environ =
 * {NAME = value} (default {}), override = bool (default true, as
 * dotenv_values; false is load_dotenv's default).
 * Every value read or set is registered for masking before anything else
 * can see it. Messages name the key and the path, never a value nor its
 * length (a caller that logs a refusal adds the length it knows). Misuse
 * (bad key, wrong types, a path with a NUL byte) raises. */
#include "api.h"
#include "buf.h"
#include "dotenv.h"
#include "envfile.h"
#include "mask.h"

#include <errno.h>
#include <lauxlib.h>
#include <string.h>

/* Registers a secret value with the process-wide masking registry
 * (values under 4 bytes are ignored by it). Every path that reads or sets
 * a value goes through here before the value can reach anything else.
 * Returns 0 or -ENOMEM (the caller then raises rather than hold an
 * unmasked value). */
static int remember_secret(const char *value, size_t len)
{
    return mask_add(value, len) < 0 ? -ENOMEM : 0;
}

/* remember_secret for every value of doc. Returns 0 or -ENOMEM. */
static int remember_values(const dotenv_doc *doc)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < doc->count; i++) {
        const dotenv_binding *b = &doc->bindings[i];
        if (b->value) {
            rc = remember_secret(b->value, b->value_len);
        }
    }
    return rc;
}

/* A parsed file, in a box (api_newbox) so a raise cannot leak it. */
typedef struct {
    dotenv_doc doc;
    struct buf text;
} parsed;

static void parsed_release(void *payload)
{
    parsed *p = payload;
    dotenv_doc_free(&p->doc);
    buf_free(&p->text);
}

/* Options of every call: checked before anything is allocated. */
typedef struct {
    const char *tools_root;
    int interpolate;
    int override;
    int opts_idx; /* stack index of an options table holding environ, or 0 */
} env_opts;

/* Reads the options table at idx (absent or nil: defaults). Raises on
 * misuse. */
static env_opts check_opts(lua_State *L, int idx)
{
    env_opts o = {NULL, 0, 1, 0};
    o.tools_root = api_optstring(L, idx, "tools_root", NULL, NULL);
    o.interpolate = api_optboolean(L, idx, "interpolate", 0);
    o.override = api_optboolean(L, idx, "override", 1);
    if (!lua_isnoneornil(L, idx)) {
        if (lua_getfield(L, idx, "environ") != LUA_TNIL) {
            luaL_argcheck(L, lua_type(L, -1) == LUA_TTABLE, idx, "environ must be a table");
            lua_pushnil(L);
            while (lua_next(L, -2) != 0) {
                luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING && lua_type(L, -2) == LUA_TSTRING,
                              idx, "environ must map strings to strings");
                lua_pop(L, 1);
            }
            o.opts_idx = idx;
        }
        lua_pop(L, 1);
    }
    return o;
}

/* Human text for a core error on a .env file, naming no value: an
 * api_fail format whose arguments are the path and the size limit (an
 * int); a trailing ':' adds strerror. */
_Static_assert(DOTENV_EXPANDED_MAX == 8u * 1024u * 1024u, "describe(-E2BIG) says 8 MiB");

static const char *describe(int rc)
{
    switch (rc) {
    case -ELOOP:
        return "%s is a symlink; refusing to follow it";
    case -EXDEV:
        return "%s: the tool folder lies outside the tools folder";
    case -EILSEQ:
        return "%s is not valid UTF-8";
    case -EBADMSG:
        return "%s has an unterminated quote that would swallow the change; fix that line first";
    case -EFBIG:
        return "%s is larger than %d bytes";
    case -E2BIG:
        return "%s: its ${...} references expand to more than 8 MiB";
    case -EINVAL:
        return "%s is not a regular file";
    default:
        return "%s:";
    }
}

/* Reads and parses path into a new box left on the stack. Returns 0 or the
 * core error (nothing extra pushed). */
static int load(lua_State *L, const char *path, const env_opts *o, parsed **out)
{
    parsed *box = api_newbox(L, sizeof *box, parsed_release);
    int rc = envfile_read(path, o->tools_root, &box->text);
    if (rc == 0) {
        rc = dotenv_parse(box->text.data ? box->text.data : "", box->text.len, &box->doc);
    }
    if (rc == 0) {
        rc = remember_values(&box->doc);
    }
    *out = box;
    return rc;
}

/* Builds the environ pairs (userdata left on the stack) from opts.environ
 * and interpolates box's values. Returns 0 or -ENOMEM. */
static int interpolate(lua_State *L, const env_opts *o, parsed *box)
{
    size_t n = 0;
    int environ_idx = 0;
    if (o->opts_idx) {
        lua_getfield(L, o->opts_idx, "environ"); /* checked by check_opts */
        environ_idx = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, environ_idx) != 0) {
            n++;
            lua_pop(L, 1);
        }
    }
    dotenv_pair *env = api_newbox(L, (n ? n : 1) * sizeof *env, NULL);
    size_t i = 0;
    if (environ_idx) {
        lua_pushnil(L);
        while (lua_next(L, environ_idx) != 0) {
            env[i].key = lua_tolstring(L, -2, &env[i].key_len);
            env[i].value = lua_tolstring(L, -1, &env[i].value_len);
            i++;
            lua_pop(L, 1);
        }
    }
    int rc = dotenv_interpolate(&box->doc, env, n, o->override);
    return rc == 0 ? remember_values(&box->doc) : rc;
}

/* Pushes the warnings of doc as an array of "line N: ..." strings. */
static void push_warnings(lua_State *L, const dotenv_doc *doc)
{
    lua_createtable(L, (int)doc->warning_count, 0);
    for (size_t i = 0; i < doc->warning_count; i++) {
        lua_pushfstring(L, "line %d: malformed binding skipped", doc->warning_lines[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static int env_read(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    env_opts o = check_opts(L, 2);
    parsed *box;
    int rc = load(L, path, &o, &box);
    if (rc == 0 && o.interpolate) {
        rc = interpolate(L, &o, box);
    }
    if (rc != 0) {
        return api_fail(L, rc, describe(rc), path, (int)ENVFILE_MAX_BYTES);
    }
    lua_createtable(L, 0, (int)box->doc.count);
    for (size_t i = 0; i < box->doc.count; i++) {
        const dotenv_binding *b = &box->doc.bindings[i];
        lua_pushlstring(L, b->key, b->key_len);
        if (b->value) {
            lua_pushlstring(L, b->value, b->value_len);
        } else {
            lua_pushnil(L); /* a later KEY without '=' hides an earlier value */
        }
        lua_rawset(L, -3);
    }
    push_warnings(L, &box->doc);
    return 2;
}

static int env_keys(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    env_opts o = check_opts(L, 2);
    parsed *box;
    int rc = load(L, path, &o, &box);
    if (rc != 0) {
        return api_fail(L, rc, describe(rc), path, (int)ENVFILE_MAX_BYTES);
    }
    lua_newtable(L); /* seen */
    lua_newtable(L); /* result */
    lua_Integer n = 0;
    for (size_t i = 0; i < box->doc.count; i++) {
        const dotenv_binding *b = &box->doc.bindings[i];
        lua_pushlstring(L, b->key, b->key_len);
        if (lua_rawget(L, -3) == LUA_TNIL) {
            lua_pushlstring(L, b->key, b->key_len);
            lua_pushboolean(L, 1);
            lua_rawset(L, -5);
            lua_pushlstring(L, b->key, b->key_len);
            lua_rawseti(L, -3, ++n);
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* Checks the key argument at idx (raises unless it is a valid name). */
static const char *check_key(lua_State *L, int idx)
{
    size_t len;
    const char *key = luaL_checklstring(L, idx, &len);
    luaL_argcheck(L, dotenv_key_valid(key, len), idx, "key must match ^[A-Za-z_][A-Za-z0-9_]*$");
    return key;
}

/* The format of the refusal of a value dotenv_check_value did not pass
 * (rc), with one %s for what the value is ("value of KEY", "value"). */
static const char *refusal(int rc)
{
    switch (rc) {
    case -EINVAL:
        return "%s contains a NUL byte; refused";
    case -EILSEQ:
        return "%s is not valid UTF-8; refused";
    case -EDOM:
        return "%s ends with a backslash and has a line break, leading or trailing "
               "whitespace, whitespace before '#' or a leading quote: python-dotenv could "
               "not read it back; refused";
    default:
        return "%s cannot be written:";
    }
}

static int env_set(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    const char *key = check_key(L, 2);
    size_t len;
    const char *value = luaL_checklstring(L, 3, &len);
    env_opts o = check_opts(L, 4);
    if (remember_secret(value, len) != 0) {
        return api_nomem(L);
    }
    const char *what = lua_pushfstring(L, "value of %s", key);
    int rc = dotenv_check_value(value, len);
    if (rc != 0) {
        return api_fail(L, rc, refusal(rc), what);
    }
    int expands = 0;
    rc = envfile_set(path, o.tools_root, key, value, len, &expands);
    if (rc != 0) {
        const char *fmt = lua_pushfstring(L, "cannot set %%s: %s", describe(rc));
        return api_fail(L, rc, fmt, key, path, (int)ENVFILE_MAX_BYTES);
    }
    lua_pushboolean(L, 1);
    lua_newtable(L);
    if (expands) {
        lua_pushfstring(
            L, "value of %s contains '${': python-dotenv expands it when the tool loads %s", key,
            path);
        lua_rawseti(L, -2, 1);
    }
    return 2;
}

static int env_unset(lua_State *L)
{
    const char *path = api_checkpath(L, 1);
    const char *key = check_key(L, 2);
    env_opts o = check_opts(L, 3);
    int removed = 0;
    int rc = envfile_unset(path, o.tools_root, key, &removed);
    if (rc != 0) {
        const char *fmt = lua_pushfstring(L, "cannot unset %%s: %s", describe(rc));
        return api_fail(L, rc, fmt, key, path, (int)ENVFILE_MAX_BYTES);
    }
    lua_pushboolean(L, 1);
    lua_pushinteger(L, removed);
    return 2;
}

static int env_quote(lua_State *L)
{
    size_t len;
    const char *value = luaL_checklstring(L, 1, &len);
    if (remember_secret(value, len) != 0) {
        return api_nomem(L);
    }
    int rc = dotenv_check_value(value, len);
    if (rc != 0) {
        return api_fail(L, rc, refusal(rc), "value");
    }
    struct buf *text = api_newbuf(L, 0);
    int expands = 0;
    rc = dotenv_quote(value, len, text, &expands);
    if (rc != 0) {
        return api_fail(L, rc, refusal(rc), "value");
    }
    api_pushbuf(L, text);
    lua_pushboolean(L, expands);
    return 2;
}

static const luaL_Reg env_functions[] = {
    {"read", env_read},   {"keys", env_keys},   {"set", env_set},
    {"unset", env_unset}, {"quote", env_quote}, {NULL, NULL},
};

int luaopen_pixie_env(lua_State *L)
{
    luaL_newlib(L, env_functions);
    return 1;
}
