/*
 * httpd_lws.c - include/httpd.h on libwebsockets.
 *
 * One libwebsockets service thread per server owns the listening socket
 * and every connection: lws accepts, does TLS, polls, runs the timers
 * and flushes what we write (its raw-socket role: the bytes of a
 * connection, decrypted). The HTTP/1.1 syntax is Node's http_parser
 * (Debian's libhttp-parser); this file adds the header's promises on top
 * of it: the caps and their statuses, origin-form targets, HTTP/1.0 and
 * 1.1 only, no request bodies without Content-Length.
 *
 * A complete request is handed to a handler thread; the pool grows up to
 * HTTPD_MAX_CONNS threads, one per request in flight, so a handler that
 * blocks (a long poll) never delays another request. While a request is
 * in flight its connection reads nothing more (pipelined bytes wait), so
 * replies leave in request order. The handler thread puts the finished
 * request on the ready list and wakes the service thread with
 * lws_cancel_service(); the service thread writes the reply, after
 * delay_ms on an lws timer, or closes for drop.
 *
 * Timeouts (opts.timeout_s, HTTPD_IDLE_TIMEOUT_S by default): a request
 * must arrive whole within that time of its first byte (bytes dribbled
 * in do not extend it), a keep-alive connection idle for as long and one
 * that accepts nothing of a reply for as long are closed; none applies
 * while a handler runs.
 *
 * Refusals (a malformed or oversized request, a timeout) are logged and
 * handed to opts.refused, so the production listener can count them.
 *
 * Stopping: the stop flag is raised (handlers poll httpd_stopping()),
 * the handler threads finish their requests and are joined while the
 * service thread still writes their replies (with Connection: close),
 * then the service thread is joined and the lws context destroyed, which
 * closes the listener and every connection.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "httpd.h"
#include "httpd_int.h"
#include "log.h"
#include "util.h"

#define HTTPD_IDLE_TIMEOUT_S	15
#define HTTPD_LINGER_US		(1000 * 1000)
#define HTTPD_WRITE_CHUNK	(64 * 1024)
#define HTTPD_DRAIN_MS		1000
#define HTTPD_MAX_STASH		(HTTPD_MAX_HEAD + 64 * 1024)

enum conn_state {
	CONN_READING,		/* feeding the parser */
	CONN_HANDLING,		/* a handler has the request */
	CONN_REPLYING,		/* writing a reply */
	CONN_REFUSING,		/* writing an error reply, then linger */
	CONN_CLOSING,		/* all written; close once lws flushed it */
	CONN_LINGER,		/* refused: discard input until EOF */
};

struct httpd_conn;

/* One request and its reply, owned by a handler thread while it runs. */
struct httpd_job {
	struct httpd_conn	*conn;		/* NULL once it closed */
	struct httpd_job	*next;		/* queue or ready list */
	int			 done;
	struct httpd_request	 r;
	char			*raw_path;
	char			*path;
	struct httpd_req	 req;
	struct httpd_resp	 resp;
};

struct httpd_conn {
	struct httpd		*httpd;
	struct lws		*wsi;
	enum conn_state		 state;
	char			 peer[64];
	int			 tls;

	struct httpd_parse	*parse;
	struct buf		 stash;		/* read while not parsing */
	struct httpd_job	*job;
	int			 unanswered;	/* counted in httpd's */
	int			 delaying;	/* the reply waits for the timer */
	int			 close_after;
	int			 req_started;	/* bytes of a request came */

	struct buf		 out;
	size_t			 out_off;
};

struct httpd {
	char			*name;
	httpd_handler		 handler;
	void			*arg;
	httpd_refused_fn	 refused;
	size_t			 max_body;
	int			 chunked;
	int			 timeout_s;
	int			 port;
	char			*address;
	struct httpd_cert	 cert;
	char			*key_pem;	/* given: wiped at free */
	int			 tls;

	struct lws_context	*ctx;
	pthread_t		 service;
	int			 service_started;
	atomic_int		 loop_exit;
	atomic_int		 stopping;
	int			 nconns;	/* service thread only */
	atomic_ullong		 accepted;	/* connections ever */
	int			 unanswered;	/* requests without a reply */
	pthread_cond_t		 answered;	/* unanswered fell to 0 */

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct httpd_job	*queue, **queue_tail;
	size_t			 nqueued;
	struct httpd_job	*ready;
	pthread_t		 workers[HTTPD_MAX_CONNS];
	size_t			 nworkers;
	size_t			 nidle;
	int			 workers_exit;
};

/* What lws keeps per connection: ours is allocated on first use. */
struct conn_slot {
	struct httpd_conn	*conn;
};

static int	 conn_feed(struct httpd_conn *, const char *, size_t);

int
httpd_port(const struct httpd *h)
{
	return (h->port);
}

unsigned long long
httpd_accepted(struct httpd *h)
{
	return (atomic_load(&h->accepted));
}

const char *
httpd_fingerprint(const struct httpd *h)
{
	return (h->tls ? h->cert.fingerprint : NULL);
}

const char *
httpd_cert_pem(const struct httpd *h)
{
	return (h->tls ? h->cert.cert_pem : NULL);
}

int
httpd_stopping(const struct httpd *h)
{
	return (atomic_load(&((struct httpd *)h)->stopping));
}

static void
job_free(struct httpd_job *job)
{
	if (job == NULL)
		return;
	httpd_parse_release_request(&job->r);
	free(job->raw_path);
	free(job->path);
	buf_release(&job->resp.headers_extra);
	buf_release(&job->resp.body);
	free(job);
}

/* The connection's request got its reply, or never will. */
static void
conn_settle(struct httpd_conn *c)
{
	struct httpd	*h = c->httpd;

	if (!c->unanswered)
		return;
	c->unanswered = 0;
	pthread_mutex_lock(&h->lock);
	if (--h->unanswered == 0)
		pthread_cond_broadcast(&h->answered);
	pthread_mutex_unlock(&h->lock);
}

/* Queues bytes to write and asks lws for a writable callback. */
static void
conn_queue_out(struct httpd_conn *c, const char *p, size_t len)
{
	buf_append(&c->out, p, len);
	lws_callback_on_writable(c->wsi);
}

/*
 * A short plain-text error reply; the connection closes after it (with a
 * linger on plain sockets, so a peer still sending a refused head or body
 * is not reset before it reads the reply).
 */
static void
conn_refuse(struct httpd_conn *c, int status, const char *why)
{
	struct httpd	*h = c->httpd;
	char		*msg;

	if (h->refused != NULL)
		h->refused(h->arg, c->peer, status, why);
	else
		log_debug(h->name, "refused peer=%s status=%d why=\"%s\"",
		    c->peer, status, why);
	msg = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n", status,
	    httpd_reason(status), strlen(why) + 1, why);
	c->state = CONN_REFUSING;
	buf_reset(&c->stash);
	conn_queue_out(c, msg, strlen(msg));
	free(msg);
	lws_rx_flow_control(c->wsi, 1);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT, h->timeout_s);
}

static void *
worker_main(void *arg)
{
	struct httpd		*h = arg;
	struct httpd_job	*job;
	int			 wake;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (h->queue == NULL && !h->workers_exit)
			pthread_cond_wait(&h->cond, &h->lock);
		if ((job = h->queue) == NULL)
			break;
		if ((h->queue = job->next) == NULL)
			h->queue_tail = &h->queue;
		h->nqueued--;
		h->nidle--;
		pthread_mutex_unlock(&h->lock);

		h->handler(h->arg, &job->req, &job->resp);

		pthread_mutex_lock(&h->lock);
		h->nidle++;
		job->done = 1;
		wake = 0;
		if (job->conn == NULL)
			job_free(job);
		else {
			job->next = h->ready;
			h->ready = job;
			wake = 1;
		}
		if (wake) {
			pthread_mutex_unlock(&h->lock);
			lws_cancel_service(h->ctx);
			pthread_mutex_lock(&h->lock);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return (NULL);
}

/* Starts a thread with the signals a daemon handles left to main. */
static int
thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t	block, old;
	int		e;

	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (e);
}

/* Queues a job for a handler thread; -1 when stopping or out of threads. */
static int
pool_submit(struct httpd *h, struct httpd_job *job)
{
	int	e;

	pthread_mutex_lock(&h->lock);
	if (h->workers_exit) {
		pthread_mutex_unlock(&h->lock);
		return (-1);
	}
	if (h->nqueued + 1 > h->nidle) {
		if (h->nworkers == nitems(h->workers)) {
			pthread_mutex_unlock(&h->lock);
			log_warn(h->name, "no handler thread left");
			return (-1);
		}
		e = thread_start(&h->workers[h->nworkers], worker_main, h);
		if (e != 0) {
			pthread_mutex_unlock(&h->lock);
			log_warn(h->name, "pthread_create: %s", strerror(e));
			return (-1);
		}
		h->nworkers++;
		h->nidle++;
	}
	job->next = NULL;
	*h->queue_tail = job;
	h->queue_tail = &job->next;
	h->nqueued++;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return (0);
}

/* Hands a complete request to a handler thread; -1 to close. */
static int
conn_dispatch(struct httpd_conn *c, struct httpd_request *r)
{
	struct httpd		*h = c->httpd;
	struct httpd_job	*job;
	char			*q;

	job = xcalloc(1, sizeof *job);
	job->conn = c;
	job->r = *r;
	memset(r, 0, sizeof *r);
	q = strchr(job->r.target, '?');
	job->raw_path = q != NULL ?
	    xstrndup(job->r.target, (size_t)(q - job->r.target)) :
	    xstrdup(job->r.target);
	job->path = httpd_url_decode(job->raw_path, strlen(job->raw_path), 0);
	if (job->path == NULL) {
		job_free(job);
		conn_refuse(c, 400, "malformed percent-escape in path");
		return (0);
	}
	job->req.method = job->r.method;
	job->req.path = job->path;
	job->req.raw_path = job->raw_path;
	job->req.query = q != NULL ? q + 1 : "";
	job->req.headers = job->r.headers;
	job->req.nheaders = job->r.nheaders;
	job->req.body = job->r.body;
	job->req.body_len = job->r.body_len;
	job->req.peer = c->peer;
	job->req.tls = c->tls;

	job->resp.status = 200;
	job->resp.content_type = "application/json;charset=UTF-8";
	buf_init(&job->resp.headers_extra, HTTPD_MAX_HEAD);
	buf_init(&job->resp.body, HTTPD_MAX_RESP_BODY);

	c->job = job;
	c->unanswered = 1;
	c->req_started = 0;
	pthread_mutex_lock(&h->lock);
	h->unanswered++;
	pthread_mutex_unlock(&h->lock);
	c->state = CONN_HANDLING;
	lws_rx_flow_control(c->wsi, 0);
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	if (pool_submit(h, job) != 0) {
		c->job = NULL;
		job_free(job);
		conn_settle(c);
		return (-1);
	}
	return (0);
}

/*
 * Parses bytes while the connection is reading; what arrives while a
 * request is in flight waits in the stash. Returns -1 to close at once.
 */
static int
conn_feed(struct httpd_conn *c, const char *data, size_t len)
{
	struct httpd_request	 r;
	const char		*why = NULL;
	size_t			 used;
	int			 status = 0, cont;

	/* The deadline of a request runs from its first byte. */
	if (len > 0 && c->state == CONN_READING && !c->req_started) {
		c->req_started = 1;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
		    c->httpd->timeout_s);
	}
	while (len > 0) {
		if (c->state != CONN_READING) {
			if (c->state == CONN_HANDLING ||
			    c->state == CONN_REPLYING) {
				if (c->stash.len + len > HTTPD_MAX_STASH)
					return (-1);
				buf_append(&c->stash, data, len);
			}
			return (0);
		}
		switch (httpd_parse_feed(c->parse, data, len, &used, &r,
		    &status, &why, &cont)) {
		case HTTPD_PARSE_MORE:
			break;
		case HTTPD_PARSE_DONE:
			if (conn_dispatch(c, &r) != 0)
				return (-1);
			break;
		case HTTPD_PARSE_REFUSE:
			conn_refuse(c, status, why);
			return (0);
		}
		if (cont)
			conn_queue_out(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		data += used;
		len -= used;
	}
	return (0);
}

/* Serialises the finished job's reply into c->out; -1 to drop. */
static int
conn_reply_build(struct httpd_conn *c)
{
	struct httpd		*h = c->httpd;
	struct httpd_job	*job = c->job;
	struct httpd_resp	*resp = &job->resp;
	struct buf		*out = &c->out;

	c->job = NULL;
	if (resp->drop) {
		log_debug(h->name, "dropping peer=%s path=%s", c->peer,
		    job->path);
		job_free(job);
		return (-1);
	}
	if (resp->body.truncated || resp->headers_extra.truncated) {
		job_free(job);
		conn_refuse(c, 500, "reply too large");
		return (0);
	}
	c->close_after = job->r.close_after || resp->close ||
	    atomic_load(&h->stopping);
	buf_printf(out, "HTTP/1.1 %d %s\r\n", resp->status,
	    resp->reason != NULL ? resp->reason : httpd_reason(resp->status));
	if (resp->content_type != NULL)
		buf_printf(out, "Content-Type: %s\r\n", resp->content_type);
	buf_printf(out, "Content-Length: %zu\r\n", resp->body.len);
	buf_printf(out, "Connection: %s\r\n",
	    c->close_after ? "close" : "keep-alive");
	buf_append(out, buf_cstr(&resp->headers_extra),
	    resp->headers_extra.len);
	buf_puts(out, "\r\n");
	if (!job->r.head_only)
		buf_append(out, buf_cstr(&resp->body), resp->body.len);
	job_free(job);
	return (0);
}

/* All of c->out went out: what comes next. Returns -1 to close. */
static int
conn_written(struct httpd_conn *c)
{
	struct buf	 pending;
	int		 rc;

	buf_reset(&c->out);
	c->out_off = 0;
	if (c->state == CONN_REPLYING || c->state == CONN_REFUSING)
		conn_settle(c);
	switch (c->state) {
	case CONN_REPLYING:
		if (c->close_after) {
			c->state = CONN_CLOSING;
			lws_callback_on_writable(c->wsi);
			return (0);
		}
		c->state = CONN_READING;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE,
		    c->httpd->timeout_s);
		lws_rx_flow_control(c->wsi, 1);
		pending = c->stash;
		buf_init(&c->stash, 0);
		rc = conn_feed(c, pending.data != NULL ? pending.data : "",
		    pending.len);
		buf_release(&pending);
		return (rc);
	case CONN_REFUSING:
		if (c->tls) {
			c->state = CONN_CLOSING;
			lws_callback_on_writable(c->wsi);
			return (0);
		}
		c->state = CONN_LINGER;
		(void)shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
		lws_set_timer_usecs(c->wsi, HTTPD_LINGER_US);
		return (0);
	default:
		return (0);
	}
}

static int
conn_writable(struct httpd_conn *c)
{
	unsigned char	 chunk[LWS_PRE + HTTPD_WRITE_CHUNK];
	size_t		 n;

	if (c->state == CONN_CLOSING)
		return (-1);
	if (c->state == CONN_REPLYING && c->job != NULL) {
		/* Only an earlier interim reply may go out during a delay. */
		if (!c->delaying && conn_reply_build(c) != 0)
			return (-1);
	}
	if (c->out_off < c->out.len) {
		n = c->out.len - c->out_off;
		if (n > HTTPD_WRITE_CHUNK)
			n = HTTPD_WRITE_CHUNK;
		memcpy(chunk + LWS_PRE, c->out.data + c->out_off, n);
		if (lws_write(c->wsi, chunk + LWS_PRE, n, LWS_WRITE_RAW) <
		    (int)n)
			return (-1);
		c->out_off += n;
		/* No timeout while a handler works (an interim reply). */
		if (c->state != CONN_HANDLING)
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
			    c->httpd->timeout_s);
		if (c->out_off < c->out.len) {
			lws_callback_on_writable(c->wsi);
			return (0);
		}
	}
	if (c->state == CONN_REPLYING && c->job != NULL) {
		/* An interim reply went out; the reply waits for its timer. */
		buf_reset(&c->out);
		c->out_off = 0;
		return (0);
	}
	return (conn_written(c));
}

/* The handler finished: write now, or after delay_ms. */
static void
conn_reply_ready(struct httpd_conn *c)
{
	c->state = CONN_REPLYING;
	if (c->job->resp.delay_ms > 0 && !atomic_load(&c->httpd->stopping)) {
		c->delaying = 1;
		lws_set_timer_usecs(c->wsi,
		    (lws_usec_t)c->job->resp.delay_ms * 1000);
	} else
		lws_callback_on_writable(c->wsi);
}

static struct httpd_conn *
conn_new(struct httpd *h, struct lws *wsi)
{
	struct httpd_conn	*c;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 slen = sizeof ss;
	char			 addr[INET6_ADDRSTRLEN];

	c = xcalloc(1, sizeof *c);
	c->httpd = h;
	c->wsi = wsi;
	c->state = CONN_READING;
	c->tls = h->tls;
	buf_init(&c->stash, 0);
	buf_init(&c->out, 0);
	c->parse = httpd_parse_new(h->max_body, h->chunked);
	snprintf(c->peer, sizeof c->peer, "?");
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss,
	    &slen) == 0) {
		if (ss.ss_family == AF_INET && inet_ntop(AF_INET,
		    &sin->sin_addr, addr, sizeof addr) != NULL)
			snprintf(c->peer, sizeof c->peer, "%s:%u", addr,
			    (unsigned)ntohs(sin->sin_port));
		else if (ss.ss_family == AF_INET6 && inet_ntop(AF_INET6,
		    &sin6->sin6_addr, addr, sizeof addr) != NULL)
			snprintf(c->peer, sizeof c->peer, "[%s]:%u", addr,
			    (unsigned)ntohs(sin6->sin6_port));
	}
	h->nconns++;
	atomic_fetch_add(&h->accepted, 1);
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE,
	    h->timeout_s);
	return (c);
}

static void
conn_free(struct httpd_conn *c)
{
	struct httpd		*h = c->httpd;
	struct httpd_job	**pp;

	pthread_mutex_lock(&h->lock);
	if (c->job != NULL) {
		if (!c->job->done)
			c->job->conn = NULL;	/* its thread frees it */
		else {
			for (pp = &h->ready; *pp != NULL; pp = &(*pp)->next) {
				if (*pp == c->job) {
					*pp = c->job->next;
					break;
				}
			}
			job_free(c->job);
		}
	}
	pthread_mutex_unlock(&h->lock);
	conn_settle(c);
	httpd_parse_free(c->parse);
	buf_release(&c->stash);
	buf_release(&c->out);
	h->nconns--;
	free(c);
}

/* Replies whose handlers finished; on the service thread. */
static void
take_ready(struct httpd *h)
{
	struct httpd_job	*job, *next;

	pthread_mutex_lock(&h->lock);
	job = h->ready;
	h->ready = NULL;
	pthread_mutex_unlock(&h->lock);
	for (; job != NULL; job = next) {
		next = job->next;
		conn_reply_ready(job->conn);
	}
}

static int
httpd_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct httpd		*h = lws_context_user(lws_get_context(wsi));
	struct conn_slot	*slot = NULL;
	struct httpd_conn	*c = NULL;

	if (h == NULL)
		return (0);
	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
	case LWS_CALLBACK_RAW_RX:
	case LWS_CALLBACK_RAW_WRITEABLE:
	case LWS_CALLBACK_RAW_CLOSE:
	case LWS_CALLBACK_TIMER:
		/* Only these carry our per-connection slot as `user`. */
		if ((slot = user) != NULL)
			c = slot->conn;
		break;
	default:
		break;
	}
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		if (h->nconns >= HTTPD_MAX_CONNS) {
			log_warn(h->name, "too many connections, closing one");
			return (-1);
		}
		if (atomic_load(&h->stopping))
			return (-1);
		break;
	case LWS_CALLBACK_RAW_ADOPT:
		if (slot != NULL && c == NULL)
			slot->conn = conn_new(h, wsi);
		break;
	case LWS_CALLBACK_RAW_RX:
		if (c == NULL)
			return (-1);
		return (conn_feed(c, in, len));
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (c == NULL)
			return (-1);
		return (conn_writable(c));
	case LWS_CALLBACK_TIMER:
		if (c == NULL || c->state == CONN_LINGER)
			return (-1);
		if (c->state == CONN_REPLYING && c->delaying) {
			c->delaying = 0;
			lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_RAW_CLOSE:
		if (c != NULL) {
			slot->conn = NULL;
			conn_free(c);
		}
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		take_ready(h);
		break;
	default:
		break;
	}
	return (0);
}

static const struct lws_protocols httpd_protocols[] = {
	{ "pvebot-httpd", httpd_callback, sizeof(struct conn_slot), 0, 0,
	    NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void *
service_main(void *arg)
{
	struct httpd	*h = arg;

	while (!atomic_load(&h->loop_exit))
		lws_service(h->ctx, 0);
	return (NULL);
}

/* libwebsockets' own errors (it is told to report no others). */
static void
httpd_lws_log(int level, const char *line)
{
	size_t	len = strlen(line);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	log_warn("httpd", "libwebsockets: %.*s", (int)len, line);
}

static void
httpd_free(struct httpd *h)
{
	struct httpd_job	*job;

	if (h->ctx != NULL)
		lws_context_destroy(h->ctx);
	while ((job = h->ready) != NULL) {
		h->ready = job->next;
		job_free(job);
	}
	httpd_cert_release(&h->cert);
	if (h->key_pem != NULL) {
		explicit_bzero(h->key_pem, strlen(h->key_pem));
		free(h->key_pem);
	}
	free(h->address);
	pthread_cond_destroy(&h->cond);
	pthread_cond_destroy(&h->answered);
	pthread_mutex_destroy(&h->lock);
	free(h->name);
	free(h);
}

struct httpd *
httpd_start(const struct httpd_opts *opts, char **cause)
{
	struct lws_context_creation_info	 info;
	struct lws_vhost			*vh;
	struct httpd				*h;
	int					 e;

	if (opts->handler == NULL) {
		set_cause(cause, "httpd: no handler");
		return (NULL);
	}
	if (opts->port < 0 || opts->port > 65535) {
		set_cause(cause, "httpd: port %d out of range", opts->port);
		return (NULL);
	}
	h = xcalloc(1, sizeof *h);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	pthread_cond_init(&h->answered, NULL);
	h->queue_tail = &h->queue;
	atomic_init(&h->stopping, 0);
	atomic_init(&h->loop_exit, 0);
	h->name = xstrdup(opts->name != NULL ? opts->name : "httpd");
	h->handler = opts->handler;
	h->arg = opts->arg;
	h->refused = opts->refused;
	h->max_body = opts->max_body != 0 ? opts->max_body : HTTPD_MAX_BODY;
	h->chunked = opts->chunked;
	h->timeout_s = opts->timeout_s > 0 ? opts->timeout_s :
	    HTTPD_IDLE_TIMEOUT_S;
	h->address = xstrdup(opts->address != NULL ? opts->address :
	    "127.0.0.1");

	lws_set_log_level(LLL_ERR, httpd_lws_log);
	memset(&info, 0, sizeof info);
	info.port = opts->port;
	info.iface = h->address;
	info.protocols = httpd_protocols;
	info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
	if (strchr(h->address, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.listen_accept_role = "raw-skt";
	info.listen_accept_protocol = httpd_protocols[0].name;
	info.user = h;
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = (unsigned int)h->timeout_s;
	info.fd_limit_per_thread = 2 * HTTPD_MAX_CONNS + 16;
	if (opts->cert_pem != NULL && opts->key_pem != NULL) {
		/* Checked here: libwebsockets would only say it failed. */
		if (httpd_cert_check(opts->cert_pem, opts->key_pem, cause) !=
		    0)
			goto fail;
		h->tls = 1;
		h->cert.cert_pem = xstrdup(opts->cert_pem);
		h->key_pem = xstrdup(opts->key_pem);
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.server_ssl_cert_mem = h->cert.cert_pem;
		info.server_ssl_cert_mem_len = strlen(h->cert.cert_pem);
		info.server_ssl_private_key_mem = h->key_pem;
		info.server_ssl_private_key_mem_len = strlen(h->key_pem);
		info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
		info.alpn = "http/1.1";
	} else if (opts->tls) {
		if (httpd_cert_generate(&h->cert, cause) != 0)
			goto fail;
		h->tls = 1;
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.server_ssl_cert_mem = h->cert.cert_pem;
		info.server_ssl_cert_mem_len = strlen(h->cert.cert_pem);
		info.server_ssl_private_key_mem = h->cert.key_pem;
		info.server_ssl_private_key_mem_len = strlen(h->cert.key_pem);
		info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
		info.alpn = "http/1.1";
	}
	h->ctx = lws_create_context(&info);
	if (h->ctx == NULL) {
		set_cause(cause, "cannot listen on %s:%d", h->address,
		    opts->port);
		goto fail;
	}
	vh = lws_get_vhost_by_name(h->ctx, "default");
	h->port = vh != NULL ? lws_get_vhost_listen_port(vh) : 0;
	if (h->port <= 0) {
		set_cause(cause, "cannot listen on %s:%d", h->address,
		    opts->port);
		goto fail;
	}
	e = thread_start(&h->service, service_main, h);
	if (e != 0) {
		set_cause(cause, "httpd: pthread_create: %s", strerror(e));
		goto fail;
	}
	h->service_started = 1;
	log_debug(h->name, "listening address=%s port=%d tls=%d", h->address,
	    h->port, h->tls);
	return (h);
fail:
	httpd_free(h);
	return (NULL);
}

void
httpd_stop(struct httpd *h)
{
	struct timespec	until;
	size_t		i;

	if (h == NULL)
		return;
	atomic_store(&h->stopping, 1);
	pthread_mutex_lock(&h->lock);
	h->workers_exit = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	for (i = 0; i < h->nworkers; i++)
		pthread_join(h->workers[i], NULL);
	/* Let the service thread write the replies of those handlers. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HTTPD_DRAIN_MS / 1000;
	pthread_mutex_lock(&h->lock);
	while (h->unanswered > 0 &&
	    pthread_cond_timedwait(&h->answered, &h->lock, &until) == 0)
		;
	pthread_mutex_unlock(&h->lock);
	atomic_store(&h->loop_exit, 1);
	lws_cancel_service(h->ctx);
	if (h->service_started)
		pthread_join(h->service, NULL);
	httpd_free(h);
}
