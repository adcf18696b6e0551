/* core/cli/cmd_tokenize.c: `baldro-host tokenize`, what one item looks like to the model:
 * its token ids, each token's text and which positions carry loss.
 *
 *   baldro-host tokenize (--tokenizer PATH | --model PATH) [--template NAME]
 *                        (--question Q --answer A | --text T | --input FILE) [--json]
 *
 * Question/answer items go through the chat template exactly as training and evaluation
 * build them (cli_items.h); text items are encoded as is. Only the vocabulary is read:
 * no weights, no plugins. docs/inspect.md describes the output. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_items.h"

/* One item as a JSON object on one line (line > 0: from --input, carries "line"). */
static void print_json(const cli_vocab *v, int kind, size_t line, const cli_encoded *e) {
    GString *s = g_string_new("{");
    if (line) g_string_append_printf(s, "\"line\":%zu,", line);
    g_string_append(s, "\"template\":");
    cli_json_string(s, cli_template_label(kind), strlen(cli_template_label(kind)));
    g_string_append(s, ",\"text\":");
    cli_json_string(s, e->encoded, strlen(e->encoded));
    g_string_append(s, ",\"ids\":");
    cli_json_ids(s, e->ids, e->n);
    g_string_append(s, ",\"tokens\":[");
    for (size_t i = 0; i < e->n; i++) {
        size_t len;
        const char *t = cli_vocab_token(v, e->ids[i], &len);
        if (i) g_string_append_c(s, ',');
        if (t) cli_json_string(s, t, len);
        else g_string_append(s, "null");
    }
    g_string_append(s, "],\"loss_mask\":");
    cli_json_mask(s, e->mask, e->n);
    size_t n_loss = 0;
    for (size_t i = 0; i < e->n; i++) n_loss += e->mask[i] != 0;
    g_string_append_printf(s, ",\"n_tokens\":%zu,\"n_loss\":%zu}\n", e->n, n_loss);
    fwrite(s->str, 1, s->len, stdout);
    g_string_free(s, TRUE);
}

/* One item as a table: position, id, loss marker, token text (escaped). */
static void print_plain(const cli_vocab *v, int kind, const char *how, const cli_encoded *e) {
    GString *s = g_string_new("text: ");
    cli_show_token(s, e->encoded, strlen(e->encoded));
    size_t n_loss = 0;
    for (size_t i = 0; i < e->n; i++) n_loss += e->mask[i] != 0;
    g_string_append_printf(s, "\ntemplate: %s%s%s\ntokens: %zu, %zu with loss (*)\n",
                           cli_template_label(kind), *how ? " - " : "", how, e->n, n_loss);
    g_string_append(s, "  pos       id  loss  token\n");
    for (size_t i = 0; i < e->n; i++) {
        size_t len;
        const char *t = cli_vocab_token(v, e->ids[i], &len);
        g_string_append_printf(s, "%5zu %8d  %4s  ", i, (int)e->ids[i], e->mask[i] ? "*" : "");
        if (t) cli_show_token(s, t, len);
        else g_string_append(s, "(not in the vocabulary)");
        g_string_append_c(s, '\n');
    }
    fwrite(s->str, 1, s->len, stdout);
    g_string_free(s, TRUE);
}

int cmd_tokenize(baldro_cli *cli, int argc, char **argv) {
    (void)cli;
    char *tok_path = NULL, *model = NULL, *tpl_name = NULL, *question = NULL, *answer = NULL,
         *text = NULL, *input = NULL;
    gboolean json = FALSE;
    /* Text options are G_OPTION_ARG_FILENAME: the bytes as given. ARG_STRING converts from
     * the locale's charset and refuses UTF-8 text under LANG=C. */
    GOptionEntry entries[] = {
        {"tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tok_path,
         "tokenizer.json (or its directory), a llama2.c tokenizer .bin or a .gguf", "PATH"},
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "Take the model's own vocabulary (HF directory or .gguf); no weights are read",
         "PATH"},
        {"template", 0, 0, G_OPTION_ARG_STRING, &tpl_name,
         "For question/answer items: auto (default: the tokenizer's chat template, plain "
         "without one, as training), none, plain, llama2, llama3, qwen3, mistral", "NAME"},
        {"question", 'q', 0, G_OPTION_ARG_FILENAME, &question, "The question", "Q"},
        {"answer", 'a', 0, G_OPTION_ARG_FILENAME, &answer, "The answer (carries the loss)", "A"},
        {"text", 0, 0, G_OPTION_ARG_FILENAME, &text, "A text, encoded as is", "T"},
        {"input", 'i', 0, G_OPTION_ARG_FILENAME, &input,
         "JSON Lines (question/answer or text per line; - for stdin); JSON Lines out",
         "FILE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object instead of the table", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- token ids, token texts and loss mask");
    g_option_context_add_main_entries(ctx, entries, NULL);
    int ok = cli_parse(ctx, &argc, &argv, "tokenize");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    cli_vocab v = {0};
    cli_item *items = NULL, one = {0};
    size_t n_items = 0, n_bad = 0;
    baldro_error err = {0};
    if (!ok) goto done;
    int n_modes = (question || answer) + (text != NULL) + (input != NULL);
    if (n_modes != 1 || (!question) != (!answer)) {
        cli_error("tokenize: give --question and --answer, or --text, or --input");
        goto done;
    }
    if (!tok_path == !model) {
        cli_error("tokenize: name the vocabulary with --tokenizer or --model (one of them)");
        goto done;
    }
    if (cli_template_name_ok(tpl_name)) {
        cli_error("tokenize: --template: '%s' is not one of auto, none, plain, llama2, llama3, "
                  "qwen3, mistral", tpl_name);
        goto done;
    }
    if (text && tpl_name && strcmp(tpl_name, "none") && strcmp(tpl_name, "auto")) {
        cli_error("tokenize: --text is encoded as is; a template applies to --question and "
                  "--answer");
        goto done;
    }
    rc = BALDRO_EXIT_FAILED;
    if (cli_vocab_open(model, tok_path, &v, &err)) {
        cli_error("tokenize: %s", err.msg);
        goto done;
    }
    int kind;
    const char *how;
    if (cli_template_pick(tpl_name, &v, &kind, &how, &err)) {
        cli_error("tokenize: %s", err.msg);
        rc = err.code == BALDRO_EINVAL ? BALDRO_EXIT_USAGE : BALDRO_EXIT_FAILED;
        goto done;
    }
    if (input) {
        if (cli_items_read(input, CLI_ITEM_QA | CLI_ITEM_TEXT, &items, &n_items, &n_bad, &err)) {
            cli_error("tokenize: %s", err.msg);
            goto done;
        }
    } else {
        one.kind = text ? CLI_ITEM_TEXT : CLI_ITEM_QA;
        one.text = g_strdup(text);
        one.question = g_strdup(question);
        one.answer = g_strdup(answer);
        items = &one;
        n_items = 1;
    }
    const char *src = input && strcmp(input, "-") ? input : "stdin";
    for (size_t i = 0; i < n_items; i++) {
        cli_encoded e;
        int k = items[i].kind == CLI_ITEM_TEXT ? CLI_TPL_NONE : kind;
        if (cli_item_encode(&v, k, &items[i], &e, &err)) {
            if (input) cli_error("%s:%zu: %s", src, items[i].line, err.msg);
            else cli_error("tokenize: %s", err.msg);
            n_bad++;
            continue;
        }
        if (input || json) print_json(&v, k, items[i].line, &e);
        else print_plain(&v, k, items[i].kind == CLI_ITEM_TEXT ? "" : how, &e);
        cli_encoded_clear(&e);
    }
    fflush(stdout);
    rc = n_bad ? BALDRO_EXIT_FAILED : BALDRO_EXIT_OK;
done:
    if (items && items != &one) {
        for (size_t i = 0; i < n_items; i++) cli_item_clear(&items[i]);
        g_free(items);
    }
    cli_item_clear(&one);
    cli_vocab_close(&v);
    g_free(tok_path);
    g_free(model);
    g_free(tpl_name);
    g_free(question);
    g_free(answer);
    g_free(text);
    g_free(input);
    return rc;
}
