/* inodes.c: the mount's inode table (inodes.h): two chained hash tables over one node set. */
#include "inodes.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    struct node *name_next; /* chain of the (parent, name) table; attached nodes only */
    struct node *id_next;   /* chain of the number table */
    struct node *parent;    /* counted in parent->children while set */
    uint64_t ino;
    uint64_t refs;          /* the kernel's references */
    uint64_t ksize;         /* the size the kernel holds (INO_SIZE_UNKNOWN: not told yet) */
    uint32_t children;      /* nodes whose parent this is */
    uint16_t busy;          /* operations holding its path (ino_hold) */
    bool attached;          /* reachable by name */
    bool renaming;          /* a rename of it or over it is waiting or under way */
    char name[];
} node;

/* An open handle of a node, for the attributes of a file that has no name any more. */
typedef struct openrec {
    struct openrec *next;
    uint64_t ino, fh;
} openrec;

#define OPEN_BUCKETS 256

struct ino_table {
    pthread_mutex_t lock;
    pthread_cond_t renamed; /* a rename ended, or a node's last holder let go */
    openrec *opens[OPEN_BUCKETS];
    node **by_name, **by_id;
    size_t mask;  /* both tables have mask + 1 buckets */
    size_t count; /* nodes, the root included */
    uint64_t last; /* the number given last */
    node *root;
};

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t name_hash(uint64_t parent, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return mix(h ^ mix(parent));
}

static node **name_slot(ino_table *t, uint64_t parent, const char *name)
{
    node **pp = &t->by_name[name_hash(parent, name) & t->mask];
    while (*pp && ((*pp)->parent == NULL || (*pp)->parent->ino != parent ||
                   strcmp((*pp)->name, name) != 0))
        pp = &(*pp)->name_next;
    return pp;
}

static node **id_slot(ino_table *t, uint64_t ino)
{
    node **pp = &t->by_id[mix(ino) & t->mask];
    while (*pp && (*pp)->ino != ino)
        pp = &(*pp)->id_next;
    return pp;
}

static node *by_id(ino_table *t, uint64_t ino)
{
    return *id_slot(t, ino);
}

static void name_unlink(ino_table *t, node *n)
{
    node **pp = &t->by_name[name_hash(n->parent->ino, n->name) & t->mask];
    while (*pp && *pp != n)
        pp = &(*pp)->name_next;
    if (*pp)
        *pp = n->name_next;
    n->name_next = NULL;
    n->attached = false;
}

static void name_link(ino_table *t, node *n)
{
    node **head = &t->by_name[name_hash(n->parent->ino, n->name) & t->mask];
    n->name_next = *head;
    *head = n;
    n->attached = true;
}

/* Frees n and then each ancestor left with no reference and no child, if it has no name
 * (a node with a name stays: its number is the name's for the mount's life). */
static bool named(ino_table *t, const node *n)
{
    for (; n && n != t->root; n = n->parent)
        if (!n->attached)
            return false;
    return true;
}

static void release_chain(ino_table *t, node *n)
{
    while (n && n != t->root && n->refs == 0 && n->children == 0 && n->busy == 0 &&
           !named(t, n)) {
        node *parent = n->parent;
        node **pp = id_slot(t, n->ino);
        if (n->attached)
            name_unlink(t, n);
        if (*pp == n)
            *pp = n->id_next;
        t->count--;
        free(n);
        if (!parent)
            break;
        parent->children--;
        n = parent;
    }
}

/* Doubles both tables when they hold more nodes than buckets. Failure leaves them. */
static void grow(ino_table *t)
{
    size_t nb = (t->mask + 1) * 2;
    node **bn = calloc(nb, sizeof *bn), **bi = calloc(nb, sizeof *bi);

    if (!bn || !bi) {
        free(bn);
        free(bi);
        return;
    }
    for (size_t i = 0; i <= t->mask; i++) {
        for (node *n = t->by_id[i], *next; n; n = next) {
            next = n->id_next;
            node **head = &bi[mix(n->ino) & (nb - 1)];
            n->id_next = *head;
            *head = n;
        }
        for (node *n = t->by_name[i], *next; n; n = next) {
            next = n->name_next;
            node **head = &bn[name_hash(n->parent->ino, n->name) & (nb - 1)];
            n->name_next = *head;
            *head = n;
        }
    }
    free(t->by_name);
    free(t->by_id);
    t->by_name = bn;
    t->by_id = bi;
    t->mask = nb - 1;
}

int ino_new(ino_table **out)
{
    ino_table *t = calloc(1, sizeof *t);
    int rc = -ENOMEM;

    *out = NULL;
    if (!t)
        goto cleanup;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->renamed, NULL);
    t->mask = 1023;
    t->by_name = calloc(t->mask + 1, sizeof *t->by_name);
    t->by_id = calloc(t->mask + 1, sizeof *t->by_id);
    t->root = calloc(1, sizeof *t->root + 1);
    if (!t->by_name || !t->by_id || !t->root)
        goto cleanup;
    t->root->ino = INO_ROOT;
    t->last = INO_ROOT;
    t->root->refs = 1;
    *id_slot(t, INO_ROOT) = t->root;
    t->count = 1;
    *out = t;
    t = NULL;
    rc = 0;
cleanup:
    ino_free(t);
    return rc;
}

void ino_free(ino_table *t)
{
    if (!t)
        return;
    if (t->by_id)
        for (size_t i = 0; i <= t->mask; i++)
            for (node *n = t->by_id[i], *next; n; n = next) {
                next = n->id_next;
                free(n);
            }
    if (!t->by_id)
        free(t->root);
    for (size_t i = 0; i < OPEN_BUCKETS; i++)
        for (openrec *o = t->opens[i], *next; o; o = next) {
            next = o->next;
            free(o);
        }
    free(t->by_name);
    free(t->by_id);
    pthread_cond_destroy(&t->renamed);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Writes n's path at the end of buf, then moves it to the front. Under the lock. */
static int path_of(ino_table *t, node *n, const char *extra, char *buf, size_t len)
{
    size_t at = len;

    if (len < 2)
        return -ENAMETOOLONG;
    buf[--at] = '\0';
    if (extra) {
        size_t l = strlen(extra);
        if (l + 1 > at)
            return -ENAMETOOLONG;
        at -= l;
        memcpy(buf + at, extra, l);
        buf[--at] = '/';
    }
    for (; n != t->root; n = n->parent) {
        size_t l;
        if (!n->attached || !n->parent)
            return -ESTALE;
        l = strlen(n->name);
        if (l + 1 > at)
            return -ENAMETOOLONG;
        at -= l;
        memcpy(buf + at, n->name, l);
        buf[--at] = '/';
    }
    if (at == len - 1) /* the root itself */
        buf[--at] = '/';
    memmove(buf, buf + at, len - at);
    return 0;
}

int ino_child_path(ino_table *t, uint64_t parent, const char *name, char *buf, size_t len)
{
    int rc;
    pthread_mutex_lock(&t->lock);
    node *n = by_id(t, parent);
    rc = n ? path_of(t, n, name, buf, len) : -ESTALE;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int ino_path(ino_table *t, uint64_t ino, char *buf, size_t len)
{
    return ino_child_path(t, ino, NULL, buf, len);
}

/* A new attached node under parent, with the next number: numbers grow in the order names
 * are first seen, the listing's order (find and fts visit a large directory's entries in
 * inode order: so they read a collection in its pages' order). */
static node *make(ino_table *t, node *parent, const char *name)
{
    size_t l = strlen(name);
    node *n = malloc(sizeof *n + l + 1);
    uint64_t ino;

    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    memcpy(n->name, name, l + 1);
    n->ksize = INO_SIZE_UNKNOWN;
    ino = ++t->last;
    n->ino = ino;
    n->parent = parent;
    parent->children++;
    name_link(t, n);
    node **head = &t->by_id[mix(ino) & t->mask];
    n->id_next = *head;
    *head = n;
    t->count++;
    if (t->count > t->mask + 1)
        grow(t);
    return n;
}

/* Whether n or a directory above it is being renamed. Under the lock. */
static bool in_rename(ino_table *t, node *n)
{
    for (; n && n != t->root; n = n->parent)
        if (n->renaming)
            return true;
    return false;
}

int ino_hold(ino_table *t, uint64_t ino, char *buf, size_t len, bool *held)
{
    int rc;
    *held = false;
    pthread_mutex_lock(&t->lock);
    node *n = by_id(t, ino);
    while (n && in_rename(t, n)) {
        pthread_cond_wait(&t->renamed, &t->lock);
        n = by_id(t, ino);
    }
    rc = n ? path_of(t, n, NULL, buf, len) : -ESTALE;
    if (n && n->busy < UINT16_MAX) {
        n->busy++;
        *held = true;
    } else if (n) {
        rc = -EAGAIN;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void ino_unhold(ino_table *t, uint64_t ino)
{
    pthread_mutex_lock(&t->lock);
    node *n = by_id(t, ino);
    if (n && n->busy && --n->busy == 0) {
        if (n->renaming)
            pthread_cond_broadcast(&t->renamed);
        release_chain(t, n);
    }
    pthread_mutex_unlock(&t->lock);
}

void ino_rename_begin(ino_table *t, uint64_t parent, const char *name, uint64_t newparent,
                      const char *newname, uint64_t held[2])
{
    pthread_mutex_lock(&t->lock);
    node *n = *name_slot(t, parent, name), *old = *name_slot(t, newparent, newname);
    /* One rename of a node at a time; then new holders wait, present ones are waited for. */
    while ((n && n->renaming) || (old && old->renaming)) {
        pthread_cond_wait(&t->renamed, &t->lock);
        n = *name_slot(t, parent, name);
        old = *name_slot(t, newparent, newname);
    }
    held[0] = n ? n->ino : 0;
    held[1] = old && old != n ? old->ino : 0;
    if (n)
        n->renaming = true;
    if (old)
        old->renaming = true;
    while ((n && n->busy) || (old && old->busy))
        pthread_cond_wait(&t->renamed, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

void ino_rename_end(ino_table *t, const uint64_t held[2])
{
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < 2; i++) {
        node *n = held[i] ? by_id(t, held[i]) : NULL;
        if (n) {
            n->renaming = false;
            release_chain(t, n);
        }
    }
    pthread_cond_broadcast(&t->renamed);
    pthread_mutex_unlock(&t->lock);
}

void ino_opened(ino_table *t, uint64_t ino, uint64_t fh)
{
    openrec *o = malloc(sizeof *o);
    if (!o)
        return; /* only fstat of an unlinked file is the poorer for it */
    o->ino = ino;
    o->fh = fh;
    pthread_mutex_lock(&t->lock);
    o->next = t->opens[mix(ino) % OPEN_BUCKETS];
    t->opens[mix(ino) % OPEN_BUCKETS] = o;
    pthread_mutex_unlock(&t->lock);
}

void ino_closed(ino_table *t, uint64_t ino, uint64_t fh)
{
    pthread_mutex_lock(&t->lock);
    for (openrec **pp = &t->opens[mix(ino) % OPEN_BUCKETS]; *pp; pp = &(*pp)->next)
        if ((*pp)->ino == ino && (*pp)->fh == fh) {
            openrec *o = *pp;
            *pp = o->next;
            free(o);
            break;
        }
    pthread_mutex_unlock(&t->lock);
}

bool ino_open_handle(ino_table *t, uint64_t ino, uint64_t *fh)
{
    bool found = false;
    pthread_mutex_lock(&t->lock);
    for (openrec *o = t->opens[mix(ino) % OPEN_BUCKETS]; o && !found; o = o->next)
        if (o->ino == ino) {
            *fh = o->fh;
            found = true;
        }
    pthread_mutex_unlock(&t->lock);
    return found;
}

uint64_t ino_remember(ino_table *t, uint64_t parent, const char *name, uint64_t refs)
{
    uint64_t ino = 0;
    pthread_mutex_lock(&t->lock);
    node *p = by_id(t, parent), *n = p ? *name_slot(t, parent, name) : NULL;
    if (p && !n)
        n = make(t, p, name);
    if (n) {
        n->refs += refs;
        ino = n->ino;
    }
    pthread_mutex_unlock(&t->lock);
    return ino;
}

uint64_t ino_find(ino_table *t, uint64_t parent, const char *name)
{
    pthread_mutex_lock(&t->lock);
    node *n = *name_slot(t, parent, name);
    uint64_t ino = n ? n->ino : 0;
    pthread_mutex_unlock(&t->lock);
    return ino;
}

uint64_t ino_number(ino_table *t, uint64_t parent, const char *name)
{
    return ino_remember(t, parent, name, 0);
}

void ino_forget(ino_table *t, uint64_t ino, uint64_t n)
{
    pthread_mutex_lock(&t->lock);
    node *x = by_id(t, ino);
    if (x && x != t->root) {
        x->refs = x->refs > n ? x->refs - n : 0;
        release_chain(t, x);
    }
    pthread_mutex_unlock(&t->lock);
}

/* Detaches n: no name leads to it. It stays (with its parent) while referenced. The names
 * below a directory that goes are let go too (those not held: the kernel drops the rest). */
static void detach(ino_table *t, node *n)
{
    if (n->attached)
        name_unlink(t, n);
    if (n->children) {
        node *orphans = NULL;
        for (size_t i = 0; i <= t->mask; i++)
            for (node *c = t->by_id[i]; c; c = c->id_next)
                if (c->parent == n && c->attached && c->refs == 0 && c->children == 0 &&
                    c->busy == 0) {
                    name_unlink(t, c);
                    c->name_next = orphans; /* free after the walk of the chains */
                    orphans = c;
                }
        while (orphans) {
            node *c = orphans;
            node **pp = id_slot(t, c->ino);
            orphans = c->name_next;
            if (*pp == c)
                *pp = c->id_next;
            n->children--;
            t->count--;
            free(c);
        }
    }
    release_chain(t, n);
}

void ino_detach(ino_table *t, uint64_t parent, const char *name)
{
    pthread_mutex_lock(&t->lock);
    node *n = *name_slot(t, parent, name);
    if (n)
        detach(t, n);
    pthread_mutex_unlock(&t->lock);
}

int ino_move(ino_table *t, uint64_t parent, const char *name, uint64_t newparent,
             const char *newname)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    node *n = *name_slot(t, parent, name), *np = by_id(t, newparent);
    node *old = *name_slot(t, newparent, newname);
    size_t l = strlen(newname);

    if (old == n)
        goto cleanup;
    /* What the new name led to is detached, released only once n holds the directory. */
    if (old)
        name_unlink(t, old);
    if (n && np) {
        name_unlink(t, n);
        if (strlen(n->name) < l) {
            /* A longer name: a new allocation, with the same number and place. */
            node *moved = malloc(sizeof *n + l + 1), **pp;
            if (!moved) {
                name_link(t, n);
                if (old)
                    name_link(t, old);
                rc = -ENOMEM;
                goto cleanup;
            }
            memcpy(moved, n, sizeof *n);
            for (pp = id_slot(t, n->ino); *pp != n; pp = &(*pp)->id_next)
                ;
            *pp = moved;
            if (moved->children)
                for (size_t i = 0; i <= t->mask; i++)
                    for (node *c = t->by_id[i]; c; c = c->id_next)
                        if (c->parent == n)
                            c->parent = moved;
            free(n);
            n = moved;
        }
        memcpy(n->name, newname, l + 1);
        if (n->parent != np) {
            node *from = n->parent;
            np->children++;
            n->parent = np;
            from->children--;
            name_link(t, n);
            release_chain(t, from);
        } else {
            name_link(t, n);
        }
    }
    if (old)
        release_chain(t, old);
cleanup:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void ino_set_size(ino_table *t, uint64_t ino, uint64_t size, bool grow_only)
{
    pthread_mutex_lock(&t->lock);
    node *n = by_id(t, ino);
    if (n && (!grow_only || n->ksize == INO_SIZE_UNKNOWN || size > n->ksize))
        n->ksize = grow_only && n->ksize == INO_SIZE_UNKNOWN ? INO_SIZE_UNKNOWN : size;
    pthread_mutex_unlock(&t->lock);
}

uint64_t ino_size(ino_table *t, uint64_t ino)
{
    pthread_mutex_lock(&t->lock);
    node *n = by_id(t, ino);
    uint64_t size = n ? n->ksize : INO_SIZE_UNKNOWN;
    pthread_mutex_unlock(&t->lock);
    return size;
}

size_t ino_count(ino_table *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->count;
    pthread_mutex_unlock(&t->lock);
    return n;
}
