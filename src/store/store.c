/* store.c - picks the storage backend for a URI (postgres:// and postgresql:// are
 * PostgreSQL, every other string is the path of a SQLite file), and the test hooks that
 * work on either backend. */
#include <string.h>

#include "store_int.h"

const struct mn__store_ops *mn__store_for_uri(const char *uri)
{
    if (!uri)
        return NULL;
    if (!strncmp(uri, "postgres://", 11) || !strncmp(uri, "postgresql://", 13))
        return mn__store_fault_wrap(&mn__store_pg);
    return mn__store_fault_wrap(&mn__store_sqlite);
}

void mn__store_writer_pause(mn__store *st, bool paused)
{
    mn__wq_pause(st->wq, paused);
}

size_t mn__store_queue_len(mn__store *st)
{
    return mn__wq_len(st->wq);
}
