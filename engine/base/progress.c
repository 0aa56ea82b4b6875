/* progress.c - a rate/ETA meter for long operations.
 *
 * Drawn on stderr only when it is a terminal and the command line is not
 * quiet (-q), so scripts and logs stay clean.  Workers add bytes from
 * several threads; redraws are throttled to five a second. */
#include "engine/base/base.h"
#include "engine/base/base_int.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct strata_progress {
    pthread_mutex_t lock;
    char label[32];
    uint64_t total, done;
    double start, last_draw;
    int visible;
};

void strata_human_bytes(uint64_t n, char out[16]) {
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, 16, "%llu B", (unsigned long long)n);
    else
        snprintf(out, 16, "%.1f %s", v, unit[u]);
}

strata_progress *strata_progress_new(const char *label, uint64_t total_bytes) {
    strata_progress *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total_bytes;
    p->start = strata_mono_s();
    p->visible = isatty(STDERR_FILENO) && !strata_log_quiet();
    return p;
}

static void draw(strata_progress *p, double now) {
    char done[16], total[16], rate[16];
    double secs = now - p->start;
    double bps = secs > 0 ? (double)p->done / secs : 0;
    strata_human_bytes(p->done, done);
    strata_human_bytes(p->total, total);
    strata_human_bytes((uint64_t)bps, rate);
    double eta = bps > 0 && p->total > p->done ? (double)(p->total - p->done) / bps : 0;
    fprintf(stderr, "\r\033[K%s: %s / %s  %s/s  ETA %dm%02ds", p->label, done, total, rate,
            (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

void strata_progress_add(strata_progress *p, uint64_t bytes) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->done += bytes;
    double now = strata_mono_s();
    if (p->visible && now - p->last_draw >= 0.2) {
        p->last_draw = now;
        draw(p, now);
    }
    pthread_mutex_unlock(&p->lock);
}

void strata_progress_done(strata_progress *p) {
    if (!p) return;
    if (p->visible && p->last_draw > 0) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}
