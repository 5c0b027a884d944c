/* time.c - clocks, and formatting/parsing of timestamps (UTC, ms since the epoch). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

int64_t mn__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mn__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Years 1 to 9999. A time outside (a damaged row, a hostile import) is clamped to them, so
 * that the arithmetic below and gmtime_r stay defined and years keep four digits. */
#define MIN_MS (-62135596800000LL)
#define MAX_MS 253402300799999LL

static void split_ms(int64_t ms, struct tm *tm, int *out_frac)
{
    time_t secs;
    ms = ms < MIN_MS ? MIN_MS : ms > MAX_MS ? MAX_MS : ms;
    secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    *out_frac = (int)(ms - (int64_t)secs * 1000);
    if (!gmtime_r(&secs, tm))
        memset(tm, 0, sizeof *tm);
}

void mn__fmt_time_iso(int64_t ms, char out[32])
{
    struct tm tm;
    int frac;
    char tmp[96];
    split_ms(ms, &tm, &frac);
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    memcpy(out, tmp, 31);
    out[31] = '\0';
}

void mn__fmt_date_human(int64_t ms, char out[32])
{
    static const char *mon[] = {"January", "February", "March",     "April",
                                "May",     "June",     "July",      "August",
                                "September", "October", "November", "December"};
    struct tm tm;
    int frac;
    char tmp[96];
    split_ms(ms, &tm, &frac);
    snprintf(tmp, sizeof tmp, "%d %s %04d", tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900);
    memcpy(out, tmp, 31);
    out[31] = '\0';
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
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

static int digits(const char **p, int n, int *out)
{
    int v = 0, i;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int mn__parse_time(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0, ms = 0, sign, oh, om;
    int64_t off = 0, total;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || !*s)
        return MN_EINVAL;
    /* plain integer: ms since the epoch */
    if (strspn(s, "0123456789") == strlen(s) && strlen(s) <= 15) {
        *out_ms = strtoll(s, NULL, 10);
        return MN_OK;
    }
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return MN_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return MN_EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return MN_EINVAL;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &se))
                return MN_EINVAL;
            if (*p == '.') {
                int scale = 100;
                p++;
                if (!isdigit((unsigned char)*p))
                    return MN_EINVAL;
                while (isdigit((unsigned char)*p)) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (h > 23 || mi > 59 || se > 60)
            return MN_EINVAL;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1 : 1;
            p++;
            if (digits(&p, 2, &oh))
                return MN_EINVAL;
            if (*p == ':')
                p++;
            if (digits(&p, 2, &om) || oh > 23 || om > 59)
                return MN_EINVAL;
            off = sign * ((int64_t)oh * 3600 + om * 60);
        }
    }
    if (*p)
        return MN_EINVAL;
    total = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + se - off;
    *out_ms = total * 1000 + ms;
    return MN_OK;
}

int mn_time_parse(const char *s, int64_t *out_ms)
{
    return mn__parse_time(s, out_ms);
}

void mn_time_format(int64_t ms, char out[32])
{
    mn__fmt_time_iso(ms, out);
}
