/* test_inodes.c: the inode table: numbers stable per name, references, renames, holds. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "inodes.h"

/* A path buffer as a pointer, for CHECK_STR. */
static const char *str(const char *b)
{
    return b;
}

static void test_paths_and_numbers(void)
{
    ino_table *t = NULL;
    char buf[256];

    CHECK_INT(ino_new(&t), 0);
    CHECK_INT(ino_path(t, INO_ROOT, buf, sizeof buf), 0);
    CHECK_STR(str(buf), "/");
    uint64_t apps = ino_remember(t, INO_ROOT, "apps", 1);
    uint64_t app = ino_remember(t, apps, "shop", 1);
    uint64_t coll = ino_remember(t, app, "orders", 1);
    uint64_t rec = ino_remember(t, coll, "a1.json", 1);
    CHECK(apps > INO_ROOT && app > INO_ROOT && coll > INO_ROOT && rec > INO_ROOT);
    CHECK(apps != app && app != coll && coll != rec);
    CHECK_INT(ino_path(t, rec, buf, sizeof buf), 0);
    CHECK_STR(str(buf), "/apps/shop/orders/a1.json");
    CHECK_INT(ino_child_path(t, coll, "b2.json", buf, sizeof buf), 0);
    CHECK_STR(str(buf), "/apps/shop/orders/b2.json");
    CHECK_INT(ino_path(t, rec, buf, 10), -ENAMETOOLONG);
    /* The same name, the same node; readdir's number is the lookup's; numbers grow in the
     * order names are first seen (a listing's order). */
    CHECK_INT(ino_remember(t, coll, "a1.json", 1), rec);
    CHECK_INT(ino_number(t, coll, "a1.json"), rec);
    uint64_t b2 = ino_number(t, coll, "b2.json");
    CHECK(b2 > rec);
    CHECK_INT(ino_remember(t, coll, "b2.json", 1), b2);
    CHECK(ino_number(t, coll, "c3.json") > b2);
    CHECK_INT(ino_count(t), 7);

    /* Forgotten by the kernel: the name keeps its node and number for the mount's life. */
    ino_forget(t, rec, 2);
    ino_forget(t, coll, 1);
    CHECK_INT(ino_find(t, coll, "a1.json"), rec);
    CHECK_INT(ino_path(t, rec, buf, sizeof buf), 0);
    CHECK_STR(str(buf), "/apps/shop/orders/a1.json");
    CHECK_INT(ino_remember(t, coll, "a1.json", 1), rec);
    CHECK_INT(ino_remember(t, app, "orders", 1), coll);
    CHECK_INT(ino_count(t), 7);

    /* The collection goes (rmdir): the names below it the kernel does not hold go too;
     * one it holds stays by number, without a path, until forgotten. */
    ino_forget(t, b2, 1);
    ino_detach(t, app, "orders");
    CHECK_INT(ino_count(t), 5); /* root, apps, shop, orders (held by a1), a1 */
    CHECK_INT(ino_path(t, rec, buf, sizeof buf), -ESTALE);
    CHECK_INT(ino_path(t, b2, buf, sizeof buf), -ESTALE);
    ino_forget(t, rec, 1);
    CHECK_INT(ino_count(t), 4);
    ino_forget(t, coll, 1);
    CHECK_INT(ino_count(t), 3);
    CHECK(ino_remember(t, app, "orders", 1) > b2); /* a new collection: a new number */
    ino_free(t);
    ino_free(NULL);
}

static void test_renames_and_unlinks(void)
{
    ino_table *t = NULL;
    char buf[256];
    uint64_t held[2];
    bool on;

    CHECK_INT(ino_new(&t), 0);
    uint64_t d = ino_remember(t, INO_ROOT, "d", 1);
    uint64_t e = ino_remember(t, INO_ROOT, "e", 1);
    uint64_t a = ino_remember(t, d, "a.json", 1);
    uint64_t b = ino_remember(t, d, "b.json", 1);

    /* A rename to a longer name in another directory keeps the number. */
    ino_rename_begin(t, d, "a.json", e, "a-much-longer-name.json", held);
    CHECK_INT(held[0], a);
    CHECK_INT(held[1], 0);
    CHECK_INT(ino_move(t, d, "a.json", e, "a-much-longer-name.json"), 0);
    ino_rename_end(t, held);
    CHECK_INT(ino_find(t, e, "a-much-longer-name.json"), a);
    CHECK_INT(ino_find(t, d, "a.json"), 0);
    CHECK_INT(ino_path(t, a, buf, sizeof buf), 0);
    CHECK_STR(str(buf), "/e/a-much-longer-name.json");

    /* A rename over b: b keeps its number, without a name; an open handle answers it. */
    ino_opened(t, b, 42);
    ino_rename_begin(t, e, "a-much-longer-name.json", d, "b.json", held);
    CHECK_INT(held[0], a);
    CHECK_INT(held[1], b);
    CHECK_INT(ino_move(t, e, "a-much-longer-name.json", d, "b.json"), 0);
    ino_rename_end(t, held);
    CHECK_INT(ino_find(t, d, "b.json"), a);
    CHECK_INT(ino_path(t, b, buf, sizeof buf), -ESTALE);
    CHECK_INT(ino_hold(t, b, buf, sizeof buf, &on), -ESTALE);
    CHECK(on);
    ino_unhold(t, b);
    uint64_t fh = 0;
    CHECK(ino_open_handle(t, b, &fh) && fh == 42);
    ino_closed(t, b, 42);
    CHECK(!ino_open_handle(t, b, &fh));
    ino_forget(t, b, 1);
    CHECK_INT(ino_hold(t, b, buf, sizeof buf, &on), -ESTALE);
    CHECK(!on);

    /* Unlink: the name leads nowhere, a new file of that name is a new node. */
    ino_detach(t, d, "b.json");
    CHECK_INT(ino_find(t, d, "b.json"), 0);
    CHECK_INT(ino_path(t, a, buf, sizeof buf), -ESTALE);
    uint64_t again = ino_remember(t, d, "b.json", 1);
    CHECK(again != a && again > INO_ROOT);
    ino_forget(t, a, 1);
    CHECK_INT(ino_count(t), 4); /* root, d, e, the new b.json */
    ino_free(t);
}

/* A holder of a node makes a rename of it wait; the rename makes later holders wait. */
static ino_table *race_t;
static uint64_t race_dir;
static volatile int renamed;

static void *renamer(void *arg)
{
    uint64_t held[2];
    (void)arg;
    ino_rename_begin(race_t, race_dir, "x.json", race_dir, "y.json", held);
    renamed = 1;
    ino_move(race_t, race_dir, "x.json", race_dir, "y.json");
    ino_rename_end(race_t, held);
    return NULL;
}

static void test_holds_order_renames(void)
{
    char buf[256];
    bool on;
    pthread_t th;

    CHECK_INT(ino_new(&race_t), 0);
    race_dir = ino_remember(race_t, INO_ROOT, "c", 1);
    uint64_t x = ino_remember(race_t, race_dir, "x.json", 1);
    CHECK_INT(ino_hold(race_t, x, buf, sizeof buf, &on), 0);
    CHECK_STR(str(buf), "/c/x.json");
    pthread_create(&th, NULL, renamer, NULL);
    usleep(100 * 1000);
    CHECK_INT(renamed, 0); /* waits for the holder */
    ino_unhold(race_t, x);
    pthread_join(th, NULL);
    CHECK_INT(renamed, 1);
    CHECK_INT(ino_hold(race_t, x, buf, sizeof buf, &on), 0);
    CHECK_STR(str(buf), "/c/y.json");
    ino_unhold(race_t, x);
    ino_free(race_t);
}

/* Many nodes: the tables grow, every path and number stays right. */
static void test_many(void)
{
    ino_table *t = NULL;
    char name[32], buf[64], want[64];
    int bad = 0;

    CHECK_INT(ino_new(&t), 0);
    uint64_t dir = ino_remember(t, INO_ROOT, "c", 1);
    static uint64_t nums[50000];
    for (int i = 0; i < 50000; i++) {
        snprintf(name, sizeof name, "r%05d.json", i);
        nums[i] = ino_remember(t, dir, name, 1);
    }
    for (int i = 0; i < 50000; i++) {
        snprintf(want, sizeof want, "/c/r%05d.json", i);
        if (ino_path(t, nums[i], buf, sizeof buf) != 0 || strcmp(buf, want) != 0)
            bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(ino_count(t), 50002);
    for (int i = 1; i < 50000; i++)
        bad += nums[i] != nums[i - 1] + 1;
    CHECK_INT(bad, 0); /* in the order seen */
    for (int i = 0; i < 50000; i++)
        ino_forget(t, nums[i], 1);
    ino_forget(t, dir, 1);
    ino_detach(t, INO_ROOT, "c");
    CHECK_INT(ino_count(t), 1);
    ino_free(t);
}

int main(void)
{
    test_paths_and_numbers();
    test_renames_and_unlinks();
    test_holds_order_renames();
    test_many();
    return check_done();
}
