/* cache_obs.c: the cache's hit/miss counting, its refresh (drop all), and stale answers
 * when the server cannot be reached (-o stale_on_error). */
#include "cache_int.h"

#include <errno.h>
#include <math.h>

#include "errlog.h"
#include "errmap.h"
#include "log.h"

/* Fetches started or joined by this thread (see cache_flight_join). */
static __thread uint64_t thread_fetches;

uint64_t cache_fetch_mark(void)
{
    return thread_fetches;
}

void cache_fetch_counted(void)
{
    thread_fetches++;
}

void cache_count_question(cache *c, uint64_t mark)
{
    if (thread_fetches == mark)
        c->stats.hits++;
    else
        c->stats.misses++;
}

/* Whether a failure means the server could not be reached or could not answer: a network
 * failure, a timeout, or HTTP 5xx. Never 4xx (404, 401...), TLS or protocol failures. */
static bool unreachable(int rc, const cf_error *err)
{
    if (rc == 0 || !err)
        return false;
    switch (err->kind) {
    case CF_ERR_NETWORK:
    case CF_ERR_TIMEOUT:
        return true;
    case CF_ERR_HTTP:
        return err->status >= 500 && err->status <= 599;
    default:
        return false;
    }
}

bool cache_serve_stale(cache *c, int rc, const cf_error *err, double fetched, const char *what)
{
    char text[1400];
    double age;

    if (!c->stale_on_error || !unreachable(rc, err))
        return false;
    age = cache_mono(c) - fetched;
    if (!(age >= 0))
        age = 0;
    c->stats.stale_served++;
    fs_error_text(err, text, sizeof text);
    log_warning("serving stale %s (age %.0f s): cannot reach server: %s", what, floor(age), text);
    errlog_add("stale", what, 0, err);
    return true;
}

void cache_set_stale_on_error(cache *c, bool on)
{
    pthread_mutex_lock(&c->lock);
    c->stale_on_error = on;
    pthread_mutex_unlock(&c->lock);
}

void cache_drop_all(cache *c)
{
    pthread_mutex_lock(&c->lock);
    /* cache_is_fresh refuses anything fetched before now; contents leave memory at once
     * (the LRU's evict callback clears the records' pointers). */
    c->valid_after = cache_mono(c);
    c->stats.drops++;
    lru_clear(&c->lru);
    pthread_mutex_unlock(&c->lock);
}
