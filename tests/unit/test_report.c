/*
 * The report (core/report): the SVG module's ticks, mapping and escaping; the figures it
 * derives (weight quantiles, log-prob, hardest samples, histogram, the KS statistic against
 * the metrics library's); the page over the fixture experiment of
 * tests/fixtures/report/make_fixtures.py (sections, one <svg> per plot, a point per run,
 * escaped text, no URL, the same bytes twice); and the bad inputs: one warning each naming
 * the file and field, the page still built with the sections marked, and an input that is
 * neither an experiment nor a run refused with one line. The eval_log.h reader it uses
 * (baldro_eval_json_load, baldro_eval_entry_read) is checked here too.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "eval/eval_log.h"
#include "ks.h"
#include "report/report.h"
#include "report/report_internal.h"
#include "report/svg.h"

#define FIX BALDRO_TEST_FIXTURES "/report/"

static size_t count(const char *hay, const char *needle) {
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle)) n++;
    return n;
}

/* The text between the first `from` and the next `to` after it (g_free). */
static char *between(const char *hay, const char *from, const char *to) {
    const char *a = strstr(hay, from);
    cr_assert(a, "'%s' not found", from);
    const char *b = strstr(a, to);
    cr_assert(b, "'%s' not found after '%s'", to, from);
    return g_strndup(a, (gsize)(b - a));
}

static baldro_report *load1(const char *dir) {
    const char *dirs[1] = {dir};
    baldro_report *r = NULL;
    baldro_error err;
    baldro_error_clear(&err);
    cr_assert_eq(baldro_report_load(dirs, 1, &r, &err), BALDRO_OK, "%s", err.msg);
    return r;
}

/* ---- svg.c ------------------------------------------------------------------------------ */

Test(report_svg, linear_ticks_are_nice_and_cover_the_data) {
    baldro_svg_axis a;
    baldro_svg_axis_range(&a, 0, 0.024, 0);
    cr_assert_float_eq(a.lo, 0, 1e-15);
    cr_assert_float_eq(a.hi, 0.025, 1e-15);
    cr_assert_eq(a.n_ticks, 6);
    cr_assert_eq(a.decimals, 3);
    baldro_svg_axis_range(&a, -3.2, 7.9, 0); /* step 2.5 */
    cr_assert_float_eq(a.lo, -5, 1e-12);
    cr_assert_float_eq(a.hi, 10, 1e-12);
    cr_assert_eq(a.n_ticks, 7);
    cr_assert_eq(a.decimals, 1);
    baldro_svg_axis_range(&a, 5, 5, 0); /* one value: widened */
    cr_assert(a.lo < 5 && a.hi > 5);
    baldro_svg_axis_range(&a, 0, 0, 0);
    cr_assert_float_eq(a.lo, 0, 0);
    cr_assert_float_eq(a.hi, 1, 0);
    for (size_t i = 1; i + 1 < a.n_ticks; i++)
        cr_assert_float_eq(a.ticks[i + 1] - a.ticks[i], a.ticks[1] - a.ticks[0], 1e-12);
    double v[4] = {NAN, 3, INFINITY, 12};
    baldro_svg_axis_fit(&a, v, 4, 0, 1);
    cr_assert_float_eq(a.lo, 0, 0);
    cr_assert(a.hi >= 12 && a.hi <= 15);
    baldro_svg_axis_range(&a, -1e308, 1e308, 0); /* a span that overflows: a sane default */
    cr_assert(isfinite(a.lo) && isfinite(a.hi) && a.lo < a.hi);
    baldro_svg_axis_counts(&a, 2); /* counts: whole ticks, at least 0..5 */
    cr_assert_eq(a.n_ticks, 6);
    for (size_t i = 0; i < a.n_ticks; i++) cr_assert_float_eq(a.ticks[i], (double)i, 0);
    baldro_svg_axis_counts(&a, 12);
    for (size_t i = 0; i < a.n_ticks; i++) cr_assert_float_eq(a.ticks[i], round(a.ticks[i]), 0);
}

Test(report_svg, log_axis_whole_decades_from_the_top) {
    baldro_svg_axis a;
    baldro_svg_axis_range(&a, 1e-21, 1, 1);
    cr_assert_float_eq(a.hi, 1, 0);
    cr_assert(a.lo <= 1e-21);
    cr_assert(a.n_ticks <= 7 && a.n_ticks >= 2);
    cr_assert_float_eq(a.ticks[a.n_ticks - 1], 0, 0); /* exponents; the top one is 10^0 */
    baldro_svg_axis_range(&a, 0.3, 0.3, 1);
    cr_assert(a.lo < 0.3 && a.hi > 0.3);
    double v[3] = {0, -1, NAN}; /* nothing positive: a default decade */
    baldro_svg_axis_fit(&a, v, 3, 1, 0);
    cr_assert_float_eq(a.lo, 0.1, 1e-15);
    cr_assert_float_eq(a.hi, 1, 1e-15);
}

Test(report_svg, one_mapping_for_both_scales) {
    GString *o = g_string_new(NULL);
    baldro_svg s;
    baldro_svg_begin(&s, o, 400, 300, "t");
    baldro_svg_axis_range(&s.x, 0, 10, 0);
    baldro_svg_axis_range(&s.y, 1e-4, 1, 1);
    cr_assert_float_eq(baldro_svg_px(&s, 0, 0), s.px0, 1e-9);
    cr_assert_float_eq(baldro_svg_px(&s, 0, 10), s.px1, 1e-9);
    cr_assert_float_eq(baldro_svg_px(&s, 0, 5), (s.px0 + s.px1) / 2, 1e-9);
    cr_assert_float_eq(baldro_svg_px(&s, 1, 1), s.py0, 1e-9); /* y grows downwards */
    cr_assert_float_eq(baldro_svg_px(&s, 1, 1e-4), s.py1, 1e-9);
    cr_assert_float_eq(baldro_svg_px(&s, 1, 1e-2), (s.py0 + s.py1) / 2, 1e-9);
    cr_assert(isnan(baldro_svg_px(&s, 1, 0)));
    cr_assert(isnan(baldro_svg_px(&s, 1, -1)));
    cr_assert(isnan(baldro_svg_px(&s, 0, NAN)));
    /* Off range: held just outside the frame, never far away. */
    cr_assert(baldro_svg_px(&s, 0, 1e9) <= s.px1 + 0.03 * (s.px1 - s.px0));
    s.x.pad = 0.1;
    cr_assert_float_eq(baldro_svg_px(&s, 0, 0), s.px0 + 0.1 * (s.px1 - s.px0), 1e-9);
    /* A NaN breaks a line into two polylines. */
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {0.1, 0.2, NAN, 0.3, 0.4};
    size_t before = count(o->str, "<polyline");
    baldro_svg_line(&s, x, y, 5, "#123456", 2, 0);
    cr_assert_eq(count(o->str, "<polyline") - before, 2);
    baldro_svg_end(&s);
    cr_assert_eq(count(o->str, "<svg"), 1);
    cr_assert_eq(count(o->str, "</svg>"), 1);
    cr_assert_null(strstr(o->str, "http"));
    g_string_free(o, TRUE);
}

Test(report_svg, escaping_and_numbers) {
    GString *o = g_string_new(NULL);
    baldro_html_escape(o, "<a href='x'>&\"\x01\tok\n");
    cr_assert_str_eq(o->str, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\xef\xbf\xbd\tok\n");
    g_string_truncate(o, 0);
    baldro_html_escape(o, "bad \xff utf8 <");
    cr_assert(g_utf8_validate(o->str, -1, NULL));
    cr_assert(strstr(o->str, "&lt;"));
    g_string_truncate(o, 0);
    baldro_fmt_num(o, 6.6081932927562449e-06, 3);
    g_string_append_c(o, ' ');
    baldro_fmt_num(o, 0.5625, 4);
    g_string_append_c(o, ' ');
    baldro_fmt_num(o, -0.0, 3);
    g_string_append_c(o, ' ');
    baldro_fmt_num(o, NAN, 3);
    cr_assert_str_eq(o->str, "6.61e-06 0.5625 0 \xe2\x80\x93");
    g_string_free(o, TRUE);
}

/* ---- report_stats.c ---------------------------------------------------------------------- */

Test(report_stats, ks_statistic_matches_the_metrics_library) {
    /* Ties within and across the samples, unequal sizes. */
    double x[9] = {0.5, 0.1, 0.3, 0.3, 0.9, 0.7, 0.2, 0.3, 1.5};
    double y[6] = {0.3, 0.8, 0.9, 1.1, 0.3, 2.0};
    double d = baldro_report_ks_d(x, 9, y, 6);
    cr_assert_float_eq(d, baldro_ks_statistic(x, 9, y, 6), 1e-15);
    cr_assert_float_eq(baldro_report_ks_d(x, 9, x, 9), 0, 0);
    double z[2] = {NAN, NAN};
    cr_assert(isnan(baldro_report_ks_d(x, 9, z, 2)));
    GRand *g = g_rand_new_with_seed(7);
    for (int t = 0; t < 50; t++) {
        double a[40], b[33];
        for (int i = 0; i < 40; i++) a[i] = floor(g_rand_double(g) * 20) / 10;
        for (int i = 0; i < 33; i++) b[i] = floor(g_rand_double(g) * 24) / 10;
        cr_assert_float_eq(baldro_report_ks_d(a, 40, b, 33), baldro_ks_statistic(a, 40, b, 33),
                           1e-15);
    }
    g_rand_free(g);
}

Test(report_stats, dro_quantiles_logprob_and_hardest) {
    /* step 2 (listed first: any order): items 0..3 weights 0.4 0.1 0.3 0.2, nll 1 2 3 4;
     * step 1: all 0.25. */
    double step[8] = {2, 2, 2, 2, 1, 1, 1, 1};
    int64_t item[8] = {0, 1, 2, 3, 0, 1, 2, 3};
    double w[8] = {0.4, 0.1, 0.3, 0.2, 0.25, 0.25, 0.25, 0.25};
    double nll[8] = {1, 2, 3, 4, 0.5, 0.5, 0.5, 0.5};
    rp_dro d = {0};
    rp_dro_summarise(&d, step, item, w, nll, 8);
    cr_assert_eq(d.n_steps, 2);
    cr_assert_float_eq(d.step[0], 1, 0);
    cr_assert_float_eq(d.wmin[1], 0.1, 1e-15);
    cr_assert_float_eq(d.wq1[1], 0.175, 1e-15); /* numpy's linear quantiles */
    cr_assert_float_eq(d.wmed[1], 0.25, 1e-15);
    cr_assert_float_eq(d.wq3[1], 0.325, 1e-15);
    cr_assert_float_eq(d.wmax[1], 0.4, 1e-15);
    cr_assert_float_eq(d.logprob[0], -0.5, 1e-15);
    cr_assert_float_eq(d.logprob[1], -2.5, 1e-15);
    cr_assert_eq(d.uniform, 0);
    cr_assert_eq(d.n_items, 4);
    /* mean weights: item 0 0.325, 2 0.275, 3 0.225, 1 0.175 */
    int64_t want[4] = {0, 2, 3, 1};
    for (int i = 0; i < 4; i++) cr_assert_eq(d.items[i].item, want[i]);
    cr_assert_float_eq(d.items[0].mean_w, 0.325, 1e-15);
    cr_assert_float_eq(d.items[0].max_w, 0.4, 1e-15);
    cr_assert_float_eq(d.items[0].last_nll, 1, 0);
    cr_assert_eq(d.items[0].count, 2);
    g_free(d.step), g_free(d.wmin), g_free(d.wq1), g_free(d.wmed), g_free(d.wq3);
    g_free(d.wmax), g_free(d.logprob), g_free(d.items);
}

Test(report_stats, histogram_bins_are_half_open_but_the_last) {
    double v[7] = {0, 0.1, 0.5, 0.99, 1.0, NAN, 2};
    double c[4];
    rp_histogram(v, 7, 0, 1, 4, c);
    cr_assert_float_eq(c[0], 2, 0);
    cr_assert_float_eq(c[1], 0, 0);
    cr_assert_float_eq(c[2], 1, 0);
    cr_assert_float_eq(c[3], 2, 0); /* 0.99 and 1.0; 2 is out of range, NaN skipped */
}

/* ---- eval_log.h additions -------------------------------------------------------------- */

Test(report_eval_log, entry_reader_keeps_indices_and_texts) {
    baldro_error err;
    baldro_error_clear(&err);
    JsonNode *root = baldro_eval_json_load(FIX "exp/eval-target/TOFU_EVAL.json", &err);
    cr_assert_not_null(root, "%s", err.msg);
    baldro_eval_entry e;
    cr_assert_eq(baldro_eval_entry_read(root, "f", "forget_Q_A_ROUGE", &e, &err), BALDRO_OK, "%s",
                 err.msg);
    cr_assert_eq(e.n, 6);
    for (uint32_t i = 0; i < 6; i++) cr_assert_eq(e.idx[i], i);
    cr_assert(strstr(e.input[3], "<script>"));
    cr_assert(isnan(e.score[0])); /* no score in a ROUGE entry */
    baldro_eval_entry_clear(&e);
    cr_assert_eq(baldro_eval_entry_read(root, "f", "forget_truth_ratio", &e, &err), BALDRO_OK);
    cr_assert_float_eq(e.score[5], 0.625, 0);
    cr_assert_null(e.input[0]);
    baldro_eval_entry_clear(&e);
    cr_assert_eq(baldro_eval_entry_read(root, "f", "nope", &e, &err), BALDRO_ENOTFOUND);
    cr_assert(strstr(err.msg, "nope: missing"));
    json_node_unref(root);

    /* Python's NaN reads as NaN; a score of another type is named; indices sort numerically. */
    char *dir = g_dir_make_tmp("report-XXXXXX", NULL);
    char *p = g_build_filename(dir, "TOFU_EVAL.json", NULL);
    const char *text = "{\"forget_truth_ratio\":{\"value_by_index\":{\"10\":{\"score\":NaN},"
                       "\"9\":{\"score\":0.5}}},\"bad\":{\"value_by_index\":{\"0\":{\"score\":"
                       "\"x\"}}},\"gen\":{\"value_by_index\":{\"0\":{\"generation\":3}}}}";
    cr_assert(g_file_set_contents(p, text, -1, NULL));
    root = baldro_eval_json_load(p, &err);
    cr_assert_not_null(root, "%s", err.msg);
    cr_assert_eq(baldro_eval_entry_read(root, p, "forget_truth_ratio", &e, &err), BALDRO_OK);
    cr_assert_eq(e.idx[0], 9);
    cr_assert_eq(e.idx[1], 10);
    cr_assert(isnan(e.score[1]));
    baldro_eval_entry_clear(&e);
    cr_assert_eq(baldro_eval_entry_read(root, p, "bad", &e, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "bad.value_by_index.0.score"), "%s", err.msg);
    cr_assert_eq(baldro_eval_entry_read(root, p, "gen", &e, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "gen.value_by_index.0.generation"), "%s", err.msg);
    cr_assert_eq(e.n, 0);
    json_node_unref(root);
    cr_assert_null(baldro_eval_json_load(FIX "exp/nothing.json", &err));
    cr_assert_eq(err.code, BALDRO_ENOTFOUND);
    g_unlink(p);
    g_rmdir(dir);
    g_free(p);
    g_free(dir);
}

/* ---- The page over the fixture experiment ----------------------------------------------- */

Test(report, fixture_experiment_page) {
    baldro_report *r = load1(FIX "exp");
    cr_assert_eq(baldro_report_n_runs(r), 2);
    cr_assert_eq(baldro_report_n_warnings(r), 0, "%s", baldro_report_warning(r, 0));
    cr_assert(baldro_report_input_is_experiment(r, 0));
    size_t len = 0;
    char *html = baldro_report_html(r, &len);
    cr_assert_eq(strlen(html), len);
    /* Sections, in order. */
    const char *order[] = {"<h2 id=\"summary\">", "<h2 id=\"tradeoff\">", "<h2 id=\"runs\">",
                           "<details id=\"run-1\" open>", "Training curves",
                           "BalDRO sample weights", "Forget truth ratio:",
                           "Generations before and after", "<details id=\"run-2\" open>"};
    const char *at = html;
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        const char *p = strstr(at, order[i]);
        cr_assert(p, "section '%s' missing or out of order", order[i]);
        at = p;
    }
    /* One <svg> per plot: the scatter, then per run 3 curves, the weights, the histogram. */
    cr_assert_eq(count(html, "<svg class=\"plot\""), 1 + 2 * 5);
    cr_assert_eq(count(html, "</svg>"), 1 + 2 * 5);
    /* The scatter: a numbered point per run, target and retain marked and labelled. */
    char *sc = between(html, "<h2 id=\"tradeoff\">", "</svg>");
    cr_assert(strstr(sc, "<circle") && strstr(sc, "fill=\"#4e79a7\"/>"), "run 1 point");
    cr_assert(strstr(sc, "fill=\"#f28e2b\"/>"), "run 2 point");
    cr_assert_eq(count(sc, "<circle"), 2 + 1); /* two runs and the legend's key */
    cr_assert(strstr(sc, ">target</text>") && strstr(sc, ">retain</text>"));
    cr_assert(strstr(sc, "<rect x=") && strstr(sc, "<polygon points="));
    cr_assert(strstr(sc, "10<tspan")); /* log ticks */
    g_free(sc);
    /* Table 1: both runs with their settings and figures, the references. */
    cr_assert(strstr(html, "objective.forget=npo, dro.enabled=false"));
    cr_assert(strstr(html, ">0.0125<") && strstr(html, ">0.312<") && strstr(html, ">2.5e-05<"));
    cr_assert(strstr(html, "1 (reference)"));
    cr_assert(strstr(html, "gibberish (fluency)"));
    cr_assert(strstr(html, "<td class=\"n\">16.8</td>")); /* 12.5 + 4.25 s */
    /* KS statistics: D of each run's scores against the retain model's. */
    cr_assert(strstr(html, "D = 0.667 (6 and 6 items)"));
    cr_assert(strstr(html, "D = 0.167 (6 and 6 items)"));
    /* The plain run says it did not reweight; the BalDRO run's hardest items are 4 and 2. */
    cr_assert_eq(count(html, "did not reweight"), 1);
    char *w2 = between(strstr(html, "<details id=\"run-2\""), "<th>question</th>", "</table>");
    cr_assert(strstr(w2, "<tr><td class=\"n\">1</td><td class=\"n\">4</td>"), "%s", w2);
    cr_assert(strstr(w2, "<tr><td class=\"n\">2</td><td class=\"n\">2</td>"), "%s", w2);
    g_free(w2);
    /* Untrusted text is escaped; the only script is the page's own line. */
    cr_assert(strstr(html, "Is &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
                           "&#39;co&#39; a title of hers?"));
    cr_assert(strstr(html, "&lt;b&gt;forgot&lt;/b&gt; 0"));
    cr_assert_null(strstr(html, "<b>forgot"));
    cr_assert_eq(count(html, "<script>"), 1);
    cr_assert(strstr(html, "(target)</td>")); /* before */
    /* No URL anywhere, any case. */
    char *lower = g_ascii_strdown(html, -1);
    cr_assert_null(strstr(lower, "http"));
    cr_assert_null(strstr(lower, "url("));
    cr_assert_null(strstr(lower, "src="));
    g_free(lower);
    /* The same bytes from the same inputs. */
    char *again = baldro_report_html(r, NULL);
    cr_assert_str_eq(html, again);
    g_free(again);
    baldro_report *r2 = load1(FIX "exp");
    again = baldro_report_html(r2, NULL);
    cr_assert_str_eq(html, again);
    g_free(again);
    baldro_report_free(r2);
    g_free(html);
    baldro_report_free(r);
}

Test(report, many_runs_stay_collapsed) {
    /* The same experiment four times over: details open for the first run only. */
    const char *dirs[4] = {FIX "exp", FIX "exp/npo", FIX "exp/npo-baldro", FIX "exp"};
    baldro_report *r = NULL;
    baldro_error err;
    cr_assert_eq(baldro_report_load(dirs, 4, &r, &err), BALDRO_OK);
    cr_assert_eq(baldro_report_n_runs(r), 6);
    cr_assert(!baldro_report_input_is_experiment(r, 1));
    char *html = baldro_report_html(r, NULL);
    cr_assert_eq(count(html, "<details "), 6);
    cr_assert_eq(count(html, "\" open>"), 1);
    /* Shared target and retain evaluations are one reference each. */
    cr_assert_eq(count(html, "<tr class=\"ref\">"), 2);
    g_free(html);
    baldro_report_free(r);
}

/* ---- Bad inputs ---------------------------------------------------------------------------- */

static int has_warning(const baldro_report *r, const char *a, const char *b) {
    for (size_t i = 0; i < baldro_report_n_warnings(r); i++) {
        const char *w = baldro_report_warning(r, i);
        if (strstr(w, a) && strstr(w, b)) return 1;
    }
    return 0;
}

Test(report, malformed_files_warn_once_and_mark_their_section) {
    baldro_report *r = load1(FIX "bad");
    for (size_t i = 0; i < baldro_report_n_warnings(r); i++)
        cr_assert_null(strchr(baldro_report_warning(r, i), '\n'), "one line each");
    cr_assert_eq(baldro_report_n_warnings(r), 7);
    cr_assert(has_warning(r, "bad/pipeline.json", "runs[3]: expected a run id"));
    cr_assert(has_warning(r, "bad/pipeline.json", "runs[4]"));
    cr_assert(has_warning(r, "r-malformed/run.json", "settings.x:"));
    cr_assert(has_warning(r, "r-malformed/unlearn/metrics.jsonl:4:", "JSON"));
    cr_assert(has_warning(r, "r-malformed/unlearn/dro.jsonl:2:", "weight: expected a number"));
    cr_assert(has_warning(r, "eval-unlearn/TOFU_SUMMARY.json", "forget_quality: expected"));
    cr_assert(has_warning(r, "eval-unlearn/TOFU_EVAL.json",
                          "forget_truth_ratio.value_by_index.0.score"));
    /* r-malformed, r-missing and r-absent; "../x" and 7 are not run ids. */
    cr_assert_eq(baldro_report_n_runs(r), 3);
    char *html = baldro_report_html(r, NULL);
    cr_assert(strstr(html, "7 problems reading the inputs"));
    cr_assert_geq(count(html, "<p class=\"note bad\">Malformed: "), 4);
    /* What was read before the truncated line is still plotted. */
    char *run1 = between(html, "<details id=\"run-1\"", "</details>");
    cr_assert(strstr(run1, "Forget loss"));
    cr_assert(strstr(run1, "&lt;i&gt;gone&lt;/i&gt;"));
    g_free(run1);
    char *run2 = between(html, "<details id=\"run-2\"", "</details>");
    cr_assert(strstr(run2, "Missing: "));
    cr_assert(strstr(run2, "r-missing/unlearn: no such directory"));
    cr_assert(strstr(run2, "no eval-unlearn step (not in run.json&#39;s steps)"));
    cr_assert(strstr(run2, "no eval-retain step"));
    g_free(run2);
    char *run3 = between(html, "<details id=\"run-3\"", "</details>");
    cr_assert(strstr(run3, "r-absent/run.json: not found"));
    g_free(run3);
    char *lower = g_ascii_strdown(html, -1);
    cr_assert_null(strstr(lower, "http"));
    g_free(lower);
    g_free(html);
    baldro_report_free(r);
}

Test(report, run_json_that_is_not_json) {
    baldro_report *r = load1(FIX "lone");
    cr_assert_eq(baldro_report_n_runs(r), 1);
    cr_assert_eq(baldro_report_n_warnings(r), 1);
    cr_assert(has_warning(r, "lone/run.json", "JSON"));
    char *html = baldro_report_html(r, NULL);
    cr_assert(strstr(html, "Malformed: "));
    cr_assert(strstr(html, "not plotted: 1 (no evaluation)"));
    g_free(html);
    baldro_report_free(r);
}

Test(report, neither_experiment_nor_run_is_an_error) {
    baldro_error err;
    baldro_report *r = (baldro_report *)1;
    const char *dirs[2] = {FIX "exp", FIX};
    cr_assert_eq(baldro_report_load(dirs, 2, &r, &err), BALDRO_ENOTFOUND);
    cr_assert_null(r);
    cr_assert(strstr(err.msg, "neither pipeline.json (an experiment) nor run.json"), "%s",
              err.msg);
    cr_assert_null(strchr(err.msg, '\n'));
    const char *missing[1] = {FIX "no-such-dir"};
    cr_assert_eq(baldro_report_load(missing, 1, &r, &err), BALDRO_ENOTFOUND);
    cr_assert(strstr(err.msg, "no-such-dir: not a directory"), "%s", err.msg);
    cr_assert_eq(baldro_report_load(missing, 0, &r, &err), BALDRO_EINVAL);
}
