/*
 * alerts.c - the monitor's alerts, their history and the silences
 * (tables alerts, alert_events, silences): the statements behind
 * store_monitor.h and store_silences.h.
 *
 * An alert is one (rule, target), unique in the table; its row holds
 * the rule state machine's state (monitor_rule.c) and where it was
 * posted. Optional times and texts are NULL in the table and 0 / NULL in
 * struct alert_row, both ways. Nothing here opens a transaction: the
 * monitor writes a cycle's rows and events in one of its own.
 */
#include <stdlib.h>

#include "db.h"
#include "db_util.h"
#include "monitor.h"
#include "store.h"
#include "store_monitor.h"
#include "store_silences.h"
#include "util.h"

#define ALERT_COLUMNS	"rule, target, state, severity, value, " \
	"pending_since, fired_at, resolved_at, last_sent_at, acked_by, " \
	"flaps, flap_window_start, msg_refs, summary, missed, last_seen_at"

/* ---- alerts ---- */

/* Columns: id, then ALERT_COLUMNS. */
static void
alert_fill(struct db_stmt *st, void *elem)
{
	struct alert_row	*a = elem;

	a->id = db_int(st, 0);
	a->rule = db_text_dup(st, 1);
	a->target = db_text_dup(st, 2);
	if (alert_state_parse(db_text(st, 3), &a->state) != 0)
		a->state = ALERT_INACTIVE;
	a->severity = db_text_dup(st, 4);
	a->value = db_double(st, 5);
	a->pending_since = db_int(st, 6);
	a->fired_at = db_int(st, 7);
	a->resolved_at = db_int(st, 8);
	a->last_sent_at = db_int(st, 9);
	a->acked_by = db_text_dup(st, 10);
	a->flaps = (int)db_int(st, 11);
	a->flap_window_start = db_int(st, 12);
	a->msg_refs = db_text_dup(st, 13);
	a->summary = db_text_dup(st, 14);
	a->missed = (int)db_int(st, 15);
	a->last_seen_at = db_int(st, 16);
}

int
alerts_all(struct store *s, struct alert_row **rows, size_t *n)
{
	int	 rc;

	*rows = db_rows(s, db_prepare(s, "SELECT id, " ALERT_COLUMNS " FROM "
	    "alerts ORDER BY id"), sizeof **rows, alert_fill, n, &rc);
	return rc;
}

void
alert_rows_free(struct alert_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(rows[i].rule);
		free(rows[i].target);
		free(rows[i].severity);
		free(rows[i].acked_by);
		free(rows[i].msg_refs);
		free(rows[i].summary);
	}
	free(rows);
}

static void
bind_opt_int(struct db_stmt *st, int i, int64_t v)
{
	if (v != 0)
		db_bind_int(st, i, v);
	else
		db_bind_null(st, i);
}

/* The row's columns as ?1 (rule) ... ?16 (last_seen_at). */
static void
bind_row(struct db_stmt *st, const struct alert_row *a)
{
	db_bind_text(st, 1, a->rule);
	db_bind_text(st, 2, a->target);
	db_bind_text(st, 3, alert_state_name(a->state));
	db_bind_text(st, 4, a->severity);
	db_bind_double(st, 5, a->value);
	bind_opt_int(st, 6, a->pending_since);
	bind_opt_int(st, 7, a->fired_at);
	bind_opt_int(st, 8, a->resolved_at);
	bind_opt_int(st, 9, a->last_sent_at);
	db_bind_text(st, 10, a->acked_by);
	db_bind_int(st, 11, a->flaps);
	bind_opt_int(st, 12, a->flap_window_start);
	db_bind_text(st, 13, a->msg_refs);
	db_bind_text(st, 14, a->summary);
	db_bind_int(st, 15, a->missed);
	bind_opt_int(st, 16, a->last_seen_at);
}

int
alert_insert(struct store *s, struct alert_row *a)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO alerts (" ALERT_COLUMNS ") VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	    "?15, ?16)");
	if (st == NULL)
		return -1;
	bind_row(st, a);
	if (db_run(s, st) != 0)
		return -1;
	a->id = db_last_id(s);
	return 0;
}

int
alert_update(struct store *s, const struct alert_row *a)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE alerts SET state = ?3, severity = ?4, "
	    "value = ?5, pending_since = ?6, fired_at = ?7, resolved_at = "
	    "?8, last_sent_at = ?9, acked_by = ?10, flaps = ?11, "
	    "flap_window_start = ?12, msg_refs = ?13, summary = ?14, missed "
	    "= ?15, last_seen_at = ?16 WHERE rule = ?1 AND target = ?2");
	if (st == NULL)
		return -1;
	bind_row(st, a);
	return db_run(s, st);
}

int
alert_ack(struct store *s, int64_t id, const char *user)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE alerts SET acked_by = ?1 WHERE id = ?2 "
	    "AND acked_by IS NULL");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, user);
	db_bind_int(st, 2, id);
	if (db_run(s, st) != 0)
		return -1;
	return db_changes(s) == 1;
}

int
alert_active(struct store *s, const char *rule, const char *target)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT 1 FROM alerts WHERE rule = ?1 AND "
	    "target = ?2 AND state IN ('pending', 'firing', 'flapping')");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, rule);
	db_bind_text(st, 2, target);
	return db_exists(s, st);
}

/* ---- alert history ---- */

int
alert_event_add(struct store *s, int64_t alert_id, int64_t at,
    const char *kind)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO alert_events (alert_id, at, kind) "
	    "VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, alert_id);
	db_bind_int(st, 2, at);
	db_bind_text(st, 3, kind);
	return db_run(s, st);
}

int64_t
alert_events_count(struct store *s, const char *kind, int64_t since)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT COUNT(*) FROM alert_events WHERE at > ?1 "
	    "AND kind = ?2");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, since);
	db_bind_text(st, 2, kind);
	return db_count(s, st);
}

int
alert_events_prune(struct store *s, int64_t before)
{
	struct db_stmt	*st;

	st = db_prepare(s, "DELETE FROM alert_events WHERE at < ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, before);
	return db_run(s, st);
}

/* ---- silences (store_silences.h) ---- */

int
silence_add(struct store *s, const char *matcher, const char *by,
    const char *reason, int64_t starts_at, int64_t ends_at, int64_t *id)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO silences (matcher, created_by, "
	    "reason, starts_at, ends_at, created_at) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?4)");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, matcher);
	db_bind_text(st, 2, by);
	db_bind_text(st, 3, reason);
	db_bind_int(st, 4, starts_at);
	db_bind_int(st, 5, ends_at);
	if (db_run(s, st) != 0)
		return -1;
	if (id != NULL)
		*id = db_last_id(s);
	return 0;
}

int
silence_end(struct store *s, int64_t id, const char *by, int64_t now)
{
	struct db_stmt	*st;

	/* Only a silence still ending after now is ended, so it ends now. */
	st = db_prepare(s, "UPDATE silences SET ended_by = ?1, ends_at = "
	    "CASE WHEN ends_at < ?2 THEN ends_at ELSE ?2 END WHERE id = ?3 "
	    "AND ended_by IS NULL AND ends_at > ?2");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, by);
	db_bind_int(st, 2, now);
	db_bind_int(st, 3, id);
	if (db_run(s, st) != 0)
		return -1;
	return db_changes(s) == 1;
}

int
silences_active(struct store *s, int64_t now, char ***matchers, size_t *n)
{
	struct db_stmt	*st;

	*matchers = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT matcher FROM silences WHERE ended_by IS "
	    "NULL AND starts_at <= ?1 AND ends_at > ?1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, now);
	return db_texts(s, st, matchers, n);
}

static void
silence_fill(struct db_stmt *st, void *elem)
{
	struct silence_row	*si = elem;

	si->id = db_int(st, 0);
	si->matcher = db_text_dup(st, 1);
	si->ends_at = db_int(st, 2);
	si->created_by = db_text_dup(st, 3);
	si->reason = db_text_dup(st, 4);
}

int
silences_open(struct store *s, int64_t now, struct silence_row **out,
    size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*out = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT id, matcher, ends_at, created_by, "
	    "COALESCE(reason, '') FROM silences WHERE ends_at > ?1 AND "
	    "ended_by IS NULL ORDER BY id");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, now);
	*out = db_rows(s, st, sizeof **out, silence_fill, n, &rc);
	return rc;
}

void
silence_rows_free(struct silence_row *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].matcher);
		free(v[i].created_by);
		free(v[i].reason);
	}
	free(v);
}
