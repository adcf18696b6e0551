/*
 * core/data/tofu.h: the TOFU benchmark's splits (Maini et al. 2024, HF locuslab/TOFU) as
 * they are stored on disk: JSON Lines, one item per line (../shared/data/tofu/SOURCE.md).
 *
 * Every `<split>.json` line is one JSON object; the fields read are
 *   question, answer                        strings, required on every line
 *   paraphrased_answer, paraphrased_question strings (the *_perturbed splits)
 *   perturbed_answer                        non-empty list of strings (5 for forget/retain,
 *                                           3 for real_authors/world_facts)
 *   option1 .. option4                      strings, all four or none (multiple choice)
 * Other members are ignored (some published copies add e.g. task_id). An optional field
 * must be present on every line or on none: the metrics read a field across the whole
 * split, so a file where line 57 lost its paraphrased_answer is refused at load time
 * rather than scored with a hole. Blank lines are skipped (as `if l.strip()` does in the
 * reference loaders); a last line without '\n' is fine.
 *
 * idontknow.jsonl, despite its name, is plain text: one "I don't know" answer a line.
 *
 * Errors are one line naming file:line, the field and the reason, e.g.
 *   ".../forget10.json:17: perturbed_answer[2]: expected a string, got a number".
 * The reader is bounded (file size, line length) and checks every type before use: any
 * input yields either a split or an error, never a crash (tests/fuzz/fuzz_tofu_line.c).
 */
#ifndef BALDRO_DATA_TOFU_H
#define BALDRO_DATA_TOFU_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* The whole TOFU set is ~7 MB; these limits only keep a wrong path (a checkpoint, a
 * device file) from being read whole, and a hostile line from reaching json-glib. */
#define BALDRO_TOFU_MAX_FILE_BYTES ((size_t)256 << 20)
#define BALDRO_TOFU_MAX_LINE_BYTES ((size_t)4 << 20)

/* Which optional fields a split carries (every item has the same set). */
enum {
    BALDRO_TOFU_HAS_PARA_ANSWER = 1u << 0,
    BALDRO_TOFU_HAS_PARA_QUESTION = 1u << 1,
    BALDRO_TOFU_HAS_PERTURBED = 1u << 2,
    BALDRO_TOFU_HAS_OPTIONS = 1u << 3
};

typedef struct baldro_tofu_item {
    const char *question;             /* never NULL, never empty                        */
    const char *answer;               /* never NULL, never empty                        */
    const char *paraphrased_answer;   /* NULL if absent                                 */
    const char *paraphrased_question; /* NULL if absent                                 */
    const char *const *perturbed;     /* [n_perturbed]; NULL when n_perturbed == 0      */
    size_t n_perturbed;
    const char *options[4];           /* option1..option4, or all NULL                   */
    size_t line;                      /* 1-based line in the file, for messages          */
} baldro_tofu_item;

typedef struct baldro_tofu_split {
    char *path;              /* the file read (or the name given to parse_buffer)       */
    size_t n;                /* items, >= 1                                              */
    baldro_tofu_item *items; /* [n], in file order                                       */
    unsigned fields;         /* BALDRO_TOFU_HAS_* of every item                          */
    void *store_;            /* owns the strings; private                                */
} baldro_tofu_split;

/* Plain-text lines (idontknow.jsonl): blank lines skipped, trailing whitespace and '\r'
 * removed. */
typedef struct baldro_tofu_lines {
    char *path;
    size_t n;      /* lines, >= 1 */
    char **lines;  /* [n]          */
    size_t *line;  /* [n]: 1-based line number of each in the file */
} baldro_tofu_lines;

/* <dir>/<split>.json -> *out (baldro_tofu_free it). `split` is a bare name ("forget10",
 * "retain_perturbed"); a missing file is BALDRO_ENOTFOUND with the directory named, since
 * the usual cause is data.tofu_dir pointing elsewhere. */
int baldro_tofu_load(const char *dir, const char *split, baldro_tofu_split **out,
                     baldro_error *err);

/* The same from memory: `text` [len] is the file's content (need not be NUL-terminated),
 * `name` stands for the file in messages. */
int baldro_tofu_parse_buffer(const char *text, size_t len, const char *name,
                             baldro_tofu_split **out, baldro_error *err);

void baldro_tofu_free(baldro_tofu_split *s);

/* <dir>/idontknow.jsonl -> *out (baldro_tofu_lines_free it). */
int baldro_tofu_load_idk(const char *dir, baldro_tofu_lines **out, baldro_error *err);
int baldro_tofu_parse_lines_buffer(const char *text, size_t len, const char *name,
                                   baldro_tofu_lines **out, baldro_error *err);
void baldro_tofu_lines_free(baldro_tofu_lines *l);

#endif /* BALDRO_DATA_TOFU_H */
