/* store_int.h - shared between the store backends' own files: the embedded migrations. */
#ifndef MN_STORE_INT_H
#define MN_STORE_INT_H

#include "store.h"

/* Numbered migrations from src/store/sql/NNNN_name.sql, in order, ended by {0,0,0}.
 * Generated at build time by scripts/embed-sql. */
struct mn__migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct mn__migration mn__migrations[];

#endif /* MN_STORE_INT_H */
