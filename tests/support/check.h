/* check.h: the minimal assertion harness of the C test programs (TAP output). */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each test program counts its checks and prints TAP; a failed CHECK records the
 * failure and goes on, so one run shows every broken case. The exit status is
 * 0 when all passed, 1 otherwise, 77 when a test called CHECK_SKIP. */
static int check_total, check_failed;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        ++check_total;                                                                    \
        if (cond) {                                                                       \
            printf("ok %d - %s\n", check_total, #cond);                                   \
        } else {                                                                          \
            ++check_failed;                                                               \
            printf("not ok %d - %s (%s:%d)\n", check_total, #cond, __FILE__, __LINE__);   \
        }                                                                                 \
    } while (0)

#define CHECK_MSG(cond, ...)                                                              \
    do {                                                                                  \
        ++check_total;                                                                    \
        if (cond) {                                                                       \
            printf("ok %d - %s\n", check_total, #cond);                                   \
        } else {                                                                          \
            ++check_failed;                                                               \
            printf("not ok %d - %s (%s:%d): ", check_total, #cond, __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                                                          \
            printf("\n");                                                                 \
        }                                                                                 \
    } while (0)

#define CHECK_STR(got, want)                                                              \
    CHECK_MSG((got) != NULL && strcmp((got), (want)) == 0, "got \"%s\", want \"%s\"",     \
              (got) ? (got) : "(null)", (want))

#define CHECK_INT(got, want)                                                              \
    CHECK_MSG((long long)(got) == (long long)(want), "got %lld, want %lld",               \
              (long long)(got), (long long)(want))

#define CHECK_SKIP(why)                                                                   \
    do {                                                                                  \
        printf("1..0 # SKIP %s\n", why);                                                  \
        exit(77);                                                                         \
    } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_total);
    if (check_failed)
        fprintf(stderr, "%d of %d checks failed\n", check_failed, check_total);
    return check_failed ? 1 : 0;
}

#endif /* CHECK_H */
