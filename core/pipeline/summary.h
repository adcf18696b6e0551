/*
 * core/pipeline/summary.h: the table a sweep ends with - one row per run, and the mean
 * and spread over seeds - as CSV (spreadsheets, pandas), Markdown (a paper's appendix,
 * a pull request) and JSON (scripts), all from the runs' TOFU_SUMMARY.json files.
 */
#ifndef BALDRO_CORE_PIPELINE_SUMMARY_H
#define BALDRO_CORE_PIPELINE_SUMMARY_H

#include <stddef.h>

#include "config/config.h"
#include "util/error.h"

typedef struct baldro_summary_run {
    const char *id;
    char **labels;          /* one per axis: the value this run takes */
    const char *status;     /* "done", "failed: unlearn", ... */
    double wall_seconds;    /* unlearning + its evaluation */
    const char *summary;    /* TOFU_SUMMARY.json of the unlearned model, or NULL */
} baldro_summary_run;

/* Writes DIR/summary.csv, summary.md and summary.json (atomically). `target` and
 * `retain` are the reference models' TOFU_SUMMARY.json (may be NULL); they are rows of
 * their own. Runs that differ only in run.seed (when it is an axis) are grouped: mean
 * and sample standard deviation over the runs that finished. A summary file that cannot
 * be read leaves that run's figures empty and is named in a warning. */
int baldro_summary_write(const char *dir, const baldro_sweep_axis *axes, size_t n_axes,
                         const baldro_summary_run *runs, size_t n_runs, const char *target,
                         const char *retain, baldro_error *err);

#endif /* BALDRO_CORE_PIPELINE_SUMMARY_H */
