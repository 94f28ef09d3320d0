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
 * and pvebot_build_info and the router's heartbeat age (the counts come
 * from store_hooks.h). A query that fails leaves its family out and logs
 * that; the page is still served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "chat.h"
#include "http_int.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "store.h"
#include "store_hooks.h"
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
	struct metrics_row	*v;
	size_t			 n, i;

	if (metrics_count_jobs(s, &v, &n) != 0) {
		log_warn("http", "metrics: jobs not counted");
		return;
	}
	family(b, "pvebot_jobs", "gauge", "Jobs in the database by kind "
	    "(action, read) and state.");
	for (i = 0; i < n; i++)
		sample2(b, "pvebot_jobs", "kind", v[i].label1, "state",
		    v[i].label2, v[i].n);
	metrics_rows_free(v, n);
}

static void
outbox(struct buf *b, struct store *s, struct app *app)
{
	struct metrics_row	*v;
	size_t			 n, i;
	json_t			*seen, *count;
	const char		*k;

	if (metrics_count_outbox(s, &v, &n) != 0) {
		log_warn("http", "metrics: outbox not counted");
		return;
	}
	/* Every connector shows, waiting or not. */
	seen = json_object();
	for (i = 0; i < app->nconnectors; i++)
		json_object_set_new(seen, app->connectors[i]->ops->name,
		    json_integer(0));
	for (i = 0; i < n; i++)
		json_object_set_new(seen, v[i].label1, json_integer(v[i].n));
	metrics_rows_free(v, n);
	family(b, "pvebot_outbox_depth", "gauge", "Chat messages, edits and "
	    "answers waiting in the durable outbox, by connector.");
	json_object_foreach(seen, k, count) {
		sample2(b, "pvebot_outbox_depth", "connector", k, NULL, NULL,
		    (long long)json_integer_value(count));
	}
	json_decref(seen);
}

static int
sev_index(const char *sev)
{
	int	 r = mon_severity_rank(sev);

	return r < 0 ? 1 : r > 2 ? 2 : r;
}

/* Adds counts by severity (NULL: warning) to one source's row. */
static int
count_severities(int (*count)(struct store *, struct metrics_row **,
    size_t *), struct store *s, long long n[3])
{
	struct metrics_row	*v;
	size_t			 nv, i;

	if (count(s, &v, &nv) != 0)
		return -1;
	for (i = 0; i < nv; i++)
		n[sev_index(v[i].label1 != NULL ? v[i].label1 : "warning")] +=
		    v[i].n;
	metrics_rows_free(v, nv);
	return 0;
}

static void
alerts(struct buf *b, struct store *s)
{
	long long	 n[3][3];
	char		**labels;
	size_t		 nlabels, i, q, j;

	memset(n, 0, sizeof n);
	/* monitor rules; Proxmox notifications open and nobody acked */
	if (count_severities(metrics_count_alerts, s, n[0]) != 0 ||
	    count_severities(metrics_count_hook_events, s, n[1]) != 0 ||
	    metrics_am_firing_labels(s, &labels, &nlabels) != 0) {
		log_warn("http", "metrics: alerts not counted");
		return;
	}
	/* Alertmanager: by the severity label. */
	for (i = 0; i < nlabels; i++) {
		json_t	*l = json_loads(labels[i], 0, NULL);

		n[2][sev_index(hook_alertmanager_severity(l))]++;
		json_decref(l);
	}
	strv_free(labels, nlabels);
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
