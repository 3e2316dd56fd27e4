/* python-dotenv's interpolation (main.py resolve_variables): ${NAME} and
 * ${NAME:-default} resolved in file order against earlier bindings and the
 * environment, in place on a parsed dotenv_doc. */
#include "buf.h"
#include "dotenv.h"
#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Hash table from key bytes to an index (last put wins). */
typedef struct {
    const char *key;
    size_t len;
    size_t idx;
} slot;

typedef struct {
    slot *slots;
    size_t mask;
} table;

/* Sizes t for up to n keys. Returns 0 or -ENOMEM. */
static int table_init(table *t, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2) {
        cap *= 2;
    }
    t->slots = calloc(cap, sizeof(slot));
    t->mask = cap - 1;
    return t->slots ? 0 : -ENOMEM;
}

/* The slot holding key, or the empty slot where it would go. */
static slot *table_find(const table *t, const char *k, size_t len)
{
    size_t i = (size_t)hash_fnv1a(HASH_FNV1A_INIT, k, len) & t->mask;
    for (;;) {
        slot *s = &t->slots[i];
        if (!s->key || (s->len == len && memcmp(s->key, k, len) == 0)) {
            return s;
        }
        i = (i + 1) & t->mask;
    }
}

/* Maps key -> idx (key must stay alive while t is used). */
static void table_put(table *t, const char *k, size_t len, size_t idx)
{
    slot *s = table_find(t, k, len);
    s->key = k;
    s->len = len;
    s->idx = idx;
}

/* One ${...} match of python-dotenv's _posix_variable regex. */
typedef struct {
    size_t end;
    const char *name;
    size_t name_len;
    const char *def; /* NULL when there is no :-default */
    size_t def_len;
} var_match;

/* Matches \$\{(?P<name>[^\}:]*)(?::-(?P<default>[^\}]*))?\} at v[i].
 * Returns 1 and fills *m, or 0. */
static int match_variable(const char *v, size_t len, size_t i, var_match *m)
{
    if (i + 1 >= len || v[i] != '$' || v[i + 1] != '{') {
        return 0;
    }
    size_t j = i + 2;
    while (j < len && v[j] != '}' && v[j] != ':') {
        j++;
    }
    m->name = v + i + 2;
    m->name_len = j - i - 2;
    m->def = NULL;
    m->def_len = 0;
    if (j < len && v[j] == '}') {
        m->end = j + 1;
        return 1;
    }
    if (j + 1 >= len || v[j] != ':' || v[j + 1] != '-') {
        return 0;
    }
    size_t k = j + 2;
    while (k < len && v[k] != '}') {
        k++;
    }
    if (k >= len) {
        return 0;
    }
    m->def = v + j + 2;
    m->def_len = k - j - 2;
    m->end = k + 1;
    return 1;
}

/* Variable.resolve: the file's earlier binding or env (order by override),
 * else the default, else "". A name bound without value gives "". */
static void resolve_variable(const dotenv_doc *doc, const table *file, const table *envt,
                             const dotenv_pair *env, int override, const var_match *m,
                             struct buf *out)
{
    const slot *fs = table_find(file, m->name, m->name_len);
    const slot *es = table_find(envt, m->name, m->name_len);
    const dotenv_binding *fb = fs->key ? &doc->bindings[fs->idx] : NULL;
    const dotenv_pair *ep = es->key ? &env[es->idx] : NULL;
    if (fb && (override || !ep)) {
        buf_append(out, fb->value ? fb->value : "", fb->value ? fb->value_len : 0);
    } else if (ep) {
        buf_append(out, ep->value ? ep->value : "", ep->value ? ep->value_len : 0);
    } else {
        buf_append(out, m->def ? m->def : "", m->def_len);
    }
}

int dotenv_interpolate(dotenv_doc *doc, const dotenv_pair *env, size_t env_count, int override)
{
    table file, envt;
    if (table_init(&file, doc->count) != 0) {
        return -ENOMEM;
    }
    if (table_init(&envt, env_count) != 0) {
        free(file.slots);
        return -ENOMEM;
    }
    for (size_t i = 0; i < env_count; i++) {
        table_put(&envt, env[i].key, env[i].key_len, i);
    }
    int rc = 0;
    size_t budget = DOTENV_EXPANDED_MAX; /* bytes the expanded values may still take */
    for (size_t i = 0; i < doc->count && rc == 0; i++) {
        dotenv_binding *b = &doc->bindings[i];
        if (b->value && memmem(b->value, b->value_len, "${", 2)) {
            struct buf out = {0};
            for (size_t k = 0; k < b->value_len && out.len <= budget;) {
                var_match m;
                if (match_variable(b->value, b->value_len, k, &m)) {
                    resolve_variable(doc, &file, &envt, env, override, &m, &out);
                    k = m.end;
                } else {
                    buf_append(&out, b->value + k, 1);
                    k++;
                }
            }
            if (out.len > budget) {
                buf_free(&out);
                rc = -E2BIG;
                break;
            }
            budget -= out.len;
            char *nv;
            size_t nlen;
            rc = buf_take(&out, &nv, &nlen);
            if (rc == 0) {
                free(b->value);
                b->value = nv;
                b->value_len = nlen;
            }
        }
        table_put(&file, b->key, b->key_len, i);
    }
    free(file.slots);
    free(envt.slots);
    return rc;
}
