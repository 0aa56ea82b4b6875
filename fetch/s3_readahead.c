/* s3_readahead.c - read-ahead windows for ranged reads of S3 objects.
 *
 * Restores and mounts read a pack chunk by chunk, mostly in the order the
 * chunks were written.  One ranged GET per chunk costs a round trip each
 * (milliseconds on a LAN, tens of them to a cloud region), which bounds a
 * sequential read far below the bandwidth.  So when a read continues where
 * an earlier read of the same object ended, the backend fetches a whole
 * window from there and serves the following reads from memory.  Random
 * reads (a database reading one row) keep fetching exactly what they ask
 * for: no amplification where nothing would be reused.  Windows are few
 * and replaced least recently used first, so memory stays bounded. */
#include "fetch/s3_int.h"

#include <string.h>

#define RA_WINDOWS 8
#define RA_STREAMS 32
/* A read this close after the end of the previous one still counts as
 * sequential: restores of files whose chunks interleave in a pack skip
 * over the other files' chunks. */
#define RA_MAX_GAP (1u << 20)

typedef struct {
    char *key;
    uint64_t start;
    strata_buf data;
    uint64_t used;
} ra_window;

typedef struct {
    char *key;
    uint64_t end;
} ra_stream;

struct s3_readahead {
    pthread_mutex_t lock;
    ra_window windows[RA_WINDOWS];
    ra_stream streams[RA_STREAMS];
    unsigned next_stream;
    uint64_t clock;
};

s3_readahead *s3_readahead_new(void) {
    s3_readahead *ra = xcalloc(1, sizeof *ra);
    pthread_mutex_init(&ra->lock, NULL);
    return ra;
}

void s3_readahead_free(s3_readahead *ra) {
    if (!ra) return;
    for (int i = 0; i < RA_WINDOWS; i++) {
        free(ra->windows[i].key);
        strata_buf_free(&ra->windows[i].data);
    }
    for (int i = 0; i < RA_STREAMS; i++) free(ra->streams[i].key);
    pthread_mutex_destroy(&ra->lock);
    free(ra);
}

int s3_readahead_copy(s3_readahead *ra, const char *key, uint64_t offset, size_t len, void *out) {
    int found = 0;
    pthread_mutex_lock(&ra->lock);
    for (int i = 0; i < RA_WINDOWS && !found; i++) {
        ra_window *w = &ra->windows[i];
        if (!w->key || strcmp(w->key, key) || offset < w->start ||
            offset - w->start > w->data.len || len > w->data.len - (offset - w->start))
            continue;
        memcpy(out, w->data.data + (offset - w->start), len);
        w->used = ++ra->clock;
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

void s3_readahead_keep(s3_readahead *ra, const char *key, uint64_t start, strata_buf *data) {
    pthread_mutex_lock(&ra->lock);
    ra_window *victim = &ra->windows[0];
    for (int i = 1; i < RA_WINDOWS; i++)
        if (ra->windows[i].used < victim->used) victim = &ra->windows[i];
    free(victim->key);
    strata_buf_free(&victim->data);
    victim->key = xstrdup(key);
    victim->start = start;
    victim->data = *data;
    victim->used = ++ra->clock;
    strata_buf_init(data);
    pthread_mutex_unlock(&ra->lock);
}
