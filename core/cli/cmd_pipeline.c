/* core/cli/cmd_pipeline.c: `baldro-host pipeline` - the researcher's loop.
 *
 * One command takes an experiment from nothing to a comparison: fine-tune the target
 * model (data.finetune_split) and its retain twin (data.retain_split) unless the config
 * names existing ones, evaluate the retain model (the reference forget quality is
 * measured against) and the target, unlearn, evaluate the unlearned model, then write
 * the summary tables and the HTML report.
 *
 * A `sweep` in the config expands to a grid of runs, one directory each. Every step is
 * content-addressed (pipeline/step.h): its hash covers the settings that change its
 * output and the hashes of the steps it reads, and step.json records it. A step whose
 * record says done with the same hash is skipped, so an interrupted pipeline resumes
 * where it stopped (a training step from its last checkpoint), and sweep points that
 * agree on a step share one copy of it: a sweep over baldro.tau fine-tunes one target.
 *
 * Layout (docs/pipeline.md):
 *   <run.output_dir>/<run.name>/    pipeline.json, summary.{csv,md,json}, report.html,
 *     finetune-full/ ...            steps shared by every point (a -<hash8> suffix when
 *                                   points need different copies)
 *     <run-id>/                     run.json, config.resolved.cfg, unlearn/, eval-unlearn/
 *
 * The steps run in this process, through the same functions as the finetune / unlearn /
 * eval commands, so a pipeline step and the command a user types cannot drift apart. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "io/json_write.h"
#include "pipeline/step.h"
#include "pipeline/summary.h"
#include "report/report.h"
#include "util/fsutil.h"
#include "util/log.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *cfg_str(const baldro_config *cfg, const char *path) {
    const char *s = "";
    baldro_config_get_string(cfg, path, &s);
    return s;
}

/* A step to run (or skip) with a command's argv. */
typedef enum { ST_FT_TARGET, ST_FT_RETAIN, ST_EVAL_RETAIN, ST_EVAL_TARGET, ST_UNLEARN, ST_EVAL_UNLEARN, ST_N } step_id;
static const char *const k_step_key[ST_N] = {"finetune-target", "finetune-retain", "eval-retain",
                                            "eval-target", "unlearn", "eval-unlearn"};

typedef struct step {
    char *name;    /* directory leaf: "finetune-full", "eval-retain", "unlearn" */
    char *dir;     /* where it writes; NULL for a model the user brought       */
    char *hash;    /* content hash (or the fingerprint of a brought model)    */
    char *inputs;  /* canonical inputs                                         */
    char *model;   /* training steps: dir/model; a brought model: its path    */
    int shared;    /* outside the run directory                                */
    int ran;       /* done in this invocation (shared steps run once)          */
    double seconds;
} step;

typedef struct point {
    char *id;
    char **labels;        /* per axis, borrowed from the axes */
    char **sets;          /* the --set list resolving this point */
    baldro_config *cfg;
    char *dir, *cfg_path;
    step st[ST_N];
    char *status;         /* "done", "failed: unlearn", "pending" */
    double wall;          /* unlearn + eval-unlearn */
} point;

typedef struct pipeline {
    baldro_cli *cli;
    const char *config_path;
    char *exp_dir;
    baldro_sweep_axis *axes;
    size_t n_axes;
    point *pts;
    size_t n_pts;
    int force;
} pipeline;

static void step_clear(step *s) {
    g_free(s->name);
    g_free(s->dir);
    g_free(s->hash);
    g_free(s->inputs);
    g_free(s->model);
}

/* ---- the grid ----------------------------------------------------------------- */

/* --sweep KEY=V1,V2: replaces the config's axis for KEY or adds one. Values are taken as
 * written; the setting's type is checked when each point resolves. */
static int add_cli_sweep(pipeline *p, const baldro_config *cfg, const char *spec, baldro_error *err) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return baldro_error_set(err, BALDRO_EINVAL, "--sweep %s: expected KEY=V1,V2,...", spec);
    char *key = g_strndup(spec, (size_t)(eq - spec));
    baldro_cfg_kind kind = baldro_config_kind(cfg, key);
    if (kind == BALDRO_CFG_NONE || kind == BALDRO_CFG_GROUP || kind == BALDRO_CFG_ARRAY ||
        kind == BALDRO_CFG_LIST || !strcmp(key, "run.name") || !strcmp(key, "run.output_dir")) {
        int rc = baldro_error_set(err, BALDRO_EINVAL, "--sweep %s: '%s' is not a setting that can "
                                  "be swept", spec, key);
        g_free(key);
        return rc;
    }
    char **vals = g_strsplit(eq + 1, ",", -1);
    size_t n = g_strv_length(vals);
    for (size_t i = 0; i < n; i++) {
        g_strstrip(vals[i]);
        for (size_t j = 0; j < i; j++)
            if (!*vals[i] || !strcmp(vals[i], vals[j])) {
                int rc = baldro_error_set(err, BALDRO_EINVAL, "--sweep %s: value %zu is empty or "
                                          "listed twice", spec, i);
                g_strfreev(vals);
                g_free(key);
                return rc;
            }
    }
    size_t a;
    for (a = 0; a < p->n_axes; a++)
        if (!strcmp(p->axes[a].key, key)) break;
    if (a == p->n_axes) {
        p->axes = g_renew(baldro_sweep_axis, p->axes, p->n_axes + 1);
        memset(&p->axes[a], 0, sizeof p->axes[a]);
        p->n_axes++;
    } else {
        for (size_t j = 0; j < p->axes[a].n_values; j++) {
            g_free(p->axes[a].values[j]);
            g_free(p->axes[a].labels[j]);
        }
        g_free(p->axes[a].values);
        g_free(p->axes[a].labels);
        g_free(p->axes[a].key);
    }
    baldro_sweep_axis *ax = &p->axes[a];
    ax->key = key;
    ax->n_values = n;
    ax->values = g_new0(char *, n);
    ax->labels = g_new0(char *, n);
    for (size_t i = 0; i < n; i++) {
        ax->labels[i] = g_strdup(vals[i]);
        ax->values[i] = kind == BALDRO_CFG_STRING ? g_strdup_printf("\"%s\"", vals[i])
                                                  : g_strdup(vals[i]);
    }
    g_strfreev(vals);
    return BALDRO_OK;
}

/* The last component of a key, unless another axis ends the same way. */
static char *axis_short(const pipeline *p, size_t a) {
    const char *dot = strrchr(p->axes[a].key, '.');
    const char *tail = dot ? dot + 1 : p->axes[a].key;
    for (size_t b = 0; b < p->n_axes; b++) {
        if (b == a) continue;
        const char *d2 = strrchr(p->axes[b].key, '.');
        if (!strcmp(d2 ? d2 + 1 : p->axes[b].key, tail)) return g_strdelimit(g_strdup(p->axes[a].key), ".", '-');
    }
    return g_strdup(tail);
}

/* "forget-npo_tau-0.5_seed-1": readable, and safe as a directory name. */
static char *point_id(const pipeline *p, const size_t *choice, size_t index) {
    if (p->n_axes == 0) return g_strdup("run");
    GString *s = g_string_new(NULL);
    for (size_t a = 0; a < p->n_axes; a++) {
        char *sh = axis_short(p, a);
        g_string_append_printf(s, "%s%s-", a ? "_" : "", sh);
        g_free(sh);
        for (const char *c = p->axes[a].labels[choice[a]]; *c; c++)
            g_string_append_c(s, g_ascii_isalnum(*c) || strchr(".+-", *c) ? *c : '_');
    }
    for (size_t i = 0; i < index; i++)
        if (!strcmp(p->pts[i].id, s->str)) {
            g_string_append_printf(s, "_%zu", index); /* two labels that sanitise alike */
            break;
        }
    return g_string_free(s, FALSE);
}

static int make_points(pipeline *p, const baldro_cli_config_opts *opts, baldro_error *err) {
    size_t n = 1;
    for (size_t a = 0; a < p->n_axes; a++) n *= p->axes[a].n_values;
    if (n > 10000)
        return baldro_error_set(err, BALDRO_EINVAL, "sweep: %zu runs; more than 10000 is "
                                "surely a mistake", n);
    p->pts = g_new0(point, n);
    p->n_pts = n;
    size_t *choice = g_new0(size_t, p->n_axes + 1);
    int rc = BALDRO_OK;
    for (size_t i = 0; i < n && rc == BALDRO_OK; i++) {
        /* The last axis varies fastest: seeds of one setting sit together. */
        size_t r = i;
        for (size_t a = p->n_axes; a-- > 0;) {
            choice[a] = r % p->axes[a].n_values;
            r /= p->axes[a].n_values;
        }
        point *pt = &p->pts[i];
        pt->id = point_id(p, choice, i);
        pt->labels = g_new0(char *, p->n_axes + 1);
        GPtrArray *sets = g_ptr_array_new();
        for (char **s = opts->sets; s && *s; s++) g_ptr_array_add(sets, g_strdup(*s));
        g_ptr_array_add(sets, g_strdup("sweep=()"));
        for (size_t a = 0; a < p->n_axes; a++) {
            pt->labels[a] = p->axes[a].labels[choice[a]];
            g_ptr_array_add(sets, g_strdup_printf("%s=%s", p->axes[a].key,
                                                  p->axes[a].values[choice[a]]));
        }
        g_ptr_array_add(sets, NULL);
        pt->sets = (char **)g_ptr_array_free(sets, FALSE);
        baldro_cli_config_opts po = {.config_path = (char *)p->config_path, .sets = pt->sets};
        baldro_error e2;
        baldro_error_clear(&e2);
        pt->cfg = cli_resolve_config_err(p->cli, &po, &e2);
        if (!pt->cfg)
            rc = baldro_error_set(err, BALDRO_EINVAL, "sweep point %s: %s", pt->id, e2.msg);
        pt->dir = g_build_filename(p->exp_dir, pt->id, NULL);
        pt->cfg_path = g_build_filename(pt->dir, "config.resolved.cfg", NULL);
        pt->status = g_strdup("pending");
    }
    g_free(choice);
    return rc;
}

/* Before anything runs: every point's objectives are loaded. A typo in a swept objective
 * must not surface after two models were fine-tuned. */
static int preflight(const pipeline *p, baldro_error *err) {
    const baldro_registry *reg = baldro_loader_registry(cli_load_plugins(p->cli, 0));
    static const char *const keys[] = {"objective.forget", "objective.retain"};
    for (size_t i = 0; i < p->n_pts; i++)
        for (int k = 0; k < 2; k++) {
            const char *name = cfg_str(p->pts[i].cfg, keys[k]);
            if (k == 1 && !*name) continue;
            if (!baldro_registry_find(reg, BALDRO_KIND_OBJECTIVE, name))
                return baldro_error_set(err, BALDRO_ENOTFOUND, "%s%s%s%s: %s: '%s' is not a "
                                        "loaded objective (baldro-host plugins lists them)",
                                        p->n_axes ? "sweep point " : "",
                                        p->n_axes ? p->pts[i].id : "", p->n_axes ? ": " : "",
                                        baldro_config_origin(p->pts[i].cfg, keys[k]), keys[k],
                                        name);
        }
    return BALDRO_OK;
}

/* ---- step identities ---------------------------------------------------------- */

/* The point's config as fine-tuning sees it (finetune.* over trainer.*). */
static baldro_config *finetune_view(pipeline *p, point *pt, baldro_error *err) {
    baldro_cli_config_opts po = {.config_path = (char *)p->config_path, .sets = pt->sets};
    baldro_config *c = cli_resolve_config_err(p->cli, &po, err);
    if (c && baldro_step_apply_finetune(c, err)) {
        baldro_config_free(c);
        c = NULL;
    }
    return c;
}

/* The target or retain model of a point: brought (pipeline.*_model) or fine-tuned with
 * `ft`, the point's config as fine-tuning sees it. */
static int model_step(point *pt, const baldro_config *ft, step_id id, baldro_error *err) {
    step *s = &pt->st[id];
    const char *brought = cfg_str(pt->cfg, id == ST_FT_TARGET ? "pipeline.target_model"
                                                             : "pipeline.retain_model");
    const char *split = cfg_str(pt->cfg, id == ST_FT_TARGET ? "data.finetune_split"
                                                           : "data.retain_split");
    if (*brought) {
        s->name = g_strdup(id == ST_FT_TARGET ? "target" : "retain");
        s->model = g_strdup(brought);
        char *fp = NULL;
        int rc = baldro_step_fingerprint(brought, &fp, err);
        if (rc) {
            char *m = g_strdup(err->msg);
            baldro_error_set(err, rc, "pipeline.%s_model: %s", id == ST_FT_TARGET ? "target" : "retain", m);
            g_free(m);
            return rc;
        }
        s->hash = fp;
        s->inputs = g_strdup_printf("model = %s\n", brought);
        return BALDRO_OK;
    }
    s->name = g_strdup_printf("finetune-%s", split);
    char *up = g_strdup_printf("split = %s\n", split);
    s->inputs = baldro_step_inputs(ft, BALDRO_STEP_FINETUNE, s->name, up);
    s->hash = baldro_step_hash(s->inputs);
    g_free(up);
    return BALDRO_OK;
}

static void eval_step(point *pt, step_id id, const char *name, const char *model_hash,
                      const char *retain_hash) {
    step *s = &pt->st[id];
    s->name = g_strdup(name);
    char *up = retain_hash ? g_strdup_printf("model = %s\nretain_logs = %s\n", model_hash, retain_hash)
                           : g_strdup_printf("model = %s\n", model_hash);
    s->inputs = baldro_step_inputs(pt->cfg, BALDRO_STEP_EVAL, name, up);
    s->hash = baldro_step_hash(s->inputs);
    g_free(up);
}

static int identify(pipeline *p, baldro_error *err) {
    for (size_t i = 0; i < p->n_pts; i++) {
        point *pt = &p->pts[i];
        baldro_config *ft = finetune_view(p, pt, err);
        int rc = ft ? model_step(pt, ft, ST_FT_TARGET, err) : (err->code ? err->code : BALDRO_EINVAL);
        if (!rc) rc = model_step(pt, ft, ST_FT_RETAIN, err);
        baldro_config_free(ft);
        if (rc) {
            char *m = g_strdup(err->msg);
            baldro_error_set(err, err->code, "%s%s%s", p->n_axes ? pt->id : "",
                             p->n_axes ? ": " : "", m);
            g_free(m);
            return err->code;
        }
        eval_step(pt, ST_EVAL_RETAIN, "eval-retain", pt->st[ST_FT_RETAIN].hash, NULL);
        eval_step(pt, ST_EVAL_TARGET, "eval-target", pt->st[ST_FT_TARGET].hash,
                  pt->st[ST_EVAL_RETAIN].hash);
        step *u = &pt->st[ST_UNLEARN];
        u->name = g_strdup("unlearn");
        char *up = g_strdup_printf("model = %s\n", pt->st[ST_FT_TARGET].hash);
        u->inputs = baldro_step_inputs(pt->cfg, BALDRO_STEP_UNLEARN, "unlearn", up);
        u->hash = baldro_step_hash(u->inputs);
        g_free(up);
        eval_step(pt, ST_EVAL_UNLEARN, "eval-unlearn", u->hash, pt->st[ST_EVAL_RETAIN].hash);
    }
    /* Directories: the per-point steps live in the run directory; the reference steps
     * are shared when every point agrees on them, else one copy per distinct hash. */
    for (int id = 0; id < ST_N; id++) {
        int per_run = id == ST_UNLEARN || id == ST_EVAL_UNLEARN;
        int all_same = 1;
        for (size_t i = 1; i < p->n_pts; i++)
            all_same &= !strcmp(p->pts[i].st[id].hash, p->pts[0].st[id].hash);
        for (size_t i = 0; i < p->n_pts; i++) {
            step *s = &p->pts[i].st[id];
            if ((id == ST_FT_TARGET || id == ST_FT_RETAIN) && s->model) continue; /* brought */
            if (per_run) {
                s->dir = g_build_filename(p->pts[i].dir, s->name, NULL);
            } else {
                char *leaf = all_same ? g_strdup(s->name) : g_strdup_printf("%s-%.8s", s->name, s->hash);
                s->dir = g_build_filename(p->exp_dir, leaf, NULL);
                s->shared = 1;
                g_free(leaf);
            }
            if (id == ST_FT_TARGET || id == ST_FT_RETAIN || id == ST_UNLEARN)
                s->model = g_build_filename(s->dir, "model", NULL);
        }
    }
    return BALDRO_OK;
}

/* ---- running steps -------------------------------------------------------------- */

typedef int (*cmd_fn)(baldro_cli *, int, char **);

/* Runs one step unless its record says it is done with this hash. Training steps that
 * were interrupted resume from their last checkpoint. */
static int run_step(pipeline *p, point *pt, step_id id, const char *what, baldro_error *err) {
    step *s = &pt->st[id];
    if (!s->dir) return BALDRO_OK; /* a brought model */
    if (s->ran) return BALDRO_OK;  /* a shared step an earlier point ran or checked */
    baldro_step_record rec;
    if (baldro_step_read(s->dir, &rec, err)) return err->code;
    int done = rec.status && !strcmp(rec.status, "done") && rec.hash && !strcmp(rec.hash, s->hash);
    const char *out_file = id == ST_EVAL_RETAIN || id == ST_EVAL_TARGET || id == ST_EVAL_UNLEARN
                               ? "TOFU_SUMMARY.json" : "model/config.json";
    char *out_path = g_build_filename(s->dir, out_file, NULL);
    done &= g_file_test(out_path, G_FILE_TEST_IS_REGULAR);
    g_free(out_path);
    if (done && !p->force) {
        printf("  %-16s up to date (%s, %.8s)\n", s->name, s->dir, s->hash);
        fflush(stdout);
        s->seconds = rec.seconds;
        s->ran = 1;
        baldro_step_record_clear(&rec);
        return BALDRO_OK;
    }
    int train = id == ST_FT_TARGET || id == ST_FT_RETAIN || id == ST_UNLEARN;
    char *resume = NULL;
    if (train && !p->force && rec.status && !strcmp(rec.status, "running") && rec.hash &&
        !strcmp(rec.hash, s->hash))
        resume = baldro_step_latest_checkpoint(s->dir);
    baldro_step_record_clear(&rec);
    if (baldro_mkdir_p(s->dir, err) ||
        (train && !resume && baldro_step_clear_checkpoints(s->dir, err)) ||
        baldro_step_write(s->dir, s->name, "running", s->hash, s->inputs, 0, err)) {
        g_free(resume);
        return err->code;
    }
    printf("  %-16s %s%s%s\n", s->name, what, resume ? ", resuming from " : "",
           resume ? resume : "");
    fflush(stdout);

    GPtrArray *av = g_ptr_array_new_with_free_func(g_free);
    cmd_fn fn;
    const char *cmd;
    if (id == ST_FT_TARGET || id == ST_FT_RETAIN) {
        fn = cmd_finetune;
        cmd = "finetune";
    } else if (id == ST_UNLEARN) {
        fn = cmd_unlearn;
        cmd = "unlearn";
    } else {
        fn = cmd_eval;
        cmd = "eval";
    }
    g_ptr_array_add(av, g_strdup(cmd));
    g_ptr_array_add(av, g_strdup("--config"));
    g_ptr_array_add(av, g_strdup(pt->cfg_path));
    g_ptr_array_add(av, g_strdup("--out"));
    g_ptr_array_add(av, g_strdup(s->dir));
    if (train) {
        g_ptr_array_add(av, g_strdup(resume ? "--resume" : "--overwrite"));
        if (resume) g_ptr_array_add(av, g_strdup(resume));
    }
    if (id == ST_FT_RETAIN) {
        g_ptr_array_add(av, g_strdup("--split"));
        g_ptr_array_add(av, g_strdup(cfg_str(pt->cfg, "data.retain_split")));
    } else if (id == ST_FT_TARGET) {
        g_ptr_array_add(av, g_strdup("--split"));
        g_ptr_array_add(av, g_strdup(cfg_str(pt->cfg, "data.finetune_split")));
    } else if (id == ST_UNLEARN) {
        g_ptr_array_add(av, g_strdup("--set"));
        g_ptr_array_add(av, g_strdup_printf("model.path=%s", pt->st[ST_FT_TARGET].model));
    } else {
        const step *m = id == ST_EVAL_RETAIN ? &pt->st[ST_FT_RETAIN]
                      : id == ST_EVAL_TARGET ? &pt->st[ST_FT_TARGET] : &pt->st[ST_UNLEARN];
        g_ptr_array_add(av, g_strdup("--model"));
        g_ptr_array_add(av, g_strdup(m->model));
        if (id != ST_EVAL_RETAIN) {
            g_ptr_array_add(av, g_strdup("--retain-logs"));
            g_ptr_array_add(av, g_build_filename(pt->st[ST_EVAL_RETAIN].dir, "TOFU_EVAL.json", NULL));
        }
    }
    /* A model the user brought, or one fine-tuned here, is read with its own tokenizer;
     * the config's model.tokenizer is for models started from scratch. */
    if (id != ST_FT_TARGET && id != ST_FT_RETAIN) {
        g_ptr_array_add(av, g_strdup("--set"));
        g_ptr_array_add(av, g_strdup("model.tokenizer="));
    }
    g_ptr_array_add(av, NULL);
    /* GOption rearranges argv: hand it a copy, free ours. */
    int argc = (int)av->len - 1;
    char **argv = g_new0(char *, av->len);
    memcpy(argv, av->pdata, sizeof(char *) * av->len);
    double t0 = now_s();
    int rc = fn(p->cli, argc, argv);
    s->seconds = now_s() - t0;
    g_free(argv);
    g_ptr_array_free(av, TRUE);
    g_free(resume);
    s->ran = 1;
    if (rc != BALDRO_EXIT_OK) {
        baldro_error e2;
        baldro_step_write(s->dir, s->name, "failed", s->hash, s->inputs, s->seconds, &e2);
        /* The command printed its own one-line error; EPLUGIN tells the caller not to
         * print a second. */
        return baldro_error_set(err, BALDRO_EPLUGIN, "step %s failed (exit %d), recorded in "
                                "%s/step.json", s->name, rc, s->dir);
    }
    return baldro_step_write(s->dir, s->name, "done", s->hash, s->inputs, s->seconds, err);
}

/* run.json: what the report and a reader need to find everything of one run. */
static int write_run_json(const pipeline *p, const point *pt, baldro_error *err) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "baldro-run/1");
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, pt->id);
    json_builder_set_member_name(b, "settings");
    json_builder_begin_object(b);
    for (size_t a = 0; a < p->n_axes; a++) {
        json_builder_set_member_name(b, p->axes[a].key);
        /* Typed, so a script can plot them: numbers as numbers. */
        baldro_cfg_kind k = baldro_config_kind(pt->cfg, p->axes[a].key);
        if (k == BALDRO_CFG_INT) {
            int64_t v = 0;
            baldro_config_get_int(pt->cfg, p->axes[a].key, &v);
            json_builder_add_int_value(b, v);
        } else if (k == BALDRO_CFG_FLOAT) {
            double v = 0;
            baldro_config_get_float(pt->cfg, p->axes[a].key, &v);
            json_builder_add_double_value(b, v);
        } else if (k == BALDRO_CFG_BOOL) {
            int v = 0;
            baldro_config_get_bool(pt->cfg, p->axes[a].key, &v);
            json_builder_add_boolean_value(b, v);
        } else {
            json_builder_add_string_value(b, pt->labels[a]);
        }
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "steps");
    json_builder_begin_object(b);
    for (int id = 0; id < ST_N; id++) {
        const step *s = &pt->st[id];
        const char *path = s->dir ? s->dir : s->model;
        json_builder_set_member_name(b, k_step_key[id]);
        if (!path) {
            json_builder_add_null_value(b);
            continue;
        }
        /* Relative to the run directory, so an experiment can be moved or copied. */
        char *rel;
        if (g_str_has_prefix(path, pt->dir) && path[strlen(pt->dir)] == '/')
            rel = g_strdup(path + strlen(pt->dir) + 1);
        else if (g_str_has_prefix(path, p->exp_dir) && path[strlen(p->exp_dir)] == '/')
            rel = g_strdup_printf("../%s", path + strlen(p->exp_dir) + 1);
        else if (g_path_is_absolute(path)) rel = g_strdup(path);
        else rel = g_canonicalize_filename(path, NULL); /* a brought model, relative to the cwd */
        json_builder_add_string_value(b, rel);
        g_free(rel);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "hashes");
    json_builder_begin_object(b);
    for (int id = 0; id < ST_N; id++) {
        json_builder_set_member_name(b, k_step_key[id]);
        json_builder_add_string_value(b, pt->st[id].hash);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "wall_seconds");
    json_builder_begin_object(b);
    for (int id = 0; id < ST_N; id++) {
        if (!pt->st[id].dir) continue;
        json_builder_set_member_name(b, k_step_key[id]);
        json_builder_add_double_value(b, pt->st[id].seconds);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, pt->status);
    json_builder_end_object(b);
    char *path = g_build_filename(pt->dir, "run.json", NULL);
    int rc = baldro_json_write_atomic(b, path, err);
    g_free(path);
    g_object_unref(b);
    return rc;
}

static int write_pipeline_json(const pipeline *p, const char *name, baldro_error *err) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "baldro-pipeline/1");
    json_builder_set_member_name(b, "experiment");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "config");
    json_builder_add_string_value(b, p->config_path ? p->config_path : "");
    json_builder_set_member_name(b, "sweep");
    json_builder_begin_object(b);
    for (size_t a = 0; a < p->n_axes; a++) {
        json_builder_set_member_name(b, p->axes[a].key);
        json_builder_begin_array(b);
        for (size_t v = 0; v < p->axes[a].n_values; v++)
            json_builder_add_string_value(b, p->axes[a].labels[v]);
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "runs");
    json_builder_begin_array(b);
    for (size_t i = 0; i < p->n_pts; i++) json_builder_add_string_value(b, p->pts[i].id);
    json_builder_end_array(b);
    json_builder_end_object(b);
    char *path = g_build_filename(p->exp_dir, "pipeline.json", NULL);
    int rc = baldro_json_write_atomic(b, path, err);
    g_free(path);
    g_object_unref(b);
    return rc;
}

static void print_plan(const pipeline *p) {
    printf("experiment  %s: %zu run%s\n", p->exp_dir, p->n_pts, p->n_pts == 1 ? "" : "s");
    for (size_t a = 0; a < p->n_axes; a++) {
        printf("  sweep %s:", p->axes[a].key);
        for (size_t v = 0; v < p->axes[a].n_values; v++) printf(" %s", p->axes[a].labels[v]);
        printf("\n");
    }
    /* Each distinct step once, in the order they run. */
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < p->n_pts; i++)
        for (int id = 0; id < ST_N; id++) {
            const step *s = &p->pts[i].st[id];
            const char *where = s->dir ? s->dir : s->model;
            if (g_hash_table_contains(seen, where)) continue;
            g_hash_table_add(seen, (gpointer)where);
            printf("  %-16s %s%s\n", s->name, where, s->dir ? "" : " (given)");
        }
    g_hash_table_destroy(seen);
}

static void pipeline_clear(pipeline *p) {
    for (size_t i = 0; i < p->n_pts; i++) {
        point *pt = &p->pts[i];
        for (int id = 0; id < ST_N; id++) step_clear(&pt->st[id]);
        g_free(pt->id);
        g_free(pt->labels);
        g_strfreev(pt->sets);
        baldro_config_free(pt->cfg);
        g_free(pt->dir);
        g_free(pt->cfg_path);
        g_free(pt->status);
    }
    g_free(p->pts);
    baldro_sweep_axes_free(p->axes, p->n_axes);
    g_free(p->exp_dir);
}

int cmd_pipeline(baldro_cli *cli, int argc, char **argv) {
    baldro_cli_config_opts opts = {0};
    gboolean dry_run = FALSE, force = FALSE, no_report = FALSE;
    char **sweeps = NULL;
    GOptionEntry entries[] = {
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
         "Resolve the config and the sweep, print every step and where it goes, run nothing",
         NULL},
        {"sweep", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sweeps,
         "Sweep a setting over values, e.g. --sweep baldro.tau=0.5,1,2 (repeatable; replaces "
         "the config's sweep entry for that key)", "KEY=V1,V2"},
        {"force", 0, 0, G_OPTION_ARG_NONE, &force,
         "Run every step again, even those whose outputs match the config", NULL},
        {"no-report", 0, 0, G_OPTION_ARG_NONE, &no_report, "Do not write report.html", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new(
        "- fine-tune target and retain models, unlearn, evaluate and report (with sweeps)");
    g_option_context_add_main_entries(ctx, entries, NULL);
    cli_add_config_options(ctx, &opts);
    int ok = cli_parse(ctx, &argc, &argv, "pipeline");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_config *cfg = NULL;
    pipeline p = {.cli = cli, .force = force};
    baldro_error err;
    baldro_error_clear(&err);
    double t_start = now_s();
    if (!ok) goto out;
    if (argc > 1) {
        cli_error("pipeline: unexpected argument '%s'", argv[1]);
        goto out;
    }
    cfg = cli_resolve_config(cli, &opts);
    if (!cfg) goto out;
    p.config_path = opts.config_path;
    if (baldro_config_sweep(cfg, &p.axes, &p.n_axes, &err)) {
        cli_error("pipeline: %s", err.msg);
        goto out;
    }
    for (char **s = sweeps; s && *s; s++)
        if (add_cli_sweep(&p, cfg, *s, &err)) {
            cli_error("pipeline: %s", err.msg);
            goto out;
        }
    const char *name = cfg_str(cfg, "run.name");
    p.exp_dir = g_build_filename(cfg_str(cfg, "run.output_dir"), name, NULL);
    if (make_points(&p, &opts, &err) || preflight(&p, &err) || identify(&p, &err)) {
        cli_error("pipeline: %s", err.msg);
        goto out;
    }
    print_plan(&p);
    if (dry_run) {
        printf("dry run: nothing executed\n");
        rc = BALDRO_EXIT_OK;
        goto out;
    }
    rc = BALDRO_EXIT_FAILED;
    if (baldro_mkdir_p(p.exp_dir, &err) || write_pipeline_json(&p, name, &err)) {
        cli_error("pipeline: %s", err.msg);
        goto out;
    }
    size_t n_failed = 0;
    for (size_t i = 0; i < p.n_pts; i++) {
        point *pt = &p.pts[i];
        printf("\n== run %zu/%zu: %s ==\n", i + 1, p.n_pts, pt->id);
        fflush(stdout);
        if (baldro_mkdir_p(pt->dir, &err) || baldro_config_write(pt->cfg, pt->cfg_path, &err)) {
            cli_error("pipeline: %s", err.msg);
            goto out;
        }
        /* The reference steps (fine-tuning, their evaluations) serve every run: a
         * failure there ends the pipeline. A failed unlearning run is recorded and the
         * sweep goes on. */
        static const char *const what[ST_N] = {
            "fine-tune the target model", "fine-tune the retain model",
            "evaluate the retain model (the forget-quality reference)", "evaluate the target model",
            "unlearn", "evaluate the unlearned model"};
        for (int id = 0; id < ST_N; id++) {
            if (run_step(&p, pt, (step_id)id, what[id], &err) == BALDRO_OK) continue;
            if (err.code == BALDRO_EPLUGIN) LOG_WARN("pipeline: %s: %s", pt->id, err.msg);
            else cli_error("pipeline: %s: %s", pt->id, err.msg);
            g_free(pt->status);
            pt->status = g_strdup_printf("failed: %s", k_step_key[id]);
            baldro_error e2;
            write_run_json(&p, pt, &e2);
            /* Shared steps mark every point that needs them: the next run would only
             * fail the same way. */
            if (id < ST_UNLEARN) goto out;
            break;
        }
        if (!strcmp(pt->status, "pending")) {
            g_free(pt->status);
            pt->status = g_strdup("done");
        } else {
            n_failed++;
        }
        pt->wall = pt->st[ST_UNLEARN].seconds + pt->st[ST_EVAL_UNLEARN].seconds;
        if (write_run_json(&p, pt, &err)) {
            cli_error("pipeline: %s", err.msg);
            goto out;
        }
        /* Later runs skip the shared steps, but must read their records too. */
        for (size_t j = i + 1; j < p.n_pts; j++)
            for (int id = 0; id < ST_UNLEARN; id++)
                if (p.pts[j].st[id].dir && !strcmp(p.pts[j].st[id].dir, pt->st[id].dir)) {
                    p.pts[j].st[id].ran = 1;
                    p.pts[j].st[id].seconds = pt->st[id].seconds;
                }
    }
    /* Summary over the runs. */
    baldro_summary_run *sr = g_new0(baldro_summary_run, p.n_pts);
    char **paths = g_new0(char *, p.n_pts);
    for (size_t i = 0; i < p.n_pts; i++) {
        point *pt = &p.pts[i];
        paths[i] = g_build_filename(pt->st[ST_EVAL_UNLEARN].dir, "TOFU_SUMMARY.json", NULL);
        sr[i] = (baldro_summary_run){.id = pt->id, .labels = pt->labels, .status = pt->status,
                                     .wall_seconds = pt->wall,
                                     .summary = !strcmp(pt->status, "done") ? paths[i] : NULL};
    }
    char *t_sum = g_build_filename(p.pts[0].st[ST_EVAL_TARGET].dir, "TOFU_SUMMARY.json", NULL);
    char *r_sum = g_build_filename(p.pts[0].st[ST_EVAL_RETAIN].dir, "TOFU_SUMMARY.json", NULL);
    int src = baldro_summary_write(p.exp_dir, p.axes, p.n_axes, sr, p.n_pts, t_sum, r_sum, &err);
    g_free(t_sum);
    g_free(r_sum);
    for (size_t i = 0; i < p.n_pts; i++) g_free(paths[i]);
    g_free(paths);
    g_free(sr);
    if (src) {
        cli_error("pipeline: %s", err.msg);
        goto out;
    }
    char *md = g_build_filename(p.exp_dir, "summary.md", NULL);
    char *text = NULL;
    if (g_file_get_contents(md, &text, NULL, NULL)) printf("\n%s", text);
    g_free(text);
    g_free(md);
    int want_report = 1;
    baldro_config_get_bool(cfg, "pipeline.report", &want_report);
    if (want_report && !no_report) {
        /* The same page `baldro-host report EXP` writes (core/report). */
        baldro_report *r = NULL;
        const char *dirs[] = {p.exp_dir};
        char *rpath = g_build_filename(p.exp_dir, "report.html", NULL);
        int wrc = baldro_report_load(dirs, 1, &r, &err);
        if (!wrc) {
            for (size_t i = 0; i < baldro_report_n_warnings(r); i++)
                LOG_WARN("report: %s", baldro_report_warning(r, i));
            size_t len = 0;
            char *html = baldro_report_html(r, &len);
            wrc = baldro_write_file_atomic(rpath, html, len, &err);
            g_free(html);
        }
        baldro_report_free(r);
        g_free(rpath);
        if (wrc) {
            cli_error("pipeline: report: %s (the runs and the summary are complete)", err.msg);
            goto out;
        }
    }
    printf("\npipeline: %zu run%s, %zu failed, %.0f s; summary in %s/summary.{md,csv,json}\n",
           p.n_pts, p.n_pts == 1 ? "" : "s", n_failed, now_s() - t_start, p.exp_dir);
    if (want_report && !no_report) printf("report: %s/report.html\n", p.exp_dir);
    rc = n_failed ? BALDRO_EXIT_FAILED : BALDRO_EXIT_OK;
out:
    pipeline_clear(&p);
    baldro_config_free(cfg);
    g_strfreev(sweeps);
    cli_config_opts_clear(&opts);
    return rc;
}
