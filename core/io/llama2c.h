/*
 * core/io/llama2c.h: Karpathy's llama2.c files: the legacy ("version 0") checkpoint .bin
 * and the tokenizer .bin, bounds-checked.
 *
 * Checkpoint: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 * seq_len; a negative vocab_size means the classifier is not shared with the embedding),
 * then float32 arrays in run.c's order: token_embedding [V][C], rms_att [L][C],
 * wq [L][C][C], wk [L][K][C], wv [L][K][C], wo [L][C][C], rms_ffn [L][C], w1 [L][F][C],
 * w2 [L][C][F], w3 [L][F][C], rms_final [C], the legacy freq_cis_real and freq_cis_imag
 * tables [seq_len][head_size/2] (skipped, as run.c does), then wcls [V][C] when not
 * shared. The file size must equal exactly what the header implies: a checkpoint with
 * bytes missing or left over was written for another layout. q and k are stored for
 * RoPE on interleaved pairs (Meta's convention), not HF's rotate-half.
 *
 * Tokenizer: uint32 max_token_length, then per token: float32 score, int32 length, bytes.
 * Encoding and decoding follow run.c exactly (see the functions below).
 */
#ifndef BALDRO_CORE_IO_LLAMA2C_H
#define BALDRO_CORE_IO_LLAMA2C_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Upper bounds on the header: generous for any llama2.c-sized model, small enough that the
 * products below cannot overflow 64 bits and absurd headers fail before any arithmetic. */
#define BALDRO_L2C_MAX_DIM 65536
#define BALDRO_L2C_MAX_LAYERS 1024
#define BALDRO_L2C_MAX_VOCAB (1 << 22)
#define BALDRO_L2C_MAX_SEQ (1 << 22)

typedef struct baldro_l2c_config {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    int32_t shared_classifier; /* 1 when the header's vocab_size was positive */
    int32_t head_size, kv_dim;
} baldro_l2c_config;

typedef enum {
    BALDRO_L2C_TOKEN_EMBEDDING,
    BALDRO_L2C_RMS_ATT,
    BALDRO_L2C_WQ,
    BALDRO_L2C_WK,
    BALDRO_L2C_WV,
    BALDRO_L2C_WO,
    BALDRO_L2C_RMS_FFN,
    BALDRO_L2C_W1,
    BALDRO_L2C_W2,
    BALDRO_L2C_W3,
    BALDRO_L2C_RMS_FINAL,
    BALDRO_L2C_WCLS, /* only when !shared_classifier */
    BALDRO_L2C_NUM_ARRAYS
} baldro_l2c_array;

typedef struct baldro_l2c_file baldro_l2c_file;

/* Errors: BALDRO_EIO (open/stat/map), BALDRO_EINVAL (header or size). */
int baldro_l2c_open(const char *path, baldro_l2c_file **out, baldro_error *err);
int baldro_l2c_open_memory(const void *buf, size_t len, const char *name_for_errors,
                           baldro_l2c_file **out, baldro_error *err);
void baldro_l2c_close(baldro_l2c_file *f); /* safe on NULL */

const char *baldro_l2c_path(const baldro_l2c_file *f);
const baldro_l2c_config *baldro_l2c_config_of(const baldro_l2c_file *f);
/* Elements of one layer's slice of array a (the whole array for the per-model ones). */
size_t baldro_l2c_array_numel(const baldro_l2c_file *f, baldro_l2c_array a);
/* Copy layer `layer`'s slice of array a (layer ignored for token_embedding, rms_final and
 * wcls) into dst, which holds exactly n floats. BALDRO_EINVAL on a wrong n or layer, or
 * wcls of a shared-classifier checkpoint. */
int baldro_l2c_read(const baldro_l2c_file *f, baldro_l2c_array a, int32_t layer, float *dst,
                    size_t n, baldro_error *err);

/* ---- tokenizer ------------------------------------------------------------------------- */

typedef struct baldro_l2c_tokenizer baldro_l2c_tokenizer;

/* vocab_size > 0: the file must hold exactly that many tokens (run.c takes the count from
 * the checkpoint); 0: as many as the file holds. Pieces longer than the header's
 * max_token_length are accepted (run.c would overflow its merge buffer on them; we size
 * ours from the pieces). */
int baldro_l2c_tokenizer_open(const char *path, int32_t vocab_size,
                              baldro_l2c_tokenizer **out, baldro_error *err);
int baldro_l2c_tokenizer_open_memory(const void *buf, size_t len, const char *name_for_errors,
                                     int32_t vocab_size, baldro_l2c_tokenizer **out,
                                     baldro_error *err);
void baldro_l2c_tokenizer_free(baldro_l2c_tokenizer *t); /* safe on NULL */

int32_t baldro_l2c_tokenizer_vocab_size(const baldro_l2c_tokenizer *t);
/* Piece and score of token id (NULL when out of range). */
const char *baldro_l2c_tokenizer_piece(const baldro_l2c_tokenizer *t, int32_t id, size_t *len,
                                       float *score);

/* run.c's encode: optional BOS (1); a dummy-prefix " " token when text is non-empty; each
 * UTF-8 character (up to 4 bytes) as its token, or its bytes as byte tokens (byte + 3);
 * then repeatedly merge the adjacent pair whose concatenation is a token with the highest
 * score (first such pair on ties) until none is; optional EOS (2). *ids is g_malloc'd. */
int baldro_l2c_encode(const baldro_l2c_tokenizer *t, const char *text, size_t len, int bos,
                      int eos, int32_t **ids, size_t *n, baldro_error *err);

/* run.c's decode: token's piece, without its leading space when prev is BOS (1); pieces
 * "<0xHH>" become the single byte. NULL for an id out of range. Not NUL-terminated. */
const char *baldro_l2c_decode(const baldro_l2c_tokenizer *t, int32_t prev, int32_t token,
                              size_t *len);
/* run.c's safe_printf filter: 0 for a single byte that is neither printable nor space. */
int baldro_l2c_piece_printable(const char *piece, size_t len);

#endif /* BALDRO_CORE_IO_LLAMA2C_H */
