/* tools.c - the memory tools of the MCP server: their table (name, description, inputSchema,
 * hints), the tools/list answer built from it, and the handlers behind tools/call. Bad
 * arguments and failed operations are tool errors (isError) with a message the model can act
 * on; only an unknown tool is a protocol error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mcp_int.h"

typedef int (*tool_fn)(mn__mcp *m, const char *user, const cJSON *args, cJSON **out,
                       char *msg, size_t cap);

typedef struct tool {
    const char *name;
    const char *title;
    const char *description;
    const char *props;    /* members of "properties" besides user_id */
    const char *required; /* members of "required" besides user_id */
    bool read_only, destructive, idempotent;
    tool_fn run;
} tool;

#define KINDS "[\"message\",\"preference\",\"fact\",\"summary\"]"

/* The time a question is asked, for search_memory and get_context. */
#define AS_OF                                                                                \
    "\"as_of\":{\"type\":\"string\",\"description\":\"when the question is asked (ISO 8601, " \
    "e.g. 2024-05-20T09:00:00Z): 'last week' counts back from it (default: now)\"},"

static int t_add(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                 size_t cap);
static int t_search(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                    size_t cap);
static int t_context(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                     size_t cap);
static int t_list(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                  size_t cap);
static int t_forget(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                    size_t cap);

static const tool tools[] = {
    {"add_memory", "Remember something",
     "Store one memory about the user: a fact, a preference or a message worth keeping. "
     "Write it as one self-contained statement (\"Prefers window seats\"). Returns its id.",
     "\"text\":{\"type\":\"string\",\"minLength\":1,\"description\":\"what to remember\"},"
     "\"kind\":{\"enum\":" KINDS ",\"default\":\"fact\",\"description\":\"fact (default), "
     "preference, message or summary\"},"
     "\"role\":{\"enum\":[\"user\",\"assistant\",\"none\"],\"default\":\"none\","
     "\"description\":\"who said it, for messages\"},"
     "\"session_id\":{\"type\":\"string\",\"minLength\":1,\"description\":\"conversation it "
     "belongs to\"},"
     "\"metadata\":{\"type\":\"object\",\"description\":\"free-form JSON object kept with "
     "it\"},"
     "\"created_at\":{\"type\":\"string\",\"description\":\"when it happened, RFC 3339 "
     "(default: now)\"}",
     "\"text\"", false, false, false, t_add},
    {"search_memory", "Search memories",
     "Find the user's memories that best match a query (keyword and meaning), best first, "
     "with scores.",
     "\"query\":{\"type\":\"string\",\"minLength\":1,\"description\":\"what to look for\"},"
     "\"k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":@K@,\"default\":10,"
     "\"description\":\"how many results\"},"
     "\"mode\":{\"enum\":[\"hybrid\",\"vector\",\"keyword\"],\"default\":\"hybrid\"},"
     "\"min_score\":{\"type\":\"number\",\"description\":\"drop results scoring below\"},"
     "\"kinds\":{\"type\":\"array\",\"items\":{\"enum\":" KINDS "},\"description\":\"only "
     "these kinds\"},"
     AS_OF
     "\"session_id\":{\"type\":\"string\",\"minLength\":1,\"description\":\"only this "
     "conversation\"}",
     "\"query\"", true, false, true, t_search},
    {"get_context", "Get context for a question",
     "Build the memory context for a question: the user's preferences, the relevant "
     "memories with their dates and summaries of earlier conversations, as a prompt block "
     "that fits a token budget. Use it before answering a question about the user.",
     "\"query\":{\"type\":\"string\",\"minLength\":1,\"description\":\"the question to "
     "answer\"},"
     "\"max_tokens\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000000,"
     "\"description\":\"token budget of the whole block, question included (default "
     "@T@)\"},"
     "\"model\":{\"type\":\"string\",\"description\":\"chat model the block is for: its "
     "tokenizer counts the budget, e.g. gpt-4o\"},"
     "\"k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":@K@,\"description\":\"search "
     "candidates per kind\"},"
     "\"min_score\":{\"type\":\"number\",\"minimum\":0,\"description\":\"relevance "
     "threshold (default: the measured one; 0 keeps every hit)\"},"
     "\"include\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"enum\":[\"preferences\","
     "\"facts\",\"memories\",\"summaries\",\"system\"]},\"description\":\"sections to "
     "fill (default: all)\"},"
     AS_OF
     "\"session_id\":{\"type\":\"string\",\"minLength\":1,\"description\":\"only this "
     "conversation\"}",
     "\"query\"", true, false, true, t_context},
    {"list_memories", "List memories",
     "List the user's memories, newest first, a page at a time; pass next_after back as "
     "'after' for the next page.",
     "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":@K@,\"default\":20},"
     "\"after\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"cursor: next_after of "
     "the previous page\"},"
     "\"kinds\":{\"type\":\"array\",\"items\":{\"enum\":" KINDS "}},"
     "\"statuses\":{\"type\":\"array\",\"items\":{\"enum\":[\"active\",\"archived\","
     "\"superseded\"]},\"description\":\"default: active only\"},"
     "\"session_id\":{\"type\":\"string\",\"minLength\":1}",
     "", true, false, true, t_list},
    {"forget_memory", "Forget",
     "Delete one memory for good by its id, or every memory of the user with all: true.",
     "\"id\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the memory to delete\"},"
     "\"all\":{\"type\":\"boolean\",\"description\":\"true: delete everything about the "
     "user\"}",
     "", false, true, true, t_forget},
};

/* ---- tools/list ---------------------------------------------------------------------------*/

static int tool_json(const mn__mcp *m, const tool *t, mn__buf *b)
{
    char props[4096];
    bool need_user = !m->cfg.default_user;
    int rc;
    /* The property lists carry the server's limits: @K@ is the largest k, @T@ the default
     * token budget. */
    {
        const char *p = t->props;
        size_t o = 0;
        while (*p && o + 24 < sizeof props) {
            if (!strncmp(p, "@K@", 3) || !strncmp(p, "@T@", 3)) {
                o += (size_t)snprintf(props + o, sizeof props - o, "%lld",
                                      p[1] == 'K' ? (long long)m->cfg.max_k
                                                  : m->cfg.default_tokens);
                p += 3;
            } else {
                props[o++] = *p++;
            }
        }
        props[o] = '\0';
    }
    rc = mn__buf_puts(b, "{\"name\":");
    if (!rc)
        rc = mn__buf_json_str(b, t->name, strlen(t->name));
    if (!rc)
        rc = mn__buf_puts(b, ",\"title\":");
    if (!rc)
        rc = mn__buf_json_str(b, t->title, strlen(t->title));
    if (!rc)
        rc = mn__buf_puts(b, ",\"description\":");
    if (!rc)
        rc = mn__buf_json_str(b, t->description, strlen(t->description));
    if (!rc)
        rc = mn__buf_puts(b, ",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
                             "\"user_id\":{\"type\":\"string\",\"minLength\":1,"
                             "\"maxLength\":128,\"description\":");
    if (!rc && need_user)
        rc = mn__buf_puts(b, "\"whose memories\"");
    else if (!rc) {
        char d[256];
        snprintf(d, sizeof d, "whose memories (default: %.128s)", m->cfg.default_user);
        rc = mn__buf_json_str(b, d, strlen(d));
    }
    if (!rc)
        rc = mn__buf_printf(b, "}%s%s},\"required\":[%s%s%s],\"additionalProperties\":false}",
                            props[0] ? "," : "", props, t->required,
                            need_user && t->required[0] ? "," : "",
                            need_user ? "\"user_id\"" : "");
    if (!rc)
        rc = mn__buf_printf(b, ",\"annotations\":{\"title\":");
    if (!rc)
        rc = mn__buf_json_str(b, t->title, strlen(t->title));
    if (!rc)
        rc = mn__buf_printf(b, ",\"readOnlyHint\":%s,\"destructiveHint\":%s,"
                               "\"idempotentHint\":%s,\"openWorldHint\":false}}",
                            t->read_only ? "true" : "false", t->destructive ? "true" : "false",
                            t->idempotent ? "true" : "false");
    return rc;
}

int mn__mcp_tools_init(mn__mcp *m)
{
    mn__buf b;
    size_t i;
    int rc;
    mn__buf_init(&b, 1 << 20);
    rc = mn__buf_puts(&b, "{\"tools\":[");
    for (i = 0; !rc && i < MN_ARRAY_LEN(tools); i++) {
        if (i)
            rc = mn__buf_putc(&b, ',');
        if (!rc)
            rc = tool_json(m, &tools[i], &b);
    }
    if (!rc)
        rc = mn__buf_puts(&b, "]}");
    if (!rc) {
        m->tools = cJSON_ParseWithLength(b.data, b.len);
        /* The table is ours: a parse failure is a bug in it, not bad input. */
        rc = m->tools ? MN_OK : MN_EINTERNAL;
    }
    mn__buf_release(&b);
    return rc;
}

/* ---- results ------------------------------------------------------------------------------*/

/* A CallToolResult: text content, the structured value when the protocol has it. Takes
 * structured (may be NULL). text NULL: the JSON of structured. */
static cJSON *result(const mn__mcp *m, cJSON *structured, const char *text, bool is_error)
{
    cJSON *r = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(r, "content");
    cJSON *item = cJSON_CreateObject();
    char *json = NULL;
    if (!text && structured)
        text = json = cJSON_PrintUnformatted(structured);
    if (!r || !content || !item || !text || !cJSON_AddStringToObject(item, "type", "text") ||
        !cJSON_AddStringToObject(item, "text", text) ||
        !cJSON_AddItemToArray(content, item)) {
        cJSON_Delete(item);
        goto fail;
    }
    if (structured && m->structured) {
        if (!cJSON_AddItemToObject(r, "structuredContent", structured))
            goto fail;
        structured = NULL;
    }
    if (!cJSON_AddBoolToObject(r, "isError", is_error))
        goto fail;
    cJSON_Delete(structured);
    cJSON_free(json);
    return r;
fail:
    cJSON_Delete(structured);
    cJSON_Delete(r);
    cJSON_free(json);
    return NULL;
}

static cJSON *tool_error(const mn__mcp *m, const char *fmt, ...) MN_PRINTF(2, 3);
static cJSON *tool_error(const mn__mcp *m, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return result(m, NULL, msg, true);
}

/* "search failed: <message> (hint: <hint>)" into msg; returns rc. */
static int lib_error(int rc, const mn_err *err, const char *what, char *msg, size_t cap)
{
    snprintf(msg, cap, "%s: %s%s%s%s", what, err->msg[0] ? err->msg : mn_strerror(rc),
             err->hint[0] ? " (hint: " : "", err->hint, err->hint[0] ? ")" : "");
    return rc;
}

/* Adds members with one failure check at the end: cJSON's adders return NULL on OOM. */
typedef struct jb {
    cJSON *o;
    bool oom;
} jb;

static void put_num(jb *j, const char *k, double v)
{
    if (!cJSON_AddNumberToObject(j->o, k, v))
        j->oom = true;
}

static void put_str(jb *j, const char *k, const char *v)
{
    if (!(v ? cJSON_AddStringToObject(j->o, k, v) : cJSON_AddNullToObject(j->o, k)))
        j->oom = true;
}

static void put_item(jb *j, const char *k, cJSON *v)
{
    if (!v || !cJSON_AddItemToObject(j->o, k, v)) {
        cJSON_Delete(v);
        j->oom = true;
    }
}

/* A memory as the tools show it; score when hit is given. */
static cJSON *memory_json(const mn_memory *mm, const mn_hit *hit)
{
    jb j = {cJSON_CreateObject(), false};
    char t[32];
    if (!j.o)
        return NULL;
    put_num(&j, "id", (double)mm->id);
    put_str(&j, "text", mm->text ? mm->text : "");
    put_str(&j, "kind", mn_kind_name(mm->kind));
    if (mm->role != MN_ROLE_NONE)
        put_str(&j, "role", mn_role_name(mm->role));
    if (mm->session_id)
        put_str(&j, "session_id", mm->session_id);
    mn_time_format(mm->created_at_ms, t);
    put_str(&j, "created_at", t);
    if (mm->status != MN_STATUS_ACTIVE)
        put_str(&j, "status", mn_status_name(mm->status));
    if (mm->metadata_json && mm->metadata_json[0])
        put_item(&j, "metadata", cJSON_Parse(mm->metadata_json));
    if (mm->n_sources) {
        cJSON *s = cJSON_CreateArray();
        size_t i;
        for (i = 0; s && i < mm->n_sources; i++)
            if (!cJSON_AddItemToArray(s, cJSON_CreateNumber((double)mm->sources[i])))
                j.oom = true;
        put_item(&j, "sources", s);
    }
    if (hit)
        put_num(&j, "score", (double)(long long)(hit->score * 10000 + 0.5) / 10000);
    if (j.oom) {
        cJSON_Delete(j.o);
        return NULL;
    }
    return j.o;
}

static cJSON *memories_json(const mn_results *r, bool scores)
{
    cJSON *a = cJSON_CreateArray();
    size_t i;
    for (i = 0; a && i < r->n; i++) {
        cJSON *o = memory_json(&r->hits[i].mem, scores ? &r->hits[i] : NULL);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* ["fact","preference"] -> bit mask (the schema has checked the names). */
static unsigned name_mask(const cJSON *arr, bool kinds)
{
    const cJSON *it;
    unsigned mask = 0;
    for (it = arr ? arr->child : NULL; it; it = it->next)
        mask |= 1u << (kinds ? (int)mn_kind_parse(it->valuestring)
                             : (int)mn_status_parse(it->valuestring));
    return mask;
}

static const char *arg_str(const cJSON *args, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A time argument (ISO 8601 or a date) into *out_ms; absent leaves it. */
static int arg_time(const cJSON *args, const char *name, int64_t *out_ms, char *msg, size_t cap)
{
    const char *v = arg_str(args, name);
    if (v && (mn_time_parse(v, out_ms) != MN_OK || *out_ms <= 0)) {
        snprintf(msg, cap, "argument '%s' is not a time: '%.40s'; use e.g. 2024-05-20 or "
                 "2024-05-20T09:00:00Z", name, v);
        return MN_EINVAL;
    }
    return MN_OK;
}

static const cJSON *arg(const cJSON *args, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(args, name);
}

/* ---- the tools ----------------------------------------------------------------------------*/

static int t_add(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                 size_t cap)
{
    mn_memory_in in;
    const char *kind = arg_str(args, "kind"), *role = arg_str(args, "role");
    const char *when = arg_str(args, "created_at");
    const cJSON *meta = arg(args, "metadata");
    char *meta_s = NULL;
    mn_id id = 0;
    mn_err err;
    jb j;
    int rc;

    mn_memory_in_init(&in);
    in.tenant = m->cfg.tenant;
    in.user_id = user;
    in.text = arg_str(args, "text");
    in.kind = kind ? mn_kind_parse(kind) : MN_KIND_FACT;
    in.role = role ? mn_role_parse(role) : MN_ROLE_NONE;
    in.session_id = arg_str(args, "session_id");
    if (when && mn_time_parse(when, &in.created_at_ms) != MN_OK) {
        snprintf(msg, cap, "argument 'created_at' is not a time: '%.64s'; use RFC 3339 like "
                           "2024-05-01T10:00:00Z",
                 when);
        return MN_EINVAL;
    }
    if (meta && !(meta_s = cJSON_PrintUnformatted(meta)))
        return MN_ENOMEM;
    in.metadata_json = meta_s;
    rc = mn_memory_add(m->db, &in, &id, &err);
    cJSON_free(meta_s);
    if (rc)
        return lib_error(rc, &err, "cannot store the memory", msg, cap);
    j.o = cJSON_CreateObject();
    j.oom = !j.o;
    if (j.o) {
        put_num(&j, "id", (double)id);
        put_str(&j, "user_id", user);
        put_str(&j, "kind", mn_kind_name(in.kind));
        put_str(&j, "stored", "durably");
    }
    if (j.oom) {
        cJSON_Delete(j.o);
        return MN_ENOMEM;
    }
    *out = result(m, j.o, NULL, false);
    return *out ? MN_OK : MN_ENOMEM;
}

static int t_search(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                    size_t cap)
{
    mn_search_opts so;
    mn_results *res = NULL;
    const cJSON *k = arg(args, "k"), *ms = arg(args, "min_score");
    const char *mode = arg_str(args, "mode");
    mn_err err;
    jb j = {NULL, false};
    int rc;

    mn_search_opts_init(&so);
    so.filter.tenant = m->cfg.tenant;
    so.filter.user_id = user;
    so.filter.kinds = name_mask(arg(args, "kinds"), true);
    so.filter.session_id = arg_str(args, "session_id");
    so.query = arg_str(args, "query");
    so.k = k ? (int)k->valuedouble : 10;
    if (mode)
        mn_mode_parse(mode, &so.mode);
    if (ms)
        so.min_score = ms->valuedouble;
    if ((rc = arg_time(args, "as_of", &so.as_of_ms, msg, cap)))
        return rc;
    rc = mn_search(m->db, &so, &res, &err);
    if (rc)
        return lib_error(rc, &err, "search failed", msg, cap);
    j.o = cJSON_CreateObject();
    if (!j.o)
        j.oom = true;
    else {
        put_str(&j, "user_id", user);
        put_item(&j, "memories", memories_json(res, true));
        put_num(&j, "count", (double)res->n);
        put_str(&j, "mode", mn_mode_name(res->mode) ? mn_mode_name(res->mode) : "hybrid");
        if (res->note && res->note[0])
            put_str(&j, "note", res->note);
    }
    mn_results_free(res);
    if (j.oom) {
        cJSON_Delete(j.o);
        return MN_ENOMEM;
    }
    *out = result(m, j.o, NULL, false);
    return *out ? MN_OK : MN_ENOMEM;
}

static int t_list(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                  size_t cap)
{
    mn_filter f;
    mn_results *res = NULL;
    const cJSON *limit = arg(args, "limit"), *after = arg(args, "after");
    mn_err err;
    jb j = {NULL, false};
    int rc;

    mn_filter_init(&f);
    f.tenant = m->cfg.tenant;
    f.user_id = user;
    f.kinds = name_mask(arg(args, "kinds"), true);
    f.statuses = name_mask(arg(args, "statuses"), false);
    f.session_id = arg_str(args, "session_id");
    rc = mn_memory_list(m->db, &f, after ? (mn_id)after->valuedouble : 0,
                        limit ? (int)limit->valuedouble : 20, &res, &err);
    if (rc)
        return lib_error(rc, &err, "cannot list the memories", msg, cap);
    j.o = cJSON_CreateObject();
    if (!j.o)
        j.oom = true;
    else {
        put_str(&j, "user_id", user);
        put_item(&j, "memories", memories_json(res, false));
        put_num(&j, "count", (double)res->n);
        put_num(&j, "total", (double)res->total);
        if (res->next_after)
            put_num(&j, "next_after", (double)res->next_after);
        else
            put_item(&j, "next_after", cJSON_CreateNull());
    }
    mn_results_free(res);
    if (j.oom) {
        cJSON_Delete(j.o);
        return MN_ENOMEM;
    }
    *out = result(m, j.o, NULL, false);
    return *out ? MN_OK : MN_ENOMEM;
}

static int t_forget(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                    size_t cap)
{
    const cJSON *id = arg(args, "id"), *all = arg(args, "all");
    bool everything = cJSON_IsTrue(all);
    int64_t n = 0;
    mn_err err;
    jb j;
    int rc;

    if (id && everything) {
        snprintf(msg, cap, "give 'id' to delete one memory or 'all': true to delete every "
                           "memory of the user, not both");
        return MN_EINVAL;
    }
    if (!id && !everything) {
        snprintf(msg, cap, "nothing to forget: give 'id' (one memory; find it with "
                           "search_memory) or 'all': true (every memory of user '%.128s')",
                 user);
        return MN_EINVAL;
    }
    if (id) {
        rc = mn_memory_delete(m->db, m->cfg.tenant, user, (mn_id)id->valuedouble, &err);
        n = 1;
    } else {
        rc = mn_user_forget(m->db, m->cfg.tenant, user, &n, &err);
    }
    if (rc)
        return lib_error(rc, &err, "cannot forget", msg, cap);
    j.o = cJSON_CreateObject();
    j.oom = !j.o;
    if (j.o) {
        put_str(&j, "user_id", user);
        if (id)
            put_num(&j, "id", id->valuedouble);
        put_num(&j, "deleted", (double)n);
    }
    if (j.oom) {
        cJSON_Delete(j.o);
        return MN_ENOMEM;
    }
    *out = result(m, j.o, NULL, false);
    return *out ? MN_OK : MN_ENOMEM;
}

static int t_context(mn__mcp *m, const char *user, const cJSON *args, cJSON **out, char *msg,
                     size_t cap)
{
    static const struct {
        const char *name;
        unsigned bit;
    } sections[] = {{"preferences", MN_CONTEXT_PREFERENCES}, {"facts", MN_CONTEXT_FACTS},
                    {"memories", MN_CONTEXT_MEMORIES},       {"summaries", MN_CONTEXT_SUMMARIES},
                    {"system", MN_CONTEXT_SYSTEM}};
    mn_context_opts o;
    mn_context *c = NULL;
    const cJSON *k = arg(args, "k"), *ms = arg(args, "min_score"), *mt = arg(args, "max_tokens");
    const cJSON *inc = arg(args, "include"), *it;
    cJSON *structured = NULL;
    char *json = NULL;
    size_t len = 0, i;
    mn_err err;
    int rc;

    mn_context_opts_init(&o);
    o.tenant = m->cfg.tenant;
    o.user_id = user;
    o.query = arg_str(args, "query");
    o.max_tokens = (int)(mt ? (long long)mt->valuedouble : m->cfg.default_tokens);
    o.model = arg_str(args, "model");
    o.session_id = arg_str(args, "session_id");
    if (k)
        o.k = (int)k->valuedouble;
    if (ms)
        o.min_score = ms->valuedouble;
    if (inc) {
        o.include = 0;
        for (it = inc->child; it; it = it->next)
            for (i = 0; i < MN_ARRAY_LEN(sections); i++)
                if (!strcmp(it->valuestring, sections[i].name))
                    o.include |= sections[i].bit;
        if (!o.include) {
            snprintf(msg, cap, "argument 'include' is empty: name at least one section");
            return MN_EINVAL;
        }
    }
    if ((rc = arg_time(args, "as_of", &o.as_of_ms, msg, cap)))
        return rc;
    rc = mn_context_build(m->db, &o, &c, &err);
    if (rc)
        return lib_error(rc, &err, "cannot build the context", msg, cap);
    rc = mn_context_json(c, &json, &len, &err);
    if (rc) {
        mn_context_free(c);
        return rc == MN_ENOMEM ? rc : lib_error(rc, &err, "cannot build the context", msg, cap);
    }
    structured = cJSON_ParseWithLength(json, len);
    mn_free(json);
    if (!structured) {
        mn_context_free(c);
        return MN_ENOMEM;
    }
    /* The agent has the question already: the text is what it did not know. */
    *out = result(m, structured, c->memories_len ? c->memories
                                                 : "No memory of this user is relevant to "
                                                   "the question.",
                  false);
    mn_context_free(c);
    return *out ? MN_OK : MN_ENOMEM;
}

/* ---- tools/call ---------------------------------------------------------------------------*/

int mn__mcp_tool_call(mn__mcp *m, const char *name, const cJSON *args, cJSON **out)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(m->tools, "tools"), *t;
    cJSON *empty = NULL;
    const char *user;
    char msg[768];
    size_t i;
    int rc;

    *out = NULL;
    for (i = 0, t = list->child; t; t = t->next, i++)
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring, name))
            break;
    if (!t)
        return MN_ENOTFOUND;
    if (!args)
        args = empty = cJSON_CreateObject();
    if (!args)
        return MN_ENOMEM;
    msg[0] = '\0';
    if (mn__mcp_schema_check(cJSON_GetObjectItemCaseSensitive(t, "inputSchema"), args, NULL, msg,
                             sizeof msg)) {
        *out = tool_error(m, "invalid arguments for %s: %s", name, msg);
        goto done;
    }
    user = arg_str(args, "user_id");
    if (!user)
        user = m->cfg.default_user;
    if (!user) {
        *out = tool_error(m, "invalid arguments for %s: argument 'user_id' is required (this "
                             "server has no default user; start it with --user ID)",
                          name);
        goto done;
    }
    rc = tools[i].run(m, user, args, out, msg, sizeof msg);
    if (rc == MN_ENOMEM) {
        cJSON_Delete(*out);
        *out = NULL;
    } else if (rc) {
        *out = tool_error(m, "%s", msg);
    }
done:
    cJSON_Delete(empty);
    return *out ? MN_OK : MN_ENOMEM;
}
