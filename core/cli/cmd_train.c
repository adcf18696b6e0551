/* core/cli/cmd_train.c: `baldro-host finetune` and `baldro-host unlearn`.
 *
 * Both read the experiment config, build the tokenised TOFU data through the model's chat
 * template, open the model with the memory plan the data needs, and hand everything to
 * the trainer (core/train/trainer.h). finetune trains NLL on one split (the target model
 * on full, the retain model on retainNN); unlearn trains objective.forget on
 * data.forget_split, objective.retain on data.retain_split, weighted by the BalDRO core.
 * Output goes to <run.output_dir>/<run.name>/<command>[-<split>] unless --out says where:
 * metrics.jsonl, dro.jsonl, checkpoint-N/ and model/ (HF directories). A terminal gets a
 * progress bar; a pipe or file gets a plain line every 10% or 10 s (util/progress.h). */
#include <baldro/objective.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "data/batch.h"
#include "data/chat_template.h"
#include "data/subset.h"
#include "data/tofu.h"
#include "engine/model_hf.h"
#include "train/ref_cache.h"
#include "train/trainer.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/progress.h"
#include "pipeline/step.h"

typedef struct train_job {
    int unlearn;
    baldro_cli *cli;
    baldro_config *cfg;
    const baldro_registry *reg;
    baldro_backend *be;
    const baldro_ops *ops;
    baldro_model *m;
    baldro_model *ref;               /* KL-type retain objectives: the model before training */
    baldro_tokenizer *tok;
    int kind;
    baldro_tofu_split *s_main, *s_ret;
    baldro_tofu_lines *idk;
    baldro_tok_dataset *d_main, *d_alt, *d_ret;
    baldro_tofu_split *s_probe;      /* finetune: the forget split, scored at the end */
    baldro_tok_dataset *d_probe;
    baldro_ref_logp *ref_main, *ref_alt;
    const baldro_object *fo, *ro;
    void *fstate, *rstate;
    baldro_param_value *fvals, *rvals;
    char *tok_dir;
    baldro_progress bar;
    int bar_started;
} train_job;

static const char *cfg_str(const baldro_config *cfg, const char *path) {
    const char *s = "";
    baldro_config_get_string(cfg, path, &s);
    return s;
}
static double cfg_f(const baldro_config *cfg, const char *path) {
    double v = 0;
    baldro_config_get_float(cfg, path, &v);
    return v;
}
static int64_t cfg_i(const baldro_config *cfg, const char *path) {
    int64_t v = 0;
    baldro_config_get_int(cfg, path, &v);
    return v;
}

/* One bar (a terminal) or a plain line every 10% / 10 s (a pipe) per run; every step's
 * figures are in metrics.jsonl either way. */
static void progress(void *ud, const baldro_step_report *r) {
    train_job *j = ud;
    char extra[160];
    if (j->unlearn)
        g_snprintf(extra, sizeof extra, "epoch %d  loss %.5g  forget %.5g  retain %.5g  %.0f tok/s",
                   r->epoch + 1, r->loss, r->forget, r->retain, r->tokens_per_s);
    else
        g_snprintf(extra, sizeof extra, "epoch %d  loss %.5g  %.0f tok/s", r->epoch + 1, r->loss,
                   r->tokens_per_s);
    if (r->step == r->total_steps) {
        j->bar.done = r->step;
        baldro_progress_finish(&j->bar, extra);
    }
    else baldro_progress_update(&j->bar, r->step, extra);
    if (r->saved && !j->bar.quiet) fprintf(stderr, "%ssaved %s\n", j->bar.tty ? "\n" : "", r->saved);
}

/* objectives.<name>.* of `o` from the config, and its state. */
static int make_objective(train_job *j, const baldro_object *o, baldro_param_value **vals,
                          void **state, baldro_error *err) {
    const baldro_param_spec *spec = baldro_object_params(o);
    size_t n = 0;
    while (spec && spec[n].name) n++;
    *vals = g_new0(baldro_param_value, n ? n : 1);
    int rc = baldro_config_param_values(j->cfg, "objectives", o->name, spec, *vals, err);
    if (rc) return rc;
    *state = NULL;
    if (o->vt.objective.create) {
        char perr[256] = "";
        if (o->vt.objective.create(state, *vals, perr, sizeof perr) != 0)
            return baldro_error_set(err, BALDRO_EINVAL, "objectives.%s: %s", o->name,
                                    perr[0] ? perr : "create failed");
    }
    return BALDRO_OK;
}

static const baldro_object *find_objective(train_job *j, const char *path, const char *name,
                                           baldro_error *err) {
    const baldro_object *o = baldro_registry_find(j->reg, BALDRO_KIND_OBJECTIVE, name);
    if (o) return o;
    GString *names = g_string_new(NULL);
    for (size_t i = 0; i < baldro_registry_count(j->reg); i++) {
        const baldro_object *x = baldro_registry_at(j->reg, i);
        if (x->kind == BALDRO_KIND_OBJECTIVE)
            g_string_append_printf(names, "%s%s", names->len ? ", " : "", x->name);
    }
    baldro_error_set(err, BALDRO_ENOTFOUND, "%s: %s: '%s' is not a loaded objective (available: "
                     "%s)", baldro_config_origin(j->cfg, path), path, name, names->str);
    g_string_free(names, TRUE);
    return NULL;
}

static int load_split(train_job *j, const char *split, baldro_tofu_split **s,
                      baldro_tok_dataset **d, baldro_error *err) {
    const char *dir = cfg_str(j->cfg, "data.tofu_dir");
    int rc = baldro_tofu_load(dir, split, s, err);
    size_t n_authors = (size_t)cfg_i(j->cfg, "data.subset_authors"), n_forget = 0;
    if (!rc && n_authors > 0 && !strcmp(split, "full")) {
        baldro_tofu_split *f = NULL;
        rc = baldro_tofu_load(dir, cfg_str(j->cfg, "data.forget_split"), &f, err);
        if (!rc) n_forget = f->n;
        baldro_tofu_free(f);
    }
    if (!rc) rc = baldro_tofu_subset_authors(*s, split, n_authors, n_forget, err);
    if (!rc)
        rc = baldro_tok_dataset_build(j->tok, j->kind, *s, (size_t)cfg_i(j->cfg, "data.max_length"),
                                      d, err);
    if (!rc && (*d)->n_truncated)
        LOG_WARN("%s: %zu of %zu items cut to data.max_length = %zu tokens (%zu of them lost "
                 "their whole answer and carry no loss)", split, (*d)->n_truncated, (*d)->n,
                 (*d)->max_length, (*d)->n_no_answer);
    return rc;
}

/* The tokenizer: model.tokenizer, else tokenizer.json beside the model (or the resumed
 * checkpoint, which carries a copy). */
static int open_tokenizer(train_job *j, const char *model_dir, baldro_error *err) {
    const char *t = cfg_str(j->cfg, "model.tokenizer");
    char *path = *t ? g_strdup(t) : g_build_filename(model_dir, "tokenizer.json", NULL);
    int rc = baldro_tok_load_json(path, &j->tok, err);
    j->tok_dir = g_path_get_dirname(path);
    g_free(path);
    if (rc) return rc;
    const char *how;
    char *where = g_strdup_printf("%s", baldro_config_origin(j->cfg, "model.template"));
    rc = baldro_template_resolve(cfg_str(j->cfg, "model.template"), j->tok, where, &j->kind,
                                 &how, err);
    g_free(where);
    if (!rc)
        LOG_INFO("chat template %s (%s)", baldro_template_name(j->kind), how);
    return rc;
}

static int open_model(train_job *j, const char *resume, baldro_model_limits lim,
                      baldro_model **out, baldro_error *err) {
    const char *path = cfg_str(j->cfg, "model.path");
    /* The logits of a training model are chunked (trainer.logits_mib) unless the retain
     * objective reads whole distributions (KL), which needs every row at once. */
    int64_t lb = 0;
    if (lim.train && !(j->ro && (j->ro->vt.objective.flags & BALDRO_OBJ_NEEDS_LOGITS)))
        lb = cfg_i(j->cfg, "trainer.logits_mib") * 1048576;
    if (resume) return baldro_model_open_hf_dir_train(j->reg, j->ops, j->be, resume, lim, lb, out, err);
    if (*path) return baldro_model_open_hf_dir_train(j->reg, j->ops, j->be, path, lim, lb, out, err);
    const char *init = cfg_str(j->cfg, "model.init_config");
    if (!*init)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: model.path is empty: set it to an HF directory, or set "
                                "model.init_config to a config.json to start from random weights",
                                baldro_config_origin(j->cfg, "model.path"));
    char *json = NULL;
    gsize len = 0;
    if (!g_file_get_contents(init, &json, &len, NULL))
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot read (model.init_config)", init);
    baldro_model_open_args a = {.hf_config_json = json, .source = init,
                                .seed = (uint64_t)cfg_i(j->cfg, "run.seed"), .limits = lim,
                                .logits_bytes = lb};
    int rc = baldro_model_open(j->reg, j->ops, j->be, &a, out, err);
    g_free(json);
    return rc;
}

/* Reference log-probs: loaded from the run's cache when its key matches, else computed
 * with the model as it is now (before the first update) and cached. */
static int reference(train_job *j, const char *run_dir, uint64_t hash, int resumed,
                     baldro_error *err) {
    int need = (j->fo->vt.objective.flags & BALDRO_OBJ_NEEDS_REF_LOGP) != 0;
    if (!need) {
        LOG_INFO("reference: %s needs no reference log-probs", j->fo->name);
        return BALDRO_OK;
    }
    baldro_batch b = {0};
    int32_t B = (int32_t)cfg_i(j->cfg, "trainer.per_device_batch");
    const baldro_tok_dataset *sets[2] = {j->d_main, j->d_alt};
    baldro_ref_logp **outs[2] = {&j->ref_main, &j->ref_alt};
    const char *names[2] = {"ref_logp_forget.bin", "ref_logp_idk.bin"};
    int rc = BALDRO_OK;
    for (int k = 0; k < 2 && !rc; k++) {
        if (!sets[k]) continue;
        char *path = g_build_filename(run_dir, names[k], NULL);
        rc = baldro_ref_logp_load(path, hash, sets[k], outs[k], err);
        if (rc == BALDRO_OK) {
            LOG_INFO("reference: %s read from %s (cached; no reference model "
                       "in memory)", k ? "IDK log-probs" : "forget log-probs", path);
        } else if (rc == BALDRO_ENOTFOUND && resumed) {
            rc = baldro_error_set(err, BALDRO_ENOTFOUND, "%s: missing: a resumed run needs the "
                                  "reference log-probs of its first start", path);
        } else if (rc == BALDRO_ENOTFOUND) {
            rc = baldro_batch_init(&b, B, (int32_t)sets[k]->longest - 1, err);
            if (!rc) rc = baldro_ref_logp_compute(j->m, hash, sets[k], &b, B, outs[k], err);
            if (!rc) rc = baldro_ref_logp_save(*outs[k], path, err);
            baldro_batch_release(&b);
            if (!rc)
                LOG_INFO("reference: %s computed with the model before "
                           "unlearning and cached in %s", k ? "IDK log-probs" : "forget log-probs",
                           path);
        }
        g_free(path);
    }
    return rc;
}

static void report_probability(train_job *j, const char *what, const char *split,
                               const baldro_tok_dataset *ds, int32_t B, const char *after_what) {
    baldro_batch b = {0};
    baldro_ref_logp *r = NULL;
    baldro_error err = {0};
    if (!baldro_batch_init(&b, B, (int32_t)ds->longest - 1, &err) &&
        !baldro_ref_logp_compute(j->m, 0, ds, &b, B, &r, &err))
        fprintf(stderr, "%s: %s answer probability after %s %.4f\n", what, split, after_what,
                baldro_ref_logp_probability(r));
    else
        LOG_WARN("%s: %s", what, err.msg);
    baldro_ref_logp_free(r);
    baldro_batch_release(&b);
}

static void job_free(train_job *j) {
    if (j->fo && j->fo->vt.objective.destroy && j->fstate) j->fo->vt.objective.destroy(j->fstate);
    if (j->ro && j->ro->vt.objective.destroy && j->rstate) j->ro->vt.objective.destroy(j->rstate);
    g_free(j->fvals);
    g_free(j->rvals);
    baldro_ref_logp_free(j->ref_main);
    baldro_ref_logp_free(j->ref_alt);
    baldro_tok_dataset_free(j->d_main);
    baldro_tok_dataset_free(j->d_alt);
    baldro_tok_dataset_free(j->d_ret);
    baldro_tok_dataset_free(j->d_probe);
    baldro_tofu_free(j->s_probe);
    baldro_tofu_free(j->s_main);
    baldro_tofu_free(j->s_ret);
    baldro_tofu_lines_free(j->idk);
    baldro_model_close(j->m);
    baldro_model_close(j->ref);
    baldro_backend_close(j->be);
    baldro_tok_free(j->tok);
    g_free(j->tok_dir);
    baldro_config_free(j->cfg);
}

static int cmd_train(baldro_cli *cli, int argc, char **argv, int unlearn) {
    baldro_cli_config_opts opts = {0};
    char *resume = NULL, *out = NULL, *split = NULL;
    gboolean overwrite = FALSE;
    GOptionEntry entries[] = {
        {"resume", 0, 0, G_OPTION_ARG_FILENAME, &resume,
         "Continue from a checkpoint directory of this run (checkpoint-N)", "DIR"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
         "Run directory (default <run.output_dir>/<run.name>/<command>[-<split>])", "DIR"},
        {"overwrite", 0, 0, G_OPTION_ARG_NONE, &overwrite,
         "Start over in a run directory that holds a previous run", NULL},
        {"split", 0, 0, G_OPTION_ARG_STRING, &split,
         "finetune: the TOFU split to train on (default data.finetune_split)", "NAME"},
        G_OPTION_ENTRY_NULL};
    const char *what = unlearn ? "unlearn" : "finetune";
    GOptionContext *ctx = g_option_context_new(
        unlearn ? "- unlearn data.forget_split: objective.forget + objective.retain + BalDRO"
                : "- fine-tune a model on a TOFU split (NLL on the answers)");
    g_option_context_add_main_entries(ctx, entries, NULL);
    cli_add_config_options(ctx, &opts);
    int ok = cli_parse(ctx, &argc, &argv, what);
    g_option_context_free(ctx);
    train_job j = {.unlearn = unlearn, .cli = cli};
    int rc = BALDRO_EXIT_USAGE;
    char *run_dir = NULL;
    baldro_error err = {0};
    baldro_train_result res = {0};
    if (!ok) goto done;
    if (argc > 1) {
        cli_error("%s: unexpected argument '%s'", what, argv[1]);
        goto done;
    }
    j.cfg = cli_resolve_config(cli, &opts);
    if (!j.cfg) goto done;
    /* finetune.lr / epochs / seed, when set, are what fine-tuning trains with. */
    if (!unlearn && baldro_step_apply_finetune(j.cfg, &err)) {
        cli_error("%s: %s", what, err.msg);
        goto done;
    }
    j.reg = baldro_loader_registry(cli_load_plugins(cli, 0));
    const char *main_split = unlearn ? cfg_str(j.cfg, "data.forget_split")
                                     : split ? split : cfg_str(j.cfg, "data.finetune_split");
    if (out) {
        run_dir = g_strdup(out);
    } else {
        char *leaf = unlearn ? g_strdup("unlearn") : g_strdup_printf("finetune-%s", main_split);
        run_dir = g_build_filename(cfg_str(j.cfg, "run.output_dir"), cfg_str(j.cfg, "run.name"),
                                   leaf, NULL);
        g_free(leaf);
    }
    /* Objectives first: a typo is a usage error, found before any heavy work. */
    const char *fname = unlearn ? cfg_str(j.cfg, "objective.forget") : "nll";
    const char *rname = unlearn ? cfg_str(j.cfg, "objective.retain") : "";
    j.fo = find_objective(&j, "objective.forget", fname, &err);
    if (j.fo && *rname) j.ro = find_objective(&j, "objective.retain", rname, &err);
    if (!j.fo || (*rname && !j.ro)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (unlearn && !(j.fo->vt.objective.flags & BALDRO_OBJ_FORGET))
        LOG_WARN("objective.forget = %s is not marked as a forget objective",
                   j.fo->name);
    if (make_objective(&j, j.fo, &j.fvals, &j.fstate, &err) ||
        (j.ro && make_objective(&j, j.ro, &j.rvals, &j.rstate, &err))) {
        cli_error("%s: %s", what, err.msg);
        goto done;
    }
    rc = BALDRO_EXIT_FAILED;
    if (resume) {
        char *st = g_build_filename(resume, "trainer_state.json", NULL);
        int complete = g_file_test(st, G_FILE_TEST_IS_REGULAR);
        if (!complete)
            cli_error("%s: %s: missing: not a complete baldro checkpoint (resume from a "
                      "checkpoint-N or model directory of this run)", what, st);
        g_free(st);
        if (!complete) goto done;
    }
    const char *mpath = cfg_str(j.cfg, "model.path");
    if (open_tokenizer(&j, resume ? resume : *mpath ? mpath : ".", &err)) {
        cli_error("%s: %s", what, err.msg);
        goto done;
    }
    /* data */
    int needs_alt = (j.fo->vt.objective.flags & BALDRO_OBJ_NEEDS_ALT) != 0;
    if (needs_alt && j.fo->vt.objective.grain != BALDRO_GRAIN_SAMPLE) {
        cli_error("%s: objective %s asks for a second answer but is not sample-grained", what,
                  j.fo->name);
        goto done;
    }
    if (load_split(&j, main_split, &j.s_main, &j.d_main, &err) ||
        (j.ro && load_split(&j, cfg_str(j.cfg, "data.retain_split"), &j.s_ret, &j.d_ret, &err))) {
        cli_error("%s: %s", what, err.msg);
        goto done;
    }
    if (needs_alt &&
        (baldro_tofu_load_idk(cfg_str(j.cfg, "data.tofu_dir"), &j.idk, &err) ||
         baldro_tok_dataset_build_idk(j.tok, j.kind, j.s_main, j.idk,
                                      (uint64_t)cfg_i(j.cfg, "run.seed"),
                                      (size_t)cfg_i(j.cfg, "data.max_length"), &j.d_alt, &err))) {
        cli_error("%s: %s", what, err.msg);
        goto done;
    }
    /* the trainer's plan, then the model it needs */
    baldro_dro_config dro = {
        .mode = unlearn ? baldro_dro_parse_mode(cfg_str(j.cfg, "baldro.mode")) : BALDRO_DRO_NONE,
        .tau = cfg_f(j.cfg, "baldro.tau"),
        .direction = baldro_dro_parse_direction(cfg_str(j.cfg, "baldro.direction")),
        .scope = baldro_dro_parse_scope(cfg_str(j.cfg, "baldro.scope")),
        .rho = cfg_f(j.cfg, "baldro.rho")};
    int recompute = 0;
    baldro_config_get_bool(j.cfg, "trainer.recompute", &recompute);
    baldro_train_config tc = {
        .what = what, .main = j.d_main, .main_name = main_split, .alt = j.d_alt,
        .retain = j.d_ret, .forget_obj = j.fo, .forget_state = j.fstate, .retain_obj = j.ro,
        .retain_state = j.rstate,
        .gamma = unlearn ? baldro_param_lookup(j.fo, j.fvals, "gamma", 1.0) : 1.0,
        .alpha = unlearn ? baldro_param_lookup(j.fo, j.fvals, "alpha", 1.0) : 0.0,
        .dro = dro, .lr = (float)cfg_f(j.cfg, "trainer.lr"),
        .epochs = (int32_t)cfg_i(j.cfg, "trainer.epochs"),
        .batch = (int32_t)cfg_i(j.cfg, "trainer.per_device_batch"),
        .accum = (int32_t)cfg_i(j.cfg, "trainer.grad_accum"),
        .warmup_epochs = cfg_f(j.cfg, "trainer.warmup_epochs"),
        .adamw = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                  .weight_decay = (float)cfg_f(j.cfg, "trainer.weight_decay"),
                  .max_grad_norm = (float)cfg_f(j.cfg, "trainer.max_grad_norm")},
        .save_every = cfg_i(j.cfg, "trainer.save_every"),
        .seed = (uint64_t)cfg_i(j.cfg, "run.seed"), .run_dir = run_dir,
        .copy_files_from = j.tok_dir, .overwrite = overwrite, .on_step = progress, .ud = &j};
    const char *probe = cfg_str(j.cfg, "data.forget_split");
    if (!unlearn && strcmp(main_split, probe) != 0 &&
        load_split(&j, probe, &j.s_probe, &j.d_probe, &err)) {
        cli_error("%s: %s", what, err.msg);
        goto done;
    }
    int32_t rows, seq;
    baldro_train_limits(&tc, &rows, &seq);
    if (j.d_probe && (int32_t)j.d_probe->longest - 1 > seq) seq = (int32_t)j.d_probe->longest - 1;
    baldro_model_limits lim = {.max_batch = rows, .max_seq = seq, .train = 1,
                               .recompute = recompute};
    if (cli_open_backend(j.cfg, &j.be, &j.ops, &err) ||
        open_model(&j, resume, lim, &j.m, &err)) {
        cli_error("%s: %s", what, err.msg);
        goto done;
    }
    if (j.ro && (j.ro->vt.objective.flags & BALDRO_OBJ_NEEDS_LOGITS)) {
        /* The reference's whole distribution cannot be cached like target log-probs: a
         * frozen second copy of the model before training (model.path, also on resume). */
        baldro_model_limits rl = {.max_batch = tc.batch, .max_seq = seq};
        if (open_model(&j, NULL, rl, &j.ref, &err)) {
            cli_error("%s: reference model for %s: %s", what, j.ro->name, err.msg);
            goto done;
        }
        tc.ref_model = j.ref;
        const baldro_param_spec *sp = baldro_object_params(j.ro);
        for (size_t i = 0; sp && sp[i].name; i++)
            if (!strcmp(sp[i].name, "positions") && j.rvals[i].s &&
                !strcmp(j.rvals[i].s, "answer"))
                tc.retain_answer_only = 1;
        LOG_INFO("reference: %s needs the reference's whole distribution: a frozen copy of the "
                 "model (%.1f MiB) stays in memory", j.ro->name,
                 (double)baldro_model_get_info(j.ref)->planned_bytes / 1048576.0);
    }
    const baldro_model_info *mi = baldro_model_get_info(j.m);
    fprintf(stderr, "%s: %s model, %lld parameters, %.1f MiB planned; %s: %zu items (%zu "
            "retain), %d x %d per update, %d epochs\n", what, baldro_model_arch(j.m),
            (long long)mi->n_params, (double)mi->planned_bytes / 1048576.0, main_split,
            j.d_main->n, j.d_ret ? j.d_ret->n : (size_t)0, tc.batch, tc.accum, tc.epochs);
    if (unlearn)
        fprintf(stderr, "%s: forget %s (gamma %g) + retain %s (alpha %g), baldro %s (tau %g, %s, "
                "%s scope, rho %g)\n", what, j.fo->name, tc.gamma, j.ro ? j.ro->name : "none",
                tc.alpha, baldro_dro_mode_name(dro.mode), dro.tau, cfg_str(j.cfg, "baldro.direction"),
                cfg_str(j.cfg, "baldro.scope"), dro.rho);
    uint64_t hash = 0;
    if (unlearn) {
        if (baldro_mkdir_p(run_dir, &err) ||
            (resume ? baldro_train_checkpoint_ref_hash(resume, &hash, &err) : baldro_model_hash(j.m, &hash, &err)) ||
            reference(&j, run_dir, hash, resume != NULL, &err)) {
            cli_error("%s: %s", what, err.msg);
            goto done;
        }
        tc.ref_main = j.ref_main;
        tc.ref_alt = j.ref_alt;
        tc.ref_model_hash = hash;
        if (j.ref_main)
            fprintf(stderr, "%s: forget-set probability before unlearning %.4f\n", what,
                    baldro_ref_logp_probability(j.ref_main));
    }
    baldro_progress_start(&j.bar, what, baldro_train_total_steps(&tc, NULL), "steps");
    j.bar_started = 1;
    if (baldro_train(j.m, &tc, resume, &res, &err)) {
        if (j.bar_started && j.bar.tty && !j.bar.quiet) fputc('\n', stderr);
        cli_error("%s", err.msg);
        goto done;
    }
    /* TOFU's Probability (mean of exp(-NLL/|A|)) after training: on the main split, and
     * for a fine-tuned model also on the forget split, which says whether the model knows
     * the forget authors (the target) or never saw them (the retain twin). */
    report_probability(&j, what, main_split, j.d_main, tc.batch, unlearn ? "unlearning" : "fine-tuning");
    if (j.d_probe) report_probability(&j, what, probe, j.d_probe, tc.batch, "fine-tuning");
    printf("%s: wrote %s (%lld steps, %.1f s, %.0f tokens/s)\n", what, res.final_dir,
           (long long)res.steps, res.seconds, (double)res.tokens / (res.seconds > 0 ? res.seconds : 1));
    rc = BALDRO_EXIT_OK;
done:
    g_free(res.final_dir);
    job_free(&j);
    g_free(run_dir);
    g_free(resume);
    g_free(out);
    g_free(split);
    cli_config_opts_clear(&opts);
    return rc;
}

int cmd_finetune(baldro_cli *cli, int argc, char **argv) { return cmd_train(cli, argc, argv, 0); }
int cmd_unlearn(baldro_cli *cli, int argc, char **argv) { return cmd_train(cli, argc, argv, 1); }
