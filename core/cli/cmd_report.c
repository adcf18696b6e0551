/* core/cli/cmd_report.c: `baldro-host report RUN_DIR...`: one self-contained HTML page over
 * experiment directories (pipeline.json) and run directories (run.json), see
 * core/report/report.h and docs/report.md. Problems inside the files are warnings (the page
 * marks the sections concerned and is still written); an input that is neither kind of
 * directory is an error, exit 2. Prints the page's path. */
#include <stdio.h>

#include "cli/cli.h"
#include "report/report.h"
#include "util/fsutil.h"
#include "util/log.h"

int cmd_report(baldro_cli *cli, int argc, char **argv) {
    (void)cli;
    char *out = NULL;
    GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
         "Write the page here (default: EXP/report.html for one experiment directory, else "
         "./report.html)",
         "FILE"},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new(
        "RUN_DIR... - write an HTML report (inline SVG, no network) over experiment and run "
        "directories");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "A RUN_DIR is an experiment directory (with pipeline.json: all its runs) or one "
             "run directory (with run.json).\nSee docs/report.md.");
    int ok = cli_parse(ctx, &argc, &argv, "report");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_report *r = NULL;
    char *html = NULL, *path = NULL;
    if (!ok) goto out;
    if (argc < 2) {
        cli_error("report: no RUN_DIR given (see baldro-host report --help)");
        goto out;
    }
    baldro_error err;
    baldro_error_clear(&err);
    if (baldro_report_load((const char *const *)(argv + 1), (size_t)argc - 1, &r, &err)) {
        cli_error("report: %s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < baldro_report_n_warnings(r); i++)
        LOG_WARN("report: %s", baldro_report_warning(r, i));
    if (out)
        path = g_strdup(out);
    else if (argc == 2 && baldro_report_input_is_experiment(r, 0))
        path = g_build_filename(argv[1], "report.html", NULL);
    else
        path = g_strdup("report.html");
    size_t len = 0;
    html = baldro_report_html(r, &len);
    rc = BALDRO_EXIT_FAILED;
    if (baldro_write_file_atomic(path, html, len, &err)) {
        cli_error("report: %s", err.msg);
        goto out;
    }
    printf("%s\n", path);
    fflush(stdout);
    rc = BALDRO_EXIT_OK;
out:
    baldro_report_free(r);
    g_free(html);
    g_free(path);
    g_free(out);
    return rc;
}
