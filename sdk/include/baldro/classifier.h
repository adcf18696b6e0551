/*
 * baldro/classifier.h: the encoder-classifier vtable (ABI 1.4).
 *
 * A classifier reads text and returns one row of class logits per text: the gibberish
 * detector that TOFU's fluency metric runs over generations is one (a DistilBERT
 * sequence classifier). Unlike a causal model it has no training path and no KV cache,
 * so it gets its own small vtable rather than stretching the model vtable. The plugin
 * owns its tokenizer: the host hands it strings.
 */
#ifndef BALDRO_CLASSIFIER_H
#define BALDRO_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The checkpoint's tensors, read by the host's bounds-checked safetensors reader
 * (model.safetensors or a sharded model.safetensors.index.json) and handed to open().
 * Valid only during open(): copy what you keep. */
typedef struct baldro_weights {
    uint32_t struct_size;
    void *ctx;
    /* Rank and dims of tensor `name`; BALDRO_ENOTFOUND if the checkpoint lacks it. */
    int (*shape)(void *ctx, const char *name, int32_t *rank, int64_t dims[8]);
    /* Tensor `name` converted to fp32 (from F32, F16, BF16 or F64) into dst[n]; n must be
     * its element count. Errors name the file and the tensor. */
    int (*read_f32)(void *ctx, const char *name, float *dst, size_t n, char *err,
                    size_t err_cap);
} baldro_weights;

typedef struct baldro_classifier_vtable {
    uint32_t struct_size;
    const char *name;        /* the architecture, as config.json's model_type ("distilbert") */
    const char *version;
    const char *description;
    /* Opens an HF checkpoint directory: config.json and the tokenizer's files read by
     * the plugin, the weights through `w`. Errors name the file and the field. */
    int (*open)(void **state, const char *dir, const baldro_weights *w, char *err,
                size_t err_cap);
    void (*close)(void *state);
    /* Classes (config.json's num_labels / id2label). */
    int32_t (*n_classes)(void *state);
    /* Name of class c (id2label; NULL if the checkpoint has none). */
    const char *(*class_name)(void *state, int32_t c);
    /* logits[i * n_classes + c] for texts[i], each truncated to max_length tokens
     * (special tokens included), as the HF tokenizer's truncation=True, max_length. */
    int (*classify)(void *state, const char *const *texts, size_t n, int32_t max_length,
                    float *logits, char *err, size_t err_cap);
    const char *const *aliases;
} baldro_classifier_vtable;

#define BALDRO_CLASSIFIER_VTABLE_SIZE_1_4 ((uint32_t)sizeof(baldro_classifier_vtable))

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_CLASSIFIER_H */
