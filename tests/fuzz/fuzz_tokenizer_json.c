/*
 * libFuzzer harness for the tokenizer.json loader (core/tokenizer/): arbitrary bytes
 * through baldro_tok_load_buffers(), the same path baldro_tok_load_json() takes after
 * reading the file; bytes after a NUL are its tokenizer_config.json. Rejections are expected; a crash, a sanitizer report, a leak, or a
 * broken promise (checked below, __builtin_trap() on violation) is a bug. An accepted
 * tokenizer must encode a few fixed strings (with and without specials, invalid UTF-8
 * included) to in-range ids and decode them back without error.
 *   cmake -S . -B build-fuzz-tok -DCMAKE_C_COMPILER=clang -DBALDRO_FUZZ=ON \
 *         -DBALDRO_BUILD_TESTS=OFF -DBALDRO_BUILD_BENCH=OFF -DBALDRO_CUDA=OFF
 *   cmake --build build-fuzz-tok --target fuzz_tokenizer_json
 *   mkdir -p /tmp/tok-corpus && build-fuzz-tok/bin/fuzz_tokenizer_json -max_total_time=300 \
 *     -dict=tests/fuzz/tokenizer_json.dict \
 *     /tmp/tok-corpus tests/fuzz/corpus_tokenizer_json
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static const char *const TEXTS[] = {
    "", "a", "ab abb", "Hello, world! 123 <|bos|> <s>", "  \t\n x\xe2\x96\x81y", "\xff\xe2\x82 z",
    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    baldro_error err = { 0 };
    baldro_tokenizer *t = NULL;
    /* Bytes after the first NUL, if any, are the tokenizer_config.json. */
    const uint8_t *nul = memchr(data, 0, size);
    size_t tj_len = nul ? (size_t)(nul - data) : size;
    const char *cfg = nul ? (const char *)nul + 1 : NULL;
    size_t cfg_len = nul ? size - tj_len - 1 : 0;
    int rc = baldro_tok_load_buffers((const char *)data, tj_len, cfg, cfg_len, "fuzz", &t, &err);
    if (rc != BALDRO_OK) {
        CHECK(t == NULL && err.code == rc && (rc == BALDRO_EINVAL || rc == BALDRO_EUNSUPPORTED ||
                                              rc == BALDRO_ENOMEM));
        CHECK((strncmp(err.msg, "fuzz: ", 6) == 0 ||
               strncmp(err.msg, "./tokenizer_config.json: ", 25) == 0) &&
              strchr(err.msg, '\n') == NULL);
        return 0;
    }
    int32_t nv = baldro_tok_vocab_size(t);
    for (size_t k = 0; k < sizeof TEXTS / sizeof TEXTS[0]; k++) {
        for (int sp = 0; sp < 2; sp++) {
            int32_t *ids = NULL;
            size_t n = 0;
            CHECK(baldro_tok_encode(t, TEXTS[k], strlen(TEXTS[k]), sp, &ids, &n, &err) ==
                  BALDRO_OK);
            for (size_t i = 0; i < n; i++) {
                CHECK(ids[i] >= 0 && ids[i] < nv);
                CHECK(baldro_tok_token_str(t, ids[i]) != NULL);
            }
            char *text = NULL;
            size_t len = 0;
            CHECK(baldro_tok_decode(t, ids, n, sp, &text, &len, &err) == BALDRO_OK);
            CHECK(text != NULL && strlen(text) <= len);
            g_free(text);
            g_free(ids);
        }
    }
    baldro_tok_free(t);
    return 0;
}
