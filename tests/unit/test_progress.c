/*
 * tests/unit/test_progress.c: util/progress.h - time formatting, nothing printed for work
 * that ends within a moment, plain lines (stderr is not a terminal here) every 10% once
 * the delay has passed, the final line with the elapsed time, and silence under --quiet.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/progress.h"

Test(progress, format_time) {
    char b[16];
    baldro_progress_format_time(b, sizeof b, 0);
    cr_assert_str_eq(b, "0:00");
    baldro_progress_format_time(b, sizeof b, 61.4);
    cr_assert_str_eq(b, "1:01");
    baldro_progress_format_time(b, sizeof b, 3725);
    cr_assert_str_eq(b, "1:02:05");
    baldro_progress_format_time(b, sizeof b, -1);
    cr_assert_str_eq(b, "--:--", "unknown");
    baldro_progress_format_time(b, sizeof b, 1e12);
    cr_assert_str_eq(b, "--:--", "absurd");
}

Test(progress, quick_work_prints_nothing, .init = cr_redirect_stderr) {
    baldro_progress p;
    baldro_progress_start(&p, "quick", 10, "items");
    for (int i = 1; i <= 10; i++) baldro_progress_update(&p, i, NULL);
    baldro_progress_finish(&p, NULL);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
}

/* Pretend the work started BALDRO_PROGRESS_DELAY_S ago. */
static void backdate(baldro_progress *p) { p->t0 -= BALDRO_PROGRESS_DELAY_S + 1; }

Test(progress, plain_lines_every_tenth_and_a_final_line, .init = cr_redirect_stderr) {
    baldro_log_set_level(BALDRO_LOG_INFO);
    baldro_progress p;
    baldro_progress_start(&p, "work", 100, "steps");
    backdate(&p);
    for (int i = 1; i < 100; i++) baldro_progress_update(&p, i, "loss 1");
    p.done = 100;
    baldro_progress_finish(&p, "loss 0.5");
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    char line[256];
    int n = 0, last_ok = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        cr_assert(strncmp(line, "work: ", 6) == 0, "%s", line);
        last_ok = strstr(line, "100/100 steps (100%), took") && strstr(line, "loss 0.5");
    }
    cr_assert(n >= 10 && n <= 12, "about one line per 10%% plus the last: %d", n);
    cr_assert(last_ok, "the last line says it is done and how long it took");
}

Test(progress, quiet_is_silent, .init = cr_redirect_stderr) {
    baldro_log_set_level(BALDRO_LOG_ERROR);
    baldro_progress p;
    baldro_progress_start(&p, "work", 10, "steps");
    backdate(&p);
    for (int i = 1; i <= 10; i++) baldro_progress_update(&p, i, NULL);
    baldro_progress_finish(&p, NULL);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
    baldro_log_set_level(BALDRO_LOG_INFO);
}
