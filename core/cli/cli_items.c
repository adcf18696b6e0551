/* core/cli/cli_items.c: see cli_items.h. */
#include "cli/cli_items.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/chat_template.h"
#include "io/gguf_vocab.h"
#include "io/json_strict.h"

/* A line longer than this is refused (and skipped) before the JSON parser sees it: far
 * above any TOFU line (a few KB), small enough that a stray binary file cannot make the
 * parser build a huge tree. */
#define CLI_ITEMS_MAX_LINE (16u << 20)

/* ---- vocabulary ---------------------------------------------------------------------- */

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && g_ascii_strcasecmp(s + a - b, suf) == 0;
}

int cli_vocab_open(const char *model, const char *tok_path, cli_vocab *v, baldro_error *err) {
    memset(v, 0, sizeof *v);
    const char *p = tok_path ? tok_path : model;
    if (!p) return baldro_error_set(err, BALDRO_EINVAL, "no model or tokenizer named");
    if (!g_file_test(p, G_FILE_TEST_EXISTS))
        return baldro_error_set(err, BALDRO_ENOTFOUND, "%s: no such file or directory", p);
    if (tok_path && g_file_test(tok_path, G_FILE_TEST_IS_DIR)) {
        char *j = g_build_filename(tok_path, "tokenizer.json", NULL);
        int rc = baldro_tok_load_json(j, &v->hf, err);
        g_free(j);
        return rc;
    }
    if (tok_path && has_suffix(tok_path, ".json"))
        return baldro_tok_load_json(tok_path, &v->hf, err);
    if (tok_path && has_suffix(tok_path, ".gguf")) {
        baldro_gguf_file *f = NULL;
        int rc = baldro_gguf_open(tok_path, &f, err);
        if (!rc) rc = baldro_gguf_l2c_tokenizer(f, &v->l2c, err);
        baldro_gguf_close(f);
        return rc;
    }
    if (tok_path) return baldro_l2c_tokenizer_open(tok_path, 0, &v->l2c, err);
    if (g_file_test(model, G_FILE_TEST_IS_DIR)) {
        char *j = g_build_filename(model, "tokenizer.json", NULL);
        int rc = baldro_tok_load_json(j, &v->hf, err);
        g_free(j);
        return rc;
    }
    if (has_suffix(model, ".gguf")) return cli_vocab_open(NULL, model, v, err);
    return baldro_error_set(err, BALDRO_EINVAL,
                            "%s: a llama2.c checkpoint carries no vocabulary; name its "
                            "tokenizer with --tokenizer (e.g. tok512.bin)", model);
}

void cli_vocab_close(cli_vocab *v) {
    baldro_tok_free(v->hf);
    baldro_l2c_tokenizer_free(v->l2c);
    memset(v, 0, sizeof *v);
}

const char *cli_vocab_token(const cli_vocab *v, int32_t id, size_t *len) {
    *len = 0;
    const char *s = NULL;
    if (v->hf) {
        s = baldro_tok_token_str(v->hf, id);
        if (s) *len = strlen(s);
    } else if (v->l2c) {
        float score;
        s = baldro_l2c_tokenizer_piece(v->l2c, id, len, &score);
    }
    return s;
}

int cli_vocab_decode(const cli_vocab *v, int32_t prev, const int32_t *ids, size_t n,
                     int skip_special, char **text, size_t *len, baldro_error *err) {
    *text = NULL;
    *len = 0;
    if (v->hf) return baldro_tok_decode(v->hf, ids, n, skip_special, text, len, err);
    if (!v->l2c) return baldro_error_set(err, BALDRO_EINVAL, "no vocabulary to decode with");
    /* run.c's output: each piece, without the leading space after BOS, bytes that are
     * neither printable nor space dropped. */
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) {
        size_t pl;
        const char *p = baldro_l2c_decode(v->l2c, prev, ids[i], &pl);
        if (p && baldro_l2c_piece_printable(p, pl)) g_string_append_len(s, p, (gssize)pl);
        prev = ids[i];
    }
    *len = s->len;
    *text = g_string_free(s, FALSE);
    return BALDRO_OK;
}

/* ---- templates ----------------------------------------------------------------------- */

int cli_template_name_ok(const char *name) {
    if (!name || !strcmp(name, "auto") || !strcmp(name, "none")) return 0;
    return baldro_template_parse(name) >= 0 ? 0 : -1;
}

int cli_template_pick(const char *name, const cli_vocab *v, int *kind, const char **how,
                      baldro_error *err) {
    *kind = CLI_TPL_NONE;
    *how = "";
    if (name && !strcmp(name, "none")) {
        *how = "named";
        return BALDRO_OK;
    }
    if (!v->hf) {
        if (name && strcmp(name, "auto") != 0)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "--template %s needs a tokenizer.json; a llama2.c "
                                    "vocabulary takes --template none", name);
        *how = "auto: a llama2.c vocabulary has no chat template";
        return BALDRO_OK;
    }
    int rc = baldro_template_resolve(name ? name : "auto", v->hf, "--template", kind, how, err);
    if (!rc && name && strcmp(name, "auto") != 0) *how = "named";
    return rc;
}

const char *cli_template_label(int kind) {
    return kind == CLI_TPL_NONE ? "none" : baldro_template_name(kind);
}

/* ---- items --------------------------------------------------------------------------- */

void cli_item_clear(cli_item *it) {
    g_free(it->question);
    g_free(it->answer);
    g_free(it->text);
    g_free(it->ids);
    memset(it, 0, sizeof *it);
}

int cli_parse_ids(const char *s, const char *what, int32_t **ids, size_t *n, baldro_error *err) {
    *ids = NULL;
    *n = 0;
    GArray *a = g_array_new(FALSE, FALSE, sizeof(int32_t));
    const char *p = s;
    for (;;) {
        while (*p == ',' || g_ascii_isspace(*p)) p++;
        if (!*p) break;
        if (!g_ascii_isdigit(*p)) {
            g_array_free(a, TRUE);
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: '%s': expected token ids separated by commas or "
                                    "spaces", what, s);
        }
        errno = 0;
        char *end;
        unsigned long long x = strtoull(p, &end, 10);
        if (errno || x > INT32_MAX || (*end && *end != ',' && !g_ascii_isspace(*end))) {
            g_array_free(a, TRUE);
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: '%.*s': not a token id (0 to %d)", what,
                                    (int)(end - p + (*end ? 1 : 0)), p, INT32_MAX);
        }
        int32_t v = (int32_t)x;
        g_array_append_val(a, v);
        p = end;
    }
    *n = a->len;
    *ids = (int32_t *)(void *)g_array_free(a, FALSE);
    if (*n == 0) {
        g_free(*ids);
        *ids = NULL;
        return baldro_error_set(err, BALDRO_EINVAL, "%s: no token ids", what);
    }
    return BALDRO_OK;
}


/* Member `key` as a string (empty allowed: an empty answer or text is an item too). */
static int get_string(JsonObject *o, const char *key, const char *where, char **out,
                      baldro_error *err) {
    JsonNode *n = json_object_get_member(o, key);
    if (!n) return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: missing", where, key);
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: expected a string, got %s", where,
                                key, baldro_json_kind_name(n));
    *out = g_strdup(json_node_get_string(n));
    return BALDRO_OK;
}

static int get_ids(JsonObject *o, const char *where, cli_item *it, baldro_error *err) {
    JsonNode *n = json_object_get_member(o, "ids");
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: ids: expected a list of token ids, "
                                "got %s", where, baldro_json_kind_name(n));
    JsonArray *a = json_node_get_array(n);
    guint len = json_array_get_length(a);
    if (len == 0) return baldro_error_set(err, BALDRO_EINVAL, "%s: ids: empty list", where);
    it->ids = g_new(int32_t, len);
    it->n_ids = len;
    for (guint i = 0; i < len; i++) {
        int64_t x;
        if (baldro_json_int(json_array_get_element(a, i), &x) || x < 0 || x > INT32_MAX)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: ids[%u]: expected a token id (0 to %d)", where, i,
                                    INT32_MAX);
        it->ids[i] = (int32_t)x;
    }
    JsonNode *k = json_object_get_member(o, "loss_from");
    if (!k) return baldro_error_set(err, BALDRO_EINVAL, "%s: loss_from: missing", where);
    if (baldro_json_int(k, &it->loss_from))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: loss_from: expected an integer, got %s",
                                where, baldro_json_kind_name(k));
    return BALDRO_OK;
}

static const char *accepted(unsigned accept) {
    if (accept == (CLI_ITEM_QA | CLI_ITEM_TEXT)) return "question and answer, or text";
    if (accept == (CLI_ITEM_QA | CLI_ITEM_IDS)) return "question and answer, or ids and loss_from";
    if (accept == CLI_ITEM_QA) return "question and answer";
    return "question and answer, text, or ids and loss_from";
}

/* One line -> *it. `where` is "FILE:LINE". */
static int parse_line(const char *text, size_t len, const char *where, unsigned accept,
                      cli_item *it, baldro_error *err) {
    JsonNode *root = baldro_json_parse(text, len, where, "line", err);
    if (!root) return err->code;
    int rc = BALDRO_OK;
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: line: expected an object, got %s", where,
                              baldro_json_kind_name(root));
        goto out;
    }
    JsonObject *o = json_node_get_object(root);
    int has_q = json_object_has_member(o, "question"), has_a = json_object_has_member(o, "answer");
    if (json_object_has_member(o, "ids")) {
        it->kind = CLI_ITEM_IDS;
    } else if (has_q || has_a) {
        it->kind = CLI_ITEM_QA;
    } else if (json_object_has_member(o, "text")) {
        it->kind = CLI_ITEM_TEXT;
    } else {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: question: missing (a line has %s)", where,
                              accepted(accept));
        goto out;
    }
    if (!(accept & (unsigned)it->kind)) {
        const char *f = it->kind == CLI_ITEM_IDS ? "ids" : it->kind == CLI_ITEM_QA ? "question"
                                                                                   : "text";
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %s: not taken here (a line has %s)",
                              where, f, accepted(accept));
        goto out;
    }
    if (it->kind == CLI_ITEM_IDS) rc = get_ids(o, where, it, err);
    else if (it->kind == CLI_ITEM_QA) {
        rc = get_string(o, "question", where, &it->question, err);
        if (!rc) rc = get_string(o, "answer", where, &it->answer, err);
    } else {
        rc = get_string(o, "text", where, &it->text, err);
    }
out:
    json_node_unref(root);
    return rc;
}

int cli_items_read(const char *path, unsigned accept, cli_item **items, size_t *n,
                   size_t *n_bad, baldro_error *err) {
    *items = NULL;
    *n = *n_bad = 0;
    int is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "stdin" : path;
    if (!is_stdin && g_file_test(path, G_FILE_TEST_IS_DIR))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: a directory, not a JSON Lines file",
                                path);
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return baldro_error_set(err, errno == ENOENT ? BALDRO_ENOTFOUND : BALDRO_EIO,
                                "%s: cannot read: %s", path, g_strerror(errno));
    GArray *a = g_array_new(FALSE, TRUE, sizeof(cli_item));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    errno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == len) continue;
        char *where = g_strdup_printf("%s:%zu", name, lineno);
        cli_item it = {.line = lineno};
        baldro_error e = {0};
        int rc = len > CLI_ITEMS_MAX_LINE
                     ? baldro_error_set(&e, BALDRO_EINVAL, "%s: line: longer than %u bytes",
                                        where, CLI_ITEMS_MAX_LINE)
                     : parse_line(line, len, where, accept, &it, &e);
        if (rc) {
            cli_error("%s", e.msg);
            cli_item_clear(&it);
            (*n_bad)++;
        } else {
            g_array_append_val(a, it);
        }
        g_free(where);
        errno = 0;
    }
    int rerr = ferror(f) ? errno : 0;
    free(line);
    if (!is_stdin) fclose(f);
    if (rerr) {
        for (guint i = 0; i < a->len; i++) cli_item_clear(&g_array_index(a, cli_item, i));
        g_array_free(a, TRUE);
        *n_bad = 0;
        return baldro_error_set(err, BALDRO_EIO, "%s: read failed: %s", name, g_strerror(rerr));
    }
    *n = a->len;
    *items = (cli_item *)(void *)g_array_free(a, FALSE);
    return BALDRO_OK;
}

/* ---- encoding ------------------------------------------------------------------------ */

void cli_encoded_clear(cli_encoded *e) {
    g_free(e->ids);
    g_free(e->mask);
    g_free(e->encoded);
    memset(e, 0, sizeof *e);
}

/* Text as is: BOS as the tokenizer adds it (a llama2.c vocabulary: run.c's BOS). */
static int encode_text(const cli_vocab *v, const char *s, int32_t **ids, size_t *n,
                       baldro_error *err) {
    if (v->hf) return baldro_tok_encode(v->hf, s, strlen(s), 1, ids, n, err);
    if (v->l2c) return baldro_l2c_encode(v->l2c, s, strlen(s), 1, 0, ids, n, err);
    return baldro_error_set(err, BALDRO_EINVAL, "no vocabulary to encode text with");
}

int cli_item_encode(const cli_vocab *v, int kind, const cli_item *it, cli_encoded *out,
                    baldro_error *err) {
    memset(out, 0, sizeof *out);
    int rc = BALDRO_OK;
    if (it->kind == CLI_ITEM_IDS) {
        if (it->loss_from < 1 || (size_t)it->loss_from >= it->n_ids)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "loss_from: %lld: expected 1 to %zu (the first position "
                                    "with a target; position 0 has none)",
                                    (long long)it->loss_from, it->n_ids - 1);
        out->n = it->n_ids;
        out->ids = g_memdup2(it->ids, it->n_ids * sizeof *it->ids);
        out->mask = g_new0(uint8_t, out->n);
        for (size_t i = (size_t)it->loss_from; i < out->n; i++) out->mask[i] = 1;
        return BALDRO_OK;
    }
    if (it->kind == CLI_ITEM_TEXT) {
        rc = encode_text(v, it->text, &out->ids, &out->n, err);
        if (rc) return rc;
        out->mask = g_new0(uint8_t, out->n ? out->n : 1);
        out->encoded = g_strdup(it->text);
        return BALDRO_OK;
    }
    if (kind != CLI_TPL_NONE) {
        if (!v->hf)
            return baldro_error_set(err, BALDRO_EINVAL, "template %s needs a tokenizer.json",
                                    baldro_template_name(kind));
        char *prompt, *target;
        int add_bos;
        rc = baldro_template_format(kind, it->question, it->answer, &prompt, &target, &add_bos,
                                    err);
        if (rc) return rc;
        out->encoded = g_strconcat(prompt, target, NULL);
        g_free(prompt);
        g_free(target);
        rc = baldro_template_encode(v->hf, kind, it->question, it->answer, &out->ids, &out->mask,
                                    &out->n, err);
        if (rc) cli_encoded_clear(out);
        return rc;
    }
    /* no template: the template rule on the bare strings */
    out->encoded = g_strconcat(it->question, it->answer, NULL);
    int32_t *pids = NULL;
    size_t np = 0;
    rc = encode_text(v, it->question, &pids, &np, err);
    if (!rc) rc = encode_text(v, out->encoded, &out->ids, &out->n, err);
    if (!rc && np > out->n)
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "question: encodes to more tokens alone (%zu) than with the "
                              "answer (%zu)", np, out->n);
    if (!rc) {
        out->mask = g_new0(uint8_t, out->n ? out->n : 1);
        for (size_t i = np; i < out->n; i++) out->mask[i] = 1;
    }
    g_free(pids);
    if (rc) cli_encoded_clear(out);
    return rc;
}

int cli_items_dataset(const cli_encoded *e, size_t n, size_t max_length, int32_t pad_id,
                      baldro_tok_dataset **out, uint8_t **truncated, baldro_error *err) {
    *out = NULL;
    *truncated = NULL;
    if (max_length < 2 || max_length > BALDRO_DATA_MAX_LENGTH)
        return baldro_error_set(err, BALDRO_EINVAL, "--max-length: %zu: expected 2 to %d tokens",
                                max_length, BALDRO_DATA_MAX_LENGTH);
    if (n == 0) return baldro_error_set(err, BALDRO_EINVAL, "no items to score");
    baldro_tok_dataset *ds = g_new0(baldro_tok_dataset, 1);
    ds->n = n;
    ds->off = g_new0(size_t, n + 1);
    ds->max_length = max_length;
    ds->pad_id = pad_id;
    ds->kind = -1;
    *truncated = g_new0(uint8_t, n);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += MIN(e[i].n, max_length);
    ds->ids = g_new(int32_t, total ? total : 1);
    ds->mask = g_new(uint8_t, total ? total : 1);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = e[i].n;
        if (len < 2) {
            baldro_tok_dataset_free(ds);
            g_free(*truncated);
            *truncated = NULL;
            return baldro_error_set(err, BALDRO_EINVAL, "item %zu: %zu token(s); scoring needs 2",
                                    i, len);
        }
        if (len > max_length) { /* keep the first max_length, as HF's truncation does */
            len = max_length;
            (*truncated)[i] = 1;
            ds->n_truncated++;
        }
        memcpy(ds->ids + at, e[i].ids, len * sizeof *ds->ids);
        memcpy(ds->mask + at, e[i].mask, len);
        size_t k = 0;
        while (k < len && !e[i].mask[k]) k++;
        if (k == len) ds->n_no_answer++;
        ds->longest = MAX(ds->longest, len);
        at += len;
        ds->off[i + 1] = at;
    }
    *out = ds;
    return BALDRO_OK;
}

/* ---- output -------------------------------------------------------------------------- */

void cli_json_string(GString *s, const char *p, size_t len) {
    g_string_append_c(s, '"');
    const char *end = p + len;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x80) {
            switch (c) {
            case '"': g_string_append(s, "\\\""); break;
            case '\\': g_string_append(s, "\\\\"); break;
            case '\n': g_string_append(s, "\\n"); break;
            case '\r': g_string_append(s, "\\r"); break;
            case '\t': g_string_append(s, "\\t"); break;
            default:
                if (c < 0x20 || c == 0x7f) g_string_append_printf(s, "\\u%04x", c);
                else g_string_append_c(s, (char)c);
            }
            p++;
            continue;
        }
        const char *next;
        if (g_utf8_validate(p, MIN(end - p, 4), &next) || next > p) {
            /* the longest valid prefix: at least one whole character here */
            const char *after = g_utf8_next_char(p);
            g_string_append_len(s, p, after - p);
            p = after;
        } else {
            g_string_append(s, "\\ufffd");
            p++;
        }
    }
    g_string_append_c(s, '"');
}

void cli_json_ids(GString *s, const int32_t *ids, size_t n) {
    g_string_append_c(s, '[');
    for (size_t i = 0; i < n; i++) g_string_append_printf(s, i ? ",%d" : "%d", (int)ids[i]);
    g_string_append_c(s, ']');
}

void cli_json_mask(GString *s, const uint8_t *m, size_t n) {
    g_string_append_c(s, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) g_string_append_c(s, ',');
        g_string_append_c(s, m[i] ? '1' : '0');
    }
    g_string_append_c(s, ']');
}

void cli_show_token(GString *s, const char *p, size_t len) {
    const char *end = p + len;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x80) {
            if (c == '\\') g_string_append(s, "\\\\");
            else if (c == '\n') g_string_append(s, "\\n");
            else if (c == '\r') g_string_append(s, "\\r");
            else if (c == '\t') g_string_append(s, "\\t");
            else if (c < 0x20 || c == 0x7f) g_string_append_printf(s, "\\x%02x", c);
            else g_string_append_c(s, (char)c);
            p++;
            continue;
        }
        const char *next;
        if (g_utf8_validate(p, MIN(end - p, 4), &next) || next > p) {
            const char *after = g_utf8_next_char(p);
            gunichar u = g_utf8_get_char(p);
            if (g_unichar_iscntrl(u) || u == 0x2028 || u == 0x2029 || u == 0xfeff)
                for (const char *q = p; q < after; q++)
                    g_string_append_printf(s, "\\x%02x", (unsigned char)*q);
            else
                g_string_append_len(s, p, after - p);
            p = after;
        } else {
            g_string_append_printf(s, "\\x%02x", c);
            p++;
        }
    }
}
