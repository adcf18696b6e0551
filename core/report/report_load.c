/* core/report/report_load.c: reads experiment and run directories into the report's data
 * (report_internal.h). Nothing here fails the report except an input that is neither an
 * experiment nor a run: a missing step is a note in its section, a malformed file one
 * warning (file, field, reason) and a marked section. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "io/json_strict.h"
#include "report/report_internal.h"
#include "report/svg.h"

/* Logs over this size are not read (a real TOFU forget10 run's dro.jsonl is tens of MB). */
#define RP_MAX_JSONL ((gsize)1 << 30)

void rp_warn(baldro_report *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* One line, whatever the file names hold. */
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    g_ptr_array_add(r->warnings, s);
}

void rp_part_set(rp_part *p, rp_state state, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    g_free(p->note);
    p->note = g_strdup_vprintf(fmt, ap);
    p->state = state;
    va_end(ap);
}

/* A malformed file: one warning and the part marked with the same line. */
static void rp_bad(baldro_report *r, rp_part *p, const char *msg) {
    rp_warn(r, "%s", msg);
    if (p->state != RP_MALFORMED) rp_part_set(p, RP_MALFORMED, "%s", msg);
}

static int rp_is_file(const char *path) {
    return g_file_test(path, G_FILE_TEST_IS_REGULAR);
}

/* `a/b` joined with `p` (unless p is absolute) with "." and "x/.." removed lexically, so
 * that "EXP/run-1/../eval-target" reads EXP/eval-target in the page and in messages. */
static char *rp_path(const char *base, const char *p) {
    char *joined = !base || g_path_is_absolute(p) ? g_strdup(p) : g_build_filename(base, p, NULL);
    int abs = g_path_is_absolute(joined);
    char **parts = g_strsplit(joined, "/", -1);
    GPtrArray *st = g_ptr_array_new();
    for (char **q = parts; *q; q++) {
        if (!**q || !strcmp(*q, ".")) continue;
        if (!strcmp(*q, "..") && st->len && strcmp(st->pdata[st->len - 1], "..")) {
            g_ptr_array_remove_index(st, st->len - 1);
            continue;
        }
        if (!strcmp(*q, "..") && abs) continue; /* /.. is / */
        g_ptr_array_add(st, *q);
    }
    GString *o = g_string_new(abs ? "/" : "");
    for (guint i = 0; i < st->len; i++) {
        if (i) g_string_append_c(o, '/');
        g_string_append(o, st->pdata[i]);
    }
    if (o->len == 0) g_string_append_c(o, '.');
    g_ptr_array_free(st, TRUE);
    g_strfreev(parts);
    g_free(joined);
    return g_string_free(o, FALSE);
}

/* ---- JSON values ----------------------------------------------------------------------- */

/* A member as a number: 0 and the value (null: NaN); 1 absent (*v NaN); -1 another type. */
static int rp_num(JsonObject *o, const char *key, double *v) {
    JsonNode *n = json_object_get_member(o, key);
    *v = NAN;
    if (!n) return 1;
    if (JSON_NODE_HOLDS_NULL(n)) return 0;
    if (!JSON_NODE_HOLDS_VALUE(n)) return -1;
    GType t = json_node_get_value_type(n);
    if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64) return -1;
    *v = json_node_get_double(n);
    return 0;
}

static const char *rp_str(JsonObject *o, const char *key, int *bad) {
    JsonNode *n = json_object_get_member(o, key);
    *bad = 0;
    if (!n) return NULL;
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
        return json_node_get_string(n);
    *bad = 1;
    return NULL;
}

static JsonObject *rp_root_obj(JsonNode *root) {
    return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
}

/* ---- JSON lines ------------------------------------------------------------------------- */

/* C's printf writes a non-finite double as nan, -nan, inf or -inf, Python's json NaN or
 * Infinity; outside strings they become null (read as NaN). Returns a new buffer. */
static GString *rp_nonfinite_to_null(const char *t, size_t len) {
    static const char *const tok[] = {"-Infinity", "Infinity", "NaN", "-nan", "nan", "-inf", "inf"};
    GString *o = g_string_sized_new(len + 16);
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = t[i];
        if (in_str) {
            g_string_append_c(o, ch);
            if (ch == '\\' && i + 1 < len)
                g_string_append_c(o, t[++i]);
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"') in_str = 1;
        size_t k = 0;
        for (; k < G_N_ELEMENTS(tok); k++) {
            size_t n = strlen(tok[k]);
            if (len - i >= n && memcmp(t + i, tok[k], n) == 0) break;
        }
        if (k < G_N_ELEMENTS(tok)) {
            g_string_append(o, "null");
            i += strlen(tok[k]) - 1;
        } else {
            g_string_append_c(o, ch);
        }
    }
    return o;
}

/* Called per row; returns NULL or a message "<field>: <reason>" (g_free'd by the caller). */
typedef char *(*rp_row_fn)(void *ud, JsonObject *row);

/* Every non-empty line of `path` as a JSON object, in order, to `fn`. The whole file is
 * parsed as one JSON array (one parser instead of one per line); only when that fails are
 * the lines parsed one by one to name the first bad one. Rows before a bad line are kept.
 * A missing file marks `part` RP_MISSING and returns 0; a bad one warns, marks RP_MALFORMED
 * and returns -1; 1 otherwise. */
static int rp_jsonl(baldro_report *r, const char *path, rp_part *part, rp_row_fn fn, void *ud) {
    if (!rp_is_file(path)) {
        rp_part_set(part, RP_MISSING, "%s: not found", path);
        return 0;
    }
    GStatBuf st;
    if (g_stat(path, &st) == 0 && (guint64)st.st_size > RP_MAX_JSONL) {
        char *m =
            g_strdup_printf("%s: %lld bytes, over the 1 GiB limit", path, (long long)st.st_size);
        rp_bad(r, part, m);
        g_free(m);
        return -1;
    }
    char *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(path, &text, &len, &gerr)) {
        char *m = g_strdup_printf("%s: cannot read (%s)", path, gerr->message);
        rp_bad(r, part, m);
        g_free(m);
        g_error_free(gerr);
        return -1;
    }
    /* The non-empty lines: [a, b) in text, line number. */
    typedef struct rp_span {
        size_t a, b, line;
    } rp_span;
    GArray *spans = g_array_new(FALSE, FALSE, sizeof(rp_span));
    for (size_t i = 0, line = 1; i < len; line++) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        size_t a = i, b = e;
        while (a < b && g_ascii_isspace(text[a])) a++;
        while (b > a && g_ascii_isspace(text[b - 1])) b--;
        if (b > a) {
            rp_span sp = {a, b, line};
            g_array_append_val(spans, sp);
        }
        i = e + 1;
    }
    GString *all = g_string_sized_new(len + 2);
    g_string_append_c(all, '[');
    for (guint k = 0; k < spans->len; k++) {
        const rp_span *sp = &g_array_index(spans, rp_span, k);
        if (k) g_string_append_c(all, ',');
        g_string_append_len(all, text + sp->a, (gssize)(sp->b - sp->a));
    }
    g_string_append_c(all, ']');
    GString *clean = rp_nonfinite_to_null(all->str, all->len);
    g_string_free(all, TRUE);
    JsonNode *root = baldro_json_parse(clean->str, clean->len, path, "JSON lines", NULL);
    g_string_free(clean, TRUE);
    int rc = 1;
    char *msg = NULL;
    /* The fast path holds when the array has one object per line (a line such as
     * `1,2` parses inside the array but breaks the correspondence). */
    JsonArray *arr = root && JSON_NODE_HOLDS_ARRAY(root) ? json_node_get_array(root) : NULL;
    if (arr && json_array_get_length(arr) != spans->len) arr = NULL;
    for (guint k = 0; arr && k < spans->len; k++)
        if (!JSON_NODE_HOLDS_OBJECT(json_array_get_element(arr, k))) arr = NULL;
    if (arr) {
        for (guint k = 0; k < spans->len && !msg; k++) {
            JsonNode *n = json_array_get_element(arr, k);
            size_t line = g_array_index(spans, rp_span, k).line;
            char *why = fn(ud, json_node_get_object(n));
            if (why) msg = g_strdup_printf("%s:%zu: %s", path, line, why);
            g_free(why);
        }
    } else {
        /* Find the first bad line, keeping the rows before it. */
        for (guint k = 0; k < spans->len && !msg; k++) {
            const rp_span *sp = &g_array_index(spans, rp_span, k);
            GString *one = rp_nonfinite_to_null(text + sp->a, sp->b - sp->a);
            char *where = g_strdup_printf("%s:%zu", path, sp->line);
            baldro_error e;
            baldro_error_clear(&e);
            JsonNode *n = baldro_json_parse(one->str, one->len, where, "JSON", &e);
            g_string_free(one, TRUE);
            if (!n) {
                msg = g_strdup(e.msg);
            } else if (!JSON_NODE_HOLDS_OBJECT(n)) {
                msg = g_strdup_printf("%s: expected a JSON object", where);
            } else {
                char *why = fn(ud, json_node_get_object(n));
                if (why) msg = g_strdup_printf("%s: %s", where, why);
                g_free(why);
            }
            if (n) json_node_unref(n);
            g_free(where);
        }
        if (!msg) msg = g_strdup_printf("%s: not JSON lines", path); /* e.g. a lone NUL */
    }
    if (msg) {
        rp_bad(r, part, msg);
        rc = -1;
    }
    g_free(msg);
    if (root) json_node_unref(root);
    g_array_free(spans, TRUE);
    g_free(text);
    return rc;
}

/* ---- metrics.jsonl ---------------------------------------------------------------------- */

typedef struct rp_curve_rows {
    GArray *step, *loss, *forget, *retain;
} rp_curve_rows;

static char *rp_curve_row(void *ud, JsonObject *o) {
    rp_curve_rows *c = ud;
    double v[4];
    static const char *const keys[4] = {"step", "loss", "forget", "retain"};
    for (int k = 0; k < 4; k++) {
        int rc = rp_num(o, keys[k], &v[k]);
        if (rc < 0) return g_strdup_printf("%s: expected a number", keys[k]);
        if (rc > 0 && k == 0) return g_strdup("step: missing");
    }
    if (!isfinite(v[0])) return g_strdup("step: expected a finite number");
    g_array_append_val(c->step, v[0]);
    g_array_append_val(c->loss, v[1]);
    g_array_append_val(c->forget, v[2]);
    g_array_append_val(c->retain, v[3]);
    return NULL;
}

static double *rp_take(GArray *a) {
    return (double *)(void *)g_array_free(a, FALSE);
}

static void rp_load_curves(baldro_report *r, rp_run *run, const char *dir) {
    char *path = g_build_filename(dir, "metrics.jsonl", NULL);
    rp_curve_rows c = {
        g_array_new(FALSE, FALSE, sizeof(double)), g_array_new(FALSE, FALSE, sizeof(double)),
        g_array_new(FALSE, FALSE, sizeof(double)), g_array_new(FALSE, FALSE, sizeof(double))};
    rp_jsonl(r, path, &run->curves.part, rp_curve_row, &c);
    run->curves.n = c.step->len;
    run->curves.step = rp_take(c.step);
    run->curves.loss = rp_take(c.loss);
    run->curves.forget = rp_take(c.forget);
    run->curves.retain = rp_take(c.retain);
    if (run->curves.part.state == RP_OK && run->curves.n == 0)
        rp_part_set(&run->curves.part, RP_MISSING, "%s: no steps logged", path);
    g_free(path);
}

/* ---- dro.jsonl ------------------------------------------------------------------------- */

typedef struct rp_dro_rows {
    GArray *step, *item, *weight, *nll;
} rp_dro_rows;

static char *rp_dro_row(void *ud, JsonObject *o) {
    rp_dro_rows *d = ud;
    double v[4];
    static const char *const keys[4] = {"step", "item", "weight", "nll_mean"};
    for (int k = 0; k < 4; k++) {
        int rc = rp_num(o, keys[k], &v[k]);
        if (rc < 0) return g_strdup_printf("%s: expected a number", keys[k]);
        if (rc > 0) return g_strdup_printf("%s: missing", keys[k]);
    }
    if (!isfinite(v[0])) return g_strdup("step: expected a finite number");
    if (!(v[1] >= 0 && v[1] <= 1e9 && v[1] == floor(v[1])))
        return g_strdup("item: expected an index (an integer from 0 to 10^9)");
    int64_t item = (int64_t)v[1];
    g_array_append_val(d->step, v[0]);
    g_array_append_val(d->item, item);
    g_array_append_val(d->weight, v[2]);
    g_array_append_val(d->nll, v[3]);
    return NULL;
}

static void rp_load_dro(baldro_report *r, rp_run *run, const char *dir) {
    char *path = g_build_filename(dir, "dro.jsonl", NULL);
    rp_dro_rows d = {
        g_array_new(FALSE, FALSE, sizeof(double)), g_array_new(FALSE, FALSE, sizeof(int64_t)),
        g_array_new(FALSE, FALSE, sizeof(double)), g_array_new(FALSE, FALSE, sizeof(double))};
    rp_jsonl(r, path, &run->dro.part, rp_dro_row, &d);
    rp_dro_summarise(&run->dro, (const double *)(void *)d.step->data,
                     (const int64_t *)(void *)d.item->data, (const double *)(void *)d.weight->data,
                     (const double *)(void *)d.nll->data, d.step->len);
    if (run->dro.part.state == RP_OK && d.step->len == 0)
        rp_part_set(&run->dro.part, RP_MISSING, "%s: no lines", path);
    g_array_free(d.step, TRUE);
    g_array_free(d.item, TRUE);
    g_array_free(d.weight, TRUE);
    g_array_free(d.nll, TRUE);
    g_free(path);
}

/* ---- Evaluations ------------------------------------------------------------------------ */

static void rp_load_summary(baldro_report *r, rp_eval *e) {
    rp_summary *s = &e->sum;
    s->fq = s->mu = s->ftr = s->gibberish = s->degeneration = s->privleak = s->es = NAN;
    char *path = g_build_filename(e->shown, "TOFU_SUMMARY.json", NULL);
    baldro_error err;
    baldro_error_clear(&err);
    JsonNode *root = rp_is_file(path) ? baldro_eval_json_load(path, &err) : NULL;
    JsonObject *o = rp_root_obj(root);
    if (!rp_is_file(path)) {
        rp_part_set(&s->part, RP_MISSING, "%s: not found", path);
    } else if (!root) {
        rp_bad(r, &s->part, err.msg);
    } else if (!o) {
        char *m = g_strdup_printf("%s: expected a JSON object", path);
        rp_bad(r, &s->part, m);
        g_free(m);
    } else {
        static const char *const keys[] = {
            "forget_quality", "model_utility",       "forget_truth_ratio", "forget_Q_A_gibberish",
            "gibberish",      "forget_degeneration", "privleak",           "extraction_strength"};
        double *dst[] = {&s->fq,        &s->mu,           &s->ftr,      &s->gibberish,
                         &s->gibberish, &s->degeneration, &s->privleak, &s->es};
        for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
            double v;
            int rc = rp_num(o, keys[k], &v);
            if (rc < 0) {
                char *m = g_strdup_printf("%s: %s: expected a number", path, keys[k]);
                rp_bad(r, &s->part, m);
                g_free(m);
            } else if (rc == 0 && !(dst[k] == &s->gibberish && !isnan(s->gibberish))) {
                *dst[k] = v;
            }
        }
    }
    if (root) json_node_unref(root);
    g_free(path);
}

/* One entry of TOFU_EVAL.json into `dst`; a missing entry is a note, a bad one a warning. */
static void rp_load_entry(baldro_report *r, JsonNode *root, const char *path, const char *key,
                          baldro_eval_entry *dst, rp_part *part) {
    baldro_error err;
    baldro_error_clear(&err);
    int rc = baldro_eval_entry_read(root, path, key, dst, &err);
    if (rc == BALDRO_ENOTFOUND)
        rp_part_set(part, RP_MISSING, "%s", err.msg);
    else if (rc)
        rp_bad(r, part, err.msg);
}

static void rp_load_eval_log(baldro_report *r, rp_eval *e) {
    char *path = g_build_filename(e->shown, "TOFU_EVAL.json", NULL);
    if (!rp_is_file(path)) {
        rp_part_set(&e->log, RP_MISSING, "%s: not found", path);
        rp_part_set(&e->tr_part, RP_MISSING, "%s: not found", path);
        rp_part_set(&e->qa_part, RP_MISSING, "%s: not found", path);
        g_free(path);
        return;
    }
    baldro_error err;
    baldro_error_clear(&err);
    JsonNode *root = baldro_eval_json_load(path, &err);
    if (!root) {
        rp_bad(r, &e->log, err.msg);
        rp_part_set(&e->tr_part, RP_MALFORMED, "%s", err.msg);
        rp_part_set(&e->qa_part, RP_MALFORMED, "%s", err.msg);
    } else {
        rp_load_entry(r, root, path, "forget_truth_ratio", &e->tr, &e->tr_part);
        rp_load_entry(r, root, path, "forget_Q_A_ROUGE", &e->qa, &e->qa_part);
        json_node_unref(root);
    }
    g_free(path);
}

/* The evaluation in `dir` (resolved against the run directory), loaded once per report. */
static rp_eval *rp_eval_get(baldro_report *r, const char *shown, const char *exp) {
    char *canon = g_canonicalize_filename(shown, NULL);
    rp_eval *e = g_hash_table_lookup(r->by_dir, canon);
    if (e) {
        g_free(canon);
        return e;
    }
    e = g_new0(rp_eval, 1);
    e->dir = canon;
    e->shown = g_strdup(shown);
    e->exp = g_strdup(exp);
    rp_load_summary(r, e);
    rp_load_eval_log(r, e);
    g_ptr_array_add(r->evals, e);
    g_hash_table_insert(r->by_dir, e->dir, e);
    return e;
}

/* ---- run.json ---------------------------------------------------------------------------- */

static const char *const k_steps[4] = {"unlearn", "eval-unlearn", "eval-target", "eval-retain"};

/* A settings value as the table shows it. */
static char *rp_setting_text(JsonNode *n) {
    if (JSON_NODE_HOLDS_VALUE(n)) {
        GType t = json_node_get_value_type(n);
        if (t == G_TYPE_STRING) return g_strdup(json_node_get_string(n));
        if (t == G_TYPE_BOOLEAN) return g_strdup(json_node_get_boolean(n) ? "true" : "false");
        if (t == G_TYPE_INT64) return g_strdup_printf("%lld", (long long)json_node_get_int(n));
        if (t == G_TYPE_DOUBLE) {
            GString *s = g_string_new(NULL);
            baldro_fmt_num(s, json_node_get_double(n), 6);
            return g_string_free(s, FALSE);
        }
    }
    return NULL;
}

static void rp_run_json(baldro_report *r, rp_run *run, char *steps[4]) {
    char *path = g_build_filename(run->dir, "run.json", NULL);
    if (!rp_is_file(path)) {
        rp_part_set(&run->meta, RP_MISSING, "%s: not found (the run has not started?)", path);
        g_free(path);
        return;
    }
    baldro_error err;
    baldro_error_clear(&err);
    JsonNode *root = baldro_eval_json_load(path, &err);
    JsonObject *o = rp_root_obj(root);
    char *m = NULL;
    if (!root) {
        rp_bad(r, &run->meta, err.msg);
        goto out;
    }
    if (!o) {
        m = g_strdup_printf("%s: expected a JSON object", path);
        rp_bad(r, &run->meta, m);
        goto out;
    }
#define RP_FIELD_BAD(...)                                                                          \
    do {                                                                                           \
        m = g_strdup_printf(__VA_ARGS__);                                                          \
        rp_bad(r, &run->meta, m);                                                                  \
        g_clear_pointer(&m, g_free);                                                               \
    } while (0)
    int bad = 0;
    const char *fmt = rp_str(o, "format", &bad);
    if (!fmt || !g_str_has_prefix(fmt, "baldro-run/"))
        RP_FIELD_BAD("%s: format: expected \"baldro-run/1\"", path);
    const char *id = rp_str(o, "id", &bad);
    if (bad || (id && !id[0]))
        RP_FIELD_BAD("%s: id: expected a non-empty string", path);
    else if (id) {
        g_free(run->id);
        run->id = g_strdup(id);
    }
    const char *status = rp_str(o, "status", &bad);
    if (bad)
        RP_FIELD_BAD("%s: status: expected a string", path);
    else if (status)
        run->status = g_strdup(status);

    JsonNode *sn = json_object_get_member(o, "settings");
    if (sn && !JSON_NODE_HOLDS_OBJECT(sn) && !JSON_NODE_HOLDS_NULL(sn)) {
        RP_FIELD_BAD("%s: settings: expected an object", path);
    } else if (sn && JSON_NODE_HOLDS_OBJECT(sn)) {
        GString *s = g_string_new(NULL);
        GList *names = json_object_get_members(json_node_get_object(sn));
        for (GList *l = names; l; l = l->next) {
            char *v = rp_setting_text(json_object_get_member(json_node_get_object(sn), l->data));
            if (!v) {
                RP_FIELD_BAD("%s: settings.%s: expected a string, number or boolean", path,
                             (const char *)l->data);
                continue;
            }
            g_string_append_printf(s, "%s%s=%s", s->len ? ", " : "", (const char *)l->data, v);
            g_free(v);
        }
        g_list_free(names);
        g_free(run->settings);
        run->settings = g_string_free(s, FALSE);
    }

    JsonNode *st = json_object_get_member(o, "steps");
    if (!st || !JSON_NODE_HOLDS_OBJECT(st)) {
        RP_FIELD_BAD("%s: steps: %s", path, st ? "expected an object" : "missing");
    } else {
        JsonObject *so = json_node_get_object(st);
        for (int k = 0; k < 4; k++) {
            const char *p = rp_str(so, k_steps[k], &bad);
            JsonNode *pn = json_object_get_member(so, k_steps[k]);
            if (bad && !(pn && JSON_NODE_HOLDS_NULL(pn)))
                RP_FIELD_BAD("%s: steps.%s: expected a path or null", path, k_steps[k]);
            else if (p && p[0])
                steps[k] = rp_path(run->dir, p);
        }
    }

    JsonNode *wn = json_object_get_member(o, "wall_seconds");
    if (wn && !JSON_NODE_HOLDS_OBJECT(wn)) {
        RP_FIELD_BAD("%s: wall_seconds: expected an object", path);
    } else if (wn) {
        double total = 0;
        int any = 0;
        for (int k = 0; k < 2; k++) {
            double v;
            int rc = rp_num(json_node_get_object(wn), k_steps[k], &v);
            if (rc < 0 || (rc == 0 && !(v >= 0)))
                RP_FIELD_BAD("%s: wall_seconds.%s: expected a number of seconds", path, k_steps[k]);
            else if (rc == 0) {
                total += v;
                any = 1;
            }
        }
        if (any) run->wall = total;
    }
#undef RP_FIELD_BAD
out:
    g_free(m);
    if (root) json_node_unref(root);
    g_free(path);
}

/* One run: run.json, then its steps. `id` names it when run.json cannot. */
static void rp_load_run(baldro_report *r, const char *dir, const char *id, const char *exp) {
    rp_run *run = g_new0(rp_run, 1);
    run->dir = rp_path(NULL, dir);
    run->exp = g_strdup(exp);
    run->wall = NAN;
    run->settings = g_strdup("");
    if (id) {
        run->id = g_strdup(id);
    } else {
        char *canon = g_canonicalize_filename(dir, NULL);
        run->id = g_path_get_basename(canon);
        g_free(canon);
    }
    char *steps[4] = {NULL};
    rp_run_json(r, run, steps);
    const char *why = run->meta.state == RP_MISSING ? "no run.json" : "not in run.json's steps";

    if (steps[0] && g_file_test(steps[0], G_FILE_TEST_IS_DIR)) {
        rp_load_curves(r, run, steps[0]);
        rp_load_dro(r, run, steps[0]);
    } else {
        rp_part *parts[2] = {&run->curves.part, &run->dro.part};
        for (int k = 0; k < 2; k++) {
            if (steps[0])
                rp_part_set(parts[k], RP_MISSING, "%s: no such directory", steps[0]);
            else
                rp_part_set(parts[k], RP_MISSING, "no unlearn step (%s)", why);
        }
    }
    rp_eval **ev[3] = {&run->ev, &run->target, &run->retain};
    char **note[3] = {&run->ev_note, &run->target_note, &run->retain_note};
    for (int k = 1; k < 4; k++) {
        if (!steps[k]) {
            *note[k - 1] = g_strdup_printf("no %s step (%s)", k_steps[k], why);
        } else if (!g_file_test(steps[k], G_FILE_TEST_IS_DIR)) {
            *note[k - 1] = g_strdup_printf("%s: no such directory", steps[k]);
        } else {
            *ev[k - 1] = rp_eval_get(r, steps[k], exp);
        }
    }
    for (int k = 0; k < 4; k++) g_free(steps[k]);
    g_ptr_array_add(r->runs, run);
}

/* ---- Experiments ------------------------------------------------------------------------- */

static int rp_str_cmp(gconstpointer a, gconstpointer b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The run ids of an experiment whose pipeline.json lists none readable: its subdirectories
 * that hold a run.json, sorted. */
static GPtrArray *rp_scan_runs(const char *dir) {
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) return ids;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        char *rj = g_build_filename(dir, name, "run.json", NULL);
        if (rp_is_file(rj)) g_ptr_array_add(ids, g_strdup(name));
        g_free(rj);
    }
    g_dir_close(d);
    g_ptr_array_sort(ids, rp_str_cmp);
    return ids;
}

static int rp_id_ok(const char *id) {
    return id[0] && strcmp(id, ".") && strcmp(id, "..") && !strchr(id, '/') && !strchr(id, '\\');
}

static void rp_load_experiment(baldro_report *r, const char *dir) {
    char *path = g_build_filename(dir, "pipeline.json", NULL);
    char *canon = g_canonicalize_filename(dir, NULL);
    char *name = g_path_get_basename(canon);
    g_free(canon);
    baldro_error err;
    baldro_error_clear(&err);
    JsonNode *root = baldro_eval_json_load(path, &err);
    JsonObject *o = rp_root_obj(root);
    GPtrArray *ids = NULL;
    int bad = 0;
    if (!root) {
        rp_warn(r, "%s (its run directories are scanned instead)", err.msg);
    } else if (!o) {
        rp_warn(r, "%s: expected a JSON object (its run directories are scanned instead)", path);
    } else {
        const char *fmt = rp_str(o, "format", &bad);
        if (!fmt || !g_str_has_prefix(fmt, "baldro-pipeline/"))
            rp_warn(r, "%s: format: expected \"baldro-pipeline/1\"", path);
        const char *exp = rp_str(o, "experiment", &bad);
        if (bad || (exp && !exp[0]))
            rp_warn(r, "%s: experiment: expected a name", path);
        else if (exp) {
            g_free(name);
            name = g_strdup(exp);
        }
        JsonNode *rn = json_object_get_member(o, "runs");
        if (!rn || !JSON_NODE_HOLDS_ARRAY(rn)) {
            rp_warn(r, "%s: runs: %s (its run directories are scanned instead)", path,
                    rn ? "expected a list of run ids" : "missing");
        } else {
            JsonArray *a = json_node_get_array(rn);
            ids = g_ptr_array_new_with_free_func(g_free);
            for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *n = json_array_get_element(a, i);
                const char *id =
                    JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
                        ? json_node_get_string(n)
                        : NULL;
                if (!id || !rp_id_ok(id))
                    rp_warn(r, "%s: runs[%u]: expected a run id (a directory name)", path, i);
                else
                    g_ptr_array_add(ids, g_strdup(id));
            }
        }
    }
    if (!ids) ids = rp_scan_runs(dir);
    g_ptr_array_add(r->exps, g_strdup(name));
    for (guint i = 0; i < ids->len; i++) {
        char *rd = g_build_filename(dir, (const char *)ids->pdata[i], NULL);
        rp_load_run(r, rd, ids->pdata[i], name);
        g_free(rd);
    }
    g_ptr_array_free(ids, TRUE);
    if (root) json_node_unref(root);
    g_free(name);
    g_free(path);
}

/* ---- The report -------------------------------------------------------------------------- */

static void rp_eval_free(gpointer p) {
    rp_eval *e = p;
    g_free(e->dir);
    g_free(e->shown);
    g_free(e->exp);
    g_free(e->sum.part.note);
    g_free(e->log.note);
    g_free(e->tr_part.note);
    g_free(e->qa_part.note);
    baldro_eval_entry_clear(&e->tr);
    baldro_eval_entry_clear(&e->qa);
    g_free(e);
}

static void rp_run_free(gpointer p) {
    rp_run *run = p;
    g_free(run->id);
    g_free(run->dir);
    g_free(run->exp);
    g_free(run->settings);
    g_free(run->status);
    g_free(run->meta.note);
    g_free(run->curves.part.note);
    g_free(run->curves.step);
    g_free(run->curves.loss);
    g_free(run->curves.forget);
    g_free(run->curves.retain);
    rp_dro *d = &run->dro;
    g_free(d->part.note);
    g_free(d->step);
    g_free(d->wmin);
    g_free(d->wq1);
    g_free(d->wmed);
    g_free(d->wq3);
    g_free(d->wmax);
    g_free(d->logprob);
    g_free(d->items);
    g_free(run->ev_note);
    g_free(run->target_note);
    g_free(run->retain_note);
    g_free(run);
}

void baldro_report_free(baldro_report *r) {
    if (!r) return;
    g_ptr_array_free(r->runs, TRUE);
    g_hash_table_destroy(r->by_dir);
    g_ptr_array_free(r->evals, TRUE);
    g_ptr_array_free(r->warnings, TRUE);
    g_ptr_array_free(r->inputs, TRUE);
    g_array_free(r->is_exp, TRUE);
    g_ptr_array_free(r->exps, TRUE);
    g_free(r);
}

int baldro_report_load(const char *const *dirs, size_t n, baldro_report **out, baldro_error *err) {
    *out = NULL;
    if (n == 0) return baldro_error_set(err, BALDRO_EINVAL, "no run directory given");
    /* Every input is checked before anything is read: a typo fails at once. */
    int *is_exp = g_new(int, n);
    for (size_t i = 0; i < n; i++) {
        char *pj = g_build_filename(dirs[i], "pipeline.json", NULL);
        char *rj = g_build_filename(dirs[i], "run.json", NULL);
        is_exp[i] = rp_is_file(pj) ? 1 : rp_is_file(rj) ? 0 : -1;
        g_free(pj);
        g_free(rj);
        if (is_exp[i] < 0) {
            int rc = baldro_error_set(err, BALDRO_ENOTFOUND,
                                      g_file_test(dirs[i], G_FILE_TEST_IS_DIR)
                                          ? "%s: neither pipeline.json (an experiment) nor "
                                            "run.json (a run) in this directory"
                                          : "%s: not a directory",
                                      dirs[i]);
            g_free(is_exp);
            return rc;
        }
    }
    baldro_report *r = g_new0(baldro_report, 1);
    r->runs = g_ptr_array_new_with_free_func(rp_run_free);
    r->evals = g_ptr_array_new_with_free_func(rp_eval_free);
    r->by_dir = g_hash_table_new(g_str_hash, g_str_equal);
    r->warnings = g_ptr_array_new_with_free_func(g_free);
    r->inputs = g_ptr_array_new_with_free_func(g_free);
    r->is_exp = g_array_new(FALSE, FALSE, sizeof(int));
    r->exps = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < n; i++) {
        g_ptr_array_add(r->inputs, g_strdup(dirs[i]));
        g_array_append_val(r->is_exp, is_exp[i]);
        if (is_exp[i])
            rp_load_experiment(r, dirs[i]);
        else
            rp_load_run(r, dirs[i], NULL, NULL);
    }
    g_free(is_exp);
    *out = r;
    return BALDRO_OK;
}

size_t baldro_report_n_runs(const baldro_report *r) {
    return r->runs->len;
}
size_t baldro_report_n_warnings(const baldro_report *r) {
    return r->warnings->len;
}
const char *baldro_report_warning(const baldro_report *r, size_t i) {
    return i < r->warnings->len ? r->warnings->pdata[i] : NULL;
}
int baldro_report_input_is_experiment(const baldro_report *r, size_t input) {
    return input < r->is_exp->len && g_array_index(r->is_exp, int, input);
}
