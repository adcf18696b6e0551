/*
 * core/cli/cli.h: what the baldro-host commands share.
 *
 * Exit codes (documented in README.md and `baldro-host --help`):
 *   0  success
 *   1  the run failed (a check failed, I/O error, numerical failure)
 *   2  usage or configuration error, or a command that is not built yet
 */
#ifndef BALDRO_CORE_CLI_H
#define BALDRO_CORE_CLI_H

#include <glib.h>

#include "backend/backend.h"
#include "config/config.h"
#include "plugin/loader.h"

enum { BALDRO_EXIT_OK = 0, BALDRO_EXIT_FAILED = 1, BALDRO_EXIT_USAGE = 2 };

/* Global state built from the options before the command name. */
typedef struct baldro_cli {
    const char *prog;         /* "baldro-host"                                 */
    const char *plugins_opt;  /* --plugins DIR[:DIR...] or NULL                */
    baldro_loader *loader;    /* loaded on first use by cli_load_plugins()     */
} baldro_cli;

/* Options every experiment command accepts: --config FILE, --set k=v (repeatable). */
typedef struct baldro_cli_config_opts {
    char *config_path;
    char **sets;
} baldro_cli_config_opts;

/* Print "baldro-host: <msg>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load plugins from the search path (once). Rejections are logged as warnings unless
 * `quiet_rejections` (the plugins command lists them itself). */
baldro_loader *cli_load_plugins(baldro_cli *cli, int quiet_rejections);

/* Build the resolved config: defaults + plugin parameters + --config file + --set
 * overrides, then validate. On error prints one line and returns NULL. */
baldro_config *cli_resolve_config(baldro_cli *cli, const baldro_cli_config_opts *opts);
/* The same, leaving the message in `err` instead of printing it. */
baldro_config *cli_resolve_config_err(baldro_cli *cli, const baldro_cli_config_opts *opts,
                                      baldro_error *err);

/* GOption entries for --config/--set, bound to `opts`. */
void cli_add_config_options(GOptionContext *ctx, baldro_cli_config_opts *opts);
void cli_config_opts_clear(baldro_cli_config_opts *opts);

/* Opens the compute backend runtime.backend names (runtime.device for CUDA): "cpu";
 * "cuda", an error naming runtime.backend when there is no usable device or the build
 * has no CUDA; "auto", the CUDA backend when a device is there, else the CPU one (the
 * choice is logged). cfg NULL means the defaults (cpu). */
int cli_open_backend(const baldro_config *cfg, baldro_backend **be, const baldro_ops **ops,
                     baldro_error *err);
/* The same from a name and device given elsewhere; `setting` names where they came from
 * in messages ("runtime.backend", "--backend"). GEMMs in fp32. */
int cli_open_backend_named(const char *setting, const char *backend, int64_t device,
                           baldro_backend **be, const baldro_ops **ops, baldro_error *err);
/* The same with a GEMM precision (runtime.precision, named `prec_setting` in messages):
 * "fp32", or "bf16", which needs cuda (with "cpu" an error; "auto" on a machine without
 * a device falls back to the fp32 CPU backend with a warning). */
int cli_open_backend_prec(const char *setting, const char *backend, int64_t device,
                          const char *prec_setting, const char *precision, baldro_backend **be,
                          const baldro_ops **ops, baldro_error *err);

/* Parse a command's options with GOption; on error prints it and returns 0. */
int cli_parse(GOptionContext *ctx, int *argc, char ***argv, const char *command);

/* Commands: argv[0] is the command name. Each returns an exit code. */
int cmd_plugins(baldro_cli *cli, int argc, char **argv);
int cmd_config(baldro_cli *cli, int argc, char **argv);
int cmd_check(baldro_cli *cli, int argc, char **argv);
int cmd_pipeline(baldro_cli *cli, int argc, char **argv);
int cmd_convert(baldro_cli *cli, int argc, char **argv);
int cmd_generate(baldro_cli *cli, int argc, char **argv);
int cmd_finetune(baldro_cli *cli, int argc, char **argv);
int cmd_unlearn(baldro_cli *cli, int argc, char **argv);
int cmd_eval(baldro_cli *cli, int argc, char **argv);
int cmd_report(baldro_cli *cli, int argc, char **argv);
int cmd_tokenize(baldro_cli *cli, int argc, char **argv);
int cmd_score(baldro_cli *cli, int argc, char **argv);

#endif /* BALDRO_CORE_CLI_H */
