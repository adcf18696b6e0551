/*
 * libFuzzer harness for the TOFU legacy eval-log reader (core/eval/legacy_logs.c): any
 * bytes through baldro_legacy_log_parse(). A refusal must leave nothing allocated and
 * give one line naming the input; an accepted log must hold four splits of items whose
 * pointers and counts are consistent. Built by hand, as the other harnesses:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore -Isdk/include \
 *     $(pkg-config --cflags glib-2.0 json-glib-1.0) tests/fuzz/fuzz_legacy_log.c \
 *     core/eval/legacy_logs.c core/io/json_strict.c core/util/error.c \
 *     $(pkg-config --libs glib-2.0 json-glib-1.0) -lm -o /tmp/fuzz_legacy_log
 *   /tmp/fuzz_legacy_log -max_total_time=300 /tmp/legacy-corpus tests/fuzz/corpus_legacy_log
 */
#include <stdint.h>
#include <string.h>

#include "eval/legacy_logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    baldro_legacy_log L;
    baldro_error err = {0};
    int rc = baldro_legacy_log_parse((const char *)data, size, "fuzz", &L, &err);
    if (rc) {
        CHECK(strncmp(err.msg, "fuzz", 4) == 0 && strchr(err.msg, '\n') == NULL);
        for (int k = 0; k < 4; k++) CHECK(L.s[k].items == NULL && L.s[k].n == 0);
        return 0;
    }
    for (int k = 0; k < 4; k++) {
        CHECK(L.s[k].n > 0);
        for (size_t i = 0; i < L.s[k].n; i++) {
            const baldro_eval_item *e = L.s[k].ptr[i];
            CHECK(e == &L.s[k].items[i] && e->n_alt >= 1 && e->alt_nll && e->alt_tokens);
            CHECK(e->generation && e->ground_truth);
        }
    }
    baldro_legacy_log_clear(&L);
    return 0;
}
