/* routes.c - the route table: the one place a route is declared. It drives the router, the
 * OpenAPI document, docs/API.md (mnemo routes --markdown) and the HTTP test that every route
 * has a success and an error case. Also the documented query parameters and schemas. */
#include <string.h>

#include "h_mem0.h"
#include "http_int.h"

#define NONE MN__H_BODY_NONE
#define JSON MN__H_BODY_JSON
#define NDJSON MN__H_BODY_NDJSON
#define LISTQ "limit,after,kind,status,session_id,since,until,query,k,mode,min_score,as_of"

const mn__route mn__routes[] = {
    {"GET", "/v1/users", mn__h_users_list, NONE, true, "listUsers", "users",
     "Users of the tenant with their memory counts, by user id (paginated).", "limit,after",
     NULL, 200, "UserList", NULL, false},
    {"POST", "/v1/users/{user}/messages", mn__h_messages_add, JSON, true, "addMessages",
     "memories",
     "Store one message, or a batch as {\"messages\":[...]} (all or nothing).", NULL,
     "MessagesIn", 201, "Added", NULL, true},
    {"GET", "/v1/users/{user}/memories", mn__h_memories_list, NONE, true, "listMemories",
     "memories",
     "List a user's memories newest first with filters; with ?query= search them instead.",
     LISTQ, NULL, 200, "MemoryList", NULL, false},
    {"GET", "/v1/users/{user}/memories/{id}", mn__h_memory_get, NONE, true, "getMemory",
     "memories", "One memory with its sources and the history of its earlier versions.", NULL,
     NULL, 200, "MemoryWithHistory", NULL, false},
    {"PATCH", "/v1/users/{user}/memories/{id}", mn__h_memory_patch, JSON, true, "updateMemory",
     "memories", "Edit a memory's text, metadata or status; the old version goes to history.",
     NULL, "MemoryPatch", 200, "Memory", NULL, true},
    {"DELETE", "/v1/users/{user}/memories/{id}", mn__h_memory_delete, NONE, true,
     "deleteMemory", "memories", "Forget one memory for good.", NULL, NULL, 200, "Deleted",
     NULL, true},
    {"DELETE", "/v1/users/{user}", mn__h_user_forget, NONE, true, "forgetUser", "users",
     "Forget everything about a user (GDPR erasure).", NULL, NULL, 200, "Forgotten", NULL, true},
    {"POST", "/v1/users/{user}/compact", mn__h_compact, JSON, true, "compactUser", "memories",
     "Compress the user's memories now: related messages are summarized and archived "
     "(still searchable with status=archived); {} takes the defaults (docs/COMPRESSION.md).",
     NULL, "CompactIn", 200, "Compacted", NULL, true},
    {"POST", "/v1/users/{user}/context", mn__h_context, JSON, true, "buildContext", "memories",
     "The memories that matter for a question, as a prompt block under a token budget (exact "
     "BPE count), with the items, token counts and an OpenAI messages array "
     "(docs/CONTEXT.md).",
     NULL, "ContextIn", 200, "Context", NULL, false},
    {"GET", "/v1/users/{user}/export", mn__h_user_export, NONE, true, "exportUser", "users",
     "A user's memories as NDJSON, oldest first (the format POST /v1/import reads).", NULL,
     NULL, 200, NULL, "application/x-ndjson", false},
    {"POST", "/v1/import", mn__h_import, NDJSON, true, "importMemories", "users",
     "Bulk load NDJSON as written by export into the tenant (new ids; all or nothing).", NULL,
     "Ndjson", 200, "Imported", NULL, true},
    {"POST", "/v1/system/memories", mn__h_system_add, JSON, true, "addSystemMemories", "system",
     "Store tenant-wide memories (product facts, rules), one or {\"memories\":[...]}.", NULL,
     "SystemIn", 201, "Added", NULL, true},
    {"GET", "/v1/system/memories", mn__h_system_list, NONE, true, "listSystemMemories",
     "system", "List the tenant's system memories; with ?query= search them.", LISTQ, NULL,
     200, "MemoryList", NULL, false},
    {"POST", "/v1/embeddings", mn__h_embeddings, JSON, true, "createEmbeddings", "embeddings",
     "OpenAI-compatible embeddings from the server's embedder.", NULL, "EmbeddingsIn", 200,
     "EmbeddingsOut", NULL, false},
    {"POST", "/v1/chat/completions", mn__h_chat_completions, JSON, true, "createChatCompletion",
     "proxy",
     "OpenAI-compatible chat completion with memory: the context of the last user message "
     "(user from X-Mnemo-User or 'user') is injected, the request goes to the upstream, the "
     "answer (or its event stream) comes back unchanged and the exchange is stored "
     "(docs/PROXY.md).",
     NULL, "ChatIn", 200, "ChatOut", NULL, true},
    {"GET", "/v1/models", mn__h_models, NONE, true, "listModels", "proxy",
     "The upstream's models, passed through.", NULL, NULL, 200, "ModelList", NULL, true},
    /* mem0-compatible surface (docs/MEM0.md): the paths and shapes mem0's MemoryClient uses.
     * Left out of /openapi.json and the API.md list (their contract is mem0's, listed in
     * docs/MEM0.md); tests/suites/mem0.sh drives them with the official client. */
    {"GET", "/v1/ping/", mn__h_m0_ping, NONE, true, "mem0Ping", "mem0",
     "mem0: check the key (project_id is the tenant).", NULL, NULL, 200, NULL, NULL, false},
    {"POST", "/v3/memories/add/", mn__h_m0_add, JSON, true, "mem0Add", "mem0",
     "mem0: store messages (infer false) or store them and extract facts (infer true).", NULL,
     NULL, 200, NULL, NULL, true},
    {"POST", "/v3/memories/", mn__h_m0_list, JSON, true, "mem0List", "mem0",
     "mem0: memories matching filters, newest first, by page.", "page,page_size", NULL, 200,
     NULL, NULL, false},
    {"GET", "/v3/memories/", mn__h_m0_list, NONE, true, "mem0ListGet", "mem0",
     "mem0: the same with the entity in the query string.",
     "user_id,agent_id,app_id,run_id,page,page_size,start_date,end_date", NULL, 200, NULL, NULL,
     false},
    {"POST", "/v3/memories/search/", mn__h_m0_search, JSON, true, "mem0Search", "mem0",
     "mem0: ranked search within filters (top_k, threshold).", NULL, NULL, 200, NULL, NULL,
     false},
    /* the v1/v2 paths of mem0ai 2.x clients */
    {"POST", "/v1/memories/", mn__h_m0_add, JSON, true, "mem0AddV1", "mem0",
     "mem0 (2.x clients): store messages, as /v3/memories/add/.", NULL, NULL, 200, NULL, NULL,
     true},
    {"GET", "/v1/memories/", mn__h_m0_list_v1, NONE, true, "mem0ListV1", "mem0",
     "mem0 (2.x clients): memories of the entity in the query string, newest first.",
     "user_id,agent_id,app_id,run_id,page,page_size,start_date,end_date,org_id,project_id",
     NULL, 200, NULL, NULL, false},
    {"POST", "/v2/memories/", mn__h_m0_list_v2, JSON, true, "mem0ListV2", "mem0",
     "mem0 (2.x clients): memories matching filters, newest first.", "page,page_size", NULL,
     200, NULL, NULL, false},
    {"POST", "/v1/memories/search/", mn__h_m0_search_v1, JSON, true, "mem0SearchV1", "mem0",
     "mem0 (2.x clients): ranked search of the entity named in the body.", NULL, NULL, 200,
     NULL, NULL, false},
    {"POST", "/v2/memories/search/", mn__h_m0_search_v2, JSON, true, "mem0SearchV2", "mem0",
     "mem0 (2.x clients): ranked search within filters.", NULL, NULL, 200, NULL, NULL, false},
    {"GET", "/v1/memories/{memory_id}/", mn__h_m0_get, NONE, true, "mem0Get", "mem0",
     "mem0: one memory.", NULL, NULL, 200, NULL, NULL, false},
    {"PUT", "/v1/memories/{memory_id}/", mn__h_m0_update, JSON, true, "mem0Update", "mem0",
     "mem0: change a memory's text or metadata (the old version goes to history).", NULL, NULL,
     200, NULL, NULL, true},
    {"DELETE", "/v1/memories/{memory_id}/", mn__h_m0_delete, NONE, true, "mem0Delete", "mem0",
     "mem0: forget one memory.", "delete_linked", NULL, 200, NULL, NULL, true},
    {"DELETE", "/v1/memories/", mn__h_m0_delete_all, NONE, true, "mem0DeleteAll", "mem0",
     "mem0: forget the memories of one entity (refused without one).",
     "user_id,agent_id,app_id,run_id", NULL, 200, NULL, NULL, true},
    {"GET", "/v1/memories/{memory_id}/history/", mn__h_m0_history, NONE, true, "mem0History",
     "mem0", "mem0: the versions of a memory as ADD/UPDATE/DELETE events.", NULL, NULL, 200,
     NULL, NULL, false},
    {"GET", "/v1/entities/", mn__h_m0_entities, NONE, true, "mem0Entities", "mem0",
     "mem0: users, agents, apps and runs with memory counts.", "page,page_size", NULL, 200,
     NULL, NULL, false},
    {"DELETE", "/v1/entities/{type}/{entity_id}/", mn__h_m0_entity_delete, NONE, true,
     "mem0EntityDelete", "mem0", "mem0: forget an entity.", "org_id,project_id", NULL, 200,
     NULL, NULL, true},
    {"DELETE", "/v2/entities/{type}/{entity_id}/", mn__h_m0_entity_delete, NONE, true,
     "mem0EntityDeleteV2", "mem0", "mem0: forget an entity.", "org_id,project_id", NULL, 200,
     NULL, NULL, true},
    {"PUT", "/v1/batch/", mn__h_m0_batch_update, JSON, true, "mem0BatchUpdate", "mem0",
     "mem0: change the text of up to 1000 memories.", NULL, NULL, 200, NULL, NULL, true},
    {"DELETE", "/v1/batch/", mn__h_m0_batch_delete, JSON, true, "mem0BatchDelete", "mem0",
     "mem0: forget up to 1000 memories.", NULL, NULL, 200, NULL, NULL, true},
#define M0_NO(method, path, op)                                                              \
    {method, path, mn__h_m0_unsupported, NONE, true, op, "mem0",                             \
     "mem0 platform feature mnemo does not have: 501 naming it.", NULL, NULL, 501, NULL, NULL, \
     false}
    M0_NO("POST", "/v1/feedback/", "mem0Feedback"),
    M0_NO("GET", "/v1/event/{event_id}/", "mem0Event"),
    M0_NO("GET", "/v1/events/", "mem0Events"),
    M0_NO("POST", "/v1/exports/", "mem0ExportCreate"),
    M0_NO("POST", "/v1/exports/get/", "mem0ExportGet"),
    M0_NO("GET", "/api/v1/webhooks/projects/{project_id}/", "mem0WebhooksList"),
    M0_NO("POST", "/api/v1/webhooks/projects/{project_id}/", "mem0WebhookCreate"),
    M0_NO("PUT", "/api/v1/webhooks/{webhook_id}/", "mem0WebhookUpdate"),
    M0_NO("DELETE", "/api/v1/webhooks/{webhook_id}/", "mem0WebhookDelete"),
    M0_NO("GET", "/api/v1/orgs/organizations/", "mem0Orgs"),
    M0_NO("POST", "/api/v1/orgs/organizations/", "mem0OrgCreate"),
    M0_NO("GET", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/", "mem0Project"),
    M0_NO("PATCH", "/api/v1/orgs/organizations/{org_id}/projects/{project_id}/",
          "mem0ProjectUpdate"),
    M0_NO("GET", "/v2/entities/{type}/{entity_id}/profile/", "mem0Profile"),
    M0_NO("POST", "/v2/profiles/jobs/", "mem0ProfileJob"),
    M0_NO("GET", "/v2/profiles/jobs/{job_id}/", "mem0ProfileJobGet"),
    M0_NO("GET", "/v2/profiles/settings/", "mem0ProfileSettings"),
    M0_NO("POST", "/v2/profiles/settings/", "mem0ProfileSettingsUpdate"),
#undef M0_NO
    {"GET", "/healthz", mn__h_healthz, NONE, false, "healthz", "operations",
     "Liveness: the process answers.", NULL, NULL, 200, "Health", NULL, false},
    {"GET", "/readyz", mn__h_readyz, NONE, false, "readyz", "operations",
     "Readiness: the store answers and the server is not shutting down.", NULL, NULL, 200,
     "Health", NULL, false},
    {"GET", "/metrics", mn__h_metrics, NONE, false, "metrics", "operations",
     "Prometheus metrics (text format 0.0.4).", NULL, NULL, 200, NULL,
     "text/plain; version=0.0.4", false},
    {"GET", "/openapi.json", mn__h_openapi, NONE, false, "openapi", "operations",
     "This API as an OpenAPI 3.1 document.", NULL, NULL, 200, NULL, NULL, false},
    {"GET", "/docs", mn__h_docs, NONE, false, "docs", "operations",
     "API explorer (Swagger UI) over /openapi.json.", NULL, NULL, 200, NULL, "text/html", false},
    {"GET", "/docs/{file}", mn__h_docs_file, NONE, false, "docsFile", "operations",
     "Static files of the API explorer.", NULL, NULL, 200, NULL, "application/octet-stream", false},
    {"GET", "/ui", mn__h_ui, NONE, false, "ui", "operations",
     "Memory inspector: browse, search, edit and forget a tenant's memories (docs/UI.md).",
     NULL, NULL, 200, NULL, "text/html", false},
    {"GET", "/ui/", mn__h_ui, NONE, false, "uiSlash", "operations",
     "The memory inspector page, as /ui (a typed URL often ends with a slash).", NULL, NULL,
     200, NULL, "text/html", false},
    {"GET", "/ui/{file}", mn__h_ui_file, NONE, false, "uiFile", "operations",
     "Static files of the memory inspector.", NULL, NULL, 200, NULL,
     "application/octet-stream", false},
};

const size_t mn__n_routes = MN_ARRAY_LEN(mn__routes);

const mn__hparam mn__hparams[] = {
    {"limit", "integer", "page size, 1..max-k (default 50)"},
    {"after", "string", "cursor: next_after of the previous page"},
    {"kind", "string", "comma-separated kinds: message, preference, fact, summary"},
    {"status", "string", "comma-separated statuses (default active): active, archived, "
                         "superseded"},
    {"session_id", "string", "only memories of this session"},
    {"since", "string", "only memories created at or after this time (RFC 3339 or ms)"},
    {"until", "string", "only memories created before this time (RFC 3339 or ms)"},
    {"query", "string", "search text: turns the list into a ranked search"},
    {"k", "integer", "search: how many results, 1..max-k (default 10)"},
    {"mode", "string", "search: hybrid (default), vector or keyword"},
    {"min_score", "number", "search: drop results scoring below this"},
    {"as_of", "string", "search: when the question is asked (RFC 3339 or ms; default now), "
                        "for \"last week\", \"two months ago\""},
    {"page", "integer", "mem0: page number, from 1 (default 1)"},
    {"page_size", "integer", "mem0: items per page, 1..1000 (default 100)"},
    {"user_id", "string", "mem0: the user"},
    {"agent_id", "string", "mem0: the agent (mnemo user agent:<id>)"},
    {"app_id", "string", "mem0: the app (mnemo user app:<id>)"},
    {"run_id", "string", "mem0: the run (mnemo session)"},
    {"start_date", "string", "mem0: created at or after (RFC 3339)"},
    {"end_date", "string", "mem0: created at or before (RFC 3339)"},
    {"delete_linked", "boolean", "mem0: false only (superseded versions are kept)"},
    {NULL, NULL, NULL},
};

const mn__hparam *mn__hparam_find(const char *name)
{
    const mn__hparam *p;
    for (p = mn__hparams; p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

#define MEMORY_PROPS                                                                         \
    "\"id\":{\"type\":\"integer\"},\"scope\":{\"enum\":[\"user\",\"system\"]},"             \
    "\"user_id\":{\"type\":[\"string\",\"null\"]},"                                         \
    "\"kind\":{\"enum\":[\"message\",\"preference\",\"fact\",\"summary\"]},"                \
    "\"role\":{\"enum\":[\"user\",\"assistant\",null]},"                                    \
    "\"session_id\":{\"type\":[\"string\",\"null\"]},\"text\":{\"type\":\"string\"},"        \
    "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"                        \
    "\"status\":{\"enum\":[\"active\",\"archived\",\"superseded\"]},"                       \
    "\"metadata\":{\"type\":[\"object\",\"null\"]},"                                        \
    "\"sources\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"                    \
    "\"superseded_by\":{\"type\":\"integer\"}"

#define MESSAGE_PROPS                                                                        \
    "\"text\":{\"type\":\"string\",\"description\":\"the message (alias: content)\"},"       \
    "\"content\":{\"type\":\"string\"},\"role\":{\"enum\":[\"user\",\"assistant\",\"none\"]}," \
    "\"kind\":{\"enum\":[\"message\",\"preference\",\"fact\",\"summary\"]},"                \
    "\"session_id\":{\"type\":\"string\"},"                                                 \
    "\"created_at\":{\"type\":[\"string\",\"integer\"],\"description\":\"RFC 3339 or ms\"}," \
    "\"metadata\":{\"type\":\"object\"}"

const mn__hschema mn__hschemas[] = {
    {"Error", "{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{"
              "\"type\":\"object\",\"required\":[\"code\",\"message\",\"hint\"],\"properties\":{"
              "\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"},"
              "\"hint\":{\"type\":\"string\"}}}}}"},
    {"Memory", "{\"type\":\"object\",\"properties\":{" MEMORY_PROPS "}}"},
    {"Hit", "{\"allOf\":[{\"$ref\":\"#/components/schemas/Memory\"},{\"type\":\"object\","
            "\"properties\":{\"score\":{\"type\":\"number\"},\"score_keyword\":{\"type\":"
            "\"number\"},\"score_vector\":{\"type\":\"number\"}}}]}"},
    {"MemoryWithHistory",
     "{\"allOf\":[{\"$ref\":\"#/components/schemas/Memory\"},{\"type\":\"object\","
     "\"properties\":{\"history\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
     "\"properties\":{\"text\":{\"type\":\"string\"},\"metadata\":{\"type\":[\"object\","
     "\"null\"]},\"status\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}}}}}}]}"},
    {"MemoryList",
     "{\"type\":\"object\",\"properties\":{\"memories\":{\"type\":\"array\",\"items\":{"
     "\"$ref\":\"#/components/schemas/Hit\"}},\"count\":{\"type\":\"integer\"},"
     "\"total\":{\"type\":\"integer\",\"description\":\"list only\"},"
     "\"next_after\":{\"type\":[\"integer\",\"null\"],\"description\":\"list only\"},"
     "\"mode\":{\"type\":\"string\",\"description\":\"search only\"},"
     "\"note\":{\"type\":\"string\",\"description\":\"search only\"}}}"},
    {"Message", "{\"type\":\"object\",\"properties\":{" MESSAGE_PROPS "}}"},
    {"MessagesIn",
     "{\"oneOf\":[{\"$ref\":\"#/components/schemas/Message\"},{\"type\":\"object\","
     "\"required\":[\"messages\"],\"properties\":{\"messages\":{\"type\":\"array\","
     "\"items\":{\"$ref\":\"#/components/schemas/Message\"}}}}]}"},
    {"SystemIn",
     "{\"oneOf\":[{\"$ref\":\"#/components/schemas/Message\"},{\"type\":\"object\","
     "\"required\":[\"memories\"],\"properties\":{\"memories\":{\"type\":\"array\","
     "\"items\":{\"$ref\":\"#/components/schemas/Message\"}}}}]}"},
    {"Added", "{\"type\":\"object\",\"properties\":{\"ids\":{\"type\":\"array\",\"items\":{"
              "\"type\":\"integer\"}},\"count\":{\"type\":\"integer\"}}}"},
    {"MemoryPatch",
     "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},\"metadata\":{"
     "\"type\":\"object\"},\"status\":{\"enum\":[\"active\",\"archived\",\"superseded\"]}}}"},
    {"Deleted", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
                "\"deleted\":{\"type\":\"boolean\"}}}"},
    {"Forgotten", "{\"type\":\"object\",\"properties\":{\"user_id\":{\"type\":\"string\"},"
                  "\"deleted\":{\"type\":\"integer\"}}}"},
    {"UserList",
     "{\"type\":\"object\",\"properties\":{\"users\":{\"type\":\"array\",\"items\":{\"type\":"
     "\"object\",\"properties\":{\"user_id\":{\"type\":\"string\"},\"memories\":{\"type\":"
     "\"integer\"},\"created_at\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}"
     "}}},\"count\":{\"type\":\"integer\"},\"total\":{\"type\":\"integer\"},\"next_after\":{"
     "\"type\":[\"string\",\"null\"]}}}"},
    {"Ndjson", "{\"type\":\"string\",\"description\":\"one memory object per line, as "
               "written by export\"}"},
    {"Imported", "{\"type\":\"object\",\"properties\":{\"lines\":{\"type\":\"integer\"},"
                 "\"added\":{\"type\":\"integer\"}}}"},
    {"EmbeddingsIn",
     "{\"type\":\"object\",\"required\":[\"input\"],\"properties\":{\"input\":{\"oneOf\":[{"
     "\"type\":\"string\"},{\"type\":\"array\",\"items\":{\"type\":\"string\"}}]},"
     "\"model\":{\"type\":\"string\",\"description\":\"accepted and ignored: the server's "
     "embedder answers\"},\"encoding_format\":{\"enum\":[\"float\"]},\"user\":{\"type\":"
     "\"string\"}}}"},
    {"EmbeddingsOut",
     "{\"type\":\"object\",\"properties\":{\"object\":{\"const\":\"list\"},\"data\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"object\":{\"const\":"
     "\"embedding\"},\"index\":{\"type\":\"integer\"},\"embedding\":{\"type\":\"array\","
     "\"items\":{\"type\":\"number\"}}}}},\"model\":{\"type\":\"string\"},\"usage\":{\"type\":"
     "\"object\",\"properties\":{\"prompt_tokens\":{\"type\":\"integer\"},\"total_tokens\":{"
     "\"type\":\"integer\"}}}}}"},
    {"ChatIn",
     "{\"type\":\"object\",\"required\":[\"messages\"],\"properties\":{\"model\":{"
     "\"type\":\"string\"},\"messages\":{\"type\":\"array\",\"minItems\":1,\"items\":{"
     "\"type\":\"object\",\"required\":[\"role\"],\"properties\":{\"role\":{\"type\":"
     "\"string\"},\"content\":{}}}},\"stream\":{\"type\":\"boolean\"},\"user\":{"
     "\"type\":\"string\",\"description\":\"mnemo user id (X-Mnemo-User wins); without "
     "one the request passes through with no memory\"}},\"additionalProperties\":true,"
     "\"description\":\"an OpenAI chat completion request; every other field goes to the "
     "upstream as it is\"}"},
    {"ChatOut",
     "{\"type\":\"object\",\"description\":\"the upstream's answer, unchanged: a "
     "chat.completion object, or text/event-stream chunks when stream is true; headers "
     "X-Mnemo-Memory (on, off, unavailable) and X-Mnemo-Context-Items\"}"},
    {"ModelList",
     "{\"type\":\"object\",\"properties\":{\"object\":{\"const\":\"list\"},"
     "\"data\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}"},
    {"CompactIn",
     "{\"type\":\"object\",\"properties\":{\"keep_recent\":{\"type\":\"integer\","
     "\"description\":\"newest messages left raw (default 20, -1 none)\"},\"min_cluster\":{"
     "\"type\":\"integer\"},\"max_cluster\":{\"type\":\"integer\"},\"min_similarity\":{"
     "\"type\":\"number\"},\"summary_tokens\":{\"type\":\"integer\"},\"offline\":{"
     "\"type\":\"boolean\",\"description\":\"extractive summaries even with an LLM\"},"
     "\"dry_run\":{\"type\":\"boolean\"}}}"},
    {"Compacted",
     "{\"type\":\"object\",\"properties\":{\"user_id\":{\"type\":\"string\"},"
     "\"active_before\":{\"type\":\"integer\"},\"active_after\":{\"type\":\"integer\"},"
     "\"candidates\":{\"type\":\"integer\"},\"summaries\":{\"type\":\"integer\"},"
     "\"archived\":{\"type\":\"integer\"},\"method\":{\"enum\":[\"extractive\",\"llm\"]},"
     "\"dry_run\":{\"type\":\"boolean\"},\"duration_ms\":{\"type\":\"integer\"}}}"},
    {"ContextIn",
     "{\"type\":\"object\",\"required\":[\"query\"],\"properties\":{\"query\":{"
     "\"type\":\"string\",\"description\":\"the current question\"},\"max_tokens\":{"
     "\"type\":\"integer\",\"description\":\"budget of the whole block (default 1000)\"},"
     "\"k\":{\"type\":\"integer\",\"description\":\"search candidates per kind (default "
     "20)\"},\"min_score\":{\"type\":\"number\",\"description\":\"relevance threshold, 0 "
     "keeps all (default: docs/CONTEXT.md)\"},\"include\":{\"type\":\"array\",\"items\":{"
     "\"enum\":[\"preferences\",\"facts\",\"memories\",\"summaries\",\"system\"]}},"
     "\"model\":{\"type\":\"string\",\"description\":\"picks the tokenizer; unknown: "
     "an estimate\"},\"session_id\":{\"type\":\"string\"},\"as_of\":{\"type\":"
     "[\"string\",\"integer\"],\"description\":\"when the question is asked, RFC 3339 or "
     "ms: 'last week' counts back from it (default now)\"}}}"},
    {"Context",
     "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\"},"
     "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
     "\"id\":{\"type\":\"integer\"},\"kind\":{\"type\":\"string\"},\"scope\":{"
     "\"type\":\"string\"},\"section\":{\"enum\":[\"system\",\"preferences\",\"facts\","
     "\"memories\",\"summaries\"]},\"score\":{\"type\":\"number\"},\"relevance\":{"
     "\"type\":\"number\"},\"created_at\":{\"type\":\"string\"},\"tokens\":{\"type\":"
     "\"integer\"},\"text\":{\"type\":\"string\"}}}},\"tokens\":{\"type\":\"object\","
     "\"properties\":{\"used\":{\"type\":\"integer\"},\"budget\":{\"type\":\"integer\"},"
     "\"estimated\":{\"type\":\"boolean\"},\"encoding\":{\"type\":\"string\"}}},"
     "\"messages\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
     "\"role\":{\"type\":\"string\"},\"content\":{\"type\":\"string\"}}}},\"stats\":{"
     "\"type\":\"object\"}}}"},
    {"Health", "{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\"}}}"},
    {NULL, NULL},
};
