/* store.c - picks the storage backend for a URI. PostgreSQL URIs get no backend until
 * store_pg.c exists; every other string is the path of a SQLite file. */
#include <string.h>

#include "store_int.h"

const struct mn__store_ops *mn__store_for_uri(const char *uri)
{
    if (!uri)
        return NULL;
    if (!strncmp(uri, "postgres://", 11) || !strncmp(uri, "postgresql://", 13))
        return NULL;
    return &mn__store_sqlite;
}
