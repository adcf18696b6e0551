/*
 * tests/unit/test_backend_select.c: runtime.backend / runtime.device and
 * cli_open_backend (core/cli/cli_common.c): "cpu" opens the CPU backend, "cuda" opens
 * the CUDA one or fails with one line naming runtime.backend (no device, or a build
 * without CUDA), "auto" falls back to the CPU. runtime.precision: bf16 with cpu is a
 * one-line config error, with auto it falls back to the fp32 CPU backend. Nothing here
 * runs a kernel on a GPU; on a machine with one, the "cuda" and "auto" cases check that
 * it opens instead.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "config/config.h"

static baldro_config *config_with(const char *set1, const char *set2) {
    baldro_error err = {0};
    baldro_config *cfg = baldro_config_new(&err);
    cr_assert_not_null(cfg, "defaults do not parse: %s", err.msg);
    if (set1) cr_assert_eq(baldro_config_set_override(cfg, set1, &err), BALDRO_OK, "%s", err.msg);
    if (set2) cr_assert_eq(baldro_config_set_override(cfg, set2, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_OK, "%s", err.msg);
    return cfg;
}

static void assert_contains(const char *hay, const char *needle) {
    cr_assert(hay && strstr(hay, needle), "expected \"%s\" in \"%s\"", needle, hay ? hay : "(null)");
}

static int cuda_here(void) {
    char why[256];
    return baldro_backend_cuda_available(why, sizeof why);
}

Test(backend_select, defaults_are_cpu_device_0) {
    baldro_config *cfg = config_with(NULL, NULL);
    const char *s = NULL;
    int64_t d = -1;
    cr_assert_eq(baldro_config_get_string(cfg, "runtime.backend", &s), BALDRO_OK);
    cr_assert_str_eq(s, "cpu");
    cr_assert_eq(baldro_config_get_int(cfg, "runtime.device", &d), BALDRO_OK);
    cr_assert_eq(d, 0);
    baldro_config_free(cfg);
}

Test(backend_select, cpu_opens_the_cpu_backend) {
    baldro_config *cfg = config_with("runtime.backend=cpu", NULL);
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    cr_assert_eq(cli_open_backend(cfg, &be, &ops, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_not_null(be);
    cr_assert_str_eq(ops->name, "cpu");
    /* It works: one alloc, fill, download. */
    void *p = NULL;
    cr_assert_eq(ops->alloc(be, 4 * sizeof(float), &p), BALDRO_OK);
    baldro_tensor t = baldro_t1(p, BALDRO_DT_F32, 4);
    cr_assert_eq(ops->fill(be, &t, 2.5f), BALDRO_OK);
    float h[4] = {0};
    cr_assert_eq(ops->download(be, h, p, sizeof h), BALDRO_OK);
    cr_assert_eq(h[3], 2.5f);
    baldro_backend_close(be);
    baldro_config_free(cfg);
}

Test(backend_select, null_config_means_cpu) {
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    cr_assert_eq(cli_open_backend(NULL, &be, &ops, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_str_eq(ops->name, "cpu");
    baldro_backend_close(be);
}

Test(backend_select, cuda_without_a_device_is_a_one_line_error) {
    baldro_config *cfg = config_with("runtime.backend=cuda", NULL);
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    int rc = cli_open_backend(cfg, &be, &ops, &err);
    if (cuda_here()) {
        cr_assert_eq(rc, BALDRO_OK, "%s", err.msg);
        cr_assert_str_eq(ops->name, "cuda");
        baldro_backend_close(be);
        baldro_config_free(cfg);
        return;
    }
    cr_assert_neq(rc, BALDRO_OK);
    cr_assert_null(be);
    cr_assert_null(ops);
    assert_contains(err.msg, "--set: runtime.backend = \"cuda\": ");
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
#if BALDRO_HAVE_CUDA
    assert_contains(err.msg, "cuda backend: no CUDA device (cudaGetDeviceCount: ");
#else
    cr_assert_eq(rc, BALDRO_EUNSUPPORTED);
    assert_contains(err.msg, "this build has no CUDA backend (configure with nvcc on PATH)");
#endif
    baldro_config_free(cfg);
}

Test(backend_select, cuda_open_directly_reports_why) {
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    char why[256] = "";
    int avail = baldro_backend_cuda_available(why, sizeof why);
    cr_assert(why[0] != '\0', "available() gave no reason");
    int rc = baldro_backend_cuda_open(0, BALDRO_PRECISION_FP32, &be, &ops, &err);
    if (avail) {
        cr_assert_eq(rc, BALDRO_OK, "%s", err.msg);
        baldro_backend_close(be);
        return;
    }
    cr_assert_neq(rc, BALDRO_OK);
    cr_assert_null(be);
#if BALDRO_HAVE_CUDA
    cr_assert_eq(strncmp(err.msg, "cuda backend: no CUDA device (cudaGetDeviceCount: ", 50), 0,
                 "%s", err.msg);
    assert_contains(why, "cudaGetDeviceCount");
#else
    cr_assert_str_eq(err.msg, "this build has no CUDA backend (configure with nvcc on PATH)");
    cr_assert_str_eq(why, err.msg);
#endif
}

Test(backend_select, auto_falls_back_to_cpu) {
    baldro_config *cfg = config_with("runtime.backend=auto", "runtime.device=0");
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    cr_assert_eq(cli_open_backend(cfg, &be, &ops, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_str_eq(ops->name, cuda_here() ? "cuda" : "cpu");
    baldro_backend_close(be);
    baldro_config_free(cfg);
}

Test(backend_select, named_form_checks_its_arguments) {
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    cr_assert_eq(cli_open_backend_named("--backend", "tpu", 0, &be, &ops, &err), BALDRO_EINVAL);
    cr_assert_str_eq(err.msg, "--backend: 'tpu' is not one of cpu, cuda, auto");
    cr_assert_eq(cli_open_backend_named("--backend", "auto", -1, &be, &ops, &err), BALDRO_EINVAL);
    cr_assert_str_eq(err.msg, "--backend: device -1 is not a device index");
    cr_assert_null(be);
    cr_assert_eq(cli_open_backend_named("--backend", "cpu", 0, &be, &ops, &err), BALDRO_OK);
    cr_assert_str_eq(ops->name, "cpu");
    baldro_backend_close(be);
}

Test(backend_select, config_rules_validate_runtime) {
    static const struct { const char *set, *msg; } cases[] = {
        {"runtime.backend=tpu", "--set: runtime.backend: 'tpu' is not one of cpu, cuda, auto"},
        {"runtime.device=-1", "--set: runtime.device: must be >= 0, got -1"},
        {"runtime.precision=fp16", "--set: runtime.precision: 'fp16' is not one of fp32, bf16"},
        /* the default backend is cpu */
        {"runtime.precision=bf16",
         "--set: runtime.precision: \"bf16\" needs runtime.backend = \"cuda\" or \"auto\" (the "
         "cpu backend computes in fp32)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        baldro_error err = {0};
        baldro_config *cfg = baldro_config_new(&err);
        cr_assert_not_null(cfg);
        cr_assert_eq(baldro_config_set_override(cfg, cases[i].set, &err), BALDRO_OK, "%s",
                     err.msg);
        cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_EINVAL, "%s passed", cases[i].set);
        cr_assert_str_eq(err.msg, cases[i].msg);
        baldro_config_free(cfg);
    }
}

Test(backend_select, precision_defaults_to_fp32) {
    baldro_config *cfg = config_with(NULL, NULL);
    const char *s = NULL;
    cr_assert_eq(baldro_config_get_string(cfg, "runtime.precision", &s), BALDRO_OK);
    cr_assert_str_eq(s, "fp32");
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    cr_assert_eq(cli_open_backend(cfg, &be, &ops, &err), BALDRO_OK, "%s", err.msg);
    baldro_backend_stats st;
    baldro_backend_get_stats(be, &st);
    cr_assert_eq(st.precision, BALDRO_PRECISION_FP32);
    cr_assert_eq(st.bytes_bf16, 0);
    cr_assert_str_eq(baldro_precision_name(st.precision), "fp32");
    baldro_backend_close(be);
    baldro_config_free(cfg);
}

Test(backend_select, bf16_with_auto_falls_back_or_opens_cuda) {
    baldro_config *cfg = config_with("runtime.backend=auto", "runtime.precision=bf16");
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    cr_assert_eq(cli_open_backend(cfg, &be, &ops, &err), BALDRO_OK, "%s", err.msg);
    baldro_backend_stats st;
    baldro_backend_get_stats(be, &st);
    if (cuda_here()) {
        cr_assert_str_eq(ops->name, "cuda");
        cr_assert_eq(st.precision, BALDRO_PRECISION_BF16);
    } else {
        cr_assert_str_eq(ops->name, "cpu");
        cr_assert_eq(st.precision, BALDRO_PRECISION_FP32);
    }
    /* The tensors a plugin sees stay F32 either way. */
    cr_assert_eq(ops->act_dtype, BALDRO_DT_F32);
    baldro_backend_close(be);
    baldro_config_free(cfg);
}

Test(backend_select, bf16_needs_cuda) {
    baldro_backend *be = NULL;
    const baldro_ops *ops = NULL;
    baldro_error err = {0};
    /* Config not validated (an API caller): the open itself refuses, in one line. */
    cr_assert_eq(cli_open_backend_prec("runtime.backend", "cpu", 0, "runtime.precision", "bf16",
                                       &be, &ops, &err),
                 BALDRO_EINVAL);
    cr_assert_str_eq(err.msg, "runtime.precision: \"bf16\" needs the cuda backend "
                              "(runtime.backend is \"cpu\", which computes in fp32)");
    cr_assert_null(be);
    cr_assert_eq(cli_open_backend_prec("--backend", "cuda", 0, "--precision", "fp8", &be, &ops,
                                       &err),
                 BALDRO_EINVAL);
    cr_assert_str_eq(err.msg, "--precision: 'fp8' is not one of fp32, bf16");
    /* cuda + bf16 opens where there is a device, else the usual one-line error. */
    int rc = cli_open_backend_prec("runtime.backend", "cuda", 0, "runtime.precision", "bf16", &be,
                                   &ops, &err);
    if (cuda_here()) {
        cr_assert_eq(rc, BALDRO_OK, "%s", err.msg);
        baldro_backend_close(be);
    } else {
        cr_assert_neq(rc, BALDRO_OK);
        assert_contains(err.msg, "runtime.backend = \"cuda\": ");
    }
}

Test(backend_select, model_backend_is_gone) {
    /* runtime.backend replaced it; the old key is an unknown setting now. */
    baldro_error err = {0};
    baldro_config *cfg = baldro_config_new(&err);
    cr_assert_not_null(cfg);
    cr_assert_neq(baldro_config_set_override(cfg, "model.backend=cuda", &err), BALDRO_OK);
    assert_contains(err.msg, "model.backend");
    baldro_config_free(cfg);
}
