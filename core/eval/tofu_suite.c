/* core/eval/tofu_suite.c: see tofu_suite.h. */
#include "eval/tofu_suite.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One reported figure: open-unlearning's name, the metric plugin computing it, the
 * split it reads, the optional-report bit that enables it (0: always), the per-item
 * field name in TOFU_EVAL.json (NULL: a value only) and its slot among the nine values
 * model utility averages (-1: none). */
typedef struct report {
    const char *key, *metric;
    int split;
    unsigned opt;
    const char *item_key;
    int mu_slot;
} report;

static const report k_reports[] = {
    {"forget_Q_A_Prob", "probability", BALDRO_SUITE_FORGET, 0, "prob", -1},
    {"forget_Q_A_ROUGE", "rouge", BALDRO_SUITE_FORGET, 0, "rougeL_recall", -1},
    {"forget_truth_ratio", "truth_ratio", BALDRO_SUITE_FORGET, 0, "score", -1},
    {"retain_Q_A_Prob", "probability", BALDRO_SUITE_RETAIN, 0, "prob", 0},
    {"retain_Q_A_ROUGE", "rouge", BALDRO_SUITE_RETAIN, 0, "rougeL_recall", 1},
    {"retain_Truth_Ratio", "truth_ratio", BALDRO_SUITE_RETAIN, 0, "score", 2},
    {"ra_Q_A_Prob_normalised", "probability", BALDRO_SUITE_RA, 0, "prob", 3},
    {"ra_Q_A_ROUGE", "rouge", BALDRO_SUITE_RA, 0, "rougeL_recall", 4},
    {"ra_Truth_Ratio", "truth_ratio", BALDRO_SUITE_RA, 0, "score", 5},
    {"wf_Q_A_Prob_normalised", "probability", BALDRO_SUITE_WF, 0, "prob", 6},
    {"wf_Q_A_ROUGE", "rouge", BALDRO_SUITE_WF, 0, "rougeL_recall", 7},
    {"wf_Truth_Ratio", "truth_ratio", BALDRO_SUITE_WF, 0, "score", 8},
    {"forget_quality", "forget_quality", BALDRO_SUITE_FORGET, 0, NULL, -1},
    {"mia_min_k", "mia_min_k", BALDRO_SUITE_FORGET, BALDRO_SUITE_PRIVLEAK, "score", -1},
    {"privleak", "privleak", BALDRO_SUITE_FORGET, BALDRO_SUITE_PRIVLEAK, NULL, -1},
    {"extraction_strength", "extraction_strength", BALDRO_SUITE_FORGET, BALDRO_SUITE_ES, "score",
     -1},
    {"forget_Q_A_gibberish", "gibberish", BALDRO_SUITE_FORGET, BALDRO_SUITE_GIBBERISH, "score",
     -1},
    {"forget_degeneration", "degeneration", BALDRO_SUITE_FORGET, BALDRO_SUITE_DEGEN, "score", -1},
};
#define N_REPORTS (sizeof k_reports / sizeof k_reports[0])

static const char *const k_prefix[4] = {"forget", "retain", "ra", "wf"};

static const baldro_object *find_metric(const baldro_registry *reg, const char *name,
                                        const char *key, baldro_error *err) {
    const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_METRIC, name);
    if (!o)
        baldro_error_set(err, BALDRO_ENOTFOUND, "%s: metric '%s' is not loaded (the "
                         "metrics_tofu plugin registers it)", key, name);
    return o;
}

int baldro_suite_needs(const baldro_registry *reg, unsigned want, int split, uint32_t *needs,
                       baldro_error *err) {
    *needs = 0;
    for (size_t r = 0; r < N_REPORTS; r++) {
        const report *p = &k_reports[r];
        if (p->opt && !(want & p->opt)) continue;
        const baldro_object *o = find_metric(reg, p->metric, p->key, err);
        if (!o) return err->code;
        const uint32_t nd = o->vt.metric.needs;
        if (split == BALDRO_SUITE_HOLDOUT) {
            /* a held-out split is read as the forget split's answers are, token level */
            if (p->split == BALDRO_SUITE_FORGET && (nd & BALDRO_METRIC_NEEDS_HOLDOUT))
                *needs |= BALDRO_METRIC_NEEDS_SCORES | (nd & BALDRO_METRIC_NEEDS_TOKENS);
        } else if (p->split == split) {
            *needs |= nd & ~(uint32_t)BALDRO_METRIC_NEEDS_HOLDOUT;
        }
    }
    return BALDRO_OK;
}

/* create() with the metric's parameters: from the config, else their defaults. */
static int create_metric(const baldro_object *o, const baldro_config *cfg, void **st,
                         baldro_error *err) {
    const baldro_param_spec *spec = o->vt.metric.params;
    size_t n = 0;
    while (spec && spec[n].name) n++;
    baldro_param_value *vals = g_new0(baldro_param_value, n + 1);
    int rc = BALDRO_OK;
    if (cfg && n) {
        rc = baldro_config_param_values(cfg, "metrics", o->name, spec, vals, err);
    } else {
        for (size_t i = 0; i < n; i++)
            vals[i] = (baldro_param_value){spec[i].type, spec[i].default_float,
                                           spec[i].default_int, spec[i].default_string};
    }
    char perr[512] = "";
    *st = NULL;
    if (!rc && o->vt.metric.create && o->vt.metric.create(st, spec ? vals : NULL, perr, sizeof perr))
        rc = baldro_error_set(err, BALDRO_EPLUGIN, "metric %s: %s", o->name, perr);
    g_free(vals);
    return rc;
}

/* The reference a metric declares (vtable reference_key / reference_agg). */
static int reference_of(const baldro_object *o, const baldro_suite_input *in, const double **ref,
                        size_t *n_ref, baldro_error *err) {
    *ref = NULL;
    *n_ref = 0;
    if (!(o->vt.metric.needs & BALDRO_METRIC_NEEDS_REFERENCE)) return BALDRO_OK;
    const char *key = o->vt.metric.reference_key ? o->vt.metric.reference_key
                                                 : "forget_truth_ratio";
    if (strcmp(key, "forget_truth_ratio") == 0 && !o->vt.metric.reference_agg) {
        *ref = in->ref_tr;
        *n_ref = in->ref_tr ? in->n_ref_tr : 0;
    } else if (strcmp(key, "mia_min_k") == 0 && o->vt.metric.reference_agg) {
        if (isfinite(in->ref_auc)) *ref = &in->ref_auc, *n_ref = 1;
    } else {
        return baldro_error_set(err, BALDRO_EUNSUPPORTED, "metric %s: reference '%s' (%s) is "
                                "not one the suite reads from a retain log", o->name, key,
                                o->vt.metric.reference_agg ? "agg_value" : "per item");
    }
    return BALDRO_OK;
}

/* Runs metric `o` on split k; per-item scores into scores[n], holdout ones into hs. */
static int run_metric(const baldro_object *o, const baldro_config *cfg,
                      const baldro_suite_input *in, int k, double *scores, double *hs,
                      double *value, baldro_error *err) {
    const baldro_suite_split *s = &in->s[k], *h = &in->s[BALDRO_SUITE_HOLDOUT];
    baldro_metric_input mi = {.struct_size = sizeof mi, .split = s->name, .n_items = s->n,
                              .items = s->items};
    int rc = reference_of(o, in, &mi.reference, &mi.n_reference, err);
    if (rc) return rc;
    if (o->vt.metric.needs & BALDRO_METRIC_NEEDS_HOLDOUT) {
        mi.holdout_split = h->name;
        mi.n_holdout = h->n;
        mi.holdout = h->items;
    }
    for (size_t i = 0; i < s->n; i++) scores[i] = NAN;
    for (size_t i = 0; i < h->n; i++) hs[i] = NAN;
    baldro_metric_output out = {.struct_size = sizeof out, .item_scores = scores, .value = NAN,
                                .holdout_scores = hs};
    void *st = NULL;
    if ((rc = create_metric(o, cfg, &st, err))) return rc;
    char perr[512] = "";
    rc = o->vt.metric.compute(st, &mi, &out, perr, sizeof perr);
    if (o->vt.metric.destroy) o->vt.metric.destroy(st);
    if (rc) return baldro_error_set(err, BALDRO_EINVAL, "metric %s: %s", o->name, perr);
    *value = out.value;
    return BALDRO_OK;
}

/* ---- JSON ---------------------------------------------------------------------------- */

/* A number, or null where it is not finite (JSON has no NaN). */
static void add_num(JsonBuilder *b, const char *name, double v) {
    if (name) json_builder_set_member_name(b, name);
    if (isfinite(v)) json_builder_add_double_value(b, v);
    else json_builder_add_null_value(b);
}

static void add_str(JsonBuilder *b, const char *name, const char *s) {
    json_builder_set_member_name(b, name);
    if (s) json_builder_add_string_value(b, s);
    else json_builder_add_null_value(b);
}

static void begin_index(JsonBuilder *b, size_t i) {
    char idx[24];
    g_snprintf(idx, sizeof idx, "%zu", i);
    json_builder_set_member_name(b, idx);
    json_builder_begin_object(b);
}

/* {"agg_value": v, "value_by_index": {"i": {<item_key>: s, [<key2>: s2,] "input",
 *  "ground_truth", "generation"}}} (value only when item_key is NULL). */
static void add_report(JsonBuilder *b, const char *key, double v, const baldro_suite_split *s,
                       const char *item_key, const double *sc, const char *key2,
                       const double *sc2) {
    json_builder_set_member_name(b, key);
    json_builder_begin_object(b);
    add_num(b, "agg_value", v);
    if (item_key) {
        json_builder_set_member_name(b, "value_by_index");
        json_builder_begin_object(b);
        for (size_t i = 0; i < s->n; i++) {
            const baldro_eval_item *it = s->items[i];
            begin_index(b, i);
            add_num(b, item_key, sc[i]);
            if (key2) add_num(b, key2, sc2[i]);
            add_str(b, "input", it->question);
            add_str(b, "ground_truth", it->ground_truth);
            add_str(b, "generation", it->generation);
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
}

/* {"agg_value": mean, "value_by_index": {"i": {"score": s}}} */
static void add_scores(JsonBuilder *b, const char *key, const double *sc, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += sc[i];
    json_builder_set_member_name(b, key);
    json_builder_begin_object(b);
    add_num(b, "agg_value", n ? sum / (double)n : NAN);
    json_builder_set_member_name(b, "value_by_index");
    json_builder_begin_object(b);
    for (size_t i = 0; i < n; i++) {
        begin_index(b, i);
        add_num(b, "score", sc[i]);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
}

static double avg(double nll, int32_t n) { return n > 0 ? nll / n : NAN; }

/* open-unlearning's pre-computed entries of split k, for re-aggregation:
 * {p}_Q_A_Prob {prob, avg_loss} (ra / wf: the unnormalised one), {p}_Q_A_PARA_Prob
 * (where the split has paraphrases) and {p}_Q_A_PERT_Prob {prob: [..], avg_loss: [..]}. */
static void add_raw(JsonBuilder *b, const baldro_suite_split *s, int k) {
    const int options = k == BALDRO_SUITE_RA || k == BALDRO_SUITE_WF;
    for (int which = options ? 0 : 1; which < 3; which++) {
        if (which == 1 && !options && s->n && !(s->items[0]->para_tokens > 0 ||
                                                isfinite(s->items[0]->para_nll)))
            continue; /* no paraphrases */
        if (which == 1 && options) continue;
        char *key = g_strdup_printf("%s_Q_A_%sProb", k_prefix[k],
                                    which == 0 ? "" : which == 1 ? "PARA_" : "PERT_");
        json_builder_set_member_name(b, key);
        g_free(key);
        json_builder_begin_object(b);
        double sum = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < s->n; i++) {
            const baldro_eval_item *it = s->items[i];
            if (which == 2) {
                for (int32_t j = 0; j < it->n_alt; j++, cnt++)
                    sum += exp(-avg(it->alt_nll[j], it->alt_tokens[j]));
            } else {
                sum += exp(-(which == 0 ? avg(it->nll, it->n_tokens)
                                        : avg(it->para_nll, it->para_tokens)));
                cnt++;
            }
        }
        add_num(b, "agg_value", cnt ? sum / (double)cnt : NAN);
        json_builder_set_member_name(b, "value_by_index");
        json_builder_begin_object(b);
        for (size_t i = 0; i < s->n; i++) {
            const baldro_eval_item *it = s->items[i];
            begin_index(b, i);
            if (which == 2) {
                for (int f = 0; f < 2; f++) {
                    json_builder_set_member_name(b, f ? "avg_loss" : "prob");
                    json_builder_begin_array(b);
                    for (int32_t j = 0; j < it->n_alt; j++) {
                        double a = avg(it->alt_nll[j], it->alt_tokens[j]);
                        add_num(b, NULL, f ? a : exp(-a));
                    }
                    json_builder_end_array(b);
                }
            } else {
                double a = which == 0 ? avg(it->nll, it->n_tokens)
                                      : avg(it->para_nll, it->para_tokens);
                add_num(b, "prob", exp(-a));
                add_num(b, "avg_loss", a);
            }
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
}

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

static void put(JsonBuilder *summary, FILE *table, const char *key, double v, const char *note) {
    add_num(summary, key, v);
    if (table) fprintf(table, "%-26s %.10g%s%s\n", key, v, note ? "  " : "", note ? note : "");
}

int baldro_suite_run(const baldro_registry *reg, const baldro_config *cfg,
                     const baldro_suite_input *in, JsonBuilder *eval, JsonBuilder *summary,
                     FILE *table, baldro_error *err) {
    size_t nmax = 1;
    for (int k = 0; k < BALDRO_SUITE_NSPLIT; k++) nmax = MAX(nmax, in->s[k].n);
    double *sc = g_new(double, nmax), *sc2 = g_new(double, nmax), *hs = g_new(double, nmax);
    double nine[9], v = NAN;
    int have_nine = 1, rc = BALDRO_OK;
    if (table) fprintf(table, "%-26s %s\n", "metric", "value");
    for (size_t r = 0; r < N_REPORTS && !rc; r++) {
        const report *p = &k_reports[r];
        if (p->opt && !(in->want & p->opt)) continue;
        const baldro_suite_split *s = &in->s[p->split];
        if (s->n == 0) {
            if (p->mu_slot >= 0) have_nine = 0;
            continue;
        }
        const baldro_object *o = find_metric(reg, p->metric, p->key, err);
        if (!o) {
            rc = err->code;
            break;
        }
        const char *note = NULL;
        if (strcmp(p->key, "forget_quality") == 0 && !in->ref_tr) {
            if (table) fprintf(table, "%-26s (no retain logs: set --retain-logs or "
                               "eval.retain_logs)\n", p->key);
            continue;
        }
        if ((o->vt.metric.needs & BALDRO_METRIC_NEEDS_HOLDOUT) &&
            in->s[BALDRO_SUITE_HOLDOUT].n == 0) {
            if (table) fprintf(table, "%-26s (no holdout split scored)\n", p->key);
            continue;
        }
        if (strcmp(p->key, "privleak") == 0 && !isfinite(in->ref_auc))
            note = "(no retain log: against AUC 0.5, as open-unlearning)";
        rc = run_metric(o, cfg, in, p->split, sc, hs, &v, err);
        if (rc) break;
        if (p->mu_slot >= 0) nine[p->mu_slot] = v;
        const char *key2 = NULL;
        if (strcmp(p->metric, "rouge") == 0) {
            const baldro_object *o1 = find_metric(reg, "rouge1", p->key, err);
            double v1;
            if (!o1 || (rc = run_metric(o1, cfg, in, p->split, sc2, hs, &v1, err))) {
                rc = o1 ? rc : err->code;
                break;
            }
            key2 = "rouge1_recall";
        } else if (strcmp(p->metric, "probability") == 0 && p->split <= BALDRO_SUITE_RETAIN) {
            /* open-unlearning's {p}_Q_A_Prob items carry the average loss too */
            for (size_t i = 0; i < s->n; i++) sc2[i] = avg(s->items[i]->nll, s->items[i]->n_tokens);
            key2 = "avg_loss";
        }
        if (eval && strcmp(p->key, "mia_min_k") == 0) {
            /* open-unlearning's layout: the AUC, and each side's scores */
            json_builder_set_member_name(eval, p->key);
            json_builder_begin_object(eval);
            add_num(eval, "agg_value", v);
            add_num(eval, "auc", v);
            add_scores(eval, "forget", sc, s->n);
            add_scores(eval, "holdout", hs, in->s[BALDRO_SUITE_HOLDOUT].n);
            json_builder_end_object(eval);
        } else if (eval) {
            add_report(eval, p->key, v, s, p->item_key, sc, key2, sc2);
        }
        put(summary, table, p->key, v, note);
    }
    if (!rc && have_nine) {
        double mu = hmean(nine, 9);
        if (eval) add_report(eval, "model_utility", mu, NULL, NULL, NULL, NULL, NULL);
        put(summary, table, "model_utility", mu, NULL);
    } else if (!rc && table) {
        fprintf(table, "%-26s (needs the retain, real authors and world facts splits)\n",
                "model_utility");
    }
    if (!rc && eval && in->with_raw)
        for (int k = 0; k < 4; k++)
            if (in->s[k].n) add_raw(eval, &in->s[k], k);
    g_free(sc);
    g_free(sc2);
    g_free(hs);
    return rc;
}

int baldro_suite_metric(const baldro_registry *reg, const baldro_config *cfg,
                        const char *metric, const baldro_suite_split *s, double *scores,
                        double *value, baldro_error *err) {
    const baldro_object *o = find_metric(reg, metric, metric, err);
    if (!o) return err->code;
    baldro_suite_input in = {.ref_auc = NAN};
    in.s[BALDRO_SUITE_FORGET] = *s;
    double hs[1];
    return run_metric(o, cfg, &in, BALDRO_SUITE_FORGET, scores, hs, value, err);
}

typedef struct {
    double v;
    int holdout;
} labelled;

static int cmp_labelled(const void *a, const void *b) {
    const labelled *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

/* Mann-Whitney: the holdout scores' rank sum (average ranks over ties) less its minimum,
 * over the number of (holdout, forget) pairs. */
double baldro_suite_auc(const double *forget, size_t n_forget, const double *holdout,
                        size_t n_holdout) {
    const size_t n = n_forget + n_holdout;
    if (!n_forget || !n_holdout) return NAN;
    labelled *l = g_new(labelled, n);
    for (size_t i = 0; i < n; i++) {
        l[i].holdout = i >= n_forget;
        l[i].v = l[i].holdout ? holdout[i - n_forget] : forget[i];
        if (!isfinite(l[i].v)) {
            g_free(l);
            return NAN;
        }
    }
    qsort(l, n, sizeof *l, cmp_labelled);
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && l[j].v == l[i].v) j++;
        const double r = 0.5 * (double)(i + 1 + j); /* ranks i+1 .. j, averaged */
        for (size_t k = i; k < j; k++)
            if (l[k].holdout) rank_sum += r;
        i = j;
    }
    g_free(l);
    const double h = (double)n_holdout;
    return (rank_sum - h * (h + 1) / 2) / (h * (double)n_forget);
}

double baldro_suite_privleak(double auc, double ref_auc) {
    const double score = 1 - auc, ref = 1 - ref_auc;
    return (score - ref) / (ref + 1e-10) * 100;
}
