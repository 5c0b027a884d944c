/* mcp_int.h - shared between the MCP server's files: the session state, the JSON-RPC error
 * codes, the tool table (tools.c) and the JSON Schema subset the tools' arguments are checked
 * against (schema.c). */
#ifndef MN_MCP_INT_H
#define MN_MCP_INT_H

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "mcp.h"

/* JSON-RPC 2.0 error codes. */
enum {
    MN__RPC_PARSE = -32700,
    MN__RPC_INVALID_REQUEST = -32600,
    MN__RPC_NO_METHOD = -32601,
    MN__RPC_INVALID_PARAMS = -32602,
    MN__RPC_INTERNAL = -32603
};

typedef struct mn__mcp {
    mn_db *db;
    mn__mcp_cfg cfg;
    int out_fd;
    bool initialized;        /* initialize answered */
    char version[16];        /* negotiated protocol version */
    bool structured;         /* the version has structuredContent (2025-06-18 and later) */
    cJSON *tools;            /* {"tools":[...]}: the tools/list answer, built once */
} mn__mcp;

/* ---- tools (tools.c) ---------------------------------------------------------------------*/

/* Builds the tools/list answer into m->tools (schemas depend on the default user). */
int mn__mcp_tools_init(mn__mcp *m);
/* Runs tool `name` with `args` (an object, or NULL for none). On MN_OK *out is a
 * CallToolResult (owned by the caller), isError set when the tool failed or the arguments
 * were bad. MN_ENOTFOUND when there is no such tool; MN_ENOMEM. */
int mn__mcp_tool_call(mn__mcp *m, const char *name, const cJSON *args, cJSON **out);

/* ---- JSON Schema subset (schema.c) -------------------------------------------------------*/

/* Checks value against schema: type (string, integer, number, boolean, array, object),
 * enum, minimum/maximum, minLength/maxLength, minItems/maxItems, items, properties,
 * required, additionalProperties false. On a mismatch writes a message naming the argument
 * ("argument 'k' must be from 1 to 100, got 0") into msg and returns MN_EINVAL.
 * `where` is the path of value ("kinds[1]"); NULL for the arguments object itself. */
int mn__mcp_schema_check(const cJSON *schema, const cJSON *value, const char *where,
                         char *msg, size_t cap);

#endif /* MN_MCP_INT_H */
