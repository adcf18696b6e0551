/*
 * plugins/models/distilbert/distilbert_plugin.c: registers "distilbert", the encoder
 * classifier (sdk/include/baldro/classifier.h, ABI 1.4) that TOFU's gibberish metric runs:
 * a DistilBertForSequenceClassification checkpoint directory with its WordPiece tokenizer.
 * The work is in lib/ (distilbert.h, wordpiece.h), which the unit tests link directly.
 */
#include <baldro/plugin.h>

#include "distilbert.h"

BALDRO_PLUGIN("distilbert", "0.1.0",
              "DistilBERT sequence classifier (the TOFU gibberish detector) with WordPiece");

static int open_cb(void **state, const char *dir, const baldro_weights *w, char *err, size_t cap) {
    *state = NULL;
    if (!dir || !w)
        return BALDRO_FAIL(err, cap, BALDRO_EINVAL,
                           "distilbert: open needs a directory and the weights");
    distilbert_classifier *c = NULL;
    int rc = distilbert_classifier_open(dir, w, &c, err, cap);
    if (rc == BALDRO_OK) *state = c;
    return rc;
}

static void close_cb(void *state) {
    distilbert_classifier_close(state);
}

static int32_t n_classes_cb(void *state) {
    return distilbert_get_config(((distilbert_classifier *)state)->model)->n_classes;
}

static const char *class_name_cb(void *state, int32_t c) {
    const distilbert_config *cfg = distilbert_get_config(((distilbert_classifier *)state)->model);
    return cfg->labels && c >= 0 && c < cfg->n_classes ? cfg->labels[c] : NULL;
}

static int classify_cb(void *state, const char *const *texts, size_t n, int32_t max_length,
                       float *logits, char *err, size_t cap) {
    return distilbert_classify(state, texts, n, max_length, logits, err, cap);
}

static const char *const aliases[] = {"DistilBertForSequenceClassification", NULL};

static const baldro_classifier_vtable vt = {
    BALDRO_VTABLE_HEADER(baldro_classifier_vtable),
    .name = "distilbert",
    .version = "0.1.0",
    .description = "DistilBertForSequenceClassification, fp32, WordPiece (uncased or cased)",
    .open = open_cb,
    .close = close_cb,
    .n_classes = n_classes_cb,
    .class_name = class_name_cb,
    .classify = classify_cb,
    .aliases = aliases,
};

BALDRO_PLUGIN_INIT(ctx, host) {
    if (host->abi_minor < 4 || host->struct_size < sizeof(baldro_host_api) ||
        !host->register_classifier) {
        host->set_error(ctx,
                        "distilbert needs a host with ABI 1.4 (register_classifier); "
                        "this host is %u.%u",
                        (unsigned)host->abi_major, (unsigned)host->abi_minor);
        return BALDRO_EVERSION;
    }
    return host->register_classifier(ctx, &vt);
}
