/* bench_pretty.c: throughput of check, pretty, compact and array_each on a generated 100 MB array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clappform.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_element(void *ud, size_t index, const char *elem, size_t elem_len)
{
    (void)index;
    (void)elem;
    *(size_t *)ud += elem_len;
    return 0;
}

/* Records shaped like a collection page: ids, names, numbers, nested values, text. */
static char *generate(size_t target, size_t *len, size_t *records)
{
    size_t cap = target + 4096, n = 0, i;
    char *buf = malloc(cap);

    if (!buf)
        return NULL;
    buf[n++] = '[';
    for (i = 0; n < target; ++i) {
        n += (size_t)snprintf(
            buf + n, cap - n,
            "%s{\"_id\":\"65f0c0ffee%014zx\",\"name\":\"Record %zu\",\"value\":%zu.%03zu,"
            "\"big\":1234567890123456789012%zu,\"active\":%s,\"tags\":[\"alpha\",\"b\\u00e9ta\","
            "\"\xce\xb3\"],\"nested\":{\"x\":%zu,\"y\":[true,null,-0],\"z\":{}},"
            "\"text\":\"A longer text field with \\\"quotes\\\", caf\xc3\xa9 and a \\n newline "
            "to exercise string scanning in the common case.\"}",
            i ? "," : "", i, i, i * 7, i % 1000, i % 10, i % 2 ? "true" : "false", i % 97);
    }
    buf[n++] = ']';
    *len = n;
    *records = i;
    return buf;
}

static void report(const char *what, size_t bytes, double seconds)
{
    printf("%-28s %8.1f MB in %6.3f s: %7.1f MB/s\n", what, (double)bytes / 1e6, seconds,
           (double)bytes / 1e6 / seconds);
}

/* Each operation runs RUNS times; the best time is reported (the machine may be shared). */
enum { RUNS = 3 };

int main(int argc, char **argv)
{
    size_t target = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) << 20 : (size_t)100 << 20;
    size_t len, records, out_len = 0, out2_len = 0, total;
    char *text = generate(target, &len, &records), *out = NULL, *out2 = NULL;
    double t, best[6] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
    int rc = 1, run;

    if (!text)
        return 1;
    printf("%zu records, %zu bytes, best of %d runs\n", records, len, RUNS);
    for (run = 0; run < RUNS; ++run) {
        t = now();
        if (cf_json_check(text, len, 0, NULL) != 0)
            goto cleanup;
        if ((t = now() - t) < best[0])
            best[0] = t;
        t = now();
        if (cf_json_check(text, len, CF_JSON_NO_DUP_KEYS, NULL) != 0)
            goto cleanup;
        if ((t = now() - t) < best[1])
            best[1] = t;
        free(out);
        out = NULL;
        t = now();
        if (cf_json_pretty(text, len, NULL, &out, &out_len) != 0)
            goto cleanup;
        if ((t = now() - t) < best[2])
            best[2] = t;
        free(out2);
        out2 = NULL;
        t = now();
        if (cf_json_pretty(out, out_len, NULL, &out2, &out2_len) != 0 || out2_len != out_len)
            goto cleanup;
        if ((t = now() - t) < best[3])
            best[3] = t;
        free(out2);
        out2 = NULL;
        t = now();
        if (cf_json_compact(out, out_len, NULL, NULL, NULL, &out2, &out2_len) != 0 ||
            out2_len != len || memcmp(out2, text, len) != 0)
            goto cleanup;
        if ((t = now() - t) < best[4])
            best[4] = t;
        total = 0;
        t = now();
        if (cf_json_array_each(text, len, count_element, &total) != 0)
            goto cleanup;
        if ((t = now() - t) < best[5])
            best[5] = t;
    }
    report("cf_json_check", len, best[0]);
    report("cf_json_check NO_DUP_KEYS", len, best[1]);
    report("cf_json_pretty (compact in)", len, best[2]);
    report("cf_json_pretty (pretty in)", out_len, best[3]);
    report("cf_json_compact (pretty in)", out_len, best[4]);
    report("cf_json_array_each", len, best[5]);
    rc = 0;
cleanup:
    if (rc)
        printf("failed\n");
    free(text);
    free(out);
    free(out2);
    return rc;
}
