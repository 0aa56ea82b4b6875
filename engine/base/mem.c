/* mem.c - allocation that never returns NULL.
 *
 * Running out of memory is not something a backup can usefully continue
 * from, and every stored object is published atomically, so aborting leaves
 * the repository valid.  Checking NULL at hundreds of call sites would only
 * add untested paths. */
#include "engine/base/base.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void out_of_memory(size_t n) {
    fprintf(stderr, "strata: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory(n);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *xrealloc(void *old, size_t n) {
    void *p = realloc(old, n ? n : 1);
    if (!p) out_of_memory(n);
    return p;
}

void *xmmap_anonymous(size_t n, int flags) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) out_of_memory(n);
    return p;
}

char *xstrdup(const char *s) {
    return xstrndup(s, strlen(s));
}

int strata_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

char *xstrndup(const char *s, size_t n) {
    char *p = xmalloc(n + 1);
    if (n) memcpy(p, s, n); /* an empty value may have no bytes at all: s NULL */
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) out_of_memory(0);
    char *p = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
