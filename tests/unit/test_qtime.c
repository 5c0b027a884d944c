/* test_qtime.c - relative time expressions of a question as a window before the moment it is
 * asked (src/memory/qtime.c). */
#include "t.h"

#include "../../src/memory/memory_int.h"

#define DAY 86400000LL
#define REF 1685404800000LL /* 2023-05-30T00:00:00Z */

typedef struct wcase {
    const char *q;
    int64_t from_days, to_days; /* window before REF, in days ([from, to) with to's slop) */
} wcase;

TEST(query_window_reads_relative_time_expressions)
{
    static const wcase yes[] = {
        {"Which pair of shoes did I clean last month?", 62, 0},
        {"How many dinner parties have I attended in the past month?", 62, 0},
        {"What did I do yesterday", 2, 0},
        {"What did Melanie paint recently?", 31, 0},
        {"I mentioned visiting a museum two months ago. With whom?", 93, 31},
        {"what happened 3 weeks ago", 28, 14},
        {"a couple of days ago I said", 4, 0},
        {"my plans for this weekend", 7, 0},
        {"in the last 3 months", 94, 0},
        {"Where did I go last year", 732, 0},
    };
    static const char *const no[] = {"How many days ago did I harvest the herbs?",
                                     "What did I say about May?", "the last time we met",
                                     "last but not least", ""};
    size_t i;
    int64_t from, to;
    for (i = 0; i < MN_ARRAY_LEN(yes); i++) {
        if (!mn__query_window(yes[i].q, REF, &from, &to)) {
            t_fail(__FILE__, __LINE__, "'%s': no window", yes[i].q);
            continue;
        }
        if (from != REF - yes[i].from_days * DAY || to != REF - yes[i].to_days * DAY + DAY / 2)
            t_fail(__FILE__, __LINE__, "'%s': window %lld..%lld days, expected %lld..%lld",
                   yes[i].q, (long long)((REF - from) / DAY), (long long)((REF - to) / DAY),
                   (long long)yes[i].from_days, (long long)yes[i].to_days);
    }
    for (i = 0; i < MN_ARRAY_LEN(no); i++)
        if (mn__query_window(no[i], REF, &from, &to))
            t_fail(__FILE__, __LINE__, "'%s': a window %lld..%lld days", no[i],
                   (long long)((REF - from) / DAY), (long long)((REF - to) / DAY));
    ASSERT_EQ(mn__query_window("last week", 0, &from, &to), 0); /* no reference time */
    ASSERT_EQ(mn__query_window(NULL, REF, &from, &to), 0);
}
