/* test_wnode.c: the write side's node table (open buffers, new, local and hidden files,
 * their lifetimes across handles, renames and unlinks) and the path facts (kept times). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wnode.h"

typedef struct seen {
    char names[16][64];
    int states[16];
    int n;
} seen;

static void note(void *ud, const wnode *n, const char *name)
{
    seen *s = ud;
    if (s->n < 16) {
        snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
        s->states[s->n] = n->state;
        s->n++;
    }
}

static bool has(const seen *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return true;
    return false;
}

static void test_table(void)
{
    wnode *a, *b, *c;
    const char *data;
    seen s = {0};

    wn_lock();
    CHECK(wn_count() == 0);
    CHECK(wn_find("/apps/a/c/x.json") == NULL);
    a = wn_add("/apps/a/c/x.json", WN_OPEN);
    b = wn_add("/apps/a/c/.x.json.swp", WN_LOCAL);
    c = wn_add("/apps/a/c2/y.json", WN_NEW);
    CHECK(a && b && c);
    CHECK_INT(wn_count(), 3);
    CHECK(wn_find("/apps/a/c/x.json") == a);
    CHECK(wn_find("/apps/a/c/.x.json.swp") == b);
    CHECK(wn_find("/apps/a/c") == NULL);

    /* Content: the base until changed, then the buffer. */
    CHECK_INT(wn_content(a, &data), 0);
    CHECK_INT(wn_set_base(a, "{\"v\":1}", 7), 0);
    CHECK_INT(wn_content(a, &data), 7);
    CHECK(memcmp(data, "{\"v\":1}", 7) == 0);
    CHECK(!a->loaded);
    CHECK_INT(wn_materialize(a), 0);
    CHECK(a->loaded);
    CHECK_INT(wbuf_write(&a->buf, "2", 1, 5), 0);
    a->gen++;
    CHECK(wn_dirty(a));
    CHECK_INT(wn_content(a, &data), 7);
    CHECK(memcmp(data, "{\"v\":2}", 7) == 0);
    CHECK(memcmp(a->base->data, "{\"v\":1}", 7) == 0); /* what the file showed */
    a->synced = a->gen;
    CHECK(!wn_dirty(a));

    /* Children of a directory, and only direct ones. */
    wn_each_in("/apps/a/c", note, &s);
    CHECK_INT(s.n, 2);
    CHECK(has(&s, "x.json") && has(&s, ".x.json.swp"));
    memset(&s, 0, sizeof s);
    wn_each_in("/apps/a", note, &s);
    CHECK_INT(s.n, 0);
    memset(&s, 0, sizeof s);
    wn_each_in("/apps/a/c2", note, &s);
    CHECK_INT(s.n, 1);

    /* Rename: the node moves, replacing (detaching) a node at the target. */
    CHECK_INT(wn_rekey(b, "/apps/a/c2/y.json"), 0);
    CHECK(wn_find("/apps/a/c2/y.json") == b);
    CHECK(wn_find("/apps/a/c/.x.json.swp") == NULL);
    CHECK_INT(wn_count(), 2); /* c was detached and freed (no handles) */

    /* An open node outlives its detachment while handles hold it. */
    a->opens = 2;
    wn_detach(a);
    CHECK(wn_find("/apps/a/c/x.json") == NULL);
    CHECK(!a->listed && a->gone);
    CHECK_INT(wn_count(), 1);
    CHECK_INT(wn_content(a, &data), 7); /* still readable */
    wn_release(a);
    CHECK_INT(a->opens, 1);
    wn_release(a); /* freed now */

    /* An unlisted node (saved while open) is not found, keeps its path, goes with its
     * last handle, and is not gone (its handles may save it). */
    a = wn_add("/queries/u.json", WN_OPEN);
    a->opens = 1;
    wn_unlist(a);
    CHECK(wn_find("/queries/u.json") == NULL);
    CHECK(!a->listed && !a->gone);
    CHECK_STR(a->path, "/queries/u.json");
    c = wn_add("/queries/u.json", WN_OPEN); /* a new open of the name: a node of its own */
    CHECK(c && c != a && wn_find("/queries/u.json") == c);
    wn_release(a);
    wn_detach(c);

    /* WN_OPEN nodes go with their last handle; local ones stay. */
    a = wn_add("/queries/q.json", WN_OPEN);
    a->opens = 1;
    wn_release(a);
    CHECK(wn_find("/queries/q.json") == NULL);
    b->opens = 1;
    wn_release(b);
    CHECK(wn_find("/apps/a/c2/y.json") == b);
    wn_detach(b);
    CHECK_INT(wn_count(), 0);

    /* Attributes of a node. */
    a = wn_add("/apps/a/c/n.json", WN_NEW);
    a->loaded = true;
    wbuf_set(&a->buf, "{}", 2);
    a->mode = 0600;
    a->mtime.tv_sec = 1000;
    a->mtime.tv_nsec = 5;
    {
        cache_attr at;
        struct timespec mt;
        wn_attr(a, &at, &mt);
        CHECK_INT(at.size, 2);
        CHECK_INT(at.mode, 0600);
        CHECK_INT(at.mtime, 1000);
        CHECK_INT(mt.tv_nsec, 5);
        CHECK(!at.is_dir);
    }
    wn_detach(a);
    /* The root's children. */
    a = wn_add("/x", WN_LOCAL);
    memset(&s, 0, sizeof s);
    wn_each_in("/", note, &s);
    CHECK_INT(s.n, 1);
    CHECK(has(&s, "x"));
    wn_detach(a);
    wn_unlock();
}

static void test_facts(void)
{
    cache_attr now = {.size = 100, .mtime = 2000, .mode = 0644};
    cache_attr a;
    struct timespec t = {.tv_sec = 1234, .tv_nsec = 500}, mt;

    /* No fact: the cache's time (with the nanoseconds the cache keeps, for records). */
    a = now;
    wf_apply("/apps/a/c/x.json", &a, &mt);
    CHECK_INT(a.mtime, 2000);
    CHECK(mt.tv_sec == 2000 && mt.tv_nsec == 0);
    a.mtime_ns = 7;
    wf_apply("/apps/a/c/x.json", &a, &mt);
    CHECK(mt.tv_sec == 2000 && mt.tv_nsec == 7);

    /* A time given is shown while the file is as it was. */
    wf_set_time("/apps/a/c/x.json", &t, &now);
    a = now;
    wf_apply("/apps/a/c/x.json", &a, &mt);
    CHECK_INT(a.mtime, 1234);
    CHECK(mt.tv_sec == 1234 && mt.tv_nsec == 500);
    /* ... and dropped once the server's content changed. */
    a = now;
    a.size = 101;
    a.mtime = 2001;
    wf_apply("/apps/a/c/x.json", &a, &mt);
    CHECK_INT(a.mtime, 2001);
    a = now;
    wf_apply("/apps/a/c/x.json", &a, &mt);
    CHECK_INT(a.mtime, 2000); /* gone for good */

    /* Moves carry facts along, with what is below a directory. */
    wf_set_time("/apps/a/c", &t, &now);
    wf_set_time("/apps/a/c/y.json", &t, &now);
    wf_move("/apps/a/c", "/apps/a/d");
    a = now;
    wf_apply("/apps/a/d/y.json", &a, &mt);
    CHECK_INT(a.mtime, 1234);
    a = now;
    wf_apply("/apps/a/c/y.json", &a, &mt);
    CHECK_INT(a.mtime, 2000);
    a = now;
    wf_apply("/apps/a/d", &a, &mt);
    CHECK_INT(a.mtime, 1234);
    /* A path that only starts alike is not below. */
    wf_set_time("/apps/a/dd", &t, &now);
    wf_forget("/apps/a/d");
    a = now;
    wf_apply("/apps/a/d/y.json", &a, &mt);
    CHECK_INT(a.mtime, 2000);
    a = now;
    wf_apply("/apps/a/dd", &a, &mt);
    CHECK_INT(a.mtime, 1234);
    wf_drop_time("/apps/a/dd");
    a = now;
    wf_apply("/apps/a/dd", &a, &mt);
    CHECK_INT(a.mtime, 2000);
}

/* The save plan: what a flush or fsync does, from the node's state alone. */
static void test_plan(void)
{
    wnode *n;

    wn_lock();
    /* An open server file: nothing until changed; the bytes it showed are no change. */
    n = wn_add("/apps/a/c/p.json", WN_OPEN);
    wn_set_base(n, "{\"a\":1}", 7);
    CHECK(wn_save_plan(n) == WN_PLAN_NONE);
    CHECK(wn_on_server(n));
    wn_materialize(n);
    wbuf_truncate(&n->buf, 0); /* O_TRUNC... */
    n->gen++;
    CHECK(wn_save_plan(n) == WN_PLAN_SEND); /* an empty buffer is sent to be refused */
    wbuf_write(&n->buf, "{\"a\":1}", 7, 0); /* ...and the same bytes again */
    n->gen++;
    CHECK(wn_save_plan(n) == WN_PLAN_SAME);
    wbuf_write(&n->buf, "2", 1, 5);
    n->gen++;
    CHECK(wn_save_plan(n) == WN_PLAN_SEND);
    n->synced = n->gen;
    CHECK(wn_save_plan(n) == WN_PLAN_NONE);
    n->gen++;
    n->gone = true; /* unlinked while open: never sent */
    CHECK(wn_save_plan(n) == WN_PLAN_NONE);
    n->gone = false;
    wn_detach(n);

    /* A new file: kept while empty, then created. */
    n = wn_add("/apps/a/c/new.json", WN_NEW);
    n->loaded = true;
    wbuf_set(&n->buf, "", 0);
    n->gen++;
    CHECK(!wn_on_server(n));
    CHECK(wn_save_plan(n) == WN_PLAN_KEEP);
    wbuf_write(&n->buf, "{}", 2, 0);
    n->gen++;
    CHECK(wn_save_plan(n) == WN_PLAN_SEND);
    /* Made again over a hidden server file (an editor's save): the server's bytes are no
     * change, other bytes an update. */
    n->server_exists = true;
    wn_set_base(n, "{}", 2);
    CHECK(wn_on_server(n));
    CHECK(wn_save_plan(n) == WN_PLAN_SAME);
    wbuf_write(&n->buf, " ", 1, 2);
    n->gen++;
    CHECK(wn_save_plan(n) == WN_PLAN_SEND);
    wn_detach(n);

    /* Local and hidden files are never sent. */
    n = wn_add("/apps/a/c/.x.swp", WN_LOCAL);
    n->gen++;
    CHECK(wn_save_plan(n) == WN_PLAN_NONE);
    n->state = WN_HIDDEN;
    CHECK(wn_save_plan(n) == WN_PLAN_NONE);
    wn_detach(n);
    wn_unlock();
}

/* What opens that only read see of a file being written, and what its name shows. */
static void test_shown(void)
{
    struct timespec t1 = {.tv_sec = 1000}, t2 = {.tv_sec = 2000}, mt;
    cache_attr a;
    lru_item *it, *saving;
    wnode *n;

    wn_lock();
    n = wn_add("/apps/a/c/s.json", WN_OPEN);
    CHECK(n != NULL);
    CHECK_INT(wn_set_base(n, "{\"v\":1}", 7), 0);
    n->mtime = t1;
    /* Not changed: the node's own attributes; the shown version is the base. */
    wn_name_attr(n, &a, &mt);
    CHECK_INT(a.size, 7);
    it = wn_shown(n, &mt);
    CHECK(it == n->base);
    CHECK_INT(mt.tv_sec, 1000);
    lru_item_unref(it);

    /* A writer truncates and writes part of it: the name still shows the base. */
    CHECK_INT(wn_materialize(n), 0);
    CHECK_INT(wbuf_truncate(&n->buf, 0), 0);
    CHECK_INT(wbuf_write(&n->buf, "{\"v\":22", 7, 0), 0);
    CHECK_INT(wbuf_write(&n->buf, "2}", 2, 7), 0);
    n->gen++;
    n->mtime = t2;
    wn_name_attr(n, &a, &mt);
    CHECK_INT(a.size, 7);
    CHECK_INT(mt.tv_sec, 1000);
    wn_attr(n, &a, NULL); /* the writers' own view */
    CHECK_INT(a.size, 9);

    /* A save began: the version being sent is shown; a reader keeps what it got. */
    it = wn_shown(n, NULL);
    saving = lru_item_new("{\"v\":222}", 9);
    wn_set_shown(n, saving, &t2);
    lru_item_unref(saving);
    wn_name_attr(n, &a, &mt);
    CHECK_INT(a.size, 9);
    CHECK_INT(mt.tv_sec, 2000);
    CHECK(it && it->len == 7 && memcmp(it->data, "{\"v\":1}", 7) == 0);
    lru_item_unref(it);
    it = wn_shown(n, NULL);
    CHECK(it && it->len == 9);
    lru_item_unref(it);

    /* A rename: the new name shows the base again. */
    CHECK_INT(wn_rekey(n, "/apps/a/c/t.json"), 0);
    CHECK(n->shown == NULL);
    wn_name_attr(n, &a, NULL);
    CHECK_INT(a.size, 7);
    wn_detach(n);

    /* New files show their buffer (nothing saved to show instead). */
    n = wn_add("/apps/a/c/new.json", WN_NEW);
    n->loaded = true;
    CHECK_INT(wbuf_set(&n->buf, "{\"a\"", 4), 0);
    n->gen++;
    wn_name_attr(n, &a, NULL);
    CHECK_INT(a.size, 4);
    wn_detach(n);
    wn_unlock();
}

static void test_written_lately(void)
{
    CHECK(!wf_written_lately("/apps/a/c/hot.json"));
    CHECK(!wf_written_lately(NULL));
    wf_mark_written("/apps/a/c/hot.json");
    CHECK(wf_written_lately("/apps/a/c/hot.json"));
    CHECK(!wf_written_lately("/apps/a/c/cold.json"));
    wf_mark_written(NULL); /* nothing */
}

/* Nodes saved while open (unlisted, held by handles) follow their file's renames and
 * die with its unlink or replacement; those without handles are freed at once. */
static void test_unlisted(void)
{
    wnode *a, *b, *c, *d;

    wn_lock();
    a = wn_add("/apps/a/c/x.json", WN_OPEN);
    a->opens = 1;
    wn_unlist(a); /* saved while open */
    b = wn_add("/apps/a/c/x.json", WN_OPEN); /* a later open of the name */
    b->opens = 1;
    wn_unlist(b);
    c = wn_add("/apps/a/c/y.json", WN_OPEN);
    c->opens = 1;
    wn_unlist(c);

    /* A rename of x: both of x's follow, y's stays. */
    CHECK_INT(wn_follow("/apps/a/c/x.json", "/apps/a/c/m.json"), 0);
    CHECK_STR(a->path, "/apps/a/c/m.json");
    CHECK_STR(b->path, "/apps/a/c/m.json");
    CHECK_STR(c->path, "/apps/a/c/y.json");
    CHECK(!a->gone && !b->gone && !c->gone);
    CHECK(wn_find("/apps/a/c/m.json") == NULL); /* still unlisted */

    /* The file at m is removed: its handles' nodes are gone (never saved), y's is not. */
    wn_detach_at("/apps/a/c/m.json");
    CHECK(a->gone && b->gone && !c->gone);
    /* Gone nodes follow nothing any more. */
    CHECK_INT(wn_follow("/apps/a/c/m.json", "/apps/a/c/z.json"), 0);
    CHECK_STR(a->path, "/apps/a/c/m.json");

    /* A rename over y (rekey of another node onto it) makes y's gone. */
    d = wn_add("/apps/a/c/t.json", WN_LOCAL);
    CHECK_INT(wn_rekey(d, "/apps/a/c/y.json"), 0);
    CHECK(c->gone);
    CHECK(wn_find("/apps/a/c/y.json") == d);
    wn_detach(d);

    /* The last handles go: the unlisted nodes are freed (ASan/valgrind see leaks). */
    wn_release(a);
    wn_release(b);
    wn_release(c);
    CHECK_INT(wn_count(), 0);
    wn_unlock();
}

int main(void)
{
    test_unlisted();
    test_shown();
    test_written_lately();
    test_plan();
    test_table();
    test_facts();
    return check_done();
}
