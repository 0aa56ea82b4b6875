/* cql_text.c - the spellings Cassandra's CqlBuilder gives the pieces of a
 * CQL statement: identifiers quoted only when they must be, string
 * literals, option maps, and doubles as Java prints them.
 *
 * schema.cql is compared byte for byte with what Cassandra wrote, so these
 * follow Cassandra 4.0 exactly, quirks included (a map's keys sorted as a
 * TreeMap sorts them, the keyword list of reserved_keywords.txt). */
#include "engine/merge/merge_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

void merge_buf_puts(strata_buf *b, const char *s) { strata_buf_put(b, s, strlen(s)); }

/* Words CQL reserves: an identifier spelled like one must be quoted. */
static const char *const RESERVED[] = {
    "ADD",      "ALLOW",     "ALTER",        "AND",       "APPLY",    "ASC",   "AUTHORIZE", "BATCH",
    "BEGIN",    "BY",        "COLUMNFAMILY", "CREATE",    "DELETE",   "DESC",  "DESCRIBE",  "DROP",
    "ENTRIES",  "EXECUTE",   "FROM",         "FULL",      "GRANT",    "IF",    "IN",        "INDEX",
    "INFINITY", "INSERT",    "INTO",         "IS",        "KEYSPACE", "LIMIT", "MATERIALIZED", "MODIFY",
    "NAN",      "NORECURSIVE", "NOT",        "NULL",      "OF",       "ON",    "OR",        "ORDER",
    "PRIMARY",  "RENAME",    "REVOKE",       "SCHEMA",    "SELECT",   "SET",   "TABLE",     "TO",
    "TOKEN",    "TRUNCATE",  "UNLOGGED",     "UPDATE",    "USE",      "USING", "VIEW",      "WHERE",
    "WITH",
};

static int is_reserved(const char *name) {
    for (size_t i = 0; i < sizeof RESERVED / sizeof *RESERVED; i++)
        if (!strcasecmp(name, RESERVED[i])) return 1;
    return 0;
}

/* ColumnIdentifier.maybeQuote: bare when it matches [a-z][a-z0-9_]* and is
 * no reserved word, else in double quotes with inner ones doubled. */
void merge_cql_identifier(strata_buf *b, const char *name) {
    int bare = name[0] >= 'a' && name[0] <= 'z';
    for (const char *p = name; bare && *p; p++)
        bare = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (bare && !is_reserved(name)) return merge_buf_puts(b, name);
    strata_buf_put(b, "\"", 1);
    for (const char *p = name; *p; p++) {
        if (*p == '"') strata_buf_put(b, "\"\"", 2);
        else strata_buf_put(b, p, 1);
    }
    strata_buf_put(b, "\"", 1);
}

void merge_cql_string(strata_buf *b, const char *s) {
    strata_buf_put(b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '\'') strata_buf_put(b, "''", 2);
        else strata_buf_put(b, p, 1);
    }
    strata_buf_put(b, "'", 1);
}

/* {'k': 'v', ...}.  Keys come sorted by bytes, which for the option names
 * Cassandra knows is the TreeMap order it prints them in. */
void merge_cql_map(strata_buf *b, const merge_map *m, int quote_values) {
    strata_buf_put(b, "{", 1);
    for (size_t i = 0; i < m->n; i++) {
        if (i) merge_buf_puts(b, ", ");
        merge_cql_string(b, m->pairs[i].key);
        merge_buf_puts(b, ": ");
        if (quote_values) merge_cql_string(b, m->pairs[i].value);
        else merge_buf_puts(b, m->pairs[i].value);
    }
    strata_buf_put(b, "}", 1);
}

/* The shortest decimal digits that read back as d, and the exponent of the
 * first one (d = D.DDD x 10^exp). */
static void shortest_digits(double d, char *digits, int *exp) {
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    size_t n = 0;
    const char *p = buf + (buf[0] == '-');
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    *exp = atoi(p + 1);
}

void merge_java_double(double d, strata_buf *out) {
    char digits[24], text[40];
    int exp;
    if (isnan(d) || isinf(d)) {
        const char *s = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        strata_buf_put(out, s, strlen(s));
        return;
    }
    if (signbit(d)) strata_buf_put(out, "-", 1), d = -d;
    if (d == 0) {
        strata_buf_put(out, "0.0", 3);
        return;
    }
    shortest_digits(d, digits, &exp);
    int nd = (int)strlen(digits);
    if (exp < -3 || exp >= 7) {
        int n = snprintf(text, sizeof text, "%c.%sE%d", digits[0], nd > 1 ? digits + 1 : "0", exp);
        strata_buf_put(out, text, (size_t)n);
    } else if (exp < 0) {
        strata_buf_put(out, "0.", 2);
        for (int i = 0; i < -exp - 1; i++) strata_buf_put(out, "0", 1);
        strata_buf_put(out, digits, (size_t)nd);
    } else {
        for (int i = 0; i <= exp; i++) strata_buf_put(out, i < nd ? &digits[i] : "0", 1);
        strata_buf_put(out, ".", 1);
        if (nd > exp + 1) strata_buf_put(out, digits + exp + 1, (size_t)(nd - exp - 1));
        else strata_buf_put(out, "0", 1);
    }
}
