/* h_embeddings.c - POST /v1/embeddings, OpenAI-compatible: input is a string or an array of
 * strings, the reply is {"object":"list","data":[{"embedding":[...]}],...} with floats or,
 * when encoding_format is "base64" (what OpenAI's own clients ask for), little-endian
 * float32 bytes in base64. The server's embedder answers whatever model is named. */
#include <string.h>

#include "http_int.h"

static int put_base64(mn__buf *b, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    int rc = mn__buf_reserve(b, (n + 2) / 3 * 4 + 2);
    for (i = 0; !rc && i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        rc = mn__buf_append(b, q, 4);
    }
    return rc;
}

static int64_t count_words(const char *s)
{
    int64_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool space = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        if (!space && !in)
            n++;
        in = !space;
    }
    return n;
}

int mn__h_embeddings(mn__hreq *rq)
{
    static const char *const fields[] = {"input", "model", "encoding_format", "user",
                                         "dimensions", NULL};
    const cJSON *input, *it;
    const char *fmt = NULL, *model = NULL, *user = NULL;
    long long dims = 0;
    int dim = rq->srv->info.dim;
    float *vec = NULL;
    mn__buf b;
    size_t n, i;
    int64_t tokens = 0;
    bool b64;
    mn_err err;
    int rc;

    mn__buf_init(&b, 0);
    if (!cJSON_IsObject(rq->json))
        return mn__reply_error(rq, MN__H_EFIELD, "send a JSON object",
                               "request body must be a JSON object");
    if ((rc = mn__json_fields(rq, rq->json, "body", fields)) ||
        (rc = mn__json_str(rq, rq->json, "encoding_format", false, &fmt)) ||
        (rc = mn__json_str(rq, rq->json, "model", false, &model)) ||
        (rc = mn__json_str(rq, rq->json, "user", false, &user)) ||
        (rc = mn__json_int(rq, rq->json, "dimensions", 1, 65536, &dims)))
        return rc;
    if (fmt && strcmp(fmt, "float") && strcmp(fmt, "base64"))
        return mn__reply_error(rq, MN__H_EFIELD, "use float or base64",
                               "field 'encoding_format' is '%.32s'", fmt);
    b64 = fmt && !strcmp(fmt, "base64");
    if (!dim)
        return mn__reply_error(rq, MN_ENOMODEL, "run scripts/setup to build the model file",
                               "no embedding model: %s", rq->srv->info.vector_note);
    if (dims && dims != dim)
        return mn__reply_error(rq, MN_EDIM, "omit 'dimensions' or ask for the model's size",
                               "this model makes %d dimensions, %lld were asked", dim, dims);
    input = cJSON_GetObjectItemCaseSensitive(rq->json, "input");
    if (!input)
        return mn__reply_error(rq, MN__H_EFIELD, "send the text to embed as 'input'",
                               "field 'input' is required");
    if (cJSON_IsString(input)) {
        n = 1;
    } else if (cJSON_IsArray(input)) {
        n = (size_t)cJSON_GetArraySize(input);
        if (n == 0)
            return mn__reply_error(rq, MN__H_EFIELD, "send at least one text",
                                   "field 'input' is an empty array");
        if ((long long)n > rq->srv->cfg.max_batch)
            return mn__reply_error(rq, MN_ETOOBIG, "split the inputs or raise max-batch",
                                   "%zu inputs in one request, limit is %lld (max-batch)", n,
                                   rq->srv->cfg.max_batch);
        for (it = input->child; it; it = it->next)
            if (!cJSON_IsString(it))
                return mn__reply_error(rq, MN__H_EFIELD, "send texts, not token ids",
                                       "field 'input' must be a string or an array of "
                                       "strings");
    } else {
        return mn__reply_error(rq, MN__H_EFIELD, NULL,
                               "field 'input' must be a string or an array of strings");
    }
    vec = mn__malloc((size_t)dim * sizeof *vec);
    if (!vec)
        return mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory");
    rc = mn__buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (i = 0, it = cJSON_IsString(input) ? input : input->child; !rc && it;
         it = cJSON_IsString(input) ? NULL : it->next, i++) {
        const char *text = it->valuestring;
        int j;
        rc = mn_embed(rq->srv->db, text, strlen(text), vec, dim, &err);
        if (rc) {
            if (n > 1)
                mn__err_prefix(&err, "input[%zu]", i);
            mn__reply_err(rq, rc, &err);
            goto cleanup;
        }
        tokens += count_words(text);
        rc = mn__buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":",
                            i ? "," : "", i);
        if (!rc && b64) {
            rc = mn__buf_putc(&b, '"');
            /* float32 little-endian: the layout on every host this builds for. */
            if (!rc)
                rc = put_base64(&b, (const uint8_t *)vec, (size_t)dim * sizeof *vec);
            if (!rc)
                rc = mn__buf_putc(&b, '"');
        } else if (!rc) {
            rc = mn__buf_putc(&b, '[');
            for (j = 0; !rc && j < dim; j++)
                rc = mn__buf_printf(&b, j ? ",%.7g" : "%.7g", (double)vec[j]);
            if (!rc)
                rc = mn__buf_putc(&b, ']');
        }
        if (!rc)
            rc = mn__buf_putc(&b, '}');
    }
    if (!rc)
        rc = mn__buf_puts(&b, "],\"model\":");
    if (!rc)
        rc = mn__buf_json_str(&b, rq->srv->info.model_id, strlen(rq->srv->info.model_id));
    if (!rc)
        rc = mn__buf_printf(&b, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}\n",
                            (long long)tokens, (long long)tokens);
    if (rc || mn__reply_buf(rq, 200, &b, NULL))
        rc = mn__reply_error(rq, MN_ENOMEM, NULL, "out of memory writing the reply");
cleanup:
    mn__free(vec);
    mn__buf_release(&b);
    return rc;
}
