/* peers.h - the disk and SQLite peers measured in the same run as mnemo: a raw append +
 * fdatasync loop (the disk's floor), a plain SQLite insert loop (WAL, synchronous=FULL; one
 * row and 100 rows per transaction) and SQLite FTS5 keyword search over the same rows. */
#ifndef MN_BENCH_PEERS_H
#define MN_BENCH_PEERS_H

#include <stddef.h>

/* Writes 256-byte records one after the other into a preallocated log file, fdatasync after
 * each, for `seconds`: records per second. */
double peer_fsync_loop(const char *dir, double seconds);
/* Inserts generated rows (user, role, text, created_at, a 400-byte embedding blob) in
 * transactions of rows_per_tx rows for `seconds`: rows per second; < 0 on error. */
double peer_sqlite_loop(const char *dir, int rows_per_tx, double seconds);

/* FTS5 peer: a table (user_id, text) filled with the rows the search dataset holds. */
typedef struct peer_fts peer_fts;
/* Opens (creating when missing) path; 0 or -1. */
int peer_fts_open(const char *path, peer_fts **out);
int peer_fts_begin(peer_fts *f);
int peer_fts_add(peer_fts *f, const char *user, const char *text);
int peer_fts_commit(peer_fts *f);
/* Top-10 by bm25 of one user's rows matching any of the words; returns the number of hits
 * (0..10) or -1. */
int peer_fts_search(peer_fts *f, const char *user, const char *const *words, int n_words);
void peer_fts_close(peer_fts *f);

#endif
