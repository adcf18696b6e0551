/*
 * core/tokenizer/tokenizer.h: Hugging Face tokenizer.json tokenizers (BPE models).
 *
 * Supported: the BPE model (merges by rank, ignore_merges, byte_fallback, unk/fuse_unk),
 * the normalizers Prepend / Replace / Sequence, the pre-tokenizers Split (regex or string,
 * through GLib's PCRE) / ByteLevel / Metaspace / Sequence, the TemplateProcessing and
 * ByteLevel post-processors, and the decoders ByteLevel / Metaspace / Replace /
 * ByteFallback / Fuse / Strip / Sequence. That covers Llama-3 style byte-level BPE and
 * SentencePiece-converted BPE (Llama-2). Anything else is refused at load time with a
 * one-line error naming the file and the field.
 *
 * Results match the `tokenizers` library (tests/oracle/tokenizer_oracle.py), including
 * decode's clean-up of invalid UTF-8 to U+FFFD. transformers' optional
 * clean_up_tokenization_spaces is not applied.
 */
#ifndef BALDRO_CORE_TOKENIZER_H
#define BALDRO_CORE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct baldro_tokenizer baldro_tokenizer;

/* Load `tokenizer_json_path`; a tokenizer_config.json in the same directory is read too
 * when present (bos_token, eos_token, pad_token, add_bos_token, add_eos_token,
 * added_tokens_decoder, chat_template), and chat_template.jinja. */
int baldro_tok_load_json(const char *tokenizer_json_path, baldro_tokenizer **out,
                         baldro_error *err);

/* The same from memory: `json` is the tokenizer.json text, `config_json` (may be NULL) the
 * tokenizer_config.json text; `name` names the input in error messages. */
int baldro_tok_load_buffers(const char *json, size_t len, const char *config_json,
                            size_t config_len, const char *name, baldro_tokenizer **out,
                            baldro_error *err);

void baldro_tok_free(baldro_tokenizer *t);

/* UTF-8 text -> ids (g_free() *ids). Invalid UTF-8 is read as Python's
 * bytes.decode("utf-8", errors="replace") would give it (one U+FFFD per maximal invalid
 * subpart). Added and special tokens written in the text are recognised. add_special:
 * apply the post-processor template (and tokenizer_config's add_bos_token/add_eos_token). */
int baldro_tok_encode(const baldro_tokenizer *t, const char *text, size_t len, int add_special,
                      int32_t **ids, size_t *n, baldro_error *err);

/* ids -> UTF-8 text (g_free() *text; NUL-terminated, *len excludes the NUL). skip_special
 * drops the ids of special added tokens. */
int baldro_tok_decode(const baldro_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                      char **text, size_t *len, baldro_error *err);

/* Largest id + 1 (model vocabulary plus added tokens). */
int32_t baldro_tok_vocab_size(const baldro_tokenizer *t);
/* The id of a token string as written in tokenizer.json ("Ġthe", "<|eot_id|>"), or -1. */
int32_t baldro_tok_token_id(const baldro_tokenizer *t, const char *token);
/* The token string of an id, or NULL for an unused or out-of-range id. */
const char *baldro_tok_token_str(const baldro_tokenizer *t, int32_t id);
/* Whether `id` is a special added token. */
int baldro_tok_is_special(const baldro_tokenizer *t, int32_t id);
/* BOS / EOS ids (from tokenizer_config.json, else the template), or -1. */
int32_t baldro_tok_bos(const baldro_tokenizer *t);
int32_t baldro_tok_eos(const baldro_tokenizer *t);
/* tokenizer_config.json's pad_token, or -1. */
int32_t baldro_tok_pad(const baldro_tokenizer *t);
/* The Jinja chat template (chat_template.jinja beside tokenizer.json, else
 * tokenizer_config.json's chat_template), or NULL. baldro never runs it: it only tells
 * which family template (core/data/chat_template.h) the model was trained with. */
const char *baldro_tok_chat_template(const baldro_tokenizer *t);

#endif /* BALDRO_CORE_TOKENIZER_H */
