/*
 * hooks.c - the Proxmox webhook's notifications (hook_events), and what
 * the HTTP endpoint reads of other parts' tables: the counts of
 * /metrics, the health check's write probe (see store_hooks.h).
 *
 * One statement per function unless its comment says otherwise, on the
 * caller's connection and inside the caller's transaction. A read that
 * fails part way returns -1 and no rows, never a partial list.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_util.h"
#include "store.h"
#include "store_hooks.h"
#include "util.h"

/* ---- hook_events ---- */

int
hook_event_add(struct store *s, const struct hook_event_new *ev,
    int64_t now, int64_t *id)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO hook_events (source, dedup_key, "
	    "type, hostname, job_id, severity, sender_severity, ts, title, "
	    "message, fields, kind, summary, details, state, received_at) "
	    "VALUES ('proxmox', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	    "?12, ?13, 'new', ?14) ON CONFLICT(dedup_key) DO NOTHING");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, ev->dedup_key);
	db_bind_text(st, 2, ev->type);
	db_bind_text(st, 3, ev->hostname);
	db_bind_text(st, 4, ev->job_id);
	db_bind_text(st, 5, ev->severity);
	db_bind_text(st, 6, ev->sender_severity);
	db_bind_int(st, 7, ev->ts);
	db_bind_text(st, 8, ev->title);
	db_bind_text(st, 9, ev->message);
	db_bind_text(st, 10, ev->fields);
	db_bind_text(st, 11, ev->kind);
	db_bind_text(st, 12, ev->summary);
	db_bind_text(st, 13, ev->details);
	db_bind_int(st, 14, now);
	if (db_run(s, st) != 0)
		return -1;
	if (db_changes(s) == 0)
		return 0;
	*id = db_last_id(s);
	return 1;
}

void
hook_event_release(struct hook_event *e)
{
	if (e == NULL)
		return;
	free(e->type);
	free(e->hostname);
	free(e->job_id);
	free(e->severity);
	free(e->title);
	free(e->kind);
	free(e->summary);
	free(e->details);
	free(e->state);
	free(e->acked_by);
	free(e->notes);
	free(e->msg_refs);
	memset(e, 0, sizeof *e);
}

void
hook_events_free(struct hook_event *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		hook_event_release(&v[i]);
	free(v);
}

int
hook_event_find(struct store *s, int64_t id, struct hook_event *e)
{
	struct db_stmt	*st;
	int		 rc;

	memset(e, 0, sizeof *e);
	st = db_prepare(s, "SELECT type, hostname, job_id, severity, "
	    "title, kind, summary, details, state, acked_by, notes, msg_refs "
	    "FROM hook_events WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		e->id = id;
		e->type = db_text_dup(st, 0);
		e->hostname = db_text_dup(st, 1);
		e->job_id = db_text_dup(st, 2);
		e->severity = db_text_dup(st, 3);
		e->title = db_text_dup(st, 4);
		e->kind = db_text_dup(st, 5);
		e->summary = db_text_dup(st, 6);
		e->details = db_text_dup(st, 7);
		e->state = db_text_dup(st, 8);
		e->acked_by = db_text_dup(st, 9);
		e->notes = db_text_dup(st, 10);
		e->msg_refs = db_text_dup(st, 11);
	}
	db_finish(s, st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? 1 : -1;
}

static void
event_release(void *elem)
{
	hook_event_release(elem);
}

static void
open_fill(struct db_stmt *st, void *elem)
{
	struct hook_event	*e = elem;

	e->id = db_int(st, 0);
	e->severity = db_text_dup(st, 1);
	e->kind = db_text_dup(st, 2);
	e->summary = db_text_dup(st, 3);
	e->details = db_text_dup(st, 4);
	e->notes = db_text_dup(st, 5);
	e->msg_refs = db_text_dup(st, 6);
}

int
hook_events_open_of_job(struct store *s, const char *type,
    const char *hostname, const char *job_id, int64_t before,
    struct hook_event **out, size_t *nout)
{
	struct db_stmt	*st;
	int		 rc;

	*out = NULL;
	*nout = 0;
	st = db_prepare(s, "SELECT id, severity, kind, summary, details, "
	    "notes, msg_refs FROM hook_events WHERE state = 'alert' AND "
	    "type = ?1 AND hostname = ?2 AND job_id = ?3 AND id < ?4");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, type);
	db_bind_text(st, 2, hostname);
	db_bind_text(st, 3, job_id);
	db_bind_int(st, 4, before);
	*out = db_rows_all(s, st, sizeof **out, open_fill, event_release,
	    nout, &rc);
	return rc;
}

static void
since_fill(struct db_stmt *st, void *elem)
{
	struct hook_event	*e = elem;

	e->id = db_int(st, 0);
	e->state = db_text_dup(st, 1);
	e->summary = db_text_dup(st, 2);
}

int
hook_events_since(struct store *s, int64_t since, struct hook_event **out,
    size_t *nout)
{
	struct db_stmt	*st;
	int		 rc;

	*out = NULL;
	*nout = 0;
	st = db_prepare(s, "SELECT id, state, summary FROM hook_events WHERE "
	    "received_at > ?1 ORDER BY id");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, since);
	*out = db_rows_all(s, st, sizeof **out, since_fill, event_release,
	    nout, &rc);
	return rc;
}

/* One UPDATE of hook_events by id with two text parameters. */
static int
event_update(struct store *s, const char *sql, int64_t id, const char *t2,
    const char *t3)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, sql)) == NULL)
		return -1;
	db_bind_int(st, 1, id);
	db_bind_text(st, 2, t2);
	db_bind_text(st, 3, t3);
	return db_run(s, st);
}

int
hook_event_set_notes(struct store *s, int64_t id, const char *acked_by,
    const char *notes)
{
	return event_update(s, "UPDATE hook_events SET acked_by = "
	    "COALESCE(?2, acked_by), notes = ?3 WHERE id = ?1", id, acked_by,
	    notes);
}

int
hook_event_resolve(struct store *s, int64_t id, const char *notes)
{
	return event_update(s, "UPDATE hook_events SET state = 'resolved', "
	    "notes = ?2 WHERE id = ?1", id, notes, NULL);
}

int
hook_event_set_shown(struct store *s, int64_t id, const char *state,
    const char *msg_refs)
{
	return event_update(s, "UPDATE hook_events SET state = ?2, msg_refs = "
	    "?3 WHERE id = ?1", id, state, msg_refs);
}

/* ---- what /metrics counts ---- */

void
metrics_rows_free(struct metrics_row *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].label1);
		free(v[i].label2);
	}
	free(v);
}

/* Rows of (label1, [label2,] count) from a statement with no
 * parameters; `labels` is 1 or 2. */
static int
count_rows(struct store *s, const char *sql, int labels,
    struct metrics_row **out, size_t *nout)
{
	struct db_stmt		*st;
	struct metrics_row	*v = NULL, *r;
	size_t			 n = 0;
	int			 rc;

	*out = NULL;
	*nout = 0;
	if ((st = db_prepare(s, sql)) == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		v = xreallocarray(v, n + 1, sizeof *v);
		r = &v[n++];
		r->label1 = db_text_dup(st, 0);
		r->label2 = labels == 2 ? db_text_dup(st, 1) : NULL;
		r->n = db_int(st, labels);
	}
	db_finish(s, st);
	if (rc != DB_DONE) {
		metrics_rows_free(v, n);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

int
metrics_count_jobs(struct store *s, struct metrics_row **v, size_t *n)
{
	return count_rows(s, "SELECT kind, state, COUNT(*) FROM jobs GROUP "
	    "BY kind, state ORDER BY kind, state", 2, v, n);
}

int
metrics_count_outbox(struct store *s, struct metrics_row **v, size_t *n)
{
	return count_rows(s, "SELECT connector, COUNT(*) FROM outbox WHERE "
	    "state = 'pending' GROUP BY connector", 1, v, n);
}

int
metrics_count_alerts(struct store *s, struct metrics_row **v, size_t *n)
{
	return count_rows(s, "SELECT severity, COUNT(*) FROM alerts WHERE "
	    "state IN ('firing', 'flapping') GROUP BY severity", 1, v, n);
}

int
metrics_count_hook_events(struct store *s, struct metrics_row **v,
    size_t *n)
{
	return count_rows(s, "SELECT severity, COUNT(*) FROM hook_events "
	    "WHERE state = 'alert' AND acked_by IS NULL GROUP BY severity", 1,
	    v, n);
}

int
metrics_am_firing_labels(struct store *s, char ***labels, size_t *n)
{
	*labels = NULL;
	*n = 0;
	if (db_texts(s, db_prepare(s, "SELECT a.labels FROM am_alerts a JOIN "
	    "am_groups g ON g.id = a.group_id WHERE a.status = 'firing' AND "
	    "g.status = 'firing'"), labels, n) == 0)
		return 0;
	strv_free(*labels, *n);		/* all or none (see the top) */
	*labels = NULL;
	*n = 0;
	return -1;
}

/* ---- the connection ---- */

int
hooks_writable(struct store *s, char **cause)
{
	/* The write transaction of either backend, its failure ours to
	 * report: a locked check is not an error worth a log line. */
	if (store_try_begin(s, cause) != 0)
		return 0;
	store_rollback(s);
	return 1;
}
