/* keys.c - API keys of tenants: created from the kernel's randomness, shown once, stored only
 * as a SHA-256 digest, checked in time independent of the presented key's content. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "memory_int.h"

#define KEY_RAW_BYTES 32

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of n bytes into out (4 chars per 3 bytes, rounded up); returns length. */
static size_t b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    return o;
}

static int fill_random(uint8_t *p, size_t n, mn_err *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return mn__err_set(err, MN_EIO, "check that the kernel offers getrandom(2)",
                               "cannot read random bytes for a new key: %s", strerror(errno));
        got += (size_t)r;
    }
    return MN_OK;
}

static int no_keys(const mn_db *db, mn_err *err)
{
    return mn__err_set(err, MN_EUNAVAIL, "use the SQLite store",
                       "store backend '%s' does not keep API keys", db->sops->name);
}

int mn_key_create(mn_db *db, const char *tenant, const char *name,
                  char out_key[MN_KEY_LEN + 1], mn_id *out_id, mn_err *err)
{
    uint8_t raw[KEY_RAW_BYTES];
    char key[MN_KEY_LEN + 1], prefix[MN_KEY_PREFIX_LEN + 1];
    mn__key_row row;
    size_t n;
    int rc;

    mn__err_clear(err);
    out_key[0] = '\0';
    if (!db->sops->key_put)
        return no_keys(db, err);
    if (!tenant)
        return mn__err_set(err, MN_EINVAL, "pass --tenant NAME", "a key needs a tenant");
    if ((rc = mn__check_id("tenant", tenant, err)) != MN_OK)
        return rc;
    if (name && name[0] && (rc = mn__check_id("key name", name, err)) != MN_OK)
        return rc;
    if ((rc = fill_random(raw, sizeof raw, err)) != MN_OK)
        return rc;
    memcpy(key, "mn_", 3);
    n = b64url_encode(raw, sizeof raw, key + 3);
    key[3 + n] = '\0';
    memset(raw, 0, sizeof raw);
    memcpy(prefix, key, MN_KEY_PREFIX_LEN);
    prefix[MN_KEY_PREFIX_LEN] = '\0';

    memset(&row, 0, sizeof row);
    row.prefix = prefix;
    row.tenant = tenant;
    row.name = name ? name : "";
    mn__sha256(key, MN_KEY_LEN, row.hash);
    rc = db->sops->key_put(db->store, &row, err);
    if (rc == MN_OK) {
        memcpy(out_key, key, MN_KEY_LEN + 1);
        if (out_id)
            *out_id = row.id;
    }
    memset(key, 0, sizeof key);
    return rc;
}

static bool well_formed(const char *key)
{
    size_t i;
    if (strncmp(key, "mn_", 3) || strlen(key) != MN_KEY_LEN)
        return false;
    for (i = 3; i < MN_KEY_LEN; i++)
        if (!strchr(b64url, key[i]) || !key[i])
            return false;
    return true;
}

int mn_key_verify(mn_db *db, const char *key, char out_tenant[MN_MAX_ID_BYTES + 1],
                  mn_id *out_id, mn_err *err)
{
    char prefix[MN_KEY_PREFIX_LEN + 1];
    uint8_t digest[32];
    mn__key_row *rows = NULL, *match = NULL;
    mn__arena a;
    size_t n = 0, i;
    int rc;

    mn__err_clear(err);
    out_tenant[0] = '\0';
    if (!db->sops->key_find)
        return no_keys(db, err);
    if (!key || !well_formed(key))
        return mn__err_set(err, MN_EAUTH, "keys look like mn_ followed by 43 characters",
                           "the API key is malformed");
    memcpy(prefix, key, MN_KEY_PREFIX_LEN);
    prefix[MN_KEY_PREFIX_LEN] = '\0';
    mn__sha256(key, MN_KEY_LEN, digest);
    mn__arena_init(&a, 1024);
    rc = db->sops->key_find(db->store, prefix, &a, &rows, &n, err);
    if (rc)
        goto cleanup;
    /* The prefix only narrows the search; the digest comparison decides, over every row so
     * that the time does not tell which one matched. */
    for (i = 0; i < n; i++)
        if (mn__ct_equal(rows[i].hash, digest, sizeof digest))
            match = &rows[i];
    if (!match) {
        rc = mn__err_set(err, MN_EAUTH, "create one with 'mnemo keys create --tenant NAME'",
                         "unknown API key '%s...'", prefix);
    } else if (match->revoked_at_ms) {
        rc = mn__err_set(err, MN_EAUTH, "ask for a new key",
                         "API key '%s...' (id %lld) was revoked", prefix, (long long)match->id);
    } else {
        size_t tl = strlen(match->tenant);
        if (tl > MN_MAX_ID_BYTES)
            tl = MN_MAX_ID_BYTES;
        memcpy(out_tenant, match->tenant, tl);
        out_tenant[tl] = '\0';
        if (out_id)
            *out_id = match->id;
    }
cleanup:
    mn__arena_release(&a);
    return rc;
}

typedef struct keys_priv {
    mn__arena arena;
} keys_priv;

void mn_keys_free(mn_keys *k)
{
    if (!k)
        return;
    if (k->priv_) {
        mn__arena_release(&((keys_priv *)k->priv_)->arena);
        mn__free(k->priv_);
    }
    mn__free(k);
}

int mn_key_list(mn_db *db, mn_keys **out, mn_err *err)
{
    mn__key_row *rows = NULL;
    size_t n = 0, i;
    mn_keys *k;
    keys_priv *pv;
    int rc;

    mn__err_clear(err);
    *out = NULL;
    if (!db->sops->key_list)
        return no_keys(db, err);
    k = mn__calloc(1, sizeof *k);
    pv = mn__calloc(1, sizeof *pv);
    if (!k || !pv) {
        mn__free(k);
        mn__free(pv);
        return mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing keys");
    }
    mn__arena_init(&pv->arena, 4096);
    k->priv_ = pv;
    rc = db->sops->key_list(db->store, &pv->arena, &rows, &n, err);
    if (rc)
        goto fail;
    if (n) {
        k->keys = mn__arena_alloc(&pv->arena, n * sizeof *k->keys);
        if (!k->keys) {
            rc = mn__err_set(err, MN_ENOMEM, NULL, "out of memory listing keys");
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        k->keys[i].id = rows[i].id;
        k->keys[i].prefix = rows[i].prefix;
        k->keys[i].tenant = rows[i].tenant;
        k->keys[i].name = rows[i].name ? rows[i].name : "";
        k->keys[i].created_at_ms = rows[i].created_at_ms;
        k->keys[i].revoked_at_ms = rows[i].revoked_at_ms;
    }
    k->n = n;
    *out = k;
    return MN_OK;
fail:
    mn_keys_free(k);
    return rc;
}

int mn_key_revoke(mn_db *db, mn_id id, mn_err *err)
{
    mn__err_clear(err);
    if (!db->sops->key_revoke)
        return no_keys(db, err);
    if (id <= 0)
        return mn__err_set(err, MN_ENOTFOUND, "see 'mnemo keys list' for the ids",
                           "no API key with id %lld", (long long)id);
    return db->sops->key_revoke(db->store, id, err);
}

int mn_key_count_active(mn_db *db, int64_t *out_n, mn_err *err)
{
    mn__err_clear(err);
    *out_n = 0;
    if (!db->sops->key_count_active)
        return no_keys(db, err);
    return db->sops->key_count_active(db->store, out_n, err);
}
