/* compact_job.c - compaction as a background job (jobs.c kind "compact"). */
#include "memory_int.h"

int mn__job_compact(mn_db *db, const mn__job *job, mn_err *err)
{
    (void)db;
    (void)job;
    (void)err;
    return MN_OK;
}
