/*
 * libFuzzer harness for the DistilBERT plugin's readers (plugins/models/distilbert/lib):
 * the WordPiece tokenizer.json loader and encoder, the vocab.txt + tokenizer_config.json
 * fallback, and the config.json parser. The first byte picks the mode:
 *   'V'   vocab.txt, NUL, tokenizer_config.json (absent without the NUL), NUL, a text
 *   'C'   config.json
 *   else  tokenizer.json, NUL, a text (encoded besides the fixed ones below)
 * Rejections are expected; a crash, a sanitizer report, a leak, or a broken promise
 * (checked below, __builtin_trap() on violation) is a bug. An accepted tokenizer must encode
 * every text, at every max_length from its template's size up, to at most max_length ids,
 * each in [0, max_id], and refuse a max_length below the template.
 *   cmake -S . -B build-fuzz-dbert -DCMAKE_C_COMPILER=clang -DBALDRO_FUZZ=ON \
 *         -DBALDRO_BUILD_TESTS=OFF -DBALDRO_BUILD_BENCH=OFF -DBALDRO_CUDA=OFF
 *   cmake --build build-fuzz-dbert --target fuzz_wordpiece
 *   mkdir -p /tmp/wp-corpus && build-fuzz-dbert/bin/fuzz_wordpiece -max_total_time=300 \
 *     -dict=tests/fuzz/wordpiece.dict /tmp/wp-corpus tests/fuzz/corpus_wordpiece
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "baldro/abi.h"
#include "distilbert.h"
#include "wordpiece.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static const char *const TEXTS[] = {
    "",
    "a",
    "ab abb",
    "Hello, World! [CLS] x[SEP]y [MASK] 123",
    "  \t\n x\xe2\x96\x81y",
    "\xff\xe2\x82 z",
    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82 Caf\xc3\xa9 \xc4\xb0",
    "e\xcc\x81\xcc\xa7 \xe2\x85\xa0 ##a ##",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

/* An error: the right code, one line, naming the file it came from. */
static void check_error(int rc, const char *err, const char *prefix) {
    CHECK(rc == BALDRO_EINVAL || rc == BALDRO_EUNSUPPORTED || rc == BALDRO_ENOMEM);
    CHECK(strncmp(err, prefix, strlen(prefix)) == 0 && strchr(err, '\n') == NULL);
}

static void encode_one(const wordpiece *wp, wordpiece_work *work, const char *text, size_t len) {
    int32_t ns = wordpiece_n_special(wp), mx = wordpiece_max_id(wp);
    int32_t ids[80];
    char err[256];
    const int32_t mls[] = {ns - 1, ns, ns + 1, ns + 3, 32, 80};
    for (size_t j = 0; j < sizeof mls / sizeof mls[0]; j++) {
        int32_t ml = mls[j], n = -1;
        if (ml < 0 || ml > 80) continue;
        err[0] = 0;
        int rc = wordpiece_encode(wp, work, text, len, ml, ids, &n, err, sizeof err);
        if (ml < ns) {
            CHECK(rc == BALDRO_EINVAL && n == 0 && err[0] && !strchr(err, '\n'));
            continue;
        }
        CHECK(rc == BALDRO_OK && n >= ns && n <= ml);
        for (int32_t i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] <= mx);
    }
    char **w = wordpiece_words(wp, text, len);
    CHECK(w != NULL);
    for (char **p = w; *p; p++) CHECK(**p != 0 && g_utf8_validate(*p, -1, NULL));
    g_strfreev(w);
}

static void exercise(const wordpiece *wp, const char *text, size_t len) {
    wordpiece_work *work = wordpiece_work_new();
    for (size_t k = 0; k < sizeof TEXTS / sizeof TEXTS[0]; k++)
        encode_one(wp, work, TEXTS[k], strlen(TEXTS[k]));
    if (text) encode_one(wp, work, text, len);
    encode_one(wp, NULL, "x y", 3);
    wordpiece_work_free(work);
}

/* The next NUL-separated part of data[*at, size): its start and length; NULL once the
 * input is used up (a part ends at a NUL or at the end). */
static const char *part(const uint8_t *data, size_t size, size_t *at, size_t *len) {
    if (*at > size) return NULL;
    const uint8_t *nul = memchr(data + *at, 0, size - *at);
    const char *s = (const char *)data + *at;
    *len = nul ? (size_t)(nul - (data + *at)) : size - *at;
    *at += *len + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    size_t at = size ? 1 : 0, n1 = 0, n2 = 0, n3 = 0;
    if (size && data[0] == 'C') {
        distilbert_config cfg;
        err[0] = 0;
        int rc = distilbert_config_parse((const char *)data + 1, size - 1, "fuzz", &cfg, err,
                                         sizeof err);
        if (rc) {
            check_error(rc, err, "fuzz: ");
            return 0;
        }
        CHECK(cfg.vocab_size > 0 && cfg.dim > 0 && cfg.n_layers > 0 && cfg.n_heads > 0 &&
              cfg.dim % cfg.n_heads == 0 && cfg.hidden_dim > 0 && cfg.max_pos > 0 &&
              cfg.n_classes > 0);
        for (int32_t i = 0; cfg.labels && i < cfg.n_classes; i++) CHECK(cfg.labels[i] != NULL);
        CHECK(distilbert_scratch_floats(&cfg, 32) > 0);
        distilbert_config_clear(&cfg);
        return 0;
    }
    wordpiece *wp = NULL;
    const char *text = NULL;
    int rc;
    err[0] = 0;
    if (size && data[0] == 'V') {
        const char *vocab = part(data, size, &at, &n1);
        const char *cfg = part(data, size, &at, &n2);
        text = part(data, size, &at, &n3);
        rc = wordpiece_load_vocab(vocab, n1, "fuzz-vocab", cfg, n2, "fuzz-config", NULL, 0, NULL,
                                  &wp, err, sizeof err);
        if (rc) {
            check_error(rc, err, "fuzz-");
            CHECK(wp == NULL);
            return 0;
        }
    } else {
        at = 0;
        const char *tj = part(data, size, &at, &n1);
        text = part(data, size, &at, &n3);
        rc = wordpiece_load_json(tj ? tj : "", tj ? n1 : 0, "fuzz", &wp, err, sizeof err);
        if (rc) {
            check_error(rc, err, "fuzz: ");
            CHECK(wp == NULL);
            return 0;
        }
    }
    CHECK(wp != NULL && wordpiece_max_id(wp) >= 0 && wordpiece_n_special(wp) >= 0);
    exercise(wp, text, text ? (n3 < 2048 ? n3 : 2048) : 0); /* long texts only slow it */
    wordpiece_free(wp);
    return 0;
}
