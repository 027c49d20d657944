/* test_layout.c: parsing of mount paths into node kinds and names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "layout.h"

static void parse_ok(const char *path, layout_kind kind)
{
    layout_path p;
    CHECK_MSG(layout_parse(path, &p) == 0 && p.kind == kind, "parse(\"%s\")", path);
}

static void parse_err(const char *path, int err)
{
    layout_path p;
    int rc = layout_parse(path, &p);
    CHECK_MSG(rc == err, "parse(\"%s\") = %d, want %d", path, rc, err);
}

int main(void)
{
    layout_path p;

    parse_ok("/", LAYOUT_ROOT);
    parse_ok("/apps", LAYOUT_APPS);
    parse_ok("/apps/", LAYOUT_APPS);
    parse_ok("/version.json", LAYOUT_VERSION);
    parse_ok("/queries", LAYOUT_LIST);
    parse_ok("/users", LAYOUT_LIST);
    parse_ok("/actionflows", LAYOUT_LIST);
    parse_ok("/questionnaires", LAYOUT_LIST);

    CHECK_INT(layout_parse("/apps/uspresidents", &p), 0);
    CHECK_INT(p.kind, LAYOUT_APP);
    CHECK_STR(p.app, "uspresidents");
    CHECK(p.coll == NULL && p.name == NULL);

    CHECK_INT(layout_parse("/apps/us/.app.json", &p), 0);
    CHECK_INT(p.kind, LAYOUT_APP_META);
    CHECK_STR(p.app, "us");

    CHECK_INT(layout_parse("/apps/us/presidents", &p), 0);
    CHECK_INT(p.kind, LAYOUT_COLLECTION);
    CHECK_STR(p.app, "us");
    CHECK_STR(p.coll, "presidents");

    CHECK_INT(layout_parse("/apps/us/presidents/.collection.json", &p), 0);
    CHECK_INT(p.kind, LAYOUT_COLLECTION_META);
    CHECK_STR(p.coll, "presidents");

    CHECK_INT(layout_parse("/apps/us/presidents/6465e7a5c1a9f0e2d4000001.json", &p), 0);
    CHECK_INT(p.kind, LAYOUT_RECORD);
    CHECK_STR(p.app, "us");
    CHECK_STR(p.coll, "presidents");
    CHECK_STR(p.name, "6465e7a5c1a9f0e2d4000001.json");

    CHECK_INT(layout_parse("/apps/%2Eodd app 50%25/sl%2Fash .x%25y/a%2Fb.json", &p), 0);
    CHECK_INT(p.kind, LAYOUT_RECORD);
    CHECK_STR(p.app, "%2Eodd app 50%25");
    CHECK_STR(p.coll, "sl%2Fash .x%25y");

    CHECK_INT(layout_parse("/queries/q.json", &p), 0);
    CHECK_INT(p.kind, LAYOUT_ITEM);
    CHECK_INT(p.list, CF_QUERY);
    CHECK_STR(p.name, "q.json");
    CHECK_INT(layout_parse("/users/first+tag@x.test.json", &p), 0);
    CHECK_INT(p.list, CF_USER);
    CHECK_INT(layout_parse("/actionflows/12.json", &p), 0);
    CHECK_INT(p.list, CF_ACTIONFLOW);
    CHECK_INT(layout_parse("/questionnaires/3.json", &p), 0);
    CHECK_INT(p.list, CF_QUESTIONNAIRE);

    /* What cannot exist. */
    parse_err("/nothing", -ENOENT);
    parse_err("/apps/.hidden", -ENOENT);
    parse_err("/apps/us/.swp", -ENOENT);
    parse_err("/apps/us/c/record", -ENOENT);        /* no .json */
    parse_err("/apps/us/c/.x.json.swp", -ENOENT);
    parse_err("/apps/us/c/r.json/deeper", -ENOENT);
    parse_err("/apps/us/.app.json/x", -ENOTDIR);
    parse_err("/version.json/x", -ENOTDIR);
    parse_err("/queries/q", -ENOENT);
    parse_err("/queries/.json", -ENOENT);
    parse_err("/queries/a/b.json", -ENOENT);
    parse_err("relative", -ENOENT);
    parse_err("/apps/./x", -ENOENT);
    parse_err("/apps/../x", -ENOENT);
    {
        /* A name longer than NAME_MAX (FUSE passes up to 1024 bytes): ENAMETOOLONG. */
        char path[2 * NAME_MAX];
        snprintf(path, sizeof path, "/apps/%0*d", NAME_MAX, 0);
        parse_ok(path, LAYOUT_APP);
        snprintf(path, sizeof path, "/apps/%0*d", NAME_MAX + 1, 0);
        parse_err(path, -ENAMETOOLONG);
        snprintf(path, sizeof path, "/apps/a/%0*d.json", NAME_MAX - 4, 0);
        parse_err(path, -ENAMETOOLONG);
    }

    /* Kinds. */
    CHECK(layout_is_dir(LAYOUT_ROOT) && layout_is_dir(LAYOUT_COLLECTION));
    CHECK(!layout_is_dir(LAYOUT_RECORD) && !layout_is_dir(LAYOUT_VERSION));
    CHECK_STR(layout_resource_of(CF_USER)->key_field, "email");
    CHECK(layout_resource_of(CF_USER)->active_only);
    CHECK_STR(layout_resource_of(CF_QUERY)->dir, "queries");
    CHECK_STR(layout_resource_of(CF_APP)->suffix, "");
    CHECK_STR(layout_root_names[0], "apps");
    return check_done();
}
