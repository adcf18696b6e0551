/* core/report/report_html.c: the report page (report.h) from the loaded runs. One HTML
 * file: inline CSS, inline SVG plots (svg.h), no URL, no script needed (one line logs to
 * the console that the page rendered, which the Chromium test looks for). Every text from
 * a file is escaped. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"
#include "report/svg.h"

/* Colours: runs in the scatter plot take the palette in turn; every other mark has a
 * colour of its own, so that a rendering can be checked by colour (tests/cli). */
static const char *const k_palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define C_TARGET       "#8e0152"
#define C_RETAIN_MODEL "#31a354"
#define C_FORGET_LOSS  "#d62728"
#define C_RETAIN_LOSS  "#1f77b4"
#define C_LOGPROB      "#9467bd"
#define C_BAND_OUT     "#c6dbef"
#define C_BAND_IQR     "#6baed6"
#define C_BAND_MED     "#08519c"
#define C_HIST_RETAIN  "#a1d99b"
#define C_HIST_UNLEARN "#d94801"
#define C_REF          "#999999"

#define RP_HARDEST     10  /* rows of the hardest-to-forget table                   */
#define RP_GENERATIONS 5   /* forget questions shown before and after               */
#define RP_TEXT_MAX    400 /* characters of a generation shown                      */
#define RP_BINS        20  /* truth-ratio histogram bins                            */
#define RP_OPEN_ALL    3   /* with at most this many runs every run's details are open */

static const char k_css[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;color:#222;max-width:1140px;"
    "margin:20px auto;padding:0 16px;font-size:14px;line-height:1.4}\n"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:26px 0 8px;"
    "border-bottom:1px solid #ddd}h3{font-size:15px;margin:14px 0 6px}\n"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0}\n"
    "th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}\n"
    "th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\ntr.ref td{font-style:italic;background:#fafafa}\n"
    ".note{background:#fff7e0;border-left:3px solid #e0a800;padding:4px 8px;margin:6px 0;"
    "font-size:13px}\n.bad{background:#fdecea;border-left-color:#c62828}\n"
    ".cap{font-size:12px;color:#555;margin:2px 0 8px}\n"
    ".row{display:flex;flex-wrap:wrap;gap:10px}\n"
    "details{border:1px solid #ccc;border-radius:4px;margin:10px 0;padding:4px 12px}\n"
    "summary{cursor:pointer;font-weight:bold;padding:4px 0}\n"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:6px}\n"
    "table.gen td{font-size:12px;white-space:pre-wrap;max-width:250px}\n"
    "code{font-size:12px}svg.plot{background:#fff}td.id{white-space:nowrap}\n";

/* ---- Small writers ----------------------------------------------------------------------- */

static void esc(GString *o, const char *s) {
    baldro_html_escape(o, s);
}

static void num(GString *o, double v, int sig) {
    baldro_fmt_num(o, v, sig);
}

static const char *run_color(size_t i) {
    return k_palette[i % G_N_ELEMENTS(k_palette)];
}

/* A note in place of (or beside) a plot: what is missing or malformed. */
static void note(GString *o, const rp_part *p) {
    if (p->state == RP_OK) return;
    g_string_append(o, p->state == RP_MALFORMED ? "<p class=\"note bad\">Malformed: "
                                                : "<p class=\"note\">Missing: ");
    esc(o, p->note);
    g_string_append(o, "</p>\n");
}

static void note_text(GString *o, const char *text) {
    g_string_append(o, "<p class=\"note\">");
    esc(o, text);
    g_string_append(o, "</p>\n");
}

/* A string cut to `max` characters (UTF-8), "…" appended when cut. */
static void esc_cut(GString *o, const char *s, long max) {
    if (!s) {
        g_string_append(o, "\xe2\x80\x93");
        return;
    }
    if (!g_utf8_validate(s, -1, NULL) || g_utf8_strlen(s, -1) <= max) {
        esc(o, s);
        return;
    }
    char *cut = g_utf8_substring(s, 0, max);
    esc(o, cut);
    g_string_append(o, "\xe2\x80\xa6");
    g_free(cut);
}

static void td_num(GString *o, double v, int sig) {
    g_string_append(o, "<td class=\"n\">");
    num(o, v, sig);
    g_string_append(o, "</td>");
}

/* Where forget-split item `idx` is in e's forget_Q_A_ROUGE entry, or -1. */
static ptrdiff_t qa_find(const rp_eval *e, int64_t idx) {
    if (!e || e->qa_part.state != RP_OK) return -1;
    size_t lo = 0, hi = e->qa.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((int64_t)e->qa.idx[mid] < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->qa.n && (int64_t)e->qa.idx[lo] == idx ? (ptrdiff_t)lo : -1;
}

/* ---- References: the distinct target and retain evaluations ----------------------------- */

typedef struct refs {
    GPtrArray *target, *retain; /* rp_eval *, distinct, in the order met */
    int many_exps;              /* label references with their experiment */
} refs;

static void add_unique(GPtrArray *a, rp_eval *e) {
    if (!e) return;
    for (guint i = 0; i < a->len; i++)
        if (a->pdata[i] == e) return;
    g_ptr_array_add(a, e);
}

static refs refs_of(const baldro_report *r) {
    refs f = {g_ptr_array_new(), g_ptr_array_new(), 0};
    for (guint i = 0; i < r->runs->len; i++) {
        const rp_run *run = r->runs->pdata[i];
        add_unique(f.target, run->target);
        add_unique(f.retain, run->retain);
    }
    f.many_exps = f.target->len > 1 || f.retain->len > 1;
    return f;
}

static char *ref_label(const refs *f, const char *what, const rp_eval *e) {
    if (f->many_exps) return g_strdup_printf("%s (%s)", what, e->exp ? e->exp : e->shown);
    return g_strdup(what);
}

/* ---- 1. Summary table -------------------------------------------------------------------- */

static int any_finite(const baldro_report *r, const refs *f, size_t off) {
    for (guint i = 0; i < r->runs->len; i++) {
        const rp_run *run = r->runs->pdata[i];
        if (run->ev && !isnan(*(const double *)((const char *)&run->ev->sum + off))) return 1;
    }
    GPtrArray *lists[2] = {f->target, f->retain};
    for (int l = 0; l < 2; l++)
        for (guint i = 0; i < lists[l]->len; i++) {
            const rp_eval *e = lists[l]->pdata[i];
            if (!isnan(*(const double *)((const char *)&e->sum + off))) return 1;
        }
    return 0;
}

typedef struct cols {
    int gib, degen, priv;
} cols;

static void summary_cells(GString *o, const rp_eval *e, const cols *c, int retain) {
    if (!e || e->sum.part.state == RP_MISSING) {
        int n = 3 + c->gib + c->degen + c->priv;
        g_string_append_printf(o, "<td colspan=\"%d\">", n);
        esc(o, e ? e->sum.part.note : "no evaluation");
        g_string_append(o, "</td>");
        return;
    }
    if (retain && isnan(e->sum.fq))
        g_string_append(o, "<td class=\"n\">1 (reference)</td>");
    else
        td_num(o, e->sum.fq, 3);
    td_num(o, e->sum.mu, 4);
    td_num(o, e->sum.ftr, 3);
    if (c->gib) td_num(o, e->sum.gibberish, 3);
    if (c->degen) td_num(o, e->sum.degeneration, 3);
    if (c->priv) td_num(o, e->sum.privleak, 3);
}

static void section_summary(GString *o, const baldro_report *r, const refs *f) {
    cols c = {any_finite(r, f, offsetof(rp_summary, gibberish)),
              any_finite(r, f, offsetof(rp_summary, degeneration)),
              any_finite(r, f, offsetof(rp_summary, privleak))};
    g_string_append(o, "<h2 id=\"summary\">1. Runs</h2>\n<table>\n<tr><th>#</th><th>run</th>"
                       "<th>settings</th><th>status</th><th>forget quality</th>"
                       "<th>model utility</th><th>forget truth ratio</th>");
    if (c.gib) g_string_append(o, "<th>gibberish (fluency)</th>");
    if (c.degen) g_string_append(o, "<th>degeneration</th>");
    if (c.priv) g_string_append(o, "<th>privleak</th>");
    g_string_append(o, "<th>wall time (s)</th></tr>\n");
    GPtrArray *lists[2] = {f->target, f->retain};
    for (int l = 0; l < 2; l++)
        for (guint i = 0; i < lists[l]->len; i++) {
            const rp_eval *e = lists[l]->pdata[i];
            char *label = ref_label(f, l ? "retain model" : "target model", e);
            g_string_append(o, "<tr class=\"ref\"><td></td><td>");
            esc(o, label);
            g_string_append(o, "</td><td><code>");
            esc(o, e->shown);
            g_string_append(o, "</code></td><td>reference</td>");
            summary_cells(o, e, &c, l == 1);
            g_string_append(o, "<td></td></tr>\n");
            g_free(label);
        }
    for (guint i = 0; i < r->runs->len; i++) {
        const rp_run *run = r->runs->pdata[i];
        g_string_append_printf(o,
                               "<tr><td class=\"n\"><span class=\"sw\" style=\"background:%s"
                               "\"></span>%u</td><td class=\"id\"><a href=\"#run-%u\">",
                               run_color(i), i + 1, i + 1);
        esc(o, run->id);
        g_string_append(o, "</a></td><td>");
        esc(o, run->settings[0] ? run->settings : "\xe2\x80\x93");
        g_string_append(o, "</td><td>");
        esc(o, run->status                     ? run->status
               : run->meta.state == RP_MISSING ? "no run.json"
                                               : "\xe2\x80\x93");
        g_string_append(o, "</td>");
        if (!run->ev) {
            g_string_append_printf(o, "<td colspan=\"%d\">", 3 + c.gib + c.degen + c.priv);
            esc(o, run->ev_note);
            g_string_append(o, "</td>");
        } else {
            summary_cells(o, run->ev, &c, 0);
        }
        g_string_append(o, "<td class=\"n\">");
        if (isnan(run->wall))
            g_string_append(o, "\xe2\x80\x93");
        else
            g_string_append_printf(o, "%.1f", run->wall);
        g_string_append(o, "</td></tr>\n");
    }
    g_string_append(o, "</table>\n<p class=\"cap\">Forget quality is the KS-test p-value of the "
                       "forget truth ratios against the retain model's (higher: closer to a "
                       "model never trained on the forget set); the retain model is the "
                       "reference, FQ = 1 by definition. Model utility: the harmonic mean over "
                       "the retain, real-authors and world-facts splits (higher is better). "
                       "Wall time: unlearn + its evaluation.</p>\n");
}

/* ---- 2. Forget quality against model utility --------------------------------------------- */

static void section_scatter(GString *o, const baldro_report *r, const refs *f) {
    g_string_append(o, "<h2 id=\"tradeoff\">2. Forget quality against model utility</h2>\n");
    GArray *xs = g_array_new(FALSE, FALSE, sizeof(double));
    GArray *ys = g_array_new(FALSE, FALSE, sizeof(double));
    GString *skipped = g_string_new(NULL);
    for (guint i = 0; i < r->runs->len; i++) {
        const rp_run *run = r->runs->pdata[i];
        double x = run->ev ? run->ev->sum.mu : NAN, y = run->ev ? run->ev->sum.fq : NAN;
        if (isfinite(x) && isfinite(y) && y > 0) {
            g_array_append_val(xs, x);
            g_array_append_val(ys, y);
        } else {
            g_string_append_printf(skipped, "%s%u (%s)", skipped->len ? ", " : "", i + 1,
                                   !run->ev   ? "no evaluation"
                                   : isnan(y) ? "no forget quality"
                                   : isnan(x) ? "no model utility"
                                              : "forget quality 0");
        }
    }
    for (guint i = 0; i < f->target->len; i++) {
        const rp_eval *e = f->target->pdata[i];
        if (isfinite(e->sum.mu) && isfinite(e->sum.fq) && e->sum.fq > 0) {
            g_array_append_val(xs, e->sum.mu);
            g_array_append_val(ys, e->sum.fq);
        }
    }
    for (guint i = 0; i < f->retain->len; i++) {
        const rp_eval *e = f->retain->pdata[i];
        double one = 1;
        if (isfinite(e->sum.mu)) {
            g_array_append_val(xs, e->sum.mu);
            g_array_append_val(ys, one);
        }
    }
    if (xs->len == 0) {
        note_text(o, "no run, target or retain model has both a forget quality and a model "
                     "utility to plot");
    } else {
        baldro_svg s;
        baldro_svg_begin(&s, o, 720, 440, "Forget quality (log scale) vs model utility");
        baldro_svg_axis_fit(&s.x, (double *)(void *)xs->data, xs->len, 0, 0);
        double floor_fq = 0.01; /* keep the 0.05 line and FQ = 1 in view */
        g_array_append_val(ys, floor_fq);
        baldro_svg_axis_fit(&s.y, (double *)(void *)ys->data, ys->len, 1, 0);
        s.x.pad = s.y.pad = 0.04;
        baldro_svg_axes(&s, "model utility (higher: more utility kept)",
                        "forget quality (higher: better forgetting)");
        baldro_svg_refline(&s, 1, 0.05, C_REF);
        baldro_svg_label(&s, s.x.hi, 0.05, -4, -4, "end", "p = 0.05");
        baldro_svg_legend(&s, BALDRO_SVG_KEY_POINT, run_color(0), "runs (numbered as in table 1)");
        baldro_svg_legend(&s, BALDRO_SVG_KEY_BOX, C_TARGET, "target model");
        baldro_svg_legend(&s, BALDRO_SVG_KEY_BOX, C_RETAIN_MODEL, "retain model (FQ = 1)");
        for (guint i = 0; i < f->target->len; i++) {
            const rp_eval *e = f->target->pdata[i];
            char *label = ref_label(f, "target", e);
            baldro_svg_points(&s, &e->sum.mu, &e->sum.fq, 1, C_TARGET, BALDRO_SVG_SQUARE, 6);
            baldro_svg_label(&s, e->sum.mu, e->sum.fq, 9, 4, "start", label);
            g_free(label);
        }
        for (guint i = 0; i < f->retain->len; i++) {
            const rp_eval *e = f->retain->pdata[i];
            double one = 1;
            char *label = ref_label(f, "retain", e);
            baldro_svg_points(&s, &e->sum.mu, &one, 1, C_RETAIN_MODEL, BALDRO_SVG_DIAMOND, 6);
            baldro_svg_label(&s, e->sum.mu, one, 10, 4, "start", label);
            g_free(label);
        }
        for (guint i = 0; i < r->runs->len; i++) {
            const rp_run *run = r->runs->pdata[i];
            if (!run->ev) continue;
            const double *x = &run->ev->sum.mu, *y = &run->ev->sum.fq;
            if (!(isfinite(*x) && isfinite(*y) && *y > 0)) continue;
            char id[16];
            g_snprintf(id, sizeof id, "%u", i + 1);
            baldro_svg_points(&s, x, y, 1, run_color(i), BALDRO_SVG_CIRCLE, 5.5);
            baldro_svg_label(&s, *x, *y, 7, -6, "start", id);
        }
        baldro_svg_end(&s);
        g_string_append(o, "<p class=\"cap\">Each run is a circle numbered as in table 1; the "
                           "target (before unlearning) a square, the retain model (never saw "
                           "the forget set; the KS reference, so its forget quality is 1) a "
                           "diamond. The dashed line is p = 0.05. Up and right is better.</p>\n");
    }
    if (skipped->len) {
        GString *t = g_string_new("not plotted: ");
        g_string_append(t, skipped->str);
        note_text(o, t->str);
        g_string_free(t, TRUE);
    }
    for (guint i = 0; i < f->target->len; i++) {
        const rp_eval *e = f->target->pdata[i];
        if (e->sum.part.state != RP_OK)
            note(o, &e->sum.part);
        else if (isnan(e->sum.fq) || isnan(e->sum.mu))
            note_text(o, "the target model's evaluation has no forget quality or model utility "
                         "(evaluated without --retain-logs?): not plotted");
    }
    g_string_free(skipped, TRUE);
    g_array_free(xs, TRUE);
    g_array_free(ys, TRUE);
}

/* ---- 3. Training curves ------------------------------------------------------------------ */

static int all_nan(const double *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) return 0;
    return 1;
}

static void small_curve(GString *o, const char *title, const char *ylabel, const double *x,
                        const double *y, size_t n, const char *color) {
    baldro_svg s;
    baldro_svg_begin(&s, o, 352, 250, title);
    baldro_svg_axis_fit(&s.x, x, n, 0, 0);
    baldro_svg_axis_fit(&s.y, y, n, 0, 0);
    s.y.pad = 0.03; /* a flat curve at a tick stays off the frame */
    baldro_svg_axes(&s, "step", ylabel);
    baldro_svg_line(&s, x, y, n, color, 2, 0);
    if (n == 1) baldro_svg_points(&s, x, y, 1, color, BALDRO_SVG_CIRCLE, 3);
    baldro_svg_end(&s);
}

static void section_curves(GString *o, const rp_run *run) {
    g_string_append(o, "<h3>Training curves</h3>\n");
    note(o, &run->curves.part);
    if (run->dro.part.state != RP_OK && run->curves.part.state == RP_OK) note(o, &run->dro.part);
    const rp_curves *c = &run->curves;
    int have_dro = run->dro.n_steps > 0;
    if (!c->n && !have_dro) return;
    g_string_append(o, "<div class=\"row\">\n");
    if (c->n && !all_nan(c->forget, c->n))
        small_curve(o, "Forget loss", "forget loss", c->step, c->forget, c->n, C_FORGET_LOSS);
    if (c->n && !all_nan(c->retain, c->n))
        small_curve(o, "Retain loss", "retain loss", c->step, c->retain, c->n, C_RETAIN_LOSS);
    if (have_dro)
        small_curve(o, "Forget-set log-prob", "mean log-prob per token", run->dro.step,
                    run->dro.logprob, run->dro.n_steps, C_LOGPROB);
    g_string_append(o, "</div>\n<p class=\"cap\">Per optimizer step, from metrics.jsonl (the "
                       "objective's forget and retain losses). Forget-set log-prob: minus the "
                       "mean over the step's forget samples of <code>nll_mean</code> (each "
                       "sample's token-mean NLL under the current model) in dro.jsonl; it "
                       "falls as the model forgets.</p>\n");
}

/* ---- 4. BalDRO weights ------------------------------------------------------------------- */

static void section_weights(GString *o, const rp_run *run) {
    const rp_dro *d = &run->dro;
    g_string_append(o, "<h3>BalDRO sample weights</h3>\n");
    note(o, &d->part);
    if (!d->n_steps) return;
    baldro_svg s;
    baldro_svg_begin(&s, o, 740, 280, "BalDRO weight distribution per step");
    baldro_svg_axis_fit(&s.x, d->step, d->n_steps, 0, 0);
    double *both = g_new(double, 2 * d->n_steps);
    memcpy(both, d->wmin, sizeof *both * d->n_steps);
    memcpy(both + d->n_steps, d->wmax, sizeof *both * d->n_steps);
    baldro_svg_axis_fit(&s.y, both, 2 * d->n_steps, 0, 1);
    s.y.pad = 0.03;
    g_free(both);
    baldro_svg_axes(&s, "step", "weight");
    baldro_svg_band(&s, d->step, d->wmin, d->wmax, d->n_steps, C_BAND_OUT);
    baldro_svg_band(&s, d->step, d->wq1, d->wq3, d->n_steps, C_BAND_IQR);
    baldro_svg_line(&s, d->step, d->wmed, d->n_steps, C_BAND_MED, 2, 0);
    baldro_svg_legend(&s, BALDRO_SVG_KEY_BOX, C_BAND_OUT, "min to max");
    baldro_svg_legend(&s, BALDRO_SVG_KEY_BOX, C_BAND_IQR, "quartiles");
    baldro_svg_legend(&s, BALDRO_SVG_KEY_LINE, C_BAND_MED, "median");
    baldro_svg_end(&s);
    g_string_append_printf(o,
                           "<p class=\"cap\">The weights BalDRO gave the forget samples "
                           "within each step (%zu lines of dro.jsonl over %zu steps and %zu "
                           "samples).",
                           d->n_lines, d->n_steps, d->n_items);
    if (d->uniform)
        g_string_append(o, " Every step's weights are equal: this run did not reweight "
                           "(plain objective), so the table below is ordered by the final "
                           "NLL alone.");
    g_string_append(o, "</p>\n<p class=\"cap\">Hardest to forget: the highest mean weight over "
                       "the run (then the lowest NLL at the sample's last step). "
                       "<i>item</i> is the index in the forget split.</p>\n<table>\n<tr><th>"
                       "rank</th><th>item</th><th>mean weight</th><th>max weight</th>"
                       "<th>last nll_mean</th><th>steps</th><th>question</th></tr>\n");
    size_t n = d->n_items < RP_HARDEST ? d->n_items : RP_HARDEST;
    for (size_t i = 0; i < n; i++) {
        const rp_item *it = &d->items[i];
        g_string_append_printf(o, "<tr><td class=\"n\">%zu</td><td class=\"n\">%lld</td>", i + 1,
                               (long long)it->item);
        td_num(o, it->mean_w, 4);
        td_num(o, it->max_w, 4);
        td_num(o, it->last_nll, 4);
        g_string_append_printf(o, "<td class=\"n\">%zu</td><td>", it->count);
        ptrdiff_t k = qa_find(run->ev, it->item);
        const rp_eval *src = run->ev;
        if (k < 0) {
            k = qa_find(run->target, it->item);
            src = run->target;
        }
        if (k >= 0 && src->qa.input[k])
            esc(o, src->qa.input[k]);
        else
            g_string_append(o, "\xe2\x80\x93");
        g_string_append(o, "</td></tr>\n");
    }
    g_string_append(o, "</table>\n");
    if (!(run->ev && run->ev->qa_part.state == RP_OK) &&
        !(run->target && run->target->qa_part.state == RP_OK))
        note_text(o, "no forget_Q_A_ROUGE entry in the run's or the target's TOFU_EVAL.json: "
                     "questions not shown");
}

/* ---- 5. Truth-ratio histograms ----------------------------------------------------------- */

static void section_truth_ratio(GString *o, const rp_run *run) {
    g_string_append(o, "<h3>Forget truth ratio: unlearned vs retain model</h3>\n");
    const rp_eval *u = run->ev, *rt = run->retain;
    if (!u)
        note_text(o, run->ev_note);
    else
        note(o, &u->tr_part);
    if (!rt)
        note_text(o, run->retain_note);
    else
        note(o, &rt->tr_part);
    if (!u || !rt || u->tr_part.state != RP_OK || rt->tr_part.state != RP_OK) return;
    size_t nu = u->tr.n, nr = rt->tr.n;
    double *all = g_new(double, nu + nr);
    memcpy(all, u->tr.score, sizeof *all * nu);
    memcpy(all + nu, rt->tr.score, sizeof *all * nr);
    baldro_svg s;
    baldro_svg_begin(&s, o, 600, 300, "Forget truth ratio histogram (same bins)");
    baldro_svg_axis_fit(&s.x, all, nu + nr, 0, 0);
    g_free(all);
    double edges[RP_BINS + 1], cu[RP_BINS], cr[RP_BINS];
    for (int b = 0; b <= RP_BINS; b++) edges[b] = s.x.lo + (s.x.hi - s.x.lo) * b / RP_BINS;
    rp_histogram(u->tr.score, nu, s.x.lo, s.x.hi, RP_BINS, cu);
    rp_histogram(rt->tr.score, nr, s.x.lo, s.x.hi, RP_BINS, cr);
    double top = 0;
    for (int b = 0; b < RP_BINS; b++) top = fmax(top, fmax(cu[b], cr[b]));
    baldro_svg_axis_counts(&s.y, top);
    baldro_svg_axes(&s, "truth ratio per forget item", "items");
    baldro_svg_bars(&s, edges, cr, RP_BINS, C_HIST_RETAIN, NULL);
    baldro_svg_bars(&s, edges, cu, RP_BINS, NULL, C_HIST_UNLEARN);
    baldro_svg_legend(&s, BALDRO_SVG_KEY_BOX, C_HIST_RETAIN, "retain model");
    baldro_svg_legend(&s, BALDRO_SVG_KEY_LINE, C_HIST_UNLEARN, "unlearned (this run)");
    baldro_svg_end(&s);
    double dstat = baldro_report_ks_d(u->tr.score, nu, rt->tr.score, nr);
    g_string_append(o, "<p class=\"cap\">The picture behind forget quality: the two-sample "
                       "Kolmogorov-Smirnov test compares these distributions. KS statistic "
                       "D = ");
    num(o, dstat, 3);
    g_string_append_printf(o,
                           " (%zu and %zu items); forget quality (its p-value, "
                           "TOFU_SUMMARY.json) = ",
                           nu, nr);
    num(o, u->sum.fq, 3);
    g_string_append(o, ".</p>\n");
}

/* ---- 6. Generations before and after ----------------------------------------------------- */

static void section_generations(GString *o, const rp_run *run) {
    g_string_append(o, "<h3>Generations before and after unlearning</h3>\n");
    const rp_eval *u = run->ev, *t = run->target;
    if (!u)
        note_text(o, run->ev_note);
    else
        note(o, &u->qa_part);
    if (!t)
        note_text(o, run->target_note);
    else
        note(o, &t->qa_part);
    if (!u || u->qa_part.state != RP_OK) return;
    g_string_append(o, "<table class=\"gen\">\n<tr><th>item</th><th>question</th>"
                       "<th>ground truth</th><th>before (target)</th><th>after (this run)</th>"
                       "</tr>\n");
    size_t shown = 0;
    for (size_t i = 0; i < u->qa.n && shown < RP_GENERATIONS; i++) {
        if (!u->qa.input[i]) continue;
        ptrdiff_t k = qa_find(t, u->qa.idx[i]);
        g_string_append_printf(o, "<tr><td class=\"n\">%u</td><td>", u->qa.idx[i]);
        esc_cut(o, u->qa.input[i], RP_TEXT_MAX);
        g_string_append(o, "</td><td>");
        esc_cut(o, u->qa.ground_truth[i], RP_TEXT_MAX);
        g_string_append(o, "</td><td>");
        esc_cut(o, k >= 0 ? t->qa.generation[k] : NULL, RP_TEXT_MAX);
        g_string_append(o, "</td><td>");
        esc_cut(o, u->qa.generation[i], RP_TEXT_MAX);
        g_string_append(o, "</td></tr>\n");
        shown++;
    }
    g_string_append_printf(o,
                           "</table>\n<p class=\"cap\">The first %zu forget questions by "
                           "index; greedy generations from the evaluations (longer ones cut "
                           "at %d characters).</p>\n",
                           shown, RP_TEXT_MAX);
}

/* ---- The page ----------------------------------------------------------------------------- */

static void run_details(GString *o, const baldro_report *r, guint i) {
    const rp_run *run = r->runs->pdata[i];
    int open = r->runs->len <= RP_OPEN_ALL || i == 0;
    g_string_append_printf(o,
                           "<details id=\"run-%u\"%s>\n<summary><span class=\"sw\" "
                           "style=\"background:%s\"></span>%u. ",
                           i + 1, open ? " open" : "", run_color(i), i + 1);
    esc(o, run->id);
    if (run->settings[0]) {
        g_string_append(o, " \xe2\x80\x94 ");
        esc(o, run->settings);
    }
    if (run->ev) {
        g_string_append(o, " \xe2\x80\x94 FQ ");
        num(o, run->ev->sum.fq, 3);
        g_string_append(o, ", MU ");
        num(o, run->ev->sum.mu, 4);
    }
    g_string_append(o, "</summary>\n<p class=\"cap\">Directory <code>");
    esc(o, run->dir);
    g_string_append(o, "</code></p>\n");
    note(o, &run->meta);
    /* Without an unlearn step both sections say so (their parts carry the reason). */
    section_curves(o, run);
    section_weights(o, run);
    section_truth_ratio(o, run);
    section_generations(o, run);
    g_string_append(o, "</details>\n");
}

char *baldro_report_html(const baldro_report *r, size_t *len) {
    GString *o = g_string_sized_new(1 << 16);
    refs f = refs_of(r);
    GString *title = g_string_new("baldro report");
    for (guint i = 0; i < r->exps->len; i++)
        g_string_append_printf(title, "%s%s", i ? ", " : ": ", (const char *)r->exps->pdata[i]);
    g_string_append(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>");
    esc(o, title->str);
    g_string_append_printf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", k_css);
    esc(o, title->str);
    g_string_append_printf(o, "</h1>\n<p class=\"cap\">%u run%s from ", r->runs->len,
                           r->runs->len == 1 ? "" : "s");
    for (guint i = 0; i < r->inputs->len; i++) {
        if (i) g_string_append(o, ", ");
        g_string_append(o, "<code>");
        esc(o, r->inputs->pdata[i]);
        g_string_append(o, "</code>");
    }
    g_string_append(o,
                    ". Sections: <a href=\"#summary\">1 summary table</a>, <a href=\"#tradeoff\">2 "
                    "forget quality vs utility</a>, <a href=\"#runs\">3\xe2\x80\x93"
                    "6 per "
                    "run</a>.</p>\n");
    if (r->warnings->len) {
        g_string_append_printf(o,
                               "<div class=\"note bad\"><b>%u problem%s reading the "
                               "inputs</b> (the sections concerned are marked):<ul>\n",
                               r->warnings->len, r->warnings->len == 1 ? "" : "s");
        for (guint i = 0; i < r->warnings->len; i++) {
            g_string_append(o, "<li>");
            esc(o, r->warnings->pdata[i]);
            g_string_append(o, "</li>\n");
        }
        g_string_append(o, "</ul></div>\n");
    }
    section_summary(o, r, &f);
    section_scatter(o, r, &f);
    g_string_append(o, "<h2 id=\"runs\">3\xe2\x80\x93"
                       "6. Per run: training curves, BalDRO "
                       "weights, truth ratios, generations</h2>\n");
    if (!r->runs->len) note_text(o, "no runs");
    for (guint i = 0; i < r->runs->len; i++) run_details(o, r, i);
    /* Not needed for anything on the page: tells a headless browser test it rendered. */
    g_string_append(o, "<script>console.log('baldro-report: rendered ' + "
                       "document.querySelectorAll('svg.plot').length + ' plots');</script>\n"
                       "</body>\n</html>\n");
    g_string_free(title, TRUE);
    g_ptr_array_free(f.target, TRUE);
    g_ptr_array_free(f.retain, TRUE);
    if (len) *len = o->len;
    return g_string_free(o, FALSE);
}
