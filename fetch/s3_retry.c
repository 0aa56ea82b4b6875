/* s3_retry.c - when and how long to wait before trying a request again.
 *
 * Object stores shed load with 503 SlowDown, restart nodes, drop idle
 * connections and occasionally stall; all of it is transient.  A request
 * is retried with exponential backoff and "full jitter" (a uniformly
 * random delay up to the exponential ceiling, so many clients that failed
 * together do not retry together) until a total time budget is spent;
 * then the last error is reported.  Client errors other than throttling
 * and request timeouts are final at once: retrying cannot fix them. */
#include "fetch/s3_int.h"

#include <string.h>

#define BACKOFF_BASE_S 0.1
#define BACKOFF_CAP_S 20.0
/* How late a sleep notices that its client was abandoned. */
#define ABANDON_CHECK_S 0.1

void s3_retry_start(s3_retry *r, double budget_seconds) {
    r->deadline = strata_mono_s() + budget_seconds;
    r->attempt = 0;
    r->seed = (unsigned)strata_now_us() ^ (unsigned)(uintptr_t)r;
    r->abandoned = NULL;
}

double s3_retry_ceiling(int attempt) {
    double d = BACKOFF_BASE_S;
    for (int i = 0; i < attempt && d < BACKOFF_CAP_S; i++) d *= 2;
    return d < BACKOFF_CAP_S ? d : BACKOFF_CAP_S;
}

static int abandoned(const s3_retry *r) {
    return r->abandoned && __atomic_load_n(r->abandoned, __ATOMIC_RELAXED);
}

int s3_retry_wait(s3_retry *r) {
    double now = strata_mono_s(), left = r->deadline - now;
    if (left <= 0 || abandoned(r)) return 0;
    double delay = s3_retry_ceiling(r->attempt++) * (rand_r(&r->seed) / ((double)RAND_MAX + 1));
    double until = now + (delay < left ? delay : left);
    /* in slices: a backoff may be 20 s, and a process that stops must not
     * wait for it */
    for (double d; !abandoned(r) && (d = until - strata_mono_s()) > 0;) {
        strata_sleep_s(d > ABANDON_CHECK_S ? ABANDON_CHECK_S : d);
    }
    return !abandoned(r);
}

int s3_status_is_transient(long status, const char *code) {
    if (status >= 500 || status == 429 || status == 408) return 1;
    return code && (!strcmp(code, "SlowDown") || !strcmp(code, "RequestTimeout") ||
                    !strcmp(code, "InternalError") || !strcmp(code, "ServiceUnavailable"));
}
