/* core/cli/cmd_plugins.c: `baldro-host plugins` lists loaded plugins, their objects and
 * every rejected file with the reason. */
#include <stdio.h>

#include "cli/cli.h"

static void print_params(const baldro_param_spec *p) {
    for (size_t k = 0; p && p[k].name; k++) {
        switch (p[k].type) {
        case BALDRO_PARAM_FLOAT:
            printf("        %-16s float  = %-10g", p[k].name, p[k].default_float);
            break;
        case BALDRO_PARAM_INT:
            printf("        %-16s int    = %-10lld", p[k].name, (long long)p[k].default_int);
            break;
        case BALDRO_PARAM_BOOL:
            printf("        %-16s bool   = %-10s", p[k].name, p[k].default_int ? "true" : "false");
            break;
        case BALDRO_PARAM_STRING:
            printf("        %-16s string = \"%s\"", p[k].name, p[k].default_string);
            break;
        }
        if (p[k].min <= p[k].max) printf(" in [%g, %g]", p[k].min, p[k].max);
        if (p[k].description) printf("  %s", p[k].description);
        printf("\n");
    }
}

static void print_object(const baldro_object *o, int verbose) {
    printf("    %-9s %-20s %-8s", baldro_kind_name(o->kind), o->name, o->version ? o->version : "");
    if (o->kind == BALDRO_KIND_OBJECTIVE) {
        const baldro_objective_vtable *v = &o->vt.objective;
        printf(" %s-grain%s%s%s%s%s%s", v->grain == BALDRO_GRAIN_TOKEN ? "token" : "sample",
               (v->flags & BALDRO_OBJ_FORGET) ? " forget" : "",
               (v->flags & BALDRO_OBJ_RETAIN) ? " retain" : "",
               (v->flags & BALDRO_OBJ_NEEDS_REF_LOGP) ? " ref-logp" : "",
               (v->flags & BALDRO_OBJ_NEEDS_ALT) ? " alt-answer" : "",
               (v->flags & BALDRO_OBJ_NEEDS_LOGITS) ? " logits" : "",
               (v->flags & BALDRO_OBJ_SURROGATE_GRAD) ? " surrogate-grad" : "");
    } else if (o->kind == BALDRO_KIND_MODEL && o->vt.model.hf_model_types) {
        printf(" model_type:");
        for (const char *const *t = o->vt.model.hf_model_types; *t; t++) printf(" %s", *t);
    }
    const char *const *al = baldro_object_aliases(o);
    if (al[0]) {
        printf("  aliases:");
        for (; *al; al++) printf(" %s", *al);
    }
    printf("\n");
    if (verbose) {
        if (o->description) printf("        %s\n", o->description);
        print_params(baldro_object_params(o));
    }
}

int cmd_plugins(baldro_cli *cli, int argc, char **argv) {
    gboolean verbose = FALSE, strict = FALSE;
    GOptionEntry entries[] = {
        {"long", 'l', 0, G_OPTION_ARG_NONE, &verbose,
         "Also show descriptions and declared parameters", NULL},
        {"strict", 0, 0, G_OPTION_ARG_NONE, &strict,
         "Exit with status 1 if any plugin file was rejected", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- list plugins, their objects, and rejected files");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Plugins are searched in --plugins DIR[:DIR...], then $BALDRO_PLUGIN_PATH, then the\n"
        "plugin directory next to baldro-host, then the install directory; a plugin name\n"
        "found earlier wins.");
    int ok = cli_parse(ctx, &argc, &argv, "plugins");
    g_option_context_free(ctx);
    if (!ok) return BALDRO_EXIT_USAGE;
    if (argc > 1) {
        cli_error("plugins: unexpected argument '%s'", argv[1]);
        return BALDRO_EXIT_USAGE;
    }

    baldro_loader *ld = cli_load_plugins(cli, 1);
    const baldro_registry *reg = baldro_loader_registry(ld);
    size_t np = baldro_loader_n_plugins(ld);
    printf("host %s, plugin ABI %d.%d\n", baldro_host_api_table()->host_version,
           BALDRO_ABI_MAJOR, BALDRO_ABI_MINOR);
    printf("%zu plugin%s loaded\n", np, np == 1 ? "" : "s");
    for (size_t i = 0; i < np; i++) {
        const baldro_plugin_rec *p = baldro_loader_plugin(ld, i);
        printf("  %s %s (ABI %u.%u) %s\n", p->name, p->version, p->abi_major, p->abi_minor,
               p->path);
        if (verbose && p->description) printf("    %s\n", p->description);
        for (size_t k = 0; k < baldro_registry_count(reg); k++) {
            const baldro_object *o = baldro_registry_at(reg, k);
            if (o->plugin == p) print_object(o, verbose);
        }
    }
    size_t nr = baldro_loader_n_rejected(ld);
    if (nr) printf("%zu file%s rejected\n", nr, nr == 1 ? "" : "s");
    for (size_t i = 0; i < nr; i++) {
        const baldro_rejection *r = baldro_loader_rejection(ld, i);
        printf("  %s [%s] %s\n", r->path, r->step, r->reason);
    }
    return (strict && nr) ? BALDRO_EXIT_FAILED : BALDRO_EXIT_OK;
}
