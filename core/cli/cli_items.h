/*
 * core/cli/cli_items.h: what the inspection commands (tokenize, score, generate --json)
 * share: a checkpoint's vocabulary, the template choice, items from the command line or a
 * JSON Lines file, their encoding as training and evaluation see it, and JSON output.
 *
 * An item is a question/answer pair, a text, or a list of ids with the position the loss
 * starts at. Encoding (cli_item_encode):
 *   question/answer, template T  baldro_template_encode: the ids and loss mask that
 *                                 training and evaluation build (data/chat_template.h);
 *   question/answer, no template  question + answer encoded together as text (BOS as the
 *                                 tokenizer adds it, no end token), the loss from the end
 *                                 of the question's own encoding: the template rule
 *                                 without the template;
 *   text                          the text as is (BOS as the tokenizer adds it), no loss;
 *   ids, loss_from K              the ids as given, loss on positions K and after.
 * A JSON Lines input (--input FILE, "-" for stdin) has one object a line with the fields
 * question and answer, text, or ids and loss_from (other fields are ignored, so TOFU split
 * files can be read directly). A bad line is reported on stderr as
 *   baldro-host: FILE:LINE: FIELD: REASON
 * and skipped; the command goes on with the others and exits 1 at the end.
 */
#ifndef BALDRO_CORE_CLI_ITEMS_H
#define BALDRO_CORE_CLI_ITEMS_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "data/batch.h"
#include "io/llama2c.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

/* A checkpoint's text side: an HF tokenizer.json, or a llama2.c vocabulary (from a
 * tokenizer .bin or a GGUF file). At most one is set; neither when none was needed. */
typedef struct cli_vocab {
    baldro_tokenizer *hf;
    baldro_l2c_tokenizer *l2c;
} cli_vocab;

/* `tok_path` (tokenizer.json or a llama2.c tokenizer .bin) when given, else the model's
 * own: <dir>/tokenizer.json for an HF directory, the vocabulary inside a .gguf. A llama2.c
 * checkpoint carries none (an error asking for --tokenizer). `model` may be NULL when
 * `tok_path` is given. BALDRO_ENOTFOUND for a missing path. */
int cli_vocab_open(const char *model, const char *tok_path, cli_vocab *v, baldro_error *err);
void cli_vocab_close(cli_vocab *v);

/* The raw token string of `id` (tokenizer.json's spelling, "Ġthe"; a llama2.c piece,
 * " the" or "<0x0A>") and its length; NULL for an id outside the vocabulary. */
const char *cli_vocab_token(const cli_vocab *v, int32_t id, size_t *len);
/* Ids -> text: tokenizer.json's decoder with special tokens kept (skip_special 0) or
 * dropped, or run.c's decoding after `prev` for a llama2.c vocabulary. g_free(*text). */
int cli_vocab_decode(const cli_vocab *v, int32_t prev, const int32_t *ids, size_t n,
                     int skip_special, char **text, size_t *len, baldro_error *err);

/* No template: the item's text is encoded as is. */
#define CLI_TPL_NONE (-1)

/* 0 when `name` is NULL, "auto", "none" or a family name of data/chat_template.h. */
int cli_template_name_ok(const char *name);
/* The template question/answer items are encoded with. "none": no template. "auto" (or
 * NULL): as training and evaluation resolve model.template = auto: the family of the
 * tokenizer's chat template, plain when it has none; a llama2.c vocabulary has no template
 * (none). A family name with a llama2.c vocabulary is BALDRO_EINVAL (a usage error). *how
 * says which path was taken. */
int cli_template_pick(const char *name, const cli_vocab *v, int *kind, const char **how,
                      baldro_error *err);
/* "none" or the family name. */
const char *cli_template_label(int kind);

typedef enum {
    CLI_ITEM_QA = 1,   /* question + answer */
    CLI_ITEM_TEXT = 2, /* text              */
    CLI_ITEM_IDS = 4,  /* ids + loss_from   */
} cli_item_kind;

typedef struct cli_item {
    size_t line;        /* line of the input file, 1-based; 0 for the command line      */
    int kind;           /* cli_item_kind                                                */
    char *question, *answer, *text;
    int32_t *ids;       /* [n_ids]                                                      */
    size_t n_ids;
    int64_t loss_from;  /* ids items: first position with a target                     */
} cli_item;

void cli_item_clear(cli_item *it);

/* "1,2,3" or "1 2 3" (commas and/or blanks) -> ids, each in [0, 2^31). `what` names the
 * source in messages ("--ids"). g_free(*ids). */
int cli_parse_ids(const char *s, const char *what, int32_t **ids, size_t *n, baldro_error *err);

/* Every line of `path` ("-": stdin) as an item of the kinds in `accept` (a mask of
 * cli_item_kind). Bad lines are reported (one line each, see above) and counted in
 * *n_bad; blank lines are skipped. Fails (err set, nothing printed) only when the file
 * cannot be opened or read. g_free the items after cli_item_clear on each. */
int cli_items_read(const char *path, unsigned accept, cli_item **items, size_t *n,
                   size_t *n_bad, baldro_error *err);

/* An item as the model sees it. */
typedef struct cli_encoded {
    int32_t *ids;    /* [n]                                                              */
    uint8_t *mask;   /* [n] 1 where the position carries loss (a suffix)                 */
    size_t n;
    char *encoded;   /* the string that was encoded (template applied); NULL for ids     */
} cli_encoded;

/* Encodes `it` (see the top of this file); a question/answer item needs a vocabulary, a
 * text item too. BALDRO_EINVAL, naming the field, for an item the rules refuse. */
int cli_item_encode(const cli_vocab *v, int kind, const cli_item *it, cli_encoded *out,
                    baldro_error *err);
void cli_encoded_clear(cli_encoded *e);

/* The items as a dataset for the evaluator (eval/evaluator.h), each cut to its first
 * max_length tokens as baldro_tok_dataset_build does (*truncated[i] set when cut).
 * Every item has at least 2 tokens. pad_id as there: the tokenizer's pad, else eos,
 * else 0. g_free(*truncated). */
int cli_items_dataset(const cli_encoded *e, size_t n, size_t max_length, int32_t pad_id,
                      baldro_tok_dataset **out, uint8_t **truncated, baldro_error *err);

/* ---- output ------------------------------------------------------------------------- */

/* A JSON string literal: valid UTF-8 as is, quotes, backslashes and control characters
 * escaped, each byte of invalid UTF-8 as U+FFFD. */
void cli_json_string(GString *s, const char *p, size_t len);
/* [a,b,c] */
void cli_json_ids(GString *s, const int32_t *ids, size_t n);
void cli_json_mask(GString *s, const uint8_t *m, size_t n);
/* A token shown in a terminal: printable UTF-8 as is; \\, \n, \r, \t and other control
 * bytes or invalid UTF-8 as escapes (\xHH). */
void cli_show_token(GString *s, const char *p, size_t len);

#endif /* BALDRO_CORE_CLI_ITEMS_H */
