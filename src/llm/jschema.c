/* jschema.c - a small JSON Schema validator for the structured replies of the LLM: only the
 * keywords mnemo's own schemas use. A keyword it does not know makes the schema invalid
 * rather than silently unchecked. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llm.h"

#define MAX_DEPTH 32

static const char *const known_kw[] = {
    "type",     "properties", "required", "additionalProperties", "items",
    "enum",     "minLength",  "maxLength", "minItems",            "maxItems",
    "minimum",  "maximum",    "description", "title",             NULL,
};

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool type_is(const char *t, const cJSON *v)
{
    if (!strcmp(t, "object"))
        return cJSON_IsObject(v);
    if (!strcmp(t, "array"))
        return cJSON_IsArray(v);
    if (!strcmp(t, "string"))
        return cJSON_IsString(v);
    if (!strcmp(t, "number"))
        return cJSON_IsNumber(v) && isfinite(v->valuedouble);
    if (!strcmp(t, "integer"))
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
               v->valuedouble == floor(v->valuedouble);
    if (!strcmp(t, "boolean"))
        return cJSON_IsBool(v);
    if (!strcmp(t, "null"))
        return cJSON_IsNull(v);
    return false;
}

static const char *kind_of(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    return "invalid";
}

static int fail(mn_err *err, const char *path, const char *what)
{
    return mn__err_set(err, MN_EPARSE, "the model did not follow the requested format",
                       "%s: %s", path, what);
}

static int bad_schema(mn_err *err, const char *path, const char *what)
{
    return mn__err_set(err, MN_EINVAL, "fix the schema in the source", "schema at %s: %s",
                       path, what);
}

static int check(const cJSON *sc, const cJSON *v, char *path, size_t plen, int depth,
                 mn_err *err);

/* Checks v, a field `key` (or the item idx when key is NULL) of the value at path. */
static int child(const cJSON *sc, const cJSON *v, char *path, size_t plen, const char *key,
                 int idx, int depth, mn_err *err)
{
    size_t n = strlen(path);
    int rc;
    if (key)
        snprintf(path + n, plen - n, ".%.64s", key);
    else
        snprintf(path + n, plen - n, "[%d]", idx);
    rc = check(sc, v, path, plen, depth + 1, err);
    path[n] = '\0';
    return rc;
}

static int check_type(const cJSON *t, const cJSON *v, const char *path, mn_err *err)
{
    const cJSON *x;
    char msg[160];
    if (cJSON_IsString(t)) {
        if (type_is(t->valuestring, v))
            return MN_OK;
        snprintf(msg, sizeof msg, "expected %s, found %s", t->valuestring, kind_of(v));
        return fail(err, path, msg);
    }
    if (!cJSON_IsArray(t))
        return bad_schema(err, path, "\"type\" must be a string or a list");
    cJSON_ArrayForEach(x, t)
    {
        if (!cJSON_IsString(x))
            return bad_schema(err, path, "\"type\" list holds a non-string");
        if (type_is(x->valuestring, v))
            return MN_OK;
    }
    snprintf(msg, sizeof msg, "found %s, not one of the allowed types", kind_of(v));
    return fail(err, path, msg);
}

static int check_object(const cJSON *sc, const cJSON *v, char *path, size_t plen, int depth,
                        mn_err *err)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(sc, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(sc, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(sc, "additionalProperties");
    const cJSON *x;
    char msg[200];
    int rc;
    if (!cJSON_IsObject(v))
        return MN_OK;
    if (req) {
        if (!cJSON_IsArray(req))
            return bad_schema(err, path, "\"required\" must be a list");
        cJSON_ArrayForEach(x, req)
        {
            if (!cJSON_IsString(x))
                return bad_schema(err, path, "\"required\" holds a non-string");
            if (!cJSON_GetObjectItemCaseSensitive(v, x->valuestring)) {
                snprintf(msg, sizeof msg, "required field '%.64s' is missing", x->valuestring);
                return fail(err, path, msg);
            }
        }
    }
    cJSON_ArrayForEach(x, v)
    {
        const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, x->string) : NULL;
        if (ps) {
            rc = child(ps, x, path, plen, x->string, 0, depth, err);
        } else if (cJSON_IsFalse(addl)) {
            snprintf(msg, sizeof msg, "unexpected field '%.64s'", x->string);
            return fail(err, path, msg);
        } else if (cJSON_IsObject(addl)) {
            rc = child(addl, x, path, plen, x->string, 0, depth, err);
        } else {
            rc = MN_OK;
        }
        if (rc)
            return rc;
    }
    return MN_OK;
}

static int check_bounds(const cJSON *sc, const cJSON *v, const char *path, mn_err *err)
{
    const cJSON *b;
    char msg[160];
    double n;
    if (cJSON_IsString(v)) {
        n = (double)utf8_len(v->valuestring);
        if ((b = cJSON_GetObjectItemCaseSensitive(sc, "minLength")) && n < b->valuedouble) {
            snprintf(msg, sizeof msg, "string of %.0f characters, at least %.0f expected", n,
                     b->valuedouble);
            return fail(err, path, msg);
        }
        if ((b = cJSON_GetObjectItemCaseSensitive(sc, "maxLength")) && n > b->valuedouble) {
            snprintf(msg, sizeof msg, "string of %.0f characters, at most %.0f allowed", n,
                     b->valuedouble);
            return fail(err, path, msg);
        }
    }
    if (cJSON_IsArray(v)) {
        n = cJSON_GetArraySize(v);
        if ((b = cJSON_GetObjectItemCaseSensitive(sc, "minItems")) && n < b->valuedouble) {
            snprintf(msg, sizeof msg, "%.0f items, at least %.0f expected", n, b->valuedouble);
            return fail(err, path, msg);
        }
        if ((b = cJSON_GetObjectItemCaseSensitive(sc, "maxItems")) && n > b->valuedouble) {
            snprintf(msg, sizeof msg, "%.0f items, at most %.0f allowed", n, b->valuedouble);
            return fail(err, path, msg);
        }
    }
    if (cJSON_IsNumber(v)) {
        n = v->valuedouble;
        if ((b = cJSON_GetObjectItemCaseSensitive(sc, "minimum")) && n < b->valuedouble)
            return fail(err, path, "number below the minimum");
        if ((b = cJSON_GetObjectItemCaseSensitive(sc, "maximum")) && n > b->valuedouble)
            return fail(err, path, "number above the maximum");
    }
    return MN_OK;
}

static int check_enum(const cJSON *en, const cJSON *v, const char *path, mn_err *err)
{
    const cJSON *x;
    if (!cJSON_IsArray(en))
        return bad_schema(err, path, "\"enum\" must be a list");
    cJSON_ArrayForEach(x, en)
    {
        if (cJSON_IsString(x) && cJSON_IsString(v) && !strcmp(x->valuestring, v->valuestring))
            return MN_OK;
        if (cJSON_IsNumber(x) && cJSON_IsNumber(v) && x->valuedouble == v->valuedouble)
            return MN_OK;
        if (cJSON_IsNull(x) && cJSON_IsNull(v))
            return MN_OK;
    }
    return fail(err, path, "value is not one of the allowed values");
}

static int check(const cJSON *sc, const cJSON *v, char *path, size_t plen, int depth,
                 mn_err *err)
{
    const cJSON *kw, *t;
    int rc, i;
    if (depth > MAX_DEPTH)
        return fail(err, path, "nested too deep");
    if (!cJSON_IsObject(sc))
        return bad_schema(err, path, "a schema must be an object");
    cJSON_ArrayForEach(kw, sc)
    {
        for (i = 0; known_kw[i] && strcmp(known_kw[i], kw->string); i++)
            ;
        if (!known_kw[i]) {
            char msg[120];
            snprintf(msg, sizeof msg, "unsupported keyword '%.48s'", kw->string);
            return bad_schema(err, path, msg);
        }
    }
    if ((t = cJSON_GetObjectItemCaseSensitive(sc, "type")) && (rc = check_type(t, v, path, err)))
        return rc;
    if ((t = cJSON_GetObjectItemCaseSensitive(sc, "enum")) && (rc = check_enum(t, v, path, err)))
        return rc;
    if ((rc = check_bounds(sc, v, path, err)) != MN_OK)
        return rc;
    if ((rc = check_object(sc, v, path, plen, depth, err)) != MN_OK)
        return rc;
    if (cJSON_IsArray(v) && (t = cJSON_GetObjectItemCaseSensitive(sc, "items"))) {
        const cJSON *x;
        int idx = 0;
        cJSON_ArrayForEach(x, v)
        {
            if ((rc = child(t, x, path, plen, NULL, idx, depth, err)) != MN_OK)
                return rc;
            idx++;
        }
    }
    return MN_OK;
}

int mn__jschema_check(const cJSON *schema, const cJSON *value, mn_err *err)
{
    char path[512] = "$";
    if (!schema || !value)
        return mn__err_set(err, MN_EINVAL, NULL, "schema check: no schema or no value");
    return check(schema, value, path, sizeof path, 0, err);
}
