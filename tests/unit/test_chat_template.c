/*
 * Chat templates (core/data/chat_template.c): the strings of the formula sheet, and the
 * token ids and loss masks they give with the real Llama-3 and Llama-2 tokenizers
 * (prompt positions masked out, answer and end token counted).
 */
#include <criterion/criterion.h>
#include <glib.h>
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
