/*
 * porter.c: Porter stemmer, NLTK_EXTENSIONS mode (see porter.h for what that means).
 *
 * The word lives in one buffer b[0..k). Every rule only shortens the word or rewrites its
 * end within the original length, so the buffer the caller gives (len + 1 bytes) is enough
 * at every point. Consonant/vowel classes depend only on the letters before a position, so
 * a class computed on a prefix is the class in the whole word.
 */
#include "porter.h"

#include <stdbool.h>
#include <string.h>

typedef struct {
    char *b;
    size_t k; /* current length */
} word_t;

static bool is_vowel_letter(char c) {
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Whether b[i] is a consonant: not a vowel letter, and a 'y' only when the letter before
 * it is a vowel (or it starts the word). A run of y's alternates, so count the run. */
static bool is_cons(const char *b, size_t i) {
    if (is_vowel_letter(b[i])) return false;
    if (b[i] != 'y') return true;
    size_t j = i;
    bool flip = false;
    while (j > 0 && b[j] == 'y') {
        flip = !flip;
        j--;
    }
    /* b[j] is the first letter (possibly a 'y') or the letter before the y-run. */
    return (!is_vowel_letter(b[j])) != flip;
}

/* m: the number of vowel-run -> consonant-run transitions in b[0..k). */
static size_t measure(const char *b, size_t k) {
    size_t m = 0;
    bool prev_cons = true, have_prev = false;
    for (size_t i = 0; i < k; i++) {
        bool c;
        if (is_vowel_letter(b[i]))
            c = false;
        else if (b[i] == 'y')
            c = (i == 0) ? true : !prev_cons;
        else
            c = true;
        if (have_prev && !prev_cons && c) m++;
        prev_cons = c;
        have_prev = true;
    }
    return m;
}

static bool contains_vowel(const char *b, size_t k) {
    bool prev_cons = true;
    for (size_t i = 0; i < k; i++) {
        bool c;
        if (is_vowel_letter(b[i]))
            c = false;
        else if (b[i] == 'y')
            c = (i == 0) ? true : !prev_cons;
        else
            c = true;
        if (!c) return true;
        prev_cons = c;
    }
    return false;
}

static bool ends_double_cons(const char *b, size_t k) {
    return k >= 2 && b[k - 1] == b[k - 2] && is_cons(b, k - 1);
}

/* *o, with NLTK's extra case of a two-letter vowel-consonant stem. */
static bool ends_cvc(const char *b, size_t k) {
    if (k >= 3 && is_cons(b, k - 3) && !is_cons(b, k - 2) && is_cons(b, k - 1) && b[k - 1] != 'w' &&
        b[k - 1] != 'x' && b[k - 1] != 'y')
        return true;
    return k == 2 && !is_cons(b, 0) && is_cons(b, 1);
}

static bool ends_with(const word_t *w, const char *s, size_t n) {
    return w->k >= n && (n == 0 || w->b[w->k - 1] == s[n - 1]) &&
           memcmp(w->b + w->k - n, s, n) == 0;
}

/* Replace the last `cut` letters by rep (strlen(rep) <= cut + what was removed earlier;
 * callers never grow the word past its original length). */
static void set_end(word_t *w, size_t cut, const char *rep) {
    size_t r = strlen(rep);
    memcpy(w->b + w->k - cut, rep, r);
    w->k = w->k - cut + r;
}

enum cond {
    C_NONE, /* unconditional                                        */
    C_M0,   /* m(stem) > 0                                           */
    C_M1,   /* m(stem) > 1                                           */
    C_ION,  /* m(stem) > 1 and the stem ends in s or t               */
    C_LOGI, /* m(stem + "l") > 0: the stem with the suffix's first l */
};

typedef struct {
    const char *suffix;
    size_t suffix_len;
    const char *rep;
    enum cond cond;
} rule_t;

/* A rule from string literals: suffix, replacement, condition. */
#define R(suf, rep, cond)                                                                          \
    { suf, sizeof(suf) - 1, rep, cond }

static bool cond_holds(const word_t *w, size_t stem_len, enum cond c) {
    switch (c) {
    case C_NONE:
        return true;
    case C_M0:
        return measure(w->b, stem_len) > 0;
    case C_M1:
        return measure(w->b, stem_len) > 1;
    case C_ION:
        return measure(w->b, stem_len) > 1 && stem_len > 0 &&
               (w->b[stem_len - 1] == 's' || w->b[stem_len - 1] == 't');
    case C_LOGI:
        return measure(w->b, stem_len + 1) > 0;
    }
    return false;
}

/* The first rule whose suffix matches decides, whether or not its condition holds. */
static void apply_rules(word_t *w, const rule_t *rules, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t sl = rules[i].suffix_len;
        if (!ends_with(w, rules[i].suffix, sl)) continue;
        if (cond_holds(w, w->k - sl, rules[i].cond)) set_end(w, sl, rules[i].rep);
        return;
    }
}

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

static void step1a(word_t *w) {
    static const rule_t rules[] = {
        R("sses", "ss", C_NONE),
        R("ies", "i", C_NONE),
        R("ss", "ss", C_NONE),
        R("s", "", C_NONE),
    };
    if (w->k == 4 && ends_with(w, "ies", 3)) {
        set_end(w, 3, "ie");
        return;
    }
    apply_rules(w, rules, NRULES(rules));
}

static void step1b(word_t *w) {
    if (ends_with(w, "ied", 3)) {
        set_end(w, 3, w->k == 4 ? "ie" : "i");
        return;
    }
    if (ends_with(w, "eed", 3)) {
        if (measure(w->b, w->k - 3) > 0) set_end(w, 3, "ee");
        return;
    }
    size_t cut = 0;
    if (ends_with(w, "ed", 2) && contains_vowel(w->b, w->k - 2))
        cut = 2;
    else if (ends_with(w, "ing", 3) && contains_vowel(w->b, w->k - 3))
        cut = 3;
    if (cut == 0) return;
    w->k -= cut;

    if (ends_with(w, "at", 2) || ends_with(w, "bl", 2) || ends_with(w, "iz", 2)) {
        set_end(w, 0, "e");
        return;
    }
    if (ends_double_cons(w->b, w->k)) {
        char last = w->b[w->k - 1];
        if (last != 'l' && last != 's' && last != 'z') w->k--;
        return;
    }
    if (measure(w->b, w->k) == 1 && ends_cvc(w->b, w->k)) set_end(w, 0, "e");
}

static void step1c(word_t *w) {
    if (ends_with(w, "y", 1) && w->k - 1 > 1 && is_cons(w->b, w->k - 2)) w->b[w->k - 1] = 'i';
}

static void step2(word_t *w) {
    static const rule_t rules[] = {
        R("ational", "ate", C_M0), R("tional", "tion", C_M0), R("enci", "ence", C_M0),
        R("anci", "ance", C_M0),   R("izer", "ize", C_M0),    R("bli", "ble", C_M0),
        R("alli", "al", C_M0),     R("entli", "ent", C_M0),   R("eli", "e", C_M0),
        R("ousli", "ous", C_M0),   R("ization", "ize", C_M0), R("ation", "ate", C_M0),
        R("ator", "ate", C_M0),    R("alism", "al", C_M0),    R("iveness", "ive", C_M0),
        R("fulness", "ful", C_M0), R("ousness", "ous", C_M0), R("aliti", "al", C_M0),
        R("iviti", "ive", C_M0),   R("biliti", "ble", C_M0),  R("fulli", "ful", C_M0),
        R("logi", "log", C_LOGI),
    };
    /* NLTK first turns "alli" into "al" (m > 0) and runs step 2 again on the result;
     * that ends in "al", so only the rule list below can still apply to it. */
    if (ends_with(w, "alli", 4) && measure(w->b, w->k - 4) > 0) set_end(w, 4, "al");
    apply_rules(w, rules, NRULES(rules));
}

static void step3(word_t *w) {
    static const rule_t rules[] = {
        R("icate", "ic", C_M0), R("ative", "", C_M0),  R("alize", "al", C_M0),
        R("iciti", "ic", C_M0), R("ical", "ic", C_M0), R("ful", "", C_M0),
        R("ness", "", C_M0),
    };
    apply_rules(w, rules, NRULES(rules));
}

static void step4(word_t *w) {
    static const rule_t rules[] = {
        R("al", "", C_M1),    R("ance", "", C_M1), R("ence", "", C_M1), R("er", "", C_M1),
        R("ic", "", C_M1),    R("able", "", C_M1), R("ible", "", C_M1), R("ant", "", C_M1),
        R("ement", "", C_M1), R("ment", "", C_M1), R("ent", "", C_M1),  R("ion", "", C_ION),
        R("ou", "", C_M1),    R("ism", "", C_M1),  R("ate", "", C_M1),  R("iti", "", C_M1),
        R("ous", "", C_M1),   R("ive", "", C_M1),  R("ize", "", C_M1),
    };
    apply_rules(w, rules, NRULES(rules));
}

static void step5a(word_t *w) {
    if (!ends_with(w, "e", 1)) return;
    size_t m = measure(w->b, w->k - 1);
    if (m > 1 || (m == 1 && !ends_cvc(w->b, w->k - 1))) w->k--;
}

static void step5b(word_t *w) {
    if (ends_with(w, "ll", 2) && measure(w->b, w->k - 1) > 1) w->k--;
}

/* Words NLTK_EXTENSIONS maps without running the steps. */
typedef struct {
    const char *word;
    size_t len;
    const char *stem;
} irregular_t;

#define IRR(w, s)                                                                                  \
    { w, sizeof(w) - 1, s }
static const irregular_t irregular[] = {
    IRR("sky", "sky"),         IRR("skies", "sky"),        IRR("dying", "die"),
    IRR("lying", "lie"),       IRR("tying", "tie"),        IRR("news", "news"),
    IRR("innings", "inning"),  IRR("inning", "inning"),    IRR("outings", "outing"),
    IRR("outing", "outing"),   IRR("cannings", "canning"), IRR("canning", "canning"),
    IRR("howe", "howe"),       IRR("proceed", "proceed"),  IRR("exceed", "exceed"),
    IRR("succeed", "succeed"),
};

size_t baldro_porter_stem(const char *word, size_t len, char *out) {
    if (out != word) memmove(out, word, len);
    for (size_t i = 0; i < len; i++)
        if (out[i] >= 'A' && out[i] <= 'Z') out[i] = (char)(out[i] - 'A' + 'a');
    out[len] = '\0';

    for (size_t i = 0; i < NRULES(irregular); i++) {
        if (irregular[i].len == len && memcmp(irregular[i].word, out, len) == 0) {
            size_t r = strlen(irregular[i].stem);
            memcpy(out, irregular[i].stem, r + 1);
            return r;
        }
    }
    if (len <= 2) return len;

    word_t w = {out, len};
    step1a(&w);
    step1b(&w);
    step1c(&w);
    step2(&w);
    step3(&w);
    step4(&w);
    step5a(&w);
    step5b(&w);
    out[w.k] = '\0';
    return w.k;
}
