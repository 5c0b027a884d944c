/* llm.h - the chat-completion client (OpenAI-compatible /v1/chat/completions) shared by
 * compression (cluster summaries) and extraction (preferences, facts), and the validator of
 * the JSON Schema subset their structured replies are checked against. A reply that is not
 * JSON or does not match its schema is an error: nothing built from it is ever stored. */
#ifndef MN_LLM_H
#define MN_LLM_H

#include "../core/core.h"

struct cJSON;
typedef struct mn__llm mn__llm;

typedef struct mn__llm_cfg {
    const char *url;          /* base URL or the /chat/completions endpoint; NULL: OpenAI */
    const char *api_key;      /* NULL or "": none */
    const char *model;        /* required */
    int timeout_ms;           /* per request; 0: 60000 */
    int connect_timeout_ms;   /* 0: 5000 */
    int max_attempts;         /* 0: 3 */
    int max_tokens;           /* completion limit; 0: 800 */
    const _Atomic int *cancel; /* borrowed for the client's life */
} mn__llm_cfg;

/* Validates the settings (no I/O); strings are copied. MN_EINVAL names the bad one. */
int mn__llm_new(const mn__llm_cfg *cfg, mn__llm **out, mn_err *err);
void mn__llm_free(mn__llm *l); /* NULL is a no-op */
const char *mn__llm_model(const mn__llm *l);

/* Asks for a JSON object matching schema_json (JSON Schema text within mn__jschema_check's
 * subset): response_format json_schema (strict), falling back once to json_object for
 * servers that refuse it. *out (owned by the caller, cJSON_Delete) is the parsed content,
 * already checked. MN_EPROVIDER when the reply is truncated, refused, not JSON or not valid
 * under the schema (the message says where); transport errors as mn__http_send_retry.
 * Thread-safe. */
int mn__llm_json(mn__llm *l, const char *system, const char *user, const char *schema_name,
                 const char *schema_json, struct cJSON **out, mn_err *err);

/* Checks the content of a chat reply body (the whole /chat/completions JSON) against a
 * parsed schema; *out as above. Exposed for tests. */
int mn__llm_parse_reply(const char *body, size_t len, const struct cJSON *schema,
                        struct cJSON **out, mn_err *err);

/* Validates value against schema. Supported keywords: type (a name or a list), properties,
 * required, additionalProperties (false or a schema), items, enum (strings and numbers),
 * minLength, maxLength (code points), minItems, maxItems, minimum, maximum. Any other
 * keyword in the schema is refused (MN_EINVAL), so that a schema is never half-checked.
 * MN_EPARSE with the JSON path of the first violation ("$.facts[2].subject: ..."). */
int mn__jschema_check(const struct cJSON *schema, const struct cJSON *value, mn_err *err);

#endif /* MN_LLM_H */
