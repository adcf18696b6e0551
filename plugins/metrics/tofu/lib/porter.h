/*
 * porter.h: the Porter stemmer as Python's rouge_score applies it.
 *
 * rouge_score (0.1.2) stems with nltk.stem.porter.PorterStemmer() in its default mode,
 * NLTK_EXTENSIONS: Porter's 1980 algorithm plus NLTK's changes. This is that mode, and
 * only that mode, checked word by word against NLTK 3.10 (tests/fixtures/metrics/rouge.json,
 * "stems"). Relative to the paper, the mode:
 *   - maps a few irregular words directly (skies -> sky, dying -> die, lying -> lie,
 *     tying -> tie, innings -> inning, outings -> outing, cannings -> canning; news, howe,
 *     proceed, exceed, succeed, sky, inning, outing, canning are kept as they are);
 *   - returns words of at most 2 characters unchanged;
 *   - step 1a: a 4-letter word ending in "ies" becomes "...ie" (ties -> tie);
 *   - step 1b: "ied" becomes "ie" in a 4-letter word, "i" otherwise, before any other rule;
 *   - the *o condition (ends consonant-vowel-consonant) also holds for a 2-letter
 *     vowel-consonant stem, with no w/x/y exception there;
 *   - step 1c: y -> i only after a consonant that is not the first letter (happy -> happi,
 *     enjoy and sky unchanged, spy -> spi);
 *   - step 2: "alli" with m > 0 first becomes "al" and step 2 runs again on the result;
 *     "bli" -> "ble" replaces the paper's "abli" -> "able"; "fulli" -> "ful" and
 *     "logi" -> "log" are added at the end of the list, the latter tested on the stem with
 *     its "l" (m("...l") > 0);
 *   - step 5b: ll -> l tests the measure of the word less one letter.
 * As everywhere in the algorithm, within one step the first rule whose suffix matches
 * decides: if its condition fails the word is left as it is, later rules are not tried.
 *
 * Input is a lowercase ASCII word (rouge_score only stems [a-z0-9]+ tokens); A-Z are
 * lowercased as NLTK does, digits and any other byte count as consonants. A stem is never
 * longer than its word.
 */
#ifndef BALDRO_METRICS_PORTER_H
#define BALDRO_METRICS_PORTER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stems word[0..len) into out, which must hold len + 1 bytes (out may equal word: the
 * stem is built in place). out is NUL-terminated; returns the stem's length (<= len). */
size_t baldro_porter_stem(const char *word, size_t len, char *out);

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_METRICS_PORTER_H */
