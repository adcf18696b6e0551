/*
 * libFuzzer harness for the GGUF reader (core/io/gguf.c): arbitrary bytes through
 * baldro_gguf_open_memory(), the same parser baldro_gguf_open() runs on a mapped file.
 * Rejections are expected and fine; a crash, a sanitizer report, a leak, or a broken
 * invariant (checked below, __builtin_trap() on violation) is a bug. For every accepted
 * input it walks everything the reader hands out: each metadata value through the typed
 * getters, every element of every string array, every tensor's data (which must lie inside
 * the input at an aligned offset) and, for the convertible types, a full f32 read.
 *   cmake -S . -B build-fuzz-gguf -DCMAKE_C_COMPILER=clang -DBALDRO_FUZZ=ON \
 *         -DBALDRO_BUILD_TESTS=OFF -DBALDRO_BUILD_BENCH=OFF -DBALDRO_CUDA=OFF
 *   cmake --build build-fuzz-gguf --target fuzz_gguf
 *   mkdir -p /tmp/gguf-corpus && build-fuzz-gguf/bin/fuzz_gguf -max_total_time=300 \
 *     /tmp/gguf-corpus tests/fuzz/corpus_gguf
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "io/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static int inside(const uint8_t *data, size_t size, const void *p, size_t n) {
    const uint8_t *q = p;
    return q >= data && q <= data + size && n <= (size_t)(data + size - q);
}

static void walk_kv(const baldro_gguf_file *f, const uint8_t *data, size_t size) {
    baldro_error err;
    for (size_t i = 0; i < baldro_gguf_kv_count(f); i++) {
        const baldro_gguf_kv *kv = baldro_gguf_kv_at(f, i);
        CHECK(kv && kv->key && baldro_gguf_kv_find(f, kv->key) == kv);
        int64_t iv;
        double dv;
        char *s = NULL;
        int rc = baldro_gguf_get_int(f, kv->key, INT64_MIN, INT64_MAX, &iv, &err);
        CHECK(rc == BALDRO_OK || rc == BALDRO_EINVAL);
        rc = baldro_gguf_get_float(f, kv->key, &dv, &err);
        CHECK(rc == BALDRO_OK || rc == BALDRO_EINVAL);
        rc = baldro_gguf_get_str(f, kv->key, &s, &err);
        CHECK(rc == BALDRO_OK || rc == BALDRO_EINVAL);
        CHECK((rc == BALDRO_OK) == (s != NULL));
        g_free(s);
        if (kv->type == BALDRO_GGUF_STRING) CHECK(inside(data, size, kv->str, kv->str_len));
        if (kv->type != BALDRO_GGUF_ARRAY) continue;
        CHECK(kv->elem != BALDRO_GGUF_ARRAY);
        size_t len;
        if (kv->elem == BALDRO_GGUF_STRING) {
            for (uint64_t j = 0; j < kv->n; j++) {
                const char *p = baldro_gguf_kv_str_at(f, kv, j, &len);
                CHECK(p && inside(data, size, p, len));
            }
            CHECK(baldro_gguf_kv_str_at(f, kv, kv->n, &len) == NULL);
        } else {
            CHECK(baldro_gguf_kv_str_at(f, kv, 0, &len) == NULL);
            CHECK(kv->n == 0 || inside(data, size, kv->arr, (size_t)kv->n));
        }
    }
    CHECK(baldro_gguf_kv_at(f, baldro_gguf_kv_count(f)) == NULL);
}

static void walk_tensors(const baldro_gguf_file *f, const uint8_t *data, size_t size) {
    baldro_error err;
    uint64_t align = baldro_gguf_alignment(f);
    CHECK(align > 0 && (align & (align - 1)) == 0);
    for (size_t i = 0; i < baldro_gguf_tensor_count(f); i++) {
        const baldro_gguf_tensor *t = baldro_gguf_tensor_at(f, i);
        CHECK(t && baldro_gguf_tensor_find(f, t->name) == t);
        CHECK(t->ndim >= 0 && t->ndim <= BALDRO_GGUF_MAX_DIMS);
        CHECK(t->offset % align == 0);
        CHECK(inside(data, size, t->data, t->nbytes));
        CHECK((uint64_t)((const uint8_t *)t->data - data) ==
              baldro_gguf_data_offset(f) + t->offset);
        int64_t n = baldro_gguf_tensor_numel(t);
        CHECK(n >= 0);
        int convertible = t->type == BALDRO_GGML_F32 || t->type == BALDRO_GGML_F16 ||
                          t->type == BALDRO_GGML_BF16;
        if (convertible) {
            /* numel is nbytes / 2 or / 4 here: bounded by the input. */
            CHECK((size_t)n * (t->type == BALDRO_GGML_F32 ? 4 : 2) == t->nbytes);
            float *buf = g_new(float, n ? (size_t)n : 1);
            CHECK(baldro_gguf_read_f32(f, t, buf, (size_t)n, &err) == BALDRO_OK);
            CHECK(baldro_gguf_read_f32(f, t, buf, (size_t)n + 1, &err) == BALDRO_EINVAL);
            g_free(buf);
        } else {
            float one;
            CHECK(baldro_gguf_read_f32(f, t, &one, 1, &err) == BALDRO_EINVAL);
            CHECK(strstr(err.msg, "unsupported tensor type") != NULL);
        }
    }
    CHECK(baldro_gguf_tensor_at(f, baldro_gguf_tensor_count(f)) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    baldro_error err = {0};
    baldro_gguf_file *f = NULL;
    int rc = baldro_gguf_open_memory(data, size, "fuzz", &f, &err);
    if (rc != BALDRO_OK) {
        /* A rejection is one line that names the input. */
        CHECK(f == NULL && rc == BALDRO_EINVAL && err.code == rc);
        CHECK(strncmp(err.msg, "fuzz: ", 6) == 0 && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    CHECK(baldro_gguf_version(f) == 2 || baldro_gguf_version(f) == 3);
    walk_kv(f, data, size);
    walk_tensors(f, data, size);
    baldro_gguf_close(f);
    return 0;
}
