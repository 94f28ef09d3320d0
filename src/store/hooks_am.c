/*
 * hooks_am.c - the Alertmanager webhook's tables (see store_hooks.h):
 * am_groups, one row per group with what its chat message shows;
 * am_alerts, the group's alerts by fingerprint; am_silences, the
 * silence requests of the buttons that the endpoint's thread works
 * through.
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

/* ---- am_groups ---- */

void
am_group_row_release(struct am_group_row *g)
{
	if (g == NULL)
		return;
	free(g->status);
	free(g->receiver);
	free(g->group_labels);
	free(g->acked_by);
	free(g->notes);
	free(g->msg_refs);
	free(g->rendered);
	memset(g, 0, sizeof *g);
}

int
am_group_upsert(struct store *s, const char *receiver, const char *group_key,
    const char *group_labels, const char *external_url, int64_t now,
    int64_t *id)
{
	struct db_stmt	*st;
	int		 rc;

	*id = 0;
	st = db_prepare(s, "INSERT INTO am_groups (receiver, group_key, "
	    "status, group_labels, external_url, updated_at) VALUES (?1, ?2, "
	    "'resolved', ?3, ?4, ?5) ON CONFLICT(receiver, group_key) DO "
	    "UPDATE SET group_labels = excluded.group_labels, external_url = "
	    "excluded.external_url, updated_at = excluded.updated_at "
	    "RETURNING id");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, receiver);
	db_bind_text(st, 2, group_key);
	db_bind_text(st, 3, group_labels);
	db_bind_text(st, 4, external_url);
	db_bind_int(st, 5, now);
	if ((rc = db_step(st)) == DB_ROW) {
		*id = db_int(st, 0);
		while ((rc = db_step(st)) == DB_ROW)
			;
	}
	db_finish(s, st);
	return rc == DB_DONE && *id != 0 ? 0 : -1;
}

int
am_group_find(struct store *s, int64_t id, struct am_group_row *g)
{
	struct db_stmt	*st;
	int		 rc;

	memset(g, 0, sizeof *g);
	st = db_prepare(s, "SELECT status, receiver, group_labels, "
	    "acked_by, notes, msg_refs, rendered FROM am_groups WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		g->id = id;
		g->status = db_text_dup(st, 0);
		g->receiver = db_text_dup(st, 1);
		g->group_labels = db_text_dup(st, 2);
		g->acked_by = db_text_dup(st, 3);
		g->notes = db_text_dup(st, 4);
		g->msg_refs = db_text_dup(st, 5);
		g->rendered = db_text_dup(st, 6);
	}
	db_finish(s, st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? 1 : -1;
}

int
am_group_restart(struct store *s, int64_t id)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "DELETE FROM am_alerts WHERE group_id = "
	    "?1")) == NULL)
		return -1;
	db_bind_int(st, 1, id);
	if (db_run(s, st) != 0)
		return -1;
	if ((st = db_prepare(s, "UPDATE am_groups SET acked_by = NULL, notes "
	    "= NULL, msg_refs = NULL, rendered = NULL WHERE id = ?1")) == NULL)
		return -1;
	db_bind_int(st, 1, id);
	return db_run(s, st);
}

int
am_group_set_shown(struct store *s, int64_t id, const char *status,
    const char *msg_refs, const char *rendered)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE am_groups SET status = ?2, msg_refs = "
	    "COALESCE(?3, msg_refs), rendered = ?4 WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, id);
	db_bind_text(st, 2, status);
	db_bind_text(st, 3, msg_refs);
	db_bind_text(st, 4, rendered);
	return db_run(s, st);
}

int
am_group_set_notes(struct store *s, int64_t id, const char *acked_by,
    const char *notes)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE am_groups SET acked_by = COALESCE(?2, "
	    "acked_by), notes = ?3 WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, id);
	db_bind_text(st, 2, acked_by);
	db_bind_text(st, 3, notes);
	return db_run(s, st);
}

/* ---- am_alerts ---- */

static void
alert_release(void *elem)
{
	struct am_alert_row	*a = elem;

	free(a->fingerprint);
	free(a->status);
	free(a->labels);
	free(a->annotations);
	free(a->starts_at);
}

void
am_alert_rows_free(struct am_alert_row *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		alert_release(&v[i]);
	free(v);
}

/* The rows of a statement on group `gid`'s alerts, all or none. */
static int
alert_rows(struct store *s, struct db_stmt *st, int64_t gid,
    db_fill_fn fill, struct am_alert_row **out, size_t *n)
{
	int	 rc;

	db_bind_int(st, 1, gid);
	*out = db_rows_all(s, st, sizeof **out, fill, alert_release, n, &rc);
	return rc;
}

/* Columns: fingerprint, status, labels, annotations, starts_at. */
static void
alert_fill(struct db_stmt *st, void *elem)
{
	struct am_alert_row	*a = elem;

	a->fingerprint = db_text_dup(st, 0);
	a->status = db_text_dup(st, 1);
	a->labels = db_text_dup(st, 2);
	a->annotations = db_text_dup(st, 3);
	a->starts_at = db_text_dup(st, 4);
}

/* Columns: fingerprint, labels. */
static void
firing_fill(struct db_stmt *st, void *elem)
{
	struct am_alert_row	*a = elem;

	a->fingerprint = db_text_dup(st, 0);
	a->labels = db_text_dup(st, 1);
}

int
am_group_alerts(struct store *s, int64_t id, struct am_alert_row **v,
    size_t *n)
{
	struct db_stmt	*st;

	*v = NULL;
	*n = 0;
	/* Written out so both backends order alike (NULLs first). */
	st = db_prepare(s, "SELECT fingerprint, status, labels, annotations, "
	    "starts_at FROM am_alerts WHERE group_id = ?1 ORDER BY CASE WHEN "
	    "status = 'resolved' THEN 1 ELSE 0 END, CASE WHEN starts_at IS "
	    "NULL THEN 0 ELSE 1 END, starts_at, fingerprint");
	if (st == NULL)
		return -1;
	return alert_rows(s, st, id, alert_fill, v, n);
}

int
am_group_alerts_firing(struct store *s, int64_t id, struct am_alert_row **v,
    size_t *n)
{
	struct db_stmt	*st;

	*v = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT fingerprint, labels FROM am_alerts WHERE "
	    "group_id = ?1 AND status = 'firing' ORDER BY fingerprint");
	if (st == NULL)
		return -1;
	return alert_rows(s, st, id, firing_fill, v, n);
}

int
am_alert_upsert(struct store *s, int64_t gid, const char *fingerprint,
    const char *status, const char *labels, const char *annotations,
    const char *starts_at, const char *ends_at, int64_t now)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO am_alerts (group_id, fingerprint, "
	    "status, labels, annotations, starts_at, ends_at, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(group_id, "
	    "fingerprint) DO UPDATE SET status = excluded.status, labels = "
	    "excluded.labels, annotations = excluded.annotations, starts_at = "
	    "excluded.starts_at, ends_at = excluded.ends_at, updated_at = "
	    "excluded.updated_at");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, gid);
	db_bind_text(st, 2, fingerprint);
	db_bind_text(st, 3, status);
	db_bind_text(st, 4, labels);
	db_bind_text(st, 5, annotations);
	db_bind_text(st, 6, starts_at);
	db_bind_text(st, 7, ends_at);
	db_bind_int(st, 8, now);
	return db_run(s, st);
}

/* ---- am_silences ---- */

static void
req_release(void *elem)
{
	struct am_silence_req	*r = elem;

	free(r->created_by);
	free(r->comment);
	free(r->silence_ids);
}

void
am_silence_reqs_free(struct am_silence_req *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		req_release(&v[i]);
	free(v);
}

int
am_silence_req_add(struct store *s, int64_t gid, const char *created_by,
    const char *comment, int64_t duration, int64_t now, int64_t *id)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO am_silences (group_id, created_by, "
	    "comment, duration, requested_at, state, next_at) VALUES (?1, ?2, "
	    "?3, ?4, ?5, 'pending', 0)");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, gid);
	db_bind_text(st, 2, created_by);
	db_bind_text(st, 3, comment);
	db_bind_int(st, 4, duration);
	db_bind_int(st, 5, now);
	if (db_run(s, st) != 0)
		return -1;
	*id = db_last_id(s);
	return 0;
}

static void
req_fill(struct db_stmt *st, void *elem)
{
	struct am_silence_req	*r = elem;

	r->id = db_int(st, 0);
	r->group_id = db_int(st, 1);
	r->created_by = db_text_dup(st, 2);
	r->comment = db_text_dup(st, 3);
	r->duration = db_int(st, 4);
	r->requested_at = db_int(st, 5);
	r->attempts = (int)db_int(st, 6);
	r->silence_ids = db_text_dup(st, 7);
	r->next_at = db_int(st, 8);
}

int
am_silence_reqs_pending(struct store *s, size_t max,
    struct am_silence_req **out, size_t *nout)
{
	struct db_stmt	*st;
	int		 rc;

	*out = NULL;
	*nout = 0;
	st = db_prepare(s, "SELECT id, group_id, created_by, comment, "
	    "duration, requested_at, attempts, silence_ids, next_at FROM "
	    "am_silences WHERE state = 'pending' ORDER BY next_at, id LIMIT "
	    "?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, (int64_t)max);
	*out = db_rows_all(s, st, sizeof **out, req_fill, req_release, nout,
	    &rc);
	return rc;
}

int
am_silence_req_save(struct store *s, int64_t id, const char *state,
    int attempts, int64_t next_at, const char *silence_ids,
    const char *error, int64_t now)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE am_silences SET state = ?2, attempts = "
	    "?3, next_at = ?4, silence_ids = ?5, error = ?6, finished_at = "
	    "CASE WHEN ?2 = 'pending' THEN NULL ELSE CAST(?7 AS BIGINT) END "
	    "WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, id);
	db_bind_text(st, 2, state);
	db_bind_int(st, 3, attempts);
	db_bind_int(st, 4, next_at);
	db_bind_text(st, 5, silence_ids);
	db_bind_text(st, 6, error);
	db_bind_int(st, 7, now);
	return db_run(s, st);
}
