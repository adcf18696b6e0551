/* core/pipeline/summary.c: summary.csv / .md / .json of a pipeline (see summary.h). */
#include "pipeline/summary.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/json_write.h"
#include "util/fsutil.h"
#include "util/log.h"

/* The columns: TOFU_SUMMARY.json keys and their headers. fluency is the gibberish
 * classifier's score (open-unlearning's fluency), present when eval.classifier is set;
 * degeneration is the model-free rate, present unless eval.degeneration is off. */
static const struct { const char *key, *head; } k_cols[] = {
    {"forget_quality", "forget_quality"},
    {"model_utility", "model_utility"},
    {"forget_truth_ratio", "forget_truth_ratio"},
    {"forget_Q_A_Prob", "forget_prob"},
    {"gibberish", "fluency"},
    {"forget_degeneration", "degeneration"},
    {"privleak", "privleak"},
    {"extraction_strength", "extraction_strength"},
};
enum { N_COLS = sizeof k_cols / sizeof k_cols[0] };

/* One row's figures; NAN = absent. */
typedef struct row {
    double v[N_COLS];
} row;

static void read_summary(const char *path, row *r) {
    for (int c = 0; c < N_COLS; c++) r->v[c] = NAN;
    if (!path) return;
    JsonParser *p = json_parser_new();
    GError *ge = NULL;
    if (!json_parser_load_from_file(p, path, &ge)) {
        LOG_WARN("summary: %s: cannot be read (%s); its figures are left empty", path,
                 ge->message);
        g_error_free(ge);
        g_object_unref(p);
        return;
    }
    JsonNode *root = json_parser_get_root(p);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    if (!o) LOG_WARN("summary: %s: not a JSON object; its figures are left empty", path);
    for (int c = 0; o && c < N_COLS; c++) {
        JsonNode *n = json_object_get_member(o, k_cols[c].key);
        if (!n || !JSON_NODE_HOLDS_VALUE(n)) continue;
        GType t = json_node_get_value_type(n);
        if (t == G_TYPE_DOUBLE || t == G_TYPE_INT64) r->v[c] = json_node_get_double(n);
    }
    g_object_unref(p);
}

static int seed_axis(const baldro_sweep_axis *axes, size_t n_axes) {
    for (size_t a = 0; a < n_axes; a++)
        if (!strcmp(axes[a].key, "run.seed") && axes[a].n_values > 1) return (int)a;
    return -1;
}

/* Full precision (CSV) or one decimal (seconds). */
static void fmt_num(GString *s, double v, int seconds) {
    if (isnan(v)) return;
    if (seconds) g_string_append_printf(s, "%.1f", v);
    else g_string_append_printf(s, "%.10g", v);
}

/* Markdown figures: forget quality spans decades (scientific), the rest 4 digits. */
static void md_fmt(char *buf, size_t n, double v, int col) {
    if (col == 0) g_snprintf(buf, n, "%.3e", v);
    else g_snprintf(buf, n, "%.4g", v);
}

/* CSV field: quoted when it holds a comma, quote or newline. */
static void csv_field(GString *s, const char *f) {
    if (!strpbrk(f, ",\"\n\r")) {
        g_string_append(s, f);
        return;
    }
    g_string_append_c(s, '"');
    for (const char *p = f; *p; p++) {
        if (*p == '"') g_string_append_c(s, '"');
        g_string_append_c(s, *p);
    }
    g_string_append_c(s, '"');
}

/* Markdown cell: pipes escaped, newlines flattened. */
static void md_cell(GString *s, const char *f) {
    g_string_append(s, " ");
    for (const char *p = f; *p; p++) {
        if (*p == '|') g_string_append(s, "\\|");
        else if (*p == '\n' || *p == '\r') g_string_append_c(s, ' ');
        else g_string_append_c(s, *p);
    }
    g_string_append(s, " |");
}

static void md_num(GString *s, double v, int col) {
    char buf[64] = "";
    if (!isnan(v)) md_fmt(buf, sizeof buf, v, col);
    md_cell(s, buf);
}

static void json_num(JsonBuilder *b, const char *name, double v) {
    json_builder_set_member_name(b, name);
    if (isnan(v)) json_builder_add_null_value(b);
    else json_builder_add_double_value(b, v);
}

static void json_row(JsonBuilder *b, const row *r) {
    for (int c = 0; c < N_COLS; c++) json_num(b, k_cols[c].head, r->v[c]);
}

/* Groups: runs with equal labels on every axis but the seed's. */
typedef struct group {
    size_t first;     /* a run of the group: its labels name the group */
    size_t n;         /* finished runs */
    double mean[N_COLS + 1], sd[N_COLS + 1]; /* + wall time */
    size_t count[N_COLS + 1];
} group;

static int same_group(const baldro_summary_run *a, const baldro_summary_run *b, size_t n_axes,
                      int skip) {
    for (size_t x = 0; x < n_axes; x++)
        if ((int)x != skip && strcmp(a->labels[x], b->labels[x])) return 0;
    return 1;
}

int baldro_summary_write(const char *dir, const baldro_sweep_axis *axes, size_t n_axes,
                         const baldro_summary_run *runs, size_t n_runs, const char *target,
                         const char *retain, baldro_error *err) {
    row *rows = g_new0(row, n_runs + 2);
    for (size_t i = 0; i < n_runs; i++) read_summary(runs[i].summary, &rows[i]);
    row *tr = &rows[n_runs], *rr = &rows[n_runs + 1];
    read_summary(target, tr);
    read_summary(retain, rr);
    /* The retain model is the reference forget quality is measured against. */
    if (retain && isnan(rr->v[0])) rr->v[0] = 1.0;

    int seed = seed_axis(axes, n_axes);
    GArray *groups = g_array_new(FALSE, TRUE, sizeof(group));
    if (seed >= 0) {
        for (size_t i = 0; i < n_runs; i++) {
            guint g;
            for (g = 0; g < groups->len; g++)
                if (same_group(&runs[g_array_index(groups, group, g).first], &runs[i], n_axes, seed))
                    break;
            if (g == groups->len) {
                group ng = {.first = i};
                g_array_append_val(groups, ng);
            }
        }
    }
    /* Mean in one pass, then the spread around it in a second. */
    for (guint g = 0; g < groups->len; g++) {
        group *gr = &g_array_index(groups, group, g);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < n_runs; i++) {
                if (!same_group(&runs[gr->first], &runs[i], n_axes, seed) ||
                    strcmp(runs[i].status, "done"))
                    continue;
                if (pass == 0) gr->n++;
                for (int c = 0; c <= N_COLS; c++) {
                    double v = c < N_COLS ? rows[i].v[c] : runs[i].wall_seconds;
                    if (isnan(v)) continue;
                    if (pass == 0) {
                        gr->mean[c] += v;
                        gr->count[c]++;
                    } else {
                        double d = v - gr->mean[c];
                        gr->sd[c] += d * d;
                    }
                }
            }
            for (int c = 0; c <= N_COLS; c++) {
                if (pass == 0) gr->mean[c] = gr->count[c] ? gr->mean[c] / (double)gr->count[c] : NAN;
                else gr->sd[c] = gr->count[c] > 1 ? sqrt(gr->sd[c] / (double)(gr->count[c] - 1)) : NAN;
            }
        }
    }

    /* ---- CSV ---- */
    GString *csv = g_string_new("run");
    for (size_t a = 0; a < n_axes; a++) {
        g_string_append_c(csv, ',');
        csv_field(csv, axes[a].key);
    }
    g_string_append(csv, ",status");
    for (int c = 0; c < N_COLS; c++) g_string_append_printf(csv, ",%s", k_cols[c].head);
    g_string_append(csv, ",wall_seconds\n");
    for (size_t i = 0; i < n_runs + 2; i++) {
        int ref = i >= n_runs;
        const char *id = !ref ? runs[i].id : i == n_runs ? "target" : "retain";
        const char *path = !ref ? runs[i].summary : i == n_runs ? target : retain;
        if (ref && !path) continue;
        csv_field(csv, id);
        for (size_t a = 0; a < n_axes; a++) {
            g_string_append_c(csv, ',');
            if (!ref) csv_field(csv, runs[i].labels[a]);
        }
        g_string_append_c(csv, ',');
        csv_field(csv, ref ? "reference" : runs[i].status);
        for (int c = 0; c < N_COLS; c++) {
            g_string_append_c(csv, ',');
            fmt_num(csv, rows[i].v[c], 0);
        }
        g_string_append_c(csv, ',');
        if (!ref) fmt_num(csv, runs[i].wall_seconds, 1);
        g_string_append_c(csv, '\n');
    }

    /* ---- Markdown ---- */
    GString *md = g_string_new("| run |");
    for (size_t a = 0; a < n_axes; a++) md_cell(md, axes[a].key);
    md_cell(md, "status");
    for (int c = 0; c < N_COLS; c++) md_cell(md, k_cols[c].head);
    md_cell(md, "wall s");
    g_string_append(md, "\n|---|");
    for (size_t a = 0; a < n_axes + 1 + N_COLS + 1; a++) g_string_append(md, "---|");
    g_string_append_c(md, '\n');
    for (size_t i = 0; i < n_runs + 2; i++) {
        int ref = i >= n_runs;
        const char *id = !ref ? runs[i].id : i == n_runs ? "target" : "retain";
        const char *path = !ref ? runs[i].summary : i == n_runs ? target : retain;
        if (ref && !path) continue;
        g_string_append(md, "|");
        md_cell(md, id);
        for (size_t a = 0; a < n_axes; a++) md_cell(md, ref ? "" : runs[i].labels[a]);
        md_cell(md, ref ? "reference" : runs[i].status);
        for (int c = 0; c < N_COLS; c++) md_num(md, rows[i].v[c], c);
        char w[32] = "";
        if (!ref) g_snprintf(w, sizeof w, "%.1f", runs[i].wall_seconds);
        md_cell(md, w);
        g_string_append_c(md, '\n');
    }
    if (groups->len) {
        g_string_append(md, "\nMean ± sample standard deviation over run.seed (n = finished runs):\n\n|");
        for (size_t a = 0; a < n_axes; a++)
            if ((int)a != seed) md_cell(md, axes[a].key);
        md_cell(md, "n");
        for (int c = 0; c < N_COLS; c++) md_cell(md, k_cols[c].head);
        md_cell(md, "wall s");
        g_string_append(md, "\n|");
        for (size_t a = 0; a < n_axes - 1 + 1 + N_COLS + 1; a++) g_string_append(md, "---|");
        g_string_append_c(md, '\n');
        for (guint g = 0; g < groups->len; g++) {
            const group *gr = &g_array_index(groups, group, g);
            g_string_append(md, "|");
            for (size_t a = 0; a < n_axes; a++)
                if ((int)a != seed) md_cell(md, runs[gr->first].labels[a]);
            char nb[32];
            g_snprintf(nb, sizeof nb, "%zu", gr->n);
            md_cell(md, nb);
            for (int c = 0; c <= N_COLS; c++) {
                char cell[96] = "";
                if (!isnan(gr->mean[c])) {
                    char m[40], s[40] = "";
                    md_fmt(m, sizeof m, gr->mean[c], c);
                    if (!isnan(gr->sd[c])) md_fmt(s, sizeof s, gr->sd[c], c);
                    g_snprintf(cell, sizeof cell, *s ? "%s ± %s" : "%s", m, s);
                }
                md_cell(md, cell);
            }
            g_string_append_c(md, '\n');
        }
    }

    /* ---- JSON ---- */
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "baldro-summary/1");
    json_builder_set_member_name(b, "axes");
    json_builder_begin_array(b);
    for (size_t a = 0; a < n_axes; a++) json_builder_add_string_value(b, axes[a].key);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "runs");
    json_builder_begin_array(b);
    for (size_t i = 0; i < n_runs; i++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, runs[i].id);
        json_builder_set_member_name(b, "settings");
        json_builder_begin_object(b);
        for (size_t a = 0; a < n_axes; a++) {
            json_builder_set_member_name(b, axes[a].key);
            json_builder_add_string_value(b, runs[i].labels[a]);
        }
        json_builder_end_object(b);
        json_builder_set_member_name(b, "status");
        json_builder_add_string_value(b, runs[i].status);
        json_row(b, &rows[i]);
        json_num(b, "wall_seconds", runs[i].wall_seconds);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "groups");
    json_builder_begin_array(b);
    for (guint g = 0; g < groups->len; g++) {
        const group *gr = &g_array_index(groups, group, g);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "settings");
        json_builder_begin_object(b);
        for (size_t a = 0; a < n_axes; a++)
            if ((int)a != seed) {
                json_builder_set_member_name(b, axes[a].key);
                json_builder_add_string_value(b, runs[gr->first].labels[a]);
            }
        json_builder_end_object(b);
        json_builder_set_member_name(b, "n");
        json_builder_add_int_value(b, (gint64)gr->n);
        for (int k = 0; k < 2; k++) {
            json_builder_set_member_name(b, k ? "sd" : "mean");
            json_builder_begin_object(b);
            for (int c = 0; c <= N_COLS; c++)
                json_num(b, c < N_COLS ? k_cols[c].head : "wall_seconds", k ? gr->sd[c] : gr->mean[c]);
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    for (int k = 0; k < 2; k++) {
        const char *path = k ? retain : target;
        json_builder_set_member_name(b, k ? "retain" : "target");
        if (!path) {
            json_builder_add_null_value(b);
            continue;
        }
        json_builder_begin_object(b);
        json_row(b, k ? rr : tr);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    int rc = BALDRO_OK;
    const char *names[] = {"summary.csv", "summary.md", "summary.json"};
    const GString *texts[] = {csv, md, NULL};
    for (int f = 0; f < 3 && rc == BALDRO_OK; f++) {
        char *p = g_build_filename(dir, names[f], NULL);
        rc = texts[f] ? baldro_write_file_atomic(p, texts[f]->str, texts[f]->len, err)
                      : baldro_json_write_atomic(b, p, err);
        g_free(p);
    }
    g_object_unref(b);
    g_string_free(md, TRUE);
    g_string_free(csv, TRUE);
    g_array_free(groups, TRUE);
    g_free(rows);
    return rc;
}
