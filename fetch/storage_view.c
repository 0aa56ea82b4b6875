/* storage_view.c - reading views of object ranges (fetch/storage.h).
 *
 * Decompressing a chunk straight from the local backend's mapping of its
 * pack saves copying every byte out of the page cache first, which cost
 * about as much CPU as checking it.  The price of a mapping is that a file
 * truncated under it, or a disk error, is reported as SIGBUS at the access
 * rather than as a failed read.  storage_view_read() turns that back into
 * an error: while it runs the reader, a SIGBUS caused by an access on this
 * thread jumps back out of the reader.  Any other SIGBUS goes to whatever
 * handled it before, so the process ends as it would have. */
#include "fetch/storage_int.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

static _Thread_local sigjmp_buf *bus_guard;
static struct sigaction bus_previous;
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    sigjmp_buf *guard = bus_guard;
    /* si_code > 0: raised by the kernel for an access, not sent by kill */
    if (guard && info->si_code > 0) siglongjmp(*guard, 1);
    sigaction(SIGBUS, &bus_previous, NULL);
    /* A fault recurs on return and meets the old handler; a sent signal does not. */
    if (info->si_code <= 0) raise(sig);
}

static int bus_handler_installed(void) {
    struct sigaction cur;
    return sigaction(SIGBUS, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus;
}

/* Checked before every guarded read (one cheap system call), not once:
 * whoever handled SIGBUS before may take it back (test harnesses do).
 * SA_NODEFER: the jump out of the handler leaves SIGBUS unblocked, so the
 * next fault is caught too without sigsetjmp saving the mask. */
static void install_bus_handler(void) {
    if (bus_handler_installed()) return;
    pthread_mutex_lock(&bus_lock);
    if (!bus_handler_installed()) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &bus_previous);
    }
    pthread_mutex_unlock(&bus_lock);
}

strata_err storage_view_read(const storage_view *v, storage_view_fn fn, void *ctx) {
    if (!v->map) return fn(ctx, v->data, v->len);
    install_bus_handler();
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
