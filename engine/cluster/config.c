/* config.c - the cluster description file: which nodes, where their data
 * is, where they sit in the token ring.
 *
 * The file is INI, parsed by inih.  inih reports name/value pairs but not
 * section headers (a section without keys would go unseen) nor line
 * numbers, so the line reader handed to ini_parse_stream() counts lines and
 * registers each [section] header itself; every error then names the file
 * and line as "cluster.ini:7: ...".  Only the first error is reported.
 * The ring is put together once the whole file is read (config_ring.c),
 * with the lines recorded here for its errors. */
#include "engine/cluster/cluster_int.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <string.h>

typedef struct {
    const char *path;
    char *dir;              /* the file's directory, base of relative paths */
    FILE *fp;
    int lineno;
    int error_line;         /* first error found by this file's rules, 0: none */
    char error[256];
    cluster_config *c;
    cluster_node_lines *node_lines; /* parallel to c->nodes */
    int cluster_line;       /* header line of [cluster], 0: absent */
    int ring_line;          /* line of the ring key, 0: absent */
    int had_key;            /* a key since the last header: indented lines continue it */
    int continued;          /* the line read last is indented: it continues the key before */
    int read_errno;         /* the file could not be read (a directory), 0: read to its end */
} config_parser;

static void parse_error(config_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void parse_error(config_parser *p, const char *fmt, ...) {
    if (p->error_line) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    p->error_line = p->lineno;
}

/* Node names become directory names in a restore, so they stay simple. */
static int valid_node_name(const char *s) {
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._-", *s)) return 0;
    return 1;
}

static cluster_node *find_node(cluster_config *c, const char *name) {
    for (size_t i = 0; i < c->n_nodes; i++)
        if (!strcmp(c->nodes[i].name, name)) return &c->nodes[i];
    return NULL;
}

/* Called for every "[...]" line before inih parses it. */
static void begin_section(config_parser *p, const char *name) {
    if (!strcmp(name, "cluster")) {
        if (p->cluster_line) parse_error(p, "duplicate [cluster] section");
        p->cluster_line = p->lineno;
        return;
    }
    if (!strcmp(name, "node")) {
        parse_error(p, "[node] needs a name: [node NAME]");
        return;
    }
    if (strncmp(name, "node", 4) || !isspace((unsigned char)name[4])) {
        parse_error(p, "unknown section [%s] (expected [cluster] or [node NAME])", name);
        return;
    }
    const char *node = name + 4;
    while (isspace((unsigned char)*node)) node++;
    if (!valid_node_name(node)) {
        parse_error(p, "invalid node name '%s' (letters, digits, '.', '_' and '-' only)", node);
        return;
    }
    cluster_config *c = p->c;
    if (find_node(c, node)) {
        parse_error(p, "duplicate node '%s'", node);
        return;
    }
    c->nodes = xrealloc(c->nodes, (c->n_nodes + 1) * sizeof *c->nodes);
    p->node_lines = xrealloc(p->node_lines, (c->n_nodes + 1) * sizeof *p->node_lines);
    c->nodes[c->n_nodes] = (cluster_node){.name = xstrdup(node)};
    p->node_lines[c->n_nodes] = (cluster_node_lines){.header = p->lineno};
    c->n_nodes++;
}

/* As inih does, an indented line after a key continues that key's value
 * even when it starts with '['. */
static void look_for_section(config_parser *p, const char *line) {
    const char *start = line;
    while (isspace((unsigned char)*start)) start++;
    if (*start != '[' || (start > line && p->had_key)) return;
    p->had_key = 0;
    const char *end = strchr(start, ']');
    if (!end) return; /* inih reports the syntax error */
    char *name = xstrndup(start + 1, (size_t)(end - start - 1));
    begin_section(p, name);
    free(name);
}

/* fgets() that counts lines, notices section headers and refuses lines
 * longer than inih's fixed buffer, which inih would silently split. */
static char *read_line(char *str, int num, void *stream) {
    config_parser *p = stream;
    if (!fgets(str, num, p->fp)) {
        if (ferror(p->fp)) p->read_errno = errno;
        return NULL;
    }
    p->lineno++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(p->fp)) {
        parse_error(p, "line longer than %d characters", num - 2);
        int ch;
        while ((ch = fgetc(p->fp)) != EOF && ch != '\n') {}
    }
    p->continued = p->had_key && isspace((unsigned char)str[0]) && str[strspn(str, " \t\r\n")];
    look_for_section(p, str);
    return str;
}

static char *absolute_path(const config_parser *p, const char *value) {
    if (value[0] == '/') return xstrdup(value);
    return xasprintf("%s/%s", p->dir, value);
}

static char **single_value_slot(cluster_node *n, const char *key) {
    if (!strcmp(key, "snapshot_cmd")) return &n->snapshot_cmd;
    if (!strcmp(key, "clear_snapshot_cmd")) return &n->clear_snapshot_cmd;
    if (!strcmp(key, "address")) return &n->address;
    if (!strcmp(key, "dc")) return &n->dc;
    if (!strcmp(key, "rack")) return &n->rack;
    return NULL;
}

/* "t1, t2, ...": Murmur3 tokens as nodetool prints them. */
static int parse_tokens(config_parser *p, cluster_node *n, const char *value) {
    char *list = xstrdup(value);
    char *rest = list;
    int ok = 1;
    for (char *item = strsep(&rest, ","); item && ok; item = strsep(&rest, ",")) {
        while (isspace((unsigned char)*item)) item++;
        size_t len = strlen(item);
        while (len && isspace((unsigned char)item[len - 1])) item[--len] = 0;
        int64_t token;
        if (cluster_token_parse(item, &token)) {
            parse_error(p, "bad token '%s' in [node %s] (expected a Murmur3 token, a signed 64-bit integer)", item,
                        n->name);
            ok = 0;
        } else {
            n->tokens = xrealloc(n->tokens, (n->n_tokens + 1) * sizeof *n->tokens);
            n->tokens[n->n_tokens++] = token;
        }
    }
    free(list);
    return ok;
}

static int set_node_key(config_parser *p, cluster_node *n, const char *key, const char *value) {
    if (!strcmp(key, "data_dir")) {
        n->data_dirs = xrealloc(n->data_dirs, (n->n_data_dirs + 1) * sizeof *n->data_dirs);
        n->data_dirs[n->n_data_dirs++] = absolute_path(p, value);
        return 1;
    }
    if (!strcmp(key, "tokens")) {
        /* 256 tokens (num_tokens of Cassandra 3) do not fit on one line of
         * inih's: indented lines continue the list. */
        cluster_node_lines *lines = &p->node_lines[n - p->c->nodes];
        if (lines->tokens && p->continued) return parse_tokens(p, n, value);
        if (lines->tokens) {
            parse_error(p, "duplicate key 'tokens' in [node %s]", n->name);
            return 0;
        }
        lines->tokens = p->lineno;
        return parse_tokens(p, n, value);
    }
    char **slot = single_value_slot(n, key);
    if (!slot) {
        parse_error(p, "unknown key '%s' in [node %s] (expected data_dir, snapshot_cmd, clear_snapshot_cmd, "
                    "address, dc, rack, tokens)", key, n->name);
        return 0;
    }
    if (*slot) {
        parse_error(p, "duplicate key '%s' in [node %s]", key, n->name);
        return 0;
    }
    *slot = xstrdup(value);
    if (slot == &n->address) p->node_lines[n - p->c->nodes].address = p->lineno;
    return 1;
}

static int set_cluster_key(config_parser *p, const char *key, const char *value) {
    char **slot = !strcmp(key, "name") ? &p->c->name : !strcmp(key, "ring") ? &p->c->ring_file : NULL;
    if (!slot) {
        parse_error(p, "unknown key '%s' in [cluster] (expected name, ring)", key);
        return 0;
    }
    if (*slot) {
        parse_error(p, "duplicate key '%s' in [cluster]", key);
        return 0;
    }
    if (slot == &p->c->ring_file) {
        *slot = absolute_path(p, value);
        p->ring_line = p->lineno;
    } else {
        *slot = xstrdup(value);
    }
    return 1;
}

static int on_value(void *user, const char *section, const char *key, const char *value) {
    config_parser *p = user;
    p->had_key = 1;
    if (p->error_line) return 0;
    if (!*section) {
        parse_error(p, "'%s' outside of a section", key);
        return 0;
    }
    if (!*value) {
        parse_error(p, "empty value for '%s'", key);
        return 0;
    }
    if (!strcmp(section, "cluster")) return set_cluster_key(p, key, value);
    const char *node = section + 4;
    while (isspace((unsigned char)*node)) node++;
    cluster_node *n = find_node(p->c, node);
    if (!n) return 0; /* its header was refused and reported already */
    return set_node_key(p, n, key, value);
}

/* Rules about the whole file, checked once it parsed. */
static strata_err check_complete(config_parser *p) {
    cluster_config *c = p->c;
    if (!p->cluster_line) return strata_fail(STRATA_EINVAL, "%s:1: no [cluster] section", p->path);
    if (!c->name) return strata_fail(STRATA_EINVAL, "%s:%d: [cluster] has no name", p->path, p->cluster_line);
    if (!c->n_nodes) return strata_fail(STRATA_EINVAL, "%s:%d: no [node NAME] sections", p->path, p->lineno);
    for (size_t i = 0; i < c->n_nodes; i++)
        if (!c->nodes[i].n_data_dirs)
            return strata_fail(STRATA_EINVAL, "%s:%d: node '%s' has no data_dir", p->path, p->node_lines[i].header,
                               c->nodes[i].name);
    return cluster_config_ring(c, p->path, p->ring_line, p->node_lines);
}

static char *directory_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

strata_err cluster_config_load(const char *path, cluster_config **out) {
    *out = NULL;
    config_parser p = {.path = path};
    p.fp = fopen(path, "r");
    if (!p.fp) return strata_fail_errno(strata_err_from_errno(errno), errno, "cluster file %s", path);
    p.dir = directory_of(path);
    p.c = xcalloc(1, sizeof *p.c);
    int rc = ini_parse_stream(read_line, &p, on_value, &p);
    fclose(p.fp);
    strata_err e = STRATA_OK;
    if (p.read_errno)
        e = strata_fail_errno(strata_err_from_errno(p.read_errno), p.read_errno, "cluster file %s", path);
    else if (rc < 0)
        e = strata_fail(STRATA_EIO, "%s: cannot parse", path);
    else if (p.error_line && (rc == 0 || p.error_line <= rc))
        e = strata_fail(STRATA_EINVAL, "%s:%d: %s", path, p.error_line, p.error);
    else if (rc > 0)
        e = strata_fail(STRATA_EINVAL, "%s:%d: syntax error", path, rc);
    else
        e = check_complete(&p);
    free(p.dir);
    free(p.node_lines);
    if (e) {
        cluster_config_free(p.c);
        return e;
    }
    *out = p.c;
    return STRATA_OK;
}

void cluster_config_free(cluster_config *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_nodes; i++) {
        cluster_node *n = &c->nodes[i];
        for (size_t d = 0; d < n->n_data_dirs; d++) free(n->data_dirs[d]);
        free(n->data_dirs);
        free(n->name);
        free(n->snapshot_cmd);
        free(n->clear_snapshot_cmd);
        free(n->address);
        free(n->dc);
        free(n->rack);
        free(n->tokens);
    }
    free(c->nodes);
    free(c->name);
    free(c->ring_file);
    cluster_ring_free(c->ring);
    free(c);
}
