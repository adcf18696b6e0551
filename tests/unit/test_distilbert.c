/*
 * The DistilBERT classifier (plugins/models/distilbert) against transformers: a tiny random
 * DistilBertForSequenceClassification with a WordPiece vocabulary trained on TOFU, written by
 * tests/oracle/distilbert_oracle.py into tests/fixtures/classifier/:
 *   - normalized, pre-tokenized words equal to tokenizers' for every character class
 *     (wordpiece-normalizer.json), under three lowercase / strip_accents settings;
 *   - token ids equal to HF's, exactly, for the 65 cases (max_length 32: TOFU answers, real
 *     generations, gibberish, accents, CJK, emoji, controls, long words, truncation, ...),
 *     300 random strings (max_length 128), through tokenizer.json and through the vocab.txt
 *     fallback, with tokenizer_config.json flags changed, and with added tokens carrying
 *     single_word / lstrip / rstrip / normalized;
 *   - logits within 1e-4 of HF's float64 forward over the padded batch, one text per call
 *     and all in one call;
 *   - the host path (baldro_classifier_open on a registry that loaded the built plugin):
 *     class names, probabilities that sum to 1 and match softmax of the reference logits;
 *   - bad checkpoints: one-line errors naming the file and the field, never a crash.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "distilbert.h"
#include "engine/classifier.h"
#include "io/safetensors.h"
#include "plugin/loader.h"
#include "wordpiece.h"

#define FIX_DIR    BALDRO_TEST_FIXTURES "/classifier/distilbert-tiny"
#define EXPECTED   BALDRO_TEST_FIXTURES "/classifier/distilbert-tiny-expected.json"
#define NORMALIZER BALDRO_TEST_FIXTURES "/classifier/wordpiece-normalizer.json"
#define PLUGIN_SO  BALDRO_BUILT_PLUGIN_DIR "/models_distilbert.so"
#define LOGIT_TOL  1e-4

/* ---- the expected file ------------------------------------------------------------- */

typedef struct tcase {
    const char *name, *text;
    int32_t *ids;
    int32_t n_ids;
    double logits[8];
} tcase;

static JsonParser *g_parser;
static JsonObject *g_root;

static JsonObject *expected(void) {
    if (!g_root) {
        g_parser = json_parser_new();
        GError *ge = NULL;
        cr_assert(json_parser_load_from_file(g_parser, EXPECTED, &ge), "%s: %s", EXPECTED,
                  ge ? ge->message : "?");
        g_root = json_node_get_object(json_parser_get_root(g_parser));
    }
    return g_root;
}

static int32_t *int_array(JsonArray *a, int32_t *n) {
    *n = (int32_t)json_array_get_length(a);
    int32_t *v = g_new(int32_t, (size_t)*n + 1);
    for (int32_t i = 0; i < *n; i++) v[i] = (int32_t)json_array_get_int_element(a, (guint)i);
    return v;
}

/* The cases of member `key` ("cases", "random_cases") of object o. */
static tcase *load_cases(JsonObject *o, const char *key, size_t *n) {
    JsonArray *a = json_object_get_array_member(o, key);
    *n = json_array_get_length(a);
    cr_assert_gt(*n, 0, "no %s", key);
    tcase *c = g_new0(tcase, *n);
    for (size_t i = 0; i < *n; i++) {
        JsonObject *e = json_array_get_object_element(a, (guint)i);
        c[i].name =
            json_object_has_member(e, "name") ? json_object_get_string_member(e, "name") : "random";
        c[i].text = json_object_get_string_member(e, "text");
        c[i].ids = int_array(json_object_get_array_member(e, "input_ids"), &c[i].n_ids);
        if (json_object_has_member(e, "logits")) {
            JsonArray *l = json_object_get_array_member(e, "logits");
            cr_assert_eq(json_array_get_length(l), 4);
            for (guint k = 0; k < 4; k++) c[i].logits[k] = json_array_get_double_element(l, k);
        }
    }
    return c;
}

static void free_cases(tcase *c, size_t n) {
    for (size_t i = 0; i < n; i++) g_free(c[i].ids);
    g_free(c);
}

/* ---- temporary checkpoint copies --------------------------------------------------- */

static void rm_rf(const char *path) {
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *p = g_build_filename(path, name, NULL);
            g_remove(p);
            g_free(p);
        }
        g_dir_close(d);
    }
    g_rmdir(path);
}

static void put(const char *dir, const char *name, const char *text, gssize len) {
    char *p = g_build_filename(dir, name, NULL);
    cr_assert(g_file_set_contents(p, text, len, NULL), "cannot write %s", p);
    g_free(p);
}

static void copy_in(const char *dir, const char *name) {
    char *src = g_build_filename(FIX_DIR, name, NULL), *text = NULL;
    gsize len = 0;
    cr_assert(g_file_get_contents(src, &text, &len, NULL), "cannot read %s", src);
    put(dir, name, text, (gssize)len);
    g_free(text);
    g_free(src);
}

/* A fresh directory with the named fixture files (NULL-terminated list). */
static char *tmp_checkpoint(const char *const *files) {
    char *dir = g_dir_make_tmp("baldro-dbert-XXXXXX", NULL);
    cr_assert(dir);
    for (; files && *files; files++) copy_in(dir, *files);
    return dir;
}

/* text with its first `from` replaced by `to` (g_free()). */
static char *replace_first(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    cr_assert(at, "'%s' not found", from);
    GString *s = g_string_new_len(text, at - text);
    g_string_append(s, to);
    g_string_append(s, at + strlen(from));
    return g_string_free(s, FALSE);
}

static const char *const k_all[] = {"config.json", "model.safetensors", "tokenizer.json",
                                    "tokenizer_config.json", NULL};

/* ---- the weights reader the tests hand to the library ------------------------------ */

static int t_shape(void *ctx, const char *name, int32_t *rank, int64_t dims[8]) {
    const baldro_st_tensor *t = baldro_st_set_find(ctx, name);
    if (!t) return BALDRO_ENOTFOUND;
    *rank = t->ndim;
    for (int i = 0; i < 8; i++) dims[i] = i < t->ndim ? t->shape[i] : 0;
    return BALDRO_OK;
}
static int t_read(void *ctx, const char *name, float *dst, size_t n, char *err, size_t cap) {
    baldro_error e = {0};
    int rc = baldro_st_set_read_f32(ctx, name, dst, n, &e);
    if (rc) g_strlcpy(err, e.msg, cap);
    return rc;
}

static distilbert_classifier *open_lib(const char *dir) {
    baldro_st_set *set = NULL;
    baldro_error e = {0};
    cr_assert_eq(baldro_st_open_index(dir, &set, &e), BALDRO_OK, "%s", e.msg);
    baldro_weights w = {sizeof w, set, t_shape, t_read};
    distilbert_classifier *c = NULL;
    char err[1024] = "";
    int rc = distilbert_classifier_open(dir, &w, &c, err, sizeof err);
    baldro_st_set_close(set);
    cr_assert_eq(rc, BALDRO_OK, "%s", err);
    return c;
}

/* ---- tokenizer --------------------------------------------------------------------- */

static size_t check_ids(const wordpiece *wp, const tcase *c, size_t n, int32_t max_length,
                        const char *what) {
    int32_t *ids = g_new(int32_t, (size_t)max_length);
    wordpiece_work *work = wordpiece_work_new();
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t got = -1;
        char err[512] = "";
        cr_assert_eq(wordpiece_encode(wp, work, c[i].text, strlen(c[i].text), max_length, ids, &got,
                                      err, sizeof err),
                     BALDRO_OK, "%s", err);
        int same = got == c[i].n_ids;
        for (int32_t k = 0; same && k < got; k++) same = ids[k] == c[i].ids[k];
        if (!same) {
            char *esc = g_strescape(c[i].text, NULL);
            GString *s = g_string_new(NULL);
            for (int32_t k = 0; k < got; k++) g_string_append_printf(s, " %d", ids[k]);
            GString *w = g_string_new(NULL);
            for (int32_t k = 0; k < c[i].n_ids; k++) g_string_append_printf(w, " %d", c[i].ids[k]);
            cr_log_error("%s: %s '%.120s': got [%s ] want [%s ]", what, c[i].name, esc, s->str,
                         w->str);
            g_string_free(s, TRUE);
            g_string_free(w, TRUE);
            g_free(esc);
            bad++;
        }
    }
    wordpiece_work_free(work);
    g_free(ids);
    return bad;
}

static void check_all_ids(const wordpiece *wp, const char *what) {
    JsonObject *root = expected();
    size_t n, nr;
    tcase *c = load_cases(root, "cases", &n);
    tcase *r = load_cases(root, "random_cases", &nr);
    int32_t ml = (int32_t)json_object_get_int_member(root, "max_length");
    int32_t rml = (int32_t)json_object_get_int_member(root, "random_max_length");
    size_t bad = check_ids(wp, c, n, ml, what) + check_ids(wp, r, nr, rml, what);
    cr_expect_eq(bad, 0, "%s: %zu of %zu texts tokenized differently from HF", what, bad, n + nr);
    free_cases(c, n);
    free_cases(r, nr);
}

Test(distilbert_tokenizer, ids_equal_hf_tokenizer_json) {
    wordpiece *wp = NULL;
    char err[512] = "";
    cr_assert_eq(wordpiece_load_dir(FIX_DIR, &wp, err, sizeof err), BALDRO_OK, "%s", err);
    cr_assert_eq(wordpiece_n_special(wp), 2);
    cr_assert_eq(wordpiece_max_id(wp), 1499);
    check_all_ids(wp, "tokenizer.json");
    wordpiece_free(wp);

    /* The same file without the tokenizer_config.json override (as tokenizers reads it). */
    char *text = NULL;
    gsize len = 0;
    cr_assert(g_file_get_contents(FIX_DIR "/tokenizer.json", &text, &len, NULL));
    cr_assert_eq(wordpiece_load_json(text, len, "tokenizer.json", &wp, err, sizeof err), BALDRO_OK,
                 "%s", err);
    check_all_ids(wp, "tokenizer.json (raw)");
    wordpiece_free(wp);
    g_free(text);
}

Test(distilbert_tokenizer, ids_equal_hf_vocab_txt_fallback) {
    const char *files[] = {"vocab.txt", "tokenizer_config.json", NULL};
    char *dir = tmp_checkpoint(files);
    wordpiece *wp = NULL;
    char err[512] = "";
    cr_assert_eq(wordpiece_load_dir(dir, &wp, err, sizeof err), BALDRO_OK, "%s", err);
    check_all_ids(wp, "vocab.txt");
    wordpiece_free(wp);
    /* \r\n line ends read the same. */
    char *text = NULL;
    gsize len = 0;
    cr_assert(g_file_get_contents(FIX_DIR "/vocab.txt", &text, &len, NULL));
    char **lines = g_strsplit(text, "\n", -1);
    char *crlf = g_strjoinv("\r\n", lines);
    put(dir, "vocab.txt", crlf, -1);
    cr_assert_eq(wordpiece_load_dir(dir, &wp, err, sizeof err), BALDRO_OK, "%s", err);
    check_all_ids(wp, "vocab.txt (CRLF)");
    wordpiece_free(wp);
    g_strfreev(lines);
    g_free(crlf);
    g_free(text);
    rm_rf(dir);
    g_free(dir);
}

Test(distilbert_tokenizer, tokenizer_config_flags_as_transformers) {
    JsonArray *vs = json_object_get_array_member(expected(), "config_variants");
    cr_assert_geq(json_array_get_length(vs), 4);
    for (guint v = 0; v < json_array_get_length(vs); v++) {
        JsonObject *o = json_array_get_object_element(vs, v);
        const char *cfg = json_object_get_string_member(o, "tokenizer_config_json");
        size_t n;
        tcase *c = load_cases(o, "cases", &n);
        for (int fallback = 0; fallback < 2; fallback++) {
            const char *files[] = {fallback ? "vocab.txt" : "tokenizer.json", NULL};
            char *dir = tmp_checkpoint(files);
            put(dir, "tokenizer_config.json", cfg, -1);
            wordpiece *wp = NULL;
            char err[512] = "";
            cr_assert_eq(wordpiece_load_dir(dir, &wp, err, sizeof err), BALDRO_OK, "%s", err);
            size_t bad = check_ids(wp, c, n, 32, cfg);
            cr_expect_eq(bad, 0, "variant %u (%s): %zu texts differ", v,
                         fallback ? "vocab.txt" : "tokenizer.json", bad);
            wordpiece_free(wp);
            rm_rf(dir);
            g_free(dir);
        }
        free_cases(c, n);
    }
}

/* tokenizers' BertNormalizer + BertPreTokenizer words (wordpiece-normalizer.json, written by
 * distilbert_oracle.py --unicode-tables): every character of every class the tokenizer
 * tells apart, each class boundary, the lowercase mappings, random strings; three settings. */
Test(distilbert_tokenizer, normalizer_equals_tokenizers) {
    JsonParser *jp = json_parser_new();
    GError *ge = NULL;
    cr_assert(json_parser_load_from_file(jp, NORMALIZER, &ge), "%s", ge ? ge->message : "?");
    JsonObject *root = json_node_get_object(json_parser_get_root(jp));
    JsonObject *cfgs = json_object_get_object_member(root, "configs");
    JsonArray *cases = json_object_get_array_member(root, "cases");
    cr_assert_gt(json_array_get_length(cases), 400);
    const char *names[] = {"ls", "l", "n"};
    size_t checked = 0;
    for (int k = 0; k < 3; k++) {
        JsonObject *c = json_object_get_object_member(cfgs, names[k]);
        JsonNode *sa = json_object_get_member(c, "strip_accents");
        char *tj = g_strdup_printf(
            "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}, \"unk_token\": "
            "\"[UNK]\"}, \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, "
            "\"handle_chinese_chars\": true, \"strip_accents\": %s, \"lowercase\": %s}, "
            "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}",
            JSON_NODE_HOLDS_NULL(sa)    ? "null"
            : json_node_get_boolean(sa) ? "true"
                                        : "false",
            json_object_get_boolean_member(c, "lowercase") ? "true" : "false");
        wordpiece *wp = NULL;
        char err[256] = "";
        cr_assert_eq(wordpiece_load_json(tj, strlen(tj), "t.json", &wp, err, sizeof err), BALDRO_OK,
                     "%s", err);
        size_t bad = 0;
        for (guint i = 0; i < json_array_get_length(cases); i++) {
            JsonObject *e = json_array_get_object_element(cases, i);
            const char *text = json_object_get_string_member(e, "text");
            const char *want = json_object_get_string_member(e, names[k]);
            char **w = wordpiece_words(wp, text, strlen(text));
            char *got = g_strjoinv(" ", w);
            if (strcmp(got, want) != 0 && bad++ < 5) {
                char *a = g_strescape(got, NULL), *b = g_strescape(want, NULL);
                cr_log_error("%s case %u: got '%.300s' want '%.300s'", names[k], i, a, b);
                g_free(a);
                g_free(b);
            }
            checked++;
            g_free(got);
            g_strfreev(w);
        }
        cr_expect_eq(bad, 0, "setting %s: %zu texts normalize differently from tokenizers",
                     names[k], bad);
        wordpiece_free(wp);
        g_free(tj);
    }
    cr_assert_eq(checked, 3 * json_array_get_length(cases));
    g_object_unref(jp);
}

/* Added tokens with single_word, lstrip, rstrip and normalized, against tokenizers; with
 * and without a pre-tokenizer (only without one do lstrip and rstrip change the ids). */
Test(distilbert_tokenizer, added_token_flags_as_tokenizers) {
    const char *variants[] = {"added_tokens_variant", "added_tokens_variant_no_pretokenizer"};
    for (int k = 0; k < 2; k++) {
        JsonObject *v = json_object_get_object_member(expected(), variants[k]);
        const char *tj = json_object_get_string_member(v, "tokenizer_json");
        wordpiece *wp = NULL;
        char err[512] = "";
        cr_assert_eq(wordpiece_load_json(tj, strlen(tj), "variant.json", &wp, err, sizeof err),
                     BALDRO_OK, "%s", err);
        cr_assert_eq(wordpiece_max_id(wp), 1507);
        size_t n;
        tcase *c = load_cases(v, "cases", &n);
        cr_assert_geq(n, 20);
        size_t bad = check_ids(wp, c, n, 64, variants[k]);
        cr_expect_eq(bad, 0, "%s: %zu of %zu texts differ from tokenizers", variants[k], bad, n);
        free_cases(c, n);
        wordpiece_free(wp);
    }
}

Test(distilbert_tokenizer, truncation_and_limits) {
    wordpiece *wp = NULL;
    char err[512] = "";
    cr_assert_eq(wordpiece_load_dir(FIX_DIR, &wp, err, sizeof err), BALDRO_OK, "%s", err);
    int32_t cls = wordpiece_token_id(wp, "[CLS]"), sep = wordpiece_token_id(wp, "[SEP]");
    int32_t ids[8], n = -1;
    const char *t = "the author the author the author";
    cr_assert_eq(wordpiece_encode(wp, NULL, t, strlen(t), 2, ids, &n, err, sizeof err), BALDRO_OK);
    cr_assert(n == 2 && ids[0] == cls && ids[1] == sep);
    cr_assert_eq(wordpiece_encode(wp, NULL, t, strlen(t), 4, ids, &n, err, sizeof err), BALDRO_OK);
    cr_assert(n == 4 && ids[1] == wordpiece_token_id(wp, "the") &&
              ids[2] == wordpiece_token_id(wp, "author") && ids[3] == sep);
    cr_assert_eq(wordpiece_encode(wp, NULL, t, strlen(t), 1, ids, &n, err, sizeof err),
                 BALDRO_EINVAL);
    cr_assert(strstr(err, "max_length") && !strchr(err, '\n'), "%s", err);
    /* Invalid UTF-8 reads as U+FFFD, which clean_text drops. */
    const char bad[] = "the\xff\xfe author\xe2\x82";
    cr_assert_eq(wordpiece_encode(wp, NULL, bad, sizeof bad - 1, 8, ids, &n, err, sizeof err),
                 BALDRO_OK);
    cr_assert(n == 4 && ids[1] == wordpiece_token_id(wp, "the") &&
                  ids[2] == wordpiece_token_id(wp, "author"),
              "n=%d", n);
    char **w = wordpiece_words(wp,
                               "Ca\xcc\x81"
                               "fe\xcc\x81, \xe6\x97\xa5"
                               "x",
                               14);
    cr_assert(w[0] && !strcmp(w[0], "cafe") && w[1] && !strcmp(w[1], ",") && w[2] &&
              !strcmp(w[2], "\xe6\x97\xa5") && w[3] && !strcmp(w[3], "x") && !w[4]);
    g_strfreev(w);
    wordpiece_free(wp);
}

/* ---- logits ------------------------------------------------------------------------ */

static double compare_logits(const float *got, const tcase *c, size_t n, const char *what) {
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) {
            double e = fabs((double)got[i * 4 + (size_t)k] - c[i].logits[k]);
            cr_expect_leq(e, LOGIT_TOL, "%s: %s logit %d: %.8f vs HF %.8f", what, c[i].name, k,
                          (double)got[i * 4 + (size_t)k], c[i].logits[k]);
            if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
        }
    return worst;
}

Test(distilbert_model, logits_match_hf_float64) {
    distilbert_classifier *c = open_lib(FIX_DIR);
    const distilbert_config *cfg = distilbert_get_config(c->model);
    cr_assert(cfg->n_classes == 4 && cfg->dim == 64 && cfg->n_layers == 2 && cfg->gelu);
    cr_assert_str_eq(cfg->labels[1], "mild gibberish");
    size_t n;
    tcase *cs = load_cases(expected(), "cases", &n);
    const char **texts = g_new(const char *, n);
    for (size_t i = 0; i < n; i++) texts[i] = cs[i].text;
    float *one = g_new(float, n * 4), *all = g_new(float, n * 4);
    char err[1024] = "";
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(distilbert_classify(c, texts + i, 1, 32, one + i * 4, err, sizeof err),
                     BALDRO_OK, "%s", err);
    cr_assert_eq(distilbert_classify(c, texts, n, 32, all, err, sizeof err), BALDRO_OK, "%s", err);
    double w1 = compare_logits(one, cs, n, "one text per call");
    double w2 = compare_logits(all, cs, n, "one batch");
    fprintf(stderr,
            "distilbert: max |logit - HF float64| = %.3g (one at a time), %.3g (batch "
            "of %zu)\n",
            w1, w2, n);
    /* Tight enough to catch a dropped bias or a wrong eps, loose enough for fp32. */
    cr_assert_lt(w1, LOGIT_TOL);
    cr_assert_lt(w2, LOGIT_TOL);
    /* A longer max_length than the positions allows fails only when a text needs it. */
    const char *long_text = texts[0];
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cs[i].name, "long_text")) long_text = texts[i];
    cr_assert_eq(distilbert_classify(c, &long_text, 1, 128, one, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "max_position_embeddings") && !strchr(err, '\n'), "%s", err);
    const char *shorty = "hello";
    cr_assert_eq(distilbert_classify(c, &shorty, 1, 128, one, err, sizeof err), BALDRO_OK, "%s",
                 err);
    g_free(one);
    g_free(all);
    g_free(texts);
    free_cases(cs, n);
    distilbert_classifier_close(c);
}

/* ---- the host path ----------------------------------------------------------------- */

static baldro_loader *load_plugin(void) {
    baldro_loader *ld = baldro_loader_new();
    baldro_error err = {0};
    cr_assert_eq(baldro_loader_load_file(ld, PLUGIN_SO, &err), BALDRO_OK, "%s", err.msg);
    return ld;
}

Test(distilbert_host, probs_through_the_plugin) {
    baldro_loader *ld = load_plugin();
    baldro_classifier *c = NULL;
    baldro_error err = {0};
    cr_assert_eq(baldro_classifier_open(baldro_loader_registry(ld), FIX_DIR, &c, &err), BALDRO_OK,
                 "%s", err.msg);
    cr_assert_str_eq(baldro_classifier_arch(c), "distilbert");
    cr_assert_eq(baldro_classifier_n_classes(c), 4);
    const char *names[] = {"clean", "mild gibberish", "noise", "word salad"};
    for (int k = 0; k < 4; k++) cr_assert_str_eq(baldro_classifier_class_name(c, k), names[k]);
    cr_assert_null(baldro_classifier_class_name(c, 4));
    size_t n;
    tcase *cs = load_cases(expected(), "cases", &n);
    const char **texts = g_new(const char *, n);
    for (size_t i = 0; i < n; i++) texts[i] = cs[i].text;
    double *p = g_new(double, n * 4);
    cr_assert_eq(baldro_classifier_probs(c, texts, n, 32, 7, p, &err), BALDRO_OK, "%s", err.msg);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0, mx = -INFINITY, z = 0;
        for (int k = 0; k < 4; k++) s += p[i * 4 + (size_t)k];
        cr_assert(fabs(s - 1.0) < 1e-12, "%s: probabilities sum to %.17g", cs[i].name, s);
        for (int k = 0; k < 4; k++) mx = fmax(mx, cs[i].logits[k]);
        for (int k = 0; k < 4; k++) z += exp(cs[i].logits[k] - mx);
        for (int k = 0; k < 4; k++) {
            double want = exp(cs[i].logits[k] - mx) / z, e = fabs(p[i * 4 + (size_t)k] - want);
            worst = fmax(worst, e);
            cr_expect_leq(e, 5e-5, "%s class %d: %.8f vs %.8f", cs[i].name, k, p[i * 4 + (size_t)k],
                          want);
        }
    }
    fprintf(stderr, "distilbert: max |prob - HF float64 prob| = %.3g\n", worst);
    cr_assert_eq(baldro_classifier_probs(c, texts, 1, 0, 1, p, &err), BALDRO_EINVAL);
    g_free(p);
    g_free(texts);
    free_cases(cs, n);
    baldro_classifier_close(c);
    baldro_loader_free(ld);
}

/* Opens dir through the host and expects failure whose one-line message has every needle. */
static void expect_open_error(const char *dir, const char *const *needles) {
    baldro_loader *ld = load_plugin();
    baldro_classifier *c = NULL;
    baldro_error err = {0};
    int rc = baldro_classifier_open(baldro_loader_registry(ld), dir, &c, &err);
    cr_assert_neq(rc, BALDRO_OK, "opened a bad checkpoint in %s (expected '%s')", dir,
                  needles[1] ? needles[1] : needles[0]);
    cr_assert_null(c);
    cr_assert_eq(err.code, rc);
    cr_assert(!strchr(err.msg, '\n'), "not one line: %s", err.msg);
    for (; *needles; needles++)
        cr_assert(strstr(err.msg, *needles), "'%s' not in: %s", *needles, err.msg);
    baldro_loader_free(ld);
}

Test(distilbert_host, missing_config_json) {
    const char *files[] = {"model.safetensors", "tokenizer.json", NULL};
    char *dir = tmp_checkpoint(files);
    expect_open_error(dir, (const char *[]){"config.json", "cannot read", NULL});
    rm_rf(dir);
    g_free(dir);
}

Test(distilbert_host, unknown_model_type) {
    char *dir = tmp_checkpoint(k_all);
    put(dir, "config.json", "{\"model_type\": \"bert\", \"dim\": 64}", -1);
    expect_open_error(dir, (const char *[]){"config.json", "model_type", "'bert'",
                                            "loaded classifiers: distilbert", NULL});
    put(dir, "config.json", "{\"dim\": 64}", -1);
    expect_open_error(dir, (const char *[]){"config.json", "model_type", "missing", NULL});
    rm_rf(dir);
    g_free(dir);
}

/* model.safetensors rewritten with one tensor's shape changed (same element count), or
 * left out. */
static void write_weights(const char *dir, const char *target, int64_t d0, int64_t d1) {
    baldro_st_file *f = NULL;
    baldro_error e = {0};
    cr_assert_eq(baldro_st_open(FIX_DIR "/model.safetensors", &f, &e), BALDRO_OK, "%s", e.msg);
    baldro_st_writer *w = baldro_st_writer_new();
    for (size_t i = 0; i < baldro_st_count(f); i++) {
        const baldro_st_tensor *t = baldro_st_at(f, i);
        int64_t shape[8];
        memcpy(shape, t->shape, sizeof shape);
        if (!strcmp(t->name, target)) {
            if (d0 < 0) continue;
            shape[0] = d0;
            shape[1] = d1;
        }
        cr_assert_eq(baldro_st_writer_add(w, t->name, t->dtype, t->ndim, shape, t->data, &e),
                     BALDRO_OK, "%s", e.msg);
    }
    char *p = g_build_filename(dir, "model.safetensors", NULL);
    cr_assert_eq(baldro_st_writer_write(w, p, &e), BALDRO_OK, "%s", e.msg);
    g_free(p);
    baldro_st_writer_free(w);
    baldro_st_close(f);
}

Test(distilbert_host, tensor_shape_and_missing_tensor) {
    char *dir = tmp_checkpoint(k_all);
    write_weights(dir, "distilbert.transformer.layer.1.ffn.lin1.weight", 64, 128);
    expect_open_error(dir, (const char *[]){"distilbert.transformer.layer.1.ffn.lin1.weight",
                                            "[64, 128]", "config.json implies [128, 64]", NULL});
    write_weights(dir, "classifier.bias", -1, 0);
    expect_open_error(dir, (const char *[]){"'classifier.bias'", "missing", NULL});
    /* A config.json that disagrees with the weights names the tensor too. */
    write_weights(dir, "none", 0, 0);
    char *cfg = NULL;
    cr_assert(g_file_get_contents(FIX_DIR "/config.json", &cfg, NULL, NULL));
    char *bad = replace_first(cfg, "\"hidden_dim\": 128", "\"hidden_dim\": 96");
    put(dir, "config.json", bad, -1);
    expect_open_error(dir, (const char *[]){"distilbert.transformer.layer.0.ffn.lin1.weight",
                                            "config.json implies [96, 64]", NULL});
    g_free(bad);
    g_free(cfg);
    rm_rf(dir);
    g_free(dir);
}

Test(distilbert_host, missing_tokenizer) {
    const char *files[] = {"config.json", "model.safetensors", NULL};
    char *dir = tmp_checkpoint(files);
    expect_open_error(dir, (const char *[]){"tokenizer.json", "vocab.txt", NULL});
    rm_rf(dir);
    g_free(dir);
}

/* The fixture's tokenizer.json with its first `from` replaced by `to` must fail to open. */
static void bad_tokenizer(const char *from, const char *to, const char *const *needles) {
    char *dir = tmp_checkpoint(k_all);
    char *tj = NULL;
    cr_assert(g_file_get_contents(FIX_DIR "/tokenizer.json", &tj, NULL, NULL));
    char *s = replace_first(tj, from, to);
    put(dir, "tokenizer.json", s, -1);
    expect_open_error(dir, needles);
    g_free(s);
    g_free(tj);
    rm_rf(dir);
    g_free(dir);
}

Test(distilbert_host, malformed_tokenizer_json) {
    bad_tokenizer("{", "{ /* comment */ ", (const char *[]){"tokenizer.json", "not JSON", NULL});
    bad_tokenizer("\"version\"", "'version'", (const char *[]){"tokenizer.json", "not JSON", NULL});
    bad_tokenizer("\"vocab\": {", "\"vocab\": 3, \"x\": {",
                  (const char *[]){"tokenizer.json", "model.vocab", "expected an object", NULL});
    bad_tokenizer("\"[PAD]\": 0,", "\"[PAD]\": -1,",
                  (const char *[]){"tokenizer.json", "model.vocab[\"[PAD]\"]", "outside", NULL});
    bad_tokenizer(
        "\"unk_token\": \"[UNK]\"", "\"unk_token\": \"[NOPE]\"",
        (const char *[]){"tokenizer.json", "model.unk_token", "not in model.vocab", NULL});
    bad_tokenizer("\"unk_token\": \"[UNK]\"", "\"unk_token\": 1",
                  (const char *[]){"tokenizer.json", "model.unk_token", "expected a string", NULL});
    bad_tokenizer("\"WordPiece\",\n    \"unk_token\"", "\"BPE\",\n    \"unk_token\"",
                  (const char *[]){"tokenizer.json", "model.type", "'BPE'", NULL});
    bad_tokenizer("\"BertNormalizer\"", "\"Lowercase\"",
                  (const char *[]){"tokenizer.json", "normalizer.type", NULL});
    bad_tokenizer("\"BertPreTokenizer\"", "\"Metaspace\"",
                  (const char *[]){"tokenizer.json", "pre_tokenizer.type", NULL});
    bad_tokenizer(
        "\"id\": 0,", "\"id\": \"zero\",",
        (const char *[]){"tokenizer.json", "added_tokens[0].id", "expected an integer", NULL});
    bad_tokenizer("\"lowercase\": true", "\"lowercase\": \"yes\"",
                  (const char *[]){"tokenizer.json", "normalizer.lowercase", NULL});
    bad_tokenizer("\"ids\": [", "\"ids\": [-5, ",
                  (const char *[]){"tokenizer.json", "post_processor.special_tokens", NULL});
    bad_tokenizer("\"id\": \"A\"", "\"id\": \"B\"",
                  (const char *[]){"tokenizer.json", "post_processor.single[1]", NULL});
    char *deep = g_strnfill(100, '[');
    bad_tokenizer("\"version\"", deep, (const char *[]){"tokenizer.json", "nested", NULL});
    g_free(deep);
}

Test(distilbert_host, malformed_config_json) {
    struct {
        const char *from, *to, *field;
    } cases[] = {
        {"\"dim\": 64,", "", "dim"},
        {"\"dim\": 64,", "\"dim\": 64.5,", "dim"},
        {"\"n_heads\": 4,", "\"n_heads\": 5,", "n_heads"},
        {"\"sinusoidal_pos_embds\": false", "\"sinusoidal_pos_embds\": true",
         "sinusoidal_pos_embds"},
        {"\"activation\": \"gelu\"", "\"activation\": \"swish\"", "activation"},
        {"\"0\": \"clean\"", "\"zero\": \"clean\"", "id2label"},
        {"\"0\": \"clean\"", "\"0\": 7", "id2label[\"0\"]"},
        {"\"dim\": 64,", "\"dim\": 64, \"hidden_size\": 32,", "hidden_size"},
        {"\"vocab_size\": 1500", "\"vocab_size\": 0", "vocab_size"},
    };
    char *cfg = NULL;
    cr_assert(g_file_get_contents(FIX_DIR "/config.json", &cfg, NULL, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *dir = tmp_checkpoint(k_all);
        char *s = replace_first(cfg, cases[i].from, cases[i].to);
        put(dir, "config.json", s, -1);
        expect_open_error(dir, (const char *[]){"config.json", cases[i].field, NULL});
        g_free(s);
        rm_rf(dir);
        g_free(dir);
    }
    g_free(cfg);
}

Test(distilbert_host, bad_vocab_txt_and_config) {
    const char *files[] = {"config.json", "model.safetensors", NULL};
    char *dir = tmp_checkpoint(files);
    put(dir, "vocab.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n", -1);
    expect_open_error(dir, (const char *[]){"unk_token", "'[UNK]'", "vocab.txt", NULL});
    copy_in(dir, "vocab.txt");
    put(dir, "tokenizer_config.json", "{\"do_lower_case\": \"no\"}", -1);
    expect_open_error(dir, (const char *[]){"tokenizer_config.json", "do_lower_case", NULL});
    put(dir, "tokenizer_config.json", "{\"cls_token\": {\"content\": 5}}", -1);
    expect_open_error(dir, (const char *[]){"tokenizer_config.json", "cls_token.content", NULL});
    put(dir, "vocab.txt", "\xff\xfe[UNK]\n", -1);
    expect_open_error(dir, (const char *[]){"vocab.txt", "UTF-8", NULL});
    rm_rf(dir);
    g_free(dir);
}

/* ---- the plugin's ABI check -------------------------------------------------------- */

static char g_init_error[512];
static void fake_log(baldro_plugin_ctx *ctx, baldro_log_level l, const char *fmt, ...) {}
__attribute__((format(printf, 2, 3))) static void fake_set_error(baldro_plugin_ctx *ctx,
                                                                 const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_init_error, sizeof g_init_error, fmt, ap);
    va_end(ap);
}

Test(distilbert_host, refuses_a_host_before_abi_1_4) {
    void *so = dlopen(PLUGIN_SO, RTLD_NOW | RTLD_LOCAL);
    cr_assert(so, "%s", dlerror());
    baldro_plugin_init_fn init = (baldro_plugin_init_fn)dlsym(so, BALDRO_PLUGIN_INIT_SYMBOL);
    cr_assert(init);
    baldro_host_api h = {.struct_size = (uint32_t)offsetof(baldro_host_api, register_classifier),
                         .abi_major = 1,
                         .abi_minor = 3,
                         .host_version = "test",
                         .log = fake_log,
                         .set_error = fake_set_error};
    cr_assert_neq(init(NULL, &h), BALDRO_OK);
    cr_assert(strstr(g_init_error, "1.4") && strstr(g_init_error, "1.3"), "%s", g_init_error);
    dlclose(so);
}
