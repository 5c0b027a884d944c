/* remote.c - embedders behind an HTTP API (OpenAI-compatible, Azure, Cohere): settings,
 * splitting work into requests of at most max_batch texts, sending them with retries, and
 * checking every reply before a single float of it is used. The provider-specific request
 * and reply shapes live in http_openai.c and http_cohere.c. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "embed_int.h"

#define DEFAULT_BATCH 64
#define MAX_BATCH 2048
#define MAX_DIM 16384
#define QUERY_TIMEOUT_MS 2000
#define MAX_REPLY_PER_TEXT ((size_t)256 << 10) /* a 16k-d vector in JSON is ~200 KB */

int mn__embed_bad_reply(mn_err *err, const char *body, size_t len, const char *why)
{
    char start[121];
    size_t i, n = len < sizeof start - 1 ? len : sizeof start - 1;
    for (i = 0; i < n; i++)
        start[i] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
    start[n] = '\0';
    return mn__err_set(err, MN_EPROVIDER,
                       "check that the URL is the provider's embeddings endpoint and the model "
                       "and dimension settings are right",
                       "provider reply rejected: %s; reply starts: '%s'", why, start);
}

int mn__embed_read_vec(const cJSON *arr, int dim, size_t item, float *out, mn_err *err)
{
    const cJSON *x;
    double norm = 0;
    int n = 0, j;
    if (!cJSON_IsArray(arr))
        return mn__err_set(err, MN_EPROVIDER, "check the provider settings",
                           "provider reply rejected: embedding %zu is not an array", item);
    n = cJSON_GetArraySize(arr);
    if (n != dim)
        return mn__err_set(err, MN_EPROVIDER,
                           "set the embedding dimension to the model's (embed-dim)",
                           "provider reply rejected: embedding %zu has %d dimensions, "
                           "expected %d",
                           item, n, dim);
    j = 0;
    cJSON_ArrayForEach(x, arr)
    {
        double v;
        if (!cJSON_IsNumber(x))
            return mn__err_set(err, MN_EPROVIDER, "check the provider settings",
                               "provider reply rejected: embedding %zu has a non-number at "
                               "position %d",
                               item, j);
        v = x->valuedouble;
        if (!isfinite(v) || fabs(v) > 1e30)
            return mn__err_set(err, MN_EPROVIDER, "check the provider",
                               "provider reply rejected: embedding %zu has a non-finite value "
                               "at position %d",
                               item, j);
        out[j++] = (float)v;
        norm += v * v;
    }
    if (norm > 0) {
        double inv = 1.0 / sqrt(norm);
        for (j = 0; j < dim; j++)
            out[j] = (float)(out[j] * inv);
    }
    return MN_OK;
}

/* One request for texts[0..n). */
static int send_chunk(mn__remote *r, const char *const *texts, const size_t *lens, size_t n,
                      int use, float *out, mn_err *err)
{
    mn__buf body;
    mn__http_req req;
    mn__http_reply rep;
    int rc;

    mn__buf_init(&body, 0);
    mn__http_reply_init(&rep);
    rc = r->prov->body(r, texts, lens, n, use, &body);
    if (rc) {
        rc = mn__err_set(err, rc, NULL, "%s: cannot build the request (%zu texts)", r->what, n);
        goto cleanup;
    }
    memset(&req, 0, sizeof req);
    req.url = r->endpoint;
    req.headers = r->headers;
    req.body = body.data;
    req.body_len = body.len;
    req.timeout_ms = use == MN__EMBED_QUERY ? r->query_timeout_ms : r->timeout_ms;
    req.connect_timeout_ms = r->connect_timeout_ms;
    req.max_reply_bytes = n * MAX_REPLY_PER_TEXT + 65536;
    req.what = r->what;
    req.cancel = r->cancel;
    rc = mn__http_send_retry(&req, use == MN__EMBED_QUERY ? &r->query_retry : &r->retry, &rep,
                             err);
    if (rc == MN_OK) {
        rc = r->prov->parse(rep.body.data ? rep.body.data : "", rep.body.len, n, r->base.dim,
                            out, err);
        if (rc && err)
            mn__err_prefix(err, "%s", r->what);
    }
cleanup:
    mn__http_reply_release(&rep);
    mn__buf_release(&body);
    return rc;
}

static int remote_batch(mn__embedder *e, const char *const *texts, const size_t *lens,
                        size_t n, int use, float *out, mn_err *err)
{
    mn__remote *r = (mn__remote *)e;
    size_t i, m;
    int rc;
    for (i = 0; i < n; i += m) {
        m = n - i < (size_t)r->max_batch ? n - i : (size_t)r->max_batch;
        rc = send_chunk(r, texts + i, lens + i, m, use, out + i * (size_t)e->dim, err);
        if (rc)
            return rc;
    }
    return MN_OK;
}

static int remote_embed(mn__embedder *e, const char *text, size_t len, float *out, mn_err *err)
{
    return remote_batch(e, &text, &len, 1, MN__EMBED_QUERY, out, err);
}

static void remote_free(mn__embedder *e)
{
    mn__remote *r = (mn__remote *)e;
    if (!r)
        return;
    mn__free(r->model);
    mn__free(r->endpoint);
    mn__free(r->api_version);
    mn__free(r->auth_header);
    mn__free(r);
}

static int bad_cfg(mn_err *err, const char *hint, const char *msg)
{
    return mn__err_set(err, MN_EINVAL, hint, "remote embedder: %s", msg);
}

int mn__embed_remote_new(const mn__remote_cfg *cfg, mn__embedder **out, mn_err *err)
{
    mn__remote *r;
    const char *prov = cfg->provider ? cfg->provider : "";
    const char *key = cfg->api_key && cfg->api_key[0] ? cfg->api_key : NULL;
    mn__buf ep, auth;
    int rc = MN_ENOMEM;

    *out = NULL;
    if (!cfg->model || !cfg->model[0])
        return bad_cfg(err, "set embed-model, e.g. text-embedding-3-small", "no model name");
    if (cfg->dim < 1 || cfg->dim > MAX_DIM)
        return bad_cfg(err, "set embed-dim to the model's dimension, e.g. 1536",
                       "the dimension is missing or out of 1..16384");
    if (cfg->max_batch < 0 || cfg->max_batch > MAX_BATCH)
        return bad_cfg(err, "use a batch size of 1..2048", "batch size out of range");
    r = mn__calloc(1, sizeof *r);
    if (!r)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory for the remote embedder");
    if (!strcmp(prov, "openai") || !strcmp(prov, "azure")) {
        r->prov = &mn__rprov_openai;
        r->azure = !strcmp(prov, "azure") || (cfg->api_version && cfg->api_version[0]);
    } else if (!strcmp(prov, "cohere")) {
        r->prov = &mn__rprov_cohere;
    } else {
        mn__free(r);
        return mn__err_set(err, MN_EINVAL, "use openai, azure or cohere",
                           "unknown embedding provider '%.32s'", prov);
    }
    if (r->azure && (!cfg->url || !cfg->url[0])) {
        mn__free(r);
        return bad_cfg(err, "set embed-url to https://<resource>.openai.azure.com/openai/"
                            "deployments/<deployment>",
                       "Azure needs the deployment URL");
    }
    mn__buf_init(&ep, 4096);
    mn__buf_init(&auth, 4096);
    r->model = mn__strdup(cfg->model);
    r->api_version = r->azure ? mn__strdup(cfg->api_version && cfg->api_version[0]
                                               ? cfg->api_version
                                               : "2024-02-01")
                              : NULL;
    if (!r->model || (r->azure && !r->api_version))
        goto fail;
    rc = r->prov->endpoint(r, cfg->url && cfg->url[0] ? cfg->url : r->prov->default_url, &ep);
    if (rc)
        goto fail;
    r->endpoint = mn__buf_take(&ep, NULL);
    if (key) {
        rc = r->azure ? mn__buf_printf(&auth, "api-key: %s", key)
                      : mn__buf_printf(&auth, "Authorization: Bearer %s", key);
        if (rc)
            goto fail;
        r->auth_header = mn__buf_take(&auth, NULL);
    }
    r->headers[0] = "Content-Type: application/json";
    r->headers[1] = "Accept: application/json";
    r->headers[2] = r->auth_header;
    r->headers[3] = NULL;
    r->send_dim = cfg->send_dim;
    r->timeout_ms = cfg->timeout_ms;
    r->connect_timeout_ms = cfg->connect_timeout_ms;
    r->max_batch = cfg->max_batch ? cfg->max_batch : DEFAULT_BATCH;
    r->retry.max_attempts = cfg->max_attempts;
    r->retry.max_total_ms = cfg->max_total_ms;
    /* a search falls back to keywords when its query is not embedded within ~2 s */
    r->query_timeout_ms = MN_MIN(r->timeout_ms > 0 ? r->timeout_ms : 30000, QUERY_TIMEOUT_MS);
    r->query_retry.max_attempts = 2;
    r->query_retry.base_ms = 100;
    r->query_retry.max_total_ms = QUERY_TIMEOUT_MS;
    r->cancel = cfg->cancel;
    /* the vectors' identity: provider family, model and dimension (not the URL: the same
     * model served elsewhere gives the same vectors) */
    snprintf(r->model_id, sizeof r->model_id, "%s:%.100s:%d",
             r->prov == &mn__rprov_cohere ? "cohere" : "openai", cfg->model, cfg->dim);
    snprintf(r->what, sizeof r->what, "embedder '%s' (model %.100s)", prov, cfg->model);
    r->base.name = r->prov->name;
    r->base.model_id = r->model_id;
    r->base.dim = cfg->dim;
    r->base.embed = remote_embed;
    r->base.embed_batch = remote_batch;
    r->base.destroy = remote_free;
    r->base.remote = true;
    *out = &r->base;
    return MN_OK;
fail:
    mn__buf_release(&ep);
    mn__buf_release(&auth);
    remote_free(&r->base);
    if (rc == MN_ETOOBIG)
        return bad_cfg(err, "shorten the URL or key", "URL or API key over 4 KiB");
    return mn__err_set(err, MN_ENOMEM, NULL, "out of memory for the remote embedder");
}
