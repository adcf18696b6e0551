/*
 * libFuzzer harness for HF config.json as the host and the llama plugin read it: the
 * strict JSON gate (core/io/json_strict.c), then the plugin's parser
 * (plugins/models/llama/llama_config.c, compiled into this harness). Rejections are
 * fine; a crash, a sanitizer report, a multi-line message or an accepted config that
 * breaks the parser's promises is a bug.
 *   cmake --build build-fuzz --target fuzz_llama_config
 *   mkdir -p /tmp/cfg-corpus && build-fuzz/bin/fuzz_llama_config -max_total_time=120 \
 *     /tmp/cfg-corpus tests/fuzz/corpus_llama_config tests/fixtures/engine/llama_gqa \
 *     tests/fixtures/engine/qwen3_qknorm tests/fixtures/engine/llama3_rope_tied
 * (the seed directories hold config.json files; libFuzzer reads every file in them.
 * corpus_llama_config/ keeps inputs that once broke something.)
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "../../plugins/models/llama/llama.h"
#include "io/json_strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = g_strndup((const char *)data, size); /* stops at an embedded NUL */
    baldro_error err = {0};
    if (baldro_json_check(text, strlen(text), "config.json", "config", &err) == BALDRO_OK) {
        llama_config c;
        char msg[512] = "";
        int rc = llama_config_parse(text, NULL, &c, msg, sizeof msg);
        if (rc == BALDRO_OK) {
            /* What the plan relies on. */
            if (c.C < 1 || c.F < 1 || c.L < 1 || c.Hq < 1 || c.Hkv < 1 || c.V < 1 || c.D < 2 ||
                c.D % 2 || c.Hq % c.Hkv || c.rope.head_dim != c.D)
                __builtin_trap();
        } else if (!msg[0] || strchr(msg, '\n')) {
            __builtin_trap();
        }
    } else if (strchr(err.msg, '\n')) {
        __builtin_trap();
    }
    g_free(text);
    return 0;
}
