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
    BALDRO_TPL_LLAMA2, /* "[INST] q [/INST]" + a + </s> (open-unlearning's tags)            */
    BALDRO_TPL_LLAMA3, /* system prompt with the date string, header ids, a<|eot_id|>     */
    BALDRO_TPL_QWEN3,  /* <|im_start|> turns, empty think block (non-thinking), <|im_end|>  */
    BALDRO_TPL_MISTRAL /* "<s>[INST] q[/INST]" + " a</s>" (v0.3)                            */
} baldro_template_kind;

/* "plain", "llama2", "llama3", "qwen3", "mistral" -> kind; -1 if unknown. */
int baldro_template_parse(const char *name);
const char *baldro_template_name(int kind);

/* Prompt and target strings (g_free both). The chat families (llama3, qwen3, mistral)
 * write BOS and the end token as text, as their Jinja templates do; for open-unlearning's
 * tag templates (llama2, plain) `*add_bos` is set instead: the tokenizer adds BOS, and
 * encode appends eos. */
int baldro_template_format(int kind, const char *question, const char *answer, char **prompt,
                           char **target, int *add_bos, baldro_error *err);

/* The family of a Jinja chat template, by its markers (<|start_header_id|> -> llama3;
 * <|im_start|> with <think> -> qwen3; " [/INST]" -> llama2; "[/INST]" -> mistral), or -1. */
int baldro_template_detect(const char *jinja);

/* model.template -> kind. "auto" (or NULL) reads the tokenizer's chat template
 * (baldro_template_detect); no template at all means a base model: plain. *how says
 * which path was taken, for the log. `where` names the config in errors. */
int baldro_template_resolve(const char *name, const baldro_tokenizer *tok, const char *where,
                            int *kind, const char **how, baldro_error *err);

/* ids of prompt + target and the loss mask (1 on target positions), as open-unlearning
 * builds them: prompt + target encoded together, the mask starting after the prompt's own
 * encoding. The end token is part of the target text (llama3, qwen3, mistral) or appended
 * as the tokenizer's eos id (llama2, plain). g_free(*ids), g_free(*mask). */
int baldro_template_encode(const baldro_tokenizer *tok, int kind, const char *question,
                           const char *answer, int32_t **ids, uint8_t **mask, size_t *n,
                           baldro_error *err);

/* The prompt alone, as generation sees it (open-unlearning's predict_with_generate):
 * the same BOS handling as baldro_template_encode. g_free(*ids). */
int baldro_template_encode_prompt(const baldro_tokenizer *tok, int kind, const char *question,
                                  int32_t **ids, size_t *n, baldro_error *err);

/* The id that ends an answer in this template (<|eot_id|>, <|im_end|>, else eos), or -1. */
int32_t baldro_template_end_token(const baldro_tokenizer *tok, int kind);

#endif /* BALDRO_DATA_CHAT_TEMPLATE_H */
