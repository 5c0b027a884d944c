/* sqlite_rows.c - mapping between mn__row and SQLite statements: the stored text of the
 * enums, partition keys as parameters, sources as a JSON array, embeddings as little-endian
 * float32 blobs, and the decoding (with validation) of a selected row. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* The stored names are part of the file format. They are the same words as the public
 * mn_kind_name() family, but pinned here so that the file format cannot change by accident
 * when the public helpers do (and the store does not depend on the engine's files). */
static const char *const scope_names[] = {NULL, "user", "system"};
static const char *const kind_names[] = {NULL, "message", "preference", "fact", "summary"};
static const char *const role_names[] = {NULL, "user", "assistant"};
static const char *const status_names[] = {NULL, "active", "archived", "superseded"};

#define NAME_OF(tab, v) ((v) > 0 && (size_t)(v) < MN_ARRAY_LEN(tab) ? (tab)[(v)] : NULL)

const char *mn__sq_scope_text(mn_scope v)
{
    return NAME_OF(scope_names, v);
}

const char *mn__sq_kind_text(mn_kind v)
{
    return NAME_OF(kind_names, v);
}

const char *mn__sq_role_text(mn_role v)
{
    return NAME_OF(role_names, v);
}

const char *mn__sq_status_text(mn_status v)
{
    return NAME_OF(status_names, v);
}

/* Index of s in tab (1..), 0 when absent. */
static int parse_name(const char *const *tab, size_t n, const char *s)
{
    size_t i;
    if (!s)
        return 0;
    for (i = 1; i < n; i++)
        if (!strcmp(tab[i], s))
            return (int)i;
    return 0;
}

int mn__sq_check_pkey(const mn__pkey *k, mn_err *err)
{
    if (!k || !k->tenant || !k->tenant[0])
        return mn__err_set(err, MN_EINVAL, "pass the tenant of the partition",
                           "partition key: tenant is missing");
    if (k->scope == MN_SCOPE_USER) {
        if (!k->user_id || !k->user_id[0])
            return mn__err_set(err, MN_EINVAL, "user-scope partitions need a user id",
                               "partition key of tenant '%s': user id is missing", k->tenant);
    } else if (k->scope == MN_SCOPE_SYSTEM) {
        if (k->user_id)
            return mn__err_set(err, MN_EINVAL, "pass user_id = NULL for system memories",
                               "partition key of tenant '%s': system scope with user id '%s'",
                               k->tenant, k->user_id);
    } else {
        return mn__err_set(err, MN_EINVAL, "use MN_SCOPE_USER or MN_SCOPE_SYSTEM",
                           "partition key of tenant '%s': scope %d is not a scope", k->tenant,
                           (int)k->scope);
    }
    return MN_OK;
}

int mn__sq_bind_pkey(sqlite3_stmt *st, int first, const mn__pkey *k, bool part_key)
{
    int rc = sqlite3_bind_text(st, first, k->tenant, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, first + 1, mn__sq_scope_text(k->scope), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        if (k->user_id)
            rc = sqlite3_bind_text(st, first + 2, k->user_id, -1, SQLITE_STATIC);
        else if (part_key)
            rc = sqlite3_bind_text(st, first + 2, "", 0, SQLITE_STATIC);
        else
            rc = sqlite3_bind_null(st, first + 2);
    }
    return rc;
}

int mn__sq_sources_json(const mn_id *ids, size_t n, mn__buf *b)
{
    size_t i;
    int rc = mn__buf_putc(b, '[');
    for (i = 0; i < n && rc == MN_OK; i++)
        rc = mn__buf_printf(b, i ? ",%lld" : "%lld", (long long)ids[i]);
    if (rc == MN_OK)
        rc = mn__buf_putc(b, ']');
    return rc;
}

static bool host_is_le(void)
{
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static void swap4(unsigned char *p, size_t n_floats)
{
    size_t i;
    unsigned char t;
    for (i = 0; i < n_floats; i++, p += 4) {
        t = p[0], p[0] = p[3], p[3] = t;
        t = p[1], p[1] = p[2], p[2] = t;
    }
}

static int scratch_vec(mn__sq_scratch *sc, size_t n)
{
    float *v;
    if (n <= sc->vec_cap)
        return MN_OK;
    v = mn__realloc(sc->vec, n * sizeof *v);
    if (!v)
        return MN_ENOMEM;
    sc->vec = v;
    sc->vec_cap = n;
    return MN_OK;
}

const void *mn__sq_vec_blob(const float *v, int dim, mn__sq_scratch *sc)
{
    if (host_is_le())
        return v;
    if (scratch_vec(sc, (size_t)dim))
        return NULL;
    memcpy(sc->vec, v, (size_t)dim * sizeof *v);
    swap4((unsigned char *)sc->vec, (size_t)dim);
    return sc->vec;
}

void mn__sq_scratch_release(mn__sq_scratch *sc)
{
    mn__free(sc->ids);
    mn__free(sc->vec);
    memset(sc, 0, sizeof *sc);
}

/* Parses the stored sources "[1,2,3]" strictly: positive integers only. */
static int parse_sources(const char *s, mn_id *out, size_t cap, size_t *out_n)
{
    size_t n = 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (*p++ != '[')
        return MN_ECORRUPT;
    while (*p == ' ')
        p++;
    if (*p == ']')
        goto done;
    for (;;) {
        mn_id v = 0;
        if (*p < '0' || *p > '9')
            return MN_ECORRUPT;
        while (*p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return MN_ECORRUPT;
            v = v * 10 + (*p++ - '0');
        }
        if (n == cap)
            return MN_ECORRUPT;
        out[n++] = v;
        while (*p == ' ')
            p++;
        if (*p == ']')
            break;
        if (*p++ != ',')
            return MN_ECORRUPT;
        while (*p == ' ')
            p++;
    }
done:
    p++;
    while (*p == ' ')
        p++;
    if (*p)
        return MN_ECORRUPT;
    *out_n = n;
    return MN_OK;
}

int mn__sq_sources_parse(const char *s, mn_id *out, size_t cap, size_t *out_n)
{
    return parse_sources(s, out, cap, out_n);
}

/* A text column, copied into the arena when there is one. */
static int col_text(sqlite3_stmt *st, int col, mn__arena *a, const char **out)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    *out = NULL;
    if (!t)
        return sqlite3_column_type(st, col) == SQLITE_NULL ? MN_OK : MN_ENOMEM;
    if (!a) {
        *out = t;
        return MN_OK;
    }
    *out = mn__arena_strndup(a, t, (size_t)sqlite3_column_bytes(st, col));
    return *out ? MN_OK : MN_ENOMEM;
}

static int read_sources(const mn__sq *s, sqlite3_stmt *st, mn__arena *a, mn__sq_scratch *sc,
                        mn__row *out, mn_err *err)
{
    const char *t = (const char *)sqlite3_column_text(st, 12), *p;
    size_t cap = 1;
    mn_id *ids;
    if (!t)
        return sqlite3_column_type(st, 12) == SQLITE_NULL ? MN_OK : MN_ENOMEM;
    for (p = t; *p; p++)
        cap += *p == ',';
    if (cap > MN_MAX_SOURCES)
        goto bad;
    if (a) {
        ids = mn__arena_alloc(a, cap * sizeof *ids);
    } else {
        if (cap > sc->ids_cap) {
            ids = mn__realloc(sc->ids, cap * sizeof *ids);
            if (ids) {
                sc->ids = ids;
                sc->ids_cap = cap;
            }
        }
        ids = cap <= sc->ids_cap ? sc->ids : NULL;
    }
    if (!ids)
        return MN_ENOMEM;
    if (parse_sources(t, ids, cap, &out->n_sources))
        goto bad;
    out->sources = out->n_sources ? ids : NULL;
    return MN_OK;
bad:
    return mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                       "store '%s': memory %lld: stored sources are not an array of ids "
                       "(\"%.40s\")",
                       s->path, (long long)out->id, t);
}

static int read_embedding(const mn__sq *s, sqlite3_stmt *st, mn__arena *a, mn__sq_scratch *sc,
                          mn__row *out, mn_err *err)
{
    const void *blob = sqlite3_column_blob(st, 15);
    int bytes = sqlite3_column_bytes(st, 15);
    size_t dim;
    float *v;
    if (!blob)
        return sqlite3_column_type(st, 15) == SQLITE_NULL ? MN_OK : MN_ENOMEM;
    if (bytes % 4 || !out->embed_model)
        return mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                           "store '%s': memory %lld: embedding of %d bytes%s", s->path,
                           (long long)out->id, bytes,
                           out->embed_model ? " is not float32" : " without a model id");
    dim = (size_t)bytes / 4;
    /* The blob is not guaranteed to be 4-byte aligned: always copy. */
    if (a) {
        v = mn__arena_alloc(a, dim * sizeof *v);
    } else {
        v = scratch_vec(sc, dim) ? NULL : sc->vec;
    }
    if (!v)
        return MN_ENOMEM;
    memcpy(v, blob, dim * sizeof *v);
    if (!host_is_le())
        swap4((unsigned char *)v, dim);
    out->embedding = v;
    out->dim = (int)dim;
    return MN_OK;
}

int mn__sq_row_read(const mn__sq *s, sqlite3_stmt *st, mn__arena *a, mn__sq_scratch *sc,
                    mn__row *out, mn_err *err)
{
    const char *scope, *kind, *role, *status;
    int rc;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    scope = (const char *)sqlite3_column_text(st, 3);
    kind = (const char *)sqlite3_column_text(st, 4);
    role = (const char *)sqlite3_column_text(st, 5);
    status = (const char *)sqlite3_column_text(st, 6);
    out->scope = (mn_scope)parse_name(scope_names, MN_ARRAY_LEN(scope_names), scope);
    out->kind = (mn_kind)parse_name(kind_names, MN_ARRAY_LEN(kind_names), kind);
    out->role = (mn_role)parse_name(role_names, MN_ARRAY_LEN(role_names), role);
    out->status = (mn_status)parse_name(status_names, MN_ARRAY_LEN(status_names), status);
    if (!out->scope || !out->kind || !out->status || (role && !out->role))
        return mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                           "store '%s': memory %lld has an unknown scope/kind/role/status "
                           "('%s'/'%s'/'%s'/'%s')",
                           s->path, (long long)out->id, scope ? scope : "NULL",
                           kind ? kind : "NULL", role ? role : "NULL", status ? status : "NULL");
    rc = col_text(st, 1, a, &out->tenant);
    if (rc == MN_OK)
        rc = col_text(st, 2, a, &out->user_id);
    if (rc == MN_OK)
        rc = col_text(st, 7, a, &out->session_id);
    if (rc == MN_OK)
        rc = col_text(st, 8, a, &out->text);
    if (rc == MN_OK)
        rc = col_text(st, 9, a, &out->metadata_json);
    if (rc == MN_OK)
        rc = col_text(st, 14, a, &out->embed_model);
    if (rc != MN_OK)
        return mn__err_set(err, rc, NULL, "store '%s': out of memory reading memory %lld",
                           s->path, (long long)out->id);
    if (!out->tenant || !out->text)
        return mn__err_set(err, MN_ECORRUPT, "restore the file from a backup",
                           "store '%s': memory %lld has no %s", s->path, (long long)out->id,
                           out->tenant ? "text" : "tenant");
    out->created_at_ms = sqlite3_column_int64(st, 10);
    out->updated_at_ms = sqlite3_column_int64(st, 11);
    out->superseded_by = sqlite3_column_int64(st, 13);
    rc = read_sources(s, st, a, sc, out, err);
    if (rc == MN_OK)
        rc = read_embedding(s, st, a, sc, out, err);
    if (rc == MN_ENOMEM)
        return mn__err_set(err, rc, NULL, "store '%s': out of memory reading memory %lld",
                           s->path, (long long)out->id);
    return rc;
}
