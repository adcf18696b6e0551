/* core/io/json_write.c: pretty JSON written atomically (see json_write.h). */
#include "io/json_write.h"

#include "util/fsutil.h"

int baldro_json_write_atomic(JsonBuilder *b, const char *path, baldro_error *err) {
    JsonGenerator *g = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    json_generator_set_pretty(g, TRUE);
    gsize len = 0;
    char *text = json_generator_to_data(g, &len);
    int rc = baldro_write_file_atomic(path, text, len, err);
    g_free(text);
    json_node_unref(root);
    g_object_unref(g);
    return rc;
}
