/*
 * TOFU's aggregate statistics (plugins/metrics/tofu/lib/tofu_stats.c, ks.c) on the legacy
 * TOFU code's own per-item logs (../shared/data/tofu/reference_eval_logs, 300 items of
 * forget10/retain_perturbed, all of real authors and world facts). The expected values
 * come from the same formulas in numpy/scipy (aggregate_eval_stat.py's, the formula
 * sheet's), computed for this test:
 *   llama2-7b full:     model utility 0.6226773637427152, forget probability
 *                       0.9909385566403208, forget ROUGE-L 0.985449693916369, forget truth
 *                       ratio 0.5159854212808593
 *   llama2-7b retain90: model utility 0.613744995233942
 *   forget quality, full vs retain90: KS D = 0.39666666666666667, p = 1.834066410994743e-21
 * which the formula sheet quotes as 0.6227, 0.6137 and 1.83e-21.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "ks.h"
#include "plugin/loader.h"
#include "tofu_stats.h"

#define LOGS BALDRO_SOURCE_DIR "/../shared/data/tofu/reference_eval_logs/"
#define REL(a, b) (fabs((a) - (b)) / fmax(1e-300, fabs(b)))

typedef struct split_stats {
    double prob, rouge, tr;
    double *R; /* [n] truth ratios */
    size_t n;
} split_stats;

/* The values of a {"0": x, "1": y, ...} member in index order. */
static JsonObject *member(JsonObject *o, const char *k) {
    cr_assert(json_object_has_member(o, k), "missing %s", k);
    return json_object_get_object_member(o, k);
}

static double num(JsonObject *o, const char *i) { return json_object_get_double_member(o, i); }

static split_stats split(JsonObject *log, const char *name, int forget, int options) {
    JsonObject *v = member(log, name);
    JsonObject *gt = member(v, "avg_gt_loss"), *pert = member(v, "average_perturb_loss"),
               *para = member(v, "avg_paraphrased_loss"), *rouge = member(v, "rougeL_recall");
    split_stats s = {0};
    s.n = json_object_get_size(gt);
    double *avg = g_new(double, s.n), *R = g_new(double, s.n), *pa = NULL;
    size_t n_pert = 0;
    double rsum = 0;
    for (size_t i = 0; i < s.n; i++) {
        char key[24];
        g_snprintf(key, sizeof key, "%zu", i);
        avg[i] = num(gt, key);
        JsonArray *pl = json_object_get_array_member(pert, key);
        if (!pa) {
            n_pert = json_array_get_length(pl);
            pa = g_new(double, s.n * n_pert);
        }
        cr_assert_eq(json_array_get_length(pl), n_pert);
        for (size_t j = 0; j < n_pert; j++) pa[i * n_pert + j] = json_array_get_double_element(pl, (guint)j);
        R[i] = baldro_tofu_truth_ratio(num(para, key), pa + i * n_pert, n_pert);
        rsum += num(rouge, key);
    }
    s.prob = options ? baldro_tofu_probability_options(avg, pa, s.n, n_pert)
                     : baldro_tofu_probability(avg, s.n);
    s.rouge = rsum / (double)s.n;
    s.tr = baldro_tofu_truth_ratio_stat(R, s.n, forget);
    s.R = R;
    g_free(avg);
    g_free(pa);
    return s;
}

typedef struct run_stats {
    split_stats forget, retain, authors, world;
    double mu;
    JsonParser *p;
} run_stats;

static run_stats run(const char *file) {
    run_stats r;
    r.p = json_parser_new();
    cr_assert(json_parser_load_from_file(r.p, file, NULL), "%s", file);
    JsonObject *log = json_node_get_object(json_parser_get_root(r.p));
    r.forget = split(log, "eval_log_forget.json", 1, 0);
    r.retain = split(log, "eval_log.json", 0, 0);
    r.authors = split(log, "eval_real_author_wo_options.json", 0, 1);
    r.world = split(log, "eval_real_world_wo_options.json", 0, 1);
    double nine[9] = {r.retain.prob,  r.retain.rouge,  r.retain.tr,
                      r.authors.prob, r.authors.rouge, r.authors.tr,
                      r.world.prob,   r.world.rouge,   r.world.tr};
    r.mu = baldro_tofu_hmean(nine, 9);
    return r;
}

static void run_free(run_stats *r) {
    split_stats *s[] = {&r->forget, &r->retain, &r->authors, &r->world};
    for (int i = 0; i < 4; i++) g_free(s[i]->R);
    g_object_unref(r->p);
}

Test(metrics_tofu, reference_logs_aggregate_to_the_quoted_figures, .timeout = 60) {
    if (!g_file_test(LOGS, G_FILE_TEST_IS_DIR)) cr_skip_test("%s is missing", LOGS);
    run_stats full = run(LOGS "ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json");
    run_stats ret = run(LOGS "ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json");
    cr_assert_eq(full.forget.n, 300);
    cr_assert_eq(full.authors.n, 100);
    cr_assert_eq(full.world.n, 117);
    cr_assert_lt(REL(full.mu, 0.6226773637427152), 1e-12, "full MU %.17g", full.mu);
    cr_assert_lt(REL(ret.mu, 0.613744995233942), 1e-12, "retain90 MU %.17g", ret.mu);
    cr_assert_lt(REL(full.forget.prob, 0.9909385566403208), 1e-12, "%.17g", full.forget.prob);
    cr_assert_lt(REL(full.forget.rouge, 0.985449693916369), 1e-12, "%.17g", full.forget.rouge);
    cr_assert_lt(REL(full.forget.tr, 0.5159854212808593), 1e-12, "%.17g", full.forget.tr);
    double D, p;
    cr_assert_eq(baldro_ks_2samp(full.forget.R, full.forget.n, ret.forget.R, ret.forget.n, &D, &p),
                 0);
    cr_assert_lt(REL(D, 0.39666666666666667), 1e-15, "D %.17g", D);
    cr_assert_lt(REL(p, 1.834066410994743e-21), 1e-10, "forget quality %.17g", p);
    cr_log_info("full MU %.4f, retain90 MU %.4f, forget quality %.3g", full.mu, ret.mu, p);
    run_free(&full);
    run_free(&ret);
}

Test(metrics_tofu, transforms_and_edges) {
    /* R = exp(para - mean pert): para 1, perts 2 and 4 -> exp(1 - 3) */
    const double pert[2] = {2, 4};
    cr_assert_lt(REL(baldro_tofu_truth_ratio(1.0, pert, 2), exp(-2.0)), 1e-15);
    const double R[3] = {0.5, 2.0, 1.0};
    /* forget: min(R, 1/R) = 0.5, 0.5, 1 */
    cr_assert_lt(REL(baldro_tofu_truth_ratio_stat(R, 3, 1), 2.0 / 3.0), 1e-15);
    /* others: max(0, 1 - R) = 0.5, 0, 0 */
    cr_assert_lt(REL(baldro_tofu_truth_ratio_stat(R, 3, 0), 0.5 / 3.0), 1e-15);
    const double v[3] = {1, 2, 4};
    cr_assert_lt(REL(baldro_tofu_hmean(v, 3), 3.0 / 1.75), 1e-15);
    const double z[2] = {0.5, 0};
    cr_assert_eq(baldro_tofu_hmean(z, 2), 0.0, "a zero gives 0, as scipy's hmean");
    const double bad[2] = {0.5, NAN};
    cr_assert(isnan(baldro_tofu_hmean(bad, 2)), "NaN is never averaged in");
    cr_assert(isnan(baldro_tofu_probability(bad, 2)));
    cr_assert(isnan(baldro_tofu_truth_ratio_stat(bad, 2, 1)));
    cr_assert(isnan(baldro_tofu_truth_ratio(NAN, pert, 2)));
    cr_assert(isnan(baldro_tofu_probability(v, 0)), "an empty split has no value");
    /* options: true loss 0 (p 1) against perts with p e^-1 each: 1 / (1 + 2 e^-1) */
    const double a[1] = {0}, pa[2] = {1, 1};
    cr_assert_lt(REL(baldro_tofu_probability_options(a, pa, 1, 2), 1.0 / (1.0 + 2.0 * exp(-1.0))),
                 1e-15);
}

/* ---- the same through the metric plugin (metrics_tofu.so), as the evaluator calls it ---- */

typedef struct items {
    size_t n;
    baldro_eval_item *it;
    const baldro_eval_item **ptr;
    double *alt_nll;
    int32_t *alt_tok;
    char **gen, **gt;
} items;

/* Items from a legacy log split: sums as avg * tokens (so that sum / tokens is the logged
 * average to the last bit), the generation and ground truth from generated_text. */
static items log_items(JsonObject *log, const char *name) {
    JsonObject *v = member(log, name);
    JsonObject *gt = member(v, "avg_gt_loss"), *ngt = member(v, "num_token_gt"),
               *pert = member(v, "average_perturb_loss"), *npert = member(v, "num_token_perturb"),
               *para = member(v, "avg_paraphrased_loss"), *npara = member(v, "num_token_paraphrased"),
               *gen = member(v, "generated_text");
    items r = {0};
    r.n = json_object_get_size(gt);
    r.it = g_new0(baldro_eval_item, r.n);
    r.ptr = g_new(const baldro_eval_item *, r.n);
    r.alt_nll = g_new(double, r.n * 5);
    r.alt_tok = g_new(int32_t, r.n * 5);
    r.gen = g_new0(char *, r.n);
    r.gt = g_new0(char *, r.n);
    for (size_t i = 0; i < r.n; i++) {
        char key[24];
        g_snprintf(key, sizeof key, "%zu", i);
        baldro_eval_item *e = &r.it[i];
        e->struct_size = sizeof *e;
        e->n_tokens = (int32_t)json_object_get_int_member(ngt, key);
        e->nll = num(gt, key) * e->n_tokens;
        e->para_tokens = (int32_t)json_object_get_int_member(npara, key);
        e->para_nll = num(para, key) * e->para_tokens;
        JsonArray *pl = json_object_get_array_member(pert, key), *pn = json_object_get_array_member(npert, key);
        e->n_alt = (int32_t)json_array_get_length(pl);
        cr_assert_leq(e->n_alt, 5);
        for (int32_t j = 0; j < e->n_alt; j++) {
            r.alt_tok[i * 5 + (size_t)j] = (int32_t)json_array_get_int_element(pn, (guint)j);
            r.alt_nll[i * 5 + (size_t)j] =
                json_array_get_double_element(pl, (guint)j) * r.alt_tok[i * 5 + (size_t)j];
        }
        e->alt_nll = r.alt_nll + i * 5;
        e->alt_tokens = r.alt_tok + i * 5;
        JsonArray *g = json_object_get_array_member(gen, key);
        /* generated_text: [prompt, generation, ground truth] */
        r.gen[i] = g_strdup(json_array_get_string_element(g, 1));
        r.gt[i] = g_strdup(json_array_get_string_element(g, 2));
        e->ground_truth = r.gt[i];
        e->generation = r.gen[i];
        r.ptr[i] = e;
    }
    return r;
}

static void items_free(items *r) {
    for (size_t i = 0; i < r->n; i++) g_free(r->gen[i]), g_free(r->gt[i]);
    g_free(r->gen);
    g_free(r->gt);
    g_free(r->it);
    g_free(r->ptr);
    g_free(r->alt_nll);
    g_free(r->alt_tok);
}

static double run_metric(const baldro_registry *reg, const char *metric, const char *split,
                         const items *r, const double *ref, size_t n_ref, double *scores) {
    const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_METRIC, metric);
    cr_assert_not_null(o, "metric %s is not loaded", metric);
    baldro_metric_input in = {.struct_size = sizeof in, .split = split, .n_items = r->n,
                              .items = r->ptr, .reference = ref, .n_reference = n_ref};
    for (size_t i = 0; i < r->n; i++) scores[i] = NAN;
    baldro_metric_output out = {.struct_size = sizeof out, .item_scores = scores, .value = NAN};
    char err[256] = "";
    cr_assert_eq(o->vt.metric.compute(NULL, &in, &out, err, sizeof err), BALDRO_OK, "%s: %s",
                 metric, err);
    return out.value;
}

Test(metrics_tofu, plugin_reproduces_the_quoted_figures, .timeout = 120) {
    if (!g_file_test(LOGS, G_FILE_TEST_IS_DIR)) cr_skip_test("%s is missing", LOGS);
    baldro_loader *ld = baldro_loader_new();
    baldro_loader_load_dir(ld, BALDRO_BUILT_PLUGIN_DIR);
    const baldro_registry *reg = baldro_loader_registry(ld);
    const char *files[2] = {LOGS "ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json",
                            LOGS "ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json"};
    const double want_mu[2] = {0.6226773637427152, 0.613744995233942};
    double *forget_R[2];
    for (int k = 0; k < 2; k++) {
        JsonParser *p = json_parser_new();
        cr_assert(json_parser_load_from_file(p, files[k], NULL));
        JsonObject *log = json_node_get_object(json_parser_get_root(p));
        const char *logs[3] = {"eval_log.json", "eval_real_author_wo_options.json",
                               "eval_real_world_wo_options.json"};
        const char *splits[3] = {"retain_perturbed", "real_authors_perturbed",
                                 "world_facts_perturbed"};
        double nine[9];
        for (int s = 0; s < 3; s++) {
            items r = log_items(log, logs[s]);
            double *sc = g_new(double, r.n);
            nine[3 * s] = run_metric(reg, "probability", splits[s], &r, NULL, 0, sc);
            nine[3 * s + 1] = run_metric(reg, "rouge", splits[s], &r, NULL, 0, sc);
            nine[3 * s + 2] = run_metric(reg, "truth_ratio", splits[s], &r, NULL, 0, sc);
            g_free(sc);
            items_free(&r);
        }
        double mu = baldro_tofu_hmean(nine, 9);
        /* ROUGE is recomputed from the generations here, not read from the log */
        cr_assert_lt(REL(mu, want_mu[k]), 1e-9, "run %d: model utility %.17g", k, mu);
        items f = log_items(log, "eval_log_forget.json");
        forget_R[k] = g_new(double, f.n);
        double tr = run_metric(reg, "truth_ratio", "forget10_perturbed", &f, NULL, 0, forget_R[k]);
        if (k == 0) cr_assert_lt(REL(tr, 0.5159854212808593), 1e-12, "%.17g", tr);
        items_free(&f);
        g_object_unref(p);
    }
    /* forget quality: the full model's forget split against retain90's truth ratios */
    JsonParser *p = json_parser_new();
    cr_assert(json_parser_load_from_file(p, files[0], NULL));
    items f = log_items(json_node_get_object(json_parser_get_root(p)), "eval_log_forget.json");
    double sc[300];
    double fq = run_metric(reg, "forget_quality", "forget10_perturbed", &f, forget_R[1], 300, sc);
    cr_assert_lt(REL(fq, 1.834066410994743e-21), 1e-10, "forget quality %.17g", fq);
    items_free(&f);
    g_object_unref(p);
    g_free(forget_R[0]);
    g_free(forget_R[1]);
    baldro_loader_free(ld);
}

/* Bad inputs are reported with the split and the item, never averaged in. */
Test(metrics_tofu, plugin_reports_bad_items) {
    baldro_loader *ld = baldro_loader_new();
    baldro_loader_load_dir(ld, BALDRO_BUILT_PLUGIN_DIR);
    const baldro_registry *reg = baldro_loader_registry(ld);
    const double alt_nll[2] = {4.0, 6.0};
    const int32_t alt_tok[2] = {2, 2};
    baldro_eval_item it[2] = {
        {.struct_size = sizeof it[0], .question = "q", .ground_truth = "the answer",
         .generation = "the answer", .nll = 2.0, .n_tokens = 2, .para_nll = 2.0, .para_tokens = 2,
         .n_alt = 2, .alt_nll = alt_nll, .alt_tokens = alt_tok},
        {.struct_size = sizeof it[0], .question = "q", .ground_truth = "x", .generation = NULL,
         .nll = NAN, .n_tokens = 0, .para_nll = NAN, .para_tokens = 0, .n_alt = 0}};
    const baldro_eval_item *ptr[2] = {&it[0], &it[1]};
    double scores[2];
    struct { const char *metric, *want; } cases[] = {
        {"probability", "retain_perturbed item 1: answer loss is not finite"},
        {"truth_ratio", "retain_perturbed item 1: missing or non-finite"},
        {"rouge", "retain_perturbed item 1: no generation to score"},
        {"forget_quality", "needs the retain model's truth ratios"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_METRIC, cases[c].metric);
        cr_assert_not_null(o);
        baldro_metric_input in = {.struct_size = sizeof in, .split = "retain_perturbed",
                                  .n_items = 2, .items = ptr};
        baldro_metric_output out = {.struct_size = sizeof out, .item_scores = scores};
        char err[256] = "";
        cr_assert_neq(o->vt.metric.compute(NULL, &in, &out, err, sizeof err), BALDRO_OK, "%s",
                      cases[c].metric);
        cr_assert(strstr(err, cases[c].want), "%s: %s", cases[c].metric, err);
    }
    /* the good item alone: probability exp(-1), R = exp(1 - 2.5) */
    baldro_metric_input one = {.struct_size = sizeof one, .split = "retain_perturbed",
                               .n_items = 1, .items = ptr};
    baldro_metric_output out = {.struct_size = sizeof out, .item_scores = scores};
    char err[256] = "";
    const baldro_object *tr = baldro_registry_find(reg, BALDRO_KIND_METRIC, "truth_ratio");
    cr_assert_eq(tr->vt.metric.compute(NULL, &one, &out, err, sizeof err), BALDRO_OK, "%s", err);
    cr_assert_lt(REL(scores[0], exp(-1.5)), 1e-15);
    cr_assert_lt(REL(out.value, 1.0 - exp(-1.5)), 1e-15);
    baldro_loader_free(ld);
}
