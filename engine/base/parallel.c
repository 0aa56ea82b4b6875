/* parallel.c - running one worker function on several threads.
 *
 * Backup and restore split their work the same way: workers take the next
 * item from a shared index until none is left.  This is the part they
 * share: starting the threads and waiting for them. */
#include "engine/base/base.h"

#include <pthread.h>
#include <unistd.h>

void strata_run_parallel(int threads, void *(*fn)(void *), void *arg) {
    if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    pthread_t ids[64];
    int started = 0;
    while (started < threads && pthread_create(&ids[started], NULL, fn, arg) == 0) started++;
    if (!started) fn(arg);
    for (int i = 0; i < started; i++) pthread_join(ids[i], NULL);
}
