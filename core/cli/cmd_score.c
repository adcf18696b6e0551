/* core/cli/cmd_score.c: `baldro-host score`, an item's answer as the TOFU metrics score it.
 *
 *   baldro-host score --model PATH [--tokenizer PATH] [--template NAME]
 *                     (--question Q --answer A | --ids LIST --loss-from K | --input FILE)
 *                     [--json] [--max-length N] [--batch N] [--backend NAME]
 *
 * Items are encoded as tokenize shows them (cli_items.h), cut to --max-length tokens as
 * data.max_length cuts them, and scored by the evaluator's own pass
 * (baldro_eval_score_tokens): per answer token log p(token | prefix) under teacher
 * forcing, their sum, their count |A| and the length-normalised probability
 * exp(-NLL / |A|) that TOFU's Q_A_Prob averages. The vocabulary is read only for
 * question/answer items; every item is encoded before the weights are loaded. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_items.h"
#include "engine/model_open.h"
#include "eval/evaluator.h"

/* Appends a double that reads back exactly, or null. */
static void json_double(GString *s, double x) {
    if (isfinite(x)) g_string_append_printf(s, "%.17g", x);
    else g_string_append(s, "null");
}

/* Item i of the dataset with its scores: the answer tokens (ids at positions >= 1 whose
 * mask is set, in order, as baldro_eval_score_tokens lists them). */
static void print_json(size_t line, const baldro_tok_dataset *ds, size_t i, int truncated,
                       const baldro_item_scores *sc) {
    const int32_t *ids = ds->ids + ds->off[i];
    const uint8_t *mask = ds->mask + ds->off[i];
    size_t n = baldro_tok_dataset_len(ds, i), k = (size_t)sc->n_tokens[i];
    const float *lp = sc->tok_logp + sc->tok_off[i];
    const uint8_t *top1 = sc->tok_top1 + sc->tok_off[i];
    GString *s = g_string_new("{");
    if (line) g_string_append_printf(s, "\"line\":%zu,", line);
    g_string_append(s, "\"ids\":");
    cli_json_ids(s, ids, n);
    g_string_append(s, ",\"target_ids\":[");
    for (size_t j = 1, c = 0; j < n; j++)
        if (mask[j]) g_string_append_printf(s, c++ ? ",%d" : "%d", (int)ids[j]);
    g_string_append(s, "],\"logprobs\":[");
    for (size_t j = 0; j < k; j++) g_string_append_printf(s, j ? ",%.9g" : "%.9g", lp[j]);
    g_string_append(s, "],\"greedy\":");
    cli_json_mask(s, top1, k);
    double nll = sc->nll[i];
    g_string_append_printf(s, ",\"n_tokens\":%zu,\"sum_logprob\":", k);
    json_double(s, k ? -nll : NAN);
    g_string_append(s, ",\"avg_loss\":");
    json_double(s, k ? nll / (double)k : NAN);
    g_string_append(s, ",\"prob\":");
    json_double(s, k ? exp(-nll / (double)k) : NAN);
    g_string_append_printf(s, ",\"truncated\":%s}\n", truncated ? "true" : "false");
    fwrite(s->str, 1, s->len, stdout);
    g_string_free(s, TRUE);
}

static void print_plain(const cli_vocab *v, const baldro_tok_dataset *ds, size_t i,
                        int truncated, const baldro_item_scores *sc) {
    const int32_t *ids = ds->ids + ds->off[i];
    const uint8_t *mask = ds->mask + ds->off[i];
    size_t n = baldro_tok_dataset_len(ds, i), k = (size_t)sc->n_tokens[i];
    const float *lp = sc->tok_logp + sc->tok_off[i];
    const uint8_t *top1 = sc->tok_top1 + sc->tok_off[i];
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "tokens: %zu%s, %zu scored (greedy hits marked *)\n", n,
                           truncated ? " (cut to --max-length)" : "", k);
    g_string_append(s, "  pos       id        logprob  greedy  token\n");
    for (size_t j = 1, c = 0; j < n; j++) {
        if (!mask[j]) continue;
        g_string_append_printf(s, "%5zu %8d %14.7f  %6s  ", j, (int)ids[j], lp[c],
                               top1[c] ? "*" : "");
        size_t len;
        const char *t = cli_vocab_token(v, ids[j], &len);
        if (t) cli_show_token(s, t, len);
        g_string_append_c(s, '\n');
        c++;
    }
    double nll = sc->nll[i];
    if (k)
        g_string_append_printf(s, "sum_logprob %.9g  n_tokens %zu  avg_loss %.9g  prob %.9g\n",
                               -nll, k, nll / (double)k, exp(-nll / (double)k));
    else
        g_string_append(s, "no answer token (cut by --max-length?): nothing scored\n");
    fwrite(s->str, 1, s->len, stdout);
    g_string_free(s, TRUE);
}

int cmd_score(baldro_cli *cli, int argc, char **argv) {
    char *model = NULL, *tok_path = NULL, *tpl_name = NULL, *question = NULL, *answer = NULL,
         *ids_opt = NULL, *input = NULL, *backend = NULL;
    gint64 loss_from = -1;
    gint max_length = 512, batch = 16, device = 0;
    gboolean json = FALSE;
    /* Text options are G_OPTION_ARG_FILENAME: the bytes as given. ARG_STRING converts from
     * the locale's charset and refuses UTF-8 text under LANG=C. */
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "HF model directory, llama2.c checkpoint (.bin) or GGUF file", "PATH"},
        {"tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tok_path,
         "tokenizer.json, or a llama2.c tokenizer .bin (default: the model's own)", "PATH"},
        {"template", 0, 0, G_OPTION_ARG_STRING, &tpl_name,
         "auto (default: the tokenizer's chat template, plain without one, as evaluation), "
         "none, plain, llama2, llama3, qwen3, mistral", "NAME"},
        {"question", 'q', 0, G_OPTION_ARG_FILENAME, &question, "The question", "Q"},
        {"answer", 'a', 0, G_OPTION_ARG_FILENAME, &answer, "The answer to score", "A"},
        {"ids", 0, 0, G_OPTION_ARG_STRING, &ids_opt,
         "Token ids, comma or space separated (no template, no tokenizer)", "LIST"},
        {"loss-from", 0, 0, G_OPTION_ARG_INT64, &loss_from,
         "With --ids: the first position scored (>= 1)", "K"},
        {"input", 'i', 0, G_OPTION_ARG_FILENAME, &input,
         "JSON Lines (question/answer, or ids/loss_from, per line; - for stdin); JSON Lines "
         "out", "FILE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object instead of the table", NULL},
        {"max-length", 0, 0, G_OPTION_ARG_INT, &max_length,
         "Cut each item to its first N tokens, as data.max_length (default 512)", "N"},
        {"batch", 0, 0, G_OPTION_ARG_INT, &batch, "Items per forward pass (default 16)", "N"},
        {"backend", 0, 0, G_OPTION_ARG_STRING, &backend,
         "cpu (default), cuda, or auto (cuda when a device is there)", "NAME"},
        {"device", 0, 0, G_OPTION_ARG_INT, &device, "CUDA device index (default 0)", "N"},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- answer-token log-probs as the TOFU metrics "
                                               "use them");
    g_option_context_add_main_entries(ctx, entries, NULL);
    int ok = cli_parse(ctx, &argc, &argv, "score");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    cli_vocab v = {0};
    cli_item *items = NULL, one = {0};
    size_t n_items = 0, n_bad = 0, n_good = 0;
    cli_encoded *enc = NULL;
    size_t *lines = NULL;
    baldro_tok_dataset *ds = NULL;
    uint8_t *cut = NULL;
    baldro_item_scores sc = {0};
    baldro_backend *be = NULL;
    baldro_model *m = NULL;
    baldro_error err = {0};
    if (!ok) goto done;
    int n_modes = (question || answer) + (ids_opt != NULL) + (input != NULL);
    if (!model || n_modes != 1 || (!question) != (!answer) || (ids_opt && loss_from < 0) ||
        (!ids_opt && loss_from >= 0)) {
        cli_error("score: give --model and one of --question with --answer, --ids with "
                  "--loss-from, or --input");
        goto done;
    }
    if (max_length < 2 || batch < 1 || batch > 4096) {
        cli_error("score: --max-length must be >= 2 and --batch in [1, 4096]");
        goto done;
    }
    if (cli_template_name_ok(tpl_name)) {
        cli_error("score: --template: '%s' is not one of auto, none, plain, llama2, llama3, "
                  "qwen3, mistral", tpl_name);
        goto done;
    }
    if (input) {
        rc = BALDRO_EXIT_FAILED;
        if (cli_items_read(input, CLI_ITEM_QA | CLI_ITEM_IDS, &items, &n_items, &n_bad, &err)) {
            cli_error("score: %s", err.msg);
            goto done;
        }
    } else {
        one.kind = ids_opt ? CLI_ITEM_IDS : CLI_ITEM_QA;
        one.question = g_strdup(question);
        one.answer = g_strdup(answer);
        one.loss_from = loss_from;
        if (ids_opt && cli_parse_ids(ids_opt, "--ids", &one.ids, &one.n_ids, &err)) {
            cli_error("score: %s", err.msg);
            goto done;
        }
        items = &one;
        n_items = 1;
    }
    rc = BALDRO_EXIT_FAILED;
    if (!g_file_test(model, G_FILE_TEST_EXISTS)) {
        cli_error("score: %s: no such file or directory", model);
        goto done;
    }
    /* the vocabulary only when some item has text to encode */
    int kind = CLI_TPL_NONE;
    const char *how = "";
    int need_vocab = 0;
    for (size_t i = 0; i < n_items; i++) need_vocab |= items[i].kind != CLI_ITEM_IDS;
    if (need_vocab && (cli_vocab_open(model, tok_path, &v, &err) ||
                       cli_template_pick(tpl_name, &v, &kind, &how, &err))) {
        cli_error("score: %s", err.msg);
        if (err.code == BALDRO_EINVAL && strstr(err.msg, "--template")) rc = BALDRO_EXIT_USAGE;
        goto done;
    }
    const char *src = input && strcmp(input, "-") ? input : "stdin";
    enc = g_new0(cli_encoded, n_items ? n_items : 1);
    lines = g_new0(size_t, n_items ? n_items : 1);
    for (size_t i = 0; i < n_items; i++) {
        cli_encoded *e = &enc[n_good];
        int erc = cli_item_encode(&v, kind, &items[i], e, &err);
        if (!erc && e->n < 2)
            erc = baldro_error_set(&err, BALDRO_EINVAL, "%s: %zu token(s); scoring needs 2",
                                   items[i].kind == CLI_ITEM_IDS ? "ids" : "answer", e->n);
        if (erc) {
            if (input) cli_error("%s:%zu: %s", src, items[i].line, err.msg);
            else cli_error("score: %s", err.msg);
            cli_encoded_clear(e);
            n_bad++;
            continue;
        }
        lines[n_good++] = input ? items[i].line : 0;
    }
    if (n_good == 0) {
        if (!n_bad) cli_error("score: %s: no items", src);
        goto done;
    }
    /* the model is sized for the longest item after the cut */
    size_t longest = 2;
    for (size_t i = 0; i < n_good; i++) longest = MAX(longest, MIN(enc[i].n, (size_t)max_length));
    cli_load_plugins(cli, 1);
    const baldro_ops *ops;
    int32_t B = (int32_t)MIN((size_t)batch, n_good);
    baldro_model_limits lim = {.max_batch = B, .max_seq = (int32_t)longest - 1};
    if (cli_open_backend_named("--backend", backend ? backend : "cpu", device, &be, &ops,
                               &err) ||
        baldro_model_open_path(baldro_loader_registry(cli->loader), ops, be, model, lim, &m,
                               &err)) {
        cli_error("score: %s", err.msg);
        goto done;
    }
    /* an id the model has no row for would index past its embedding: that item is left out */
    int32_t V = baldro_model_get_info(m)->vocab_size;
    size_t kept = 0;
    for (size_t i = 0; i < n_good; i++) {
        size_t j = 0;
        while (j < enc[i].n && enc[i].ids[j] >= 0 && enc[i].ids[j] < V) j++;
        if (j < enc[i].n) {
            if (lines[i]) cli_error("%s:%zu: ids: %d is not below the model's vocab_size %d",
                                    src, lines[i], (int)enc[i].ids[j], (int)V);
            else cli_error("score: ids: %d is not below the model's vocab_size %d",
                           (int)enc[i].ids[j], (int)V);
            cli_encoded_clear(&enc[i]);
            n_bad++;
            continue;
        }
        enc[kept] = enc[i];
        lines[kept++] = lines[i];
    }
    for (size_t i = kept; i < n_good; i++) memset(&enc[i], 0, sizeof enc[i]);
    n_good = kept;
    if (n_good == 0) goto done;
    int32_t pad = v.hf ? baldro_tok_pad(v.hf) : -1;
    if (pad < 0 && v.hf) pad = baldro_tok_eos(v.hf);
    if (cli_items_dataset(enc, n_good, (size_t)max_length, pad < 0 ? 0 : pad, &ds, &cut, &err)) {
        cli_error("score: %s", err.msg);
        goto done;
    }
    if (baldro_eval_score_tokens(m, ds, B, &sc, &err)) {
        cli_error("score: %s", err.msg);
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++) {
        if (input || json) print_json(lines[i], ds, i, cut[i], &sc);
        else print_plain(&v, ds, i, cut[i], &sc);
    }
    fflush(stdout);
    if (!input && !json && need_vocab)
        fprintf(stderr, "score: template %s%s%s\n", cli_template_label(kind), *how ? " - " : "",
                how);
    rc = n_bad ? BALDRO_EXIT_FAILED : BALDRO_EXIT_OK;
done:
    baldro_item_scores_clear(&sc);
    baldro_model_close(m);
    baldro_backend_close(be);
    baldro_tok_dataset_free(ds);
    g_free(cut);
    for (size_t i = 0; enc && i < n_good; i++) cli_encoded_clear(&enc[i]);
    g_free(enc);
    g_free(lines);
    if (items && items != &one) {
        for (size_t i = 0; i < n_items; i++) cli_item_clear(&items[i]);
        g_free(items);
    }
    cli_item_clear(&one);
    cli_vocab_close(&v);
    g_free(model);
    g_free(tok_path);
    g_free(tpl_name);
    g_free(question);
    g_free(answer);
    g_free(ids_opt);
    g_free(input);
    g_free(backend);
    return rc;
}
