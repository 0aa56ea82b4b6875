/* s3_xml.c - the XML bodies S3 answers with, parsed by expat.
 *
 * strata needs a handful of values from four documents: ListObjectsV2
 * results (keys, sizes, continuation), the upload id of a new multipart
 * upload, the ETag of a completed one, and the Code and Message of an
 * error.  A small walker reduces a document to "path text" events such as
 * ("ListBucketResult/Contents/Key", "packs/ab/...") plus element ends, and
 * each reader picks the paths it knows.  Namespaces are ignored (servers
 * differ in declaring them); the input is untrusted, so sizes are bounded
 * and any malformed document is STRATA_EFORMAT, never a crash. */
#include "fetch/s3_int.h"

#include <expat.h>
#include <string.h>

#define MAX_DEPTH 16
#define MAX_TEXT (64 * 1024)

typedef void (*xml_leaf_fn)(void *ctx, const char *path, const char *text);
typedef void (*xml_end_fn)(void *ctx, const char *path);

typedef struct {
    strata_buf path;     /* "A/B/C", NUL-terminated */
    size_t ends[MAX_DEPTH];
    int depth;
    int overflow;        /* depth beyond MAX_DEPTH: ignored subtree */
    strata_buf text;
    int too_long;
    xml_leaf_fn leaf;
    xml_end_fn end;
    void *ctx;
    XML_Parser parser;
} walker;

static const char *local_name(const char *name) {
    const char *sep = strrchr(name, ':');
    return sep ? sep + 1 : name;
}

static void on_start(void *data, const XML_Char *name, const XML_Char **attrs) {
    (void)attrs;
    walker *w = data;
    if (w->overflow || w->depth == MAX_DEPTH) {
        w->overflow++;
        return;
    }
    w->ends[w->depth++] = w->path.len;
    if (w->path.len) strata_buf_put_u8(&w->path, '/');
    const char *n = local_name(name);
    strata_buf_put(&w->path, n, strlen(n));
    strata_buf_put_u8(&w->path, '\0');
    w->path.len--;
    w->text.len = 0;
    w->too_long = 0;
}

static void on_text(void *data, const XML_Char *s, int len) {
    walker *w = data;
    if (w->overflow || w->too_long) return;
    if (w->text.len + (size_t)len > MAX_TEXT) {
        w->too_long = 1;
        XML_StopParser(w->parser, XML_FALSE);
        return;
    }
    strata_buf_put(&w->text, s, (size_t)len);
}

static void on_end(void *data, const XML_Char *name) {
    (void)name;
    walker *w = data;
    if (w->overflow) {
        w->overflow--;
        return;
    }
    strata_buf_put_u8(&w->text, '\0');
    if (w->leaf) w->leaf(w->ctx, (const char *)w->path.data, (const char *)w->text.data);
    if (w->end) w->end(w->ctx, (const char *)w->path.data);
    w->text.len = 0;
    w->path.len = w->ends[--w->depth];
    strata_buf_put_u8(&w->path, '\0');
    w->path.len--;
}

/* Walks a document; 0 when it is well-formed. Entity declarations are
 * refused so a hostile body cannot expand itself. */
static void on_entity_decl(void *data, const XML_Char *name, int pe, const XML_Char *value,
                           int value_len, const XML_Char *base, const XML_Char *sys,
                           const XML_Char *pub, const XML_Char *notation) {
    (void)name, (void)pe, (void)value, (void)value_len, (void)base, (void)sys, (void)pub;
    (void)notation;
    walker *w = data;
    XML_StopParser(w->parser, XML_FALSE);
}

static int walk(const char *xml, size_t len, xml_leaf_fn leaf, xml_end_fn end, void *ctx) {
    if (len > INT32_MAX) return -1;
    walker w = {.leaf = leaf, .end = end, .ctx = ctx};
    strata_buf_init(&w.path);
    strata_buf_init(&w.text);
    strata_buf_put_u8(&w.path, '\0');
    w.path.len = 0;
    w.parser = XML_ParserCreate("UTF-8");
    XML_SetUserData(w.parser, &w);
    XML_SetElementHandler(w.parser, on_start, on_end);
    XML_SetCharacterDataHandler(w.parser, on_text);
    XML_SetEntityDeclHandler(w.parser, on_entity_decl);
    int ok = XML_Parse(w.parser, xml, (int)len, XML_TRUE) == XML_STATUS_OK && !w.too_long;
    XML_ParserFree(w.parser);
    strata_buf_free(&w.path);
    strata_buf_free(&w.text);
    return ok ? 0 : -1;
}

static int path_is(const char *path, const char *want) {
    return !strcmp(path, want);
}

/* ---- ListObjectsV2 ------------------------------------------------------- */
typedef struct {
    s3_list_page *page;
    char *key;
    uint64_t size;
    int bad_size;
    int is_list;
} list_state;

static int parse_u64(const char *s, uint64_t *out) {
    if (!*s) return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static void list_leaf(void *ctx, const char *path, const char *text) {
    list_state *st = ctx;
    if (path_is(path, "ListBucketResult")) {
        st->is_list = 1;
    } else if (path_is(path, "ListBucketResult/Contents/Key")) {
        free(st->key);
        st->key = xstrdup(text);
    } else if (path_is(path, "ListBucketResult/Contents/Size")) {
        if (parse_u64(text, &st->size)) st->bad_size = 1;
    } else if (path_is(path, "ListBucketResult/IsTruncated")) {
        st->page->truncated = !strcmp(text, "true");
    } else if (path_is(path, "ListBucketResult/NextContinuationToken")) {
        free(st->page->next_token);
        st->page->next_token = xstrdup(text);
    }
}

static void list_end(void *ctx, const char *path) {
    list_state *st = ctx;
    if (!path_is(path, "ListBucketResult/Contents")) return;
    if (!st->key) {
        st->bad_size = 1;
        return;
    }
    s3_list_page *p = st->page;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->entries = xrealloc(p->entries, p->cap * sizeof *p->entries);
    }
    p->entries[p->n].key = st->key;
    p->entries[p->n++].size = st->size;
    st->key = NULL;
    st->size = 0;
}

strata_err s3_xml_list(const char *xml, size_t len, s3_list_page *page) {
    memset(page, 0, sizeof *page);
    list_state st = {.page = page};
    int rc = walk(xml, len, list_leaf, list_end, &st);
    free(st.key);
    if (rc || !st.is_list || st.bad_size || (page->truncated && !page->next_token)) {
        s3_list_page_free(page);
        return strata_fail(STRATA_EFORMAT, "S3 listing: malformed ListObjectsV2 response");
    }
    return STRATA_OK;
}

void s3_list_page_free(s3_list_page *page) {
    for (size_t i = 0; i < page->n; i++) free(page->entries[i].key);
    free(page->entries);
    free(page->next_token);
    memset(page, 0, sizeof *page);
}

/* ---- Single values --------------------------------------------------------- */
typedef struct {
    const char *want;
    char *value;
    const char *want2;
    char *value2;
    const char *root;
    int root_seen;
} pick_state;

static void pick_leaf(void *ctx, const char *path, const char *text) {
    pick_state *st = ctx;
    if (st->root && path_is(path, st->root)) st->root_seen = 1;
    if (path_is(path, st->want)) {
        free(st->value);
        st->value = xstrdup(text);
    } else if (st->want2 && path_is(path, st->want2)) {
        free(st->value2);
        st->value2 = xstrdup(text);
    }
}

strata_err s3_xml_upload_id(const char *xml, size_t len, char **upload_id) {
    pick_state st = {.want = "InitiateMultipartUploadResult/UploadId"};
    if (walk(xml, len, pick_leaf, NULL, &st) || !st.value || !*st.value) {
        free(st.value);
        return strata_fail(STRATA_EFORMAT, "S3: malformed InitiateMultipartUpload response");
    }
    *upload_id = st.value;
    return STRATA_OK;
}

strata_err s3_xml_complete_etag(const char *xml, size_t len, char **etag) {
    pick_state st = {.want = "CompleteMultipartUploadResult/ETag"};
    if (walk(xml, len, pick_leaf, NULL, &st) || !st.value) {
        free(st.value);
        return strata_fail(STRATA_EFORMAT, "S3: malformed CompleteMultipartUpload response");
    }
    *etag = st.value;
    return STRATA_OK;
}

int s3_xml_error(const char *xml, size_t len, char **code, char **message) {
    pick_state st = {.want = "Error/Code", .want2 = "Error/Message", .root = "Error"};
    int ok = walk(xml, len, pick_leaf, NULL, &st) == 0 && st.root_seen;
    if (!ok) {
        free(st.value);
        free(st.value2);
        *code = *message = NULL;
        return 0;
    }
    *code = st.value;
    *message = st.value2;
    return 1;
}
