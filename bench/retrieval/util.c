/* util.c - small helpers of the retrieval harness: allocation that ends the program on
 * exhaustion, a monotonic clock, civil-time arithmetic with the two dataset date formats,
 * and reading a gzip file whole. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

#include "bench.h"

#define MAX_FILE_BYTES ((size_t)1 << 30) /* the dev files inflate to well under 100 MB */

static void oom(size_t n)
{
    fprintf(stderr, "retrieval: out of memory allocating %zu bytes\n", n);
    exit(1);
}

void *bt_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *bt_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *bt_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *bt_strndup(const char *s, size_t n)
{
    char *d = bt_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *bt_strdup(const char *s)
{
    return bt_strndup(s, strlen(s));
}

void bt_grow(void **arr, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 8;
    if (need <= *cap)
        return;
    while (c < need)
        c *= 2;
    *arr = bt_realloc(*arr, c * size);
    *cap = c;
}

int64_t bt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the era-based algorithm: shift the
 * year to start in March so the leap day is the last day of the year). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t bt_civil_ms(int year, int month, int day, int hour, int minute)
{
    int64_t days = days_from_civil(year, month, day);
    return ((days * 24 + hour) * 60 + minute) * 60 * 1000;
}

/* Reads an unsigned decimal of at most `max_digits` digits. */
static const char *read_uint(const char *p, int max_digits, int *out)
{
    int v = 0, n = 0;
    while (isdigit((unsigned char)*p) && n < max_digits) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n == 0)
        return NULL;
    *out = v;
    return p;
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

static int month_of(const char *p, size_t len)
{
    static const char *const names[12] = {"january", "february", "march",     "april",
                                          "may",     "june",     "july",      "august",
                                          "september", "october", "november", "december"};
    int i;
    /* full names, and the 3-letter forms in case a conversation abbreviates */
    for (i = 0; i < 12; i++) {
        if ((len == strlen(names[i]) || len == 3) && strncasecmp(p, names[i], len) == 0)
            return i + 1;
    }
    return 0;
}

static bool valid_civil(int year, int month, int day, int hour, int minute)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return year >= 1900 && year <= 2200 && month >= 1 && month <= 12 && day >= 1 &&
           day <= mdays[month - 1] && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59;
}

int bt_parse_locomo_date(const char *s, int64_t *out_ms)
{
    int hour, minute, day, month, year;
    const char *p = s, *w;
    if (!(p = read_uint(skip_spaces(p), 2, &hour)) || *p++ != ':' ||
        !(p = read_uint(p, 2, &minute)))
        return -1;
    p = skip_spaces(p);
    if (hour < 1 || hour > 12)
        return -1;
    if (strncasecmp(p, "am", 2) == 0)
        hour = hour == 12 ? 0 : hour;
    else if (strncasecmp(p, "pm", 2) == 0)
        hour = hour == 12 ? 12 : hour + 12;
    else
        return -1;
    p = skip_spaces(p + 2);
    if (strncasecmp(p, "on", 2) != 0)
        return -1;
    p = skip_spaces(p + 2);
    if (!(p = read_uint(p, 2, &day)))
        return -1;
    p = skip_spaces(p);
    for (w = p; isalpha((unsigned char)*p); p++)
        ;
    month = month_of(w, (size_t)(p - w));
    if (!month)
        return -1;
    if (*p == ',')
        p++;
    if (!(p = read_uint(skip_spaces(p), 4, &year)) || *skip_spaces(p) != '\0')
        return -1;
    if (!valid_civil(year, month, day, hour, minute))
        return -1;
    *out_ms = bt_civil_ms(year, month, day, hour, minute);
    return 0;
}

int bt_parse_lme_date(const char *s, int64_t *out_ms)
{
    int year, month, day, hour, minute;
    const char *p = skip_spaces(s);
    if (!(p = read_uint(p, 4, &year)) || *p++ != '/' || !(p = read_uint(p, 2, &month)) ||
        *p++ != '/' || !(p = read_uint(p, 2, &day)))
        return -1;
    p = skip_spaces(p);
    if (*p == '(') { /* weekday, redundant with the date */
        while (*p && *p != ')')
            p++;
        if (*p++ != ')')
            return -1;
    }
    p = skip_spaces(p);
    if (!(p = read_uint(p, 2, &hour)) || *p++ != ':' || !(p = read_uint(p, 2, &minute)) ||
        *skip_spaces(p) != '\0')
        return -1;
    if (!valid_civil(year, month, day, hour, minute))
        return -1;
    *out_ms = bt_civil_ms(year, month, day, hour, minute);
    return 0;
}

int bt_read_gz(const char *path, char **out, size_t *out_len)
{
    gzFile gz = gzopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int n, err;

    if (!gz)
        return -1;
    for (;;) {
        bt_grow((void **)&buf, &cap, len + 65536 + 1, 1);
        n = gzread(gz, buf + len, 65536);
        if (n < 0) {
            fprintf(stderr, "retrieval: %s: %s\n", path, gzerror(gz, &err));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > MAX_FILE_BYTES) {
            fprintf(stderr, "retrieval: %s inflates to more than %zu bytes\n", path,
                    MAX_FILE_BYTES);
            goto fail;
        }
    }
    gzclose(gz);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
fail:
    gzclose(gz);
    free(buf);
    errno = EIO;
    return -1;
}
