/*
 * tests/unit/test_tokenizer.c: core/tokenizer against the `tokenizers` library.
 *
 * tests/fixtures/tokenizers/<name>/cases.jsonl (tests/oracle/tokenizer_oracle.py) holds
 * the ids HF gives for every TOFU question and answer (../shared/data/tofu/full.json) and
 * for an adversarial set; every one must match exactly, and decode must give HF's text.
 * The Llama-3 tokenizer and TOFU are read from ../shared; the suites skip without them.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

#define SHARED BALDRO_SOURCE_DIR "/../shared"
#define TOFU SHARED "/data/tofu/full.json"
#define FIX BALDRO_TEST_FIXTURES "/tokenizers"

static GPtrArray *read_lines(const char *path) {
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) return NULL;
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    char **v = g_strsplit(text, "\n", -1);
    for (char **p = v; *p; p++)
        if (**p) g_ptr_array_add(lines, g_strdup(*p));
    g_strfreev(v);
    g_free(text);
    return lines;
}

static GArray *ids_of(JsonObject *o, const char *key) {
    if (!json_object_has_member(o, key)) return NULL;
    JsonArray *a = json_object_get_array_member(o, key);
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    for (guint i = 0; i < json_array_get_length(a); i++) {
        int32_t id = (int32_t)json_array_get_int_element(a, i);
        g_array_append_val(ids, id);
    }
    return ids;
}

static int same_ids(const int32_t *got, size_t n, const GArray *want) {
    return n == want->len && (n == 0 || memcmp(got, want->data, n * sizeof *got) == 0);
}

typedef struct {
    size_t items, ids_ok, dec_ok, dec_checked, sp_ok, sp_checked, tofu;
} tally;

static void check_case(const baldro_tokenizer *t, JsonObject *o, GPtrArray *tofu, tally *s) {
    char *text = NULL;
    gsize len = 0;
    if (json_object_has_member(o, "tofu")) {
        gint64 line = json_object_get_int_member(o, "tofu");
        const char *field = json_object_get_string_member(o, "field");
        JsonNode *row = json_from_string(g_ptr_array_index(tofu, (guint)line), NULL);
        cr_assert_not_null(row);
        text = g_strdup(json_object_get_string_member(json_node_get_object(row), field));
        len = strlen(text);
        json_node_unref(row);
        s->tofu++;
    } else if (json_object_has_member(o, "b64")) {
        text = (char *)g_base64_decode(json_object_get_string_member(o, "b64"), &len);
    } else {
        text = g_strdup(json_object_get_string_member(o, "text"));
        len = strlen(text);
    }
    s->items++;
    GArray *want = ids_of(o, "ids");
    int32_t *ids = NULL;
    size_t n = 0;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_encode(t, text, len, 0, &ids, &n, &err), BALDRO_OK, "%s", err.msg);
    if (same_ids(ids, n, want)) s->ids_ok++;
    else if (s->items - s->ids_ok <= 5)
        cr_log_error("ids differ for %.60s (%zu vs %u ids)", text, n, want->len);

    /* decode(ids) == HF's decode, which is the text itself unless "dec" says otherwise */
    char *dec = NULL;
    size_t dec_len = len;
    if (json_object_has_member(o, "dec64"))
        dec = (char *)g_base64_decode(json_object_get_string_member(o, "dec64"), &dec_len);
    else if (json_object_has_member(o, "dec"))
        dec = g_strdup(json_object_get_string_member(o, "dec"));
    else {
        dec = g_malloc(len + 1); /* g_memdup2 gives NULL for an empty text */
        memcpy(dec, text, len);
    }
    if (json_object_has_member(o, "dec")) dec_len = strlen(dec);
    char *out = NULL;
    size_t out_len = 0;
    cr_assert_eq(baldro_tok_decode(t, (const int32_t *)(void *)want->data, want->len, 0, &out,
                                   &out_len, &err), BALDRO_OK, "%s", err.msg);
    s->dec_checked++;
    if (out_len == dec_len && (dec_len == 0 || memcmp(out, dec, dec_len) == 0)) s->dec_ok++;
    else if (s->dec_checked - s->dec_ok <= 5)
        cr_log_error("decode differs for %.60s: got %.60s", text, out);
    g_free(out);
    g_free(dec);
    if (json_object_has_member(o, "dec_skip") || json_object_has_member(o, "dec_skip64")) {
        gsize wl;
        char *want_skip =
            json_object_has_member(o, "dec_skip64")
                ? (char *)g_base64_decode(json_object_get_string_member(o, "dec_skip64"), &wl)
                : g_strdup(json_object_get_string_member(o, "dec_skip"));
        if (json_object_has_member(o, "dec_skip")) wl = strlen(want_skip);
        cr_assert_eq(baldro_tok_decode(t, (const int32_t *)(void *)want->data, want->len, 1,
                                       &out, &out_len, &err), BALDRO_OK);
        s->dec_checked++;
        int ok = out_len == wl && (wl == 0 || memcmp(out, want_skip, wl) == 0);
        g_free(want_skip);
        if (ok) s->dec_ok++;
        else if (s->dec_checked - s->dec_ok <= 5)
            cr_log_error("decode(skip) differs for %.60s: got %.60s", text, out);
        g_free(out);
    }
    GArray *want_sp = ids_of(o, "ids_sp");
    if (want_sp) {
        g_free(ids);
        cr_assert_eq(baldro_tok_encode(t, text, len, 1, &ids, &n, &err), BALDRO_OK);
        s->sp_checked++;
        if (same_ids(ids, n, want_sp)) s->sp_ok++;
        g_array_free(want_sp, TRUE);
    }
    g_free(ids);
    g_array_free(want, TRUE);
    g_free(text);
}

static void run_cases(const char *tok_path, const char *cases_path) {
    if (!g_file_test(tok_path, G_FILE_TEST_EXISTS) || !g_file_test(TOFU, G_FILE_TEST_EXISTS))
        cr_skip_test("%s or %s is missing", tok_path, TOFU);
    baldro_tokenizer *t = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_load_json(tok_path, &t, &err), BALDRO_OK, "%s", err.msg);
    GPtrArray *tofu = read_lines(TOFU);
    GPtrArray *cases = read_lines(cases_path);
    cr_assert(tofu && cases);
    tally s = { 0 };
    for (guint i = 0; i < cases->len; i++) {
        JsonNode *n = json_from_string(g_ptr_array_index(cases, i), NULL);
        cr_assert_not_null(n);
        check_case(t, json_node_get_object(n), tofu, &s);
        json_node_unref(n);
    }
    cr_log_info("%s: %zu items (%zu TOFU): ids %zu/%zu exact, decode %zu/%zu, "
                "add_special %zu/%zu", cases_path, s.items, s.tofu, s.ids_ok, s.items, s.dec_ok,
                s.dec_checked, s.sp_ok, s.sp_checked);
    cr_expect_eq(s.ids_ok, s.items, "ids: %zu of %zu match", s.ids_ok, s.items);
    cr_expect_eq(s.dec_ok, s.dec_checked, "decode: %zu of %zu match", s.dec_ok, s.dec_checked);
    cr_expect_eq(s.sp_ok, s.sp_checked, "add_special: %zu of %zu match", s.sp_ok, s.sp_checked);
    cr_expect_gt(s.tofu, 7999);
    g_ptr_array_free(cases, TRUE);
    g_ptr_array_free(tofu, TRUE);
    baldro_tok_free(t);
}

Test(tokenizer, llama3_matches_hf, .timeout = 60) {
    run_cases(SHARED "/models/tokenizers/llama3/tokenizer.json", FIX "/llama3/cases.jsonl");
}

Test(tokenizer, llama2_matches_hf, .timeout = 60) {
    run_cases(FIX "/llama2/tokenizer.json", FIX "/llama2/cases.jsonl");
}

Test(tokenizer, llama3_specials_and_round_trip, .timeout = 60) {
    const char *path = SHARED "/models/tokenizers/llama3/tokenizer.json";
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) cr_skip_test("%s is missing", path);
    baldro_tokenizer *t = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_load_json(path, &t, &err), BALDRO_OK, "%s", err.msg);
    cr_expect_eq(baldro_tok_vocab_size(t), 128256);
    cr_expect_eq(baldro_tok_bos(t), 128000);
    cr_expect_eq(baldro_tok_eos(t), 128001);
    cr_expect_eq(baldro_tok_token_id(t, "<|eot_id|>"), 128009);
    cr_expect_str_eq(baldro_tok_token_str(t, 128009), "<|eot_id|>");
    cr_expect(baldro_tok_is_special(t, 128009));
    cr_expect_null(baldro_tok_token_str(t, 128256));
    const char *s = "a<|eot_id|>b";
    int32_t *ids = NULL;
    size_t n = 0;
    cr_assert_eq(baldro_tok_encode(t, s, strlen(s), 0, &ids, &n, &err), BALDRO_OK);
    cr_assert_eq(n, 3);
    cr_expect_eq(ids[1], 128009);
    char *out = NULL;
    size_t len = 0;
    cr_assert_eq(baldro_tok_decode(t, ids, n, 1, &out, &len, &err), BALDRO_OK);
    cr_expect_str_eq(out, "ab");
    g_free(out);
    g_free(ids);
    int32_t bad = 999999;
    cr_expect_eq(baldro_tok_decode(t, &bad, 1, 0, &out, &len, &err), BALDRO_EINVAL);
    baldro_tok_free(t);
}

/* ---- a tiny tokenizer by hand, and the errors ---- */

static char *fixture_text(const char *name, size_t *len) {
    char *path = g_build_filename(BALDRO_SOURCE_DIR, "tests", "fuzz", "corpus_tokenizer_json",
                                  name, NULL);
    char *text = NULL;
    gsize l = 0;
    cr_assert(g_file_get_contents(path, &text, &l, NULL), "%s", path);
    g_free(path);
    *len = l;
    return text;
}

Test(tokenizer, tiny_bytelevel) {
    size_t len;
    char *json = fixture_text("tiny_bytelevel.json", &len);
    const char *cfg = "{\"bos_token\": \"<|bos|>\", \"eos_token\": {\"content\": \"abb\"}, "
                      "\"add_eos_token\": true}";
    baldro_tokenizer *t = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_load_buffers(json, len, cfg, strlen(cfg), "x/tokenizer.json", &t,
                                         &err), BALDRO_OK, "%s", err.msg);
    cr_expect_eq(baldro_tok_bos(t), 7);
    cr_expect_eq(baldro_tok_eos(t), 4);
    int32_t *ids = NULL;
    size_t n = 0;
    cr_assert_eq(baldro_tok_encode(t, "abb ab", 6, 1, &ids, &n, &err), BALDRO_OK);
    /* <|bos|> abb Ġ ab, then the eos from add_eos_token */
    int32_t want[] = { 7, 4, 2, 3, 4 };
    cr_assert_eq(n, 5);
    cr_expect_arr_eq(ids, want, sizeof want);
    g_free(ids);
    baldro_tok_free(t);
    g_free(json);
}

Test(tokenizer, tiny_metaspace_byte_fallback) {
    size_t len;
    char *json = fixture_text("tiny_metaspace.json", &len);
    baldro_tokenizer *t = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_load_buffers(json, len, NULL, 0, "m.json", &t, &err), BALDRO_OK,
                 "%s", err.msg);
    int32_t *ids = NULL;
    size_t n = 0;
    /* "hi A€": ▁hi ▁ <0x41> <unk> (€ has no byte tokens: unknown, fused with nothing) */
    cr_assert_eq(baldro_tok_encode(t, "hi A\xe2\x82\xac", 7, 0, &ids, &n, &err), BALDRO_OK);
    int32_t want[] = { 7, 3, 2, 0 };
    cr_assert_eq(n, 4);
    cr_expect_arr_eq(ids, want, sizeof want);
    char *out = NULL;
    size_t olen;
    cr_assert_eq(baldro_tok_decode(t, ids, n, 1, &out, &olen, &err), BALDRO_OK);
    cr_expect_str_eq(out, "hi A");
    g_free(out);
    g_free(ids);
    baldro_tok_free(t);
    g_free(json);
}

static void expect_load_error(const char *json, int code, const char *msg) {
    baldro_tokenizer *t = (baldro_tokenizer *)1;
    baldro_error err = { 0 };
    cr_expect_eq(baldro_tok_load_buffers(json, strlen(json), NULL, 0, "tokenizer.json", &t, &err),
                 code, "%s", err.msg);
    cr_expect_null(t);
    cr_expect(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
    cr_expect_null(strchr(err.msg, '\n'));
}

Test(tokenizer, errors) {
    expect_load_error("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", BALDRO_EUNSUPPORTED,
                      "tokenizer.json: model.type 'Unigram' is not supported (BPE)");
    expect_load_error("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", BALDRO_EUNSUPPORTED,
                      "tokenizer.json: model.type 'WordPiece' is not supported (BPE)");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}},\"pre_tokenizer\":{\"type\":\"Whitespace\"}}",
                      BALDRO_EUNSUPPORTED,
                      "tokenizer.json: pre_tokenizer.type 'Whitespace' is not supported");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}},\"pre_tokenizer\":{\"type\":\"Sequence\","
                      "\"pretokenizers\":[{\"type\":\"Digits\"}]}}", BALDRO_EUNSUPPORTED,
                      "pre_tokenizer.pretokenizers[0].type 'Digits' is not supported");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}},\"normalizer\":{\"type\":\"NFKC\"}}",
                      BALDRO_EUNSUPPORTED, "normalizer.type 'NFKC' is not supported");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}},\"decoder\":{\"type\":\"WordPiece\"}}",
                      BALDRO_EUNSUPPORTED, "decoder.type 'WordPiece' is not supported");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}", BALDRO_EINVAL,
                      "model.merges[0]: 'b' is not in model.vocab");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0},\"merges\":[\"a\"]}}", BALDRO_EINVAL,
                      "model.merges[0]");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":-1}}}", BALDRO_EINVAL, "model.vocab");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0,\"b\":0}}}", BALDRO_EINVAL, "id 0 is given");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}},\"pre_tokenizer\":{\"type\":\"Split\","
                      "\"pattern\":{\"Regex\":\"(\"}}}", BALDRO_EINVAL, "invalid regex");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}}", BALDRO_EINVAL, "tokenizer.json");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0,\"a\":1}}}", BALDRO_EINVAL, "tokenizer.json");
    expect_load_error("[1]", BALDRO_EINVAL, "expected a JSON object");
    expect_load_error("{}", BALDRO_EINVAL, "model: missing");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0},\"dropout\":0.1}}", BALDRO_EUNSUPPORTED,
                      "model.dropout");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}},\"post_processor\":{\"type\":\"BertProcessing\"}}",
                      BALDRO_EUNSUPPORTED, "post_processor.type 'BertProcessing'");
    expect_load_error("{\"model\":{\"vocab\":{\"a\":0}},\"post_processor\":{\"type\":"
                      "\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"x\"}}],"
                      "\"special_tokens\":{\"x\":{\"id\":\"x\",\"ids\":[5]}}}}", BALDRO_EINVAL,
                      "post_processor: id 5 is not in the vocabulary");
}

Test(tokenizer, file_errors) {
    baldro_tokenizer *t = NULL;
    baldro_error err = { 0 };
    cr_expect_eq(baldro_tok_load_json("/nonexistent/tokenizer.json", &t, &err), BALDRO_EIO);
    cr_expect(strstr(err.msg, "/nonexistent/tokenizer.json: cannot read") == err.msg, "%s",
              err.msg);
    char *dir = g_dir_make_tmp("baldro-tok-XXXXXX", NULL);
    cr_assert_not_null(dir);
    char *tj = g_build_filename(dir, "tokenizer.json", NULL);
    char *tc = g_build_filename(dir, "tokenizer_config.json", NULL);
    cr_assert(g_file_set_contents(tj, "{\"model\":{\"vocab\":{\"a\":0}}}", -1, NULL));
    cr_assert(g_file_set_contents(tc, "{\"bos_token\": \"zz\"}", -1, NULL));
    cr_expect_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_EINVAL);
    cr_expect(strstr(err.msg, "tokenizer_config.json: bos_token: 'zz' is not in the vocabulary"),
              "%s", err.msg);
    cr_assert(g_file_set_contents(tc, "{\"bos_token\": \"a\",}", -1, NULL));
    cr_expect_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_EINVAL);
    cr_expect(strstr(err.msg, "tokenizer_config.json"), "%s", err.msg);
    cr_assert(g_file_set_contents(tc, "{\"bos_token\": \"a\", \"add_bos_token\": true}", -1, NULL));
    cr_assert_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_OK, "%s", err.msg);
    int32_t *ids = NULL;
    size_t n = 0;
    cr_assert_eq(baldro_tok_encode(t, "aa", 2, 1, &ids, &n, &err), BALDRO_OK);
    cr_expect_eq(n, 3);
    cr_expect_eq(ids[0], 0);
    g_free(ids);
    baldro_tok_free(t);
    g_remove(tj);
    g_remove(tc);
    g_rmdir(dir);
    g_free(tj);
    g_free(tc);
    g_free(dir);
}

/* tokenizer_config.json: added_tokens_decoder extends or annotates the vocabulary as
 * transformers does, pad_token and chat_template are read, and chat_template.jinja wins. */
Test(tokenizer, config_added_tokens_and_template) {
    baldro_tokenizer *t = NULL;
    baldro_error err = { 0 };
    char *dir = g_dir_make_tmp("baldro-tok-XXXXXX", NULL);
    cr_assert_not_null(dir);
    char *tj = g_build_filename(dir, "tokenizer.json", NULL);
    char *tc = g_build_filename(dir, "tokenizer_config.json", NULL);
    char *jj = g_build_filename(dir, "chat_template.jinja", NULL);
    cr_assert(g_file_set_contents(tj, "{\"model\":{\"vocab\":{\"a\":0,\"b\":1}},\"added_tokens\":"
                                  "[{\"id\":2,\"content\":\"<s>\",\"special\":true}]}", -1, NULL));
    /* id 3 is new; id 2 agrees with tokenizer.json */
    cr_assert(g_file_set_contents(tc, "{\"added_tokens_decoder\":{\"2\":{\"content\":\"<s>\","
                                  "\"special\":true},\"3\":{\"content\":\"<pad>\",\"special\":"
                                  "true}},\"pad_token\":\"<pad>\",\"bos_token\":\"<s>\","
                                  "\"chat_template\":\"{{ '[INST] ' }}\"}", -1, NULL));
    cr_assert_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_OK, "%s", err.msg);
    cr_expect_eq(baldro_tok_vocab_size(t), 4);
    cr_expect_eq(baldro_tok_pad(t), 3);
    cr_expect(baldro_tok_is_special(t, 3));
    cr_expect_str_eq(baldro_tok_chat_template(t), "{{ '[INST] ' }}");
    int32_t *ids = NULL;
    size_t n = 0;
    cr_assert_eq(baldro_tok_encode(t, "a<pad>b", 7, 0, &ids, &n, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_expect(ids[0] == 0 && ids[1] == 3 && ids[2] == 1, "%d %d %d", ids[0], ids[1], ids[2]);
    g_free(ids);
    baldro_tok_free(t);
    cr_assert(g_file_set_contents(jj, "{{ 'jinja file' }}", -1, NULL));
    cr_assert_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_OK, "%s", err.msg);
    cr_expect_str_eq(baldro_tok_chat_template(t), "{{ 'jinja file' }}");
    baldro_tok_free(t);
    /* an id that tokenizer.json gives to another string: two different tokenizers */
    cr_assert(g_file_set_contents(tc, "{\"added_tokens_decoder\":{\"1\":{\"content\":\"<x>\"}}}",
                                  -1, NULL));
    cr_expect_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_EINVAL);
    cr_expect(strstr(err.msg, "tokenizer_config.json: added_tokens_decoder.1: '<x>' but "
                              "tokenizer.json gives id 1 to 'b'"), "%s", err.msg);
    cr_assert(g_file_set_contents(tc, "{\"added_tokens_decoder\":{\"x\":{\"content\":\"<x>\"}}}",
                                  -1, NULL));
    cr_expect_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_EINVAL);
    cr_expect(strstr(err.msg, "added_tokens_decoder.x: expected an id"), "%s", err.msg);
    cr_assert(g_file_set_contents(tc, "{\"chat_template\": 5}", -1, NULL));
    cr_expect_eq(baldro_tok_load_json(tj, &t, &err), BALDRO_EINVAL);
    cr_expect(strstr(err.msg, "chat_template: expected a string"), "%s", err.msg);
    g_remove(jj);
    g_remove(tj);
    g_remove(tc);
    g_rmdir(dir);
    g_free(jj);
    g_free(tj);
    g_free(tc);
    g_free(dir);
}

/* ---- pipeline variants (tests/fixtures/tokenizers/variants.jsonl) ---- */

/* The base tokenizer.json with some top-level members replaced, as text. */
static char *patched_json(const char *base_path, JsonObject *patch, size_t *len) {
    JsonParser *p = json_parser_new();
    cr_assert(json_parser_load_from_file(p, base_path, NULL), "%s", base_path);
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    GList *keys = json_object_get_members(patch);
    for (GList *k = keys; k; k = k->next)
        json_object_set_member(root, k->data, json_node_copy(json_object_get_member(patch, k->data)));
    g_list_free(keys);
    JsonGenerator *g = json_generator_new();
    json_generator_set_root(g, json_parser_get_root(p));
    gsize l = 0;
    char *text = json_generator_to_data(g, &l);
    *len = l;
    g_object_unref(g);
    g_object_unref(p);
    return text;
}

Test(tokenizer, pipeline_variants, .timeout = 60) {
    const char *l3 = SHARED "/models/tokenizers/llama3/tokenizer.json";
    GPtrArray *rows = read_lines(FIX "/variants.jsonl");
    cr_assert_not_null(rows);
    size_t total = 0, ok = 0;
    for (guint r = 0; r < rows->len; r++) {
        JsonNode *n = json_from_string(g_ptr_array_index(rows, r), NULL);
        JsonObject *o = json_node_get_object(n);
        const char *base = json_object_get_string_member(o, "base");
        const char *name = json_object_get_string_member(o, "name");
        const char *path = strcmp(base, "llama3") == 0 ? l3 : FIX "/llama2/tokenizer.json";
        if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
            json_node_unref(n);
            continue;
        }
        size_t len;
        char *json = patched_json(path, json_object_get_object_member(o, "patch"), &len);
        baldro_tokenizer *t = NULL;
        baldro_error err = { 0 };
        cr_assert_eq(baldro_tok_load_buffers(json, len, NULL, 0, name, &t, &err), BALDRO_OK, "%s",
                     err.msg);
        g_free(json);
        JsonArray *cases = json_object_get_array_member(o, "cases");
        size_t bad = 0;
        for (guint i = 0; i < json_array_get_length(cases); i++) {
            JsonArray *c = json_array_get_array_element(cases, i);
            gsize tl, dl;
            char *text = (char *)g_base64_decode(json_array_get_string_element(c, 0), &tl);
            char *dec = (char *)g_base64_decode(json_array_get_string_element(c, 2), &dl);
            JsonArray *want = json_array_get_array_element(c, 1);
            int32_t *ids = NULL;
            size_t nid = 0;
            cr_assert_eq(baldro_tok_encode(t, text, tl, 1, &ids, &nid, &err), BALDRO_OK);
            int same = nid == json_array_get_length(want);
            for (size_t k = 0; same && k < nid; k++)
                same = ids[k] == (int32_t)json_array_get_int_element(want, (guint)k);
            char *out = NULL;
            size_t ol = 0;
            if (same) {
                cr_assert_eq(baldro_tok_decode(t, ids, nid, 0, &out, &ol, &err), BALDRO_OK);
                same = ol == dl && (dl == 0 || memcmp(out, dec, dl) == 0);
            }
            total++;
            if (same) ok++;
            else if (++bad <= 3) cr_log_error("%s: case %u differs (%.40s)", name, i, text);
            g_free(out);
            g_free(ids);
            g_free(dec);
            g_free(text);
        }
        baldro_tok_free(t);
        json_node_unref(n);
    }
    cr_log_info("variants: %zu/%zu cases match", ok, total);
    cr_expect_eq(ok, total, "variants: %zu of %zu match", ok, total);
    cr_expect_gt(total, 0);
    g_ptr_array_free(rows, TRUE);
}

/* PCRE's \C (one byte) would let matches start inside a UTF-8 character; refused at load.
 * The input is the one tests/fuzz/fuzz_tokenizer_json.c found (it ran out of memory). */
Test(tokenizer_regression, single_byte_regex_escape_is_refused) {
    char *text = NULL;
    gsize len = 0;
    cr_assert(g_file_get_contents(BALDRO_SOURCE_DIR
                                  "/tests/fuzz/corpus_tokenizer_json/regex_single_byte_escape.json",
                                  &text, &len, NULL));
    baldro_tokenizer *t = NULL;
    baldro_error err = {0};
    int rc = baldro_tok_load_buffers(text, len, NULL, 0, "fuzz.json", &t, &err);
    cr_assert_eq(rc, BALDRO_EINVAL, "%s", err.msg);
    cr_assert(strstr(err.msg, "\\C (single byte) is not supported"), "%s", err.msg);
    cr_assert_null(t);
    g_free(text);
}
