/*
 * libFuzzer harness for the open-unlearning TOFU_EVAL.json reader (core/eval/eval_log.c):
 * any bytes through baldro_eval_log_detect(), baldro_eval_log_parse() and
 * baldro_eval_log_parse_reference(). A refusal must leave nothing allocated and give one
 * line naming the input; an accepted log must hold splits whose items, pointers, counts and
 * strings are consistent, and score arrays that match their counts. Built with the project
 * (-DBALDRO_FUZZ=ON, clang; see the top-level CMakeLists.txt):
 *   cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DBALDRO_FUZZ=ON \
 *     -DBALDRO_BUILD_TESTS=OFF -DBALDRO_BUILD_BENCH=OFF -DBALDRO_CUDA=OFF
 *   cmake --build build-fuzz --target fuzz_eval_log
 *   build-fuzz/bin/fuzz_eval_log -max_total_time=300 /tmp/eval-log-corpus tests/fuzz/corpus_eval_log
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "eval/eval_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

static void check_refused(const baldro_eval_log *L, const baldro_error *err) {
    CHECK(strncmp(err->msg, "fuzz: ", 6) == 0 && strchr(err->msg, '\n') == NULL);
    for (int k = 0; k < 4; k++) CHECK(L->qa.s[k].items == NULL && L->qa.s[k].n == 0);
    CHECK(!L->forget_tr && !L->mia_forget && !L->mia_holdout && !L->es && !L->gibberish);
    CHECK(L->n_forget_tr == 0 && L->n_mia_forget == 0 && L->n_es == 0 && L->n_gibberish == 0);
}

static void check_scores(const double *v, size_t n) {
    CHECK((v == NULL) == (n == 0));
    for (size_t i = 0; i < n; i++) CHECK(isnan(v[i]) || isfinite(v[i]));
}

static void check_accepted(const baldro_eval_log *L, int reference) {
    for (int k = 0; k < 4; k++) {
        const baldro_log_split *s = &L->qa.s[k];
        CHECK(s->split != NULL);
        if (reference) CHECK(s->n == 0);
        int32_t n_alt = s->n ? s->items[0].n_alt : 0;
        for (size_t i = 0; i < s->n; i++) {
            const baldro_eval_item *e = s->ptr[i];
            CHECK(e == &s->items[i] && e->struct_size == sizeof *e);
            CHECK(e->n_tokens == 1 && (k < 2 ? e->para_tokens == 1 : isnan(e->para_nll)));
            CHECK(e->n_alt == n_alt && e->n_alt >= 1 && e->n_alt <= 64);
            for (int32_t j = 0; j < e->n_alt; j++) CHECK(e->alt_tokens[j] == 1);
            CHECK(e->question && e->ground_truth && e->generation);
            (void)strlen(e->question), (void)strlen(e->ground_truth), (void)strlen(e->generation);
        }
    }
    check_scores(L->forget_tr, L->n_forget_tr);
    check_scores(L->mia_forget, L->n_mia_forget);
    check_scores(L->mia_holdout, L->n_mia_holdout);
    check_scores(L->es, L->n_es);
    check_scores(L->gibberish, L->n_gibberish);
    CHECK((L->mia_forget != NULL) == (L->mia_holdout != NULL));
    if (!L->mia_forget) CHECK(isnan(L->mia_auc));
    if (reference) CHECK(L->forget_tr || L->mia_forget);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)baldro_eval_log_detect((const char *)data, size);
    for (int reference = 0; reference < 2; reference++) {
        baldro_eval_log L;
        baldro_error err = {0};
        int rc = reference
                     ? baldro_eval_log_parse_reference((const char *)data, size, "fuzz", &L, &err)
                     : baldro_eval_log_parse((const char *)data, size, "fuzz", &L, &err);
        if (rc) {
            CHECK(rc == err.code);
            check_refused(&L, &err);
            continue;
        }
        check_accepted(&L, reference);
        baldro_eval_log_clear(&L);
    }
    return 0;
}
