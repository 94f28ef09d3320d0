/*
 * store.c - the SQLite store.
 *
 * One connection per thread, WAL mode so readers never wait for the
 * writer, a busy timeout so writers queue instead of failing. The schema
 * is created and upgraded by the numbered migrations below, each in its
 * own transaction and recorded in schema_version; a database written by a
 * newer pvebot is refused rather than misread.
 *
 * The tables are designed once for every part: jobs and approvals (the
 * job state machine is in jobs/), the audit log (audit.c), chat offsets
 * saved in the same transaction as the work an update produced, alerts
 * and silences (monitor/), an outbox of chat sends with their
 * transaction ids (Matrix idempotency), and the buttons of sent messages
 * (so a reaction or a press after a restart still finds its job).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

struct store {
	sqlite3			*db;
	char			*path;
	struct audit_conn	*audit;		/* audit.c's, lazily */
};

static const char *migrations[] = {
	/* 1: the base schema. */
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  command TEXT NOT NULL,"		/* canonical command text */
	"  cmd_name TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  args TEXT NOT NULL DEFAULT '[]',"	/* JSON array of values */
	"  requester TEXT NOT NULL,"
	"  connector TEXT NOT NULL,"
	"  room TEXT NOT NULL,"
	"  msg_ref TEXT,"			/* message edited with progress */
	"  approval_ref TEXT,"			/* the approval request */
	"  nonce TEXT,"
	"  rule TEXT,"				/* deciding rule, file:line */
	"  approvals_needed INTEGER NOT NULL DEFAULT 0,"
	"  approver_roles TEXT,"
	"  self_approve INTEGER NOT NULL DEFAULT 0,"
	"  snapshot_before INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  target_vmid INTEGER,"		/* what the request assumed */
	"  target_node TEXT,"
	"  target_type TEXT,"
	"  target_status TEXT,"
	"  heavy INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER,"
	"  queued_at INTEGER,"
	"  started_at INTEGER,"
	"  dispatched_at INTEGER,"		/* just before the API call */
	"  finished_at INTEGER,"
	"  upid TEXT,"
	"  progress INTEGER,"
	"  result TEXT,"
	"  error TEXT,"
	"  parent_job INTEGER,"
	"  kind TEXT NOT NULL DEFAULT 'action',"	/* action | read */
	"  cancel_requested INTEGER NOT NULL DEFAULT 0,"
	"  ready INTEGER NOT NULL DEFAULT 1"	/* its chat message is out */
	");"
	"CREATE INDEX jobs_state ON jobs(state, id);"
	"CREATE TABLE approvals ("
	"  id INTEGER PRIMARY KEY,"
	"  job_id INTEGER NOT NULL REFERENCES jobs(id),"
	"  approver TEXT NOT NULL,"
	"  decision TEXT NOT NULL,"		/* approve | deny */
	"  at INTEGER NOT NULL,"
	"  UNIQUE(job_id, approver)"
	");"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL"
	");"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TABLE offsets ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  rule TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  state TEXT NOT NULL,"		/* inactive pending firing ... */
	"  severity TEXT,"
	"  value REAL,"
	"  pending_since INTEGER,"
	"  fired_at INTEGER,"
	"  resolved_at INTEGER,"
	"  last_sent_at INTEGER,"
	"  acked_by TEXT,"
	"  flaps INTEGER NOT NULL DEFAULT 0,"
	"  flap_window_start INTEGER,"
	"  msg_refs TEXT,"			/* JSON: where it was posted */
	"  summary TEXT,"
	"  UNIQUE(rule, target)"
	");"
	"CREATE TABLE silences ("
	"  id INTEGER PRIMARY KEY,"
	"  matcher TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  reason TEXT,"
	"  starts_at INTEGER NOT NULL,"
	"  ends_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  ended_by TEXT"
	");"
	"CREATE TABLE chat_outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  connector TEXT NOT NULL,"
	"  room TEXT NOT NULL,"
	"  txn_id TEXT NOT NULL UNIQUE,"
	"  body TEXT NOT NULL,"
	"  state TEXT NOT NULL,"		/* pending | sent | failed */
	"  ref TEXT,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE chat_buttons ("
	"  connector TEXT NOT NULL,"
	"  room TEXT NOT NULL,"
	"  msg_ref TEXT NOT NULL,"
	"  label TEXT NOT NULL,"
	"  data TEXT NOT NULL,"
	"  emoji TEXT,"
	"  PRIMARY KEY(connector, msg_ref, data)"
	");",

	/* 2: history the digest reads, and the lookups it makes. */
	"CREATE TABLE alert_events ("
	"  id INTEGER PRIMARY KEY,"
	"  alert_id INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  kind TEXT NOT NULL"			/* fired | resolved | ... */
	");"
	"CREATE INDEX alert_events_at ON alert_events(at);"
	"CREATE TABLE metric_samples ("
	"  series TEXT NOT NULL,"		/* "node.cpu:pve1" */
	"  at INTEGER NOT NULL,"
	"  value REAL NOT NULL,"
	"  PRIMARY KEY(series, at)"
	");"
	"CREATE INDEX jobs_finished ON jobs(finished_at);",
};

int
store_latest_version(void)
{
	return (int)nitems(migrations);
}

static int
exec_sql(sqlite3 *db, const char *sql, char **cause)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		set_cause(cause, "%s", err != NULL ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
read_version(sqlite3 *db, int *version, char **cause)
{
	sqlite3_stmt	*st;
	int		 rc;

	*version = 0;
	if (exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version INTEGER NOT NULL, applied_at INTEGER NOT NULL)",
	    cause) != 0)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_version",
	    -1, &st, NULL) != SQLITE_OK)
		return set_cause(cause, "%s", sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int
store_migrate_to(struct store *s, int target, char **cause)
{
	int	 version, v;
	char	*sql;

	if (read_version(s->db, &version, cause) != 0)
		return -1;
	if (version > store_latest_version())
		return set_cause(cause, "%s: database schema version %d is "
		    "newer than this pvebot understands (%d); upgrade pvebot "
		    "or use another database", s->path, version,
		    store_latest_version());
	for (v = version; v < target; v++) {
		if (exec_sql(s->db, "BEGIN IMMEDIATE", cause) != 0)
			return -1;
		if (exec_sql(s->db, migrations[v], cause) != 0) {
			exec_sql(s->db, "ROLLBACK", NULL);
			return set_cause(cause, "%s: migration %d failed: %s",
			    s->path, v + 1, *cause);
		}
		sql = xasprintf("INSERT INTO schema_version VALUES (%d, %lld)",
		    v + 1, (long long)wall_now());
		if (exec_sql(s->db, sql, cause) != 0 ||
		    exec_sql(s->db, "COMMIT", cause) != 0) {
			free(sql);
			exec_sql(s->db, "ROLLBACK", NULL);
			return -1;
		}
		free(sql);
		log_debug("store", "migrated path=%s version=%d", s->path, v + 1);
	}
	return 0;
}

static struct store *
store_open_at(const char *path, int target, char **cause)
{
	struct store	*s = xcalloc(1, sizeof *s);

	s->path = xstrdup(path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		set_cause(cause, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "cannot open database");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (exec_sql(s->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON", cause) != 0) {
		char	*c = *cause;

		*cause = NULL;
		set_cause(cause, "%s: %s", path, c);
		free(c);
		goto fail;
	}
	if (store_migrate_to(s, target, cause) != 0)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

struct store *
store_open(const char *path, char **cause)
{
	return store_open_at(path, store_latest_version(), cause);
}

struct store *
store_open_version(const char *path, int version, char **cause)
{
	return store_open_at(path, version, cause);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	audit_conn_free(s->audit);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s->path);
	free(s);
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

struct audit_conn **
store_audit_slot(struct store *s)
{
	return &s->audit;
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

int
store_version(struct store *s)
{
	int	 v = 0;

	read_version(s->db, &v, NULL);
	return v;
}

int
store_begin(struct store *s)
{
	char	*cause = NULL;

	if (exec_sql(s->db, "BEGIN IMMEDIATE", &cause) != 0) {
		log_error("store", "begin failed: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

int
store_commit(struct store *s)
{
	char	*cause = NULL;

	if (exec_sql(s->db, "COMMIT", &cause) != 0) {
		log_error("store", "commit failed: %s", cause);
		free(cause);
		exec_sql(s->db, "ROLLBACK", NULL);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec_sql(s->db, "ROLLBACK", NULL);
}

int
store_exec(struct store *s, const char *sql, char **cause)
{
	return exec_sql(s->db, sql, cause);
}

sqlite3_stmt *
store_prepare(struct store *s, const char *sql)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("store", "prepare failed: %s sql=%s",
		    sqlite3_errmsg(s->db), sql);
		return NULL;
	}
	return st;
}

static int
get_text(struct store *s, const char *sql, const char *key, char **value)
{
	sqlite3_stmt	*st;
	int		 rc;

	*value = NULL;
	if ((st = store_prepare(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
put_text(struct store *s, const char *sql, const char *key,
    const char *value)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, wall_now());
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_error("store", "write failed key=%s: %s", key,
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_offset_get(struct store *s, const char *key, char **value)
{
	return get_text(s, "SELECT value FROM offsets WHERE key = ?1", key,
	    value);
}

int
store_offset_set(struct store *s, const char *key, const char *value)
{
	return put_text(s, "INSERT INTO offsets (key, value, updated_at) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET "
	    "value = excluded.value, updated_at = excluded.updated_at",
	    key, value);
}

int
store_kv_get(struct store *s, const char *key, char **value)
{
	return get_text(s, "SELECT value FROM kv WHERE key = ?1", key, value);
}

int
store_kv_set(struct store *s, const char *key, const char *value)
{
	/* ?3 is bound by put_text but unused here. */
	return put_text(s, "INSERT INTO kv (key, value) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value "
	    "WHERE ?3 IS NOT NULL", key, value);
}
