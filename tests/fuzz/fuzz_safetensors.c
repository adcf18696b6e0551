/*
 * libFuzzer harness for the safetensors reader (core/io/safetensors_*.c): arbitrary bytes
 * through baldro_st_open_memory(), the same parser baldro_st_open() runs on a mapped file.
 * Rejections are expected and fine; a crash, a sanitizer report, a leak, or a broken
 * invariant (checked below, __builtin_trap() on violation) is a bug. For every accepted
 * input it also checks the reader's promises (tensors tile the data section, sizes match
 * shapes, reads convert without faults) and round-trips the file through the writer: what
 * we write must reopen to the same tensors and metadata, and writing that again must give
 * the same bytes.
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DBALDRO_FUZZ=ON -DBALDRO_BUILD_TESTS=OFF \
 *         -DBALDRO_CUDA=OFF
 *   cmake --build build-fuzz --target fuzz_safetensors
 *   mkdir -p /tmp/st-corpus && build-fuzz/bin/fuzz_safetensors -max_total_time=120 \
 *     -dict=tests/fuzz/safetensors.dict /tmp/st-corpus tests/fuzz/corpus_safetensors
 * (seeds are read in place from tests/fuzz/corpus_safetensors; new inputs go to the first
 * directory. tests/oracle/make_safetensors_fixtures.py regenerates the seeds.)
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static void fuzz_reads(const baldro_st_file *f) {
    baldro_error err;
    for (size_t i = 0; i < baldro_st_count(f); i++) {
        const baldro_st_tensor *t = baldro_st_at(f, i);
        size_t esize = baldro_st_dtype_size(t->dtype);
        CHECK(esize > 0 && t->nbytes % esize == 0);
        size_t n = t->nbytes / esize;
        /* The element count from the shape agrees with nbytes. */
        uint64_t numel = 1;
        for (int32_t d = 0; d < t->ndim; d++) numel *= (uint64_t)t->shape[d];
        CHECK(numel == n);
        CHECK(baldro_st_find(f, t->name) == t);
        /* n * 8 bytes at most 8x the input: the data section bounds n. */
        double *buf = g_new(double, n ? n : 1);
        int rc = baldro_st_read_f32(f, t->name, (float *)buf, n, &err);
        CHECK(rc == BALDRO_OK || rc == BALDRO_EINVAL || rc == BALDRO_ENUMERIC);
        rc = baldro_st_read_f64(f, t->name, buf, n, &err);
        CHECK(rc == BALDRO_OK || rc == BALDRO_EINVAL);
        rc = baldro_st_read_i32(f, t->name, (int32_t *)buf, n, &err);
        CHECK(rc == BALDRO_OK || rc == BALDRO_EINVAL);
        /* A wrong count is always refused. */
        CHECK(baldro_st_read_f64(f, t->name, buf, n + 1, &err) == BALDRO_EINVAL);
        g_free(buf);
    }
}

/* Writer from a file's tensors and metadata; every accepted file must be writable. */
static baldro_st_writer *fuzz_writer_from(const baldro_st_file *f) {
    baldro_error err;
    baldro_st_writer *w = baldro_st_writer_new();
    for (size_t i = 0; i < baldro_st_count(f); i++) {
        const baldro_st_tensor *t = baldro_st_at(f, i);
        CHECK(baldro_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, &err) ==
              BALDRO_OK);
    }
    size_t nk = 0;
    const char **keys = baldro_st_metadata_keys(f, &nk);
    for (size_t i = 0; i < nk; i++)
        CHECK(baldro_st_writer_set_metadata(w, keys[i], baldro_st_metadata(f, keys[i]), &err) ==
              BALDRO_OK);
    g_free(keys);
    return w;
}

static void fuzz_round_trip(const baldro_st_file *f) {
    baldro_error err;
    baldro_st_writer *w = fuzz_writer_from(f);
    size_t len = 0;
    void *mem = baldro_st_writer_to_memory(w, &len, &err);
    CHECK(mem != NULL);
    baldro_st_file *g = NULL;
    CHECK(baldro_st_open_memory(mem, len, "rt", &g, &err) == BALDRO_OK);
    CHECK(baldro_st_count(g) == baldro_st_count(f));
    for (size_t i = 0; i < baldro_st_count(f); i++) {
        const baldro_st_tensor *a = baldro_st_at(f, i);
        const baldro_st_tensor *b = baldro_st_find(g, a->name);
        CHECK(b != NULL);
        CHECK(a->dtype == b->dtype && a->ndim == b->ndim && a->nbytes == b->nbytes);
        CHECK(memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) == 0);
        CHECK(a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0);
        /* Our writer aligns every tensor. */
        CHECK((uintptr_t)((const unsigned char *)b->data - (const unsigned char *)mem) %
                  baldro_st_dtype_size(b->dtype) == 0);
    }
    size_t nk = 0, nk2 = 0;
    const char **keys = baldro_st_metadata_keys(f, &nk);
    const char **keys2 = baldro_st_metadata_keys(g, &nk2);
    CHECK(nk == nk2);
    for (size_t i = 0; i < nk; i++)
        CHECK(strcmp(baldro_st_metadata(f, keys[i]), baldro_st_metadata(g, keys[i])) == 0);
    g_free(keys);
    g_free(keys2);
    /* Canonical: writing the reopened file again gives the same bytes. */
    baldro_st_writer *w2 = fuzz_writer_from(g);
    size_t len2 = 0;
    void *mem2 = baldro_st_writer_to_memory(w2, &len2, &err);
    CHECK(mem2 != NULL && len2 == len && memcmp(mem, mem2, len) == 0);
    g_free(mem2);
    baldro_st_writer_free(w2);
    baldro_st_close(g);
    g_free(mem);
    baldro_st_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    baldro_error err = { 0 };
    baldro_st_file *f = NULL;
    int rc = baldro_st_open_memory(data, size, "fuzz", &f, &err);
    if (rc != BALDRO_OK) {
        /* A rejection is one line that names the input. */
        CHECK(f == NULL && rc == BALDRO_EINVAL && err.code == rc);
        CHECK(strncmp(err.msg, "fuzz: ", 6) == 0 && strchr(err.msg, '\n') == NULL);
        return 0;
    }
    /* The tensors tile the data section in order, starting right after the header. */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
    const unsigned char *cursor = data + 8 + hlen;
    for (size_t i = 0; i < baldro_st_count(f); i++) {
        const baldro_st_tensor *t = baldro_st_at(f, i);
        CHECK((const unsigned char *)t->data == cursor);
        cursor += t->nbytes;
    }
    CHECK(cursor == data + size);
    fuzz_reads(f);
    fuzz_round_trip(f);
    baldro_st_close(f);
    return 0;
}
