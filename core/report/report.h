/*
 * core/report/report.h: the experiment report, one self-contained HTML page (inline CSS and
 * SVG, no network) over the run directories the pipeline writes (docs/report.md):
 *
 *   1 a summary table of the runs (settings, forget quality, model utility, forget truth
 *     ratio, fluency, wall time), the target and retain models as reference rows;
 *   2 forget quality (log10) against model utility, every run, target and retain marked;
 *   3 per run, training curves per step: forget loss, retain loss, forget-set log-prob;
 *   4 the BalDRO weight distribution per step and the hardest-to-forget samples;
 *   5 truth-ratio histograms of the unlearned and the retain model, with the KS statistic;
 *   6 before / after generations for a few forget questions.
 * Sections 3-6 are per run, in <details> (open for the first run).
 *
 * Each input is an experiment directory (pipeline.json: all its runs) or one run directory
 * (run.json). A step that is missing is said so in its section; a malformed file gives one
 * warning naming the file and field, its section is marked, the rest is still reported.
 * Only a directory with neither file is an error. The same inputs give the same bytes.
 */
#ifndef BALDRO_REPORT_REPORT_H
#define BALDRO_REPORT_REPORT_H

#include <stddef.h>

#include "util/error.h"

typedef struct baldro_report baldro_report;

/* Reads the runs of dirs[0..n). An input with neither pipeline.json nor run.json (or that
 * cannot be read) is BALDRO_ENOTFOUND with one line naming it; problems inside the files
 * become warnings (baldro_report_warning). */
int baldro_report_load(const char *const *dirs, size_t n, baldro_report **out, baldro_error *err);

size_t baldro_report_n_runs(const baldro_report *r);
/* One line each, in the order met: "<file>: <field>: <reason>". */
size_t baldro_report_n_warnings(const baldro_report *r);
const char *baldro_report_warning(const baldro_report *r, size_t i);
/* 1 if the input was an experiment directory (has pipeline.json). */
int baldro_report_input_is_experiment(const baldro_report *r, size_t input);

/* The page, NUL-terminated; g_free() it. */
char *baldro_report_html(const baldro_report *r, size_t *len);

void baldro_report_free(baldro_report *r);

/* Two-sample Kolmogorov-Smirnov statistic sup |F_x - F_y| (NaNs skipped; NaN when a sample
 * has no finite value). The report prints it beside the truth-ratio histograms. */
double baldro_report_ks_d(const double *x, size_t nx, const double *y, size_t ny);

#endif /* BALDRO_REPORT_REPORT_H */
