/* rpc.c - the MCP session over stdio: newline-delimited JSON-RPC 2.0 messages in, one reply
 * line per request out (none for notifications), protocol version negotiation, and the
 * methods initialize, ping, tools/list and tools/call. Malformed messages get the JSON-RPC
 * error codes; stdout carries protocol messages only, diagnostics go to stderr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mcp_int.h"

/* Newest first. The first is what a client asking for an unknown version is offered. */
static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* ---- output -------------------------------------------------------------------------------*/

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MN_EIO;
        p += w;
        n -= (size_t)w;
    }
    return MN_OK;
}

/* Writes one message as a line. cJSON escapes control characters inside strings, so the
 * compact form never holds a raw newline. */
static int send_msg(mn__mcp *m, const cJSON *msg)
{
    char *s = cJSON_PrintUnformatted(msg);
    int rc;
    if (!s)
        return MN_ENOMEM;
    rc = write_all(m->out_fd, s, strlen(s));
    if (!rc)
        rc = write_all(m->out_fd, "\n", 1);
    cJSON_free(s);
    return rc;
}

/* {"jsonrpc":"2.0","id":<id or null>, ...}; id is copied. */
static cJSON *envelope(const cJSON *id)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *idc = id ? cJSON_Duplicate(id, true) : cJSON_CreateNull();
    if (!r || !idc || !cJSON_AddStringToObject(r, "jsonrpc", "2.0") ||
        !cJSON_AddItemToObject(r, "id", idc)) {
        cJSON_Delete(r);
        cJSON_Delete(idc);
        return NULL;
    }
    return r;
}

static cJSON *error_reply(const cJSON *id, int code, const char *fmt, ...) MN_PRINTF(3, 4);
static cJSON *error_reply(const cJSON *id, int code, const char *fmt, ...)
{
    cJSON *r = envelope(id), *e = cJSON_CreateObject();
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r || !e || !cJSON_AddNumberToObject(e, "code", code) ||
        !cJSON_AddStringToObject(e, "message", msg) || !cJSON_AddItemToObject(r, "error", e)) {
        cJSON_Delete(r);
        cJSON_Delete(e);
        return NULL;
    }
    return r;
}

/* Takes result. */
static cJSON *result_reply(const cJSON *id, cJSON *result)
{
    cJSON *r = result ? envelope(id) : NULL;
    if (!r || !cJSON_AddItemToObject(r, "result", result)) {
        cJSON_Delete(r);
        cJSON_Delete(result);
        return NULL;
    }
    return r;
}

/* ---- methods ------------------------------------------------------------------------------*/

static cJSON *do_initialize(mn__mcp *m, const cJSON *id, const cJSON *params)
{
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(params, "clientInfo");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(ci, "name");
    const char *chosen = versions[0];
    cJSON *res;
    char instr[512];
    size_t i;

    if (!cJSON_IsString(pv))
        return error_reply(id, MN__RPC_INVALID_PARAMS,
                           "initialize needs params.protocolVersion (a string)");
    for (i = 0; i < MN_ARRAY_LEN(versions); i++)
        if (!strcmp(pv->valuestring, versions[i]))
            chosen = versions[i];
    snprintf(m->version, sizeof m->version, "%s", chosen);
    m->structured = strcmp(chosen, "2025-06-18") >= 0;
    m->initialized = true;
    fprintf(stderr, "mnemo mcp: session with %s: protocol %s (asked %.32s)\n",
            cJSON_IsString(cn) ? cn->valuestring : "a client", chosen, pv->valuestring);
    if (m->cfg.default_user)
        snprintf(instr, sizeof instr,
                 "Long-term memory of user '%.128s' (tenant '%.128s'). Call get_context or "
                 "search_memory before answering questions about the user; call add_memory "
                 "to keep facts and preferences worth remembering.",
                 m->cfg.default_user, m->cfg.tenant ? m->cfg.tenant : "default");
    else
        snprintf(instr, sizeof instr,
                 "Long-term memory of users (tenant '%.128s'); every tool takes the user_id. "
                 "Call get_context or search_memory before answering questions about a "
                 "user; call add_memory to keep facts and preferences worth remembering.",
                 m->cfg.tenant ? m->cfg.tenant : "default");
    res = cJSON_CreateObject();
    {
        cJSON *caps = cJSON_AddObjectToObject(res, "capabilities");
        cJSON *tools = caps ? cJSON_AddObjectToObject(caps, "tools") : NULL;
        cJSON *info = cJSON_AddObjectToObject(res, "serverInfo");
        if (!res || !cJSON_AddStringToObject(res, "protocolVersion", chosen) || !tools ||
            !cJSON_AddFalseToObject(tools, "listChanged") || !info ||
            !cJSON_AddStringToObject(info, "name", "mnemo") ||
            !cJSON_AddStringToObject(info, "title", "mnemo memory") ||
            !cJSON_AddStringToObject(info, "version", mn_version()) ||
            !cJSON_AddStringToObject(res, "instructions", instr)) {
            cJSON_Delete(res);
            return NULL;
        }
    }
    return result_reply(id, res);
}

static cJSON *do_tools_call(mn__mcp *m, const cJSON *id, const cJSON *params)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    cJSON *res = NULL;
    int rc;
    if (!cJSON_IsString(name))
        return error_reply(id, MN__RPC_INVALID_PARAMS,
                           "tools/call needs params.name, the tool's name (a string)");
    if (args && cJSON_IsNull(args))
        args = NULL;
    if (args && !cJSON_IsObject(args))
        return error_reply(id, MN__RPC_INVALID_PARAMS,
                           "params.arguments of tools/call must be an object");
    rc = mn__mcp_tool_call(m, name->valuestring, args, &res);
    if (rc == MN_ENOTFOUND)
        return error_reply(id, MN__RPC_INVALID_PARAMS,
                           "Unknown tool: '%.64s'; the tools are add_memory, search_memory, "
                           "get_context, list_memories, forget_memory",
                           name->valuestring);
    if (rc)
        return error_reply(id, MN__RPC_INTERNAL, "out of memory running %.64s",
                           name->valuestring);
    if (m->cfg.verbose) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(res, "isError");
        fprintf(stderr, "mnemo mcp: tools/call %s%s\n", name->valuestring,
                cJSON_IsTrue(err) ? ": tool error" : "");
    }
    return result_reply(id, res);
}

/* One request or notification. Returns the reply (NULL for a notification, or on OOM with
 * *oom set). */
static cJSON *handle(mn__mcp *m, const cJSON *msg, bool *oom)
{
    const cJSON *jv = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    bool notification = !id;
    const char *mth;
    cJSON *r;

    *oom = false;
    if (!cJSON_IsObject(msg))
        return error_reply(NULL, MN__RPC_INVALID_REQUEST,
                           "Invalid Request: a message must be a JSON object");
    if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
        return error_reply(NULL, MN__RPC_INVALID_REQUEST,
                           "Invalid Request: id must be a string or a number");
    if (!method && (cJSON_GetObjectItemCaseSensitive(msg, "result") ||
                    cJSON_GetObjectItemCaseSensitive(msg, "error")))
        return NULL; /* a response: this server sends no requests, so nothing waits for it */
    if (!cJSON_IsString(jv) || strcmp(jv->valuestring, "2.0"))
        return error_reply(id, MN__RPC_INVALID_REQUEST,
                           "Invalid Request: \"jsonrpc\" must be \"2.0\"");
    if (!cJSON_IsString(method))
        return error_reply(id, MN__RPC_INVALID_REQUEST,
                           "Invalid Request: \"method\" must be a string");
    if (params && !cJSON_IsObject(params))
        return notification ? NULL
                            : error_reply(id, MN__RPC_INVALID_PARAMS,
                                          "params of %.64s must be an object",
                                          method->valuestring);
    mth = method->valuestring;
    if (notification) {
        /* notifications/initialized, notifications/cancelled, ...: nothing to answer, and
         * a request runs to its end before the next is read, so nothing to cancel. */
        if (m->cfg.verbose)
            fprintf(stderr, "mnemo mcp: notification %.64s\n", mth);
        return NULL;
    }
    if (!strcmp(mth, "initialize"))
        r = do_initialize(m, id, params);
    else if (!strcmp(mth, "ping"))
        r = result_reply(id, cJSON_CreateObject());
    else if (!m->initialized)
        r = error_reply(id, MN__RPC_INVALID_REQUEST,
                        "Invalid Request: %.64s before initialize; send initialize first", mth);
    else if (!strcmp(mth, "tools/list"))
        r = result_reply(id, cJSON_Duplicate(m->tools, true));
    else if (!strcmp(mth, "tools/call"))
        r = do_tools_call(m, id, params);
    else
        r = error_reply(id, MN__RPC_NO_METHOD, "Method not found: %.64s", mth);
    *oom = !r;
    return r;
}

static bool blank(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* A line: one message, or a batch (a JSON array, allowed by protocol 2025-03-26). */
static int process_line(mn__mcp *m, const char *line, size_t len)
{
    cJSON *msg = NULL, *reply = NULL, *batch = NULL;
    const char *end = NULL;
    size_t bad = 0;
    bool oom = false;
    int rc = MN_OK;

    if (!mn__utf8_valid(line, len, &bad)) {
        reply = error_reply(NULL, MN__RPC_PARSE, "Parse error: invalid UTF-8 at byte %zu", bad);
        goto send;
    }
    msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!msg) {
        size_t off = end && end >= line && end <= line + len ? (size_t)(end - line) : 0;
        reply = error_reply(NULL, MN__RPC_PARSE, "Parse error: not valid JSON near byte %zu",
                            off);
        goto send;
    }
    if (!blank(end, (size_t)(line + len - end))) {
        reply = error_reply(NULL, MN__RPC_PARSE,
                            "Parse error: data after the JSON value at byte %zu; send one "
                            "message per line",
                            (size_t)(end - line));
        goto send;
    }
    if (!cJSON_IsArray(msg)) {
        reply = handle(m, msg, &oom);
        goto send;
    }
    if (!msg->child) {
        reply = error_reply(NULL, MN__RPC_INVALID_REQUEST, "Invalid Request: empty batch");
        goto send;
    }
    batch = cJSON_CreateArray();
    if (!batch) {
        rc = MN_ENOMEM;
        goto done;
    }
    {
        const cJSON *it;
        for (it = msg->child; it; it = it->next) {
            cJSON *r = handle(m, it, &oom);
            if (oom)
                break;
            if (r)
                cJSON_AddItemToArray(batch, r);
        }
    }
    if (batch->child && !oom)
        rc = send_msg(m, batch);
    goto done;
send:
    if (reply)
        rc = send_msg(m, reply);
done:
    if (oom && !rc) {
        cJSON *e = error_reply(NULL, MN__RPC_INTERNAL, "Internal error: out of memory");
        rc = e ? send_msg(m, e) : MN_ENOMEM;
        cJSON_Delete(e);
    }
    cJSON_Delete(reply);
    cJSON_Delete(batch);
    cJSON_Delete(msg);
    return rc;
}

/* ---- the loop -----------------------------------------------------------------------------*/

int mn__mcp_run(mn_db *db, const mn__mcp_cfg *cfg, int in_fd, int out_fd)
{
    mn__mcp m;
    mn__buf line;
    char chunk[65536];
    bool skipping = false; /* dropping the rest of a line over the limit */
    int rc = MN_OK;

    memset(&m, 0, sizeof m);
    m.db = db;
    m.cfg = *cfg;
    m.out_fd = out_fd;
    if (!m.cfg.max_line_bytes)
        m.cfg.max_line_bytes = 4u << 20;
    if (m.cfg.max_k <= 0)
        m.cfg.max_k = 100;
    if (m.cfg.default_tokens <= 0)
        m.cfg.default_tokens = 1000;
    if (mn__mcp_tools_init(&m)) {
        fprintf(stderr, "mnemo mcp: error: cannot build the tool list\n");
        return 1;
    }
    mn__buf_init(&line, m.cfg.max_line_bytes);
    for (;;) {
        ssize_t n = read(in_fd, chunk, sizeof chunk);
        const char *p, *end;
        if (n < 0 && errno == EINTR) {
            if (cfg->stop && *cfg->stop)
                break;
            continue;
        }
        if (n <= 0)
            break;
        for (p = chunk, end = chunk + n; p < end && !rc;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t take = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (!skipping && mn__buf_append(&line, p, take)) {
                cJSON *e = error_reply(NULL, MN__RPC_INVALID_REQUEST,
                                       "Invalid Request: message over the limit of %zu bytes",
                                       m.cfg.max_line_bytes);
                rc = e ? send_msg(&m, e) : MN_ENOMEM;
                cJSON_Delete(e);
                skipping = true;
                mn__buf_release(&line);
                mn__buf_init(&line, m.cfg.max_line_bytes);
            }
            p += take;
            if (!nl)
                break;
            p++;
            if (!skipping && !blank(line.data ? line.data : "", line.len))
                rc = process_line(&m, line.data, line.len);
            skipping = false;
            line.len = 0;
        }
        if (rc)
            break;
    }
    /* A last message without its newline still counts. */
    if (!rc && !skipping && line.len && !blank(line.data, line.len))
        rc = process_line(&m, line.data, line.len);
    mn__buf_release(&line);
    cJSON_Delete(m.tools);
    if (rc == MN_EIO)
        fprintf(stderr, "mnemo mcp: the client closed the output; stopping\n");
    else if (rc)
        fprintf(stderr, "mnemo mcp: error: %s\n", mn_strerror(rc));
    return rc ? 1 : 0;
}
