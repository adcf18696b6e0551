/*
 * core/io/safetensors_index.c: sharded checkpoints (model.safetensors.index.json), and a
 * single model.safetensors seen through the same interface.
 *
 * The index is checked against the shards both ways: a weight_map entry whose shard lacks
 * the tensor, a shard tensor missing from weight_map, and a name present in two shards are
 * all errors. Loading a checkpoint with a silently dropped or shadowed weight would train
 * or evaluate the wrong model without any visible failure.
 */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/safetensors.h"
#include "io/safetensors_internal.h"

#define ST_INDEX_NAME "model.safetensors.index.json"
#define ST_SINGLE_NAME "model.safetensors"

typedef struct {
    const baldro_st_tensor *t;
    const baldro_st_file *f;
} st_set_ref;

struct baldro_st_set {
    char *path;          /* the index or the single file, for messages */
    GPtrArray *shards;   /* baldro_st_file *, owned, sorted by shard name */
    st_set_ref *refs;    /* every tensor: shards in order, each in file order */
    size_t n_refs;
    GHashTable *by_name; /* name -> st_set_ref * */
};

static baldro_st_set *st_set_new(const char *path) {
    baldro_st_set *s = g_new0(baldro_st_set, 1);
    s->path = g_strdup(path);
    s->shards = g_ptr_array_new_with_free_func((GDestroyNotify)baldro_st_close);
    s->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return s;
}

void baldro_st_set_close(baldro_st_set *s) {
    if (!s) return;
    g_hash_table_destroy(s->by_name);
    g_free(s->refs);
    g_ptr_array_free(s->shards, TRUE);
    g_free(s->path);
    g_free(s);
}

/* Fill refs and by_name from the shards; names are unique across shards by now. */
static void st_set_index_tensors(baldro_st_set *s) {
    size_t n = 0;
    for (guint i = 0; i < s->shards->len; i++) n += baldro_st_count(s->shards->pdata[i]);
    s->refs = g_new0(st_set_ref, n ? n : 1);
    s->n_refs = n;
    size_t k = 0;
    for (guint i = 0; i < s->shards->len; i++) {
        const baldro_st_file *f = s->shards->pdata[i];
        for (size_t j = 0; j < baldro_st_count(f); j++) {
            s->refs[k].t = baldro_st_at(f, j);
            s->refs[k].f = f;
            g_hash_table_insert(s->by_name, (char *)s->refs[k].t->name, &s->refs[k]);
            k++;
        }
    }
}

static int st_open_single(const char *path, baldro_st_set **out, baldro_error *err) {
    baldro_st_file *f = NULL;
    int rc = baldro_st_open(path, &f, err);
    if (rc != BALDRO_OK) return rc;
    baldro_st_set *s = st_set_new(path);
    g_ptr_array_add(s->shards, f);
    st_set_index_tensors(s);
    *out = s;
    return BALDRO_OK;
}

/* A shard name must stay inside the checkpoint directory. */
static int st_shard_name_ok(const char *name) {
    if (!name[0] || name[0] == '/') return 0;
    char **parts = g_strsplit(name, "/", -1);
    int ok = 1;
    for (char **p = parts; *p; p++)
        if (strcmp(*p, "..") == 0) ok = 0;
    g_strfreev(parts);
    return ok;
}

static int st_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int st_open_index_json(const char *idx, baldro_st_set **out, baldro_error *err) {
    struct stat st;
    if (stat(idx, &st) != 0)
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot stat: %s", idx, strerror(errno));
    if ((uint64_t)st.st_size > BALDRO_ST_MAX_HEADER)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: index of %lld bytes is above the %llu-byte "
                                "limit", idx, (long long)st.st_size,
                                (unsigned long long)BALDRO_ST_MAX_HEADER);
    char *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(idx, &text, &len, &gerr)) {
        int rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", idx, gerr->message);
        g_error_free(gerr);
        return rc;
    }
    JsonNode *root = baldro_json_parse(text, len, idx, "index", err);
    g_free(text);
    if (!root) return err ? err->code : BALDRO_EINVAL;

    int rc = BALDRO_OK;
    baldro_st_set *s = NULL;
    GHashTable *by_shard = NULL; /* shard name -> baldro_st_file * (borrowed from s) */
    GList *names = NULL;
    const char **shard_names = NULL;
    JsonObject *wm = NULL;
    if (JSON_NODE_HOLDS_OBJECT(root)) {
        JsonNode *wn = json_object_get_member(json_node_get_object(root), "weight_map");
        if (!wn) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: weight_map: missing", idx);
            goto out;
        }
        if (!JSON_NODE_HOLDS_OBJECT(wn)) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: weight_map: not a JSON object", idx);
            goto out;
        }
        wm = json_node_get_object(wn);
    } else {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: index: not a JSON object", idx);
        goto out;
    }

    /* Every value a safe relative file name; collect the distinct ones. */
    by_shard = g_hash_table_new(g_str_hash, g_str_equal);
    names = json_object_get_members(wm);
    for (GList *l = names; l; l = l->next) {
        JsonNode *v = json_object_get_member(wm, l->data);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: weight_map: tensor '%s': shard is not a string", idx,
                                  (const char *)l->data);
            goto out;
        }
        const char *shard = json_node_get_string(v);
        if (!st_shard_name_ok(shard)) {
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: weight_map: tensor '%s': shard '%s' is not a relative path "
                                  "inside the checkpoint directory",
                                  idx, (const char *)l->data, shard);
            goto out;
        }
        g_hash_table_insert(by_shard, (char *)shard, NULL);
    }

    /* Open each shard once, in name order (model-00001-of-00003 ... sorts as intended). */
    guint n_shards = 0;
    shard_names = (const char **)g_hash_table_get_keys_as_array(by_shard, &n_shards);
    qsort(shard_names, n_shards, sizeof *shard_names, st_cmp_str);
    s = st_set_new(idx);
    char *dir = g_path_get_dirname(idx);
    for (guint i = 0; i < n_shards; i++) {
        char *p = g_build_filename(dir, shard_names[i], NULL);
        baldro_st_file *f = NULL;
        baldro_error inner = { 0 };
        rc = baldro_st_open(p, &f, &inner);
        g_free(p);
        if (rc != BALDRO_OK) {
            baldro_error_set(err, rc, "%s: weight_map: shard '%s': %s", idx, shard_names[i],
                             inner.msg);
            break;
        }
        g_ptr_array_add(s->shards, f);
        g_hash_table_insert(by_shard, (char *)shard_names[i], f);
    }
    g_free(dir);
    if (rc != BALDRO_OK) goto out;

    /* weight_map -> shards: each name is where the index says. */
    for (GList *l = names; l; l = l->next) {
        const char *name = l->data;
        const char *shard = json_node_get_string(json_object_get_member(wm, name));
        const baldro_st_file *f = g_hash_table_lookup(by_shard, shard);
        if (!baldro_st_find(f, name)) {
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: weight_map: tensor '%s' is mapped to shard '%s', which "
                                  "lacks it",
                                  idx, name, shard);
            goto out;
        }
    }
    /* shards -> weight_map: nothing unlisted, nothing in two shards. */
    for (guint i = 0; i < s->shards->len; i++) {
        const baldro_st_file *f = s->shards->pdata[i];
        for (size_t j = 0; j < baldro_st_count(f); j++) {
            const char *name = baldro_st_at(f, j)->name;
            JsonNode *v = json_object_get_member(wm, name);
            if (!v) {
                rc = baldro_error_set(err, BALDRO_EINVAL,
                                      "%s: weight_map: tensor '%s' of shard '%s' is not listed",
                                      idx, name, shard_names[i]);
                goto out;
            }
            const char *mapped = json_node_get_string(v);
            if (strcmp(mapped, shard_names[i]) != 0) {
                rc = baldro_error_set(err, BALDRO_EINVAL,
                                      "%s: weight_map: tensor '%s' appears in two shards, '%s' "
                                      "and '%s'",
                                      idx, name, mapped, shard_names[i]);
                goto out;
            }
        }
    }
    st_set_index_tensors(s);
    *out = s;
    s = NULL;
out:
    baldro_st_set_close(s);
    g_free(shard_names);
    g_list_free(names);
    if (by_shard) g_hash_table_destroy(by_shard);
    json_node_unref(root);
    return rc;
}

int baldro_st_open_index(const char *path, baldro_st_set **out, baldro_error *err) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        char *idx = g_build_filename(path, ST_INDEX_NAME, NULL);
        char *single = g_build_filename(path, ST_SINGLE_NAME, NULL);
        int rc;
        if (g_file_test(idx, G_FILE_TEST_EXISTS))
            rc = st_open_index_json(idx, out, err);
        else if (g_file_test(single, G_FILE_TEST_EXISTS))
            rc = st_open_single(single, out, err);
        else
            rc = baldro_error_set(err, BALDRO_ENOTFOUND,
                                  "%s: neither " ST_INDEX_NAME " nor " ST_SINGLE_NAME " found",
                                  path);
        g_free(idx);
        g_free(single);
        return rc;
    }
    if (g_str_has_suffix(path, ".json")) return st_open_index_json(path, out, err);
    return st_open_single(path, out, err);
}

size_t baldro_st_set_count(const baldro_st_set *s) { return s->n_refs; }

const baldro_st_tensor *baldro_st_set_at(const baldro_st_set *s, size_t i) {
    return i < s->n_refs ? s->refs[i].t : NULL;
}

const baldro_st_tensor *baldro_st_set_find(const baldro_st_set *s, const char *name) {
    const st_set_ref *r = name ? g_hash_table_lookup(s->by_name, name) : NULL;
    return r ? r->t : NULL;
}

const baldro_st_file *baldro_st_set_file_of(const baldro_st_set *s, const char *name) {
    const st_set_ref *r = name ? g_hash_table_lookup(s->by_name, name) : NULL;
    return r ? r->f : NULL;
}

size_t baldro_st_set_shard_count(const baldro_st_set *s) { return s->shards->len; }

const baldro_st_file *baldro_st_set_shard(const baldro_st_set *s, size_t i) {
    return i < s->shards->len ? s->shards->pdata[i] : NULL;
}

static const baldro_st_file *st_set_need(const baldro_st_set *s, const char *name,
                                         baldro_error *err) {
    const baldro_st_file *f = baldro_st_set_file_of(s, name);
    if (!f)
        baldro_error_set(err, BALDRO_ENOTFOUND, "%s: tensor '%s': not in the checkpoint", s->path,
                         name ? name : "(null)");
    return f;
}

int baldro_st_set_read_f32(const baldro_st_set *s, const char *name, float *dst, size_t n,
                           baldro_error *err) {
    const baldro_st_file *f = st_set_need(s, name, err);
    return f ? baldro_st_read_f32(f, name, dst, n, err) : BALDRO_ENOTFOUND;
}

int baldro_st_set_read_f64(const baldro_st_set *s, const char *name, double *dst, size_t n,
                           baldro_error *err) {
    const baldro_st_file *f = st_set_need(s, name, err);
    return f ? baldro_st_read_f64(f, name, dst, n, err) : BALDRO_ENOTFOUND;
}

int baldro_st_set_read_i32(const baldro_st_set *s, const char *name, int32_t *dst, size_t n,
                           baldro_error *err) {
    const baldro_st_file *f = st_set_need(s, name, err);
    return f ? baldro_st_read_i32(f, name, dst, n, err) : BALDRO_ENOTFOUND;
}
