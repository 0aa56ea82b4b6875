/* time.c - wall-clock and monotonic time, ISO 8601 version names.
 *
 * Version ids are UTC times of the form 2026-11-21T22:30:55Z, so they sort
 * lexicographically in time order (up to the suffix of a same-second clash,
 * which repo_version_id_cmp orders).  Times given by operators (a backup's
 * cut) may carry a fraction of a second, as Cassandra's write times do. */
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

void strata_sleep_s(double seconds) {
    if (seconds <= 0) return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

void strata_iso8601(int64_t epoch_s, char out[32]) {
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void strata_iso8601_us(int64_t epoch_us, char out[32]) {
    int64_t s = epoch_us / 1000000, us = epoch_us % 1000000;
    if (us < 0) s--, us += 1000000;
    strata_iso8601(s, out);
    if (us) snprintf(out + 19, 13, ".%06lldZ", (long long)us);
}

/* The fraction of a second at `p` (".550666": 1 to 6 digits) in *us, 0
 * when `p` holds none; returns where it ends, or NULL when malformed. */
static const char *fraction_us(const char *p, int64_t *us) {
    *us = 0;
    if (*p != '.') return p;
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 6) return NULL;
        *us = *us * 10 + (*p - '0');
    }
    if (!digits) return NULL;
    for (; digits < 6; digits++) *us *= 10;
    return p;
}

int strata_parse_iso8601_us(const char *s, int64_t *epoch_us) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p || tm.tm_sec > 59) return -1; /* no leap second: UTC times here are POSIX times */
    int64_t us;
    p = fraction_us(p, &us);
    if (!p || strcmp(p, "Z")) return -1;
    *epoch_us = (int64_t)timegm(&tm) * 1000000 + us;
    return 0;
}

int strata_parse_seconds_us(const char *s, int64_t *epoch_us) {
    size_t whole = strspn(s, "0123456789");
    if (!whole || whole > 12) return -1;
    int64_t us;
    const char *p = fraction_us(s + whole, &us);
    if (!p || *p) return -1;
    *epoch_us = strtoll(s, NULL, 10) * 1000000 + us;
    return 0;
}
