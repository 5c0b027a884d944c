/* t.h - the unit test framework: TEST(name) registers a test; the runner (main.c) runs each
 * in a forked child with a timeout and checks that it ends with zero bytes allocated. */
#ifndef MN_T_H
#define MN_T_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo.h"

typedef void (*t_fn)(void);
void t_register(const char *name, const char *file, t_fn fn);
void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* A fresh empty directory for this test, removed afterwards; valid for the test. */
const char *t_tmpdir(void);

#define TEST(name)                                                                           \
    static void test_##name(void);                                                           \
    __attribute__((constructor)) static void reg_##name(void)                               \
    {                                                                                        \
        t_register(#name, __FILE__, test_##name);                                            \
    }                                                                                        \
    static void test_##name(void)

#define ASSERT(c)                                                                            \
    do {                                                                                     \
        if (!(c))                                                                            \
            t_fail(__FILE__, __LINE__, "assertion failed: %s", #c);                          \
    } while (0)

#define ASSERT_EQ(a, b)                                                                      \
    do {                                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                                  \
        if (a_ != b_)                                                                        \
            t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);            \
    } while (0)

#define ASSERT_NE(a, b)                                                                      \
    do {                                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                                  \
        if (a_ == b_)                                                                        \
            t_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, a_);                   \
    } while (0)

#define ASSERT_STR(a, b)                                                                     \
    do {                                                                                     \
        const char *a_ = (a), *b_ = (b);                                                     \
        if (!a_ || !b_ || strcmp(a_, b_))                                                    \
            t_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                 \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                  \
    } while (0)

#define ASSERT_NEAR(a, b, eps)                                                               \
    do {                                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                                           \
        if (fabs(a_ - b_) > (eps))                                                           \
            t_fail(__FILE__, __LINE__, "%s ~= %s: %.9g vs %.9g (eps %g)", #a, #b, a_, b_,    \
                   (double)(eps));                                                           \
    } while (0)

static inline const char *t_errmsg(const mn_err *e)
{
    return e ? e->msg : "";
}

/* rc must be MN_OK; prints the error name and message otherwise. */
#define ASSERT_OK(rc, errp)                                                                  \
    do {                                                                                     \
        int rc_ = (rc);                                                                      \
        if (rc_ != 0)                                                                        \
            t_fail(__FILE__, __LINE__, "%s returned %s: %s", #rc, mn_err_name(rc_),          \
                   t_errmsg(errp));                                                          \
    } while (0)

#endif
