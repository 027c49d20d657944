/* test_ndjson.c: the paths of the streamed trees (dataframes/, query-results/). */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ndjson_int.h"

static void parse(const char *path, int rc, nd_kind kind, const char *app, const char *file)
{
    nd_path p;
    int got = nd_parse(path, &p);
    CHECK_MSG(got == rc, "nd_parse(\"%s\") = %d, want %d", path, got, rc);
    if (rc != 0)
        return;
    CHECK_MSG(p.kind == kind, "nd_parse(\"%s\") kind %d, want %d", path, (int)p.kind, (int)kind);
    CHECK_MSG((app == NULL) == (p.app == NULL) && (!app || strcmp(app, p.app) == 0),
              "nd_parse(\"%s\") app %s", path, p.app ? p.app : "(null)");
    CHECK_MSG((file == NULL) == (p.file == NULL) && (!file || strcmp(file, p.file) == 0),
              "nd_parse(\"%s\") file %s", path, p.file ? p.file : "(null)");
}

int main(void)
{
    /* Other paths are not these trees'. */
    parse("/", 0, ND_NONE, NULL, NULL);
    parse("/apps/x/y", 0, ND_NONE, NULL, NULL);
    parse("/dataframesx", 0, ND_NONE, NULL, NULL);
    parse("/dataframesx/a/b/c/d", 0, ND_NONE, NULL, NULL);
    parse("/query-resultsx/a.ndjson", 0, ND_NONE, NULL, NULL);
    parse(NULL, 0, ND_NONE, NULL, NULL);

    parse("/dataframes", 0, ND_DF_ROOT, NULL, NULL);
    parse("/dataframes/", 0, ND_DF_ROOT, NULL, NULL);
    parse("/dataframes/us app", 0, ND_DF_APP, "us app", NULL);
    parse("/dataframes/us/presidents.ndjson", 0, ND_DF_FILE, "us", "presidents.ndjson");
    parse("/dataframes/%2Eodd/sl%2Fash.ndjson", 0, ND_DF_FILE, "%2Eodd", "sl%2Fash.ndjson");
    parse("/query-results", 0, ND_QR_ROOT, NULL, NULL);
    parse("/query-results/all.ndjson", 0, ND_QR_FILE, NULL, "all.ndjson");

    /* Names no node has. */
    parse("/dataframes/.hidden", -ENOENT, ND_NONE, NULL, NULL);
    parse("/dataframes/us/presidents.json", -ENOENT, ND_NONE, NULL, NULL);
    parse("/dataframes/us/.ndjson", -ENOENT, ND_NONE, NULL, NULL);
    parse("/dataframes/us/presidents", -ENOENT, ND_NONE, NULL, NULL);
    parse("/dataframes/us/a/b", -ENOENT, ND_NONE, NULL, NULL);
    parse("/query-results/all.json", -ENOENT, ND_NONE, NULL, NULL);
    parse("/query-results/sub/x.ndjson", -ENOENT, ND_NONE, NULL, NULL);
    /* Below a file. */
    parse("/dataframes/us/presidents.ndjson/x", -ENOTDIR, ND_NONE, NULL, NULL);
    parse("/query-results/all.ndjson/x", -ENOTDIR, ND_NONE, NULL, NULL);

    CHECK(nd_is_dir(ND_DF_ROOT) && nd_is_dir(ND_DF_APP) && nd_is_dir(ND_QR_ROOT));
    CHECK(!nd_is_dir(ND_DF_FILE) && !nd_is_dir(ND_QR_FILE));
    return check_done();
}
