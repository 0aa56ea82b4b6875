/* time.c - wall-clock and monotonic time, ISO 8601 version names.
 *
 * Version ids are UTC times of the form 2026-11-21T22:30:55Z, so they sort
 * lexicographically in time order. */
#include "engine/base/base.h"

#include <string.h>
#include <time.h>

int64_t strata_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double strata_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void strata_iso8601(int64_t epoch_s, char out[32]) {
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int strata_parse_iso8601(const char *s, int64_t *epoch_s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) return -1;
    *epoch_s = (int64_t)timegm(&tm);
    return 0;
}
