/* s3_readahead.c - read-ahead windows for ranged reads of S3 objects.
 *
 * Restores and mounts read a pack chunk by chunk, mostly in the order the
 * chunks were written.  One ranged GET per chunk costs a round trip each
 * (milliseconds on a LAN, tens of them to a cloud region), which bounds a
 * sequential read far below the bandwidth.  So when a read continues where
 * an earlier read of the same object ended, the backend fetches the whole
 * window holding it and serves the following reads from memory.  Random
 * reads (a database reading one row) keep fetching exactly what they ask
 * for: no amplification where nothing would be reused.  There are
 * RA_WINDOWS windows per storage handle (64 MiB at the backend's 4 MiB
 * window), replaced least recently used first, so memory stays bounded;
 * windows are claimed before they are fetched, in the background (see
 * prefetch in storage_s3.c) or by a reader, and readers of a claimed
 * window's range wait for it instead of fetching it again. */
#include "fetch/s3_int.h"

#include <string.h>

#define RA_WINDOWS 16
#define RA_STREAMS 32
/* A read this close after the end of the previous one still counts as
 * sequential: restores of files whose chunks interleave in a pack skip
 * over the other files' chunks. */
#define RA_MAX_GAP (1u << 20)

typedef struct {
    char *key;
    uint64_t start;
    size_t planned;  /* bytes asked for; data.len may be less at the end */
    strata_buf data;
    uint64_t used;
    int loading;     /* being fetched in the background */
} ra_window;

typedef struct {
    char *key;
    uint64_t end;
} ra_stream;

struct s3_readahead {
    pthread_mutex_t lock;
    pthread_cond_t loaded;
    ra_window windows[RA_WINDOWS];
    ra_stream streams[RA_STREAMS];
    unsigned next_stream;
    uint64_t clock;
};

s3_readahead *s3_readahead_new(void) {
    s3_readahead *ra = xcalloc(1, sizeof *ra);
    pthread_mutex_init(&ra->lock, NULL);
    pthread_cond_init(&ra->loaded, NULL);
    return ra;
}

void s3_readahead_free(s3_readahead *ra) {
    if (!ra) return;
    for (int i = 0; i < RA_WINDOWS; i++) {
        free(ra->windows[i].key);
        strata_buf_free(&ra->windows[i].data);
    }
    for (int i = 0; i < RA_STREAMS; i++) free(ra->streams[i].key);
    pthread_cond_destroy(&ra->loaded);
    pthread_mutex_destroy(&ra->lock);
    free(ra);
}

static int covers(const ra_window *w, const char *key, uint64_t offset, size_t len) {
    size_t have = w->loading ? w->planned : w->data.len;
    return w->key && !strcmp(w->key, key) && offset >= w->start && offset - w->start <= have &&
           len <= have - (offset - w->start);
}

int s3_readahead_copy(s3_readahead *ra, const char *key, uint64_t offset, size_t len, void *out,
                      uint64_t *window_end) {
    int found = 0;
    pthread_mutex_lock(&ra->lock);
    for (int i = 0; i < RA_WINDOWS && !found; i++) {
        ra_window *w = &ra->windows[i];
        if (!covers(w, key, offset, len)) continue;
        if (w->loading) { /* wait for it, then look again from the start */
            while (w->loading) pthread_cond_wait(&ra->loaded, &ra->lock);
            i = -1;
            continue;
        }
        memcpy(out, w->data.data + (offset - w->start), len);
        w->used = ++ra->clock;
        /* A window shorter than asked for ends at the object's end. */
        *window_end = w->data.len == w->planned ? w->start + w->data.len : 0;
        found = 1;
    }
    pthread_mutex_unlock(&ra->lock);
    return found;
}
int s3_readahead_continues(s3_readahead *ra, const char *key, uint64_t offset, size_t len) {
    int continues = 0;
    pthread_mutex_lock(&ra->lock);
    ra_stream *slot = NULL;
    for (int i = 0; i < RA_STREAMS; i++) {
        ra_stream *s = &ra->streams[i];
        if (s->key && !strcmp(s->key, key)) {
            int near = offset >= s->end && offset - s->end <= RA_MAX_GAP;
            continues = continues || near;
            if (!slot || near) slot = s;
        }
    }
    if (!slot) {
        slot = &ra->streams[ra->next_stream++ % RA_STREAMS];
        free(slot->key);
        slot->key = xstrdup(key);
    }
    slot->end = offset + len;
    pthread_mutex_unlock(&ra->lock);
    return continues;
}

/* The least recently used window not being fetched; NULL when all are. */
static ra_window *victim(s3_readahead *ra) {
    ra_window *v = NULL;
    for (int i = 0; i < RA_WINDOWS; i++)
        if (!ra->windows[i].loading && (!v || ra->windows[i].used < v->used)) v = &ra->windows[i];
    return v;
}

static void reuse(s3_readahead *ra, ra_window *w, const char *key, uint64_t start, size_t planned) {
    free(w->key);
    strata_buf_free(&w->data);
    w->key = xstrdup(key);
    w->start = start;
    w->planned = planned;
    w->used = ++ra->clock;
}

int s3_readahead_claim(s3_readahead *ra, const char *key, uint64_t start, size_t len) {
    pthread_mutex_lock(&ra->lock);
    int slot = -1;
    int covered = 0;
    for (int i = 0; i < RA_WINDOWS; i++) covered = covered || covers(&ra->windows[i], key, start, 1);
    ra_window *w = covered ? NULL : victim(ra);
    if (w) {
        reuse(ra, w, key, start, len);
        w->loading = 1;
        slot = (int)(w - ra->windows);
    }
    pthread_mutex_unlock(&ra->lock);
    return slot;
}

void s3_readahead_fill(s3_readahead *ra, int slot, strata_buf *data) {
    pthread_mutex_lock(&ra->lock);
    ra_window *w = &ra->windows[slot];
    if (data) {
        w->data = *data;
        strata_buf_init(data);
    } else {
        free(w->key);
        w->key = NULL;
    }
    w->loading = 0;
    pthread_cond_broadcast(&ra->loaded);
    pthread_mutex_unlock(&ra->lock);
}
