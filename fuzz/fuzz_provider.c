/* fuzz_provider.c - target provider: replies of remote providers, which come from outside
 * the process like any request. Byte 0 picks the parser, bytes 1-2 what was asked for:
 *   0  an OpenAI-compatible /embeddings reply for n texts of dim floats,
 *   1  a Cohere /v2/embed reply, the same,
 *   2  a /chat/completions reply whose content must match a JSON Schema (the LLM client),
 *   3  the JSON Schema checker itself: a schema and a value, separated by a NUL byte.
 * Accepted vectors are finite and of unit length; nothing may leak. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../src/core/core.h"
#include "../src/embed/embed.h"
#include "../src/llm/llm.h"
#include "fuzz.h"

static const char reply_schema[] =
    "{\"type\":\"object\",\"required\":[\"facts\"],\"additionalProperties\":false,"
    "\"properties\":{\"facts\":{\"type\":\"array\",\"maxItems\":20,\"items\":{"
    "\"type\":\"object\",\"required\":[\"subject\",\"text\"],\"properties\":{"
    "\"subject\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
    "\"text\":{\"type\":\"string\"},\"kind\":{\"enum\":[\"fact\",\"preference\"]},"
    "\"confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
    "\"tags\":{\"type\":[\"array\",\"null\"],\"items\":{\"type\":\"string\"}}}}}}}";

static void embeddings(int cohere, const uint8_t *data, size_t size, size_t n, int dim)
{
    float out[4 * 8];
    mn_err err;
    size_t i;
    int j, rc;
    rc = cohere ? mn__embed_parse_cohere((const char *)data, size, n, dim, out, &err)
                : mn__embed_parse_openai((const char *)data, size, n, dim, out, &err);
    if (rc != MN_OK) {
        if (rc != MN_EPROVIDER && rc != MN_ENOMEM)
            fz_fail("embedding reply: unexpected %s: %s", mn_err_name(rc), err.msg);
        return;
    }
    for (i = 0; i < n; i++) {
        double norm = 0;
        for (j = 0; j < dim; j++) {
            float v = out[i * (size_t)dim + (size_t)j];
            if (!isfinite(v))
                fz_fail("embedding reply accepted a non-finite value");
            norm += (double)v * v;
        }
        if (norm != 0 && fabs(sqrt(norm) - 1) > 1e-3)
            fz_fail("embedding reply accepted, vector %zu has length %g", i, sqrt(norm));
    }
}

static cJSON *schema; /* reply_schema, parsed once */

static void chat_reply(const uint8_t *data, size_t size)
{
    cJSON *out = NULL;
    mn_err err;
    int rc;
    rc = mn__llm_parse_reply((const char *)data, size, schema, &out, &err);
    if (rc == MN_OK) {
        if (!out || mn__jschema_check(schema, out, NULL) != MN_OK)
            fz_fail("chat reply accepted content that does not match the schema");
    } else if (rc != MN_EPROVIDER && rc != MN_EPARSE && rc != MN_ENOMEM) {
        fz_fail("chat reply: unexpected %s: %s", mn_err_name(rc), err.msg);
    }
    cJSON_Delete(out);
}

static void schema_check(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t ls = nul ? (size_t)(nul - data) : size;
    cJSON *sch = cJSON_ParseWithLength((const char *)data, ls);
    cJSON *value = nul ? cJSON_ParseWithLength((const char *)nul + 1, size - ls - 1) : NULL;
    mn_err err;
    if (sch && value) {
        int rc = mn__jschema_check(sch, value, &err);
        if (rc != MN_OK && rc != MN_EINVAL && rc != MN_EPARSE && rc != MN_ENOMEM)
            fz_fail("schema check: unexpected %s: %s", mn_err_name(rc), err.msg);
    }
    cJSON_Delete(sch);
    cJSON_Delete(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t before;
    size_t n;
    int dim;
    if (size < 3)
        return 0;
    fz_db("provider", "mock"); /* sets the allocator hooks of cJSON, as a server would */
    if (!schema && !(schema = cJSON_Parse(reply_schema)))
        fz_fail("the test schema does not parse");
    before = fz_live_bytes();
    n = data[1] % 4 + 1;
    dim = data[2] % 8 + 1;
    switch (data[0] % 4) {
    case 0:
    case 1:
        embeddings(data[0] % 4, data + 3, size - 3, n, dim);
        break;
    case 2:
        chat_reply(data + 3, size - 3);
        break;
    default:
        schema_check(data + 3, size - 3);
        break;
    }
    FZ_NO_LEAK(before);
    return 0;
}
