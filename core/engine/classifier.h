/*
 * core/engine/classifier.h: encoder classifiers (sdk/include/baldro/classifier.h) on the
 * host side: the gibberish detector of TOFU's fluency metric.
 *
 * A classifier is an HF checkpoint directory: config.json's model_type picks the
 * registered classifier of that name (plugin "distilbert" for the DistilBERT detector), the
 * weights come from model.safetensors or a sharded model.safetensors.index.json through
 * the bounds-checked safetensors reader (F32, F16, BF16, F64 converted to fp32), and the
 * plugin reads its own tokenizer files. Errors are one line naming the file.
 */
#ifndef BALDRO_ENGINE_CLASSIFIER_H
#define BALDRO_ENGINE_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "plugin/registry.h"
#include "util/error.h"

typedef struct baldro_classifier baldro_classifier;

/* Opens `dir`. Errors: BALDRO_ENOTFOUND / BALDRO_EIO (config.json or the weights
 * unreadable), BALDRO_EINVAL (config.json without a string model_type; a model_type no
 * loaded classifier serves: the message lists the loaded ones), whatever the plugin's open
 * returns (its message names the file and the field). */
int baldro_classifier_open(const baldro_registry *reg, const char *dir, baldro_classifier **out,
                           baldro_error *err);
void baldro_classifier_close(baldro_classifier *c); /* safe on NULL */

int32_t baldro_classifier_n_classes(const baldro_classifier *c);
/* id2label name of class k, or NULL (none in the checkpoint, or k out of range). */
const char *baldro_classifier_class_name(const baldro_classifier *c, int32_t k);
/* The registered classifier's name ("distilbert"). */
const char *baldro_classifier_arch(const baldro_classifier *c);

/* probs[i * C + k]: softmax over the C classes of texts[i]'s logits, in double, as the HF
 * pipeline computes softmax(model(**tokenizer(texts, padding=True, truncation=True,
 * max_length=max_length)).logits). Texts go to the plugin `batch` at a time (batch <= 0:
 * all at once). Errors: BALDRO_EINVAL (NULL texts, max_length < 1), BALDRO_ENUMERIC (a
 * non-finite logit, naming the text), the plugin's. */
int baldro_classifier_probs(baldro_classifier *c, const char *const *texts, size_t n,
                            int32_t max_length, int32_t batch, double *probs, baldro_error *err);

#endif /* BALDRO_ENGINE_CLASSIFIER_H */
