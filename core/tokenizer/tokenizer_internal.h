/*
 * core/tokenizer/tokenizer_internal.h: the tokenizer's parts, shared by the files of
 * core/tokenizer/ only.
 *
 * Text flows: UTF-8 repair -> split on added tokens -> normalizer -> pre-tokenizer steps
 * (pieces) -> BPE per piece -> post-processor. The BPE works on "raw" bytes: for a
 * byte-level tokenizer the vocabulary is stored un-mapped (each token's GPT-2 characters
 * turned back into bytes), so the ByteLevel step never has to build mapped strings.
 */
#ifndef BALDRO_CORE_TOKENIZER_INTERNAL_H
#define BALDRO_CORE_TOKENIZER_INTERNAL_H

#include <glib.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"

/* Open-addressing map from byte strings to ids; the strings are owned by the caller
 * (arrays indexed by id), the map holds ids only. */
typedef struct {
    int32_t *slots; /* -1 = empty */
    size_t mask;
} tok_strmap;

/* Map from a pair of ids to (rank, merged id). */
typedef struct {
    uint64_t *keys; /* UINT64_MAX = empty */
    uint64_t *vals; /* rank << 32 | new id */
    size_t mask;
    size_t count;
} tok_pairmap;

typedef struct {
    char *content;
    size_t len;
    int32_t id;
    int special, lstrip, rstrip, single_word;
} tok_added;

typedef enum { TOK_NORM_PREPEND, TOK_NORM_REPLACE } tok_norm_kind;
typedef struct {
    tok_norm_kind kind;
    char *a; /* prepend text, or replace pattern */
    char *b; /* replace content */
} tok_norm;

typedef enum { TOK_PRE_SPLIT, TOK_PRE_BYTELEVEL, TOK_PRE_METASPACE } tok_pre_kind;
typedef enum { TOK_SPLIT_ISOLATED, TOK_SPLIT_REMOVED, TOK_SPLIT_MERGED_PREV,
               TOK_SPLIT_MERGED_NEXT } tok_split_behavior;
typedef enum { TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER } tok_prepend;
typedef struct {
    tok_pre_kind kind;
    GRegex *re;               /* Split (a string pattern is escaped into a regex), ByteLevel
                                 with use_regex */
    tok_split_behavior behavior;
    int add_prefix_space;     /* ByteLevel */
    char replacement[8];      /* Metaspace, UTF-8 */
    tok_prepend prepend;      /* Metaspace */
    int split;                /* Metaspace */
} tok_pre;

typedef enum { TOK_DEC_BYTELEVEL, TOK_DEC_REPLACE, TOK_DEC_BYTEFALLBACK, TOK_DEC_FUSE,
               TOK_DEC_STRIP, TOK_DEC_METASPACE } tok_dec_kind;
typedef struct {
    tok_dec_kind kind;
    char *a, *b;             /* Replace pattern/content; Strip content; Metaspace replacement */
    int start, stop;         /* Strip */
    tok_prepend prepend;     /* Metaspace */
} tok_dec;

struct baldro_tokenizer {
    char *name;
    int32_t n_ids;        /* largest id + 1 */
    char **str;           /* token string as in the file, per id (NULL = unused id) */
    uint32_t *str_len;
    char **raw;           /* model-vocabulary token as bytes (NULL = not in model vocab) */
    uint32_t *raw_len;
    uint8_t *special;     /* per id: a special added token */
    tok_strmap by_str, by_raw;

    /* BPE model */
    tok_pairmap merges;
    int byte_level;       /* symbols are bytes (ByteLevel pre-tokenizer present) */
    int32_t byte_id[256]; /* byte-level: the token of each single byte */
    int32_t fallback_id[256]; /* byte_fallback: <0xNN>, -1 if absent */
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t unk_id;

    tok_added *added;     /* sorted longest first, so the first match at a position wins */
    size_t n_added;
    uint8_t added_first[256]; /* some added token starts with this byte */

    tok_norm *norms;
    size_t n_norms;
    tok_pre *pres;
    size_t n_pres;
    tok_dec *decs;
    size_t n_decs;
    int has_decoder;

    int32_t *prefix, *suffix; /* post-processor ids around the sequence */
    size_t n_prefix, n_suffix;
    int32_t bos, eos, pad;
    char *chat_template; /* tokenizer_config.json's chat_template or chat_template.jinja */
};

/* strmap.c */
int tok_strmap_init(tok_strmap *m, char *const *s, const uint32_t *len, int32_t n);
int32_t tok_strmap_get(const tok_strmap *m, char *const *s, const uint32_t *len,
                       const char *key, size_t klen);
void tok_strmap_clear(tok_strmap *m);
int tok_pairmap_init(tok_pairmap *m, size_t n);
void tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t id);
int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b, uint32_t *rank, int32_t *id);
void tok_pairmap_clear(tok_pairmap *m);

/* bytelevel.c: GPT-2's byte <-> code point table. */
gunichar tok_byte_to_char(uint8_t b);
int tok_char_to_byte(gunichar c); /* -1 if c is not in the table */
/* A byte-level token string back to bytes (g_free); NULL if a char is not in the table. */
char *tok_bytelevel_unmap(const char *s, size_t len, size_t *out_len);

/* utf8.c: Python-compatible replacement of invalid UTF-8 (NULL when already valid). */
char *tok_utf8_repair(const char *s, size_t len, size_t *out_len);
int tok_utf8_valid(const char *s, size_t len); /* NUL counts as valid */
/* Append s to out, invalid sequences replaced as Rust's from_utf8_lossy does. */
void tok_utf8_lossy_append(GString *out, const char *s, size_t len);

/* pretok.c: normalizer + pre-tokenizer over one span of text (no added tokens in it).
 * Resets `buf` and `spans`, then leaves the pieces in `buf` and their (offset, length)
 * pairs in `spans`. first: the span starts the text (Metaspace prepend_scheme "first"). */
typedef struct { size_t off, len; } tok_span;
void tok_pretokenize(const baldro_tokenizer *t, const char *s, size_t len, int first,
                     GString *buf, GArray *spans);

/* bpe.c: one piece (raw bytes) -> ids appended to `out`. */
void tok_bpe_piece(const baldro_tokenizer *t, const char *s, size_t len, GArray *out);

#endif /* BALDRO_CORE_TOKENIZER_INTERNAL_H */
