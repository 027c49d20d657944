/* cache_flight.c: the cache's clocks, and single-flight fetches (with timeouts kept a
 * moment for the question asked again at once). */
#include "cache_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------- */
/* Clocks                                                                     */
/* ------------------------------------------------------------------------- */

double cache_mono(cache *c)
{
    struct timespec ts;
    if (c->cfg.mono)
        return c->cfg.mono(c->cfg.clock_ud);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

time_t cache_wall(cache *c)
{
    if (c->cfg.wall)
        return c->cfg.wall(c->cfg.clock_ud);
    return time(NULL);
}

uint32_t cache_stamp(cache *c, double t)
{
    double d = (t - c->mono_base) * 10.0;
    if (d <= 0)
        return 0;
    return d >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

double cache_stamp_time(const cache *c, uint32_t stamp)
{
    return c->mono_base + (double)stamp / 10.0;
}

bool cache_is_fresh(cache *c, double t)
{
    /* ttl 0: nothing is ever fresh, every question fetches. */
    if (c->stats.drops && t < c->valid_after)
        return false; /* fetched before a refresh (cache_drop_all) */
    return c->cfg.ttl > 0 && t + c->cfg.ttl > cache_mono(c);
}

/* ------------------------------------------------------------------------- */
/* Single-flight                                                              */
/* ------------------------------------------------------------------------- */

static void flight_free(flight *f)
{
    lru_item_unref(f->res.content);
    free(f->key);
    free(f);
}

/* The outcome of a fetch for key that failed less than CACHE_FAIL_MEMO seconds ago (and
 * after the last cache_drop_all), copied to *res; older ones are forgotten on the way. */
static bool recent_failure(cache *c, const char *key, size_t keylen, flight_result *res)
{
    double now = cache_mono(c);
    flight **pp = &c->failed, *f;

    while ((f = *pp) != NULL) {
        if (now - f->ended >= CACHE_FAIL_MEMO || f->ended <= c->valid_after) {
            *pp = f->next;
            flight_free(f);
            continue;
        }
        if (f->keylen == keylen && memcmp(f->key, key, keylen) == 0) {
            *res = f->res;
            c->stats.joined++;
            return true;
        }
        pp = &f->next;
    }
    return false;
}

/* Keeps a failed outcome for the questions that follow at once (recent_failure). */
static void remember_failure(cache *c, const char *key, size_t keylen, const flight_result *res)
{
    flight *f = calloc(1, sizeof *f);

    if (!f || !(f->key = malloc(keylen ? keylen : 1))) {
        free(f);
        return; /* only a shortcut lost */
    }
    memcpy(f->key, key, keylen);
    f->keylen = keylen;
    f->res = *res;
    f->res.content = NULL;
    f->ended = cache_mono(c);
    f->next = c->failed;
    c->failed = f;
}

int cache_flight_join(cache *c, const char *key, size_t keylen, flight **out, flight_result *res)
{
    flight *f;

    *out = NULL;
    cache_fetch_counted(); /* a miss for the question asking (cache_obs.c) */
    if (c->failed && recent_failure(c, key, keylen, res))
        return 1;
    for (f = c->flights; f; f = f->next) {
        if (f->keylen == keylen && memcmp(f->key, key, keylen) == 0)
            break;
    }
    if (f) {
        /* Someone is fetching this already: wait for their outcome and share it. */
        f->waiters++;
        c->stats.joined++;
        while (!f->done)
            pthread_cond_wait(&c->cond, &c->lock);
        *res = f->res;
        if (res->content)
            lru_item_ref(res->content);
        if (--f->waiters == 0)
            flight_free(f);
        return 1;
    }
    f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->key = malloc(keylen ? keylen : 1);
    if (!f->key) {
        free(f);
        return -1;
    }
    memcpy(f->key, key, keylen);
    f->keylen = keylen;
    f->next = c->flights;
    c->flights = f;
    *out = f;
    return 0;
}

void cache_flight_end(cache *c, flight *f, const flight_result *res)
{
    flight **pp;

    for (pp = &c->flights; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    f->res = *res;
    if (f->res.content)
        lru_item_ref(f->res.content);
    /* Only the failure that takes tries x timeout: a server's answer (a 5xx: EIO), even a
     * failing one, is asked again, so that a record reads as soon as the server is back. */
    if (res->rc == -ETIMEDOUT)
        remember_failure(c, f->key, f->keylen, res);
    f->done = true;
    if (f->waiters == 0) {
        flight_free(f);
        return;
    }
    pthread_cond_broadcast(&c->cond);
}

void cache_flights_free(cache *c)
{
    while (c->failed) {
        flight *f = c->failed;
        c->failed = f->next;
        flight_free(f);
    }
}
