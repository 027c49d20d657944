/* upload_batch.h: many new records of one collection in one request (-o async_uploads). */
#ifndef FS_UPLOAD_BATCH_H
#define FS_UPLOAD_BATCH_H

#include <stddef.h>

#include "ctx.h"
#include "wname.h"

/* Creates the records ws[0..n) (of one collection; datas checked already) with one
 * dataframe append, each with its _id from its name. All or nothing: 0 (then the cache
 * holds each record as sent, rendered as the server's answers are), or a negative
 * errno with the failure in msg: any failure but a passing one (a 409: one exists
 * already; a 4xx; not one collection) means the caller sends them one by one. */
int up_create_batch(fs_ctx *x, const wpath *const *ws, char *const *datas, const size_t *lens,
                    size_t n, char *msg, size_t msgsz);

#endif /* FS_UPLOAD_BATCH_H */
