/*
 * gen_dataset - writes the synthetic Cassandra cluster the backup benchmark
 * backs up.
 *
 * Backup tools behave very differently on compressible and incompressible
 * input, so a fair benchmark needs data shaped like a real cluster: most of
 * the bytes are Data.db files that Cassandra has already LZ4-compressed in
 * 16 KiB chunks (low residual compressibility), beside small, structured and
 * compressible components.  This program writes that: SSTable-like rows
 * (keys, clustering timestamps, words, ids, numbers, a few blobs) compressed
 * chunk by chunk with liblz4 exactly as Cassandra's LZ4Compressor lays them
 * out (4-byte little-endian length, LZ4 block, big-endian CRC32), with a
 * matching CompressionInfo.db, Digest.crc32, Index.db, Summary.db,
 * Statistics.db, Filter.db and TOC.txt.
 *
 *   gen_dataset [-v2] ROOT MEGABYTES SEED
 *
 * writes ROOT/node{1,2,3}/<keyspace>/<table>-<32 hex>/nb-<gen>-big-<Component>
 * totalling about MEGABYTES * 10^6 bytes.  Everything is a function of SEED
 * and MEGABYTES, so two runs give byte-identical trees.  With -v2 the tree
 * written with the same arguments is turned into the next version, as a few
 * minutes of cluster life would: every node flushes new SSTables and one
 * table per node is compacted (two SSTables replaced by one new one), a few
 * per cent of the bytes in all.  One child process per node uses both cores.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lz4.h>
#include <zlib.h>

#define NODES 3
#define CHUNK 16384
#define MAX_SST 8

/* splitmix64: fast, and seedable per file so files do not depend on each
 * other's generation order. */
typedef struct { uint64_t s; } rng;

static uint64_t next(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t below(rng *r, uint32_t n) { return (uint32_t)(((next(r) >> 32) * n) >> 32); }

static rng seeded(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    rng r = {seed ^ (a * 0x100000001b3ULL) ^ (b << 20) ^ (c << 40)};
    next(&r);
    return r;
}

static const char *words[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "north",
    "south", "east", "west", "red", "green", "blue", "magenta", "cyan", "yellow", "black",
    "white", "order", "shipped", "pending", "cancelled", "refund", "invoice", "customer",
    "account", "premium", "basic", "trial", "checkout", "cart", "item", "quantity", "price",
    "discount", "coupon", "warehouse", "berlin", "paris", "london", "madrid", "rome",
    "vienna", "oslo", "dublin", "lisbon", "prague", "warsaw", "athens", "sensor", "device",
    "reading", "temperature", "humidity", "pressure", "voltage", "error", "warning", "info",
    "debug", "timeout", "retry", "connected", "disconnected", "firmware", "update", "battery",
    "low", "high", "normal", "critical", "ok", "user", "login", "logout", "session", "click",
    "view", "search", "page", "home", "profile", "settings", "mobile", "desktop", "tablet",
    "android", "ios", "linux", "windows", "chrome", "firefox", "safari", "edge", "the", "a",
    "of", "and", "to", "in", "is", "for", "on", "with", "by", "from", "at", "as", "new",
    "old", "first", "last", "next", "previous", "small", "large", "medium", "fast", "slow",
};
#define NWORDS (sizeof words / sizeof *words)

/* What a table's rows look like: how many words of text, whether rows carry
 * random ids, measurement values or opaque blobs. */
typedef struct {
    const char *keyspace, *table;
    double share;        /* of a node's bytes */
    int text_words;      /* words per text column */
    int uuids, doubles;  /* random 16- and 8-byte cells per row */
    int blob_pct;        /* % of rows with a 16..79 byte random blob */
    int text_key;        /* partition key is text ("cust-00001234") rather than a uuid */
} table_kind;

static const table_kind tables[] = {
    {"shop", "orders", 0.34, 6, 2, 2, 10, 0},
    {"shop", "customers", 0.14, 10, 1, 1, 0, 1},
    {"shop", "carts", 0.06, 4, 2, 1, 30, 0},
    {"metrics", "samples", 0.34, 2, 0, 6, 5, 1},
    {"metrics", "rollups", 0.12, 3, 0, 8, 0, 1},
};
#define NTABLES (sizeof tables / sizeof *tables)

/* Relative sizes of the SSTables of one table, as size-tiered compaction
 * leaves them: one big, a few medium, some recent small flushes. */
static const double tiers[] = {12, 4, 2, 1, 0.5};
#define NTIERS (sizeof tiers / sizeof *tiers)

static uint64_t g_seed;
static double g_node_bytes;

static void die(const char *what, const char *path) {
    fprintf(stderr, "gen_dataset: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) && errno != EEXIST) die("mkdir", tmp);
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST) die("mkdir", tmp);
}

/* Growable byte buffer, used for every component. */
typedef struct { unsigned char *p; size_t n, cap; } bytes;

static void reserve(bytes *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    while (b->n + extra > b->cap) b->cap = b->cap ? b->cap * 2 : 65536;
    b->p = realloc(b->p, b->cap);
    if (!b->p) { perror("gen_dataset: realloc"); exit(1); }
}
static void put(bytes *b, const void *p, size_t n) { reserve(b, n); memcpy(b->p + b->n, p, n); b->n += n; }
static void put8(bytes *b, unsigned v) { reserve(b, 1); b->p[b->n++] = (unsigned char)v; }
static void be16(bytes *b, unsigned v) { put8(b, v >> 8); put8(b, v); }
static void be32(bytes *b, uint32_t v) { be16(b, v >> 16); be16(b, v & 0xffff); }
static void be64(bytes *b, uint64_t v) { be32(b, (uint32_t)(v >> 32)); be32(b, (uint32_t)v); }
static void rnd(bytes *b, rng *r, size_t n) {
    reserve(b, n + 8);
    for (size_t i = 0; i < n; i += 8) { uint64_t v = next(r); memcpy(b->p + b->n + i, &v, 8); }
    b->n += n;
}
/* Cassandra's unsigned vint: leading one bits give the extra byte count. */
static void vint(bytes *b, uint64_t v) {
    int extra = 0;
    while (extra < 8 && v >= (1ULL << (7 * (extra + 1)))) extra++;
    if (extra == 8) { put8(b, 0xff); be64(b, v); return; }
    unsigned first = (unsigned)(v >> (8 * extra)) | (0xff00u >> extra);
    put8(b, first & 0xff);
    for (int i = extra - 1; i >= 0; i--) put8(b, (unsigned)(v >> (8 * i)));
}

static void write_file(const char *dir, const char *name, const void *p, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) die("create", path);
    if (n && fwrite(p, 1, n, f) != n) die("write", path);
    if (fclose(f)) die("close", path);
}

static void key_of(const table_kind *t, rng *r, bytes *key) {
    key->n = 0;
    if (t->text_key) {
        char s[32];
        int n = snprintf(s, sizeof s, "%s-%08u", t->table, below(r, 100000000));
        put(key, s, (size_t)n);
    } else {
        rnd(key, r, 16);
    }
}

/* One row: flags, clustering timestamp, then cells of words, ids, numbers. */
static void row(const table_kind *t, rng *r, bytes *u, uint64_t *clock) {
    put8(u, 0x24);
    *clock += 1 + below(r, 5000);
    be64(u, *clock);
    size_t size_at = u->n;
    put8(u, 0);
    vint(u, below(r, 1u << 20));
    for (int c = 0; c < 2; c++) {
        int nw = 1 + (int)below(r, (uint32_t)t->text_words * 2);
        size_t len_at = u->n;
        put8(u, 0);
        for (int w = 0; w < nw; w++) {
            const char *s = words[below(r, NWORDS)];
            if (w) put8(u, ' ');
            put(u, s, strlen(s));
        }
        u->p[len_at] = (unsigned char)((u->n - len_at - 1) & 0x7f);
    }
    be32(u, below(r, 1000));
    be32(u, below(r, 100000));
    rnd(u, r, 16 * (size_t)t->uuids);
    for (int d = 0; d < t->doubles; d++) {
        double v = (double)below(r, 1000000) / 100.0;
        uint64_t bits;
        memcpy(&bits, &v, 8);
        be64(u, bits);
    }
    if ((int)below(r, 100) < t->blob_pct) {
        size_t n = 16 + below(r, 64);
        vint(u, n);
        rnd(u, r, n);
    }
    u->p[size_at] = (unsigned char)((u->n - size_at) & 0x7f);
}

/* Writes one whole SSTable of about `target` Data.db bytes. */
static void sstable(const char *dir, const table_kind *t, int node, int tbl, int gen,
                    double target) {
    rng r = seeded(g_seed, (uint64_t)node, (uint64_t)tbl, (uint64_t)gen);
    char path[4096], name[256];
    snprintf(name, sizeof name, "nb-%d-big-Data.db", gen);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *data = fopen(path, "wb");
    if (!data) die("create", path);
    setvbuf(data, NULL, _IOFBF, 1 << 20);

    bytes u = {0}, key = {0}, index = {0}, offsets = {0}, summary_keys = {0};
    bytes chunk = {0};
    reserve(&chunk, (size_t)LZ4_compressBound(CHUNK) + 8);
    uint64_t written = 0, raw_total = 0, clock = 1700000000000000ULL + below(&r, 1u << 30);
    uint32_t digest = (uint32_t)crc32(0, NULL, 0), nchunks = 0, partitions = 0;
    uint64_t hist[64] = {0};

    while ((double)written < target) {
        /* A partition: key, deletion info, a run of rows, end marker. */
        key_of(t, &r, &key);
        be16(&index, (unsigned)key.n);
        put(&index, key.p, key.n);
        vint(&index, raw_total + u.n);
        put8(&index, 0);
        if (partitions % 128 == 0) { be16(&summary_keys, (unsigned)key.n); put(&summary_keys, key.p, key.n); }
        partitions++;
        size_t start = u.n;
        be16(&u, (unsigned)key.n);
        put(&u, key.p, key.n);
        be32(&u, 0x7fffffff);
        be64(&u, 0x8000000000000000ULL);
        int rows = 1 + (int)below(&r, below(&r, 4) ? 8 : 60);
        for (int i = 0; i < rows; i++) row(t, &r, &u, &clock);
        put8(&u, 0x01);
        size_t psize = u.n - start;
        int bucket = 0;
        while (bucket < 63 && (1ULL << bucket) < psize) bucket++;
        hist[bucket]++;

        size_t off = 0;
        while (u.n - off >= CHUNK) {
            chunk.n = 4;
            chunk.p[0] = CHUNK & 0xff; chunk.p[1] = (CHUNK >> 8) & 0xff; chunk.p[2] = 0; chunk.p[3] = 0;
            int c = LZ4_compress_default((const char *)u.p + off, (char *)chunk.p + 4, CHUNK,
                                         LZ4_compressBound(CHUNK));
            if (c <= 0) { fprintf(stderr, "gen_dataset: lz4 failed\n"); exit(1); }
            chunk.n = 4 + (size_t)c;
            be32(&chunk, (uint32_t)crc32(0, chunk.p, (uInt)chunk.n));
            be64(&offsets, written);
            if (fwrite(chunk.p, 1, chunk.n, data) != chunk.n) die("write", path);
            digest = (uint32_t)crc32(digest, chunk.p, (uInt)chunk.n);
            written += chunk.n;
            nchunks++;
            off += CHUNK;
        }
        raw_total += off;
        memmove(u.p, u.p + off, u.n - off);
        u.n -= off;
    }
    if (u.n) {
        chunk.n = 0;
        put8(&chunk, u.n & 0xff); put8(&chunk, (u.n >> 8) & 0xff); put8(&chunk, 0); put8(&chunk, 0);
        reserve(&chunk, (size_t)LZ4_compressBound((int)u.n) + 4);
        int c = LZ4_compress_default((const char *)u.p, (char *)chunk.p + 4, (int)u.n,
                                     LZ4_compressBound((int)u.n));
        if (c <= 0) { fprintf(stderr, "gen_dataset: lz4 failed\n"); exit(1); }
        chunk.n = 4 + (size_t)c;
        be32(&chunk, (uint32_t)crc32(0, chunk.p, (uInt)chunk.n));
        be64(&offsets, written);
        if (fwrite(chunk.p, 1, chunk.n, data) != chunk.n) die("write", path);
        digest = (uint32_t)crc32(digest, chunk.p, (uInt)chunk.n);
        written += chunk.n;
        raw_total += u.n;
        nchunks++;
    }
    if (fclose(data)) die("close", path);

    bytes b = {0};
    char comp[256];
#define COMPONENT(suffix) (snprintf(comp, sizeof comp, "nb-%d-big-%s", gen, suffix), comp)
    /* CompressionInfo.db: compressor, no options, chunk length, max
     * compressed length, uncompressed length, chunk offsets. */
    be16(&b, 13); put(&b, "LZ4Compressor", 13);
    be32(&b, 0); be32(&b, CHUNK); be32(&b, 0x7fffffff);
    be64(&b, raw_total); be32(&b, nchunks);
    put(&b, offsets.p, offsets.n);
    write_file(dir, COMPONENT("CompressionInfo.db"), b.p, b.n);

    char digits[16];
    int dn = snprintf(digits, sizeof digits, "%u", digest);
    write_file(dir, COMPONENT("Digest.crc32"), digits, (size_t)dn);
    write_file(dir, COMPONENT("Index.db"), index.p, index.n);

    /* Summary.db: sampling header, sampled keys' offsets, keys, first/last key. */
    b.n = 0;
    uint32_t samples = (partitions + 127) / 128;
    be32(&b, 128); be32(&b, samples); be64(&b, summary_keys.n + 4ULL * samples);
    be32(&b, 128); be32(&b, 1);
    for (uint32_t i = 0; i < samples; i++) be32(&b, i * 24);
    put(&b, summary_keys.p, summary_keys.n);
    be32(&b, (unsigned)key.n); put(&b, key.p, key.n);
    be32(&b, (unsigned)key.n); put(&b, key.p, key.n);
    write_file(dir, COMPONENT("Summary.db"), b.p, b.n);

    /* Filter.db: a bloom filter is half-set bits, i.e. random bytes. */
    b.n = 0;
    be32(&b, 7); be32(&b, (partitions * 10 + 63) / 64);
    rnd(&b, &r, ((partitions * 10 + 63) / 64) * 8);
    write_file(dir, COMPONENT("Filter.db"), b.p, b.n);

    /* Statistics.db: partitioner, then long histograms, mostly zeros. */
    b.n = 0;
    be32(&b, 4);
    for (int i = 0; i < 4; i++) { be32(&b, (uint32_t)i); be32(&b, 0x2c + 0x60u * (uint32_t)i); }
    const char *part = "org.apache.cassandra.dht.Murmur3Partitioner";
    be16(&b, (unsigned)strlen(part)); put(&b, part, strlen(part));
    for (int h = 0; h < 3; h++) {
        be32(&b, 150);
        for (int i = 0; i < 150; i++) {
            be64(&b, i < 8 ? (uint64_t)i : (uint64_t)(i * 1.2));
            be64(&b, h == 0 && i < 64 ? hist[i] : (i % 17 == 0 ? (uint64_t)i : 0));
        }
    }
    be64(&b, clock); be64(&b, clock - 1000000); be32(&b, 0x7fffffff);
    be64(&b, raw_total); be64(&b, written); be32(&b, partitions);
    write_file(dir, COMPONENT("Statistics.db"), b.p, b.n);

    static const char toc[] = "Index.db\nSummary.db\nCompressionInfo.db\nData.db\nTOC.txt\n"
                              "Statistics.db\nDigest.crc32\nFilter.db\n";
    write_file(dir, COMPONENT("TOC.txt"), toc, sizeof toc - 1);
#undef COMPONENT
    free(b.p); free(u.p); free(key.p); free(index.p); free(offsets.p);
    free(summary_keys.p); free(chunk.p);
}

/* The SSTables one table has on one node in version 1: tier sizes jittered
 * per node so replicas are similar but not identical. */
static int plan(int node, int tbl, double sizes[MAX_SST]) {
    rng r = seeded(g_seed, (uint64_t)node + 100, (uint64_t)tbl, 0);
    int n = 3 + (int)below(&r, NTIERS - 2);
    double sum = 0;
    for (int i = 0; i < n; i++) { sizes[i] = tiers[i] * (0.8 + below(&r, 400) / 1000.0); sum += sizes[i]; }
    for (int i = 0; i < n; i++) sizes[i] *= g_node_bytes * tables[tbl].share / sum;
    return n;
}

static void table_dir(char *out, size_t cap, const char *root, int node, int tbl) {
    /* The table id is cluster-wide, so every node uses the same directory name. */
    rng r = seeded(g_seed, 999, (uint64_t)tbl, 0);
    snprintf(out, cap, "%s/node%d/%s/%s-%016llx%016llx", root, node, tables[tbl].keyspace,
             tables[tbl].table, (unsigned long long)next(&r), (unsigned long long)next(&r));
}

static void remove_sstable(const char *dir, int gen) {
    static const char *comps[] = {"CompressionInfo.db", "Data.db", "Digest.crc32", "Filter.db",
                                  "Index.db", "Statistics.db", "Summary.db", "TOC.txt"};
    char path[4096];
    for (size_t i = 0; i < sizeof comps / sizeof *comps; i++) {
        snprintf(path, sizeof path, "%s/nb-%d-big-%s", dir, gen, comps[i]);
        if (unlink(path) && errno != ENOENT) die("unlink", path);
    }
}

static void gen_node(const char *root, int node, int v2) {
    for (int t = 0; t < (int)NTABLES; t++) {
        char dir[4096];
        double sizes[MAX_SST];
        int n = plan(node, t, sizes);
        table_dir(dir, sizeof dir, root, node, t);
        if (!v2) {
            mkdirs(dir);
            for (int g = 0; g < n; g++) sstable(dir, &tables[t], node, t, g + 1, sizes[g]);
            continue;
        }
        /* Version 2: the big tables flush one new SSTable each, and one
         * table per node compacts its two smallest SSTables into one. */
        int gen = n + 1;
        if (tables[t].share > 0.3) {
            sstable(dir, &tables[t], node, t, gen, g_node_bytes * 0.012);
            gen++;
        }
        if (t == node % (int)NTABLES) {
            remove_sstable(dir, n);
            remove_sstable(dir, n - 1);
            sstable(dir, &tables[t], node, t, gen, sizes[n - 1] + sizes[n - 2] * 0.9);
        }
    }
}

int main(int argc, char **argv) {
    int v2 = argc > 1 && !strcmp(argv[1], "-v2");
    if (argc != 4 + v2) {
        fprintf(stderr, "usage: gen_dataset [-v2] ROOT MEGABYTES SEED\n");
        return 2;
    }
    const char *root = argv[1 + v2];
    g_node_bytes = atof(argv[2 + v2]) * 1e6 / NODES;
    g_seed = strtoull(argv[3 + v2], NULL, 10);
    if (g_node_bytes <= 0) { fprintf(stderr, "gen_dataset: MEGABYTES must be positive\n"); return 2; }

    pid_t pids[NODES];
    for (int n = 0; n < NODES; n++) {
        pids[n] = fork();
        if (pids[n] < 0) { perror("gen_dataset: fork"); return 1; }
        if (pids[n] == 0) { gen_node(root, n + 1, v2); _exit(0); }
    }
    int failed = 0;
    for (int n = 0; n < NODES; n++) {
        int st;
        if (waitpid(pids[n], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) failed = 1;
    }
    return failed;
}
