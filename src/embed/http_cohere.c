/* http_cohere.c - Cohere's /v2/embed: {"model","texts","input_type","embedding_types":
 * ["float"]} in, {"embeddings":{"float":[[...]]}} out. Memories are embedded as
 * search_document and questions as search_query, as Cohere's retrieval models expect. */
#include <cjson/cJSON.h>
#include <string.h>

#include "embed_int.h"

static int co_endpoint(const mn__remote *r, const char *base, mn__buf *out)
{
    size_t n = strlen(base);
    int rc;
    (void)r;
    while (n && base[n - 1] == '/')
        n--;
    rc = mn__buf_append(out, base, n);
    if (rc || (n >= 6 && !memcmp(base + n - 6, "/embed", 6)))
        return rc;
    return mn__buf_puts(out, n >= 3 && !memcmp(base + n - 3, "/v2", 3) ? "/embed" : "/v2/embed");
}

static int co_body(const mn__remote *r, const char *const *texts, const size_t *lens, size_t n,
                   int use, mn__buf *out)
{
    size_t i;
    int rc = mn__buf_puts(out, "{\"model\":");
    if (!rc)
        rc = mn__buf_json_str(out, r->model, strlen(r->model));
    if (!rc)
        rc = mn__buf_printf(out, ",\"input_type\":\"%s\",\"embedding_types\":[\"float\"],"
                                 "\"truncate\":\"END\",\"texts\":[",
                            use == MN__EMBED_DOCUMENT ? "search_document" : "search_query");
    for (i = 0; !rc && i < n; i++) {
        if (i)
            rc = mn__buf_putc(out, ',');
        if (!rc)
            rc = mn__buf_json_str(out, texts[i], lens[i]);
    }
    if (!rc)
        rc = mn__buf_putc(out, ']');
    if (!rc && r->send_dim)
        rc = mn__buf_printf(out, ",\"output_dimension\":%d", r->base.dim);
    if (!rc)
        rc = mn__buf_putc(out, '}');
    return rc;
}

int mn__embed_parse_cohere(const char *body, size_t len, size_t n, int dim, float *out,
                           mn_err *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *emb, *fl, *it;
    size_t i = 0;
    int rc = MN_OK;
    if (!root)
        return mn__embed_bad_reply(err, body, len, "not JSON");
    emb = cJSON_GetObjectItemCaseSensitive(root, "embeddings");
    fl = cJSON_IsObject(emb) ? cJSON_GetObjectItemCaseSensitive(emb, "float") : NULL;
    if (!cJSON_IsArray(fl)) {
        rc = mn__embed_bad_reply(err, body, len, "no \"embeddings\".\"float\" array");
        goto cleanup;
    }
    if ((size_t)cJSON_GetArraySize(fl) != n) {
        rc = mn__err_set(err, MN_EPROVIDER, "check the provider's batch limits",
                         "provider reply rejected: %d embeddings for %zu inputs",
                         cJSON_GetArraySize(fl), n);
        goto cleanup;
    }
    cJSON_ArrayForEach(it, fl)
    {
        rc = mn__embed_read_vec(it, dim, i, out + i * (size_t)dim, err);
        if (rc)
            goto cleanup;
        i++;
    }
cleanup:
    cJSON_Delete(root);
    return rc;
}

const mn__rprov mn__rprov_cohere = {
    "cohere", "https://api.cohere.com", co_endpoint, co_body, mn__embed_parse_cohere,
};
