/* core/pipeline/step.c: step hashes, fingerprints and step.json (see step.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "pipeline/step.h"

#include <errno.h>
#include <ftw.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/json_write.h"
#include "util/fsutil.h"

int baldro_step_apply_finetune(baldro_config *cfg, baldro_error *err) {
    double lr = 0;
    int64_t epochs = 0, seed = -1;
    baldro_config_get_float(cfg, "finetune.lr", &lr);
    baldro_config_get_int(cfg, "finetune.epochs", &epochs);
    baldro_config_get_int(cfg, "finetune.seed", &seed);
    char buf[96];
    if (lr > 0) {
        g_snprintf(buf, sizeof buf, "trainer.lr=%.17g", lr);
        if (baldro_config_set_override(cfg, buf, err)) return err->code;
    }
    if (epochs > 0) {
        g_snprintf(buf, sizeof buf, "trainer.epochs=%lld", (long long)epochs);
        if (baldro_config_set_override(cfg, buf, err)) return err->code;
    }
    if (seed >= 0) {
        g_snprintf(buf, sizeof buf, "run.seed=%lld", (long long)seed);
        if (baldro_config_set_override(cfg, buf, err)) return err->code;
    }
    return BALDRO_OK;
}

/* What each kind of step reads from the config. Runtime settings (backend, device) are
 * left out on purpose: a model trained on the GPU is as good a target as one trained on
 * the CPU, and re-training because the backend changed would surprise. model.path is
 * left out of unlearn and eval: the model they read is named by its step's hash. */
static const char *const k_finetune[] = {"data", "model", "trainer", "run.seed", NULL};
static const char *const k_unlearn[] = {"data", "model", "!model.path", "trainer", "objective",
                                        "objectives", "baldro", "run.seed", NULL};
static const char *const k_eval[] = {"data", "model.template", "model.tokenizer", "eval",
                                     "metrics", "!eval.retain_logs", NULL};

char *baldro_step_inputs(const baldro_config *cfg, baldro_step_kind kind, const char *name,
                         const char *upstream) {
    const char *const *keys = kind == BALDRO_STEP_FINETUNE ? k_finetune
                            : kind == BALDRO_STEP_UNLEARN  ? k_unlearn
                                                           : k_eval;
    char *body = baldro_config_canonical(cfg, keys);
    char *text = g_strdup_printf("step = %s\n%s%s", name, body, upstream ? upstream : "");
    g_free(body);
    return text;
}

char *baldro_step_hash(const char *text) {
    return g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
}

static void fp_add(GPtrArray *lines, const char *rel, const char *full) {
    struct stat st;
    if (stat(full, &st) != 0) return;
    g_ptr_array_add(lines, g_strdup_printf("%s %lld %lld.%09ld", rel, (long long)st.st_size,
                                           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec));
}

static int cmp_str(gconstpointer a, gconstpointer b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int baldro_step_fingerprint(const char *path, char **hex, baldro_error *err) {
    *hex = NULL;
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return baldro_error_set(err, BALDRO_ENOTFOUND, "%s: no such file or directory", path);
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        fp_add(lines, ".", path);
    } else {
        GDir *d = g_dir_open(path, 0, NULL);
        const char *n;
        while (d && (n = g_dir_read_name(d))) {
            char *full = g_build_filename(path, n, NULL);
            if (g_file_test(full, G_FILE_TEST_IS_DIR)) {
                GDir *sd = g_dir_open(full, 0, NULL);
                const char *m;
                while (sd && (m = g_dir_read_name(sd))) {
                    char *rel = g_build_filename(n, m, NULL);
                    char *f2 = g_build_filename(full, m, NULL);
                    fp_add(lines, rel, f2);
                    g_free(f2);
                    g_free(rel);
                }
                if (sd) g_dir_close(sd);
            } else {
                fp_add(lines, n, full);
            }
            g_free(full);
        }
        if (d) g_dir_close(d);
    }
    g_ptr_array_sort(lines, cmp_str);
    GString *all = g_string_new(NULL);
    for (guint i = 0; i < lines->len; i++)
        g_string_append_printf(all, "%s\n", (char *)g_ptr_array_index(lines, i));
    *hex = baldro_step_hash(all->str);
    g_string_free(all, TRUE);
    g_ptr_array_free(lines, TRUE);
    return BALDRO_OK;
}

void baldro_step_record_clear(baldro_step_record *rec) {
    g_free(rec->status);
    g_free(rec->hash);
    memset(rec, 0, sizeof *rec);
}

int baldro_step_read(const char *dir, baldro_step_record *rec, baldro_error *err) {
    memset(rec, 0, sizeof *rec);
    char *path = g_build_filename(dir, "step.json", NULL);
    int rc = BALDRO_OK;
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) goto out;
    JsonParser *p = json_parser_new();
    GError *ge = NULL;
    if (!json_parser_load_from_file(p, path, &ge)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: not JSON (%s)", path, ge->message);
        g_error_free(ge);
        g_object_unref(p);
        goto out;
    }
    JsonNode *root = json_parser_get_root(p);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    const char *fields[] = {"status", "hash"};
    for (int i = 0; i < 2 && rc == BALDRO_OK; i++) {
        JsonNode *n = o ? json_object_get_member(o, fields[i]) : NULL;
        if (!n || json_node_get_value_type(n) != G_TYPE_STRING)
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %s: missing or not a string", path,
                                  fields[i]);
        else if (i == 0) rec->status = g_strdup(json_node_get_string(n));
        else rec->hash = g_strdup(json_node_get_string(n));
    }
    if (rc == BALDRO_OK && o && json_object_has_member(o, "seconds")) {
        JsonNode *n = json_object_get_member(o, "seconds");
        GType t = json_node_get_value_type(n);
        if (t == G_TYPE_DOUBLE || t == G_TYPE_INT64) rec->seconds = json_node_get_double(n);
    }
    g_object_unref(p);
    if (rc) baldro_step_record_clear(rec);
out:
    g_free(path);
    return rc;
}

int baldro_step_write(const char *dir, const char *name, const char *status, const char *hash,
                      const char *inputs, double seconds, baldro_error *err) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "baldro-step/1");
    json_builder_set_member_name(b, "step");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, status);
    json_builder_set_member_name(b, "hash");
    json_builder_add_string_value(b, hash);
    json_builder_set_member_name(b, "seconds");
    json_builder_add_double_value(b, seconds);
    GDateTime *now = g_date_time_new_now_utc();
    char *iso = g_date_time_format_iso8601(now);
    json_builder_set_member_name(b, "written");
    json_builder_add_string_value(b, iso);
    g_free(iso);
    g_date_time_unref(now);
    /* The inputs themselves, one string per line: `diff` two step.json files to see why
     * a step ran again. */
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_array(b);
    char **lines = g_strsplit(inputs ? inputs : "", "\n", -1);
    for (char **l = lines; *l; l++)
        if (**l) json_builder_add_string_value(b, *l);
    g_strfreev(lines);
    json_builder_end_array(b);
    json_builder_end_object(b);
    char *path = g_build_filename(dir, "step.json", NULL);
    int rc = baldro_json_write_atomic(b, path, err);
    g_free(path);
    g_object_unref(b);
    return rc;
}

char *baldro_step_latest_checkpoint(const char *dir) {
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) return NULL;
    long long best = -1;
    const char *n;
    while ((n = g_dir_read_name(d))) {
        if (strncmp(n, "checkpoint-", 11) != 0) continue;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(n + 11, &end, 10);
        if (errno || !end || *end || v < 0 || v <= best) continue;
        char *st = g_build_filename(dir, n, "trainer_state.json", NULL);
        if (g_file_test(st, G_FILE_TEST_IS_REGULAR)) best = v;
        g_free(st);
    }
    g_dir_close(d);
    return best < 0 ? NULL : g_strdup_printf("%s/checkpoint-%lld", dir, best);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int baldro_step_clear_checkpoints(const char *dir, baldro_error *err) {
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) return BALDRO_OK;
    const char *n;
    int rc = BALDRO_OK;
    while (rc == BALDRO_OK && (n = g_dir_read_name(d))) {
        if (strncmp(n, "checkpoint-", 11) != 0) continue;
        char *full = g_build_filename(dir, n, NULL);
        if (nftw(full, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
            rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot remove a stale checkpoint (%s)",
                                  full, g_strerror(errno));
        g_free(full);
    }
    g_dir_close(d);
    return rc;
}
