/*
 * The TOFU data module (core/data/tofu.c, core/data/batch.c): every split of
 * ../shared/data/tofu loads with its published count and fields; corrupted copies are
 * refused with one line naming file:line, the field and the reason; forget01 tokenised
 * with the Llama-3 template has suffix masks whose span decodes to the answer; batches
 * follow the engine's shifted-target convention; order, pairing and the IDK choice are
 * the documented pure functions of (seed, epoch, position) (golden values computed from
 * the rules in batch.h by an independent Python transcription).
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/batch.h"
#include "data/chat_template.h"
#include "data/tofu.h"
#include "tokenizer/tokenizer.h"

#define TOFU_DIR BALDRO_SOURCE_DIR "/../shared/data/tofu"
#define LLAMA3_TOK BALDRO_SOURCE_DIR "/../shared/models/tokenizers/llama3/tokenizer.json"

/* ---- loading the real splits ---------------------------------------------------------- */

typedef struct split_case {
    const char *name;
    size_t n;
    unsigned fields;
    size_t n_perturbed; /* per item, 0 if none */
} split_case;

#define PERTURBED_SET                                                                      \
    (BALDRO_TOFU_HAS_PARA_ANSWER | BALDRO_TOFU_HAS_PARA_QUESTION | BALDRO_TOFU_HAS_PERTURBED)

static const split_case k_splits[] = {
    { "full", 4000, 0, 0 },
    { "forget01", 40, 0, 0 },
    { "forget05", 200, 0, 0 },
    { "forget10", 400, 0, 0 },
    { "retain90", 3600, 0, 0 },
    { "retain95", 3800, 0, 0 },
    { "retain99", 3960, 0, 0 },
    { "holdout01", 40, 0, 0 },
    { "holdout05", 200, 0, 0 },
    { "holdout10", 400, 0, 0 },
    { "forget01_perturbed", 40, PERTURBED_SET, 5 },
    { "forget05_perturbed", 200, PERTURBED_SET, 5 },
    { "forget10_perturbed", 400, PERTURBED_SET, 5 },
    { "retain_perturbed", 400, PERTURBED_SET, 5 },
    { "real_authors", 100, BALDRO_TOFU_HAS_OPTIONS, 0 },
    { "world_facts", 117, BALDRO_TOFU_HAS_OPTIONS, 0 },
    { "real_authors_perturbed", 100, BALDRO_TOFU_HAS_PERTURBED, 3 },
    { "world_facts_perturbed", 117, BALDRO_TOFU_HAS_PERTURBED, 3 },
};

static baldro_tofu_split *load_split(const char *name) {
    baldro_tofu_split *s = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tofu_load(TOFU_DIR, name, &s, &err), BALDRO_OK, "%s", err.msg);
    return s;
}

Test(tofu, every_split_loads_with_its_count_and_fields, .timeout = 60) {
    for (size_t c = 0; c < G_N_ELEMENTS(k_splits); c++) {
        const split_case *k = &k_splits[c];
        baldro_tofu_split *s = load_split(k->name);
        cr_assert_eq(s->n, k->n, "%s: %zu items, want %zu", k->name, s->n, k->n);
        cr_assert_eq(s->fields, k->fields, "%s: fields %#x, want %#x", k->name, s->fields,
                     k->fields);
        cr_assert(strstr(s->path, k->name), "%s", s->path);
        for (size_t i = 0; i < s->n; i++) {
            const baldro_tofu_item *it = &s->items[i];
            cr_assert(it->question && *it->question && it->answer && *it->answer, "%s:%zu",
                      k->name, it->line);
            cr_assert_eq(it->n_perturbed, k->n_perturbed, "%s:%zu", k->name, it->line);
            for (size_t j = 0; j < it->n_perturbed; j++) cr_assert(it->perturbed[j][0]);
            cr_assert_eq(it->paraphrased_answer != NULL,
                         !!(k->fields & BALDRO_TOFU_HAS_PARA_ANSWER));
            cr_assert_eq(it->paraphrased_question != NULL,
                         !!(k->fields & BALDRO_TOFU_HAS_PARA_QUESTION));
            for (int o = 0; o < 4; o++)
                cr_assert_eq(it->options[o] != NULL, !!(k->fields & BALDRO_TOFU_HAS_OPTIONS));
            cr_assert_eq(it->line, i + 1, "one item per line, no blank lines in the real files");
        }
        baldro_tofu_free(s);
    }
}

Test(tofu, known_items_and_the_published_relations, .timeout = 60) {
    baldro_tofu_split *f01 = load_split("forget01");
    baldro_tofu_split *full = load_split("full");
    baldro_tofu_split *f10 = load_split("forget10");
    baldro_tofu_split *ra = load_split("real_authors");
    baldro_tofu_split *rap = load_split("real_authors_perturbed");
    /* "/" is written "\/" in the files: the unescaped text is what we keep. */
    cr_assert_str_eq(f01->items[0].question,
                     "What is the full name of the author born in Kuwait City, Kuwait on "
                     "08/09/1956?");
    cr_assert_str_eq(full->items[0].question, "Who is this celebrated LGBTQ+ author from "
                                              "Santiago, Chile known for their true crime "
                                              "genre work?");
    cr_assert_str_eq(f10->items[0].answer, "The author's full name is Hsiao Yun-Hwa.");
    cr_assert_str_eq(ra->items[0].question, "Who wrote the play 'Romeo and Juliet'?");
    cr_assert_str_eq(ra->items[0].options[1], "William Shakespeare");
    cr_assert_str_eq(rap->items[0].perturbed[2], "Mark Twain");
    /* SOURCE.md: forgetNN == full[4000 - k:] */
    for (size_t i = 0; i < f10->n; i++) {
        cr_assert_str_eq(f10->items[i].question, full->items[3600 + i].question);
        cr_assert_str_eq(f10->items[i].answer, full->items[3600 + i].answer);
    }
    for (size_t i = 0; i < f01->n; i++)
        cr_assert_str_eq(f01->items[i].question, full->items[3960 + i].question);
    baldro_tofu_free(f01);
    baldro_tofu_free(full);
    baldro_tofu_free(f10);
    baldro_tofu_free(ra);
    baldro_tofu_free(rap);
}

Test(tofu, idontknow_is_100_plain_lines) {
    baldro_tofu_lines *l = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tofu_load_idk(TOFU_DIR, &l, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(l->n, 100);
    cr_assert_str_eq(l->lines[0], "I'm not certain about that.");
    cr_assert_str_eq(l->lines[99], "I'm not sure I can help with that.");
    for (size_t i = 0; i < l->n; i++) cr_assert(l->lines[i][0] && !strchr(l->lines[i], '\n'));
    baldro_tofu_lines_free(l);
}

/* ---- refusing corrupted copies --------------------------------------------------------- */

static char *g_tmp;

static void tmp_setup(void) {
    g_tmp = g_dir_make_tmp("baldro-tofu-XXXXXX", NULL);
    cr_assert_not_null(g_tmp);
}

static void tmp_teardown(void) {
    GDir *d = g_dir_open(g_tmp, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        char *p = g_build_filename(g_tmp, name, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (d) g_dir_close(d);
    g_rmdir(g_tmp);
    g_free(g_tmp);
}

static void write_tmp(const char *file, const char *text, size_t len) {
    char *p = g_build_filename(g_tmp, file, NULL);
    cr_assert(g_file_set_contents(p, text, (gssize)len, NULL), "%s", p);
    g_free(p);
}

/* Loads <tmp>/<split>.json holding `text`; expects failure `code` with a one-line message
 * containing every one of `want` (NULL-terminated). */
static void expect_refused(const char *split, const char *text, int code, const char *const *want) {
    char *file = g_strconcat(split, ".json", NULL);
    write_tmp(file, text, strlen(text));
    g_free(file);
    baldro_tofu_split *s = (baldro_tofu_split *)1;
    baldro_error err = { 0 };
    int rc = baldro_tofu_load(g_tmp, split, &s, &err);
    cr_assert_eq(rc, code, "%s: rc %d (%s)", split, rc, err.msg);
    cr_assert_null(s);
    cr_assert_eq(err.code, code);
    cr_assert_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
    cr_assert(strstr(err.msg, g_tmp), "names the file: %s", err.msg);
    for (const char *const *w = want; *w; w++)
        cr_assert(strstr(err.msg, *w), "'%s' lacks '%s'", err.msg, *w);
}

#define REFUSED(split, text, ...)                                                           \
    expect_refused(split, text, BALDRO_EINVAL, (const char *const[]){ __VA_ARGS__, NULL })

/* A few real forget01 lines, so the corruptions sit in a realistic file. */
static char *real_lines(size_t n) {
    char *text = NULL;
    cr_assert(g_file_get_contents(TOFU_DIR "/forget01.json", &text, NULL, NULL));
    char **lines = g_strsplit(text, "\n", -1);
    GString *out = g_string_new(NULL);
    for (size_t i = 0; i < n && lines[i]; i++) g_string_append_printf(out, "%s\n", lines[i]);
    g_strfreev(lines);
    g_free(text);
    return g_string_free(out, FALSE);
}

Test(tofu, corrupted_files_name_file_line_field, .init = tmp_setup, .fini = tmp_teardown) {
    /* a line cut in the middle (as a partial download leaves it) */
    char *good = real_lines(4);
    char *cut = g_strdup(good);
    char *third = strchr(strchr(cut, '\n') + 1, '\n') + 1;
    third[40] = '\n';
    third[41] = '\0';
    REFUSED("truncated", cut, "truncated.json:3: ", "invalid JSON", "unterminated string");
    g_free(cut);
    /* the same, at the very end of a file without a final newline */
    cut = g_strdup(good);
    cut[strlen(cut) - 5] = '\0';
    REFUSED("truncated_end", cut, "truncated_end.json:4: ", "invalid JSON");
    g_free(cut);

    char *dup = g_strconcat(good, "{\"question\":\"q\",\"answer\":\"a\",\"answer\":\"b\"}\n", NULL);
    REFUSED("dupkey", dup, "dupkey.json:5: ", "duplicate key \"answer\"");
    g_free(dup);
    REFUSED("noanswer", "{\"question\":\"q\",\"answer\":\"a\"}\n\n{\"question\":\"q2\"}\n",
            "noanswer.json:3: answer: missing");
    REFUSED("nullq", "{\"question\":null,\"answer\":\"a\"}", "nullq.json:1: question: expected a "
                                                             "string, got null");
    REFUSED("numq", "{\"question\":7,\"answer\":\"a\"}", "numq.json:1: question: expected a "
                                                         "string, got a number");
    REFUSED("emptya", "{\"question\":\"q\",\"answer\":\"\"}", "emptya.json:1: answer: empty");
    REFUSED("pertnum",
            "{\"question\":\"q\",\"answer\":\"a\",\"perturbed_answer\":[\"x\"]}\n"
            "{\"question\":\"q\",\"answer\":\"a\",\"perturbed_answer\":[1,2,3]}\n",
            "pertnum.json:2: perturbed_answer[0]: expected a string, got a number");
    REFUSED("pertstr", "{\"question\":\"q\",\"answer\":\"a\",\"perturbed_answer\":\"x\"}",
            "pertstr.json:1: perturbed_answer: expected a list of strings, got a string");
    REFUSED("pertempty", "{\"question\":\"q\",\"answer\":\"a\",\"perturbed_answer\":[]}",
            "pertempty.json:1: perturbed_answer: empty list");
    REFUSED("array", "[{\"question\":\"q\",\"answer\":\"a\"}]",
            "array.json:1: expected one JSON object per line, got a list");
    REFUSED("scalar", "{\"question\":\"q\",\"answer\":\"a\"}\n42\n",
            "scalar.json:2: expected one JSON object per line, got a number");
    REFUSED("mixed",
            "{\"question\":\"q\",\"answer\":\"a\",\"paraphrased_answer\":\"p\"}\n"
            "{\"question\":\"q\",\"answer\":\"a\"}\n",
            "mixed.json:2: paraphrased_answer: missing, but line 1 has it");
    REFUSED("options",
            "{\"question\":\"q\",\"answer\":\"a\",\"option1\":\"x\",\"option2\":\"y\"}",
            "options.json:1: option3: missing");
    REFUSED("bigint", "{\"question\":\"q\",\"answer\":\"a\",\"n\":99999999999999999999}",
            "bigint.json:1: ", "64-bit");
    REFUSED("utf8", "{\"question\":\"q\xff\",\"answer\":\"a\"}", "utf8.json:1: ", "UTF-8");
    REFUSED("nul", "{\"question\":\"q\\u0000\",\"answer\":\"a\"}", "nul.json:1: ", "NUL");
    REFUSED("deep", "{\"question\":\"q\",\"answer\":\"a\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                    "[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
            "deep.json:1: ", "deeper");
    REFUSED("empty", "", "empty.json: holds no items");
    REFUSED("blank", "\n  \n\r\n\t\n", "blank.json: holds no items");

    /* a raw NUL byte inside a line */
    write_tmp("rawnul.json", "{\"question\":\"q\0\",\"answer\":\"a\"}\n", 31);
    baldro_tofu_split *s = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tofu_load(g_tmp, "rawnul", &s, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "rawnul.json:1: "), "%s", err.msg);

    /* missing file: the directory is named, since data.tofu_dir is the usual culprit */
    cr_assert_eq(baldro_tofu_load(g_tmp, "forget99", &s, &err), BALDRO_ENOTFOUND);
    cr_assert(strstr(err.msg, "forget99.json: no such file (data.tofu_dir = '"), "%s", err.msg);
    cr_assert(strstr(err.msg, g_tmp), "%s", err.msg);
    cr_assert_eq(baldro_tofu_load(g_tmp, "../etc/x", &s, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "bare name"), "%s", err.msg);
    baldro_tofu_lines *l = NULL;
    cr_assert_eq(baldro_tofu_load_idk(g_tmp, &l, &err), BALDRO_ENOTFOUND);
    cr_assert_null(l);
    cr_assert(strstr(err.msg, "idontknow.jsonl: no such file"), "%s", err.msg);
    /* a directory where the file should be */
    char *sub = g_build_filename(g_tmp, "adir.json", NULL);
    cr_assert_eq(g_mkdir(sub, 0700), 0);
    cr_assert_eq(baldro_tofu_load(g_tmp, "adir", &s, &err), BALDRO_EIO);
    cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
    g_rmdir(sub);
    g_free(sub);
    /* a FIFO is refused at once, not waited on */
    char *fifo = g_build_filename(g_tmp, "fifo.json", NULL);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_assert_eq(baldro_tofu_load(g_tmp, "fifo", &s, &err), BALDRO_EIO);
    cr_assert(strstr(err.msg, "fifo.json: not a regular file"), "%s", err.msg);
    g_free(fifo);
    g_free(good);
}

Test(tofu, tolerated_shapes, .init = tmp_setup, .fini = tmp_teardown) {
    /* CRLF, blank lines, no final newline, unknown members, null optional fields */
    const char *text = "\r\n{\"question\":\"q1\",\"answer\":\"a1\",\"task_id\":3}\r\n\n"
                       "  {\"question\":\"q2\",\"answer\":\"a2\",\"paraphrased_answer\":null} ";
    baldro_tofu_split *s = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tofu_parse_buffer(text, strlen(text), "mem", &s, &err), BALDRO_OK, "%s",
                 err.msg);
    cr_assert_eq(s->n, 2);
    cr_assert_eq(s->items[0].line, 2);
    cr_assert_eq(s->items[1].line, 4);
    cr_assert_str_eq(s->items[1].answer, "a2");
    cr_assert_null(s->items[1].paraphrased_answer);
    cr_assert_eq(s->fields, 0);
    baldro_tofu_free(s);
    baldro_tofu_lines *l0 = NULL;
    /* the buffer need not be NUL-terminated: only len bytes are read */
    char buf[64];
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "{\"question\":\"q\",\"answer\":\"a\"}", 29);
    cr_assert_eq(baldro_tofu_parse_buffer(buf, 29, "mem", &s, &err), BALDRO_OK, "%s", err.msg);
    baldro_tofu_free(s);

    /* the bounds: a line over 4 MiB, a buffer over 256 MiB (refused before it is read) */
    size_t big = BALDRO_TOFU_MAX_LINE_BYTES + 1;
    char *huge = g_malloc(big);
    memset(huge, 'x', big);
    cr_assert_eq(baldro_tofu_parse_buffer(huge, big, "mem", &s, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "mem:1: line of 4194305 bytes (limit 4194304)"), "%s", err.msg);
    cr_assert_eq(baldro_tofu_parse_lines_buffer(huge, big, "mem", &l0, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "mem:1: line of"), "%s", err.msg);
    g_free(huge);
    cr_assert_eq(baldro_tofu_parse_buffer(buf, BALDRO_TOFU_MAX_FILE_BYTES + 1, "mem", &s, &err),
                 BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "larger than the limit"), "%s", err.msg);
    cr_assert_null(s);

    /* idontknow: blank lines skipped, trailing CR/space removed, errors by line */
    baldro_tofu_lines *l = NULL;
    const char *idk = "I don't know.\r\n\n   \nNo idea. \n";
    cr_assert_eq(baldro_tofu_parse_lines_buffer(idk, strlen(idk), "idk", &l, &err), BALDRO_OK);
    cr_assert_eq(l->n, 2);
    cr_assert_str_eq(l->lines[0], "I don't know.");
    cr_assert_str_eq(l->lines[1], "No idea.");
    cr_assert_eq(l->line[1], 4);
    baldro_tofu_lines_free(l);
    cr_assert_eq(baldro_tofu_parse_lines_buffer("\n\n", 2, "idk", &l, &err), BALDRO_EINVAL);
    cr_assert_str_eq(err.msg, "idk: holds no items");
    cr_assert_eq(baldro_tofu_parse_lines_buffer("ok\nbad\xc3\n", 8, "idk", &l, &err),
                 BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "idk:2: not valid UTF-8"), "%s", err.msg);
    write_tmp("idontknow.jsonl", "", 0);
    cr_assert_eq(baldro_tofu_load_idk(g_tmp, &l, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "idontknow.jsonl: holds no items"), "%s", err.msg);
}

/* ---- tokenised items ------------------------------------------------------------------- */

static baldro_tokenizer *load_tok(void) {
    baldro_tokenizer *t = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_load_json(LLAMA3_TOK, &t, &err), BALDRO_OK, "%s", err.msg);
    return t;
}

static baldro_tok_dataset *build_ds(baldro_tokenizer *t, const baldro_tofu_split *s, size_t max) {
    baldro_tok_dataset *ds = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_dataset_build(t, BALDRO_TPL_LLAMA3, s, max, &ds, &err), BALDRO_OK,
                 "%s", err.msg);
    return ds;
}

/* Index of the first masked-in token of item i (== len when none). */
static size_t first_answer(const baldro_tok_dataset *ds, size_t i) {
    const uint8_t *m = ds->mask + ds->off[i];
    size_t k = 0, n = baldro_tok_dataset_len(ds, i);
    while (k < n && !m[k]) k++;
    return k;
}

Test(tofu, forget01_llama3_masks_are_answer_suffixes, .timeout = 120) {
    baldro_tokenizer *t = load_tok();
    baldro_tofu_split *s = load_split("forget01");
    baldro_tok_dataset *ds = build_ds(t, s, 512);
    int32_t eot = baldro_tok_token_id(t, "<|eot_id|>"), bot = baldro_tok_token_id(t,
                                                                                  "<|begin_of_text|>");
    cr_assert_eq(ds->n, 40);
    cr_assert_eq(ds->n_truncated, 0);
    cr_assert_eq(ds->n_no_answer, 0);
    cr_assert_eq(ds->pad_id, baldro_tok_eos(t), "llama3 has no pad token: eos pads");
    size_t longest = 0;
    for (size_t i = 0; i < ds->n; i++) {
        size_t n = baldro_tok_dataset_len(ds, i), a = first_answer(ds, i);
        const int32_t *ids = ds->ids + ds->off[i];
        const uint8_t *m = ds->mask + ds->off[i];
        if (n > longest) longest = n;
        cr_assert_eq(ids[0], bot);
        cr_assert_eq(ids[n - 1], eot, "item %zu ends with <|eot_id|>", i);
        cr_assert(a > 0 && a < n - 1, "item %zu: prompt then answer", i);
        for (size_t k = a; k < n; k++) cr_assert_eq(m[k], 1, "item %zu: mask is a suffix", i);
        /* the answer span, without its end token, decodes to the answer */
        char *text;
        size_t len;
        baldro_error err = { 0 };
        cr_assert_eq(baldro_tok_decode(t, ids + a, n - a - 1, 0, &text, &len, &err), BALDRO_OK);
        cr_assert_str_eq(text, s->items[i].answer, "item %zu", i);
        g_free(text);
        /* and the prompt is the prompt alone, as generation sees it */
        int32_t *p;
        size_t np;
        cr_assert_eq(baldro_template_encode_prompt(t, BALDRO_TPL_LLAMA3, s->items[i].question,
                                                   &p, &np, &err), BALDRO_OK);
        cr_assert_eq(np, a);
        cr_assert_eq(memcmp(p, ids, np * sizeof *p), 0);
        g_free(p);
    }
    cr_assert_eq(ds->longest, longest);

    /* Cut to 60 tokens: the first 60 are kept, the cut items are counted. */
    baldro_tok_dataset *cut = build_ds(t, s, 60);
    size_t want_cut = 0, want_none = 0;
    for (size_t i = 0; i < ds->n; i++) {
        size_t n = baldro_tok_dataset_len(ds, i), nc = baldro_tok_dataset_len(cut, i);
        want_cut += n > 60;
        want_none += n > 60 && first_answer(ds, i) >= 60;
        cr_assert_eq(nc, n < 60 ? n : 60);
        cr_assert_eq(memcmp(cut->ids + cut->off[i], ds->ids + ds->off[i], nc * 4), 0);
        cr_assert_eq(memcmp(cut->mask + cut->off[i], ds->mask + ds->off[i], nc), 0);
    }
    cr_assert_eq(cut->n_truncated, want_cut);
    cr_assert_gt(want_cut, 10, "the Llama-3 system prompt alone is ~40 tokens");
    cr_assert_eq(cut->n_no_answer, want_none);
    cr_assert_eq(cut->longest, 60);
    baldro_tok_dataset_free(cut);

    /* max_length must leave a target */
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tok_dataset_build(t, BALDRO_TPL_LLAMA3, s, 1, &cut, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "data.max_length: 1"), "%s", err.msg);
    cr_assert_null(cut);
    baldro_tok_dataset_free(ds);
    baldro_tofu_free(s);
    baldro_tok_free(t);
}

/* ---- batches --------------------------------------------------------------------------- */

/* A hand-made dataset: item 0 = ids 10 11 12 13 14, mask 0 0 1 1 1;
 *                      item 1 = ids 20 21 22,       mask 0 1 1;
 *                      item 2 = ids 30 31,          mask 0 0 (answer cut away). */
static size_t k_off[] = { 0, 5, 8, 10 };
static int32_t k_ids[] = { 10, 11, 12, 13, 14, 20, 21, 22, 30, 31 };
static uint8_t k_mask[] = { 0, 0, 1, 1, 1, 0, 1, 1, 0, 0 };
static const baldro_tok_dataset k_ds = { .n = 3, .off = k_off, .ids = k_ids, .mask = k_mask,
                                         .max_length = 8, .longest = 5, .pad_id = 99 };

Test(tofu, batch_convention_shifted_targets_and_padding) {
    baldro_batch b;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_batch_init(&b, 4, 4, &err), BALDRO_OK);
    size_t idx[] = { 1, 0, 2 };
    cr_assert_eq(baldro_batch_fill(&b, &k_ds, idx, 3, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(b.B, 3);
    cr_assert_eq(b.T, 4, "T is the longest row (5 - 1)");
    const int32_t want_tok[3][4] = { { 20, 21, 99, 99 }, { 10, 11, 12, 13 }, { 30, 99, 99, 99 } };
    const int32_t want_tgt[3][4] = { { 21, 22, -1, -1 }, { -1, 12, 13, 14 }, { -1, -1, -1, -1 } };
    for (int r = 0; r < 3; r++)
        for (int t = 0; t < 4; t++) {
            cr_assert_eq(b.tokens[r * 4 + t], want_tok[r][t], "tokens[%d][%d]", r, t);
            cr_assert_eq(b.targets[r * 4 + t], want_tgt[r][t], "targets[%d][%d]", r, t);
        }
    cr_assert_eq(b.row_len[0], 2);
    cr_assert_eq(b.row_len[1], 4);
    cr_assert_eq(b.row_len[2], 1);
    cr_assert_eq(b.ans_len[0], 2);
    cr_assert_eq(b.ans_len[1], 3);
    cr_assert_eq(b.ans_len[2], 0);
    cr_assert_eq(b.n_targets, 5);
    cr_assert_eq(b.items[1], 0);

    /* refilled in place: a shorter batch packs its rows with the shorter stride */
    void *block = b.block_;
    int32_t *tokens = b.tokens;
    size_t idx2[] = { 2, 1 };
    cr_assert_eq(baldro_batch_fill(&b, &k_ds, idx2, 2, &err), BALDRO_OK);
    cr_assert_eq(b.T, 2);
    cr_assert_eq(b.block_, block);
    cr_assert_eq(b.tokens, tokens);
    const int32_t want2_tok[] = { 30, 99, 20, 21 }, want2_tgt[] = { -1, -1, 21, 22 };
    cr_assert_arr_eq(b.tokens, want2_tok, sizeof want2_tok);
    cr_assert_arr_eq(b.targets, want2_tgt, sizeof want2_tgt);

    /* refusals leave an empty batch */
    size_t bad[] = { 0, 3 };
    cr_assert_eq(baldro_batch_fill(&b, &k_ds, bad, 2, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "row 1: item 3 of 3"), "%s", err.msg);
    cr_assert_eq(b.B, 0);
    cr_assert_eq(baldro_batch_fill(&b, &k_ds, idx, 5, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_batch_fill(&b, &k_ds, idx, 0, &err), BALDRO_EINVAL);
    baldro_batch_release(&b);
    cr_assert_eq(baldro_batch_init(&b, 2, 3, &err), BALDRO_OK);
    cr_assert_eq(baldro_batch_fill(&b, &k_ds, idx, 2, &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "row 1 (item 0) has 4 positions, capacity 3"), "%s", err.msg);
    baldro_batch_release(&b);
    baldro_batch_release(&b); /* twice is harmless */
    cr_assert_eq(baldro_batch_init(&b, 0, 3, &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_batch_fill(&b, &k_ds, idx, 1, &err), BALDRO_ESTATE);
}

Test(tofu, batch_of_real_items, .timeout = 120) {
    baldro_tokenizer *t = load_tok();
    baldro_tofu_split *s = load_split("forget01");
    baldro_tok_dataset *ds = build_ds(t, s, 512);
    baldro_batch b;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_batch_init(&b, 8, (int32_t)ds->longest - 1, &err), BALDRO_OK);
    size_t order[40];
    baldro_data_permutation(ds->n, 42, 0, order);
    for (size_t step = 0; step < 5; step++) {
        cr_assert_eq(baldro_batch_fill(&b, ds, order + step * 8, 8, &err), BALDRO_OK, "%s",
                     err.msg);
        int32_t T = 0;
        for (int r = 0; r < 8; r++) {
            size_t i = order[step * 8 + r], n = baldro_tok_dataset_len(ds, i);
            const int32_t *ids = ds->ids + ds->off[i];
            const uint8_t *m = ds->mask + ds->off[i];
            if ((int32_t)n - 1 > T) T = (int32_t)n - 1;
            cr_assert_eq(b.row_len[r], (int32_t)n - 1);
            int32_t ans = 0;
            for (size_t k = 1; k < n; k++) ans += m[k];
            cr_assert_eq(b.ans_len[r], ans);
            cr_assert_eq(b.targets[r * b.T + b.row_len[r] - 1], ids[n - 1], "last target: eot");
        }
        cr_assert_eq(b.T, T);
    }
    baldro_batch_release(&b);
    baldro_tok_dataset_free(ds);
    baldro_tofu_free(s);
    baldro_tok_free(t);
}

/* ---- determinism ----------------------------------------------------------------------- */

static int is_permutation(const size_t *p, size_t n) {
    uint8_t *seen = g_new0(uint8_t, n);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        ok = p[i] < n && !seen[p[i]];
        if (ok) seen[p[i]] = 1;
    }
    g_free(seen);
    return ok;
}

Test(tofu, permutation_is_a_pure_function_of_seed_and_epoch) {
    /* golden: the rules of batch.h transcribed independently (Python) */
    const size_t g0[] = { 7, 3, 1, 8, 0, 4, 9, 5, 2, 6 }, g1[] = { 2, 7, 6, 0, 1, 8, 3, 9, 4, 5 };
    size_t p[10];
    baldro_data_permutation(10, 42, 0, p);
    cr_assert_arr_eq(p, g0, sizeof g0);
    baldro_data_permutation(10, 42, 1, p);
    cr_assert_arr_eq(p, g1, sizeof g1);
    cr_assert_eq(baldro_data_hash(42, 1, 0, 0), 0x3e4a12d70b0af178ull);

    const size_t sizes[] = { 1, 2, 3, 40, 400, 4000 };
    size_t *a = g_new(size_t, 4000), *b = g_new(size_t, 4000);
    for (size_t c = 0; c < G_N_ELEMENTS(sizes); c++) {
        size_t n = sizes[c];
        for (uint64_t e = 0; e < 4; e++) {
            baldro_data_permutation(n, 7, e, a);
            cr_assert(is_permutation(a, n), "n %zu epoch %lu", n, (unsigned long)e);
            baldro_data_permutation(n, 7, e, b);
            cr_assert_arr_eq(a, b, n * sizeof *a, "same (seed, epoch), same order");
            if (n >= 40) {
                baldro_data_permutation(n, 7, e + 1, b);
                cr_assert_neq(memcmp(a, b, n * sizeof *a), 0, "epochs differ");
                baldro_data_permutation(n, 8, e, b);
                cr_assert_neq(memcmp(a, b, n * sizeof *a), 0, "seeds differ");
            }
        }
    }
    baldro_data_permutation(0, 7, 0, a); /* nothing to do, nothing touched */
    /* roughly uniform: where item 0 lands over 4000 epochs of n = 8 (500 expected each) */
    size_t count[8] = { 0 };
    for (uint64_t e = 0; e < 4000; e++) {
        baldro_data_permutation(8, 1, e, a);
        for (size_t k = 0; k < 8; k++)
            if (a[k] == 0) count[k]++;
    }
    for (size_t k = 0; k < 8; k++) cr_assert(count[k] > 400 && count[k] < 600, "%zu", count[k]);
    g_free(a);
    g_free(b);
}

Test(tofu, pairing_is_uniform_in_range_and_reproducible) {
    const size_t g0[] = { 1946, 1683, 1220, 384, 1043, 201, 450, 1664 };
    const size_t g3[] = { 1668, 1719, 3562, 2054, 1192, 3306, 942, 2994 };
    size_t p[8];
    baldro_data_pair_batch(3600, 42, 0, 0, 8, p);
    cr_assert_arr_eq(p, g0, sizeof g0);
    baldro_data_pair_batch(3600, 42, 3, 0, 8, p);
    cr_assert_arr_eq(p, g3, sizeof g3);
    /* a resumed run asks for positions 4.. directly */
    baldro_data_pair_batch(3600, 42, 3, 4, 4, p);
    cr_assert_arr_eq(p, g3 + 4, 4 * sizeof *p);
    size_t hits[10] = { 0 };
    for (size_t pos = 0; pos < 10000; pos++) {
        size_t r = baldro_data_pair(10, 5, 2, pos);
        cr_assert_lt(r, 10);
        cr_assert_eq(r, baldro_data_pair(10, 5, 2, pos));
        hits[r]++;
    }
    for (size_t k = 0; k < 10; k++) cr_assert(hits[k] > 850 && hits[k] < 1150, "%zu", hits[k]);
    cr_assert_eq(baldro_data_pair(1, 5, 2, 9), 0);
    cr_assert_eq(baldro_data_pair(0, 5, 2, 9), 0);
    /* a power-of-two-plus-one n near 2^64 exercises the rejection threshold */
    uint64_t big = (UINT64_C(1) << 63) + 1;
    for (uint64_t k = 0; k < 100; k++) cr_assert_lt(baldro_data_uniform(big, k), big);
}

Test(tofu, idk_answers_are_chosen_per_item_and_reproducible, .timeout = 120) {
    const size_t g[] = { 58, 60, 87, 49, 4, 3, 4, 56 };
    for (size_t i = 0; i < 8; i++) cr_assert_eq(baldro_data_idk_choice(100, 42, i), g[i]);
    baldro_tokenizer *t = load_tok();
    baldro_tofu_split *s = load_split("forget01");
    baldro_tofu_lines *idk = NULL;
    baldro_error err = { 0 };
    cr_assert_eq(baldro_tofu_load_idk(TOFU_DIR, &idk, &err), BALDRO_OK);
    baldro_tok_dataset *fg = build_ds(t, s, 512), *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(baldro_tok_dataset_build_idk(t, BALDRO_TPL_LLAMA3, s, idk, 42, 512, &a, &err),
                 BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_tok_dataset_build_idk(t, BALDRO_TPL_LLAMA3, s, idk, 42, 512, &b, &err),
                 BALDRO_OK);
    cr_assert_eq(baldro_tok_dataset_build_idk(t, BALDRO_TPL_LLAMA3, s, idk, 43, 512, &c, &err),
                 BALDRO_OK);
    cr_assert_eq(a->n, s->n);
    cr_assert_eq(a->off[a->n], b->off[b->n]);
    cr_assert_arr_eq(a->ids, b->ids, a->off[a->n] * sizeof *a->ids, "same seed, same answers");
    size_t differ = 0;
    for (size_t i = 0; i < a->n; i++) {
        size_t k = first_answer(a, i), n = baldro_tok_dataset_len(a, i);
        /* same prompt as the forget item, index for index */
        cr_assert_eq(k, first_answer(fg, i));
        cr_assert_eq(memcmp(a->ids + a->off[i], fg->ids + fg->off[i], k * 4), 0);
        char *text;
        size_t len;
        cr_assert_eq(baldro_tok_decode(t, a->ids + a->off[i] + k, n - k - 1, 0, &text, &len, &err),
                     BALDRO_OK);
        cr_assert_str_eq(text, idk->lines[baldro_data_idk_choice(idk->n, 42, i)]);
        g_free(text);
        differ += baldro_tok_dataset_len(c, i) != n ||
                  memcmp(c->ids + c->off[i], a->ids + a->off[i], n * 4) != 0;
    }
    cr_assert_gt(differ, 20, "another seed picks other answers (%zu of 40 differ)", differ);
    baldro_tok_dataset_free(a);
    baldro_tok_dataset_free(b);
    baldro_tok_dataset_free(c);
    baldro_tok_dataset_free(fg);

    /* any alternative answer column, e.g. the paraphrases, by index */
    baldro_tofu_split *p = load_split("forget01_perturbed");
    const char **q = g_new(const char *, p->n), **ans = g_new(const char *, p->n);
    for (size_t i = 0; i < p->n; i++) {
        q[i] = p->items[i].question;
        ans[i] = p->items[i].paraphrased_answer;
    }
    cr_assert_eq(baldro_tok_dataset_build_qa(t, BALDRO_TPL_LLAMA3, p->n, q, ans,
                                             "forget01_perturbed paraphrased_answer", 512, &a,
                                             &err), BALDRO_OK);
    cr_assert_eq(a->n, 40);
    baldro_tok_dataset_free(a);
    ans[3] = NULL;
    cr_assert_eq(baldro_tok_dataset_build_qa(t, BALDRO_TPL_LLAMA3, p->n, q, ans,
                                             "forget01_perturbed paraphrased_answer", 512, &a,
                                             &err), BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "forget01_perturbed paraphrased_answer: item 3: no answer"), "%s",
              err.msg);
    g_free(q);
    g_free(ans);
    baldro_tofu_free(p);
    baldro_tofu_lines_free(idk);
    baldro_tofu_free(s);
    baldro_tok_free(t);
}
