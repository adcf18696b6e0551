/*
 * tests/tools/png_probe.c: where colours are in a PNG, for the report's rendering test
 * (tests/cli/report_chromium.sh). Built only for the tests, when libpng is there.
 *
 *   png_probe FILE.png RRGGBB[:TOL]...
 *
 * Prints "size W H", then per colour "RRGGBB COUNT X0 Y0 X1 Y1": how many pixels are within
 * TOL (default 6) of it in every channel, and the bounding box of the rows holding at least
 * 3 such pixels (a lone anti-aliased pixel of another mark does not move it; -1s when there
 * is none). Exit 0, or 2 with one line on stderr.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe {
    int r, g, b, tol;
    long count;
    long x0, y0, x1, y1;
} probe;

static int parse_colour(const char *s, probe *p) {
    unsigned r, g, b;
    int tol = 6, n = 0;
    if (sscanf(s, "%2x%2x%2x%n", &r, &g, &b, &n) != 3 || n != 6) return -1;
    if (s[6] == ':') {
        char *end;
        long t = strtol(s + 7, &end, 10);
        if (*end || t < 0 || t > 255) return -1;
        tol = (int)t;
    } else if (s[6]) {
        return -1;
    }
    *p = (probe){(int)r, (int)g, (int)b, tol, 0, -1, -1, -1, -1};
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: png_probe FILE.png RRGGBB[:TOL]...\n");
        return 2;
    }
    int n = argc - 2;
    probe *p = calloc((size_t)n, sizeof *p);
    if (!p) return 2;
    for (int i = 0; i < n; i++)
        if (parse_colour(argv[i + 2], &p[i])) {
            fprintf(stderr, "png_probe: '%s' is not RRGGBB or RRGGBB:TOL\n", argv[i + 2]);
            free(p);
            return 2;
        }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, argv[1])) {
        fprintf(stderr, "png_probe: %s: %s\n", argv[1], img.message);
        free(p);
        return 2;
    }
    img.format = PNG_FORMAT_RGB; /* composited on black if it had alpha; screenshots do not */
    size_t stride = PNG_IMAGE_ROW_STRIDE(img);
    unsigned char *px = malloc(PNG_IMAGE_BUFFER_SIZE(img, stride));
    if (!px || !png_image_finish_read(&img, NULL, px, (png_int_32)stride, NULL)) {
        fprintf(stderr, "png_probe: %s: %s\n", argv[1], px ? img.message : "out of memory");
        png_image_free(&img);
        free(px);
        free(p);
        return 2;
    }
    printf("size %u %u\n", img.width, img.height);
    for (int i = 0; i < n; i++) {
        for (png_uint_32 y = 0; y < img.height; y++) {
            const unsigned char *row = px + (size_t)y * stride;
            long in_row = 0, rx0 = -1, rx1 = -1;
            for (png_uint_32 x = 0; x < img.width; x++) {
                const unsigned char *c = row + 3 * (size_t)x;
                if (abs(c[0] - p[i].r) <= p[i].tol && abs(c[1] - p[i].g) <= p[i].tol &&
                    abs(c[2] - p[i].b) <= p[i].tol) {
                    in_row++;
                    if (rx0 < 0) rx0 = (long)x;
                    rx1 = (long)x;
                }
            }
            p[i].count += in_row;
            if (in_row >= 3) {
                if (p[i].y0 < 0) p[i].y0 = (long)y;
                p[i].y1 = (long)y;
                if (p[i].x0 < 0 || rx0 < p[i].x0) p[i].x0 = rx0;
                if (rx1 > p[i].x1) p[i].x1 = rx1;
            }
        }
        printf("%02x%02x%02x %ld %ld %ld %ld %ld\n", p[i].r, p[i].g, p[i].b, p[i].count,
               p[i].x0, p[i].y0, p[i].x1, p[i].y1);
    }
    free(px);
    free(p);
    return 0;
}
