/* test_wlock.c: the write side's per-path mutation locks: different paths are held at
 * once, one path by one holder at a time, several paths in any order without deadlock,
 * and the exclusive mode alone. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "wlock.h"

/* ------------------------------------------------------------------------- */
/* Two holders of different paths at once                                    */
/* ------------------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int inside;        /* holders inside at once */
static bool both_seen;

/* Waits (at most 10 s: a hang is a failure, not a slow pass) until pred holds. */
static bool wait_for(bool (*pred)(void))
{
    struct timespec dl;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (!pred())
        if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT)
            break;
    ok = pred();
    pthread_mutex_unlock(&mu);
    return ok;
}

static bool two_inside(void)
{
    return inside >= 2 || both_seen;
}

static void *hold_until_two(void *arg)
{
    const char *path = arg;
    wl_held h;
    bool *ok = malloc(sizeof *ok);

    /* No CHECK here: the harness's counter and output belong to the main thread. */
    if (wl_lock(&h, &path, 1) != 0) {
        *ok = false;
        return ok;
    }
    pthread_mutex_lock(&mu);
    inside++;
    if (inside >= 2)
        both_seen = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    *ok = wait_for(two_inside);
    pthread_mutex_lock(&mu);
    inside--;
    pthread_mutex_unlock(&mu);
    wl_unlock(&h);
    return ok;
}

static void test_parallel_paths(void)
{
    pthread_t a, b;
    bool *ra, *rb;

    inside = 0;
    both_seen = false;
    pthread_create(&a, NULL, hold_until_two, (void *)"/apps/a/c/1.json");
    pthread_create(&b, NULL, hold_until_two, (void *)"/apps/a/c/2.json");
    pthread_join(a, (void **)&ra);
    pthread_join(b, (void **)&rb);
    CHECK(*ra && *rb); /* each locked, and saw the other inside while holding its own path */
    CHECK(both_seen);
    free(ra);
    free(rb);
}

/* ------------------------------------------------------------------------- */
/* One path: one holder at a time; exclusive: alone                           */
/* ------------------------------------------------------------------------- */

static int entered;

static void *lock_path(void *arg)
{
    const char *path = arg;
    wl_held h;

    if (wl_lock(&h, &path, 1) == 0) {
        __atomic_store_n(&entered, 1, __ATOMIC_SEQ_CST);
        wl_unlock(&h);
    }
    return NULL;
}

static void *lock_excl(void *arg)
{
    wl_held h;
    (void)arg;
    wl_lock_excl(&h);
    __atomic_store_n(&entered, 1, __ATOMIC_SEQ_CST);
    wl_unlock(&h);
    return NULL;
}

/* Starts fn while the caller holds what it holds: fn must not get in until released
 * (checked after 100 ms: a broken lock lets it in long before), then must. */
static void check_waits(void *(*fn)(void *), void *arg, wl_held *held)
{
    pthread_t t;

    __atomic_store_n(&entered, 0, __ATOMIC_SEQ_CST);
    pthread_create(&t, NULL, fn, arg);
    usleep(100 * 1000);
    CHECK_INT(__atomic_load_n(&entered, __ATOMIC_SEQ_CST), 0);
    wl_unlock(held);
    pthread_join(t, NULL);
    CHECK_INT(__atomic_load_n(&entered, __ATOMIC_SEQ_CST), 1);
}

static void test_same_path_waits(void)
{
    const char *p = "/apps/a/c/x.json";
    const char *pair[2] = {"/apps/a/c/y.json", "/apps/a/c/x.json"};
    wl_held h;

    CHECK_INT(wl_lock(&h, &p, 1), 0);
    check_waits(lock_path, (void *)p, &h);

    /* A rename's two names: either one is enough to wait. */
    CHECK_INT(wl_lock(&h, pair, 2), 0);
    check_waits(lock_path, (void *)"/apps/a/c/y.json", &h);

    /* A path held: an exclusive holder waits for it. */
    CHECK_INT(wl_lock(&h, &p, 1), 0);
    check_waits(lock_excl, NULL, &h);

    /* Exclusive: any path waits. */
    wl_lock_excl(&h);
    CHECK(wl_holds(&h, "/anything"));
    check_waits(lock_path, (void *)"/apps/b/c/z.json", &h);
}

static void test_keys(void)
{
    const char *keys[4] = {"/b", NULL, "/a", "/b"};
    wl_held h;

    CHECK_INT(wl_lock(&h, keys, 4), 0);
    CHECK_INT(h.n, 2); /* NULL and the repeat skipped */
    CHECK_STR(h.keys[0], "/a");
    CHECK_STR(h.keys[1], "/b");
    CHECK(wl_holds(&h, "/a"));
    CHECK(wl_holds(&h, "/b"));
    CHECK(!wl_holds(&h, "/c"));
    CHECK(wl_holds(&h, NULL));
    wl_unlock(&h);
    CHECK(!wl_holds(&h, "/a"));
    wl_unlock(&h); /* holding nothing: nothing happens */
}

/* ------------------------------------------------------------------------- */
/* Many holders of overlapping pairs in opposite orders: no deadlock, and      */
/* never two holders of one path                                               */
/* ------------------------------------------------------------------------- */

#define ROUNDS 20000
static int owners[3];
static int violations;

static void *churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    static const char *names[3] = {"/x", "/y", "/z"};

    for (int i = 0; i < ROUNDS; i++) {
        int a = (id + i) % 3, b = (id + 2 * i + 1) % 3;
        const char *keys[2] = {names[a], names[b]};
        wl_held h;
        bool ex = i % 97 == 0;

        if (ex)
            wl_lock_excl(&h);
        else if (wl_lock(&h, keys, 2) != 0)
            continue;
        for (int k = 0; k < 3; k++) {
            if (!wl_holds(&h, names[k]))
                continue;
            if (__atomic_add_fetch(&owners[k], 1, __ATOMIC_SEQ_CST) != 1)
                __atomic_add_fetch(&violations, 1, __ATOMIC_SEQ_CST);
        }
        for (int k = 0; k < 3; k++)
            if (wl_holds(&h, names[k]))
                __atomic_sub_fetch(&owners[k], 1, __ATOMIC_SEQ_CST);
        wl_unlock(&h);
    }
    return NULL;
}

static void test_no_deadlock(void)
{
    pthread_t t[4];

    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL); /* a deadlock hangs here: the test's timeout fails it */
    CHECK_INT(violations, 0);
}

int main(void)
{
    test_keys();
    test_parallel_paths();
    test_same_path_waits();
    test_no_deadlock();
    return check_done();
}
