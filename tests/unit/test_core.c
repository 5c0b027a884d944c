/* test_core.c - the core layer: allocator accounting and fault injection, buffers, arenas,
 * the hash map, UTF-8 validation, time parsing and formatting, ids, error names. */
#include "../../src/core/core.h"
#include "t.h"

TEST(alloc_counts_and_frees)
{
    int64_t before = mn__alloc_live_bytes();
    char *p = mn__malloc(100);
    ASSERT(p);
    ASSERT_EQ(mn__alloc_live_bytes() - before, 100);
    p = mn__realloc(p, 300);
    ASSERT(p);
    ASSERT_EQ(mn__alloc_live_bytes() - before, 300);
    mn__free(p);
    ASSERT_EQ(mn__alloc_live_bytes(), before);
}

TEST(alloc_fault_injection_fails_nth)
{
    void *a, *b, *c;
    mn__alloc_fail_after(2);
    a = mn__malloc(8);
    b = mn__malloc(8);
    c = mn__malloc(8);
    ASSERT(a);
    ASSERT(!b);
    ASSERT(c);
    mn__free(a);
    mn__free(c);
    mn__alloc_fail_after(0);
}

TEST(buf_limits_and_escapes)
{
    mn__buf b;
    mn__buf_init(&b, 10);
    ASSERT_OK(mn__buf_puts(&b, "hello"), (mn_err *)0);
    ASSERT_EQ(mn__buf_puts(&b, "world!"), MN_ETOOBIG);
    ASSERT_STR(b.data, "hello"); /* unchanged after a refused append */
    mn__buf_release(&b);
    mn__buf_init(&b, 0);
    ASSERT_OK(mn__buf_json_str(&b, "a\"b\\c\n\x01", 7), (mn_err *)0);
    ASSERT_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    ASSERT_OK(mn__buf_printf(&b, "%d-%s", 42, "x"), (mn_err *)0);
    ASSERT_STR(b.data + b.len - 4, "42-x");
    mn__buf_release(&b);
}

TEST(arena_alignment_and_big_blocks)
{
    mn__arena a;
    int i;
    mn__arena_init(&a, 64);
    for (i = 0; i < 100; i++) {
        char *p = mn__arena_alloc(&a, (size_t)(i % 7) + 1);
        ASSERT(p);
        ASSERT_EQ((uintptr_t)p % 16, 0);
    }
    ASSERT(mn__arena_alloc(&a, 100000));
    ASSERT_STR(mn__arena_strdup(&a, "abc"), "abc");
    mn__arena_release(&a);
}

TEST(hmap_put_get_delete_grow)
{
    mn__hmap m;
    char key[32];
    int i;
    mn__hmap_init(&m);
    for (i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        ASSERT_OK(mn__hmap_put(&m, key, (size_t)n, (void *)(intptr_t)(i + 1)), (mn_err *)0);
    }
    ASSERT_EQ(m.n, 5000);
    for (i = 0; i < 5000; i += 2) {
        int n = snprintf(key, sizeof key, "k%d", i);
        ASSERT_EQ((intptr_t)mn__hmap_del(&m, key, (size_t)n), i + 1);
    }
    for (i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        void *v = mn__hmap_get(&m, key, (size_t)n);
        ASSERT_EQ((intptr_t)v, i % 2 ? i + 1 : 0);
    }
    ASSERT(!mn__hmap_get(&m, "nope", 4));
    mn__hmap_release(&m);
}

TEST(utf8_validation)
{
    size_t bad = 0;
    ASSERT(mn__utf8_valid("plain", 5, NULL));
    ASSERT(mn__utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", 14, NULL));
    ASSERT(!mn__utf8_valid("ab\xc3", 3, &bad));
    ASSERT_EQ(bad, 2);
    ASSERT(!mn__utf8_valid("\xc0\xaf", 2, NULL));          /* overlong */
    ASSERT(!mn__utf8_valid("\xed\xa0\x80", 3, NULL));      /* surrogate */
    ASSERT(!mn__utf8_valid("\xf4\x90\x80\x80", 4, NULL));  /* > U+10FFFF */
    ASSERT(!mn__utf8_valid("a\0b", 3, &bad));
    ASSERT_EQ(bad, 1);
}

TEST(time_parse_and_format)
{
    int64_t ms = 0;
    char out[32];
    ASSERT_OK(mn__parse_time("2023-05-08T13:56:00Z", &ms), (mn_err *)0);
    ASSERT_EQ(ms, 1683554160000LL);
    mn__fmt_time_iso(ms, out);
    ASSERT_STR(out, "2023-05-08T13:56:00.000Z");
    ASSERT_OK(mn__parse_time("2023-05-08T15:56:00.250+02:00", &ms), (mn_err *)0);
    ASSERT_EQ(ms, 1683554160250LL);
    mn__fmt_time_iso(ms, out);
    ASSERT_STR(out, "2023-05-08T13:56:00.250Z");
    ASSERT_OK(mn__parse_time("2024-02-29", &ms), (mn_err *)0);
    mn__fmt_date_human(ms, out);
    ASSERT_STR(out, "29 February 2024");
    ASSERT_EQ(mn__parse_time("2023-02-30", &ms), MN_EINVAL);
    ASSERT_EQ(mn__parse_time("yesterday", &ms), MN_EINVAL);
    ASSERT_EQ(mn__parse_time("2023-05-08T25:00:00Z", &ms), MN_EINVAL);
    ASSERT_EQ(mn__parse_time("", &ms), MN_EINVAL);
}

TEST(ids_are_checked)
{
    mn_err err;
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    ASSERT_OK(mn__check_id("user id", "alice", &err), &err);
    ASSERT_EQ(mn__check_id("user id", "", &err), MN_EINVAL);
    ASSERT(strstr(err.msg, "user id"));
    ASSERT_EQ(mn__check_id("user id", long_id, &err), MN_ETOOBIG);
    ASSERT(strstr(err.msg, "128"));
    ASSERT_EQ(mn__check_id("user id", "a\nb", &err), MN_EINVAL);
    ASSERT_EQ(mn__check_id("user id", "a\xff", &err), MN_EUTF8);
}

TEST(error_names_from_one_list)
{
    ASSERT_STR(mn_err_name(MN_ENOTFOUND), "ENOTFOUND");
    ASSERT_STR(mn_strerror(MN_ENOTFOUND), "not found");
    ASSERT_STR(mn_err_name(12345), "EUNKNOWN");
    ASSERT_STR(mn_kind_name(MN_KIND_FACT), "fact");
    ASSERT_EQ(mn_kind_parse("summary"), MN_KIND_SUMMARY);
    ASSERT_EQ(mn_kind_parse("bogus"), 0);
    ASSERT_EQ((int)mn_role_parse("bogus"), -1);
    ASSERT_EQ(mn_role_parse(""), MN_ROLE_NONE);
}
