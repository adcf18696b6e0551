/*
 * tests/unit/test_safetensors.c: the safetensors reader, writer and sharded index
 * (core/io/safetensors.h): round trips of every dtype and conversion, a file written by the
 * Python reference library (tests/oracle/make_safetensors_fixtures.py), one test per
 * validation rule on files crafted byte by byte, sharded checkpoints and the atomic writer.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <float.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"

#define FIX(name) BALDRO_TEST_FIXTURES "/safetensors/" name

static char *tmpdir;

static void rm_rf(const char *path) {
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        GDir *d = g_dir_open(path, 0, NULL);
        if (d) {
            const char *n;
            while ((n = g_dir_read_name(d))) {
                char *p = g_build_filename(path, n, NULL);
                rm_rf(p);
                g_free(p);
            }
            g_dir_close(d);
        }
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static void setup(void) {
    tmpdir = g_strdup("/tmp/baldro-st-XXXXXX");
    cr_assert_not_null(g_mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void) {
    rm_rf(tmpdir);
    g_free(tmpdir);
}

TestSuite(safetensors, .init = setup, .fini = teardown);

static char *tmp_path(const char *name) { return g_build_filename(tmpdir, name, NULL); }

static void assert_contains(const char *hay, const char *needle) {
    cr_assert(hay && strstr(hay, needle), "expected \"%s\" in \"%s\"", needle, hay ? hay : "(null)");
}

static void write_bytes(const char *path, const void *data, size_t len) {
    GError *gerr = NULL;
    cr_assert(g_file_set_contents(path, data, (gssize)len, &gerr), "%s", gerr ? gerr->message : "");
}

/* 8-byte little-endian length `hlen`, then the header text, then the data section. */
static GByteArray *craft_len(uint64_t hlen, const char *header, const void *data, size_t dlen) {
    GByteArray *b = g_byte_array_new();
    unsigned char pre[8];
    for (int i = 0; i < 8; i++) pre[i] = (unsigned char)(hlen >> (8 * i));
    g_byte_array_append(b, pre, 8);
    g_byte_array_append(b, (const guint8 *)header, (guint)strlen(header));
    if (dlen) g_byte_array_append(b, data, (guint)dlen);
    return b;
}

static GByteArray *craft(const char *header, const void *data, size_t dlen) {
    return craft_len(strlen(header), header, data, dlen);
}

/* Write the bytes as <label>.safetensors, open, expect `code` and a message naming the file
 * and each of the (up to two) fragments given. */
static void expect_reject_bytes(const char *label, const void *bytes, size_t len, int code,
                                const char *frag1, const char *frag2) {
    char *name = g_strdup_printf("%s.safetensors", label);
    char *path = tmp_path(name);
    write_bytes(path, bytes, len);
    baldro_st_file *f = (baldro_st_file *)0x1;
    baldro_error err = { 0 };
    int rc = baldro_st_open(path, &f, &err);
    cr_assert_eq(rc, code, "%s: rc %d (%s), expected %d", label, rc, err.msg, code);
    cr_assert_eq(err.code, code);
    cr_assert_null(f, "%s: handle must be NULL on failure", label);
    assert_contains(err.msg, path);
    if (frag1) assert_contains(err.msg, frag1);
    if (frag2) assert_contains(err.msg, frag2);
    cr_assert_null(strchr(err.msg, '\n'));
    /* The same bytes from memory give the same verdict. */
    baldro_error err2 = { 0 };
    rc = baldro_st_open_memory(bytes, len, label, &f, &err2);
    cr_assert_eq(rc, code, "%s (memory): %s", label, err2.msg);
    assert_contains(err2.msg, label);
    g_free(path);
    g_free(name);
}

static void expect_reject(const char *label, const char *header, const void *data, size_t dlen,
                          const char *frag1, const char *frag2) {
    GByteArray *b = craft(header, data, dlen);
    expect_reject_bytes(label, b->data, b->len, BALDRO_EINVAL, frag1, frag2);
    g_byte_array_free(b, TRUE);
}

static baldro_st_file *open_ok_bytes(const void *bytes, size_t len) {
    baldro_st_file *f = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_open_memory(bytes, len, "mem", &f, &err), BALDRO_OK, "%s", err.msg);
    return f;
}

static baldro_st_file *open_ok(const char *path) {
    baldro_st_file *f = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_open(path, &f, &err), BALDRO_OK, "%s", err.msg);
    return f;
}

/* ---- dtypes and scalar conversions ------------------------------------------------------- */

Test(safetensors, dtype_table) {
    static const char *names[] = { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL" };
    static const size_t sizes[] = { 8, 4, 2, 2, 8, 4, 2, 1, 1, 1 };
    for (int i = 0; i < BALDRO_ST_NUM_DTYPES; i++) {
        cr_assert_str_eq(baldro_st_dtype_name((baldro_st_dtype)i), names[i]);
        cr_assert_eq(baldro_st_dtype_size((baldro_st_dtype)i), sizes[i]);
        baldro_st_dtype dt;
        cr_assert_eq(baldro_st_dtype_parse(names[i], &dt), 0);
        cr_assert_eq((int)dt, i);
    }
    baldro_st_dtype dt;
    cr_assert_eq(baldro_st_dtype_parse("F8_E4M3", &dt), -1);
    cr_assert_eq(baldro_st_dtype_parse("f32", &dt), -1);
    cr_assert_str_eq(baldro_st_dtype_name((baldro_st_dtype)99), "?");
    cr_assert_eq(baldro_st_dtype_size((baldro_st_dtype)99), 0);
}

/* Every one of the 65536 half values against the definition. */
Test(safetensors, f16_to_f32_exhaustive) {
    for (uint32_t h = 0; h < 65536; h++) {
        float got = baldro_st_f16_to_f32((uint16_t)h);
        int sign = (h >> 15) ? -1 : 1;
        int exp = (int)((h >> 10) & 0x1f);
        int mant = (int)(h & 0x3ff);
        if (exp == 31) {
            if (mant == 0) cr_assert(isinf(got) && (got < 0) == (sign < 0), "h=%04x", h);
            else cr_assert(isnan(got), "h=%04x", h);
            continue;
        }
        double want = exp == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, exp - 25);
        want *= sign;
        cr_assert_eq((double)got, want, "h=%04x: %.9g != %.9g", h, (double)got, want);
        cr_assert_eq(signbit(got) != 0, sign < 0, "h=%04x sign", h);
    }
}

Test(safetensors, bf16_to_f32_exhaustive) {
    for (uint32_t b = 0; b < 65536; b++) {
        float got = baldro_st_bf16_to_f32((uint16_t)b);
        int sign = (b >> 15) ? -1 : 1;
        int exp = (int)((b >> 7) & 0xff);
        int mant = (int)(b & 0x7f);
        if (exp == 255) {
            if (mant == 0) cr_assert(isinf(got), "b=%04x", b);
            else cr_assert(isnan(got), "b=%04x", b);
            continue;
        }
        double want = exp == 0 ? ldexp(mant, -133) : ldexp(128 + mant, exp - 134);
        cr_assert_eq((double)got, sign * want, "b=%04x", b);
    }
}

/* ---- round trips ------------------------------------------------------------------------- */

static const double rt_f64[] = { 1.0, -2.5, 0.1, 1e-30, 65504.0, -0.0 };
static const float rt_f32[] = { 0.5f, -1.25f, FLT_MAX, -FLT_MIN, 0.0f, 7.0f };
static const uint16_t rt_f16[] = { 0x3c00, 0xc000, 0x7bff, 0x3555, 0x0001, 0x8400 }; /* 1 -2 65504 0.33325 2^-24 -2^-14 */
static const float rt_f16_as_f32[] = { 1.0f, -2.0f, 65504.0f, 0.333251953125f, 0x1p-24f, -0x1p-14f };
static const uint16_t rt_bf16[] = { 0x3f80, 0xbf00, 0x4049, 0x7149, 0x0001, 0x8080 };
static const float rt_bf16_as_f32[] = { 1.0f, -0.5f, 3.140625f, 0x1.92p+99f, 0x1p-133f, -0x1p-126f };
static const int64_t rt_i64[] = { 1, -2, INT32_MAX, INT32_MIN, 0, 42 };
static const int32_t rt_i32[] = { 7, -8, INT32_MAX, INT32_MIN, 0, 1 };
static const int16_t rt_i16[] = { -32768, 32767, 0, 1, -1, 2 };
static const int8_t rt_i8[] = { -128, 127, 0, 1, -1, 2 };
static const uint8_t rt_u8[] = { 0, 255, 17, 1, 2, 3 };
static const uint8_t rt_bool[] = { 1, 0, 1, 1, 0, 0 };

static baldro_st_writer *all_dtypes_writer(void) {
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    const int64_t shape[2] = { 2, 3 };
    struct {
        const char *name;
        baldro_st_dtype dt;
        const void *data;
    } t[] = {
        { "t.f64", BALDRO_ST_F64, rt_f64 },  { "t.f32", BALDRO_ST_F32, rt_f32 },
        { "t.f16", BALDRO_ST_F16, rt_f16 },  { "t.bf16", BALDRO_ST_BF16, rt_bf16 },
        { "t.i64", BALDRO_ST_I64, rt_i64 },  { "t.i32", BALDRO_ST_I32, rt_i32 },
        { "t.i16", BALDRO_ST_I16, rt_i16 },  { "t.i8", BALDRO_ST_I8, rt_i8 },
        { "t.u8", BALDRO_ST_U8, rt_u8 },     { "t.bool", BALDRO_ST_BOOL, rt_bool },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
        cr_assert_eq(baldro_st_writer_add(w, t[i].name, t[i].dt, 2, shape, t[i].data, &err),
                     BALDRO_OK, "%s", err.msg);
    const int64_t zero[2] = { 0, 5 };
    cr_assert_eq(baldro_st_writer_add(w, "t.zero", BALDRO_ST_F32, 2, zero, NULL, &err), BALDRO_OK);
    static const float s = 3.5f; /* borrowed until the write: not on this stack */
    cr_assert_eq(baldro_st_writer_add(w, "t.scalar", BALDRO_ST_F32, 0, NULL, &s, &err), BALDRO_OK);
    return w;
}

static void check_all_dtypes(const baldro_st_file *f) {
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_count(f), 12);
    static const struct {
        const char *name;
        baldro_st_dtype dt;
        const void *data;
        size_t nbytes;
    } t[] = {
        { "t.f64", BALDRO_ST_F64, rt_f64, sizeof rt_f64 },   { "t.f32", BALDRO_ST_F32, rt_f32, sizeof rt_f32 },
        { "t.f16", BALDRO_ST_F16, rt_f16, sizeof rt_f16 },   { "t.bf16", BALDRO_ST_BF16, rt_bf16, sizeof rt_bf16 },
        { "t.i64", BALDRO_ST_I64, rt_i64, sizeof rt_i64 },   { "t.i32", BALDRO_ST_I32, rt_i32, sizeof rt_i32 },
        { "t.i16", BALDRO_ST_I16, rt_i16, sizeof rt_i16 },   { "t.i8", BALDRO_ST_I8, rt_i8, sizeof rt_i8 },
        { "t.u8", BALDRO_ST_U8, rt_u8, sizeof rt_u8 },       { "t.bool", BALDRO_ST_BOOL, rt_bool, sizeof rt_bool },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
        const baldro_st_tensor *x = baldro_st_find(f, t[i].name);
        cr_assert_not_null(x, "%s", t[i].name);
        cr_assert_str_eq(x->name, t[i].name);
        cr_assert_eq(x->dtype, t[i].dt);
        cr_assert_eq(x->ndim, 2);
        cr_assert_eq(x->shape[0], 2);
        cr_assert_eq(x->shape[1], 3);
        cr_assert_eq(x->nbytes, t[i].nbytes);
        cr_assert_eq(memcmp(x->data, t[i].data, t[i].nbytes), 0, "%s bytes", t[i].name);
        /* The writer aligns every tensor to its element size. */
        cr_assert_eq((uintptr_t)x->data % baldro_st_dtype_size(x->dtype), 0, "%s aligned", t[i].name);
    }
    const baldro_st_tensor *z = baldro_st_find(f, "t.zero");
    cr_assert_eq(z->nbytes, 0);
    cr_assert_eq(z->shape[0], 0);
    cr_assert_eq(z->shape[1], 5);
    cr_assert_eq(baldro_st_read_f32(f, "t.zero", NULL, 0, &err), BALDRO_OK, "%s", err.msg);
    const baldro_st_tensor *s = baldro_st_find(f, "t.scalar");
    cr_assert_eq(s->ndim, 0);
    float sv = 0;
    cr_assert_eq(baldro_st_read_f32(f, "t.scalar", &sv, 1, &err), BALDRO_OK);
    cr_assert_eq(sv, 3.5f);

    float f32[6];
    double f64[6];
    int32_t i32[6];
    cr_assert_eq(baldro_st_read_f32(f, "t.f32", f32, 6, &err), BALDRO_OK);
    cr_assert_eq(memcmp(f32, rt_f32, sizeof f32), 0);
    cr_assert_eq(baldro_st_read_f32(f, "t.f16", f32, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(f32[i], rt_f16_as_f32[i], "f16[%d] %a", i, (double)f32[i]);
    cr_assert_eq(baldro_st_read_f32(f, "t.bf16", f32, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(f32[i], rt_bf16_as_f32[i], "bf16[%d] %a", i, (double)f32[i]);
    cr_assert_eq(baldro_st_read_f32(f, "t.f64", f32, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(f32[i], (float)rt_f64[i], "f64[%d]", i);
    cr_assert(signbit(f32[5]), "-0.0 keeps its sign");

    cr_assert_eq(baldro_st_read_f64(f, "t.f64", f64, 6, &err), BALDRO_OK);
    cr_assert_eq(memcmp(f64, rt_f64, sizeof f64), 0);
    cr_assert_eq(baldro_st_read_f64(f, "t.f32", f64, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(f64[i], (double)rt_f32[i]);
    cr_assert_eq(baldro_st_read_f64(f, "t.f16", f64, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(f64[i], (double)rt_f16_as_f32[i]);
    cr_assert_eq(baldro_st_read_f64(f, "t.bf16", f64, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(f64[i], (double)rt_bf16_as_f32[i]);

    cr_assert_eq(baldro_st_read_i32(f, "t.i32", i32, 6, &err), BALDRO_OK);
    cr_assert_eq(memcmp(i32, rt_i32, sizeof i32), 0);
    cr_assert_eq(baldro_st_read_i32(f, "t.i64", i32, 6, &err), BALDRO_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++) cr_assert_eq(i32[i], (int32_t)rt_i64[i]);
    cr_assert_eq(baldro_st_read_i32(f, "t.i16", i32, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(i32[i], rt_i16[i]);
    cr_assert_eq(baldro_st_read_i32(f, "t.i8", i32, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(i32[i], rt_i8[i]);
    cr_assert_eq(baldro_st_read_i32(f, "t.u8", i32, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(i32[i], rt_u8[i]);

    /* Conversions that are not offered. */
    static const struct {
        const char *name;
        int which; /* 0 f32, 1 f64, 2 i32 */
    } no[] = { { "t.i32", 0 }, { "t.u8", 0 }, { "t.bool", 0 }, { "t.i64", 1 },
               { "t.bool", 2 }, { "t.f32", 2 }, { "t.f16", 2 } };
    for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
        baldro_error e = { 0 };
        int rc = no[i].which == 0   ? baldro_st_read_f32(f, no[i].name, f32, 6, &e)
                 : no[i].which == 1 ? baldro_st_read_f64(f, no[i].name, f64, 6, &e)
                                    : baldro_st_read_i32(f, no[i].name, i32, 6, &e);
        cr_assert_eq(rc, BALDRO_EINVAL, "%s", no[i].name);
        assert_contains(e.msg, no[i].name);
        assert_contains(e.msg, "cannot be read as");
    }
}

Test(safetensors, round_trip_all_dtypes_file) {
    baldro_st_writer *w = all_dtypes_writer();
    char *path = tmp_path("all.safetensors");
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_writer_write(w, path, &err), BALDRO_OK, "%s", err.msg);
    baldro_st_file *f = open_ok(path);
    cr_assert_str_eq(baldro_st_path(f), path);
    check_all_dtypes(f);
    /* File order follows the writer's sort: alignment first, then name. */
    static const char *order[] = { "t.i64", "t.f64", "t.f32", "t.scalar", "t.zero", "t.i32",
                                   "t.bf16", "t.f16", "t.i16", "t.i8", "t.u8", "t.bool" };
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
        cr_assert_str_eq(baldro_st_at(f, i)->name, order[i], "at(%zu)", i);
    cr_assert_null(baldro_st_at(f, 12));
    cr_assert_null(baldro_st_find(f, "nope"));
    baldro_st_close(f);
    baldro_st_writer_free(w);
    g_free(path);
}

Test(safetensors, round_trip_memory_matches_file) {
    baldro_st_writer *w = all_dtypes_writer();
    baldro_error err = { 0 };
    size_t len = 0;
    void *mem = baldro_st_writer_to_memory(w, &len, &err);
    cr_assert_not_null(mem, "%s", err.msg);
    uint64_t hlen;
    memcpy(&hlen, mem, 8);
    cr_assert_eq(hlen % 8, 0, "header padded to 8 bytes");
    const char *h = (const char *)mem + 8;
    size_t hend = (size_t)hlen;
    while (hend > 0 && h[hend - 1] == ' ') hend--;
    cr_assert(hend > 0 && h[hend - 1] == '}', "the header ends in '}' then spaces only");
    cr_assert_lt((size_t)hlen - hend, 8);
    char *path = tmp_path("m.safetensors");
    cr_assert_eq(baldro_st_writer_write(w, path, &err), BALDRO_OK);
    char *disk = NULL;
    gsize dlen = 0;
    cr_assert(g_file_get_contents(path, &disk, &dlen, NULL));
    cr_assert_eq(dlen, len);
    cr_assert_eq(memcmp(disk, mem, len), 0);
    /* The header is padded with spaces, and the bytes before the data are JSON. */
    baldro_st_file *f = open_ok_bytes(mem, len);
    check_all_dtypes(f);
    baldro_st_close(f);
    g_free(disk);
    g_free(mem);
    baldro_st_writer_free(w);
    g_free(path);
}

Test(safetensors, f64_to_f32_rounding) {
    /* Nearest, ties to even; the largest finite values; overflow is an error, NaN and inf pass. */
    const double in[] = { 1.0 + 0x1p-24, 1.0 + 0x1.8p-23, 1.0 + 0x1p-24 + 0x1p-40, 0.1, -0.1,
                          0x1.fffffefffffffp+127, 0x1p-149, 0x1p-150, 0x1.8p-150, INFINITY, -INFINITY };
    const float want[] = { 1.0f, 1.0f + 0x1p-22f, 1.0f + 0x1p-23f, 0.1f, -0.1f,
                           FLT_MAX, 0x1p-149f, 0.0f, 0x1p-149f, INFINITY, -INFINITY };
    const int64_t shape[1] = { G_N_ELEMENTS(in) };
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_writer_add(w, "x", BALDRO_ST_F64, 1, shape, in, &err), BALDRO_OK);
    const double over[2] = { 1.0, 0x1.ffffffp+127 };
    const int64_t two[1] = { 2 };
    cr_assert_eq(baldro_st_writer_add(w, "over", BALDRO_ST_F64, 1, two, over, &err), BALDRO_OK);
    const double nan[1] = { NAN };
    const int64_t one[1] = { 1 };
    cr_assert_eq(baldro_st_writer_add(w, "nan", BALDRO_ST_F64, 1, one, nan, &err), BALDRO_OK);
    size_t len;
    void *mem = baldro_st_writer_to_memory(w, &len, &err);
    baldro_st_file *f = open_ok_bytes(mem, len);
    float out[G_N_ELEMENTS(in)];
    cr_assert_eq(baldro_st_read_f32(f, "x", out, G_N_ELEMENTS(in), &err), BALDRO_OK, "%s", err.msg);
    for (size_t i = 0; i < G_N_ELEMENTS(in); i++)
        cr_assert_eq(out[i], want[i], "[%zu] %a != %a", i, (double)out[i], (double)want[i]);
    float o2[2];
    cr_assert_eq(baldro_st_read_f32(f, "over", o2, 2, &err), BALDRO_ENUMERIC);
    assert_contains(err.msg, "'over'");
    assert_contains(err.msg, "element 1");
    assert_contains(err.msg, "overflows f32");
    cr_assert_eq(baldro_st_read_f32(f, "nan", o2, 1, &err), BALDRO_OK);
    cr_assert(isnan(o2[0]));
    baldro_st_close(f);
    g_free(mem);
    baldro_st_writer_free(w);
}

Test(safetensors, read_errors) {
    const int64_t v64[3] = { 1, (int64_t)INT32_MAX + 1, 3 };
    const int64_t vneg[1] = { (int64_t)INT32_MIN - 1 };
    const int64_t three[1] = { 3 }, one[1] = { 1 };
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_writer_add(w, "big", BALDRO_ST_I64, 1, three, v64, &err), BALDRO_OK);
    cr_assert_eq(baldro_st_writer_add(w, "neg", BALDRO_ST_I64, 1, one, vneg, &err), BALDRO_OK);
    size_t len;
    void *mem = baldro_st_writer_to_memory(w, &len, &err);
    baldro_st_file *f = open_ok_bytes(mem, len);
    int32_t out[3];
    cr_assert_eq(baldro_st_read_i32(f, "big", out, 3, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "mem: tensor 'big': element 1 (2147483648) is outside the int32 range");
    cr_assert_eq(baldro_st_read_i32(f, "neg", out, 1, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "-2147483649");
    cr_assert_eq(baldro_st_read_i32(f, "big", out, 2, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "has 3 elements, expected 2");
    cr_assert_eq(baldro_st_read_i32(f, "missing", out, 1, &err), BALDRO_ENOTFOUND);
    assert_contains(err.msg, "'missing'");
    cr_assert_eq(baldro_st_read_f32(f, "missing", NULL, 0, &err), BALDRO_ENOTFOUND);
    cr_assert_eq(baldro_st_read_f64(f, "missing", NULL, 0, &err), BALDRO_ENOTFOUND);
    baldro_st_close(f);
    g_free(mem);
    baldro_st_writer_free(w);
}

Test(safetensors, metadata_round_trip) {
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_writer_set_metadata(w, "format", "pt", &err), BALDRO_OK);
    cr_assert_eq(baldro_st_writer_set_metadata(w, "zz", "old", &err), BALDRO_OK);
    cr_assert_eq(baldro_st_writer_set_metadata(w, "zz", "quote \" backslash \\ newline \n tab \t \x01 é", &err),
                 BALDRO_OK);
    cr_assert_eq(baldro_st_writer_set_metadata(w, "aa", "", &err), BALDRO_OK);
    cr_assert_eq(baldro_st_writer_set_metadata(w, "bad", "\xff", &err), BALDRO_EINVAL);
    char *path = tmp_path("meta.safetensors");
    cr_assert_eq(baldro_st_writer_write(w, path, &err), BALDRO_OK, "%s", err.msg);
    baldro_st_file *f = open_ok(path);
    cr_assert_eq(baldro_st_count(f), 0);
    cr_assert_str_eq(baldro_st_metadata(f, "format"), "pt");
    cr_assert_str_eq(baldro_st_metadata(f, "zz"), "quote \" backslash \\ newline \n tab \t \x01 é");
    cr_assert_str_eq(baldro_st_metadata(f, "aa"), "");
    cr_assert_null(baldro_st_metadata(f, "nope"));
    cr_assert_null(baldro_st_metadata(f, "bad"));
    size_t n = 0;
    const char **keys = baldro_st_metadata_keys(f, &n);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(keys[0], "aa");
    cr_assert_str_eq(keys[1], "format");
    cr_assert_str_eq(keys[2], "zz");
    g_free(keys);
    baldro_st_close(f);
    /* Keys are written sorted and escaped as serde_json does. */
    char *text = NULL;
    cr_assert(g_file_get_contents(path, &text, NULL, NULL));
    assert_contains(text + 8, "{\"__metadata__\":{\"aa\":\"\",\"format\":\"pt\",\"zz\":\"quote \\\" "
                              "backslash \\\\ newline \\n tab \\t \\u0001 é\"}}");
    g_free(text);
    baldro_st_writer_free(w);
    g_free(path);
}

Test(safetensors, no_metadata_keys) {
    baldro_st_writer *w = baldro_st_writer_new();
    size_t len, n = 99;
    void *mem = baldro_st_writer_to_memory(w, &len, NULL);
    cr_assert_eq(len, 16);
    cr_assert_eq(memcmp((char *)mem + 8, "{}      ", 8), 0);
    baldro_st_file *f = open_ok_bytes(mem, len);
    cr_assert_null(baldro_st_metadata_keys(f, &n));
    cr_assert_eq(n, 0);
    baldro_st_close(f);
    g_free(mem);
    baldro_st_writer_free(w);
}

/* ---- the reference library's file ----------------------------------------------------------- */

Test(safetensors, python_fixture_values) {
    baldro_st_file *f = open_ok(FIX("small.safetensors"));
    baldro_error err = { 0 };
    cr_assert_str_eq(baldro_st_metadata(f, "format"), "pt");
    static const char *order[] = { "i64", "i64_big", "f64", "f64_big", "empty", "f32", "scalar",
                                   "i32", "bf16", "f16", "i16", "i8", "u8", "bool" };
    cr_assert_eq(baldro_st_count(f), G_N_ELEMENTS(order));
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
        cr_assert_str_eq(baldro_st_at(f, i)->name, order[i]);

    double d[6];
    float x[6];
    int32_t k[4];
    const double f64v[6] = { 1.0, -2.5, 0.1, 3.141592653589793, 1e-30, 65504.0 };
    const baldro_st_tensor *t = baldro_st_find(f, "f64");
    cr_assert_eq(t->ndim, 2);
    cr_assert_eq(t->shape[0], 2);
    cr_assert_eq(t->shape[1], 3);
    cr_assert_eq(baldro_st_read_f64(f, "f64", d, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(d[i], f64v[i]);
    cr_assert_eq(baldro_st_read_f32(f, "f64", x, 6, &err), BALDRO_OK);
    for (int i = 0; i < 6; i++) cr_assert_eq(x[i], (float)f64v[i]);
    cr_assert_eq(baldro_st_read_f32(f, "f64_big", x, 1, &err), BALDRO_ENUMERIC);
    cr_assert_eq(baldro_st_read_f64(f, "f64_big", d, 1, &err), BALDRO_OK);
    cr_assert_eq(d[0], 1e300);

    cr_assert_eq(baldro_st_read_f32(f, "f32", x, 3, &err), BALDRO_OK);
    cr_assert_eq(x[0], 0.5f);
    cr_assert_eq(x[1], -1.25f);
    cr_assert_eq(x[2], FLT_MAX);
    cr_assert_eq(baldro_st_read_f32(f, "f16", x, 5, &err), BALDRO_OK);
    const float f16v[5] = { 1.0f, -2.0f, 65504.0f, 0.333251953125f, 0x1p-24f };
    for (int i = 0; i < 5; i++) cr_assert_eq(x[i], f16v[i], "f16[%d]", i);
    cr_assert_eq(baldro_st_read_f32(f, "bf16", x, 4, &err), BALDRO_OK);
    const float bf16v[4] = { 1.0f, -0.5f, 3.140625f, 0x1p100f };
    for (int i = 0; i < 4; i++) cr_assert_eq(x[i], bf16v[i], "bf16[%d]", i);

    cr_assert_eq(baldro_st_read_i32(f, "i64", k, 4, &err), BALDRO_OK);
    cr_assert_eq(k[0], 1);
    cr_assert_eq(k[1], -2);
    cr_assert_eq(k[2], INT32_MAX);
    cr_assert_eq(k[3], INT32_MIN);
    cr_assert_eq(baldro_st_read_i32(f, "i64_big", k, 1, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_st_find(f, "i32")->ndim, 2);
    cr_assert_eq(baldro_st_read_i32(f, "i32", k, 3, &err), BALDRO_OK);
    cr_assert_eq(k[0], 7);
    cr_assert_eq(k[1], -8);
    cr_assert_eq(k[2], INT32_MAX);
    cr_assert_eq(baldro_st_read_i32(f, "i16", k, 2, &err), BALDRO_OK);
    cr_assert_eq(k[0], -32768);
    cr_assert_eq(k[1], 32767);
    cr_assert_eq(baldro_st_read_i32(f, "i8", k, 2, &err), BALDRO_OK);
    cr_assert_eq(k[0], -128);
    cr_assert_eq(k[1], 127);
    cr_assert_eq(baldro_st_read_i32(f, "u8", k, 3, &err), BALDRO_OK);
    cr_assert_eq(k[1], 255);
    cr_assert_eq(k[2], 17);
    t = baldro_st_find(f, "bool");
    cr_assert_eq(t->dtype, BALDRO_ST_BOOL);
    cr_assert_eq(memcmp(t->data, "\1\0\1", 3), 0);
    t = baldro_st_find(f, "scalar");
    cr_assert_eq(t->ndim, 0);
    cr_assert_eq(baldro_st_read_f32(f, "scalar", x, 1, &err), BALDRO_OK);
    cr_assert_eq(x[0], 42.0f);
    t = baldro_st_find(f, "empty");
    cr_assert_eq(t->nbytes, 0);
    cr_assert_eq(t->shape[0], 0);
    cr_assert_eq(t->shape[1], 4);
    baldro_st_close(f);
}

/* Our writer, given the same tensors and metadata, produces the reference's bytes. */
Test(safetensors, python_fixture_byte_for_byte) {
    baldro_st_file *f = open_ok(FIX("small.safetensors"));
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    /* Add in reverse file order so the writer's own sort has work to do. */
    for (size_t i = baldro_st_count(f); i-- > 0;) {
        const baldro_st_tensor *t = baldro_st_at(f, i);
        cr_assert_eq(baldro_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, &err),
                     BALDRO_OK, "%s", err.msg);
    }
    cr_assert_eq(baldro_st_writer_set_metadata(w, "format", "pt", &err), BALDRO_OK);
    size_t len = 0;
    void *mem = baldro_st_writer_to_memory(w, &len, &err);
    char *ref = NULL;
    gsize rlen = 0;
    cr_assert(g_file_get_contents(FIX("small.safetensors"), &ref, &rlen, NULL));
    cr_assert_eq(len, rlen, "%zu vs %zu bytes", len, (size_t)rlen);
    cr_assert_eq(memcmp(mem, ref, len), 0, "ours: %.*s", (int)(len > 300 ? 300 : len), (char *)mem + 8);
    g_free(ref);
    g_free(mem);
    baldro_st_writer_free(w);
    baldro_st_close(f);
}

/* ---- validation rules, one per test ------------------------------------------------------ */

#define ENT(name, dt, shape, b, e) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

Test(safetensors, reject_short_file) {
    expect_reject_bytes("empty", "", 0, BALDRO_EINVAL, "0 bytes", "shorter than the 8-byte header length");
    expect_reject_bytes("seven", "\x02\0\0\0\0\0\0", 7, BALDRO_EINVAL, "7 bytes", "header length");
}

Test(safetensors, reject_header_longer_than_file) {
    GByteArray *b = craft_len(64, "{}", NULL, 0);
    expect_reject_bytes("hlen", b->data, b->len, BALDRO_EINVAL, "header length 64",
                        "larger than the 2 bytes");
    g_byte_array_free(b, TRUE);
}

Test(safetensors, reject_header_above_limit) {
    GByteArray *b = craft_len(100000001, "{}", NULL, 0);
    expect_reject_bytes("hbig", b->data, b->len, BALDRO_EINVAL, "header length 100000001",
                        "100000000-byte limit");
    g_byte_array_free(b, TRUE);
    b = craft_len(UINT64_MAX, "{}", NULL, 0);
    expect_reject_bytes("hmax", b->data, b->len, BALDRO_EINVAL, "header length", "limit");
    g_byte_array_free(b, TRUE);
}

Test(safetensors, reject_invalid_utf8) {
    expect_reject("utf8", "{\"a\xff\":{}}", NULL, 0, "header", "not valid UTF-8 (byte 3)");
    GByteArray *b = craft_len(4, "{}", NULL, 0);
    g_byte_array_append(b, (const guint8 *)"\0 ", 2); /* NUL inside the header */
    expect_reject_bytes("nul", b->data, b->len, BALDRO_EINVAL, "header", "UTF-8");
    g_byte_array_free(b, TRUE);
}

Test(safetensors, reject_not_json) {
    expect_reject("syntax", "{\"a\":", NULL, 0, "header", "invalid JSON");
    expect_reject("blank", "", NULL, 0, "header", "invalid JSON");
    expect_reject("trailing", "{} x", NULL, 0, "header", "trailing characters");
    expect_reject("comma", "{\"a\":1,}", NULL, 0, "header", "member name");
    /* What json-glib alone would accept. */
    expect_reject("squote", "{'a':{}}", NULL, 0, "header", "invalid JSON at byte 1");
    expect_reject("hex", "{\"a\":0x10}", NULL, 0, "header", "invalid JSON");
    expect_reject("lead0", "{\"a\":01}", NULL, 0, "header", "leading zero");
    expect_reject("bigint", "{\"a\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,0]}}",
                  NULL, 0, "header", "integer out of the 64-bit range");
    expect_reject("ctrl", "{\"a\x01\":{}}", NULL, 0, "header", "control character");
    expect_reject("esc", "{\"a\\x\":{}}", NULL, 0, "header", "invalid escape");
    expect_reject("surrogate", "{\"\\ud800\":{}}", NULL, 0, "header", "surrogate");
    expect_reject("nulesc", "{\"a\\u0000b\":{}}", NULL, 0, "header", "NUL");
    char deep[300];
    memset(deep, '[', 200);
    deep[200] = '\0';
    expect_reject("deep", deep, NULL, 0, "header", "nested deeper than");
}

Test(safetensors, reject_not_an_object) {
    expect_reject("array", "[]", NULL, 0, "header", "not a JSON object");
    expect_reject("string", "\"x\"", NULL, 0, "header", "not a JSON object");
    expect_reject("entry", "{\"w\":[1]}", NULL, 0, "tensor 'w'", "entry is not a JSON object");
}

Test(safetensors, reject_dtype) {
    expect_reject("nodtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", "a", 1, "tensor 'w'",
                  "dtype: missing");
    expect_reject("dtypenum", "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,1]}}", "a", 1,
                  "tensor 'w'", "dtype: not a string");
    expect_reject("f8", "{" ENT("w", "F8_E4M3", "[1]", 0, 1) "}", "a", 1, "tensor 'w': dtype",
                  "unsupported dtype \"F8_E4M3\"");
    expect_reject("lower", "{" ENT("w", "f32", "[1]", 0, 4) "}", "abcd", 4, "tensor 'w': dtype",
                  "unsupported dtype \"f32\"");
}

Test(safetensors, reject_shape) {
    expect_reject("noshape", "{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", "a", 1,
                  "tensor 'w'", "shape: missing");
    expect_reject("shapeobj", "{" ENT("w", "U8", "{}", 0, 1) "}", "a", 1, "tensor 'w'",
                  "shape: not an array");
    expect_reject("negdim", "{" ENT("w", "U8", "[-1]", 0, 0) "}", NULL, 0, "tensor 'w'",
                  "shape: dimension 0 is not a non-negative integer");
    expect_reject("floatdim", "{" ENT("w", "U8", "[1,2.0]", 0, 2) "}", "ab", 2, "tensor 'w'",
                  "shape: dimension 1");
    expect_reject("strdim", "{" ENT("w", "U8", "[\"1\"]", 0, 1) "}", "a", 1, "tensor 'w'",
                  "shape: dimension 0");
    expect_reject("ninedims", "{" ENT("w", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", "a", 1,
                  "tensor 'w'", "shape: 9 dimensions, at most 8");
    expect_reject("overflow", "{" ENT("w", "U8", "[4294967296,4294967296]", 0, 0) "}", NULL, 0,
                  "tensor 'w'", "shape: element count overflows");
    expect_reject("bytesoverflow", "{" ENT("w", "F64", "[4611686018427387904]", 0, 0) "}", NULL, 0,
                  "tensor 'w'", "shape: byte size overflows");
}

Test(safetensors, reject_data_offsets) {
    expect_reject("nooffsets", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", "a", 1, "tensor 'w'",
                  "data_offsets: missing");
    expect_reject("oneoffset", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}", "a",
                  1, "tensor 'w'", "data_offsets: not an array of two");
    expect_reject("negoffset", "{" ENT("w", "U8", "[1]", -1, 0) "}", "a", 1, "tensor 'w'",
                  "data_offsets: not an array of two non-negative");
    expect_reject("reversed", "{" ENT("w", "U8", "[0]", 1, 0) "}", "a", 1, "tensor 'w'",
                  "data_offsets: begin 1 > end 0");
    expect_reject("pastend", "{" ENT("w", "U8", "[2]", 0, 2) "}", "a", 1, "tensor 'w'",
                  "data_offsets: end 2 is past the data section (1 bytes)");
    expect_reject("pastend_huge", "{" ENT("w", "U8", "[2]", 9223372036854775805, 9223372036854775807) "}",
                  "a", 1, "tensor 'w'", "past the data section");
    expect_reject("sizemismatch", "{" ENT("w", "F32", "[2]", 0, 4) "}", "abcd", 4, "tensor 'w'",
                  "data_offsets: [0, 4] holds 4 bytes but shape and dtype F32 need 8");
}

Test(safetensors, reject_overlap) {
    expect_reject("overlap", "{" ENT("a", "U8", "[2]", 0, 2) "," ENT("b", "U8", "[2]", 1, 3) "}",
                  "abc", 3, "tensor 'b': data_offsets [1, 3] overlap tensor 'a' [0, 2]", NULL);
    expect_reject("same", "{" ENT("a", "U8", "[2]", 0, 2) "," ENT("b", "I16", "[1]", 0, 2) "}", "ab",
                  2, "data_offsets [0, 2] overlap tensor", NULL);
    /* A zero-size tensor strictly inside another one is rejected too, as the reference does. */
    expect_reject("inside", "{" ENT("a", "U8", "[4]", 0, 4) "," ENT("z", "U8", "[0]", 2, 2) "}",
                  "abcd", 4, "tensor 'z'", "overlap tensor 'a'");
}

Test(safetensors, reject_holes) {
    expect_reject("hole_front", "{" ENT("a", "U8", "[1]", 1, 2) "}", "ab", 2, "tensor 'a'",
                  "hole of 1 bytes at [0, 1) before it (safetensors requires the tensors to cover");
    expect_reject("hole_mid", "{" ENT("a", "U8", "[1]", 0, 1) "," ENT("b", "U8", "[1]", 3, 4) "}",
                  "abcd", 4, "tensor 'b'", "hole of 2 bytes at [1, 3)");
    expect_reject("hole_end", "{" ENT("a", "U8", "[1]", 0, 1) "}", "ab", 2, "data section",
                  "1 bytes at [1, 2) belong to no tensor (safetensors requires");
    expect_reject("no_tensors_but_data", "{}", "x", 1, "data section", "belong to no tensor");
}

Test(safetensors, reject_duplicates) {
    expect_reject("dupname", "{" ENT("w", "U8", "[1]", 0, 1) "," ENT("w", "U8", "[1]", 1, 2) "}",
                  "ab", 2, "header", "duplicate key \"w\" in the top-level object");
    /* Equal only after unescaping. */
    expect_reject("dupesc", "{" ENT("w", "U8", "[1]", 0, 1) "," ENT("\\u0077", "U8", "[1]", 1, 2) "}",
                  "ab", 2, "header", "duplicate key \"w\"");
    expect_reject("dupfield", "{\"w\":{\"dtype\":\"U8\",\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                  "a", 1, "duplicate key \"dtype\"", "in \"w\"");
    expect_reject("dupmeta", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", NULL, 0,
                  "duplicate key \"k\"", "in \"__metadata__\"");
}

Test(safetensors, reject_metadata) {
    expect_reject("metastr", "{\"__metadata__\":\"x\"}", NULL, 0, "__metadata__",
                  "must be an object of strings");
    expect_reject("metaint", "{\"__metadata__\":{\"k\":1}}", NULL, 0, "__metadata__: key 'k'",
                  "value is not a string");
    expect_reject("metanested", "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", NULL, 0,
                  "__metadata__: key 'k'", "not a string");
}

Test(safetensors, reject_io) {
    baldro_st_file *f = NULL;
    baldro_error err = { 0 };
    char *missing = tmp_path("missing.safetensors");
    cr_assert_eq(baldro_st_open(missing, &f, &err), BALDRO_EIO);
    assert_contains(err.msg, missing);
    assert_contains(err.msg, "cannot open");
    cr_assert_null(f);
    cr_assert_eq(baldro_st_open(tmpdir, &f, &err), BALDRO_EIO);
    assert_contains(err.msg, "not a regular file");
    char *fifo = tmp_path("fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_assert_eq(baldro_st_open(fifo, &f, &err), BALDRO_EIO, "a FIFO fails, and does not block");
    assert_contains(err.msg, "not a regular file");
    g_free(fifo);
    g_free(missing);
}

Test(safetensors, accept_edge_cases) {
    /* No tensors, empty data section. */
    GByteArray *b = craft("{}", NULL, 0);
    baldro_st_file *f = open_ok_bytes(b->data, b->len);
    cr_assert_eq(baldro_st_count(f), 0);
    cr_assert_null(baldro_st_at(f, 0));
    baldro_st_close(f);
    g_byte_array_free(b, TRUE);
    /* Zero-size tensors at the start, between, at the end; an unpadded header (data not
     * aligned); unknown fields ignored; whitespace; escaped names. */
    b = craft(" { " ENT("z0", "F32", "[0]", 0, 0) " , " ENT("a", "F32", "[1]", 0, 4) ","
              ENT("z1", "U8", "[3,0]", 4, 4) "," ENT("b", "I16", "[1]", 4, 6) ","
              ENT("z2", "F64", "[0]", 6, 6) ",\"\\u00e9\\\"\":{\"dtype\":\"U8\",\"shape\":[],"
              "\"data_offsets\":[6,7],\"extra\":[1,{\"x\":null}]}, \"__metadata__\":{} }\n\t",
              "\0\0\x80\x3f\x05\x00\x07", 7);
    f = open_ok_bytes(b->data, b->len);
    cr_assert_eq(baldro_st_count(f), 6);
    static const char *order[] = { "z0", "a", "z1", "b", "z2", "é\"" };
    for (int i = 0; i < 6; i++) cr_assert_str_eq(baldro_st_at(f, (size_t)i)->name, order[i]);
    float v = 0;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_read_f32(f, "a", &v, 1, &err), BALDRO_OK);
    cr_assert_eq(v, 1.0f);
    int32_t k = 0;
    cr_assert_eq(baldro_st_read_i32(f, "b", &k, 1, &err), BALDRO_OK);
    cr_assert_eq(k, 5);
    cr_assert_eq(baldro_st_read_i32(f, "é\"", &k, 1, &err), BALDRO_OK);
    cr_assert_eq(k, 7);
    cr_assert_eq(baldro_st_find(f, "z1")->shape[0], 3);
    baldro_st_close(f);
    g_byte_array_free(b, TRUE);
}

/* ---- writer ---------------------------------------------------------------------------------- */

static int count_entries(const char *dir) {
    GDir *d = g_dir_open(dir, 0, NULL);
    cr_assert_not_null(d);
    int n = 0;
    while (g_dir_read_name(d)) n++;
    g_dir_close(d);
    return n;
}

Test(safetensors, writer_atomic_replace_no_temp_files) {
    char *path = tmp_path("out.safetensors");
    write_bytes(path, "old contents, much longer than the new file will be ..........................."
                      "...............................................................", 140);
    const int64_t shape[1] = { 2 };
    const float v[2] = { 1, 2 };
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_writer_add(w, "v", BALDRO_ST_F32, 1, shape, v, &err), BALDRO_OK);
    mode_t old = umask(022);
    cr_assert_eq(baldro_st_writer_write(w, path, &err), BALDRO_OK, "%s", err.msg);
    umask(old);
    cr_assert_eq(count_entries(tmpdir), 1, "a temporary file was left behind");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644, "mode %o", st.st_mode & 0777);
    baldro_st_file *f = open_ok(path);
    float out[2];
    cr_assert_eq(baldro_st_read_f32(f, "v", out, 2, &err), BALDRO_OK);
    cr_assert_eq(out[1], 2.0f);
    size_t mlen = 0;
    void *mem = baldro_st_writer_to_memory(w, &mlen, &err);
    cr_assert_eq((size_t)st.st_size, mlen, "the old, longer contents are gone");
    g_free(mem);
    baldro_st_close(f);
    /* Written twice: the second replaces the first, still one file. */
    const float v2[2] = { 3, 4 };
    baldro_st_writer *w2 = baldro_st_writer_new();
    cr_assert_eq(baldro_st_writer_add(w2, "v", BALDRO_ST_F32, 1, shape, v2, &err), BALDRO_OK);
    cr_assert_eq(baldro_st_writer_write(w2, path, &err), BALDRO_OK);
    f = open_ok(path);
    cr_assert_eq(baldro_st_read_f32(f, "v", out, 2, &err), BALDRO_OK);
    cr_assert_eq(out[0], 3.0f);
    baldro_st_close(f);
    cr_assert_eq(count_entries(tmpdir), 1);
    baldro_st_writer_free(w);
    baldro_st_writer_free(w2);
    g_free(path);
}

Test(safetensors, writer_missing_directory_fails_cleanly) {
    char *path = g_build_filename(tmpdir, "no", "such", "dir", "x.safetensors", NULL);
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_writer_write(w, path, &err), BALDRO_EIO);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot create a temporary file");
    cr_assert_eq(count_entries(tmpdir), 0);
    /* Into a directory that is not writable (unless we are root, who can write anywhere). */
    if (geteuid() != 0) {
        char *ro = tmp_path("ro");
        cr_assert_eq(g_mkdir(ro, 0555), 0);
        char *p2 = g_build_filename(ro, "x.safetensors", NULL);
        cr_assert_eq(baldro_st_writer_write(w, p2, &err), BALDRO_EIO);
        cr_assert_eq(count_entries(ro), 0);
        g_free(p2);
        g_free(ro);
    }
    /* Onto a path that is a directory: rename fails, the temporary file is removed. */
    char *d = tmp_path("isdir");
    cr_assert_eq(g_mkdir(d, 0755), 0);
    char *inner = g_build_filename(d, "keep", NULL);
    write_bytes(inner, "x", 1);
    cr_assert_eq(baldro_st_writer_write(w, d, &err), BALDRO_EIO);
    assert_contains(err.msg, "rename");
    cr_assert_eq(count_entries(tmpdir), 1, "only the directory itself");
    g_free(inner);
    g_free(d);
    baldro_st_writer_free(w);
    g_free(path);
}

Test(safetensors, writer_add_errors) {
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    const int64_t shape[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    const int64_t neg[1] = { -2 };
    const int64_t huge[2] = { INT64_MAX, 4 };
    const float v[1] = { 1 };
    cr_assert_eq(baldro_st_writer_add(w, "a", BALDRO_ST_F32, 1, shape, v, &err), BALDRO_OK);
    cr_assert_eq(baldro_st_writer_add(w, "a", BALDRO_ST_F32, 1, shape, v, &err), BALDRO_EEXIST);
    assert_contains(err.msg, "tensor 'a'");
    cr_assert_eq(baldro_st_writer_add(w, "__metadata__", BALDRO_ST_F32, 1, shape, v, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "reserved");
    cr_assert_eq(baldro_st_writer_add(w, "b", BALDRO_ST_F32, 9, shape, v, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "ndim 9");
    cr_assert_eq(baldro_st_writer_add(w, "b", BALDRO_ST_F32, -1, shape, v, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_st_writer_add(w, "b", BALDRO_ST_F32, 1, NULL, v, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_st_writer_add(w, "b", BALDRO_ST_F32, 1, neg, v, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "negative (-2)");
    cr_assert_eq(baldro_st_writer_add(w, "b", BALDRO_ST_F32, 2, huge, v, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "overflows");
    cr_assert_eq(baldro_st_writer_add(w, "b", (baldro_st_dtype)42, 1, shape, v, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_st_writer_add(w, "b", BALDRO_ST_F32, 1, shape, NULL, &err), BALDRO_EINVAL);
    assert_contains(err.msg, "NULL");
    cr_assert_eq(baldro_st_writer_add(w, "\xc3", BALDRO_ST_F32, 1, shape, v, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_st_writer_add(w, NULL, BALDRO_ST_F32, 1, shape, v, &err), BALDRO_EINVAL);
    /* Nothing but "a" was added. */
    size_t len;
    void *mem = baldro_st_writer_to_memory(w, &len, &err);
    baldro_st_file *f = open_ok_bytes(mem, len);
    cr_assert_eq(baldro_st_count(f), 1);
    baldro_st_close(f);
    g_free(mem);
    baldro_st_writer_free(w);
    baldro_st_writer_free(NULL);
    baldro_st_close(NULL);
    baldro_st_set_close(NULL);
}

/* ---- sharded checkpoints ---------------------------------------------------------------- */

static const float sh_a[4] = { 1, 2, 3, 4 };
static const float sh_b[2] = { 5, 6 };
static const int64_t sh_c[3] = { 7, 8, 9 };

/* Writes <dir>/<shard> holding the named tensors ("a", "b", "c" from the arrays above). */
static void write_shard(const char *dir, const char *shard, const char *const *names) {
    baldro_st_writer *w = baldro_st_writer_new();
    baldro_error err = { 0 };
    for (; *names; names++) {
        int64_t n;
        const void *d;
        baldro_st_dtype dt = BALDRO_ST_F32;
        if (**names == 'a') n = 4, d = sh_a;
        else if (**names == 'b') n = 2, d = sh_b;
        else n = 3, d = sh_c, dt = BALDRO_ST_I64;
        char *full = g_strdup_printf("model.%s", *names);
        cr_assert_eq(baldro_st_writer_add(w, full, dt, 1, &n, d, &err), BALDRO_OK);
        g_free(full);
    }
    char *p = g_build_filename(dir, shard, NULL);
    cr_assert_eq(baldro_st_writer_write(w, p, &err), BALDRO_OK, "%s", err.msg);
    g_free(p);
    baldro_st_writer_free(w);
}

static char *write_index(const char *dir, const char *weight_map_json) {
    char *p = g_build_filename(dir, "model.safetensors.index.json", NULL);
    char *text = g_strdup_printf("{\"metadata\":{\"total_size\":36},\"weight_map\":%s}", weight_map_json);
    write_bytes(p, text, strlen(text));
    g_free(text);
    return p;
}

static const char *const shard1[] = { "a", "c", NULL };
static const char *const shard2[] = { "b", NULL };
#define WM_OK                                                                                      \
    "{\"model.b\":\"model-00002-of-00002.safetensors\",\"model.a\":\"model-00001-of-00002.safetensors\"," \
    "\"model.c\":\"model-00001-of-00002.safetensors\"}"

static void check_two_shards(const baldro_st_set *s) {
    cr_assert_eq(baldro_st_set_count(s), 3);
    cr_assert_eq(baldro_st_set_shard_count(s), 2);
    /* Shard 1 first (name order), in its file order (I64 before F32), then shard 2. */
    cr_assert_str_eq(baldro_st_set_at(s, 0)->name, "model.c");
    cr_assert_str_eq(baldro_st_set_at(s, 1)->name, "model.a");
    cr_assert_str_eq(baldro_st_set_at(s, 2)->name, "model.b");
    cr_assert_null(baldro_st_set_at(s, 3));
    cr_assert_eq(baldro_st_set_find(s, "model.b")->nbytes, 8);
    cr_assert_null(baldro_st_set_find(s, "model.d"));
    cr_assert_null(baldro_st_set_file_of(s, "model.d"));
    cr_assert_eq(baldro_st_set_file_of(s, "model.b"), baldro_st_set_shard(s, 1));
    cr_assert_eq(baldro_st_set_file_of(s, "model.a"), baldro_st_set_shard(s, 0));
    assert_contains(baldro_st_path(baldro_st_set_shard(s, 1)), "model-00002-of-00002.safetensors");
    baldro_error err = { 0 };
    float v[4];
    int32_t k[3];
    double d[2];
    cr_assert_eq(baldro_st_set_read_f32(s, "model.a", v, 4, &err), BALDRO_OK);
    cr_assert_eq(v[3], 4.0f);
    cr_assert_eq(baldro_st_set_read_f64(s, "model.b", d, 2, &err), BALDRO_OK);
    cr_assert_eq(d[1], 6.0);
    cr_assert_eq(baldro_st_set_read_i32(s, "model.c", k, 3, &err), BALDRO_OK);
    cr_assert_eq(k[2], 9);
    cr_assert_eq(baldro_st_set_read_f32(s, "model.d", v, 1, &err), BALDRO_ENOTFOUND);
    assert_contains(err.msg, "'model.d'");
    cr_assert_eq(baldro_st_set_read_f64(s, "model.d", d, 1, &err), BALDRO_ENOTFOUND);
    cr_assert_eq(baldro_st_set_read_i32(s, "model.d", k, 1, &err), BALDRO_ENOTFOUND);
}

Test(safetensors, index_two_shards) {
    write_shard(tmpdir, "model-00001-of-00002.safetensors", shard1);
    write_shard(tmpdir, "model-00002-of-00002.safetensors", shard2);
    char *idx = write_index(tmpdir, WM_OK);
    baldro_st_set *s = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_open_index(tmpdir, &s, &err), BALDRO_OK, "%s", err.msg);
    check_two_shards(s);
    baldro_st_set_close(s);
    cr_assert_eq(baldro_st_open_index(idx, &s, &err), BALDRO_OK, "%s", err.msg);
    check_two_shards(s);
    baldro_st_set_close(s);
    g_free(idx);
}

Test(safetensors, index_single_file) {
    write_shard(tmpdir, "model.safetensors", shard1);
    baldro_st_set *s = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_open_index(tmpdir, &s, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_st_set_count(s), 2);
    cr_assert_eq(baldro_st_set_shard_count(s), 1);
    cr_assert_str_eq(baldro_st_set_at(s, 0)->name, "model.c");
    baldro_st_set_close(s);
    char *p = tmp_path("model.safetensors");
    cr_assert_eq(baldro_st_open_index(p, &s, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_st_set_count(s), 2);
    baldro_st_set_close(s);
    g_free(p);
}

static void expect_index_error(const char *path, int code, const char *frag1, const char *frag2) {
    baldro_st_set *s = (baldro_st_set *)0x1;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_open_index(path, &s, &err), code, "%s", err.msg);
    cr_assert_null(s);
    if (frag1) assert_contains(err.msg, frag1);
    if (frag2) assert_contains(err.msg, frag2);
}

Test(safetensors, index_missing_shard) {
    write_shard(tmpdir, "model-00001-of-00002.safetensors", shard1);
    char *idx = write_index(tmpdir, WM_OK);
    expect_index_error(tmpdir, BALDRO_EIO, idx, "shard 'model-00002-of-00002.safetensors'");
    expect_index_error(tmpdir, BALDRO_EIO, "cannot open", NULL);
    g_free(idx);
}

Test(safetensors, index_name_mapped_to_wrong_shard) {
    write_shard(tmpdir, "model-00001-of-00002.safetensors", shard1);
    write_shard(tmpdir, "model-00002-of-00002.safetensors", shard2);
    /* model.a is in shard 1, the index says shard 2. */
    char *idx = write_index(tmpdir, "{\"model.a\":\"model-00002-of-00002.safetensors\","
                                    "\"model.b\":\"model-00002-of-00002.safetensors\","
                                    "\"model.c\":\"model-00001-of-00002.safetensors\"}");
    expect_index_error(tmpdir, BALDRO_EINVAL, idx,
                       "weight_map: tensor 'model.a' is mapped to shard "
                       "'model-00002-of-00002.safetensors', which lacks it");
    g_free(idx);
}

Test(safetensors, index_tensor_in_two_shards) {
    static const char *const both[] = { "a", "b", NULL };
    write_shard(tmpdir, "model-00001-of-00002.safetensors", shard1);
    write_shard(tmpdir, "model-00002-of-00002.safetensors", both);
    char *idx = write_index(tmpdir, WM_OK);
    expect_index_error(tmpdir, BALDRO_EINVAL, "tensor 'model.a' appears in two shards", NULL);
    g_free(idx);
}

Test(safetensors, index_unlisted_tensor) {
    write_shard(tmpdir, "model-00001-of-00002.safetensors", shard1);
    write_shard(tmpdir, "model-00002-of-00002.safetensors", shard2);
    char *idx = write_index(tmpdir, "{\"model.a\":\"model-00001-of-00002.safetensors\","
                                    "\"model.b\":\"model-00002-of-00002.safetensors\"}");
    expect_index_error(idx, BALDRO_EINVAL, "tensor 'model.c' of shard", "is not listed");
    g_free(idx);
}

Test(safetensors, index_format_errors) {
    char *idx = tmp_path("bad.index.json");
    static const struct {
        const char *json;
        const char *frag;
    } cases[] = {
        { "[]", "index: not a JSON object" },
        { "{\"metadata\":{}}", "weight_map: missing" },
        { "{\"weight_map\":[]}", "weight_map: not a JSON object" },
        { "{\"weight_map\":{\"a\":1}}", "tensor 'a': shard is not a string" },
        { "{\"weight_map\":{\"a\":\"../x.safetensors\"}}", "not a relative path" },
        { "{\"weight_map\":{\"a\":\"/etc/x.safetensors\"}}", "not a relative path" },
        { "{\"weight_map\":{\"a\":\"\"}}", "not a relative path" },
        { "{\"weight_map\":{\"a\":\"s\",\"a\":\"t\"}}", "duplicate key \"a\" in \"weight_map\"" },
        { "{\"weight_map\":{", "invalid JSON" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        write_bytes(idx, cases[i].json, strlen(cases[i].json));
        expect_index_error(idx, BALDRO_EINVAL, idx, cases[i].frag);
    }
    g_free(idx);
}

Test(safetensors, index_empty_weight_map) {
    char *idx = write_index(tmpdir, "{}");
    baldro_st_set *s = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_st_open_index(idx, &s, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_st_set_count(s), 0);
    baldro_st_set_close(s);
    g_free(idx);
}

Test(safetensors, index_directory_without_checkpoint) {
    expect_index_error(tmpdir, BALDRO_ENOTFOUND, tmpdir,
                       "neither model.safetensors.index.json nor model.safetensors found");
    char *missing = tmp_path("nope");
    expect_index_error(missing, BALDRO_EIO, missing, "cannot stat");
    g_free(missing);
}
