/* test_tasks.c: which paths the release-task files (tasks.h) claim, and the held buffer. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "layout.h"
#include "tasks.h"
#include "tasks_int.h"

static void parse(const char *path, int rc, tk_kind kind, const char *name)
{
    tk_path p;
    int got = tk_parse(path, &p);
    CHECK_MSG(got == rc, "tk_parse(\"%s\") = %d, want %d", path, got, rc);
    if (rc == 0) {
        CHECK_MSG(p.kind == kind, "tk_parse(\"%s\") kind %d, want %d", path, (int)p.kind, (int)kind);
        if (name)
            CHECK_STR(p.name, name);
    }
}

int main(void)
{
    char long_name[NAME_MAX + 40];
    tk_file f;

    /* Ours. */
    parse("/exports", 0, TK_EXPORTS, NULL);
    parse("/exports/uspresidents.json", 0, TK_EXPORT, "uspresidents");
    parse("/exports/a%2Fb.json", 0, TK_EXPORT, "a%2Fb");
    parse("/actionflows/1.start", 0, TK_START, "1");
    parse("/actionflows/12.last-run.json", 0, TK_LAST_RUN, "12");
    /* Not ours: the inner table answers. */
    parse("/actionflows/1.json", 0, TK_NONE, NULL);
    parse("/actionflows", 0, TK_NONE, NULL);
    parse("/actionflows/.start", 0, TK_NONE, NULL);
    parse("/actionflows/.x.start", 0, TK_NONE, NULL);
    parse("/exportsx", 0, TK_NONE, NULL);
    parse("/apps/exports", 0, TK_NONE, NULL);
    parse("/queries/1.start", 0, TK_NONE, NULL);
    parse(NULL, 0, TK_NONE, NULL);
    /* Under /exports but no node. */
    parse("/exports/a", -ENOENT, TK_NONE, NULL);
    parse("/exports/.json", -ENOENT, TK_NONE, NULL);
    parse("/exports/.hidden.json", -ENOENT, TK_NONE, NULL);
    parse("/exports/a/b.json", -ENOENT, TK_NONE, NULL);
    memset(long_name, 'a', sizeof long_name);
    memcpy(long_name, "/exports/", 9);
    long_name[sizeof long_name - 1] = '\0';
    parse(long_name, -ENAMETOOLONG, TK_NONE, NULL);
    /* exports is a root entry, after the streamed trees. */
    bool listed = false;
    for (size_t i = 0; layout_root_names[i]; i++)
        listed |= strcmp(layout_root_names[i], TK_EXPORTS_NAME) == 0;
    CHECK(listed);

    /* The held buffer: writes at offsets, gaps zero-filled, bounded. */
    memset(&f, 0, sizeof f);
    CHECK_INT(tk_buf_write(&f, "{}", 2, 0), 2);
    CHECK(f.dirty && f.doc.len == 2);
    CHECK_INT(tk_buf_write(&f, "x", 1, 5), 1);
    CHECK_INT(f.doc.len, 6);
    CHECK(memcmp(f.doc.data, "{}\0\0\0x", 6) == 0);
    CHECK_INT(tk_buf_write(&f, "y", 1, (off_t)TASKS_MAX_DOC), -EFBIG);
    CHECK_INT(tk_buf_write(&f, "y", 1, -1), -EINVAL);
    CHECK_INT(f.doc.len, 6);
    wbuf_free(&f.doc);
    return check_done();
}
