/* emulator.h: starts and drives the Clappform emulator for the client's integration tests. */
#ifndef TESTS_CLIENT_EMULATOR_H
#define TESTS_CLIENT_EMULATOR_H

#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "clappform.h"

/* The user every started emulator knows. */
#define EMU_USER "tester+ci@example.com"
#define EMU_PASSWORD "pa\"ss\\word 'x'"

typedef struct emu {
    pid_t pid;
    char url[128]; /* http://127.0.0.1:PORT */
} emu;

/* Starts scripts/emulator --port 0 --user EMU_USER:EMU_PASSWORD plus args (NULL-terminated)
 * and waits (up to 20 s) for its "listening on" line. Exits the test with 77 (skip) when
 * python or the emulator is missing, and fails the test (exit 1) when it does not start. */
void emu_start(emu *e, const char *const *args);
/* Stops it (SIGTERM, then SIGKILL); accepts a stopped one. */
void emu_stop(emu *e);

/* Control routes. emu_http returns the HTTP status (0 when no answer) and, when body_out
 * is non-NULL, the malloc'ed body. */
long emu_http(const emu *e, const char *method, const char *path, const char *body,
              char **body_out);
/* POST /_emulator/reset (counters) and /_emulator/faults (json: the settings). */
void emu_reset(const emu *e);
void emu_faults(const emu *e, const char *json);
void emu_expire_tokens(const emu *e);
/* GET /_emulator/stats, parsed; free with json_object_put. */
json_object *emu_stats(const emu *e);
/* A counter of a stats snapshot: "total", "max_concurrency", or routes["KEY"] with
 * key "METHOD /api/template" (0 when absent). */
long emu_stat(json_object *stats, const char *key);
/* Number of records stored in app/slug (GET /_emulator/records/app/slug), -1 on error. */
long emu_record_count(const emu *e, const char *app, const char *slug);

/* A client config for the emulator with fast test timings (timeout 1000 ms, backoff 10 ms). */
void emu_config(const emu *e, cf_config *cfg);
/* Makes a client or fails the test. */
cf_client *emu_client(const cf_config *cfg);

/* Parses JSON text into a cf_json or fails the test. */
cf_json *jparse(const char *text);
/* Milliseconds of a monotonic clock. */
double now_ms(void);

#endif /* TESTS_CLIENT_EMULATOR_H */
