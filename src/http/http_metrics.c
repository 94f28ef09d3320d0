/*
 * http_metrics.c - GET /metrics in the Prometheus text format 0.0.4.
 *
 * The registry's families (util/metrics.c: counters, gauges and
 * histograms the parts keep), then what SQLite knows, read now on the
 * handler's own connection, so nothing has to be kept in step by hand:
 *   pvebot_jobs{kind,state}                 jobs by kind and state
 *   pvebot_outbox_depth{connector}          messages waiting to go out
 *   pvebot_alerts_firing{source,severity}   monitor alerts firing, open
 *                                           Proxmox notifications,
 *                                           Alertmanager alerts firing
 * and pvebot_build_info and the router's heartbeat age. A query that
 * fails leaves its family out and logs why; the page is still served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../store/db.h"
#include "app.h"
#include "chat.h"
#include "http_int.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "store.h"
#include "util.h"

#define METRICS_MAX_PAGE	(4 << 20)

static const char *const severities[] = { "info", "warning", "critical" };
static const char *const sources[] = { "monitor", "proxmox",
	"alertmanager" };

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample2(struct buf *b, const char *name, const char *l1, const char *v1,
    const char *l2, const char *v2, long long value)
{
	buf_printf(b, "%s{%s=\"", name, l1);
	metric_escape(b, v1);
	if (l2 != NULL) {
		buf_printf(b, "\",%s=\"", l2);
		metric_escape(b, v2);
	}
	buf_printf(b, "\"} %lld\n", value);
}

static void
jobs(struct buf *b, struct store *s)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT kind, state, COUNT(*) FROM jobs GROUP "
	    "BY kind, state ORDER BY kind, state");
	if (st == NULL)
		return;
	family(b, "pvebot_jobs", "gauge", "Jobs in the database by kind "
	    "(action, read) and state.");
	while (db_step(st) == DB_ROW)
		sample2(b, "pvebot_jobs", "kind", db_text(st, 0), "state", db_text(st, 1), db_int(st, 2));
	db_finish(s, st);
}

static void
outbox(struct buf *b, struct store *s, struct app *app)
{
	struct db_stmt	*st;
	size_t		 i;
	json_t		*seen = json_object(), *v;
	const char	*k;

	/* Every connector shows, waiting or not. */
	for (i = 0; i < app->nconnectors; i++)
		json_object_set_new(seen, app->connectors[i]->ops->name,
		    json_integer(0));
	st = db_prepare(s, "SELECT connector, COUNT(*) FROM outbox WHERE "
	    "state = 'pending' GROUP BY connector");
	if (st == NULL) {
		json_decref(seen);
		return;
	}
	while (db_step(st) == DB_ROW)
		json_object_set_new(seen, db_text(st,
		    0), json_integer(db_int(st, 1)));
	db_finish(s, st);
	family(b, "pvebot_outbox_depth", "gauge", "Chat messages, edits and "
	    "answers waiting in the durable outbox, by connector.");
	json_object_foreach(seen, k, v) {
		sample2(b, "pvebot_outbox_depth", "connector", k, NULL, NULL,
		    (long long)json_integer_value(v));
	}
	json_decref(seen);
}

static int
sev_index(const char *sev)
{
	int	 r = mon_severity_rank(sev);

	return r < 0 ? 1 : r > 2 ? 2 : r;
}

static void
alerts(struct buf *b, struct store *s)
{
	static const char *const queries[] = {
		/* monitor */
		"SELECT severity, COUNT(*) FROM alerts WHERE state IN "
		"('firing', 'flapping') GROUP BY severity",
		/* proxmox: open notifications nobody acked */
		"SELECT severity, COUNT(*) FROM hook_events WHERE state = "
		"'alert' AND acked_by IS NULL GROUP BY severity",
		/* alertmanager: by the label, read below */
		"SELECT labels, 1 FROM am_alerts a JOIN am_groups g ON g.id = "
		"a.group_id WHERE a.status = 'firing' AND g.status = 'firing'",
	};
	long long	 n[3][3];
	struct db_stmt	*st;
	size_t		 q, i, j;

	memset(n, 0, sizeof n);
	for (q = 0; q < nitems(queries); q++) {
		if ((st = db_prepare(s, queries[q])) == NULL)
			return;
		while (db_step(st) == DB_ROW) {
			const char	*sev = db_text(st, 0);

			if (q == 2) {
				json_t	*l = json_loads(sev, 0, NULL);

				i = (size_t)sev_index(
				    hook_alertmanager_severity(l));
				json_decref(l);
			} else
				i = (size_t)sev_index(sev != NULL ? sev :
				    "warning");
			n[q][i] += db_int(st, 1);
		}
		db_finish(s, st);
	}
	family(b, "pvebot_alerts_firing", "gauge", "Alerts firing now by "
	    "source and severity: monitor rules, Proxmox notifications not "
	    "yet acked or closed, Alertmanager alerts.");
	for (q = 0; q < nitems(sources); q++) {
		for (j = 0; j < nitems(severities); j++)
			sample2(b, "pvebot_alerts_firing", "source",
			    sources[q], "severity", severities[j], n[q][j]);
	}
}

void
http_metrics_handle(struct http *h, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	struct buf	 b;
	struct store	*s;
	char		*cause = NULL;
	int64_t		 age = -1;

	buf_init(&b, METRICS_MAX_PAGE);
	metric_render(&b);
	family(&b, "pvebot_build_info", "gauge", "pvebot's version; always "
	    "1.");
	sample2(&b, "pvebot_build_info", "version", PVEBOT_VERSION, NULL,
	    NULL, 1);
	if (h->app->router != NULL) {
		app_router_alive(h->app, HTTP_ROUTER_MAX_AGE_MS, &age);
		family(&b, "pvebot_router_heartbeat_age_seconds", "gauge",
		    "Seconds since the router's loop last turned.");
		buf_printf(&b, "pvebot_router_heartbeat_age_seconds %.3f\n",
		    (double)age / 1000);
	}
	if ((s = http_store(h, &cause)) == NULL) {
		log_warn("http", "metrics without the database: %s", cause);
		free(cause);
	} else {
		jobs(&b, s);
		outbox(&b, s, h->app);
		alerts(&b, s);
	}
	if (b.truncated) {
		http_reply_error(resp, 500, "the metrics page is too large");
		buf_release(&b);
		return;
	}
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_append(&resp->body, buf_cstr(&b), b.len);
	buf_release(&b);
}
