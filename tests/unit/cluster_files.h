/* cluster_files.h - scratch files for the cluster module's unit tests:
 * a fresh directory under /tmp, a small text file written into it (a
 * cluster file, a ring file) and shell commands to copy or remove trees. */
#ifndef STRATA_TEST_CLUSTER_FILES_H
#define STRATA_TEST_CLUSTER_FILES_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/base/base.h"

static char *temp_dir(void) {
    char tmpl[] = "/tmp/strata-cluster-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *cmd;
    assert_true(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static char *write_file(const char *dir, const char *name, const char *text) {
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

#endif
