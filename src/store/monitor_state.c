/*
 * monitor_state.c - the monitor's metric samples (table metric_samples)
 * and its reads of the jobs and audit tables: the statements behind
 * store_monitor.h.
 *
 * A sample is one value per series and time (the table's key); storing
 * one again for the same time replaces it. The reads of jobs and audit
 * only read: those tables belong to the jobs (jobs.h) and the audit log
 * (store.h), and what they mean is theirs. A match on text inside an
 * audit row's detail is made here in C, so the SQL stays the common
 * subset of every backend (db.h).
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_util.h"
#include "store.h"
#include "store_monitor.h"
#include "util.h"

#define SCHEDULE_PREFIX	"schedule:"

/* ---- metric samples ---- */

int
metric_sample_put(struct store *s, const char *series, int64_t at,
    double value)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO metric_samples (series, at, value) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (series, at) DO UPDATE SET "
	    "value = excluded.value");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, series);
	db_bind_int(st, 2, at);
	db_bind_double(st, 3, value);
	return db_run(s, st);
}

int
metric_samples_prune(struct store *s, int64_t before)
{
	struct db_stmt	*st;

	st = db_prepare(s, "DELETE FROM metric_samples WHERE at < ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, before);
	return db_run(s, st);
}

static void
sample_fill(struct db_stmt *st, void *elem)
{
	struct metric_sample	*m = elem;

	m->at = db_int(st, 0);
	m->value = db_double(st, 1);
}

int
metric_samples_range(struct store *s, const char *series, int64_t after,
    int64_t until, struct metric_sample **v, size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*v = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT at, value FROM metric_samples WHERE "
	    "series = ?1 AND at > ?2 AND at <= ?3");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, series);
	db_bind_int(st, 2, after);
	db_bind_int(st, 3, until);
	*v = db_rows(s, st, sizeof **v, sample_fill, n, &rc);
	return rc;
}

/* The one value of an aggregate: 1 (set), 0 (NULL: no rows), -1. */
static int
sample_aggregate(struct store *s, struct db_stmt *st, double *out)
{
	int	 rc;

	if ((rc = db_step(st)) == DB_ROW) {
		if ((rc = !db_null(st, 0)))
			*out = db_double(st, 0);
	} else
		rc = -1;
	db_finish(s, st);
	return rc;
}

int
metric_sample_max(struct store *s, const char *series, int64_t after,
    double *out)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT MAX(value) FROM metric_samples WHERE "
	    "series = ?1 AND at > ?2");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, series);
	db_bind_int(st, 2, after);
	return sample_aggregate(s, st, out);
}

int
metric_sample_min(struct store *s, const char *series, int64_t from,
    int64_t until, double *out)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT MIN(value) FROM metric_samples WHERE "
	    "series = ?1 AND at >= ?2 AND at <= ?3");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, series);
	db_bind_int(st, 2, from);
	db_bind_int(st, 3, until);
	return sample_aggregate(s, st, out);
}

/* ---- jobs and audit ---- */

void
job_lines_free(struct job_line *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].requester);
		free(v[i].command);
		free(v[i].state);
	}
	free(v);
}

/* Columns: id, requester, command, state. */
static void
job_line_fill(struct db_stmt *st, void *elem)
{
	struct job_line	*l = elem;

	l->id = db_int(st, 0);
	l->requester = db_text_dup(st, 1);
	l->command = db_text_dup(st, 2);
	l->state = db_text_dup(st, 3);
}

int
jobs_scheduled_since(struct store *s, int64_t since, struct job_line **v,
    size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*v = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT id, requester, command, state FROM jobs "
	    "WHERE substr(requester, 1, 9) = '" SCHEDULE_PREFIX "' AND "
	    "created_at > ?1 ORDER BY id");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, since);
	*v = db_rows(s, st, sizeof **v, job_line_fill, n, &rc);
	return rc;
}

int
jobs_waiting_of(struct store *s, const char *requester, size_t max,
    struct job_line **v, size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*v = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT id, requester, command, state FROM jobs "
	    "WHERE requester = ?1 AND state IN ('resolving', "
	    "'awaiting_approval', 'queued') ORDER BY id LIMIT ?2");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, requester);
	db_bind_int(st, 2, (int64_t)(max < INT64_MAX ? max : INT64_MAX));
	*v = db_rows(s, st, sizeof **v, job_line_fill, n, &rc);
	return rc;
}

int64_t
jobs_actions_count_since(struct store *s, const char *state, int64_t since)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT COUNT(*) FROM jobs WHERE kind = 'action' "
	    "AND COALESCE(finished_at, created_at) > ?1 AND state = ?2");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, since);
	db_bind_text(st, 2, state);
	return db_count(s, st);
}

int
jobs_request_pending(struct store *s, const char *requester,
    const char *command, int64_t since)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT 1 FROM jobs WHERE requester = ?1 AND "
	    "command = ?2 AND (state IN ('resolving', 'awaiting_approval', "
	    "'queued', 'running') OR (state IN ('refused', 'denied', "
	    "'expired') AND COALESCE(finished_at, created_at) >= ?3)) "
	    "LIMIT 1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, requester);
	db_bind_text(st, 2, command);
	db_bind_int(st, 3, since);
	return db_exists(s, st);
}

int
jobs_stopping_guest_since(struct store *s, int vmid, int64_t since,
    int backups)
{
	struct db_stmt	*st;

	/* Two texts, not one built at run time: each is prepared once. */
	if (backups)
		st = db_prepare(s, "SELECT 1 FROM jobs WHERE target_vmid = "
		    "?1 AND action IN ('guest.stop', 'guest.shutdown', "
		    "'guest.reboot', 'guest.suspend', 'guest.migrate', "
		    "'guest.snapshot.rollback', 'backup.create') AND (state "
		    "IN ('queued', 'running') OR COALESCE(finished_at, "
		    "started_at, created_at) >= ?2) LIMIT 1");
	else
		st = db_prepare(s, "SELECT 1 FROM jobs WHERE target_vmid = "
		    "?1 AND action IN ('guest.stop', 'guest.shutdown', "
		    "'guest.reboot', 'guest.suspend', 'guest.migrate', "
		    "'guest.snapshot.rollback') AND (state IN ('queued', "
		    "'running') OR COALESCE(finished_at, started_at, "
		    "created_at) >= ?2) LIMIT 1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, vmid);
	db_bind_int(st, 2, since);
	return db_exists(s, st);
}

int
jobs_node_stops_since(struct store *s, int64_t since, char ***args,
    size_t *n)
{
	struct db_stmt	*st;

	*args = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT args FROM jobs WHERE action IN "
	    "('node.shutdown', 'node.shutdown.force', 'node.stopall') AND "
	    "(state IN ('queued', 'running') OR COALESCE(finished_at, "
	    "started_at, created_at) >= ?1) ORDER BY id");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, since);
	return db_texts(s, st, args, n);
}

int
audit_refused_since(struct store *s, const char *actor, const char *command,
    int64_t since)
{
	struct db_stmt	*st;
	const char	*detail;
	char		*needle;
	int		 rc = DB_DONE, found = 0;

	st = db_prepare(s, "SELECT detail FROM audit WHERE actor = ?1 AND "
	    "event = 'command.refused' AND at >= ?2");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, actor);
	db_bind_int(st, 2, since);
	needle = xasprintf(" command=%s ", command);
	while (!found && (rc = db_step(st)) == DB_ROW) {
		detail = db_text(st, 0);
		found = detail != NULL && strstr(detail, needle) != NULL;
	}
	db_finish(s, st);
	free(needle);
	if (found)
		return 1;
	return rc == DB_DONE ? 0 : -1;
}
