/*
 * plugins/models/distilbert/lib/wordpiece.h: the BERT WordPiece tokenizer, as Hugging Face
 * tokenizers runs a tokenizer.json (and transformers' BertTokenizer a vocab.txt).
 *
 * Pipeline, per text (tokenizers 0.23 semantics, checked against it by
 * tests/oracle/distilbert_oracle.py and tests/unit/test_distilbert.c):
 *   1. Added tokens with "normalized": false ([CLS], [SEP], [PAD], [UNK], [MASK] in every
 *      BERT file) are cut out of the raw text, leftmost-longest, honouring single_word
 *      (no word character on either side), lstrip and rstrip (whitespace swallowed).
 *   2. Each remaining piece is normalized (BertNormalizer):
 *        clean_text    drop U+0000, U+FFFD and control characters (categories Cc, Cf, Co,
 *                      Cs except \t \n \r; unassigned ones stay), map whitespace
 *                      (White_Space) to ' ';
 *        handle_chinese_chars  ' ' around every CJK ideograph (the BERT ranges, less
 *                      U+2B820..U+2B91F, as tokenizers has them);
 *        strip_accents (null: = lowercase)  NFD, then drop category Mn;
 *        lowercase     full lowercase mapping per character (U+0130 -> "i\u0307").
 *      Added tokens with "normalized": true are then cut out of the normalized piece.
 *   3. BertPreTokenizer: split on whitespace (dropped) and around every punctuation
 *      character (ASCII 33-47, 58-64, 91-96, 123-126 and Unicode categories P*).
 *   The categories are tokenizers' own (its Unicode tables are older than GLib's), probed
 *   on every code point into wordpiece_unicode.h; GLib supplies the NFD decompositions and
 *   combining classes, for the characters tokenizers decomposes.
 *   4. WordPiece: greedy longest-match-first with the continuing-subword prefix ("##");
 *      a word of more than max_input_chars_per_word characters, or one that cannot be
 *      split into vocabulary pieces, is one unk_token.
 *   5. The post-processor's single-sequence template ([CLS] $A [SEP]) around the tokens,
 *      the tokens first truncated so that the whole fits max_length (truncation=True).
 * Invalid UTF-8 in a text is read as U+FFFD per bad byte (which clean_text drops).
 *
 * Loaders never abort: every error is one line "<file>: <field>: <reason>".
 */
#ifndef BALDRO_DISTILBERT_WORDPIECE_H
#define BALDRO_DISTILBERT_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

typedef struct wordpiece wordpiece;

/* A tokenizer.json held in memory (len bytes; `file` names it in errors). Supported:
 * model WordPiece; normalizer BertNormalizer or null; pre_tokenizer BertPreTokenizer or
 * null (one word per piece); post_processor TemplateProcessing, BertProcessing or null;
 * added_tokens. truncation, padding and decoder are ignored (the caller gives max_length).
 * Returns a baldro_status: BALDRO_EINVAL (malformed), BALDRO_EUNSUPPORTED (another model or
 * normalizer type), BALDRO_ENOMEM. */
int wordpiece_load_json(const char *text, size_t len, const char *file, wordpiece **out, char *err,
                        size_t cap);

/* A vocab.txt (one token per line, ids in line order; \n, \r\n or \r end a line) with the
 * optional tokenizer_config.json and special_tokens_map.json (NULL text: absent), as
 * transformers' BertTokenizer builds it: BertNormalizer(clean_text, tokenize_chinese_chars,
 * strip_accents, lowercase = do_lower_case) with defaults true/true/null/true, unk/cls/sep/
 * pad/mask tokens (strings or {"content": ...}) defaulting to [UNK] [CLS] [SEP] [PAD]
 * [MASK], all matched in raw text as special added tokens, the template [CLS] $A [SEP],
 * prefix "##", at most 100 characters per word. */
int wordpiece_load_vocab(const char *vocab, size_t vocab_len, const char *vocab_file,
                         const char *config, size_t config_len, const char *config_file,
                         const char *stmap, size_t stmap_len, const char *stmap_file,
                         wordpiece **out, char *err, size_t cap);

/* A checkpoint directory, as transformers' DistilBertTokenizer loads it: dir/tokenizer.json
 * when present, else dir/vocab.txt (with the two optional files above). With a
 * tokenizer.json, the normalizer is then set as transformers sets it: BertNormalizer with
 * clean_text on and tokenizer_config.json's do_lower_case, strip_accents and
 * tokenize_chinese_chars (defaults true, null, true; the file may be absent), whatever
 * tokenizer.json's own normalizer says (transformers 4 patches the flags, 5 rebuilds it;
 * for a consistent checkpoint the two agree). */
int wordpiece_load_dir(const char *dir, wordpiece **out, char *err, size_t cap);

void wordpiece_free(wordpiece *wp); /* safe on NULL */

/* Largest id encode() can return (vocabulary, added and template tokens). */
int32_t wordpiece_max_id(const wordpiece *wp);
/* Tokens the single-sequence template adds (2 for [CLS] $A [SEP]). */
int32_t wordpiece_n_special(const wordpiece *wp);
/* Id of a vocabulary token, or -1. */
int32_t wordpiece_token_id(const wordpiece *wp, const char *token);

/* Buffers encode() reuses from one text to the next (one per thread). */
typedef struct wordpiece_work wordpiece_work;
wordpiece_work *wordpiece_work_new(void);
void wordpiece_work_free(wordpiece_work *w); /* safe on NULL */

/* Encodes text[0..len) as tokenizer(text, truncation=True, max_length=max_length) does:
 * ids[] (room for max_length) receives at most max_length ids, *n how many. WordPiece
 * stops at the truncated length (normalizing is linear in the text).
 * `work` may be NULL (a temporary one is made). Errors: BALDRO_EINVAL (max_length below
 * the template's special tokens). */
int wordpiece_encode(const wordpiece *wp, wordpiece_work *work, const char *text, size_t len,
                     int32_t max_length, int32_t *ids, int32_t *n, char *err, size_t cap);

/* Steps 2 and 3 alone (no added tokens, no WordPiece): the pre-tokenized words of the
 * normalized text, NULL-terminated (g_strfreev()). For tests. */
char **wordpiece_words(const wordpiece *wp, const char *text, size_t len);

#endif /* BALDRO_DISTILBERT_WORDPIECE_H */
