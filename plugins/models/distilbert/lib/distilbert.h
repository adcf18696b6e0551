/*
 * plugins/models/distilbert/lib/distilbert.h: DistilBertForSequenceClassification in fp32,
 * as transformers computes it (modeling_distilbert.py), for inference.
 *
 * Shapes (D = dim, F = hidden_dim, H = n_heads, dh = D / H, V = vocab_size,
 * P = max_position_embeddings, C = classes, T = tokens of one text); every matrix is
 * row-major [out, in] as torch.nn.Linear stores it:
 *   distilbert.embeddings.word_embeddings.weight        [V, D]
 *   distilbert.embeddings.position_embeddings.weight    [P, D]
 *   distilbert.embeddings.LayerNorm.{weight,bias}       [D]
 *   distilbert.transformer.layer.{i}.attention.{q,k,v,out}_lin.weight [D, D], .bias [D]
 *   distilbert.transformer.layer.{i}.sa_layer_norm.{weight,bias}      [D]
 *   distilbert.transformer.layer.{i}.ffn.lin1.weight [F, D], .bias [F]
 *   distilbert.transformer.layer.{i}.ffn.lin2.weight [D, F], .bias [D]
 *   distilbert.transformer.layer.{i}.output_layer_norm.{weight,bias}  [D]
 *   pre_classifier.weight [D, D], .bias [D]
 *   classifier.weight     [C, D], .bias [C]
 * Forward of one text, ids [T] (T <= P):
 *   x = LayerNorm(word[ids] + position[0..T))                       [T, D], eps 1e-12
 *   per layer: q, k, v = x Wq^T + bq, ...                           [T, D] each
 *              per head h: A = softmax(q_h k_h^T / sqrt(dh))         [T, T]
 *              x = sa_layer_norm(x + (A v_h, all heads) Wo^T + bo)   [T, D]
 *              x = output_layer_norm(x + lin2(act(lin1(x))))         [T, F] -> [T, D]
 *   logits = classifier(ReLU(pre_classifier(x[0])))                 [C]
 * act is the exact GELU 0.5 x (1 + erf(x / sqrt 2)) ("gelu") or ReLU ("relu"). Each text
 * runs unpadded: in HF's padded batch the padded keys are masked out (their softmax weight is
 * exactly 0) and the [CLS] row never reads a padded position, so its logits are the same.
 * Matrix products go through cblas_sgemm; LayerNorm statistics, softmax and GELU are
 * accumulated in double.
 */
#ifndef BALDRO_DISTILBERT_H
#define BALDRO_DISTILBERT_H

#include <stddef.h>
#include <stdint.h>

#include "baldro/classifier.h"
#include "wordpiece.h"

typedef struct distilbert_config {
    int32_t vocab_size, dim, n_layers, n_heads, hidden_dim, max_pos, n_classes;
    int gelu;      /* 1: "gelu" (exact erf), 0: "relu" */
    char **labels; /* [n_classes] id2label names, or NULL when absent */
} distilbert_config;

/* config.json (model_type "distilbert"). Sizes under their DistilBERT names or the HF
 * attribute names (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
 * both present must agree); classes from id2label ("0".."C-1") and/or num_labels (default
 * 2, as transformers); activation "gelu" (default) or "relu"; sinusoidal_pos_embds must be
 * false. Errors name `file` and the field; BALDRO_EINVAL or BALDRO_EUNSUPPORTED. */
int distilbert_config_parse(const char *json, size_t len, const char *file, distilbert_config *cfg,
                            char *err, size_t cap);
void distilbert_config_clear(distilbert_config *cfg); /* frees labels */

typedef struct distilbert distilbert;

/* Reads every tensor above through w (shape checked first, against cfg; the error names
 * `where`, the weights file, the tensor and both shapes). cfg is copied. */
int distilbert_load(const distilbert_config *cfg, const baldro_weights *w, const char *where,
                    distilbert **out, char *err, size_t cap);
void distilbert_free(distilbert *m); /* safe on NULL */
const distilbert_config *distilbert_get_config(const distilbert *m);

/* Floats of scratch distilbert_forward needs for T tokens. */
size_t distilbert_scratch_floats(const distilbert_config *cfg, int32_t T);
/* logits[C] of one text ids[T] (1 <= T <= P, ids < V: checked). */
int distilbert_forward(const distilbert *m, const int32_t *ids, int32_t T, float *scratch,
                       float *logits, char *err, size_t cap);

/* ---- The classifier: a checkpoint directory (config.json, tokenizer, weights) ---------- */

typedef struct distilbert_classifier {
    distilbert *model;
    wordpiece *tok;
    char *dir;
} distilbert_classifier;

/* dir/config.json, the tokenizer (wordpiece_load_dir) and the weights through w. */
int distilbert_classifier_open(const char *dir, const baldro_weights *w,
                               distilbert_classifier **out, char *err, size_t cap);
void distilbert_classifier_close(distilbert_classifier *c); /* safe on NULL */

/* logits[i * C + c] for texts[i], each tokenized with truncation to max_length tokens
 * (special tokens included). One scratch allocation per call, sized by max_length. */
int distilbert_classify(const distilbert_classifier *c, const char *const *texts, size_t n,
                        int32_t max_length, float *logits, char *err, size_t cap);

#endif /* BALDRO_DISTILBERT_H */
