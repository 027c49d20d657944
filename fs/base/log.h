/* log.h: the one logging module of clappfs: levels, caller's file:line, a replaceable sink. */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "clappform.h"

/* Levels match the client's (cf_log_level) so its messages pass through unchanged. */
typedef enum log_level {
    LOG_LVL_ERROR = CF_LOG_ERROR,
    LOG_LVL_WARNING = CF_LOG_WARNING,
    LOG_LVL_INFO = CF_LOG_INFO,
    LOG_LVL_DEBUG = CF_LOG_DEBUG,
} log_level;

/* A sink receives one finished line (no trailing newline) and where it was logged. Called
 * from any thread, one call at a time (the module serialises them). */
typedef void (*log_sink_fn)(void *ud, log_level level, const char *file, int line,
                            const char *msg);

/* Messages above `max` are dropped before they are formatted. Default: LOG_LVL_INFO. */
void log_set_level(log_level max);
log_level log_get_level(void);

/* Sinks. The default is stderr ("clappfs: warning: ... (file.c:12)" style). syslog opens
 * the system log with ident "clappfs" (for a daemon); a function sink is for tests. */
void log_use_stderr(void);
void log_use_syslog(void);
void log_use_function(log_sink_fn fn, void *ud);

/* The entry point of the macros below; printf-style. Keeps errno unchanged. */
void log_write(log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_error(...) log_write(LOG_LVL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LVL_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_write(LOG_LVL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LVL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* Adapters for the client: pass as cf_config.log / cf_config.trace (ud unused). The trace
 * hook logs every HTTP exchange at debug level: method, path (secrets redacted), status,
 * duration, bytes. */
void log_client_cb(void *ud, int level, const char *file, int line, const char *msg);
void log_trace_cb(void *ud, const cf_trace *t);

/* Copies path into out (size outsz, always NUL-terminated) with the values of query
 * parameters that could hold secrets (token, password, secret, key, ...) replaced by
 * "REDACTED". */
void log_redact_path(const char *path, char *out, size_t outsz);

#endif /* FS_LOG_H */
