/*
 * core/config/config_merge.c: experiment files (with `inherit` and @include) and
 * --set overrides merged over the resolved tree, type-checked against it.
 *
 * The resolved tree never changes shape here: groups come only from the defaults and
 * from declared plugin parameters, so a user file can change values but cannot invent
 * settings. Scalars are assigned in place, arrays and lists are replaced whole.
 */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"

/* More nesting than this is a mistake, not a design. */
#define MAX_INHERIT_DEPTH 16

/* ---- integer literals libconfig 1.5 would truncate ---------------------------- */

/* 0 if the decimal literal fits, else the width it overflows: 32 without an L suffix
 * (libconfig 1.5 truncates those), 64 with one (libconfig clamps those). */
static int literal_overflow(const char *digits, size_t n, int neg, int has_l) {
    while (n > 1 && *digits == '0') {
        digits++;
        n--;
    }
    uint64_t limit = has_l ? (neg ? UINT64_C(1) << 63 : INT64_MAX) : (neg ? UINT64_C(1) << 31 : INT32_MAX);
    if (n > 19) return has_l ? 64 : 32; /* 19 digits always fit in uint64_t */
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (uint64_t)(digits[i] - '0');
    return v > limit ? (has_l ? 64 : 32) : 0;
}

unsigned baldro_config_scan_int_literals(const char *text, char **why) {
    unsigned line = 1;
    const char *p = text;
    /* A small mirror of libconfig's lexer: only comments, strings, names and numbers
     * matter, because a digit inside any of the first three is not a literal. */
    while (*p) {
        char c = *p;
        if (c == '\n') {
            line++;
            p++;
        } else if (c == '#' || (c == '/' && p[1] == '/')) {
            while (*p && *p != '\n') p++;
        } else if (c == '/' && p[1] == '*') {
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/')) {
                if (*p == '\n') line++;
                p++;
            }
            if (*p) p += 2;
        } else if (c == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                if (*p == '\n') line++;
                p++;
            }
            if (*p) p++;
        } else if (g_ascii_isalpha(c) || c == '*' || c == '_') {
            while (g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '*') p++;
        } else if (g_ascii_isdigit(c) || (c == '.' && g_ascii_isdigit(p[1]))) {
            int neg = p > text && p[-1] == '-';
            const char *start = p;
            int bits = 0;
            if (c == '0' && (p[1] == 'x' || p[1] == 'X')) {
                p += 2;
                while (*p == '0') p++;
                const char *sig = p;
                while (g_ascii_isxdigit(*p)) p++;
                if (*p == 'L') bits = p - sig > 16 ? 64 : 0;
                else bits = p - sig > 8 ? 32 : 0;
            } else {
                while (g_ascii_isdigit(*p)) p++;
                if (*p == '.' || *p == 'e' || *p == 'E') { /* a float */
                    p++;
                    while (g_ascii_isdigit(*p) || *p == '.' || *p == 'e' || *p == 'E' ||
                           ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
                        p++;
                } else {
                    bits = literal_overflow(start, (size_t)(p - start), neg, *p == 'L');
                }
            }
            if (bits) {
                char *lit = g_strndup(start - neg, (size_t)(p - start) + (size_t)neg);
                if (why)
                    *why = bits == 32 ? g_strdup_printf("integer %s does not fit in 32 bits; write "
                                                        "%sL for a 64-bit integer", lit, lit)
                                      : g_strdup_printf("integer %sL does not fit in 64 bits", lit);
                g_free(lit);
                return line;
            }
            while (*p == 'L') p++;
        } else {
            p++;
        }
    }
    return 0;
}

/* ---- did-you-mean ------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t *prev = g_new(size_t, lb + 1), *cur = g_new(size_t, lb + 1);
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = MIN(sub, MIN(del, ins));
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    g_free(prev);
    g_free(cur);
    return d;
}

/* " (did you mean 'x.y'?)", a note about plugin sections, both, or "". `rest` is what
 * followed the unknown name in the user's path (--set), so the suggestion can be the
 * whole corrected path. */
static char *unknown_hint(const baldro_config *cfg, const config_setting_t *parent,
                          const char *parent_path, const char *name, const char *rest) {
    /* Two edits turn "foo" into "toy": short names get one. */
    const char *best = NULL;
    size_t best_d = strlen(name) <= 4 ? 2 : 3;
    for (int i = 0; i < config_setting_length(parent); i++) {
        const char *sib = config_setting_name(config_setting_get_elem(parent, (unsigned)i));
        if (!sib) continue;
        size_t d = edit_distance(name, sib);
        if (d < best_d && d < strlen(name)) {
            best = sib;
            best_d = d;
        }
    }
    char *note = NULL;
    if (parent_path && (strcmp(parent_path, "objectives") == 0 || strcmp(parent_path, "metrics") == 0))
        note = g_strdup_printf("no loaded %s declares parameters named '%s'",
                               parent_path[0] == 'o' ? "objective" : "metric", name);
    char *guess = NULL;
    if (best) {
        guess = parent_path ? g_strdup_printf("%s.%s", parent_path, best) : g_strdup(best);
        if (rest) {
            char *whole = g_strdup_printf("%s.%s", guess, rest);
            if (baldro_config_setting(cfg, whole)) {
                g_free(guess);
                guess = whole;
            } else {
                g_free(whole);
            }
        }
    }
    char *hint;
    if (note && guess) hint = g_strdup_printf(" (%s; did you mean '%s'?)", note, guess);
    else if (note) hint = g_strdup_printf(" (%s)", note);
    else if (guess) hint = g_strdup_printf(" (did you mean '%s'?)", guess);
    else hint = g_strdup("");
    g_free(note);
    g_free(guess);
    return hint;
}

/* ---- copying and assigning ---------------------------------------------------- */

/* libconfig 1.5's setters refuse to turn an int setting into an int64 one (and back),
 * but the schema treats both as "integer": write the public struct fields directly. */
static void set_int_value(config_setting_t *s, int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
        s->type = CONFIG_TYPE_INT;
        s->value.ival = (int)v;
    } else {
        s->type = CONFIG_TYPE_INT64;
        s->value.llval = v;
    }
}

/* Deep copy `src` into `parent` (name NULL inside arrays and lists). `to_float` turns
 * an integer scalar into a float (int elements going into a float array). */
static config_setting_t *copy_setting(config_setting_t *parent, const char *name,
                                      const config_setting_t *src, int to_float) {
    int type = config_setting_type(src);
    int is_int = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
    config_setting_t *s = config_setting_add(parent, name, to_float && is_int ? CONFIG_TYPE_FLOAT : type);
    if (!s) return NULL;
    switch (type) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        if (to_float) config_setting_set_float(s, (double)config_setting_get_int64(src));
        else if (type == CONFIG_TYPE_INT) config_setting_set_int(s, config_setting_get_int(src));
        else config_setting_set_int64(s, config_setting_get_int64(src));
        break;
    case CONFIG_TYPE_FLOAT: config_setting_set_float(s, config_setting_get_float(src)); break;
    case CONFIG_TYPE_BOOL: config_setting_set_bool(s, config_setting_get_bool(src)); break;
    case CONFIG_TYPE_STRING: config_setting_set_string(s, config_setting_get_string(src)); break;
    default: {
        int group = config_setting_is_group(src);
        for (int i = 0; i < config_setting_length(src); i++) {
            const config_setting_t *e = config_setting_get_elem(src, (unsigned)i);
            if (!copy_setting(s, group ? config_setting_name(e) : NULL, e, 0)) return NULL;
        }
        break;
    }
    }
    config_setting_set_format(s, config_setting_get_format(src));
    return s;
}

static config_t *tree_clone(const config_t *src) {
    config_t *lc = g_new0(config_t, 1);
    config_init(lc);
    const config_setting_t *root = config_root_setting(src);
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *e = config_setting_get_elem(root, (unsigned)i);
        copy_setting(config_root_setting(lc), config_setting_name(e), e, 0);
    }
    return lc;
}

static const config_setting_t *first_nonfinite(const config_setting_t *s) {
    if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
        return isfinite(config_setting_get_float(s)) ? NULL : s;
    if (!config_setting_is_aggregate(s)) return NULL;
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *bad = first_nonfinite(config_setting_get_elem(s, (unsigned)i));
        if (bad) return bad;
    }
    return NULL;
}

/* ---- merging ------------------------------------------------------------------ */

/* Where the values being merged come from. */
typedef struct src_info {
    const char *path; /* the file read (NULL for --set) */
    const char *dir;  /* its directory: libconfig's include dir */
    const char *where; /* fixed message prefix ("--set a=b"), or NULL for file:line */
} src_info;

static char *file_origin(const char *path, const char *dir, const config_setting_t *s) {
    /* Settings from the file itself carry no file name (we parse text); those from an
     * @include'd file carry the name as written, which libconfig resolved against the
     * include dir. */
    const char *f = config_setting_source_file(s);
    unsigned line = config_setting_source_line(s);
    if (!f) return g_strdup_printf("%s:%u", path, line);
    if (g_path_is_absolute(f) || strcmp(dir, ".") == 0) return g_strdup_printf("%s:%u", f, line);
    return g_strdup_printf("%s/%s:%u", dir, f, line);
}

static char *src_where(const src_info *si, const config_setting_t *c) {
    return si->where ? g_strdup(si->where) : file_origin(si->path, si->dir, c);
}

static void record_origin(baldro_config *cfg, const char *path, const src_info *si,
                          const config_setting_t *c) {
    char *origin = si->where ? g_strdup("--set") : file_origin(si->path, si->dir, c);
    g_hash_table_replace(cfg->origins, g_strdup(path), origin);
}

static int merge_value(baldro_config *cfg, config_setting_t *d, const config_setting_t *c,
                       const char *path, const src_info *si, baldro_error *err);

static int merge_group(baldro_config *cfg, config_setting_t *dst, const config_setting_t *src,
                       const char *prefix, const src_info *si, int top, baldro_error *err) {
    for (int i = 0; i < config_setting_length(src); i++) {
        const config_setting_t *c = config_setting_get_elem(src, (unsigned)i);
        const char *name = config_setting_name(c);
        if (top && strcmp(name, "inherit") == 0) continue; /* handled by the loader */
        char *path = prefix ? g_strdup_printf("%s.%s", prefix, name) : g_strdup(name);
        config_setting_t *d = config_setting_get_member(dst, name);
        int rc;
        if (!d) {
            char *where = src_where(si, c);
            char *hint = unknown_hint(cfg, dst, prefix, name, NULL);
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: unknown setting '%s'%s", where, path,
                                  hint);
            g_free(hint);
            g_free(where);
        } else {
            rc = merge_value(cfg, d, c, path, si, err);
        }
        g_free(path);
        if (rc != BALDRO_OK) return rc;
    }
    return BALDRO_OK;
}

static int mismatch(const src_info *si, const config_setting_t *c, const char *path,
                    baldro_cfg_kind want, baldro_cfg_kind got, baldro_error *err) {
    char *where = src_where(si, c);
    int rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %s: expected %s, got %s", where, path,
                              baldro_config_kind_name(want), baldro_config_kind_name(got));
    g_free(where);
    return rc;
}

static int merge_value(baldro_config *cfg, config_setting_t *d, const config_setting_t *c,
                       const char *path, const src_info *si, baldro_error *err) {
    baldro_cfg_kind dk = baldro_config_setting_kind(d), ck = baldro_config_setting_kind(c);
    if (dk == BALDRO_CFG_GROUP || ck == BALDRO_CFG_GROUP) {
        if (dk != ck) return mismatch(si, c, path, dk, ck, err);
        return merge_group(cfg, d, c, path, si, 0, err);
    }
    if (first_nonfinite(c)) {
        char *where = src_where(si, c);
        int rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %s: a float is not finite (too large?)",
                                  where, path);
        g_free(where);
        return rc;
    }
    if (dk == BALDRO_CFG_ARRAY || dk == BALDRO_CFG_LIST || ck == BALDRO_CFG_ARRAY ||
        ck == BALDRO_CFG_LIST) {
        if (dk != ck) return mismatch(si, c, path, dk, ck, err);
        int to_float = 0;
        if (dk == BALDRO_CFG_ARRAY && config_setting_length(d) > 0) {
            /* The schema's element type is the type of the default's elements. */
            baldro_cfg_kind ek = baldro_config_setting_kind(config_setting_get_elem(d, 0));
            to_float = ek == BALDRO_CFG_FLOAT;
            for (int i = 0; i < config_setting_length(c); i++) {
                baldro_cfg_kind k = baldro_config_setting_kind(config_setting_get_elem(c, (unsigned)i));
                if (k == ek || (ek == BALDRO_CFG_FLOAT && k == BALDRO_CFG_INT)) continue;
                char *where = src_where(si, c);
                int rc = baldro_error_set(err, BALDRO_EINVAL,
                                          "%s: %s: element %d: expected %s, got %s", where, path,
                                          i, baldro_config_kind_name(ek),
                                          baldro_config_kind_name(k));
                g_free(where);
                return rc;
            }
        }
        while (config_setting_length(d) > 0)
            config_setting_remove_elem(d, (unsigned)config_setting_length(d) - 1);
        for (int i = 0; i < config_setting_length(c); i++)
            if (!copy_setting(d, NULL, config_setting_get_elem(c, (unsigned)i), to_float))
                return baldro_error_set(err, BALDRO_ENOMEM, "%s: cannot copy the value", path);
        record_origin(cfg, path, si, c);
        return BALDRO_OK;
    }
    if (!(dk == ck || (dk == BALDRO_CFG_FLOAT && ck == BALDRO_CFG_INT)))
        return mismatch(si, c, path, dk, ck, err);
    switch (dk) {
    case BALDRO_CFG_INT: set_int_value(d, config_setting_get_int64(c)); break;
    case BALDRO_CFG_FLOAT:
        config_setting_set_float(d, ck == BALDRO_CFG_INT ? (double)config_setting_get_int64(c)
                                                         : config_setting_get_float(c));
        break;
    case BALDRO_CFG_BOOL: config_setting_set_bool(d, config_setting_get_bool(c)); break;
    case BALDRO_CFG_STRING: config_setting_set_string(d, config_setting_get_string(c)); break;
    default: return mismatch(si, c, path, dk, ck, err);
    }
    record_origin(cfg, path, si, c);
    return BALDRO_OK;
}

/* ---- files -------------------------------------------------------------------- */

static char *read_text(const char *path, int *errnum) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *errnum = errno;
        return NULL;
    }
    GString *buf = g_string_new(NULL);
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            *errnum = errno;
            close(fd);
            g_string_free(buf, TRUE);
            return NULL;
        }
        if (n == 0) break;
        g_string_append_len(buf, chunk, n);
    }
    close(fd);
    return g_string_free(buf, FALSE);
}

static int load_rec(baldro_config *cfg, const char *path, const char *site, GPtrArray *stack,
                    baldro_error *err);

/* `inherit = "x.cfg";` or `inherit = ["x.cfg", "y.cfg"];`: load each in order. */
static int load_inherited(baldro_config *cfg, const config_setting_t *inh, const char *path,
                          const char *dir, GPtrArray *stack, baldro_error *err) {
    char *site = file_origin(path, dir, inh);
    int rc = BALDRO_OK;
    int one = config_setting_type(inh) == CONFIG_TYPE_STRING;
    if (!one && !config_setting_is_array(inh) && !config_setting_is_list(inh)) {
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: inherit: expected a file name or a list of file names", site);
        goto out;
    }
    int n = one ? 1 : config_setting_length(inh);
    for (int i = 0; i < n && rc == BALDRO_OK; i++) {
        const config_setting_t *e = one ? inh : config_setting_get_elem(inh, (unsigned)i);
        const char *name = config_setting_type(e) == CONFIG_TYPE_STRING
                               ? config_setting_get_string(e) : NULL;
        if (!name || !*name) {
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: inherit: expected a file name or a list of file names",
                                  site);
            break;
        }
        char *child = g_path_is_absolute(name) || strcmp(dir, ".") == 0
                          ? g_strdup(name) : g_build_filename(dir, name, NULL);
        rc = load_rec(cfg, child, site, stack, err);
        g_free(child);
    }
out:
    g_free(site);
    return rc;
}

static int load_rec(baldro_config *cfg, const char *path, const char *site, GPtrArray *stack,
                    baldro_error *err) {
    int errnum = 0;
    char *text = read_text(path, &errnum);
    if (!text) {
        int code = errnum == ENOENT || errnum == ENOTDIR ? BALDRO_ENOTFOUND : BALDRO_EIO;
        if (site)
            return baldro_error_set(err, code, "%s: inherit: %s: cannot read: %s", site, path,
                                    strerror(errnum));
        return baldro_error_set(err, code, "%s: cannot read: %s", path, strerror(errnum));
    }
    int rc = BALDRO_OK;
    char *dir = g_path_get_dirname(path);
    char *real = realpath(path, NULL);
    char *key = g_strdup(real ? real : path);
    free(real);
    config_t tmp;
    config_init(&tmp);

    for (guint i = 0; i < stack->len; i++) {
        if (strcmp(g_ptr_array_index(stack, i), key) == 0) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: inherit: cycle through %s",
                                  site ? site : path, path);
            goto out;
        }
    }
    if (stack->len > MAX_INHERIT_DEPTH) {
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: inherit: more than %d levels of inheritance (at %s)",
                              site ? site : path, MAX_INHERIT_DEPTH, path);
        goto out;
    }
    char *why = NULL;
    unsigned bad_line = baldro_config_scan_int_literals(text, &why);
    if (bad_line) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s:%u: %s", path, bad_line, why);
        g_free(why);
        goto out;
    }
    config_set_include_dir(&tmp, dir);
    if (!config_read_string(&tmp, text)) {
        const char *ef = config_error_file(&tmp);
        /* libconfig 1.5 reports an error inside an @include'd file with the including
         * file's name (or none) and the included file's line number. */
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s:%d: %s%s", ef ? ef : path,
                              config_error_line(&tmp), config_error_text(&tmp),
                              strstr(text, "@include")
                                  ? " (or at that line of a file it @includes)" : "");
        goto out;
    }

    config_setting_t *root = config_root_setting(&tmp);
    g_ptr_array_add(stack, key);
    key = NULL; /* owned by the stack now */
    const config_setting_t *inh = config_setting_get_member(root, "inherit");
    if (inh) rc = load_inherited(cfg, inh, path, dir, stack, err);
    if (rc == BALDRO_OK) {
        src_info si = { path, dir, NULL };
        rc = merge_group(cfg, config_root_setting(cfg->lc), root, NULL, &si, 1, err);
    }
    g_ptr_array_remove_index(stack, stack->len - 1);
out:
    config_destroy(&tmp);
    g_free(key);
    g_free(dir);
    g_free(text);
    return rc;
}

int baldro_config_load_file(baldro_config *cfg, const char *path, baldro_error *err) {
    if (!cfg || !path || !*path)
        return baldro_error_set(err, BALDRO_EINVAL, "load_file: no file name");
    /* All or nothing: a file that fails half-way through its merge must not leave half
     * of its values behind, so keep a snapshot to restore. */
    config_t *snap = tree_clone(cfg->lc);
    GHashTable *snap_origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, cfg->origins);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_hash_table_insert(snap_origins, g_strdup(k), g_strdup(v));

    GPtrArray *stack = g_ptr_array_new_with_free_func(g_free);
    int rc = load_rec(cfg, path, NULL, stack, err);
    g_ptr_array_free(stack, TRUE);

    config_t *drop_tree = snap;
    GHashTable *drop_origins = snap_origins;
    if (rc != BALDRO_OK) {
        drop_tree = cfg->lc;
        drop_origins = cfg->origins;
        cfg->lc = snap;
        cfg->origins = snap_origins;
    }
    config_destroy(drop_tree);
    g_free(drop_tree);
    g_hash_table_destroy(drop_origins);
    return rc;
}

/* ---- --set -------------------------------------------------------------------- */

/* The setting at `path`, or NULL with `*hint` set for the error message. */
static config_setting_t *resolve_for_set(const baldro_config *cfg, const char *path, char **hint) {
    gchar **segs = g_strsplit(path, ".", -1);
    config_setting_t *cur = config_root_setting(cfg->lc);
    GString *prefix = g_string_new(NULL);
    *hint = NULL;
    for (int i = 0; segs[i]; i++) {
        config_setting_t *next = NULL;
        int searchable = baldro_config_is_name(segs[i]) && config_setting_is_group(cur);
        if (searchable) next = config_setting_get_member(cur, segs[i]);
        if (!next) {
            if (searchable) {
                char *rest = segs[i + 1] ? g_strjoinv(".", segs + i + 1) : NULL;
                *hint = unknown_hint(cfg, cur, prefix->len ? prefix->str : NULL, segs[i], rest);
                g_free(rest);
            }
            cur = NULL;
            break;
        }
        if (prefix->len) g_string_append_c(prefix, '.');
        g_string_append(prefix, segs[i]);
        cur = next;
    }
    if (!cur && !*hint) *hint = g_strdup("");
    g_string_free(prefix, TRUE);
    g_strfreev(segs);
    return cur;
}

static int parse_int(const char *s, int64_t *out) {
    if (!*s || g_ascii_isspace(*s)) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

static int parse_float(const char *s, double *out) {
    if (!*s || g_ascii_isspace(*s)) return 0;
    char *end;
    /* g_ascii_strtod: a C-locale parse, whatever LC_NUMERIC the process has. */
    double v = g_ascii_strtod(s, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_bool(const char *s, int *out) {
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0) return *out = 1, 1;
        if (g_ascii_strcasecmp(s, no[i]) == 0) return *out = 0, 1;
    }
    return 0;
}

static int set_aggregate(baldro_config *cfg, config_setting_t *s, const char *assignment,
                         const char *path, const char *val, baldro_error *err) {
    const char *want = baldro_config_kind_name(baldro_config_setting_kind(s));
    char *text = g_strdup_printf("v = %s;", val);
    char *why = NULL;
    int rc;
    config_t tmp;
    config_init(&tmp);
    if (baldro_config_scan_int_literals(text, &why)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "--set %s: %s", assignment, why);
        g_free(why);
    } else if (!config_read_string(&tmp, text)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "--set %s: %s expects %s (%s)", assignment,
                              path, want, config_error_text(&tmp));
    } else if (config_setting_length(config_root_setting(&tmp)) != 1) {
        /* `--set a=[1]; b = 2` must not smuggle in a second setting. */
        rc = baldro_error_set(err, BALDRO_EINVAL, "--set %s: %s expects %s", assignment, path,
                              want);
    } else {
        char *where = g_strdup_printf("--set %s", assignment);
        src_info si = { NULL, NULL, where };
        rc = merge_value(cfg, s, config_lookup(&tmp, "v"), path, &si, err);
        g_free(where);
    }
    config_destroy(&tmp);
    g_free(text);
    return rc;
}

int baldro_config_set_override(baldro_config *cfg, const char *assignment, baldro_error *err) {
    if (!cfg || !assignment)
        return baldro_error_set(err, BALDRO_EINVAL, "--set: expected path=value");
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return baldro_error_set(err, BALDRO_EINVAL, "--set %s: expected path=value", assignment);
    char *path = g_strndup(assignment, (size_t)(eq - assignment));
    const char *val = eq + 1;
    char *hint = NULL;
    config_setting_t *s = resolve_for_set(cfg, path, &hint);
    int rc = BALDRO_OK;
    if (!s) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "--set %s: unknown setting '%s'%s", assignment,
                              path, hint);
        goto out;
    }
    baldro_cfg_kind kind = baldro_config_setting_kind(s);
    switch (kind) {
    case BALDRO_CFG_GROUP:
        rc = baldro_error_set(err, BALDRO_EINVAL, "--set %s: %s is a group; set its members",
                              assignment, path);
        goto out;
    case BALDRO_CFG_ARRAY:
    case BALDRO_CFG_LIST:
        rc = set_aggregate(cfg, s, assignment, path, val, err);
        goto out; /* records its own origin */
    case BALDRO_CFG_INT: {
        int64_t v;
        if (!parse_int(val, &v)) goto bad;
        set_int_value(s, v);
        break;
    }
    case BALDRO_CFG_FLOAT: {
        double v;
        if (!parse_float(val, &v)) goto bad;
        config_setting_set_float(s, v);
        break;
    }
    case BALDRO_CFG_BOOL: {
        int v;
        if (!parse_bool(val, &v)) goto bad;
        config_setting_set_bool(s, v);
        break;
    }
    case BALDRO_CFG_STRING: {
        size_t n = strlen(val);
        if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
            char *inner = g_strndup(val + 1, n - 2);
            config_setting_set_string(s, inner);
            g_free(inner);
        } else {
            config_setting_set_string(s, val);
        }
        break;
    }
    default: goto bad;
    }
    g_hash_table_replace(cfg->origins, g_strdup(path), g_strdup("--set"));
    goto out;
bad:
    rc = baldro_error_set(err, BALDRO_EINVAL, "--set %s: %s expects %s%s", assignment, path,
                          baldro_config_kind_name(kind),
                          kind == BALDRO_CFG_BOOL ? " (true/false, yes/no, on/off, 1/0)"
                          : kind == BALDRO_CFG_INT ? " (a base-10 64-bit integer)"
                          : kind == BALDRO_CFG_FLOAT ? " (a finite number)" : "");
out:
    g_free(hint);
    g_free(path);
    return rc;
}
