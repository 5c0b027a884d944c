/* utf8.c - strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, max U+10FFFF),
 * plus the id check shared by every layer. */
#include <string.h>

#include "core.h"

int mn__utf8_valid(const char *str, size_t n, size_t *out_bad_at)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp, min;
        if (c < 0x80) {
            if (c == 0)
                goto bad;
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            goto bad;
        }
        if (n - i < len)
            goto bad;
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += len;
    }
    return 1;
bad:
    if (out_bad_at)
        *out_bad_at = i;
    return 0;
}

int mn__check_id(const char *what, const char *id, mn_err *err)
{
    size_t n, i, bad;
    if (!id || !*id)
        return mn__err_set(err, MN_EINVAL, "pass a non-empty id", "%s is missing or empty",
                           what);
    n = strlen(id);
    if (n > MN_MAX_ID_BYTES)
        return mn__err_set(err, MN_ETOOBIG, "use a shorter id", "%s is %zu bytes, limit is %d",
                           what, n, MN_MAX_ID_BYTES);
    if (!mn__utf8_valid(id, n, &bad))
        return mn__err_set(err, MN_EUTF8, "send ids as UTF-8",
                           "%s is not valid UTF-8 (bad byte at offset %zu)", what, bad);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x20 || c == 0x7F)
            return mn__err_set(err, MN_EINVAL, "remove control characters from the id",
                               "%s contains a control character at offset %zu", what, i);
    }
    return MN_OK;
}
