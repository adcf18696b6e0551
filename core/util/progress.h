/*
 * core/util/progress.h: progress bars with ETA on a terminal, plain lines elsewhere.
 *
 * Anything that takes more than a few seconds (training, the reference cache, each
 * evaluation pass) reports through this. On a terminal (stderr is a tty) a bar redraws
 * in place at most 10 times a second; to a pipe or file it prints a plain line at most
 * every `BALDRO_PROGRESS_LINE_S` seconds or 10% of the work, and one at the end, so CI
 * logs stay readable. Work that ends within a moment (BALDRO_PROGRESS_DELAY_S) shows
 * nothing. --quiet (log level error) silences both.
 * Progress goes to stderr: results on stdout stay pipeable.
 */
#ifndef BALDRO_CORE_PROGRESS_H
#define BALDRO_CORE_PROGRESS_H

#include <stdint.h>

#define BALDRO_PROGRESS_LINE_S 10.0
/* Nothing is shown for work that ends sooner than this (plain lines / a terminal). */
#define BALDRO_PROGRESS_DELAY_S 2.0
#define BALDRO_PROGRESS_TTY_DELAY_S 0.5

typedef struct baldro_progress {
    char label[64];
    char unit[16];
    int64_t total, done;
    int64_t base;           /* units done before this process started (a resumed run) */
    double t0, last_draw;
    int64_t last_line_done;
    int tty, quiet, drawn, updated;
} baldro_progress;

/* Starts a bar for `total` units of work (0: unknown). `unit` names them ("steps",
 * "items"). Nothing is allocated: the struct lives on the caller's stack. */
void baldro_progress_start(baldro_progress *p, const char *label, int64_t total, const char *unit);
/* `done` units finished so far; `extra` (may be NULL) is a short status such as
 * "loss 1.23", shown after the ETA. */
void baldro_progress_update(baldro_progress *p, int64_t done, const char *extra);
/* Prints the final state with the elapsed time and ends the line. */
void baldro_progress_finish(baldro_progress *p, const char *extra);
/* Seconds since start. */
double baldro_progress_elapsed(const baldro_progress *p);
/* Writes "m:ss" or "h:mm:ss" into buf. */
void baldro_progress_format_time(char *buf, int len, double seconds);

#endif /* BALDRO_CORE_PROGRESS_H */
