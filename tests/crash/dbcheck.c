/* dbcheck.c - the crash test's file check: runs PRAGMA integrity_check (and the foreign key
 * check) on a database file left by a killed server, as the next process to open it would
 * see it (the WAL is recovered first). Prints "ok" and exits 0, or prints the problems and
 * exits 1. Usage: dbcheck FILE */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int bad = 0, rows = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: dbcheck FILE\n");
        return 2;
    }
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        printf("cannot open %s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        printf("integrity_check: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        rows++;
        if (!r || strcmp(r, "ok")) {
            printf("integrity_check: %s\n", r ? r : "(null)");
            bad = 1;
        }
    }
    sqlite3_finalize(st);
    if (rows == 0) {
        printf("integrity_check returned nothing: %s\n", sqlite3_errmsg(db));
        bad = 1;
    }
    if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            printf("foreign_key_check: table %s row %lld\n", sqlite3_column_text(st, 0),
                   (long long)sqlite3_column_int64(st, 1));
            bad = 1;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    if (!bad)
        printf("ok\n");
    return bad;
}
