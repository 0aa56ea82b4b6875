/* value.c - raw Cassandra values as JSON, in the style of sstabledump.
 *
 * Numbers become JSON numbers (varint and decimal become exact decimal
 * strings when they do not fit), text stays text, uuids, addresses, dates
 * and times become their usual strings, blobs "0x…", frozen collections,
 * tuples and user types arrays and objects.  Counter cells hold a counter
 * context (per-shard id, clock, count); its total is shown.  A value that
 * does not decode as its type is shown as hex rather than rejected, so a
 * dump never hides bytes. */
#include "engine/sstable/sstable_int.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static json_t *hex_json(const uint8_t *p, size_t len) {
    char *s = xmalloc(2 * len + 3);
    s[0] = '0', s[1] = 'x';
    strata_hex(p, len, s + 2);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static int64_t be_signed(const uint8_t *p, size_t len) {
    uint64_t v = len && (p[0] & 0x80) ? UINT64_MAX : 0;
    for (size_t i = 0; i < len; i++) v = (v << 8) | p[i];
    return (int64_t)v;
}

/* Decimal digits of a big-endian two's-complement integer of any length. */
static char *bigint_decimal(const uint8_t *p, size_t len) {
    int neg = len && (p[0] & 0x80);
    uint8_t *mag = xmalloc(len ? len : 1);
    memcpy(mag, p, len);
    if (neg) { /* two's complement negate */
        for (size_t i = 0; i < len; i++) mag[i] = (uint8_t)~mag[i];
        for (size_t i = len; i-- > 0;)
            if (++mag[i]) break;
    }
    char *digits = xmalloc(len * 3 + 3);
    size_t nd = 0;
    size_t start = 0;
    for (;;) {
        while (start < len && mag[start] == 0) start++;
        if (start == len) break;
        unsigned rem = 0;
        for (size_t i = start; i < len; i++) {
            unsigned cur = rem * 256 + mag[i];
            mag[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
        }
        digits[nd++] = (char)('0' + rem);
    }
    if (!nd) digits[nd++] = '0';
    char *out = xmalloc(nd + 2);
    size_t o = 0;
    if (neg) out[o++] = '-';
    while (nd) out[o++] = digits[--nd];
    out[o] = 0;
    free(mag);
    free(digits);
    return out;
}

static json_t *decimal_json(const uint8_t *p, size_t len) {
    if (len < 4) return NULL;
    int32_t scale = (int32_t)be_signed(p, 4);
    char *digits = bigint_decimal(p + 4, len - 4);
    int neg = digits[0] == '-';
    const char *d = digits + neg;
    size_t nd = strlen(d);
    const char *sign = neg ? "-" : "";
    char *out;
    if (scale == 0) {
        out = xasprintf("%s%s", sign, d);
    } else if (scale < 0) {
        out = xasprintf("%s%sE+%d", sign, d, -scale);
    } else if ((size_t)scale < nd) {
        out = xasprintf("%s%.*s.%s", sign, (int)(nd - (size_t)scale), d, d + nd - (size_t)scale);
    } else if (scale <= 1000) {
        size_t zeros = (size_t)scale - nd;
        out = xmalloc(zeros + nd + 4);
        size_t o = (size_t)sprintf(out, "%s0.", sign);
        memset(out + o, '0', zeros);
        strcpy(out + o + zeros, d);
    } else {
        out = xasprintf("%s%sE-%d", sign, d, scale);
    }
    free(digits);
    json_t *j = json_string(out);
    free(out);
    return j;
}

static json_t *uuid_json(const uint8_t *p) {
    char hex[33], s[37];
    strata_hex(p, 16, hex);
    snprintf(s, sizeof s, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return json_string(s);
}

static json_t *timestamp_json(int64_t ms) {
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) frac += 1000, secs--;
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return json_integer(ms);
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return json_string(buf);
}

/* date: unsigned days with the epoch at 2^31. */
static json_t *date_json(uint32_t days) {
    time_t t = (time_t)(((int64_t)days - (int64_t)(1u << 31)) * 86400);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return json_integer(days);
    char buf[32];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return json_string(buf);
}

static json_t *time_json(int64_t ns) {
    char buf[48];
    snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%09lld", (long long)(ns / 3600000000000LL),
             (long long)(ns / 60000000000LL % 60), (long long)(ns / 1000000000LL % 60),
             (long long)(ns % 1000000000LL));
    return json_string(buf);
}

static json_t *duration_json(const uint8_t *p, size_t len) {
    sst_cur c;
    sst_cur_init(&c, p, len);
    int64_t months = sst_svint(&c), days = sst_svint(&c), nanos = sst_svint(&c);
    if (c.failed || sst_cur_left(&c)) return NULL;
    /* Cassandra's spelling: sign, then y mo d h m s ms us ns, zero units left out */
    static const struct {
        uint64_t unit;
        const char *sym;
    } nano_units[] = {{3600000000000ULL, "h"}, {60000000000ULL, "m"}, {1000000000ULL, "s"},
                      {1000000ULL, "ms"},      {1000ULL, "us"},       {1, "ns"}};
    char buf[160];
    size_t n = 0;
    if (months < 0 || days < 0 || nanos < 0) buf[n++] = '-';
    uint64_t m = (uint64_t)(months < 0 ? -months : months), d = (uint64_t)(days < 0 ? -days : days);
    if (m / 12) n += (size_t)snprintf(buf + n, sizeof buf - n, "%lluy", (unsigned long long)(m / 12));
    if (m % 12) n += (size_t)snprintf(buf + n, sizeof buf - n, "%llumo", (unsigned long long)(m % 12));
    if (d) n += (size_t)snprintf(buf + n, sizeof buf - n, "%llud", (unsigned long long)d);
    uint64_t rest = (uint64_t)(nanos < 0 ? -nanos : nanos);
    for (size_t i = 0; i < sizeof nano_units / sizeof nano_units[0]; i++) {
        uint64_t u = nano_units[i].unit;
        if (rest / u)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%llu%s", (unsigned long long)(rest / u), nano_units[i].sym);
        rest %= u;
    }
    if (n == 0 || (n == 1 && buf[0] == '-')) n = (size_t)snprintf(buf, sizeof buf, "0s");
    buf[n] = 0;
    return json_string(buf);
}

static json_t *inet_json(const uint8_t *p, size_t len) {
    char buf[INET6_ADDRSTRLEN];
    if (len == 4 && inet_ntop(AF_INET, p, buf, sizeof buf)) return json_string(buf);
    if (len == 16 && inet_ntop(AF_INET6, p, buf, sizeof buf)) return json_string(buf);
    return NULL;
}

/* A counter context: int16 header count, that many int16 shard indexes,
 * then shards of (16-byte counter id, int64 clock, int64 count). */
static json_t *counter_json(const uint8_t *p, size_t len) {
    if (len == 8) return json_integer(be_signed(p, 8));
    if (len < 2) return NULL;
    int16_t nh = (int16_t)be_signed(p, 2);
    if (nh < 0 || len < 2 + (size_t)nh * 2 || (len - 2 - (size_t)nh * 2) % 32) return NULL;
    int64_t total = 0;
    for (size_t off = 2 + (size_t)nh * 2; off < len; off += 32)
        total += be_signed(p + off + 24, 8);
    return json_integer(total);
}

static json_t *real_json(double d) {
    if (isnan(d)) return json_string("NaN");
    if (isinf(d)) return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

static json_t *text_json(const uint8_t *p, size_t len) {
    json_t *j = json_stringn((const char *)p, len);
    return j ? j : hex_json(p, len);
}

/* Elements of a frozen collection, tuple or UDT: int32 length + bytes,
 * a negative length meaning null. */
static int next_element(sst_cur *c, const uint8_t **p, size_t *len) {
    int32_t n = (int32_t)sst_u32(c);
    if (c->failed) return -1;
    if (n < 0) {
        *p = NULL;
        *len = 0;
        return 0;
    }
    *p = sst_take(c, (size_t)n);
    *len = (size_t)n;
    return *p ? 0 : -1;
}

static json_t *element_json(const sstable_type *t, const uint8_t *p, size_t len) {
    return p ? sstable_value_json(t, p, len) : json_null();
}

static char *json_key(json_t *k) {
    if (json_is_string(k)) return xstrdup(json_string_value(k));
    char *s = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
    char *r = xstrdup(s ? s : "?");
    free(s);
    return r;
}

static json_t *collection_json(const sstable_type *t, const uint8_t *p, size_t len) {
    sst_cur c;
    sst_cur_init(&c, p, len);
    int32_t n = (int32_t)sst_u32(&c);
    if (c.failed || n < 0 || (size_t)n > len) return NULL;
    json_t *out = t->kind == SSTABLE_T_MAP ? json_object() : json_array();
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *ep;
        size_t el;
        if (next_element(&c, &ep, &el)) goto bad;
        if (t->kind == SSTABLE_T_MAP) {
            const uint8_t *vp;
            size_t vl;
            if (next_element(&c, &vp, &vl)) goto bad;
            json_t *k = element_json(t->params[0], ep, el);
            char *ks = json_key(k);
            json_decref(k);
            json_object_set_new(out, ks, element_json(t->params[1], vp, vl));
            free(ks);
        } else {
            json_array_append_new(out, element_json(t->params[0], ep, el));
        }
    }
    if (sst_cur_left(&c)) goto bad;
    return out;
bad:
    json_decref(out);
    return NULL;
}

static json_t *tuple_json(const sstable_type *t, const uint8_t *p, size_t len) {
    sst_cur c;
    sst_cur_init(&c, p, len);
    json_t *out = t->kind == SSTABLE_T_UDT ? json_object() : json_array();
    for (size_t i = 0; i < t->nparams; i++) {
        const uint8_t *ep = NULL;
        size_t el = 0;
        if (sst_cur_left(&c) && next_element(&c, &ep, &el)) {
            json_decref(out);
            return NULL;
        }
        json_t *v = element_json(t->params[i], ep, el);
        if (t->kind == SSTABLE_T_UDT) json_object_set_new(out, t->field_names[i], v);
        else json_array_append_new(out, v);
    }
    if (sst_cur_left(&c)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int sstable_key_split(const sstable_type *key_type, const uint8_t *key, size_t len,
                      sstable_value *parts, size_t max) {
    if (key_type->kind != SSTABLE_T_COMPOSITE) {
        if (max < 1) return -1;
        parts[0].p = key;
        parts[0].len = len;
        return 1;
    }
    sst_cur c;
    sst_cur_init(&c, key, len);
    size_t n = 0;
    while (sst_cur_left(&c)) {
        uint16_t l = sst_u16(&c);
        const uint8_t *p = sst_take(&c, l);
        sst_u8(&c); /* end-of-component byte */
        if (c.failed || n >= max) return -1;
        parts[n].p = p;
        parts[n].len = l;
        n++;
    }
    return (int)n;
}

static json_t *composite_json(const sstable_type *t, const uint8_t *p, size_t len) {
    sstable_value parts[64];
    int n = sstable_key_split(t, p, len, parts, 64);
    if (n < 0 || (size_t)n > t->nparams) return NULL;
    json_t *out = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(out, sstable_value_json(t->params[i], parts[i].p, parts[i].len));
    return out;
}

static json_t *decode(const sstable_type *t, const uint8_t *p, size_t len) {
    switch (t->kind) {
    case SSTABLE_T_ASCII:
    case SSTABLE_T_TEXT: return text_json(p, len);
    case SSTABLE_T_INT: return len == 4 ? json_integer(be_signed(p, 4)) : NULL;
    case SSTABLE_T_BIGINT: return len == 8 ? json_integer(be_signed(p, 8)) : NULL;
    case SSTABLE_T_SMALLINT: return len == 2 ? json_integer(be_signed(p, 2)) : NULL;
    case SSTABLE_T_TINYINT: return len == 1 ? json_integer(be_signed(p, 1)) : NULL;
    case SSTABLE_T_VARINT: {
        if (len <= 8) return json_integer(be_signed(p, len));
        char *s = bigint_decimal(p, len);
        json_t *j = json_string(s);
        free(s);
        return j;
    }
    case SSTABLE_T_DECIMAL: return decimal_json(p, len);
    case SSTABLE_T_FLOAT: {
        if (len != 4) return NULL;
        uint32_t bits = (uint32_t)be_signed(p, 4);
        float f;
        memcpy(&f, &bits, 4);
        return real_json(f);
    }
    case SSTABLE_T_DOUBLE: {
        if (len != 8) return NULL;
        uint64_t bits = (uint64_t)be_signed(p, 8);
        double d;
        memcpy(&d, &bits, 8);
        return real_json(d);
    }
    case SSTABLE_T_BOOLEAN: return len == 1 ? json_boolean(p[0] != 0) : NULL;
    case SSTABLE_T_UUID:
    case SSTABLE_T_TIMEUUID: return len == 16 ? uuid_json(p) : NULL;
    case SSTABLE_T_TIMESTAMP: return len == 8 ? timestamp_json(be_signed(p, 8)) : NULL;
    case SSTABLE_T_DATE: return len == 4 ? date_json((uint32_t)be_signed(p, 4)) : NULL;
    case SSTABLE_T_TIME: return len == 8 ? time_json(be_signed(p, 8)) : NULL;
    case SSTABLE_T_DURATION: return duration_json(p, len);
    case SSTABLE_T_INET: return inet_json(p, len);
    case SSTABLE_T_COUNTER: return counter_json(p, len);
    case SSTABLE_T_EMPTY: return json_null();
    case SSTABLE_T_LIST:
    case SSTABLE_T_SET:
    case SSTABLE_T_MAP: return collection_json(t, p, len);
    case SSTABLE_T_TUPLE:
    case SSTABLE_T_UDT: return tuple_json(t, p, len);
    case SSTABLE_T_COMPOSITE: return composite_json(t, p, len);
    default: return NULL;
    }
}

json_t *sstable_value_json(const sstable_type *t, const uint8_t *p, size_t len) {
    if (!p) return json_null();
    if (len == 0 && t->kind != SSTABLE_T_TEXT && t->kind != SSTABLE_T_ASCII && t->kind != SSTABLE_T_BLOB)
        return json_string("");
    json_t *j = decode(t, p, len);
    return j ? j : hex_json(p, len);
}
