/* core/engine/model_hf.c: see model_hf.h. */
#include "engine/model_hf.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "engine/model_load.h"
#include "io/json_strict.h"
#include "io/json_write.h"
#include "io/safetensors.h"
#include "util/fsutil.h"

/* Files that travel with a checkpoint besides config.json and the weights. */
static const char *const k_side_files[] = {
    "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "tokenizer.model", "chat_template.jinja", NULL};

int baldro_model_open_hf_dir(const baldro_registry *reg, const baldro_ops *ops,
                             baldro_backend *be, const char *dir, baldro_model_limits limits,
                             baldro_model **out, baldro_error *err) {
    return baldro_model_open_hf_dir_train(reg, ops, be, dir, limits, 0, out, err);
}

int baldro_model_open_hf_dir_train(const baldro_registry *reg, const baldro_ops *ops,
                                   baldro_backend *be, const char *dir,
                                   baldro_model_limits limits, int64_t logits_bytes,
                                   baldro_model **out, baldro_error *err) {
    *out = NULL;
    char *cfg_path = g_build_filename(dir, "config.json", NULL), *text = NULL;
    GError *ge = NULL;
    int rc;
    if (!g_file_get_contents(cfg_path, &text, NULL, &ge)) {
        rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", cfg_path, ge->message);
        g_clear_error(&ge);
        g_free(cfg_path);
        return rc;
    }
    baldro_st_set *set = NULL;
    rc = baldro_st_open_index(dir, &set, err);
    if (rc == BALDRO_OK) {
        baldro_model_open_args a = {.hf_config_json = text, .source = cfg_path,
                                    .limits = limits, .logits_bytes = logits_bytes};
        rc = baldro_model_open(reg, ops, be, &a, out, err);
    }
    if (rc == BALDRO_OK) {
        rc = baldro_model_load_st_set(*out, set, dir, err);
        if (rc) {
            baldro_model_close(*out);
            *out = NULL;
        }
    }
    baldro_st_set_close(set);
    g_free(text);
    g_free(cfg_path);
    return rc;
}

static int copy_file(const char *from, const char *to, baldro_error *err) {
    char *data = NULL;
    gsize len = 0;
    GError *ge = NULL;
    if (!g_file_get_contents(from, &data, &len, &ge)) {
        int rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", from, ge->message);
        g_clear_error(&ge);
        return rc;
    }
    int rc = baldro_write_file_atomic(to, data, len, err);
    g_free(data);
    return rc;
}

static int remove_tree(const char *path) {
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *p = g_build_filename(path, name, NULL);
            g_remove(p);
            g_free(p);
        }
        g_dir_close(d);
    }
    return g_rmdir(path);
}

/* The weights, in shards of at most max_bytes (one tensor may exceed it alone), each
 * written by the atomic safetensors writer; the index when there is more than one. */
static int write_weights(baldro_model *m, const char *dir, size_t max_bytes, baldro_error *err) {
    const baldro_param *p;
    int32_t n;
    baldro_model_params(m, &p, &n);
    const baldro_ops *o = baldro_model_ops(m);
    baldro_backend *be = baldro_model_backend(m);
    /* Plan the shards: consecutive parameters, in checkpoint order. */
    int32_t *shard_of = g_new0(int32_t, (size_t)(n ? n : 1));
    int32_t shards = 0;
    size_t acc = 0, total = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t b = (size_t)baldro_tensor_numel(&p[i].value) * sizeof(float);
        if (i == 0 || (acc > 0 && acc + b > max_bytes)) {
            shards++;
            acc = 0;
        }
        shard_of[i] = shards - 1;
        acc += b;
        total += b;
    }
    int rc = BALDRO_OK;
    JsonBuilder *jb = json_builder_new();
    json_builder_begin_object(jb);
    json_builder_set_member_name(jb, "metadata");
    json_builder_begin_object(jb);
    json_builder_set_member_name(jb, "total_size");
    json_builder_add_int_value(jb, (gint64)total);
    json_builder_end_object(jb);
    json_builder_set_member_name(jb, "weight_map");
    json_builder_begin_object(jb);
    for (int32_t s = 0; s < shards && rc == BALDRO_OK; s++) {
        char *fname = shards == 1 ? g_strdup("model.safetensors")
                                  : g_strdup_printf("model-%05d-of-%05d.safetensors", s + 1,
                                                    shards);
        baldro_st_writer *w = baldro_st_writer_new();
        GPtrArray *bufs = g_ptr_array_new_with_free_func(g_free);
        rc = baldro_st_writer_set_metadata(w, "format", "pt", err);
        for (int32_t i = 0; i < n && rc == BALDRO_OK; i++) {
            if (shard_of[i] != s) continue;
            size_t k = (size_t)baldro_tensor_numel(&p[i].value);
            float *h = g_try_new(float, k ? k : 1);
            if (!h) {
                rc = baldro_error_set(err, BALDRO_ENOMEM, "%s: out of memory saving %s", dir,
                                      p[i].name);
                break;
            }
            g_ptr_array_add(bufs, h);
            if ((rc = o->download(be, h, p[i].value.data, k * sizeof(float)))) {
                rc = baldro_error_set(err, rc, "%s: %s", dir, o->last_error(be));
                break;
            }
            rc = baldro_st_writer_add(w, p[i].name, BALDRO_ST_F32, p[i].value.ndim,
                                      p[i].value.shape, h, err);
            json_builder_set_member_name(jb, p[i].name);
            json_builder_add_string_value(jb, fname);
        }
        if (rc == BALDRO_OK) {
            char *path = g_build_filename(dir, fname, NULL);
            rc = baldro_st_writer_write(w, path, err);
            g_free(path);
        }
        baldro_st_writer_free(w);
        g_ptr_array_free(bufs, TRUE);
        g_free(fname);
    }
    json_builder_end_object(jb);
    json_builder_end_object(jb);
    if (rc == BALDRO_OK && shards > 1) {
        char *path = g_build_filename(dir, "model.safetensors.index.json", NULL);
        rc = baldro_json_write_atomic(jb, path, err);
        g_free(path);
    }
    g_object_unref(jb);
    g_free(shard_of);
    return rc;
}

int baldro_model_save_hf_dir(baldro_model *m, const char *dir, const baldro_save_options *opt,
                             baldro_error *err) {
    baldro_save_options o = opt ? *opt : (baldro_save_options){0};
    if (!o.max_shard_bytes) o.max_shard_bytes = (size_t)5000 * 1000 * 1000;
    if (g_file_test(dir, G_FILE_TEST_EXISTS) && !o.overwrite)
        return baldro_error_set(err, BALDRO_EEXIST, "%s: already exists (not overwriting)", dir);
    char *parent = g_path_get_dirname(dir);
    int rc = baldro_mkdir_p(parent, err);
    char *tmp = g_strdup_printf("%s.partial-%d", dir, (int)getpid());
    if (rc == BALDRO_OK && g_mkdir(tmp, 0777) != 0)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot create: %s", tmp, g_strerror(errno));
    if (rc == BALDRO_OK) {
        const char *cfg = baldro_model_config_json(m);
        char *path = g_build_filename(tmp, "config.json", NULL);
        rc = baldro_write_file_atomic(path, cfg, strlen(cfg), err);
        g_free(path);
    }
    if (rc == BALDRO_OK) rc = write_weights(m, tmp, o.max_shard_bytes, err);
    for (const char *const *f = k_side_files; rc == BALDRO_OK && o.copy_files_from && *f; f++) {
        char *from = g_build_filename(o.copy_files_from, *f, NULL);
        char *to = g_build_filename(tmp, *f, NULL);
        if (g_file_test(from, G_FILE_TEST_IS_REGULAR)) rc = copy_file(from, to, err);
        g_free(from);
        g_free(to);
    }
    if (rc == BALDRO_OK) {
        /* Swap into place: an existing directory is moved aside first, then removed. */
        char *old = NULL;
        if (g_file_test(dir, G_FILE_TEST_EXISTS)) {
            old = g_strdup_printf("%s.old-%d", dir, (int)getpid());
            if (g_rename(dir, old) != 0)
                rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot move aside: %s", dir,
                                      g_strerror(errno));
        }
        if (rc == BALDRO_OK && g_rename(tmp, dir) != 0)
            rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot rename %s into place: %s", dir,
                                  tmp, g_strerror(errno));
        if (rc == BALDRO_OK && old) remove_tree(old);
        g_free(old);
    }
    if (rc != BALDRO_OK) remove_tree(tmp);
    g_free(tmp);
    g_free(parent);
    return rc;
}

/* eos_token_id of one JSON file; 1 if the file has the field, 0 if not (or no file). */
static int end_tokens_from(const char *path, int32_t *ids, int32_t cap, int32_t *n,
                           baldro_error *err, int *rc) {
    char *text = NULL;
    gsize len = 0;
    *rc = BALDRO_OK;
    if (!g_file_get_contents(path, &text, &len, NULL)) return 0;
    JsonNode *root = baldro_json_parse(text, len, path, "eos_token_id", err);
    g_free(text);
    if (!root) {
        *rc = err ? err->code : BALDRO_EINVAL;
        return 1;
    }
    int found = 0;
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonNode *e = o ? json_object_get_member(o, "eos_token_id") : NULL;
    if (e && !JSON_NODE_HOLDS_NULL(e)) {
        found = 1;
        *n = 0;
        JsonArray *arr = JSON_NODE_HOLDS_ARRAY(e) ? json_node_get_array(e) : NULL;
        guint count = arr ? json_array_get_length(arr) : 1;
        for (guint i = 0; i < count && *rc == BALDRO_OK; i++) {
            JsonNode *v = arr ? json_array_get_element(arr, i) : e;
            int64_t id;
            if (baldro_json_int(v, &id) || id < 0 || id > INT32_MAX)
                *rc = baldro_error_set(err, BALDRO_EINVAL,
                                       "%s: eos_token_id must be a token id or a list of them",
                                       path);
            else if (*n < cap)
                ids[(*n)++] = (int32_t)id;
        }
    }
    json_node_unref(root);
    return found;
}

int baldro_hf_end_tokens(const char *dir, int32_t *ids, int32_t cap, int32_t *n,
                         baldro_error *err) {
    *n = 0;
    const char *files[] = {"generation_config.json", "config.json"};
    for (int i = 0; i < 2; i++) {
        char *p = g_build_filename(dir, files[i], NULL);
        int rc, found = end_tokens_from(p, ids, cap, n, err, &rc);
        g_free(p);
        if (rc || found) return rc;
    }
    return BALDRO_OK;
}
