/* fuzz_json.c - target json: the JSON the library decodes itself. Byte 0 picks the decoder:
 *   0  NDJSON import (mn_import: every line validated before anything is stored),
 *   1  metadata (mn__metadata_normalize: size, UTF-8, object, depth, compact form); a
 *      normalised object must normalise to itself again,
 *   2  times (mn_time_parse, as created_at/since/until arrive); a parsed time must format
 *      and parse back to the same instant,
 *   3  a JSON request body through the server's input layer (POST /v1/users/u/messages).
 * The rest of the input is the text. Decoders 0-2 may not leak: live bytes are compared. */
#include <string.h>

#include "../src/memory/memory_int.h"
#include "fuzz.h"
#include "hstub.h"

/* The input as a C string (cut at a NUL byte, as a C caller would pass it). */
static char *cstr(const uint8_t *data, size_t size)
{
    char *s = mn__malloc(size + 1);
    if (!s)
        fz_fail("out of memory");
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static void metadata(mn_db *db, const uint8_t *data, size_t size)
{
    char *in = cstr(data, size), *out = NULL, *again = NULL;
    int rc = mn__metadata_normalize(db, in, &out, NULL);
    if (rc == MN_OK && out) {
        if (mn__metadata_normalize(db, out, &again, NULL) != MN_OK || !again ||
            strcmp(out, again))
            fz_fail("metadata '%.200s' normalises to '%.200s', then to '%.200s'", in, out,
                    again ? again : "(error)");
    } else if (rc != MN_OK && rc != MN_ETOOBIG && rc != MN_EUTF8 && rc != MN_EPARSE &&
               rc != MN_EINVAL) {
        fz_fail("metadata: unexpected error %s", mn_err_name(rc));
    }
    mn__free(again);
    mn__free(out);
    mn__free(in);
}

static void times(const uint8_t *data, size_t size)
{
    char *in = cstr(data, size), out[32];
    int64_t ms = 0, back = 0;
    if (mn_time_parse(in, &ms) == MN_OK && ms >= 0 && ms < 253402300800000LL) {
        mn_time_format(ms, out);
        if (mn_time_parse(out, &back) != MN_OK || back != ms)
            fz_fail("time '%.100s' parses to %lld, formats as '%s', parses back to %lld", in,
                    (long long)ms, out, (long long)back);
    }
    mn__free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_db *db = fz_db("json", "mock");
    mn_import_stats st;
    mn_err err;
    fz_reply rep;
    int64_t before;
    int rc;
    if (size < 1)
        return 0;
    fz_server(); /* created once, before the leak baseline */
    before = fz_live_bytes();
    switch (data[0] % 4) {
    case 0:
        /* The store keeps scratch buffers that grow to the largest batch seen: import
         * once to warm them, then count the bytes across a second identical import. */
        mn_import(db, "fz", (const char *)data + 1, size - 1, &st, &err);
        before = fz_live_bytes();
        rc = mn_import(db, "fz", (const char *)data + 1, size - 1, &st, &err);
        if (rc == MN_OK && st.n_added > st.n_lines)
            fz_fail("import added %lld memories from %lld lines", (long long)st.n_added,
                    (long long)st.n_lines);
        if (rc == MN_EINTERNAL || rc == MN_ECORRUPT)
            fz_fail("import: %s: %s", mn_err_name(rc), err.msg);
        break;
    case 1:
        metadata(db, data + 1, size - 1);
        break;
    case 2:
        times(data + 1, size - 1);
        break;
    default:
        /* Not leak-checked here: the server's caches (embedder scratch, partitions) grow
         * on first use; LeakSanitizer checks it at exit. */
        fz_request("POST", "/v1/users/u/messages", "application/json", NULL, "", data + 1,
                   size - 1, &rep);
        return 0;
    }
    FZ_NO_LEAK(before);
    return 0;
}
