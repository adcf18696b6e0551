/*
 * libFuzzer harness for the config layer: arbitrary bytes as an experiment file (through
 * libconfig and our merge, inherit and validation) and as --set overrides. Any crash,
 * sanitizer report or leak is a bug; errors are expected and fine.
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DBALDRO_FUZZ=ON -DBALDRO_CUDA=OFF
 *   cmake --build build-fuzz --target fuzz_config
 *   LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp \
 *     build-fuzz/bin/fuzz_config -max_total_time=60 tests/fuzz/corpus_config \
 *     tests/fixtures/config examples   # seeds read in place; new inputs go to the first dir
 * (lsan.supp silences a leak inside libconfig 1.5 itself on some syntax errors.)
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/baldro-fuzz-%d.cfg", (int)getpid());
    baldro_error err;
    baldro_config *cfg = baldro_config_new(&err);
    if (!cfg) return 0;
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, size, f);
        fclose(f);
        if (baldro_config_load_file(cfg, path, &err) == BALDRO_OK) {
            baldro_config_validate(cfg, &err);
            g_free(baldro_config_to_string(cfg, 1));
        }
    }
    /* The same bytes as override lines ("path=value" per line). */
    char *text = g_strndup((const char *)data, size);
    char **lines = g_strsplit(text, "\n", 16);
    for (char **l = lines; *l; l++) baldro_config_set_override(cfg, *l, &err);
    g_strfreev(lines);
    g_free(text);
    baldro_config_free(cfg);
    return 0;
}
