/* test_lru.c: content items, reference counts, LRU order and byte budget. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "content_lru.h"

static int evicted[64], nevicted;

static void on_evict(void *ud, lru_item *item)
{
    (void)ud;
    evicted[nevicted++] = (int)item->index;
}

int main(void)
{
    lru l;
    lru_item *it[8];
    size_t cost;

    it[0] = lru_item_new("hello", 5);
    CHECK(it[0] != NULL);
    CHECK_INT(it[0]->len, 5);
    CHECK_STR(it[0]->data, "hello");
    cost = lru_item_cost(it[0]);
    CHECK(cost > 5);
    lru_item_unref(it[0]);
    lru_item_unref(NULL);

    /* Room for exactly three items of 100 bytes. */
    for (int i = 0; i < 8; i++) {
        char buf[100];
        memset(buf, 'a' + i, sizeof buf);
        it[i] = lru_item_new(buf, sizeof buf);
    }
    cost = lru_item_cost(it[0]);
    lru_init(&l, 3 * cost, on_evict, NULL);
    for (int i = 0; i < 3; i++)
        CHECK(lru_insert(&l, it[i], NULL, (uint32_t)i));
    CHECK_INT(l.count, 3);
    CHECK_INT(l.used, 3 * cost);
    CHECK_INT(nevicted, 0);
    CHECK_INT(it[0]->refs, 2); /* the test's and the LRU's */

    /* Using 0 makes 1 the oldest: inserting 3 evicts 1. */
    lru_touch(&l, it[0]);
    CHECK(lru_insert(&l, it[3], NULL, 3));
    CHECK_INT(nevicted, 1);
    CHECK_INT(evicted[0], 1);
    CHECK(it[1]->next == NULL); /* not resident */
    CHECK_INT(it[1]->refs, 1);
    CHECK_INT(l.used, 3 * cost);

    /* Removal by the owner does not call evict. */
    lru_remove(&l, it[2]);
    CHECK_INT(nevicted, 1);
    CHECK_INT(l.count, 2);
    CHECK(it[2]->next == NULL); /* not resident */
    lru_remove(&l, it[2]); /* not resident: no-op */

    /* Order now (recent first): 3, 0. Two more evict 0 then 3? Only one must go. */
    CHECK(lru_insert(&l, it[4], NULL, 4));
    CHECK(lru_insert(&l, it[5], NULL, 5));
    CHECK_INT(nevicted, 2);
    CHECK_INT(evicted[1], 0);

    /* An item larger than the budget is evicted at once, leaving the rest alone. */
    {
        char *big = malloc(4 * cost);
        lru_item *huge;
        memset(big, 'z', 4 * cost);
        huge = lru_item_new(big, 4 * cost);
        free(big);
        CHECK(!lru_insert(&l, huge, NULL, 9));
        /* Everything older went first (oldest first), then the huge one itself. */
        CHECK_INT(evicted[nevicted - 1], 9);
        CHECK_INT(l.count, 0);
        CHECK_INT(huge->refs, 1);
        lru_item_unref(huge);
    }

    /* Budget changes evict. */
    nevicted = 0;
    lru_set_budget(&l, 2 * cost);
    CHECK(lru_insert(&l, it[6], NULL, 6));
    CHECK(lru_insert(&l, it[7], NULL, 7));
    lru_set_budget(&l, cost);
    CHECK_INT(nevicted, 1);
    CHECK_INT(evicted[0], 6);
    lru_clear(&l);
    CHECK_INT(l.count, 0);
    CHECK_INT(l.used, 0);
    CHECK_INT(evicted[1], 7);
    for (int i = 0; i < 8; i++) {
        CHECK_INT(it[i]->refs, 1);
        lru_item_unref(it[i]);
    }
    return check_done();
}
