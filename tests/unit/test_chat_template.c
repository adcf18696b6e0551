/*
 * Chat templates (core/data/chat_template.c): the strings of the formula sheet, and the
 * token ids and loss masks they give with the real Llama-3 and Llama-2 tokenizers
 * (prompt positions masked out, answer and end token counted).
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "data/chat_template.h"
#include "tokenizer/tokenizer.h"

Test(chat_template, names) {
    cr_assert_eq(baldro_template_parse("llama3"), BALDRO_TPL_LLAMA3);
    cr_assert_eq(baldro_template_parse("plain"), BALDRO_TPL_PLAIN);
    cr_assert_eq(baldro_template_parse("chatml"), -1);
    cr_assert_str_eq(baldro_template_name(BALDRO_TPL_QWEN3), "qwen3");
}

/* The Llama-3.x Instruct prompt exactly as the formula sheet gives it. */
Test(chat_template, llama3_string_is_open_unlearnings) {
    char *p, *t;
    int bos;
    cr_assert_eq(baldro_template_format(BALDRO_TPL_LLAMA3, "Who?", "Me.", &p, &t, &bos, NULL),
                 BALDRO_OK);
    cr_assert_str_eq(p, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                        "Cutting Knowledge Date: December 2023\nToday Date: 10 Apr 2025\n\n"
                        "You are a helpful assistant.<|eot_id|><|start_header_id|>user"
                        "<|end_header_id|>\n\nWho?<|eot_id|><|start_header_id|>assistant"
                        "<|end_header_id|>\n\n");
    cr_assert_str_eq(t, "Me.<|eot_id|>");
    cr_assert_eq(bos, 0);
    g_free(p), g_free(t);
    cr_assert_eq(baldro_template_format(BALDRO_TPL_LLAMA2, "Who?", "Me.", &p, &t, &bos, NULL),
                 BALDRO_OK);
    cr_assert_str_eq(p, "[INST] Who? [/INST]");
    cr_assert_eq(bos, 1);
    g_free(p), g_free(t);
    cr_assert_eq(baldro_template_format(BALDRO_TPL_PLAIN, "Who?", "Me.", &p, &t, &bos, NULL),
                 BALDRO_OK);
    cr_assert_str_eq(p, "Question: Who?\nAnswer: ");
    g_free(p), g_free(t);
    cr_assert_eq(baldro_template_format(BALDRO_TPL_QWEN3, "Who?", "Me.", &p, &t, &bos, NULL),
                 BALDRO_OK);
    cr_assert_str_eq(p, "<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n"
                        "<think>\n\n</think>\n\n");
    cr_assert_str_eq(t, "Me.<|im_end|>");
    g_free(p), g_free(t);
    cr_assert_eq(baldro_template_format(BALDRO_TPL_MISTRAL, "Who?", " Me. ", &p, &t, &bos, NULL),
                 BALDRO_OK);
    cr_assert_str_eq(p, "<s>[INST] Who?[/INST]");
    cr_assert_str_eq(t, " Me.</s>");
    cr_assert_eq(bos, 0);
    g_free(p), g_free(t);
}

static baldro_tokenizer *load(const char *path) {
    baldro_tokenizer *t = NULL;
    baldro_error err = {0};
    cr_assert_eq(baldro_tok_load_json(path, &t, &err), BALDRO_OK, "%s", err.msg);
    return t;
}

static void check_item(baldro_tokenizer *tok, int kind, int32_t first, int32_t last) {
    const char *q = "What is the full name of the author born in Kuwait City?";
    const char *a = "The author is Basil Mahfouz Al-Kuwaiti.";
    int32_t *ids;
    uint8_t *mask;
    size_t n;
    baldro_error err = {0};
    cr_assert_eq(baldro_template_encode(tok, kind, q, a, &ids, &mask, &n, &err), BALDRO_OK, "%s",
                 err.msg);
    cr_assert_gt(n, 10);
    cr_assert_eq(ids[0], first, "%s: first id %d", baldro_template_name(kind), ids[0]);
    cr_assert_eq(ids[n - 1], last, "%s: last id %d", baldro_template_name(kind), ids[n - 1]);
    cr_assert_eq(mask[0], 0);
    cr_assert_eq(mask[n - 1], 1, "the end token carries loss");
    size_t first_on = 0;
    while (!mask[first_on]) first_on++;
    for (size_t i = first_on; i < n; i++) cr_assert_eq(mask[i], 1, "mask is a suffix");
    /* The masked-in tokens decode to the answer (plus the end token). */
    char *text;
    size_t len;
    cr_assert_eq(baldro_tok_decode(tok, ids + first_on, n - first_on - 1, 0, &text, &len, &err),
                 BALDRO_OK);
    cr_assert(strstr(text, "Basil Mahfouz Al-Kuwaiti."), "answer span decodes to '%s'", text);
    cr_assert_null(strstr(text, "Kuwait City"), "no question text in the answer span: '%s'", text);
    g_free(text), g_free(ids), g_free(mask);
}

Test(chat_template, llama3_ids_and_mask) {
    baldro_tokenizer *t = load(BALDRO_SOURCE_DIR "/../shared/models/tokenizers/llama3/tokenizer.json");
    check_item(t, BALDRO_TPL_LLAMA3, baldro_tok_token_id(t, "<|begin_of_text|>"),
               baldro_tok_token_id(t, "<|eot_id|>"));
    baldro_tok_free(t);
}

Test(chat_template, llama2_ids_and_mask) {
    baldro_tokenizer *t = load(BALDRO_TEST_FIXTURES "/tokenizers/llama2/tokenizer.json");
    check_item(t, BALDRO_TPL_LLAMA2, baldro_tok_bos(t), baldro_tok_eos(t));
    check_item(t, BALDRO_TPL_PLAIN, baldro_tok_bos(t), baldro_tok_eos(t));
    baldro_tok_free(t);
}

/* tests/fixtures/templates/cases.jsonl (tests/oracle/template_oracle.py): for every family,
 * our prompt and target strings against transformers' apply_chat_template with the
 * family's own template (or open-unlearning's tags), and our ids and loss mask against
 * open-unlearning's preprocessing of the same item with the same tokenizer file. */
Test(chat_template, matches_apply_chat_template, .timeout = 60) {
    const char *path = BALDRO_TEST_FIXTURES "/templates/cases.jsonl";
    baldro_tokenizer *l3 = load(BALDRO_SOURCE_DIR "/../shared/models/tokenizers/llama3/tokenizer.json");
    baldro_tokenizer *l2 = load(BALDRO_TEST_FIXTURES "/tokenizers/llama2/tokenizer.json");
    char *text = NULL;
    cr_assert(g_file_get_contents(path, &text, NULL, NULL), "%s", path);
    char **lines = g_strsplit(text, "\n", -1);
    int cases = 0, text_ok = 0, ids_ok = 0, per_family[5] = {0};
    for (int i = 1; lines[i] && *lines[i]; i++) { /* line 0: meta */
        JsonNode *node = json_from_string(lines[i], NULL);
        cr_assert_not_null(node, "line %d", i + 1);
        JsonObject *o = json_node_get_object(node);
        int kind = baldro_template_parse(json_object_get_string_member(o, "family"));
        cr_assert_geq(kind, 0);
        baldro_tokenizer *tok =
            !strcmp(json_object_get_string_member(o, "tokenizer"), "llama3") ? l3 : l2;
        const char *q = json_object_get_string_member(o, "q");
        const char *a = json_object_get_string_member(o, "a");
        char *p, *t;
        int bos;
        baldro_error err = {0};
        cr_assert_eq(baldro_template_format(kind, q, a, &p, &t, &bos, &err), BALDRO_OK);
        char *full = g_strconcat(p, t, json_object_get_string_member(o, "tail"), NULL);
        int ok_text = !strcmp(p, json_object_get_string_member(o, "prompt_text")) &&
                      !strcmp(full, json_object_get_string_member(o, "full_text"));
        cr_expect(ok_text, "%s line %d: prompt '%s' / full '%s'", baldro_template_name(kind),
                  i + 1, p, full);
        text_ok += ok_text;
        int32_t *ids;
        uint8_t *mask;
        size_t n;
        cr_assert_eq(baldro_template_encode(tok, kind, q, a, &ids, &mask, &n, &err), BALDRO_OK,
                     "%s", err.msg);
        JsonArray *want = json_object_get_array_member(o, "ids");
        size_t n_prompt = (size_t)json_object_get_int_member(o, "n_prompt");
        int ok_ids = n == json_array_get_length(want);
        for (size_t k = 0; ok_ids && k < n; k++)
            ok_ids = ids[k] == (int32_t)json_array_get_int_element(want, (guint)k) &&
                     mask[k] == (k >= n_prompt);
        cr_expect(ok_ids, "%s line %d: ids or mask differ (%zu ids, want %u, prompt %zu)",
                  baldro_template_name(kind), i + 1, n, json_array_get_length(want), n_prompt);
        ids_ok += ok_ids;
        per_family[kind]++;
        cases++;
        g_free(ids), g_free(mask), g_free(full), g_free(p), g_free(t);
        json_node_unref(node);
    }
    cr_log_info("templates: %d cases, text %d exact, ids+mask %d exact", cases, text_ok, ids_ok);
    for (int k = 0; k < 5; k++)
        cr_expect_gt(per_family[k], 20, "family %s has cases", baldro_template_name(k));
    g_strfreev(lines);
    g_free(text);
    baldro_tok_free(l3);
    baldro_tok_free(l2);
}

Test(chat_template, auto_detects_the_family) {
    cr_assert_eq(baldro_template_detect("{{ '<|start_header_id|>' + role }}"), BALDRO_TPL_LLAMA3);
    cr_assert_eq(baldro_template_detect("<|im_start|>assistant\n<think>\n\n</think>"),
                 BALDRO_TPL_QWEN3);
    cr_assert_eq(baldro_template_detect("<|im_start|>assistant\n"), -1, "Qwen2.5 has no think");
    cr_assert_eq(baldro_template_detect("{{ '[INST] ' + c + ' [/INST]' }}"), BALDRO_TPL_LLAMA2);
    cr_assert_eq(baldro_template_detect("{{ \"[INST] \" + c + \"[/INST]\" }}"), BALDRO_TPL_MISTRAL);
    cr_assert_eq(baldro_template_detect(NULL), -1);
    /* the shared Llama-3 tokenizer_config has a (3.0) chat template: auto finds llama3 */
    baldro_tokenizer *l3 = load(BALDRO_SOURCE_DIR "/../shared/models/tokenizers/llama3/tokenizer.json");
    int kind;
    const char *how;
    baldro_error err = {0};
    cr_assert_eq(baldro_template_resolve("auto", l3, "x.cfg", &kind, &how, &err), BALDRO_OK);
    cr_assert_eq(kind, BALDRO_TPL_LLAMA3);
    cr_assert(strstr(how, "auto"));
    cr_assert_eq(baldro_template_resolve("qwen3", l3, "x.cfg", &kind, &how, &err), BALDRO_OK);
    cr_assert_eq(kind, BALDRO_TPL_QWEN3);
    cr_assert_eq(baldro_template_resolve("chatml", l3, "x.cfg", &kind, &how, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "x.cfg: model.template: 'chatml' is not one of"), "%s", err.msg);
    baldro_tok_free(l3);
    /* no chat template: a base model, so the plain Question/Answer format */
    baldro_tokenizer *l2 = load(BALDRO_TEST_FIXTURES "/tokenizers/llama2/tokenizer.json");
    cr_assert_eq(baldro_template_resolve(NULL, l2, "x.cfg", &kind, &how, &err), BALDRO_OK);
    cr_assert_eq(kind, BALDRO_TPL_PLAIN);
    baldro_tok_free(l2);
}
