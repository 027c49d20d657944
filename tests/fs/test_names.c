/* test_names.c: escaping and shortening of server names into file names, and back. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "names.h"

/* Encodes name with suffix, checks the file name, decodes it back to name. */
static void round_trip(const char *name, const char *suffix, const char *want)
{
    char *file = NULL, *back = NULL;
    CHECK_INT(names_encode(name, suffix, &file), 0);
    CHECK_STR(file, want);
    CHECK_INT(names_decode(file, suffix, &back), NAMES_OK);
    CHECK_STR(back, name);
    free(file);
    free(back);
}

static void invalid(const char *file, const char *suffix)
{
    char *back = (char *)1;
    CHECK_MSG(names_decode(file, suffix, &back) == NAMES_INVALID, "decode(\"%s\")", file);
    CHECK(back == NULL);
}

/* Whether s is valid UTF-8 (well enough for cut checks: lead and continuation bytes). */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : 3;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

/* No '%' of the file name starts a broken escape, except the shortening mark. */
static int escapes_whole(const char *s)
{
    for (const char *p = s; (p = strchr(p, '%')) != NULL; p++) {
        if (p[1] == '~')
            continue;
        if (!p[1] || !p[2] || !strchr("0123456789ABCDEF", p[1]) || !strchr("0123456789ABCDEF", p[2]))
            return 0;
    }
    return 1;
}

static void test_safe_names(void)
{
    round_trip("abc", ".json", "abc.json");
    round_trip("6465e7a5c1a9f0e2d4000001", ".json", "6465e7a5c1a9f0e2d4000001.json");
    round_trip("plus+sign@x", ".json", "plus+sign@x.json");
    round_trip("first+tag@clappform.test", ".json", "first+tag@clappform.test.json");
    round_trip("with  two spaces ", ".json", "with  two spaces .json");
    round_trip("unicode-\xc3\xa9-\xc3\xbc-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x99\x82", ".json",
               "unicode-\xc3\xa9-\xc3\xbc-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x99\x82.json");
    round_trip("mid.dot.", ".json", "mid.dot..json");
    round_trip("uspresidents", "", "uspresidents");
    round_trip("x.json", ".json", "x.json.json");
    round_trip("12", ".json", "12.json");
    CHECK(names_is_safe("abc", ".json"));
    CHECK(names_is_safe("a b+c@d\xc3\xa9", ""));
    CHECK(!names_is_safe("", ""));
    CHECK(!names_is_safe(".x", ""));
    CHECK(!names_is_safe("a/b", ""));
    CHECK(!names_is_safe("50%", ""));
    CHECK(!names_is_safe("a\tb", ""));
}

static void test_escaped_names(void)
{
    round_trip("a/b", ".json", "a%2Fb.json");
    round_trip(".hidden", ".json", "%2Ehidden.json");
    round_trip("..", ".json", "%2E..json");
    round_trip(".", ".json", "%2E.json");
    round_trip(".", "", "%2E");
    round_trip("..", "", "%2E.");
    round_trip("100%", ".json", "100%25.json");
    round_trip("%2F", ".json", "%252F.json");
    round_trip("tab\there", ".json", "tab%09here.json");
    round_trip("new\nline", ".json", "new%0Aline.json");
    round_trip("del\x7f", "", "del%7F");
    round_trip("\x01\x1f", "", "%01%1F");
    round_trip(".odd app 50%", "", "%2Eodd app 50%25");
    round_trip("sl/ash .x%y", "", "sl%2Fash .x%25y");
    round_trip("q%20/x", ".json", "q%2520%2Fx.json");
    round_trip("a..b", "", "a..b");
    round_trip("%~", "", "%25~");
}

static void test_invalid_file_names(void)
{
    invalid("%41.json", ".json");       /* "A" is written as itself */
    invalid("a%2f.json", ".json");      /* lower-case hex is not what we write */
    invalid("%.json", ".json");
    invalid("%2.json", ".json");
    invalid("%zz.json", ".json");
    invalid("%00.json", ".json");       /* no NUL in server names */
    invalid("abc", ".json");            /* no suffix */
    invalid(".json", ".json");          /* nothing before the suffix */
    invalid("%2E", ".json");
    invalid("a%~b.json", ".json");      /* a mark that is not a shortening */
    invalid("a%~0123456789ABCDEF.json", ".json"); /* upper-case hash */
    invalid("%7E", "");                 /* '~' is written plainly */
    char *out = (char *)1;
    CHECK_INT(names_encode("", ".json", &out), -1);
    CHECK(out == NULL);
}

static void test_long_names(void)
{
    char name[600], *file = NULL, *file2 = NULL, *again = NULL, *back = (char *)1;

    /* 250 + ".json" = 255: kept whole. 251: shortened. */
    memset(name, 'a', 250);
    name[250] = '\0';
    CHECK_INT(names_encode(name, ".json", &file), 0);
    CHECK_INT(strlen(file), 255);
    CHECK(strstr(file, NAMES_SHORT_MARK) == NULL);
    free(file);
    strcat(name, "b");
    CHECK_INT(names_encode(name, ".json", &file), 0);
    CHECK(strlen(file) <= NAMES_MAX);
    CHECK(strstr(file, NAMES_SHORT_MARK) != NULL);
    CHECK(strcmp(file + strlen(file) - 5, ".json") == 0);
    CHECK_INT(names_decode(file, ".json", &back), NAMES_SHORTENED);
    CHECK(back == NULL);
    /* Deterministic. */
    CHECK_INT(names_encode(name, ".json", &again), 0);
    CHECK_STR(again, file);
    free(again);
    /* Same long prefix, different ends: different names. */
    name[250] = 'c';
    CHECK_INT(names_encode(name, ".json", &file2), 0);
    CHECK(strcmp(file, file2) != 0);
    CHECK(strncmp(file, file2, 200) == 0);
    free(file);
    free(file2);

    /* Escaping pushes it over: cuts never split a %XX triple. */
    for (int i = 0; i < 200; i++)
        name[i] = i % 3 == 0 ? '/' : 'x';
    name[200] = '\0';
    CHECK_INT(names_encode(name, ".json", &file), 0);
    CHECK(strlen(file) <= NAMES_MAX);
    CHECK(escapes_whole(file));
    CHECK_INT(names_decode(file, ".json", &back), NAMES_SHORTENED);
    free(file);

    /* Multi-byte characters are not cut in the middle. */
    name[0] = '\0';
    for (int i = 0; i < 100; i++)
        strcat(name, "\xc3\xa9"); /* é: 200 bytes */
    strcat(name, "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
                 "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
                 "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5");
    for (size_t suffix_len = 0; suffix_len <= 5; suffix_len += 5) {
        const char *suffix = suffix_len ? ".json" : "";
        CHECK_INT(names_encode(name, suffix, &file), 0);
        CHECK(strlen(file) <= NAMES_MAX);
        CHECK(strlen(file) >= NAMES_MAX - 4); /* used nearly all the room */
        CHECK(utf8_ok(file));
        free(file);
    }

    /* Exactly at the limit without a suffix. */
    memset(name, 'z', 255);
    name[255] = '\0';
    round_trip(name, "", name);
    name[0] = '.';
    CHECK_INT(names_encode(name, "", &file), 0); /* "%2E" makes it 257: shortened */
    CHECK(strlen(file) <= NAMES_MAX);
    CHECK(strncmp(file, "%2Ezzz", 6) == 0);
    free(file);
}

static void test_hash(void)
{
    CHECK(names_hash64("a", 1) != names_hash64("b", 1));
    CHECK(names_hash64("", 0) == 0xcbf29ce484222325ULL);
}

int main(void)
{
    test_safe_names();
    test_escaped_names();
    test_invalid_file_names();
    test_long_names();
    test_hash();
    return check_done();
}
