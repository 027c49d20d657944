/* upload_batch.c: new records of one collection created with one request (the dataframe
 * append), for the async uploads' backlog (uploader_batch.c). */
#include "upload_batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "errlog.h"
#include "errmap.h"
#include "log.h"
#include "render.h"
#include "stats.h"
#include "textbuf.h"
#include "wbuf.h"

int up_create_batch(fs_ctx *x, const wpath *const *ws, char *const *datas, const size_t *lens,
                    size_t n, char *msg, size_t msgsz)
{
    char *app = NULL, *slug = NULL, *text = NULL;
    char **keys = calloc(n, sizeof *keys), **bodies = calloc(n, sizeof *bodies);
    size_t *blens = calloc(n, sizeof *blens);
    textbuf b = {0};
    cf_json *records = NULL;
    cf_json_problem pb;
    size_t tlen = 0;
    cf_error err;
    int rc = keys && bodies && blens ? 0 : -ENOMEM;

    msg[0] = '\0';
    cf_error_clear(&err);
    tb_puts(&b, "[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *a = NULL, *s = NULL, *quoted = NULL;
        rc = cache_record_key(x->cache, &ws[i]->self, &a, &s, &keys[i], &err);
        if (rc == 0 && i == 0) {
            app = a;
            slug = s;
            a = s = NULL;
        } else if (rc == 0 && (strcmp(a, app) != 0 || strcmp(s, slug) != 0)) {
            rc = -EINVAL; /* not one collection: one by one */
        }
        quoted = rc == 0 ? wbuf_quote(keys[i]) : NULL;
        if (rc == 0 && (!quoted || wbuf_body(datas[i], lens[i], "_id", quoted, NULL, NULL,
                                             &bodies[i], &blens[i])))
            rc = -ENOMEM;
        if (rc == 0) {
            if (i)
                tb_puts(&b, ",");
            tb_append(&b, bodies[i], blens[i]);
        }
        free(a);
        free(s);
        free(quoted);
    }
    tb_puts(&b, "]");
    text = tb_take(&b, &tlen);
    if (rc == 0 && !text)
        rc = -ENOMEM;
    if (rc == 0) {
        records = cf_json_parse(text, tlen, 0, &pb);
        if (!records)
            rc = -EINVAL; /* too deep as an array, say: one by one */
    }
    if (rc == 0 && cf_df_append(x->client, app, slug, records, &err) != 0) {
        char path[PATH_MAX];
        rc = -fs_errno(&err);
        if (!rc)
            rc = -EIO;
        fs_error_text(&err, msg, msgsz);
        snprintf(path, sizeof path, "%s", ws[0]->path);
        *strrchr(path, '/') = '\0';
        log_warning("%s: %zu new records in one request: %s %s: %s", path + 1, n, err.method,
                    err.path, msg);
        errlog_add("save", path, -rc, &err);
    } else if (rc && err.kind != CF_OK) {
        fs_error_text(&err, msg, msgsz);
    } else if (rc) {
        snprintf(msg, msgsz, "%s", strerror(-rc));
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* The server stores what was sent: the file shows it (a listing later shows the
         * server's own text). */
        char *rendered = NULL;
        size_t rlen = 0;
        if (render_record(bodies[i], blens[i], keys[i], &rendered, &rlen) == 0)
            cache_put_record(x->cache, app, slug, ws[i]->name, keys[i], rendered, rlen, NULL);
        free(rendered);
        stats_upload(lens[i], true);
    }
    for (size_t i = 0; i < n; i++) {
        if (keys)
            free(keys[i]);
        if (bodies)
            free(bodies[i]);
    }
    free(keys);
    free(bodies);
    free(blens);
    cf_json_free(records);
    free(text);
    free(app);
    free(slug);
    return rc;
}
