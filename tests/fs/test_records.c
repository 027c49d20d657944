/* test_records.c: the compact record table: add, find, keys, order, memory per record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "records.h"

int main(void)
{
    recs r;
    uint32_t idx, idx2;
    char name[32];

    recs_init(&r);
    CHECK_INT(recs_find(&r, "x", 1, &idx), -1);
    CHECK_INT(recs_add(&r, "abc", "abc", &idx), 0);
    CHECK_INT(idx, 0);
    CHECK_INT(recs_add(&r, "a%2Fb", "a/b", &idx), 0);
    CHECK_INT(idx, 1);
    CHECK_INT(recs_add(&r, "abc", "abc", &idx2), 1); /* already there */
    CHECK_INT(idx2, 0);
    CHECK_STR(recs_name(&r, 0), "abc");
    CHECK_STR(recs_key(&r, 0), "abc");
    CHECK_STR(recs_name(&r, 1), "a%2Fb");
    CHECK_STR(recs_key(&r, 1), "a/b");
    CHECK(r.e[1].flags & RECS_KEY_DIFFERS);
    CHECK_INT(recs_find(&r, "a%2Fb.json", 5, &idx), 0); /* length-limited lookups */
    CHECK_INT(idx, 1);
    CHECK_INT(recs_find(&r, "ab", 2, &idx), -1);
    CHECK_INT(recs_find(&r, "abcd", 4, &idx), -1);
    recs_free(&r);

    /* Many records: lookups, order by server position, memory per record. */
    recs_init(&r);
    enum { N = 200000 };
    uint32_t *pos = malloc(N * sizeof *pos);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(name, sizeof name, "64%06x2c86f761%08x", i, i);
        if (recs_add(&r, name, name, &idx) != 0 || idx != i)
            break;
        pos[i] = N - 1 - i; /* arrived in reverse */
    }
    CHECK_INT(r.n, N);
    int found = 0;
    for (uint32_t i = 0; i < N; i += 997) {
        snprintf(name, sizeof name, "64%06x2c86f761%08x", i, i);
        found += recs_find(&r, name, strlen(name), &idx) == 0 && idx == i;
    }
    CHECK_INT(found, (N + 996) / 997);
    CHECK_INT(recs_sort_by_position(&r, pos), 0);
    CHECK_INT(r.order[0], N - 1);
    CHECK_INT(r.order[N - 1], 0);
    {
        double per = (double)recs_memory(&r) / N;
        printf("# record table: %.1f bytes per record (24-byte names), growing\n", per);
        CHECK(per < 160); /* entries + order + buckets + arena, with growth slack */
        recs_shrink(&r);
        per = (double)recs_memory(&r) / N;
        printf("# record table: %.1f bytes per record (24-byte names), shrunk\n", per);
        CHECK(per < 80);
        CHECK(sizeof(recs_entry) <= 40);
        snprintf(name, sizeof name, "64%06x2c86f761%08x", 4242, 4242);
        CHECK_INT(recs_find(&r, name, strlen(name), &idx), 0);
        CHECK_INT(idx, 4242);
        CHECK_INT(recs_add(&r, "one-more", "one-more", &idx), 0); /* grows again */
        CHECK_INT(idx, N);
    }
    free(pos);
    recs_free(&r);
    return check_done();
}
