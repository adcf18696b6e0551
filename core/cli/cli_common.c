/* core/cli/cli_common.c: plugin loading, config resolution and backend selection for the
 * commands. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("baldro-host: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

baldro_loader *cli_load_plugins(baldro_cli *cli, int quiet_rejections) {
    if (cli->loader) return cli->loader;
    cli->loader = baldro_loader_new();
    char **dirs = baldro_plugin_search_path(cli->plugins_opt, getenv("BALDRO_PLUGIN_PATH"));
    for (char **d = dirs; *d; d++) LOG_DEBUG("plugin search path: %s", *d);
    baldro_loader_load_search_path(cli->loader, dirs);
    g_strfreev(dirs);
    if (!quiet_rejections)
        for (size_t i = 0; i < baldro_loader_n_rejected(cli->loader); i++) {
            const baldro_rejection *r = baldro_loader_rejection(cli->loader, i);
            LOG_WARN("plugin %s not loaded [%s]: %s", r->path, r->step, r->reason);
        }
    return cli->loader;
}

static int declare_params(baldro_config *cfg, const baldro_registry *reg, baldro_error *err) {
    for (size_t i = 0; i < baldro_registry_count(reg); i++) {
        const baldro_object *o = baldro_registry_at(reg, i);
        const baldro_param_spec *p = baldro_object_params(o);
        const char *section = o->kind == BALDRO_KIND_OBJECTIVE ? "objectives" : "metrics";
        for (size_t k = 0; p && p[k].name; k++) {
            int rc = baldro_config_declare_param(cfg, section, o->name, &p[k], o->plugin->name,
                                                 err);
            if (rc != BALDRO_OK) return rc;
        }
    }
    return BALDRO_OK;
}

baldro_config *cli_resolve_config_err(baldro_cli *cli, const baldro_cli_config_opts *opts,
                                      baldro_error *err) {
    baldro_loader *ld = cli_load_plugins(cli, 0);
    baldro_config *cfg = baldro_config_new(err);
    if (!cfg) goto fail;
    if (declare_params(cfg, baldro_loader_registry(ld), err) != BALDRO_OK) goto fail;
    if (opts->config_path && baldro_config_load_file(cfg, opts->config_path, err) != BALDRO_OK)
        goto fail;
    for (char **s = opts->sets; s && *s; s++)
        if (baldro_config_set_override(cfg, *s, err) != BALDRO_OK) goto fail;
    if (baldro_config_validate(cfg, err) != BALDRO_OK) goto fail;
    return cfg;
fail:
    baldro_config_free(cfg);
    return NULL;
}

baldro_config *cli_resolve_config(baldro_cli *cli, const baldro_cli_config_opts *opts) {
    baldro_error err;
    baldro_error_clear(&err);
    baldro_config *cfg = cli_resolve_config_err(cli, opts, &err);
    if (!cfg) cli_error("%s", err.msg);
    return cfg;
}

void cli_add_config_options(GOptionContext *ctx, baldro_cli_config_opts *opts) {
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opts->config_path,
         "Experiment file (libconfig; may `inherit` shared defaults)", "FILE"},
        {"set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opts->sets,
         "Override one setting, e.g. --set trainer.lr=2e-5 (repeatable, type-checked)",
         "PATH=VALUE"},
        G_OPTION_ENTRY_NULL};
    /* Main entries, so `--help` shows them next to the command's own options. */
    g_option_context_add_main_entries(ctx, entries, NULL);
}

void cli_config_opts_clear(baldro_cli_config_opts *opts) {
    g_free(opts->config_path);
    g_strfreev(opts->sets);
    opts->config_path = NULL;
    opts->sets = NULL;
}

int cli_parse(GOptionContext *ctx, int *argc, char ***argv, const char *command) {
    GError *gerr = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &gerr)) {
        cli_error("%s: %s (see baldro-host %s --help)", command, gerr->message, command);
        g_error_free(gerr);
        return 0;
    }
    return 1;
}

int cli_open_backend_prec(const char *setting, const char *backend, int64_t device,
                          const char *prec_setting, const char *precision, baldro_backend **be,
                          const baldro_ops **ops, baldro_error *err) {
    baldro_precision prec = BALDRO_PRECISION_FP32;
    if (baldro_precision_parse(precision ? precision : "fp32", &prec) != BALDRO_OK)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: '%s' is not one of fp32, bf16",
                                prec_setting, precision);
    int is_cpu = !backend || !strcmp(backend, "cpu");
    /* bf16 GEMMs exist on the CUDA backend only; the CPU computes in fp32. */
    if (is_cpu && prec == BALDRO_PRECISION_BF16)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: \"bf16\" needs the cuda backend (%s is \"cpu\", which "
                                "computes in fp32)",
                                prec_setting, setting);
    if (is_cpu) return baldro_backend_cpu_open(0, be, ops, err);
    int is_cuda = !strcmp(backend, "cuda"), is_auto = !strcmp(backend, "auto");
    if (!is_cuda && !is_auto)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: '%s' is not one of cpu, cuda, auto",
                                setting, backend);
    if (device < 0 || device > INT_MAX)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: device %lld is not a device index",
                                setting, (long long)device);
    if (is_cuda) {
        baldro_error e = {0};
        int rc = baldro_backend_cuda_open((int)device, prec, be, ops, &e);
        if (rc != BALDRO_OK)
            return baldro_error_set(err, rc, "%s = \"cuda\": %s", setting, e.msg);
        LOG_INFO("backend: cuda, device %lld, %s GEMMs", (long long)device,
                 baldro_precision_name(prec));
        return BALDRO_OK;
    }
    /* auto: CUDA when it is there and opens; the CPU otherwise, saying why. */
    char why[256];
    if (baldro_backend_cuda_available(why, sizeof why)) {
        baldro_error e = {0};
        if (baldro_backend_cuda_open((int)device, prec, be, ops, &e) == BALDRO_OK) {
            LOG_INFO("backend: auto -> cuda, device %lld, %s GEMMs", (long long)device,
                     baldro_precision_name(prec));
            return BALDRO_OK;
        }
        g_strlcpy(why, e.msg, sizeof why);
    }
    if (prec == BALDRO_PRECISION_BF16)
        LOG_WARN("backend: auto -> cpu (%s); %s = \"bf16\" falls back to fp32 there", why,
                 prec_setting);
    else
        LOG_INFO("backend: auto -> cpu (%s)", why);
    return baldro_backend_cpu_open(0, be, ops, err);
}

int cli_open_backend_named(const char *setting, const char *backend, int64_t device,
                           baldro_backend **be, const baldro_ops **ops, baldro_error *err) {
    return cli_open_backend_prec(setting, backend, device, "precision", "fp32", be, ops, err);
}

/* "<origin>: <path>" when the setting came from a file or --set, else just the path. */
static void setting_name(const baldro_config *cfg, const char *path, char *buf, size_t cap) {
    const char *origin = cfg ? baldro_config_origin(cfg, path) : NULL;
    if (origin && strcmp(origin, "defaults") != 0)
        snprintf(buf, cap, "%s: %s", origin, path);
    else
        snprintf(buf, cap, "%s", path);
}

int cli_open_backend(const baldro_config *cfg, baldro_backend **be, const baldro_ops **ops,
                     baldro_error *err) {
    const char *backend = "cpu", *precision = "fp32";
    int64_t device = 0;
    if (cfg) {
        /* Absent (a test's own defaults) reads as the defaults: cpu, device 0, fp32. */
        if (baldro_config_kind(cfg, "runtime.backend") != BALDRO_CFG_NONE &&
            baldro_config_get_string(cfg, "runtime.backend", &backend) != BALDRO_OK)
            return baldro_error_set(err, BALDRO_EINVAL, "runtime.backend: expected a string");
        if (baldro_config_kind(cfg, "runtime.device") != BALDRO_CFG_NONE &&
            baldro_config_get_int(cfg, "runtime.device", &device) != BALDRO_OK)
            return baldro_error_set(err, BALDRO_EINVAL, "runtime.device: expected an integer");
        if (baldro_config_kind(cfg, "runtime.precision") != BALDRO_CFG_NONE &&
            baldro_config_get_string(cfg, "runtime.precision", &precision) != BALDRO_OK)
            return baldro_error_set(err, BALDRO_EINVAL, "runtime.precision: expected a string");
    }
    char setting[512], prec_setting[512];
    setting_name(cfg, "runtime.backend", setting, sizeof setting);
    setting_name(cfg, "runtime.precision", prec_setting, sizeof prec_setting);
    return cli_open_backend_prec(setting, backend, device, prec_setting, precision, be, ops, err);
}
