/*
 * Store tests: migrations from empty and from every older version, the
 * dated copy taken before a schema upgrade (and none for a new database),
 * a newer database refused, offsets and kv, the audit chain catching an
 * edited, a deleted and an inserted row, and the job state machine.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "store.h"
#include "t.h"
#include "util.h"

static struct store *
fresh(const char *name)
{
	char		*path = t_path(name), *cause = NULL;
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
	sqlite3_stmt	*st = store_prepare(s, "SELECT 1 FROM sqlite_master "
	    "WHERE type = 'table' AND name = ?1");
	int		 found;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	store_finish(s, st);
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
	sqlite3_stmt	*st;

	T_OK(s != NULL);
	if (s == NULL)
		return;
	T_EQ_INT(store_version(s), store_latest_version());
	for (i = 0; i < nitems(tables); i++)
		T_OK(table_exists(s, tables[i]));
	st = store_prepare(s, "PRAGMA journal_mode");
	T_OK(sqlite3_step(st) == SQLITE_ROW);
	T_EQ_STR((const char *)sqlite3_column_text(st, 0), "wal");
	store_finish(s, st);
	store_close(s);
}

static void
test_migrate_from_each_older_version(void)
{
	int	 v;

	for (v = 1; v < store_latest_version(); v++) {
		char		*name = xasprintf("old%d.db", v);
		char		*path = t_path(name), *cause = NULL;
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
	char		*path = t_path("new.db"), *cause = NULL, *sql;

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

static struct store *
audited(const char *name, int rows)
{
	struct store	*s = fresh(name);
	int		 i;

	for (i = 1; i <= rows; i++) {
		char	*d = xasprintf("job=%d command=start 10%d", i, i);

		audit_append(s, "telegram:42", "command", d);
		free(d);
	}
	return s;
}

static void
test_audit_intact(void)
{
	struct store	*s = audited("ok.db", 5);
	int64_t		 rows;
	char		*report = NULL;

	T_EQ_INT(audit_verify(s, &rows, &report), 0);
	T_EQ_INT(rows, 5);
	/* The triggers refuse edits through SQL. */
	T_EQ_INT(store_exec(s, "UPDATE audit SET actor = 'x'", &report), -1);
	T_CONTAINS(report, "append-only");
	free(report);
	report = NULL;
	store_close(s);
}

static void
test_audit_edited_row(void)
{
	struct store	*s = audited("edit.db", 5);
	int64_t		 rows;
	char		*report = NULL;

	store_exec(s, "DROP TRIGGER audit_no_update;"
	    "UPDATE audit SET detail = 'job=3 command=start 999' "
	    "WHERE id = 3", NULL);
	T_EQ_INT(audit_verify(s, &rows, &report), -1);
	T_CONTAINS(report, "audit row 3 was edited");
	free(report);
	report = NULL;
	store_close(s);
}

static void
test_audit_deleted_row(void)
{
	struct store	*s = audited("del.db", 5);
	int64_t		 rows;
	char		*report = NULL;

	store_exec(s, "DROP TRIGGER audit_no_delete;"
	    "DELETE FROM audit WHERE id = 2", NULL);
	T_EQ_INT(audit_verify(s, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 2..2 were deleted");
	free(report);
	report = NULL;
	store_close(s);

	s = audited("deltail.db", 5);
	store_exec(s, "DROP TRIGGER audit_no_delete;"
	    "DELETE FROM audit WHERE id = 5", NULL);
	T_EQ_INT(audit_verify(s, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 5..5 were deleted");
	free(report);
	report = NULL;
	store_close(s);
}

static void
test_audit_inserted_row(void)
{
	struct store	*s = audited("ins.db", 5);
	int64_t		 rows;
	char		*report = NULL, *sql, *content, prev[65], hash[65];
	sqlite3_stmt	*st;

	/*
	 * A forger who knows the hash format renumbers rows 3.. and slips a
	 * well-hashed row in at 3: its own hash checks out, but row 4 still
	 * links to row 2.
	 */
	st = store_prepare(s, "SELECT hash FROM audit WHERE id = 2");
	T_OK(sqlite3_step(st) == SQLITE_ROW);
	snprintf(prev, sizeof prev, "%s", sqlite3_column_text(st, 0));
	store_finish(s, st);
	content = xasprintf("3|1000|11:console:eve|7:approve|5:job=1|%s", prev);
	sha256_hex(content, strlen(content), hash);
	sql = xasprintf("DROP TRIGGER audit_no_update;"
	    "UPDATE audit SET id = id + 100 WHERE id >= 3;"
	    "UPDATE audit SET id = id - 99 WHERE id >= 103;"
	    "INSERT INTO audit VALUES (3, 1000, 'console:eve', 'approve', "
	    "'job=1', '%s', '%s')", prev, hash);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	T_EQ_INT(audit_verify(s, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 3..3 were inserted");
	free(report);
	report = NULL;
	free(sql);
	free(content);
	store_close(s);

	/* A row appended behind pvebot's back, hash and all. */
	s = audited("append.db", 3);
	st = store_prepare(s, "SELECT hash FROM audit WHERE id = 3");
	T_OK(sqlite3_step(st) == SQLITE_ROW);
	snprintf(prev, sizeof prev, "%s", sqlite3_column_text(st, 0));
	store_finish(s, st);
	content = xasprintf("4|1000|11:console:eve|7:approve|5:job=1|%s", prev);
	sha256_hex(content, strlen(content), hash);
	sql = xasprintf("INSERT INTO audit VALUES (4, 1000, 'console:eve', "
	    "'approve', 'job=1', '%s', '%s')", prev, hash);
	T_EQ_INT(store_exec(s, sql, NULL), 0);
	T_EQ_INT(audit_verify(s, &rows, &report), -1);
	T_CONTAINS(report, "audit row(s) 4..4 were inserted after the last");
	free(report);
	free(sql);
	free(content);
	store_close(s);
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
	T_EQ_INT(jobs_add_approval(s, j.id, "console:alice", "approve"), 0);
	T_EQ_INT(jobs_add_approval(s, j.id, "console:alice", "approve"), -1);
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
	char		*cause = NULL;

	jobs_insert(s, &a, &cause);
	jobs_insert(s, &b, &cause);
	jobs_insert(s, &c, &cause);
	jobs_insert(s, &d, &cause);
	T_EQ_INT(jobs_claim(s, "action", 1, 1, &got), 1);
	T_EQ_INT(got.id, a.id);
	job_release(&got);
	/* b waits for a (same guest); c is heavy and its node has room. */
	T_EQ_INT(jobs_claim(s, "action", 1, 1, &got), 1);
	T_EQ_INT(got.id, c.id);
	job_release(&got);
	/* d is heavy on the same node: at the limit of 1. */
	T_EQ_INT(jobs_claim(s, "action", 1, 1, &got), 0);
	T_EQ_INT(jobs_transition(s, a.id, JOB_RUNNING, JOB_SUCCEEDED, "w",
	    "done", NULL, &cause), 0);
	T_EQ_INT(jobs_claim(s, "action", 1, 1, &got), 1);
	T_EQ_INT(got.id, b.id);
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
	T_EQ_INT(jobs_claim(s, "action", 1, 1, &got), 1);
	job_release(&got);
	gen = jobs_next_generation(s);
	T_EQ_INT(gen, 2);
	T_EQ_INT(jobs_adopt_orphans(s, gen, &ids, &n), 0);
	T_EQ_INT(n, 1);
	if (n == 1)
		T_EQ_INT(ids[0], a.id);
	free(ids);
	T_EQ_INT(jobs_claim(s, "action", 1, gen, &got), 1);
	job_release(&got);
	T_EQ_INT(jobs_adopt_orphans(s, gen, &ids, &n), 0);
	T_EQ_INT(n, 0);
	free(ids);
	free(cause);
	store_close(s);
}

int
main(void)
{
	T_RUN(test_migrate_from_empty);
	T_RUN(test_migrate_from_each_older_version);
	T_RUN(test_backup_before_migration);
	T_RUN(test_no_backup_for_new_database);
	T_RUN(test_newer_database_refused);
	T_RUN(test_offsets_and_kv);
	T_RUN(test_audit_intact);
	T_RUN(test_audit_edited_row);
	T_RUN(test_audit_deleted_row);
	T_RUN(test_audit_inserted_row);
	T_RUN(test_job_state_machine);
	T_RUN(test_claim_serialises_guest_and_heavy);
	T_RUN(test_steps_one_upid_one_step);
	return t_summary();
}
