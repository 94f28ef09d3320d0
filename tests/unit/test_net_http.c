/*
 * The one HTTP client (include/net_http.h) against a scripted server on
 * loopback (tests' httpd, HTTP and HTTPS): what each guarantee of its
 * head comment looks like from the server's side. Calls in a row share
 * one connection; a write on a kept-alive connection that dies is not
 * sent again, a read is; a cancelled request ends at once; bodies are
 * capped with what arrived kept; Retry-After and wanted headers are
 * read; a pin that does not match fails the handshake before the
 * request (and its secret header) is sent; the classifier's verdict is
 * what the call returns.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "net_http.h"
#include "t.h"
#include "util.h"

#define AUTH	"Authorization: Bearer s3cr3t-net-http-token"

struct server {
	pthread_mutex_t	 lock;
	int		 nreq;
	char		*method, *path, *body, *auth, *ctype, *agent, *accept;
	/* The script. */
	int		 status;
	int		 drop;		/* the next n requests: no reply */
	int		 delay_ms;
	size_t		 big;		/* >0: a body this large */
	const char	*extra;		/* extra header lines */
};

static struct server	 sv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static char *
dup_header(const struct httpd_req *req, const char *name)
{
	const char	*h = httpd_header(req, name);

	return h != NULL ? xstrdup(h) : NULL;
}

static void
handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct server	*s = arg;
	char		*big;

	pthread_mutex_lock(&s->lock);
	s->nreq++;
	free(s->method);
	free(s->path);
	free(s->body);
	free(s->auth);
	free(s->ctype);
	free(s->agent);
	free(s->accept);
	s->method = xstrdup(req->method);
	s->path = xstrdup(req->raw_path);
	s->body = xstrdup(req->body);
	s->auth = dup_header(req, "Authorization");
	s->ctype = dup_header(req, "Content-Type");
	s->agent = dup_header(req, "User-Agent");
	s->accept = dup_header(req, "Accept");
	resp->status = s->status;
	if (s->drop > 0) {
		resp->drop = 1;
		s->drop--;
	}
	resp->delay_ms = s->delay_ms;
	if (s->extra != NULL)
		buf_puts(&resp->headers_extra, s->extra);
	if (s->big > 0) {
		big = xmalloc(s->big);
		memset(big, 'x', s->big);
		buf_append(&resp->body, big, s->big);
		free(big);
	} else
		buf_puts(&resp->body, "{\"ok\":true}");
	pthread_mutex_unlock(&s->lock);
}

static void
script(int status, int drop, int delay_ms, size_t big, const char *extra)
{
	pthread_mutex_lock(&sv.lock);
	sv.status = status;
	sv.drop = drop;
	sv.delay_ms = delay_ms;
	sv.big = big;
	sv.extra = extra;
	sv.nreq = 0;
	pthread_mutex_unlock(&sv.lock);
}

static int
requests(void)
{
	int	n;

	pthread_mutex_lock(&sv.lock);
	n = sv.nreq;
	pthread_mutex_unlock(&sv.lock);
	return n;
}

static struct httpd *
server_start(int tls)
{
	struct httpd_opts	 o;
	struct httpd		*h;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.tls = tls;
	o.handler = handler;
	o.arg = &sv;
	o.name = "fakeapi";
	h = httpd_start(&o, &cause);
	if (h == NULL)
		t_fail(__FILE__, __LINE__, "httpd_start: %s", cause);
	free(cause);
	script(200, 0, 0, 0, NULL);
	return h;
}

static void
server_stop(struct httpd *h)
{
	httpd_stop(h);
	free(sv.method);
	free(sv.path);
	free(sv.body);
	free(sv.auth);
	free(sv.ctype);
	free(sv.agent);
	free(sv.accept);
	sv.method = sv.path = sv.body = sv.auth = sv.ctype = NULL;
	sv.agent = sv.accept = NULL;
}

static struct net_http *
client(struct httpd *h, enum net_resend resend, size_t body_max)
{
	struct net_http_api	 api;
	struct net_http		*http;
	char			*base, *cause = NULL;

	base = xasprintf("http://127.0.0.1:%d/api", httpd_port(h));
	memset(&api, 0, sizeof api);
	api.name = "test";
	api.base_url = base;
	api.auth_header = AUTH;
	api.user_agent = "TestAgent/1";
	api.headers = (const char *const []){ "Accept: application/json",
	    NULL };
	api.timeout_ms = 10000;
	api.body_max = body_max;
	api.resend = resend;
	http = net_http_create(&api, &cause);
	T_OK(http != NULL);
	free(cause);
	free(base);
	return http;
}

static int
call(struct net_http *http, const char *method, const char *path,
    const char *body, struct net_reply *r)
{
	struct net_request	 req;

	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	req.body = body;
	req.content_type = body != NULL ? "application/json" : NULL;
	return net_http_do(http, &req, r);
}

/* Twenty calls, reads and writes mixed: one connection, and each
 * request as the API described it. */
static void
test_calls_share_one_connection(void)
{
	struct httpd		*h = server_start(0);
	struct net_http		*http = client(h, NET_RESEND_READS, 0);
	struct net_reply	 r;
	int			 i;

	for (i = 0; i < 20; i++) {
		T_EQ_INT(call(http, i % 2 ? "POST" : "GET", i % 2 ?
		    "/send" : "/list", i % 2 ? "{\"n\":1}" : NULL, &r), 0);
		T_EQ_INT(r.result, NET_REPLY);
		T_EQ_INT(r.status, 200);
		T_EQ_STR(buf_cstr(&r.body), "{\"ok\":true}");
		net_reply_release(&r);
	}
	T_EQ_INT((int)httpd_accepted(h), 1);
	T_EQ_INT(requests(), 20);
	T_EQ_STR(sv.method, "POST");
	T_EQ_STR(sv.path, "/api/send");
	T_EQ_STR(sv.body, "{\"n\":1}");
	T_EQ_STR(sv.ctype, "application/json");
	T_EQ_STR(sv.auth, "Bearer s3cr3t-net-http-token");
	T_EQ_STR(sv.agent, "TestAgent/1");
	T_EQ_STR(sv.accept, "application/json");

	/* PUT, PATCH and DELETE without a body carry none. */
	T_EQ_INT(call(http, "DELETE", "/item/1", NULL, &r), 0);
	T_EQ_STR(sv.method, "DELETE");
	T_EQ_STR(sv.body, "");
	T_OK(sv.ctype == NULL);
	net_reply_release(&r);
	T_EQ_INT(call(http, "PATCH", "/item/1", "{\"a\":2}", &r), 0);
	T_EQ_STR(sv.method, "PATCH");
	T_EQ_STR(sv.body, "{\"a\":2}");
	net_reply_release(&r);
	T_EQ_INT((int)httpd_accepted(h), 1);
	net_http_free(http);
	server_stop(h);
}

/*
 * The server takes a request on the kept-alive connection and closes it
 * without a reply. A write is not sent again behind the caller's back;
 * a read is (libcurl's resend on a fresh connection), unless the API
 * sends every request once.
 */
static void
test_writes_never_resent(void)
{
	struct httpd		*h = server_start(0);
	struct net_http		*http = client(h, NET_RESEND_READS, 0);
	struct net_reply	 r;

	T_EQ_INT(call(http, "GET", "/warm", NULL, &r), 0);
	net_reply_release(&r);
	script(200, 1, 0, 0, NULL);
	T_EQ_INT(call(http, "POST", "/send", "{}", &r), -1);
	T_EQ_INT(r.result, NET_LOST);
	T_EQ_INT(r.status, 0);
	T_EQ_INT(requests(), 1);
	net_reply_release(&r);

	/* A read: sent again on a new connection, and answered. */
	T_EQ_INT(call(http, "GET", "/warm", NULL, &r), 0);
	net_reply_release(&r);
	script(200, 1, 0, 0, NULL);
	T_EQ_INT(call(http, "GET", "/list", NULL, &r), 0);
	T_EQ_INT(r.result, NET_REPLY);
	T_EQ_INT(requests(), 2);
	net_reply_release(&r);
	net_http_free(http);

	/* NET_RESEND_NEVER: the read too is sent once. */
	http = client(h, NET_RESEND_NEVER, 0);
	T_EQ_INT(call(http, "GET", "/warm", NULL, &r), 0);
	net_reply_release(&r);
	script(200, 1, 0, 0, NULL);
	T_EQ_INT(call(http, "GET", "/list", NULL, &r), -1);
	T_EQ_INT(r.result, NET_LOST);
	T_EQ_INT(requests(), 1);
	net_reply_release(&r);
	net_http_free(http);
	server_stop(h);
}

struct waiter {
	struct net_http		*http;
	struct net_reply	 r;
	int			 rc;
	int64_t			 ended;
};

static void *
wait_long(void *arg)
{
	struct waiter		*w = arg;
	struct net_request	 req;

	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.path = "/poll";
	req.cancellable = 1;
	w->rc = net_http_do(w->http, &req, &w->r);
	w->ended = now_ms();
	return NULL;
}

/* A long poll ends as soon as it is cancelled, not when the server or
 * a timer answers; later ones are refused until resume. */
static void
test_cancel_ends_a_wait_at_once(void)
{
	struct httpd		*h = server_start(0);
	struct net_http		*http = client(h, NET_RESEND_READS, 0);
	struct net_reply	 r;
	struct net_request	 req;
	struct waiter		 w;
	pthread_t		 t;
	int64_t			 t0;
	int			 n;

	memset(&w, 0, sizeof w);
	w.http = http;
	script(200, 0, 3000, 0, NULL);
	pthread_create(&t, NULL, wait_long, &w);
	for (n = 0; n < 500 && requests() == 0; n++)
		sleep_ms(10);
	T_EQ_INT(requests(), 1);
	t0 = now_ms();
	net_http_cancel(http);
	pthread_join(t, NULL);
	T_EQ_INT(w.r.result, NET_CANCELLED);
	T_EQ_INT(w.rc, -1);
	printf("  note: cancelled after %lld ms\n", (long long)(w.ended - t0));
	T_OK(w.ended - t0 < 500);
	net_reply_release(&w.r);

	/* Refused at once while cancelled, a request that is not
	 * cancellable still goes; after resume all go. */
	script(200, 0, 0, 0, NULL);
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.path = "/poll";
	req.cancellable = 1;
	T_EQ_INT(net_http_do(http, &req, &r), -1);
	T_EQ_INT(r.result, NET_CANCELLED);
	T_EQ_INT(requests(), 0);
	net_reply_release(&r);
	T_EQ_INT(call(http, "POST", "/send", "{}", &r), 0);
	net_reply_release(&r);
	net_http_resume(http);
	T_EQ_INT(net_http_do(http, &req, &r), 0);
	T_EQ_INT(r.result, NET_REPLY);
	net_reply_release(&r);
	T_EQ_INT(requests(), 2);
	net_http_free(http);
	server_stop(h);
}

/* Past the cap the transfer stops, what arrived is kept; Retry-After
 * and the wanted headers are read from the reply. */
static void
test_cap_and_headers(void)
{
	struct httpd		*h = server_start(0);
	struct net_http		*http = client(h, NET_RESEND_READS, 1024);
	struct net_request	 req;
	struct net_reply	 r;
	const char *const	 want[] = { "X-Bucket", "X-Absent", NULL };

	script(200, 0, 0, 5000, NULL);
	T_EQ_INT(call(http, "GET", "/big", NULL, &r), -1);
	T_EQ_INT(r.result, NET_TOO_BIG);
	T_EQ_INT(r.status, 200);
	T_EQ_INT((int)r.body.len, 1024);
	T_OK(r.body.truncated);
	T_CONTAINS(r.error, "larger than 1024");
	net_reply_release(&r);

	script(429, 0, 0, 0, "Retry-After: 7\r\nX-Bucket: abc123\r\n");
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.path = "/limited";
	req.want = want;
	T_EQ_INT(net_http_do(http, &req, &r), 0);
	T_EQ_INT(r.status, 429);
	T_EQ_INT((int)r.retry_after, 7);
	T_EQ_STR(r.values[0], "abc123");
	T_OK(r.values[1] == NULL);
	net_reply_release(&r);

	/* A reply without them: none, not the last reply's. */
	script(200, 0, 0, 0, NULL);
	T_EQ_INT(net_http_do(http, &req, &r), 0);
	T_EQ_INT((int)r.retry_after, 0);
	T_OK(r.values[0] == NULL);
	net_reply_release(&r);
	net_http_free(http);
	server_stop(h);
}

static int
hex_digest(const char *fpr, unsigned char out[32])
{
	unsigned int	 v;
	size_t		 i;

	for (i = 0; i < 32; i++) {
		if (sscanf(fpr + i * 3, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

static int
status_class(const struct net_reply *r, void *arg)
{
	return r->result == NET_REPLY ? (int)r->status : -(int)r->result;
}

/* A pinned leaf is accepted, another is refused during the handshake:
 * the server never sees the request, nor its secret header. */
static void
test_pins(void)
{
	struct httpd		*h = server_start(1);
	struct net_http_api	 api;
	struct net_http		*http;
	struct net_reply	 r;
	unsigned char		 pin[1][32], right[32];
	char			*base;

	T_EQ_INT(hex_digest(httpd_fingerprint(h), right), 0);
	base = xasprintf("https://127.0.0.1:%d", httpd_port(h));
	memset(&api, 0, sizeof api);
	api.name = "pinned";
	api.base_url = base;
	api.auth_header = AUTH;
	api.https_only = 1;
	api.pins = (const unsigned char (*)[32])pin;
	api.npins = 1;
	api.classify = status_class;

	memcpy(pin[0], right, 32);
	http = net_http_create(&api, NULL);
	T_OK(http != NULL);
	T_EQ_INT(call(http, "GET", "/ok", NULL, &r), 200);
	T_EQ_INT(r.result, NET_REPLY);
	net_reply_release(&r);
	T_EQ_INT(call(http, "GET", "/ok", NULL, &r), 200);
	net_reply_release(&r);
	T_EQ_INT((int)httpd_accepted(h), 1);
	net_http_free(http);

	pin[0][0] ^= 0xff;
	http = net_http_create(&api, NULL);
	script(200, 0, 0, 0, NULL);
	T_EQ_INT(call(http, "GET", "/ok", NULL, &r), -(int)NET_TLS);
	T_EQ_INT(r.result, NET_TLS);
	T_OK(r.pin_mismatch);
	T_OK(r.tls_got_set);
	T_OK(memcmp(r.tls_got, right, 32) == 0);
	T_EQ_INT(requests(), 0);
	T_NOT_CONTAINS(r.error, "s3cr3t");
	net_reply_release(&r);
	net_http_free(http);
	free(base);
	server_stop(h);
}

int
main(void)
{
	T_RUN(test_calls_share_one_connection);
	T_RUN(test_writes_never_resent);
	T_RUN(test_cancel_ends_a_wait_at_once);
	T_RUN(test_cap_and_headers);
	T_RUN(test_pins);
	return t_summary();
}
