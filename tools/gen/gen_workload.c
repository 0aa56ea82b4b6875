/* gen_workload.c - the stream of CQL writes a cluster receives.
 *
 * Two tables of keyspace gen see what applications do to Cassandra: the
 * wide `readings` table gets rows appended to each sensor's partition of
 * the day (a new partition once a day is full), later overwritten in whole
 * or in part, cells and rows deleted, ranges of a day deleted, static
 * locations changed, now and then a whole partition dropped; the narrow
 * `users` table gets new users, profile updates, collection edits and
 * deletions.  Some writes carry a TTL of 60 s or 30 days.  A wide workload
 * sends all of them to one readings partition, as large as the data set,
 * for what must not grow with a partition's size.  Values mix
 * repetitive text and identifiers with a share of random bytes, so LZ4
 * leaves Data.db at roughly 50-70 % as on real data.
 *
 * Nothing is remembered per row: a row's clustering and a user's id are
 * functions of their coordinates (sensor, day, row number; user number),
 * so later writes can find earlier rows from a few counters, which is all
 * --next needs to continue a data set. */
#include "tools/gen/gen.h"

#include <stdio.h>
#include <string.h>

#define DAY0 20758                 /* 2026-11-01, the first day of readings */
#define TTL_SHORT 60
#define TTL_LONG (30 * 86400)

static const char *const words[] = {
    "sensor", "reading", "nominal", "drift", "calibrated", "offset", "within", "tolerance", "after", "firmware",
    "update", "battery", "low", "signal", "weak", "gateway", "restart", "manual", "check", "ok", "spike",
    "detected", "filtered", "average", "hourly", "daily", "maintenance", "scheduled", "replaced", "probe",
    "humidity", "pressure", "temperature", "flow", "valve", "open", "closed", "alarm", "cleared", "ack",
    "operator", "north", "south", "east", "west", "wing", "line", "pump", "fan", "speed", "high", "normal",
    "the", "and", "of", "to", "in", "on", "was", "is", "for", "by", "at", "a",
};
static const char *const first_names[] = {
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
    "Wei", "Yuki", "Aisha", "Omar", "Priya", "Lars", "Ingrid", "Mateo", "Sofia", "Noah", "Emma", "Liam",
};
static const char *const last_names[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Nakamura", "Larsen",
};
static const char *const domains[] = {"example.com", "mail.example.org", "corp.example.net", "users.example.io"};
static const char *const tag_keys[] = {"unit", "firmware", "status", "source", "quality", "zone"};
static const char *const tag_values[] = {"celsius", "v2.3.1", "ok", "gateway-a", "good", "zone-3",
                                         "kpa", "v2.4.0", "degraded", "gateway-b", "suspect", "zone-7"};
static const char *const pref_keys[] = {"font_size", "items_per_page", "notify", "theme", "timezone_offset"};

#define COUNT(a) (sizeof a / sizeof *a)

/* What the next mutation does, with its weight in 100 000. */
typedef enum {
    R_INSERT, R_OVERWRITE, R_UPDATE, R_TAG, R_CELL_DELETE, R_ROW_DELETE, R_RANGE_DELETE, R_STATIC,
    R_PARTITION_DELETE, U_INSERT, U_OVERWRITE, U_UPDATE, U_PREF, U_RECENT, U_CELL_DELETE, U_DELETE, NKINDS
} kind;

static const int weights[NKINDS] = {45000, 5000, 7000, 2000, 2000, 2000, 400, 1000, 5,
                                    18000, 4000, 7000, 2000, 2000, 2000, 1595};

/* ---- Coordinates ------------------------------------------------------------- */

/* Rows of a full partition of sensor s on day d. */
static int rows_per_day(uint64_t seed, int s, int d) { return 200 + (int)(gen_hash(seed, (uint64_t)s, (uint64_t)d) % 1200); }

void gen_workload_init(gen_workload *w, uint64_t seed, double mb, int wide) {
    *w = (gen_workload){.seed = seed, .clock = GEN_SCHEMA_US + 60 * INT64_C(1000000), .wide = wide};
    w->nsensors = wide ? 1 : 16 + (int)(mb / 4);
    w->sensor_day = xcalloc((size_t)w->nsensors, sizeof *w->sensor_day);
    w->sensor_rows = xcalloc((size_t)w->nsensors, sizeof *w->sensor_rows);
}

void gen_workload_free(gen_workload *w) {
    free(w->sensor_day);
    free(w->sensor_rows);
}

static uint8_t *take(gen_workload *w, size_t n) {
    if (w->used + n > sizeof w->bytes) abort();
    uint8_t *p = w->bytes + w->used;
    w->used += n;
    return p;
}

static sstable_value text(gen_workload *w, const char *s) {
    size_t n = strlen(s);
    uint8_t *p = take(w, n);
    memcpy(p, s, n);
    return (sstable_value){p, n};
}

static sstable_value be32(gen_workload *w, uint32_t v) {
    uint8_t *p = take(w, 4);
    gen_put_be32(p, v);
    return (sstable_value){p, 4};
}

static sstable_value be64(gen_workload *w, uint64_t v) {
    uint8_t *p = take(w, 8);
    gen_put_be64(p, v);
    return (sstable_value){p, 8};
}

static sstable_value words_text(gen_workload *w, gen_rng *rng, int min, int max) {
    char buf[512];
    size_t n = 0;
    int count = min + (int)gen_rng_below(rng, (uint64_t)(max - min + 1));
    for (int i = 0; i < count; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", words[gen_rng_below(rng, COUNT(words))]);
    return text(w, buf);
}

static gen_cell *add_cell(gen_mutation *m, int column) {
    gen_cell *c = &m->cells[m->ncells++];
    *c = (gen_cell){.column = (uint8_t)column};
    return c;
}

/* ---- readings ------------------------------------------------------------------ */

static void readings_key(gen_workload *w, int s, int d, gen_mutation *m) {
    char sensor[48];
    int n = snprintf(sensor, sizeof sensor, "site-%02d/sensor-%05d", s % 13, s);
    uint8_t *p = take(w, (size_t)n + 3 + 7);
    p[0] = 0, p[1] = (uint8_t)n;
    memcpy(p + 2, sensor, (size_t)n);
    p[2 + n] = 0;
    p[3 + n] = 0, p[4 + n] = 4;
    gen_put_be32(p + 5 + n, (uint32_t)(DAY0 + d) + 0x80000000u);
    p[9 + n] = 0;
    m->table = GEN_READINGS;
    m->key = p, m->key_len = (size_t)n + 10;
    m->token = sstable_murmur3_token(m->key, m->key_len);
}

/* Row i of sensor s on day d: one a minute, at a few seconds past it. */
static void readings_clustering(gen_workload *w, int s, int d, int i, sstable_value *out) {
    uint64_t h = gen_hash(w->seed ^ 0x636b, (uint64_t)s << 20 | (uint64_t)d, (uint64_t)i);
    int64_t ms = (int64_t)(DAY0 + d) * 86400000 + (int64_t)i * 60000 + (int64_t)(h % 60000);
    out[0] = be64(w, (uint64_t)ms);
    out[1] = be32(w, (uint32_t)(h >> 32) % 4);
}

static sstable_value reading_value(gen_workload *w, gen_rng *rng) {
    double v = (double)(int)gen_rng_below(rng, 40000) / 100.0 - 50.0;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return be64(w, bits);
}

static void readings_cells(gen_workload *w, gen_rng *rng, gen_mutation *m) {
    if (gen_rng_chance(rng, 0.6)) add_cell(m, GEN_R_NOTE)->value = words_text(w, rng, 2, 9);
    size_t plen = 4 + gen_rng_below(rng, 20);
    uint8_t *p = take(w, plen);
    for (size_t i = 0; i < plen; i++) p[i] = (uint8_t)gen_rng_next(rng);
    add_cell(m, GEN_R_PAYLOAD)->value = (sstable_value){p, plen};
    add_cell(m, GEN_R_VALUE)->value = reading_value(w, rng);
    m->collections_replaced |= 1u << GEN_R_TAGS;
    for (size_t t = 0; t < COUNT(tag_keys); t++)
        if (gen_rng_chance(rng, 0.3)) {
            gen_cell *c = add_cell(m, GEN_R_TAGS);
            c->path = text(w, tag_keys[t]);
            c->value = text(w, tag_values[gen_rng_below(rng, COUNT(tag_values))]);
        }
}

static int32_t pick_ttl(gen_rng *rng, double short_p, double long_p) {
    uint64_t r = gen_rng_below(rng, 10000);
    if (r < short_p * 10000) return TTL_SHORT;
    if (r < (short_p + long_p) * 10000) return TTL_LONG;
    return 0;
}

/* An existing row, recent days more likely; 0 when there is none yet. */
static int pick_reading(gen_workload *w, gen_rng *rng, int *s, int *d, int *i) {
    *s = (int)gen_rng_below(rng, (uint64_t)w->nsensors);
    *d = w->sensor_day[*s];
    while (*d > 0 && gen_rng_chance(rng, 0.5)) (*d)--;
    int rows = *d == w->sensor_day[*s] ? w->sensor_rows[*s] : rows_per_day(w->seed, *s, *d);
    if (!rows) return 0;
    *i = (int)gen_rng_below(rng, (uint64_t)rows);
    return 1;
}

static void readings_insert(gen_workload *w, gen_rng *rng, gen_mutation *m, int s, int d, int i) {
    readings_key(w, s, d, m);
    m->kind = GEN_M_ROW;
    m->nclustering = 2;
    readings_clustering(w, s, d, i, m->clustering);
    m->liveness = 1;
    m->liveness_ttl = pick_ttl(rng, 0.03, 0.06);
    readings_cells(w, rng, m);
    for (size_t c = 0; c < m->ncells; c++) m->cells[c].ttl = m->liveness_ttl;
}

static int readings(gen_workload *w, gen_rng *rng, kind k, gen_mutation *m) {
    int s, d, i;
    if (k == R_INSERT) {
        s = (int)gen_rng_below(rng, (uint64_t)w->nsensors);
        if (!w->wide && w->sensor_rows[s] == rows_per_day(w->seed, s, w->sensor_day[s]))
            w->sensor_day[s]++, w->sensor_rows[s] = 0;
        readings_insert(w, rng, m, s, w->sensor_day[s], w->sensor_rows[s]++);
        return 1;
    }
    if (!pick_reading(w, rng, &s, &d, &i)) return 0;
    if (k == R_OVERWRITE) {
        readings_insert(w, rng, m, s, d, i);
        return 1;
    }
    readings_key(w, s, d, m);
    m->kind = GEN_M_ROW;
    m->nclustering = 2;
    readings_clustering(w, s, d, i, m->clustering);
    switch (k) {
    case R_UPDATE: {
        int32_t ttl = pick_ttl(rng, 0.02, 0.03);
        if (gen_rng_chance(rng, 0.5)) add_cell(m, GEN_R_NOTE)->value = words_text(w, rng, 1, 6);
        add_cell(m, GEN_R_VALUE)->value = reading_value(w, rng);
        for (size_t c = 0; c < m->ncells; c++) m->cells[c].ttl = ttl;
        break;
    }
    case R_TAG: {
        gen_cell *c = add_cell(m, GEN_R_TAGS);
        c->path = text(w, tag_keys[gen_rng_below(rng, COUNT(tag_keys))]);
        if (gen_rng_chance(rng, 0.2)) c->deleted = 1;
        else c->value = text(w, tag_values[gen_rng_below(rng, COUNT(tag_values))]);
        break;
    }
    case R_CELL_DELETE:
        add_cell(m, gen_rng_chance(rng, 0.5) ? GEN_R_NOTE : GEN_R_VALUE)->deleted = 1;
        break;
    case R_ROW_DELETE:
        m->row_deleted = 1;
        break;
    case R_RANGE_DELETE: {
        /* DELETE ... WHERE ts >= a AND ts <= b: up to an hour of readings */
        sstable_value end[2];
        readings_clustering(w, s, d, i + (int)gen_rng_below(rng, 60), end);
        m->kind = GEN_M_RANGE;
        m->nclustering = 1, m->nend = 1;
        m->end[0] = end[0];
        break;
    }
    case R_STATIC: {
        char loc[64];
        snprintf(loc, sizeof loc, "building %d, floor %d, room %d%02d", s % 7 + 1, (int)gen_rng_below(rng, 12),
                 (int)gen_rng_below(rng, 9) + 1, (int)gen_rng_below(rng, 40));
        m->kind = GEN_M_STATIC;
        m->nclustering = 0;
        add_cell(m, GEN_R_LOCATION)->value = text(w, loc);
        break;
    }
    default: /* R_PARTITION_DELETE */
        m->kind = GEN_M_PARTITION;
        m->nclustering = 0;
        break;
    }
    return 1;
}

/* ---- users ------------------------------------------------------------------------ */

static void user_key(gen_workload *w, uint64_t u, gen_mutation *m) {
    uint8_t *p = take(w, 16);
    gen_put_be64(p, gen_hash(w->seed ^ 0x75736572, u, 1));
    gen_put_be64(p + 8, gen_hash(w->seed ^ 0x75736572, u, 2));
    p[6] = (uint8_t)(0x40 | (p[6] & 0x0f)); /* version 4 */
    p[8] = (uint8_t)(0x80 | (p[8] & 0x3f));
    m->table = GEN_USERS;
    m->kind = GEN_M_ROW;
    m->key = p, m->key_len = 16;
    m->token = sstable_murmur3_token(p, 16);
}

static void user_recent(gen_workload *w, gen_rng *rng, gen_mutation *m, int k) {
    gen_cell *c = add_cell(m, GEN_U_RECENT);
    uint8_t *p = take(w, 16);
    gen_timeuuid(p, m->timestamp + k, gen_hash(w->seed, 0x6c697374, 0));
    c->path = (sstable_value){p, 16};
    c->value = be32(w, (uint32_t)gen_rng_below(rng, 100000));
}

static void user_insert(gen_workload *w, gen_rng *rng, gen_mutation *m, uint64_t u) {
    user_key(w, u, m);
    m->liveness = 1;
    m->liveness_ttl = pick_ttl(rng, 0.02, 0.04);
    const char *first = first_names[gen_hash(w->seed, u, 3) % COUNT(first_names)];
    const char *last = last_names[gen_hash(w->seed, u, 4) % COUNT(last_names)];
    char buf[128];
    uint8_t *active = take(w, 1);
    *active = (uint8_t)gen_rng_chance(rng, 0.8);
    add_cell(m, GEN_U_ACTIVE)->value = (sstable_value){active, 1};
    add_cell(m, GEN_U_AGE)->value = be32(w, 18 + (uint32_t)gen_rng_below(rng, 70));
    snprintf(buf, sizeof buf, "%c%s.%s%llu@%s", first[0] + 32, first + 1, last, (unsigned long long)(u % 1000),
             domains[gen_hash(w->seed, u, 5) % COUNT(domains)]);
    for (char *c = buf; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
    add_cell(m, GEN_U_EMAIL)->value = text(w, buf);
    snprintf(buf, sizeof buf, "%s %s", first, last);
    add_cell(m, GEN_U_NAME)->value = text(w, buf);
    add_cell(m, GEN_U_SCORE)->value = be64(w, gen_rng_below(rng, 1000000));
    m->collections_replaced = 1u << GEN_U_PREFS | 1u << GEN_U_RECENT;
    for (size_t k = 0; k < COUNT(pref_keys); k++)
        if (gen_rng_chance(rng, 0.4)) {
            gen_cell *c = add_cell(m, GEN_U_PREFS);
            c->path = text(w, pref_keys[k]);
            c->value = be32(w, (uint32_t)gen_rng_below(rng, 100));
        }
    int nrecent = (int)gen_rng_below(rng, 5);
    for (int k = 0; k < nrecent; k++) user_recent(w, rng, m, k);
    for (size_t c = 0; c < m->ncells; c++) m->cells[c].ttl = m->liveness_ttl;
}

static int users(gen_workload *w, gen_rng *rng, kind k, gen_mutation *m) {
    if (k == U_INSERT || !w->nusers) {
        user_insert(w, rng, m, w->nusers++);
        return 1;
    }
    uint64_t u = gen_rng_below(rng, w->nusers);
    if (gen_rng_chance(rng, 0.5)) u = w->nusers - 1 - gen_rng_below(rng, w->nusers < 1000 ? w->nusers : 1000);
    if (k == U_OVERWRITE) {
        user_insert(w, rng, m, u);
        return 1;
    }
    user_key(w, u, m);
    switch (k) {
    case U_UPDATE: {
        int32_t ttl = pick_ttl(rng, 0.01, 0.03);
        add_cell(m, GEN_U_SCORE)->value = be64(w, gen_rng_below(rng, 1000000));
        if (gen_rng_chance(rng, 0.3)) add_cell(m, GEN_U_AGE)->value = be32(w, 18 + (uint32_t)gen_rng_below(rng, 70));
        for (size_t c = 0; c < m->ncells; c++) m->cells[c].ttl = ttl;
        break;
    }
    case U_PREF: {
        gen_cell *c = add_cell(m, GEN_U_PREFS);
        c->path = text(w, pref_keys[gen_rng_below(rng, COUNT(pref_keys))]);
        if (gen_rng_chance(rng, 0.2)) c->deleted = 1;
        else c->value = be32(w, (uint32_t)gen_rng_below(rng, 100));
        break;
    }
    case U_RECENT:
        user_recent(w, rng, m, 0);
        break;
    case U_CELL_DELETE:
        add_cell(m, gen_rng_chance(rng, 0.5) ? GEN_U_EMAIL : GEN_U_SCORE)->deleted = 1;
        break;
    default: /* U_DELETE: a table without clustering deletes its partition */
        m->kind = GEN_M_PARTITION;
        break;
    }
    return 1;
}

void gen_workload_next(gen_workload *w, gen_rng *rng, gen_mutation *m) {
    /* a wide partition takes no partition deletion, which would leave
     * the merge little of it to hold */
    int total = 0, kinds = w->wide ? R_PARTITION_DELETE : NKINDS;
    for (int k = 0; k < kinds; k++) total += weights[k];
    for (;;) {
        w->clock += 1 + (int64_t)gen_rng_below(rng, 400);
        *m = (gen_mutation){.timestamp = w->clock, .now = w->clock / 1000000};
        w->used = 0;
        int r = (int)gen_rng_below(rng, (uint64_t)total), k = 0;
        while (r >= weights[k]) r -= weights[k++];
        if (k < U_INSERT ? readings(w, rng, (kind)k, m) : users(w, rng, (kind)k, m)) return;
    }
}
