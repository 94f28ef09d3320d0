/*
 * http.c - the listener and its route table (include/http.h).
 *
 * One httpd (src/net/httpd_lws.c) serves every route; its handler looks
 * the path up in routes[], checks the method, the route's bearer token
 * (constant time: the SHA-256 of what came against the SHA-256 of what
 * is configured) and its body cap, then calls the route's handler on the
 * listener's thread. Handlers may block on SQLite (a busy database is
 * waited for HTTP_DB_WAIT_MS, then answered 503); none waits on the
 * network.
 *
 * Every refused request, whether httpd refused it (malformed, too large,
 * too slow) or a route did (unknown path, wrong method, wrong token), is
 * logged with its peer and reason, at most HTTP_REFUSED_LOG_MAX lines a
 * minute (the rest are summed up in the next line), and counted in
 * pvebot_http_requests_total. A wrong or missing token also writes an
 * audit row (at most HTTP_REFUSED_AUDIT_MAX a minute: the audit log is
 * append-only and must not be flooded from outside).
 *
 * Threads: the listener's (httpd's service thread and its handler pool,
 * each handler thread with its own SQLite connection, closed when the
 * thread ends), the silencer (hook_alertmanager.c) and the heartbeat
 * (heartbeat.c), each with its own connection. http_stop() stops the
 * listener first, then wakes and joins the two threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "app.h"
#include "conf.h"
#include "http_int.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "util.h"

#define HTTP_BODY_FLOOR	4096	/* what a GET route accepts */

struct route {
	const char	*path;
	const char	*method;
	const char	*name;		/* metrics and logs */
	/* The route's settings in conf->http, NULL for alertmanager. */
	const struct conf_http_route *(*settings)(const struct conf *);
	void		(*handler)(struct http *, const struct httpd_req *,
			    struct httpd_resp *);
};

static const struct conf_http_route *
proxmox_settings(const struct conf *c)
{
	return &c->http.proxmox;
}

static const struct conf_http_route *
metrics_settings(const struct conf *c)
{
	return &c->http.metrics;
}

static const struct conf_http_route *
healthz_settings(const struct conf *c)
{
	return &c->http.healthz;
}

static const struct route routes[] = {
	{ "/hooks/proxmox", "POST", "proxmox", proxmox_settings,
	    hook_proxmox_handle },
	{ "/hooks/alertmanager", "POST", "alertmanager", NULL,
	    hook_alertmanager_handle },
	{ "/metrics", "GET", "metrics", metrics_settings,
	    http_metrics_handle },
	{ "/healthz", "GET", "healthz", healthz_settings, health_handle },
};

static pthread_mutex_t	 running_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http	*running;

struct http *
http_running(void)
{
	struct http	*h;

	pthread_mutex_lock(&running_lock);
	h = running;
	pthread_mutex_unlock(&running_lock);
	return h;
}

static void
route_limits(const struct http *h, const struct route *r, int *enabled,
    const char **token, size_t *max_body)
{
	const struct conf_http_alertmanager	*am = &h->app->conf->http.alertmanager;
	const struct conf_http_route		*s;

	if (r->settings == NULL) {
		*enabled = am->enabled;
		*token = am->token;
		*max_body = (size_t)am->max_body;
		return;
	}
	s = r->settings(h->app->conf);
	*enabled = s->enabled;
	*token = s->token;
	*max_body = s->max_body > 0 ? (size_t)s->max_body : HTTP_BODY_FLOOR;
}

int
http_port(const struct http *h)
{
	return h->port;
}

static void
store_destroy(void *s)
{
	store_close(s);
}

struct store *
http_store(struct http *h, char **cause)
{
	struct store	*s = pthread_getspecific(h->store_key);

	if (s != NULL)
		return s;
	if ((s = store_open(h->app->conf->database, cause)) == NULL)
		return NULL;
	store_set_wait(s, HTTP_DB_WAIT_MS);
	pthread_setspecific(h->store_key, s);
	return s;
}

void
http_refused(struct http *h, const char *peer, const char *route,
    int status, const char *why)
{
	char	 code[16];

	snprintf(code, sizeof code, "%d", status);
	metric_inc2(M_HTTP_REQUESTS, route, code);
	http_refused_log(h, peer, route, status, why);
}

void
http_refused_log(struct http *h, const char *peer, const char *route,
    int status, const char *why)
{
	int64_t	 now = now_ms();
	int	 quiet = 0, log = 0;

	pthread_mutex_lock(&h->refused_lock);
	if (now - h->refused_window >= 60000) {
		quiet = h->refused_quiet;
		h->refused_window = now;
		h->refused_logged = 0;
		h->refused_quiet = 0;
		h->refused_audited = 0;
	}
	if (h->refused_logged < HTTP_REFUSED_LOG_MAX) {
		h->refused_logged++;
		log = 1;
	} else
		h->refused_quiet++;
	pthread_mutex_unlock(&h->refused_lock);
	if (quiet > 0)
		log_warn("http", "refused requests not logged count=%d "
		    "(more than %d a minute)", quiet, HTTP_REFUSED_LOG_MAX);
	if (log)
		log_warn("http", "refused peer=%s route=%s status=%d why=\"%s\"",
		    peer, route, status, why);
}

/* httpd refused it before any route saw it. */
static void
listener_refused(void *arg, const char *peer, int status, const char *why)
{
	http_refused(arg, peer, "-", status, why);
}

void
http_reply_error(struct httpd_resp *resp, int status, const char *why)
{
	json_t	*o = json_pack("{s:s}", "error", why);
	char	*text = json_dumps(o, JSON_COMPACT);

	resp->status = status;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	buf_printf(&resp->body, "%s\n", text);
	free(text);
	json_decref(o);
}

/* Whether the request presents `token`, in time independent of it. */
static int
token_ok(const struct httpd_req *req, const char *token)
{
	const char	*auth = httpd_header(req, "Authorization");
	const char	*given;
	char		 a[65], b[65];

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	for (given = auth + 7; *given == ' '; given++)
		;
	sha256_hex(given, strlen(given), a);
	sha256_hex(token, strlen(token), b);
	return CRYPTO_memcmp(a, b, 64) == 0;
}

/* A wrong token: 401, and an audit row unless they come in a flood. */
static void
refuse_token(struct http *h, const struct route *r,
    const struct httpd_req *req, struct httpd_resp *resp)
{
	const char	*why = httpd_header(req, "Authorization") == NULL ?
			    "no bearer token" : "wrong bearer token";
	struct store	*s;
	char		*detail, *actor, *cause = NULL;
	int		 audit = 0;

	http_refused(h, req->peer, r->name, 401, why);
	pthread_mutex_lock(&h->refused_lock);
	if (h->refused_audited < HTTP_REFUSED_AUDIT_MAX) {
		h->refused_audited++;
		audit = 1;
	}
	pthread_mutex_unlock(&h->refused_lock);
	if (audit) {
		if ((s = http_store(h, &cause)) == NULL) {
			log_error("http", "no audit row for a refused request: "
			    "%s", cause);
			free(cause);
		} else {
			actor = xasprintf("http:%s", req->peer);
			detail = xasprintf("route=%s peer=%s status=401 why=%s",
			    r->path, req->peer, why);
			if (audit_append(s, actor, "http.refused", detail) != 0)
				log_error("http", "audit row not written: "
				    "route=%s peer=%s", r->path, req->peer);
			free(detail);
			free(actor);
		}
	}
	http_reply_error(resp, 401, "a valid bearer token is required");
	buf_puts(&resp->headers_extra, "WWW-Authenticate: Bearer\r\n");
}

static int
json_type_ok(const struct httpd_req *req)
{
	const char	*ct = httpd_header(req, "Content-Type");
	size_t		 len;

	/* Proxmox sends no Content-Type unless its target sets one. */
	if (ct == NULL)
		return 1;
	len = strcspn(ct, "; ");
	return len == 16 && strncasecmp(ct, "application/json", len) == 0;
}

static void
handle(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct http		*h = arg;
	const struct route	*r = NULL;
	const char		*token;
	size_t			 i, max_body;
	char			 code[16], *why;
	int			 enabled;

	for (i = 0; i < nitems(routes); i++) {
		if (strcmp(req->path, routes[i].path) != 0)
			continue;
		route_limits(h, &routes[i], &enabled, &token, &max_body);
		if (!enabled)
			break;
		r = &routes[i];
		break;
	}
	if (r == NULL) {
		http_refused(h, req->peer, "-", 404, "no such route");
		http_reply_error(resp, 404, "no such route");
		return;
	}
	if (strcmp(req->method, r->method) != 0 &&
	    !(strcmp(r->method, "GET") == 0 &&
	    strcmp(req->method, "HEAD") == 0)) {
		why = xasprintf("%s wants %s, not %s", r->path, r->method,
		    req->method);
		http_refused(h, req->peer, r->name, 405, why);
		http_reply_error(resp, 405, why);
		buf_printf(&resp->headers_extra, "Allow: %s\r\n", r->method);
		free(why);
		return;
	}
	if (token != NULL && !token_ok(req, token)) {
		refuse_token(h, r, req, resp);
		return;
	}
	if (req->body_len > max_body) {
		why = xasprintf("body of %zu bytes is over the route's %zu",
		    req->body_len, max_body);
		http_refused(h, req->peer, r->name, 413, why);
		http_reply_error(resp, 413, why);
		free(why);
		return;
	}
	if (strcmp(r->method, "POST") == 0 && !json_type_ok(req)) {
		http_refused(h, req->peer, r->name, 415, "not JSON");
		http_reply_error(resp, 415, "expected application/json");
		return;
	}
	r->handler(h, req, resp);
	snprintf(code, sizeof code, "%d", resp->status);
	metric_inc2(M_HTTP_REQUESTS, r->name, code);
}

struct http *
http_create(struct app *app, char **cause)
{
	const struct conf	*c = app->conf;
	struct http		*h = xcalloc(1, sizeof *h);
	char			*errcause = NULL;

	h->app = app;
	pthread_mutex_init(&h->refused_lock, NULL);
	pthread_mutex_init(&h->health_lock, NULL);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (c->http.enabled) {
		if (conf_parse_listen(c->http.listen, &h->address, &h->port,
		    &errcause) != 0) {
			set_cause(cause, "http.listen: %s", errcause);
			free(errcause);
			http_free(h);
			return NULL;
		}
		if (c->http.tls.enabled && (h->cert_pem = read_file(
		    c->http.tls.cert_file, 1 << 20, NULL, &errcause)) ==
		    NULL) {
			set_cause(cause, "http.tls.cert_file: %s", errcause);
			free(errcause);
			http_free(h);
			return NULL;
		}
	}
	return h;
}

static size_t
listener_max_body(const struct conf *c)
{
	size_t	 m = HTTP_BODY_FLOOR;

	if (c->http.proxmox.enabled && (size_t)c->http.proxmox.max_body > m)
		m = (size_t)c->http.proxmox.max_body;
	if (c->http.alertmanager.enabled &&
	    (size_t)c->http.alertmanager.max_body > m)
		m = (size_t)c->http.alertmanager.max_body;
	return m;
}

int
http_start(struct http *h, char **cause)
{
	const struct conf	*c = h->app->conf;
	struct httpd_opts	 o;

	if (pthread_key_create(&h->store_key, store_destroy) != 0)
		return set_cause(cause, "http: pthread_key_create failed");
	h->key_made = 1;
	h->started = 1;
	pthread_mutex_lock(&running_lock);
	running = h;
	pthread_mutex_unlock(&running_lock);
	if (c->http.enabled) {
		memset(&o, 0, sizeof o);
		o.address = h->address;
		o.port = h->port;
		if (c->http.tls.enabled) {
			o.cert_pem = h->cert_pem;
			o.key_pem = c->http.tls.key;
		}
		o.handler = handle;
		o.arg = h;
		o.max_body = listener_max_body(c);
		o.chunked = 1;
		o.timeout_s = (int)c->http.timeout;
		o.refused = listener_refused;
		o.name = "http";
		if ((h->httpd = httpd_start(&o, cause)) == NULL)
			return -1;
		h->port = httpd_port(h->httpd);
		log_info("http", "listening address=%s port=%d tls=%s "
		    "proxmox=%s alertmanager=%s metrics=%s healthz=%s",
		    h->address, h->port, c->http.tls.enabled ? "yes" : "no",
		    c->http.proxmox.enabled ? "on" : "off",
		    c->http.alertmanager.enabled ? "on" : "off",
		    c->http.metrics.enabled ? "on" : "off",
		    c->http.healthz.enabled ? "on" : "off");
		if (c->http.alertmanager.enabled) {
			if (pthread_create(&h->silencer, NULL,
			    hook_alertmanager_silencer, h) != 0)
				return set_cause(cause, "http: cannot start "
				    "the silence thread");
			h->silencing = 1;
		}
	}
	if (c->heartbeat.enabled) {
		if (pthread_create(&h->beater, NULL, heartbeat_main, h) != 0)
			return set_cause(cause, "http: cannot start the "
			    "heartbeat thread");
		h->beating = 1;
		log_info("http", "heartbeat on method=%s interval=%llds",
		    c->heartbeat.method, (long long)c->heartbeat.interval);
	}
	return 0;
}

void
http_kick(struct http *h)
{
	pthread_mutex_lock(&h->lock);
	h->kicks++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void
http_stop(struct http *h)
{
	if (h == NULL || !h->started)
		return;
	pthread_mutex_lock(&running_lock);
	if (running == h)
		running = NULL;
	pthread_mutex_unlock(&running_lock);
	httpd_stop(h->httpd);
	h->httpd = NULL;
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->silencing)
		pthread_join(h->silencer, NULL);
	if (h->beating)
		pthread_join(h->beater, NULL);
	h->silencing = h->beating = 0;
	h->started = 0;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	http_stop(h);
	if (h->key_made)
		pthread_key_delete(h->store_key);
	pthread_mutex_destroy(&h->refused_lock);
	pthread_mutex_destroy(&h->health_lock);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->cert_pem);
	free(h->address);
	free(h);
}
