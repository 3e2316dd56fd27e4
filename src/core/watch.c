/* Change watch over inotify: see watch.h. */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define WATCH_MASK                                                                                 \
    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE |            \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define NAMES_MAX 32 /* a filter's names; one bit each in node.links */

struct names {
    char **v; /* NULL: any name */
    size_t n;
};

struct root {
    char *path;
    struct names names, child_names;
    int children; /* child_names given: subdirectories are watched */
    int wd;       /* -1: not watched now (retried on every call) */
};

struct node { /* one inotify watch: a root or one of its subdirectories */
    int wd;
    size_t root;
    char *name;     /* the subdirectory's name; NULL for the root */
    uint32_t links; /* bit i: the filter's name i is a symlink here */
};

struct watch {
    pthread_mutex_t lock;
    int fd;
    uint64_t gen;
    struct root *roots;
    size_t nroots, roots_cap;
    struct node *nodes;
    size_t nnodes, nodes_cap;
    size_t refused; /* subdirectories the kernel would not watch */
    int overflowed; /* events were lost: the subdirectories are looked for again */
};

/* Copies a NULL-terminated array into n (NULL stays "any"). 0 or -ENOMEM. */
static int names_copy(struct names *n, const char *const *src)
{
    return buf_strv_dup(src, NAMES_MAX, &n->v, &n->n);
}

/* Frees what names_copy made. */
static void names_free(struct names *n)
{
    buf_strv_free(n->v);
    n->v = NULL;
    n->n = 0;
}

/* The index of name in the filter, NAMES_MAX when any name is watched,
 * -1 when name is not watched. */
static int names_index(const struct names *n, const char *name)
{
    if (!n->v) {
        return NAMES_MAX;
    }
    for (size_t i = 0; name && i < n->n; i++) {
        if (strcmp(n->v[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* The folder a node watches, into out (PATH_MAX). 0, or -ENAMETOOLONG. */
static int node_path(const struct watch *w, const struct node *nd, char *out)
{
    const char *root = w->roots[nd->root].path;
    int n = nd->name ? snprintf(out, PATH_MAX, "%s/%s", root, nd->name)
                     : snprintf(out, PATH_MAX, "%s", root);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The filter a node's entries are matched against. */
static const struct names *node_filter(const struct watch *w, const struct node *nd)
{
    const struct root *r = &w->roots[nd->root];
    return nd->name ? &r->child_names : &r->names;
}

/* Sets the node's bit for filter name i from whether it is a symlink now. */
static void node_check_link(const struct watch *w, struct node *nd, int i)
{
    char dir[PATH_MAX], path[PATH_MAX];
    if (i < 0 || i >= NAMES_MAX || node_path(w, nd, dir) != 0) {
        return;
    }
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/%s", dir, node_filter(w, nd)->v[i]);
    int link = n > 0 && n < (int)sizeof path && lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
    nd->links = link ? nd->links | (1u << i) : nd->links & ~(1u << i);
}

/* The node watching wd, or NULL. */
static struct node *node_find(struct watch *w, int wd)
{
    for (size_t i = 0; i < w->nnodes; i++) {
        if (w->nodes[i].wd == wd) {
            return &w->nodes[i];
        }
    }
    return NULL;
}

/* Forgets a node (its watch is gone or given up). */
static void node_drop(struct watch *w, struct node *nd)
{
    free(nd->name);
    *nd = w->nodes[--w->nnodes];
}

/* Watches path for root r (name NULL: the root itself), its descriptor
 * into *wd_out. Returns 0, 1 when path is not a folder (or is gone), or
 * -errno when the kernel refused. */
static int node_add(struct watch *w, size_t r, const char *name, int *wd_out)
{
    char path[PATH_MAX];
    struct node probe = {.root = r, .name = (char *)name};
    if (node_path(w, &probe, path) != 0) {
        return 1;
    }
    int wd = inotify_add_watch(w->fd, path, WATCH_MASK);
    if (wd < 0) {
        return errno == ENOENT || errno == ENOTDIR ? 1 : -errno;
    }
    struct node *nd = node_find(w, wd); /* the same folder under a new name */
    if (nd) {
        char *copy = name ? strdup(name) : NULL;
        if (name && !copy) {
            return -ENOMEM;
        }
        free(nd->name);
        nd->name = copy;
        nd->root = r;
    } else {
        if (buf_grow_array((void **)&w->nodes, &w->nodes_cap, w->nnodes + 1, sizeof *w->nodes)) {
            inotify_rm_watch(w->fd, wd);
            return -ENOMEM;
        }
        nd = &w->nodes[w->nnodes];
        *nd = (struct node){.wd = wd, .root = r, .name = name ? strdup(name) : NULL};
        if (name && !nd->name) {
            inotify_rm_watch(w->fd, wd);
            return -ENOMEM;
        }
        w->nnodes++;
    }
    nd->links = 0;
    for (size_t i = 0; i < node_filter(w, nd)->n; i++) {
        node_check_link(w, nd, (int)i);
    }
    *wd_out = wd;
    return 0;
}

/* Watches a subdirectory of root r; a refusal is counted (the watch is
 * then never trusted). */
static void child_add(struct watch *w, size_t r, const char *name)
{
    int wd;
    if (node_add(w, r, name, &wd) < 0) {
        w->refused++;
    }
}

/* Watches root r and its subdirectories when it has children. Leaves
 * wd -1 when the root cannot be watched now. */
static void root_add(struct watch *w, size_t r)
{
    struct root *rt = &w->roots[r];
    if (node_add(w, r, NULL, &rt->wd) != 0) {
        rt->wd = -1;
        return;
    }
    if (!rt->children) {
        return;
    }
    DIR *d = opendir(rt->path);
    if (!d) {
        w->refused++;
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            (e->d_type == DT_DIR || e->d_type == DT_LNK || e->d_type == DT_UNKNOWN)) {
            child_add(w, r, e->d_name);
        }
    }
    closedir(d);
}

struct watch *watch_new(struct buf *err)
{
    struct watch *w = calloc(1, sizeof *w);
    if (!w) {
        buf_fail(err, -ENOMEM, "out of memory");
        return NULL;
    }
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        buf_fail(err, -errno, "inotify: %s", strerror(errno));
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    return w;
}

int watch_add(struct watch *w, const char *dir, const char *const *names,
              const char *const *child_names)
{
    pthread_mutex_lock(&w->lock);
    int rc = buf_grow_array((void **)&w->roots, &w->roots_cap, w->nroots + 1, sizeof *w->roots);
    struct root *r = rc ? NULL : &w->roots[w->nroots];
    if (r) {
        *r = (struct root){.path = strdup(dir), .children = child_names != NULL, .wd = -1};
        rc = !r->path ? -ENOMEM : names_copy(&r->names, names);
        rc = rc ? rc : names_copy(&r->child_names, child_names);
        if (rc) {
            free(r->path);
            names_free(&r->names);
            names_free(&r->child_names);
        } else {
            root_add(w, w->nroots++);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc ? -ENOMEM : 0;
}

/* Applies one event; returns 1 when it changes the generation. */
static int apply_event(struct watch *w, const struct inotify_event *e)
{
    if (e->mask & IN_Q_OVERFLOW) {
        w->overflowed = 1; /* a lost IN_CREATE would leave a new folder unwatched */
        return 1;
    }
    struct node *nd = node_find(w, e->wd);
    if (!nd) {
        return 0;
    }
    struct root *rt = &w->roots[nd->root];
    if (e->mask & IN_IGNORED || (!nd->name && e->mask & (IN_DELETE_SELF | IN_MOVE_SELF))) {
        /* gone, or a root no longer at its path: re-added by path */
        if (!nd->name) {
            rt->wd = -1;
            if (!(e->mask & IN_IGNORED)) {
                inotify_rm_watch(w->fd, nd->wd);
            }
        }
        node_drop(w, nd);
        return 1;
    }
    if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        return 1; /* a subdirectory moved: its root's events say where */
    }
    const char *name = e->len ? e->name : NULL;
    int i = names_index(node_filter(w, nd), name);
    if (i >= 0) {
        node_check_link(w, nd, i);
    }
    if (!nd->name && rt->children && name && e->mask & (IN_CREATE | IN_MOVED_TO)) {
        child_add(w, nd->root, name);
        return 1;
    }
    return i >= 0 || !name;
}

uint64_t watch_generation(struct watch *w)
{
    pthread_mutex_lock(&w->lock);
    for (size_t r = 0; r < w->nroots; r++) {
        if (w->roots[r].wd < 0) {
            root_add(w, r);
            w->gen++; /* whatever changed while it was not watched */
        }
    }
    _Alignas(struct inotify_event) char ev[16384];
    for (;;) {
        ssize_t n = read(w->fd, ev, sizeof ev);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        for (char *p = ev; p < ev + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            w->gen += (uint64_t)apply_event(w, e);
            p += sizeof *e + e->len;
        }
    }
    if (w->overflowed) {
        w->overflowed = 0;
        for (size_t r = 0; r < w->nroots; r++) {
            if (w->roots[r].wd >= 0) {
                root_add(w, r); /* the folders watched already keep their watch */
            }
        }
    }
    int trusted = w->refused == 0;
    for (size_t r = 0; trusted && r < w->nroots; r++) {
        trusted = w->roots[r].wd >= 0;
    }
    for (size_t i = 0; trusted && i < w->nnodes; i++) {
        trusted = w->nodes[i].links == 0;
    }
    if (!trusted) {
        w->gen++;
    }
    uint64_t gen = w->gen;
    pthread_mutex_unlock(&w->lock);
    return gen;
}

void watch_free(struct watch *w)
{
    if (!w) {
        return;
    }
    close(w->fd);
    for (size_t i = 0; i < w->nnodes; i++) {
        free(w->nodes[i].name);
    }
    for (size_t r = 0; r < w->nroots; r++) {
        free(w->roots[r].path);
        names_free(&w->roots[r].names);
        names_free(&w->roots[r].child_names);
    }
    free(w->nodes);
    free(w->roots);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
