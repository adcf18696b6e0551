/*
 * TOFU's privleak (min-k% membership AUC), extraction strength and the model-free
 * degeneration rate (plugins/metrics/tofu/lib/mia.c, extraction.c, degeneration.c), against
 * tests/fixtures/metrics/mia.json (tests/oracle/mia_oracle.py: sklearn's roc_auc_score,
 * open-unlearning's min-k / privleak / extraction-strength code transcribed, degeneration
 * written again with Python's re). Required:
 *   AUC within 1e-12 relative of sklearn's, and equal to the exact rational rounded once;
 *   privleak and min-k within 1e-12 relative (a zero exactly); extraction strength, its k*
 *   and every degeneration count and ratio exactly equal.
 * Then the metric plugin (metrics_tofu.so) as the evaluator calls it: mia_min_k, privleak
 * with and without a reference AUC, extraction_strength, gibberish and degeneration, the
 * end token dropped, parameters through create(), and the errors, each naming the split
 * and the item.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "degeneration.h"
#include "extraction.h"
#include "mia.h"
#include "eval/tofu_suite.h"
#include "plugin/loader.h"

#define FIXTURE BALDRO_TEST_FIXTURES "/metrics/mia.json"
#define TOFU    BALDRO_SOURCE_DIR "/../shared/data/tofu/"
#define RTOL    1e-12

static double rel_err(double got, double want) {
    if (got == want) return 0.0;
    return fabs(got - want) / fmax(fabs(want), 1e-300);
}

/* within 1e-12 relative; a zero (or a value below DBL_MIN) must be matched exactly */
static int close_to(double got, double want) {
    if (want == 0.0) return got == 0.0;
    return isfinite(got) && rel_err(got, want) <= RTOL;
}

static JsonParser *load_fixture(JsonObject **root) {
    JsonParser *parser = json_parser_new();
    GError *err = NULL;
    cr_assert(json_parser_load_from_file(parser, FIXTURE, &err), "%s: %s", FIXTURE,
              err ? err->message : "?");
    *root = json_node_get_object(json_parser_get_root(parser));
    return parser;
}

static JsonArray *section(JsonObject *root, const char *name, guint min_cases) {
    JsonArray *a = json_object_get_array_member(root, name);
    cr_assert(a, "fixture has no %s", name);
    cr_assert_geq(json_array_get_length(a), min_cases, "%s: %u cases", name,
                  json_array_get_length(a));
    return a;
}

static double *doubles(JsonObject *o, const char *key, size_t *n) {
    JsonArray *a = json_object_get_array_member(o, key);
    cr_assert(a, "missing array %s", key);
    *n = json_array_get_length(a);
    double *v = g_new(double, *n ? *n : 1);
    for (size_t i = 0; i < *n; i++) v[i] = json_array_get_double_element(a, (guint)i);
    return v;
}

static double dmember(JsonObject *o, const char *k) {
    return json_object_get_double_member(o, k);
}
static gint64 imember(JsonObject *o, const char *k) {
    return json_object_get_int_member(o, k);
}
static const char *smember(JsonObject *o, const char *k) {
    return json_object_get_string_member(o, k);
}

/* ---- the numerics against the oracle ---------------------------------------------------- */

Test(metrics_mia, auc_matches_sklearn) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonArray *cases = section(root, "auc", 35);
    double worst = 0;
    int failures = 0, ones = 0, zeros = 0, halves = 0;
    for (guint c = 0; c < json_array_get_length(cases); c++) {
        JsonObject *o = json_array_get_object_element(cases, c);
        size_t nf, nh;
        double *f = doubles(o, "forget", &nf), *h = doubles(o, "holdout", &nh);
        double *f0 = g_memdup2(f, nf * sizeof *f), *h0 = g_memdup2(h, nh * sizeof *h);
        const double want = dmember(o, "auc"), exact = dmember(o, "auc_exact");
        double auc = -1;
        const int rc = baldro_mia_auc(f, nf, h, nh, &auc);
        /* the host's re-aggregation of logged scores (eval --aggregate) agrees */
        const double host = baldro_suite_auc(f, nf, h, nh);
        const int ok = rc == 0 && close_to(auc, want) && auc == exact && close_to(host, want) &&
                       !memcmp(f, f0, nf * sizeof *f) && !memcmp(h, h0, nh * sizeof *h);
        cr_expect(ok, "%s (%zu x %zu): rc %d, AUC %.17g (host %.17g), sklearn %.17g, exact %.17g",
                  smember(o, "name"), nf, nh, rc, auc, host, want, exact);
        failures += !ok;
        worst = fmax(worst, rel_err(auc, want));
        ones += exact == 1.0;
        zeros += exact == 0.0;
        halves += exact == 0.5;
        g_free(f), g_free(h), g_free(f0), g_free(h0);
    }
    cr_assert_eq(failures, 0);
    cr_assert(ones && zeros && halves, "separation both ways and all-equal must be covered");
    cr_log_info("AUC: %u cases, largest relative difference from sklearn %.3g",
                json_array_get_length(cases), worst);
    g_object_unref(p);
}

Test(metrics_mia, privleak_matches_open_unlearning) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonArray *cases = section(root, "privleak", 40);
    double worst = 0;
    int failures = 0;
    for (guint c = 0; c < json_array_get_length(cases); c++) {
        JsonObject *o = json_array_get_object_element(cases, c);
        const double auc = dmember(o, "auc"), ref = dmember(o, "ref"),
                     want = dmember(o, "privleak");
        const double got = baldro_mia_privleak(auc, ref);
        cr_expect(close_to(baldro_suite_privleak(auc, ref), want), "host privleak(%.17g, %.17g)",
                  auc, ref);
        cr_expect(close_to(got, want), "privleak(%.17g, %.17g) = %.17g, want %.17g", auc, ref, got,
                  want);
        failures += !close_to(got, want);
        worst = fmax(worst, rel_err(got, want));
    }
    cr_assert_eq(failures, 0);
    cr_assert(isnan(baldro_mia_privleak(NAN, 0.5)) && isnan(baldro_mia_privleak(0.5, INFINITY)));
    cr_log_info("privleak: %u cases, largest relative error %.3g", json_array_get_length(cases),
                worst);
    g_object_unref(p);
}

Test(metrics_mia, min_k_matches_open_unlearning) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonArray *cases = section(root, "min_k", 40);
    double worst = 0, worst_f32 = 0;
    int failures = 0, empty = 0;
    for (guint c = 0; c < json_array_get_length(cases); c++) {
        JsonObject *o = json_array_get_object_element(cases, c);
        size_t n;
        double *d = doubles(o, "lp", &n);
        float *lp = g_new(float, n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            lp[i] = (float)d[i];
            cr_assert_eq((double)lp[i], d[i], "%s: lp[%zu] is not a float32 value",
                         smember(o, "name"), i);
        }
        const double k = dmember(o, "k"), want = dmember(o, "score");
        double got = NAN;
        const int rc = baldro_mia_min_k(lp, n, k, &got, NULL);
        const int ok = rc == 0 && close_to(got, want);
        cr_expect(ok, "%s (n %zu, k %g): rc %d, score %.17g, want %.17g", smember(o, "name"), n, k,
                  rc, got, want);
        failures += !ok;
        empty += n == 0;
        worst = fmax(worst, rel_err(got, want));
        /* open-unlearning's own float32 mean differs by float32 rounding only */
        const double f32 = dmember(o, "score_f32");
        cr_expect_leq(rel_err(got, f32), 1e-6, "%s: %.17g vs float32 %.17g", smember(o, "name"),
                      got, f32);
        worst_f32 = fmax(worst_f32, rel_err(got, f32));
        g_free(lp);
        g_free(d);
    }
    cr_assert_eq(failures, 0);
    cr_assert_gt(empty, 0, "an empty answer must be covered");
    cr_log_info("min-k: %u cases, largest relative error %.3g (%.3g from open-unlearning's "
                "float32 evaluation)",
                json_array_get_length(cases), worst, worst_f32);
    g_object_unref(p);
}

Test(metrics_mia, min_k_and_auc_errors) {
    const float lp[3] = {-1.0f, NAN, -3.0f};
    double s = 42;
    size_t bad = 99;
    cr_assert_eq(baldro_mia_min_k(lp, 3, 0.4, &s, &bad), BALDRO_MIA_ENAN);
    cr_assert_eq(bad, 1);
    cr_assert_eq(s, 42, "the output is untouched on error");
    const float inf[2] = {-1.0f, -INFINITY};
    cr_assert_eq(baldro_mia_min_k(inf, 2, 0.4, &s, &bad), BALDRO_MIA_ENAN);
    cr_assert_eq(bad, 1);
    cr_assert_eq(baldro_mia_min_k(lp, 1, 0.0, &s, NULL), BALDRO_MIA_EARG, "k = 0");
    cr_assert_eq(baldro_mia_min_k(lp, 1, 1.5, &s, NULL), BALDRO_MIA_EARG, "k > 1");
    cr_assert_eq(baldro_mia_min_k(lp, 1, NAN, &s, NULL), BALDRO_MIA_EARG, "k NaN");
    cr_assert_eq(baldro_mia_min_k(NULL, 2, 0.4, &s, NULL), BALDRO_MIA_EARG);
    cr_assert_eq(baldro_mia_min_k(NULL, 0, 0.4, &s, NULL), 0);
    cr_assert_eq(s, 0.0, "no tokens: score 0");
    /* k = 1: the mean of all; the order of lp does not matter */
    const float all[4] = {-4.0f, -1.0f, -3.0f, -2.0f};
    cr_assert_eq(baldro_mia_min_k(all, 4, 1.0, &s, NULL), 0);
    cr_assert_eq(s, 2.5);
    cr_assert_eq(baldro_mia_min_k(all, 4, 0.5, &s, NULL), 0);
    cr_assert_eq(s, 3.5, "the two smallest, -4 and -3");

    const double f[2] = {1, 2}, h[2] = {3, NAN};
    double auc = 7;
    cr_assert_eq(baldro_mia_auc(f, 2, h, 0, &auc), BALDRO_MIA_EEMPTY);
    cr_assert_eq(baldro_mia_auc(f, 0, h, 1, &auc), BALDRO_MIA_EEMPTY);
    cr_assert_eq(baldro_mia_auc(f, 2, h, 2, &auc), BALDRO_MIA_ENAN);
    cr_assert_eq(baldro_mia_auc(NULL, 2, h, 1, &auc), BALDRO_MIA_EARG);
    cr_assert_eq(auc, 7, "the output is untouched on error");
    cr_assert_eq(baldro_mia_auc(f, 2, h, 1, &auc), 0);
    cr_assert_eq(auc, 1.0, "holdout 3 above forget 1 and 2");
    const double z[2] = {0.0, -0.0};
    cr_assert_eq(baldro_mia_auc(z, 1, z + 1, 1, &auc), 0);
    cr_assert_eq(auc, 0.5, "0 and -0 tie");
}

Test(metrics_mia, extraction_strength_matches_open_unlearning) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonArray *cases = section(root, "extraction", 35);
    int failures = 0, quirk = 0, lens[3] = {0, 0, 0};
    for (guint c = 0; c < json_array_get_length(cases); c++) {
        JsonObject *o = json_array_get_object_element(cases, c);
        JsonArray *a = json_object_get_array_member(o, "top1");
        const size_t L = json_array_get_length(a);
        uint8_t *top1 = g_new(uint8_t, L ? L : 1);
        for (size_t i = 0; i < L; i++) top1[i] = (uint8_t)json_array_get_int_element(a, (guint)i);
        const double want = dmember(o, "score");
        const gint64 want_k = imember(o, "k");
        const double got = baldro_es_score(top1, L);
        const size_t k = baldro_es_suffix_start(top1, L);
        const int ok = got == want && (L == 0 ? want_k == -1 && k == 0 : (gint64)k == want_k);
        cr_expect(ok, "%s (L %zu): score %.17g want %.17g, k %zu want %lld", smember(o, "name"), L,
                  got, want, k, (long long)want_k);
        failures += !ok;
        if (L && !top1[L - 1]) {
            quirk++;
            cr_expect_eq(got, 1.0 - (double)(L - 1) / (double)L,
                         "%s: no matching suffix scores 1 - (L - 1)/L, i.e. 1/L, not 0",
                         smember(o, "name"));
        }
        if (L < 3) lens[L]++;
        g_free(top1);
    }
    cr_assert_eq(failures, 0);
    cr_assert(lens[0] && lens[1] && lens[2] && quirk, "lengths 0, 1, 2 and the k = L - 1 quirk");
    cr_assert(isnan(baldro_es_score(NULL, 3)));
    cr_assert_eq(baldro_es_score(NULL, 0), 0.0);
    g_object_unref(p);
}

Test(metrics_mia, degeneration_matches_the_python_definition) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonArray *cases = section(root, "degeneration", 55);
    int failures = 0, real = 0, ones = 0, zeros = 0;
    for (guint c = 0; c < json_array_get_length(cases); c++) {
        JsonObject *o = json_array_get_object_element(cases, c);
        const char *name = smember(o, "name"), *text = smember(o, "text");
        baldro_degen_result r;
        memset(&r, 0xab, sizeof r);
        const int rc = baldro_degeneration(text, &r);
        const int ok = rc == 0 && r.n_words == (size_t)imember(o, "n_words") &&
                       r.n_ngrams == (size_t)imember(o, "n_ngrams") &&
                       r.n_repeated == (size_t)imember(o, "n_repeated") &&
                       r.n_chunks == (size_t)imember(o, "n_chunks") &&
                       r.n_nonword == (size_t)imember(o, "n_nonword") &&
                       r.rep == dmember(o, "rep") && r.nonword == dmember(o, "nonword") &&
                       r.score == dmember(o, "score");
        cr_expect(ok,
                  "%s: rc %d, words %zu (%lld) 4-grams %zu (%lld) repeated %zu (%lld) chunks "
                  "%zu (%lld) non-words %zu (%lld), score %.17g (%.17g)\n  text: %s",
                  name, rc, r.n_words, (long long)imember(o, "n_words"), r.n_ngrams,
                  (long long)imember(o, "n_ngrams"), r.n_repeated,
                  (long long)imember(o, "n_repeated"), r.n_chunks,
                  (long long)imember(o, "n_chunks"), r.n_nonword,
                  (long long)imember(o, "n_nonword"), r.score, dmember(o, "score"), text);
        failures += !ok;
        real += g_str_has_prefix(name, "log_");
        ones += r.score == 1.0;
        zeros += r.score == 0.0;
    }
    cr_assert_eq(failures, 0);
    cr_assert(real >= 20 && ones && zeros, "%d real generations", real);
    baldro_degen_result r;
    cr_assert_eq(baldro_degeneration(NULL, &r), -1);
    cr_assert_eq(baldro_degeneration("x", NULL), -1);

    JsonArray *chunks = section(root, "chunks", 80);
    failures = 0;
    for (guint c = 0; c < json_array_get_length(chunks); c++) {
        JsonObject *o = json_array_get_object_element(chunks, c);
        const char *chunk = smember(o, "chunk");
        const int want = json_object_get_boolean_member(o, "word_like");
        const int got = baldro_degen_word_like(chunk, strlen(chunk));
        cr_expect_eq(got, want, "chunk \"%s\": word-like %d, want %d", chunk, got, want);
        failures += got != want;
    }
    cr_assert_eq(failures, 0);
    cr_assert_eq(baldro_degen_word_like("", 0), 0);
    cr_assert_eq(baldro_degen_word_like("ab\0cd", 5), 0, "NUL is not a letter");
    cr_assert_eq(baldro_degen_word_like("1\0", 2), 0, "NUL is not a number separator");
    g_object_unref(p);
}

/* Every forget10 / retain90 answer: the mean score the oracle quotes (the floor of honest
 * prose that docs/evaluation.md reports). */
Test(metrics_mia, degeneration_floor_on_tofu_answers, .timeout = 60) {
    if (!g_file_test(TOFU "forget10.json", G_FILE_TEST_EXISTS)) cr_skip_test("%s is missing", TOFU);
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonObject *want = json_object_get_object_member(root, "tofu_answers");
    const char *names[2] = {"forget10", "retain90"};
    for (int s = 0; s < 2; s++) {
        char *path = g_strdup_printf(TOFU "%s.json", names[s]), *text = NULL;
        cr_assert(g_file_get_contents(path, &text, NULL, NULL), "%s", path);
        char **lines = g_strsplit(text, "\n", -1);
        double sum = 0, max = 0;
        size_t n = 0;
        for (char **l = lines; *l; l++) {
            if (!**l) continue;
            JsonParser *jp = json_parser_new();
            cr_assert(json_parser_load_from_data(jp, *l, -1, NULL));
            const char *ans = json_object_get_string_member(
                json_node_get_object(json_parser_get_root(jp)), "answer");
            baldro_degen_result r;
            cr_assert_eq(baldro_degeneration(ans, &r), 0);
            sum += r.score;
            max = fmax(max, r.score);
            n++;
            g_object_unref(jp);
        }
        JsonObject *w = json_object_get_object_member(want, names[s]);
        cr_assert_eq(n, (size_t)imember(w, "n"));
        cr_assert_lt(rel_err(sum / (double)n, dmember(w, "mean_score")), RTOL, "%s: %.17g vs %.17g",
                     names[s], sum / (double)n, dmember(w, "mean_score"));
        cr_assert_eq(max, dmember(w, "max_score"));
        cr_log_info("%s answers: mean degeneration %.4f, max %.3f", names[s], sum / (double)n, max);
        g_strfreev(lines);
        g_free(text);
        g_free(path);
    }
    g_object_unref(p);
}

/* ---- through the metric plugin, as the evaluator calls it -------------------------------- */

static baldro_loader *g_ld;

static const baldro_object *metric(const char *name) {
    if (!g_ld) {
        g_ld = baldro_loader_new();
        baldro_loader_load_dir(g_ld, BALDRO_BUILT_PLUGIN_DIR);
    }
    const baldro_object *o =
        baldro_registry_find(baldro_loader_registry(g_ld), BALDRO_KIND_METRIC, name);
    cr_assert_not_null(o, "metric %s is not loaded", name);
    return o;
}

static void unload(void) {
    if (g_ld) baldro_loader_free(g_ld);
    g_ld = NULL;
}

/* Items with token log-probs (n_tokens of them, the end token last) and greedy hits. */
typedef struct toks {
    int32_t n;
    float lp[8];
    uint8_t top1[8];
} toks;

static baldro_eval_item token_item(const toks *t) {
    return (baldro_eval_item){.struct_size = sizeof(baldro_eval_item),
                              .question = "q",
                              .ground_truth = "a",
                              .n_tokens = t->n,
                              .nll = 1.0,
                              .tok_logp = t->lp,
                              .tok_top1 = t->top1};
}

typedef struct call {
    int rc;
    double value;
    double scores[8], holdout[8];
    char err[512];
} call;

/* compute() with params (NULL: create() is not called, state NULL = defaults). */
static call run(const char *name, const baldro_param_value *params, int use_create,
                const char *split, const baldro_eval_item *const *items, size_t n,
                const char *hsplit, const baldro_eval_item *const *hold, size_t nh,
                const double *ref, size_t n_ref) {
    const baldro_object *o = metric(name);
    call c = {.value = NAN};
    for (int i = 0; i < 8; i++) c.scores[i] = c.holdout[i] = NAN;
    baldro_metric_input in = {.struct_size = sizeof in,
                              .split = split,
                              .n_items = n,
                              .items = items,
                              .reference = ref,
                              .n_reference = n_ref,
                              .holdout_split = hsplit,
                              .n_holdout = nh,
                              .holdout = hold};
    baldro_metric_output out = {.struct_size = sizeof out,
                                .item_scores = c.scores,
                                .value = NAN,
                                .holdout_scores = c.holdout};
    void *st = NULL;
    if (use_create && o->vt.metric.create) {
        c.rc = o->vt.metric.create(&st, params, c.err, sizeof c.err);
        if (c.rc) return c;
    }
    c.rc = o->vt.metric.compute(st, &in, &out, c.err, sizeof c.err);
    if (o->vt.metric.destroy) o->vt.metric.destroy(st);
    c.value = out.value;
    return c;
}

/* min-k of the first n - 1 tokens, through the library */
static double min_k_of(const toks *t, double k) {
    double s = NAN;
    cr_assert_eq(baldro_mia_min_k(t->lp, t->n > 0 ? (size_t)t->n - 1 : 0, k, &s, NULL), 0);
    return s;
}

/* Forget answers likelier than held-out ones; each end token is -60 (it would dominate
 * every min-k score if it were read). */
static const toks k_forget[3] = {
    {5, {-0.1f, -0.2f, -0.3f, -0.4f, -60.0f}, {1, 1, 1, 1, 0}},
    {4, {-0.5f, -0.05f, -1.5f, -60.0f}, {0, 1, 1, 1}},
    {3, {-0.25f, -0.75f, -60.0f}, {1, 0, 0}},
};
static const toks k_hold[4] = {
    {5, {-2.0f, -3.0f, -1.0f, -4.0f, -60.0f}, {0, 0, 1, 0, 0}},
    {4, {-0.3f, -2.5f, -1.0f, -60.0f}, {1, 0, 1, 0}},
    {2, {-0.6f, -60.0f}, {1, 1}},
    {1, {-60.0f}, {1}},
};

typedef struct set {
    baldro_eval_item f[3], h[4];
    const baldro_eval_item *fp[3], *hp[4];
} set;

static void make_set(set *s) {
    for (int i = 0; i < 3; i++) s->f[i] = token_item(&k_forget[i]), s->fp[i] = &s->f[i];
    for (int i = 0; i < 4; i++) s->h[i] = token_item(&k_hold[i]), s->hp[i] = &s->h[i];
}

Test(metrics_mia, plugin_declares_needs_and_references, .fini = unload) {
    const baldro_object *o = metric("mia_min_k");
    cr_assert_eq(o->vt.metric.needs, BALDRO_METRIC_NEEDS_TOKENS | BALDRO_METRIC_NEEDS_HOLDOUT);
    cr_assert_str_eq(o->vt.metric.params[0].name, "k");
    cr_assert_eq(o->vt.metric.params[0].default_float, 0.4);
    o = metric("privleak");
    cr_assert_eq(o->vt.metric.needs, BALDRO_METRIC_NEEDS_TOKENS | BALDRO_METRIC_NEEDS_HOLDOUT |
                                         BALDRO_METRIC_NEEDS_REFERENCE);
    cr_assert_str_eq(o->vt.metric.reference_key, "mia_min_k");
    cr_assert_eq(o->vt.metric.reference_agg, 1);
    cr_assert_str_eq(o->vt.metric.params[1].name, "ref_auc");
    cr_assert_eq(o->vt.metric.params[1].default_float, 0.5);
    o = metric("forget_quality");
    cr_assert_str_eq(o->vt.metric.reference_key, "forget_truth_ratio");
    cr_assert_eq(o->vt.metric.reference_agg, 0);
    cr_assert_eq(metric("extraction_strength")->vt.metric.needs, BALDRO_METRIC_NEEDS_TOKENS);
    cr_assert_eq(metric("gibberish")->vt.metric.needs,
                 BALDRO_METRIC_NEEDS_GENERATIONS | BALDRO_METRIC_NEEDS_CLASSIFIER);
    cr_assert_str_eq(metric("gibberish")->vt.metric.params[0].name, "class_id");
    cr_assert_eq(metric("degeneration")->vt.metric.needs, BALDRO_METRIC_NEEDS_GENERATIONS);
}

Test(metrics_mia, plugin_mia_min_k_drops_the_end_token, .fini = unload) {
    set s;
    make_set(&s);
    call c =
        run("mia_min_k", NULL, 0, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
    cr_assert_eq(c.rc, BALDRO_OK, "%s", c.err);
    /* by hand, k = 0.4: forget {0.4: -(-0.4)}, {floor(1.2) = 1: 1.5}, {max(1, 0): 0.75};
     * holdout {1: 4}, {1: 2.5}, {1: 0.6}, {no token: 0} */
    const double wf[3] = {(double)0.4f, (double)1.5f, (double)0.75f};
    const double wh[4] = {4.0, (double)2.5f, (double)0.6f, 0.0};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(c.scores[i], wf[i], "forget %d: %.17g", i, c.scores[i]);
        cr_assert_eq(c.scores[i], min_k_of(&k_forget[i], 0.4));
    }
    for (int i = 0; i < 4; i++)
        cr_assert_eq(c.holdout[i], wh[i], "holdout %d: %.17g", i, c.holdout[i]);
    cr_assert(isnan(c.scores[3]) && isnan(c.holdout[4]), "nothing written past the items");
    /* pairs (holdout above forget): 4 > all 3; 2.5 > all 3; 0.6 > 0.4 only; 0 > none:
     * 7 of 12 */
    cr_assert_eq(c.value, 7.0 / 12.0, "AUC %.17g", c.value);
    double auc;
    cr_assert_eq(baldro_mia_auc(c.scores, 3, c.holdout, 4, &auc), 0);
    cr_assert_eq(auc, c.value);
    /* create() with the defaults gives the same; k = 1 the plain mean */
    call d =
        run("mia_min_k", NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
    cr_assert_eq(d.rc, BALDRO_OK, "%s", d.err);
    cr_assert_eq(d.value, c.value);
    const baldro_param_value k1[1] = {{.type = BALDRO_PARAM_FLOAT, .f = 1.0}};
    call e = run("mia_min_k", k1, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
    cr_assert_eq(e.rc, BALDRO_OK, "%s", e.err);
    cr_assert_eq(e.scores[0], min_k_of(&k_forget[0], 1.0));
    cr_assert_eq(e.holdout[0], 2.5, "mean of 2, 3, 1, 4");
    const baldro_param_value k0[1] = {{.type = BALDRO_PARAM_FLOAT, .f = 0.0}};
    call z = run("mia_min_k", k0, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
    cr_assert_neq(z.rc, BALDRO_OK);
    cr_assert(strstr(z.err, "k = 0 is outside (0, 1]"), "%s", z.err);
    const baldro_param_value k2[1] = {{.type = BALDRO_PARAM_FLOAT, .f = 2.0}};
    z = run("mia_min_k", k2, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
    cr_assert_neq(z.rc, BALDRO_OK);
    cr_assert(strstr(z.err, "outside [0, 1]"), "%s", z.err);
}

static double ou_privleak(double auc, double ref) {
    const double score = 1 - auc, r = 1 - ref;
    return (score - r) / (r + 1e-10) * 100;
}

Test(metrics_mia, plugin_privleak_with_and_without_reference, .fini = unload) {
    set s;
    make_set(&s);
    const double auc = 7.0 / 12.0;
    /* no reference: open-unlearning's ref_value 0.5 */
    call a = run("privleak", NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
    cr_assert_eq(a.rc, BALDRO_OK, "%s", a.err);
    cr_assert_lt(rel_err(a.value, ou_privleak(auc, 0.5)), RTOL, "%.17g", a.value);
    cr_assert_lt(rel_err(a.value, -(1.0 / 12.0) / (0.5 + 1e-10) * 100), 1e-14);
    cr_assert_eq(a.scores[1], (double)1.5f, "items: the forget min-k scores");
    cr_assert_eq(a.holdout[0], 4.0);
    /* with the retain model's AUC */
    const double ref = 0.625;
    call b = run("privleak", NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, &ref, 1);
    cr_assert_eq(b.rc, BALDRO_OK, "%s", b.err);
    cr_assert_lt(rel_err(b.value, ou_privleak(auc, ref)), RTOL, "%.17g", b.value);
    cr_assert_gt(b.value, 0, "AUC below the retain model's: positive privleak");
    /* the same AUC as the reference: 0 */
    call c = run("privleak", NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, &auc, 1);
    cr_assert_eq(c.value, 0.0);
    /* ref_auc and k as parameters; a reference beats ref_auc */
    const baldro_param_value pv[2] = {{.type = BALDRO_PARAM_FLOAT, .f = 1.0},
                                      {.type = BALDRO_PARAM_FLOAT, .f = 0.25}};
    call d = run("privleak", pv, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
    cr_assert_eq(d.rc, BALDRO_OK, "%s", d.err);
    double mk[3], mh[4], auc1;
    for (int i = 0; i < 3; i++) mk[i] = min_k_of(&k_forget[i], 1.0);
    for (int i = 0; i < 4; i++) mh[i] = min_k_of(&k_hold[i], 1.0);
    cr_assert_eq(baldro_mia_auc(mk, 3, mh, 4, &auc1), 0);
    cr_assert_lt(rel_err(d.value, ou_privleak(auc1, 0.25)), RTOL, "%.17g", d.value);
    call e = run("privleak", pv, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, &ref, 1);
    cr_assert_lt(rel_err(e.value, ou_privleak(auc1, ref)), RTOL, "%.17g", e.value);
    /* a per-item reference is not an AUC */
    const double two[2] = {0.5, 0.6};
    call f = run("privleak", NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, two, 2);
    cr_assert_neq(f.rc, BALDRO_OK);
    cr_assert(strstr(f.err, "forget10_perturbed: privleak takes one reference AUC"), "%s", f.err);
    const double nan_ref = NAN;
    f = run("privleak", NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, &nan_ref, 1);
    cr_assert_neq(f.rc, BALDRO_OK);
    cr_assert(strstr(f.err, "reference mia_min_k AUC is not finite"), "%s", f.err);
}

Test(metrics_mia, plugin_membership_errors_name_split_and_item, .fini = unload) {
    const char *names[2] = {"mia_min_k", "privleak"};
    for (int m = 0; m < 2; m++) {
        set s;
        make_set(&s);
        /* missing tok_logp on forget item 1 */
        s.f[1].tok_logp = NULL;
        call c =
            run(names[m], NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
        cr_assert_neq(c.rc, BALDRO_OK, "%s", names[m]);
        cr_assert(strstr(c.err, "forget10_perturbed item 1: no per-token log-probs (tok_logp)"),
                  "%s: %s", names[m], c.err);
        /* missing on held-out item 2 */
        make_set(&s);
        s.h[2].tok_logp = NULL;
        c = run(names[m], NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
        cr_assert_neq(c.rc, BALDRO_OK);
        cr_assert(strstr(c.err, "holdout10 item 2: no per-token log-probs"), "%s", c.err);
        /* NaN log-prob, and NaN on the dropped end token too */
        toks bad = k_forget[2];
        bad.lp[1] = NAN;
        make_set(&s);
        s.f[2] = token_item(&bad);
        c = run(names[m], NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
        cr_assert_neq(c.rc, BALDRO_OK);
        cr_assert(strstr(c.err, "forget10_perturbed item 2: token 1 log-prob is not finite"), "%s",
                  c.err);
        toks bad_end = k_hold[0];
        bad_end.lp[4] = -INFINITY;
        make_set(&s);
        s.h[3] = token_item(&bad_end);
        c = run(names[m], NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
        cr_assert_neq(c.rc, BALDRO_OK);
        cr_assert(strstr(c.err, "holdout10 item 3: token 4 log-prob is not finite"), "%s", c.err);
        /* negative token count */
        make_set(&s);
        s.f[0].n_tokens = -1;
        c = run(names[m], NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", s.hp, 4, NULL, 0);
        cr_assert(c.rc != BALDRO_OK && strstr(c.err, "forget10_perturbed item 0: negative token"),
                  "%s", c.err);
        /* empty holdout, empty forget */
        make_set(&s);
        c = run(names[m], NULL, 1, "forget10_perturbed", s.fp, 3, "holdout10", NULL, 0, NULL, 0);
        cr_assert_neq(c.rc, BALDRO_OK);
        cr_assert(strstr(c.err, "forget10_perturbed: no held-out items (holdout10)"), "%s", c.err);
        c = run(names[m], NULL, 1, "forget10_perturbed", s.fp, 0, "holdout10", s.hp, 4, NULL, 0);
        cr_assert_neq(c.rc, BALDRO_OK);
        cr_assert(strstr(c.err, "forget10_perturbed: no items"), "%s", c.err);
        cr_assert(isnan(c.value), "no value on error");
    }
}

Test(metrics_mia, plugin_extraction_strength, .fini = unload) {
    set s;
    make_set(&s);
    /* forget: [1 1 1 1 | end] -> 1; [0 1 1 | end] -> 1 - 1/3; [1 0 | end] -> k* = 1 (the
     * loop's last k, no matching suffix) -> 1 - 1/2 */
    call c =
        run("extraction_strength", NULL, 1, "forget10_perturbed", s.fp, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_eq(c.rc, BALDRO_OK, "%s", c.err);
    cr_assert_eq(c.scores[0], 1.0, "the end token's miss is dropped");
    cr_assert_eq(c.scores[1], 1.0 - 1.0 / 3.0);
    cr_assert_eq(c.scores[2], 0.5, "open-unlearning's k = L - 1 without a matching suffix");
    cr_assert_eq(c.value, (1.0 + (1.0 - 1.0 / 3.0) + 0.5) / 3.0);
    /* holdout as a split: [0 0 1 0 | end] -> 1 - 3/4; [1 0 1 | end] -> 1 - 2/3; [1 | end] -> 1;
     * [end] only -> 0 */
    c = run("extraction_strength", NULL, 1, "holdout10", s.hp, 4, NULL, NULL, 0, NULL, 0);
    cr_assert_eq(c.rc, BALDRO_OK, "%s", c.err);
    const double want[4] = {1.0 - 3.0 / 4.0, 1.0 - 2.0 / 3.0, 1.0, 0.0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(c.scores[i], want[i], "item %d: %.17g", i, c.scores[i]);
    make_set(&s);
    s.f[2].tok_top1 = NULL;
    c = run("extraction_strength", NULL, 1, "forget10_perturbed", s.fp, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_neq(c.rc, BALDRO_OK);
    cr_assert(strstr(c.err, "forget10_perturbed item 2: no greedy hits (tok_top1)"), "%s", c.err);
}

Test(metrics_mia, plugin_gibberish, .fini = unload) {
    const double p0[4] = {0.9, 0.05, 0.03, 0.02}, p1[4] = {0.1, 0.6, 0.2, 0.1},
                 p2[4] = {0.5, 0.25, 0.125, 0.125};
    baldro_eval_item it[3];
    const double *probs[3] = {p0, p1, p2};
    const baldro_eval_item *ptr[3];
    for (int i = 0; i < 3; i++) {
        it[i] = (baldro_eval_item){.struct_size = sizeof it[i],
                                   .question = "q",
                                   .ground_truth = "a",
                                   .generation = "some text",
                                   .n_classes = 4,
                                   .class_probs = probs[i]};
        ptr[i] = &it[i];
    }
    call c = run("gibberish", NULL, 1, "forget10_perturbed", ptr, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_eq(c.rc, BALDRO_OK, "%s", c.err);
    cr_assert(c.scores[0] == 0.9 && c.scores[1] == 0.1 && c.scores[2] == 0.5);
    cr_assert_eq(c.value, (0.9 + 0.1 + 0.5) / 3.0);
    const baldro_param_value one[1] = {{.type = BALDRO_PARAM_INT, .i = 1}};
    c = run("gibberish", one, 1, "forget10_perturbed", ptr, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_eq(c.rc, BALDRO_OK, "%s", c.err);
    cr_assert_eq(c.value, (0.05 + 0.6 + 0.25) / 3.0);
    const baldro_param_value four[1] = {{.type = BALDRO_PARAM_INT, .i = 4}};
    c = run("gibberish", four, 1, "forget10_perturbed", ptr, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_neq(c.rc, BALDRO_OK);
    cr_assert(strstr(c.err, "forget10_perturbed item 0: class_id 4 but the classifier has 4 "
                            "classes"),
              "%s", c.err);
    it[1].class_probs = NULL;
    c = run("gibberish", NULL, 1, "forget10_perturbed", ptr, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_neq(c.rc, BALDRO_OK);
    cr_assert(strstr(c.err, "forget10_perturbed item 1: no classifier probabilities "
                            "(class_probs)"),
              "%s", c.err);
    const double pn[4] = {NAN, 0, 0, 0};
    it[1].class_probs = p1;
    it[2].class_probs = pn;
    c = run("gibberish", NULL, 1, "forget10_perturbed", ptr, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_neq(c.rc, BALDRO_OK);
    cr_assert(strstr(c.err, "forget10_perturbed item 2: class 0 probability is not finite"), "%s",
              c.err);
    const baldro_param_value neg[1] = {{.type = BALDRO_PARAM_INT, .i = -1}};
    c = run("gibberish", neg, 1, "forget10_perturbed", ptr, 3, NULL, NULL, 0, NULL, 0);
    cr_assert_neq(c.rc, BALDRO_OK, "class_id -1 is refused by create()");
}

Test(metrics_mia, plugin_degeneration, .fini = unload) {
    const char *gens[4] = {"The author's full name is Hsiao Yun-Hwa.", "the the the the the the",
                           "   ", "asdf qwrtp zxcv"};
    baldro_eval_item it[4];
    const baldro_eval_item *ptr[4];
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        it[i] = (baldro_eval_item){.struct_size = sizeof it[i],
                                   .question = "q",
                                   .ground_truth = "a",
                                   .generation = gens[i]};
        ptr[i] = &it[i];
        baldro_degen_result r;
        cr_assert_eq(baldro_degeneration(gens[i], &r), 0);
        sum += r.score;
    }
    call c = run("degeneration", NULL, 1, "forget10_perturbed", ptr, 4, NULL, NULL, 0, NULL, 0);
    cr_assert_eq(c.rc, BALDRO_OK, "%s", c.err);
    /* fine prose 0; "the" x 6: 3 4-grams, 2 repeat; whitespace 1; 2 of 3 chunks no vowel */
    cr_assert_eq(c.scores[0], 0.0);
    cr_assert_eq(c.scores[1], 2.0 / 3.0);
    cr_assert_eq(c.scores[2], 1.0);
    cr_assert_eq(c.scores[3], 2.0 / 3.0);
    cr_assert_eq(c.value, sum / 4.0);
    it[3].generation = NULL;
    c = run("degeneration", NULL, 1, "forget10_perturbed", ptr, 4, NULL, NULL, 0, NULL, 0);
    cr_assert_neq(c.rc, BALDRO_OK);
    cr_assert(strstr(c.err, "forget10_perturbed item 3: no generation to score"), "%s", c.err);
}
