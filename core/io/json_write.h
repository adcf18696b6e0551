/*
 * core/io/json_write.h: JSON files we write (summaries, logs, run records, indexes):
 * pretty-printed, through baldro_write_file_atomic(), so a reader never sees half a file.
 */
#ifndef BALDRO_CORE_IO_JSON_WRITE_H
#define BALDRO_CORE_IO_JSON_WRITE_H

#include <json-glib/json-glib.h>

#include "util/error.h"

/* Writes the builder's finished root to `path`, atomically. The builder is not freed. */
int baldro_json_write_atomic(JsonBuilder *b, const char *path, baldro_error *err);

#endif /* BALDRO_CORE_IO_JSON_WRITE_H */
