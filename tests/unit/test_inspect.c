/*
 * The inspection commands (baldro-host tokenize, score, generate --json) run as a user runs
 * them, against tests/oracle/inspect_oracle.py's fixtures (tests/fixtures/inspect/): on
 * stories260K (llama2.c .bin / .gguf with tok512.bin) and on the engine's random
 * llama3_rope_tied model with the fixture's 100-token tokenizer. Ids, tokens, loss masks,
 * texts, stop reasons and greedy ids must be equal; answer-token log-probs within `tol` of
 * the float64 reference (tolerance() below), sums within tol per token, avg_loss within
 * tol, prob within tol relative; a greedy hit is compared
 * where the oracle's top-1/top-2 margin exceeds 1e-4. --input: JSON Lines in, one JSON
 * object per item out with its line, each bad line one error naming file, line and field,
 * the others still processed, exit 1.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define FIX BALDRO_TEST_FIXTURES "/inspect"
#define SHARED BALDRO_SOURCE_DIR "/../shared"

static char *tmpdir, *model_dir;

static void rm_rf(const char *path) {
    GDir *d = g_dir_open(path, 0, NULL);
    if (!d) {
        g_remove(path);
        return;
    }
    const char *n;
    while ((n = g_dir_read_name(d))) {
        char *p = g_build_filename(path, n, NULL);
        rm_rf(p);
        g_free(p);
    }
    g_dir_close(d);
    g_rmdir(path);
}

static void link_into(const char *dir, const char *name, const char *target) {
    char *p = g_build_filename(dir, name, NULL);
    cr_assert_eq(symlink(target, p), 0, "symlink %s", p);
    g_free(p);
}

/* The tiny model as an HF directory: the engine fixture's config and parameters, the
 * inspect fixture's tokenizer. */
static void setup(void) {
    tmpdir = g_dir_make_tmp("baldro-inspect-XXXXXX", NULL);
    cr_assert_not_null(tmpdir);
    model_dir = g_build_filename(tmpdir, "tiny", NULL);
    cr_assert_eq(g_mkdir(model_dir, 0700), 0);
#define ENG BALDRO_TEST_FIXTURES "/engine/llama3_rope_tied"
    link_into(model_dir, "config.json", ENG "/config.json");
    link_into(model_dir, "model.safetensors", ENG "/params.safetensors");
    link_into(model_dir, "tokenizer.json", FIX "/tiny/tokenizer.json");
    link_into(model_dir, "tokenizer_config.json", FIX "/tiny/tokenizer_config.json");
}

static void teardown(void) {
    rm_rf(tmpdir);
    g_free(tmpdir);
    g_free(model_dir);
}

TestSuite(inspect, .init = setup, .fini = teardown, .timeout = 240);

typedef struct run_result {
    char *out, *err;
    int status;
} run_result;

static void run_free(run_result *r) {
    g_free(r->out);
    g_free(r->err);
}

/* baldro-host with args[] (NULL-terminated), stdin from `in_path` (or /dev/null). */
static run_result run_host(char **args, const char *in_path) {
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)BALDRO_HOST_EXE);
    for (char **a = args; *a; a++) g_ptr_array_add(argv, *a);
    g_ptr_array_add(argv, NULL);
    run_result r = {0};
    GError *ge = NULL;
    int wait = 0;
    if (in_path) {
        /* g_spawn_sync has no stdin redirection: run through the shell's < */
        GString *cmd = g_string_new(NULL);
        for (guint i = 0; argv->pdata[i]; i++) {
            char *q = g_shell_quote(argv->pdata[i]);
            g_string_append_printf(cmd, "%s ", q);
            g_free(q);
        }
        char *q = g_shell_quote(in_path);
        g_string_append_printf(cmd, "< %s", q);
        g_free(q);
        char *sh[] = {"/bin/sh", "-c", cmd->str, NULL};
        cr_assert(g_spawn_sync(NULL, sh, NULL, 0, NULL, NULL, &r.out, &r.err, &wait, &ge), "%s",
                  ge ? ge->message : "");
        g_string_free(cmd, TRUE);
    } else {
        cr_assert(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDIN_FROM_DEV_NULL,
                               NULL, NULL, &r.out, &r.err, &wait, &ge),
                  "%s", ge ? ge->message : "");
    }
    r.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : -1;
    g_ptr_array_free(argv, TRUE);
    return r;
}

static JsonNode *parse(const char *text, size_t len) {
    JsonParser *p = json_parser_new();
    GError *ge = NULL;
    cr_assert(json_parser_load_from_data(p, text, (gssize)len, &ge), "not JSON: %s: %.*s",
              ge ? ge->message : "", (int)len, text);
    JsonNode *n = json_node_copy(json_parser_get_root(p));
    g_object_unref(p);
    return n;
}

static JsonObject *load_fixture(const char *name, JsonNode **keep) {
    char *path = g_build_filename(FIX, name, NULL);
    char *text;
    size_t len;
    cr_assert(g_file_get_contents(path, &text, &len, NULL), "%s", path);
    *keep = parse(text, len);
    g_free(text);
    g_free(path);
    return json_node_get_object(*keep);
}

/* The case's options with the placeholders filled in, then the command's --json. */
static char **case_args(const char *cmd, JsonObject *c) {
    JsonArray *a = json_object_get_array_member(c, "args");
    GPtrArray *v = g_ptr_array_new();
    g_ptr_array_add(v, g_strdup(cmd));
    for (guint i = 0; i < json_array_get_length(a); i++) {
        char *s = g_strdup(json_array_get_string_element(a, i));
        const char *from[] = {"@MODEL@", "@TOK@", "@SHARED@"};
        char *tok = g_build_filename(model_dir, "tokenizer.json", NULL);
        const char *to[] = {model_dir, tok, SHARED};
        for (int k = 0; k < 3; k++) {
            char **parts = g_strsplit(s, from[k], -1);
            g_free(s);
            s = g_strjoinv(to[k], parts);
            g_strfreev(parts);
        }
        g_free(tok);
        g_ptr_array_add(v, s);
    }
    g_ptr_array_add(v, g_strdup("--json"));
    g_ptr_array_add(v, NULL);
    return (char **)g_ptr_array_free(v, FALSE);
}

static void same_ints(JsonObject *got, JsonObject *want, const char *key, const char *what) {
    JsonArray *g = json_object_get_array_member(got, key);
    JsonArray *w = json_object_get_array_member(want, key);
    cr_assert(g && w, "%s: %s missing", what, key);
    guint n = json_array_get_length(w);
    cr_assert_eq(json_array_get_length(g), n, "%s: %s: %u values, want %u", what, key,
                 json_array_get_length(g), n);
    for (guint i = 0; i < n; i++)
        cr_assert_eq(json_array_get_int_element(g, i), json_array_get_int_element(w, i),
                     "%s: %s[%u]: %lld, want %lld", what, key, i,
                     (long long)json_array_get_int_element(g, i),
                     (long long)json_array_get_int_element(w, i));
}

static void same_strings(JsonObject *got, JsonObject *want, const char *key, const char *what) {
    JsonArray *g = json_object_get_array_member(got, key);
    JsonArray *w = json_object_get_array_member(want, key);
    guint n = json_array_get_length(w);
    cr_assert_eq(json_array_get_length(g), n, "%s: %s length", what, key);
    for (guint i = 0; i < n; i++)
        cr_assert_str_eq(json_array_get_string_element(g, i), json_array_get_string_element(w, i),
                         "%s: %s[%u]", what, key, i);
}

static void same_string(JsonObject *got, JsonObject *want, const char *key, const char *what) {
    cr_assert_str_eq(json_object_get_string_member(got, key),
                     json_object_get_string_member(want, key), "%s: %s", what, key);
}

static void same_int(JsonObject *got, JsonObject *want, const char *key, const char *what) {
    cr_assert_eq(json_object_get_int_member(got, key), json_object_get_int_member(want, key),
                 "%s: %s", what, key);
}

static void check_tokenize(JsonObject *got, JsonObject *want, const char *what) {
    same_string(got, want, "template", what);
    same_string(got, want, "text", what);
    same_ints(got, want, "ids", what);
    same_strings(got, want, "tokens", what);
    same_ints(got, want, "loss_mask", what);
    same_int(got, want, "n_tokens", what);
    same_int(got, want, "n_loss", what);
}

/* Either both null or |got - want| <= tol (rel: scaled by |want|). */
static void near(JsonObject *got, JsonObject *want, const char *key, double tol, int rel,
                 const char *what) {
    JsonNode *g = json_object_get_member(got, key), *w = json_object_get_member(want, key);
    cr_assert(g && w, "%s: %s missing", what, key);
    if (JSON_NODE_HOLDS_NULL(w)) {
        cr_assert(JSON_NODE_HOLDS_NULL(g), "%s: %s should be null", what, key);
        return;
    }
    double a = json_node_get_double(g), b = json_node_get_double(w);
    double lim = rel ? tol * fabs(b) : tol;
    cr_assert(fabs(a - b) <= lim, "%s: %s = %.10g, oracle %.10g (tolerance %.3g)", what, key, a,
              b, lim);
}

/* tol: per-token log-prob tolerance (absolute); the sum gets tol per token. */
static double check_score(JsonObject *got, JsonObject *want, double tol, const char *what) {
    same_ints(got, want, "ids", what);
    same_ints(got, want, "target_ids", what);
    same_int(got, want, "n_tokens", what);
    cr_assert_eq(json_object_get_boolean_member(got, "truncated"),
                 json_object_get_boolean_member(want, "truncated"), "%s: truncated", what);
    JsonArray *g = json_object_get_array_member(got, "logprobs"),
              *w = json_object_get_array_member(want, "logprobs"),
              *gg = json_object_get_array_member(got, "greedy"),
              *wg = json_object_get_array_member(want, "greedy"),
              *wm = json_object_get_array_member(want, "greedy_margins");
    guint n = json_array_get_length(w);
    cr_assert_eq(json_array_get_length(g), n, "%s: logprobs length", what);
    cr_assert_eq(json_array_get_length(gg), n, "%s: greedy length", what);
    double worst = 0;
    for (guint i = 0; i < n; i++) {
        double d = fabs(json_array_get_double_element(g, i) - json_array_get_double_element(w, i));
        worst = fmax(worst, d);
        cr_assert(d <= tol, "%s: logprobs[%u] off by %.3g (tolerance %.0e)", what, i, d, tol);
        if (json_array_get_double_element(wm, i) > 1e-4)
            cr_assert_eq(json_array_get_int_element(gg, i), json_array_get_int_element(wg, i),
                         "%s: greedy[%u]", what, i);
    }
    near(got, want, "sum_logprob", tol * (n ? n : 1), 0, what);
    near(got, want, "avg_loss", tol, 0, what);
    near(got, want, "prob", tol, 1, what);
    return worst;
}

static void check_generate(JsonObject *got, JsonObject *want, const char *what) {
    same_ints(got, want, "prompt_ids", what);
    same_ints(got, want, "generated_ids", what);
    same_string(got, want, "text", what);
    same_string(got, want, "stop", what);
}

/* Log-prob tolerances against float64: the random tiny model, 1e-5 as the engine oracle's
 * cases (test_llama_oracle.c); stories260K, a trained model whose logits reach ~20 (fp32
 * rounding grows with them), 1e-4 as its logits in test_llama2c_gguf.c. Measured: 2.5e-6
 * and 8.0e-6 (RelWithDebInfo), 1.2e-5 on stories260K in the Debug + sanitizer build. */
static double tolerance(const char *fixture) {
    return g_str_has_prefix(fixture, "stories260K") ? 1e-4 : 1e-5;
}

/* Every case of one command in one fixture. */
static void run_cases(const char *fixture, const char *cmd) {
    JsonNode *keep;
    JsonObject *fx = load_fixture(fixture, &keep);
    JsonArray *cases = json_object_get_array_member(fx, cmd);
    guint n = json_array_get_length(cases);
    cr_assert_gt(n, 0);
    double worst = 0;
    for (guint i = 0; i < n; i++) {
        JsonObject *c = json_array_get_object_element(cases, i);
        char **args = case_args(cmd, c);
        char *what = g_strdup_printf("%s %s case %u", fixture, cmd, i);
        run_result r = run_host(args, NULL);
        cr_assert_eq(r.status, 0, "%s: exit %d: %s", what, r.status, r.err);
        JsonNode *got = parse(r.out, strlen(r.out));
        JsonObject *want = json_object_get_object_member(c, "expect");
        if (!strcmp(cmd, "tokenize")) check_tokenize(json_node_get_object(got), want, what);
        else if (!strcmp(cmd, "score"))
            worst = fmax(worst, check_score(json_node_get_object(got), want, tolerance(fixture),
                                            what));
        else check_generate(json_node_get_object(got), want, what);
        json_node_unref(got);
        run_free(&r);
        g_free(what);
        g_strfreev(args);
    }
    if (!strcmp(cmd, "score")) cr_log_info("%s: worst log-prob error %.3g", fixture, worst);
    json_node_unref(keep);
}

Test(inspect, tokenize_tiny) { run_cases("tiny_llama3.json", "tokenize"); }
Test(inspect, score_tiny) { run_cases("tiny_llama3.json", "score"); }
Test(inspect, generate_tiny) { run_cases("tiny_llama3.json", "generate"); }
Test(inspect, tokenize_stories260k) { run_cases("stories260K.json", "tokenize"); }
Test(inspect, score_stories260k) { run_cases("stories260K.json", "score"); }
Test(inspect, generate_stories260k) { run_cases("stories260K.json", "generate"); }

/* The value of option `opt` in a case's args, or NULL. */
static const char *arg_of(JsonObject *c, const char *opt) {
    JsonArray *a = json_object_get_array_member(c, "args");
    for (guint i = 0; i + 1 < json_array_get_length(a); i++)
        if (!strcmp(json_array_get_string_element(a, i), opt))
            return json_array_get_string_element(a, i + 1);
    return NULL;
}

static void add_string(GString *s, const char *key, const char *v) {
    JsonNode *n = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(n, v);
    char *t = json_to_string(n, FALSE);
    g_string_append_printf(s, "\"%s\":%s", key, t);
    g_free(t);
    json_node_unref(n);
}

/* Writes `lines` to a file in tmpdir; returns its path (g_free). */
static char *write_jsonl(const char *name, GString *lines) {
    char *p = g_build_filename(tmpdir, name, NULL);
    cr_assert(g_file_set_contents(p, lines->str, (gssize)lines->len, NULL));
    return p;
}

/* The output lines (JSON objects), by their "line". */
static GHashTable *by_line(const char *out) {
    GHashTable *h = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                          (GDestroyNotify)json_node_unref);
    char **ls = g_strsplit(out, "\n", -1);
    for (char **l = ls; *l; l++) {
        if (!**l) continue;
        JsonNode *n = parse(*l, strlen(*l));
        gint64 line = json_object_get_int_member(json_node_get_object(n), "line");
        cr_assert_gt(line, 0, "each object carries its line: %s", *l);
        g_hash_table_insert(h, GINT_TO_POINTER((int)line), n);
    }
    g_strfreev(ls);
    return h;
}

/* Error lines on stderr for the bad lines, in order, each one line naming FILE:LINE: and
 * the field. */
static void expect_errors(const char *err, const char *file, const int *lines,
                          const char *const *fields, int n) {
    char **ls = g_strsplit(err, "\n", -1);
    int k = 0;
    for (char **l = ls; *l; l++) {
        if (!**l) continue;
        cr_assert_lt(k, n, "unexpected stderr line: %s", *l);
        char *want = g_strdup_printf("baldro-host: %s:%d: %s", file, lines[k], fields[k]);
        cr_assert(g_str_has_prefix(*l, want), "stderr line %d: '%s', want prefix '%s'", k, *l,
                  want);
        g_free(want);
        k++;
    }
    cr_assert_eq(k, n, "%d error lines, want %d: %s", k, n, err);
    g_strfreev(ls);
}

Test(inspect, tokenize_input_lines_and_bad_lines) {
    JsonNode *keep;
    JsonObject *fx = load_fixture("tiny_llama3.json", &keep);
    JsonArray *cases = json_object_get_array_member(fx, "tokenize");
    GString *s = g_string_new(NULL);
    GArray *want_line = g_array_new(FALSE, FALSE, sizeof(guint)); /* case i -> line */
    int line = 0;
    static const int bad_lines[] = {2, 4, 6, 8, 10};
    static const char *const bad_fields[] = {"line", "answer", "question", "text", "line"};
    for (guint i = 0; i < json_array_get_length(cases); i++) {
        JsonObject *c = json_array_get_object_element(cases, i);
        const char *tpl = arg_of(c, "--template"), *text = arg_of(c, "--text");
        if (tpl && strcmp(tpl, "auto")) continue; /* --input: one template for all lines */
        if (line == 1) g_string_append(s, "{\"question\": \"unterminated\n"), line++;
        if (line == 3) g_string_append(s, "{\"question\": \"no answer\"}\n"), line++;
        if (line == 5) g_string_append(s, "{\"question\": 3, \"answer\": \"x\"}\n"), line++;
        if (line == 7) g_string_append(s, "{\"text\": [\"a\"]}\n   \n[1, 2]\n"), line += 3;
        g_string_append_c(s, '{');
        if (text) {
            add_string(s, "text", text);
        } else {
            add_string(s, "question", arg_of(c, "--question"));
            g_string_append_c(s, ',');
            add_string(s, "answer", arg_of(c, "--answer"));
            g_string_append(s, ",\"paraphrased_answer\":\"ignored\"");
        }
        g_string_append(s, "}\n");
        line++;
        guint l = (guint)line;
        g_array_append_val(want_line, i);
        g_array_append_val(want_line, l);
    }
    cr_assert_geq(line, 10, "the bad lines are interleaved");
    char *path = write_jsonl("items.jsonl", s);
    char *tok = g_build_filename(model_dir, "tokenizer.json", NULL);
    for (int via_stdin = 0; via_stdin < 2; via_stdin++) {
        char *args[] = {"tokenize", "--tokenizer", tok, "--input", via_stdin ? "-" : path, NULL};
        run_result r = run_host(args, via_stdin ? path : NULL);
        cr_assert_eq(r.status, 1, "bad lines make exit 1: %d %s", r.status, r.err);
        expect_errors(r.err, via_stdin ? "stdin" : path, bad_lines, bad_fields, 5);
        GHashTable *h = by_line(r.out);
        cr_assert_eq(g_hash_table_size(h), want_line->len / 2, "one output line per good line");
        for (guint k = 0; k < want_line->len; k += 2) {
            guint i = g_array_index(want_line, guint, k);
            guint l = g_array_index(want_line, guint, k + 1);
            JsonNode *got = g_hash_table_lookup(h, GINT_TO_POINTER((int)l));
            cr_assert_not_null(got, "no output for line %u", l);
            JsonObject *want = json_object_get_object_member(
                json_array_get_object_element(cases, i), "expect");
            check_tokenize(json_node_get_object(got), want, "--input");
        }
        g_hash_table_destroy(h);
        run_free(&r);
    }
    g_free(tok);
    g_free(path);
    g_array_free(want_line, TRUE);
    g_string_free(s, TRUE);
    json_node_unref(keep);
}

Test(inspect, score_input_lines_and_bad_lines) {
    JsonNode *keep;
    JsonObject *fx = load_fixture("tiny_llama3.json", &keep);
    JsonArray *cases = json_object_get_array_member(fx, "score");
    GString *s = g_string_new(NULL);
    guint first_qa = G_MAXUINT, ids_case = G_MAXUINT;
    for (guint i = 0; i < json_array_get_length(cases); i++) {
        JsonObject *c = json_array_get_object_element(cases, i);
        const char *tpl = arg_of(c, "--template");
        if (arg_of(c, "--ids")) ids_case = i;
        else if (tpl && !strcmp(tpl, "auto") && !arg_of(c, "--max-length") && first_qa == G_MAXUINT)
            first_qa = i;
    }
    cr_assert(first_qa != G_MAXUINT && ids_case != G_MAXUINT);
    JsonObject *qa = json_array_get_object_element(cases, first_qa);
    JsonObject *ids = json_array_get_object_element(cases, ids_case);
    /* line 1: ids, 2: text (not scored), 3: ids out of the vocabulary, 4: loss_from 0,
     * 5: question/answer, 6: ids with a string */
    char **idv = g_strsplit(arg_of(ids, "--ids"), " ", -1);
    char *idl = g_strjoinv(",", idv);
    g_string_append_printf(s, "{\"ids\":[%s],\"loss_from\":%s}\n", idl,
                           arg_of(ids, "--loss-from"));
    g_string_append(s, "{\"text\":\"no answer here\"}\n");
    g_string_append(s, "{\"ids\":[1,2,300],\"loss_from\":1}\n");
    g_string_append(s, "{\"ids\":[1,2,3],\"loss_from\":0}\n{");
    add_string(s, "question", arg_of(qa, "--question"));
    g_string_append_c(s, ',');
    add_string(s, "answer", arg_of(qa, "--answer"));
    g_string_append(s, "}\n{\"ids\":[1,\"2\"],\"loss_from\":1}\n");
    char *path = write_jsonl("score.jsonl", s);
    char *args[] = {"score", "--model", model_dir, "--input", path, NULL};
    run_result r = run_host(args, NULL);
    cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    /* reported as found: reading, encoding, then the model's vocabulary */
    static const int bad_lines[] = {2, 6, 4, 3};
    static const char *const bad_fields[] = {"text", "ids[1]", "loss_from", "ids: 300"};
    expect_errors(r.err, path, bad_lines, bad_fields, 4);
    GHashTable *h = by_line(r.out);
    cr_assert_eq(g_hash_table_size(h), 2);
    check_score(json_node_get_object(g_hash_table_lookup(h, GINT_TO_POINTER(1))),
                json_object_get_object_member(ids, "expect"), 1e-5, "--input ids");
    check_score(json_node_get_object(g_hash_table_lookup(h, GINT_TO_POINTER(5))),
                json_object_get_object_member(qa, "expect"), 1e-5, "--input question/answer");
    g_hash_table_destroy(h);
    run_free(&r);
    g_free(path);
    g_free(idl);
    g_strfreev(idv);
    g_string_free(s, TRUE);
    json_node_unref(keep);
}
