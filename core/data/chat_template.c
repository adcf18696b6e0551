/* core/data/chat_template.c: see chat_template.h. Strings from the formula sheet
 * (../shared/reference/unlearning-formulas.md, "Prompt templates"). */
#include "data/chat_template.h"

#include <glib.h>
#include <string.h>

static const char *const k_names[] = {"plain", "llama2", "llama3", "qwen3", "mistral", NULL};

int baldro_template_parse(const char *name) {
    for (int i = 0; k_names[i]; i++)
        if (name && !strcmp(name, k_names[i])) return i;
    return -1;
}

const char *baldro_template_name(int kind) {
    return kind >= 0 && kind <= BALDRO_TPL_MISTRAL ? k_names[kind] : "?";
}

/* Llama-3.x Instruct as open-unlearning renders it: fixed system prompt and date string. */
#define LLAMA3_HEAD                                                                        \
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"                      \
    "Cutting Knowledge Date: December 2023\nToday Date: 10 Apr 2025\n\n"                   \
    "You are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
#define LLAMA3_TAIL "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"

int baldro_template_format(int kind, const char *q, const char *a, char **prompt, char **target,
                           int *add_bos, baldro_error *err) {
    *prompt = *target = NULL;
    *add_bos = 0;
    switch (kind) {
    case BALDRO_TPL_PLAIN:
        *prompt = g_strdup_printf("Question: %s\nAnswer: ", q);
        *target = g_strdup(a);
        *add_bos = 1;
        break;
    case BALDRO_TPL_LLAMA2:
        *prompt = g_strdup_printf("[INST] %s [/INST]", q);
        *target = g_strdup(a);
        *add_bos = 1;
        break;
    case BALDRO_TPL_LLAMA3:
        *prompt = g_strdup_printf(LLAMA3_HEAD "%s" LLAMA3_TAIL, q);
        *target = g_strdup_printf("%s<|eot_id|>", a);
        break;
    case BALDRO_TPL_QWEN3:
        *prompt = g_strdup_printf("<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n"
                                  "<think>\n\n</think>\n\n", q);
        *target = g_strdup_printf("%s<|im_end|>", a);
        break;
    case BALDRO_TPL_MISTRAL:
        *prompt = g_strdup_printf("[INST] %s[/INST]", q);
        *target = g_strdup(a);
        *add_bos = 1;
        break;
    default:
        return baldro_error_set(err, BALDRO_EINVAL,
                                "model.template: %d is not a template (plain, llama2, llama3, "
                                "qwen3, mistral)", kind);
    }
    return BALDRO_OK;
}

int baldro_template_encode(const baldro_tokenizer *tok, int kind, const char *q, const char *a,
                           int32_t **ids, uint8_t **mask, size_t *n, baldro_error *err) {
    *ids = NULL;
    *mask = NULL;
    *n = 0;
    char *prompt, *target;
    int add_bos;
    int rc = baldro_template_format(kind, q, a, &prompt, &target, &add_bos, err);
    if (rc) return rc;
    char *full = g_strconcat(prompt, target, NULL);
    int32_t *pids = NULL, *fids = NULL;
    size_t np = 0, nf = 0;
    rc = baldro_tok_encode(tok, prompt, strlen(prompt), add_bos, &pids, &np, err);
    if (!rc) rc = baldro_tok_encode(tok, full, strlen(full), add_bos, &fids, &nf, err);
    /* The end token: written in the target text for Llama-3 and Qwen3, appended here as
     * the tokenizer's eos for the families whose templates end with it implicitly. */
    int append_eos = kind == BALDRO_TPL_LLAMA2 || kind == BALDRO_TPL_MISTRAL ||
                     kind == BALDRO_TPL_PLAIN;
    if (!rc && append_eos && baldro_tok_eos(tok) < 0)
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "template %s needs an end token but the tokenizer has no eos",
                              baldro_template_name(kind));
    /* Families whose BOS comes from the tokenizer: HF's converted Llama-2 tokenizer.json
     * adds none itself (transformers adds it in Python), so it is prepended here. */
    int32_t bos = baldro_tok_bos(tok);
    int prepend = !rc && add_bos && bos >= 0 && !(nf > 0 && fids[0] == bos);
    if (!rc && np > nf)
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "template %s: the prompt alone encodes to more tokens than prompt "
                              "+ answer", baldro_template_name(kind));
    if (!rc) {
        size_t off = prepend ? 1 : 0, total = off + nf + (append_eos ? 1 : 0);
        *ids = g_new(int32_t, total);
        *mask = g_new0(uint8_t, total);
        if (prepend) (*ids)[0] = bos;
        memcpy(*ids + off, fids, nf * sizeof(int32_t));
        if (append_eos) (*ids)[off + nf] = baldro_tok_eos(tok);
        for (size_t i = off + np; i < total; i++) (*mask)[i] = 1;
        *n = total;
    }
    g_free(pids);
    g_free(fids);
    g_free(full);
    g_free(prompt);
    g_free(target);
    return rc;
}
