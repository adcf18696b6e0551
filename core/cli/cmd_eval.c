/* core/cli/cmd_eval.c: `baldro-host eval --model DIR`: TOFU's evaluation of one model.
 *
 * Four splits, as open-unlearning's TOFU evaluation: <forget_split>_perturbed,
 * retain_perturbed, real_authors_perturbed and world_facts_perturbed. Per split the
 * evaluator scores the answer, the paraphrased answer (where the split has one) and every
 * perturbed answer, and generates greedy answers (core/eval/evaluator.h); the metric
 * plugins (probability, rouge, truth_ratio, forget_quality) turn those into per-item
 * scores and values. Model utility is the harmonic mean of the nine retain / real
 * authors / world facts values; forget quality needs a retain model's TOFU_EVAL.json
 * (--retain-logs or eval.retain_logs) and is left out, with a note, without one.
 * Writes TOFU_EVAL.json (per item: score, input, ground truth, generation) and
 * TOFU_SUMMARY.json with open-unlearning's metric names, atomically. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "data/batch.h"
#include "data/chat_template.h"
#include "data/subset.h"
#include "data/tofu.h"
#include "engine/model_hf.h"
#include "eval/evaluator.h"
#include "eval/legacy_logs.h"
#include "io/json_strict.h"
#include "util/fsutil.h"
#include "util/log.h"

/* Model utility: the harmonic mean of the nine values, 0 if one is 0 (scipy's hmean);
 * NAN if one is negative or not finite (reported, never averaged in). */
static double hmean(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || v[i] < 0) return NAN;
        if (v[i] == 0) return 0.0;
        s += 1.0 / v[i];
    }
    return (double)n / s;
}

/* One evaluated split: its data, the passes and the items handed to the metrics. */
typedef struct ev_split {
    const char *key;         /* "forget", "retain", "ra", "wf"                         */
    char *name;              /* file name without .json                                */
    baldro_tofu_split *s;
    baldro_tok_dataset *d_gt, *d_para, **d_pert;
    size_t n_pert;
    baldro_item_scores gt, para, *pert;
    char **gen;
    baldro_eval_item *items;
    const baldro_eval_item **ptr;
    double *alt_nll;
    int32_t *alt_tok;
} ev_split;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void split_free(ev_split *e) {
    baldro_tok_dataset_free(e->d_gt);
    baldro_tok_dataset_free(e->d_para);
    for (size_t j = 0; j < e->n_pert; j++) {
        if (e->d_pert) baldro_tok_dataset_free(e->d_pert[j]);
        if (e->pert) baldro_item_scores_clear(&e->pert[j]);
    }
    g_free(e->d_pert);
    g_free(e->pert);
    baldro_item_scores_clear(&e->gt);
    baldro_item_scores_clear(&e->para);
    g_strfreev(e->gen);
    g_free(e->items);
    g_free(e->ptr);
    g_free(e->alt_nll);
    g_free(e->alt_tok);
    baldro_tofu_free(e->s);
    g_free(e->name);
}

/* Datasets of every answer variant of a split. */
static int split_data(ev_split *e, const baldro_tokenizer *tok, int kind, size_t max_len,
                      baldro_error *err) {
    const size_t n = e->s->n;
    const char **q = g_new(const char *, n), **a = g_new(const char *, n);
    int rc = baldro_tok_dataset_build(tok, kind, e->s, max_len, &e->d_gt, err);
    for (size_t i = 0; i < n; i++) q[i] = e->s->items[i].question;
    if (!rc && (e->s->fields & BALDRO_TOFU_HAS_PARA_ANSWER)) {
        for (size_t i = 0; i < n; i++) a[i] = e->s->items[i].paraphrased_answer;
        char *nm = g_strdup_printf("%s paraphrased_answer", e->s->path);
        rc = baldro_tok_dataset_build_qa(tok, kind, n, q, a, nm, max_len, &e->d_para, err);
        g_free(nm);
    }
    e->n_pert = n ? e->s->items[0].n_perturbed : 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (e->s->items[i].n_perturbed != e->n_pert)
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s:%zu: perturbed_answer: %zu answers, "
                                  "line %zu has %zu", e->s->path, e->s->items[i].line,
                                  e->s->items[i].n_perturbed, e->s->items[0].line, e->n_pert);
    if (!rc && e->n_pert == 0)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: perturbed_answer: missing (the truth "
                              "ratio needs perturbed answers)", e->s->path);
    e->d_pert = g_new0(baldro_tok_dataset *, e->n_pert ? e->n_pert : 1);
    for (size_t j = 0; !rc && j < e->n_pert; j++) {
        for (size_t i = 0; i < n; i++) a[i] = e->s->items[i].perturbed[j];
        char *nm = g_strdup_printf("%s perturbed_answer[%zu]", e->s->path, j);
        rc = baldro_tok_dataset_build_qa(tok, kind, n, q, a, nm, max_len, &e->d_pert[j], err);
        g_free(nm);
    }
    g_free(q);
    g_free(a);
    return rc;
}

static size_t split_longest(const ev_split *e) {
    size_t l = e->d_gt->longest;
    if (e->d_para && e->d_para->longest > l) l = e->d_para->longest;
    for (size_t j = 0; j < e->n_pert; j++)
        if (e->d_pert[j]->longest > l) l = e->d_pert[j]->longest;
    return l;
}

static int split_run(ev_split *e, baldro_model *m, const baldro_gen_request *rq, int32_t B,
                     baldro_error *err) {
    int rc = baldro_eval_score(m, e->d_gt, B, &e->gt, err);
    if (!rc && e->d_para) rc = baldro_eval_score(m, e->d_para, B, &e->para, err);
    e->pert = g_new0(baldro_item_scores, e->n_pert);
    for (size_t j = 0; !rc && j < e->n_pert; j++)
        rc = baldro_eval_score(m, e->d_pert[j], B, &e->pert[j], err);
    if (!rc) rc = baldro_eval_generate(m, rq, e->s, &e->gen, err);
    if (rc) return rc;
    const size_t n = e->s->n;
    e->items = g_new0(baldro_eval_item, n);
    e->ptr = g_new(const baldro_eval_item *, n);
    e->alt_nll = g_new(double, n * e->n_pert);
    e->alt_tok = g_new(int32_t, n * e->n_pert);
    for (size_t i = 0; i < n; i++) {
        baldro_eval_item *it = &e->items[i];
        it->struct_size = sizeof *it;
        it->question = e->s->items[i].question;
        it->ground_truth = e->s->items[i].answer;
        it->generation = e->gen[i];
        it->nll = e->gt.nll[i];
        it->n_tokens = e->gt.n_tokens[i];
        it->para_nll = e->d_para ? e->para.nll[i] : NAN;
        it->para_tokens = e->d_para ? e->para.n_tokens[i] : 0;
        it->n_alt = (int32_t)e->n_pert;
        for (size_t j = 0; j < e->n_pert; j++) {
            e->alt_nll[i * e->n_pert + j] = e->pert[j].nll[i];
            e->alt_tok[i * e->n_pert + j] = e->pert[j].n_tokens[i];
        }
        it->alt_nll = e->alt_nll + i * e->n_pert;
        it->alt_tokens = e->alt_tok + i * e->n_pert;
        e->ptr[i] = it;
    }
    return BALDRO_OK;
}

/* Runs `metric` on a split; per-item scores into scores[n]. */
static int metric(const baldro_registry *reg, const char *name, const char *split, size_t n,
                  const baldro_eval_item *const *items, const double *ref, size_t n_ref,
                  double *scores, double *value, baldro_error *err) {
    const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_METRIC, name);
    if (!o)
        return baldro_error_set(err, BALDRO_ENOTFOUND, "metric '%s' is not loaded (the "
                                "metrics_tofu plugin)", name);
    baldro_metric_input in = {.struct_size = sizeof in, .split = split, .n_items = n,
                              .items = items, .reference = ref, .n_reference = n_ref};
    for (size_t i = 0; i < n; i++) scores[i] = NAN;
    baldro_metric_output out = {.struct_size = sizeof out, .item_scores = scores, .value = NAN};
    char perr[512] = "";
    void *st = NULL;
    if (o->vt.metric.create && o->vt.metric.create(&st, NULL, perr, sizeof perr))
        return baldro_error_set(err, BALDRO_EPLUGIN, "metric %s: %s", name, perr);
    int rc = o->vt.metric.compute(st, &in, &out, perr, sizeof perr);
    if (o->vt.metric.destroy) o->vt.metric.destroy(st);
    if (rc) return baldro_error_set(err, BALDRO_EINVAL, "metric %s: %s", name, perr);
    *value = out.value;
    return BALDRO_OK;
}

/* {"agg_value": v, "value_by_index": {"i": {<key>: s, "input", "ground_truth", "generation"}}} */
static void add_metric(JsonBuilder *b, const char *name, double v, const ev_split *e,
                       const double *scores, const char *key) {
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "agg_value");
    json_builder_add_double_value(b, v);
    if (scores) {
        json_builder_set_member_name(b, "value_by_index");
        json_builder_begin_object(b);
        for (size_t i = 0; i < e->s->n; i++) {
            char idx[24];
            g_snprintf(idx, sizeof idx, "%zu", i);
            json_builder_set_member_name(b, idx);
            json_builder_begin_object(b);
            json_builder_set_member_name(b, key);
            json_builder_add_double_value(b, scores[i]);
            json_builder_set_member_name(b, "input");
            json_builder_add_string_value(b, e->s->items[i].question);
            json_builder_set_member_name(b, "ground_truth");
            json_builder_add_string_value(b, e->s->items[i].answer);
            json_builder_set_member_name(b, "generation");
            json_builder_add_string_value(b, e->gen[i]);
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
}

/* The retain model's per-item forget truth ratios from a TOFU_EVAL.json (ours, or
 * open-unlearning's: forget_truth_ratio.value_by_index[i].score). */
static int read_retain_logs(const char *path, size_t want_n, double **out, size_t *n,
                            baldro_error *err) {
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot read (eval.retain_logs)", path);
    JsonNode *root = baldro_json_parse(text, len, path, "JSON", err);
    g_free(text);
    if (!root) return err->code;
    int rc = BALDRO_OK;
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonNode *tr = o ? json_object_get_member(o, "forget_truth_ratio") : NULL;
    JsonObject *vbi = NULL;
    if (tr && JSON_NODE_HOLDS_OBJECT(tr)) {
        JsonNode *v = json_object_get_member(json_node_get_object(tr), "value_by_index");
        if (v && JSON_NODE_HOLDS_OBJECT(v)) vbi = json_node_get_object(v);
    }
    if (!vbi) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: forget_truth_ratio.value_by_index: "
                              "missing", path);
    } else if (json_object_get_size(vbi) != want_n) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %u forget items, this evaluation has %zu "
                              "(a retain log of another split?)", path,
                              json_object_get_size(vbi), want_n);
    } else {
        *out = g_new(double, want_n);
        *n = want_n;
        for (size_t i = 0; i < want_n && !rc; i++) {
            char idx[24];
            g_snprintf(idx, sizeof idx, "%zu", i);
            JsonNode *it = json_object_get_member(vbi, idx);
            JsonNode *s = it && JSON_NODE_HOLDS_OBJECT(it)
                              ? json_object_get_member(json_node_get_object(it), "score")
                              : NULL;
            if (!s || !JSON_NODE_HOLDS_VALUE(s) || !isfinite(json_node_get_double(s)))
                rc = baldro_error_set(err, BALDRO_EINVAL, "%s: forget_truth_ratio.value_by_index."
                                      "%s.score: missing or not a finite number", path, idx);
            else (*out)[i] = json_node_get_double(s);
        }
        if (rc) g_free(*out), *out = NULL;
    }
    json_node_unref(root);
    return rc;
}

static int write_json(JsonBuilder *b, const char *path, baldro_error *err) {
    JsonGenerator *g = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    json_generator_set_pretty(g, TRUE);
    gsize len = 0;
    char *text = json_generator_to_data(g, &len);
    int rc = baldro_write_file_atomic(path, text, len, err);
    g_free(text);
    json_node_unref(root);
    g_object_unref(g);
    return rc;
}

/* `eval --aggregate LOG`: the metrics of a per-item log, without a model. Today the
 * original TOFU code's eval_log_aggregated.json; the reference for forget quality is
 * another such log or our TOFU_EVAL.json. */
static int aggregate(baldro_cli *cli, const char *log, const char *retain_logs,
                     const char *out_dir) {
    baldro_legacy_log L = {0}, R = {0};
    baldro_error err = {0};
    double *ref = NULL, *sc = NULL;
    size_t n_ref = 0;
    int rc = BALDRO_EXIT_FAILED;
    JsonBuilder *sb = NULL;
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(log, &text, &len, NULL)) {
        cli_error("eval: %s: cannot read", log);
        goto out;
    }
    int legacy = baldro_legacy_log_detect(text, len);
    g_free(text);
    text = NULL;
    if (!legacy) {
        cli_error("eval: %s: --aggregate reads the original TOFU code's eval_log_aggregated.json "
                  "(TOFU_EVAL.json re-aggregation is not built yet)", log);
        rc = BALDRO_EXIT_USAGE;
        goto out;
    }
    if (baldro_legacy_log_load(log, &L, &err)) {
        cli_error("eval: %s", err.msg);
        goto out;
    }
    const baldro_registry *reg = baldro_loader_registry(cli_load_plugins(cli, 0));
    size_t nmax = 0;
    for (int k = 0; k < 4; k++) nmax = MAX(nmax, L.s[k].n);
    if (retain_logs) {
        if (g_file_get_contents(retain_logs, &text, &len, NULL) &&
            baldro_legacy_log_detect(text, len)) {
            if (baldro_legacy_log_load(retain_logs, &R, &err)) {
                cli_error("eval: %s", err.msg);
                goto out;
            }
            double dummy;
            n_ref = R.s[0].n;
            ref = g_new(double, n_ref);
            if (metric(reg, "truth_ratio", R.s[0].split, R.s[0].n, R.s[0].ptr, NULL, 0, ref,
                       &dummy, &err)) {
                cli_error("eval: %s: %s", retain_logs, err.msg);
                goto out;
            }
        } else if (read_retain_logs(retain_logs, L.s[0].n, &ref, &n_ref, &err)) {
            cli_error("eval: %s", err.msg);
            goto out;
        }
    }
    static const char *const names[4][3] = {
        {"forget_Q_A_Prob", "forget_Q_A_ROUGE", "forget_truth_ratio"},
        {"retain_Q_A_Prob", "retain_Q_A_ROUGE", "retain_Truth_Ratio"},
        {"ra_Q_A_Prob_normalised", "ra_Q_A_ROUGE", "ra_Truth_Ratio"},
        {"wf_Q_A_Prob_normalised", "wf_Q_A_ROUGE", "wf_Truth_Ratio"}};
    static const char *const mn[3] = {"probability", "rouge", "truth_ratio"};
    sb = json_builder_new();
    json_builder_begin_object(sb);
    sc = g_new(double, nmax);
    double nine[9], v, fq = NAN;
    printf("%-26s %s\n", "metric", "value");
    for (int k = 0; k < 4; k++)
        for (int q = 0; q < 3; q++) {
            if (metric(reg, mn[q], L.s[k].split, L.s[k].n, L.s[k].ptr, NULL, 0, sc, &v, &err)) {
                cli_error("eval: %s: %s", log, err.msg);
                goto out;
            }
            if (k > 0) nine[3 * (k - 1) + q] = v;
            json_builder_set_member_name(sb, names[k][q]);
            json_builder_add_double_value(sb, v);
            printf("%-26s %.10g\n", names[k][q], v);
        }
    double mu = hmean(nine, 9);
    json_builder_set_member_name(sb, "model_utility");
    json_builder_add_double_value(sb, mu);
    printf("%-26s %.10g\n", "model_utility", mu);
    if (ref) {
        if (metric(reg, "forget_quality", L.s[0].split, L.s[0].n, L.s[0].ptr, ref, n_ref, sc, &fq,
                   &err)) {
            cli_error("eval: %s", err.msg);
            goto out;
        }
        json_builder_set_member_name(sb, "forget_quality");
        json_builder_add_double_value(sb, fq);
        printf("%-26s %.10g\n", "forget_quality", fq);
    }
    json_builder_end_object(sb);
    if (out_dir) {
        char *ps = g_build_filename(out_dir, "TOFU_SUMMARY.json", NULL);
        int wrc = baldro_mkdir_p(out_dir, &err);
        if (!wrc) wrc = write_json(sb, ps, &err);
        g_free(ps);
        if (wrc) {
            cli_error("eval: %s", err.msg);
            goto out;
        }
    }
    rc = BALDRO_EXIT_OK;
out:
    if (sb) g_object_unref(sb);
    g_free(sc);
    g_free(ref);
    g_free(text);
    baldro_legacy_log_clear(&L);
    baldro_legacy_log_clear(&R);
    return rc;
}

int cmd_eval(baldro_cli *cli, int argc, char **argv) {
    baldro_cli_config_opts opts = {0};
    char *model = NULL, *out = NULL, *retain_logs = NULL, *agg = NULL;
    GOptionEntry entries[] = {
        {"aggregate", 0, 0, G_OPTION_ARG_FILENAME, &agg,
         "Recompute the metrics from a per-item log alone (the TOFU code's "
         "eval_log_aggregated.json), no model", "LOG"},
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "HF model directory (default model.path)", "DIR"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
         "Where TOFU_EVAL.json and TOFU_SUMMARY.json go (default <run>/eval)", "DIR"},
        {"retain-logs", 0, 0, G_OPTION_ARG_FILENAME, &retain_logs,
         "The retain model's TOFU_EVAL.json, for forget quality (default eval.retain_logs)",
         "FILE"},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- evaluate a model on TOFU");
    g_option_context_add_main_entries(ctx, entries, NULL);
    cli_add_config_options(ctx, &opts);
    int ok = cli_parse(ctx, &argc, &argv, "eval");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_config *cfg = NULL;
    baldro_backend *be = NULL;
    baldro_model *m = NULL;
    baldro_tokenizer *tok = NULL;
    char *out_dir = NULL, *tok_path = NULL;
    double *ref = NULL;
    size_t n_ref = 0;
    ev_split sp[4] = {{.key = "forget"}, {.key = "retain"}, {.key = "ra"}, {.key = "wf"}};
    baldro_error err = {0};
    JsonBuilder *eb = NULL, *sb = NULL;
    if (!ok) goto done;
    if (agg) {
        rc = aggregate(cli, agg, retain_logs, out);
        goto done;
    }
    cfg = cli_resolve_config(cli, &opts);
    if (!cfg) goto done;
    const char *s;
    const char *mdir = model;
    if (!mdir) baldro_config_get_string(cfg, "model.path", &mdir);
    if (!mdir || !*mdir) {
        cli_error("eval: --model (or model.path) names the model to evaluate");
        goto done;
    }
    const char *tofu = "";
    baldro_config_get_string(cfg, "data.tofu_dir", &tofu);
    baldro_config_get_string(cfg, "data.forget_split", &s);
    sp[0].name = g_strdup_printf("%s_perturbed", s);
    sp[1].name = g_strdup("retain_perturbed");
    sp[2].name = g_strdup("real_authors_perturbed");
    sp[3].name = g_strdup("world_facts_perturbed");
    int64_t batch = 16, max_new = 200, max_len = 512, max_items = 0;
    baldro_config_get_int(cfg, "eval.max_items", &max_items);
    baldro_config_get_int(cfg, "eval.batch_size", &batch);
    baldro_config_get_int(cfg, "eval.max_new_tokens", &max_new);
    baldro_config_get_int(cfg, "data.max_length", &max_len);
    if (!retain_logs) {
        const char *rl = "";
        baldro_config_get_string(cfg, "eval.retain_logs", &rl);
        if (*rl) retain_logs = g_strdup(rl);
    }
    if (out) {
        out_dir = g_strdup(out);
    } else {
        const char *od = "", *nm = "";
        baldro_config_get_string(cfg, "run.output_dir", &od);
        baldro_config_get_string(cfg, "run.name", &nm);
        out_dir = g_build_filename(od, nm, "eval", NULL);
    }
    rc = BALDRO_EXIT_FAILED;
    /* tokenizer and template, as training used them */
    const char *tk = "", *tpl = "auto";
    baldro_config_get_string(cfg, "model.tokenizer", &tk);
    baldro_config_get_string(cfg, "model.template", &tpl);
    tok_path = *tk && !model ? g_strdup(tk) : g_build_filename(mdir, "tokenizer.json", NULL);
    int kind;
    const char *how;
    if (baldro_tok_load_json(tok_path, &tok, &err) ||
        baldro_template_resolve(tpl, tok, baldro_config_origin(cfg, "model.template"), &kind,
                                &how, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    /* data */
    size_t longest = 2;
    for (int k = 0; k < 4; k++) {
        int lrc = baldro_tofu_load(tofu, sp[k].name, &sp[k].s, &err);
        if (!lrc) baldro_tofu_keep_first(sp[k].s, (size_t)max_items);
        if (lrc || split_data(&sp[k], tok, kind, (size_t)max_len, &err)) {
            cli_error("eval: %s", err.msg);
            goto done;
        }
        longest = MAX(longest, split_longest(&sp[k]));
    }
    int32_t stops[17], n_stop = 0;
    if (baldro_hf_end_tokens(mdir, stops, 16, &n_stop, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    int32_t end = baldro_template_end_token(tok, kind);
    int seen = 0;
    for (int i = 0; i < n_stop; i++) seen |= stops[i] == end;
    if (end >= 0 && !seen) stops[n_stop++] = end;
    baldro_gen_request rq = {.tok = tok, .kind = kind, .batch = (int32_t)batch,
                             .max_new = (int32_t)max_new, .stops = stops, .n_stop = n_stop};
    int32_t P = 1;
    for (int k = 0; k < 4; k++) {
        int32_t p = 0;
        if (baldro_eval_prompt_len(&rq, sp[k].s, &p, &err)) {
            cli_error("eval: %s", err.msg);
            goto done;
        }
        P = MAX(P, p);
    }
    const baldro_registry *reg = baldro_loader_registry(cli_load_plugins(cli, 0));
    const baldro_ops *ops;
    baldro_model_limits lim = {.max_batch = (int32_t)batch, .max_seq = (int32_t)longest - 1,
                               .gen_batch = (int32_t)batch, .gen_len = P + (int32_t)max_new};
    if (baldro_backend_cpu_open(0, &be, &ops, &err) ||
        baldro_model_open_hf_dir(reg, ops, be, mdir, lim, &m, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    fprintf(stderr, "eval: %s, template %s, splits %s (%zu), %s (%zu), %s (%zu), %s (%zu)\n",
            mdir, baldro_template_name(kind), sp[0].name, sp[0].s->n, sp[1].name, sp[1].s->n,
            sp[2].name, sp[2].s->n, sp[3].name, sp[3].s->n);
    double t0 = now_s();
    for (int k = 0; k < 4; k++) {
        if (split_run(&sp[k], m, &rq, (int32_t)batch, &err)) {
            cli_error("eval: %s: %s", sp[k].name, err.msg);
            goto done;
        }
    }
    double t_pass = now_s() - t0;
    if (retain_logs && read_retain_logs(retain_logs, sp[0].s->n, &ref, &n_ref, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    /* metrics and outputs */
    static const char *const prob_names[4] = {"forget_Q_A_Prob", "retain_Q_A_Prob",
                                              "ra_Q_A_Prob_normalised", "wf_Q_A_Prob_normalised"};
    static const char *const rouge_names[4] = {"forget_Q_A_ROUGE", "retain_Q_A_ROUGE",
                                               "ra_Q_A_ROUGE", "wf_Q_A_ROUGE"};
    static const char *const tr_names[4] = {"forget_truth_ratio", "retain_Truth_Ratio",
                                            "ra_Truth_Ratio", "wf_Truth_Ratio"};
    eb = json_builder_new();
    sb = json_builder_new();
    json_builder_begin_object(eb);
    json_builder_begin_object(sb);
    double nine[9], fq = NAN;
    printf("%-26s %s\n", "metric", "value");
    for (int k = 0; k < 4; k++) {
        size_t n = sp[k].s->n;
        double *sc = g_new(double, n), v[3];
        const char *mn[3] = {"probability", "rouge", "truth_ratio"};
        const char *names[3] = {prob_names[k], rouge_names[k], tr_names[k]};
        const char *keys[3] = {"prob", "rougeL_recall", "score"};
        for (int q = 0; q < 3; q++) {
            if (metric(reg, mn[q], sp[k].name, n, sp[k].ptr, NULL, 0, sc, &v[q], &err)) {
                g_free(sc);
                cli_error("eval: %s", err.msg);
                goto done;
            }
            add_metric(eb, names[q], v[q], &sp[k], sc, keys[q]);
            json_builder_set_member_name(sb, names[q]);
            json_builder_add_double_value(sb, v[q]);
            printf("%-26s %.6g\n", names[q], v[q]);
            if (k > 0) nine[3 * (k - 1) + q] = v[q];
        }
        if (k == 0 && ref &&
            metric(reg, "forget_quality", sp[0].name, n, sp[0].ptr, ref, n_ref, sc, &fq, &err)) {
            g_free(sc);
            cli_error("eval: %s", err.msg);
            goto done;
        }
        g_free(sc);
    }
    double mu = hmean(nine, 9);
    add_metric(eb, "model_utility", mu, NULL, NULL, NULL);
    json_builder_set_member_name(sb, "model_utility");
    json_builder_add_double_value(sb, mu);
    printf("%-26s %.6g\n", "model_utility", mu);
    if (ref) {
        add_metric(eb, "forget_quality", fq, NULL, NULL, NULL);
        json_builder_set_member_name(sb, "forget_quality");
        json_builder_add_double_value(sb, fq);
        printf("%-26s %.6g\n", "forget_quality", fq);
    } else {
        printf("%-26s (no retain logs: set --retain-logs or eval.retain_logs)\n", "forget_quality");
    }
    json_builder_end_object(eb);
    json_builder_end_object(sb);
    char *pe = g_build_filename(out_dir, "TOFU_EVAL.json", NULL);
    char *ps = g_build_filename(out_dir, "TOFU_SUMMARY.json", NULL);
    int wrc = baldro_mkdir_p(out_dir, &err);
    if (!wrc) wrc = write_json(eb, pe, &err);
    if (!wrc) wrc = write_json(sb, ps, &err);
    g_free(pe);
    g_free(ps);
    if (wrc) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    fprintf(stderr, "eval: wrote %s/TOFU_EVAL.json and TOFU_SUMMARY.json (scoring and "
            "generation %.1f s)\n", out_dir, t_pass);
    rc = BALDRO_EXIT_OK;
done:
    if (eb) g_object_unref(eb);
    if (sb) g_object_unref(sb);
    for (int k = 0; k < 4; k++) split_free(&sp[k]);
    g_free(ref);
    baldro_model_close(m);
    baldro_backend_close(be);
    baldro_tok_free(tok);
    g_free(tok_path);
    g_free(out_dir);
    g_free(model);
    g_free(out);
    g_free(retain_logs);
    g_free(agg);
    baldro_config_free(cfg);
    cli_config_opts_clear(&opts);
    return rc;
}
