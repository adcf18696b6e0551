/*
 * The open-unlearning TOFU_EVAL.json reader (core/eval/eval_log.c) on the fixtures of
 * tests/oracle/ou_log_oracle.py (tests/fixtures/eval_logs: the TOFU authors' llama2-7b full
 * and retain90 logs, 40 items per split, logged as open-unlearning would have, and every
 * agg_value in expected.json):
 *   - the items hold exactly the logged losses (nll / n_tokens is the logged avg_loss,
 *     perturbed counts, strings), the score entries exactly the logged scores;
 *   - tofu_stats.h, ks.h and rouge.h on the parsed items reproduce each logged per-item score
 *     and every agg_value to 1e-12 relative. open-unlearning guards two divisions with 1e-10
 *     (truth ratio wrong / (correct + 1e-10), options correct / (correct + wrong + 1e-10));
 *     the test applies that factor to tofu_stats' exact values for the logged figures, and
 *     checks tofu_stats' own values against the oracle's guard-free "formula" figures;
 *   - the metric plugins on the parsed items give the formula figures (what `eval
 *     --aggregate` prints);
 *   - detect() on both formats; bad inputs give one line naming the file, key, index and
 *     field, and leave nothing allocated.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "eval/eval_log.h"
#include "eval/legacy_logs.h"
#include "ks.h"
#include "plugin/loader.h"
#include "rouge.h"
#include "tofu_stats.h"

#define FIX BALDRO_TEST_FIXTURES "/eval_logs/"
#define LOGS BALDRO_SOURCE_DIR "/../shared/data/tofu/reference_eval_logs/"
#define REL(a, b) (fabs((a) - (b)) / fmax(1e-300, fabs(b)))
#define EPS 1e-10 /* open-unlearning's division guard */

static const char *const k_files[2] = {"ou_full_40.json", "ou_retain90_40.json"};
static const char *const k_pfx[4] = {"forget", "retain", "ra", "wf"};
static const char *const k_split[4] = {"forget_perturbed", "retain_perturbed",
                                       "real_authors_perturbed", "world_facts_perturbed"};
static const char *const k_tr[4] = {"forget_truth_ratio", "retain_Truth_Ratio", "ra_Truth_Ratio",
                                    "wf_Truth_Ratio"};

/* ---- JSON access to the fixtures --------------------------------------------------------- */

static JsonParser *parse_file(const char *path) {
    JsonParser *p = json_parser_new();
    GError *e = NULL;
    cr_assert(json_parser_load_from_file(p, path, &e), "%s: %s", path, e ? e->message : "");
    return p;
}

static JsonObject *root_of(JsonParser *p) { return json_node_get_object(json_parser_get_root(p)); }

static JsonObject *obj(JsonObject *o, const char *k) {
    cr_assert(o && json_object_has_member(o, k), "missing %s", k);
    return json_object_get_object_member(o, k);
}

/* log[key].value_by_index["i"] */
static JsonObject *item(JsonObject *log, const char *key, size_t i) {
    char idx[24];
    g_snprintf(idx, sizeof idx, "%zu", i);
    return obj(obj(obj(log, key), "value_by_index"), idx);
}

static double agg(JsonObject *expected, const char *file, const char *key) {
    return json_object_get_double_member(obj(obj(expected, "agg"), file), key);
}

static double formula(JsonObject *expected, const char *file, const char *key) {
    return json_object_get_double_member(obj(obj(expected, "formula"), file), key);
}

static baldro_eval_log load_fixture(const char *file) {
    char *path = g_strconcat(FIX, file, NULL);
    baldro_eval_log L;
    baldro_error err = {0};
    cr_assert_eq(baldro_eval_log_load(path, &L, &err), BALDRO_OK, "%s", err.msg);
    g_free(path);
    return L;
}

/* ---- the fixtures parse into exactly what they log ---------------------------------------- */

Test(eval_log, fixtures_parse_into_the_logged_values) {
    JsonParser *ep = parse_file(FIX "expected.json");
    JsonObject *expected = root_of(ep);
    JsonObject *n_pert = obj(expected, "n_pert");
    for (int f = 0; f < 2; f++) {
        char *path = g_strconcat(FIX, k_files[f], NULL);
        JsonParser *lp = parse_file(path);
        JsonObject *log = root_of(lp);
        baldro_eval_log L = load_fixture(k_files[f]);
        for (int k = 0; k < 4; k++) {
            const baldro_log_split *s = &L.qa.s[k];
            cr_assert_str_eq(s->split, k_split[k]);
            cr_assert_eq(s->n, 40, "%s %s: %zu items", k_files[f], k_pfx[k], s->n);
            int32_t want_alt = (int32_t)json_object_get_int_member(n_pert, k_pfx[k]);
            char *kp = g_strdup_printf("%s_Q_A_Prob", k_pfx[k]);
            char *kpara = g_strdup_printf("%s_Q_A_PARA_Prob", k_pfx[k]);
            char *kpert = g_strdup_printf("%s_Q_A_PERT_Prob", k_pfx[k]);
            char *kr = g_strdup_printf("%s_Q_A_ROUGE", k_pfx[k]);
            for (size_t i = 0; i < s->n; i++) {
                const baldro_eval_item *e = s->ptr[i];
                cr_assert_eq(e, &s->items[i]);
                cr_assert_eq(e->struct_size, sizeof *e);
                /* exactly the logged average, not merely close */
                cr_assert_eq(e->nll / e->n_tokens,
                             json_object_get_double_member(item(log, kp, i), "avg_loss"),
                             "%s %s item %zu", k_files[f], kp, i);
                if (k < 2) {
                    cr_assert_eq(e->para_nll / e->para_tokens,
                                 json_object_get_double_member(item(log, kpara, i), "avg_loss"));
                } else {
                    cr_assert(isnan(e->para_nll) && e->para_tokens == 0);
                }
                cr_assert_eq(e->n_alt, want_alt, "%s item %zu: %d perturbed", kpert, i, e->n_alt);
                JsonArray *pl =
                    json_object_get_array_member(item(log, kpert, i), "avg_loss");
                for (int32_t j = 0; j < e->n_alt; j++)
                    cr_assert_eq(e->alt_nll[j] / e->alt_tokens[j],
                                 json_array_get_double_element(pl, (guint)j));
                JsonObject *r = item(log, kr, i);
                cr_assert_str_eq(e->question, json_object_get_string_member(r, "input"));
                cr_assert_str_eq(e->ground_truth, json_object_get_string_member(r, "ground_truth"));
                cr_assert_str_eq(e->generation, json_object_get_string_member(r, "generation"));
                cr_assert_null(e->tok_logp);
                cr_assert_null(e->class_probs);
            }
            g_free(kp);
            g_free(kpara);
            g_free(kpert);
            g_free(kr);
        }
        cr_assert_eq(L.n_forget_tr, 40);
        cr_assert_eq(L.n_mia_forget, 40);
        cr_assert_eq(L.n_mia_holdout, 40);
        cr_assert_eq(L.n_es, 40);
        for (size_t i = 0; i < 40; i++) {
            char idx[24];
            g_snprintf(idx, sizeof idx, "%zu", i);
            cr_assert_eq(L.forget_tr[i],
                         json_object_get_double_member(item(log, "forget_truth_ratio", i), "score"));
            JsonObject *mia = obj(log, "mia_min_k");
            cr_assert_eq(L.mia_forget[i], json_object_get_double_member(
                obj(obj(obj(mia, "forget"), "value_by_index"), idx), "score"));
            cr_assert_eq(L.mia_holdout[i], json_object_get_double_member(
                obj(obj(obj(mia, "holdout"), "value_by_index"), idx), "score"));
            cr_assert_eq(L.es[i],
                         json_object_get_double_member(item(log, "extraction_strength", i), "score"));
        }
        cr_assert_eq(L.mia_auc, agg(expected, k_files[f], "mia_min_k"));
        if (f == 0) {
            cr_assert_eq(L.n_gibberish, 40);
            for (size_t i = 0; i < 40; i++)
                cr_assert_eq(L.gibberish[i], json_object_get_double_member(
                    item(log, "forget_Q_A_gibberish", i), "score"));
        } else {
            cr_assert_null(L.gibberish); /* the retain90 log has none */
            cr_assert_eq(L.n_gibberish, 0);
        }
        baldro_eval_log_clear(&L);
        cr_assert_null(L.qa.s[0].items);
        cr_assert(isnan(L.mia_auc));
        baldro_eval_log_clear(&L); /* twice is fine */
        g_object_unref(lp);
        g_free(path);
    }
    g_object_unref(ep);
}

/* ---- every figure again from the parsed items --------------------------------------------- */

typedef struct figures {
    double prob[4], rouge[4], tr[4];      /* as open-unlearning logs them             */
    double fprob[4], ftr[4];              /* tofu_stats' own (no 1e-10 guards)        */
    double *forget_R;                     /* [40] tofu_stats truth ratios, forget     */
} figures;

static figures recompute(const baldro_eval_log *L, JsonObject *log, const char *file) {
    figures F = {0};
    for (int k = 0; k < 4; k++) {
        const baldro_log_split *s = &L->qa.s[k];
        double *R = g_new(double, s->n), *Rou = g_new(double, s->n), *avg = g_new(double, s->n);
        double pou = 0, pf = 0, rsum = 0;
        for (size_t i = 0; i < s->n; i++) {
            const baldro_eval_item *e = s->ptr[i];
            double pa[64];
            for (int32_t j = 0; j < e->n_alt; j++) pa[j] = e->alt_nll[j] / e->alt_tokens[j];
            avg[i] = e->nll / e->n_tokens;
            /* correct: the paraphrase on forget / retain, the answer itself on ra / wf */
            double correct = k < 2 ? e->para_nll / e->para_tokens : avg[i];
            R[i] = baldro_tofu_truth_ratio(correct, pa, (size_t)e->n_alt);
            double c = exp(-correct);
            Rou[i] = R[i] * (c / (c + EPS));
            double logged = json_object_get_double_member(item(log, k_tr[k], i), "score");
            cr_assert_lt(REL(Rou[i], logged), 1e-12, "%s %s item %zu: %.17g vs %.17g", file,
                         k_tr[k], i, Rou[i], logged);
            char *kp = g_strdup_printf("%s_Q_A_Prob", k_pfx[k]);
            double p1 = baldro_tofu_probability(&avg[i], 1);
            cr_assert_lt(REL(p1, json_object_get_double_member(item(log, kp, i), "prob")), 1e-12);
            g_free(kp);
            if (k >= 2) {
                double p = baldro_tofu_probability_options(&avg[i], pa, 1, (size_t)e->n_alt);
                double tf = exp(-avg[i]);
                for (int32_t j = 0; j < e->n_alt; j++) tf += exp(-pa[j]);
                double p_ou = p * (tf / (tf + EPS));
                char *kn = g_strdup_printf("%s_Q_A_Prob_normalised", k_pfx[k]);
                double logged_p = json_object_get_double_member(item(log, kn, i), "prob");
                cr_assert_lt(REL(p_ou, logged_p), 1e-12, "%s item %zu", kn, i);
                g_free(kn);
                pou += p_ou;
                pf += p;
            }
            double r1, rl;
            cr_assert_eq(baldro_rouge_recall(e->ground_truth, e->generation, &r1, &rl), 0);
            char *kr = g_strdup_printf("%s_Q_A_ROUGE", k_pfx[k]);
            JsonObject *ri = item(log, kr, i);
            cr_assert_lt(fabs(rl - json_object_get_double_member(ri, "rougeL_recall")), 1e-12);
            cr_assert_lt(fabs(r1 - json_object_get_double_member(ri, "rouge1_recall")), 1e-12);
            g_free(kr);
            rsum += rl;
        }
        F.rouge[k] = rsum / (double)s->n;
        if (k < 2) {
            F.prob[k] = F.fprob[k] = baldro_tofu_probability(avg, s->n);
        } else {
            F.prob[k] = pou / (double)s->n;
            F.fprob[k] = pf / (double)s->n;
        }
        F.ftr[k] = baldro_tofu_truth_ratio_stat(R, s->n, k == 0);
        if (k == 0) { /* open-unlearning: mean(min(R, 1 / (R + 1e-10))) */
            double t = 0;
            for (size_t i = 0; i < s->n; i++) t += fmin(Rou[i], 1.0 / (Rou[i] + EPS));
            F.tr[k] = t / (double)s->n;
            F.forget_R = R;
        } else {
            F.tr[k] = baldro_tofu_truth_ratio_stat(Rou, s->n, 0);
            g_free(R);
        }
        g_free(Rou);
        g_free(avg);
    }
    return F;
}

static void check(double got, double want, const char *file, const char *what) {
    cr_assert_lt(REL(got, want), 1e-12, "%s %s: %.17g, expected %.17g", file, what, got, want);
}

static double mean(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return s / (double)n;
}

Test(eval_log, tofu_stats_reproduce_every_logged_figure) {
    JsonParser *ep = parse_file(FIX "expected.json");
    JsonObject *ex = root_of(ep);
    baldro_eval_log L[2];
    figures F[2];
    JsonParser *lp[2];
    for (int f = 0; f < 2; f++) {
        char *path = g_strconcat(FIX, k_files[f], NULL);
        lp[f] = parse_file(path);
        g_free(path);
        L[f] = load_fixture(k_files[f]);
        F[f] = recompute(&L[f], root_of(lp[f]), k_files[f]);
        const char *fn = k_files[f];
        double nine[9], fnine[9];
        for (int k = 0; k < 4; k++) {
            char *kp = g_strdup_printf(k < 2 ? "%s_Q_A_Prob" : "%s_Q_A_Prob_normalised", k_pfx[k]);
            char *kr = g_strdup_printf("%s_Q_A_ROUGE", k_pfx[k]);
            check(F[f].prob[k], agg(ex, fn, kp), fn, kp);
            check(F[f].fprob[k], formula(ex, fn, kp), fn, kp);
            check(F[f].rouge[k], agg(ex, fn, kr), fn, kr);
            check(F[f].tr[k], agg(ex, fn, k_tr[k]), fn, k_tr[k]);
            check(F[f].ftr[k], formula(ex, fn, k_tr[k]), fn, k_tr[k]);
            if (k > 0) {
                double v[3] = {F[f].prob[k], F[f].rouge[k], F[f].tr[k]};
                double fv[3] = {F[f].fprob[k], F[f].rouge[k], F[f].ftr[k]};
                memcpy(nine + 3 * (k - 1), v, sizeof v);
                memcpy(fnine + 3 * (k - 1), fv, sizeof fv);
            }
            g_free(kp);
            g_free(kr);
        }
        check(baldro_tofu_hmean(nine, 9), agg(ex, fn, "model_utility"), fn, "model_utility");
        check(baldro_tofu_hmean(fnine, 9), formula(ex, fn, "model_utility"), fn, "model_utility");
        check(mean(L[f].es, L[f].n_es), agg(ex, fn, "extraction_strength"), fn, "ES");
        /* mia_min_k: the AUC from the scores (holdout = label 1, ties count half) */
        double wins = 0;
        for (size_t h = 0; h < L[f].n_mia_holdout; h++)
            for (size_t i = 0; i < L[f].n_mia_forget; i++)
                wins += L[f].mia_holdout[h] > L[f].mia_forget[i]    ? 1.0
                        : L[f].mia_holdout[h] == L[f].mia_forget[i] ? 0.5 : 0.0;
        check(wins / (double)(L[f].n_mia_forget * L[f].n_mia_holdout), L[f].mia_auc, fn, "AUC");
    }
    check(mean(L[0].gibberish, L[0].n_gibberish), agg(ex, k_files[0], "forget_Q_A_gibberish"),
          k_files[0], "gibberish");
    /* forget quality: the full model's forget truth ratios against retain90's logged ones */
    double D, p;
    cr_assert_eq(baldro_ks_2samp(F[0].forget_R, 40, L[1].forget_tr, L[1].n_forget_tr, &D, &p), 0);
    check(p, agg(ex, k_files[0], "forget_quality"), k_files[0], "forget_quality");
    check(p, formula(ex, k_files[0], "forget_quality"), k_files[0], "forget_quality");
    cr_assert(json_node_is_null(json_object_get_member(obj(obj(ex, "agg"), k_files[1]),
                                                       "forget_quality")));
    /* privleak: the AUCs as (1 - auc), relative to the reference's (0.5 without one) */
    double s0 = 1 - L[0].mia_auc, r0 = 1 - L[1].mia_auc, s1 = 1 - L[1].mia_auc;
    check((s0 - r0) / (r0 + EPS) * 100, agg(ex, k_files[0], "privleak"), k_files[0], "privleak");
    check((s1 - 0.5) / (0.5 + EPS) * 100, agg(ex, k_files[1], "privleak"), k_files[1], "privleak");
    for (int f = 0; f < 2; f++) {
        g_free(F[f].forget_R);
        baldro_eval_log_clear(&L[f]);
        g_object_unref(lp[f]);
    }
    g_object_unref(ep);
}

/* What `eval --aggregate` will run: the metric plugins on the parsed items. */
static double run_metric(const baldro_registry *reg, const char *metric, const baldro_log_split *s,
                         const double *ref, size_t n_ref, double *scores, char *err) {
    const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_METRIC, metric);
    cr_assert_not_null(o, "metric %s is not loaded", metric);
    baldro_metric_input in = {.struct_size = sizeof in, .split = s->split, .n_items = s->n,
                              .items = s->ptr, .reference = ref, .n_reference = n_ref};
    for (size_t i = 0; i < s->n; i++) scores[i] = NAN;
    baldro_metric_output out = {.struct_size = sizeof out, .item_scores = scores, .value = NAN};
    err[0] = '\0';
    if (o->vt.metric.compute(NULL, &in, &out, err, 256) != BALDRO_OK) return NAN;
    return out.value;
}

Test(eval_log, metric_plugins_on_the_parsed_items, .timeout = 120) {
    baldro_loader *ld = baldro_loader_new();
    baldro_loader_load_dir(ld, BALDRO_BUILT_PLUGIN_DIR);
    const baldro_registry *reg = baldro_loader_registry(ld);
    JsonParser *ep = parse_file(FIX "expected.json");
    JsonObject *ex = root_of(ep);
    baldro_eval_log full = load_fixture(k_files[0]);
    baldro_eval_log ref;
    baldro_error e = {0};
    cr_assert_eq(baldro_eval_log_load_reference(FIX "ou_retain90_40.json", &ref, &e), BALDRO_OK,
                 "%s", e.msg);
    double sc[40], nine[9];
    char err[256];
    for (int k = 0; k < 4; k++) {
        const baldro_log_split *s = &full.qa.s[k];
        char *kp = g_strdup_printf(k < 2 ? "%s_Q_A_Prob" : "%s_Q_A_Prob_normalised", k_pfx[k]);
        char *kr = g_strdup_printf("%s_Q_A_ROUGE", k_pfx[k]);
        double v[3] = {run_metric(reg, "probability", s, NULL, 0, sc, err),
                       run_metric(reg, "rouge", s, NULL, 0, sc, err),
                       run_metric(reg, "truth_ratio", s, NULL, 0, sc, err)};
        check(v[0], formula(ex, k_files[0], kp), s->split, "probability");
        check(v[1], agg(ex, k_files[0], kr), s->split, "rouge");
        check(v[2], formula(ex, k_files[0], k_tr[k]), s->split, "truth_ratio");
        if (k > 0) memcpy(nine + 3 * (k - 1), v, sizeof v);
        g_free(kp);
        g_free(kr);
    }
    check(baldro_tofu_hmean(nine, 9), formula(ex, k_files[0], "model_utility"), "full", "MU");
    double fq = run_metric(reg, "forget_quality", &full.qa.s[0], ref.forget_tr, ref.n_forget_tr,
                           sc, err);
    check(fq, agg(ex, k_files[0], "forget_quality"), "full", "forget_quality");

    /* a null avg_loss reads as NaN and the metric names the item; it is not dropped */
    baldro_eval_item *it = &full.qa.s[1].items[3];
    it->nll = NAN;
    cr_assert(isnan(run_metric(reg, "probability", &full.qa.s[1], NULL, 0, sc, err)));
    cr_assert(strstr(err, "retain_perturbed item 3"), "%s", err);
    baldro_eval_log_clear(&full);
    baldro_eval_log_clear(&ref);
    g_object_unref(ep);
    baldro_loader_free(ld);
}

/* ---- detect --------------------------------------------------------------------------------- */

static int detect_str(const char *s) { return baldro_eval_log_detect(s, strlen(s)); }

Test(eval_log, detect_tells_the_formats_apart) {
    for (int f = 0; f < 2; f++) {
        char *path = g_strconcat(FIX, k_files[f], NULL), *text = NULL;
        gsize len = 0;
        cr_assert(g_file_get_contents(path, &text, &len, NULL));
        cr_assert_eq(baldro_eval_log_detect(text, len), 1, "%s", path);
        cr_assert_eq(baldro_legacy_log_detect(text, len), 0, "%s", path);
        g_free(text);
        g_free(path);
    }
    const char *legacy = LOGS "ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json";
    if (g_file_test(legacy, G_FILE_TEST_IS_REGULAR)) {
        char *text = NULL;
        gsize len = 0;
        cr_assert(g_file_get_contents(legacy, &text, &len, NULL));
        cr_assert_eq(baldro_eval_log_detect(text, len), 0);
        cr_assert_eq(baldro_legacy_log_detect(text, len), 1);
        baldro_eval_log L;
        baldro_error err = {0};
        /* and a legacy log handed to this reader is refused by name, not misread */
        cr_assert_neq(baldro_eval_log_parse(text, len, "legacy.json", &L, &err), BALDRO_OK);
        cr_assert(strstr(err.msg, "legacy.json: none of forget_Q_A_Prob"), "%s", err.msg);
        g_free(text);
    } /* else: ../shared is not there; the fixtures above still ran */
    cr_assert_eq(detect_str("{\"a\": {\"value_by_index\": {}}}"), 1);
    cr_assert_eq(detect_str("  \n{\"model_utility\": {\"agg_value\": 0.5},\n \"x\" : {\"agg_value\""
                            ": 1, \"value_by_index\" : {\"0\": {\"score\": 1}}}}"), 1);
    cr_assert_eq(detect_str("{\"a\": {\"b\": {\"value_by_index\": {}}}}"), 0); /* too deep */
    cr_assert_eq(detect_str("{\"value_by_index\": {}}"), 0);                  /* too shallow */
    cr_assert_eq(detect_str("{\"a\": [{\"value_by_index\": {}}]}"), 0);
    cr_assert_eq(detect_str("{\"a\": {\"b\": \"value_by_index\"}}"), 0);      /* a value */
    cr_assert_eq(detect_str("{\"a\": {\"b\\\"value_by_index\": 1}}"), 0);
    cr_assert_eq(detect_str("[{\"a\": {\"value_by_index\": {}}}]"), 0);
    cr_assert_eq(detect_str("{\"eval_log_forget.json\": {\"value_by_index\": {}}}"), 0);
    cr_assert_eq(detect_str("{\"a\": {\"value_by_index"), 0);
    cr_assert_eq(detect_str(""), 0);
    cr_assert_eq(detect_str("{}"), 0);
    cr_assert_eq(baldro_eval_log_detect(NULL, 0), 0);
}

/* ---- small hand-written logs ---------------------------------------------------------------- */

#define PROB2 "\"0\": {\"prob\": 0.5, \"avg_loss\": 0.69}, \"1\": {\"prob\": 0.25, \"avg_loss\": 1.38}"
#define PARA2 "\"0\": {\"prob\": 0.1, \"avg_loss\": 2.3}, \"1\": {\"avg_loss\": 2}"
#define PERT2 "\"0\": {\"prob\": [0.1, 0.2], \"avg_loss\": [2.3, 1.6]}, \"1\": {\"avg_loss\": [3, 2.5]}"
#define ROUGE2                                                                                     \
    "\"0\": {\"rouge1_recall\": 1.0, \"rougeL_f1\": 1.0, \"rougeL_recall\": 1.0, \"input\": "      \
    "\"q0\", \"ground_truth\": \"a0\", \"generation\": \"g0\"}, \"1\": {\"input\": \"q1\", "       \
    "\"ground_truth\": \"a1\", \"generation\": \"g1\"}"

static char *mini(const char *prob, const char *para, const char *pert, const char *rouge,
                  const char *extra) {
    GString *s = g_string_new("{");
    const char *names[4] = {"forget_Q_A_Prob", "forget_Q_A_PARA_Prob", "forget_Q_A_PERT_Prob",
                            "forget_Q_A_ROUGE"};
    const char *vbi[4] = {prob, para, pert, rouge};
    int first = 1;
    for (int q = 0; q < 4; q++) {
        if (!vbi[q]) continue;
        g_string_append_printf(s, "%s\"%s\": {\"agg_value\": 0.5, \"value_by_index\": {%s}}",
                               first ? "" : ", ", names[q], vbi[q]);
        first = 0;
    }
    if (extra) g_string_append_printf(s, "%s%s", first ? "" : ", ", extra);
    g_string_append(s, "}");
    return g_string_free(s, FALSE);
}

static void assert_empty(const baldro_eval_log *L) {
    for (int k = 0; k < 4; k++) cr_assert(L->qa.s[k].items == NULL && L->qa.s[k].n == 0);
    cr_assert(!L->forget_tr && !L->mia_forget && !L->mia_holdout && !L->es && !L->gibberish);
}

/* Parsing `text` fails with one line that starts with the file and holds every string given. */
static void expect_error_in(int reference, const char *text, size_t len, ...) {
    baldro_eval_log L;
    baldro_error err = {0};
    int rc = reference ? baldro_eval_log_parse_reference(text, len, "bad.json", &L, &err)
                       : baldro_eval_log_parse(text, len, "bad.json", &L, &err);
    cr_assert_neq(rc, BALDRO_OK, "accepted: %.200s", text);
    cr_assert_eq(rc, err.code);
    cr_assert(strncmp(err.msg, "bad.json: ", 10) == 0, "%s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "%s", err.msg);
    va_list ap;
    va_start(ap, len);
    for (const char *want; (want = va_arg(ap, const char *));)
        cr_assert(strstr(err.msg, want), "\"%s\" not in: %s", want, err.msg);
    va_end(ap);
    assert_empty(&L);
}

#define EXPECT_ERROR(text, ...) expect_error_in(0, (text), strlen(text), __VA_ARGS__, (char *)NULL)

static void expect_error_owned(char *text, const char *a, const char *b) {
    expect_error_in(0, text, strlen(text), a, b, (char *)NULL);
    g_free(text);
}

Test(eval_log, small_log_and_sorted_indices) {
    char *t = mini(PROB2, PARA2, PERT2, ROUGE2, NULL);
    baldro_eval_log L;
    baldro_error err = {0};
    cr_assert_eq(baldro_eval_log_parse(t, strlen(t), "mini", &L, &err), BALDRO_OK, "%s", err.msg);
    g_free(t);
    cr_assert_eq(L.qa.s[0].n, 2);
    for (int k = 1; k < 4; k++) {
        cr_assert_eq(L.qa.s[k].n, 0); /* absent entirely: nothing to recompute there */
        cr_assert_str_eq(L.qa.s[k].split, k_split[k]);
    }
    const baldro_eval_item *e = L.qa.s[0].ptr[1];
    cr_assert(e->nll == 1.38 && e->n_tokens == 1 && e->para_nll == 2.0 && e->para_tokens == 1);
    cr_assert(e->n_alt == 2 && e->alt_nll[0] == 3.0 && e->alt_nll[1] == 2.5 && e->alt_tokens[1] == 1);
    cr_assert_str_eq(e->question, "q1");
    cr_assert_str_eq(e->generation, "g1");
    cr_assert(L.forget_tr == NULL && isnan(L.mia_auc));
    baldro_eval_log_clear(&L);

    /* indices ascend numerically whatever the key order; nulls read as NaN */
    t = mini("\"10\": {\"avg_loss\": 10}, \"2\": {\"avg_loss\": 2}, \"1000000000\": {\"avg_loss\": null}",
             "\"2\": {\"avg_loss\": 2}, \"1000000000\": {\"avg_loss\": 1e9}, \"10\": {\"avg_loss\": 1}",
             "\"1000000000\": {\"avg_loss\": [1, null]}, \"10\": {\"avg_loss\": [1, 2]}, "
             "\"2\": {\"avg_loss\": [-0.0, 2e-3]}",
             "\"2\": {\"input\": \"\", \"ground_truth\": \"\", \"generation\": \"\\u00e9\\n\"}, "
             "\"10\": {\"input\": \"\", \"ground_truth\": \"\", \"generation\": \"\", "
             "\"rougeL_recall\": null}, \"1000000000\": {\"input\": \"\", \"ground_truth\": \"\", "
             "\"generation\": \"\"}",
             "\"forget_truth_ratio\": {\"value_by_index\": {\"10\": {\"score\": 1}, "
             "\"1000000000\": {\"score\": null}, \"2\": {\"score\": 0.5}}}");
    cr_assert_eq(baldro_eval_log_parse(t, strlen(t), "mini", &L, &err), BALDRO_OK, "%s", err.msg);
    g_free(t);
    cr_assert_eq(L.qa.s[0].n, 3);
    cr_assert(L.qa.s[0].items[0].nll == 2 && L.qa.s[0].items[1].nll == 10);
    cr_assert(isnan(L.qa.s[0].items[2].nll) && isnan(L.qa.s[0].items[2].alt_nll[1]));
    cr_assert_str_eq(L.qa.s[0].items[0].generation, "\xc3\xa9\n");
    cr_assert(L.n_forget_tr == 3 && L.forget_tr[0] == 0.5 && L.forget_tr[1] == 1 &&
              isnan(L.forget_tr[2]));
    baldro_eval_log_clear(&L);

    /* Python's json.dump writes NaN / Infinity bare: read as null, strings untouched */
    t = mini("\"0\": {\"avg_loss\": NaN}, \"1\": {\"avg_loss\": 1}",
             "\"0\": {\"avg_loss\": Infinity}, \"1\": {\"avg_loss\": 1}",
             "\"0\": {\"avg_loss\": [1, -Infinity]}, \"1\": {\"avg_loss\": [1, 2]}",
             "\"0\": {\"input\": \"NaN \\\" Infinity\", \"ground_truth\": \"\", \"generation\": \"NaN\"}, "
             "\"1\": {\"input\": \"\", \"ground_truth\": \"\", \"generation\": \"\"}",
             "\"x\": {\"agg_value\": NaN}");
    cr_assert_eq(baldro_eval_log_parse(t, strlen(t), "mini", &L, &err), BALDRO_OK, "%s", err.msg);
    g_free(t);
    cr_assert(isnan(L.qa.s[0].items[0].nll) && isnan(L.qa.s[0].items[0].para_nll) &&
              isnan(L.qa.s[0].items[0].alt_nll[1]) && L.qa.s[0].items[1].nll == 1);
    cr_assert_str_eq(L.qa.s[0].items[0].question, "NaN \" Infinity");
    cr_assert_str_eq(L.qa.s[0].items[0].generation, "NaN");
    baldro_eval_log_clear(&L);

    /* a real-authors split alone: no PARA entry needed, para is NaN */
    t = g_strdup("{\"ra_Q_A_Prob\": {\"value_by_index\": {" PROB2 "}}, \"ra_Q_A_PERT_Prob\": "
                 "{\"value_by_index\": {" PERT2 "}}, \"ra_Q_A_ROUGE\": {\"value_by_index\": {"
                 ROUGE2 "}}, \"ra_Q_A_Prob_normalised\": {\"value_by_index\": {\"0\": "
                 "{\"prob\": \"ignored\"}}}}");
    cr_assert_eq(baldro_eval_log_parse(t, strlen(t), "mini", &L, &err), BALDRO_OK, "%s", err.msg);
    g_free(t);
    cr_assert(L.qa.s[0].n == 0 && L.qa.s[2].n == 2 && isnan(L.qa.s[2].items[0].para_nll));
    cr_assert_str_eq(L.qa.s[2].split, "real_authors_perturbed");
    baldro_eval_log_clear(&L);
}

Test(eval_log, bad_inputs_are_one_line_errors) {
    EXPECT_ERROR("[1, 2]", "not a JSON object at the top level");
    EXPECT_ERROR("{}", "none of forget_Q_A_Prob");
    EXPECT_ERROR("{\"forget_quality\": {\"agg_value\": null}}", "none of");
    /* index sets: the PERT entry lacks 1 / has an extra 2 */
    expect_error_owned(mini(PROB2, PARA2,
                            "\"0\": {\"avg_loss\": [1, 2]}, \"2\": {\"avg_loss\": [1, 2]}", ROUGE2,
                            NULL),
                       "forget_Q_A_PERT_Prob.value_by_index: no index 1, which forget_Q_A_Prob has",
                       "bad.json");
    expect_error_owned(mini(PROB2, PARA2, PERT2 ", \"2\": {\"avg_loss\": [1, 2]}", ROUGE2, NULL),
                       "forget_Q_A_PERT_Prob.value_by_index: index 2 is not in forget_Q_A_Prob",
                       "bad.json");
    expect_error_owned(mini(PROB2, "\"0\": {\"avg_loss\": 1}", PERT2, ROUGE2, NULL),
                       "forget_Q_A_PARA_Prob.value_by_index: no index 1", "forget_Q_A_Prob");
    /* a string (a boolean, an infinity) where a number is expected */
    expect_error_owned(mini("\"0\": {\"avg_loss\": 0.69}, \"1\": {\"avg_loss\": \"1.38\"}", PARA2,
                            PERT2, ROUGE2, NULL),
                       "bad.json: forget_Q_A_Prob.value_by_index.1.avg_loss: expected a finite "
                       "number or null", "");
    expect_error_owned(mini(PROB2, "\"0\": {\"avg_loss\": true}, \"1\": {\"avg_loss\": 1}", PERT2,
                            ROUGE2, NULL),
                       "forget_Q_A_PARA_Prob.value_by_index.0.avg_loss: expected a finite", "");
    expect_error_owned(mini("\"0\": {\"avg_loss\": 1e999}, \"1\": {\"avg_loss\": 1}", PARA2, PERT2,
                            ROUGE2, NULL),
                       "forget_Q_A_Prob.value_by_index.0.avg_loss: expected a finite", "");
    expect_error_owned(mini("\"0\": {\"avg_loss\": 1, \"prob\": [1]}, \"1\": {\"avg_loss\": 1}",
                            PARA2, PERT2, ROUGE2, NULL),
                       "forget_Q_A_Prob.value_by_index.0.prob: expected a finite", "");
    expect_error_owned(mini("\"0\": {\"prob\": 0.5}, \"1\": {\"avg_loss\": 1}", PARA2, PERT2,
                            ROUGE2, NULL),
                       "forget_Q_A_Prob.value_by_index.0.avg_loss: missing", "");
    expect_error_owned(mini(PROB2, PARA2, "\"0\": {\"avg_loss\": [1, 2]}, \"1\": {\"avg_loss\": 2}",
                            ROUGE2, NULL),
                       "bad.json: forget_Q_A_PERT_Prob.value_by_index.1.avg_loss: expected a list "
                       "of numbers", "");
    expect_error_owned(mini(PROB2, PARA2,
                            "\"0\": {\"avg_loss\": [1, 2]}, \"1\": {\"avg_loss\": [1, \"2\"]}",
                            ROUGE2, NULL),
                       "forget_Q_A_PERT_Prob.value_by_index.1.avg_loss: expected a list of "
                       "numbers (element 1)", "");
    expect_error_owned(mini(PROB2, PARA2,
                            "\"0\": {\"avg_loss\": [1, 2], \"prob\": [1]}, \"1\": {\"avg_loss\": [1, 2]}",
                            ROUGE2, NULL),
                       "forget_Q_A_PERT_Prob.value_by_index.0.prob: 1 perturbed answers, index 0 "
                       "has 2", "");
    /* perturbed lists of unequal length, none, too many */
    expect_error_owned(mini(PROB2, PARA2,
                            "\"0\": {\"avg_loss\": [1, 2]}, \"1\": {\"avg_loss\": [1]}", ROUGE2,
                            NULL),
                       "bad.json: forget_Q_A_PERT_Prob.value_by_index.1.avg_loss: 1 perturbed "
                       "answers, index 0 has 2", "");
    expect_error_owned(mini(PROB2, PARA2, "\"0\": {\"avg_loss\": []}, \"1\": {\"avg_loss\": [1]}",
                            ROUGE2, NULL),
                       "forget_Q_A_PERT_Prob.value_by_index.0.avg_loss: 0 perturbed answers (1 to "
                       "64 allowed)", "");
    GString *many = g_string_new("\"0\": {\"avg_loss\": [1");
    for (int j = 1; j < 65; j++) g_string_append(many, ", 1");
    g_string_append(many, "]}, \"1\": {\"avg_loss\": [1]}");
    expect_error_owned(mini(PROB2, PARA2, many->str, ROUGE2, NULL),
                       "forget_Q_A_PERT_Prob.value_by_index.0.avg_loss: 65 perturbed answers", "");
    g_string_free(many, TRUE);
    /* indices that are not canonical decimal, or too large */
    const char *bad_idx[] = {"01", "-1", "+1", "1e3", "1.0", " 1", "", "1000000001",
                             "99999999999999999999", "0x1", "\\u0661"};
    for (size_t b = 0; b < G_N_ELEMENTS(bad_idx); b++) {
        char *prob = g_strdup_printf("\"0\": {\"avg_loss\": 1}, \"%s\": {\"avg_loss\": 1}",
                                     bad_idx[b]);
        expect_error_owned(mini(prob, PARA2, PERT2, ROUGE2, NULL),
                           "bad.json: forget_Q_A_Prob.value_by_index: \"", "\" is not a dataset "
                           "index");
        g_free(prob);
    }
    /* strings */
    expect_error_owned(mini(PROB2, PARA2, PERT2,
                            "\"0\": {\"input\": \"q\", \"ground_truth\": \"a\", \"generation\": 7}, "
                            "\"1\": {\"input\": \"q\", \"ground_truth\": \"a\", \"generation\": \"g\"}",
                            NULL),
                       "forget_Q_A_ROUGE.value_by_index.0.generation: expected a string", "");
    expect_error_owned(mini(PROB2, PARA2, PERT2,
                            "\"0\": {\"input\": \"q\", \"generation\": \"g\"}, "
                            "\"1\": {\"input\": \"q\", \"ground_truth\": \"a\", \"generation\": \"g\"}",
                            NULL),
                       "forget_Q_A_ROUGE.value_by_index.0.ground_truth: missing", "");
    /* partial presence names what is missing and what is there */
    expect_error_owned(mini(PROB2, PARA2, PERT2, NULL, NULL),
                       "bad.json: forget_Q_A_ROUGE: missing, but forget_Q_A_Prob is there", "");
    expect_error_owned(mini(NULL, NULL, PERT2, NULL, NULL),
                       "forget_Q_A_Prob: missing, but forget_Q_A_PERT_Prob is there", "");
    /* shapes */
    expect_error_owned(mini(PROB2, PARA2, PERT2, ROUGE2, "\"forget_Q_A_PERT_Prob\": 1"),
                       "duplicate key", "");
    EXPECT_ERROR("{\"retain_Q_A_Prob\": [], \"retain_Q_A_PARA_Prob\": {}, \"retain_Q_A_PERT_Prob\""
                 ": {}, \"retain_Q_A_ROUGE\": {}}", "bad.json: retain_Q_A_Prob: expected an object");
    EXPECT_ERROR("{\"wf_Q_A_Prob\": {\"value_by_index\": {}}, \"wf_Q_A_PERT_Prob\": {}, "
                 "\"wf_Q_A_ROUGE\": {}}", "wf_Q_A_Prob.value_by_index: no items");
    EXPECT_ERROR("{\"wf_Q_A_Prob\": {\"value_by_index\": {\"0\": 1}}, \"wf_Q_A_PERT_Prob\": {}, "
                 "\"wf_Q_A_ROUGE\": {}}", "wf_Q_A_Prob.value_by_index.0: expected an object");
    EXPECT_ERROR("{\"wf_Q_A_Prob\": {\"agg_value\": 1}, \"wf_Q_A_PERT_Prob\": {}, "
                 "\"wf_Q_A_ROUGE\": {}}", "wf_Q_A_Prob.value_by_index: missing or not an object");
    /* the score entries */
    expect_error_owned(mini(PROB2, PARA2, PERT2, ROUGE2,
                            "\"forget_truth_ratio\": {\"value_by_index\": {\"0\": {\"score\": 1}}}"),
                       "forget_truth_ratio.value_by_index: no index 1, which forget_Q_A_Prob has",
                       "");
    EXPECT_ERROR("{\"forget_truth_ratio\": {\"value_by_index\": {\"0\": {\"score\": \"x\"}}}}",
                 "forget_truth_ratio.value_by_index.0.score: expected a finite number or null");
    EXPECT_ERROR("{\"forget_truth_ratio\": {\"value_by_index\": {\"0\": {}}}}",
                 "forget_truth_ratio.value_by_index.0.score: missing");
    EXPECT_ERROR("{\"mia_min_k\": {\"agg_value\": 0.5, \"forget\": {\"value_by_index\": {\"0\": "
                 "{\"score\": 1}}}}}", "mia_min_k.holdout: missing or not an object");
    EXPECT_ERROR("{\"mia_min_k\": {\"forget\": {}, \"holdout\": {}}}", "mia_min_k.agg_value: missing");
    EXPECT_ERROR("{\"mia_min_k\": {\"agg_value\": 0.5, \"forget\": {\"value_by_index\": {\"0\": "
                 "{\"score\": 1}}}, \"holdout\": {\"value_by_index\": {\"00\": {\"score\": 1}}}}}",
                 "mia_min_k.holdout.value_by_index: \"00\" is not a dataset index");
    EXPECT_ERROR("{\"mia_min_k\": 3}", "mia_min_k: expected an object");
    EXPECT_ERROR("{\"extraction_strength\": {\"value_by_index\": {\"0\": {\"score\": [1]}}}}",
                 "extraction_strength.value_by_index.0.score: expected a finite number");
    EXPECT_ERROR("{\"forget_Q_A_gibberish\": {\"value_by_index\": {\"0\": {\"score\": 0.1, "
                 "\"generation\": null}}}}",
                 "forget_Q_A_gibberish.value_by_index.0.generation: expected a string");
    /* control characters in a key never make a second line */
    EXPECT_ERROR("{\"a\\nb\": 1, \"a\\nb\": 2}", "duplicate key");
    expect_error_owned(mini("\"0\": {\"avg_loss\": 1}, \"\\n\\t\": {\"avg_loss\": 1}", PARA2, PERT2,
                            ROUGE2, NULL),
                       "\"\\n\\t\" is not a dataset index", "");
    /* the strict JSON gate: literals other than Python's NaN / Infinity, trailing commas,
     * bad UTF-8 */
    EXPECT_ERROR("{\"forget_truth_ratio\": {\"value_by_index\": {\"0\": {\"score\": nan}}}}",
                 "invalid JSON at byte");
    EXPECT_ERROR("{\"forget_truth_ratio\": {\"value_by_index\": {\"0\": {\"score\": NaNa}}}}",
                 "invalid JSON at byte");
    EXPECT_ERROR("{\"a\": 1,}", "invalid JSON");
    EXPECT_ERROR("{\"a\": \"\xff\"}", "not valid UTF-8");
    expect_error_in(0, "", 0, "bad.json", (char *)NULL);
    /* reference mode needs one of its two entries */
    const char *qa_only = "{\"forget_Q_A_Prob\": {}}";
    expect_error_in(1, qa_only, strlen(qa_only), "forget_truth_ratio and mia_min_k: both missing",
                    (char *)NULL);
}

Test(eval_log, truncated_and_oversized_files) {
    char *text = NULL;
    gsize len = 0;
    cr_assert(g_file_get_contents(FIX "ou_full_40.json", &text, &len, NULL));
    /* truncated anywhere: an error naming the file, never a crash */
    const size_t cuts[] = {0, 1, 17, len / 3, len / 2, len - 3, len - 2};
    for (size_t c = 0; c < G_N_ELEMENTS(cuts); c++)
        expect_error_in(0, text, cuts[c], "bad.json: JSON: invalid JSON at byte", (char *)NULL);
    char *dir = g_dir_make_tmp("eval_log_XXXXXX", NULL);
    char *path = g_build_filename(dir, "TOFU_EVAL.json", NULL);
    cr_assert(g_file_set_contents(path, text, (gssize)(len / 2), NULL));
    baldro_eval_log L;
    baldro_error err = {0};
    cr_assert_eq(baldro_eval_log_load(path, &L, &err), BALDRO_EINVAL);
    cr_assert(g_str_has_prefix(err.msg, path), "%s", err.msg);
    cr_assert(strstr(err.msg, "invalid JSON at byte"), "%s", err.msg);
    assert_empty(&L);
    /* over 1 GiB: refused before it is read (a sparse file) */
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(ftruncate(fileno(f), ((off_t)1 << 30) + 1), 0);
    fclose(f);
    cr_assert_eq(baldro_eval_log_load(path, &L, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "1073741825 bytes, over the 1 GiB limit"), "%s", err.msg);
    cr_assert_eq(baldro_eval_log_load_reference(path, &L, &err), BALDRO_EINVAL);
    assert_empty(&L);
    g_unlink(path);
    cr_assert_eq(baldro_eval_log_load(path, &L, &err), BALDRO_EIO);
    cr_assert(g_str_has_prefix(err.msg, path) && strstr(err.msg, "cannot read"), "%s", err.msg);
    assert_empty(&L);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
    g_free(text);
}

/* A retain model's log for forget quality: the reference parts only, QA entries optional. */
Test(eval_log, reference_parts) {
    baldro_eval_log R;
    baldro_error err = {0};
    cr_assert_eq(baldro_eval_log_load_reference(FIX "ou_retain90_40.json", &R, &err), BALDRO_OK,
                 "%s", err.msg);
    for (int k = 0; k < 4; k++) cr_assert(R.qa.s[k].n == 0 && R.qa.s[k].items == NULL);
    cr_assert(R.n_forget_tr == 40 && R.n_mia_forget == 40 && R.n_mia_holdout == 40);
    cr_assert(isfinite(R.mia_auc) && R.es == NULL && R.gibberish == NULL);
    baldro_eval_log_clear(&R);
    /* baldro's own TOFU_EVAL.json (scores, no per-item losses): a reference, but it cannot
     * be re-aggregated, and the reader says which entry is missing */
    const char *own =
        "{\"forget_Q_A_Prob\": {\"agg_value\": 0.9, \"value_by_index\": {\"0\": {\"prob\": 0.9, "
        "\"input\": \"q\", \"ground_truth\": \"a\", \"generation\": \"g\"}}}, "
        "\"forget_Q_A_ROUGE\": {\"agg_value\": 1, \"value_by_index\": {\"0\": {\"rougeL_recall\": "
        "1, \"input\": \"q\", \"ground_truth\": \"a\", \"generation\": \"g\"}}}, "
        "\"forget_truth_ratio\": {\"agg_value\": 0.5, \"value_by_index\": {\"0\": {\"score\": "
        "0.5, \"input\": \"q\", \"ground_truth\": \"a\", \"generation\": \"g\"}}}, "
        "\"model_utility\": {\"agg_value\": 0.6}}";
    cr_assert_eq(baldro_eval_log_detect(own, strlen(own)), 1);
    cr_assert_eq(baldro_eval_log_parse_reference(own, strlen(own), "own.json", &R, &err), BALDRO_OK,
                 "%s", err.msg);
    cr_assert(R.n_forget_tr == 1 && R.forget_tr[0] == 0.5 && R.mia_forget == NULL);
    baldro_eval_log_clear(&R);
    cr_assert_neq(baldro_eval_log_parse(own, strlen(own), "own.json", &R, &err), BALDRO_OK);
    cr_assert(strstr(err.msg, "own.json: forget_Q_A_PARA_Prob: missing, but forget_Q_A_Prob is "
                              "there"), "%s", err.msg);
}
