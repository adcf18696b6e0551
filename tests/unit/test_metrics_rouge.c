/*
 * ROUGE-1 / ROUGE-L and the Porter stemmer (plugins/metrics/tofu/lib/rouge.c, porter.c)
 * against Python's rouge_score.
 *
 * tests/oracle/rouge_oracle.py writes tests/fixtures/metrics/rouge.json with
 * RougeScorer(["rouge1", "rougeL"], use_stemmer=True) (rouge_score 0.1.2, NLTK 3.10 in its
 * default NLTK_EXTENSIONS mode):
 *   - stems: ~15k words (every word of the TOFU files, the paper's rule examples, NLTK's
 *     irregular forms, a prefix x suffix grid over every rule) and NLTK's stem of each;
 *     every stem must be identical;
 *   - pairs: real TOFU answers against paraphrases, perturbations, truncations, shuffles
 *     and other answers; real model generations from the TOFU authors' eval logs (whose
 *     logged recalls rouge_score reproduces); adversarial texts (empty, punctuation,
 *     digits, non-ASCII, malformed UTF-8 given as hex, NUL, 500 words, repeats, stemmer
 *     words). For each: the integer hits / token counts exactly, and precision, recall and
 *     F bit-for-bit (each is one IEEE division of the same integers in Python and C); the
 *     token lists with and without stemming where the fixture has them.
 * Plus hand-computed cases and argument errors. No Python is needed to run this.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "porter.h"
#include "rouge.h"

#define FIXTURE BALDRO_TEST_FIXTURES "/metrics/rouge.json"

/* ---- fixture ------------------------------------------------------------------------- */

static JsonParser *load_fixture(JsonObject **root) {
    JsonParser *p = json_parser_new();
    GError *err = NULL;
    bool ok = json_parser_load_from_file(p, FIXTURE, &err);
    cr_assert(ok, "%s: %s", FIXTURE, err ? err->message : "?");
    *root = json_node_get_object(json_parser_get_root(p));
    cr_assert_not_null(*root);
    return p;
}

/* Decodes a hex string into a new buffer; *len gets its length. */
static unsigned char *from_hex(const char *hex, size_t *len) {
    size_t n = strlen(hex) / 2;
    unsigned char *b = malloc(n + 1);
    cr_assert_not_null(b);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        b[i] = (unsigned char)v;
    }
    b[n] = 0;
    *len = n;
    return b;
}

/* The pair's target or prediction as bytes (from the string or its _hex form). */
static char *pair_text(JsonObject *pair, const char *which, size_t *len) {
    char key[32];
    snprintf(key, sizeof key, "%s_hex", which);
    if (json_object_has_member(pair, key))
        return (char *)from_hex(json_object_get_string_member(pair, key), len);
    const char *s = json_object_get_string_member(pair, which);
    *len = strlen(s);
    return strdup(s);
}

static bool same_score(const char *kind, const char *name, const baldro_rouge_result *got,
                       JsonObject *want) {
    size_t hits = (size_t)json_object_get_int_member(want, "hits");
    size_t nt = (size_t)json_object_get_int_member(want, "target_tokens");
    size_t np = (size_t)json_object_get_int_member(want, "prediction_tokens");
    double p = json_object_get_double_member(want, "precision");
    double r = json_object_get_double_member(want, "recall");
    double f = json_object_get_double_member(want, "fmeasure");
    if (got->hits == hits && got->target_tokens == nt && got->prediction_tokens == np &&
        got->precision == p && got->recall == r && got->fmeasure == f)
        return true;
    cr_log_error("%s %s: got hits %zu T %zu P %zu p %.17g r %.17g f %.17g; want hits %zu T %zu "
                 "P %zu p %.17g r %.17g f %.17g",
                 kind, name, got->hits, got->target_tokens, got->prediction_tokens, got->precision,
                 got->recall, got->fmeasure, hits, nt, np, p, r, f);
    return false;
}

static bool same_tokens(const char *kind, const char *what, char **got, size_t n, JsonArray *want) {
    bool ok = n == json_array_get_length(want);
    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(got[i], json_array_get_string_element(want, (guint)i)) == 0;
    if (!ok)
        cr_log_error("%s: %s differ (%zu tokens, want %u)", kind, what, n,
                     json_array_get_length(want));
    return ok;
}

/* ---- against rouge_score ------------------------------------------------------------- */

Test(rouge_oracle, stems_match_nltk) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonObject *v = json_object_get_object_member(root, "versions");
    cr_assert_str_eq(json_object_get_string_member(v, "porter_mode"), "NLTK_EXTENSIONS");
    JsonArray *stems = json_object_get_array_member(root, "stems");
    guint n = json_array_get_length(stems), bad = 0;
    cr_assert_gt(n, 10000);
    char buf[256];
    for (guint i = 0; i < n; i++) {
        JsonArray *e = json_array_get_array_element(stems, i);
        const char *w = json_array_get_string_element(e, 0);
        const char *s = json_array_get_string_element(e, 1);
        size_t len = strlen(w);
        cr_assert_lt(len, sizeof buf);
        size_t k = baldro_porter_stem(w, len, buf);
        if (k != strlen(s) || strcmp(buf, s) != 0) {
            if (++bad <= 20) cr_log_error("stem(%s) = %s, NLTK says %s", w, buf, s);
        }
        /* in place gives the same */
        char inplace[256];
        memcpy(inplace, w, len + 1);
        cr_assert_eq(baldro_porter_stem(inplace, len, inplace), k);
        cr_assert_str_eq(inplace, buf);
    }
    cr_log_info("stems: %u words, %u differ (nltk %s)", n, bad,
                json_object_get_string_member(v, "nltk"));
    cr_assert_eq(bad, 0, "%u of %u stems differ from NLTK", bad, n);
    g_object_unref(p);
}

Test(rouge_oracle, pairs_match_rouge_score, .timeout = 60) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonArray *pairs = json_object_get_array_member(root, "pairs");
    guint n = json_array_get_length(pairs), bad = 0, with_tokens = 0, hex = 0;
    cr_assert_gt(n, 400);
    for (guint i = 0; i < n; i++) {
        JsonObject *pair = json_array_get_object_element(pairs, i);
        const char *kind = json_object_get_string_member(pair, "kind");
        size_t lt, lp;
        char *t = pair_text(pair, "target", &lt);
        char *pr = pair_text(pair, "prediction", &lp);
        bool is_hex = json_object_has_member(pair, "target_hex");
        hex += is_hex;

        char **tt, **pt;
        size_t nt, np;
        cr_assert_eq(baldro_rouge_tokenize(t, lt, true, &tt, &nt), 0);
        cr_assert_eq(baldro_rouge_tokenize(pr, lp, true, &pt, &np), 0);
        cr_assert_null(tt[nt]);
        cr_assert_null(pt[np]);
        baldro_rouge_result r1, rl;
        cr_assert_eq(baldro_rouge_score_tokens((const char *const *)tt, nt, (const char *const *)pt,
                                               np, &r1, &rl),
                     0);
        bool ok = same_score(kind, "rouge1", &r1, json_object_get_object_member(pair, "rouge1"));
        ok &= same_score(kind, "rougeL", &rl, json_object_get_object_member(pair, "rougeL"));

        if (!is_hex) { /* the NUL-terminated entry points give the same */
            baldro_rouge_result s1, sl;
            double rec1 = -1, recl = -1;
            cr_assert_eq(baldro_rouge_score(t, pr, &s1, &sl), 0);
            cr_assert_eq(baldro_rouge_recall(t, pr, &rec1, &recl), 0);
            ok &= memcmp(&s1, &r1, sizeof s1) == 0 && memcmp(&sl, &rl, sizeof sl) == 0;
            ok &= rec1 == r1.recall && recl == rl.recall;
        }
        if (json_object_has_member(pair, "target_tokens")) {
            with_tokens++;
            ok &= same_tokens(kind, "target tokens", tt, nt,
                              json_object_get_array_member(pair, "target_tokens"));
            ok &= same_tokens(kind, "prediction tokens", pt, np,
                              json_object_get_array_member(pair, "prediction_tokens"));
            char **ut;
            size_t nu;
            cr_assert_eq(baldro_rouge_tokenize(t, lt, false, &ut, &nu), 0);
            ok &= same_tokens(kind, "unstemmed target tokens", ut, nu,
                              json_object_get_array_member(pair, "target_tokens_nostem"));
            free(ut);
            cr_assert_eq(baldro_rouge_tokenize(pr, lp, false, &ut, &nu), 0);
            ok &= same_tokens(kind, "unstemmed prediction tokens", ut, nu,
                              json_object_get_array_member(pair, "prediction_tokens_nostem"));
            free(ut);
        }
        if (!ok) bad++;
        free(tt);
        free(pt);
        free(t);
        free(pr);
    }
    cr_log_info("pairs: %u (%u with token lists, %u as bytes), %u differ", n, with_tokens, hex,
                bad);
    cr_assert_eq(bad, 0, "%u of %u pairs differ from rouge_score", bad, n);
    g_object_unref(p);
}

/* Times baldro_rouge_score over every string pair of the fixture (reported, not asserted). */
Test(rouge_oracle, timing, .timeout = 60) {
    JsonObject *root;
    JsonParser *p = load_fixture(&root);
    JsonArray *pairs = json_object_get_array_member(root, "pairs");
    guint n = json_array_get_length(pairs);
    const char **ts = calloc(n, sizeof *ts), **ps = calloc(n, sizeof *ps);
    cr_assert(ts && ps);
    guint m = 0;
    for (guint i = 0; i < n; i++) {
        JsonObject *pair = json_array_get_object_element(pairs, i);
        if (json_object_has_member(pair, "target_hex")) continue;
        ts[m] = json_object_get_string_member(pair, "target");
        ps[m] = json_object_get_string_member(pair, "prediction");
        m++;
    }
    const int reps = 5;
    double sum = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int r = 0; r < reps; r++)
        for (guint i = 0; i < m; i++) {
            double r1, rl;
            cr_assert_eq(baldro_rouge_recall(ts[i], ps[i], &r1, &rl), 0);
            sum += r1 + rl;
        }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms =
        ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) / reps;
    cr_log_info("timing: %u pairs scored in %.2f ms (%.1f us per pair; checksum %.6f)", m, ms,
                1e3 * ms / m, sum / reps);
    free(ts);
    free(ps);
    g_object_unref(p);
}

/* ---- hand cases ---------------------------------------------------------------------- */

static void check_tokens(const char *text, size_t len, bool stem, const char *want) {
    char **t;
    size_t n;
    cr_assert_eq(baldro_rouge_tokenize(text, len, stem, &t, &n), 0);
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) g_string_append_printf(s, "%s%s", i ? " " : "", t[i]);
    cr_assert_str_eq(s->str, want, "tokens of \"%s\"", text);
    cr_assert_null(t[n]);
    g_string_free(s, TRUE);
    free(t);
}

Test(rouge_hand, tokenizer) {
    const char *s = "The Authors' BOOKS, published in 1990s!";
    check_tokens(s, strlen(s), true, "the author book publish in 1990");
    check_tokens(s, strlen(s), false, "the authors books published in 1990s");
    check_tokens("", 0, true, "");
    check_tokens(NULL, 0, true, "");
    check_tokens("  \t\n ", 5, true, "");
    check_tokens("a\0b", 3, true, "a b"); /* NUL is a separator when inside len */
    check_tokens("H\xc3\xa9l\xc3\xa8ne M\xc3\xbcller", 16, false, "h l ne m ller");
    check_tokens("\xc4\xb0stanbul", 9, false, "i stanbul"); /* U+0130 -> i + U+0307 */
    check_tokens("o\xe2\x84\xaa"
                 "ay",
                 6, false, "okay"); /* KELVIN SIGN -> k     */
    check_tokens("o\xe2\x84\xab"
                 "ay",
                 6, false, "o ay"); /* ANGSTROM SIGN: not   */
    check_tokens("\xc4\xb0\xc4\xb0", 4, false, "i i");
    check_tokens("x\xc4", 2, false, "x"); /* cut sequences        */
    check_tokens("x\xe2\x84", 3, false, "x");
    check_tokens("abc", 2, false, "ab"); /* len is honoured      */
    /* only tokens of more than 3 characters are stemmed */
    check_tokens("ties cats bus yes sky skies", 27, true, "tie cat bus yes sky sky");
}

Test(rouge_hand, stemmer) {
    static const char *const cases[][2] = {
        {"caresses", "caress"},
        {"ponies", "poni"},
        {"ties", "tie"},
        {"cats", "cat"},
        {"agreed", "agre"},
        {"plastered", "plaster"},
        {"motoring", "motor"},
        {"conflated", "conflat"},
        {"hopping", "hop"},
        {"filing", "file"},
        {"happy", "happi"},
        {"relational", "relat"},
        {"generously", "gener"},
        {"controll", "control"},
        {"dying", "die"},
        {"skies", "sky"},
        {"news", "news"},
        {"succeed", "succeed"},
        {"died", "die"},
        {"cried", "cri"},
        {"enjoy", "enjoy"},
        {"spy", "spi"},
        {"radicalli", "radic"},
        {"biologi", "biolog"},
        {"ab", "ab"},
        {"", ""},
        {"BOOKS", "book"},
        {"1990s", "1990"},
        {"yyyy", "yyyi"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t k = baldro_porter_stem(cases[i][0], strlen(cases[i][0]), buf);
        cr_assert_str_eq(buf, cases[i][1], "stem(%s)", cases[i][0]);
        cr_assert_eq(k, strlen(cases[i][1]));
    }
    /* a long y-run and a long word: linear work, no overflow of the len + 1 buffer */
    size_t big = 100000;
    char *w = malloc(big + 1), *o = malloc(big + 1);
    cr_assert(w && o);
    memset(w, 'y', big);
    w[big] = 0;
    size_t k = baldro_porter_stem(w, big, o);
    cr_assert_eq(k, big);
    cr_assert_eq(o[big - 1], 'i');
    free(w);
    free(o);
}

static void check_scores(const char *t, const char *p, size_t h1, size_t hl, size_t nt, size_t np) {
    baldro_rouge_result r1, rl;
    cr_assert_eq(baldro_rouge_score(t, p, &r1, &rl), 0);
    cr_assert_eq(r1.hits, h1, "rouge1 hits of (%s | %s)", t, p);
    cr_assert_eq(rl.hits, hl, "rougeL hits of (%s | %s)", t, p);
    cr_assert_eq(r1.target_tokens, nt);
    cr_assert_eq(r1.prediction_tokens, np);
    cr_assert_eq(rl.target_tokens, nt);
    cr_assert_eq(rl.prediction_tokens, np);
    double want_r1 = (double)h1 / (double)(nt ? nt : 1);
    double want_p1 = (double)h1 / (double)(np ? np : 1);
    cr_assert_eq(r1.recall, want_r1);
    cr_assert_eq(r1.precision, want_p1);
    if (nt && np) {
        cr_assert_eq(rl.recall, (double)hl / (double)nt);
        cr_assert_eq(rl.precision, (double)hl / (double)np);
    } else {
        cr_assert_eq(rl.recall, 0.0);
        cr_assert_eq(rl.precision, 0.0);
        cr_assert_eq(rl.fmeasure, 0.0);
    }
    double rec1, recl;
    cr_assert_eq(baldro_rouge_recall(t, p, &rec1, &recl), 0);
    cr_assert_eq(rec1, r1.recall);
    cr_assert_eq(recl, rl.recall);
}

Test(rouge_hand, scores) {
    /* the rouge_score docstring example: 9 vs 8 tokens, LCS "the quick brown jump the" */
    check_scores("The quick brown fox jumps over the lazy dog",
                 "The quick brown dog jumps on the log.", 6, 5, 9, 8);
    check_scores("the cat sat on the mat", "the cat on the mat", 5, 5, 6, 5);
    check_scores("a b c d e", "e d c b a", 5, 1, 5, 5);
    check_scores("the the the", "the", 1, 1, 3, 1);
    check_scores("the", "the the the", 1, 1, 1, 3);
    check_scores("", "", 0, 0, 0, 0);
    check_scores("", "words", 0, 0, 0, 1);
    check_scores("words", "", 0, 0, 1, 0);
    check_scores("!!!", "???", 0, 0, 0, 0);
    check_scores("Connected connections", "connecting connects", 2, 2, 2, 2);

    baldro_rouge_result r1, rl;
    cr_assert_eq(baldro_rouge_score("a b", "b a", &r1, &rl), 0);
    cr_assert_eq(r1.fmeasure, 1.0);
    cr_assert_eq(rl.fmeasure, 2 * 0.5 * 0.5 / (0.5 + 0.5));
    cr_assert_eq(baldro_rouge_score("a b", "c", &r1, &rl), 0);
    cr_assert_eq(r1.fmeasure, 0.0);
    cr_assert_eq(rl.fmeasure, 0.0);
    /* either output may be omitted */
    cr_assert_eq(baldro_rouge_score("a b", "b", NULL, &rl), 0);
    cr_assert_eq(rl.hits, 1);
    cr_assert_eq(baldro_rouge_score("a b", "b", &r1, NULL), 0);
    cr_assert_eq(r1.hits, 1);
    double only;
    cr_assert_eq(baldro_rouge_recall("a b", "b", NULL, &only), 0);
    cr_assert_eq(only, 0.5);
}

Test(rouge_hand, errors) {
    char **t = (char **)0x1;
    size_t n = 7;
    cr_assert_eq(baldro_rouge_tokenize(NULL, 3, true, &t, &n), -1);
    cr_assert_eq(t, (char **)0x1);
    cr_assert_eq(n, 7);
    cr_assert_eq(baldro_rouge_tokenize("abc", 3, true, NULL, &n), -1);
    cr_assert_eq(baldro_rouge_tokenize("abc", 3, true, &t, NULL), -1);
    double r;
    cr_assert_eq(baldro_rouge_recall(NULL, "a", &r, &r), -1);
    cr_assert_eq(baldro_rouge_recall("a", NULL, &r, &r), -1);
    cr_assert_eq(baldro_rouge_score(NULL, NULL, NULL, NULL), -1);
    baldro_rouge_result s;
    cr_assert_eq(baldro_rouge_score_tokens(NULL, 1, NULL, 0, &s, &s), -1);
    cr_assert_eq(baldro_rouge_score_tokens(NULL, 0, NULL, 0, &s, &s), 0);
    cr_assert_eq(s.recall, 0.0);
}
