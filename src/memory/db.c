/* db.c - opening and closing a database: options, the store, the embedder, the caches. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../context/context.h"
#include "../index/index.h"
#include "memory_int.h"

#define DEFAULT_PATH "mnemo-data/mnemo.db"
/* Version of what the engine embeds for a row (index text recipe); part of the stored
 * model id so that a change re-embeds instead of mixing vectors. */
#define EMBED_RECIPE "t1"

void mn_db_opts_init(mn_db_opts *o)
{
    memset(o, 0, sizeof *o);
    o->log_level = MN_LOG_INFO;
}

void mn_memory_in_init(mn_memory_in *m)
{
    memset(m, 0, sizeof *m);
    m->scope = MN_SCOPE_USER;
    m->kind = MN_KIND_MESSAGE;
    m->status = MN_STATUS_ACTIVE;
}

void mn_filter_init(mn_filter *f)
{
    memset(f, 0, sizeof *f);
    f->scope = MN_SCOPE_USER;
}

void mn_search_opts_init(mn_search_opts *o)
{
    memset(o, 0, sizeof *o);
    mn_filter_init(&o->filter);
    o->k = 10;
    o->mode = MN_MODE_DEFAULT;
}

static void rank_defaults(mn__rank_cfg *r)
{
    r->bm25_k1 = 1.2f;
    r->bm25_b = 0.5f;
    r->idf_pow = 1.5f;
    r->w_keyword = 0.5f;
    r->min_vec = 0.2f;
    r->index_speaker = true;
    r->index_date = true;
    r->neighbor = 0.5f;
    r->w_session = 0.15f;
    r->w_role = 1.5f;
    r->w_speaker = 0.3f;
    r->w_time = 0.2f;
}

/* MNEMO_RANK="w_keyword=0.4,min_vec=0.25,..." overrides ranking parameters: for
 * measuring variants with bench/retrieval without rebuilding (docs/RETRIEVAL.md). */
static void rank_from_env(mn__rank_cfg *r, mn__embed_tunables *tun, const mn__logger *log)
{
    const char *env = getenv("MNEMO_RANK");
    char buf[512], *p, *save = NULL;
    if (!env || strlen(env) >= sizeof buf)
        return;
    memcpy(buf, env, strlen(env) + 1);
    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');
        float v;
        if (!eq)
            continue;
        *eq = '\0';
        v = strtof(eq + 1, NULL);
        if (!strcmp(p, "k1"))
            r->bm25_k1 = v;
        else if (!strcmp(p, "b"))
            r->bm25_b = v;
        else if (!strcmp(p, "idf_pow") && !(v > 0.0f && v <= 8.0f))
            mn__log(log, MN_LOG_WARN, "MNEMO_RANK: idf_pow must be in (0, 8], kept %g",
                    (double)r->idf_pow);
        else if (!strcmp(p, "idf_pow"))
            r->idf_pow = v;
        else if (!strcmp(p, "w_keyword"))
            r->w_keyword = v;
        else if (!strcmp(p, "rrf_c"))
            r->rrf_c = v;
        else if (!strcmp(p, "min_vec"))
            r->min_vec = v;
        else if (!strcmp(p, "index_speaker"))
            r->index_speaker = v != 0;
        else if (!strcmp(p, "index_date"))
            r->index_date = v != 0;
        else if (!strcmp(p, "neighbor"))
            r->neighbor = v;
        else if (!strcmp(p, "session"))
            r->w_session = v;
        else if (!strcmp(p, "w_role"))
            r->w_role = v;
        else if (!strcmp(p, "w_speaker"))
            r->w_speaker = v;
        else if (!strcmp(p, "w_time"))
            r->w_time = v;
        else if (!strcmp(p, "sif_a"))
            tun->sif_a = v;
        else if (!strcmp(p, "oov_weight"))
            tun->oov_weight = v;
        else if (!strcmp(p, "oov_norm"))
            tun->oov_norm = v;
        else
            mn__log(log, MN_LOG_WARN, "MNEMO_RANK: unknown parameter '%s'", p);
    }
}

static void cjson_hooks_once(void)
{
    static cJSON_Hooks hooks = {mn__malloc, mn__free};
    cJSON_InitHooks(&hooks);
}

static int open_embedder(mn_db *db, mn_err *err)
{
    const char *which = db->opts.embedder ? db->opts.embedder : "builtin";
    mn_err e;
    int rc;
    db->vector_note[0] = '\0';
    if (!strcmp(which, "none")) {
        snprintf(db->vector_note, sizeof db->vector_note, "embedder is 'none'");
        return MN_OK;
    }
    if (!strcmp(which, "mock"))
        rc = mn__embed_mock_new(64, &db->emb, &e);
    else if (!strcmp(which, "builtin"))
        rc = mn__embed_builtin_open(db->opts.model_path, &db->emb, &e);
    else if (!strcmp(which, "openai") || !strcmp(which, "azure") || !strcmp(which, "cohere"))
        rc = mn__eprof_open_remote(db, which, &db->emb, &e); /* docs/PROVIDERS.md */
    else
        return mn__err_set(err, MN_EINVAL, "use builtin, mock, none, openai, azure or cohere",
                           "unknown embedder '%.64s'", which);
    if (rc == MN_ENOMODEL && !db->opts.model_path) {
        /* no model file: keyword search still works, and says why vectors are off */
        snprintf(db->vector_note, sizeof db->vector_note, "%s", e.msg);
        mn__log(&db->log, MN_LOG_WARN, "vector search off, keyword only: %s (%s)", e.msg,
                e.hint);
        db->emb = NULL;
        return MN_OK;
    }
    if (rc) {
        if (err)
            *err = e;
        return rc;
    }
    db->vec_model = mn__malloc(strlen(db->emb->model_id) + sizeof EMBED_RECIPE + 2);
    if (!db->vec_model)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
    memcpy(db->vec_model, db->emb->model_id, strlen(db->emb->model_id));
    db->vec_model[strlen(db->emb->model_id)] = '/';
    memcpy(db->vec_model + strlen(db->emb->model_id) + 1, EMBED_RECIPE, sizeof EMBED_RECIPE);
    return MN_OK;
}

int mn_db_open(const mn_db_opts *opts, mn_db **out_db, mn_err *err)
{
    mn_db *db;
    mn__store_cfg cfg;
    mn__embed_tunables tun;
    int rc;

    mn__err_clear(err);
    *out_db = NULL;
    cjson_hooks_once();
    db = mn__calloc(1, sizeof *db);
    if (!db)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory opening the database");
    if (opts)
        db->opts = *opts;
    else
        mn_db_opts_init(&db->opts);
    if (!db->opts.memory_budget_bytes)
        db->opts.memory_budget_bytes = (size_t)512 << 20;
    if (!db->opts.max_text_bytes)
        db->opts.max_text_bytes = MN_DEFAULT_TEXT_BYTES;
    if (!db->opts.max_metadata_bytes)
        db->opts.max_metadata_bytes = MN_DEFAULT_METADATA_BYTES;
    if (!db->opts.max_batch)
        db->opts.max_batch = MN_DEFAULT_BATCH;
    db->log.fn = db->opts.log;
    db->log.ctx = db->opts.log_ctx;
    db->log.level = db->opts.log_level;
    rank_defaults(&db->rank);
    mn__embed_tunables_init(&tun);
    rank_from_env(&db->rank, &tun, &db->log);
    pthread_mutex_init(&db->mu, NULL);
    pthread_mutex_init(&db->tok_mu, NULL);
    pthread_mutex_init(&db->bpe_mu, NULL);
    pthread_mutex_init(&db->compact_mu, NULL);
    mn__hmap_init(&db->compacting);
    mn__hmap_init(&db->parts);

    db->path = mn__strdup(db->opts.path ? db->opts.path : DEFAULT_PATH);
    db->model_path = db->opts.model_path ? mn__strdup(db->opts.model_path) : NULL;
    if (!db->path || (db->opts.model_path && !db->model_path)) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory opening the database");
        goto fail;
    }
    db->opts.path = db->path;
    db->opts.model_path = db->model_path;
    db->opts.embedder = NULL; /* borrowed string: not kept past open */

    db->opts.embedder = opts ? opts->embedder : NULL;
    rc = open_embedder(db, err);
    db->opts.embedder = NULL;
    if (rc)
        goto fail;
    if (db->emb && !strcmp(db->emb->name, "builtin") &&
        (rc = mn__embed_builtin_set_tunables(db->emb, &tun, err)) != MN_OK)
        goto fail;
    /* a no-op unless a test enabled fault injection (embed_fault.c) */
    if ((rc = mn__embed_fault_wrap(&db->emb)) != MN_OK) {
        mn__err_set(err, rc, NULL, "out of memory opening the embedder");
        goto fail;
    }
    /* tenants' own embedders, the LLM, extraction (providers.c) */
    if ((rc = mn__providers_open(db, err)) != MN_OK)
        goto fail;

    db->sops = mn__store_for_uri(db->path);
    if (!db->sops) {
        rc = mn__err_set(err, MN_EINVAL, "use a SQLite file path",
                         "no store backend for '%.128s'", db->path);
        goto fail;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.sync_normal = db->opts.sync_normal;
    cfg.read_only = db->opts.read_only;
    cfg.commit_delay_us = db->opts.commit_delay_us;
    cfg.log = &db->log;
    rc = db->sops->open(db->path, &cfg, &db->store, err);
    if (rc)
        goto fail;
    if (db->sops->watch && !db->opts.read_only) {
        /* other nodes write this store: their writes mark cached partitions outdated */
        rc = db->sops->watch(db->store, mn__parts_on_change, db, err);
        if (rc)
            goto fail;
        db->watched = true;
    }
    if (db->opts.redis_url && db->opts.redis_url[0]) {
        /* optional at run time: a Redis that is down now is not an error (redis.c) */
        const char *ping[1] = {"PING"};
        struct redisReply *rep = NULL;
        rc = mn__redis_open(db->opts.redis_url, &db->log, &db->redis, err);
        if (rc)
            goto fail;
        if (mn__redis_cmd(db->redis, &rep, NULL, 1, ping, NULL) == MN_OK)
            mn__redis_reply_free(rep);
    }
    db->opts.redis_url = NULL; /* borrowed: not kept past open */
    if (mn__qcache_new(db, &db->qcache)) {
        rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory opening the database");
        goto fail;
    }
    if (!db->opts.read_only && (rc = mn__jobs_start(db, err)) != MN_OK)
        goto fail;
    if ((rc = mn__ewk_start(db, err)) != MN_OK) /* remote embedders: embed_worker.c */
        goto fail;
    if ((rc = mn__xq_start(db, err)) != MN_OK) /* extract=llm: extract.c */
        goto fail;
    *out_db = db;
    return MN_OK;
fail:
    mn_db_close(db);
    return rc;
}

void mn_db_close(mn_db *db)
{
    int i;
    if (!db)
        return;
    atomic_store(&db->closing, 1); /* provider calls in flight give up */
    mn__xq_stop(db);
    mn__jobs_stop(db); /* a running job finishes first: it uses the store */
    mn__ewk_stop(db);  /* after the threads that may kick it (jobs, extraction) */
    if (db->store)
        db->sops->close(db->store);
    mn__qcache_free(db->qcache);
    mn__redis_close(db->redis);
    mn__parts_free_all(db);
    for (i = 0; i < db->n_tok_pool; i++)
        mn__tok_free(db->tok_pool[i]);
    mn__providers_close(db);
    if (db->emb)
        db->emb->destroy(db->emb);
    mn__free(db->vec_model);
    mn__free(db->path);
    mn__free(db->model_path);
    pthread_mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->tok_mu);
    pthread_mutex_destroy(&db->bpe_mu);
    mn__bpe_close(db->bpe_o200k);
    pthread_mutex_destroy(&db->compact_mu);
    mn__hmap_release(&db->compacting);
    mn__free(db);
}

int mn_db_info_get(mn_db *db, mn_db_info *out, mn_err *err)
{
    mn__store_stats st;
    int rc;
    memset(out, 0, sizeof *out);
    rc = db->sops->stats(db->store, &st, err);
    if (rc)
        return rc;
    out->embedder = db->emb ? db->emb->name : "none";
    out->model_id = db->vec_model ? db->vec_model : "";
    out->dim = db->emb ? db->emb->dim : 0;
    out->vector_note = db->vector_note;
    out->kernel = mn__kernels_best()->name;
    out->n_memories = st.n_memories;
    out->schema_version = st.schema_version;
    pthread_mutex_lock(&db->mu);
    out->n_partitions = db->n_parts;
    out->partition_bytes = db->parts_bytes;
    pthread_mutex_unlock(&db->mu);
    return MN_OK;
}
