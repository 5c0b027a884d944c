/* log.c - library logging goes through the host's callback; the library never prints. */
#include <stdio.h>

#include "core.h"

void mn__log(const mn__logger *lg, mn_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!lg || !lg->fn || level < lg->level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lg->fn(lg->ctx, level, msg);
}
