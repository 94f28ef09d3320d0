/*
 * heartbeat.c - the dead-man ping: every heartbeat.interval a GET or
 * POST to heartbeat.url (the push URL of healthchecks.io, Uptime Kuma
 * and the like), sent only while the health check of /healthz passes.
 * When pvebot, its database, its router or its workers stop, the pings
 * stop, and the service on the other side raises the alarm that pvebot
 * itself can no longer raise.
 *
 * Its own thread and its own SQLite connection; it waits on the
 * endpoint's condition variable, so http_stop() ends it at once. The URL
 * holds a token: it is never logged (the logger scrubs it; lines here
 * name only the method). A withheld or failed ping is logged once when
 * it starts and once when pings go out again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "conf.h"
#include "http_int.h"
#include "log.h"
#include "metrics.h"
#include "net_http.h"
#include "store.h"
#include "util.h"

/* Sleeps ms or until the endpoint stops; 1 when stopping. */
static int
nap(struct http *h, int64_t ms)
{
	struct timespec	 ts;
	int64_t		 at = wall_now_ms() + ms;
	int		 stopping;

	ts.tv_sec = at / 1000;
	ts.tv_nsec = (at % 1000) * 1000000;
	pthread_mutex_lock(&h->lock);
	while (!h->stopping && wall_now_ms() < at)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) != 0)
			break;
	stopping = h->stopping;
	pthread_mutex_unlock(&h->lock);
	return stopping;
}

static int
ping(struct http *h, char **why)
{
	const struct conf_heartbeat	*hb = &h->app->conf->heartbeat;
	struct net_http_api		 api;
	struct net_request		 req;
	struct net_reply		 reply;
	struct net_http			*client;
	long				 timeout_ms;
	int				 rc = -1;

	/* Pings are minutes apart: a client of its own for each. */
	timeout_ms = (hb->timeout > 0 ? (long)hb->timeout : 10L) * 1000;
	memset(&api, 0, sizeof api);
	api.name = "heartbeat";
	api.connect_timeout_ms = timeout_ms;
	api.timeout_ms = timeout_ms;
	api.body_max = HTTP_CALL_MAX_REPLY;
	api.resend = NET_RESEND_READS;
	memset(&req, 0, sizeof req);
	req.method = hb->method;
	req.path = hb->url;
	if (strcmp(hb->method, "POST") == 0) {
		req.body = "pvebot ok\n";
		req.content_type = "text/plain";
	}
	if ((client = net_http_create(&api, why)) == NULL)
		return -1;
	net_http_do(client, &req, &reply);
	/* A reply past the cap still carries its status. */
	if (reply.result != NET_REPLY && reply.result != NET_TOO_BIG)
		*why = xstrdup(reply.error);
	else if (reply.status < 200 || reply.status > 299)
		*why = xasprintf("answered %ld", reply.status);
	else
		rc = 0;
	net_reply_release(&reply);
	net_http_free(client);
	return rc;
}

void *
heartbeat_main(void *arg)
{
	struct http	*h = arg;
	struct store	*s;
	char		 reason[256], *why, *cause = NULL;
	int64_t		 interval = h->app->conf->heartbeat.interval * 1000;
	int64_t		 t0, spent;
	int		 withheld = 0, failing = 0;

	if ((s = store_open(h->app->conf->database, &cause)) == NULL) {
		log_error("http", "heartbeat without a database: %s", cause);
		free(cause);
	} else
		store_set_wait(s, HTTP_DB_WAIT_MS);
	for (;;) {
		t0 = now_ms();
		if (!health_check(h, s, reason, sizeof reason)) {
			metric_inc(M_HEARTBEAT, "withheld");
			if (!withheld)
				log_warn("http", "heartbeat withheld: %s",
				    reason);
			withheld = 1;
		} else {
			if (withheld)
				log_info("http", "heartbeat resumed");
			withheld = 0;
			why = NULL;
			if (ping(h, &why) == 0) {
				metric_inc(M_HEARTBEAT, "sent");
				if (failing)
					log_info("http", "heartbeat delivered "
					    "again method=%s",
					    h->app->conf->heartbeat.method);
				failing = 0;
			} else {
				metric_inc(M_HEARTBEAT, "failed");
				if (!failing)
					log_warn("http", "heartbeat not "
					    "delivered method=%s: %s",
					    h->app->conf->heartbeat.method, why);
				failing = 1;
			}
			free(why);
		}
		spent = now_ms() - t0;
		if (nap(h, interval > spent ? interval - spent : 0))
			break;
	}
	store_close(s);
	return NULL;
}
