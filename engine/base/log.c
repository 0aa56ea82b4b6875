/* log.c - one-line diagnostics on stderr. */
#include "engine/base/base.h"
#include "engine/base/base_int.h"

#include <stdlib.h>

static int quiet;

void strata_log_set_quiet(int q) {
    quiet = q;
}

int strata_log_quiet(void) {
    return quiet;
}

void strata_log(strata_log_level level, const char *fmt, ...) {
    if (level == STRATA_LOG_DEBUG && !getenv("STRATA_DEBUG")) return;
    if (level == STRATA_LOG_INFO && quiet) return;
    static const char *const prefix[] = {"debug: ", "", "warning: ", "error: "};
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "strata: %s%s\n", prefix[level], line);
}
