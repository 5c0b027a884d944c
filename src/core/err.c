/* err.c - error codes, their names and texts (generated from MN_ERRNO_MAP), and the
 * helpers that fill an mn_err. */
#include <stdio.h>
#include <string.h>

#include "core.h"

const char *mn_strerror(int code)
{
    switch (code) {
    case MN_OK:
        return "ok";
#define X(name, num, desc)                                                                   \
    case MN_##name:                                                                          \
        return desc;
        MN_ERRNO_MAP(X)
#undef X
    default:
        return "unknown error";
    }
}

const char *mn_err_name(int code)
{
    switch (code) {
    case MN_OK:
        return "OK";
#define X(name, num, desc)                                                                   \
    case MN_##name:                                                                          \
        return #name;
        MN_ERRNO_MAP(X)
#undef X
    default:
        return "EUNKNOWN";
    }
}

const char *mn_version(void)
{
    return MN_VERSION;
}

int mn__err_set(mn_err *err, int code, const char *hint, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    snprintf(err->hint, sizeof err->hint, "%s", hint ? hint : "");
    return code;
}

void mn__err_clear(mn_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
    err->hint[0] = '\0';
}

void mn__err_prefix(mn_err *err, const char *fmt, ...)
{
    char pre[128], old[sizeof err->msg], both[sizeof pre + sizeof old + 4];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(both, sizeof both, "%s: %s", pre, old);
    memcpy(err->msg, both, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = '\0';
}
