/* error.c - error codes and the per-thread description of the last failure.
 *
 * A code travels up the call stack; the words that explain it are recorded
 * once, where the failure is detected, in a thread-local buffer, so worker
 * threads never overwrite each other's messages. */
#include "engine/base/base.h"

#include <errno.h>
#include <string.h>

static _Thread_local char last_message[512];
static _Thread_local strata_err last_code;

static const char *const generic_text[STRATA_ERR_COUNT] = {
    [STRATA_OK] = "success",
    [STRATA_EINVAL] = "invalid argument",
    [STRATA_ENOENT] = "not found",
    [STRATA_EEXIST] = "already exists",
    [STRATA_EIO] = "input/output error",
    [STRATA_ENOSPC] = "no space left on storage",
    [STRATA_ECORRUPT] = "corrupt data",
    [STRATA_EFORMAT] = "unsupported format",
    [STRATA_ENOMEM] = "size limit exceeded",
    [STRATA_ELOCKED] = "repository is locked by another process",
    [STRATA_EINTR] = "interrupted",
    [STRATA_ENOTREPO] = "not a strata repository",
};

const char *strata_strerror(strata_err code) {
    if ((int)code < 0 || code >= STRATA_ERR_COUNT) return "unknown error";
    return generic_text[code];
}

/* Formats into a local buffer first: callers often wrap the previous
 * message, strata_fail(e, "%s: %s", path, strata_errmsg()), whose text
 * lives in the very buffer being written. */
static strata_err record(strata_err code, const char *fmt, va_list ap) {
    char text[sizeof last_message];
    vsnprintf(text, sizeof text, fmt, ap);
    memcpy(last_message, text, sizeof last_message);
    last_code = code;
    return code;
}

strata_err strata_fail(strata_err code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    record(code, fmt, ap);
    va_end(ap);
    return code;
}

strata_err strata_fail_errno(strata_err code, int errnum, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    record(code, fmt, ap);
    va_end(ap);
    size_t used = strlen(last_message);
    snprintf(last_message + used, sizeof last_message - used, ": %s", strerror(errnum));
    return code;
}

strata_err strata_err_from_errno(int errnum) {
    switch (errnum) {
    case ENOENT: case ENOTDIR: return STRATA_ENOENT;
    case EEXIST: return STRATA_EEXIST;
    case ENOSPC: case EDQUOT: return STRATA_ENOSPC;
    case EINVAL: return STRATA_EINVAL;
    case ENOMEM: return STRATA_ENOMEM;
    case EINTR: return STRATA_EINTR;
    default: return STRATA_EIO;
    }
}

const char *strata_errmsg(void) {
    if (last_message[0]) return last_message;
    return strata_strerror(last_code);
}

void strata_clear_error(void) {
    last_message[0] = '\0';
    last_code = STRATA_OK;
}
