/*
 * core/io/safetensors_internal.h: shared between the safetensors_*.c files; not part of the
 * public API.
 */
#ifndef BALDRO_CORE_IO_SAFETENSORS_INTERNAL_H
#define BALDRO_CORE_IO_SAFETENSORS_INTERNAL_H

#include <json-glib/json-glib.h>
#include <stddef.h>

#include "io/json_strict.h"
#include "util/error.h"

#endif /* BALDRO_CORE_IO_SAFETENSORS_INTERNAL_H */
