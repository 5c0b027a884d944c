/* providers.c - what the provider options of mn_db_opts open beyond the database's own
 * embedder: tenants' embedders (eprof.c), the chat model used by compression and extraction,
 * and the extraction mode. Every borrowed option string is consumed here, during open. */
#include <string.h>

#include "../context/context.h"
#include "../llm/llm.h"
#include "memory_int.h"

int mn__providers_open(mn_db *db, mn_err *err)
{
    const char *ex = db->opts.extract;
    int rc = mn__eprofs_open(db, err);
    if (rc)
        return rc;
    if (!ex || !ex[0] || !strcmp(ex, "off"))
        db->extract_mode = MN__EXTRACT_OFF;
    else if (!strcmp(ex, "rules"))
        db->extract_mode = MN__EXTRACT_RULES;
    else if (!strcmp(ex, "llm"))
        db->extract_mode = MN__EXTRACT_LLM;
    else
        return mn__err_set(err, MN_EINVAL, "use off, rules or llm",
                           "unknown extraction mode '%.32s'", ex);
    if (db->opts.llm_model && db->opts.llm_model[0]) {
        mn__llm_cfg c;
        memset(&c, 0, sizeof c);
        c.url = db->opts.llm_url;
        c.api_key = db->opts.llm_api_key;
        c.model = db->opts.llm_model;
        c.timeout_ms = db->opts.llm_timeout_ms;
        c.cancel = &db->closing;
        rc = mn__llm_new(&c, &db->llm, err);
        if (rc)
            return rc;
        mn__log(&db->log, MN_LOG_INFO, "LLM for summaries and extraction: %s",
                mn__llm_model(db->llm));
    } else if (db->extract_mode == MN__EXTRACT_LLM) {
        return mn__err_set(err, MN_EINVAL, "set llm-model, or use extract=rules",
                           "extraction 'llm' needs an LLM");
    }
    db->opts.llm_url = db->opts.llm_api_key = db->opts.llm_model = NULL;
    db->opts.extract = NULL;
    return MN_OK;
}

void mn__providers_close(mn_db *db)
{
    mn__eprofs_close(db);
    mn__llm_free(db->llm);
    db->llm = NULL;
    mn__bpe_close(db->bpe);
    db->bpe = NULL;
}
