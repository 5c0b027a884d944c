/* fuzz_mcp.c - target mcp: the input is what an MCP client writes to `mnemo mcp`'s stdin
 * (newline-delimited JSON-RPC 2.0: initialize, tools/list, tools/call with any arguments,
 * notifications, garbage). The server runs over it to its end on a real database; every
 * line it writes back must be a JSON-RPC 2.0 object with a result or an error. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/core/core.h"
#include "../src/mcp/mcp.h"
#include "fuzz.h"

#include <cjson/cJSON.h>

static void check_output(int fd)
{
    mn__buf b;
    char chunk[65536];
    ssize_t n;
    const char *line;
    mn__buf_init(&b, 64u << 20);
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        if (mn__buf_append(&b, chunk, (size_t)n))
            fz_fail("the MCP server wrote over 64 MiB");
    for (line = b.data; line && line < b.data + b.len;) {
        const char *nl = memchr(line, '\n', (size_t)(b.data + b.len - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(b.data + b.len - line);
        cJSON *j = cJSON_ParseWithLength(line, len);
        const cJSON *r;
        if (!j || (cJSON_IsArray(j) && !j->child))
            fz_fail("MCP reply is not JSON: %.300s", line);
        /* A batch is answered by an array of responses. */
        for (r = cJSON_IsArray(j) ? j->child : j; r; r = cJSON_IsArray(j) ? r->next : NULL) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "jsonrpc");
            if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") ||
                (!cJSON_GetObjectItemCaseSensitive(r, "result") &&
                 !cJSON_GetObjectItemCaseSensitive(r, "error")))
                fz_fail("MCP reply is not a JSON-RPC 2.0 response: %.300s", line);
        }
        cJSON_Delete(j);
        line = nl ? nl + 1 : NULL;
    }
    mn__buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mn_db *db = fz_db("mcp", "mock");
    mn__mcp_cfg cfg;
    int in = memfd_create("mcp-in", 0), out = memfd_create("mcp-out", 0);
    int rc;
    if (in < 0 || out < 0)
        fz_fail("memfd_create failed");
    if (size && write(in, data, size) != (ssize_t)size)
        fz_fail("cannot write the input");
    lseek(in, 0, SEEK_SET);
    memset(&cfg, 0, sizeof cfg);
    cfg.default_user = "u";
    cfg.max_line_bytes = 1u << 20;
    rc = mn__mcp_run(db, &cfg, in, out);
    if (rc != 0)
        fz_fail("mn__mcp_run returned %d on input it read to its end", rc);
    check_output(out);
    close(in);
    close(out);
    return 0;
}
