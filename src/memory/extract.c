/* extract.c - work that follows a committed add: preference and fact extraction from user
 * messages, and the trigger of background compaction. */
#include "memory_int.h"

void mn__after_add(mn_db *db, const mn__row *rows, size_t n)
{
    (void)db;
    (void)rows;
    (void)n;
}
