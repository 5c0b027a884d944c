/* qtime.c - relative time expressions of a question ("last week", "two months ago",
 * "yesterday", "recently") as a window of creation times before the moment it is asked. The
 * ranking lifts memories inside the window a little (docs/RETRIEVAL.md); nothing is filtered
 * out, because people are loose with such words ("last month" for six weeks ago). Absolute
 * dates ("in May") are handled by the index, which holds each memory's month and year. */
#include <ctype.h>
#include <string.h>

#include "memory_int.h"

#define DAY_MS 86400000LL
#define QT_MAX_WORDS 64

typedef struct qword {
    char s[16]; /* lower case, cut */
} qword;

/* Splits q into lower-case ASCII words (apostrophes kept inside a word). */
static size_t split(const char *q, qword *w, size_t cap)
{
    size_t n = 0, i = 0, len = strlen(q);
    while (i < len && n < cap) {
        size_t k = 0;
        while (i < len && !isalnum((unsigned char)q[i]))
            i++;
        while (i < len && (isalnum((unsigned char)q[i]) || q[i] == '\'')) {
            if (k + 1 < sizeof w[n].s)
                w[n].s[k++] = (char)tolower((unsigned char)q[i]);
            i++;
        }
        if (k) {
            w[n].s[k] = '\0';
            n++;
        }
    }
    return n;
}

/* A small count: a digit string or an English number word; 0 when not one. */
static int count_of(const char *s)
{
    static const char *const words[] = {"a",   "one",   "two",   "three", "four",
                                        "five", "six",  "seven", "eight", "nine",
                                        "ten", "eleven", "twelve"};
    size_t i;
    int v = 0;
    if (isdigit((unsigned char)s[0])) {
        for (i = 0; s[i] && isdigit((unsigned char)s[i]) && v < 1000; i++)
            v = v * 10 + (s[i] - '0');
        return s[i] ? 0 : v;
    }
    if (!strcmp(s, "an") || !strcmp(s, "couple"))
        return !strcmp(s, "an") ? 1 : 2;
    if (!strcmp(s, "few") || !strcmp(s, "several"))
        return 3;
    for (i = 0; i < MN_ARRAY_LEN(words); i++)
        if (!strcmp(s, words[i]))
            return i == 0 ? 1 : (int)i;
    return 0;
}

/* Days in a unit word ("week", "months"); 0 when not a unit. */
static int64_t unit_days(const char *s)
{
    size_t n = strlen(s);
    char u[16];
    if (n > 1 && s[n - 1] == 's')
        n--;
    if (n >= sizeof u)
        return 0;
    memcpy(u, s, n);
    u[n] = '\0';
    if (!strcmp(u, "day"))
        return 1;
    if (!strcmp(u, "week"))
        return 7;
    if (!strcmp(u, "month"))
        return 31;
    if (!strcmp(u, "year"))
        return 366;
    return 0;
}

static bool is(const qword *w, size_t n, size_t i, const char *s)
{
    return i < n && !strcmp(w[i].s, s);
}

/* The window of the expression starting at word i, in days before the reference time:
 * [*lo_days, *hi_days] (lo >= hi). 1 when one starts there. */
static int window_at(const qword *w, size_t n, size_t i, int64_t *lo, int64_t *hi)
{
    int64_t u;
    int c;
    /* "yesterday", "today", "tonight", "recently", "lately" */
    if (is(w, n, i, "yesterday")) {
        *lo = 2, *hi = 0;
        return 1;
    }
    if (is(w, n, i, "today") || is(w, n, i, "tonight")) {
        *lo = 1, *hi = 0;
        return 1;
    }
    if (is(w, n, i, "recently") || is(w, n, i, "lately")) {
        *lo = 31, *hi = 0;
        return 1;
    }
    /* "last|past|previous week", "this month", "last weekend" */
    if (is(w, n, i, "last") || is(w, n, i, "past") || is(w, n, i, "previous") ||
        is(w, n, i, "this")) {
        bool this_one = is(w, n, i, "this");
        if (is(w, n, i + 1, "weekend")) {
            *lo = this_one ? 7 : 10, *hi = 0;
            return 1;
        }
        if (i + 1 < n && strcmp(w[i + 1].s, "days") && (u = unit_days(w[i + 1].s)) > 1) {
            *lo = this_one ? u : 2 * u, *hi = 0;
            return 1;
        }
        /* "the past few weeks", "the last 3 months" */
        if (i + 2 < n && (c = count_of(w[i + 1].s)) > 0 && (u = unit_days(w[i + 2].s)) > 0) {
            *lo = (int64_t)c * u + 1, *hi = 0;
            return 1;
        }
        return 0;
    }
    /* "<count> <unit> ago", "a couple of weeks ago" */
    if ((c = count_of(w[i].s)) > 0) {
        size_t j = i + 1;
        if (is(w, n, j, "of"))
            j++;
        if (j + 1 < n && (u = unit_days(w[j].s)) > 0 && is(w, n, j + 1, "ago")) {
            int64_t mid = (int64_t)c * u, half = u > 1 ? u : 2;
            *lo = mid + half;
            *hi = mid > half ? mid - half : 0;
            return 1;
        }
    }
    return 0;
}

int mn__query_window(const char *q, int64_t ref_ms, int64_t *out_from_ms, int64_t *out_to_ms)
{
    qword w[QT_MAX_WORDS];
    size_t n, i;
    if (!q || ref_ms <= 0)
        return 0;
    n = split(q, w, QT_MAX_WORDS);
    for (i = 0; i < n; i++) {
        int64_t lo, hi;
        if (window_at(w, n, i, &lo, &hi)) {
            *out_from_ms = ref_ms - lo * DAY_MS;
            *out_to_ms = ref_ms - hi * DAY_MS + DAY_MS / 2; /* clocks and time zones */
            return 1;
        }
    }
    return 0;
}
