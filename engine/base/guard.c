/* guard.c - faults on mapped memory turned back into errors (base.h).
 *
 * strata reads memory that faults where a read would fail: LMDB's mapped
 * pages (garbage in data.mdb makes it follow wild pointers,
 * engine/repo/index.c) and pack ranges mapped by the local storage backend
 * (a file cut short under its reader, or a failing disk, raise SIGBUS,
 * fetch/storage_view.c).  One handler serves both: a fault the kernel
 * raises on a thread with a guard set jumps back to the guard; any other
 * goes to the handler installed before (the default, or a sanitizer's),
 * so the process ends as it would have. */
#include "engine/base/base.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static _Thread_local sigjmp_buf *active_guard;
static struct sigaction previous_segv, previous_bus;
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void on_fault(int sig, siginfo_t *info, void *uctx) {
    /* si_code > 0: raised by the kernel for an access, not sent by kill */
    if (active_guard && info->si_code > 0) siglongjmp(*active_guard, 1);
    struct sigaction *prev = sig == SIGBUS ? &previous_bus : &previous_segv;
    if (prev->sa_flags & SA_SIGINFO) {
        prev->sa_sigaction(sig, info, uctx);
    } else if (prev->sa_handler != SIG_IGN && prev->sa_handler != SIG_DFL) {
        prev->sa_handler(sig);
    } else {
        signal(sig, SIG_DFL); /* returning re-runs the access and dies as usual */
        if (info->si_code <= 0) raise(sig);
    }
}

/* SA_NODEFER: jumping out of the handler leaves the signal unblocked, so
 * the next fault is caught too, whether or not the guard saved the mask. */
static void install_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
    sigaction(SIGBUS, &sa, &previous_bus);
}

sigjmp_buf *strata_guard_current(void) {
    return active_guard;
}

void strata_guard_set(sigjmp_buf *guard) {
    pthread_once(&handlers_once, install_handlers);
    active_guard = guard;
}

void strata_guard_escape(void) {
    if (active_guard) siglongjmp(*active_guard, 1);
}
