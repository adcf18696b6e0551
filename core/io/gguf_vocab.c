/*
 * core/io/gguf_vocab.c: the SentencePiece vocabulary a GGUF file carries
 * (tokenizer.ggml.tokens and tokenizer.ggml.scores) as a llama2.c tokenizer.
 *
 * llama.cpp's llama2.c converter copied tok*.bin into those keys with three edits; this
 * undoes them (U+2581 "▁" back to a space, "<s>" and "</s>" back to "\n<s>\n" and
 * "\n</s>\n"), serialises the llama2.c layout in memory and hands it to the llama2.c
 * tokenizer, so the GGUF checkpoint encodes and decodes exactly as run.c does.
 */
#include "io/gguf_vocab.h"

#include <glib.h>
#include <string.h>

static void put_u32(GByteArray *b, uint32_t v) {
    g_byte_array_append(b, (const guint8 *)&v, 4);
}

int baldro_gguf_l2c_tokenizer(const baldro_gguf_file *f, baldro_l2c_tokenizer **out,
                              baldro_error *err) {
    *out = NULL;
    const char *name = baldro_gguf_path(f);
    const baldro_gguf_kv *toks = baldro_gguf_kv_find(f, "tokenizer.ggml.tokens");
    const baldro_gguf_kv *scores = baldro_gguf_kv_find(f, "tokenizer.ggml.scores");
    if (!toks || toks->type != BALDRO_GGUF_ARRAY || toks->elem != BALDRO_GGUF_STRING)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tokenizer.ggml.tokens: missing or not a string array", name);
    if (!scores || scores->type != BALDRO_GGUF_ARRAY || scores->elem != BALDRO_GGUF_FLOAT32)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tokenizer.ggml.scores: missing or not a float32 array", name);
    if (toks->n != scores->n || toks->n == 0 || toks->n > BALDRO_L2C_MAX_VOCAB)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tokenizer.ggml.tokens: %llu tokens for %llu scores (at most "
                                "%d)", name, (unsigned long long)toks->n,
                                (unsigned long long)scores->n, BALDRO_L2C_MAX_VOCAB);
    GByteArray *b = g_byte_array_new();
    GString *piece = g_string_new(NULL);
    uint32_t max_len = 0;
    put_u32(b, 0); /* max_token_length, patched below */
    for (uint64_t i = 0; i < toks->n; i++) {
        size_t len;
        const char *s = baldro_gguf_kv_str_at(f, toks, i, &len);
        g_string_truncate(piece, 0);
        if (len == 3 && !memcmp(s, "<s>", 3)) {
            g_string_append(piece, "\n<s>\n");
        } else if (len == 4 && !memcmp(s, "</s>", 4)) {
            g_string_append(piece, "\n</s>\n");
        } else {
            for (size_t k = 0; k < len; k++) {
                if (k + 2 < len && (unsigned char)s[k] == 0xE2 && (unsigned char)s[k + 1] == 0x96 &&
                    (unsigned char)s[k + 2] == 0x81) {
                    g_string_append_c(piece, ' ');
                    k += 2;
                } else {
                    g_string_append_c(piece, s[k]);
                }
            }
        }
        float sc;
        memcpy(&sc, (const char *)scores->arr + 4 * i, 4);
        g_byte_array_append(b, (const guint8 *)&sc, 4);
        put_u32(b, (uint32_t)piece->len);
        g_byte_array_append(b, (const guint8 *)piece->str, (guint)piece->len);
        if (piece->len > max_len) max_len = (uint32_t)piece->len;
    }
    memcpy(b->data, &max_len, 4);
    int rc = baldro_l2c_tokenizer_open_memory(b->data, b->len, name, (int32_t)toks->n, out, err);
    g_string_free(piece, TRUE);
    g_byte_array_free(b, TRUE);
    return rc;
}
