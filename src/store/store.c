/*
 * store.c - the SQLite store.
 *
 * One connection per thread, WAL mode so readers never wait for the
 * writer, a busy timeout so writers queue instead of failing. The schema
 * is created and upgraded by the numbered migrations below, each in its
 * own transaction and recorded in schema_version; a database written by a
 * newer pvebot is refused rather than misread. Before the first migration
 * of a database that already has a schema, a copy of it as it was is
 * written beside it (VACUUM INTO PATH.bak-vOLD-YYYYMMDD-HHMMSS, UTC, with
 * the database file's permissions); when that copy cannot be made, the
 * upgrade does not start. A brand new database gets no copy.
 *
 * The tables are designed once for every part: jobs and approvals (the
 * job state machine is in jobs/), the audit log (audit.c), chat offsets
 * saved in the same transaction as the work an update produced, alerts
 * and silences (monitor/), an outbox of chat sends with their
 * transaction ids (Matrix idempotency), and the buttons of sent messages
 * (so a reaction or a press after a restart still finds its job).
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_int.h"
#include "store_pg.h"
#include "store_leader.h"
#include "util.h"

/*
 * Prepared statements are kept per connection, keyed by their SQL text:
 * parsing SQL is most of the cost of a small statement. db_prepare()
 * hands out an idle cached statement (or prepares one), db_finish()
 * resets it for the next use. A statement asked for while its cached
 * copies are all in use is prepared afresh and finalised by
 * db_finish(), so nesting and early returns stay correct.
 */
#define STMT_CACHE_MAX	256
#define STMT_BUCKETS	128		/* slots chained by hash */

struct db_stmt {
	struct store	*s;
	sqlite3_stmt	*st;		/* SQLite's, or */
	struct pg_stmt	*pg;		/* PostgreSQL's */
	int		 slot;		/* its cache slot, -1 for none */
};

struct stmt_slot {
	uint64_t	 hash;		/* of the SQL text */
	char		*sql;
	struct db_stmt	*st;
	int		 in_use;
	uint16_t	 next;		/* next slot + 1 in its bucket, 0 */
};

struct store {
	sqlite3			*db;		/* SQLite, or */
	struct pg_db		*pg;		/* PostgreSQL */
	char			*path;
	struct audit_conn	*audit;		/* audit.c's, lazily */
	struct stmt_slot	*slots;
	size_t			 nslots;
	uint16_t		 buckets[STMT_BUCKETS];	/* slot + 1, 0 */
	/* Connectors whose outbox changed in the open transaction. */
	char			**notify;
	size_t			 nnotify;
};

static store_outbox_hook	 outbox_hook;
/*
 * The leader's epoch every write to one database checks (store_set_fence),
 * by database: a process (a test) may open several in turn. A store
 * copies its database's epoch when it opens.
 */
struct fence {
	char	*path;
	int64_t	 epoch;		/* the leader's, 0: not the leader */
	int64_t	 gen;		/* this process's liveness lock, 0: none */
	int64_t	 pid;		/* the backend that holds it */
};
static pthread_mutex_t	 fences_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fence	*fences;
static size_t		 nfences;

static int	fence_of(struct store *, struct fence *);

void
store_set_outbox_hook(store_outbox_hook hook)
{
	outbox_hook = hook;
}

void
store_run_outbox_hook(const char *connector)
{
	if (outbox_hook != NULL)
		outbox_hook(connector);
}

static void
notify_flush(struct store *s, int run)
{
	size_t	 i;

	for (i = 0; i < s->nnotify; i++) {
		if (run && outbox_hook != NULL)
			outbox_hook(s->notify[i]);
		free(s->notify[i]);
	}
	s->nnotify = 0;
}

/*
 * PostgreSQL: the other instances on the database hear of it too
 * (store_listen()). Sent inside the caller's transaction, the server
 * delivers it only if that commits.
 */
static void
pg_note(struct store *s, const char *channel, const char *payload)
{
	struct db_stmt	*st;

	if (s->pg == NULL ||
	    (st = db_prepare(s, "SELECT pg_notify(?1, ?2)")) == NULL)
		return;
	db_bind_text(st, 1, channel);
	db_bind_text(st, 2, payload);
	if (db_step(st) == DB_ERROR)
		log_warn("store", "notify %s: %s", channel, db_error(s));
	db_finish(s, st);
}

void
store_note_outbox(struct store *s, const char *connector)
{
	size_t	 i;

	if (db_autocommit(s)) {
		/* No transaction: the row is already committed. */
		pg_note(s, STORE_CHANNEL_OUTBOX, connector);
		if (outbox_hook != NULL)
			outbox_hook(connector);
		return;
	}
	for (i = 0; i < s->nnotify; i++) {
		if (strcmp(s->notify[i], connector) == 0)
			return;
	}
	pg_note(s, STORE_CHANNEL_OUTBOX, connector);
	s->notify = xreallocarray(s->notify, s->nnotify + 1,
	    sizeof *s->notify);
	s->notify[s->nnotify++] = xstrdup(connector);
}

void
store_note_jobs(struct store *s)
{
	pg_note(s, STORE_CHANNEL_JOBS, "");
}

int
db_is_pg(const struct store *s)
{
	return s->pg != NULL;
}

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

	/*
	 * 3: the durable chat outbox (outbox.c): one row per logical
	 * message, sent and edited by the connector's sender thread. Jobs
	 * name their messages by outbox id instead of a platform ref, and
	 * the `ready` flag goes: a job's message exists from the moment
	 * the job does. Messages of jobs in flight are carried over.
	 */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  connector TEXT NOT NULL,"
	"  room TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"			/* message | answer */
	"  body TEXT NOT NULL,"			/* JSON content */
	"  reply TEXT,"				/* JSON: the event answered */
	"  label TEXT,"				/* "job #42" */
	"  ref TEXT,"				/* the platform's reference */
	"  version INTEGER NOT NULL,"
	"  sent_version INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"		/* pending | done | failed */
	"  attempts INTEGER NOT NULL,"
	"  next_at INTEGER NOT NULL,"		/* wall clock ms */
	"  error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX outbox_waiting ON outbox(connector, state, room, id);"
	"ALTER TABLE jobs ADD COLUMN msg_id INTEGER;"
	"ALTER TABLE jobs ADD COLUMN approval_msg_id INTEGER;"
	"ALTER TABLE jobs ADD COLUMN display TEXT;"
	"ALTER TABLE jobs ADD COLUMN target_name TEXT;"
	"INSERT INTO outbox (connector, room, kind, body, label, ref, version,"
	"  sent_version, state, attempts, next_at, created_at, updated_at)"
	"  SELECT connector, room, 'message', '{}', 'job #' || id, msg_ref,"
	"  1, 1, 'done', 0, 0, created_at, created_at FROM jobs"
	"  WHERE msg_ref IS NOT NULL AND state IN ('awaiting_approval',"
	"  'queued', 'running');"
	"UPDATE jobs SET msg_id = (SELECT o.id FROM outbox o WHERE"
	"  o.label = 'job #' || jobs.id AND o.ref = jobs.msg_ref)"
	"  WHERE msg_ref IS NOT NULL;"
	"UPDATE jobs SET approval_msg_id = msg_id WHERE approval_ref IS NOT"
	"  NULL AND approval_ref = msg_ref;"
	"ALTER TABLE jobs DROP COLUMN ready;"
	"ALTER TABLE jobs DROP COLUMN msg_ref;"
	"ALTER TABLE jobs DROP COLUMN approval_ref;",

	/*
	 * 4: intent before action. Each request that can start something
	 * (a Proxmox task, an SSH command) is a step written before it is
	 * sent; its UPID is stored against the step, and a UPID belongs to
	 * at most one step. Jobs carry the process generation that claimed
	 * them, so recovery touches only jobs of processes that are gone.
	 */
	"CREATE TABLE job_steps ("
	"  id INTEGER PRIMARY KEY,"
	"  job_id INTEGER NOT NULL REFERENCES jobs(id),"
	"  seq INTEGER NOT NULL,"		/* 1, 2, ... in the job */
	"  name TEXT NOT NULL,"			/* safety_snapshot, action, ssh */
	"  method TEXT NOT NULL,"
	"  target TEXT NOT NULL,"		/* API path, or host */
	"  params TEXT NOT NULL,"		/* JSON */
	"  node TEXT,"
	"  task_type TEXT,"			/* qmstart, vzdump, ... */
	"  vmid INTEGER,"
	"  marker TEXT NOT NULL,"		/* random, per step */
	"  intent_at INTEGER NOT NULL,"		/* UNIX s, before sending */
	"  upid TEXT UNIQUE,"
	"  state TEXT NOT NULL,"	/* intent started done failed unknown */
	"  finished_at INTEGER,"
	"  UNIQUE(job_id, seq)"
	");"
	"ALTER TABLE jobs ADD COLUMN claim_gen INTEGER;",

	/*
	 * 5: people by name in messages (the identity stays in the audit
	 * log), and the room an approval request was posted in when it is
	 * not the request's own (a private chat's request goes to the
	 * approval room).
	 */
	"ALTER TABLE approvals ADD COLUMN display TEXT;"
	"ALTER TABLE jobs ADD COLUMN approval_room TEXT;",

	/* 6: stale alerts: cycles in a row without a reading, and when
	 * the target was last measured. */
	"ALTER TABLE alerts ADD COLUMN missed INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE alerts ADD COLUMN last_seen_at INTEGER;",

	/*
	 * 7: webhooks (src/http/). A Proxmox VE or Backup Server
	 * notification is one row, inserted before the sender gets its 2xx;
	 * the sender neither retries nor names its events, so a key made of
	 * type, host, job, time and title drops repeats. An Alertmanager
	 * group is one row with its alerts; the silences pvebot asks of
	 * Alertmanager wait in am_silences for the endpoint's own thread.
	 */
	"CREATE TABLE hook_events ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL,"		/* proxmox */
	"  dedup_key TEXT NOT NULL UNIQUE,"
	"  type TEXT NOT NULL,"			/* vzdump, verification, ... */
	"  hostname TEXT NOT NULL,"
	"  job_id TEXT,"
	"  severity TEXT NOT NULL,"		/* info warning critical */
	"  sender_severity TEXT NOT NULL,"	/* as sent: info ... unknown */
	"  ts INTEGER NOT NULL,"		/* the sender's time */
	"  title TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  fields TEXT NOT NULL,"		/* JSON object */
	"  kind TEXT NOT NULL,"			/* backup failed, disk, ... */
	"  summary TEXT NOT NULL,"		/* one line for chat */
	"  details TEXT NOT NULL,"		/* the excerpt chat shows */
	"  state TEXT NOT NULL,"	/* alert digest silenced resolved */
	"  acked_by TEXT,"
	"  notes TEXT,"				/* lines added later */
	"  msg_refs TEXT,"			/* JSON: [{c, r, m}] */
	"  received_at INTEGER NOT NULL"
	");"
	"CREATE INDEX hook_events_open ON hook_events(state, type, hostname);"
	"CREATE INDEX hook_events_at ON hook_events(received_at);"
	"CREATE TABLE am_groups ("
	"  id INTEGER PRIMARY KEY,"
	"  receiver TEXT NOT NULL,"
	"  group_key TEXT NOT NULL,"
	"  status TEXT NOT NULL,"		/* firing | resolved */
	"  group_labels TEXT NOT NULL,"		/* JSON object */
	"  external_url TEXT,"
	"  acked_by TEXT,"
	"  notes TEXT,"				/* lines added later */
	"  msg_refs TEXT,"			/* JSON: [{c, r, m}] */
	"  rendered TEXT,"			/* hash of what chat shows */
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE(receiver, group_key)"
	");"
	"CREATE TABLE am_alerts ("
	"  group_id INTEGER NOT NULL REFERENCES am_groups(id),"
	"  fingerprint TEXT NOT NULL,"
	"  status TEXT NOT NULL,"		/* firing | resolved */
	"  labels TEXT NOT NULL,"		/* JSON object */
	"  annotations TEXT NOT NULL,"		/* JSON object */
	"  starts_at TEXT,"
	"  ends_at TEXT,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY(group_id, fingerprint)"
	");"
	"CREATE TABLE am_silences ("
	"  id INTEGER PRIMARY KEY,"
	"  group_id INTEGER NOT NULL REFERENCES am_groups(id),"
	"  created_by TEXT NOT NULL,"
	"  comment TEXT NOT NULL,"
	"  duration INTEGER NOT NULL,"		/* seconds */
	"  requested_at INTEGER NOT NULL,"	/* UNIX s: ends at + duration */
	"  state TEXT NOT NULL,"		/* pending done failed */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"		/* wall clock ms */
	"  silence_ids TEXT,"			/* JSON: {fingerprint: id} */
	"  error TEXT,"
	"  finished_at INTEGER"
	");"
	"CREATE INDEX am_silences_due ON am_silences(state, next_at);",

	/*
	 * 8: what a job will do, worked out before anyone is asked to
	 * approve it (prune's dry run): JSON, shown in the approval request
	 * and checked again when the job runs.
	 */
	"ALTER TABLE jobs ADD COLUMN plan TEXT;",

	/*
	 * 9: provisioning (src/prov/): the addresses and MACs pvebot handed
	 * out, by which job and for which VMID. A live row (released_at
	 * NULL) is unique per kind and value, so two connections can never
	 * both hold one; a released row stays as history.
	 */
	"CREATE TABLE prov_alloc ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"			/* ip | mac */
	"  value TEXT NOT NULL,"		/* 10.1.0.5, 02:00:00:0A:0B:0C */
	"  node TEXT NOT NULL,"
	"  job_id INTEGER NOT NULL DEFAULT 0,"	/* 0: none */
	"  vmid INTEGER NOT NULL DEFAULT 0,"
	"  allocated_at INTEGER NOT NULL,"	/* UNIX s */
	"  released_at INTEGER"
	");"
	"CREATE UNIQUE INDEX prov_alloc_live ON prov_alloc(kind, value) "
	"  WHERE released_at IS NULL;"
	"CREATE INDEX prov_alloc_job ON prov_alloc(job_id);",

	/*
	 * 10: several instances on one database (leader.c): the leader's
	 * epoch, bumped by each instance that wins the leader lock and
	 * checked by every leader-only write in its own transaction (a
	 * fencing token), and the instances that have been seen.
	 */
	"CREATE TABLE leader ("
	"  id INTEGER PRIMARY KEY,"		/* always 1 */
	"  epoch INTEGER NOT NULL,"
	"  instance TEXT,"
	"  since INTEGER NOT NULL"		/* UNIX s */
	");"
	"INSERT INTO leader VALUES (1, 0, NULL, 0);"
	"CREATE TABLE instances ("
	"  name TEXT PRIMARY KEY,"
	"  site TEXT NOT NULL,"
	"  started_at INTEGER NOT NULL,"	/* UNIX s */
	"  seen_at INTEGER NOT NULL"
	");",

	/*
	 * 11: workers on every instance (leader.c, jobs.c): the site a job
	 * belongs to (only workers of that site claim it), the instance
	 * that runs it, and each instance's process generation, whose
	 * liveness lock says whether the jobs it claimed have an owner.
	 */
	"ALTER TABLE jobs ADD COLUMN site TEXT;"
	"ALTER TABLE jobs ADD COLUMN runner TEXT;"
	"ALTER TABLE instances ADD COLUMN gen INTEGER;",
};

int
store_latest_version(void)
{
	return (int)nitems(migrations);
}

static int
exec_sql(struct store *s, const char *sql, char **cause)
{
	sqlite3	*db = s->db;
	char	*err = NULL;

	if (s->pg != NULL)
		return pg_exec(s->pg, sql, cause);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		set_cause(cause, "%s", err != NULL ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
read_version(struct store *s, int *version, char **cause)
{
	struct db_stmt	*st;
	int		 rc;

	*version = 0;
	if (exec_sql(s, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version BIGINT NOT NULL, applied_at BIGINT NOT NULL)",
	    cause) != 0)
		return -1;
	if ((st = db_prepare(s, "SELECT MAX(version) FROM schema_version")) ==
	    NULL)
		return set_cause(cause, "%s", db_error(s));
	rc = db_step(st);
	if (rc == DB_ROW && !db_null(st, 0))
		*version = (int)db_int(st, 0);
	db_finish(s, st);
	return rc == DB_ERROR ? set_cause(cause, "%s", db_error(s)) : 0;
}

/*
 * The copy made before migrating from `version`. The file is created
 * first (O_EXCL, the database's mode) so a second upgrade within the
 * same second gets its own name and the copy is never more readable than
 * the database; VACUUM INTO accepts an empty file.
 */
static int
backup_before_migration(struct store *s, int version, char **cause)
{
	struct stat	 st;
	struct tm	 tm;
	time_t		 t = (time_t)wall_now();
	sqlite3_stmt	*vac;
	char		 stamp[32], *path = NULL;
	mode_t		 mode = 0600;
	int		 i, fd = -1, rc;

	if (*s->path == '\0' || strcmp(s->path, ":memory:") == 0 ||
	    str_has_prefix(s->path, "file:"))
		return 0;
	if (stat(s->path, &st) == 0)
		mode = st.st_mode & 0666;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	for (i = 0; i < 100 && fd == -1; i++) {
		free(path);
		path = i == 0 ? xasprintf("%s.bak-v%d-%s", s->path, version,
		    stamp) : xasprintf("%s.bak-v%d-%s.%d", s->path, version,
		    stamp, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd == -1 && errno != EEXIST) {
			set_cause(cause, "%s: cannot create the backup %s "
			    "before upgrading the schema: %s", s->path, path,
			    strerror(errno));
			free(path);
			return -1;
		}
	}
	if (fd == -1) {
		set_cause(cause, "%s: too many backups named %s.*", s->path,
		    path);
		free(path);
		return -1;
	}
	close(fd);
	if (sqlite3_prepare_v2(s->db, "VACUUM INTO ?1", -1, &vac, NULL) !=
	    SQLITE_OK) {
		set_cause(cause, "%s: %s", s->path, sqlite3_errmsg(s->db));
		unlink(path);
		free(path);
		return -1;
	}
	sqlite3_bind_text(vac, 1, path, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(vac);
	sqlite3_finalize(vac);
	if (rc != SQLITE_DONE) {
		set_cause(cause, "%s: backup to %s before upgrading the schema "
		    "failed, schema not upgraded: %s", s->path, path,
		    sqlite3_errmsg(s->db));
		unlink(path);
		free(path);
		return -1;
	}
	log_info("store", "backed up before upgrading the schema path=%s "
	    "backup=%s version=%d", s->path, path, version);
	free(path);
	return 0;
}

/*
 * PostgreSQL: every step in one transaction under the write lock, so two
 * instances starting together migrate one after the other, and a
 * failed step leaves the schema as it was (its DDL is transactional).
 * A database already at the target takes no lock: opening one is not a
 * write, and must not wait for one.
 */
static int
migrate_pg(struct store *s, int target, char **cause)
{
	struct db_stmt	*st;
	int		 version = -1, v;
	char		*sql;

	/* A new database has no table yet: asked first, so that nothing
	 * fails (and logs) on the way. */
	if ((st = db_prepare(s, "SELECT to_regclass('schema_version') IS NOT "
	    "NULL")) != NULL) {
		if (db_step(st) == DB_ROW && db_int(st, 0) == 1)
			version = 0;
		db_finish(s, st);
	}
	if (version == 0 && (st = db_prepare(s, "SELECT MAX(version) FROM "
	    "schema_version")) != NULL) {
		if (db_step(st) == DB_ROW && !db_null(st, 0))
			version = (int)db_int(st, 0);
		db_finish(s, st);
	}
	if (version >= target && version <= store_latest_version())
		return pg_learn_ids(s->pg, cause);
	if (pg_begin(s->pg, cause) != 0)
		return -1;
	if (read_version(s, &version, cause) != 0)
		goto fail;
	if (version > store_latest_version()) {
		set_cause(cause, "%s: database schema version %d is newer "
		    "than this pvebot understands (%d); upgrade pvebot or use "
		    "another database", s->path, version,
		    store_latest_version());
		goto fail;
	}
	for (v = version; v < target; v++) {
		sql = pg_ddl(migrations[v]);
		if (exec_sql(s, sql, cause) != 0) {
			char	*c = *cause;

			free(sql);
			*cause = NULL;
			set_cause(cause, "%s: migration %d failed: %s",
			    s->path, v + 1, c);
			free(c);
			goto fail;
		}
		free(sql);
		sql = xasprintf("INSERT INTO schema_version VALUES (%d, %lld)",
		    v + 1, (long long)wall_now());
		if (exec_sql(s, sql, cause) != 0) {
			free(sql);
			goto fail;
		}
		free(sql);
	}
	if (pg_commit(s->pg, cause) != 0)
		return -1;
	return pg_learn_ids(s->pg, cause);
fail:
	pg_rollback(s->pg);
	return -1;
}

int
store_migrate_to(struct store *s, int target, char **cause)
{
	int	 version, v;
	char	*sql;

	if (s->pg != NULL)
		return migrate_pg(s, target, cause);
	if (read_version(s, &version, cause) != 0)
		return -1;
	if (version > store_latest_version())
		return set_cause(cause, "%s: database schema version %d is "
		    "newer than this pvebot understands (%d); upgrade pvebot "
		    "or use another database", s->path, version,
		    store_latest_version());
	if (version > 0 && version < target &&
	    backup_before_migration(s, version, cause) != 0)
		return -1;
	for (v = version; v < target; v++) {
		if (exec_sql(s, "BEGIN IMMEDIATE", cause) != 0)
			return -1;
		if (exec_sql(s, migrations[v], cause) != 0) {
			exec_sql(s, "ROLLBACK", NULL);
			return set_cause(cause, "%s: migration %d failed: %s",
			    s->path, v + 1, *cause);
		}
		sql = xasprintf("INSERT INTO schema_version VALUES (%d, %lld)",
		    v + 1, (long long)wall_now());
		if (exec_sql(s, sql, cause) != 0 ||
		    exec_sql(s, "COMMIT", cause) != 0) {
			free(sql);
			exec_sql(s, "ROLLBACK", NULL);
			return -1;
		}
		free(sql);
		log_debug("store", "migrated path=%s version=%d", s->path, v + 1);
	}
	return 0;
}

/*
 * PostgreSQL passwords by URL, for every connection of this process: set
 * once from database_password_file, never logged.
 */
void
store_free_password(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

struct password {
	char	*url;
	char	*password;
};
static pthread_mutex_t	 passwords_lock = PTHREAD_MUTEX_INITIALIZER;
static struct password	*passwords;
static size_t		 npasswords;

void
store_set_password(const char *url, const char *password)
{
	size_t	 i;

	pthread_mutex_lock(&passwords_lock);
	for (i = 0; i < npasswords; i++) {
		if (strcmp(passwords[i].url, url) == 0)
			break;
	}
	if (i == npasswords) {
		passwords = xreallocarray(passwords, npasswords + 1,
		    sizeof *passwords);
		passwords[npasswords].url = xstrdup(url);
		passwords[npasswords++].password = NULL;
	}
	store_free_password(passwords[i].password);
	passwords[i].password = password != NULL ? xstrdup(password) : NULL;
	pthread_mutex_unlock(&passwords_lock);
}

char *
store_password_of(const char *url)
{
	char	*pw = NULL;
	size_t	 i;

	pthread_mutex_lock(&passwords_lock);
	for (i = 0; i < npasswords; i++) {
		if (strcmp(passwords[i].url, url) == 0 &&
		    passwords[i].password != NULL)
			pw = xstrdup(passwords[i].password);
	}
	pthread_mutex_unlock(&passwords_lock);
	return pw;
}

/* SQLite rolled a transaction back (asked to, or on its own after an
 * I/O error): what the connection cached of the audit head is stale. */
static void
on_rollback(void *arg)
{
	struct store	*s = arg;

	audit_conn_rolled_back(s->audit);
}

static struct store *
store_open_at(const char *path, int target, char **cause)
{
	struct store	*s = xcalloc(1, sizeof *s);

	s->path = xstrdup(path);
	if (pg_is_url(path)) {
		char	*pw = store_password_of(path);

		s->pg = pg_open(path, pw, cause);
		store_free_password(pw);
		if (s->pg == NULL || store_migrate_to(s, target, cause) != 0)
			goto fail;
		return s;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		set_cause(cause, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "cannot open database");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	sqlite3_rollback_hook(s->db, on_rollback, s);
	if (exec_sql(s, "PRAGMA journal_mode=WAL;"
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
	size_t	 i;

	if (s == NULL)
		return;
	audit_conn_free(s->audit);
	for (i = 0; i < s->nslots; i++) {
		if (s->slots[i].st->pg != NULL)
			pg_stmt_free(s->slots[i].st->pg);
		else
			sqlite3_finalize(s->slots[i].st->st);
		free(s->slots[i].st);
		free(s->slots[i].sql);
	}
	free(s->slots);
	notify_flush(s, 0);
	free(s->notify);
	if (s->db != NULL)
		sqlite3_close(s->db);
	pg_close(s->pg);
	free(s->path);
	free(s);
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

	read_version(s, &v, NULL);
	return v;
}

/*
 * BEGIN, COMMIT and ROLLBACK through the statement cache: they run for
 * every command, and parsing their text each time cost more than the
 * rows they wrap.
 */
static int
tx_sql(struct store *s, const char *sql, char **cause)
{
	struct db_stmt	*st;
	int		 rc;

	if (s->pg != NULL) {
		if (strcmp(sql, "BEGIN IMMEDIATE") == 0) {
			struct fence	 f;
			int		 fenced = fence_of(s, &f);

			if (pg_begin(s->pg, cause) != 0)
				return -1;
			/*
			 * Under the write lock: an epoch bumped by another
			 * leader is seen, and so is a liveness lock this
			 * process lost (its jobs may be adopted already);
			 * nothing is written after either.
			 */
			if (fenced && (rc = store_fences(s, f.epoch, f.gen,
			    f.pid)) != 0) {
				pg_rollback(s->pg);
				return set_cause(cause, "fenced: %s", rc == 1 ?
				    "another instance leads now" : rc == 2 ?
				    "this instance's liveness lock is lost" :
				    "the check failed");
			}
			return 0;
		}
		if (strcmp(sql, "COMMIT") == 0)
			return pg_commit(s->pg, cause);
		pg_rollback(s->pg);
		return 0;
	}
	if ((st = db_prepare(s, sql)) == NULL)
		return set_cause(cause, "%s", sqlite3_errmsg(s->db));
	rc = db_step(st);
	if (rc != DB_DONE)
		set_cause(cause, "%s", sqlite3_errmsg(s->db));
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

int
store_begin(struct store *s)
{
	char	*cause = NULL;

	if (tx_sql(s, "BEGIN IMMEDIATE", &cause) != 0) {
		log_error("store", "begin failed: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

int
store_try_begin(struct store *s, char **cause)
{
	if (tx_sql(s, "BEGIN IMMEDIATE", cause) == 0)
		return 0;
	/* The same words on either backend for a write lock held. */
	if (cause != NULL && store_busy(s)) {
		free(*cause);
		*cause = xstrdup("database is locked");
	}
	return -1;
}

/* The fence of `database`, made when missing; under fences_lock. */
static struct fence *
fence_slot(const char *database)
{
	size_t	 i;

	for (i = 0; i < nfences; i++) {
		if (strcmp(fences[i].path, database) == 0)
			return &fences[i];
	}
	fences = xreallocarray(fences, nfences + 1, sizeof *fences);
	memset(&fences[nfences], 0, sizeof *fences);
	fences[nfences].path = xstrdup(database);
	return &fences[nfences++];
}

void
store_set_fence(const char *database, int64_t epoch)
{
	pthread_mutex_lock(&fences_lock);
	fence_slot(database)->epoch = epoch;
	pthread_mutex_unlock(&fences_lock);
}

void
store_set_alive(const char *database, int64_t gen, int64_t pid)
{
	struct fence	*f;

	pthread_mutex_lock(&fences_lock);
	f = fence_slot(database);
	f->gen = gen;
	f->pid = pid;
	pthread_mutex_unlock(&fences_lock);
}

/* 1 and *out when writes to s's database are fenced, else 0. */
static int
fence_of(struct store *s, struct fence *out)
{
	size_t	 i;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&fences_lock);
	for (i = 0; i < nfences; i++) {
		if (strcmp(fences[i].path, s->path) == 0)
			*out = fences[i];
	}
	pthread_mutex_unlock(&fences_lock);
	out->path = NULL;
	return out->epoch != 0 || out->gen != 0;
}

const char *
store_error(struct store *s)
{
	return db_error(s);
}

int
store_busy(struct store *s)
{
	if (s->pg != NULL)
		return pg_busy(s->pg);
	return (sqlite3_errcode(s->db) & 0xff) == SQLITE_BUSY;
}

int
store_commit(struct store *s)
{
	char	*cause = NULL;
	int64_t	 t0 = metric_now_us();

	if (tx_sql(s, "COMMIT", &cause) != 0) {
		log_error("store", "commit failed: %s", cause);
		free(cause);
		if (!db_autocommit(s))
			tx_sql(s, "ROLLBACK", NULL);
		if (s->pg != NULL)
			audit_conn_rolled_back(s->audit);
		notify_flush(s, 0);
		return -1;
	}
	metric_observe(M_SQLITE_COMMIT, NULL, (metric_now_us() - t0) / 1e6);
	notify_flush(s, 1);
	return 0;
}

void
store_rollback(struct store *s)
{
	if (!db_autocommit(s))
		tx_sql(s, "ROLLBACK", NULL);
	if (s->pg != NULL)
		audit_conn_rolled_back(s->audit);
	notify_flush(s, 0);
}

int
store_exec(struct store *s, const char *sql, char **cause)
{
	return exec_sql(s, sql, cause);
}

static uint64_t
sql_hash(const char *sql)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *sql != '\0'; sql++)
		h = (h ^ (unsigned char)*sql) * 1099511628211ULL;
	return h;
}

struct db_stmt *
db_prepare(struct store *s, const char *sql)
{
	struct stmt_slot	*slot;
	sqlite3_stmt		*st = NULL;
	struct db_stmt		*ds;
	uint64_t		 h = sql_hash(sql);
	unsigned		 k;

	/* By content, never by address: SQL built at run time may reuse
	 * the address of other SQL. */
	for (k = s->buckets[h % STMT_BUCKETS]; k != 0; k = slot->next) {
		slot = &s->slots[k - 1];
		if (slot->in_use || slot->hash != h ||
		    strcmp(slot->sql, sql) != 0)
			continue;
		slot->in_use = 1;
		return slot->st;
	}
	if (s->pg != NULL) {
		ds = xcalloc(1, sizeof *ds);
		ds->s = s;
		ds->slot = -1;
		ds->pg = pg_prepare(s->pg, sql);
		goto cache;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, NULL) != SQLITE_OK) {
		log_error("store", "prepare failed: %s sql=%s",
		    sqlite3_errmsg(s->db), sql);
		sqlite3_finalize(st);
		return NULL;
	}
	ds = xcalloc(1, sizeof *ds);
	ds->s = s;
	ds->slot = -1;
	ds->st = st;
cache:
	if (s->nslots < STMT_CACHE_MAX) {
		s->slots = xreallocarray(s->slots, s->nslots + 1,
		    sizeof *s->slots);
		ds->slot = (int)s->nslots;
		slot = &s->slots[s->nslots++];
		slot->hash = h;
		slot->sql = xstrdup(sql);
		slot->st = ds;
		slot->in_use = 1;
		slot->next = s->buckets[h % STMT_BUCKETS];
		s->buckets[h % STMT_BUCKETS] = (uint16_t)s->nslots;
	}
	return ds;
}

void
db_finish(struct store *s, struct db_stmt *ds)
{
	if (ds == NULL)
		return;
	if (ds->slot >= 0) {
		if (ds->pg != NULL)
			pg_reset(ds->pg);
		else {
			sqlite3_reset(ds->st);
			sqlite3_clear_bindings(ds->st);
		}
		s->slots[ds->slot].in_use = 0;
		return;
	}
	if (ds->pg != NULL)
		pg_stmt_free(ds->pg);
	else
		sqlite3_finalize(ds->st);
	free(ds);
}

void
db_bind_int(struct db_stmt *ds, int i, int64_t v)
{
	char	 num[24];

	if (ds->pg != NULL) {
		snprintf(num, sizeof num, "%lld", (long long)v);
		pg_bind(ds->pg, i, num);
	} else
		sqlite3_bind_int64(ds->st, i, v);
}

void
db_bind_double(struct db_stmt *ds, int i, double v)
{
	char	 num[40];

	if (ds->pg != NULL) {
		snprintf(num, sizeof num, "%.17g", v);
		pg_bind(ds->pg, i, num);
	} else
		sqlite3_bind_double(ds->st, i, v);
}

void
db_bind_text(struct db_stmt *ds, int i, const char *v)
{
	if (ds->pg != NULL)
		pg_bind(ds->pg, i, v);
	else if (v == NULL)
		sqlite3_bind_null(ds->st, i);
	else
		sqlite3_bind_text(ds->st, i, v, -1, SQLITE_STATIC);
}

void
db_bind_text_copy(struct db_stmt *ds, int i, const char *v)
{
	if (ds->pg != NULL)
		pg_bind(ds->pg, i, v);
	else if (v == NULL)
		sqlite3_bind_null(ds->st, i);
	else
		sqlite3_bind_text(ds->st, i, v, -1, SQLITE_TRANSIENT);
}

void
db_bind_null(struct db_stmt *ds, int i)
{
	if (ds->pg != NULL)
		pg_bind(ds->pg, i, NULL);
	else
		sqlite3_bind_null(ds->st, i);
}

int
db_step(struct db_stmt *ds)
{
	struct store	*s = ds->s;
	struct fence	 f;
	int		 rc;

	if (ds->pg != NULL && pg_is_write(ds->pg) && !pg_in_tx(s->pg) &&
	    !pg_executed(ds->pg) && fence_of(s, &f)) {
		/* A write on its own, fenced like any transaction. */
		if (store_begin(s) != 0)
			return DB_ERROR;
		if ((rc = pg_step(ds->pg)) == DB_ERROR) {
			store_rollback(s);
			return rc;
		}
		return store_commit(s) == 0 ? rc : DB_ERROR;
	}
	if (ds->pg != NULL)
		return pg_step(ds->pg);
	switch (sqlite3_step(ds->st)) {
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_DONE:
		return DB_DONE;
	default:
		return DB_ERROR;
	}
}

/* PostgreSQL answers booleans as t and f. */
int64_t
db_int(struct db_stmt *ds, int col)
{
	const char	*v;

	if (ds->pg == NULL)
		return sqlite3_column_int64(ds->st, col);
	if ((v = pg_value(ds->pg, col)) == NULL)
		return 0;
	if (strcmp(v, "t") == 0)
		return 1;
	return strtoll(v, NULL, 10);
}

double
db_double(struct db_stmt *ds, int col)
{
	const char	*v;

	if (ds->pg == NULL)
		return sqlite3_column_double(ds->st, col);
	return (v = pg_value(ds->pg, col)) != NULL ? strtod(v, NULL) : 0.0;
}

const char *
db_text(struct db_stmt *ds, int col)
{
	if (ds->pg != NULL)
		return pg_value(ds->pg, col);
	return (const char *)sqlite3_column_text(ds->st, col);
}

int
db_null(struct db_stmt *ds, int col)
{
	if (ds->pg != NULL)
		return pg_value(ds->pg, col) == NULL;
	return sqlite3_column_type(ds->st, col) == SQLITE_NULL;
}

char *
db_text_dup(struct db_stmt *ds, int col)
{
	const char	*t = db_text(ds, col);

	return t != NULL ? xstrdup(t) : NULL;
}

int64_t
db_changes(struct store *s)
{
	return s->pg != NULL ? pg_changes(s->pg) : sqlite3_changes(s->db);
}

int64_t
db_total_changes(struct store *s)
{
	return s->pg != NULL ? pg_total_changes(s->pg) :
	    sqlite3_total_changes(s->db);
}

int64_t
db_last_id(struct store *s)
{
	return s->pg != NULL ? pg_last_id(s->pg) :
	    sqlite3_last_insert_rowid(s->db);
}

const char *
db_error(struct store *s)
{
	return s->pg != NULL ? pg_error(s->pg) : sqlite3_errmsg(s->db);
}

int
db_autocommit(struct store *s)
{
	return s->pg != NULL ? !pg_in_tx(s->pg) : sqlite3_get_autocommit(s->db);
}

int
db_data_version(struct store *s, int64_t *dv)
{
	struct db_stmt	*st;
	int		 rc;

	if (s->pg != NULL)
		return -1;
	if ((st = db_prepare(s, "PRAGMA data_version")) == NULL)
		return -1;
	rc = db_step(st);
	if (rc == DB_ROW)
		*dv = db_int(st, 0);
	db_finish(s, st);
	return rc == DB_ROW ? 0 : -1;
}

void
store_set_wait(struct store *s, int ms)
{
	if (s->pg != NULL)
		pg_set_wait(s->pg, ms);
	else
		sqlite3_busy_timeout(s->db, ms);
}

static int
get_text(struct store *s, const char *sql, const char *key, char **value)
{
	struct db_stmt	*st;
	int		 rc;

	*value = NULL;
	if ((st = db_prepare(s, sql)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	rc = db_step(st);
	if (rc == DB_ROW)
		*value = xstrdup(db_text(st, 0));
	db_finish(s, st);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

static int
put_text(struct store *s, const char *sql, const char *key,
    const char *value)
{
	struct db_stmt	*st;
	int		 rc;

	if ((st = db_prepare(s, sql)) == NULL)
		return -1;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, value);
	if (strstr(sql, "?3") != NULL)
		db_bind_int(st, 3, wall_now());
	rc = db_step(st);
	db_finish(s, st);
	if (rc != DB_DONE) {
		log_error("store", "write failed key=%s: %s", key,
		    db_error(s));
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
	return put_text(s, "INSERT INTO kv (key, value) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value", key,
	    value);
}
