/* http.h - what the command line needs from the REST server: its configuration (one table
 * that also generates --help, the environment variables and docs/CONFIG.md), the route table
 * rendered as documentation, and the server's run loop. */
#ifndef MN_HTTP_H
#define MN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mnemo.h"

/* Every setting of `mnemo serve`; filled from defaults < config file < MNEMO_* < flags. */
typedef struct mn__http_cfg {
    const char *host;
    long long port;
    const char *db;
    const char *store;          /* SQLite path or postgres:// URI; "" means db */
    const char *redis;          /* redis:// URI of the shared cache and job stream; "" none */
    const char *model;
    const char *embedder;
    /* remote embedders, LLM, compression, extraction (docs/PROVIDERS.md, COMPRESSION.md) */
    const char *embed_url;
    const char *embed_key;
    const char *embed_model;
    long long embed_dim;
    bool embed_send_dim;
    const char *embed_api_version;
    long long embed_timeout_ms;
    long long embed_attempts;
    long long embed_batch;
    long long embed_batch_delay_ms;
    long long embed_workers;
    const char *embed_tenants;
    const char *llm_url;
    const char *llm_key;
    const char *llm_model;
    long long llm_timeout_ms;
    long long compact_threshold;
    const char *extract;
    long long threads;          /* 0: one per core */
    long long write_threads;    /* workers for requests that wait on a commit */
    long long max_body_bytes;
    long long max_import_bytes;
    long long max_export_bytes;
    long long max_text_bytes;
    long long max_metadata_bytes;
    long long max_batch;
    long long max_k;
    long long max_json_depth;
    long long max_header_bytes;
    long long max_connections;
    long long idle_timeout_s;
    long long request_timeout_s;      /* whole request once its first line came */
    long long max_connections_per_ip; /* 0: no limit */
    long long rate_limit;       /* requests per second per key; 0: off */
    long long rate_burst;       /* bucket size; 0: same as rate_limit */
    const char *log_format;     /* "text" or "json" */
    const char *log_level;
    bool access_log;
    const char *docs_dir;
    bool sync_normal;
    long long memory_budget_bytes;
    long long commit_delay_us;
    long long shutdown_timeout_s;
    const char *config;         /* config file, read before the environment */
    const char *upstream_url;   /* proxy: base URL of the OpenAI-compatible API; "" none */
    const char *upstream_key;   /* proxy: Bearer key for the upstream; "" none */
    long long upstream_timeout_s;
    long long upstream_connect_timeout_s;
    long long proxy_context_tokens; /* budget of the injected memory context; 0: none */
    const char *ui_dir;         /* files of /ui; "": ui/ of the checkout or the install */
} mn__http_cfg;

/* Fills cfg from the table's defaults, the config file (--config / MNEMO_CONFIG), MNEMO_*
 * variables and argv (argv[0] is the command name). Strings point into argv, the
 * environment or storage that lives until exit. Prints the error and returns 2 on bad
 * input, 1 when --help was printed, 0 otherwise. */
int mn__http_cfg_load(mn__http_cfg *cfg, int argc, char **argv);
void mn__http_cfg_help(FILE *f);
void mn__http_cfg_markdown(FILE *f);

/* The route table as a Markdown table (docs/API.md), and the OpenAPI 3.1 document. */
void mn__http_routes_markdown(FILE *f);
int mn__http_openapi_print(const mn__http_cfg *cfg, FILE *f);

/* Opens the database, starts the server and runs until SIGTERM/SIGINT; returns the exit
 * code (0 after a clean shutdown). */
int mn__http_serve(const mn__http_cfg *cfg);

#endif /* MN_HTTP_H */
