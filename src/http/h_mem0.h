/* h_mem0.h - the mem0-compatible routes (docs/MEM0.md): what mem0's own clients call, mapped
 * onto mnemo's public API. Handlers for the route table, and what their files share: memory
 * ids, the entity -> mnemo user mapping, mem0 filters and the mem0 shape of a memory. */
#ifndef MN_H_MEM0_H
#define MN_H_MEM0_H

#include "http_int.h"

#define MN__M0_MAX_BRANCHES 16 /* OR branches of one filter */
/* "<id>-<hex of the mnemo user>": a decimal id, a dash, two hex digits per byte. */
#define MN__M0_ID_CAP (24 + 2 * MN_MAX_ID_BYTES)

/* The four mem0 entities of a request or a filter (borrowed; NULL when absent). */
typedef struct mn__m0_ents {
    const char *user_id, *agent_id, *app_id, *run_id;
} mn__m0_ents;

/* One AND-branch of a mem0 filter. */
typedef struct mn__m0_cond {
    mn__m0_ents e;
    int64_t since_ms;      /* created_at >= ; 0: unbounded */
    int64_t until_ms;      /* created_at < ; 0: unbounded */
    const cJSON *metadata; /* each member must be equal in the memory's metadata; borrowed */
    bool never;            /* contradictory (user_id a AND user_id b): matches nothing */
} mn__m0_cond;

/* A filter as OR of AND-branches. */
typedef struct mn__m0_filter {
    mn__m0_cond c[MN__M0_MAX_BRANCHES];
    size_t n;
} mn__m0_filter;

/* The mnemo user holding the memories of e: user_id as it is, else "agent:<agent_id>",
 * "app:<app_id>" or "run:<run_id>". Replies 400 when e names no entity and 422 for a user id
 * in one of those namespaces or too long. */
int mn__m0_owner(mn__hreq *rq, const mn__m0_ents *e, char out[MN_MAX_ID_BYTES + 1]);
/* The mem0 id of memory id of owner into out (MN__M0_ID_CAP bytes). */
void mn__m0_id_format(mn_id id, const char *owner, char *out, size_t cap);
/* Parses a mem0 id; replies 404 (naming it) when it is not one mnemo gave. */
int mn__m0_id_parse(mn__hreq *rq, const char *s, mn_id *out_id,
                    char out_owner[MN_MAX_ID_BYTES + 1]);
/* Reads the entity fields of obj (user_id, agent_id, app_id, run_id), or of the query
 * string when obj is NULL; replies 422 on a wrong type. */
int mn__m0_ents_read(mn__hreq *rq, const cJSON *obj, mn__m0_ents *out);
/* Parses a mem0 filter object (entities, AND, OR, "in", "*", created_at ranges, metadata).
 * Replies 422 naming what is not supported. */
int mn__m0_filters_parse(mn__hreq *rq, const cJSON *filters, mn__m0_filter *out);
/* The library filter of branch c (owner is the mnemo user of the branch). */
void mn__m0_cond_filter(const mn__hreq *rq, const mn__m0_cond *c, const char *owner,
                        mn_filter *out);
/* The conditions the library filter cannot express: the secondary entities kept in the
 * metadata and the metadata equalities. */
bool mn__m0_cond_match(const mn__m0_cond *c, const char *owner, const mn_memory *m);
/* A memory in mem0's shape: id, memory, user_id/agent_id/app_id/run_id, metadata, dates;
 * score when given; and mnemo's kind and status. */
int mn__m0_json_memory(mn__buf *b, const mn_memory *m, const double *score);
/* Replies with b as JSON (status), or a 503 when out of memory. Returns 0 or the error. */
int mn__m0_reply(mn__hreq *rq, int status, int build_rc, mn__buf *b);

/* Handlers (h_mem0_memories.c, h_mem0_search.c, h_mem0_entities.c). */
int mn__h_m0_ping(mn__hreq *rq);
int mn__h_m0_add(mn__hreq *rq);
int mn__h_m0_list(mn__hreq *rq);
int mn__h_m0_search(mn__hreq *rq);
/* The v1/v2 paths of mem0ai 2.x: GET /v1/memories/, POST /v2/memories/, POST
 * /v1/memories/search/, POST /v2/memories/search/ (bare arrays; v1 entities as fields). */
int mn__h_m0_list_v1(mn__hreq *rq);
int mn__h_m0_list_v2(mn__hreq *rq);
int mn__h_m0_search_v1(mn__hreq *rq);
int mn__h_m0_search_v2(mn__hreq *rq);
int mn__h_m0_get(mn__hreq *rq);
int mn__h_m0_update(mn__hreq *rq);
int mn__h_m0_delete(mn__hreq *rq);
int mn__h_m0_delete_all(mn__hreq *rq);
int mn__h_m0_history(mn__hreq *rq);
int mn__h_m0_entities(mn__hreq *rq);
int mn__h_m0_entity_delete(mn__hreq *rq);
int mn__h_m0_batch_update(mn__hreq *rq);
int mn__h_m0_batch_delete(mn__hreq *rq);
int mn__h_m0_unsupported(mn__hreq *rq);

#endif /* MN_H_MEM0_H */
