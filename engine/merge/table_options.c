/* table_options.c - a table's WITH options as Cassandra 4.0 prints them
 * (TableParams.appendCqlTo), from what system_schema.tables stores.
 *
 * Most are printed as stored.  The speculative retry policies and the read
 * repair strategy are parsed and printed again by Cassandra, so text an
 * older version stored ("99PERCENTILE", "NONE") comes out respelled. */
#include "engine/merge/merge_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* One policy of speculative_retry or additional_write_policy, "99p" or
 * "50ms" in any case, respelled; *kind 'p' or 'm'.  NULL when invalid. */
static char *retry_single(const char *s, char *kind) {
    size_t n = strspn(s, "0123456789.");
    char *end;
    double v = n ? strtod(s, &end) : 0;
    if (!n || end != s + n) return NULL;
    if (!strcasecmp(s + n, "p") || !strcasecmp(s + n, "percentile")) {
        /* DecimalFormat("#.####"): no leading zero before the point */
        char text[64];
        snprintf(text, sizeof text, "%.4f", v);
        size_t len = strlen(text);
        while (text[len - 1] == '0') text[--len] = 0;
        if (text[len - 1] == '.') text[--len] = 0;
        *kind = 'p';
        return xasprintf("%sp", strcmp(text, "0") && !strncmp(text, "0.", 2) ? text + 1 : text);
    }
    if (!strcasecmp(s + n, "ms") && v < 2147483648.0) {
        *kind = 'm';
        return xasprintf("%dms", (int)v);
    }
    return NULL;
}

/* SpeculativeRetryPolicy.fromString(s).toString(): the stored text as
 * Cassandra prints it ("99PERCENTILE" as "99p", "NONE" as "NEVER",
 * "max(50ms, 99p)" as "MAX(99p,50ms)"); kept as is when invalid. */
static char *retry_policy(const char *s) {
    if (!strcasecmp(s, "ALWAYS")) return xstrdup("ALWAYS");
    if (!strcasecmp(s, "NEVER") || !strcasecmp(s, "NONE")) return xstrdup("NEVER");
    char kind, kind2;
    char *one = retry_single(s, &kind);
    if (one) return one;
    size_t n = strlen(s);
    if (n < 6 || s[3] != '(' || s[n - 1] != ')' || (strncasecmp(s, "MIN", 3) && strncasecmp(s, "MAX", 3)))
        return xstrdup(s);
    /* MIN|MAX(<policy>\s*,\s*<policy>) */
    char *args = xstrndup(s + 4, n - 5), *comma = strchr(args, ',');
    char *a = NULL, *b = NULL;
    if (comma) {
        const char *space = " \t\n\v\f\r";
        char *end = comma;
        while (end > args && strchr(space, end[-1])) end--;
        *end = 0;
        a = retry_single(args, &kind);
        b = retry_single(comma + 1 + strspn(comma + 1, space), &kind2);
    }
    char *out = a && b && kind != kind2 ? xasprintf("%c%c%c(%s,%s)", toupper((unsigned char)s[0]),
                                                    toupper((unsigned char)s[1]), toupper((unsigned char)s[2]),
                                                    kind == 'p' ? a : b, kind == 'p' ? b : a)
                                        : xstrdup(s);
    free(a), free(b), free(args);
    return out;
}

static void put_policy(strata_buf *b, const char *stored) {
    char *policy = retry_policy(stored);
    merge_cql_string(b, policy);
    free(policy);
}

static void option(strata_buf *b, const char *name) {
    merge_buf_puts(b, "\n    AND ");
    merge_buf_puts(b, name);
    merge_buf_puts(b, " = ");
}

static void int_option(strata_buf *b, const char *name, int32_t value) {
    char num[16];
    snprintf(num, sizeof num, "%d", (int)value);
    option(b, name);
    merge_buf_puts(b, num);
}

/* TableParams.appendCqlTo: every option, in alphabetical order; a view
 * has no default_time_to_live (its rows expire with the base table's). */
void merge_cql_table_options(strata_buf *b, const merge_table_params *p, int is_view) {
    merge_buf_puts(b, "additional_write_policy = ");
    put_policy(b, p->additional_write_policy);
    option(b, "bloom_filter_fp_chance");
    merge_java_double(p->bloom_filter_fp_chance, b);
    option(b, "caching");
    merge_cql_map(b, &p->caching, 1);
    option(b, "cdc");
    merge_buf_puts(b, p->cdc ? "true" : "false");
    option(b, "comment");
    merge_cql_string(b, p->comment);
    option(b, "compaction");
    merge_cql_map(b, &p->compaction, 1);
    option(b, "compression");
    merge_cql_map(b, &p->compression, 1);
    option(b, "crc_check_chance");
    merge_java_double(p->crc_check_chance, b);
    if (!is_view) int_option(b, "default_time_to_live", p->default_time_to_live);
    option(b, "extensions");
    merge_cql_map(b, &p->extensions, 0);
    int_option(b, "gc_grace_seconds", p->gc_grace_seconds);
    int_option(b, "max_index_interval", p->max_index_interval);
    int_option(b, "memtable_flush_period_in_ms", p->memtable_flush_period_in_ms);
    int_option(b, "min_index_interval", p->min_index_interval);
    /* ReadRepairStrategy.fromString upper-cases */
    char *rr = xstrdup(p->read_repair);
    for (char *c = rr; *c; c++) *c = (char)toupper((unsigned char)*c);
    option(b, "read_repair");
    merge_cql_string(b, rr);
    free(rr);
    option(b, "speculative_retry");
    put_policy(b, p->speculative_retry);
}
