/*
 * plugins/metrics/tofu/lib/degeneration.h: a model-free degeneration rate of one
 * generation (ours, not open-unlearning's; its model-based counterpart is the gibberish
 * classifier). An unlearned model that has collapsed tends to loop ("the the the ...",
 * a phrase over and over) or to emit character soup ("sdfkjh qqqq ..."); this scores both
 * in [0, 1], 1 the worst, without any model, so it can run on every generation.
 *
 *   score = max(rep, nonword)
 *
 * rep, repetition: the words are rouge_score's tokens without stemming (rouge.h: Python's
 *   str.lower(), then the runs of ASCII [a-z0-9]); with n words there are n - 3 word
 *   4-grams (none when n < 4), and rep = (the number of 4-grams equal to an earlier 4-gram
 *   of the same generation) / (n - 3); rep = 0 when n < 4.
 *
 * nonword, character soup: the chunks are the maximal runs of non-whitespace bytes
 *   (whitespace: ASCII space, \t, \n, \v, \f, \r), each stripped of leading and trailing
 *   ASCII punctuation from . , ; : ! ? " ' ( ) [ ] { } < > * - _ / ; chunks that strip to
 *   nothing are skipped. nonword = (chunks that are not word-like) / (chunks), and 1 when
 *   no chunk is left (an empty, whitespace-only or punctuation-only generation scores 1).
 *   A chunk is word-like when it
 *     - contains any non-ASCII byte (a UTF-8 non-ASCII character: we cannot judge other
 *       scripts, so they are never counted against the model; this includes non-ASCII
 *       punctuation such as an em dash); or
 *     - is a number: ^[0-9]+([.,:/-][0-9]+)*(st|nd|rd|th|s)?$ (suffix lowercase); or
 *     - is letters: ^[A-Za-z]+(['-][A-Za-z]+)*$, with a vowel [aeiouyAEIOUY] or a single
 *       letter in all, and no letter four or more times in a row (case-insensitive, "aaaa",
 *       "AaAa").
 *   So "Dr", "Mr", "TV" (no vowel), "U.S" and "e.g" (inner dots), "$100" and "100%"
 *   count as non-words: honest prose has a small nonword floor (measured on TOFU's
 *   answers in docs/evaluation.md), far below a degenerate generation's.
 *
 * Every ratio is one double division of two counts and the max is exact, so the oracle
 * (tests/oracle/mia_oracle.py, written with Python's re) agrees bit for bit.
 */
#ifndef BALDRO_METRICS_TOFU_DEGENERATION_H
#define BALDRO_METRICS_TOFU_DEGENERATION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct baldro_degen_result {
    size_t n_words;    /* rouge_score tokens                             */
    size_t n_ngrams;   /* n_words - 3, or 0                              */
    size_t n_repeated; /* 4-grams equal to an earlier one                */
    size_t n_chunks;   /* non-empty chunks after stripping               */
    size_t n_nonword;  /* of those, not word-like                        */
    double rep, nonword, score;
} baldro_degen_result;

/* Scores the NUL-terminated text. Returns 0, or -1 when an argument is NULL, -2 when out
 * of memory (*r untouched on error). */
int baldro_degeneration(const char *text, baldro_degen_result *r);

/* 1 when chunk[0..len) (already stripped) is word-like as above, else 0 (also for len 0). */
int baldro_degen_word_like(const char *chunk, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_METRICS_TOFU_DEGENERATION_H */
