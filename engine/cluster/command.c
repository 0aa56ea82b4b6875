/* command.c - the operator's snapshot commands.
 *
 * snapshot_cmd and clear_snapshot_cmd are shell command lines (typically
 * nodetool, possibly over ssh) with {tag} standing for the snapshot's
 * name.  They run through /bin/sh; their standard output goes to standard
 * error so that it never mixes with strata's own output (--json). */
#include "engine/cluster/cluster_int.h"

#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *cluster_with_tag(const char *cmd, const char *tag) {
    strata_buf b;
    strata_buf_init(&b);
    for (const char *p = cmd; *p;) {
        if (!strncmp(p, "{tag}", 5)) {
            strata_buf_put(&b, tag, strlen(tag));
            p += 5;
        } else {
            strata_buf_put(&b, p++, 1);
        }
    }
    strata_buf_put_u8(&b, 0);
    return (char *)b.data;
}

strata_err cluster_run_command(const char *what, const char *cmd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return strata_fail_errno(STRATA_EIO, rc, "cannot run %s", what);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return strata_fail_errno(STRATA_EIO, errno, "waiting for %s", what);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return STRATA_OK;
    if (WIFEXITED(status))
        return strata_fail(STRATA_EIO, "%s exited with status %d: %s", what, WEXITSTATUS(status), cmd);
    return strata_fail(STRATA_EIO, "%s killed by signal %d: %s", what, WTERMSIG(status), cmd);
}
