/* core/data/tofu.c: see tofu.h. The file is read whole (bounded), cut into lines here,
 * and each line goes through the strict JSON gate (io/json_strict.h) on its own, so a
 * message can name the line and json-glib never sees more than one bounded line. */
#include "data/tofu.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/json_strict.h"

/* ---- reading a file, bounded -------------------------------------------------------- */

/* The whole of `path` into *buf [*len] (g_free it; NUL-terminated for convenience, the
 * length is what counts). `dir` names data.tofu_dir in the "no such file" message. */
static int read_bounded(const char *path, const char *dir, char **buf, size_t *len,
                        baldro_error *err) {
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO at that path must be refused below, not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return baldro_error_set(err, BALDRO_ENOTFOUND,
                                    "%s: no such file (data.tofu_dir = '%s'?)", path, dir);
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot open: %s", path, g_strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return baldro_error_set(err, BALDRO_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > BALDRO_TOFU_MAX_FILE_BYTES) {
        close(fd);
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: %lld bytes is larger than a TOFU split can be (limit %zu)",
                                path, (long long)st.st_size, BALDRO_TOFU_MAX_FILE_BYTES);
    }
    /* Read to EOF rather than trusting st_size (the file may change under us), never
     * past the limit. */
    size_t cap = (size_t)st.st_size + 4096, used = 0;
    char *b = g_malloc(cap);
    for (;;) {
        if (used > BALDRO_TOFU_MAX_FILE_BYTES) {
            g_free(b);
            close(fd);
            return baldro_error_set(err, BALDRO_EINVAL, "%s: grew past %zu bytes while read",
                                    path, BALDRO_TOFU_MAX_FILE_BYTES);
        }
        if (used + 1 >= cap) {
            cap *= 2;
            b = g_realloc(b, cap);
        }
        ssize_t r = read(fd, b + used, cap - 1 - used);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            g_free(b);
            close(fd);
            return baldro_error_set(err, BALDRO_EIO, "%s: read failed: %s", path, g_strerror(e));
        }
        if (r == 0) break;
        used += (size_t)r;
    }
    close(fd);
    b[used] = '\0';
    *buf = b;
    *len = used;
    return BALDRO_OK;
}

/* ---- lines -------------------------------------------------------------------------- */

typedef struct line_iter {
    const char *s;
    size_t len, pos;
    size_t lineno; /* 1-based number of the line last returned */
} line_iter;

/* The next physical line without its '\n' (and a trailing '\r'); 0 at the end. */
static int next_line(line_iter *it, const char **line, size_t *n) {
    if (it->pos >= it->len) return 0;
    const char *start = it->s + it->pos;
    const char *nl = memchr(start, '\n', it->len - it->pos);
    size_t k = nl ? (size_t)(nl - start) : it->len - it->pos;
    it->pos += k + (nl ? 1 : 0);
    it->lineno++;
    if (k > 0 && start[k - 1] == '\r') k--;
    *line = start;
    *n = k;
    return 1;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

/* ---- one JSON line -------------------------------------------------------------------- */


static int is_string(JsonNode *n) {
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

/* Member `key` of `o` as a non-empty string in *out, or NULL when absent (or null) and
 * not required. The gate has already refused "\u0000" and invalid UTF-8, so a string
 * here is a proper C string. An optional null counts as absent. */
static int get_text(JsonObject *o, const char *key, int required, const char *where,
                    const char **out, baldro_error *err) {
    *out = NULL;
    JsonNode *n = json_object_get_member(o, key);
    if (!n) {
        if (required) return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: missing", where, key);
        return BALDRO_OK;
    }
    /* HF's to_json writes a column an item lacks as null. */
    if (JSON_NODE_HOLDS_NULL(n) && !required) return BALDRO_OK;
    if (!is_string(n))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: expected a string, got %s", where,
                                key, baldro_json_kind_name(n));
    const char *s = json_node_get_string(n);
    if (!s || !*s) return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: empty string", where, key);
    *out = s;
    return BALDRO_OK;
}

typedef struct split_build {
    baldro_tofu_split *s;
    GStringChunk *store;
    size_t cap;
} split_build;

static const char *keep(split_build *b, const char *s) {
    return s ? g_string_chunk_insert(b->store, s) : NULL;
}

/* One parsed line -> one item. `where` is "<file>:<line>". */
static int add_item(split_build *b, JsonNode *root, size_t lineno, const char *where,
                    baldro_error *err) {
    if (!JSON_NODE_HOLDS_OBJECT(root))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: expected one JSON object per line, got %s", where,
                                baldro_json_kind_name(root));
    JsonObject *o = json_node_get_object(root);
    baldro_tofu_item it = { .line = lineno };
    const char *q, *a, *pa, *pq, *opt[4];
    int rc = get_text(o, "question", 1, where, &q, err);
    if (!rc) rc = get_text(o, "answer", 1, where, &a, err);
    if (!rc) rc = get_text(o, "paraphrased_answer", 0, where, &pa, err);
    if (!rc) rc = get_text(o, "paraphrased_question", 0, where, &pq, err);
    int n_opt = 0;
    for (int k = 0; k < 4 && !rc; k++) {
        char key[16];
        snprintf(key, sizeof key, "option%d", k + 1);
        rc = get_text(o, key, 0, where, &opt[k], err);
        n_opt += opt[k] != NULL;
    }
    if (rc) return rc;
    if (n_opt != 0 && n_opt != 4) {
        int k = 0;
        while (opt[k]) k++;
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: option%d: missing (option1..option4 come together)", where,
                                k + 1);
    }
    JsonNode *pn = json_object_get_member(o, "perturbed_answer");
    JsonArray *pl = NULL;
    if (pn && !JSON_NODE_HOLDS_NULL(pn)) {
        if (!JSON_NODE_HOLDS_ARRAY(pn))
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: perturbed_answer: expected a list of strings, got %s",
                                    where, baldro_json_kind_name(pn));
        pl = json_node_get_array(pn);
        guint np = json_array_get_length(pl);
        if (np == 0)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: perturbed_answer: empty list (expected strings)", where);
        for (guint k = 0; k < np; k++) {
            JsonNode *e = json_array_get_element(pl, k);
            if (!is_string(e))
                return baldro_error_set(err, BALDRO_EINVAL,
                                        "%s: perturbed_answer[%u]: expected a string, got %s",
                                        where, k, baldro_json_kind_name(e));
            const char *t = json_node_get_string(e);
            if (!t || !*t)
                return baldro_error_set(err, BALDRO_EINVAL,
                                        "%s: perturbed_answer[%u]: empty string", where, k);
        }
    }
    unsigned fields = (pa ? BALDRO_TOFU_HAS_PARA_ANSWER : 0u) |
                      (pq ? BALDRO_TOFU_HAS_PARA_QUESTION : 0u) |
                      (pl ? BALDRO_TOFU_HAS_PERTURBED : 0u) | (n_opt ? BALDRO_TOFU_HAS_OPTIONS : 0u);
    baldro_tofu_split *s = b->s;
    if (s->n > 0 && fields != s->fields) {
        static const char *const names[] = { "paraphrased_answer", "paraphrased_question",
                                             "perturbed_answer", "option1..option4" };
        unsigned diff = fields ^ s->fields;
        int k = 0;
        while (!(diff & (1u << k))) k++;
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: %s, but line %zu %s", where,
                                names[k], (fields & (1u << k)) ? "present" : "missing",
                                s->items[0].line, (fields & (1u << k)) ? "lacks it" : "has it");
    }
    /* Validated: copy into the split. */
    it.question = keep(b, q);
    it.answer = keep(b, a);
    it.paraphrased_answer = keep(b, pa);
    it.paraphrased_question = keep(b, pq);
    for (int k = 0; k < 4; k++) it.options[k] = keep(b, opt[k]);
    if (pl) {
        guint np = json_array_get_length(pl);
        const char **p = g_new(const char *, np);
        for (guint k = 0; k < np; k++)
            p[k] = keep(b, json_node_get_string(json_array_get_element(pl, k)));
        it.perturbed = p;
        it.n_perturbed = np;
    }
    if (s->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        s->items = g_renew(baldro_tofu_item, s->items, b->cap);
    }
    s->items[s->n++] = it;
    s->fields = fields;
    return BALDRO_OK;
}

int baldro_tofu_parse_buffer(const char *text, size_t len, const char *name,
                             baldro_tofu_split **out, baldro_error *err) {
    *out = NULL;
    if (!name) name = "(buffer)";
    if (len > BALDRO_TOFU_MAX_FILE_BYTES)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %zu bytes is larger than the limit %zu",
                                name, len, BALDRO_TOFU_MAX_FILE_BYTES);
    split_build b = { .s = g_new0(baldro_tofu_split, 1), .store = g_string_chunk_new(1 << 16) };
    b.s->path = g_strdup(name);
    b.s->store_ = b.store;
    line_iter it = { .s = text, .len = text ? len : 0 };
    const char *line;
    size_t n;
    int rc = BALDRO_OK;
    char where[768]; /* "<file>:<line>", cut if the path is very long */
    while (!rc && next_line(&it, &line, &n)) {
        if (is_blank(line, n)) continue;
        snprintf(where, sizeof where, "%s:%zu", name, it.lineno);
        if (n > BALDRO_TOFU_MAX_LINE_BYTES) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: line of %zu bytes (limit %zu)", where,
                                  n, BALDRO_TOFU_MAX_LINE_BYTES);
            break;
        }
        JsonNode *root = baldro_json_parse(line, n, where, "item", err);
        if (!root) {
            rc = err && err->code ? err->code : BALDRO_EINVAL;
            break;
        }
        rc = add_item(&b, root, it.lineno, where, err);
        json_node_unref(root);
    }
    if (!rc && b.s->n == 0)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: holds no items", name);
    if (rc) {
        baldro_tofu_free(b.s);
        return rc;
    }
    *out = b.s;
    return BALDRO_OK;
}

/* A split name is one file name without its extension: a '/' would make the message
 * about data.tofu_dir point at the wrong directory. */
static int check_split_name(const char *split, baldro_error *err) {
    if (!split || !*split || strchr(split, '/') || !strcmp(split, ".") || !strcmp(split, ".."))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "data split '%s': expected a bare name such as forget10",
                                split ? split : "(null)");
    return BALDRO_OK;
}

int baldro_tofu_load(const char *dir, const char *split, baldro_tofu_split **out,
                     baldro_error *err) {
    *out = NULL;
    int rc = check_split_name(split, err);
    if (rc) return rc;
    if (!dir || !*dir) dir = ".";
    char *file = g_strconcat(split, ".json", NULL);
    char *path = g_build_filename(dir, file, NULL);
    char *text = NULL;
    size_t len = 0;
    rc = read_bounded(path, dir, &text, &len, err);
    if (!rc) rc = baldro_tofu_parse_buffer(text, len, path, out, err);
    g_free(text);
    g_free(path);
    g_free(file);
    return rc;
}

void baldro_tofu_free(baldro_tofu_split *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) g_free((gpointer)s->items[i].perturbed);
    g_free(s->items);
    if (s->store_) g_string_chunk_free(s->store_);
    g_free(s->path);
    g_free(s);
}

/* ---- plain-text lines (idontknow.jsonl) ------------------------------------------------ */

int baldro_tofu_parse_lines_buffer(const char *text, size_t len, const char *name,
                                   baldro_tofu_lines **out, baldro_error *err) {
    *out = NULL;
    if (!name) name = "(buffer)";
    if (len > BALDRO_TOFU_MAX_FILE_BYTES)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %zu bytes is larger than the limit %zu",
                                name, len, BALDRO_TOFU_MAX_FILE_BYTES);
    baldro_tofu_lines *l = g_new0(baldro_tofu_lines, 1);
    l->path = g_strdup(name);
    line_iter it = { .s = text, .len = text ? len : 0 };
    const char *line;
    size_t n, cap = 0;
    int rc = BALDRO_OK;
    while (!rc && next_line(&it, &line, &n)) {
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r')) n--;
        if (is_blank(line, n)) continue;
        const char *bad = NULL;
        if (n > BALDRO_TOFU_MAX_LINE_BYTES)
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s:%zu: line of %zu bytes (limit %zu)",
                                  name, it.lineno, n, BALDRO_TOFU_MAX_LINE_BYTES);
        else if (memchr(line, '\0', n))
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s:%zu: a NUL byte in the text", name,
                                  it.lineno);
        else if (!g_utf8_validate(line, (gssize)n, &bad))
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s:%zu: not valid UTF-8 (byte %zu)", name,
                                  it.lineno, (size_t)(bad - line));
        if (rc) break;
        if (l->n == cap) {
            cap = cap ? 2 * cap : 64;
            l->lines = g_renew(char *, l->lines, cap);
            l->line = g_renew(size_t, l->line, cap);
        }
        l->lines[l->n] = g_strndup(line, n);
        l->line[l->n] = it.lineno;
        l->n++;
    }
    if (!rc && l->n == 0) rc = baldro_error_set(err, BALDRO_EINVAL, "%s: holds no items", name);
    if (rc) {
        baldro_tofu_lines_free(l);
        return rc;
    }
    *out = l;
    return BALDRO_OK;
}

int baldro_tofu_load_idk(const char *dir, baldro_tofu_lines **out, baldro_error *err) {
    *out = NULL;
    if (!dir || !*dir) dir = ".";
    char *path = g_build_filename(dir, "idontknow.jsonl", NULL);
    char *text = NULL;
    size_t len = 0;
    int rc = read_bounded(path, dir, &text, &len, err);
    if (!rc) rc = baldro_tofu_parse_lines_buffer(text, len, path, out, err);
    g_free(text);
    g_free(path);
    return rc;
}

void baldro_tofu_lines_free(baldro_tofu_lines *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) g_free(l->lines[i]);
    g_free(l->lines);
    g_free(l->line);
    g_free(l->path);
    g_free(l);
}
