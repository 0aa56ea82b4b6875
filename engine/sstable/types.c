/* types.c - Cassandra type names (AbstractType strings) as a type tree.
 *
 * Statistics.db names every column's type by its Java class, with
 * parameters in parentheses: "org.apache.cassandra.db.marshal.MapType(
 * org.apache.cassandra.db.marshal.UTF8Type,...)".  User types carry their
 * keyspace, hex-encoded name and hex-encoded "field:type" parameters.  The
 * tree tells the decoder which values have a fixed width and which columns
 * are multi-cell, and tells the JSON renderer how to show a value. */
#include "engine/sstable/sstable_int.h"

#include <ctype.h>
#include <string.h>

static const struct {
    const char *cls;
    sstable_type_kind kind;
    int fixed;
    const char *cql;
} simple_types[] = {
    {"AsciiType", SSTABLE_T_ASCII, -1, "ascii"},
    {"UTF8Type", SSTABLE_T_TEXT, -1, "text"},
    {"Int32Type", SSTABLE_T_INT, 4, "int"},
    {"LongType", SSTABLE_T_BIGINT, 8, "bigint"},
    {"ShortType", SSTABLE_T_SMALLINT, -1, "smallint"},
    {"ByteType", SSTABLE_T_TINYINT, -1, "tinyint"},
    {"IntegerType", SSTABLE_T_VARINT, -1, "varint"},
    {"DecimalType", SSTABLE_T_DECIMAL, -1, "decimal"},
    {"FloatType", SSTABLE_T_FLOAT, 4, "float"},
    {"DoubleType", SSTABLE_T_DOUBLE, 8, "double"},
    {"BooleanType", SSTABLE_T_BOOLEAN, 1, "boolean"},
    {"BytesType", SSTABLE_T_BLOB, -1, "blob"},
    {"UUIDType", SSTABLE_T_UUID, 16, "uuid"},
    {"LexicalUUIDType", SSTABLE_T_UUID, 16, "uuid"},
    {"TimeUUIDType", SSTABLE_T_TIMEUUID, 16, "timeuuid"},
    {"TimestampType", SSTABLE_T_TIMESTAMP, 8, "timestamp"},
    {"DateType", SSTABLE_T_TIMESTAMP, 8, "timestamp"},
    {"SimpleDateType", SSTABLE_T_DATE, -1, "date"},
    {"TimeType", SSTABLE_T_TIME, -1, "time"},
    {"DurationType", SSTABLE_T_DURATION, -1, "duration"},
    {"InetAddressType", SSTABLE_T_INET, -1, "inet"},
    {"CounterColumnType", SSTABLE_T_COUNTER, -1, "counter"},
    {"EmptyType", SSTABLE_T_EMPTY, 0, "empty"},
};

typedef struct {
    const char *p;
    int depth;
    int failed;
} type_parser;

static sstable_type *parse_type(type_parser *tp);

static void skip_space(type_parser *tp) {
    while (*tp->p == ' ') tp->p++;
}

/* A class name or parameter word: up to '(' ',' ')' or the end. */
static char *parse_word(type_parser *tp) {
    skip_space(tp);
    const char *s = tp->p;
    while (*tp->p && *tp->p != '(' && *tp->p != ',' && *tp->p != ')') tp->p++;
    const char *e = tp->p;
    while (e > s && e[-1] == ' ') e--;
    return xstrndup(s, (size_t)(e - s));
}

static char *unhex_name(const char *hex) {
    size_t n = strlen(hex) / 2;
    uint8_t *out = xmalloc(n + 1);
    if (strlen(hex) % 2 || strata_unhex(hex, out, n) != 0) {
        free(out);
        return xstrdup(hex);
    }
    out[n] = 0;
    return (char *)out;
}

static void add_param(sstable_type *t, sstable_type *p, char *field) {
    t->params = xrealloc(t->params, (t->nparams + 1) * sizeof *t->params);
    t->params[t->nparams] = p;
    if (t->kind == SSTABLE_T_UDT) {
        t->field_names = xrealloc(t->field_names, (t->nparams + 1) * sizeof *t->field_names);
        t->field_names[t->nparams] = field;
    }
    t->nparams++;
}

/* UserType(keyspace,hexname,hexfield:type,...) */
static int parse_udt_params(type_parser *tp, sstable_type *t) {
    t->udt_keyspace = parse_word(tp);
    if (*tp->p != ',') return -1;
    tp->p++;
    char *hexname = parse_word(tp);
    t->udt_name = unhex_name(hexname);
    free(hexname);
    while (*tp->p == ',') {
        tp->p++;
        skip_space(tp);
        const char *colon = strchr(tp->p, ':');
        if (!colon) return -1;
        char *hex = xstrndup(tp->p, (size_t)(colon - tp->p));
        char *field = unhex_name(hex);
        free(hex);
        tp->p = colon + 1;
        sstable_type *ft = parse_type(tp);
        if (!ft) {
            free(field);
            return -1;
        }
        add_param(t, ft, field);
    }
    return 0;
}

static int parse_params(type_parser *tp, sstable_type *t) {
    if (t->kind == SSTABLE_T_UDT) return parse_udt_params(tp, t);
    for (;;) {
        sstable_type *p = parse_type(tp);
        if (!p) return -1;
        add_param(t, p, NULL);
        if (*tp->p != ',') return 0;
        tp->p++;
    }
}

static void set_kind(sstable_type *t, const char *cls) {
    t->kind = SSTABLE_T_CUSTOM;
    t->fixed_len = -1;
    for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++) {
        if (!strcmp(cls, simple_types[i].cls)) {
            t->kind = simple_types[i].kind;
            t->fixed_len = simple_types[i].fixed;
            return;
        }
    }
    if (!strcmp(cls, "ListType")) t->kind = SSTABLE_T_LIST;
    else if (!strcmp(cls, "SetType")) t->kind = SSTABLE_T_SET;
    else if (!strcmp(cls, "MapType")) t->kind = SSTABLE_T_MAP;
    else if (!strcmp(cls, "TupleType")) t->kind = SSTABLE_T_TUPLE;
    else if (!strcmp(cls, "UserType")) t->kind = SSTABLE_T_UDT;
    else if (!strcmp(cls, "CompositeType")) t->kind = SSTABLE_T_COMPOSITE;
    else if (!strcmp(cls, "PartitionerDefinedOrder")) t->kind = SSTABLE_T_PARTITIONER_ORDER;
}

/* Marks every collection/UDT inside a frozen type as frozen too. */
static void freeze(sstable_type *t) {
    t->frozen = 1;
    t->multicell = 0;
    for (size_t i = 0; i < t->nparams; i++) freeze(t->params[i]);
}

static sstable_type *parse_type(type_parser *tp) {
    if (++tp->depth > 64) {
        tp->failed = 1;
        return NULL;
    }
    const char *start = tp->p;
    char *word = parse_word(tp);
    const char *dot = strrchr(word, '.');
    const char *cls = dot ? dot + 1 : word;
    sstable_type *t;
    int wrapper = !strcmp(cls, "ReversedType") || !strcmp(cls, "FrozenType");
    if (wrapper) {
        if (*tp->p != '(') goto bad;
        tp->p++;
        t = parse_type(tp);
        if (!t || *tp->p != ')') {
            sstable_type_free(t);
            goto bad;
        }
        tp->p++;
        if (cls[0] == 'R') t->reversed = 1;
        else freeze(t);
    } else {
        t = xcalloc(1, sizeof *t);
        set_kind(t, cls);
        if (*tp->p == '(') {
            tp->p++;
            if ((*tp->p != ')' && parse_params(tp, t) != 0) || *tp->p != ')') {
                sstable_type_free(t);
                goto bad;
            }
            tp->p++;
        }
        int collection = t->kind == SSTABLE_T_LIST || t->kind == SSTABLE_T_SET ||
                         t->kind == SSTABLE_T_MAP;
        size_t want = t->kind == SSTABLE_T_MAP ? 2 : 1;
        if (collection && t->nparams != want) {
            sstable_type_free(t);
            goto bad;
        }
        t->multicell = collection || t->kind == SSTABLE_T_UDT;
    }
    free(t->name);
    t->name = xstrndup(start, (size_t)(tp->p - start));
    free(word);
    tp->depth--;
    return t;
bad:
    free(word);
    tp->failed = 1;
    return NULL;
}

sstable_type *sstable_type_parse(const char *name) {
    type_parser tp = {.p = name};
    sstable_type *t = parse_type(&tp);
    if (!t || *tp.p) {
        sstable_type_free(t);
        strata_fail(STRATA_ECORRUPT, "unreadable type name '%.200s'", name);
        return NULL;
    }
    return t;
}

void sstable_type_free(sstable_type *t) {
    if (!t) return;
    for (size_t i = 0; i < t->nparams; i++) {
        sstable_type_free(t->params[i]);
        if (t->field_names) free(t->field_names[i]);
    }
    free(t->params);
    free(t->field_names);
    free(t->udt_keyspace);
    free(t->udt_name);
    free(t->name);
    free(t);
}

static void cql_append(strata_buf *b, const sstable_type *t) {
    const char *base = NULL;
    for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++)
        if (simple_types[i].kind == t->kind) {
            base = simple_types[i].cql;
            break;
        }
    int wrap = t->frozen && (t->multicell || t->kind == SSTABLE_T_LIST || t->kind == SSTABLE_T_SET ||
                             t->kind == SSTABLE_T_MAP || t->kind == SSTABLE_T_UDT);
    if (wrap) strata_buf_put(b, "frozen<", 7);
    switch (t->kind) {
    case SSTABLE_T_LIST: case SSTABLE_T_SET: case SSTABLE_T_MAP: case SSTABLE_T_TUPLE:
        base = t->kind == SSTABLE_T_LIST ? "list" : t->kind == SSTABLE_T_SET ? "set"
             : t->kind == SSTABLE_T_MAP ? "map" : "tuple";
        strata_buf_put(b, base, strlen(base));
        strata_buf_put(b, "<", 1);
        for (size_t i = 0; i < t->nparams; i++) {
            if (i) strata_buf_put(b, ", ", 2);
            cql_append(b, t->params[i]);
        }
        strata_buf_put(b, ">", 1);
        break;
    case SSTABLE_T_UDT:
        strata_buf_put(b, t->udt_name, strlen(t->udt_name));
        break;
    case SSTABLE_T_COMPOSITE:
        strata_buf_put(b, "(", 1);
        for (size_t i = 0; i < t->nparams; i++) {
            if (i) strata_buf_put(b, ", ", 2);
            cql_append(b, t->params[i]);
        }
        strata_buf_put(b, ")", 1);
        break;
    case SSTABLE_T_PARTITIONER_ORDER:
        strata_buf_put(b, "blob", 4);
        break;
    default:
        if (!base) base = t->name;
        strata_buf_put(b, base, strlen(base));
    }
    if (wrap) strata_buf_put(b, ">", 1);
}

char *sstable_type_cql(const sstable_type *t) {
    strata_buf b;
    strata_buf_init(&b);
    cql_append(&b, t);
    strata_buf_put_u8(&b, 0);
    return (char *)b.data;
}
