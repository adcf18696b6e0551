/* core/engine/model_open.c: one entry point for every model format baldro reads. */
#include <glib.h>

#include "engine/model_hf.h"
#include "engine/model_import.h"
#include "engine/model_open.h"

int baldro_model_open_path(const baldro_registry *reg, const baldro_ops *ops, baldro_backend *be,
                           const char *path, baldro_model_limits lim, baldro_model **out,
                           baldro_error *err) {
    *out = NULL;
    if (g_file_test(path, G_FILE_TEST_IS_DIR))
        return baldro_model_open_hf_dir(reg, ops, be, path, lim, out, err);
    if (g_str_has_suffix(path, ".gguf"))
        return baldro_model_open_gguf(reg, ops, be, path, lim, out, err);
    if (g_str_has_suffix(path, ".bin"))
        return baldro_model_open_llama2c(reg, ops, be, path, lim, out, err);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return baldro_error_set(err, BALDRO_EIO, "%s: no such file or directory", path);
    return baldro_error_set(err, BALDRO_EINVAL,
                            "%s: not a model this host reads (an HF directory, a llama2.c .bin "
                            "or a .gguf)", path);
}
