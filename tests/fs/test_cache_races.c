/* test_cache_races.c: the cache under concurrent questions: single-flight fetches, and
 * saves made while a listing is under way. */
#include "cache_fake.h"
#include "cache_write.h"
#include "log.h"

typedef struct job {
    cache *c;
    const char *path;
    int rc;
    int entries;
} job;

static void *list_job(void *arg)
{
    job *j = arg;
    layout_path p;
    P(&p, j->path);
    cache_dir *d = NULL;
    listing *l = calloc(1, sizeof *l);
    j->rc = cache_opendir(j->c, &p, &d, NULL);
    if (j->rc == 0) {
        cache_readdir(j->c, d, 0, collect, l);
        j->entries = l->n;
        cache_closedir(j->c, d);
    }
    free(l);
    return NULL;
}

static void *stat_job(void *arg)
{
    job *j = arg;
    cache_attr a;
    j->rc = getattr(j->c, j->path, &a);
    return NULL;
}

/* A save made here while a listing of the collection is under way is newer than its
 * answer: the cache must not go back to the version the listing carries. */
static void test_save_during_fetch(void)
{
    static const char saved[] = "{\n  \"_id\": \"6465e7a5c1a9f0e200000005\",\n  \"n\": \"saved\"\n}\n";
    const char *name = "6465e7a5c1a9f0e200000005.json", *key = "6465e7a5c1a9f0e200000005";
    const char *path = "/apps/a/c/6465e7a5c1a9f0e200000005.json";
    pthread_t th;
    job jb;
    cache_attr a;
    cache *c;
    char *text;
    int rc;

    /* A listing (3 pages of 150 ms) with a save of one of its records in the middle. */
    fake_setup(300, 100);
    F.delay_ms = 150;
    c = make_cache(30, 64 << 20);
    jb = (job){.c = c, .path = "/apps/a/c"};
    pthread_create(&th, NULL, list_job, &jb);
    pause_ms(100);
    EXPECT_RC(cache_put_record(c, "a", "c", name, key, saved, strlen(saved), &a), 0);
    pthread_join(th, NULL);
    CHECK_INT(jb.rc, 0);
    CHECK_INT(jb.entries, 301);
    F.delay_ms = 0;
    text = read_file(c, path, &rc);
    CHECK_MSG(rc == 0 && text && strcmp(text, saved) == 0, "got %s", text ? text : "(null)");
    free(text);
    EXPECT_RC(getattr(c, path, &a), 0);
    CHECK_INT(a.size, strlen(saved));
    cache_free(c);
}

static void test_single_flight(void)
{
    enum { T = 8 };
    pthread_t th[T];
    job jobs[T];
    cache *c;

    fake_setup(300, 50);
    F.delay_ms = 150;
    c = make_cache(30, 64 << 20);
    for (int i = 0; i < T; i++) {
        jobs[i] = (job){c, "/apps/a/c", -1, 0};
        pthread_create(&th[i], NULL, list_job, &jobs[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].rc, 0);
        CHECK_INT(jobs[i].entries, 301);
    }
    CHECK_INT(F.reads, 1);
    CHECK_INT(F.list_calls, 2); /* apps and collections, once each */

    /* The same for one record fetched alone, after the TTL. */
    now_mono += 100;
    for (int i = 0; i < T; i++) {
        jobs[i] = (job){c, "/apps/a/c/6465e7a5c1a9f0e200000009.json", -1, 0};
        pthread_create(&th[i], NULL, stat_job, &jobs[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].rc, 0);
    }
    CHECK_INT(F.gets, 1);
    /* Errors are shared too: one request for a missing record. */
    for (int i = 0; i < T; i++) {
        jobs[i] = (job){c, "/apps/a/c/6465e7a5c1a9f0e2ffffffff.json", 0, 0};
        pthread_create(&th[i], NULL, stat_job, &jobs[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].rc, -ENOENT);
    }
    CHECK_INT(F.gets, 2);
    cache_free(c);
}

static void quiet(void *ud, log_level level, const char *file, int line, const char *msg)
{
    (void)ud;
    printf("# log %d %s:%d: %s\n", (int)level, file, line, msg);
}

int main(void)
{
    log_use_function(quiet, NULL);
    test_single_flight();
    test_save_during_fetch();
    return check_done();
}
