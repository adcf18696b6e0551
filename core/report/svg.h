/*
 * core/report/svg.h: a small plotting module that writes inline SVG (for report.html).
 *
 * One plot is one <svg> element: a title above, a rectangular plot area with axes (nice
 * linear ticks or log10 decades), grid lines, axis labels, then marks drawn in data
 * coordinates (lines, points, bars, bands, labels) and a legend. Every data-to-pixel
 * conversion goes through baldro_svg_px(), so a log axis is handled in one place.
 *
 * Output is deterministic: numbers are written with g_ascii_formatd (no locale), pixel
 * coordinates with one decimal. All text is HTML-escaped here; callers pass raw text. No
 * xmlns attribute (inline SVG in HTML needs none, and the page must contain no URL).
 *
 *   baldro_svg s;
 *   baldro_svg_begin(&s, out, 640, 400, "Forget quality vs model utility");
 *   baldro_svg_axis_fit(&s.x, xs, n, 0);  baldro_svg_axis_fit(&s.y, ys, n, 1);
 *   baldro_svg_axes(&s, "model utility", "forget quality");
 *   baldro_svg_points(&s, xs, ys, n, "#4e79a7", BALDRO_SVG_CIRCLE, 4);
 *   baldro_svg_end(&s);
 */
#ifndef BALDRO_REPORT_SVG_H
#define BALDRO_REPORT_SVG_H

#include <glib.h>
#include <stddef.h>

#define BALDRO_SVG_MAX_TICKS 24

typedef struct baldro_svg_axis {
    double lo, hi; /* the range shown (after baldro_svg_axis_fit: rounded to ticks) */
    int log10;     /* 1: log10 scale; lo, hi > 0                                   */
    size_t n_ticks;
    double ticks[BALDRO_SVG_MAX_TICKS];
    int decimals; /* linear tick labels: digits after the point; -1: %g             */
    double pad;   /* inset of [lo, hi] from the plot area's edges, as a fraction of it
                     (0 by default; a scatter plot sets some, so that no marker sits on
                     the frame)                                                     */
} baldro_svg_axis;

typedef enum { BALDRO_SVG_CIRCLE, BALDRO_SVG_SQUARE, BALDRO_SVG_DIAMOND } baldro_svg_shape;

typedef enum { BALDRO_SVG_KEY_LINE, BALDRO_SVG_KEY_POINT, BALDRO_SVG_KEY_BOX } baldro_svg_key;

typedef struct baldro_svg {
    GString *out;
    double w, h;               /* the whole <svg>, px                          */
    double px0, px1, py0, py1; /* the plot area: x from px0 to px1, y from py0
                                  (top) to py1 (bottom), px                    */
    baldro_svg_axis x, y;
    double key_x; /* where the next legend entry starts, px       */
} baldro_svg;

/* HTML-escapes `text` onto `out` (& < > " ' and control characters other than tab and
 * newline, which become U+FFFD). Text is expected to be UTF-8 (JSON input is validated). */
void baldro_html_escape(GString *out, const char *text);
/* A number with `sig` significant digits, locale-independent; "–" for NaN. */
void baldro_fmt_num(GString *out, double v, int sig);

/* Starts the plot: opens the <svg>, writes the title. Axes default to linear [0, 1]. */
void baldro_svg_begin(baldro_svg *s, GString *out, double w, double h, const char *title);

/* Sets the axis range from data (non-finite values ignored; on a log axis also values
 * <= 0) widened to nice ticks: linear steps of 1, 2, 2.5 or 5 times a power of ten, log
 * axes whole decades. `include_zero` keeps 0 in a linear range. No usable value: [0, 1]
 * (log: [0.1, 1]). */
void baldro_svg_axis_fit(baldro_svg_axis *a, const double *v, size_t n, int log10,
                         int include_zero);
/* A count axis: [0, max] (at least [0, 5]) with whole-number ticks. */
void baldro_svg_axis_counts(baldro_svg_axis *a, double max);
/* The same from an explicit range (lo may equal hi). */
void baldro_svg_axis_range(baldro_svg_axis *a, double lo, double hi, int log10);

/* Draws the frame, grid, ticks, tick labels and the two axis labels (raw text). */
void baldro_svg_axes(baldro_svg *s, const char *xlabel, const char *ylabel);

/* Pixel coordinate of data value v on axis 0 (x) or 1 (y), clamped to the plot area
 * (a little beyond it for values off range); NaN for a non-finite value or v <= 0 on a log
 * axis. */
double baldro_svg_px(const baldro_svg *s, int axis, double v);

/* A polyline through (x[i], y[i]); a point that does not map (NaN) breaks the line. */
void baldro_svg_line(baldro_svg *s, const double *x, const double *y, size_t n, const char *color,
                     double width, int dashed);
/* Markers of radius r px at (x[i], y[i]); points that do not map are skipped. */
void baldro_svg_points(baldro_svg *s, const double *x, const double *y, size_t n, const char *color,
                       baldro_svg_shape shape, double r);
/* Text next to the data point (x, y), offset by (dx, dy) px; anchor "start", "middle" or
 * "end". */
void baldro_svg_label(baldro_svg *s, double x, double y, double dx, double dy, const char *anchor,
                      const char *text);
/* A filled area between lo[i] and hi[i] over x[i] (x ascending). */
void baldro_svg_band(baldro_svg *s, const double *x, const double *lo, const double *hi, size_t n,
                     const char *color);
/* Histogram bars: bin i spans [edges[i], edges[i+1]] with height count[i]. Filled with
 * `fill` (NULL: none) and outlined as a step line in `stroke` (NULL: none). */
void baldro_svg_bars(baldro_svg *s, const double *edges, const double *count, size_t n,
                     const char *fill, const char *stroke);
/* A dashed reference line at data value v across the plot (axis 0: vertical). */
void baldro_svg_refline(baldro_svg *s, int axis, double v, const char *color);
/* One legend entry; entries run left to right in a row between the title and the plot
 * area (never over the data). */
void baldro_svg_legend(baldro_svg *s, baldro_svg_key key, const char *color, const char *text);
/* Closes the <svg>. */
void baldro_svg_end(baldro_svg *s);

#endif /* BALDRO_REPORT_SVG_H */
