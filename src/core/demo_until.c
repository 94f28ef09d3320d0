/*
 * demo_until.c - "/sim until RULE firing|repeated|resolved [SECONDS]":
 * the demo's script waits for an alert's condition instead of a fixed
 * time, so a line typed after it (ack 1) finds the alert in that state
 * however slow the machine is.
 *
 * It reads the monitor's own record on a connection of its own (the
 * alerts table and its events), polling every 100 ms, and never writes.
 * "firing": an alert of RULE is firing now. "repeated": one is firing
 * and was sent again since it fired (a repeat). "resolved": of the
 * fired and resolved events of RULE's alerts, the newest is a resolve.
 * It gives up after SECONDS (60 unless given, at most 600) and says so;
 * the script goes on either way.
 */
#include <string.h>

#include "app.h"
#include "conf.h"
#include "demo.h"
#include "store.h"
#include "store_router.h"
#include "util.h"

#define DEMO_UNTIL_POLL_MS	100

/* 1 when the condition holds, 0 when not (yet, or the database is
 * busy), -1 on error. */
static int
holds(struct store *s, const char *rule, enum router_alert_cond cond)
{
	int	 rc = router_alert_reached(s, rule, cond);

	return rc < 0 && store_busy(s) ? 0 : rc;
}

char *
demo_until(struct app *app, const char *rule, const char *state,
    int64_t secs)
{
	struct store		*s;
	enum router_alert_cond	 cond;
	char			*cause = NULL, *msg;
	int64_t			 until = now_ms() + secs * 1000;
	int			 rc;

	if (strcmp(state, "firing") == 0)
		cond = ALERT_COND_FIRING;
	else if (strcmp(state, "repeated") == 0)
		cond = ALERT_COND_REPEATED;
	else if (strcmp(state, "resolved") == 0)
		cond = ALERT_COND_RESOLVED;
	else
		return xstrdup("usage: /sim until RULE firing|repeated|resolved "
		    "[SECONDS]");
	if ((s = store_open(app->conf->database, &cause)) == NULL) {
		msg = xasprintf("simulator: until: %s", cause);
		free(cause);
		return msg;
	}
	while ((rc = holds(s, rule, cond)) == 0 && now_ms() < until)
		sleep_ms(DEMO_UNTIL_POLL_MS);
	store_close(s);
	if (rc == 1)
		return xasprintf("simulator: %s is %s", rule, state);
	if (rc == 0)
		return xasprintf("simulator: %s still not %s after %llds", rule,
		    state, (long long)secs);
	return xasprintf("simulator: until: cannot read the alerts of %s",
	    rule);
}
