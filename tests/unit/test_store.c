/*
 * Store tests: migrations from empty and from every older version, the
 * dated copy taken before a schema upgrade (and none for a new database),
 * a newer database refused, offsets and kv, the keyed audit chain
 * catching an edited, a deleted and an inserted row, a recomputed chain,
 * a deleted tail, its migration from an unkeyed chain and its head kept
 * per connection under concurrent appends, steps and generations, and
 * the job state machine.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "jobs.h"
#include "outbox.h"
#include "db.h"
#include "store.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

#define KV_UPSERT "ON CONFLICT (key) DO UPDATE SET value = excluded.value"

/*
 * The database called `name` in this run: a file in the test's folder,
 * or on PostgreSQL (PVEBOT_TEST_DB) a database made for it the first time
 * it is named. Caller frees.
 */
static char *
dbpath(const char *name)
{
	static char	*names[64], *urls[64];
	static size_t	 n;
	size_t		 i;

	if (!t_db_pg())
		return t_path(name);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return xstrdup(urls[i]);
	}
	if (n == nitems(names) || (urls[n] = t_db_new(name)) == NULL)
		return xstrdup("postgresql://pvebot@127.0.0.1:1/no-database");
	names[n] = xstrdup(name);
	return xstrdup(urls[n++]);
}

/* The append-only triggers go, as someone with write access does it. */
static void
drop_triggers(struct store *s)
{
	char	*cause = NULL;

	T_EQ_INT(store_exec(s, t_db_pg() ?
	    "DROP TRIGGER audit_no_update ON audit;"
	    "DROP TRIGGER audit_no_delete ON audit" :
	    "DROP TRIGGER audit_no_update;DROP TRIGGER audit_no_delete",
	    &cause), 0);
	free(cause);
}

static struct store *
fresh(const char *name)
{
	char		*path = dbpath(name), *cause = NULL;
	struct store	*s = store_open(path, &cause);

	if (s == NULL)
		printf("store_open: %s\n", cause);
	free(cause);
	free(path);
	return s;
}

static int
table_exists(struct store *s, const char *name)
{
	struct db_stmt	*st = db_prepare(s, t_db_pg() ?
	    "SELECT 1 FROM information_schema.tables WHERE table_name = ?1 "
	    "AND table_schema = current_schema()" :
	    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
	int		 found;

	db_bind_text(st, 1, name);
	found = db_step(st) == DB_ROW;
	db_finish(s, st);
	return found;
}

static void
test_migrate_from_empty(void)
{
	struct store	*s = fresh("a.db");
	const char	*tables[] = { "jobs", "approvals", "audit", "offsets",
	    "kv", "alerts", "silences", "chat_outbox", "chat_buttons",
	    "alert_events", "metric_samples" };
	size_t		 i;
	struct db_stmt	*st;

	T_OK(s != NULL);
	if (s == NULL)
		return;
	T_EQ_INT(store_version(s), store_latest_version());
	for (i = 0; i < nitems(tables); i++)
		T_OK(table_exists(s, tables[i]));
	if (!t_db_pg()) {
		st = db_prepare(s, "PRAGMA journal_mode");
		T_OK(db_step(st) == DB_ROW);
		T_EQ_STR(db_text(st, 0), "wal");
		db_finish(s, st);
	}
	store_close(s);
}

static void
test_migrate_from_each_older_version(void)
{
	int	 v;

	for (v = 1; v < store_latest_version(); v++) {
		char		*name = xasprintf("old%d.db", v);
		char		*path = dbpath(name), *cause = NULL;
		struct store	*s = store_open_version(path, v, &cause);

		T_OK(s != NULL);
		if (s == NULL)
			break;
		T_EQ_INT(store_version(s), v);
		/* Data written under the old schema survives the upgrade. */
		T_EQ_INT(store_offset_set(s, "telegram", "41"), 0);
		store_close(s);
		s = store_open(path, &cause);
		T_OK(s != NULL);
		if (s != NULL) {
			char	*val = NULL;

			T_EQ_INT(store_version(s), store_latest_version());
			T_OK(table_exists(s, "metric_samples"));
			store_offset_get(s, "telegram", &val);
			T_EQ_STR(val, "41");
			free(val);
			store_close(s);
		}
		free(name);
		free(path);
		free(cause);
	}
}

/* The names in the test's folder that start with prefix; caller frees. */
static char *
names_with_prefix(const char *prefix)
{
	DIR		*d = opendir(t_tmpdir());
	struct dirent	*de;
	struct buf	 b;

	buf_init(&b, 0);
	buf_append(&b, "", 0);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (str_has_prefix(de->d_name, prefix))
			buf_printf(&b, "%s\n", de->d_name);
	}
	if (d != NULL)
		closedir(d);
	return buf_steal(&b);
}

static void
test_backup_before_migration(void)
{
	char		*path = t_path("pvebot.db"), *cause = NULL, *names;
	char		*bak, *val = NULL, stamp[32];
	struct store	*s, *old;
	struct stat	 st, bst;
	struct tm	 tm;
	time_t		 before, after;
	int		 y, mo, d, h, mi, sec, n = 0;

	s = store_open_version(path, 1, &cause);
	T_OK(s != NULL);
	if (s == NULL)
		goto out;
	T_EQ_INT(store_offset_set(s, "telegram", "41"), 0);
	store_close(s);
	T_EQ_INT(chmod(path, 0640), 0);

	before = time(NULL);
	s = store_open(path, &cause);
	after = time(NULL);
	T_OK(s != NULL);
	if (s == NULL)
		goto out;
	T_EQ_INT(store_version(s), store_latest_version());
	store_close(s);

	/* One copy, named after the old version and the UTC time. */
	names = names_with_prefix("pvebot.db.bak-");
	T_OK(sscanf(names, "pvebot.db.bak-v1-%4d%2d%2d-%2d%2d%2d\n%n", &y, &mo,
	    &d, &h, &mi, &sec, &n) == 6);
	T_EQ_INT(names[n], '\0');
	gmtime_r(&before, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	bak = xasprintf("%s.bak-v1-%s", path, stamp);
	if (stat(bak, &bst) != 0) {
		free(bak);
		gmtime_r(&after, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
		bak = xasprintf("%s.bak-v1-%s", path, stamp);
	}
	free(names);

	/* It is the database as it was: version 1, with its data, and no
	 * more readable than the database. */
	T_EQ_INT(stat(path, &st), 0);
	T_EQ_INT(stat(bak, &bst), 0);
	T_EQ_INT(bst.st_mode & 0777, st.st_mode & 0777);
	old = store_open_version(bak, 1, &cause);
	T_OK(old != NULL);
	if (old != NULL) {
		T_EQ_INT(store_version(old), 1);
		T_OK(!table_exists(old, "metric_samples"));
		store_offset_get(old, "telegram", &val);
		T_EQ_STR(val, "41");
		free(val);
		store_close(old);
	}
	free(bak);

	/* Opening it again migrates nothing and copies nothing. */
	s = store_open(path, &cause);
	T_OK(s != NULL);
	store_close(s);
	names = names_with_prefix("pvebot.db.bak-");
	T_OK(strchr(names, '\n') == strrchr(names, '\n'));
	free(names);
out:
	free(cause);
	free(path);
}

static void
test_no_backup_for_new_database(void)
{
	struct store	*s = fresh("brand-new.db");
	char		*names;

	T_OK(s != NULL);
	store_close(s);
	names = names_with_prefix("brand-new.db.bak");
	T_EQ_STR(names, "");
	free(names);
}

static void
test_newer_database_refused(void)
{
	struct store	*s = fresh("new.db");
	char		*path = dbpath("new.db"), *cause = NULL, *sql;

	sql = xasprintf("INSERT INTO schema_version VALUES (%d, 0)",
	    store_latest_version() + 1);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	free(sql);
	store_close(s);
	T_OK(store_open(path, &cause) == NULL);
	T_CONTAINS(cause, "is newer than this pvebot understands");
	free(cause);
	free(path);
}

static void
test_offsets_and_kv(void)
{
	struct store	*s = fresh("o.db");
	char		*v = NULL;

	T_EQ_INT(store_offset_get(s, "matrix", &v), 0);
	T_OK(v == NULL);
	T_EQ_INT(store_offset_set(s, "matrix", "s72594_4483_1934"), 0);
	T_EQ_INT(store_offset_set(s, "matrix", "s72595_4483_1934"), 0);
	T_EQ_INT(store_offset_get(s, "matrix", &v), 0);
	T_EQ_STR(v, "s72595_4483_1934");
	free(v);
	T_EQ_INT(store_kv_set(s, "digest_last", "2026-11-22"), 0);
	T_EQ_INT(store_kv_get(s, "digest_last", &v), 0);
	T_EQ_STR(v, "2026-11-22");
	free(v);
	store_close(s);
}

#define KEY	"test-audit-key-0123456789abcdef0123456789abcdef"

/* rows audit rows under KEY, then a checkpoint as the daemon's stop. */
static struct store *
audited(const char *name, int rows)
{
	char			*path = dbpath(name), *cause = NULL;
	struct store		*s;
	struct audit_head	 h;
	int			 i;

	audit_key_set(path, KEY, strlen(KEY));
	free(path);
	s = fresh(name);
	for (i = 1; i <= rows; i++) {
		char	*d = xasprintf("job=%d command=start 10%d", i, i);

		T_EQ_INT(audit_append(s, "telegram:42", "command", d), 0);
		free(d);
	}
	T_EQ_INT(audit_checkpoint(s, &h, &cause), 0);
	T_EQ_INT(h.rows, rows);
	free(cause);
	return s;
}

static void
done(struct store *s, const char *name)
{
	char	*path = dbpath(name);

	store_close(s);
	audit_key_clear(path);
	free(path);
}

/* The MAC of one row as pvebot computes it: key NULL for plain SHA-256. */
static void
mac_of(const char *key, int64_t id, int64_t at, const char *actor,
    const char *event, const char *detail, const char *prev, char out[80])
{
	char	*content, hex[65];

	content = xasprintf("%lld|%lld|%zu:%s|%zu:%s|%zu:%s|%s", (long long)id,
	    (long long)at, strlen(actor), actor, strlen(event), event,
	    strlen(detail), detail, prev);
	if (key != NULL) {
		hmac_sha256_hex(key, strlen(key), content, strlen(content), hex);
		snprintf(out, 80, "hmac:%s", hex);
	} else
		sha256_hex(content, strlen(content), out);
	free(content);
}

static char *
column(struct store *s, const char *sql)
{
	struct db_stmt	*st = db_prepare(s, sql);
	char		*v = NULL;

	if (st != NULL && db_step(st) == DB_ROW)
		v = xstrdup(db_text(st, 0));
	db_finish(s, st);
	return v != NULL ? v : xstrdup("");
}

/*
 * What someone with write access to the database but not the key does:
 * recompute rows `from`..`to` (0: the last) with plain SHA-256, the way the
 * chain was made before it was keyed, optionally editing one detail,
 * and point the old head record at the result.
 */
static void
recompute_unkeyed(struct store *s, int64_t from, int64_t to, int64_t edit_id,
    const char *edit_detail)
{
	struct db_stmt	*st;
	char		 prev[80], hash[80], *sql;
	struct {
		int64_t	 id, at;
		char	*actor, *event, *detail;
	}		 r[64];
	size_t		 n = 0, i;

	snprintf(prev, sizeof prev, "%064d", 0);
	if (from > 1) {
		sql = xasprintf("SELECT hash FROM audit WHERE id = %lld",
		    (long long)from - 1);
		char *h = column(s, sql);
		snprintf(prev, sizeof prev, "%s", h);
		free(h);
		free(sql);
	}
	st = db_prepare(s, "SELECT id, at, actor, event, detail FROM audit "
	    "WHERE id >= ?1 AND id <= ?2 ORDER BY id");
	db_bind_int(st, 1, from);
	db_bind_int(st, 2, to > 0 ? to : INT64_MAX);
	while (db_step(st) == DB_ROW && n < nitems(r)) {
		r[n].id = db_int(st, 0);
		r[n].at = db_int(st, 1);
		r[n].actor = xstrdup(db_text(st, 2));
		r[n].event = xstrdup(db_text(st, 3));
		r[n].detail = xstrdup(r[n].id == edit_id ? edit_detail :
		    db_text(st, 4));
		n++;
	}
	db_finish(s, st);
	drop_triggers(s);
	for (i = 0; i < n; i++) {
		mac_of(NULL, r[i].id, r[i].at, r[i].actor, r[i].event,
		    r[i].detail, prev, hash);
		st = db_prepare(s, "UPDATE audit SET detail = ?1, "
		    "prev_hash = ?2, hash = ?3 WHERE id = ?4");
		db_bind_text(st, 1, r[i].detail);
		db_bind_text(st, 2, prev);
		db_bind_text(st, 3, hash);
		db_bind_int(st, 4, r[i].id);
		T_EQ_INT(db_step(st), DB_DONE);
		db_finish(s, st);
		snprintf(prev, sizeof prev, "%s", hash);
		free(r[i].actor);
		free(r[i].event);
		free(r[i].detail);
	}
	sql = xasprintf("INSERT INTO kv VALUES ('audit_head', '%lld:%s') "
	    KV_UPSERT, (long long)(n > 0 ? r[n - 1].id : 0), prev);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	free(sql);
}

static void
test_audit_intact(void)
{
	struct store	*s = audited("ok.db", 5);
	int64_t		 rows;
	char		*report = NULL;

	T_EQ_INT(audit_verify(s, NULL, &rows, &report), 0);
	T_EQ_INT(rows, 5);
	T_CONTAINS(report, "keyed (HMAC-SHA256) from row 1");
	T_CONTAINS(report, "checkpoint");
	free(report);
	report = NULL;
	/* The triggers refuse edits through SQL. */
	T_EQ_INT(store_exec(s, "UPDATE audit SET actor = 'x'", &report), -1);
	T_CONTAINS(report, "append-only");
	free(report);
	done(s, "ok.db");
}

static void
test_audit_edited_row(void)
{
	struct store	*s = audited("edit.db", 5);
	int64_t		 rows;
	char		*report = NULL;

	drop_triggers(s);
	store_exec(s,
	    "UPDATE audit SET detail = 'job=3 command=start 999' "
	    "WHERE id = 3", NULL);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "audit row 3 was edited");
	free(report);
	done(s, "edit.db");
}

/* Issue 14 item 6: the unkeyed chain recomputed after an edit. */
static void
test_audit_recomputed_chain(void)
{
	struct store	*s = audited("recompute.db", 5);
	int64_t		 rows;
	char		*report = NULL;

	/* Every row: nothing keyed is left. */
	recompute_unkeyed(s, 1, 0, 3, "job=3 command=start 999");
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "no audit row carries a keyed MAC");
	free(report);
	report = NULL;
	done(s, "recompute.db");

	/* From the edit on: the keyed rows before it give it away. */
	s = audited("recompute2.db", 5);
	recompute_unkeyed(s, 3, 0, 3, "job=3 command=start 999");
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "audit row 3 has no keyed MAC though the rows "
	    "before it do");
	free(report);
	done(s, "recompute2.db");
}

static void
test_audit_deleted_row(void)
{
	struct store	*s = audited("del.db", 5);
	int64_t		 rows;
	char		*report = NULL;

	drop_triggers(s);
	store_exec(s,
	    "DELETE FROM audit WHERE id = 2", NULL);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 2..2 were deleted");
	free(report);
	report = NULL;
	done(s, "del.db");

	s = audited("deltail.db", 5);
	drop_triggers(s);
	store_exec(s,
	    "DELETE FROM audit WHERE id = 5", NULL);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 5..5 were deleted: the stored "
	    "checkpoint names row 5 but the log ends at row 4");
	free(report);
	done(s, "deltail.db");
}

/*
 * Issue 14 item 6: the tail deleted and the head record made to agree.
 * Without the key the checkpoint cannot be rewritten; an old genuine one
 * put back is caught by the checkpoint from the log or the digest.
 */
static void
test_audit_tail_deleted_head_updated(void)
{
	struct store	*s = audited("tail.db", 5);
	int64_t		 rows;
	char		*report = NULL, *row3, *sql, *old, *given, *h5;

	row3 = column(s, "SELECT hash FROM audit WHERE id = 3");
	h5 = column(s, "SELECT hash FROM audit WHERE id = 5");
	drop_triggers(s);
	sql = xasprintf(
	    "DELETE FROM audit WHERE id > 3;"
	    "INSERT INTO kv VALUES ('audit_head', '3:%s') " KV_UPSERT ";"
	    "INSERT INTO kv VALUES ('audit_checkpoint', "
	    "'rows=3 id=3 hash=%s at=1000 mac=%064d') " KV_UPSERT, row3, row3,
	    0);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	free(sql);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "checkpoint record was not written by pvebot");
	free(report);
	report = NULL;
	/* Deleted altogether. */
	T_EQ_INT(store_exec(s, "DELETE FROM kv WHERE key = "
	    "'audit_checkpoint'", NULL), 0);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "checkpoint record is missing");
	free(report);
	report = NULL;
	done(s, "tail.db");

	/* An older genuine checkpoint put back. */
	s = audited("replay.db", 3);
	old = column(s, "SELECT value FROM kv WHERE key = 'audit_checkpoint'");
	T_EQ_INT(audit_append(s, "console:eve", "approve", "job=1"), 0);
	T_EQ_INT(audit_append(s, "console:eve", "approve", "job=2"), 0);
	h5 = (free(h5), column(s, "SELECT hash FROM audit WHERE id = 5"));
	drop_triggers(s);
	sql = xasprintf(
	    "DELETE FROM audit WHERE id > 3;"
	    "UPDATE kv SET value = '%s' WHERE key = 'audit_checkpoint'", old);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	free(sql);
	/* The stored one alone cannot tell... */
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), 0);
	free(report);
	report = NULL;
	/* ...the one the log and the digest showed can. */
	given = xasprintf("5:%.16s", h5 + strlen("hmac:"));
	T_EQ_INT(audit_verify(s, given, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 4..5 were deleted: the checkpoint "
	    "you gave names row 5");
	free(report);
	free(given);
	free(old);
	free(row3);
	free(h5);
	done(s, "replay.db");
}

static void
test_audit_inserted_row(void)
{
	struct store	*s = audited("ins.db", 5);
	int64_t		 rows;
	char		*report = NULL, *sql, *prev, hash[80];

	/*
	 * Someone who has the key renumbers rows 3.. and slips a row with a
	 * good MAC in at 3: its own MAC checks out, but row 4 was row 3.
	 */
	prev = column(s, "SELECT hash FROM audit WHERE id = 2");
	mac_of(KEY, 3, 1000, "console:eve", "approve", "job=1", prev, hash);
	drop_triggers(s);
	sql = xasprintf(
	    "UPDATE audit SET id = id + 100 WHERE id >= 3;"
	    "UPDATE audit SET id = id - 99 WHERE id >= 103;"
	    "INSERT INTO audit VALUES (3, 1000, 'console:eve', 'approve', "
	    "'job=1', '%s', '%s')", prev, hash);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 3..3 were inserted");
	free(report);
	report = NULL;
	free(sql);
	free(prev);
	done(s, "ins.db");

	/* A row appended behind pvebot's back, without the key. */
	s = audited("append.db", 3);
	prev = column(s, "SELECT hash FROM audit WHERE id = 3");
	mac_of(NULL, 4, 1000, "console:eve", "approve", "job=1", prev, hash);
	sql = xasprintf("INSERT INTO audit VALUES (4, 1000, 'console:eve', "
	    "'approve', 'job=1', '%s', '%s')", prev, hash);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "audit row 4 has no keyed MAC");
	free(report);
	report = NULL;
	free(sql);
	free(prev);
	done(s, "append.db");
}

/*
 * An unkeyed chain from before: the first start with a key appends the
 * audit.keyed row, which anchors every unkeyed row before it.
 */
static void
test_audit_unkeyed_chain_migrated(void)
{
	char		*path = dbpath("legacy.db"), *cause = NULL;
	char		*report = NULL, *keyed;
	struct store	*s = fresh("legacy.db");
	int64_t		 rows;
	int		 i;

	for (i = 1; i <= 3; i++)
		T_EQ_INT(audit_append(s, "console:bob", "command", "old"), 0);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), 0);
	T_CONTAINS(report, "unkeyed");
	free(report);
	report = NULL;
	store_close(s);

	audit_key_set(path, KEY, strlen(KEY));
	s = fresh("legacy.db");
	T_EQ_INT(audit_start(s, &cause), 0);
	T_EQ_INT(audit_append(s, "console:bob", "command", "new"), 0);
	keyed = column(s, "SELECT event || ' ' || detail FROM audit "
	    "WHERE id = 4");
	T_CONTAINS(keyed, "audit.keyed rows 1..3 were written without a key");
	free(keyed);
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), 0);
	T_EQ_INT(rows, 5);
	T_CONTAINS(report, "keyed (HMAC-SHA256) from row 4");
	free(report);
	report = NULL;
	/* The unkeyed rows can no longer be rewritten quietly. */
	recompute_unkeyed(s, 2, 3, 2, "forged");
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), -1);
	T_CONTAINS(report, "audit row 4 was inserted or rewritten: it does "
	    "not link to row 3");
	free(report);
	free(cause);
	free(path);
	done(s, "legacy.db");
}

/*
 * The head each connection keeps: rows appended by others, and rows of
 * a transaction rolled back, never break the chain.
 */
static void
test_audit_head_per_connection(void)
{
	char		*path = dbpath("heads.db"), *cause = NULL;
	char		*report = NULL;
	struct store	*a, *b;
	int64_t		 rows;
	int		 i;

	audit_key_set(path, KEY, strlen(KEY));
	a = fresh("heads.db");
	b = store_open(path, &cause);
	for (i = 0; i < 10; i++) {
		T_EQ_INT(audit_append(a, "a", "e", "one"), 0);
		T_EQ_INT(audit_append(b, "b", "e", "two"), 0);
		T_EQ_INT(audit_append(b, "b", "e", "three"), 0);
		/* A row in a transaction that does not commit. */
		T_EQ_INT(store_begin(a), 0);
		T_EQ_INT(audit_append(a, "a", "e", "rolled back"), 0);
		store_rollback(a);
	}
	T_EQ_INT(audit_verify(a, NULL, &rows, &report), 0);
	T_EQ_INT(rows, 30);
	free(report);
	store_close(b);
	free(cause);
	free(path);
	done(a, "heads.db");
}

struct appender {
	char	*path;
	int	 n, failed;
};

static void *
append_many(void *arg)
{
	struct appender	*ap = arg;
	struct store	*s;
	char		*cause = NULL;
	int		 i;

	if ((s = store_open(ap->path, &cause)) == NULL) {
		ap->failed = ap->n;
		free(cause);
		return NULL;
	}
	for (i = 0; i < ap->n; i++) {
		if (i % 7 == 3) {
			/* Some inside a transaction that is rolled back. */
			if (store_begin(s) != 0 ||
			    audit_append(s, "t", "e", "gone") != 0)
				ap->failed++;
			store_rollback(s);
		}
		if (audit_append(s, "t", "e", "kept") != 0)
			ap->failed++;
	}
	store_close(s);
	return NULL;
}

/* Four threads, four connections, appending at once. */
static void
test_audit_threads(void)
{
	char		*path = dbpath("threads.db"), *report = NULL;
	struct appender	 ap[4];
	pthread_t	 th[4];
	struct store	*s;
	int64_t		 rows;
	int		 i;

	audit_key_set(path, KEY, strlen(KEY));
	s = fresh("threads.db");
	for (i = 0; i < 4; i++) {
		ap[i].path = path;
		ap[i].n = 150;
		ap[i].failed = 0;
		T_EQ_INT(pthread_create(&th[i], NULL, append_many, &ap[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		T_EQ_INT(ap[i].failed, 0);
	}
	T_EQ_INT(audit_verify(s, NULL, &rows, &report), 0);
	T_EQ_INT(rows, 600);
	free(report);
	free(path);
	done(s, "threads.db");
}

static struct job
sample_job(enum job_state state, int vmid, int heavy)
{
	struct job	 j;

	memset(&j, 0, sizeof j);
	j.state = state;
	j.command = "start 101";
	j.cmd_name = "start";
	j.action = "guest.start";
	j.requester = "console:bob";
	j.connector = "console";
	j.room = "console";
	j.target_vmid = vmid;
	j.target_node = "pve1";
	j.heavy = heavy;
	return j;
}

static void
test_job_state_machine(void)
{
	struct store	*s = fresh("jobs.db");
	struct job	 j = sample_job(JOB_AWAITING_APPROVAL, 101, 0), got;
	char		*cause = NULL;

	T_EQ_INT(jobs_insert(s, &j, &cause), 0);
	T_OK(j.id > 0);
	/* Illegal: awaiting_approval cannot jump to succeeded. */
	T_EQ_INT(jobs_transition(s, j.id, JOB_AWAITING_APPROVAL,
	    JOB_SUCCEEDED, "x", NULL, NULL, &cause), -1);
	T_CONTAINS(cause, "cannot go from awaiting_approval to succeeded");
	T_EQ_INT(jobs_transition(s, j.id, JOB_AWAITING_APPROVAL, JOB_QUEUED,
	    "console:alice", NULL, NULL, &cause), 0);
	/* The same approval twice: the second finds the job moved on. */
	T_EQ_INT(jobs_transition(s, j.id, JOB_AWAITING_APPROVAL, JOB_QUEUED,
	    "console:alice", NULL, NULL, &cause), -1);
	T_CONTAINS(cause, "is queued, not awaiting_approval");
	T_EQ_INT(jobs_get(s, j.id, &got), 0);
	T_EQ_INT(got.state, JOB_QUEUED);
	T_OK(got.queued_at > 0);
	job_release(&got);
	/* Approvals are one per person. */
	T_EQ_INT(jobs_add_approval(s, j.id, "console:alice", "alice",
	    "approve"), 0);
	T_EQ_INT(jobs_add_approval(s, j.id, "console:alice", "alice",
	    "approve"), -1);
	free(cause);
	store_close(s);
}

static void
test_claim_serialises_guest_and_heavy(void)
{
	struct store	*s = fresh("claim.db");
	struct job	 a = sample_job(JOB_QUEUED, 101, 0);
	struct job	 b = sample_job(JOB_QUEUED, 101, 0);
	struct job	 c = sample_job(JOB_QUEUED, 102, 1);
	struct job	 d = sample_job(JOB_QUEUED, 103, 1);
	struct job	 got;
	struct job_claimer by = { .gen = 1 };
	char		*cause = NULL;

	jobs_insert(s, &a, &cause);
	jobs_insert(s, &b, &cause);
	jobs_insert(s, &c, &cause);
	jobs_insert(s, &d, &cause);
	T_EQ_INT(jobs_claim(s, "action", 1, &by, &got), 1);
	T_EQ_INT(got.id, a.id);
	job_release(&got);
	/* b waits for a (same guest); c is heavy and its node has room. */
	T_EQ_INT(jobs_claim(s, "action", 1, &by, &got), 1);
	T_EQ_INT(got.id, c.id);
	job_release(&got);
	/* d is heavy on the same node: at the limit of 1. */
	T_EQ_INT(jobs_claim(s, "action", 1, &by, &got), 0);
	T_EQ_INT(jobs_transition(s, a.id, JOB_RUNNING, JOB_SUCCEEDED, "w",
	    "done", NULL, &cause), 0);
	T_EQ_INT(jobs_claim(s, "action", 1, &by, &got), 1);
	T_EQ_INT(got.id, b.id);
	job_release(&got);
	free(cause);
	store_close(s);
}

/*
 * Sites: a worker claims only jobs of its own site (or of none), and the
 * job says which instance runs it.
 */
static void
test_claim_by_site(void)
{
	struct store	*s = fresh("site.db");
	struct job	 a = sample_job(JOB_QUEUED, 101, 0);
	struct job	 b = sample_job(JOB_QUEUED, 102, 0);
	struct job	 none = sample_job(JOB_QUEUED, 103, 0);
	struct job	 got;
	struct job_claimer paris = { .gen = 1, .instance = "p1",
	    .site = "paris" };
	struct job_claimer lyon = { .gen = 2, .instance = "l1",
	    .site = "lyon" };
	char		*cause = NULL;

	a.site = "lyon";
	b.site = "paris";
	T_EQ_INT(jobs_insert(s, &a, &cause), 0);
	T_EQ_INT(jobs_insert(s, &b, &cause), 0);
	T_EQ_INT(jobs_insert(s, &none, &cause), 0);
	/* Paris passes over Lyon's older job. */
	T_EQ_INT(jobs_claim(s, "action", 1, &paris, &got), 1);
	T_EQ_INT(got.id, b.id);
	T_EQ_STR(got.runner, "p1");
	job_release(&got);
	T_EQ_INT(jobs_claim(s, "action", 1, &paris, &got), 1);
	T_EQ_INT(got.id, none.id);
	job_release(&got);
	T_EQ_INT(jobs_claim(s, "action", 1, &paris, &got), 0);
	T_EQ_INT(jobs_claim(s, "action", 1, &lyon, &got), 1);
	T_EQ_INT(got.id, a.id);
	job_release(&got);
	/* What the store keeps. */
	T_EQ_INT(jobs_get(s, b.id, &got), 0);
	T_EQ_STR(got.site, "paris");
	T_EQ_STR(got.runner, "p1");
	T_EQ_INT(got.state, JOB_RUNNING);
	job_release(&got);
	free(cause);
	store_close(s);
}

/*
 * Intent before action: a UPID belongs to one step at most, whatever
 * order jobs and recoveries store them in; orphans are only the running
 * jobs of earlier process generations.
 */
static void
test_steps_one_upid_one_step(void)
{
	struct store	*s = fresh("steps.db");
	struct job	 a = sample_job(JOB_QUEUED, 104, 0);
	struct job	 b = sample_job(JOB_QUEUED, 105, 0);
	struct job_step	 sa, sb, *v = NULL;
	const char	*upid = "UPID:pve1:0000A1B2:00C0FFEE:6760A2B3:"
	    "qmsnapshot:104:pvebot@pve!bot:";
	char		*cause = NULL;
	int64_t		*ids = NULL, gen;
	size_t		 n = 0;
	struct job	 got;
	struct job_claimer by = { .gen = 1 };

	jobs_insert(s, &a, &cause);
	jobs_insert(s, &b, &cause);
	memset(&sa, 0, sizeof sa);
	sa.job_id = a.id;
	sa.name = "action";
	sa.method = "POST";
	sa.target = "/nodes/pve1/qemu/104/snapshot";
	sa.task_type = "qmsnapshot";
	sa.vmid = 104;
	sb = sa;
	sb.job_id = b.id;
	T_EQ_INT(jobs_step_intent(s, &sa, &cause), 0);
	T_EQ_INT(jobs_step_intent(s, &sb, &cause), 0);
	T_EQ_INT(sa.seq, 1);
	T_OK(sa.intent_at > 0);
	T_EQ_INT(jobs_upid_claimed(s, upid), 0);
	T_EQ_INT(jobs_step_upid(s, sa.id, upid), 0);
	/* The same UPID for another job's step is refused... */
	T_EQ_INT(jobs_step_upid(s, sb.id, upid), -1);
	T_EQ_INT(jobs_upid_claimed(s, upid), 1);
	/* ...and the first step keeps it. */
	T_EQ_INT(jobs_steps(s, a.id, &v, &n), 0);
	T_EQ_INT(n, 1);
	if (n == 1) {
		T_EQ_STR(v[0].upid, upid);
		T_EQ_INT(v[0].state, STEP_STARTED);
	}
	jobs_steps_free(v, n);
	T_EQ_INT(jobs_steps(s, b.id, &v, &n), 0);
	if (n == 1)
		T_OK(v[0].upid == NULL);
	jobs_steps_free(v, n);

	/* Generations: a job claimed by generation 1 is an orphan for 2,
	 * once; a job claimed by generation 2 is never one. */
	T_EQ_INT(jobs_next_generation(s), 1);
	T_EQ_INT(jobs_claim(s, "action", 1, &by, &got), 1);
	job_release(&got);
	gen = jobs_next_generation(s);
	T_EQ_INT(gen, 2);
	by.gen = gen;
	T_EQ_INT(jobs_adopt(s, &by, &ids, &n), 0);
	T_EQ_INT(n, 1);
	if (n == 1)
		T_EQ_INT(ids[0], a.id);
	free(ids);
	T_EQ_INT(jobs_claim(s, "action", 1, &by, &got), 1);
	job_release(&got);
	T_EQ_INT(jobs_adopt(s, &by, &ids, &n), 0);
	T_EQ_INT(n, 0);
	free(ids);
	free(cause);
	store_close(s);
}

/*
 * What the sender is handed: the oldest waiting message of each room and
 * every answer, in the order they were written; a room whose oldest
 * message waits for a retry waits as a whole.
 */
static void
test_outbox_heads(void)
{
	struct store		*s = fresh("outbox.db");
	struct chat_msg		 msg = { .text = "hello" };
	struct chat_event	*ev;
	struct outbox_item	*it;
	size_t			 n;
	int64_t			 m1, m2, m3, m4, next, now = wall_now_ms();

	T_OK(s != NULL);
	T_OK(store_begin(s) == 0);
	m1 = outbox_send(s, "telegram", "r1", &msg, NULL);
	m2 = outbox_send(s, "telegram", "r2", &msg, NULL);
	m3 = outbox_send(s, "telegram", "r1", &msg, NULL);
	ev = chat_event_new(CHAT_EV_BUTTON, "telegram", "r1", "telegram:7");
	ev->reply_token = xstrdup("cb-1");
	ev->msg_ref = xstrdup("55");
	T_OK(outbox_answer(s, ev, "ok") == 0);
	m4 = outbox_send(s, "telegram", "r0", &msg, NULL);
	outbox_send(s, "matrix", "r9", &msg, NULL);
	T_OK(store_commit(s) == 0);
	chat_event_free(ev);

	T_OK(outbox_due(s, "telegram", now, &it, &n, &next) == 0);
	T_EQ_INT(n, 4);
	T_OK(it[0].id == m1 && it[1].id == m2 && it[3].id == m4);
	T_OK(it[2].kind == OUTBOX_ANSWER && strcmp(it[2].room, "r1") == 0);
	T_EQ_STR(it[0].text, "hello");
	T_OK(next == 0);
	/* r1's head has m3 behind it: the sender must look again. */
	T_OK(it[0].more && !it[1].more && !it[3].more);

	/* r1's first message retries in a minute: its second waits too. */
	T_OK(outbox_retry(s, &it[0], now + 60000, "429") == 0);
	T_OK(outbox_sent(s, &it[1], "100") == 0);
	outbox_items_free(it, n);
	T_OK(outbox_due(s, "telegram", now, &it, &n, &next) == 0);
	T_EQ_INT(n, 2);
	T_OK(it[0].kind == OUTBOX_ANSWER && it[1].id == m4);
	T_OK(next == now + 60000);
	outbox_items_free(it, n);

	/* Once due again, r1 goes on in order: m1 before m3. */
	T_OK(outbox_due(s, "telegram", now + 60000, &it, &n, &next) == 0);
	T_OK(n == 3 && it[0].id == m1);
	T_OK(m3 > m1);
	outbox_items_free(it, n);
	store_close(s);
}

/* The one row of `connector` that is due. */
static struct outbox_item *
only_due(struct store *s, const char *connector, size_t *n)
{
	struct outbox_item	*it;
	int64_t			 next;

	T_OK(outbox_due(s, connector, wall_now_ms(), &it, n, &next) == 0);
	T_EQ_INT(*n, 1);
	return it;
}

/*
 * A message comes out of the outbox as it went in, whatever its text:
 * quotes, backslashes, control characters, every plane of Unicode,
 * buttons and the reply context. Bytes that are not UTF-8 become U+FFFD
 * (the text is kept), and rows in another JSON form (an older pvebot's,
 * one edited by hand) still read; a row that is not JSON at all is sent
 * as "(unreadable message)".
 */
static void
test_outbox_content_round_trip(void)
{
	struct store		*s = fresh("outbox-content.db");
	struct chat_button	 bt[2] = {
		{ .label = "Approve \u2705 \"now\"", .data = "ap:12:n\\x",
		  .style = CHAT_BUTTON_PRIMARY, .emoji = "\xf0\x9f\x91\x8d" },
		{ .label = "Deny", .data = "dn:12:n", .style =
		  CHAT_BUTTON_DANGER },
	};
	const char		*text = "line 1\nline\t2 \\ \"q\" /x "
	    "\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \x01\x1f\x7f end";
	struct chat_msg		 msg = { .title = "Job #12 \"snap\"",
	    .text = text, .pre = 1, .mention = "@ann", .mention_name = "Ann",
	    .buttons = bt, .nbuttons = 2 };
	struct chat_msg		 bad = { .text = "bad \xff\xfe\xc3 end" };
	struct chat_event	*ev;
	struct outbox_item	*it;
	size_t			 n;
	int64_t			 id;
	char			*sql;

	T_OK(s != NULL);
	ev = chat_event_new(CHAT_EV_MESSAGE, "telegram", "r1", "telegram:7");
	ev->reply_token = xstrdup("tok\"en\\");
	ev->msg_ref = xstrdup("55");
	ev->slash = 1;
	ev->direct = 1;
	T_OK(store_begin(s) == 0);
	T_OK(outbox_reply(s, ev, &msg, "job #12") > 0);
	T_OK(store_commit(s) == 0);
	chat_event_free(ev);
	it = only_due(s, "telegram", &n);
	T_EQ_STR(it[0].msg.title, "Job #12 \"snap\"");
	T_EQ_STR(it[0].msg.text, text);
	T_OK(it[0].msg.pre);
	T_EQ_STR(it[0].msg.mention, "@ann");
	T_EQ_STR(it[0].msg.mention_name, "Ann");
	T_EQ_INT(it[0].msg.nbuttons, 2);
	T_EQ_STR(it[0].msg.buttons[0].label, "Approve \u2705 \"now\"");
	T_EQ_STR(it[0].msg.buttons[0].data, "ap:12:n\\x");
	T_EQ_STR(it[0].msg.buttons[0].emoji, "\xf0\x9f\x91\x8d");
	T_EQ_INT(it[0].msg.buttons[0].style, CHAT_BUTTON_PRIMARY);
	T_EQ_STR(it[0].msg.buttons[1].label, "Deny");
	T_OK(it[0].msg.buttons[1].emoji == NULL);
	T_EQ_INT(it[0].msg.buttons[1].style, CHAT_BUTTON_DANGER);
	T_OK(it[0].ev != NULL);
	T_EQ_STR(it[0].ev->user, "telegram:7");
	T_EQ_STR(it[0].ev->reply_token, "tok\"en\\");
	T_EQ_STR(it[0].ev->msg_ref, "55");
	T_OK(it[0].ev->slash && it[0].ev->direct);
	T_OK(outbox_sent(s, &it[0], "1") == 0);
	outbox_items_free(it, n);

	/* Not UTF-8: kept, the bad bytes shown as U+FFFD. */
	T_OK(store_begin(s) == 0);
	id = outbox_send(s, "telegram", "r2", &bad, NULL);
	T_OK(store_commit(s) == 0);
	it = only_due(s, "telegram", &n);
	T_EQ_STR(it[0].msg.text, "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
	T_OK(outbox_sent(s, &it[0], "2") == 0);
	outbox_items_free(it, n);

	/* Another writer's JSON: escaped slashes, a number, a nested object. */
	sql = xasprintf("UPDATE outbox SET state = 'pending', version = 2, "
	    "body = '{\"extra\": {\"x\": [1.5, null]}, \"text\": \"a\\/b "
	    "\\u00e9\", \"title\":\"T\", \"buttons\": [{\"label\": \"L\", "
	    "\"data\": \"d\", \"style\": 1.0}]}' WHERE id = %lld",
	    (long long)id);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	free(sql);
	it = only_due(s, "telegram", &n);
	T_EQ_STR(it[0].msg.text, "a/b \xc3\xa9");
	T_EQ_STR(it[0].msg.title, "T");
	T_EQ_INT(it[0].msg.nbuttons, 1);
	T_EQ_STR(it[0].msg.buttons[0].data, "d");
	T_OK(outbox_sent(s, &it[0], "2") == 0);
	outbox_items_free(it, n);

	/* Not JSON, or JSON with a NUL in it: sent as unreadable. */
	sql = xasprintf("UPDATE outbox SET state = 'pending', version = 3, "
	    "body = '{\"text\": \"a\\u0000b\"}' WHERE id = %lld",
	    (long long)id);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	free(sql);
	it = only_due(s, "telegram", &n);
	T_EQ_STR(it[0].msg.text, "(unreadable message)");
	T_OK(outbox_sent(s, &it[0], "2") == 0);
	outbox_items_free(it, n);
	sql = xasprintf("UPDATE outbox SET state = 'pending', version = 4, "
	    "body = '{\"text\": \"cut' WHERE id = %lld", (long long)id);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	free(sql);
	it = only_due(s, "telegram", &n);
	T_EQ_STR(it[0].msg.text, "(unreadable message)");
	outbox_items_free(it, n);
	store_close(s);
}

/*
 * PostgreSQL: a write waits for another connection's write transaction
 * (the advisory lock every write takes, as SQLite's BEGIN IMMEDIATE),
 * gives up as "busy" after its wait, and goes through once the other
 * commits; a read does not wait at all.
 */
static void
test_pg_writers_queue(void)
{
	struct store	*a = fresh("queue.db"), *b;
	char		*path = dbpath("queue.db"), *cause = NULL, *v = NULL;

	b = store_open(path, &cause);
	T_OK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		goto out;
	store_set_wait(b, 300);
	T_EQ_INT(store_begin(a), 0);
	T_EQ_INT(store_kv_set(a, "k", "from a"), 0);
	/* b's write transaction cannot start while a holds the lock... */
	T_EQ_INT(store_try_begin(b, &cause), -1);
	T_OK(store_busy(b));
	/* ...nor can a write outside a transaction... */
	T_EQ_INT(store_kv_set(b, "k", "from b"), -1);
	/* ...but a read goes on, and sees what was committed. */
	T_EQ_INT(store_kv_get(b, "k", &v), 0);
	T_OK(v == NULL);
	T_EQ_INT(store_commit(a), 0);
	T_EQ_INT(store_kv_set(b, "k", "from b"), 0);
	T_EQ_INT(store_kv_get(a, "k", &v), 0);
	T_EQ_STR(v, "from b");
	free(v);
out:
	store_close(b);
	store_close(a);
	free(cause);
	free(path);
}

/* A password in the URL is refused before any connection, unechoed. */
static void
test_pg_password_in_url_refused(void)
{
	char	*cause = NULL;

	T_OK(store_open("postgresql://pvebot:hunter2@127.0.0.1:1/x",
	    &cause) == NULL);
	T_CONTAINS(cause, "database_password_file");
	T_NOT_CONTAINS(cause, "hunter2");
	free(cause);
}

int
main(void)
{
	T_RUN(test_migrate_from_empty);
	T_RUN(test_migrate_from_each_older_version);
	/* SQLite's own: a file copied before an upgrade (on PostgreSQL,
	 * pg_dump is the operator's, docs/ha.md). */
	if (!t_db_pg()) {
		T_RUN(test_backup_before_migration);
		T_RUN(test_no_backup_for_new_database);
	} else
		printf("SKIP test_backup_before_migration, "
		    "test_no_backup_for_new_database: SQLite files only\n");
	T_RUN(test_newer_database_refused);
	T_RUN(test_offsets_and_kv);
	T_RUN(test_audit_intact);
	T_RUN(test_audit_edited_row);
	T_RUN(test_audit_deleted_row);
	T_RUN(test_audit_recomputed_chain);
	T_RUN(test_audit_tail_deleted_head_updated);
	T_RUN(test_audit_inserted_row);
	T_RUN(test_audit_unkeyed_chain_migrated);
	T_RUN(test_audit_head_per_connection);
	T_RUN(test_audit_threads);
	T_RUN(test_job_state_machine);
	T_RUN(test_claim_serialises_guest_and_heavy);
	T_RUN(test_claim_by_site);
	T_RUN(test_steps_one_upid_one_step);
	T_RUN(test_outbox_heads);
	T_RUN(test_outbox_content_round_trip);
	T_RUN(test_pg_password_in_url_refused);
	if (t_db_pg())
		T_RUN(test_pg_writers_queue);
	else
		printf("SKIP test_pg_writers_queue: PostgreSQL only (set "
		    "PVEBOT_TEST_DB)\n");
	return t_summary();
}
