/*
 * core/data/chat_template.h: the prompt formats of the study's model families, as
 * open-unlearning uses them (its configs/model YAML files) and as the formula sheet lists them.
 *
 * A template turns (question, answer) into a prompt string and a target string; the
 * item's token ids are those of prompt + target, encoded together (as open-unlearning
 * does, so that the tokenizer sees the real boundary), and the loss mask covers every
 * position from the end of the prompt's own encoding: the answer and its end token.
 */
#ifndef BALDRO_DATA_CHAT_TEMPLATE_H
#define BALDRO_DATA_CHAT_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"
#include "util/error.h"

typedef enum baldro_template_kind {
    BALDRO_TPL_PLAIN,  /* "Question: q\nAnswer: a"                                        */
    BALDRO_TPL_LLAMA2, /* "[INST] q [/INST]" + a + </s>                                   */
    BALDRO_TPL_LLAMA3, /* system prompt with the date string, header ids, a<|eot_id|>     */
    BALDRO_TPL_QWEN3,  /* <|im_start|> turns, empty think block (non-thinking), <|im_end|>  */
    BALDRO_TPL_MISTRAL /* "[INST] q[/INST]" + a + </s> (v0.3)                              */
} baldro_template_kind;

/* "plain", "llama2", "llama3", "qwen3", "mistral" -> kind; -1 if unknown. */
int baldro_template_parse(const char *name);
const char *baldro_template_name(int kind);

/* Prompt and target strings (g_free both). The prompt includes the BOS text where the
 * family's template writes it (Llama-3's "<|begin_of_text|>"); for families whose BOS is
 * added by the tokenizer (Llama-2, Mistral) `*add_bos` is set instead. */
int baldro_template_format(int kind, const char *question, const char *answer, char **prompt,
                           char **target, int *add_bos, baldro_error *err);

/* ids of prompt + target and the loss mask (1 on target positions). The end token is part
 * of the target text (Llama-3, Qwen3) or appended as the tokenizer's eos id (Llama-2,
 * Mistral, plain). g_free(*ids), g_free(*mask). */
int baldro_template_encode(const baldro_tokenizer *tok, int kind, const char *question,
                           const char *answer, int32_t **ids, uint8_t **mask, size_t *n,
                           baldro_error *err);

#endif /* BALDRO_DATA_CHAT_TEMPLATE_H */
