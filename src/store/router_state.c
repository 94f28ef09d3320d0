/*
 * router_state.c - alerts and silences as the chat side reads and
 * writes them (see store_router.h). One statement per function; the
 * alerts are only read here, the monitor writes them.
 */
#include <stdlib.h>

#include "db.h"
#include "db_util.h"
#include "store.h"
#include "store_router.h"
#include "util.h"

static void
alert_fill(struct db_stmt *st, void *elem)
{
	struct router_alert	*a = elem;

	a->id = db_int(st, 0);
	a->rule = db_text_dup(st, 1);
	a->target = db_text_dup(st, 2);
	a->state = db_text_dup(st, 3);
	a->severity = db_text_dup(st, 4);
	a->since = db_int(st, 5);
	a->acked_by = db_text_dup(st, 6);
}

int
router_alerts_open(struct store *s, struct router_alert **out, size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*out = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT id, rule, target, state, severity, "
	    "COALESCE(fired_at, pending_since, 0), acked_by FROM alerts "
	    "WHERE state IN ('pending', 'firing', 'flapping') ORDER BY id");
	if (st == NULL)
		return -1;
	*out = db_rows(s, st, sizeof **out, alert_fill, n, &rc);
	return rc;
}

void
router_alerts_free(struct router_alert *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].rule);
		free(v[i].target);
		free(v[i].state);
		free(v[i].severity);
		free(v[i].acked_by);
	}
	free(v);
}

static void
silence_fill(struct db_stmt *st, void *elem)
{
	struct router_silence	*si = elem;

	si->id = db_int(st, 0);
	si->matcher = db_text_dup(st, 1);
	si->ends_at = db_int(st, 2);
	si->created_by = db_text_dup(st, 3);
	si->reason = db_text_dup(st, 4);
}

int
router_silences_active(struct store *s, int64_t now,
    struct router_silence **out, size_t *n)
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
router_silences_free(struct router_silence *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].matcher);
		free(v[i].created_by);
		free(v[i].reason);
	}
	free(v);
}

int
router_silence_add(struct store *s, const char *matcher, const char *by,
    const char *reason, int64_t now, int64_t ends_at, int64_t *id)
{
	struct db_stmt	*st;
	int		 rc;

	st = db_prepare(s, "INSERT INTO silences (matcher, created_by, "
	    "reason, starts_at, ends_at, created_at) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?4) RETURNING id");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, matcher);
	db_bind_text(st, 2, by);
	db_bind_text(st, 3, reason);
	db_bind_int(st, 4, now);
	db_bind_int(st, 5, ends_at);
	if ((rc = db_step(st)) == DB_ROW)
		*id = db_int(st, 0);
	db_finish(s, st);
	return rc == DB_ROW ? 0 : -1;
}

int
router_silence_end(struct store *s, int64_t id, const char *by, int64_t now)
{
	struct db_stmt	*st;
	int		 rc;

	/* Only a silence still ending after now is ended, so it ends now. */
	st = db_prepare(s, "UPDATE silences SET ended_by = ?1, ends_at = "
	    "CASE WHEN ends_at < ?2 THEN ends_at ELSE ?2 END WHERE id = ?3 "
	    "AND ended_by IS NULL AND ends_at > ?2");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, by);
	db_bind_int(st, 2, now);
	db_bind_int(st, 3, id);
	rc = db_step(st);
	db_finish(s, st);
	if (rc != DB_DONE)
		return -1;
	return db_changes(s) == 1;
}

int
router_alert_reached(struct store *s, const char *rule,
    enum router_alert_cond cond)
{
	struct db_stmt	*st;
	const char	*sql;
	int		 rc;

	switch (cond) {
	case ALERT_COND_FIRING:
		sql = "SELECT 1 FROM alerts WHERE rule = ?1 AND state = "
		    "'firing' LIMIT 1";
		break;
	case ALERT_COND_REPEATED:
		sql = "SELECT 1 FROM alerts WHERE rule = ?1 AND state = "
		    "'firing' AND last_sent_at > fired_at LIMIT 1";
		break;
	default:
		sql = "SELECT 1 FROM (SELECT e.kind FROM alert_events e JOIN "
		    "alerts a ON a.id = e.alert_id WHERE a.rule = ?1 AND "
		    "e.kind IN ('fired', 'resolved') ORDER BY e.id DESC "
		    "LIMIT 1) newest WHERE kind = 'resolved'";
		break;
	}
	if ((st = db_prepare(s, sql)) == NULL)
		return -1;
	db_bind_text_copy(st, 1, rule);
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}
