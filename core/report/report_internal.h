/*
 * core/report/report_internal.h: the report's data, shared by report_load.c (reads the run
 * directories), report_stats.c (per-step and per-item figures) and report_html.c (writes
 * the page). Not installed.
 */
#ifndef BALDRO_REPORT_INTERNAL_H
#define BALDRO_REPORT_INTERNAL_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "eval/eval_log.h"
#include "report/report.h"

/* Where a part of the report stands. A part that is not RP_OK carries a note (one line,
 * raw text; escaped when written) that its section shows instead of, or beside, the plot. */
typedef enum { RP_OK = 0, RP_MISSING, RP_MALFORMED } rp_state;

typedef struct rp_part {
    rp_state state;
    char *note;
} rp_part;

/* TOFU_SUMMARY.json's figures; NaN where absent. */
typedef struct rp_summary {
    rp_part part;
    double fq, mu, ftr, gibberish, degeneration, privleak, es;
} rp_summary;

/* One evaluation step directory (TOFU_SUMMARY.json, TOFU_EVAL.json). Target and retain
 * evaluations are shared by the runs of an experiment: loaded once, by canonical path. */
typedef struct rp_eval {
    char *dir;   /* canonical path                                     */
    char *shown; /* the path as the report shows it                     */
    char *exp;   /* experiment name of the first run that used it, or NULL */
    rp_summary sum;
    rp_part log; /* TOFU_EVAL.json as a whole                           */
    rp_part tr_part, qa_part;
    baldro_eval_entry tr; /* forget_truth_ratio: .score per item                 */
    baldro_eval_entry qa; /* forget_Q_A_ROUGE: .input, .ground_truth, .generation */
} rp_eval;

/* metrics.jsonl: one row per optimizer step. */
typedef struct rp_curves {
    rp_part part;
    size_t n;
    double *step, *loss, *forget, *retain; /* [n]; NaN where a row lacks the field */
} rp_curves;

/* One forget sample over the run (dro.jsonl). */
typedef struct rp_item {
    int64_t item; /* index into the forget split                 */
    size_t count; /* lines                                       */
    double mean_w, max_w;
    double last_nll; /* nll_mean at the sample's last step          */
} rp_item;

/* dro.jsonl, per step and per sample. */
typedef struct rp_dro {
    rp_part part;
    size_t n_lines;
    size_t n_steps;
    double *step, *wmin, *wq1, *wmed, *wq3, *wmax, *logprob; /* [n_steps]             */
    size_t n_items;
    rp_item *items; /* [n_items]: highest mean weight first, then the lowest last_nll,
                       then the item index                                     */
    int uniform;    /* every step's weights all equal (no reweighting)        */
} rp_dro;

typedef struct rp_run {
    char *id;
    char *dir;      /* as given or joined from the experiment directory */
    char *exp;      /* the experiment's name, NULL for a run given alone */
    char *settings; /* "key=value, ..." raw, "" with no sweep           */
    char *status;   /* run.json status, or NULL                          */
    double wall;    /* unlearn + eval-unlearn seconds, NaN if unknown    */
    rp_part meta;   /* run.json                                          */
    rp_curves curves;
    rp_dro dro;
    rp_eval *ev, *target, *retain;             /* borrowed from the report; NULL: no such step */
    char *ev_note, *target_note, *retain_note; /* why NULL                     */
} rp_run;

struct baldro_report {
    GPtrArray *runs;     /* rp_run *                                        */
    GPtrArray *evals;    /* rp_eval *, owned, in the order first met         */
    GHashTable *by_dir;  /* canonical dir -> rp_eval * (borrowed)            */
    GPtrArray *warnings; /* char *                                           */
    GPtrArray *inputs;   /* char *: the directories as given                 */
    GArray *is_exp;      /* int per input                                    */
    GPtrArray *exps;     /* char *: experiment names, in input order         */
};

/* report_load.c */
void rp_warn(baldro_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_part_set(rp_part *p, rp_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* report_stats.c: the per-step weight quantiles, log-prob and per-item table from the
 * rows of dro.jsonl (row r: step[r], item[r], weight[r], nll[r]; any order). */
void rp_dro_summarise(rp_dro *d, const double *step, const int64_t *item, const double *weight,
                      const double *nll, size_t n_rows);
/* Equal-width bins over [lo, hi] (the last bin closed): counts[n_bins] of the finite
 * values of v. */
void rp_histogram(const double *v, size_t n, double lo, double hi, size_t n_bins, double *counts);

#endif /* BALDRO_REPORT_INTERNAL_H */
