/*
 * core/eval/eval_log.h: open-unlearning's per-item evaluation log (TOFU_EVAL.json, also the
 * layout baldro writes) turned into the evaluator's items, so that the metric plugins
 * recompute every summary figure without a model, as for the legacy logs (legacy_logs.h).
 *
 * The file is one JSON object {metric: {"agg_value": v, "value_by_index": {"<dataset
 * index>": {...}}, ...}}. Per split prefix p (forget, retain, ra, wf) the reader takes
 *   {p}_Q_A_Prob        value_by_index[i].avg_loss           -> nll (n_tokens = 1)
 *   {p}_Q_A_PARA_Prob   value_by_index[i].avg_loss           -> para_nll (para_tokens = 1);
 *                       forget and retain only (ra / wf: NaN and 0, the metrics then use
 *                       the answer itself, as open-unlearning's ra/wf truth ratio does)
 *   {p}_Q_A_PERT_Prob   value_by_index[i].avg_loss [list]    -> alt_nll[] (alt_tokens 1)
 *   {p}_Q_A_ROUGE       value_by_index[i].input, .ground_truth, .generation -> the strings
 * so nll / n_tokens is the logged per-token average. "prob" and the ROUGE scores are
 * type-checked where present but not used: the metrics recompute them. Items are in
 * ascending numeric index order; the four entries of a split must hold exactly the same
 * indices, and every item of a split as many perturbed answers (1 to 64). A split whose
 * entries are all absent has n = 0 (the caller says what cannot be recomputed); some
 * present and some absent is an error naming both. Besides the items, the per-item scores
 * of forget_truth_ratio (the forget-quality reference when this is a retain model's log),
 * mia_min_k.forget / .holdout and its agg_value (the AUC), extraction_strength and
 * forget_Q_A_gibberish, where present. Other entries (privleak, forget_quality,
 * model_utility, *_Truth_Ratio, *_Prob_normalised, ...) are ignored.
 *
 * A number may be JSON null (open-unlearning's failed items): it reads as NaN, which the
 * metric plugins report by item; it is never dropped. Bounds: files up to 1 GiB, indices
 * canonical decimal ("0", "17"; no sign, no leading zero) up to 10^9, at most 64 perturbed
 * answers. Errors are one line naming the file, the metric key, the index and the field:
 *   "<file>: forget_Q_A_PERT_Prob.value_by_index.17.avg_loss: expected a list of numbers"
 */
#ifndef BALDRO_EVAL_EVAL_LOG_H
#define BALDRO_EVAL_EVAL_LOG_H

#include <json-glib/json-glib.h>
#include <stddef.h>
#include <stdint.h>

#include "eval/legacy_logs.h"
#include "util/error.h"

typedef struct baldro_eval_log {
    baldro_legacy_log qa;   /* the four splits' items, as legacy_logs fills them; split
                               names "forget_perturbed", "retain_perturbed",
                               "real_authors_perturbed", "world_facts_perturbed" (set
                               also when n = 0)                                          */
    double *forget_tr;    size_t n_forget_tr;    /* forget_truth_ratio scores, or NULL  */
    double *mia_forget;   size_t n_mia_forget;   /* mia_min_k.forget scores, or NULL    */
    double *mia_holdout;  size_t n_mia_holdout;
    double mia_auc;                              /* mia_min_k.agg_value or NAN          */
    double *es;           size_t n_es;           /* extraction_strength scores or NULL  */
    double *gibberish;    size_t n_gibberish;    /* forget_Q_A_gibberish scores or NULL */
} baldro_eval_log;

/* 1 if the text is a TOFU_EVAL.json-style log: a top-level object one of whose members is
 * an object holding "value_by_index" (e.g. forget_Q_A_Prob); 0 otherwise, and 0 for the
 * legacy eval_log_aggregated.json. Looks at the first 16 MiB only. */
int baldro_eval_log_detect(const char *text, size_t len);

int baldro_eval_log_load(const char *path, baldro_eval_log *out, baldro_error *err);
/* The same from memory; `path` names the input in messages. */
int baldro_eval_log_parse(const char *text, size_t len, const char *path, baldro_eval_log *out,
                          baldro_error *err);

/* Only the forget-quality / privleak reference parts (forget_truth_ratio, mia_min_k), for a
 * retain model's log that may lack the QA entries; at least one of the two must be there.
 * qa is left empty (n = 0), es and gibberish NULL. */
int baldro_eval_log_load_reference(const char *path, baldro_eval_log *out, baldro_error *err);
int baldro_eval_log_parse_reference(const char *text, size_t len, const char *path,
                                    baldro_eval_log *out, baldro_error *err);

/* Frees everything and zeroes the log (mia_auc NAN). Safe on a zeroed or cleared log. */
void baldro_eval_log_clear(baldro_eval_log *l);

/* ---- Parts of a log, for readers that show them (the report) ---------------------------- */

/* A TOFU_EVAL.json or TOFU_SUMMARY.json as a JSON tree, read as the loaders above read a log
 * (1 GiB limit, Python's NaN and Infinity as null, strict syntax). NULL with err set, else
 * json_node_unref() it. */
JsonNode *baldro_eval_json_load(const char *path, baldro_error *err);

/* One entry's items with their dataset indices, ascending: value_by_index[i].score and the
 * strings input, ground_truth and generation, each optional per item (NaN or NULL when
 * absent; null reads as NaN; a present field of another type is an error naming the key,
 * index and field). An absent `key` is BALDRO_ENOTFOUND with a message; `path` names the
 * file in messages. */
typedef struct baldro_eval_entry {
    size_t n;
    uint32_t *idx;                             /* [n] dataset indices                */
    double *score;                             /* [n]                                */
    char **input, **ground_truth, **generation;/* [n] each, owned; NULL where absent */
} baldro_eval_entry;

int baldro_eval_entry_read(JsonNode *root, const char *path, const char *key,
                           baldro_eval_entry *out, baldro_error *err);
/* Frees and zeroes. Safe on a zeroed entry. */
void baldro_eval_entry_clear(baldro_eval_entry *e);

#endif /* BALDRO_EVAL_EVAL_LOG_H */
