/* storage_view.c - reading views of object ranges (fetch/storage.h).
 *
 * Decompressing a chunk straight from the local backend's mapping of its
 * pack saves copying every byte out of the page cache first, which cost
 * about as much CPU as checking it.  The price of a mapping is that a file
 * truncated under it, or a disk error, is reported as SIGBUS at the access
 * rather than as a failed read.  storage_view_read() turns that back into
 * an error: while it runs the reader, a SIGBUS caused by an access on this
 * thread jumps back out of the reader.  Any other SIGBUS goes to whatever
 * handled it before, so the process ends as it would have.  The handler
 * is installed once, when the first mapping is read. */
#include "fetch/storage_int.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

static _Thread_local sigjmp_buf *bus_guard;
static struct sigaction bus_previous;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

/* Chains to the handler installed before, as the index's fault guard
 * (engine/repo/index.c) does, so either may be installed first. */
static void on_sigbus(int sig, siginfo_t *info, void *uctx) {
    /* si_code > 0: raised by the kernel for an access, not sent by kill */
    if (bus_guard && info->si_code > 0) siglongjmp(*bus_guard, 1);
    if (bus_previous.sa_flags & SA_SIGINFO) {
        bus_previous.sa_sigaction(sig, info, uctx);
    } else if (bus_previous.sa_handler != SIG_IGN && bus_previous.sa_handler != SIG_DFL) {
        bus_previous.sa_handler(sig);
    } else {
        signal(sig, SIG_DFL); /* returning re-runs the access and dies as usual */
        if (info->si_code <= 0) raise(sig);
    }
}

/* SA_NODEFER: the jump out of the handler leaves SIGBUS unblocked, so the
 * next fault is caught too without sigsetjmp saving the mask. */
static void install_bus_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &bus_previous);
}

strata_err storage_view_read(const storage_view *v, storage_view_fn fn, void *ctx) {
    if (!v->map) return fn(ctx, v->data, v->len);
    pthread_once(&bus_once, install_bus_handler);
    sigjmp_buf here;
    if (sigsetjmp(here, 0)) {
        bus_guard = NULL;
        return strata_fail(STRATA_EIO, "object %s: its bytes cannot be read (the file shrank, or the disk failed)",
                           v->key);
    }
    bus_guard = &here;
    strata_err e = fn(ctx, v->data, v->len);
    bus_guard = NULL;
    return e;
}

void storage_view_close(storage_view *v) {
    if (v->map) munmap(v->map, v->map_len);
    memset(v, 0, sizeof *v);
}
