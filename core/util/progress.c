/* core/util/progress.c: progress bars and plain progress lines (see progress.h). */
#include "util/progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void baldro_progress_format_time(char *buf, int len, double s) {
    if (!(s >= 0) || s > 359999) {
        snprintf(buf, (size_t)len, "--:--");
        return;
    }
    long t = lround(s);
    if (t >= 3600) snprintf(buf, (size_t)len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, (size_t)len, "%ld:%02ld", t / 60, t % 60);
}

void baldro_progress_start(baldro_progress *p, const char *label, int64_t total, const char *unit) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->total = total > 0 ? total : 0;
    p->t0 = now_s();
    p->tty = isatty(2);
    p->quiet = baldro_log_get_level() < BALDRO_LOG_WARN;
    p->last_line_done = -1;
}

double baldro_progress_elapsed(const baldro_progress *p) { return now_s() - p->t0; }

static void draw(baldro_progress *p, const char *extra, int final) {
    double el = now_s() - p->t0;
    char el_s[16], eta_s[16];
    baldro_progress_format_time(el_s, sizeof el_s, el);
    int64_t mine = p->done - p->base;
    double eta = mine > 0 && p->total > 0 ? el / (double)mine * (double)(p->total - p->done) : -1;
    baldro_progress_format_time(eta_s, sizeof eta_s, eta);
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 0;
    if (frac > 1) frac = 1;
    if (p->tty) {
        enum { W = 24 };
        char bar[W + 1];
        int fill = (int)(frac * W);
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        /* \033[K clears what a longer previous line left behind. */
        if (p->total > 0)
            fprintf(stderr, "\r%s [%s] %3.0f%% %lld/%lld %s  %s %s%s%s\033[K", p->label, bar,
                    100 * frac, (long long)p->done, (long long)p->total, p->unit,
                    final ? "in" : "ETA", final ? el_s : eta_s, extra ? "  " : "",
                    extra ? extra : "");
        else
            fprintf(stderr, "\r%s %lld %s  %s%s%s\033[K", p->label, (long long)p->done, p->unit,
                    el_s, extra ? "  " : "", extra ? extra : "");
        if (final) fputc('\n', stderr);
    } else {
        if (p->total > 0)
            fprintf(stderr, "%s: %lld/%lld %s (%.0f%%), %s %s%s%s\n", p->label, (long long)p->done,
                    (long long)p->total, p->unit, 100 * frac, final ? "took" : "eta",
                    final ? el_s : eta_s, extra ? ", " : "", extra ? extra : "");
        else
            fprintf(stderr, "%s: %lld %s, %s%s%s\n", p->label, (long long)p->done, p->unit, el_s,
                    extra ? ", " : "", extra ? extra : "");
        p->last_line_done = p->done;
    }
    fflush(stderr);
    p->last_draw = now_s();
    p->drawn = 1;
}

void baldro_progress_update(baldro_progress *p, int64_t done, const char *extra) {
    /* The first report names one unit finished since start; more than one means the
     * work resumed (a training run from a checkpoint): the rate counts only ours. */
    if (!p->updated) p->base = done > 1 ? done - 1 : 0;
    p->updated = 1;
    p->done = done;
    if (p->quiet) return;
    double t = now_s();
    /* Work that ends within a moment gets no bar at all. */
    if (t - p->t0 < (p->tty ? BALDRO_PROGRESS_TTY_DELAY_S : BALDRO_PROGRESS_DELAY_S)) return;
    if (p->tty) {
        if (t - p->last_draw >= 0.1 || !p->drawn) draw(p, extra, 0);
        return;
    }
    /* Plain lines: the first, then every 10% or BALDRO_PROGRESS_LINE_S seconds. */
    int64_t tenth = p->total >= 10 ? p->total / 10 : 1;
    if (!p->drawn || t - p->last_draw >= BALDRO_PROGRESS_LINE_S ||
        (p->total > 0 && done / tenth != p->last_line_done / tenth && done != p->total))
        draw(p, extra, 0);
}

void baldro_progress_finish(baldro_progress *p, const char *extra) {
    if (p->quiet) return;
    if (!p->drawn && now_s() - p->t0 < (p->tty ? BALDRO_PROGRESS_TTY_DELAY_S : BALDRO_PROGRESS_DELAY_S))
        return;
    draw(p, extra, 1);
}
