/*
 * core/plugin/loader.h: find, check, load and initialise plugin .so files.
 *
 * For each candidate file the loader goes through fixed steps and stops at the first
 * that fails, recording the file and the step in a rejection:
 *   dlopen   RTLD_NOW | RTLD_LOCAL (unresolved symbols fail here, not mid-run)
 *   info     the data symbol `baldro_plugin_info`: present, struct_size large enough,
 *            valid unique plugin name
 *   abi      same major as the host, minor not newer than the host's
 *   symbol   `baldro_plugin_init` present
 *   init     returns BALDRO_OK, and every register call it made succeeded
 * No plugin function runs before `info` and `abi` pass. When `init` fails, everything
 * the plugin registered is removed and the library is closed again, so a failed plugin
 * leaves no trace but its rejection.
 */
#ifndef BALDRO_CORE_LOADER_H
#define BALDRO_CORE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "plugin/registry.h"
#include "util/error.h"

/* A successfully loaded plugin. */
typedef struct baldro_plugin_rec {
    char *path;         /* as found (realpath)                       */
    char *name;
    char *version;
    char *description;  /* may be NULL                               */
    uint16_t abi_major, abi_minor;
    size_t n_objects;   /* how many objects it registered            */
} baldro_plugin_rec;

/* A file that was not loaded, and why. */
typedef struct baldro_rejection {
    char *path;
    char *step;   /* "dlopen", "info", "abi", "duplicate", "symbol", "init", or  */
                  /* "opendir" for an unreadable directory                      */
    char *reason; /* one line                                                  */
    int code;     /* baldro_status reported for it                             */
} baldro_rejection;

typedef struct baldro_loader baldro_loader;

baldro_loader *baldro_loader_new(void);
/* Unloads every plugin (dlclose) after dropping its objects. */
void baldro_loader_free(baldro_loader *ld);

/* Load one file. Returns BALDRO_OK if loaded; otherwise the rejection is recorded (and
 * also copied into err). A file tried before (same realpath) is not loaded again: the
 * result is BALDRO_OK if it loaded, or its recorded rejection again. */
int baldro_loader_load_file(baldro_loader *ld, const char *path, baldro_error *err);
/* Load every "*.so" in dir, in name order. A missing directory is not an error (logged
 * at debug level); an unreadable one is recorded as a rejection. Returns the number of
 * plugins loaded from it. */
size_t baldro_loader_load_dir(baldro_loader *ld, const char *dir);

/* The search path, in precedence order (a plugin name found earlier wins):
 *   1. cli_dirs   `--plugins DIR[:DIR...]` (may be NULL)
 *   2. env_dirs   $BALDRO_PLUGIN_PATH       (may be NULL)
 *   3. the plugin directory next to the executable (<bindir>/../lib/baldro/plugins,
 *      which is the build tree before installing and the install tree after)
 *   4. the configured install directory
 * Returns a NULL-terminated vector of unique directories; g_strfreev() it. */
char **baldro_plugin_search_path(const char *cli_dirs, const char *env_dirs);
/* Load every directory of a search path. */
size_t baldro_loader_load_search_path(baldro_loader *ld, char *const *dirs);

size_t baldro_loader_n_plugins(const baldro_loader *ld);
const baldro_plugin_rec *baldro_loader_plugin(const baldro_loader *ld, size_t i);
size_t baldro_loader_n_rejected(const baldro_loader *ld);
const baldro_rejection *baldro_loader_rejection(const baldro_loader *ld, size_t i);
/* Find the rejection recorded for a file by its base name ("bad_abi.so"); NULL if none. */
const baldro_rejection *baldro_loader_find_rejection(const baldro_loader *ld,
                                                     const char *basename);
const baldro_registry *baldro_loader_registry(const baldro_loader *ld);

/* The host API table plugins receive. */
const baldro_host_api *baldro_host_api_table(void);

#endif /* BALDRO_CORE_LOADER_H */
