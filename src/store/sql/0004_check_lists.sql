-- 0004_check_lists.sql - the CHECKs on kind and status as chains of comparisons instead of
-- IN lists. SQLite evaluates an IN list of more than two constants through a temporary
-- b-tree that it builds and frees on every INSERT: two per memory written, each with its
-- own page cache allocation (about 86 kB), which glibc returns to the kernel right away
-- (madvise, a TLB flush on every core). The rows allowed are the same.
-- Released migrations are never edited: a change is a new numbered file.
--
-- A CHECK that admits the same rows can be rewritten in sqlite_schema without copying the
-- table (the SQLite documentation's procedure for changing CHECK constraints,
-- lang_altertable.html section 7). The text replaced is 0001's, as every database holds it.

PRAGMA writable_schema = ON;

UPDATE sqlite_schema
   SET sql = replace(replace(sql,
       'kind IN (''message'', ''preference'', ''fact'', ''summary'')',
       'kind = ''message'' OR kind = ''preference'' OR kind = ''fact'' OR kind = ''summary'''),
       'status IN (''active'', ''archived'', ''superseded'')',
       'status = ''active'' OR status = ''archived'' OR status = ''superseded''')
 WHERE type = 'table' AND name IN ('memories', 'memory_history');

-- RESET: this connection parses the new text at once.
PRAGMA writable_schema = RESET;

-- Any schema change bumps the schema cookie, so that other connections reload it too.
CREATE TABLE migration_0004_cookie (x);
DROP TABLE migration_0004_cookie;
