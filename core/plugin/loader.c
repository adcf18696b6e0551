/* core/plugin/loader.c: see loader.h for the load steps. */
#include "plugin/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baldro/version.h"
#include "util/fsutil.h"
#include "util/log.h"

/* What the host knows about a plugin while and after it initialises. The ctx stays
 * alive as long as the plugin is loaded, because a plugin may keep it for logging. */
struct baldro_plugin_ctx {
    baldro_loader *ld;
    baldro_plugin_rec *rec;
    int in_init;         /* register calls are only valid during init       */
    int register_failed; /* any failed register call fails the whole plugin */
    baldro_error first_error;
    char *set_error;     /* last message from host->set_error()             */
};

typedef struct plugin_entry {
    baldro_plugin_rec rec;
    void *handle;
    struct baldro_plugin_ctx *ctx;
} plugin_entry;

struct baldro_loader {
    GPtrArray *plugins;   /* plugin_entry*, load order                            */
    GPtrArray *rejected;  /* baldro_rejection*                                    */
    GHashTable *seen;     /* realpath -> NULL: every file tried, loaded or not    */
    GHashTable *names;    /* plugin name -> plugin_entry* (borrowed)              */
    baldro_registry *reg;
};

/* ---- host API table ------------------------------------------------------------ */

static void host_log(baldro_plugin_ctx *ctx, baldro_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if ((unsigned)level > BALDRO_LOG_DEBUG) level = BALDRO_LOG_DEBUG;
    baldro_logv(level, ctx && ctx->rec ? ctx->rec->name : "plugin", fmt, ap);
    va_end(ap);
}

static void host_set_error(baldro_plugin_ctx *ctx, const char *fmt, ...) {
    if (!ctx) return;
    va_list ap;
    va_start(ap, fmt);
    g_free(ctx->set_error);
    ctx->set_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static int host_register(baldro_plugin_ctx *ctx, baldro_object_kind kind, const void *vt) {
    if (!ctx) return BALDRO_EINVAL;
    baldro_error err;
    baldro_error_clear(&err);
    int rc;
    if (!ctx->in_init) {
        rc = baldro_error_set(&err, BALDRO_ESTATE, "register_%s called outside init",
                              baldro_kind_name(kind));
        baldro_log(BALDRO_LOG_ERROR, ctx->rec->name, "%s (ignored)", err.msg);
        return rc;
    }
    rc = baldro_registry_add(ctx->ld->reg, kind, vt, ctx->rec, &err);
    if (rc != BALDRO_OK) {
        if (!ctx->register_failed) ctx->first_error = err;
        ctx->register_failed = 1;
        return rc;
    }
    ctx->rec->n_objects++;
    return BALDRO_OK;
}

static int host_register_model(baldro_plugin_ctx *ctx, const baldro_model_vtable *vt) {
    return host_register(ctx, BALDRO_KIND_MODEL, vt);
}
static int host_register_objective(baldro_plugin_ctx *ctx, const baldro_objective_vtable *vt) {
    return host_register(ctx, BALDRO_KIND_OBJECTIVE, vt);
}
static int host_register_metric(baldro_plugin_ctx *ctx, const baldro_metric_vtable *vt) {
    return host_register(ctx, BALDRO_KIND_METRIC, vt);
}
static int host_register_classifier(baldro_plugin_ctx *ctx, const baldro_classifier_vtable *vt) {
    return host_register(ctx, BALDRO_KIND_CLASSIFIER, vt);
}

static const baldro_host_api k_host_api = {
    .struct_size = sizeof(baldro_host_api),
    .abi_major = BALDRO_ABI_MAJOR,
    .abi_minor = BALDRO_ABI_MINOR,
    .host_version = BALDRO_VERSION_STRING,
    .log = host_log,
    .set_error = host_set_error,
    .register_model = host_register_model,
    .register_objective = host_register_objective,
    .register_metric = host_register_metric,
    .register_classifier = host_register_classifier,
};

const baldro_host_api *baldro_host_api_table(void) { return &k_host_api; }

/* ---- loader -------------------------------------------------------------------- */

static void rejection_free(gpointer p) {
    baldro_rejection *r = p;
    g_free(r->path);
    g_free(r->step);
    g_free(r->reason);
    g_free(r);
}

static void entry_free(plugin_entry *e) {
    g_free(e->rec.path);
    g_free(e->rec.name);
    g_free(e->rec.version);
    g_free(e->rec.description);
    if (e->ctx) {
        g_free(e->ctx->set_error);
        g_free(e->ctx);
    }
    g_free(e);
}

baldro_loader *baldro_loader_new(void) {
    baldro_loader *ld = g_new0(baldro_loader, 1);
    ld->plugins = g_ptr_array_new();
    ld->rejected = g_ptr_array_new_with_free_func(rejection_free);
    ld->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ld->names = g_hash_table_new(g_str_hash, g_str_equal);
    ld->reg = baldro_registry_new();
    return ld;
}

void baldro_loader_free(baldro_loader *ld) {
    if (!ld) return;
    /* Objects point into plugin memory: drop them before closing the libraries, and
     * close in reverse load order. */
    baldro_registry_free(ld->reg);
    for (guint i = ld->plugins->len; i-- > 0;) {
        plugin_entry *e = g_ptr_array_index(ld->plugins, i);
        if (e->handle) dlclose(e->handle);
        entry_free(e);
    }
    g_ptr_array_free(ld->plugins, TRUE);
    g_ptr_array_free(ld->rejected, TRUE);
    g_hash_table_destroy(ld->seen);
    g_hash_table_destroy(ld->names);
    g_free(ld);
}

static int reject(baldro_loader *ld, const char *path, const char *step, baldro_error *err,
                  int code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int reject(baldro_loader *ld, const char *path, const char *step, baldro_error *err,
                  int code, const char *fmt, ...) {
    baldro_rejection *r = g_new0(baldro_rejection, 1);
    va_list ap;
    va_start(ap, fmt);
    r->reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    for (char *p = r->reason; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    r->path = g_strdup(path);
    r->step = g_strdup(step);
    r->code = code;
    g_ptr_array_add(ld->rejected, r);
    baldro_log(BALDRO_LOG_DEBUG, NULL, "rejected %s [%s]: %s", path, step, r->reason);
    return baldro_error_set(err, code, "%s: %s: %s", path, step, r->reason);
}

int baldro_loader_load_file(baldro_loader *ld, const char *path, baldro_error *err) {
    char resolved[PATH_MAX];
    if (!realpath(path, resolved))
        return reject(ld, path, "dlopen", err, BALDRO_ENOTFOUND, "cannot resolve path: %s",
                      strerror(errno));
    if (g_hash_table_contains(ld->seen, resolved)) {
        /* Tried before: loaded is success; a rejection is reported again, unchanged. */
        for (guint i = 0; i < ld->rejected->len; i++) {
            const baldro_rejection *r = g_ptr_array_index(ld->rejected, i);
            if (strcmp(r->path, resolved) == 0)
                return baldro_error_set(err, r->code, "%s: %s: %s", r->path, r->step, r->reason);
        }
        return BALDRO_OK;
    }
    g_hash_table_add(ld->seen, g_strdup(resolved));

    /* Step dlopen. RTLD_NOW surfaces unresolved symbols now rather than mid-run;
     * RTLD_LOCAL keeps one plugin's symbols from satisfying another's. */
    dlerror();
    void *h = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return reject(ld, resolved, "dlopen", err, BALDRO_EIO, "%s", e ? e : "dlopen failed");
    }

    /* Step info: data only, no plugin code runs. The first 8 bytes (struct_size and the
     * ABI version) are fixed forever, so they are read before anything else. */
    const baldro_plugin_info *info = dlsym(h, BALDRO_PLUGIN_INFO_SYMBOL);
    int rc;
    if (!info) {
        rc = reject(ld, resolved, "info", err, BALDRO_ENOTFOUND, "missing symbol '%s' "
                    "(not a baldro plugin, or built without BALDRO_PLUGIN())",
                    BALDRO_PLUGIN_INFO_SYMBOL);
        goto close;
    }
    if (info->abi_major != BALDRO_ABI_MAJOR) {
        rc = reject(ld, resolved, "abi", err, BALDRO_EVERSION, "plugin ABI %u.%u vs host ABI "
                    "%d.%d: the major version differs; rebuild the plugin against this SDK",
                    info->abi_major, info->abi_minor, BALDRO_ABI_MAJOR, BALDRO_ABI_MINOR);
        goto close;
    }
    if (info->abi_minor > BALDRO_ABI_MINOR) {
        rc = reject(ld, resolved, "abi", err, BALDRO_EVERSION, "plugin ABI %u.%u vs host ABI "
                    "%d.%d: the plugin needs a newer host", info->abi_major, info->abi_minor,
                    BALDRO_ABI_MAJOR, BALDRO_ABI_MINOR);
        goto close;
    }
    if (info->struct_size < BALDRO_PLUGIN_INFO_SIZE_1_0) {
        rc = reject(ld, resolved, "info", err, BALDRO_EINVAL, "plugin info struct_size %u is "
                    "smaller than the ABI 1.0 layout (%u)", info->struct_size,
                    (unsigned)BALDRO_PLUGIN_INFO_SIZE_1_0);
        goto close;
    }
    if (!info->name || !baldro_valid_name(info->name)) {
        rc = reject(ld, resolved, "info", err, BALDRO_EINVAL, "plugin name %s%.80s%s is not of "
                    "the form [A-Za-z0-9_][A-Za-z0-9_.-]* (at most 63 bytes)",
                    info->name ? "'" : "", info->name ? info->name : "NULL",
                    info->name ? "'" : "");
        goto close;
    }
    plugin_entry *other = g_hash_table_lookup(ld->names, info->name);
    if (other) {
        rc = reject(ld, resolved, "duplicate", err, BALDRO_EEXIST, "plugin '%s' is already "
                    "loaded from %s (earlier in the search path wins)", info->name,
                    other->rec.path);
        goto close;
    }

    /* Step symbol. */
    baldro_plugin_init_fn init;
    *(void **)&init = dlsym(h, BALDRO_PLUGIN_INIT_SYMBOL);
    if (!init) {
        rc = reject(ld, resolved, "symbol", err, BALDRO_ENOTFOUND, "plugin '%s': missing "
                    "symbol '%s' (define it with BALDRO_PLUGIN_INIT)", info->name,
                    BALDRO_PLUGIN_INIT_SYMBOL);
        goto close;
    }

    /* Step init. */
    plugin_entry *e = g_new0(plugin_entry, 1);
    e->handle = h;
    e->rec.path = g_strdup(resolved);
    e->rec.name = g_strdup(info->name);
    e->rec.version = g_strdup(info->version ? info->version : "0");
    e->rec.description = g_strdup(info->description);
    e->rec.abi_major = info->abi_major;
    e->rec.abi_minor = info->abi_minor;
    e->ctx = g_new0(struct baldro_plugin_ctx, 1);
    e->ctx->ld = ld;
    e->ctx->rec = &e->rec;
    e->ctx->in_init = 1;
    int irc = init(e->ctx, &k_host_api);
    e->ctx->in_init = 0;
    if (irc != BALDRO_OK || e->ctx->register_failed) {
        if (irc != BALDRO_OK)
            rc = reject(ld, resolved, "init", err, BALDRO_EPLUGIN, "plugin '%s' init failed "
                        "(status %d %s): %s", e->rec.name, irc, baldro_status_name(irc),
                        e->ctx->set_error ? e->ctx->set_error
                        : e->ctx->register_failed ? e->ctx->first_error.msg
                        : "no reason given (the plugin did not call set_error)");
        else
            rc = reject(ld, resolved, "init", err, BALDRO_EPLUGIN, "plugin '%s': %s",
                        e->rec.name, e->ctx->first_error.msg);
        baldro_registry_remove_plugin(ld->reg, &e->rec);
        entry_free(e);
        goto close;
    }
    g_ptr_array_add(ld->plugins, e);
    g_hash_table_insert(ld->names, e->rec.name, e);
    baldro_log(BALDRO_LOG_DEBUG, NULL, "loaded plugin %s %s (ABI %u.%u, %zu objects) from %s",
               e->rec.name, e->rec.version, e->rec.abi_major, e->rec.abi_minor,
               e->rec.n_objects, resolved);
    return BALDRO_OK;

close:
    dlclose(h);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t baldro_loader_load_dir(baldro_loader *ld, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) {
            baldro_log(BALDRO_LOG_DEBUG, NULL, "plugin directory %s: %s (skipped)", dir,
                       strerror(errno));
        } else {
            reject(ld, dir, "opendir", NULL, BALDRO_EIO, "cannot read plugin directory: %s",
                   strerror(errno));
        }
        return 0;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (g_str_has_suffix(de->d_name, ".so") && de->d_name[0] != '.')
            g_ptr_array_add(names, g_strdup(de->d_name));
    closedir(d);
    /* Name order, so which of two same-named plugins wins never depends on readdir. */
    if (names->len) qsort(names->pdata, names->len, sizeof(char *), cmp_str);
    size_t loaded = 0;
    for (guint i = 0; i < names->len; i++) {
        char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
        size_t before = ld->plugins->len;
        baldro_loader_load_file(ld, path, NULL);
        loaded += ld->plugins->len - before;
        g_free(path);
    }
    g_ptr_array_free(names, TRUE);
    return loaded;
}

static void add_dirs(GPtrArray *out, GHashTable *seen, const char *list) {
    if (!list) return;
    char **parts = g_strsplit(list, ":", -1);
    for (char **p = parts; *p; p++) {
        if (!**p) continue;
        char resolved[PATH_MAX];
        const char *key = realpath(*p, resolved) ? resolved : *p;
        if (g_hash_table_contains(seen, key)) continue;
        g_hash_table_add(seen, g_strdup(key));
        g_ptr_array_add(out, g_strdup(*p));
    }
    g_strfreev(parts);
}

char **baldro_plugin_search_path(const char *cli_dirs, const char *env_dirs) {
    GPtrArray *out = g_ptr_array_new();
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    add_dirs(out, seen, cli_dirs);
    add_dirs(out, seen, env_dirs);
    char *exe_dir = baldro_exe_dir();
    if (exe_dir) {
        char *rel = g_build_filename(exe_dir, BALDRO_PLUGIN_RELDIR, NULL);
        add_dirs(out, seen, rel);
        g_free(rel);
        g_free(exe_dir);
    }
    add_dirs(out, seen, BALDRO_PLUGIN_INSTALL_FULLDIR);
    g_hash_table_destroy(seen);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

size_t baldro_loader_load_search_path(baldro_loader *ld, char *const *dirs) {
    size_t n = 0;
    for (size_t i = 0; dirs && dirs[i]; i++) n += baldro_loader_load_dir(ld, dirs[i]);
    return n;
}

size_t baldro_loader_n_plugins(const baldro_loader *ld) { return ld->plugins->len; }

const baldro_plugin_rec *baldro_loader_plugin(const baldro_loader *ld, size_t i) {
    if (i >= ld->plugins->len) return NULL;
    return &((plugin_entry *)g_ptr_array_index(ld->plugins, i))->rec;
}

size_t baldro_loader_n_rejected(const baldro_loader *ld) { return ld->rejected->len; }

const baldro_rejection *baldro_loader_rejection(const baldro_loader *ld, size_t i) {
    return i < ld->rejected->len ? g_ptr_array_index(ld->rejected, i) : NULL;
}

const baldro_rejection *baldro_loader_find_rejection(const baldro_loader *ld,
                                                     const char *basename) {
    for (guint i = 0; i < ld->rejected->len; i++) {
        baldro_rejection *r = g_ptr_array_index(ld->rejected, i);
        char *b = g_path_get_basename(r->path);
        int match = strcmp(b, basename) == 0;
        g_free(b);
        if (match) return r;
    }
    return NULL;
}

const baldro_registry *baldro_loader_registry(const baldro_loader *ld) { return ld->reg; }
