/*
 * router_state.c - the alerts as the chat side reads them (see
 * store_router.h). One statement per function; the alerts are only
 * read here, the monitor writes them.
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

int
router_alert_reached(struct store *s, const char *rule,
    enum router_alert_cond cond)
{
	struct db_stmt	*st;
	const char	*sql;

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
	return db_exists(s, st);
}
