/* buf.c - growable byte buffer with a hard maximum. */
#include <stdio.h>
#include <string.h>

#include "core.h"

void mn__buf_init(mn__buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
}

void mn__buf_release(mn__buf *b)
{
    mn__free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int mn__buf_reserve(mn__buf *b, size_t extra)
{
    size_t need, ncap;
    char *nd;
    if (extra > b->max || b->len > b->max - extra)
        return MN_ETOOBIG;
    need = b->len + extra + 1; /* room for the terminator */
    if (need <= b->cap)
        return MN_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap *= 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    nd = mn__realloc(b->data, ncap);
    if (!nd)
        return MN_ENOMEM;
    b->data = nd;
    b->cap = ncap;
    return MN_OK;
}

int mn__buf_append(mn__buf *b, const void *p, size_t n)
{
    int rc = mn__buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MN_OK;
}

int mn__buf_puts(mn__buf *b, const char *s)
{
    return mn__buf_append(b, s, strlen(s));
}

int mn__buf_putc(mn__buf *b, char c)
{
    return mn__buf_append(b, &c, 1);
}

int mn__buf_vprintf(mn__buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, rc;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return MN_EINVAL;
    rc = mn__buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return MN_OK;
}

int mn__buf_printf(mn__buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = mn__buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int mn__buf_json_str(mn__buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, start = 0, old = b->len;
    int rc = mn__buf_putc(b, '"');
    for (i = 0; !rc && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t elen = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            elen = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if (elen) {
            rc = mn__buf_append(b, s + start, i - start);
            if (!rc)
                rc = mn__buf_append(b, esc, elen);
            start = i + 1;
        }
    }
    if (!rc)
        rc = mn__buf_append(b, s + start, n - start);
    if (!rc)
        rc = mn__buf_putc(b, '"');
    if (rc) {
        b->len = old;
        if (b->data)
            b->data[old] = '\0';
    }
    return rc;
}

char *mn__buf_take(mn__buf *b, size_t *out_len)
{
    char *d = b->data;
    if (out_len)
        *out_len = b->len;
    if (!d)
        d = mn__strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
