/* schema.c - checks a tool's arguments against its own inputSchema, so that the schema the
 * client sees is the one rule the server applies. Only the subset the tools use: type, enum,
 * bounds, lengths, items, properties, required and additionalProperties false. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mcp_int.h"

static const char *type_of(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsNumber(v))
        return v->valuedouble == floor(v->valuedouble) ? "an integer" : "a number";
    return "an unknown value";
}

static bool is_type(const cJSON *v, const char *type)
{
    if (!strcmp(type, "string"))
        return cJSON_IsString(v);
    if (!strcmp(type, "integer"))
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
               v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9.0e15;
    if (!strcmp(type, "number"))
        return cJSON_IsNumber(v) && isfinite(v->valuedouble);
    if (!strcmp(type, "boolean"))
        return cJSON_IsBool(v);
    if (!strcmp(type, "array"))
        return cJSON_IsArray(v);
    if (!strcmp(type, "object"))
        return cJSON_IsObject(v);
    return false;
}

static bool json_equal(const cJSON *a, const cJSON *b)
{
    return cJSON_Compare(a, b, true) != 0;
}

/* "one of a, b, c" from an enum array. */
static void enum_list(const cJSON *e, char *out, size_t cap)
{
    const cJSON *it;
    size_t o = 0;
    out[0] = '\0';
    for (it = e->child; it && o < cap; it = it->next) {
        char *s = cJSON_PrintUnformatted(it);
        if (!s)
            break;
        o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? ", " : "", s);
        cJSON_free(s);
    }
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int mn__mcp_schema_check(const cJSON *schema, const cJSON *value, const char *where, char *msg,
                         size_t cap)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(schema, "minimum");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(schema, "maximum");
    char w[200];

    if (where)
        snprintf(w, sizeof w, "argument '%.160s'", where);
    else
        snprintf(w, sizeof w, "the arguments");

    if (cJSON_IsString(type) && !is_type(value, type->valuestring)) {
        snprintf(msg, cap, "%s must be %s %s, got %s", w,
                 strchr("aeiou", type->valuestring[0]) ? "an" : "a", type->valuestring,
                 type_of(value));
        return MN_EINVAL;
    }
    if (cJSON_IsArray(en)) {
        const cJSON *it;
        for (it = en->child; it; it = it->next)
            if (json_equal(it, value))
                break;
        if (!it) {
            char list[256], *got = cJSON_PrintUnformatted(value);
            enum_list(en, list, sizeof list);
            snprintf(msg, cap, "%s must be one of %s, got %.64s", w, list, got ? got : "?");
            cJSON_free(got);
            return MN_EINVAL;
        }
    }
    if (cJSON_IsNumber(value) &&
        ((cJSON_IsNumber(lo) && value->valuedouble < lo->valuedouble) ||
         (cJSON_IsNumber(hi) && value->valuedouble > hi->valuedouble))) {
        if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi))
            snprintf(msg, cap, "%s must be from %g to %g, got %g", w, lo->valuedouble,
                     hi->valuedouble, value->valuedouble);
        else if (cJSON_IsNumber(lo))
            snprintf(msg, cap, "%s must be at least %g, got %g", w, lo->valuedouble,
                     value->valuedouble);
        else
            snprintf(msg, cap, "%s must be at most %g, got %g", w, hi->valuedouble,
                     value->valuedouble);
        return MN_EINVAL;
    }
    if (cJSON_IsString(value)) {
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(schema, "minLength");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(schema, "maxLength");
        size_t n = utf8_chars(value->valuestring);
        if (cJSON_IsNumber(mn) && (double)n < mn->valuedouble) {
            snprintf(msg, cap, "%s must not be empty", w);
            return MN_EINVAL;
        }
        if (cJSON_IsNumber(mx) && (double)n > mx->valuedouble) {
            snprintf(msg, cap, "%s is %zu characters long, at most %g are allowed", w, n,
                     mx->valuedouble);
            return MN_EINVAL;
        }
    }
    if (cJSON_IsArray(value)) {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(schema, "minItems");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(schema, "maxItems");
        const cJSON *it;
        int i = 0, n = cJSON_GetArraySize(value);
        if ((cJSON_IsNumber(mn) && n < mn->valuedouble) ||
            (cJSON_IsNumber(mx) && n > mx->valuedouble)) {
            snprintf(msg, cap, "%s has %d items, allowed %g to %g", w, n,
                     cJSON_IsNumber(mn) ? mn->valuedouble : 0.0,
                     cJSON_IsNumber(mx) ? mx->valuedouble : 1e9);
            return MN_EINVAL;
        }
        for (it = value->child; items && it; it = it->next, i++) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s[%d]", where ? where : "", i);
            if (mn__mcp_schema_check(items, it, sub, msg, cap))
                return MN_EINVAL;
        }
    }
    if (cJSON_IsObject(value)) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
        const cJSON *it;
        for (it = req ? req->child : NULL; it; it = it->next)
            if (cJSON_IsString(it) && !cJSON_GetObjectItemCaseSensitive(value, it->valuestring)) {
                snprintf(msg, cap, "argument '%s%s%s' is required", where ? where : "",
                         where ? "." : "", it->valuestring);
                return MN_EINVAL;
            }
        for (it = value->child; it; it = it->next) {
            const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, it->string) : NULL;
            char sub[160];
            if (!ps) {
                if (cJSON_IsFalse(extra)) {
                    char list[256];
                    const cJSON *p;
                    size_t o = 0;
                    list[0] = '\0';
                    for (p = props ? props->child : NULL; p && o < sizeof list; p = p->next)
                        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "",
                                              p->string);
                    snprintf(msg, cap, "unknown argument '%.64s'; the arguments are: %s",
                             it->string, list);
                    return MN_EINVAL;
                }
                continue;
            }
            if (where)
                snprintf(sub, sizeof sub, "%.80s.%.64s", where, it->string);
            else
                snprintf(sub, sizeof sub, "%.64s", it->string);
            if (mn__mcp_schema_check(ps, it, sub, msg, cap))
                return MN_EINVAL;
        }
    }
    return MN_OK;
}
