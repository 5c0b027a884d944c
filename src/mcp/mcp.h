/* mcp.h - what the command line needs from the MCP server of `mnemo mcp`: JSON-RPC 2.0 as
 * newline-delimited JSON on a pair of file descriptors (stdin/stdout), serving memory tools
 * (add, search, context, list, forget) on one open database. Logs go to stderr only. */
#ifndef MN_MCP_H
#define MN_MCP_H

#include <stdbool.h>
#include <stddef.h>

#include "mnemo.h"

typedef struct mn__mcp_cfg {
    const char *tenant;       /* every call's tenant; NULL: "default" */
    const char *default_user; /* user_id of calls that give none; NULL: user_id is required */
    size_t max_line_bytes;    /* longest message; 0: 4 MiB */
    int max_k;                /* largest k and list limit; 0: 100 */
    long long default_tokens; /* get_context budget when the call gives none; 0: 1000 */
    bool verbose;             /* one stderr line per request */
    const volatile int *stop; /* set by a signal handler: stop at the next interrupted read */
} mn__mcp_cfg;

/* Reads messages from in_fd and writes replies to out_fd until end of input. `db` is
 * borrowed and must stay open for the call. Returns 0 at end of input, 1 when the output
 * cannot be written (the client went away) or memory runs out. */
int mn__mcp_run(mn_db *db, const mn__mcp_cfg *cfg, int in_fd, int out_fd);

#endif /* MN_MCP_H */
