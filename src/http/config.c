/* config.c - the settings of `mnemo serve` as one table (name, type, default, env var, flag,
 * help) that drives the defaults, the config file, MNEMO_* variables, the flags, --help and
 * docs/CONFIG.md. Precedence: default < config file < environment < flag. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

typedef enum ctype { C_STR, C_INT, C_SIZE, C_BOOL } ctype;

typedef struct citem {
    const char *name;  /* flag --name, file key name, env MNEMO_NAME (dashes -> underscores) */
    ctype type;
    const char *def;
    size_t off;
    long long lo, hi;  /* C_INT / C_SIZE */
    const char *help;
} citem;

#define O(f) offsetof(mn__http_cfg, f)
#define KiB 1024LL
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

static const citem items[] = {
    {"host", C_STR, "127.0.0.1", O(host), 0, 0,
     "address to listen on; a non-loopback address needs an API key to exist"},
    {"port", C_INT, "8080", O(port), 0, 65535, "TCP port; 0 picks a free one and prints it"},
    {"db", C_STR, "./mnemo-data/mnemo.db", O(db), 0, 0, "SQLite database file"},
    {"store", C_STR, "", O(store), 0, 0,
     "storage, overriding --db: a SQLite file or a postgres:// URI that several nodes share "
     "(docs/SCALING.md)"},
    {"redis", C_STR, "", O(redis), 0, 0,
     "redis://host:port shared by several nodes for the query-embedding cache and the job "
     "stream; empty: local cache and jobs"},
    {"model", C_STR, "", O(model), 0, 0,
     "built-in embedding model file (default: the standard locations)"},
    {"embedder", C_STR, "builtin", O(embedder), 0, 0,
     "builtin, none (keyword search only), mock (tests), or a remote provider: openai "
     "(OpenAI-compatible: OpenAI, Ollama, vLLM, llama.cpp, TEI), azure, cohere "
     "(docs/PROVIDERS.md)"},
    {"embed-url", C_STR, "", O(embed_url), 0, 0,
     "remote embedder: base URL or endpoint; empty: the provider's public API"},
    {"embed-key", C_STR, "", O(embed_key), 0, 0,
     "remote embedder: API key; set it in the environment, not on the command line"},
    {"embed-model", C_STR, "", O(embed_model), 0, 0, "remote embedder: model name"},
    {"embed-dim", C_INT, "0", O(embed_dim), 0, 16384,
     "remote embedder: the model's vector dimension (replies are checked against it)"},
    {"embed-send-dim", C_BOOL, "false", O(embed_send_dim), 0, 0,
     "remote embedder: ask for embed-dim dimensions (models that can shorten vectors)"},
    {"embed-api-version", C_STR, "", O(embed_api_version), 0, 0,
     "Azure OpenAI: api-version (empty: 2024-02-01)"},
    {"embed-timeout-ms", C_INT, "30000", O(embed_timeout_ms), 100, 600000,
     "remote embedder: time limit of one request (queries: at most 2000)"},
    {"embed-attempts", C_INT, "4", O(embed_attempts), 1, 20,
     "remote embedder: tries per request; 429 and 5xx are retried with backoff and jitter, "
     "honouring Retry-After"},
    {"embed-batch", C_INT, "64", O(embed_batch), 1, 2048, "remote embedder: texts per request"},
    {"embed-batch-delay-ms", C_INT, "20", O(embed_batch_delay_ms), 0, 10000,
     "remote embedder: wait this long for a batch to fill before sending it"},
    {"embed-workers", C_INT, "1", O(embed_workers), 1, 16,
     "background embedding threads (remote embedders)"},
    {"embed-tenants", C_STR, "", O(embed_tenants), 0, 0,
     "JSON file giving tenants their own embedder (docs/PROVIDERS.md)"},
    {"llm-url", C_STR, "", O(llm_url), 0, 0,
     "OpenAI-compatible chat API for summaries and extraction; empty: OpenAI's"},
    {"llm-key", C_STR, "", O(llm_key), 0, 0, "LLM API key; set it in the environment"},
    {"llm-model", C_STR, "", O(llm_model), 0, 0,
     "LLM model for summaries and extraction; empty: offline (extractive summaries, rules)"},
    {"llm-timeout-ms", C_INT, "60000", O(llm_timeout_ms), 100, 600000,
     "LLM: time limit of one request"},
    {"compact-threshold", C_INT, "5000", O(compact_threshold), 0, 100000000,
     "compress a user in the background once their active messages pass this; 0: only "
     "on request (docs/COMPRESSION.md)"},
    {"extract", C_STR, "off", O(extract), 0, 0,
     "preference and fact extraction from user messages: off, rules (offline) or llm"},
    {"threads", C_INT, "0", O(threads), 0, 1024,
     "event threads serving connections; 0: one per CPU core"},
    {"write-threads", C_INT, "32", O(write_threads), 1, 4096,
     "threads running writes; writes in flight together share one commit"},
    {"max-body", C_SIZE, "1MiB", O(max_body_bytes), 1 * KiB, 1 * GiB,
     "largest JSON request body"},
    {"max-import", C_SIZE, "64MiB", O(max_import_bytes), 1 * KiB, 4 * GiB,
     "largest NDJSON body of POST /v1/import"},
    {"max-export", C_SIZE, "256MiB", O(max_export_bytes), 1 * KiB, 16 * GiB,
     "largest NDJSON reply of an export"},
    {"max-text", C_SIZE, "32KiB", O(max_text_bytes), 16, 16 * MiB,
     "longest text of one memory, query or embedding input"},
    {"max-metadata", C_SIZE, "16KiB", O(max_metadata_bytes), 16, 16 * MiB,
     "largest metadata object of one memory (compact JSON)"},
    {"max-batch", C_INT, "1000", O(max_batch), 1, 100000,
     "most messages in one request (and embedding inputs)"},
    {"max-k", C_INT, "100", O(max_k), 1, MN_MAX_K, "largest k of a search and limit of a list"},
    {"max-json-depth", C_INT, "32", O(max_json_depth), 2, 1000,
     "deepest nesting of arrays and objects in a JSON body"},
    {"max-header", C_SIZE, "32KiB", O(max_header_bytes), 4 * KiB, 1 * MiB,
     "memory for one connection's request line and headers"},
    {"max-connections", C_INT, "1024", O(max_connections), 1, 1000000,
     "open connections at once"},
    {"idle-timeout", C_INT, "60", O(idle_timeout_s), 1, 86400,
     "seconds before an idle connection is closed"},
    {"request-timeout", C_INT, "30", O(request_timeout_s), 1, 86400,
     "seconds a client has to send a whole request (headers and body) once its first line "
     "came; slower clients (slowloris) are cut off"},
    {"max-connections-per-ip", C_INT, "0", O(max_connections_per_ip), 0, 1000000,
     "open connections from one address; 0: no limit (keep 0 behind a proxy, where all "
     "clients have the proxy's address)"},
    {"rate-limit", C_INT, "0", O(rate_limit), 0, 1000000,
     "requests per second per API key; 0: no limit"},
    {"rate-burst", C_INT, "0", O(rate_burst), 0, 1000000,
     "requests a key may send at once; 0: same as rate-limit"},
    {"log-format", C_STR, "text", O(log_format), 0, 0, "text or json"},
    {"log-level", C_STR, "info", O(log_level), 0, 0, "debug, info, warn or error"},
    {"access-log", C_BOOL, "true", O(access_log), 0, 0, "one log line per request"},
    {"docs-dir", C_STR, "web/vendor/swagger-ui", O(docs_dir), 0, 0,
     "swagger-ui-dist files for /docs (scripts/setup-swagger fetches them)"},
    {"ui-dir", C_STR, "", O(ui_dir), 0, 0,
     "files of the memory inspector at /ui; empty: ui/ in the working directory, beside the "
     "executable or in share/mnemo"},
    {"sync-normal", C_BOOL, "false", O(sync_normal), 0, 0,
     "SQLite synchronous=NORMAL: faster, may lose the last commits on power loss"},
    {"memory-budget", C_SIZE, "512MiB", O(memory_budget_bytes), 1 * MiB, 1024 * GiB,
     "RAM for cached user partitions"},
    {"commit-delay-us", C_INT, "0", O(commit_delay_us), 0, 1000000,
     "group commit: extra wait for more writers, in microseconds"},
    {"shutdown-timeout", C_INT, "30", O(shutdown_timeout_s), 0, 3600,
     "seconds to let in-flight requests finish on SIGTERM"},
    {"upstream-url", C_STR, "", O(upstream_url), 0, 0,
     "proxy: base URL of the OpenAI-compatible API that /v1/chat/completions forwards to, "
     "e.g. https://api.openai.com/v1; empty: the proxy answers 503 (docs/PROXY.md)"},
    {"upstream-key", C_STR, "", O(upstream_key), 0, 0,
     "proxy: API key sent upstream as 'Authorization: Bearer'; set it in the environment, "
     "not on the command line"},
    {"upstream-timeout", C_INT, "600", O(upstream_timeout_s), 1, 86400,
     "proxy: seconds an upstream request may take in all, a streamed answer included"},
    {"upstream-connect-timeout", C_INT, "10", O(upstream_connect_timeout_s), 1, 600,
     "proxy: seconds to connect to the upstream"},
    {"proxy-context-tokens", C_INT, "1000", O(proxy_context_tokens), 0, 1000000,
     "proxy: token budget of the memory context injected into each request; 0: inject "
     "nothing, only store the exchange"},
    {"config", C_STR, "", O(config), 0, 0,
     "config file of 'name = value' lines, read before the environment"},
};

static void env_name(const citem *it, char *out, size_t cap)
{
    size_t i, o = 0;
    const char *p = "MNEMO_";
    for (i = 0; p[i] && o + 1 < cap; i++)
        out[o++] = p[i];
    for (i = 0; it->name[i] && o + 1 < cap; i++)
        out[o++] = it->name[i] == '-' ? '_' : (char)toupper((unsigned char)it->name[i]);
    out[o] = '\0';
}

/* "1MiB", "512k", "100" -> bytes. */
static int parse_size(const char *s, long long *out)
{
    static const struct {
        const char *suffix;
        long long mul;
    } units[] = {{"", 1},       {"b", 1},        {"k", KiB},  {"kb", KiB}, {"kib", KiB},
                 {"m", MiB},    {"mb", MiB},     {"mib", MiB}, {"g", GiB}, {"gb", GiB},
                 {"gib", GiB}};
    char *end;
    long long v;
    size_t i;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    for (i = 0; i < MN_ARRAY_LEN(units); i++)
        if (!strcasecmp(end, units[i].suffix)) {
            if (v > LLONG_MAX / units[i].mul)
                return -1;
            *out = v * units[i].mul;
            return 0;
        }
    return -1;
}

static int set_value(mn__http_cfg *cfg, const citem *it, const char *v, const char *from)
{
    char *base = (char *)cfg + it->off;
    long long n;
    char *end;
    switch (it->type) {
    case C_STR:
        *(const char **)base = v;
        return 0;
    case C_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
            *(bool *)base = true;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") ||
                 !strcmp(v, "off"))
            *(bool *)base = false;
        else
            goto bad;
        return 0;
    case C_INT:
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < it->lo || n > it->hi)
            goto bad;
        *(long long *)base = n;
        return 0;
    case C_SIZE:
        if (parse_size(v, &n) || n < it->lo || n > it->hi)
            goto bad;
        *(long long *)base = n;
        return 0;
    }
bad:
    fprintf(stderr, "error: %s: %s must be ", from, it->name);
    if (it->type == C_BOOL)
        fprintf(stderr, "true or false");
    else if (it->type == C_INT)
        fprintf(stderr, "an integer from %lld to %lld", it->lo, it->hi);
    else
        fprintf(stderr, "a size from %lld to %lld bytes (suffixes KiB, MiB, GiB)", it->lo,
                it->hi);
    fprintf(stderr, ", got '%s'\n", v);
    return 2;
}

static const citem *find_item(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < MN_ARRAY_LEN(items); i++)
        if (strlen(items[i].name) == len && !strncmp(items[i].name, name, len))
            return &items[i];
    return NULL;
}

/* Lines of the config file stay allocated until exit: the settings point into them. */
static char *file_text;

static int load_file(mn__http_cfg *cfg, const char *path)
{
    FILE *f = fopen(path, "rb");
    mn__buf b;
    char chunk[4096], *line, *next;
    size_t n;
    int lineno = 0, rc = 0;
    if (!f) {
        fprintf(stderr, "error: cannot open config file '%s': %s\n", path, strerror(errno));
        return 2;
    }
    mn__buf_init(&b, 1 << 20);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mn__buf_append(&b, chunk, n)) {
            fprintf(stderr, "error: config file '%s' is over 1 MiB\n", path);
            fclose(f);
            mn__buf_release(&b);
            return 2;
        }
    fclose(f);
    if (mn__buf_putc(&b, '\0')) {
        mn__buf_release(&b);
        return 2;
    }
    file_text = mn__buf_take(&b, &n);
    for (line = file_text; line && !rc; line = next) {
        char *eq, *k, *v, *e;
        char from[600];
        const citem *it;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        while (isspace((unsigned char)*line))
            line++;
        if (!*line || *line == '#')
            continue;
        eq = strchr(line, '=');
        if (!eq) {
            fprintf(stderr, "error: %s:%d: expected 'name = value', got '%s'\n", path, lineno,
                    line);
            return 2;
        }
        k = line;
        for (e = eq; e > k && isspace((unsigned char)e[-1]); e--)
            ;
        *e = '\0';
        v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        for (e = v + strlen(v); e > v && isspace((unsigned char)e[-1]); e--)
            ;
        *e = '\0';
        if (*v == '"' && e > v + 1 && e[-1] == '"') {
            v++;
            e[-1] = '\0';
        }
        it = find_item(k, strlen(k));
        if (!it || !strcmp(it->name, "config")) {
            fprintf(stderr, "error: %s:%d: unknown setting '%s'\n", path, lineno, k);
            fprintf(stderr, "hint: run 'mnemo serve --help' to see the settings\n");
            return 2;
        }
        snprintf(from, sizeof from, "%s:%d", path, lineno);
        rc = set_value(cfg, it, v, from);
    }
    return rc;
}

int mn__http_cfg_load(mn__http_cfg *cfg, int argc, char **argv)
{
    size_t i;
    int a, rc;
    const char *cfile = NULL;
    memset(cfg, 0, sizeof *cfg);
    for (i = 0; i < MN_ARRAY_LEN(items); i++)
        if (set_value(cfg, &items[i], items[i].def, "default"))
            return 2;
    /* The config file comes first so that the environment and flags override it. */
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            mn__http_cfg_help(stdout);
            return 1;
        }
        if (!strcmp(argv[a], "--config") && a + 1 < argc)
            cfile = argv[a + 1];
        else if (!strncmp(argv[a], "--config=", 9))
            cfile = argv[a] + 9;
    }
    if (!cfile && getenv("MNEMO_CONFIG") && *getenv("MNEMO_CONFIG"))
        cfile = getenv("MNEMO_CONFIG");
    if (cfile && (rc = load_file(cfg, cfile)) != 0)
        return rc;
    cfg->config = cfile ? cfile : "";
    for (i = 0; i < MN_ARRAY_LEN(items); i++) {
        char env[64];
        const char *v;
        env_name(&items[i], env, sizeof env);
        v = getenv(env);
        if (v && *v && strcmp(items[i].name, "config") && set_value(cfg, &items[i], v, env))
            return 2;
    }
    for (a = 1; a < argc; a++) {
        const char *arg = argv[a], *name, *eq, *v;
        const citem *it;
        size_t len;
        if (strncmp(arg, "--", 2) || !arg[2]) {
            fprintf(stderr, "error: unexpected argument '%s' for 'mnemo %s'\n", arg, argv[0]);
            fprintf(stderr, "hint: run 'mnemo %s --help'\n", argv[0]);
            return 2;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        len = eq ? (size_t)(eq - name) : strlen(name);
        it = find_item(name, len);
        if (!it && !eq && !strncmp(name, "no-", 3) && (it = find_item(name + 3, len - 3)) &&
            it->type == C_BOOL) {
            *(bool *)((char *)cfg + it->off) = false;
            continue;
        }
        if (!it) {
            fprintf(stderr, "error: unknown option '--%.*s' for 'mnemo %s'\n", (int)len,
                    name, argv[0]);
            fprintf(stderr, "hint: run 'mnemo %s --help' to see the options\n", argv[0]);
            return 2;
        }
        if (eq)
            v = eq + 1;
        else if (it->type == C_BOOL)
            v = "true";
        else if (a + 1 < argc)
            v = argv[++a];
        else {
            fprintf(stderr, "error: option '--%s' needs a value\n", it->name);
            return 2;
        }
        {
            char from[80];
            snprintf(from, sizeof from, "--%s", it->name);
            if (set_value(cfg, it, v, from))
                return 2;
        }
    }
    if (strcmp(cfg->log_format, "text") && strcmp(cfg->log_format, "json")) {
        fprintf(stderr, "error: log-format must be text or json, got '%s'\n", cfg->log_format);
        return 2;
    }
    {
        mn_log_level lv;
        if (mn__hlog_level_parse(cfg->log_level, &lv)) {
            fprintf(stderr, "error: log-level must be debug, info, warn or error, got '%s'\n",
                    cfg->log_level);
            return 2;
        }
    }
    return 0;
}

static void fmt_default(const citem *it, char *out, size_t cap)
{
    if (it->type == C_STR && !it->def[0])
        snprintf(out, cap, "(none)");
    else
        snprintf(out, cap, "%s", it->def);
}

void mn__http_cfg_help(FILE *f)
{
    size_t i;
    fprintf(f, "usage: mnemo serve [options]\n"
               "Run the REST API server (docs/API.md). Every option can also be set with its\n"
               "environment variable or in a config file (--config); flags win over the\n"
               "environment, which wins over the file.\n\noptions:\n");
    for (i = 0; i < MN_ARRAY_LEN(items); i++) {
        char left[64], env[64], def[64];
        const citem *it = &items[i];
        snprintf(left, sizeof left, "--%s%s", it->name,
                 it->type == C_BOOL  ? ""
                 : it->type == C_INT ? " N"
                 : it->type == C_SIZE ? " SIZE"
                                      : " VALUE");
        env_name(it, env, sizeof env);
        fmt_default(it, def, sizeof def);
        fprintf(f, "  %-26s %s\n  %-26s [%s, default %s]\n", left, it->help, "", env, def);
    }
    fprintf(f, "  %-26s %s\n", "--help", "show this help");
}

void mn__http_cfg_markdown(FILE *f)
{
    size_t i;
    fprintf(f, "| flag | environment | default | meaning |\n|---|---|---|---|\n");
    for (i = 0; i < MN_ARRAY_LEN(items); i++) {
        char env[64], def[64];
        const citem *it = &items[i];
        env_name(it, env, sizeof env);
        fmt_default(it, def, sizeof def);
        fprintf(f, "| `--%s` | `%s` | `%s` | %s |\n", it->name, env, def, it->help);
    }
}
