/*
 * core/tokenizer/tokenizer_json.h: helpers for reading tokenizer.json, shared by
 * tokenizer_json.c and the files that parse one section each.
 */
#ifndef BALDRO_CORE_TOKENIZER_JSON_H
#define BALDRO_CORE_TOKENIZER_JSON_H

#include <json-glib/json-glib.h>

#include "io/json_strict.h"
#include "tokenizer/tokenizer_internal.h"

typedef struct {
    const char *name; /* the file, for messages */
    baldro_error *err;
} tj_ctx;

int tj_fail(tj_ctx *c, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
JsonNode *tj_member(JsonObject *o, const char *key); /* NULL when absent or null */
int tj_str(tj_ctx *c, JsonObject *o, const char *path, const char *key, const char *def,
           const char **out);
int tj_bool(tj_ctx *c, JsonObject *o, const char *path, const char *key, int def, int *out);
int tj_int(tj_ctx *c, JsonObject *o, const char *path, const char *key, int64_t lo, int64_t hi,
           int64_t def, int64_t *out);
int tj_obj(tj_ctx *c, JsonObject *o, const char *path, const char *key, JsonObject **out);
int tj_arr(tj_ctx *c, JsonObject *o, const char *path, const char *key, JsonArray **out);
int tj_pattern(tj_ctx *c, JsonObject *o, const char *path, GRegex **out);

/* pipeline_json.c: normalizer, pre_tokenizer, decoder, post_processor sections. */
int tj_normalizer(tj_ctx *c, baldro_tokenizer *t, JsonObject *root);
int tj_pre_tokenizer(tj_ctx *c, baldro_tokenizer *t, JsonObject *root);
int tj_decoder(tj_ctx *c, baldro_tokenizer *t, JsonObject *root);
int tj_post_processor(tj_ctx *c, baldro_tokenizer *t, JsonObject *root);



/* fastjson.c: model.vocab and model.merges read straight from checked JSON text. */
typedef struct {
    size_t vocab_start, vocab_end;   /* value spans in the text; 0, 0 when not found */
    size_t merges_start, merges_end;
} tj_fast;
void tj_fast_find(const char *s, size_t len, tj_fast *f);
/* keys (arena strings) and ids (int64_t), in file order */
int tj_fast_vocab(tj_ctx *c, const char *s, size_t start, size_t end, GStringChunk *arena,
                  GPtrArray *keys, GArray *ids);
/* pairs: a0, b0, a1, b1, ... (arena strings) */
int tj_fast_merges(tj_ctx *c, const char *s, size_t start, size_t end, GStringChunk *arena,
                   GPtrArray *pairs);
#endif /* BALDRO_CORE_TOKENIZER_JSON_H */
