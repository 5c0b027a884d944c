/* http_openai.c - the OpenAI-compatible /v1/embeddings shape, spoken by OpenAI, Azure OpenAI
 * (api-key header, api-version query), Ollama, vLLM, the llama.cpp server and Hugging Face
 * TEI: {"model","input":[...]} in, {"data":[{"index","embedding":[...]}]} out. */
#include <cjson/cJSON.h>
#include <string.h>

#include "embed_int.h"

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

static int oa_endpoint(const mn__remote *r, const char *base, mn__buf *out)
{
    size_t n = strlen(base);
    int rc;
    while (n && base[n - 1] == '/')
        n--;
    rc = mn__buf_append(out, base, n);
    if (!rc && !ends_with(base, n, "/embeddings"))
        rc = mn__buf_puts(out, "/embeddings");
    if (!rc && r->azure)
        rc = mn__buf_printf(out, "%sapi-version=%s", strchr(out->data, '?') ? "&" : "?",
                            r->api_version);
    return rc;
}

static int oa_body(const mn__remote *r, const char *const *texts, const size_t *lens, size_t n,
                   int use, mn__buf *out)
{
    size_t i;
    int rc = mn__buf_puts(out, "{\"model\":");
    (void)use; /* the OpenAI shape embeds queries and documents alike */
    if (!rc)
        rc = mn__buf_json_str(out, r->model, strlen(r->model));
    if (!rc)
        rc = mn__buf_puts(out, ",\"input\":[");
    for (i = 0; !rc && i < n; i++) {
        if (i)
            rc = mn__buf_putc(out, ',');
        if (!rc)
            rc = mn__buf_json_str(out, texts[i], lens[i]);
    }
    if (!rc)
        rc = mn__buf_putc(out, ']');
    if (!rc && r->send_dim)
        rc = mn__buf_printf(out, ",\"dimensions\":%d", r->base.dim);
    if (!rc)
        rc = mn__buf_putc(out, '}');
    return rc;
}

int mn__embed_parse_openai(const char *body, size_t len, size_t n, int dim, float *out,
                           mn_err *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *data, *it;
    uint8_t *seen = NULL;
    size_t pos = 0;
    int rc = MN_OK;
    if (!root)
        return mn__embed_bad_reply(err, body, len, "not JSON");
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        rc = mn__embed_bad_reply(err, body, len, "no \"data\" array");
        goto cleanup;
    }
    if ((size_t)cJSON_GetArraySize(data) != n) {
        rc = mn__err_set(err, MN_EPROVIDER, "check the provider's batch limits",
                         "provider reply rejected: %d embeddings for %zu inputs",
                         cJSON_GetArraySize(data), n);
        goto cleanup;
    }
    seen = mn__calloc(n ? n : 1, 1);
    if (!seen) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading embeddings");
        goto cleanup;
    }
    cJSON_ArrayForEach(it, data)
    {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(it, "index");
        size_t at = pos;
        if (idx) {
            /* replies may come in any order: "index" says which input each one is */
            if (!cJSON_IsNumber(idx) || idx->valuedouble < 0 || idx->valuedouble >= (double)n ||
                idx->valuedouble != (double)(size_t)idx->valuedouble) {
                rc = mn__err_set(err, MN_EPROVIDER, "check the provider",
                                 "provider reply rejected: item %zu has a bad \"index\"", pos);
                goto cleanup;
            }
            at = (size_t)idx->valuedouble;
        }
        if (seen[at]) {
            rc = mn__err_set(err, MN_EPROVIDER, "check the provider",
                             "provider reply rejected: two embeddings for input %zu", at);
            goto cleanup;
        }
        seen[at] = 1;
        rc = mn__embed_read_vec(cJSON_GetObjectItemCaseSensitive(it, "embedding"), dim, at,
                                out + at * (size_t)dim, err);
        if (rc)
            goto cleanup;
        pos++;
    }
cleanup:
    mn__free(seen);
    cJSON_Delete(root);
    return rc;
}

const mn__rprov mn__rprov_openai = {
    "openai", "https://api.openai.com/v1", oa_endpoint, oa_body, mn__embed_parse_openai,
};
