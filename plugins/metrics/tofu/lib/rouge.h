/*
 * rouge.h: ROUGE-1 and ROUGE-L exactly as Python's rouge_score 0.1.2 computes them with
 * RougeScorer(["rouge1", "rougeL"], use_stemmer=True), the scorer TOFU and open-unlearning
 * use (scorer.score(ground_truth, generation)).
 *
 * Tokenisation (rouge_score.tokenize.tokenize):
 *   1. the text is lowercased with Python's str.lower();
 *   2. every run of characters outside ASCII [a-z0-9] becomes a separator;
 *   3. a token longer than 3 characters is replaced by its Porter stem (porter.h, NLTK's
 *      default mode); shorter tokens are kept as they are.
 * Here the text is UTF-8 bytes. Step 1 only matters for ASCII A-Z and for the two
 * code points whose lowercase contains an ASCII letter: U+0130 (LATIN CAPITAL I WITH DOT
 * ABOVE, lowercased to "i" + U+0307, so it gives the letter i and then a separator) and
 * U+212A (KELVIN SIGN, lowercased to "k", a letter inside the token). Every other non-ASCII
 * character, digit or letter included ("Müller" -> "m", "ller"), and every byte of
 * malformed UTF-8, is a separator, as Python's U+FFFD would be. NUL ends the text for the
 * NUL-terminated entry points; baldro_rouge_tokenize takes a length and treats NUL as a
 * separator.
 *
 * Scores (rouge_scorer._score_ngrams with n = 1, and _score_lcs), with T target tokens,
 * P prediction tokens:
 *   rouge1: hits = sum over distinct tokens of min(count in target, count in prediction);
 *           precision = hits / max(P, 1), recall = hits / max(T, 1);
 *   rougeL: hits = length of the longest common subsequence of the two token sequences;
 *           precision = hits / P, recall = hits / T; all 0 when T or P is 0;
 *   fmeasure = 2 * precision * recall / (precision + recall), 0 when that sum is 0.
 * Each ratio is one IEEE division of two integers, as in Python, so results are
 * bit-identical to rouge_score's.
 *
 * Cost: tokenizing is linear; ROUGE-L is O(T * P) time and O(P) memory.
 */
#ifndef BALDRO_METRICS_ROUGE_H
#define BALDRO_METRICS_ROUGE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct baldro_rouge_result {
    size_t hits;              /* rouge1: clipped unigram matches; rougeL: LCS length */
    size_t target_tokens;     /* T */
    size_t prediction_tokens; /* P */
    double precision;
    double recall;
    double fmeasure;
} baldro_rouge_result;

/* Tokenizes text[0..len) as above (stemming when use_stemmer). On success returns 0 and
 * sets *n and *tokens to ONE malloc'd block: *n + 1 pointers ((*tokens)[*n] == NULL)
 * followed by the NUL-terminated tokens themselves; free(*tokens) releases everything
 * (the block is allocated even when *n == 0). Returns -1 (nothing allocated, outputs
 * untouched) when an argument is NULL (text may be NULL only when len is 0) or on
 * allocation failure. */
int baldro_rouge_tokenize(const char *text, size_t len, bool use_stemmer, char ***tokens,
                          size_t *n);

/* Scores two token sequences (as baldro_rouge_tokenize returns them). rouge1 / rougeL may
 * be NULL when not wanted. Returns 0, or -1 on allocation failure or a NULL sequence with
 * a non-zero length. */
int baldro_rouge_score_tokens(const char *const *target, size_t n_target,
                              const char *const *prediction, size_t n_prediction,
                              baldro_rouge_result *rouge1, baldro_rouge_result *rougeL);

/* rouge_score's RougeScorer(["rouge1", "rougeL"], use_stemmer=True).score(target,
 * prediction) on NUL-terminated UTF-8 texts. rouge1 / rougeL may be NULL. Returns 0, or
 * -1 when target or prediction is NULL or on allocation failure. */
int baldro_rouge_score(const char *target, const char *prediction, baldro_rouge_result *rouge1,
                       baldro_rouge_result *rougeL);

/* The two recalls TOFU reports (rouge1_recall, rougeL_recall); either pointer may be NULL.
 * Returns 0, or -1 as baldro_rouge_score. */
int baldro_rouge_recall(const char *target, const char *prediction, double *rouge1_recall,
                        double *rougeL_recall);

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_METRICS_ROUGE_H */
