/*
 * llama2.c checkpoints, GGUF files and the llama2.c tokenizer against the stories260K
 * oracles in ../shared/models/stories260K (see SOURCE.md there): both loaders give the same
 * parameters; logits at positions 0, 1, 2, 10, 50 of the greedy sequence within 1e-4 of
 * the float64 reference; 256 greedy tokens from BOS equal the reference ids, and their
 * first 200 decode to run.c's output byte for byte; prompt encodings match; corrupt files
 * fail with one line naming the file; the GGUF file's own vocabulary is tok512.bin.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate.h"
#include "engine/model_import.h"
#include "engine_util.h"
#include "io/gguf.h"
#include "io/gguf_vocab.h"
#include "io/llama2c.h"

#define MODEL_DIR BALDRO_SOURCE_DIR "/../shared/models/stories260K"

static engine_env env;
static void setup(void) { engine_env_open(&env, 2); }
static void teardown(void) { engine_env_close(&env); }

/* The fixture's path; a clear failure (not a crash) when it is missing. */
static char *fixture(const char *name) {
    char *p = g_build_filename(MODEL_DIR, name, NULL);
    if (!g_file_test(p, G_FILE_TEST_IS_REGULAR))
        cr_assert_fail("fixture %s is missing (the stories260K files live in ../shared/models/"
                 "stories260K relative to the repository root; see SOURCE.md there)", p);
    return p;
}

static JsonParser *ref_parser;
static JsonObject *ref(void) {
    if (!ref_parser) {
        char *p = fixture("reference_forward.json");
        ref_parser = json_parser_new();
        cr_assert(json_parser_load_from_file(ref_parser, p, NULL), "cannot parse %s", p);
        g_free(p);
    }
    return json_node_get_object(json_parser_get_root(ref_parser));
}

static int32_t *ref_ids(size_t *n) {
    JsonArray *a = json_object_get_array_member(ref(), "greedy_token_ids_from_bos");
    *n = json_array_get_length(a);
    int32_t *ids = g_new(int32_t, *n);
    for (size_t i = 0; i < *n; i++) ids[i] = (int32_t)json_array_get_int_element(a, (guint)i);
    return ids;
}

typedef enum { FROM_BIN, FROM_GGUF } source;

static baldro_model *open_model(source s, baldro_model_limits lim) {
    baldro_error err = {0};
    baldro_model *m = NULL;
    char *p = fixture(s == FROM_BIN ? "stories260K.bin" : "stories260K.gguf");
    const baldro_registry *reg = baldro_loader_registry(env.ld);
    int rc = s == FROM_BIN ? baldro_model_open_llama2c(reg, env.ops, env.be, p, lim, &m, &err)
                           : baldro_model_open_gguf(reg, env.ops, env.be, p, lim, &m, &err);
    cr_assert_eq(rc, BALDRO_OK, "%s", err.msg);
    g_free(p);
    return m;
}

static const baldro_model_limits gen_lim = {.max_batch = 1, .max_seq = 8, .gen_batch = 1,
                                            .gen_len = 260};

TestSuite(llama2c_gguf, .init = setup, .fini = teardown, .timeout = 120);

Test(llama2c_gguf, permute_matches_hf_formula) {
    /* HF: w.view(H, D/2, 2, cols).transpose(1, 2).reshape(H*D, cols), with H=2, D=4. */
    float src[8 * 3], dst[8 * 3];
    for (int i = 0; i < 24; i++) src[i] = (float)i;
    baldro_import_permute_qk(src, dst, 2, 4, 3);
    const int order[8] = {0, 2, 1, 3, 4, 6, 5, 7}; /* dst row r = src row order[r] */
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 3; c++) cr_assert_eq(dst[r * 3 + c], src[order[r] * 3 + c]);
}

Test(llama2c_gguf, bin_and_gguf_give_identical_parameters) {
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 8};
    baldro_model *a = open_model(FROM_BIN, lim), *b = open_model(FROM_GGUF, lim);
    const baldro_param *pa, *pb;
    int32_t na, nb;
    baldro_model_params(a, &pa, &na);
    baldro_model_params(b, &pb, &nb);
    cr_assert_eq(na, nb);
    cr_assert_eq(na, 2 + 9 * 5, "tied stories260K: embed, 5 x 9 layer tensors, norm");
    for (int32_t i = 0; i < na; i++) {
        cr_assert_str_eq(pa[i].name, pb[i].name);
        size_t n = (size_t)baldro_tensor_numel(&pa[i].value);
        cr_assert_eq(n, (size_t)baldro_tensor_numel(&pb[i].value));
        float *x = engine_download(&env, &pa[i].value), *y = engine_download(&env, &pb[i].value);
        cr_assert(memcmp(x, y, n * sizeof(float)) == 0, "%s differs", pa[i].name);
        g_free(x);
        g_free(y);
    }
    const baldro_model_info *ia = baldro_model_get_info(a), *ib = baldro_model_get_info(b);
    cr_assert_eq(ia->max_positions, 512, "seq_len of the .bin");
    cr_assert_eq(ib->max_positions, 2048, "llama.context_length of the GGUF");
    baldro_model_close(a);
    baldro_model_close(b);
}

static void check_logits(source s) {
    baldro_error err = {0};
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 8, .gen_batch = 1, .gen_len = 64};
    baldro_model *m = open_model(s, lim);
    size_t nid;
    int32_t *ids = ref_ids(&nid);
    JsonObject *lp = json_object_get_object_member(ref(), "logits_at_pos");
    const int pos[] = {0, 1, 2, 10, 50};
    double worst = 0;
    float *got = g_new(float, 512);
    for (size_t k = 0; k < G_N_ELEMENTS(pos); k++) {
        char key[16];
        g_snprintf(key, sizeof key, "%d", pos[k]);
        JsonArray *want = json_object_get_array_member(lp, key);
        cr_assert_not_null(want, "reference has no logits at %s", key);
        cr_assert_eq(json_array_get_length(want), 512);
        int32_t T = pos[k] + 1;
        const baldro_tensor *logits = NULL;
        cr_assert_eq(baldro_model_gen_prefill(m, ids, &T, 1, T, &logits, &err), BALDRO_OK, "%s",
                     err.msg);
        cr_assert_eq(env.ops->download(env.be, got, logits->data, 512 * sizeof(float)),
                     BALDRO_OK);
        for (guint v = 0; v < 512; v++) {
            double d = fabs((double)got[v] - json_array_get_double_element(want, v));
            if (d > worst) worst = d;
            cr_assert(d <= 1e-4, "%s: logit %u at position %d: %.8g vs %.8g",
                      s == FROM_BIN ? "bin" : "gguf", v, pos[k], (double)got[v],
                      json_array_get_double_element(want, v));
        }
    }
    cr_log_info("%s: max |logit error| over positions 0,1,2,10,50: %.3g",
                s == FROM_BIN ? "bin" : "gguf", worst);
    g_free(got);
    g_free(ids);
    baldro_model_close(m);
}

Test(llama2c_gguf, logits_match_reference_bin) { check_logits(FROM_BIN); }
Test(llama2c_gguf, logits_match_reference_gguf) { check_logits(FROM_GGUF); }

/* run.c's generate loop printing: stop at BOS, decode each piece against its predecessor,
 * drop unprintable single bytes, newline at the end. */
static GString *run_c_text(const baldro_l2c_tokenizer *tok, const int32_t *ids, size_t steps) {
    GString *s = g_string_new(NULL);
    for (size_t k = 1; k <= steps; k++) {
        if (ids[k] == 1) break;
        size_t len;
        const char *piece = baldro_l2c_decode(tok, ids[k - 1], ids[k], &len);
        cr_assert_not_null(piece);
        if (baldro_l2c_piece_printable(piece, len)) g_string_append_len(s, piece, (gssize)len);
    }
    g_string_append_c(s, '\n');
    return s;
}

static void check_greedy(source s) {
    baldro_error err = {0};
    baldro_model *m = open_model(s, gen_lim);
    size_t nid;
    int32_t *ids = ref_ids(&nid);
    cr_assert_eq(nid, 257);
    int32_t prompt = 1, len = 1, n = 0, stop = 0;
    int32_t out[256];
    baldro_gen_options opt = {.max_new_tokens = 256, .temperature = 0, .top_p = 1};
    cr_assert_eq(baldro_generate(m, &prompt, &len, 1, 1, &opt, out, &n, &stop, &err), BALDRO_OK,
                 "%s", err.msg);
    cr_assert_eq(n, 256);
    for (int i = 0; i < 256; i++)
        cr_assert_eq(out[i], ids[i + 1], "%s: token %d: %d vs reference %d",
                     s == FROM_BIN ? "bin" : "gguf", i, out[i], ids[i + 1]);
    /* Decode our tokens (not the reference's) the way run.c prints them. */
    char *tp = fixture("tok512.bin");
    baldro_l2c_tokenizer *tok = NULL;
    cr_assert_eq(baldro_l2c_tokenizer_open(tp, 512, &tok, &err), BALDRO_OK, "%s", err.msg);
    int32_t seq[257];
    seq[0] = 1;
    memcpy(seq + 1, out, sizeof out);
    GString *text = run_c_text(tok, seq, 200);
    char *ep = fixture("expected_greedy_n200.txt"), *expect = NULL;
    gsize elen = 0;
    cr_assert(g_file_get_contents(ep, &expect, &elen, NULL));
    cr_assert_eq(text->len, elen, "decoded %zu bytes, expected %zu:\n%s", text->len,
                 (size_t)elen, text->str);
    cr_assert(memcmp(text->str, expect, elen) == 0, "decoded text differs:\n%s", text->str);
    g_free(expect);
    g_free(ep);
    g_string_free(text, TRUE);
    baldro_l2c_tokenizer_free(tok);
    g_free(tp);
    g_free(ids);
    baldro_model_close(m);
}

Test(llama2c_gguf, greedy_from_bos_bin) { check_greedy(FROM_BIN); }
Test(llama2c_gguf, greedy_from_bos_gguf) { check_greedy(FROM_GGUF); }

Test(llama2c_gguf, tokenizer_encodings_match_reference) {
    baldro_error err = {0};
    char *tp = fixture("tok512.bin");
    baldro_l2c_tokenizer *tok = NULL;
    cr_assert_eq(baldro_l2c_tokenizer_open(tp, 512, &tok, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_l2c_tokenizer_vocab_size(tok), 512);
    JsonObject *enc = json_object_get_object_member(ref(), "prompt_encodings_llama2c");
    GList *members = json_object_get_members(enc);
    int checked = 0;
    for (GList *l = members; l; l = l->next) {
        const char *text = l->data;
        JsonNode *node = json_object_get_member(enc, text);
        if (!JSON_NODE_HOLDS_ARRAY(node)) continue; /* the "note" */
        JsonArray *want = json_node_get_array(node);
        int32_t *ids = NULL;
        size_t n = 0;
        cr_assert_eq(baldro_l2c_encode(tok, text, strlen(text), 1, 0, &ids, &n, &err),
                     BALDRO_OK, "%s", err.msg);
        cr_assert_eq(n, json_array_get_length(want), "'%s': %zu tokens, expected %u", text, n,
                     json_array_get_length(want));
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(ids[i], json_array_get_int_element(want, (guint)i), "'%s' token %zu",
                         text, i);
        /* Decoding (run.c's rules) gives the text back. */
        GString *s = g_string_new(NULL);
        for (size_t i = 1; i < n; i++) {
            size_t len;
            const char *piece = baldro_l2c_decode(tok, ids[i - 1], ids[i], &len);
            g_string_append_len(s, piece, (gssize)len);
        }
        cr_assert_str_eq(s->str, text);
        g_string_free(s, TRUE);
        g_free(ids);
        checked++;
    }
    g_list_free(members);
    cr_assert_eq(checked, 3);
    /* Empty text: BOS only, no dummy prefix (run.c). */
    int32_t *ids = NULL;
    size_t n = 0;
    cr_assert_eq(baldro_l2c_encode(tok, "", 0, 1, 1, &ids, &n, &err), BALDRO_OK);
    cr_assert_eq(n, 2);
    cr_assert(ids[0] == 1 && ids[1] == 2);
    g_free(ids);
    /* Bytes with no character token fall back to byte tokens <0xNN> = byte + 3. */
    cr_assert_eq(baldro_l2c_encode(tok, "\xc3\xbc", 2, 0, 0, &ids, &n, &err), BALDRO_OK);
    cr_assert_eq(n, 3);
    cr_assert(ids[0] == 410 && ids[1] == 0xc3 + 3 && ids[2] == 0xbc + 3);
    size_t len;
    const char *piece = baldro_l2c_decode(tok, ids[1], ids[2], &len);
    cr_assert(len == 1 && (unsigned char)piece[0] == 0xbc);
    cr_assert(!baldro_l2c_piece_printable(piece, len), "run.c drops a lone non-ASCII byte");
    g_free(ids);
    /* A whole UTF-8 character that is a token ("\xc3\xa9" is id 485) stays one token. */
    cr_assert_eq(baldro_l2c_encode(tok, "\xc3\xa9", 2, 0, 0, &ids, &n, &err), BALDRO_OK);
    cr_assert(n == 2 && ids[0] == 410 && ids[1] == 485);
    g_free(ids);
    baldro_l2c_tokenizer_free(tok);
    g_free(tp);
}

/* ---- corrupt inputs -------------------------------------------------------------------- */

static char *tmpdir;

static void bad_setup(void) {
    setup();
    tmpdir = g_dir_make_tmp("baldro-l2c-XXXXXX", NULL);
    cr_assert_not_null(tmpdir);
}

static void bad_teardown(void) {
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *e;
    while (d && (e = g_dir_read_name(d))) {
        char *p = g_build_filename(tmpdir, e, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (d) g_dir_close(d);
    g_rmdir(tmpdir);
    g_free(tmpdir);
    teardown();
}

static guint8 *read_fixture(const char *name, gsize *len) {
    char *p = fixture(name);
    gchar *buf = NULL;
    cr_assert(g_file_get_contents(p, &buf, len, NULL));
    g_free(p);
    return (guint8 *)buf;
}

static char *write_tmp(const char *name, const void *buf, size_t len) {
    char *p = g_build_filename(tmpdir, name, NULL);
    cr_assert(g_file_set_contents(p, buf, (gssize)len, NULL));
    return p;
}

/* Opening `path` as `s` fails with `code` and one line naming the file (and `needle`). */
static void expect_open_fails(source s, const char *path, int code, const char *needle) {
    baldro_error err = {0};
    baldro_model *m = NULL;
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 8};
    const baldro_registry *reg = baldro_loader_registry(env.ld);
    int rc = s == FROM_BIN ? baldro_model_open_llama2c(reg, env.ops, env.be, path, lim, &m, &err)
                           : baldro_model_open_gguf(reg, env.ops, env.be, path, lim, &m, &err);
    cr_assert_eq(rc, code, "%s: rc %d (%s), expected %d", path, rc, err.msg, code);
    cr_assert_null(m);
    cr_assert_eq(err.code, code);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message does not name the file: %s",
              err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
    if (needle) cr_assert_not_null(strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
}

TestSuite(llama2c_gguf_bad, .init = bad_setup, .fini = bad_teardown, .timeout = 60);

Test(llama2c_gguf_bad, bin) {
    gsize len;
    guint8 *buf = read_fixture("stories260K.bin", &len);
    char *p = write_tmp("truncated.bin", buf, len - 4);
    expect_open_fails(FROM_BIN, p, BALDRO_EINVAL, "implies 1056540 bytes");
    g_free(p);
    guint8 *big = g_malloc(len + 1);
    memcpy(big, buf, len);
    big[len] = 0;
    p = write_tmp("extra.bin", big, len + 1);
    expect_open_fails(FROM_BIN, p, BALDRO_EINVAL, "size");
    g_free(p);
    g_free(big);
    p = write_tmp("header.bin", buf, 20);
    expect_open_fails(FROM_BIN, p, BALDRO_EINVAL, "header");
    g_free(p);
    /* Absurd sizes: huge dim, huge n_layers, zero heads, vocab INT32_MIN. */
    const struct { int field; int32_t v; const char *needle; } bad[] = {
        {0, 1 << 30, "dim="}, {2, INT32_MAX, "n_layers="}, {3, 0, "n_heads="},
        {5, INT32_MIN, "vocab_size="}, {4, 3, "n_kv_heads=3"}, {6, -1, "seq_len="},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        guint8 *c = g_memdup2(buf, len);
        memcpy(c + 4 * bad[i].field, &bad[i].v, 4);
        char name[32];
        g_snprintf(name, sizeof name, "absurd%zu.bin", i);
        p = write_tmp(name, c, len);
        expect_open_fails(FROM_BIN, p, BALDRO_EINVAL, bad[i].needle);
        g_free(p);
        g_free(c);
    }
    char *missing = g_build_filename(tmpdir, "missing.bin", NULL);
    expect_open_fails(FROM_BIN, missing, BALDRO_EIO, "cannot open");
    g_free(missing);
    g_free(buf);
}

Test(llama2c_gguf_bad, tokenizer) {
    baldro_error err = {0};
    gsize len;
    guint8 *buf = read_fixture("tok512.bin", &len);
    baldro_l2c_tokenizer *t = NULL;
    cr_assert_eq(baldro_l2c_tokenizer_open_memory(buf, len - 1, "tok", 512, &t, &err),
                 BALDRO_EINVAL);
    cr_assert(strncmp(err.msg, "tok: ", 5) == 0, "%s", err.msg);
    cr_assert_eq(baldro_l2c_tokenizer_open_memory(buf, len, "tok", 513, &t, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_l2c_tokenizer_open_memory(buf, len, "tok", 0, &t, &err), BALDRO_OK);
    cr_assert_eq(baldro_l2c_tokenizer_vocab_size(t), 512);
    baldro_l2c_tokenizer_free(t);
    /* A negative length of token 0. */
    guint8 *c = g_memdup2(buf, len);
    int32_t neg = -5;
    memcpy(c + 8, &neg, 4);
    cr_assert_eq(baldro_l2c_tokenizer_open_memory(c, len, "tok", 512, &t, &err), BALDRO_EINVAL);
    cr_assert_null(t);
    g_free(c);
    g_free(buf);
}

/* Minimal GGUF v3 builder for synthetic files. */
static void put(GByteArray *b, const void *p, size_t n) { g_byte_array_append(b, p, (guint)n); }
static void put_u32(GByteArray *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(GByteArray *b, uint64_t v) { put(b, &v, 8); }
static void put_str(GByteArray *b, const char *s) {
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

/* One tensor "t" of ne {4, 2} and `type`, data of `data_len` bytes at `offset`. */
static GByteArray *synthetic(uint32_t type, uint64_t offset, size_t data_len) {
    GByteArray *b = g_byte_array_new();
    put(b, "GGUF", 4);
    put_u32(b, 3);
    put_u64(b, 1); /* tensors */
    put_u64(b, 2); /* kv */
    put_str(b, "general.architecture");
    put_u32(b, BALDRO_GGUF_STRING);
    put_str(b, "llama");
    put_str(b, "tokenizer.ggml.tokens");
    put_u32(b, BALDRO_GGUF_ARRAY);
    put_u32(b, BALDRO_GGUF_STRING);
    put_u64(b, 2);
    put_str(b, "a");
    put_str(b, "bc");
    put_str(b, "t");
    put_u32(b, 2);
    put_u64(b, type == 8 ? 32 : 4);
    put_u64(b, 2);
    put_u32(b, type);
    put_u64(b, offset);
    while (b->len % 32) g_byte_array_append(b, (const guint8 *)"", 1);
    for (size_t i = 0; i < data_len; i++) g_byte_array_append(b, (const guint8 *)"\x3f", 1);
    return b;
}

static void expect_mem_fails(GByteArray *b, const char *needle) {
    baldro_error err = {0};
    baldro_gguf_file *f = NULL;
    int rc = baldro_gguf_open_memory(b->data, b->len, "synthetic.gguf", &f, &err);
    cr_assert_eq(rc, BALDRO_EINVAL, "expected EINVAL for '%s', got %d (%s)", needle, rc, err.msg);
    cr_assert_null(f);
    cr_assert(strncmp(err.msg, "synthetic.gguf: ", 16) == 0, "%s", err.msg);
    cr_assert_null(strchr(err.msg, '\n'));
    cr_assert_not_null(strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
}

Test(llama2c_gguf_bad, gguf_synthetic) {
    baldro_error err = {0};
    GByteArray *ok = synthetic(0, 0, 32);
    baldro_gguf_file *f = NULL;
    cr_assert_eq(baldro_gguf_open_memory(ok->data, ok->len, "synthetic.gguf", &f, &err),
                 BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_gguf_tensor_count(f), 1);
    const baldro_gguf_kv *kv = baldro_gguf_kv_find(f, "tokenizer.ggml.tokens");
    cr_assert_not_null(kv);
    size_t l;
    const char *s = baldro_gguf_kv_str_at(f, kv, 1, &l);
    cr_assert(l == 2 && memcmp(s, "bc", 2) == 0);
    cr_assert_null(baldro_gguf_kv_str_at(f, kv, 2, &l));
    float v[8];
    cr_assert_eq(baldro_gguf_read_f32(f, baldro_gguf_tensor_find(f, "t"), v, 8, &err), BALDRO_OK);
    cr_assert_eq(baldro_gguf_read_f32(f, baldro_gguf_tensor_find(f, "t"), v, 7, &err),
                 BALDRO_EINVAL);
    baldro_gguf_close(f);
    /* Truncated anywhere in the header. */
    for (guint cut = 0; cut < ok->len - 32; cut += 7) {
        GByteArray *t = g_byte_array_new();
        put(t, ok->data, cut);
        expect_mem_fails(t, cut < 4 ? "magic" : cut < 24 ? "truncated" : "");
        g_byte_array_unref(t);
    }
    /* Huge counts. */
    GByteArray *h = synthetic(0, 0, 32);
    uint64_t huge = (uint64_t)1 << 60;
    memcpy(h->data + 16, &huge, 8);
    expect_mem_fails(h, "metadata count");
    memcpy(h->data + 16, &(uint64_t){2}, 8);
    memcpy(h->data + 8, &huge, 8);
    expect_mem_fails(h, "tensor count");
    g_byte_array_unref(h);
    /* Data outside the file, misaligned offset. */
    GByteArray *o = synthetic(0, 32, 32);
    expect_mem_fails(o, "outside");
    g_byte_array_unref(o);
    o = synthetic(0, (uint64_t)-32, 32);
    expect_mem_fails(o, "outside");
    g_byte_array_unref(o);
    o = synthetic(0, 4, 64);
    expect_mem_fails(o, "alignment");
    g_byte_array_unref(o);
    /* Unknown type at open; a known but unconvertible one at read, naming the tensor. */
    o = synthetic(99, 0, 32);
    expect_mem_fails(o, "unsupported tensor type 99");
    g_byte_array_unref(o);
    o = synthetic(8, 0, 2 * 34);
    cr_assert_eq(baldro_gguf_open_memory(o->data, o->len, "synthetic.gguf", &f, &err), BALDRO_OK,
                 "%s", err.msg);
    cr_assert_eq(baldro_gguf_read_f32(f, baldro_gguf_tensor_find(f, "t"), v, 8, &err),
                 BALDRO_EINVAL);
    cr_assert_not_null(strstr(err.msg, "tensor 't': unsupported tensor type Q8_0"), "%s",
                       err.msg);
    baldro_gguf_close(f);
    g_byte_array_unref(o);
    /* Version 1 and a bad magic. */
    o = synthetic(0, 0, 32);
    memcpy(o->data + 4, &(uint32_t){1}, 4);
    expect_mem_fails(o, "version");
    o->data[0] = 'X';
    expect_mem_fails(o, "magic");
    g_byte_array_unref(o);
    g_byte_array_unref(ok);
}

/* Offset in the GGUF header of the uint32 type of tensor `name`. */
static size_t type_field(const guint8 *buf, size_t len, const char *name) {
    size_t n = strlen(name), lim = len < 20000 ? len : 20000, at = 0;
    while (at + n <= lim && memcmp(buf + at, name, n) != 0) at++;
    cr_assert(at + n <= lim, "tensor info '%s' not found", name);
    size_t pos = at + n;
    uint32_t nd;
    memcpy(&nd, buf + pos, 4);
    return pos + 4 + 8 * nd;
}

Test(llama2c_gguf_bad, gguf_file) {
    gsize len;
    guint8 *buf = read_fixture("stories260K.gguf", &len);
    char *p = write_tmp("hdr.gguf", buf, 23);
    expect_open_fails(FROM_GGUF, p, BALDRO_EINVAL, "truncated");
    g_free(p);
    /* The last tensors' data past the end. */
    p = write_tmp("short.gguf", buf, len - 1000);
    expect_open_fails(FROM_GGUF, p, BALDRO_EINVAL, "outside");
    g_free(p);
    guint8 *c = g_memdup2(buf, len);
    uint64_t huge = UINT64_MAX;
    memcpy(c + 16, &huge, 8);
    p = write_tmp("counts.gguf", c, len);
    expect_open_fails(FROM_GGUF, p, BALDRO_EINVAL, "metadata count");
    g_free(p);
    g_free(c);
    /* output_norm.weight as Q8_0 (64 elements fit two blocks): refused when loading. */
    c = g_memdup2(buf, len);
    size_t tf = type_field(c, len, "output_norm.weight");
    memcpy(c + tf, &(uint32_t){8}, 4);
    p = write_tmp("q8.gguf", c, len);
    expect_open_fails(FROM_GGUF, p, BALDRO_EINVAL,
                      "tensor 'output_norm.weight': unsupported tensor type Q8_0");
    g_free(p);
    g_free(c);
    /* A wrong shape names the tensor: blk.0.attn_k.weight claims 64 x 64 (fits the file). */
    c = g_memdup2(buf, len);
    tf = type_field(c, len, "blk.0.attn_k.weight");
    memcpy(c + tf - 8, &(uint64_t){64}, 8);
    p = write_tmp("shape.gguf", c, len);
    expect_open_fails(FROM_GGUF, p, BALDRO_EINVAL, "'blk.0.attn_k.weight' has ggml shape");
    g_free(p);
    g_free(c);
    g_free(buf);
}

/* A negative vocab_size: an unshared classifier appended after the freq_cis tables. With
 * wcls a copy of the embedding the model is the same, so the reference logits still hold. */
Test(llama2c_gguf_bad, bin_untied_classifier) {
    baldro_error err = {0};
    gsize len;
    guint8 *buf = read_fixture("stories260K.bin", &len);
    size_t emb = 512 * 64 * 4;
    guint8 *c = g_malloc(len + emb);
    memcpy(c, buf, len);
    memcpy(c + len, buf + 28, emb);
    memcpy(c + 20, &(int32_t){-512}, 4);
    char *p = write_tmp("untied.bin", c, len + emb);
    baldro_model_limits lim = {.max_batch = 1, .max_seq = 8, .gen_batch = 1, .gen_len = 8};
    baldro_model *m = NULL;
    cr_assert_eq(baldro_model_open_llama2c(baldro_loader_registry(env.ld), env.ops, env.be, p,
                                           lim, &m, &err),
                 BALDRO_OK, "%s", err.msg);
    const baldro_param *lm = baldro_model_find_param(m, "lm_head.weight");
    cr_assert_not_null(lm, "an untied checkpoint loads lm_head.weight");
    float *w = engine_download(&env, &lm->value);
    cr_assert(memcmp(w, buf + 28, emb) == 0);
    g_free(w);
    int32_t bos = 1, T = 1;
    const baldro_tensor *logits = NULL;
    cr_assert_eq(baldro_model_gen_prefill(m, &bos, &T, 1, 1, &logits, &err), BALDRO_OK, "%s",
                 err.msg);
    float got[512];
    cr_assert_eq(env.ops->download(env.be, got, logits->data, sizeof got), BALDRO_OK);
    JsonArray *want =
        json_object_get_array_member(json_object_get_object_member(ref(), "logits_at_pos"), "0");
    for (guint v = 0; v < 512; v++)
        cr_assert(fabs(got[v] - json_array_get_double_element(want, v)) <= 1e-4, "logit %u", v);
    baldro_model_close(m);
    /* The same file without its wcls is short by exactly that array. */
    g_free(p);
    p = write_tmp("untied_short.bin", c, len);
    expect_open_fails(FROM_BIN, p, BALDRO_EINVAL, "vocab_size=-512");
    g_free(p);
    g_free(c);
    g_free(buf);
}

/* The vocabulary inside the GGUF file, with llama.cpp's edits undone, is tok512.bin piece
 * for piece and score for score; and a GGUF without one is refused by name. */
Test(llama2c_gguf, gguf_vocabulary_is_tok512) {
    baldro_error err = {0};
    char *gp = fixture("stories260K.gguf"), *tp = fixture("tok512.bin");
    baldro_gguf_file *f = NULL;
    baldro_l2c_tokenizer *a = NULL, *b = NULL;
    cr_assert_eq(baldro_gguf_open(gp, &f, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_gguf_l2c_tokenizer(f, &a, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_l2c_tokenizer_open(tp, 512, &b, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_l2c_tokenizer_vocab_size(a), 512);
    for (int32_t i = 0; i < 512; i++) {
        size_t la, lb;
        float sa, sb;
        const char *pa = baldro_l2c_tokenizer_piece(a, i, &la, &sa);
        const char *pb = baldro_l2c_tokenizer_piece(b, i, &lb, &sb);
        cr_assert(la == lb && memcmp(pa, pb, la) == 0, "piece %d differs", i);
        cr_assert_eq(sa, sb, "score %d differs", i);
    }
    baldro_l2c_tokenizer_free(a);
    baldro_l2c_tokenizer_free(b);
    baldro_gguf_close(f);
    /* A GGUF without tokenizer keys: the error names the file and the key. */
    static const unsigned char empty[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(baldro_gguf_open_memory(empty, sizeof empty, "empty.gguf", &f, &err), BALDRO_OK,
                 "%s", err.msg);
    cr_assert_eq(baldro_gguf_l2c_tokenizer(f, &a, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "empty.gguf: tokenizer.ggml.tokens: missing"), "%s", err.msg);
    baldro_gguf_close(f);
    g_free(gp);
    g_free(tp);
}
