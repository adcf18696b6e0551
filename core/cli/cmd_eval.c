/* core/cli/cmd_eval.c: `baldro-host eval --model DIR`: TOFU's evaluation of one model, and
 * `eval --aggregate LOG`: the same figures recomputed from a per-item log, no model.
 *
 * Five splits, as open-unlearning's TOFU evaluation: <forget_split>_perturbed,
 * retain_perturbed, real_authors_perturbed, world_facts_perturbed, and the held-out
 * split the membership-inference attack compares the forget split with (holdoutNN).
 * The suite (core/eval/tofu_suite.h) says what is reported; its metrics declare what
 * they need, and this command runs just those passes, once per split: answer scores
 * (the answer, the paraphrase, every perturbed answer; token level where a metric reads
 * single tokens), greedy generations, classifier probabilities of the generations.
 * Forget quality and privleak compare with a retain model's TOFU_EVAL.json
 * (--retain-logs or eval.retain_logs). Writes TOFU_EVAL.json (per item: score, input,
 * ground truth, generation, plus open-unlearning's pre-computed entries) and
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
#include "engine/classifier.h"
#include "engine/model_hf.h"
#include "eval/eval_log.h"
#include "eval/evaluator.h"
#include "eval/legacy_logs.h"
#include "eval/tofu_suite.h"
#include "io/json_strict.h"
#include "io/json_write.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/progress.h"

/* One evaluated split: its data, the passes and the items handed to the metrics. */
typedef struct ev_split {
    char *name;              /* file name without .json                                */
    uint32_t needs;          /* BALDRO_METRIC_NEEDS_* of its metrics                   */
    baldro_tofu_split *s;
    baldro_tok_dataset *d_gt, *d_para, **d_pert;
    size_t n_pert;
    baldro_item_scores gt, para, *pert;
    char **gen;
    double *probs;           /* [n * n_classes] classifier probabilities of gen        */
    int32_t n_classes;
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
    g_free(e->probs);
    g_free(e->items);
    g_free(e->ptr);
    g_free(e->alt_nll);
    g_free(e->alt_tok);
    baldro_tofu_free(e->s);
    g_free(e->name);
}

/* Datasets of every answer variant of a split (the held-out split: its answers only). */
static int split_data(ev_split *e, int variants, const baldro_tokenizer *tok, int kind,
                      size_t max_len, baldro_error *err) {
    const size_t n = e->s->n;
    int rc = baldro_tok_dataset_build(tok, kind, e->s, max_len, &e->d_gt, err);
    if (rc || !variants) return rc;
    const char **q = g_new(const char *, n), **a = g_new(const char *, n);
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

/* The passes the split's metrics need, once each. */
/* Passes of a split, for the progress bar: answers, paraphrases, each perturbed answer,
 * generations. */
static int64_t split_passes(const ev_split *e) {
    return 1 + (e->d_para != NULL) + (int64_t)e->n_pert +
           ((e->needs & BALDRO_METRIC_NEEDS_GENERATIONS) != 0);
}

static void pass_done(baldro_progress *bar, const ev_split *e, const char *what) {
    char extra[96];
    g_snprintf(extra, sizeof extra, "%s: %s", e->name, what);
    baldro_progress_update(bar, bar->done + 1, extra);
}

static int split_run(ev_split *e, baldro_model *m, const baldro_gen_request *rq, int32_t B,
                     baldro_progress *bar, baldro_error *err) {
    int rc = (e->needs & BALDRO_METRIC_NEEDS_TOKENS)
                 ? baldro_eval_score_tokens(m, e->d_gt, B, &e->gt, err)
                 : baldro_eval_score(m, e->d_gt, B, &e->gt, err);
    if (!rc) pass_done(bar, e, "answers");
    if (!rc && e->d_para) {
        rc = baldro_eval_score(m, e->d_para, B, &e->para, err);
        if (!rc) pass_done(bar, e, "paraphrases");
    }
    e->pert = g_new0(baldro_item_scores, e->n_pert ? e->n_pert : 1);
    for (size_t j = 0; !rc && j < e->n_pert; j++) {
        rc = baldro_eval_score(m, e->d_pert[j], B, &e->pert[j], err);
        if (!rc) pass_done(bar, e, "perturbed answers");
    }
    if (!rc && (e->needs & BALDRO_METRIC_NEEDS_GENERATIONS)) {
        rc = baldro_eval_generate(m, rq, e->s, &e->gen, err);
        if (!rc) pass_done(bar, e, "generations");
    }
    return rc;
}

/* Classifier probabilities of the split's generations (the gibberish detector). */
static int split_classify(ev_split *e, baldro_classifier *c, int32_t max_length, int32_t batch,
                          baldro_error *err) {
    const size_t n = e->s->n;
    e->n_classes = baldro_classifier_n_classes(c);
    e->probs = g_new(double, n * (size_t)e->n_classes + 1);
    return baldro_classifier_probs(c, (const char *const *)e->gen, n, max_length, batch,
                                   e->probs, err);
}

/* The items the metrics read, over whatever passes ran. */
static void split_items(ev_split *e) {
    const size_t n = e->s->n;
    e->items = g_new0(baldro_eval_item, n);
    e->ptr = g_new(const baldro_eval_item *, n);
    e->alt_nll = g_new(double, n * e->n_pert + 1);
    e->alt_tok = g_new(int32_t, n * e->n_pert + 1);
    for (size_t i = 0; i < n; i++) {
        baldro_eval_item *it = &e->items[i];
        it->struct_size = sizeof *it;
        it->question = e->s->items[i].question;
        it->ground_truth = e->s->items[i].answer;
        it->generation = e->gen ? e->gen[i] : NULL;
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
        if (e->gt.tok_logp) {
            it->tok_logp = e->gt.tok_logp + e->gt.tok_off[i];
            it->tok_top1 = e->gt.tok_top1 + e->gt.tok_off[i];
        }
        if (e->probs) {
            it->n_classes = e->n_classes;
            it->class_probs = e->probs + i * (size_t)e->n_classes;
        }
        e->ptr[i] = it;
    }
}

/* Empty generations are legitimate model output (ROUGE scores them 0), but a run full of
 * them usually means a template or end-token mistake: say how many. */
static void note_empty(const ev_split *e) {
    if (!e->gen) return;
    size_t k = 0;
    for (size_t i = 0; i < e->s->n; i++) k += e->gen[i][0] == '\0';
    if (k)
        LOG_WARN("eval: %s: %zu of %zu generations are empty (scored as such: ROUGE 0, "
                 "degeneration 1)", e->name, k, e->s->n);
}

/* The retain model's log as the reference of forget quality (its forget truth ratios)
 * and privleak (its min-k% AUC): our TOFU_EVAL.json, open-unlearning's, or the original
 * TOFU code's eval_log_aggregated.json, told apart by content. */
static int read_reference(const baldro_registry *reg, const char *path, size_t want_n,
                          double **tr, size_t *n_tr, double *auc, baldro_error *err) {
    *tr = NULL;
    *n_tr = 0;
    *auc = NAN;
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot read (eval.retain_logs)", path);
    int legacy = baldro_legacy_log_detect(text, len), rc;
    g_free(text);
    if (legacy) {
        /* the raw truth ratios, through the same metric as a live evaluation */
        baldro_legacy_log L = {0};
        rc = baldro_legacy_log_load(path, &L, err);
        if (!rc) {
            baldro_suite_split s = {L.s[0].split, L.s[0].n, L.s[0].ptr};
            double v;
            *tr = g_new(double, s.n + 1);
            *n_tr = s.n;
            rc = baldro_suite_metric(reg, NULL, "truth_ratio", &s, *tr, &v, err);
        }
        baldro_legacy_log_clear(&L);
    } else {
        baldro_eval_log R = {0};
        rc = baldro_eval_log_load_reference(path, &R, err);
        if (!rc && !R.forget_tr)
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: forget_truth_ratio.value_by_index: "
                                  "missing", path);
        if (!rc) {
            *tr = R.forget_tr, *n_tr = R.n_forget_tr;
            R.forget_tr = NULL;
            *auc = R.mia_auc;
        }
        baldro_eval_log_clear(&R);
    }
    if (!rc && want_n && *n_tr != want_n)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %zu forget items, this evaluation has "
                              "%zu (a retain log of another split?)", path, *n_tr, want_n);
    if (rc) {
        g_free(*tr);
        *tr = NULL;
        *n_tr = 0;
    }
    return rc;
}

/* Runs the suite and writes TOFU_SUMMARY.json (and TOFU_EVAL.json when eval_too). */
static int report(const baldro_registry *reg, const baldro_config *cfg,
                  const baldro_suite_input *in, const char *out_dir, int eval_too,
                  baldro_error *err) {
    JsonBuilder *eb = eval_too ? json_builder_new() : NULL, *sb = json_builder_new();
    if (eb) json_builder_begin_object(eb);
    json_builder_begin_object(sb);
    int rc = baldro_suite_run(reg, cfg, in, eb, sb, stdout, err);
    if (eb) json_builder_end_object(eb);
    json_builder_end_object(sb);
    if (!rc && out_dir) {
        char *pe = g_build_filename(out_dir, "TOFU_EVAL.json", NULL);
        char *ps = g_build_filename(out_dir, "TOFU_SUMMARY.json", NULL);
        rc = baldro_mkdir_p(out_dir, err);
        if (!rc && eb) rc = baldro_json_write_atomic(eb, pe, err);
        if (!rc) rc = baldro_json_write_atomic(sb, ps, err);
        g_free(pe);
        g_free(ps);
    }
    if (eb) g_object_unref(eb);
    g_object_unref(sb);
    return rc;
}

static double mean(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return n ? s / (double)n : NAN;
}

static void put(JsonBuilder *sb, const char *key, double v, const char *note) {
    json_builder_set_member_name(sb, key);
    if (isfinite(v)) json_builder_add_double_value(sb, v);
    else json_builder_add_null_value(sb);
    printf("%-26s %.10g%s%s\n", key, v, note ? "  " : "", note ? note : "");
}

/* Figures a TOFU_EVAL.json keeps only as per-item scores (its token-level and classifier
 * passes cannot be redone without the model): re-aggregated from those scores. */
static int logged_scores(const baldro_eval_log *E, double ref_auc, JsonBuilder *sb,
                         baldro_error *err) {
    if (E->mia_forget && E->mia_holdout) {
        double auc = baldro_suite_auc(E->mia_forget, E->n_mia_forget, E->mia_holdout,
                                      E->n_mia_holdout);
        if (!isfinite(auc))
            return baldro_error_set(err, BALDRO_EINVAL, "mia_min_k: a forget or holdout score "
                                    "is not finite, or a side is empty");
        put(sb, "mia_min_k", auc, NULL);
        double ref = isfinite(ref_auc) ? ref_auc : 0.5;
        put(sb, "privleak", baldro_suite_privleak(auc, ref),
            isfinite(ref_auc) ? NULL : "(no retain log: against AUC 0.5, as open-unlearning)");
    }
    const struct {
        const char *key;
        const double *v;
        size_t n;
    } m[2] = {{"extraction_strength", E->es, E->n_es},
              {"forget_Q_A_gibberish", E->gibberish, E->n_gibberish}};
    for (int k = 0; k < 2; k++) {
        if (!m[k].v) continue;
        for (size_t i = 0; i < m[k].n; i++)
            if (!isfinite(m[k].v[i]))
                return baldro_error_set(err, BALDRO_EINVAL, "%s.value_by_index.%zu.score: not a "
                                        "finite number", m[k].key, i);
        put(sb, m[k].key, mean(m[k].v, m[k].n), NULL);
    }
    return BALDRO_OK;
}

/* `eval --aggregate LOG`: every figure a per-item log allows, through the same suite. */
static int aggregate(baldro_cli *cli, const char *log, const char *retain_logs,
                     const char *out_dir) {
    baldro_legacy_log L = {0};
    baldro_eval_log E = {0};
    baldro_error err = {0};
    double *ref = NULL;
    size_t n_ref = 0;
    double ref_auc = NAN;
    int rc = BALDRO_EXIT_FAILED;
    JsonBuilder *sb = NULL;
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(log, &text, &len, NULL)) {
        cli_error("eval: %s: cannot read", log);
        goto out;
    }
    int legacy = baldro_legacy_log_detect(text, len), ours = baldro_eval_log_detect(text, len);
    g_free(text);
    text = NULL;
    if (!legacy && !ours) {
        cli_error("eval: %s: not a per-item evaluation log (expected TOFU_EVAL.json, ours or "
                  "open-unlearning's, or the TOFU code's eval_log_aggregated.json)", log);
        rc = BALDRO_EXIT_USAGE;
        goto out;
    }
    if (legacy ? baldro_legacy_log_load(log, &L, &err) : baldro_eval_log_load(log, &E, &err)) {
        cli_error("eval: %s", err.msg);
        goto out;
    }
    const baldro_registry *reg = baldro_loader_registry(cli_load_plugins(cli, 0));
    const baldro_legacy_log *qa = legacy ? &L : &E.qa;
    if (retain_logs && read_reference(reg, retain_logs, qa->s[0].n, &ref, &n_ref, &ref_auc, &err)) {
        cli_error("eval: %s", err.msg);
        goto out;
    }
    /* the answer scores and generations are in the log: every metric over them runs
     * again; degeneration reads the generations alone */
    baldro_suite_input in = {.want = BALDRO_SUITE_DEGEN, .ref_tr = ref, .n_ref_tr = n_ref,
                             .ref_auc = ref_auc};
    for (int k = 0; k < 4; k++)
        in.s[k] = (baldro_suite_split){qa->s[k].split, qa->s[k].n, qa->s[k].ptr};
    sb = json_builder_new();
    json_builder_begin_object(sb);
    if (baldro_suite_run(reg, NULL, &in, NULL, sb, stdout, &err) ||
        (!legacy && logged_scores(&E, ref_auc, sb, &err))) {
        cli_error("eval: %s: %s", log, err.msg);
        goto out;
    }
    json_builder_end_object(sb);
    if (out_dir) {
        char *ps = g_build_filename(out_dir, "TOFU_SUMMARY.json", NULL);
        int wrc = baldro_mkdir_p(out_dir, &err);
        if (!wrc) wrc = baldro_json_write_atomic(sb, ps, &err);
        g_free(ps);
        if (wrc) {
            cli_error("eval: %s", err.msg);
            goto out;
        }
    }
    rc = BALDRO_EXIT_OK;
out:
    if (sb) g_object_unref(sb);
    g_free(ref);
    baldro_legacy_log_clear(&L);
    baldro_eval_log_clear(&E);
    return rc;
}

/* forgetNN -> holdoutNN, the held-out authors of the same size (TOFU's naming). */
static char *holdout_for(const char *forget) {
    if (strncmp(forget, "forget", 6) == 0 && strlen(forget) == 8 && g_ascii_isdigit(forget[6]) &&
        g_ascii_isdigit(forget[7]))
        return g_strdup_printf("holdout%s", forget + 6);
    return NULL;
}

int cmd_eval(baldro_cli *cli, int argc, char **argv) {
    baldro_cli_config_opts opts = {0};
    char *model = NULL, *out = NULL, *retain_logs = NULL, *agg = NULL, *classifier = NULL;
    GOptionEntry entries[] = {
        {"aggregate", 0, 0, G_OPTION_ARG_FILENAME, &agg,
         "Recompute the summary from a per-item log alone (TOFU_EVAL.json, ours or "
         "open-unlearning's, or the TOFU code's eval_log_aggregated.json), no model", "LOG"},
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "HF model directory (default model.path)", "DIR"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
         "Where TOFU_EVAL.json and TOFU_SUMMARY.json go (default <run>/eval)", "DIR"},
        {"retain-logs", 0, 0, G_OPTION_ARG_FILENAME, &retain_logs,
         "The retain model's TOFU_EVAL.json, for forget quality and privleak (default "
         "eval.retain_logs)", "FILE"},
        {"classifier", 0, 0, G_OPTION_ARG_FILENAME, &classifier,
         "The gibberish classifier's HF directory (default eval.classifier)", "DIR"},
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
    baldro_classifier *cls = NULL;
    baldro_tokenizer *tok = NULL;
    char *out_dir = NULL, *tok_path = NULL;
    double *ref = NULL, ref_auc = NAN;
    size_t n_ref = 0;
    ev_split sp[BALDRO_SUITE_NSPLIT] = {{0}};
    baldro_error err = {0};
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
    const char *hs = "";
    baldro_config_get_string(cfg, "eval.holdout_split", &hs);
    sp[4].name = *hs ? g_strdup(hs) : holdout_for(s);
    int64_t batch = 16, max_new = 200, max_len = 512, max_items = 0, cls_len = 32;
    int privleak = 1, es = 1, degen = 1;
    baldro_config_get_int(cfg, "eval.max_items", &max_items);
    baldro_config_get_int(cfg, "eval.batch_size", &batch);
    baldro_config_get_int(cfg, "eval.max_new_tokens", &max_new);
    baldro_config_get_int(cfg, "eval.classifier_max_length", &cls_len);
    baldro_config_get_int(cfg, "data.max_length", &max_len);
    baldro_config_get_bool(cfg, "eval.privleak", &privleak);
    baldro_config_get_bool(cfg, "eval.extraction_strength", &es);
    baldro_config_get_bool(cfg, "eval.degeneration", &degen);
    if (!retain_logs) {
        const char *rl = "";
        baldro_config_get_string(cfg, "eval.retain_logs", &rl);
        if (*rl) retain_logs = g_strdup(rl);
    }
    if (!classifier) {
        const char *c = "";
        baldro_config_get_string(cfg, "eval.classifier", &c);
        if (*c) classifier = g_strdup(c);
    }
    if (privleak && !sp[4].name) {
        LOG_WARN("eval: no held-out split for forget split '%s' (set eval.holdout_split): "
                 "privleak left out", s);
        privleak = 0;
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
    const baldro_registry *reg = baldro_loader_registry(cli_load_plugins(cli, 0));
    baldro_suite_input in = {.ref_auc = NAN, .with_raw = 1,
                             .want = (privleak ? BALDRO_SUITE_PRIVLEAK : 0) |
                                     (es ? BALDRO_SUITE_ES : 0) | (degen ? BALDRO_SUITE_DEGEN : 0) |
                                     (classifier ? BALDRO_SUITE_GIBBERISH : 0)};
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++)
        if (baldro_suite_needs(reg, in.want, k, &sp[k].needs, &err)) {
            cli_error("eval: %s", err.msg);
            goto done;
        }
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
    /* data: every split some metric reads */
    size_t longest = 2;
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++) {
        if (!sp[k].needs) continue;
        int lrc = baldro_tofu_load(tofu, sp[k].name, &sp[k].s, &err);
        if (!lrc) baldro_tofu_keep_first(sp[k].s, (size_t)max_items);
        if (lrc || split_data(&sp[k], k != BALDRO_SUITE_HOLDOUT, tok, kind, (size_t)max_len, &err)) {
            cli_error("eval: %s", err.msg);
            goto done;
        }
        longest = MAX(longest, split_longest(&sp[k]));
    }
    if (retain_logs &&
        read_reference(reg, retain_logs, sp[0].s->n, &ref, &n_ref, &ref_auc, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    if (classifier && baldro_classifier_open(reg, classifier, &cls, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
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
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++) {
        int32_t p = 0;
        if (!(sp[k].needs & BALDRO_METRIC_NEEDS_GENERATIONS)) continue;
        if (baldro_eval_prompt_len(&rq, sp[k].s, &p, &err)) {
            cli_error("eval: %s", err.msg);
            goto done;
        }
        P = MAX(P, p);
    }
    const baldro_ops *ops;
    baldro_model_limits lim = {.max_batch = (int32_t)batch, .max_seq = (int32_t)longest - 1,
                               .gen_batch = (int32_t)batch, .gen_len = P + (int32_t)max_new};
    if (cli_open_backend(cfg, &be, &ops, &err) ||
        baldro_model_open_hf_dir(reg, ops, be, mdir, lim, &m, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    GString *desc = g_string_new(NULL);
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++)
        if (sp[k].s) g_string_append_printf(desc, "%s%s (%zu)", desc->len ? ", " : "", sp[k].name,
                                            sp[k].s->n);
    fprintf(stderr, "eval: %s, template %s, splits %s%s\n", mdir, baldro_template_name(kind),
            desc->str, cls ? ", gibberish classifier" : "");
    g_string_free(desc, TRUE);
    double t0 = now_s();
    int64_t n_passes = 0;
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++)
        if (sp[k].s) n_passes += split_passes(&sp[k]);
    baldro_progress bar;
    baldro_progress_start(&bar, "eval", n_passes, "passes");
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++) {
        if (!sp[k].s) continue;
        if (split_run(&sp[k], m, &rq, (int32_t)batch, &bar, &err) ||
            (cls && (sp[k].needs & BALDRO_METRIC_NEEDS_CLASSIFIER) &&
             split_classify(&sp[k], cls, (int32_t)cls_len, (int32_t)batch, &err))) {
            cli_error("eval: %s: %s", sp[k].name, err.msg);
            goto done;
        }
        split_items(&sp[k]);
        note_empty(&sp[k]);
        in.s[k] = (baldro_suite_split){sp[k].name, sp[k].s->n, sp[k].ptr};
    }
    baldro_progress_finish(&bar, NULL);
    double t_pass = now_s() - t0;
    in.ref_tr = ref;
    in.n_ref_tr = n_ref;
    in.ref_auc = ref_auc;
    if (report(reg, cfg, &in, out_dir, 1, &err)) {
        cli_error("eval: %s", err.msg);
        goto done;
    }
    fprintf(stderr, "eval: wrote %s/TOFU_EVAL.json and TOFU_SUMMARY.json (scoring and "
            "generation %.1f s)\n", out_dir, t_pass);
    rc = BALDRO_EXIT_OK;
done:
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++) split_free(&sp[k]);
    g_free(ref);
    baldro_classifier_close(cls);
    baldro_model_close(m);
    baldro_backend_close(be);
    baldro_tok_free(tok);
    g_free(tok_path);
    g_free(out_dir);
    g_free(model);
    g_free(out);
    g_free(retain_logs);
    g_free(classifier);
    g_free(agg);
    baldro_config_free(cfg);
    cli_config_opts_clear(&opts);
    return rc;
}
