/* eprof.c - embedding profiles: which embedder a tenant's memories use. The database has one
 * (opts.embedder: builtin, mock, none, or a remote provider); a JSON file (opts.embed_tenants,
 * docs/PROVIDERS.md) may give tenants their own, with their own model id, so that their
 * vectors are never compared with another model's. Profiles are fixed at open. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_int.h"

/* Version of what the engine embeds for a row (index text recipe); part of the stored model
 * id so that a change re-embeds instead of mixing vectors. Same as db.c's. */
#define EMBED_RECIPE "t1"
#define MAX_TENANTS_FILE ((size_t)1 << 20)

typedef struct eprof_own {
    mn__eprof pub;
    mn__embedder *owned; /* freed at close; NULL when shared with the database */
    char *vec_model;
} eprof_own;

int mn__vec_model_make(const mn__embedder *e, char **out)
{
    size_t n = strlen(e->model_id);
    char *s = mn__malloc(n + sizeof EMBED_RECIPE + 1);
    *out = NULL;
    if (!s)
        return MN_ENOMEM;
    memcpy(s, e->model_id, n);
    s[n] = '/';
    memcpy(s + n + 1, EMBED_RECIPE, sizeof EMBED_RECIPE);
    *out = s;
    return MN_OK;
}

mn__eprof mn__eprof_of(const mn_db *db, const char *tenant)
{
    mn__eprof pf;
    if (db->eprofs.n && tenant) {
        const eprof_own *o = mn__hmap_get(&db->eprofs, tenant, strlen(tenant));
        if (o)
            return o->pub;
    }
    pf.emb = db->emb;
    pf.vec_model = db->emb ? db->vec_model : NULL;
    return pf;
}

static bool is_remote_name(const char *w)
{
    return !strcmp(w, "openai") || !strcmp(w, "azure") || !strcmp(w, "cohere");
}

int mn__eprof_open_remote(mn_db *db, const char *which, mn__embedder **out, mn_err *err)
{
    mn__remote_cfg c;
    memset(&c, 0, sizeof c);
    c.provider = which;
    c.url = db->opts.embed_url;
    c.api_key = db->opts.embed_api_key;
    c.model = db->opts.embed_model;
    c.dim = db->opts.embed_dim;
    c.send_dim = db->opts.embed_send_dim;
    c.api_version = db->opts.embed_api_version;
    c.timeout_ms = db->opts.embed_timeout_ms;
    c.max_attempts = db->opts.embed_max_attempts;
    c.max_batch = db->opts.embed_batch;
    c.cancel = &db->closing;
    return mn__embed_remote_new(&c, out, err);
}

/* ---- the tenants file ---------------------------------------------------------------------*/

static int read_file(const char *path, char **out, size_t *out_len, mn_err *err)
{
    FILE *f = fopen(path, "rb");
    mn__buf b;
    char chunk[4096];
    size_t n;
    int rc = MN_OK;
    *out = NULL;
    if (!f)
        return mn__err_set(err, MN_EIO, "check the embed-tenants path",
                           "cannot open the tenants embedder file '%.200s'", path);
    mn__buf_init(&b, MAX_TENANTS_FILE);
    while (rc == MN_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = mn__buf_append(&b, chunk, n);
    fclose(f);
    if (rc) {
        mn__buf_release(&b);
        return mn__err_set(err, rc, NULL, "tenants embedder file '%.200s' is over 1 MiB",
                           path);
    }
    *out = mn__buf_take(&b, out_len);
    if (!*out)
        *out = mn__strdup("");
    return *out ? MN_OK : MN_ENOMEM;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jint(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
}

static int tenant_profile(mn_db *db, const char *tenant, const cJSON *o, eprof_own *pf,
                          mn_err *err)
{
    static const char *const known[] = {"embedder",  "url",         "api_key",    "api_key_env",
                                        "model",     "dim",         "send_dim",   "api_version",
                                        "timeout_ms", "max_attempts", "batch",     NULL};
    const char *which = jstr(o, "embedder"), *key_env = jstr(o, "api_key_env");
    const cJSON *it;
    mn__remote_cfg c;
    int rc, i;

    if (!cJSON_IsObject(o))
        return mn__err_set(err, MN_EINVAL, "give each tenant an object", "tenant '%.64s': "
                           "expected an object", tenant);
    cJSON_ArrayForEach(it, o)
    {
        for (i = 0; known[i] && strcmp(known[i], it->string); i++)
            ;
        if (!known[i])
            return mn__err_set(err, MN_EINVAL, "see docs/PROVIDERS.md for the fields",
                               "tenant '%.64s': unknown field '%.64s'", tenant, it->string);
    }
    if (!which)
        return mn__err_set(err, MN_EINVAL, "set \"embedder\"", "tenant '%.64s': no embedder",
                           tenant);
    if (!strcmp(which, "none")) {
        pf->pub.emb = NULL;
        return MN_OK;
    }
    if (!strcmp(which, "builtin") && db->emb && !strcmp(db->emb->name, "builtin")) {
        pf->pub = mn__eprof_of(db, NULL); /* the same model: share it */
        return MN_OK;
    }
    if (!strcmp(which, "builtin")) {
        rc = mn__embed_builtin_open(db->opts.model_path, &pf->owned, err);
    } else if (!strcmp(which, "mock")) {
        rc = mn__embed_mock_new(jint(o, "dim") ? jint(o, "dim") : 64, &pf->owned, err);
    } else if (is_remote_name(which)) {
        const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "send_dim");
        memset(&c, 0, sizeof c);
        c.provider = which;
        c.url = jstr(o, "url");
        c.api_key = jstr(o, "api_key");
        if (key_env) /* keys stay out of the file when it names a variable */
            c.api_key = getenv(key_env);
        c.model = jstr(o, "model");
        c.dim = jint(o, "dim");
        c.send_dim = cJSON_IsTrue(sd);
        c.api_version = jstr(o, "api_version");
        c.timeout_ms = jint(o, "timeout_ms");
        c.max_attempts = jint(o, "max_attempts");
        c.max_batch = jint(o, "batch");
        c.cancel = &db->closing;
        rc = mn__embed_remote_new(&c, &pf->owned, err);
    } else {
        return mn__err_set(err, MN_EINVAL, "use builtin, mock, none, openai, azure or cohere",
                           "tenant '%.64s': unknown embedder '%.32s'", tenant, which);
    }
    if (rc) {
        if (err)
            mn__err_prefix(err, "tenant '%.64s'", tenant);
        return rc;
    }
    if (mn__vec_model_make(pf->owned, &pf->vec_model))
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
    pf->pub.emb = pf->owned;
    pf->pub.vec_model = pf->vec_model;
    return MN_OK;
}

int mn__eprofs_open(mn_db *db, mn_err *err)
{
    const char *path = db->opts.embed_tenants;
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    const cJSON *it;
    int rc = MN_OK;

    mn__hmap_init(&db->eprofs);
    db->any_remote = db->emb && db->emb->remote;
    if (path && path[0]) {
        rc = read_file(path, &text, &len, err);
        if (rc)
            goto cleanup;
        root = cJSON_ParseWithLength(text, len);
        if (!cJSON_IsObject(root)) {
            rc = mn__err_set(err, MN_EINVAL, "write one object: {\"tenant\": {\"embedder\": ...}}",
                             "tenants embedder file '%.200s' is not a JSON object", path);
            goto cleanup;
        }
        cJSON_ArrayForEach(it, root)
        {
            eprof_own *pf;
            if ((rc = mn__check_id("tenant", it->string, err)) != MN_OK)
                goto cleanup;
            pf = mn__calloc(1, sizeof *pf);
            if (!pf || mn__hmap_put(&db->eprofs, it->string, strlen(it->string), pf)) {
                mn__free(pf);
                rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
                goto cleanup;
            }
            rc = tenant_profile(db, it->string, it, pf, err);
            if (rc)
                goto cleanup;
            if (pf->pub.emb && pf->pub.emb->remote)
                db->any_remote = true;
            mn__log(&db->log, MN_LOG_INFO, "tenant '%s' embeds with %s", it->string,
                    pf->pub.emb ? pf->pub.emb->model_id : "nothing (keyword only)");
        }
    }
cleanup:
    cJSON_Delete(root);
    mn__free(text);
    /* borrowed for the open only */
    db->opts.embed_url = db->opts.embed_api_key = db->opts.embed_model = NULL;
    db->opts.embed_api_version = db->opts.embed_tenants = NULL;
    return rc;
}

void mn__eprofs_close(mn_db *db)
{
    size_t i;
    for (i = 0; i < db->eprofs.cap; i++) {
        eprof_own *pf;
        if (!mn__hmap_live(&db->eprofs, i))
            continue;
        pf = db->eprofs.slots[i].val;
        if (pf->owned)
            pf->owned->destroy(pf->owned);
        mn__free(pf->vec_model);
        mn__free(pf);
    }
    mn__hmap_release(&db->eprofs);
}

int mn__embed_docs(mn_db *db, const mn__eprof *pf, const char *const *texts,
                   const size_t *lens, size_t n, float *out, mn_err *err)
{
    int64_t t0 = mn__mono_ns();
    size_t i;
    int rc = MN_OK;
    (void)db;
    if (!pf->emb)
        return mn__err_set(err, MN_ENOMODEL, NULL, "no embedder for these memories");
    if (pf->emb->embed_batch) {
        rc = pf->emb->embed_batch(pf->emb, texts, lens, n, MN__EMBED_DOCUMENT, out, err);
    } else {
        for (i = 0; i < n && rc == MN_OK; i++)
            rc = pf->emb->embed(pf->emb, texts[i], lens[i], out + i * (size_t)pf->emb->dim,
                                err);
    }
    mn__embed_account(mn__mono_ns() - t0);
    return rc;
}

int mn__embed_query_of(mn_db *db, const mn__eprof *pf, const char *text, size_t len,
                       float *out, mn_err *err)
{
    int64_t t0;
    int rc;
    if (pf->emb == db->emb)
        return mn__embed_query(db, text, len, out, err); /* cached (qcache.c) */
    if (!pf->emb)
        return mn__err_set(err, MN_ENOMODEL, NULL, "no embedder for this tenant");
    t0 = mn__mono_ns();
    rc = pf->emb->embed(pf->emb, text, len, out, err);
    mn__embed_account(mn__mono_ns() - t0);
    return rc;
}
