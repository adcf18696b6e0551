/*
 * libFuzzer harness for the TOFU readers (core/data/tofu.c): arbitrary bytes as a split
 * file (baldro_tofu_parse_buffer, the path baldro_tofu_load takes after reading the file)
 * and as idontknow.jsonl (baldro_tofu_parse_lines_buffer), plus the order and pairing
 * rules at a size taken from the input. Rejections are expected; a crash, a sanitizer
 * report, a leak, or a broken promise (checked below, __builtin_trap() on violation) is
 * a bug.
 *   cmake -S . -B build-fuzz-tofu -DCMAKE_C_COMPILER=clang -DBALDRO_FUZZ=ON \
 *         -DBALDRO_BUILD_TESTS=OFF -DBALDRO_BUILD_BENCH=OFF -DBALDRO_CUDA=OFF
 *   cmake --build build-fuzz-tofu --target fuzz_tofu_line
 *   mkdir -p /tmp/tofu-corpus && build-fuzz-tofu/bin/fuzz_tofu_line -max_total_time=180 \
 *     -dict=tests/fuzz/tofu.dict /tmp/tofu-corpus tests/fuzz/corpus_tofu
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "data/batch.h"
#include "data/tofu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) __builtin_trap();                                                     \
    } while (0)

/* A refusal: nothing returned, one line starting with the name, a known code. */
static void check_refusal(int rc, const void *out, const baldro_error *err) {
    CHECK(out == NULL && err->code == rc && (rc == BALDRO_EINVAL || rc == BALDRO_ENOMEM));
    CHECK(strncmp(err->msg, "fuzz", 4) == 0 && strchr(err->msg, '\n') == NULL);
}

static void check_text(const char *s) {
    CHECK(s != NULL && *s != '\0' && g_utf8_validate(s, -1, NULL));
}

static void check_split(const baldro_tofu_split *s, size_t size) {
    CHECK(s->n >= 1 && s->items != NULL);
    size_t prev = 0;
    for (size_t i = 0; i < s->n; i++) {
        const baldro_tofu_item *it = &s->items[i];
        CHECK(it->line > prev && it->line <= size); /* one item per line, in order */
        prev = it->line;
        check_text(it->question);
        check_text(it->answer);
        unsigned f = 0;
        if (it->paraphrased_answer) {
            check_text(it->paraphrased_answer);
            f |= BALDRO_TOFU_HAS_PARA_ANSWER;
        }
        if (it->paraphrased_question) {
            check_text(it->paraphrased_question);
            f |= BALDRO_TOFU_HAS_PARA_QUESTION;
        }
        if (it->n_perturbed) f |= BALDRO_TOFU_HAS_PERTURBED;
        CHECK((it->perturbed != NULL) == (it->n_perturbed != 0));
        for (size_t k = 0; k < it->n_perturbed; k++) check_text(it->perturbed[k]);
        int n_opt = 0;
        for (int k = 0; k < 4; k++) {
            if (!it->options[k]) continue;
            check_text(it->options[k]);
            n_opt++;
        }
        CHECK(n_opt == 0 || n_opt == 4);
        if (n_opt) f |= BALDRO_TOFU_HAS_OPTIONS;
        CHECK(f == s->fields);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    baldro_error err = { 0 };
    const char *text = (const char *)data;

    baldro_tofu_split *s = NULL;
    int rc = baldro_tofu_parse_buffer(text, size, "fuzz", &s, &err);
    if (rc != BALDRO_OK) check_refusal(rc, s, &err);
    else check_split(s, size);
    baldro_tofu_free(s);

    baldro_tofu_lines *l = NULL;
    rc = baldro_tofu_parse_lines_buffer(text, size, "fuzz", &l, &err);
    if (rc != BALDRO_OK) {
        check_refusal(rc, l, &err);
    } else {
        CHECK(l->n >= 1);
        for (size_t i = 0; i < l->n; i++) {
            check_text(l->lines[i]);
            CHECK(strchr(l->lines[i], '\n') == NULL && l->line[i] <= size);
        }
    }
    baldro_tofu_lines_free(l);

    /* Order and pairing at a size and seed from the input: a permutation, pairs in range. */
    uint64_t seed = 0;
    memcpy(&seed, data, size < 8 ? size : 8);
    size_t n = size % 61, perm[61];
    uint8_t seen[61] = { 0 };
    baldro_data_permutation(n, seed, size, perm);
    for (size_t i = 0; i < n; i++) {
        CHECK(perm[i] < n && !seen[perm[i]]);
        seen[perm[i]] = 1;
        CHECK(baldro_data_pair(n, seed, 1, i) < n);
        CHECK(baldro_data_idk_choice(n, seed, i) < n);
    }
    return 0;
}
