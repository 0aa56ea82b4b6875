/* chunker.c - content-defined chunk boundaries (FastCDC).
 *
 * A rolling "gear" hash over the last 64 bytes decides cut points, so an
 * insertion early in a file moves only the boundaries near it and the
 * chunks after it still deduplicate.  Normalized chunking uses a harder
 * condition before the average size and an easier one after it, which
 * narrows the size distribution around REPO_CHUNK_AVG.  Hashing starts at
 * REPO_CHUNK_MIN: nothing shorter can be cut, so those bytes are skipped.
 *
 * The gear table is generated from a fixed seed with splitmix64; the
 * boundaries are part of the repository format (docs/FORMAT.md), since
 * changing them would stop new backups deduplicating against old ones. */
#include "engine/repo/repo_int.h"

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void gear_init(void) {
    uint64_t x = 0x5354524154413031ull; /* "STRATA01" */
    for (int i = 0; i < 256; i++) {
        x += 0x9e3779b97f4a7c15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        gear[i] = z ^ (z >> 31);
    }
}

/* The cut test looks at the top bits of the hash, which depend on all of
 * the last 64 bytes.  log2(avg) = 20: 22 bits before the average (harder),
 * 18 after (easier). */
#define MASK_HARD (~0ull << (64 - 22))
#define MASK_EASY (~0ull << (64 - 18))

size_t repo_chunk_boundary(const uint8_t *data, size_t len) {
    pthread_once(&gear_once, gear_init);
    if (len <= REPO_CHUNK_MIN) return 0;
    size_t limit = len < REPO_CHUNK_MAX ? len : REPO_CHUNK_MAX;
    size_t normal = limit < REPO_CHUNK_AVG ? limit : REPO_CHUNK_AVG;
    uint64_t h = 0;
    size_t i = REPO_CHUNK_MIN;
    for (; i < normal; i++) {
        h = (h << 1) + gear[data[i]];
        if (!(h & MASK_HARD)) return i + 1;
    }
    for (; i < limit; i++) {
        h = (h << 1) + gear[data[i]];
        if (!(h & MASK_EASY)) return i + 1;
    }
    return limit == REPO_CHUNK_MAX ? REPO_CHUNK_MAX : 0;
}
