/*
 * core/pipeline/step.h: what makes a pipeline step skippable - its content hash - and the
 * small record (step.json) each step directory keeps.
 *
 * A step's hash covers exactly the settings that change its output (the canonical text
 * of those settings, baldro_config_canonical) plus the hashes of the steps it reads
 * from, so changing eval.max_new_tokens re-runs evaluations but not training, and a
 * sweep over baldro.tau shares one fine-tuned target model between its points. A model
 * the user brings (pipeline.target_model) stands in by a fingerprint of its files
 * (names, sizes, modification times): hashing 16 GB of weights would cost more than the
 * evaluation it guards.
 */
#ifndef BALDRO_CORE_PIPELINE_STEP_H
#define BALDRO_CORE_PIPELINE_STEP_H

#include "config/config.h"
#include "util/error.h"

typedef enum baldro_step_kind {
    BALDRO_STEP_FINETUNE = 0,
    BALDRO_STEP_UNLEARN,
    BALDRO_STEP_EVAL
} baldro_step_kind;

/* finetune.lr / .epochs / .seed over trainer.lr / trainer.epochs / run.seed, when set:
 * the view of the config `finetune` (and the pipeline's fine-tuning steps) train with. */
int baldro_step_apply_finetune(baldro_config *cfg, baldro_error *err);

/* The canonical inputs of a step: "step = NAME" and the settings of `kind`, then
 * `upstream` (lines naming the hashes of what the step reads), as one text. g_free(). */
char *baldro_step_inputs(const baldro_config *cfg, baldro_step_kind kind, const char *name,
                         const char *upstream);
/* SHA-256 of a text, lowercase hex. g_free(). */
char *baldro_step_hash(const char *text);
/* Fingerprint of a model path (file or directory, not recursive below one level of
 * sub-directories): SHA-256 over "name size mtime" lines, sorted. */
int baldro_step_fingerprint(const char *path, char **hex, baldro_error *err);

/* step.json of a step directory. */
typedef struct baldro_step_record {
    char *status;   /* "running", "done"; NULL when there is no record */
    char *hash;
    double seconds; /* wall time of the run that finished it */
} baldro_step_record;

/* Reads DIR/step.json; a missing file gives an empty record and BALDRO_OK, a broken one
 * an error naming the file and field. */
int baldro_step_read(const char *dir, baldro_step_record *rec, baldro_error *err);
/* Writes DIR/step.json atomically (DIR must exist). */
int baldro_step_write(const char *dir, const char *name, const char *status, const char *hash,
                      const char *inputs, double seconds, baldro_error *err);
void baldro_step_record_clear(baldro_step_record *rec);

/* DIR/checkpoint-N with the largest N that holds trainer_state.json, or NULL. g_free(). */
char *baldro_step_latest_checkpoint(const char *dir);

/* Removes DIR/checkpoint-N directories: a step that starts over must not later resume
 * from a checkpoint of a run with other inputs. */
int baldro_step_clear_checkpoints(const char *dir, baldro_error *err);

#endif /* BALDRO_CORE_PIPELINE_STEP_H */
