/* plugins/metrics/tofu/lib/degeneration.c: see degeneration.h. */
#include "degeneration.h"

#include <stdlib.h>
#include <string.h>

#include "rouge.h"

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int is_strip(unsigned char c) {
    return c && strchr(".,;:!?\"'()[]{}<>*-_/", c) != NULL;
}

static int is_alpha(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static int is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
static unsigned char lower(unsigned char c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ^[0-9]+([.,:/-][0-9]+)*(st|nd|rd|th|s)?$ (separators and suffix letters are not digits,
 * so the greedy parse is the only one). */
static int is_number(const unsigned char *s, size_t len) {
    size_t i = 0;
    if (!is_digit(s[0])) return 0;
    while (i < len && is_digit(s[i])) i++;
    while (i + 1 < len && s[i] && strchr(".,:/-", s[i]) && is_digit(s[i + 1])) {
        i++;
        while (i < len && is_digit(s[i])) i++;
    }
    const size_t rest = len - i;
    if (rest == 0) return 1;
    if (rest == 1) return s[i] == 's';
    if (rest == 2) {
        const char *r = (const char *)s + i;
        return !memcmp(r, "st", 2) || !memcmp(r, "nd", 2) || !memcmp(r, "rd", 2) ||
               !memcmp(r, "th", 2);
    }
    return 0;
}

/* ^[A-Za-z]+(['-][A-Za-z]+)*$, a vowel or a single letter, no letter 4+ times in a row. */
static int is_letters(const unsigned char *s, size_t len) {
    size_t i = 0;
    if (!is_alpha(s[0])) return 0;
    while (i < len && is_alpha(s[i])) i++;
    while (i < len) {
        if (!((s[i] == '\'' || s[i] == '-') && i + 1 < len && is_alpha(s[i + 1]))) return 0;
        i++;
        while (i < len && is_alpha(s[i])) i++;
    }
    int vowel = len == 1;
    size_t run = 1;
    for (i = 0; i < len; i++) {
        if (strchr("aeiouy", lower(s[i])) && is_alpha(s[i])) vowel = 1;
        if (i > 0 && is_alpha(s[i]) && lower(s[i]) == lower(s[i - 1])) {
            if (++run >= 4) return 0;
        } else {
            run = 1;
        }
    }
    return vowel;
}

int baldro_degen_word_like(const char *chunk, size_t len) {
    if (!chunk || len == 0) return 0;
    const unsigned char *s = (const unsigned char *)chunk;
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 0x80) return 1;
    return is_number(s, len) || is_letters(s, len);
}

typedef struct {
    const char *w[4];
} gram4;

static int cmp_gram(const void *a, const void *b) {
    const gram4 *x = a, *y = b;
    for (int k = 0; k < 4; k++) {
        int c = strcmp(x->w[k], y->w[k]);
        if (c) return c;
    }
    return 0;
}

/* n - (distinct 4-grams) = the 4-grams that repeat an earlier one. */
static int repeated_4grams(char **tok, size_t n, size_t *repeated) {
    *repeated = 0;
    if (n < 4) return 0;
    const size_t m = n - 3;
    gram4 *g = malloc(m * sizeof *g);
    if (!g) return -2;
    for (size_t i = 0; i < m; i++)
        for (int k = 0; k < 4; k++) g[i].w[k] = tok[i + (size_t)k];
    qsort(g, m, sizeof *g, cmp_gram);
    size_t distinct = 1;
    for (size_t i = 1; i < m; i++) distinct += cmp_gram(&g[i - 1], &g[i]) != 0;
    free(g);
    *repeated = m - distinct;
    return 0;
}

int baldro_degeneration(const char *text, baldro_degen_result *r) {
    if (!text || !r) return -1;
    baldro_degen_result o = {0};
    const size_t len = strlen(text);
    char **tok = NULL;
    if (baldro_rouge_tokenize(text, len, false, &tok, &o.n_words) != 0) return -2;
    const int rc = repeated_4grams(tok, o.n_words, &o.n_repeated);
    free(tok);
    if (rc) return rc;
    o.n_ngrams = o.n_words >= 4 ? o.n_words - 3 : 0;
    o.rep = o.n_ngrams ? (double)o.n_repeated / (double)o.n_ngrams : 0.0;

    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space(s[i])) i++;
        size_t a = i;
        while (i < len && !is_space(s[i])) i++;
        size_t b = i;
        while (a < b && is_strip(s[a])) a++;
        while (b > a && is_strip(s[b - 1])) b--;
        if (a == b) continue;
        o.n_chunks++;
        o.n_nonword += !baldro_degen_word_like(text + a, b - a);
    }
    o.nonword = o.n_chunks ? (double)o.n_nonword / (double)o.n_chunks : 1.0;
    o.score = o.rep > o.nonword ? o.rep : o.nonword;
    *r = o;
    return 0;
}
