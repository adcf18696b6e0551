/*
 * bench/bench_tokenizer.c: encode throughput, one thread, over every TOFU question and
 * answer (each encoded on its own, as training does), against HF `tokenizers` on the same
 * text in the same run (bench/tokenizer_peer.py).
 *   build/bench/bench_tokenizer [TOKENIZER_JSON [TOFU_JSONL [PYTHON]]]
 * Defaults: ../shared's Llama-3 tokenizer and TOFU full.json, /work/venv-oracle/bin/python
 * (or $BALDRO_ORACLE_PYTHON); the peer is skipped when there is no such python.
 * Two modes: "items" encodes each question and answer on its own (per-call overhead
 * included, on both sides), "concat" encodes all of them joined by "\n" as one text.
 * MB/s counts 1e6 bytes of UTF-8 input; the best of 5 passes is reported.
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

#define REPS 5

static GPtrArray *load_texts(const char *path, size_t *bytes) {
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) return NULL;
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    char **lines = g_strsplit(text, "\n", -1);
    *bytes = 0;
    for (char **l = lines; *l; l++) {
        if (!**l) continue;
        JsonNode *n = json_from_string(*l, NULL);
        if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
            if (n) json_node_unref(n);
            continue;
        }
        JsonObject *o = json_node_get_object(n);
        const char *keys[] = { "question", "answer" };
        for (int k = 0; k < 2; k++) {
            if (!json_object_has_member(o, keys[k])) continue;
            char *s = g_strdup(json_object_get_string_member(o, keys[k]));
            *bytes += strlen(s);
            g_ptr_array_add(out, s);
        }
        json_node_unref(n);
    }
    g_strfreev(lines);
    g_free(text);
    return out;
}

int main(int argc, char **argv) {
    char *src = g_path_get_dirname(__FILE__); /* bench/ in the source tree */
    char *root = g_path_get_dirname(src);
    char *def_tok = g_build_filename(root, "..", "shared", "models", "tokenizers", "llama3",
                                     "tokenizer.json", NULL);
    char *def_tofu = g_build_filename(root, "..", "shared", "data", "tofu", "full.json", NULL);
    char *peer = g_build_filename(src, "tokenizer_peer.py", NULL);
    const char *tok_path = argc > 1 ? argv[1] : def_tok;
    const char *tofu = argc > 2 ? argv[2] : def_tofu;
    const char *py = argc > 3 ? argv[3] : g_getenv("BALDRO_ORACLE_PYTHON");
    if (!py) py = "/work/venv-oracle/bin/python";

    baldro_error err = { 0 };
    baldro_tokenizer *t = NULL;
    gint64 t0 = g_get_monotonic_time();
    if (baldro_tok_load_json(tok_path, &t, &err) != BALDRO_OK) {
        fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
        return 1;
    }
    double load_s = (double)(g_get_monotonic_time() - t0) / 1e6;
    size_t bytes = 0;
    GPtrArray *texts = load_texts(tofu, &bytes);
    if (!texts || texts->len == 0) {
        fprintf(stderr, "bench_tokenizer: %s: no questions or answers\n", tofu);
        return 1;
    }
    double best = 1e30;
    size_t ntok = 0;
    for (int r = 0; r < REPS; r++) {
        ntok = 0;
        gint64 s = g_get_monotonic_time();
        for (guint i = 0; i < texts->len; i++) {
            const char *x = g_ptr_array_index(texts, i);
            int32_t *ids = NULL;
            size_t n = 0;
            if (baldro_tok_encode(t, x, strlen(x), 0, &ids, &n, &err) != BALDRO_OK) {
                fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
                return 1;
            }
            ntok += n;
            g_free(ids);
        }
        double dt = (double)(g_get_monotonic_time() - s) / 1e6;
        if (dt < best) best = dt;
    }
    double c_mbs = (double)bytes / best / 1e6;
    GString *cat = g_string_new(NULL);
    for (guint i = 0; i < texts->len; i++) {
        if (i) g_string_append_c(cat, '\n');
        g_string_append(cat, g_ptr_array_index(texts, i));
    }
    double best_cat = 1e30;
    size_t ntok_cat = 0;
    for (int r = 0; r < REPS; r++) {
        int32_t *ids = NULL;
        gint64 s = g_get_monotonic_time();
        if (baldro_tok_encode(t, cat->str, cat->len, 0, &ids, &ntok_cat, &err) != BALDRO_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
            return 1;
        }
        double dt = (double)(g_get_monotonic_time() - s) / 1e6;
        if (dt < best_cat) best_cat = dt;
        g_free(ids);
    }
    double c_cat = (double)cat->len / best_cat / 1e6;
    printf("tokenizer   %s\n", tok_path);
    printf("text        %u items, %.3f MB, %zu tokens\n", texts->len, (double)bytes / 1e6, ntok);
    printf("load        %.3f s\n", load_s);
    printf("baldro      items %.2f MB/s (%.0f tokens/s), concat %.2f MB/s (%zu tokens)\n",
           c_mbs, (double)ntok / best, c_cat, ntok_cat);

    if (g_file_test(py, G_FILE_TEST_IS_EXECUTABLE)) {
        char reps[8];
        g_snprintf(reps, sizeof reps, "%d", REPS);
        char *pargv[] = { (char *)py, peer, (char *)tok_path, (char *)tofu, reps, NULL };
        char *out = NULL;
        int status = 0;
        if (g_spawn_sync(NULL, pargv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                         &status, NULL) && status == 0 && out) {
            double p_mbs = 0, p_cat = 0;
            size_t ptok = 0, ptok_cat = 0;
            if (sscanf(out, "peer_mb_s %lf tokens %zu concat_mb_s %lf tokens %zu", &p_mbs, &ptok,
                       &p_cat, &ptok_cat) == 4 && p_mbs > 0 && p_cat > 0) {
                printf("hf          items %.2f MB/s (%zu tokens%s), concat %.2f MB/s (%zu tokens%s)\n",
                       p_mbs, ptok, ptok == ntok ? ", same" : ", DIFFERS", p_cat, ptok_cat,
                       ptok_cat == ntok_cat ? ", same" : ", DIFFERS");
                printf("ratio       items %.2fx, concat %.2fx (baldro / hf)\n", c_mbs / p_mbs,
                       c_cat / p_cat);
            }
        } else {
            printf("hf tokenizers: peer failed (%s %s)\n", py, peer);
        }
        g_free(out);
    } else {
        printf("hf tokenizers: skipped (no %s)\n", py);
    }
    g_string_free(cat, TRUE);
    g_ptr_array_free(texts, TRUE);
    baldro_tok_free(t);
    g_free(peer);
    g_free(def_tofu);
    g_free(def_tok);
    g_free(root);
    g_free(src);
    return 0;
}
