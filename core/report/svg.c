/* core/report/svg.c: see svg.h. */
#include "report/svg.h"

#include <math.h>
#include <string.h>

/* Plot-area margins, px: room for y tick labels on the left, the title and the legend row
 * on top, x tick labels and the axis label below. */
#define SVG_LEFT       66.0
#define SVG_RIGHT      18.0
#define SVG_TOP        46.0
#define SVG_BOTTOM     44.0
#define SVG_LEGEND_Y   35.0
#define SVG_TICK_FONT  10.0
#define SVG_LABEL_FONT 11.0
/* How far off the plot area a value outside the axis range may land (as a fraction of
 * the area), so that a stray point shows at the edge instead of leaving the picture. */
#define SVG_OVERSHOOT 0.02

void baldro_html_escape(GString *out, const char *text) {
    if (!text) return;
    char *valid = g_utf8_validate(text, -1, NULL) ? NULL : g_utf8_make_valid(text, -1);
    for (const unsigned char *p = (const unsigned char *)(valid ? valid : text); *p; p++) {
        switch (*p) {
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '"':
            g_string_append(out, "&quot;");
            break;
        case '\'':
            g_string_append(out, "&#39;");
            break;
        default:
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                g_string_append(out, "\xef\xbf\xbd");
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_free(valid);
}

void baldro_fmt_num(GString *out, double v, int sig) {
    if (isnan(v)) {
        g_string_append(out, "\xe2\x80\x93");
        return;
    }
    if (isinf(v)) {
        g_string_append(out, v > 0 ? "\xe2\x88\x9e" : "\xe2\x88\x92\xe2\x88\x9e");
        return;
    }
    char fmt[16], buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_snprintf(fmt, sizeof fmt, "%%.%dg", sig < 1 ? 1 : sig > 17 ? 17 : sig);
    g_ascii_formatd(buf, sizeof buf, fmt, v == 0 ? 0.0 : v); /* no "-0" */
    g_string_append(out, buf);
}

/* A pixel coordinate: one decimal, no locale, no "-0.0". */
static void svg_coord(GString *out, double v) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    double r = round(v * 10) / 10;
    g_ascii_formatd(buf, sizeof buf, "%.1f", r == 0 ? 0.0 : r);
    g_string_append(out, buf);
}

static void svg_xy(GString *out, double x, double y) {
    svg_coord(out, x);
    g_string_append_c(out, ',');
    svg_coord(out, y);
}

void baldro_svg_begin(baldro_svg *s, GString *out, double w, double h, const char *title) {
    memset(s, 0, sizeof *s);
    s->out = out;
    s->w = w;
    s->h = h;
    s->px0 = SVG_LEFT;
    s->px1 = w - SVG_RIGHT;
    s->py0 = SVG_TOP;
    s->py1 = h - SVG_BOTTOM;
    s->key_x = SVG_LEFT;
    baldro_svg_axis_range(&s->x, 0, 1, 0);
    baldro_svg_axis_range(&s->y, 0, 1, 0);
    g_string_append(out, "<svg class=\"plot\" width=\"");
    svg_coord(out, w);
    g_string_append(out, "\" height=\"");
    svg_coord(out, h);
    g_string_append(out, "\" viewBox=\"0 0 ");
    svg_coord(out, w);
    g_string_append_c(out, ' ');
    svg_coord(out, h);
    g_string_append(out, "\" role=\"img\" aria-label=\"");
    baldro_html_escape(out, title);
    g_string_append(out, "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n<text x=\"");
    svg_coord(out, SVG_LEFT);
    g_string_append(out, "\" y=\"18\" font-size=\"13\" font-weight=\"bold\" fill=\"#222\">");
    baldro_html_escape(out, title);
    g_string_append(out, "</text>\n");
}

/* ---- Axes ---------------------------------------------------------------------------- */

/* 1, 2, 2.5 or 5 times a power of ten: the smallest such step giving at most ~`target`
 * intervals over `range`. */
static double svg_nice_step(double range, int target, int integer, double *mantissa) {
    double raw = range / target;
    if (integer && raw < 1) raw = 1;
    double mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    double m = r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 && !(integer && mag < 10) ? 2.5 : r <= 5 ? 5 : 10;
    if (m == 10) {
        m = 1;
        mag *= 10;
    }
    *mantissa = m;
    return m * mag;
}

static void svg_axis_range(baldro_svg_axis *a, double lo, double hi, int log10_scale, int integer) {
    memset(a, 0, sizeof *a);
    a->log10 = log10_scale;
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (log10_scale) {
        if (!(lo > 0) || !isfinite(lo) || !isfinite(hi)) {
            lo = 0.1;
            hi = 1;
        }
        int e0 = (int)floor(log10(lo) + 1e-9), e1 = (int)ceil(log10(hi) - 1e-9);
        if (e1 <= e0) { /* one value (or one decade): a decade either side */
            e0 -= 1;
            e1 = e0 + 2;
        }
        /* At most 7 labelled decades: every k-th, counted down from the top one (the
         * top is the decade that matters: forget quality 1 is the retain model). */
        int k = (e1 - e0 + 5) / 6;
        e0 = e1 - k * ((e1 - e0 + k - 1) / k);
        a->lo = pow(10, e0);
        a->hi = pow(10, e1);
        for (int e = e0; e <= e1 && a->n_ticks < BALDRO_SVG_MAX_TICKS; e += k)
            a->ticks[a->n_ticks++] = (double)e; /* exponents; labels are 10^e */
        a->decimals = 0;
        return;
    }
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(hi - lo)) { /* e.g. -1e308 to 1e308 */
        lo = 0;
        hi = 1;
    }
    if (hi == lo) {
        double pad = lo == 0 ? 0.5 : fabs(lo) * 0.1;
        if (lo == 0) {
            hi = 1;
        } else {
            lo -= pad;
            hi += pad;
        }
    }
    double m = 1, step = svg_nice_step(hi - lo, 5, integer, &m);
    lo = floor(lo / step + 1e-9) * step;
    hi = ceil(hi / step - 1e-9) * step;
    a->lo = lo;
    a->hi = hi;
    long n = lround((hi - lo) / step);
    for (long i = 0; i <= n && a->n_ticks < BALDRO_SVG_MAX_TICKS; i++) {
        double t = lo + (double)i * step;
        a->ticks[a->n_ticks++] = fabs(t) < step * 1e-6 ? 0.0 : t;
    }
    if (step < 1e-4 || step >= 1e6) {
        a->decimals = -1;
    } else {
        int d = -(int)floor(log10(step) + 1e-9) + (m == 2.5 ? 1 : 0);
        a->decimals = d < 0 ? 0 : d;
    }
}

void baldro_svg_axis_range(baldro_svg_axis *a, double lo, double hi, int log10_scale) {
    svg_axis_range(a, lo, hi, log10_scale, 0);
}

void baldro_svg_axis_counts(baldro_svg_axis *a, double max) {
    svg_axis_range(a, 0, isfinite(max) && max > 5 ? max : 5, 0, 1);
}

void baldro_svg_axis_fit(baldro_svg_axis *a, const double *v, size_t n, int log10_scale,
                         int include_zero) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || (log10_scale && v[i] <= 0)) continue;
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    if (lo > hi) { /* nothing usable */
        baldro_svg_axis_range(a, log10_scale ? 0.1 : 0, 1, log10_scale);
        return;
    }
    if (include_zero && !log10_scale) {
        lo = fmin(lo, 0);
        hi = fmax(hi, 0);
    }
    baldro_svg_axis_range(a, lo, hi, log10_scale);
}

/* The tick's value in data units (log axes store exponents). */
static double svg_tick_value(const baldro_svg_axis *a, size_t i) {
    return a->log10 ? pow(10, a->ticks[i]) : a->ticks[i];
}

static void svg_tick_label(GString *out, const baldro_svg_axis *a, size_t i) {
    if (a->log10) {
        int e = (int)a->ticks[i];
        if (e == 0)
            g_string_append(out, "1");
        else if (e == 1)
            g_string_append(out, "10");
        else
            g_string_append_printf(out, "10<tspan dy=\"-5\" font-size=\"8\">%d</tspan>", e);
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE], fmt[16];
    if (a->decimals < 0)
        g_strlcpy(fmt, "%.3g", sizeof fmt);
    else
        g_snprintf(fmt, sizeof fmt, "%%.%df", a->decimals);
    g_ascii_formatd(buf, sizeof buf, fmt, a->ticks[i]);
    g_string_append(out, buf);
}

double baldro_svg_px(const baldro_svg *s, int axis, double v) {
    const baldro_svg_axis *a = axis ? &s->y : &s->x;
    if (!isfinite(v) || (a->log10 && v <= 0)) return NAN;
    double t;
    if (a->log10)
        t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    else
        t = (v - a->lo) / (a->hi - a->lo);
    if (!isfinite(t)) return NAN;
    t = a->pad + t * (1 - 2 * a->pad);
    t = fmax(-SVG_OVERSHOOT, fmin(1 + SVG_OVERSHOOT, t));
    return axis ? s->py1 - t * (s->py1 - s->py0) : s->px0 + t * (s->px1 - s->px0);
}

void baldro_svg_axes(baldro_svg *s, const char *xlabel, const char *ylabel) {
    GString *o = s->out;
    /* Grid and ticks. */
    g_string_append(o, "<g stroke=\"#e3e3e3\" stroke-width=\"1\">");
    for (size_t i = 0; i < s->x.n_ticks; i++) {
        double x = baldro_svg_px(s, 0, svg_tick_value(&s->x, i));
        g_string_append(o, "<line x1=\"");
        svg_coord(o, x);
        g_string_append(o, "\" y1=\"");
        svg_coord(o, s->py0);
        g_string_append(o, "\" x2=\"");
        svg_coord(o, x);
        g_string_append(o, "\" y2=\"");
        svg_coord(o, s->py1);
        g_string_append(o, "\"/>");
    }
    for (size_t i = 0; i < s->y.n_ticks; i++) {
        double y = baldro_svg_px(s, 1, svg_tick_value(&s->y, i));
        g_string_append(o, "<line x1=\"");
        svg_coord(o, s->px0);
        g_string_append(o, "\" y1=\"");
        svg_coord(o, y);
        g_string_append(o, "\" x2=\"");
        svg_coord(o, s->px1);
        g_string_append(o, "\" y2=\"");
        svg_coord(o, y);
        g_string_append(o, "\"/>");
    }
    g_string_append(o, "</g>\n<rect x=\"");
    svg_coord(o, s->px0);
    g_string_append(o, "\" y=\"");
    svg_coord(o, s->py0);
    g_string_append(o, "\" width=\"");
    svg_coord(o, s->px1 - s->px0);
    g_string_append(o, "\" height=\"");
    svg_coord(o, s->py1 - s->py0);
    g_string_append(o, "\" fill=\"none\" stroke=\"#888\"/>\n");
    /* Tick labels. */
    g_string_append_printf(o, "<g font-size=\"%d\" fill=\"#333\">", (int)SVG_TICK_FONT);
    for (size_t i = 0; i < s->x.n_ticks; i++) {
        g_string_append(o, "<text x=\"");
        svg_coord(o, baldro_svg_px(s, 0, svg_tick_value(&s->x, i)));
        g_string_append(o, "\" y=\"");
        svg_coord(o, s->py1 + 14);
        g_string_append(o, "\" text-anchor=\"middle\">");
        svg_tick_label(o, &s->x, i);
        g_string_append(o, "</text>");
    }
    for (size_t i = 0; i < s->y.n_ticks; i++) {
        g_string_append(o, "<text x=\"");
        svg_coord(o, s->px0 - 5);
        g_string_append(o, "\" y=\"");
        svg_coord(o, baldro_svg_px(s, 1, svg_tick_value(&s->y, i)) + 3.5);
        g_string_append(o, "\" text-anchor=\"end\">");
        svg_tick_label(o, &s->y, i);
        g_string_append(o, "</text>");
    }
    g_string_append(o, "</g>\n");
    /* Axis labels. */
    g_string_append_printf(o, "<g font-size=\"%d\" fill=\"#222\">", (int)SVG_LABEL_FONT);
    if (xlabel) {
        g_string_append(o, "<text x=\"");
        svg_coord(o, (s->px0 + s->px1) / 2);
        g_string_append(o, "\" y=\"");
        svg_coord(o, s->py1 + 32);
        g_string_append(o, "\" text-anchor=\"middle\">");
        baldro_html_escape(o, xlabel);
        g_string_append(o, "</text>");
    }
    if (ylabel) {
        double cy = (s->py0 + s->py1) / 2;
        g_string_append(o, "<text transform=\"translate(14,");
        svg_coord(o, cy);
        g_string_append(o, ") rotate(-90)\" text-anchor=\"middle\">");
        baldro_html_escape(o, ylabel);
        g_string_append(o, "</text>");
    }
    g_string_append(o, "</g>\n");
}

/* ---- Marks --------------------------------------------------------------------------- */

void baldro_svg_line(baldro_svg *s, const double *x, const double *y, size_t n, const char *color,
                     double width, int dashed) {
    GString *o = s->out;
    int open = 0;
    for (size_t i = 0; i <= n; i++) {
        double px = i < n ? baldro_svg_px(s, 0, x[i]) : NAN;
        double py = i < n ? baldro_svg_px(s, 1, y[i]) : NAN;
        if (isnan(px) || isnan(py)) {
            if (open) g_string_append(o, "\"/>\n");
            open = 0;
            continue;
        }
        if (!open) {
            g_string_append_printf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"",
                                   color);
            svg_coord(o, width);
            g_string_append(o, "\" stroke-linejoin=\"round\" stroke-linecap=\"round\"");
            if (dashed) g_string_append(o, " stroke-dasharray=\"6 4\"");
            g_string_append(o, " points=\"");
            open = 1;
        } else {
            g_string_append_c(o, ' ');
        }
        svg_xy(o, px, py);
    }
}

static void svg_marker(GString *o, double px, double py, const char *color, baldro_svg_shape shape,
                       double r) {
    switch (shape) {
    case BALDRO_SVG_SQUARE:
        g_string_append(o, "<rect x=\"");
        svg_coord(o, px - r);
        g_string_append(o, "\" y=\"");
        svg_coord(o, py - r);
        g_string_append(o, "\" width=\"");
        svg_coord(o, 2 * r);
        g_string_append(o, "\" height=\"");
        svg_coord(o, 2 * r);
        break;
    case BALDRO_SVG_DIAMOND:
        r *= 1.3;
        g_string_append(o, "<polygon points=\"");
        svg_xy(o, px, py - r);
        g_string_append_c(o, ' ');
        svg_xy(o, px + r, py);
        g_string_append_c(o, ' ');
        svg_xy(o, px, py + r);
        g_string_append_c(o, ' ');
        svg_xy(o, px - r, py);
        break;
    default:
        g_string_append(o, "<circle cx=\"");
        svg_coord(o, px);
        g_string_append(o, "\" cy=\"");
        svg_coord(o, py);
        g_string_append(o, "\" r=\"");
        svg_coord(o, r);
        break;
    }
    g_string_append_printf(o, "\" fill=\"%s\"/>", color);
}

void baldro_svg_points(baldro_svg *s, const double *x, const double *y, size_t n, const char *color,
                       baldro_svg_shape shape, double r) {
    for (size_t i = 0; i < n; i++) {
        double px = baldro_svg_px(s, 0, x[i]), py = baldro_svg_px(s, 1, y[i]);
        if (isnan(px) || isnan(py)) continue;
        svg_marker(s->out, px, py, color, shape, r);
    }
    g_string_append_c(s->out, '\n');
}

void baldro_svg_label(baldro_svg *s, double x, double y, double dx, double dy, const char *anchor,
                      const char *text) {
    double px = baldro_svg_px(s, 0, x), py = baldro_svg_px(s, 1, y);
    if (isnan(px) || isnan(py)) return;
    GString *o = s->out;
    g_string_append(o, "<text x=\"");
    svg_coord(o, px + dx);
    g_string_append(o, "\" y=\"");
    svg_coord(o, py + dy);
    g_string_append_printf(o, "\" font-size=\"%d\" fill=\"#222\" text-anchor=\"%s\">",
                           (int)SVG_TICK_FONT, anchor);
    baldro_html_escape(o, text);
    g_string_append(o, "</text>\n");
}

void baldro_svg_band(baldro_svg *s, const double *x, const double *lo, const double *hi, size_t n,
                     const char *color) {
    GString *o = s->out;
    size_t used = 0;
    GString *pts = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) { /* the upper edge left to right */
        double px = baldro_svg_px(s, 0, x[i]), py = baldro_svg_px(s, 1, hi[i]);
        double pl = baldro_svg_px(s, 1, lo[i]);
        if (isnan(px) || isnan(py) || isnan(pl)) continue;
        if (used++) g_string_append_c(pts, ' ');
        svg_xy(pts, px, py);
    }
    for (size_t i = n; i-- > 0;) { /* the lower edge back */
        double px = baldro_svg_px(s, 0, x[i]), py = baldro_svg_px(s, 1, lo[i]);
        double ph = baldro_svg_px(s, 1, hi[i]);
        if (isnan(px) || isnan(py) || isnan(ph)) continue;
        g_string_append_c(pts, ' ');
        svg_xy(pts, px, py);
    }
    if (used)
        g_string_append_printf(o,
                               "<polygon fill=\"%s\" stroke=\"%s\" stroke-width=\"0.5\" "
                               "points=\"%s\"/>\n",
                               color, color, pts->str);
    g_string_free(pts, TRUE);
}

void baldro_svg_bars(baldro_svg *s, const double *edges, const double *count, size_t n,
                     const char *fill, const char *stroke) {
    GString *o = s->out;
    double base = baldro_svg_px(s, 1, s->y.log10 ? s->y.lo : fmax(0, s->y.lo));
    if (fill) {
        for (size_t i = 0; i < n; i++) {
            double x0 = baldro_svg_px(s, 0, edges[i]), x1 = baldro_svg_px(s, 0, edges[i + 1]);
            double y = baldro_svg_px(s, 1, count[i]);
            if (isnan(x0) || isnan(x1) || isnan(y) || !(count[i] > 0)) continue;
            g_string_append(o, "<rect x=\"");
            svg_coord(o, x0);
            g_string_append(o, "\" y=\"");
            svg_coord(o, y);
            g_string_append(o, "\" width=\"");
            svg_coord(o, x1 - x0);
            g_string_append(o, "\" height=\"");
            svg_coord(o, base - y);
            g_string_append_printf(o, "\" fill=\"%s\"/>", fill);
        }
        g_string_append_c(o, '\n');
    }
    if (stroke && n > 0) {
        double x = baldro_svg_px(s, 0, edges[0]);
        if (isnan(x)) return;
        g_string_append(o, "<path fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"miter\" "
                           "stroke=\"");
        g_string_append(o, stroke);
        g_string_append(o, "\" d=\"M");
        svg_xy(o, x, base);
        for (size_t i = 0; i < n; i++) {
            double y = baldro_svg_px(s, 1, count[i]);
            double x1 = baldro_svg_px(s, 0, edges[i + 1]);
            if (isnan(y)) y = base;
            if (isnan(x1)) break;
            g_string_append(o, " V");
            svg_coord(o, y);
            g_string_append(o, " H");
            svg_coord(o, x1);
        }
        g_string_append(o, " V");
        svg_coord(o, base);
        g_string_append(o, "\"/>\n");
    }
}

void baldro_svg_refline(baldro_svg *s, int axis, double v, const char *color) {
    double p = baldro_svg_px(s, axis, v);
    if (isnan(p)) return;
    GString *o = s->out;
    g_string_append(o, "<line x1=\"");
    svg_coord(o, axis ? s->px0 : p);
    g_string_append(o, "\" y1=\"");
    svg_coord(o, axis ? p : s->py0);
    g_string_append(o, "\" x2=\"");
    svg_coord(o, axis ? s->px1 : p);
    g_string_append(o, "\" y2=\"");
    svg_coord(o, axis ? p : s->py1);
    g_string_append_printf(o, "\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>\n",
                           color);
}

void baldro_svg_legend(baldro_svg *s, baldro_svg_key key, const char *color, const char *text) {
    GString *o = s->out;
    double x = s->key_x, y = SVG_LEGEND_Y;
    switch (key) {
    case BALDRO_SVG_KEY_LINE:
        g_string_append(o, "<line x1=\"");
        svg_coord(o, x);
        g_string_append(o, "\" y1=\"");
        svg_coord(o, y - 3.5);
        g_string_append(o, "\" x2=\"");
        svg_coord(o, x + 16);
        g_string_append(o, "\" y2=\"");
        svg_coord(o, y - 3.5);
        g_string_append_printf(o, "\" stroke=\"%s\" stroke-width=\"2.5\"/>", color);
        break;
    case BALDRO_SVG_KEY_POINT:
        svg_marker(o, x + 8, y - 3.5, color, BALDRO_SVG_CIRCLE, 4);
        break;
    default:
        g_string_append(o, "<rect x=\"");
        svg_coord(o, x + 2);
        g_string_append(o, "\" y=\"");
        svg_coord(o, y - 9);
        g_string_append_printf(o, "\" width=\"12\" height=\"11\" fill=\"%s\"/>", color);
        break;
    }
    g_string_append(o, "<text x=\"");
    svg_coord(o, x + 21);
    g_string_append(o, "\" y=\"");
    svg_coord(o, y);
    g_string_append_printf(o, "\" font-size=\"%d\" fill=\"#222\">", (int)SVG_LABEL_FONT);
    baldro_html_escape(o, text);
    g_string_append(o, "</text>\n");
    /* The next entry after this one's text (about 0.6 em a character). */
    s->key_x = x + 21 + 0.6 * SVG_LABEL_FONT * (double)g_utf8_strlen(text, -1) + 14;
}

void baldro_svg_end(baldro_svg *s) {
    g_string_append(s->out, "</svg>\n");
}
