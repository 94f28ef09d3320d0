/*
 * fake_discord.c - the fake Discord of fake_discord.h: a REST server (on
 * tests' httpd, include/httpd.h) and a Gateway server (libwebsockets, on
 * its own thread), both bound to 127.0.0.1. All state sits under one
 * mutex; the test thread changes it and wakes the libwebsockets loop with
 * lws_cancel_service().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "fake_discord.h"
#include "httpd.h"
#include "t.h"
#include "util.h"

#define FD_EPOCH_MS	1420070400000LL
#define FD_MAX_RULES	16

struct fd_out {
	struct fd_out	*next;
	size_t		 len;
	unsigned char	 data[];	/* LWS_PRE, then the payload */
};

/* The request target Discord documents: the gateway URL's root. */
#define FD_GATEWAY_TARGET	"/?v=10&encoding=json"

/* A TCP connection accepted and checked, waiting to be adopted by lws. */
struct fd_pending {
	struct fd_pending *next;
	int		 sock;
	int		 resume;	/* came in on the resume URL's port */
	char		*target;	/* the request line's, verbatim */
};

struct fd_conn {
	struct fd_conn	*next;		/* all, for freeing */
	struct lws	*wsi;
	int		 n;
	char		*path;
	int		 resume;
	struct fd_out	*outq, **outq_tail;
	int		 close_code;
	int		 drop;
	int		 live;
	int64_t		 at_ms;		/* when it was accepted */
	struct buf	 rx;
};

struct fd_hist {
	int64_t	 seq;
	char	*json;
};

struct fd_rule {
	char	*method;
	char	*prefix;
	double	 retry_after;	/* forced 429 */
	int	 global;
	int	 count;
	int	 limit;		/* bucket */
	int	 window_ms;
	int	 used;
	int64_t	 window_start;
	int	 is_bucket;
	int	 fail_status;	/* answer this status instead */
};

struct fd_interaction {
	char	*id;
	char	*token;
	int	 type;		/* 2 command, 3 component */
	char	*channel;
	int64_t	 created_ms;
	int	 cb_type;	/* 0 = not yet */
	int64_t	 cb_delay;
	char	*original;	/* message id of the response */
};

struct fd_msg {
	char	*id;
	char	*channel;
	json_t	*obj;
};

struct fake_discord {
	pthread_mutex_t		 lock;
	char			*token;
	int			 heartbeat_ms;
	int			 inter_window_ms;	/* 3 s, as Discord */
	char			 api_url[64];
	int			 ws_port, resume_port;
	int			 ws_fd, resume_fd;
	struct httpd		*httpd;		/* REST */
	atomic_int		 stop;
	pthread_t		 ws_thread, accept_thread;
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;

	/* Accepted, target checked, not adopted yet / adopted by socket. */
	struct fd_pending	*adopt, *adopted;
	char			*refused_target;
	int			 nrefused;
	char			*url_tail;	/* after the gateway's port */

	/* Gateway. */
	struct fd_conn		*conns, *cur;
	int			 nconns;
	int			 withhold;
	int			 disallow;
	char			*session_id;
	int64_t			 seq;
	struct fd_hist		*hist;
	size_t			 nhist;
	struct fake_frame	*frames;
	size_t			 nframes;
	int64_t			 last_sent[16];
	int			 nsessions;
	int			 refuse;	/* drop this many new ones */

	/* REST. */
	struct fake_call	*calls;
	size_t			 ncalls;
	struct fd_rule		 rules[FD_MAX_RULES];
	size_t			 nrules;
	struct fd_interaction	*inters;
	size_t			 ninters;
	struct fd_msg		*msgs;
	size_t			 nmsgs;
	int64_t			 global_window;
	int			 global_used;
	int			 n429, n429_global;
};

static atomic_uint_fast64_t	 fd_counter;

char *
fake_discord_snowflake(void)
{
	uint64_t	 v;

	v = ((uint64_t)(wall_now_ms() - FD_EPOCH_MS) << 22) |
	    (atomic_fetch_add(&fd_counter, 1) & 0x3fffff);
	return xasprintf("%llu", (unsigned long long)v);
}

void
fake_call_release(struct fake_call *c)
{
	free(c->method);
	free(c->path);
	free(c->auth);
	free(c->user_agent);
	free(c->body);
	free(c->reply);
	memset(c, 0, sizeof *c);
}

void
fake_frame_release(struct fake_frame *f)
{
	free(f->json);
	memset(f, 0, sizeof *f);
}

/* ---- gateway ------------------------------------------------------- */

/* Queues a payload on a connection; lock held. */
static void
fd_queue(struct fake_discord *fd, struct fd_conn *c, json_t *payload)
{
	struct fd_out	*o;
	char		*text = json_dumps(payload, JSON_COMPACT);
	int		 op = (int)json_integer_value(
			    json_object_get(payload, "op"));
	size_t		 len = strlen(text);

	json_decref(payload);
	if (op >= 0 && op < 16)
		fd->last_sent[op] = now_ms();
	o = xmalloc(sizeof *o + LWS_PRE + len);
	o->next = NULL;
	o->len = len;
	memcpy(o->data + LWS_PRE, text, len);
	free(text);
	*c->outq_tail = o;
	c->outq_tail = &o->next;
}

static void
fd_queue_text(struct fd_conn *c, const char *text)
{
	struct fd_out	*o;
	size_t		 len = strlen(text);

	o = xmalloc(sizeof *o + LWS_PRE + len);
	o->next = NULL;
	o->len = len;
	memcpy(o->data + LWS_PRE, text, len);
	*c->outq_tail = o;
	c->outq_tail = &o->next;
}

static void
fd_wake(struct fake_discord *fd)
{
	if (fd->ctx != NULL)
		lws_cancel_service(fd->ctx);
}

/* A dispatch in the session history, sent when live; lock held. */
static int64_t
fd_dispatch_locked(struct fake_discord *fd, const char *type, json_t *d)
{
	json_t	*p;
	char	*text;

	p = json_pack("{s:i, s:I, s:s, s:o}", "op", 0, "s",
	    (json_int_t)++fd->seq, "t", type, "d", d);
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	fd->hist = xreallocarray(fd->hist, fd->nhist + 1, sizeof *fd->hist);
	fd->hist[fd->nhist].seq = fd->seq;
	fd->hist[fd->nhist].json = text;
	fd->nhist++;
	fd->last_sent[0] = now_ms();
	if (fd->cur != NULL && fd->cur->wsi != NULL && fd->cur->live)
		fd_queue_text(fd->cur, text);
	return fd->seq;
}

static void
fd_hist_clear(struct fake_discord *fd)
{
	size_t	 i;

	for (i = 0; i < fd->nhist; i++)
		free(fd->hist[i].json);
	free(fd->hist);
	fd->hist = NULL;
	fd->nhist = 0;
}

static void
fd_on_client_frame(struct fake_discord *fd, struct fd_conn *c,
    const char *text, size_t len)
{
	json_t		*p = json_loadb(text, len, 0, NULL), *d;
	int		 op;
	const char	*tok, *sid;
	int64_t		 seq;
	size_t		 i;

	if (p == NULL || !json_is_integer(json_object_get(p, "op"))) {
		c->close_code = 4002;	/* Decode error */
		json_decref(p);
		return;
	}
	op = (int)json_integer_value(json_object_get(p, "op"));
	d = json_object_get(p, "d");
	fd->frames = xreallocarray(fd->frames, fd->nframes + 1,
	    sizeof *fd->frames);
	fd->frames[fd->nframes].at_ms = now_ms();
	fd->frames[fd->nframes].conn = c->n;
	fd->frames[fd->nframes].op = op;
	fd->frames[fd->nframes].json = xstrndup(text, len);
	fd->nframes++;
	switch (op) {
	case 1:
		if (!fd->withhold)
			fd_queue(fd, c, json_pack("{s:i}", "op", 11));
		break;
	case 2:
		tok = json_string_value(json_object_get(d, "token"));
		if (tok == NULL || strcmp(tok, fd->token) != 0) {
			c->close_code = 4004;
			break;
		}
		if (fd->disallow && (json_integer_value(json_object_get(d,
		    "intents")) & (1 << 15))) {
			c->close_code = 4014;
			break;
		}
		free(fd->session_id);
		fd->session_id = xasprintf("fakesession%d", ++fd->nsessions);
		fd->seq = 0;
		fd_hist_clear(fd);
		c->live = 1;
		fd->cur = c;
		{
			/* Like Discord's: a host without a path. */
			char	*url = xasprintf("ws://127.0.0.1:%d",
			    fd->resume_port);

			fd_dispatch_locked(fd, "READY", json_pack("{s:i, "
			    "s:{s:s, s:s, s:b}, s:[{s:s, s:b}], s:s, s:s, "
			    "s:{s:s, s:i}}", "v", 10, "user", "id",
			    FAKE_DISCORD_BOT_ID, "username", "pvebot", "bot", 1,
			    "guilds", "id", "500000000000000001",
			    "unavailable", 1, "session_id", fd->session_id,
			    "resume_gateway_url", url, "application", "id",
			    FAKE_DISCORD_APP_ID, "flags", 0));
			free(url);
		}
		break;
	case 6:
		tok = json_string_value(json_object_get(d, "token"));
		sid = json_string_value(json_object_get(d, "session_id"));
		seq = json_integer_value(json_object_get(d, "seq"));
		if (tok == NULL || strcmp(tok, fd->token) != 0) {
			c->close_code = 4004;
			break;
		}
		if (sid == NULL || fd->session_id == NULL ||
		    strcmp(sid, fd->session_id) != 0 || seq > fd->seq) {
			fd_queue(fd, c, json_pack("{s:i, s:b}", "op", 9, "d",
			    0));
			break;
		}
		for (i = 0; i < fd->nhist; i++)
			if (fd->hist[i].seq > seq)
				fd_queue_text(c, fd->hist[i].json);
		c->live = 1;
		fd->cur = c;
		fd_dispatch_locked(fd, "RESUMED", json_object());
		break;
	default:
		break;
	}
	json_decref(p);
}

static int
fd_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct fake_discord	*fd = lws_context_user(lws_get_context(wsi));
	struct fd_conn		**pc = user, *c;
	struct fd_out		*o;
	struct fd_pending	*todo, *a, **pp;
	char			 uri[256], arg[256];
	struct buf		 path;
	int			 i, rc = 0;

	if (fd == NULL)
		return 0;
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		/* Adopt what the accept thread checked (lock not held:
		 * adoption calls back into here). */
		pthread_mutex_lock(&fd->lock);
		todo = fd->adopt;
		fd->adopt = NULL;
		pthread_mutex_unlock(&fd->lock);
		while ((a = todo) != NULL) {
			todo = a->next;
			pthread_mutex_lock(&fd->lock);
			a->next = fd->adopted;
			fd->adopted = a;
			pthread_mutex_unlock(&fd->lock);
			if (lws_adopt_socket_vhost(fd->vhost, a->sock) == NULL)
				close(a->sock);
		}
	}
	pthread_mutex_lock(&fd->lock);
	c = pc != NULL ? *pc : NULL;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		c = xcalloc(1, sizeof *c);
		c->wsi = wsi;
		c->n = ++fd->nconns;
		c->at_ms = now_ms();
		c->outq_tail = &c->outq;
		buf_init(&c->rx, 8 * 1024 * 1024);
		/* The target as the client sent it (lws normalises "//"). */
		for (pp = &fd->adopted; *pp != NULL; pp = &(*pp)->next) {
			if ((*pp)->sock == lws_get_socket_fd(wsi))
				break;
		}
		if (*pp != NULL) {
			a = *pp;
			*pp = a->next;
			c->path = a->target;
			c->resume = a->resume;
			free(a);
		} else {
			buf_init(&path, 0);
			if (lws_hdr_copy(wsi, uri, sizeof uri,
			    WSI_TOKEN_GET_URI) < 0)
				uri[0] = '\0';
			buf_puts(&path, uri);
			for (i = 0; lws_hdr_copy_fragment(wsi, arg, sizeof arg,
			    WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
				buf_printf(&path, "%s%s", i == 0 ? "?" : "&",
				    arg);
			c->path = buf_steal(&path);
		}
		c->next = fd->conns;
		fd->conns = c;
		fd->cur = c;
		*pc = c;
		if (fd->refuse > 0) {
			fd->refuse--;
			c->drop = 1;
		} else if (strstr(c->path, "v=10") == NULL ||
		    strstr(c->path, "encoding=json") == NULL)
			c->close_code = 4012;	/* Invalid API version */
		else
			fd_queue(fd, c, json_pack("{s:i, s:n, s:{s:i}}", "op",
			    10, "s", "d", "heartbeat_interval",
			    fd->heartbeat_ms));
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_RECEIVE:
		if (c == NULL)
			break;
		if (buf_append(&c->rx, in, len) != 0) {
			c->close_code = 4002;
		} else if (lws_is_final_fragment(wsi) &&
		    lws_remaining_packet_payload(wsi) == 0) {
			fd_on_client_frame(fd, c, buf_cstr(&c->rx), c->rx.len);
			buf_reset(&c->rx);
		}
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (c == NULL)
			break;
		if (c->drop) {
			shutdown(lws_get_socket_fd(wsi), SHUT_RDWR);
			rc = -1;
			break;
		}
		if ((o = c->outq) != NULL) {
			c->outq = o->next;
			if (c->outq == NULL)
				c->outq_tail = &c->outq;
			if (lws_write(wsi, o->data + LWS_PRE, o->len,
			    LWS_WRITE_TEXT) < (int)o->len)
				rc = -1;
			free(o);
			if (c->outq != NULL || c->close_code != 0)
				lws_callback_on_writable(wsi);
			break;
		}
		if (c->close_code != 0) {
			lws_close_reason(wsi, (enum lws_close_status)
			    c->close_code, (unsigned char *)"fake", 4);
			rc = -1;
		}
		break;
	case LWS_CALLBACK_CLOSED:
		if (c != NULL) {
			c->wsi = NULL;
			c->live = 0;
		}
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		for (c = fd->conns; c != NULL; c = c->next)
			if (c->wsi != NULL && (c->outq != NULL ||
			    c->close_code != 0 || c->drop))
				lws_callback_on_writable(c->wsi);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&fd->lock);
	return rc;
}

static const struct lws_protocols fd_protocols[] = {
	{ "fake-discord-gateway", fd_ws_callback, sizeof(struct fd_conn *),
	    65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void *
fd_ws_thread(void *arg)
{
	struct fake_discord	*fd = arg;

	while (!atomic_load(&fd->stop))
		lws_service(fd->ctx, 0);
	return NULL;
}

/*
 * Reads (without consuming) the request line of a new gateway
 * connection; the target, or NULL when none came within 2 s.
 */
static char *
fd_peek_target(int sock)
{
	char		 head[4096];
	const char	*sp, *end;
	int64_t		 deadline = now_ms() + 2000;
	ssize_t		 n;
	struct pollfd	 pfd = { sock, POLLIN, 0 };

	while (now_ms() < deadline) {
		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			return NULL;
		n = recv(sock, head, sizeof head - 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0)
			return NULL;
		if (n < 0)
			continue;
		head[n] = '\0';
		if ((end = strstr(head, "\r\n")) == NULL) {
			if ((size_t)n == sizeof head - 1)
				return NULL;
			sleep_ms(5);
			continue;
		}
		if (strncmp(head, "GET ", 4) != 0 ||
		    (sp = memchr(head + 4, ' ', (size_t)(end - head - 4))) ==
		    NULL)
			return xstrdup("");
		return xstrndup(head + 4, (size_t)(sp - head - 4));
	}
	return NULL;
}

/*
 * Accepts gateway connections on the gateway and resume ports, checks
 * the request target as sent (Discord documents the URL from GET
 * /gateway/bot with "/?v=10&encoding=json" appended: api-specs'
 * discord-gateway.json, "Connecting"), answers anything else 404, and
 * hands the good ones to lws.
 */
static void *
fd_accept_thread(void *arg)
{
	static const char	 refuse[] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct fake_discord	*fd = arg;
	struct pollfd		 pfd[2];
	struct fd_pending	*a;
	char			*target;
	int			 i, sock;

	pfd[0].fd = fd->ws_fd;
	pfd[1].fd = fd->resume_fd;
	while (!atomic_load(&fd->stop)) {
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN) ||
			    (sock = accept(pfd[i].fd, NULL, NULL)) < 0)
				continue;
			if ((target = fd_peek_target(sock)) == NULL) {
				close(sock);
				continue;
			}
			if (strcmp(target, FD_GATEWAY_TARGET) != 0) {
				pthread_mutex_lock(&fd->lock);
				free(fd->refused_target);
				fd->refused_target = target;
				fd->nrefused++;
				pthread_mutex_unlock(&fd->lock);
				if (write(sock, refuse, sizeof refuse - 1) < 0)
					(void)0;
				close(sock);
				continue;
			}
			a = xcalloc(1, sizeof *a);
			a->sock = sock;
			a->resume = i == 1;
			a->target = target;
			pthread_mutex_lock(&fd->lock);
			a->next = fd->adopt;
			fd->adopt = a;
			pthread_mutex_unlock(&fd->lock);
			lws_cancel_service(fd->ctx);
		}
	}
	return NULL;
}

void
fake_discord_interaction_window(struct fake_discord *fd, int ms)
{
	pthread_mutex_lock(&fd->lock);
	fd->inter_window_ms = ms;
	pthread_mutex_unlock(&fd->lock);
}

void
fake_discord_withhold_acks(struct fake_discord *fd, int on)
{
	pthread_mutex_lock(&fd->lock);
	fd->withhold = on;
	pthread_mutex_unlock(&fd->lock);
}

void
fake_discord_disallow_intents(struct fake_discord *fd, int on)
{
	pthread_mutex_lock(&fd->lock);
	fd->disallow = on;
	pthread_mutex_unlock(&fd->lock);
}

int64_t
fake_discord_dispatch(struct fake_discord *fd, const char *type, json_t *d)
{
	int64_t	 seq;

	pthread_mutex_lock(&fd->lock);
	seq = fd_dispatch_locked(fd, type, d);
	pthread_mutex_unlock(&fd->lock);
	fd_wake(fd);
	return seq;
}

int64_t
fake_discord_dispatch_broken(struct fake_discord *fd, const char *type)
{
	char	*text;
	int64_t	 seq;

	pthread_mutex_lock(&fd->lock);
	seq = ++fd->seq;
	/* Cut short: not JSON at all. */
	text = xasprintf("{\"op\":0,\"s\":%lld,\"t\":\"%s\",\"d\":"
	    "{\"content\":\"cut", (long long)seq, type);
	fd->hist = xreallocarray(fd->hist, fd->nhist + 1, sizeof *fd->hist);
	fd->hist[fd->nhist].seq = seq;
	fd->hist[fd->nhist].json = text;
	fd->nhist++;
	fd->last_sent[0] = now_ms();
	if (fd->cur != NULL && fd->cur->wsi != NULL && fd->cur->live)
		fd_queue_text(fd->cur, text);
	pthread_mutex_unlock(&fd->lock);
	fd_wake(fd);
	return seq;
}

void
fake_discord_send_op(struct fake_discord *fd, int op, json_t *d)
{
	pthread_mutex_lock(&fd->lock);
	if (fd->cur != NULL && fd->cur->wsi != NULL)
		fd_queue(fd, fd->cur, json_pack("{s:i, s:o}", "op", op, "d",
		    d != NULL ? d : json_null()));
	else
		json_decref(d);
	pthread_mutex_unlock(&fd->lock);
	fd_wake(fd);
}

void
fake_discord_close(struct fake_discord *fd, int code)
{
	pthread_mutex_lock(&fd->lock);
	if (fd->cur != NULL && fd->cur->wsi != NULL) {
		fd->cur->live = 0;
		if (code == 0)
			fd->cur->drop = 1;
		else
			fd->cur->close_code = code;
	}
	pthread_mutex_unlock(&fd->lock);
	fd_wake(fd);
}

void
fake_discord_refuse(struct fake_discord *fd, int n)
{
	pthread_mutex_lock(&fd->lock);
	fd->refuse = n;
	pthread_mutex_unlock(&fd->lock);
}

int64_t
fake_discord_conn_time(struct fake_discord *fd, int n)
{
	struct fd_conn	*c;
	int64_t		 t = 0;

	pthread_mutex_lock(&fd->lock);
	for (c = fd->conns; c != NULL; c = c->next)
		if (c->n == n)
			t = c->at_ms;
	pthread_mutex_unlock(&fd->lock);
	return t;
}

int
fake_discord_connections(struct fake_discord *fd)
{
	int	 n;

	pthread_mutex_lock(&fd->lock);
	n = fd->nconns;
	pthread_mutex_unlock(&fd->lock);
	return n;
}

int
fake_discord_conn_resume(struct fake_discord *fd, int n)
{
	struct fd_conn	*c;
	int		 resume = -1;

	pthread_mutex_lock(&fd->lock);
	for (c = fd->conns; c != NULL; c = c->next)
		if (c->n == n)
			resume = c->resume;
	pthread_mutex_unlock(&fd->lock);
	return resume;
}

int
fake_discord_refused(struct fake_discord *fd, char **target)
{
	int	 n;

	pthread_mutex_lock(&fd->lock);
	n = fd->nrefused;
	if (target != NULL)
		*target = fd->refused_target != NULL ?
		    xstrdup(fd->refused_target) : NULL;
	pthread_mutex_unlock(&fd->lock);
	return n;
}

char *
fake_discord_conn_path(struct fake_discord *fd, int n)
{
	struct fd_conn	*c;
	char		*s = NULL;

	pthread_mutex_lock(&fd->lock);
	for (c = fd->conns; c != NULL; c = c->next)
		if (c->n == n)
			s = xstrdup(c->path);
	pthread_mutex_unlock(&fd->lock);
	return s;
}

int
fake_discord_wait_live(struct fake_discord *fd, int n, int timeout_ms)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	struct fd_conn	*c;
	int		 live;

	do {
		live = 0;
		pthread_mutex_lock(&fd->lock);
		for (c = fd->conns; c != NULL; c = c->next)
			if (c->n == n && c->live && c->wsi != NULL &&
			    c->outq == NULL)
				live = 1;
		pthread_mutex_unlock(&fd->lock);
		if (live)
			return 0;
		sleep_ms(5);
	} while (now_ms() < deadline);
	return -1;
}

int
fake_discord_wait_frame(struct fake_discord *fd, int op, int nth,
    int timeout_ms, struct fake_frame *out)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	size_t	 i;
	int	 seen;

	do {
		pthread_mutex_lock(&fd->lock);
		for (i = 0, seen = 0; i < fd->nframes; i++) {
			if (fd->frames[i].op != op || ++seen != nth)
				continue;
			if (out != NULL) {
				*out = fd->frames[i];
				out->json = xstrdup(fd->frames[i].json);
			}
			pthread_mutex_unlock(&fd->lock);
			return 0;
		}
		pthread_mutex_unlock(&fd->lock);
		sleep_ms(5);
	} while (now_ms() < deadline);
	return -1;
}

int
fake_discord_count_frames(struct fake_discord *fd, int op)
{
	size_t	 i;
	int	 n = 0;

	pthread_mutex_lock(&fd->lock);
	for (i = 0; i < fd->nframes; i++)
		if (fd->frames[i].op == op)
			n++;
	pthread_mutex_unlock(&fd->lock);
	return n;
}

int64_t
fake_discord_last_sent(struct fake_discord *fd, int op)
{
	int64_t	 t = 0;

	pthread_mutex_lock(&fd->lock);
	if (op >= 0 && op < 16)
		t = fd->last_sent[op];
	pthread_mutex_unlock(&fd->lock);
	return t;
}

int64_t
fake_discord_seq(struct fake_discord *fd)
{
	int64_t	 s;

	pthread_mutex_lock(&fd->lock);
	s = fd->seq;
	pthread_mutex_unlock(&fd->lock);
	return s;
}

/* ---- payload builders ---------------------------------------------- */

static char *
fd_iso_now(void)
{
	int64_t		 ms = wall_now_ms();
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;
	char		 s[40];

	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%03d000+00:00", s, (int)(ms % 1000));
}

static json_t *
fd_user(const char *id, int bot)
{
	char	*name = xasprintf("user%s", id + strlen(id) - 3);
	json_t	*u = json_pack("{s:s, s:s, s:s, s:n, s:b}", "id", id,
		    "username", name, "discriminator", "0", "global_name",
		    "bot", bot);

	free(name);
	return u;
}

json_t *
fake_discord_message(const char *channel, const char *guild,
    const char *author, int bot, const char *content)
{
	char	*id = fake_discord_snowflake(), *ts = fd_iso_now();
	json_t	*m;

	m = json_pack("{s:s, s:s, s:o, s:s, s:s, s:n, s:b, s:b, s:i, "
	    "s:[], s:[], s:[], s:[]}", "id", id, "channel_id", channel,
	    "author", fd_user(author, bot), "content", content, "timestamp",
	    ts, "edited_timestamp", "tts", 0, "mention_everyone", 0, "type", 0,
	    "mentions", "mention_roles", "attachments", "embeds");
	if (guild != NULL) {
		json_object_set_new(m, "guild_id", json_string(guild));
		json_object_set_new(m, "member", json_pack("{s:n, s:[]}",
		    "nick", "roles"));
	}
	free(id);
	free(ts);
	return m;
}

static json_t *
fd_interaction(int type, const char *channel, const char *guild,
    const char *user)
{
	char	*id = fake_discord_snowflake();
	char	*token = xasprintf("aW50ZXJhY3Rpb246%s:tok", id);
	json_t	*i;

	i = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:s}", "id", id,
	    "application_id", FAKE_DISCORD_APP_ID, "type", type, "token",
	    token, "channel_id", channel, "version", 1, "locale", "en-US");
	if (guild != NULL) {
		json_object_set_new(i, "guild_id", json_string(guild));
		json_object_set_new(i, "member", json_pack("{s:o, s:[], "
		    "s:s}", "user", fd_user(user, 0), "roles", "permissions",
		    "2048"));
	} else
		json_object_set_new(i, "user", fd_user(user, 0));
	free(id);
	free(token);
	return i;
}

json_t *
fake_discord_slash(const char *channel, const char *guild, const char *user,
    const char *name, json_t *options)
{
	json_t	*i = fd_interaction(2, channel, guild, user);
	char	*cid = fake_discord_snowflake();

	json_object_set_new(i, "data", json_pack("{s:s, s:s, s:i, s:o}",
	    "id", cid, "name", name, "type", 1, "options",
	    options != NULL ? options : json_array()));
	free(cid);
	return i;
}

json_t *
fake_discord_press(const char *channel, const char *guild, const char *user,
    const char *message_id, const char *custom_id)
{
	json_t	*i = fd_interaction(3, channel, guild, user);

	json_object_set_new(i, "data", json_pack("{s:s, s:i}", "custom_id",
	    custom_id, "component_type", 2));
	json_object_set_new(i, "message", json_pack("{s:s, s:s}", "id",
	    message_id, "channel_id", channel));
	return i;
}

int64_t
fake_discord_interaction(struct fake_discord *fd, json_t *d, char **id)
{
	struct fd_interaction	*it;
	int64_t			 seq;

	pthread_mutex_lock(&fd->lock);
	fd->inters = xreallocarray(fd->inters, fd->ninters + 1,
	    sizeof *fd->inters);
	it = &fd->inters[fd->ninters++];
	memset(it, 0, sizeof *it);
	it->id = xstrdup(json_string_value(json_object_get(d, "id")));
	it->token = xstrdup(json_string_value(json_object_get(d, "token")));
	it->type = (int)json_integer_value(json_object_get(d, "type"));
	it->channel = xstrdup(json_string_value(json_object_get(d,
	    "channel_id")));
	it->created_ms = now_ms();
	if (id != NULL)
		*id = xstrdup(it->id);
	seq = fd_dispatch_locked(fd, "INTERACTION_CREATE", d);
	pthread_mutex_unlock(&fd->lock);
	fd_wake(fd);
	return seq;
}

int
fake_discord_callback_of(struct fake_discord *fd, const char *id, int *type,
    int64_t *delay_ms)
{
	size_t	 i;
	int	 rc = -1;

	pthread_mutex_lock(&fd->lock);
	for (i = 0; i < fd->ninters; i++) {
		if (strcmp(fd->inters[i].id, id) == 0 &&
		    fd->inters[i].cb_type != 0) {
			*type = fd->inters[i].cb_type;
			*delay_ms = fd->inters[i].cb_delay;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&fd->lock);
	return rc;
}

/* ---- REST ---------------------------------------------------------- */

struct fd_req {
	char	 method[16];
	char	 path[1024];
	char	*auth;
	char	*ua;
	char	*body;
	size_t	 body_len;
};

struct fd_resp {
	int		 status;
	struct buf	 headers;
	char		*body;		/* NULL for 204 */
};

static size_t
fd_utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
fd_error(struct fd_resp *r, int status, const char *message, int code)
{
	r->status = status;
	r->body = xasprintf("{\"message\": \"%s\", \"code\": %d}", message,
	    code);
}

/*
 * Slash command registration (PUT .../commands, a bulk overwrite),
 * checked field by field as Discord does. Limits from the schemas of
 * ../shared/api-specs/discord-rest-v10.compact.json
 * (ApplicationCommandUpdateRequest and the ApplicationCommand*Option
 * schemas: name 1-32, description up to 100, at most 25 options and 25
 * choices, option types 1-11, min_length/max_length 0/1-6000, Int53
 * values) and from Discord's application command documentation where
 * the schema is silent: CHAT_INPUT names match
 * ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$ in lower case (this fake
 * takes ASCII only, which is stricter), a CHAT_INPUT description is 1-100
 * characters and a USER or MESSAGE one empty, required options come
 * before optional ones, choices only on string, integer and number
 * options (string values up to 100 characters), not with autocomplete,
 * names unique per type and per level, at most 100 CHAT_INPUT, 15 USER
 * and 15 MESSAGE commands, and at most 4000 characters of names,
 * descriptions and values per command. A breach is 400 "Invalid Form
 * Body" (code 50035) with Discord's "errors" tree naming the field.
 */
struct fd_cmdcheck {
	char	 path[256];	/* "3.options.1.name" */
	char	 code[64];	/* Discord's error code */
	char	 why[160];
	size_t	 chars;		/* of the current command */
};

/* out (256 bytes) = path followed by a formatted suffix, cut to fit. */
static void
fd_sub(char *out, const char *path, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n;

	n = strlen(path) < 200 ? strlen(path) : 200;
	memcpy(out, path, n);
	va_start(ap, fmt);
	vsnprintf(out + n, 256 - n, fmt, ap);
	va_end(ap);
}

static int
fd_cmd_fail(struct fd_cmdcheck *ck, const char *path, const char *code,
    const char *why)
{
	snprintf(ck->path, sizeof ck->path, "%s", path);
	snprintf(ck->code, sizeof ck->code, "%s", code);
	snprintf(ck->why, sizeof ck->why, "%s", why);
	return -1;
}

/* A CHAT_INPUT command or option name. */
static int
fd_cmd_name(json_t *v, struct fd_cmdcheck *ck, const char *path, int slash)
{
	const char	*n = json_string_value(v), *p;
	size_t		 len;

	if (n == NULL)
		return fd_cmd_fail(ck, path, "BASE_TYPE_REQUIRED",
		    "This field is required");
	len = fd_utf8_chars(n);
	if (len < 1 || len > 32)
		return fd_cmd_fail(ck, path, "BASE_TYPE_BAD_LENGTH",
		    "Must be between 1 and 32 in length.");
	ck->chars += len;
	if (!slash)
		return 0;
	for (p = n; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '\'')
			continue;
		return fd_cmd_fail(ck, path, "APPLICATION_COMMAND_INVALID_NAME",
		    "Command name is invalid");
	}
	return 0;
}

static int
fd_cmd_text(json_t *v, struct fd_cmdcheck *ck, const char *path, size_t min,
    size_t max)
{
	const char	*t = json_string_value(v);
	size_t		 len;
	char		 why[96];

	if (v == NULL && min > 0)
		return fd_cmd_fail(ck, path, "BASE_TYPE_REQUIRED",
		    "This field is required");
	if (v == NULL || json_is_null(v))
		return 0;
	if (t == NULL)
		return fd_cmd_fail(ck, path, "STRING_TYPE_CONVERT",
		    "Could not interpret the value as string.");
	len = fd_utf8_chars(t);
	if (len < min || len > max) {
		snprintf(why, sizeof why, "Must be between %zu and %zu in "
		    "length.", min, max);
		return fd_cmd_fail(ck, path, "BASE_TYPE_BAD_LENGTH", why);
	}
	ck->chars += len;
	return 0;
}

/* An Int53, when present. */
static int
fd_cmd_int53(json_t *v, struct fd_cmdcheck *ck, const char *path)
{
	const json_int_t	 lim = 9007199254740991LL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) > lim ||
	    json_integer_value(v) < -lim)
		return fd_cmd_fail(ck, path, "NUMBER_TYPE_COERCE",
		    "Value is not int53.");
	return 0;
}

static int
fd_cmd_options(json_t *opts, struct fd_cmdcheck *ck, const char *path,
    int depth);

static int
fd_cmd_option(json_t *o, struct fd_cmdcheck *ck, const char *path,
    int depth, int *optional_seen)
{
	static const char *const known[] = { "type", "name",
	    "name_localizations", "description", "description_localizations",
	    "required", "choices", "options", "channel_types", "min_value",
	    "max_value", "min_length", "max_length", "autocomplete", NULL };
	json_t		*v, *choices = json_object_get(o, "choices"), *c;
	json_int_t	 type;
	const char	*key;
	char		 p[256];
	size_t		 i, k;
	int		 required;

	if (!json_is_object(o))
		return fd_cmd_fail(ck, path, "DICT_TYPE_CONVERT",
		    "Only dictionaries may be used in a DictType");
	json_object_foreach(o, key, v) {
		for (k = 0; known[k] != NULL && strcmp(known[k], key) != 0;
		    k++)
			;
		if (known[k] == NULL) {
			fd_sub(p, path, ".%s", key);
			return fd_cmd_fail(ck, p, "UNKNOWN_FIELD",
			    "Unknown field");
		}
	}
	v = json_object_get(o, "type");
	type = json_integer_value(v);
	fd_sub(p, path, ".type");
	if (!json_is_integer(v) || type < 1 || type > 11)
		return fd_cmd_fail(ck, p, "BASE_TYPE_CHOICES",
		    "Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
		    "11).");
	fd_sub(p, path, ".name");
	if (fd_cmd_name(json_object_get(o, "name"), ck, p, 1) != 0)
		return -1;
	fd_sub(p, path, ".description");
	if (fd_cmd_text(json_object_get(o, "description"), ck, p, 1, 100) != 0)
		return -1;
	v = json_object_get(o, "required");
	if (v != NULL && !json_is_boolean(v) && !json_is_null(v)) {
		fd_sub(p, path, ".required");
		return fd_cmd_fail(ck, p, "BOOLEAN_TYPE_CONVERT",
		    "Must be either true or false.");
	}
	required = json_is_true(v);
	if (type == 1 || type == 2) {
		if (required || choices != NULL) {
			fd_sub(p, path, "");
			return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_"
			    "INVALID", "Subcommands take no required flag or "
			    "choices");
		}
		/* A group holds subcommands; a subcommand plain options. */
		if (depth >= 2 || (type == 2 && depth >= 1)) {
			fd_sub(p, path, ".type");
			return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_"
			    "TYPE_INVALID", "Subcommands nest at most two "
			    "levels");
		}
		fd_sub(p, path, ".options");
		return fd_cmd_options(json_object_get(o, "options"), ck, p,
		    type == 2 ? depth + 1 : 2);
	}
	if (json_object_get(o, "options") != NULL) {
		fd_sub(p, path, ".options");
		return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_INVALID",
		    "Only subcommands and groups have options");
	}
	/* "Required options must be listed before optional options". */
	if (required && *optional_seen) {
		fd_sub(p, path, ".required");
		return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTIONS_"
		    "REQUIRED_INVALID", "Required options must be placed "
		    "before non-required options");
	}
	if (!required)
		*optional_seen = 1;
	if (choices != NULL && !json_is_null(choices)) {
		fd_sub(p, path, ".choices");
		if (type != 3 && type != 4 && type != 10)
			return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_"
			    "INVALID", "Only string, integer and number "
			    "options have choices");
		if (json_is_true(json_object_get(o, "autocomplete")))
			return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_"
			    "INVALID", "Autocomplete and choices are "
			    "exclusive");
		if (!json_is_array(choices))
			return fd_cmd_fail(ck, p, "LIST_TYPE_CONVERT",
			    "Only iterables may be used in a ListType");
		if (json_array_size(choices) > 25)
			return fd_cmd_fail(ck, p, "BASE_TYPE_MAX_LENGTH",
			    "Must be 25 or fewer in length.");
		json_array_foreach(choices, i, c) {
			char	 cp[256];

			fd_sub(cp, path, ".choices.%zu.name", i);
			if (fd_cmd_text(json_object_get(c, "name"), ck, cp, 1,
			    100) != 0)
				return -1;
			fd_sub(cp, path, ".choices.%zu.value", i);
			v = json_object_get(c, "value");
			if (type == 3 && fd_cmd_text(v, ck, cp, 1, 100) != 0)
				return -1;
			if (type == 3 && v == NULL)
				return fd_cmd_fail(ck, cp, "BASE_TYPE_REQUIRED",
				    "This field is required");
			if (type == 4 && (v == NULL ||
			    fd_cmd_int53(v, ck, cp) != 0))
				return v == NULL ? fd_cmd_fail(ck, cp,
				    "BASE_TYPE_REQUIRED", "This field is "
				    "required") : -1;
			if (type == 10 && !json_is_number(v))
				return fd_cmd_fail(ck, cp, "NUMBER_TYPE_COERCE",
				    "Value is not a number.");
		}
	}
	if ((json_object_get(o, "min_value") != NULL ||
	    json_object_get(o, "max_value") != NULL) && type != 4 &&
	    type != 10) {
		fd_sub(p, path, ".min_value");
		return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_INVALID",
		    "Only integer and number options have min_value and "
		    "max_value");
	}
	if (type == 4) {
		fd_sub(p, path, ".min_value");
		if (fd_cmd_int53(json_object_get(o, "min_value"), ck, p) != 0)
			return -1;
		fd_sub(p, path, ".max_value");
		if (fd_cmd_int53(json_object_get(o, "max_value"), ck, p) != 0)
			return -1;
	}
	if (json_is_number(json_object_get(o, "min_value")) &&
	    json_is_number(json_object_get(o, "max_value")) &&
	    json_number_value(json_object_get(o, "min_value")) >
	    json_number_value(json_object_get(o, "max_value"))) {
		fd_sub(p, path, ".max_value");
		return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_INVALID",
		    "max_value must be at least min_value");
	}
	if ((json_object_get(o, "min_length") != NULL ||
	    json_object_get(o, "max_length") != NULL) && type != 3) {
		fd_sub(p, path, ".max_length");
		return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_OPTION_INVALID",
		    "Only string options have min_length and max_length");
	}
	v = json_object_get(o, "min_length");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 6000)) {
		fd_sub(p, path, ".min_length");
		return fd_cmd_fail(ck, p, "NUMBER_TYPE_MAX",
		    "int value should be between 0 and 6000.");
	}
	v = json_object_get(o, "max_length");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 6000)) {
		fd_sub(p, path, ".max_length");
		return fd_cmd_fail(ck, p, "NUMBER_TYPE_MAX",
		    "int value should be between 1 and 6000.");
	}
	return 0;
}

/* One level of options: at most 25, unique names, required first. */
static int
fd_cmd_options(json_t *opts, struct fd_cmdcheck *ck, const char *path,
    int depth)
{
	json_t		*o;
	size_t		 i, j;
	char		 p[256];
	int		 optional_seen = 0, subs = 0, plain = 0;

	if (opts == NULL || json_is_null(opts))
		return 0;
	if (!json_is_array(opts))
		return fd_cmd_fail(ck, path, "LIST_TYPE_CONVERT",
		    "Only iterables may be used in a ListType");
	if (json_array_size(opts) > 25)
		return fd_cmd_fail(ck, path, "BASE_TYPE_MAX_LENGTH",
		    "Must be 25 or fewer in length.");
	json_array_foreach(opts, i, o) {
		json_int_t	 t = json_integer_value(json_object_get(o,
				    "type"));

		fd_sub(p, path, ".%zu", i);
		if (fd_cmd_option(o, ck, p, depth, &optional_seen) != 0)
			return -1;
		if (t == 1 || t == 2)
			subs++;
		else
			plain++;
		for (j = 0; j < i; j++) {
			if (strcmp(json_string_value(json_object_get(o,
			    "name")), json_string_value(json_object_get(
			    json_array_get(opts, j), "name"))) == 0) {
				fd_sub(p, path, ".%zu.name", i);
				return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_"
				    "OPTION_NAME_ALREADY_EXISTS", "Option "
				    "names must be unique");
			}
		}
	}
	if (subs > 0 && plain > 0)
		return fd_cmd_fail(ck, path, "APPLICATION_COMMAND_OPTION_"
		    "TYPE_INVALID", "Subcommands cannot sit next to other "
		    "options");
	return 0;
}

/* The whole body of a bulk overwrite: 0, or -1 and *ck says where. */
static int
fd_check_commands(json_t *body, struct fd_cmdcheck *ck)
{
	static const char *const known[] = { "id", "name",
	    "name_localizations", "description", "description_localizations",
	    "options", "default_member_permissions", "dm_permission",
	    "default_permission", "type", "nsfw", "contexts",
	    "integration_types", "handler", NULL };
	json_t		*c, *v;
	json_int_t	 type;
	const char	*key;
	size_t		 i, j, k, count[4] = { 0, 0, 0, 0 };
	char		 p[256];

	memset(ck, 0, sizeof *ck);
	if (!json_is_array(body))
		return fd_cmd_fail(ck, "", "LIST_TYPE_CONVERT",
		    "Only iterables may be used in a ListType");
	json_array_foreach(body, i, c) {
		ck->chars = 0;
		snprintf(p, sizeof p, "%zu", i);
		if (!json_is_object(c))
			return fd_cmd_fail(ck, p, "DICT_TYPE_CONVERT",
			    "Only dictionaries may be used in a DictType");
		json_object_foreach(c, key, v) {
			for (k = 0; known[k] != NULL &&
			    strcmp(known[k], key) != 0; k++)
				;
			if (known[k] == NULL) {
				snprintf(p, sizeof p, "%zu.%s", i, key);
				return fd_cmd_fail(ck, p, "UNKNOWN_FIELD",
				    "Unknown field");
			}
		}
		v = json_object_get(c, "type");
		type = v == NULL || json_is_null(v) ? 1 : json_integer_value(v);
		if ((v != NULL && !json_is_null(v) && !json_is_integer(v)) ||
		    type < 1 || type > 3) {
			snprintf(p, sizeof p, "%zu.type", i);
			return fd_cmd_fail(ck, p, "BASE_TYPE_CHOICES",
			    "Value must be one of (1, 2, 3).");
		}
		count[type]++;
		snprintf(p, sizeof p, "%zu.name", i);
		if (fd_cmd_name(json_object_get(c, "name"), ck, p,
		    type == 1) != 0)
			return -1;
		snprintf(p, sizeof p, "%zu.description", i);
		if (type == 1 && fd_cmd_text(json_object_get(c, "description"),
		    ck, p, 1, 100) != 0)
			return -1;
		if (type != 1 && json_string_length(json_object_get(c,
		    "description")) > 0)
			return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_"
			    "INVALID", "User and message commands have an "
			    "empty description");
		snprintf(p, sizeof p, "%zu.options", i);
		if (type != 1 && json_array_size(json_object_get(c,
		    "options")) > 0)
			return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_"
			    "INVALID", "Only slash commands have options");
		if (fd_cmd_options(json_object_get(c, "options"), ck, p,
		    0) != 0)
			return -1;
		if (ck->chars > 4000) {
			snprintf(p, sizeof p, "%zu", i);
			return fd_cmd_fail(ck, p, "APPLICATION_COMMAND_TOO_"
			    "LARGE", "Command exceeds maximum size (4000)");
		}
		for (j = 0; j < i; j++) {
			json_t		*o = json_array_get(body, j);
			json_int_t	 ot = json_integer_value(
					    json_object_get(o, "type"));

			if ((ot == 0 ? 1 : ot) == type && strcmp(
			    json_string_value(json_object_get(o, "name")),
			    json_string_value(json_object_get(c, "name"))) ==
			    0) {
				snprintf(p, sizeof p, "%zu.name", i);
				return fd_cmd_fail(ck, p, "APPLICATION_"
				    "COMMANDS_DUPLICATE_NAME", "Application "
				    "command names must be unique");
			}
		}
	}
	if (count[1] > 100 || count[2] > 15 || count[3] > 15)
		return fd_cmd_fail(ck, "", "BASE_TYPE_MAX_LENGTH",
		    "Must be 100 or fewer slash commands, 15 user and 15 "
		    "message commands.");
	return 0;
}

/* Discord's 50035 body: the error under its field's path. */
static void
fd_form_error(struct fd_resp *r, const struct fd_cmdcheck *ck)
{
	json_t	*root = json_object(), *errs = json_object(), *at = errs;
	char	*path = xstrdup(ck->path), *save = NULL, *seg;

	for (seg = strtok_r(path, ".", &save); seg != NULL;
	    seg = strtok_r(NULL, ".", &save)) {
		json_t	*next = json_object();

		json_object_set_new(at, seg, next);
		at = next;
	}
	json_object_set_new(at, "_errors", json_pack("[{s:s, s:s}]", "code",
	    ck->code, "message", ck->why));
	json_object_set_new(root, "message", json_string("Invalid Form Body"));
	json_object_set_new(root, "code", json_integer(50035));
	json_object_set_new(root, "errors", errs);
	r->status = 400;
	r->body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	free(path);
}

/* Components as Discord checks them: rows of type 1 holding buttons. */
static const char *
fd_check_message(json_t *body, int need_content)
{
	json_t		*content = json_object_get(body, "content");
	json_t		*comps = json_object_get(body, "components");
	json_t		*row, *btn, *cid;
	size_t		 i, j;

	if (body == NULL || !json_is_object(body))
		return "Invalid Form Body";
	if (content != NULL && !json_is_string(content) &&
	    !json_is_null(content))
		return "Invalid Form Body";
	if (json_is_string(content) &&
	    fd_utf8_chars(json_string_value(content)) > 2000)
		return "Invalid Form Body: content: Must be 2000 or fewer in "
		    "length.";
	if (comps != NULL && !json_is_array(comps))
		return "Invalid Form Body";
	if (json_array_size(comps) > 5)
		return "Invalid Form Body: components: Must be 5 or fewer";
	json_array_foreach(comps, i, row) {
		if (json_integer_value(json_object_get(row, "type")) != 1 ||
		    json_array_size(json_object_get(row, "components")) < 1 ||
		    json_array_size(json_object_get(row, "components")) > 5)
			return "Invalid Form Body: components: action row";
		json_array_foreach(json_object_get(row, "components"), j, btn) {
			json_int_t style = json_integer_value(
			    json_object_get(btn, "style"));

			cid = json_object_get(btn, "custom_id");
			if (json_integer_value(json_object_get(btn, "type")) !=
			    2 || style < 1 || style > 4 ||
			    !json_is_string(cid) ||
			    json_string_length(cid) < 1 ||
			    json_string_length(cid) > 100)
				return "Invalid Form Body: components: button";
			if (json_string_length(json_object_get(btn,
			    "label")) > 80)
				return "Invalid Form Body: label";
		}
	}
	if (need_content && (!json_is_string(content) ||
	    json_string_length(content) == 0) && json_array_size(comps) == 0)
		return "Cannot send an empty message";
	return NULL;
}

static struct fd_msg *
fd_msg_find(struct fake_discord *fd, const char *id)
{
	size_t	 i;

	for (i = 0; i < fd->nmsgs; i++)
		if (strcmp(fd->msgs[i].id, id) == 0)
			return &fd->msgs[i];
	return NULL;
}

static struct fd_msg *
fd_msg_new(struct fake_discord *fd, const char *channel, json_t *body,
    int flags)
{
	struct fd_msg	*m;
	char		*id = fake_discord_snowflake(), *ts = fd_iso_now();

	fd->msgs = xreallocarray(fd->msgs, fd->nmsgs + 1, sizeof *fd->msgs);
	m = &fd->msgs[fd->nmsgs++];
	m->id = id;
	m->channel = xstrdup(channel);
	m->obj = json_pack("{s:s, s:s, s:o, s:s, s:s, s:i, s:[]}", "id", id,
	    "channel_id", channel, "author", fd_user(FAKE_DISCORD_BOT_ID, 1),
	    "content", "", "timestamp", ts, "flags", flags, "components");
	free(ts);
	if (body != NULL) {
		if (json_is_string(json_object_get(body, "content")))
			json_object_set(m->obj, "content",
			    json_object_get(body, "content"));
		if (json_is_array(json_object_get(body, "components")))
			json_object_set(m->obj, "components",
			    json_object_get(body, "components"));
		if (json_is_object(json_object_get(body, "allowed_mentions")))
			json_object_set(m->obj, "allowed_mentions",
			    json_object_get(body, "allowed_mentions"));
	}
	return m;
}

static void
fd_msg_update(struct fd_msg *m, json_t *body)
{
	if (json_is_string(json_object_get(body, "content")))
		json_object_set(m->obj, "content", json_object_get(body,
		    "content"));
	if (json_is_array(json_object_get(body, "components")))
		json_object_set(m->obj, "components", json_object_get(body,
		    "components"));
	json_object_set_new(m->obj, "edited_timestamp",
	    json_string("2026-01-01T00:00:00+00:00"));
}

static struct fd_interaction *
fd_inter_by_token(struct fake_discord *fd, const char *token)
{
	size_t	 i;

	for (i = 0; i < fd->ninters; i++)
		if (strcmp(fd->inters[i].token, token) == 0)
			return &fd->inters[i];
	return NULL;
}

/* Rate limits: forced 429s, buckets, the global 50 a second. */
static int
fd_rate(struct fake_discord *fd, const struct fd_req *q, int global_exempt,
    struct fd_resp *r)
{
	struct fd_rule	*rule;
	size_t		 i;
	int64_t		 now = now_ms();

	for (i = 0; i < fd->nrules; i++) {
		rule = &fd->rules[i];
		if (rule->fail_status == 0 || rule->count <= 0 ||
		    strcmp(rule->method, q->method) != 0 ||
		    !str_has_prefix(q->path, rule->prefix))
			continue;
		rule->count--;
		fd_error(r, rule->fail_status, rule->fail_status == 403 ?
		    "Missing Permissions" : "Internal Server Error",
		    rule->fail_status == 403 ? 50013 : 0);
		return -1;
	}
	for (i = 0; i < fd->nrules; i++) {
		rule = &fd->rules[i];
		if (rule->is_bucket || rule->fail_status != 0 ||
		    rule->count <= 0 ||
		    strcmp(rule->method, q->method) != 0 ||
		    !str_has_prefix(q->path, rule->prefix))
			continue;
		rule->count--;
		r->status = 429;
		r->body = xasprintf("{\"message\": \"You are being rate "
		    "limited.\", \"retry_after\": %.3f, \"global\": %s}",
		    rule->retry_after, rule->global ? "true" : "false");
		buf_printf(&r->headers, "Retry-After: %d\r\n",
		    (int)ceil(rule->retry_after));
		if (rule->global)
			buf_puts(&r->headers, "X-RateLimit-Global: true\r\n"
			    "X-RateLimit-Scope: global\r\n");
		else
			buf_printf(&r->headers, "X-RateLimit-Scope: user\r\n"
			    "X-RateLimit-Bucket: forced%zu\r\n"
			    "X-RateLimit-Limit: 5\r\n"
			    "X-RateLimit-Remaining: 0\r\n"
			    "X-RateLimit-Reset-After: %.3f\r\n", i,
			    rule->retry_after);
		fd->n429++;
		fd->n429_global += rule->global;
		return -1;
	}
	if (!global_exempt) {
		if (now - fd->global_window >= 1000) {
			fd->global_window = now;
			fd->global_used = 0;
		}
		if (++fd->global_used > 50) {
			double	 ra;

			ra = (double)(fd->global_window + 1000 - now) / 1000.0;

			r->status = 429;
			r->body = xasprintf("{\"message\": \"You are being "
			    "rate limited.\", \"retry_after\": %.3f, "
			    "\"global\": true}", ra);
			buf_puts(&r->headers, "X-RateLimit-Global: true\r\n"
			    "X-RateLimit-Scope: global\r\n");
			fd->n429++;
			fd->n429_global++;
			return -1;
		}
	}
	for (i = 0; i < fd->nrules; i++) {
		double	 reset;

		rule = &fd->rules[i];
		if (!rule->is_bucket || strcmp(rule->method, q->method) != 0 ||
		    !str_has_prefix(q->path, rule->prefix))
			continue;
		if (now - rule->window_start >= rule->window_ms) {
			rule->window_start = now;
			rule->used = 0;
		}
		reset = (double)(rule->window_start + rule->window_ms - now) /
		    1000.0;
		if (rule->used >= rule->limit) {
			r->status = 429;
			r->body = xasprintf("{\"message\": \"You are being "
			    "rate limited.\", \"retry_after\": %.3f, "
			    "\"global\": false}", reset);
			buf_printf(&r->headers, "X-RateLimit-Scope: user\r\n"
			    "X-RateLimit-Bucket: bucket%zu\r\n"
			    "X-RateLimit-Limit: %d\r\nX-RateLimit-Remaining: "
			    "0\r\nX-RateLimit-Reset-After: %.3f\r\n", i,
			    rule->limit, reset);
			fd->n429++;
			return -1;
		}
		rule->used++;
		buf_printf(&r->headers, "X-RateLimit-Bucket: bucket%zu\r\n"
		    "X-RateLimit-Limit: %d\r\nX-RateLimit-Remaining: %d\r\n"
		    "X-RateLimit-Reset-After: %.3f\r\n", i, rule->limit,
		    rule->limit - rule->used, reset);
		return 0;
	}
	buf_puts(&r->headers, "X-RateLimit-Bucket: fakedefault\r\n"
	    "X-RateLimit-Limit: 1000\r\nX-RateLimit-Remaining: 999\r\n"
	    "X-RateLimit-Reset-After: 1.000\r\n");
	return 0;
}

/* Splits "/a/b/c" into at most n segments; returns the count. */
static int
fd_segments(char *path, char **seg, int n)
{
	char	*save = NULL, *t, *q;
	int	 i = 0;

	if ((q = strchr(path, '?')) != NULL)
		*q = '\0';
	for (t = strtok_r(path, "/", &save); t != NULL && i < n;
	    t = strtok_r(NULL, "/", &save))
		seg[i++] = t;
	return i;
}

static void
fd_route(struct fake_discord *fd, struct fd_req *q, struct fd_resp *r)
{
	char			 pathbuf[1024], *seg[8], *auth;
	int			 nseg, interaction;
	json_t			*body = NULL;
	const char		*err;
	struct fd_msg		*m;
	struct fd_interaction	*it;

	snprintf(pathbuf, sizeof pathbuf, "%s", q->path);
	nseg = fd_segments(pathbuf, seg, 8);
	interaction = (nseg >= 1 && strcmp(seg[0], "interactions") == 0) ||
	    (nseg >= 3 && strcmp(seg[0], "webhooks") == 0);
	if (q->ua == NULL || !str_has_prefix(q->ua, "DiscordBot (")) {
		fd_error(r, 401, "401: Unauthorized", 0);
		return;
	}
	auth = xasprintf("Bot %s", fd->token);
	if (!interaction && (q->auth == NULL || strcmp(q->auth, auth) != 0)) {
		free(auth);
		fd_error(r, 401, "401: Unauthorized", 0);
		return;
	}
	free(auth);
	if (fd_rate(fd, q, interaction, r) != 0)
		return;
	if (q->body_len > 0 && (body = json_loadb(q->body, q->body_len, 0,
	    NULL)) == NULL) {
		fd_error(r, 400, "The request body contains invalid JSON.",
		    50109);
		return;
	}
	r->status = 200;
	if (strcmp(q->method, "GET") == 0 && nseg == 2 &&
	    strcmp(seg[0], "gateway") == 0 && strcmp(seg[1], "bot") == 0) {
		r->body = xasprintf("{\"url\": \"ws://127.0.0.1:%d%s\", "
		    "\"shards\": 1, \"session_start_limit\": {\"total\": 1000, "
		    "\"remaining\": 999, \"reset_after\": 14400000, "
		    "\"max_concurrency\": 1}}", fd->ws_port,
		    fd->url_tail != NULL ? fd->url_tail : "");
	} else if (strcmp(q->method, "POST") == 0 && nseg == 3 &&
	    strcmp(seg[0], "channels") == 0 &&
	    strcmp(seg[2], "messages") == 0) {
		if ((err = fd_check_message(body, 1)) != NULL)
			fd_error(r, 400, err, 50035);
		else {
			m = fd_msg_new(fd, seg[1], body, 0);
			r->body = json_dumps(m->obj, JSON_COMPACT);
		}
	} else if (strcmp(q->method, "PATCH") == 0 && nseg == 4 &&
	    strcmp(seg[0], "channels") == 0 &&
	    strcmp(seg[2], "messages") == 0) {
		if ((m = fd_msg_find(fd, seg[3])) == NULL ||
		    strcmp(m->channel, seg[1]) != 0)
			fd_error(r, 404, "Unknown Message", 10008);
		else if ((err = fd_check_message(body, 0)) != NULL)
			fd_error(r, 400, err, 50035);
		else {
			fd_msg_update(m, body);
			r->body = json_dumps(m->obj, JSON_COMPACT);
		}
	} else if (strcmp(q->method, "PUT") == 0 && nseg == 5 &&
	    strcmp(seg[0], "applications") == 0 &&
	    strcmp(seg[2], "guilds") == 0 &&
	    strcmp(seg[4], "commands") == 0) {
		struct fd_cmdcheck	 ck;

		if (strcmp(seg[1], FAKE_DISCORD_APP_ID) != 0)
			fd_error(r, 403, "Missing Access", 50001);
		else if (fd_check_commands(body, &ck) != 0)
			fd_form_error(r, &ck);
		else
			r->body = json_dumps(body, JSON_COMPACT);
	} else if (strcmp(q->method, "POST") == 0 && nseg == 4 &&
	    strcmp(seg[0], "interactions") == 0 &&
	    strcmp(seg[3], "callback") == 0) {
		json_int_t type = json_integer_value(json_object_get(body,
		    "type"));

		it = fd_inter_by_token(fd, seg[2]);
		if (it == NULL || strcmp(it->id, seg[1]) != 0 ||
		    now_ms() - it->created_ms > fd->inter_window_ms)
			fd_error(r, 404, "Unknown interaction", 10062);
		else if (it->cb_type != 0)
			fd_error(r, 400, "Interaction has already been "
			    "acknowledged.", 40060);
		else if (type != 4 && type != 5 && !(it->type == 3 &&
		    (type == 6 || type == 7)))
			fd_error(r, 400, "Invalid Form Body: type", 50035);
		else if ((err = fd_check_message(json_object_get(body,
		    "data"), 0)) != NULL && json_object_get(body, "data"))
			fd_error(r, 400, err, 50035);
		else {
			it->cb_type = (int)type;
			it->cb_delay = now_ms() - it->created_ms;
			r->status = 204;
		}
	} else if (nseg >= 3 && strcmp(seg[0], "webhooks") == 0 &&
	    ((strcmp(q->method, "PATCH") == 0 && nseg == 5 &&
	    strcmp(seg[3], "messages") == 0 &&
	    strcmp(seg[4], "@original") == 0) ||
	    (strcmp(q->method, "POST") == 0 && nseg == 3))) {
		it = fd_inter_by_token(fd, seg[2]);
		if (strcmp(seg[1], FAKE_DISCORD_APP_ID) != 0 || it == NULL ||
		    it->cb_type == 0)
			fd_error(r, 404, "Unknown Webhook", 10015);
		else if ((err = fd_check_message(body, nseg == 3)) != NULL)
			fd_error(r, 400, err, 50035);
		else if (nseg == 3) {
			m = fd_msg_new(fd, it->channel, body,
			    (int)json_integer_value(json_object_get(body,
			    "flags")));
			r->body = json_dumps(m->obj, JSON_COMPACT);
		} else {
			if (it->original == NULL ||
			    (m = fd_msg_find(fd, it->original)) == NULL) {
				m = fd_msg_new(fd, it->channel, body, 0);
				it->original = xstrdup(m->id);
			} else
				fd_msg_update(m, body);
			r->body = json_dumps(m->obj, JSON_COMPACT);
		}
	} else
		fd_error(r, 404, "404: Not Found", 0);
	json_decref(body);
}

/* The REST side on tests' httpd: one request in, one fd_route() call. */
static void
fd_http_handler(void *arg, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	struct fake_discord	*fd = arg;
	struct fd_req		 q;
	struct fd_resp		 r;
	struct fake_call	*call;
	const char		*h;
	int			 n;

	memset(&q, 0, sizeof q);
	memset(&r, 0, sizeof r);
	buf_init(&r.headers, 0);
	buf_append(&r.headers, "", 0);
	n = snprintf(q.path, sizeof q.path, "%s%s%s", req->raw_path,
	    req->query[0] != '\0' ? "?" : "", req->query);
	if (n < 0 || (size_t)n >= sizeof q.path ||
	    strlen(req->method) >= sizeof q.method) {
		fd_error(&r, 414, "414: URI Too Long", 0);
		goto reply;
	}
	memcpy(q.method, req->method, strlen(req->method) + 1);
	if ((h = httpd_header(req, "Authorization")) != NULL)
		q.auth = xstrdup(h);
	if ((h = httpd_header(req, "User-Agent")) != NULL)
		q.ua = xstrdup(h);
	q.body = xstrndup(req->body, req->body_len);
	q.body_len = req->body_len;
	/* Paths are recorded after the API prefix. */
	if (str_has_prefix(q.path, "/api/v10/"))
		memmove(q.path, q.path + 8, strlen(q.path + 8) + 1);
	else {
		fd_error(&r, 404, "404: Not Found", 0);
		goto reply;
	}
	pthread_mutex_lock(&fd->lock);
	fd_route(fd, &q, &r);
	fd->calls = xreallocarray(fd->calls, fd->ncalls + 1,
	    sizeof *fd->calls);
	call = &fd->calls[fd->ncalls++];
	call->at_ms = now_ms();
	call->method = xstrdup(q.method);
	call->path = xstrdup(q.path);
	call->auth = q.auth != NULL ? xstrdup(q.auth) : NULL;
	call->user_agent = q.ua != NULL ? xstrdup(q.ua) : NULL;
	call->body = xstrdup(q.body);
	call->status = r.status;
	call->reply = xstrdup(r.body != NULL ? r.body : "");
	pthread_mutex_unlock(&fd->lock);
reply:
	resp->status = r.status;
	resp->content_type = "application/json";
	resp->close = 1;
	buf_append(&resp->headers_extra, buf_cstr(&r.headers), r.headers.len);
	if (r.body != NULL)
		buf_puts(&resp->body, r.body);
	free(q.auth);
	free(q.ua);
	free(q.body);
	free(r.body);
	buf_release(&r.headers);
}

int
fake_discord_wait_call(struct fake_discord *fd, const char *method,
    const char *path_prefix, int nth, int timeout_ms, struct fake_call *out)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	size_t	 i;
	int	 seen;

	do {
		pthread_mutex_lock(&fd->lock);
		for (i = 0, seen = 0; i < fd->ncalls; i++) {
			struct fake_call *c = &fd->calls[i];

			if ((method != NULL &&
			    strcmp(c->method, method) != 0) ||
			    !str_has_prefix(c->path, path_prefix) ||
			    ++seen != nth)
				continue;
			if (out != NULL) {
				out->at_ms = c->at_ms;
				out->method = xstrdup(c->method);
				out->path = xstrdup(c->path);
				out->auth = c->auth ? xstrdup(c->auth) : NULL;
				out->user_agent = c->user_agent ?
				    xstrdup(c->user_agent) : NULL;
				out->body = xstrdup(c->body);
				out->status = c->status;
				out->reply = xstrdup(c->reply);
			}
			pthread_mutex_unlock(&fd->lock);
			return 0;
		}
		pthread_mutex_unlock(&fd->lock);
		sleep_ms(5);
	} while (now_ms() < deadline);
	return -1;
}

int
fake_discord_count_calls(struct fake_discord *fd, const char *method,
    const char *path_prefix)
{
	size_t	 i;
	int	 n = 0;

	pthread_mutex_lock(&fd->lock);
	for (i = 0; i < fd->ncalls; i++)
		if ((method == NULL || strcmp(fd->calls[i].method, method) ==
		    0) && str_has_prefix(fd->calls[i].path, path_prefix))
			n++;
	pthread_mutex_unlock(&fd->lock);
	return n;
}

static struct fd_rule *
fd_rule_add(struct fake_discord *fd, const char *method, const char *prefix)
{
	struct fd_rule	*r;

	if (fd->nrules == FD_MAX_RULES)
		abort();
	r = &fd->rules[fd->nrules++];
	memset(r, 0, sizeof *r);
	r->method = xstrdup(method);
	r->prefix = xstrdup(prefix);
	return r;
}

void
fake_discord_force_429(struct fake_discord *fd, const char *method,
    const char *path_prefix, double retry_after, int global, int count)
{
	struct fd_rule	*r;

	pthread_mutex_lock(&fd->lock);
	r = fd_rule_add(fd, method, path_prefix);
	r->retry_after = retry_after;
	r->global = global;
	r->count = count;
	pthread_mutex_unlock(&fd->lock);
}

void
fake_discord_fail(struct fake_discord *fd, const char *method,
    const char *path_prefix, int status, int count)
{
	struct fd_rule	*r;

	pthread_mutex_lock(&fd->lock);
	r = fd_rule_add(fd, method, path_prefix);
	r->fail_status = status;
	r->count = count;
	pthread_mutex_unlock(&fd->lock);
}

void
fake_discord_bucket(struct fake_discord *fd, const char *method,
    const char *path_prefix, int limit, int window_ms)
{
	struct fd_rule	*r;

	pthread_mutex_lock(&fd->lock);
	r = fd_rule_add(fd, method, path_prefix);
	r->is_bucket = 1;
	r->limit = limit;
	r->window_ms = window_ms;
	pthread_mutex_unlock(&fd->lock);
}

char *
fake_discord_stored_message(struct fake_discord *fd, const char *id)
{
	struct fd_msg	*m;
	char		*s = NULL;

	pthread_mutex_lock(&fd->lock);
	if (id != NULL && (m = fd_msg_find(fd, id)) != NULL)
		s = json_dumps(m->obj, JSON_COMPACT);
	pthread_mutex_unlock(&fd->lock);
	return s;
}

int
fake_discord_429s(struct fake_discord *fd, int *global)
{
	int	 n;

	pthread_mutex_lock(&fd->lock);
	n = fd->n429;
	if (global != NULL)
		*global = fd->n429_global;
	pthread_mutex_unlock(&fd->lock);
	return n;
}

/* ---- life ---------------------------------------------------------- */

static int
fd_listen(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 s, one = 1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(s, 64) != 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) != 0) {
		close(s);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return s;
}

/* Frees a list; sockets not handed to lws yet are closed. */
static void
fd_pending_free(struct fd_pending *a, int close_socks)
{
	struct fd_pending	*next;

	for (; a != NULL; a = next) {
		next = a->next;
		if (close_socks)
			close(a->sock);
		free(a->target);
		free(a);
	}
}

struct fake_discord *
fake_discord_start(const char *token, int heartbeat_ms)
{
	struct fake_discord			*fd = xcalloc(1, sizeof *fd);
	struct lws_context_creation_info	 info;
	struct httpd_opts			 ho;
	char					*cause = NULL;

	pthread_mutex_init(&fd->lock, NULL);
	fd->token = xstrdup(token);
	fd->heartbeat_ms = heartbeat_ms;
	fd->inter_window_ms = 3000;
	memset(&ho, 0, sizeof ho);
	ho.handler = fd_http_handler;
	ho.arg = fd;
	ho.name = "fake_discord";
	if ((fd->httpd = httpd_start(&ho, &cause)) == NULL) {
		fprintf(stderr, "fake_discord: %s\n", cause);
		abort();
	}
	snprintf(fd->api_url, sizeof fd->api_url,
	    "http://127.0.0.1:%d/api/v10", httpd_port(fd->httpd));
	if ((fd->ws_fd = fd_listen(&fd->ws_port)) < 0 ||
	    (fd->resume_fd = fd_listen(&fd->resume_port)) < 0)
		abort();
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof info);
	/* lws serves sockets this file accepts and checks. */
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = fd_protocols;
	info.user = fd;
	info.gid = -1;
	info.uid = -1;
	if ((fd->ctx = lws_create_context(&info)) == NULL ||
	    (fd->vhost = lws_get_vhost_by_name(fd->ctx, "default")) == NULL)
		abort();
	atomic_init(&fd->stop, 0);
	pthread_create(&fd->ws_thread, NULL, fd_ws_thread, fd);
	pthread_create(&fd->accept_thread, NULL, fd_accept_thread, fd);
	return fd;
}

void
fake_discord_stop(struct fake_discord *fd)
{
	struct fd_conn	*c;
	struct fd_out	*o;
	size_t		 i;

	if (fd == NULL)
		return;
	atomic_store(&fd->stop, 1);
	pthread_join(fd->accept_thread, NULL);
	lws_cancel_service(fd->ctx);
	pthread_join(fd->ws_thread, NULL);
	httpd_stop(fd->httpd);
	lws_context_destroy(fd->ctx);
	close(fd->ws_fd);
	close(fd->resume_fd);
	fd_pending_free(fd->adopt, 1);
	fd_pending_free(fd->adopted, 0);
	free(fd->refused_target);
	free(fd->url_tail);
	while ((c = fd->conns) != NULL) {
		fd->conns = c->next;
		while ((o = c->outq) != NULL) {
			c->outq = o->next;
			free(o);
		}
		buf_release(&c->rx);
		free(c->path);
		free(c);
	}
	fd_hist_clear(fd);
	for (i = 0; i < fd->nframes; i++)
		free(fd->frames[i].json);
	free(fd->frames);
	for (i = 0; i < fd->ncalls; i++)
		fake_call_release(&fd->calls[i]);
	free(fd->calls);
	for (i = 0; i < fd->nrules; i++) {
		free(fd->rules[i].method);
		free(fd->rules[i].prefix);
	}
	for (i = 0; i < fd->ninters; i++) {
		free(fd->inters[i].id);
		free(fd->inters[i].token);
		free(fd->inters[i].original);
		free(fd->inters[i].channel);
	}
	free(fd->inters);
	for (i = 0; i < fd->nmsgs; i++) {
		free(fd->msgs[i].id);
		free(fd->msgs[i].channel);
		json_decref(fd->msgs[i].obj);
	}
	free(fd->msgs);
	free(fd->session_id);
	free(fd->token);
	pthread_mutex_destroy(&fd->lock);
	free(fd);
}

const char *
fake_discord_api_url(struct fake_discord *fd)
{
	return fd->api_url;
}

int
fake_discord_gateway_port(struct fake_discord *fd)
{
	return fd->ws_port;
}

void
fake_discord_gateway_url_tail(struct fake_discord *fd, const char *tail)
{
	pthread_mutex_lock(&fd->lock);
	free(fd->url_tail);
	fd->url_tail = tail != NULL ? xstrdup(tail) : NULL;
	pthread_mutex_unlock(&fd->lock);
}

/* ---- test bench ---------------------------------------------------- */

static void
fb_submit(void *arg, struct chat_event *ev)
{
	struct fake_bench	*b = arg;

	pthread_mutex_lock(&b->lock);
	if (b->nev < FAKE_BENCH_EVENTS)
		b->ev[b->nev++] = ev;
	else
		chat_event_free(ev);
	pthread_mutex_unlock(&b->lock);
}

struct chat_event *
fake_bench_wait(struct fake_bench *b, enum chat_event_kind kind, int nth,
    int timeout_ms)
{
	int64_t			 deadline = now_ms() + timeout_ms;
	struct chat_event	*found;
	size_t			 i;
	int			 seen;

	do {
		found = NULL;
		pthread_mutex_lock(&b->lock);
		for (i = 0, seen = 0; i < b->nev; i++)
			if (b->ev[i]->kind == kind && ++seen == nth)
				found = b->ev[i];
		pthread_mutex_unlock(&b->lock);
		if (found != NULL)
			return found;
		sleep_ms(5);
	} while (now_ms() < deadline);
	return NULL;
}

int
fake_bench_count(struct fake_bench *b, enum chat_event_kind kind)
{
	size_t	 i;
	int	 n = 0;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < b->nev; i++)
		n += b->ev[i]->kind == kind;
	pthread_mutex_unlock(&b->lock);
	return n;
}

void
fake_bench_init(struct fake_bench *b, int heartbeat_ms)
{
	memset(b, 0, sizeof *b);
	pthread_mutex_init(&b->lock, NULL);
	b->fd = fake_discord_start(TOKEN, heartbeat_ms);
	b->rooms[0].id = CHAN;
	b->rooms[0].commands = 1;
	b->rooms[1].id = CHAN2;
	b->rooms[1].commands = 1;
	b->guilds[0] = GUILD;
	b->users[0] = DMUSER;
	b->conf.chat.max_command_age = 300;
	b->conf.chat.discord.enabled = 1;
	b->conf.chat.discord.api_url = (char *)fake_discord_api_url(b->fd);
	b->conf.chat.discord.token = TOKEN;
	b->conf.chat.discord.guilds = b->guilds;
	b->conf.chat.discord.nguilds = 1;
	b->conf.chat.discord.channels = b->rooms;
	b->conf.chat.discord.nchannels = 2;
	b->conf.chat.discord.users = b->users;
	b->conf.chat.discord.nusers = 1;
	b->ctx.conf = &b->conf;
	b->ctx.submit = fb_submit;
	b->ctx.submit_arg = b;
}

int
fake_bench_start(struct fake_bench *b)
{
	char	*cause = NULL;

	if ((b->c = chat_discord_create(&b->ctx, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "create: %s", cause);
		free(cause);
		return -1;
	}
	if (b->c->ops->start(b->c, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "start: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

void
fake_bench_done(struct fake_bench *b)
{
	size_t	 i;

	chat_free(b->c);
	fake_discord_stop(b->fd);
	for (i = 0; i < b->nev; i++)
		chat_event_free(b->ev[i]);
	pthread_mutex_destroy(&b->lock);
}
