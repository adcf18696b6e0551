/* core/data/chat_template.c: see chat_template.h. Strings from the formula sheet
 * (../shared/reference/unlearning-formulas.md, "Prompt templates"), checked against
 * transformers' apply_chat_template with each family's official template
 * (tests/oracle/template_oracle.py, tests/unit/test_chat_template.c). */
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

/* Jinja's `trim` (Python's str.strip()) on ASCII whitespace; g_free the result. */
static char *trimmed(const char *s) {
    return g_strstrip(g_strdup(s));
}

int baldro_template_format(int kind, const char *q, const char *a, char **prompt, char **target,
                           int *add_bos, baldro_error *err) {
    *prompt = *target = NULL;
    *add_bos = 0;
    char *tq = NULL, *ta = NULL;
    switch (kind) {
    case BALDRO_TPL_PLAIN: /* open-unlearning's non-chat tags: no trimming */
        *prompt = g_strdup_printf("Question: %s\nAnswer: ", q);
        *target = g_strdup(a);
        *add_bos = 1;
        break;
    case BALDRO_TPL_LLAMA2: /* open-unlearning's tags, not HF's Llama-2 template */
        *prompt = g_strdup_printf("[INST] %s [/INST]", q);
        *target = g_strdup(a);
        *add_bos = 1;
        break;
    case BALDRO_TPL_LLAMA3: /* Llama-3.2's template trims every message */
        tq = trimmed(q), ta = trimmed(a);
        *prompt = g_strdup_printf(LLAMA3_HEAD "%s" LLAMA3_TAIL, tq);
        *target = g_strdup_printf("%s<|eot_id|>", ta);
        break;
    case BALDRO_TPL_QWEN3:
        /* apply_chat_template writes "<|im_end|>\n" after the answer; the newline only
         * separates turns, so the target stops at the end token the model emits. */
        *prompt = g_strdup_printf("<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n"
                                  "<think>\n\n</think>\n\n", q);
        while (*a == '\n') a++; /* the template's content.lstrip('\n') */
        *target = g_strdup_printf("%s<|im_end|>", a);
        break;
    case BALDRO_TPL_MISTRAL:
        /* v0.3: the question as is, the answer trimmed after a space. BOS and EOS are
         * written as text, as the template does: after "<s>" the tokenizer does not add
         * SentencePiece's leading-space marker, so encoding "<s>[INST]..." is not the
         * same as BOS + encoding "[INST]...". */
        ta = trimmed(a);
        *prompt = g_strdup_printf("<s>[INST] %s[/INST]", q);
        *target = g_strdup_printf(" %s</s>", ta);
        break;
    default:
        return baldro_error_set(err, BALDRO_EINVAL,
                                "model.template: %d is not a template (plain, llama2, llama3, "
                                "qwen3, mistral)", kind);
    }
    g_free(tq);
    g_free(ta);
    return BALDRO_OK;
}

int baldro_template_detect(const char *jinja) {
    if (!jinja) return -1;
    if (strstr(jinja, "<|start_header_id|>")) return BALDRO_TPL_LLAMA3;
    if (strstr(jinja, "<|im_start|>")) return strstr(jinja, "<think>") ? BALDRO_TPL_QWEN3 : -1;
    if (strstr(jinja, "[/INST]")) return strstr(jinja, " [/INST]") ? BALDRO_TPL_LLAMA2
                                                                    : BALDRO_TPL_MISTRAL;
    return -1;
}

int baldro_template_resolve(const char *name, const baldro_tokenizer *tok, const char *where,
                            int *kind, const char **how, baldro_error *err) {
    *how = "named in the config";
    if (name && strcmp(name, "auto") != 0) {
        *kind = baldro_template_parse(name);
        if (*kind < 0)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: model.template: '%s' is not one of auto, plain, llama2, "
                                    "llama3, qwen3, mistral", where, name);
        return BALDRO_OK;
    }
    const char *jinja = baldro_tok_chat_template(tok);
    if (!jinja) {
        *kind = BALDRO_TPL_PLAIN;
        *how = "auto: the tokenizer has no chat template, so a base model";
        return BALDRO_OK;
    }
    *kind = baldro_template_detect(jinja);
    if (*kind < 0)
        return baldro_error_set(err, BALDRO_EUNSUPPORTED,
                                "%s: model.template: auto cannot tell the family of the "
                                "tokenizer's chat template; set one of plain, llama2, llama3, "
                                "qwen3, mistral", where);
    *how = "auto: from the tokenizer's chat template";
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
    /* The end token: written in the target text for Llama-3, Qwen3 and Mistral, appended
     * here as the tokenizer's eos for open-unlearning's tag templates (llama2, plain). */
    int append_eos = kind == BALDRO_TPL_LLAMA2 || kind == BALDRO_TPL_PLAIN;
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

int baldro_template_encode_prompt(const baldro_tokenizer *tok, int kind, const char *question,
                                  int32_t **ids, size_t *n, baldro_error *err) {
    *ids = NULL;
    *n = 0;
    char *prompt, *target;
    int add_bos;
    int rc = baldro_template_format(kind, question, "", &prompt, &target, &add_bos, err);
    if (rc) return rc;
    int32_t *p = NULL;
    size_t np = 0;
    rc = baldro_tok_encode(tok, prompt, strlen(prompt), add_bos, &p, &np, err);
    int32_t bos = baldro_tok_bos(tok);
    if (!rc && add_bos && bos >= 0 && !(np > 0 && p[0] == bos)) {
        p = g_renew(int32_t, p, np + 1);
        memmove(p + 1, p, np * sizeof *p);
        p[0] = bos;
        np++;
    }
    if (!rc) *ids = p, *n = np;
    else g_free(p);
    g_free(prompt);
    g_free(target);
    return rc;
}

int32_t baldro_template_end_token(const baldro_tokenizer *tok, int kind) {
    switch (kind) {
    case BALDRO_TPL_LLAMA3: return baldro_tok_token_id(tok, "<|eot_id|>");
    case BALDRO_TPL_QWEN3: return baldro_tok_token_id(tok, "<|im_end|>");
    default: return baldro_tok_eos(tok);
    }
}
