/*
 * health.c - GET /healthz and the check the heartbeat shares.
 *
 * Healthy means:
 * - the router's loop turned within HTTP_ROUTER_MAX_AGE_MS (its
 *   heartbeat, app_router_alive());
 * - the workers are alive: one of them turned its loop recently, or all
 *   of them are running jobs (workers_alive());
 * - the store takes a write: a write transaction begun and rolled back
 *   on the caller's connection (hooks_writable()), waiting at most
 *   HTTP_DB_WAIT_MS for the lock (a read-only or locked database fails
 *   it);
 * - pvebot is not stopping.
 * The answer is reused for a second, so a busy scraper does not take
 * the write lock at every request. /healthz answers 200 "ok", or 503
 * with the first reason found, in plain text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http_int.h"
#include "log.h"
#include "store.h"
#include "store_hooks.h"
#include "util.h"

#define HEALTH_CACHE_MS	1000

static int
store_writable(struct store *s, char *reason, size_t len)
{
	char	*cause = NULL;

	if (!hooks_writable(s, &cause)) {
		snprintf(reason, len, "database: %s", cause);
		free(cause);
		return 0;
	}
	return 1;
}

static int
check_now(struct http *h, struct store *s, char *reason, size_t len)
{
	struct app	*app = h->app;
	int64_t		 age;

	if (atomic_load(&app->stopping)) {
		snprintf(reason, len, "stopping");
		return 0;
	}
	if (app->router == NULL) {
		snprintf(reason, len, "router not started");
		return 0;
	}
	if (!app_router_alive(app, HTTP_ROUTER_MAX_AGE_MS, &age)) {
		snprintf(reason, len, "router: no loop for %" PRId64 "s",
		    age / 1000);
		return 0;
	}
	if (app->workers == NULL || !workers_alive(app->workers,
	    HTTP_ROUTER_MAX_AGE_MS, &age)) {
		if (age < 0)
			snprintf(reason, len, "workers not started");
		else
			snprintf(reason, len, "workers: no loop for %" PRId64
			    "s and not all busy", age / 1000);
		return 0;
	}
	if (s == NULL) {
		snprintf(reason, len, "database: no connection");
		return 0;
	}
	return store_writable(s, reason, len);
}

int
health_check(struct http *h, struct store *s, char *reason, size_t len)
{
	int	 ok;

	pthread_mutex_lock(&h->health_lock);
	if (h->health_at != 0 && now_ms() - h->health_at < HEALTH_CACHE_MS) {
		ok = h->health_ok;
		snprintf(reason, len, "%s", h->health_reason);
		pthread_mutex_unlock(&h->health_lock);
		return ok;
	}
	pthread_mutex_unlock(&h->health_lock);
	reason[0] = '\0';
	ok = check_now(h, s, reason, len);
	if (ok)
		snprintf(reason, len, "ok");
	pthread_mutex_lock(&h->health_lock);
	h->health_at = now_ms();
	h->health_ok = ok;
	snprintf(h->health_reason, sizeof h->health_reason, "%s", reason);
	pthread_mutex_unlock(&h->health_lock);
	return ok;
}

void
health_handle(struct http *h, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	char		 reason[256];
	char		*cause = NULL;
	struct store	*s = http_store(h, &cause);

	if (s == NULL) {
		log_warn("http", "healthz: %s", cause);
		free(cause);
	}
	resp->content_type = "text/plain; charset=utf-8";
	buf_puts(&resp->headers_extra, "Cache-Control: no-store\r\n");
	if (health_check(h, s, reason, sizeof reason)) {
		resp->status = 200;
		buf_puts(&resp->body, "ok\n");
		return;
	}
	resp->status = 503;
	buf_printf(&resp->body, "%s\n", reason);
}
