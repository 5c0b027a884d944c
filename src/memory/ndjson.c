/* ndjson.c - export and import of memories as NDJSON, one memory object per line. The
 * line format is documented in docs/ARCHITECTURE.md ("Export format"). */
#include <cjson/cJSON.h>
#include <string.h>

#include "memory_int.h"

#define MAX_LINE_BYTES (4u << 20)

typedef struct export_ctx {
    mn__buf line;
    mn_write_fn write;
    void *ctx;
    int rc;
} export_ctx;

static int put_row_json(mn__buf *b, const mn__row *r)
{
    char t[32];
    int rc;
    size_t i;
    b->len = 0;
    rc = mn__buf_printf(b, "{\"id\":%lld,\"scope\":\"%s\",\"user_id\":", (long long)r->id,
                        mn_scope_name(r->scope));
    if (!rc)
        rc = r->user_id ? mn__buf_json_str(b, r->user_id, strlen(r->user_id))
                        : mn__buf_puts(b, "null");
    if (!rc)
        rc = mn__buf_printf(b, ",\"kind\":\"%s\",\"role\":", mn_kind_name(r->kind));
    if (!rc)
        rc = r->role ? mn__buf_printf(b, "\"%s\"", mn_role_name(r->role))
                     : mn__buf_puts(b, "null");
    if (!rc)
        rc = mn__buf_puts(b, ",\"session_id\":");
    if (!rc)
        rc = r->session_id ? mn__buf_json_str(b, r->session_id, strlen(r->session_id))
                           : mn__buf_puts(b, "null");
    if (!rc)
        rc = mn__buf_puts(b, ",\"text\":");
    if (!rc)
        rc = mn__buf_json_str(b, r->text, strlen(r->text));
    mn__fmt_time_iso(r->created_at_ms, t);
    if (!rc)
        rc = mn__buf_printf(b, ",\"created_at\":\"%s\",\"status\":\"%s\",\"metadata\":%s", t,
                            mn_status_name(r->status),
                            r->metadata_json && *r->metadata_json ? r->metadata_json : "null");
    if (!rc && r->n_sources) {
        rc = mn__buf_puts(b, ",\"sources\":[");
        for (i = 0; !rc && i < r->n_sources; i++)
            rc = mn__buf_printf(b, "%s%lld", i ? "," : "", (long long)r->sources[i]);
        if (!rc)
            rc = mn__buf_putc(b, ']');
    }
    if (!rc && r->superseded_by)
        rc = mn__buf_printf(b, ",\"superseded_by\":%lld", (long long)r->superseded_by);
    if (!rc)
        rc = mn__buf_putc(b, '}');
    return rc;
}

int mn_memory_json(const mn_memory *m, char **out, size_t *out_len, mn_err *err)
{
    mn__row r;
    mn__buf b;
    int rc;
    *out = NULL;
    memset(&r, 0, sizeof r);
    r.id = m->id;
    r.tenant = m->tenant;
    r.user_id = m->user_id;
    r.scope = m->scope;
    r.kind = m->kind;
    r.role = m->role;
    r.status = m->status;
    r.session_id = m->session_id;
    r.text = m->text ? m->text : "";
    r.metadata_json = m->metadata_json;
    r.created_at_ms = m->created_at_ms;
    r.updated_at_ms = m->updated_at_ms;
    r.sources = m->sources;
    r.n_sources = m->n_sources;
    r.superseded_by = m->superseded_by;
    mn__buf_init(&b, MAX_LINE_BYTES);
    rc = put_row_json(&b, &r);
    if (rc) {
        mn__buf_release(&b);
        return mn__err_set(err, rc, NULL, "cannot write memory %lld as JSON: %s",
                           (long long)m->id, mn_strerror(rc));
    }
    *out = mn__buf_take(&b, out_len);
    return MN_OK;
}

void mn_free(void *p)
{
    mn__free(p);
}

static int export_row(void *ctx, const mn__row *r)
{
    export_ctx *ec = ctx;
    ec->rc = put_row_json(&ec->line, r);
    if (!ec->rc)
        ec->rc = mn__buf_putc(&ec->line, '\n');
    if (!ec->rc)
        ec->rc = ec->write(ec->ctx, ec->line.data, ec->line.len);
    return ec->rc;
}

int mn_export(mn_db *db, const char *tenant, const char *user_id, mn_write_fn write, void *ctx,
              mn_err *err)
{
    export_ctx ec;
    mn__pkey k;
    int rc;

    mn__err_clear(err);
    if (!write)
        return mn__err_set(err, MN_EINVAL, NULL, "export needs a write function");
    mn__buf_init(&ec.line, MAX_LINE_BYTES);
    ec.write = write;
    ec.ctx = ctx;
    ec.rc = 0;
    if (user_id) {
        rc = mn__pkey_make(tenant, MN_SCOPE_USER, user_id, &k, err);
        if (!rc)
            rc = db->sops->scan_partition(db->store, &k, export_row, &ec, err);
    } else {
        rc = mn__tenant_or_default(tenant, &k.tenant, err);
        if (!rc)
            rc = db->sops->scan_tenant(db->store, k.tenant, export_row, &ec, err);
    }
    if (ec.rc && (!err || err->code != ec.rc))
        rc = mn__err_set(err, ec.rc, NULL, "export stopped: %s", mn_strerror(ec.rc));
    mn__buf_release(&ec.line);
    return rc;
}

/* ---- import ---------------------------------------------------------------------------- */

typedef struct parsed {
    cJSON *json;
    mn_memory_in in;
    char *meta;     /* owned */
    mn_id old_id;
    mn_id *sources; /* owned, old ids until remapped */
} parsed;

static const char *opt_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A JSON number as an integer in [lo, hi]. Range first: converting a double outside the
 * range of int64_t (1e300, NaN) is undefined behaviour, not a large number. */
static int json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || (double)(int64_t)d != d)
        return -1;
    *out = (int64_t)d;
    return 0;
}

#define MAX_JSON_ID 9007199254740992LL     /* 2^53: every id a JSON number holds exactly */
#define MAX_JSON_TIME 253402300799999LL    /* 9999-12-31T23:59:59.999Z */

static int parse_line(mn_db *db, const char *tenant, const char *s, size_t n, parsed *p,
                      mn_err *err)
{
    const cJSON *v;
    const char *str;
    memset(p, 0, sizeof *p);
    mn_memory_in_init(&p->in);
    p->json = cJSON_ParseWithLength(s, n);
    if (!p->json || !cJSON_IsObject(p->json))
        return mn__err_set(err, MN_EPARSE, "each line must be one JSON object from mnemo export",
                           "not a JSON object");
    p->in.tenant = tenant;
    v = cJSON_GetObjectItemCaseSensitive(p->json, "id");
    if (cJSON_IsNumber(v) && json_int(v, 1, MAX_JSON_ID, &p->old_id))
        return mn__err_set(err, MN_EINVAL, "ids are positive integers",
                           "id %.17g is not a memory id", v->valuedouble);
    str = opt_str(p->json, "scope");
    p->in.scope = str ? mn_scope_parse(str) : MN_SCOPE_USER;
    if (!p->in.scope)
        return mn__err_set(err, MN_EINVAL, "use user or system", "unknown scope '%.32s'", str);
    p->in.user_id = p->in.scope == MN_SCOPE_USER ? opt_str(p->json, "user_id") : NULL;
    str = opt_str(p->json, "kind");
    p->in.kind = str ? mn_kind_parse(str) : MN_KIND_MESSAGE;
    if (!p->in.kind)
        return mn__err_set(err, MN_EINVAL, "use message, preference, fact or summary",
                           "unknown kind '%.32s'", str);
    str = opt_str(p->json, "role");
    p->in.role = mn_role_parse(str);
    if ((int)p->in.role < 0)
        return mn__err_set(err, MN_EINVAL, "use user or assistant", "unknown role '%.32s'", str);
    str = opt_str(p->json, "status");
    p->in.status = str ? mn_status_parse(str) : MN_STATUS_ACTIVE;
    if (!p->in.status)
        return mn__err_set(err, MN_EINVAL, "use active, archived or superseded",
                           "unknown status '%.32s'", str);
    p->in.session_id = opt_str(p->json, "session_id");
    p->in.text = opt_str(p->json, "text");
    v = cJSON_GetObjectItemCaseSensitive(p->json, "created_at");
    if (cJSON_IsString(v)) {
        if (mn__parse_time(v->valuestring, &p->in.created_at_ms))
            return mn__err_set(err, MN_EINVAL, "use RFC 3339 such as 2024-05-01T10:00:00Z",
                               "created_at '%.40s' is not a time", v->valuestring);
    } else if (cJSON_IsNumber(v) && json_int(v, 0, MAX_JSON_TIME, &p->in.created_at_ms)) {
        return mn__err_set(err, MN_EINVAL, "use ms since the epoch up to year 9999",
                           "created_at %.17g is not a time", v->valuedouble);
    }
    v = cJSON_GetObjectItemCaseSensitive(p->json, "metadata");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v))
            return mn__err_set(err, MN_EINVAL, "metadata must be an object or null",
                               "metadata is not an object");
        p->meta = cJSON_PrintUnformatted(v);
        if (!p->meta)
            return mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
        p->in.metadata_json = p->meta;
    }
    v = cJSON_GetObjectItemCaseSensitive(p->json, "sources");
    if (cJSON_IsArray(v)) {
        int i, ns = cJSON_GetArraySize(v);
        if (ns > MN_MAX_SOURCES)
            return mn__err_set(err, MN_ETOOBIG, NULL, "%d sources, limit is %d", ns,
                               MN_MAX_SOURCES);
        p->sources = mn__calloc((size_t)ns + 1, sizeof *p->sources);
        if (!p->sources)
            return mn__err_set(err, MN_ENOMEM, NULL, "out of memory");
        for (i = 0; i < ns; i++) {
            const cJSON *e = cJSON_GetArrayItem(v, i);
            if (!cJSON_IsNumber(e) || json_int(e, 1, MAX_JSON_ID, &p->sources[i]))
                return mn__err_set(err, MN_EINVAL, "sources are memory ids",
                                   "source %d is not a positive id", i);
        }
        p->in.sources = p->sources;
        p->in.n_sources = (size_t)ns;
    }
    return mn__check_memory_in(db, &p->in, err);
}

static void parsed_release(parsed *p)
{
    cJSON_Delete(p->json);
    mn__free(p->meta);
    mn__free(p->sources);
    memset(p, 0, sizeof *p);
}

/* Old id -> new id, for remapping sources within one import. */
static mn_id remap(const mn__hmap *ids, mn_id old)
{
    void *v = mn__hmap_get(ids, (const char *)&old, sizeof old);
    return v ? (mn_id)(intptr_t)v : 0;
}

/* A memory this import stored: what undoing it needs. */
typedef struct added {
    mn_id id;
    char *user_id; /* owned; NULL for the system scope */
} added;

typedef struct import_ctx {
    mn_db *db;
    const char *tenant;
    parsed *batch;
    size_t n, cap;
    mn__hmap ids;
    mn_import_stats *st;
    bool store;
    added *done; /* everything stored so far, to undo it when a later step fails */
    size_t n_done, cap_done;
} import_ctx;

/* Stores the parsed batch in one transaction. Everything that can fail for lack of memory
 * happens before the commit, so that a stored batch is always recorded for the undo. */
static int flush(import_ctx *ic, mn_err *err)
{
    parsed *batch = ic->batch;
    size_t n = ic->n, i, j;
    mn_memory_in *ins = mn__calloc(n, sizeof *ins);
    mn_id *out = mn__calloc(n, sizeof *out);
    char **users = mn__calloc(n, sizeof *users);
    int rc = MN_OK;
    if (!ins || !out || !users)
        goto nomem;
    if (ic->n_done + n > ic->cap_done) {
        size_t cap = MN_MAX(ic->n_done + n, ic->cap_done * 2);
        added *d = mn__realloc(ic->done, cap * sizeof *d);
        if (!d)
            goto nomem;
        ic->done = d;
        ic->cap_done = cap;
    }
    for (i = 0; i < n; i++) {
        ins[i] = batch[i].in;
        for (j = 0; j < ins[i].n_sources; j++) {
            mn_id nid = remap(&ic->ids, batch[i].sources[j]);
            if (nid)
                batch[i].sources[j] = nid;
        }
        /* Room for the new id before the commit: a replaced value allocates nothing. */
        if (batch[i].old_id > 0 &&
            mn__hmap_put(&ic->ids, (const char *)&batch[i].old_id, sizeof(mn_id), NULL))
            goto nomem;
        if (ins[i].user_id && !(users[i] = mn__strdup(ins[i].user_id)))
            goto nomem;
    }
    rc = mn_memory_add_batch(ic->db, ins, n, out, err);
    if (rc)
        goto cleanup;
    for (i = 0; i < n; i++) {
        ic->st->n_added++;
        if (batch[i].old_id > 0)
            mn__hmap_put(&ic->ids, (const char *)&batch[i].old_id, sizeof(mn_id),
                         (void *)(intptr_t)out[i]);
        ic->done[ic->n_done].id = out[i];
        ic->done[ic->n_done].user_id = users[i];
        ic->n_done++;
        users[i] = NULL;
    }
    goto cleanup;
nomem:
    rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory importing");
cleanup:
    for (i = 0; users && i < n; i++)
        mn__free(users[i]);
    mn__free(users);
    mn__free(ins);
    mn__free(out);
    return rc;
}

/* Calls fn for each non-blank line; stops at the first error. */
typedef int (*line_fn)(void *ctx, int64_t lineno, const char *s, size_t n, mn_err *err);

static int each_line(const char *data, size_t len, line_fn fn, void *ctx, mn_err *err)
{
    size_t pos = 0;
    int64_t lineno = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len, n = end - pos, i;
        int rc;
        lineno++;
        for (i = 0; i < n; i++)
            if (data[pos + i] != ' ' && data[pos + i] != '\t' && data[pos + i] != '\r')
                break;
        if (i < n) {
            if (n > MAX_LINE_BYTES)
                return mn__err_set(err, MN_ETOOBIG, NULL, "line %lld is %zu bytes, limit %u",
                                   (long long)lineno, n, MAX_LINE_BYTES);
            rc = fn(ctx, lineno, data + pos, n, err);
            if (rc)
                return rc;
        }
        pos = end + 1;
    }
    return MN_OK;
}

static int import_line(void *ctx, int64_t lineno, const char *s, size_t n, mn_err *err)
{
    import_ctx *ic = ctx;
    int rc;
    ic->st->n_lines++;
    rc = parse_line(ic->db, ic->tenant, s, n, &ic->batch[ic->n], err);
    if (rc) {
        parsed_release(&ic->batch[ic->n]);
        /* The first pass accepted this line: failing now means memory ran out. */
        if (ic->store && rc != MN_ENOMEM)
            rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory reading the line");
        mn__err_prefix(err, "line %lld", (long long)lineno);
        return rc;
    }
    if (!ic->store) {
        parsed_release(&ic->batch[ic->n]);
        return MN_OK;
    }
    /* A line citing sources needs their new ids: store the lines before it first (an
     * export lists a summary after the memories it summarises). */
    if (ic->n && ic->batch[ic->n].in.n_sources) {
        parsed cur = ic->batch[ic->n];
        memset(&ic->batch[ic->n], 0, sizeof cur);
        rc = flush(ic, err);
        while (ic->n)
            parsed_release(&ic->batch[--ic->n]);
        ic->batch[0] = cur;
        if (rc) {
            parsed_release(&ic->batch[0]);
            mn__err_prefix(err, "line %lld", (long long)lineno);
            return rc;
        }
    }
    ic->n++;
    if (ic->n == ic->cap) {
        rc = flush(ic, err);
        while (ic->n)
            parsed_release(&ic->batch[--ic->n]);
        if (rc)
            mn__err_prefix(err, "line %lld", (long long)lineno);
    }
    return rc;
}

/* Deletes what the import stored before it failed. Returns how many could not be. */
static size_t undo(import_ctx *ic)
{
    size_t i, left = 0;
    for (i = ic->n_done; i-- > 0;)
        if (mn_memory_delete(ic->db, ic->tenant, ic->done[i].user_id, ic->done[i].id, NULL) !=
            MN_OK)
            left++;
    return left;
}

int mn_import(mn_db *db, const char *tenant, const char *data, size_t len,
              mn_import_stats *out_stats, mn_err *err)
{
    import_ctx ic;
    mn_import_stats st = {0, 0};
    size_t i;
    int rc;

    mn__err_clear(err);
    if (!data && len)
        return mn__err_set(err, MN_EINVAL, NULL, "import data is NULL");
    memset(&ic, 0, sizeof ic);
    ic.db = db;
    rc = mn__tenant_or_default(tenant, &ic.tenant, err);
    if (rc)
        return rc;
    ic.cap = db->opts.max_batch;
    ic.batch = mn__calloc(ic.cap, sizeof *ic.batch);
    if (!ic.batch)
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory importing");
    mn__hmap_init(&ic.ids);
    ic.st = &st;
    /* pass 1 validates every line so that a bad line stores nothing */
    rc = each_line(data, len, import_line, &ic, err);
    if (!rc) {
        st.n_lines = 0;
        ic.store = true;
        rc = each_line(data, len, import_line, &ic, err);
    }
    if (!rc && ic.n)
        rc = flush(&ic, err);
    /* Several transactions (max_batch lines each, and one more before each line citing
     * sources): when a later one fails, the earlier ones are undone, so that an import is
     * all or nothing unless the store fails again while undoing. */
    if (rc && ic.n_done) {
        size_t left = undo(&ic);
        st.n_added = (int64_t)left;
        if (left)
            mn__err_prefix(err, "%zu memories of this import stayed stored (undo failed)",
                           left);
    }
    while (ic.n)
        parsed_release(&ic.batch[--ic.n]);
    for (i = 0; i < ic.n_done; i++)
        mn__free(ic.done[i].user_id);
    mn__free(ic.done);
    mn__free(ic.batch);
    mn__hmap_release(&ic.ids);
    if (out_stats)
        *out_stats = st;
    return rc;
}
