/* peers.c - the peers of peers.h. Plain, straightforward uses of the disk and of SQLite, as
 * an application developer would write them. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peers.h"
#include "perf.h"

double peer_fsync_loop(const char *dir, double seconds)
{
    enum { LOG_BYTES = 4 << 20 };
    char path[1024], rec[256];
    static char zero[1 << 16];
    double t0, t;
    long n = 0;
    int fd, i;
    snprintf(path, sizeof path, "%s/fsync.dat", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1.0;
    /* Written and synced once first, like a recycled log (SQLite's WAL after a checkpoint):
     * each fdatasync then flushes data only, not a growing file size. */
    for (i = 0; i < LOG_BYTES / (int)sizeof zero; i++)
        if (write(fd, zero, sizeof zero) != (ssize_t)sizeof zero)
            goto fail;
    if (fsync(fd) != 0)
        goto fail;
    memset(rec, 'x', sizeof rec);
    t0 = perf_now();
    do {
        off_t off = (off_t)((n * (long)sizeof rec) % LOG_BYTES);
        if (pwrite(fd, rec, sizeof rec, off) != (ssize_t)sizeof rec || fdatasync(fd) != 0)
            goto fail;
        n++;
        t = perf_now();
    } while (t - t0 < seconds);
    close(fd);
    unlink(path);
    return (double)n / (t - t0);
fail:
    close(fd);
    unlink(path);
    return -1.0;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite peer: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

double peer_sqlite_loop(const char *dir, int rows_per_tx, double seconds)
{
    char path[1024], text[512], wal[1100], shm[1100];
    float emb[100];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    perf_rng r;
    double t0, t = 0.0, rate = -1.0;
    long n = 0;
    int i;
    snprintf(path, sizeof path, "%s/peer-%d.db", dir, rows_per_tx);
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        goto cleanup;
    if (exec(db, "PRAGMA journal_mode=WAL") || exec(db, "PRAGMA synchronous=FULL") ||
        exec(db, "CREATE TABLE memories (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT "
                 "NOT NULL, role TEXT, text TEXT NOT NULL, created_at INTEGER NOT NULL, "
                 "embedding BLOB)") ||
        exec(db, "CREATE INDEX memories_user ON memories (user_id, id)"))
        goto cleanup;
    if (sqlite3_prepare_v2(db, "INSERT INTO memories (user_id, role, text, created_at, "
                               "embedding) VALUES (?, 'user', ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto cleanup;
    perf_rng_seed(&r, 77);
    for (i = 0; i < 100; i++)
        emb[i] = perf_rng_gauss(&r);
    t0 = perf_now();
    do {
        if (rows_per_tx > 1 && exec(db, "BEGIN"))
            goto cleanup;
        for (i = 0; i < rows_per_tx; i++) {
            char user[32];
            int topic = (int)(perf_rng_next(&r) % 200);
            snprintf(user, sizeof user, "u%d", topic);
            perf_sentence(&r, topic, 12, text, sizeof text);
            sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, 1700000000000ll + n);
            sqlite3_bind_blob(st, 4, emb, sizeof emb, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_DONE)
                goto cleanup;
            sqlite3_reset(st);
            n++;
        }
        if (rows_per_tx > 1 && exec(db, "COMMIT"))
            goto cleanup;
        t = perf_now();
    } while (t - t0 < seconds);
    rate = (double)n / (t - t0);
cleanup:
    sqlite3_finalize(st);
    sqlite3_close(db);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(path);
    unlink(wal);
    unlink(shm);
    return rate;
}

struct peer_fts {
    sqlite3 *db;
    sqlite3_stmt *ins, *q;
};

int peer_fts_open(const char *path, peer_fts **out)
{
    peer_fts *f = calloc(1, sizeof *f);
    *out = NULL;
    if (!f || sqlite3_open(path, &f->db) != SQLITE_OK)
        goto fail;
    /* The user is an indexed column and part of the MATCH: FTS5 then intersects one user's
     * posting list with the query's, the fast way to search one user's rows. */
    if (exec(f->db, "PRAGMA journal_mode=WAL") ||
        exec(f->db, "CREATE VIRTUAL TABLE IF NOT EXISTS mem USING fts5(user_id, text, "
                    "tokenize = 'porter unicode61')") ||
        sqlite3_prepare_v2(f->db, "INSERT INTO mem (user_id, text) VALUES (?, ?)", -1,
                           &f->ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db, "SELECT rowid FROM mem WHERE mem MATCH ? ORDER BY rank "
                                  "LIMIT 10",
                           -1, &f->q, NULL) != SQLITE_OK)
        goto fail;
    *out = f;
    return 0;
fail:
    if (f)
        peer_fts_close(f);
    return -1;
}

int peer_fts_begin(peer_fts *f)
{
    return exec(f->db, "BEGIN");
}

int peer_fts_commit(peer_fts *f)
{
    return exec(f->db, "COMMIT");
}

int peer_fts_add(peer_fts *f, const char *user, const char *text)
{
    int rc;
    sqlite3_bind_text(f->ins, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(f->ins, 2, text, -1, SQLITE_STATIC);
    rc = sqlite3_step(f->ins);
    sqlite3_reset(f->ins);
    return rc == SQLITE_DONE ? 0 : -1;
}

int peer_fts_search(peer_fts *f, const char *user, const char *const *words, int n_words)
{
    char m[1024];
    size_t len;
    int i, n = 0, rc;
    len = (size_t)snprintf(m, sizeof m, "user_id:\"%s\" AND text:(", user);
    for (i = 0; i < n_words && len < sizeof m - 64; i++)
        len += (size_t)snprintf(m + len, sizeof m - len, "%s\"%s\"", i ? " OR " : "", words[i]);
    snprintf(m + len, sizeof m - len, ")");
    sqlite3_bind_text(f->q, 1, m, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(f->q)) == SQLITE_ROW)
        n++;
    sqlite3_reset(f->q);
    return rc == SQLITE_DONE ? n : -1;
}

void peer_fts_close(peer_fts *f)
{
    if (!f)
        return;
    sqlite3_finalize(f->ins);
    sqlite3_finalize(f->q);
    sqlite3_close(f->db);
    free(f);
}
