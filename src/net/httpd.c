/*
 * httpd.c - a small HTTP/1.1 server on 127.0.0.1 (see include/httpd.h).
 *
 * One acceptor thread waits on the listening socket and on a wake-up
 * pipe; each accepted connection gets its own thread, which reads
 * requests with hard caps, calls the handler and writes the reply, with
 * keep-alive for HTTP/1.1. Connection threads block SIGPIPE (a peer that
 * went away is an EPIPE, not a dead process) and the signals a daemon
 * handles (SIGINT, SIGTERM, SIGHUP), which stay with the main thread.
 *
 * Stopping: the stop flag is set, the acceptor is woken and joined, every
 * open connection is shut down (which wakes blocked reads), and every
 * connection thread is joined. A socket is closed only by its own thread,
 * under the lock, so the stopper never shuts down a reused descriptor.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "httpd.h"
#include "log.h"
#include "util.h"

#define HTTPD_MAX_HEADERS	100
#define HTTPD_MAX_FORM_PAIRS	1024
#define HTTPD_READ_TIMEOUT_S	15
#define HTTPD_WRITE_TIMEOUT_S	15

struct httpd_conn {
	struct httpd		*httpd;
	int			 fd;
	SSL			*ssl;
	pthread_t		 thread;
	int			 done;
	int			 linger;	/* drain input before close */
	char			 peer[64];
	char			 in[HTTPD_MAX_HEAD];
	size_t			 inlen;
	struct httpd_conn	*next;
};

struct httpd {
	int			 listen_fd;
	int			 wake[2];
	int			 port;
	char			*name;
	httpd_handler		 handler;
	void			*arg;
	size_t			 max_body;

	SSL_CTX			*ssl_ctx;
	char			*fingerprint;
	char			*cert_pem;

	atomic_int		 stopping;
	pthread_t		 acceptor;
	pthread_mutex_t		 lock;
	struct httpd_conn	*conns;
	size_t			 nconns;
};

static const struct {
	int		 status;
	const char	*reason;
} httpd_reasons[] = {
	{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" },
	{ 202, "Accepted" }, { 204, "No Content" },
	{ 301, "Moved Permanently" }, { 302, "Found" },
	{ 304, "Not Modified" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
	{ 409, "Conflict" }, { 411, "Length Required" },
	{ 413, "Payload Too Large" }, { 415, "Unsupported Media Type" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
};

const char *
httpd_reason(int status)
{
	size_t	i;

	for (i = 0; i < nitems(httpd_reasons); i++) {
		if (httpd_reasons[i].status == status)
			return (httpd_reasons[i].reason);
	}
	return ("Unknown");
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

char *
httpd_url_decode(const char *s, size_t len, int plus_space)
{
	char	*out;
	size_t	 i, o = 0;
	int	 hi, lo;

	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+' && plus_space)
			out[o++] = ' ';
		else if (s[i] == '\0')
			goto bad;
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return (out);
bad:
	free(out);
	return (NULL);
}

int
httpd_parse_form(const char *s, size_t len, struct httpd_kv **out,
    size_t *n)
{
	struct httpd_kv	*kv = NULL;
	size_t		 nkv = 0, start = 0, end, eq;
	char		*key, *value;

	*out = NULL;
	*n = 0;
	while (start < len) {
		end = start;
		while (end < len && s[end] != '&')
			end++;
		if (end == start) {
			start = end + 1;
			continue;
		}
		if (nkv >= HTTPD_MAX_FORM_PAIRS)
			goto bad;
		eq = start;
		while (eq < end && s[eq] != '=')
			eq++;
		key = httpd_url_decode(s + start, eq - start, 1);
		if (key == NULL)
			goto bad;
		if (eq < end)
			value = httpd_url_decode(s + eq + 1, end - eq - 1, 1);
		else
			value = xstrdup("");
		if (value == NULL) {
			free(key);
			goto bad;
		}
		kv = xreallocarray(kv, nkv + 1, sizeof *kv);
		kv[nkv].key = key;
		kv[nkv].value = value;
		nkv++;
		start = end + 1;
	}
	*out = kv;
	*n = nkv;
	return (0);
bad:
	httpd_kv_free(kv, nkv);
	return (-1);
}

void
httpd_kv_free(struct httpd_kv *kv, size_t n)
{
	size_t	i;

	if (kv == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

const char *
httpd_kv_get(const struct httpd_kv *kv, size_t n, const char *key)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(kv[i].key, key) == 0)
			return (kv[i].value);
	}
	return (NULL);
}

const char *
httpd_header(const struct httpd_req *req, const char *name)
{
	size_t	i;

	for (i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].key, name) == 0)
			return (req->headers[i].value);
	}
	return (NULL);
}

int
httpd_port(const struct httpd *h)
{
	return (h->port);
}

const char *
httpd_fingerprint(const struct httpd *h)
{
	return (h->fingerprint);
}

const char *
httpd_cert_pem(const struct httpd *h)
{
	return (h->cert_pem);
}

int
httpd_stopping(const struct httpd *h)
{
	return (atomic_load(&((struct httpd *)h)->stopping));
}

/* Connection I/O, plain or TLS. */

static ssize_t
conn_read(struct httpd_conn *c, void *p, size_t len)
{
	ssize_t	n;
	int	r;

	if (c->ssl != NULL) {
		r = SSL_read(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
		if (r > 0)
			return (r);
		return (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ?
		    0 : -1);
	}
	do {
		n = recv(c->fd, p, len, 0);
	} while (n == -1 && errno == EINTR);
	return (n);
}

static int
conn_write_all(struct httpd_conn *c, const void *p, size_t len)
{
	const char	*s = p;
	ssize_t		 n;
	int		 r;

	while (len > 0) {
		if (c->ssl != NULL) {
			r = SSL_write(c->ssl, s,
			    len > INT32_MAX ? INT32_MAX : (int)len);
			if (r <= 0)
				return (-1);
			n = r;
		} else {
			n = send(c->fd, s, len, MSG_NOSIGNAL);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				return (-1);
		}
		s += n;
		len -= (size_t)n;
	}
	return (0);
}

/* A short plain-text error reply; the connection closes after it. */
static void
conn_error(struct httpd_conn *c, int status, const char *why)
{
	char	*msg;

	msg = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n", status,
	    httpd_reason(status), strlen(why) + 1, why);
	(void)conn_write_all(c, msg, strlen(msg));
	free(msg);
	c->linger = 1;
	log_debug(c->httpd->name, "refused peer=%s status=%d why=\"%s\"",
	    c->peer, status, why);
}

static void
sleep_unless_stopping(struct httpd *h, int ms)
{
	int64_t	end = now_ms() + ms;

	while (!atomic_load(&h->stopping) && now_ms() < end)
		sleep_ms(end - now_ms() < 50 ? end - now_ms() : 50);
}

static int
is_tchar(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A parsed request head; strings point into `text`. */
struct httpd_head {
	char		*text;
	char		*method;
	char		*target;
	int		 http10;
	struct httpd_kv	 headers[HTTPD_MAX_HEADERS];
	size_t		 nheaders;
};

/*
 * Parses the head (without the final empty line) in place. Returns 0, or
 * the HTTP status to refuse with and *why.
 */
static int
head_parse(struct httpd_head *hd, const char **why)
{
	char	*line, *next, *sp1, *sp2, *colon, *v, *e;
	char	*p;

	line = hd->text;
	next = strstr(line, "\r\n");
	if (next != NULL)
		*next = '\0';
	sp1 = strchr(line, ' ');
	sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
	if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL) {
		*why = "malformed request line";
		return (400);
	}
	*sp1 = *sp2 = '\0';
	hd->method = line;
	hd->target = sp1 + 1;
	if (*hd->method == '\0') {
		*why = "empty method";
		return (400);
	}
	for (p = hd->method; *p != '\0'; p++) {
		if (!is_tchar((unsigned char)*p)) {
			*why = "bad method";
			return (400);
		}
	}
	if (hd->target[0] != '/') {
		*why = "request target must start with /";
		return (400);
	}
	for (p = hd->target; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
			*why = "control character in request target";
			return (400);
		}
	}
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		hd->http10 = 0;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		hd->http10 = 1;
	else {
		*why = "unsupported HTTP version";
		return (400);
	}

	hd->nheaders = 0;
	while (next != NULL) {
		line = next + 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if (*line == '\0')
			continue;
		if (*line == ' ' || *line == '\t') {
			*why = "folded header line";
			return (400);
		}
		colon = strchr(line, ':');
		if (colon == NULL || colon == line) {
			*why = "malformed header line";
			return (400);
		}
		for (p = line; p < colon; p++) {
			if (!is_tchar((unsigned char)*p)) {
				*why = "bad header name";
				return (400);
			}
		}
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		for (p = v; *p != '\0'; p++) {
			if (((unsigned char)*p < 0x20 && *p != '\t') ||
			    (unsigned char)*p == 0x7f) {
				*why = "control character in header value";
				return (400);
			}
		}
		if (hd->nheaders >= HTTPD_MAX_HEADERS) {
			*why = "too many header lines";
			return (431);
		}
		hd->headers[hd->nheaders].key = line;
		hd->headers[hd->nheaders].value = v;
		hd->nheaders++;
	}
	return (0);
}

static const char *
head_header(const struct httpd_head *hd, const char *name)
{
	size_t	i;

	for (i = 0; i < hd->nheaders; i++) {
		if (strcasecmp(hd->headers[i].key, name) == 0)
			return (hd->headers[i].value);
	}
	return (NULL);
}

/* Reads until the buffer holds "\r\n\r\n"; its offset + 4, 0 on EOF. */
static size_t
conn_read_head(struct httpd_conn *c, int *status)
{
	char	*end;
	ssize_t	 n;

	*status = 0;
	for (;;) {
		/* Tolerate empty lines between requests (RFC 9112 2.2). */
		while (c->inlen >= 2 && c->in[0] == '\r' && c->in[1] == '\n') {
			memmove(c->in, c->in + 2, c->inlen - 2);
			c->inlen -= 2;
		}
		if (c->inlen >= 4) {
			end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
			if (end != NULL)
				return ((size_t)(end - c->in) + 4);
		}
		if (c->inlen >= sizeof c->in) {
			*status = 431;
			return (0);
		}
		if (atomic_load(&c->httpd->stopping))
			return (0);
		n = conn_read(c, c->in + c->inlen, sizeof c->in - c->inlen);
		if (n <= 0)
			return (0);
		c->inlen += (size_t)n;
	}
}

static int
conn_send_resp(struct httpd_conn *c, struct httpd_resp *resp, int close_after)
{
	struct buf	out;
	int		rc;

	buf_init(&out, 0);
	buf_printf(&out, "HTTP/1.1 %d %s\r\n", resp->status,
	    resp->reason != NULL ? resp->reason : httpd_reason(resp->status));
	if (resp->content_type != NULL)
		buf_printf(&out, "Content-Type: %s\r\n", resp->content_type);
	buf_printf(&out, "Content-Length: %zu\r\n", resp->body.len);
	buf_printf(&out, "Connection: %s\r\n",
	    close_after ? "close" : "keep-alive");
	buf_append(&out, buf_cstr(&resp->headers_extra),
	    resp->headers_extra.len);
	buf_puts(&out, "\r\n");
	rc = conn_write_all(c, out.data, out.len);
	if (rc == 0 && resp->body.len > 0)
		rc = conn_write_all(c, resp->body.data, resp->body.len);
	buf_release(&out);
	return (rc);
}

/*
 * Serves one request from the connection. Returns 1 to keep the
 * connection open, 0 to close it.
 */
static int
conn_serve_one(struct httpd_conn *c)
{
	struct httpd		*h = c->httpd;
	struct httpd_head	 hd;
	struct httpd_req	 req;
	struct httpd_resp	 resp;
	size_t			 head_len, body_len = 0, have;
	const char		*why = NULL, *cl, *v, *errstr;
	char			*body = NULL, *q, *raw_path = NULL, *path = NULL;
	int			 status, close_after, keep = 0;
	ssize_t			 n;

	head_len = conn_read_head(c, &status);
	if (head_len == 0) {
		if (status != 0)
			conn_error(c, status, "request head too large");
		return (0);
	}
	memset(&hd, 0, sizeof hd);
	hd.text = xstrndup(c->in, head_len - 4);
	if (strlen(hd.text) != head_len - 4) {
		conn_error(c, 400, "NUL byte in request head");
		goto out;
	}
	if ((status = head_parse(&hd, &why)) != 0) {
		conn_error(c, status, why);
		goto out;
	}
	if (head_header(&hd, "Transfer-Encoding") != NULL) {
		conn_error(c, 411, "chunked bodies are not supported; "
		    "send Content-Length");
		goto out;
	}
	cl = head_header(&hd, "Content-Length");
	if (cl != NULL) {
		body_len = (size_t)strtonum(cl, 0, (long long)h->max_body,
		    &errstr);
		if (errstr != NULL) {
			if (strcmp(errstr, "too large") == 0)
				conn_error(c, 413, "body too large");
			else
				conn_error(c, 400, "bad Content-Length");
			goto out;
		}
	}

	/* Consume the head, then the body. */
	memmove(c->in, c->in + head_len, c->inlen - head_len);
	c->inlen -= head_len;
	body = xmalloc(body_len + 1);
	have = c->inlen < body_len ? c->inlen : body_len;
	memcpy(body, c->in, have);
	memmove(c->in, c->in + have, c->inlen - have);
	c->inlen -= have;
	v = head_header(&hd, "Expect");
	if (v != NULL && strcasecmp(v, "100-continue") == 0 &&
	    have < body_len) {
		if (conn_write_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
			goto out;
	}
	while (have < body_len) {
		n = conn_read(c, body + have, body_len - have);
		if (n <= 0)
			goto out;
		have += (size_t)n;
	}
	body[body_len] = '\0';

	q = strchr(hd.target, '?');
	raw_path = q != NULL ? xstrndup(hd.target, (size_t)(q - hd.target)) :
	    xstrdup(hd.target);
	path = httpd_url_decode(raw_path, strlen(raw_path), 0);
	if (path == NULL) {
		conn_error(c, 400, "malformed percent-escape in path");
		goto out;
	}

	close_after = hd.http10;
	v = head_header(&hd, "Connection");
	if (v != NULL && strcasecmp(v, "close") == 0)
		close_after = 1;

	memset(&req, 0, sizeof req);
	req.method = hd.method;
	req.path = path;
	req.raw_path = raw_path;
	req.query = q != NULL ? q + 1 : "";
	req.headers = hd.headers;
	req.nheaders = hd.nheaders;
	req.body = body;
	req.body_len = body_len;
	req.peer = c->peer;
	req.tls = c->ssl != NULL;

	memset(&resp, 0, sizeof resp);
	resp.status = 200;
	resp.content_type = "application/json;charset=UTF-8";
	buf_init(&resp.headers_extra, HTTPD_MAX_HEAD);
	buf_init(&resp.body, HTTPD_MAX_RESP_BODY);
	h->handler(h->arg, &req, &resp);

	if (resp.delay_ms > 0)
		sleep_unless_stopping(h, resp.delay_ms);
	if (resp.drop) {
		log_debug(h->name, "dropping peer=%s path=%s", c->peer, path);
	} else if (resp.body.truncated || resp.headers_extra.truncated) {
		conn_error(c, 500, "reply too large");
	} else {
		if (resp.close || atomic_load(&h->stopping))
			close_after = 1;
		if (conn_send_resp(c, &resp, close_after) == 0)
			keep = !close_after;
	}
	buf_release(&resp.headers_extra);
	buf_release(&resp.body);
out:
	free(raw_path);
	free(path);
	free(body);
	free(hd.text);
	return (keep);
}

/*
 * After an error reply the peer may still be sending (an oversized head
 * or body); closing with unread input would reset the connection and
 * could destroy the reply in flight, so read and discard for a while.
 */
static void
conn_linger(struct httpd_conn *c)
{
	char		 tmp[4096];
	int64_t		 end = now_ms() + 1000;
	struct pollfd	 pfd;

	(void)shutdown(c->fd, SHUT_WR);
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	while (!atomic_load(&c->httpd->stopping) && now_ms() < end) {
		if (poll(&pfd, 1, 100) == 1 &&
		    recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT) <= 0)
			break;
	}
}

static void *
conn_main(void *arg)
{
	struct httpd_conn	*c = arg;
	struct httpd		*h = c->httpd;

	if (h->ssl_ctx != NULL) {
		c->ssl = SSL_new(h->ssl_ctx);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
		    SSL_accept(c->ssl) != 1) {
			log_debug(h->name, "TLS handshake failed peer=%s",
			    c->peer);
			ERR_clear_error();
			goto done;
		}
	}
	while (!atomic_load(&h->stopping) && conn_serve_one(c))
		;
	if (c->ssl != NULL)
		(void)SSL_shutdown(c->ssl);
	else if (c->linger)
		conn_linger(c);
done:
	ERR_clear_error();
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	pthread_mutex_lock(&h->lock);
	close(c->fd);
	c->fd = -1;
	c->done = 1;
	pthread_mutex_unlock(&h->lock);
	/* Let the acceptor reap us even when no new connection comes. */
	(void)write(h->wake[1], "r", 1);
	return (NULL);
}

/* Joins and frees finished connections. */
static void
reap_conns(struct httpd *h, int all)
{
	struct httpd_conn	*c, **pp, *dead = NULL;

	pthread_mutex_lock(&h->lock);
	pp = &h->conns;
	while ((c = *pp) != NULL) {
		if (all || c->done) {
			*pp = c->next;
			c->next = dead;
			dead = c;
			h->nconns--;
		} else
			pp = &c->next;
	}
	pthread_mutex_unlock(&h->lock);
	while ((c = dead) != NULL) {
		dead = c->next;
		pthread_join(c->thread, NULL);
		free(c);
	}
}

static void *
acceptor_main(void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*c;
	struct pollfd		 pfd[2];
	struct sockaddr_in	 sin;
	socklen_t		 slen;
	struct timeval		 tv;
	char			 drain[64], addr[INET_ADDRSTRLEN];
	int			 fd, one = 1;

	while (!atomic_load(&h->stopping)) {
		pfd[0].fd = h->listen_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = h->wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn(h->name, "poll failed: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN)
			(void)read(h->wake[0], drain, sizeof drain);
		reap_conns(h, 0);
		if (atomic_load(&h->stopping))
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		slen = sizeof sin;
		fd = accept4(h->listen_fd, (struct sockaddr *)&sin, &slen,
		    SOCK_CLOEXEC);
		if (fd == -1)
			continue;
		pthread_mutex_lock(&h->lock);
		if (h->nconns >= HTTPD_MAX_CONNS) {
			pthread_mutex_unlock(&h->lock);
			log_warn(h->name, "too many connections, closing one");
			close(fd);
			continue;
		}
		pthread_mutex_unlock(&h->lock);
		tv.tv_sec = HTTPD_READ_TIMEOUT_S;
		tv.tv_usec = 0;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		tv.tv_sec = HTTPD_WRITE_TIMEOUT_S;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
		c = xcalloc(1, sizeof *c);
		c->httpd = h;
		c->fd = fd;
		if (inet_ntop(AF_INET, &sin.sin_addr, addr, sizeof addr) == NULL)
			snprintf(addr, sizeof addr, "?");
		snprintf(c->peer, sizeof c->peer, "%s:%u", addr,
		    (unsigned)ntohs(sin.sin_port));
		pthread_mutex_lock(&h->lock);
		if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
			pthread_mutex_unlock(&h->lock);
			close(fd);
			free(c);
			continue;
		}
		c->next = h->conns;
		h->conns = c;
		h->nconns++;
		pthread_mutex_unlock(&h->lock);
	}
	return (NULL);
}

/* A self-signed EC P-256 certificate for 127.0.0.1 and localhost. */
static int
tls_setup(struct httpd *h, char **cause)
{
	EVP_PKEY		*pkey = NULL;
	X509			*x = NULL;
	X509_NAME		*name;
	X509_EXTENSION		*ext;
	X509V3_CTX		 v3;
	BIO			*bio = NULL;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			*pem;
	long			 pemlen;
	struct buf		 fp;
	int			 rc = -1;
	static const struct {
		int		 nid;
		const char	*value;
	} exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,digitalSignature,keyCertSign" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost" },
	};

	pkey = EVP_EC_gen("P-256");
	if (pkey == NULL) {
		set_cause(cause, "cannot generate a TLS key");
		goto out;
	}
	x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(random_u64() >> 2) & 0x7fffffffL);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"pvebot test server", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, name);
	for (i = 0; i < nitems(exts); i++) {
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid,
		    exts[i].value);
		if (ext == NULL) {
			set_cause(cause, "cannot build a certificate extension");
			goto out;
		}
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, pkey, EVP_sha256()) == 0) {
		set_cause(cause, "cannot sign the TLS certificate");
		goto out;
	}

	h->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (h->ssl_ctx == NULL ||
	    SSL_CTX_set_min_proto_version(h->ssl_ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(h->ssl_ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(h->ssl_ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(h->ssl_ctx) != 1) {
		set_cause(cause, "cannot set up the TLS context");
		goto out;
	}
	SSL_CTX_set_mode(h->ssl_ctx, SSL_MODE_AUTO_RETRY);

	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
		set_cause(cause, "cannot hash the TLS certificate");
		goto out;
	}
	buf_init(&fp, 0);
	for (i = 0; i < mdlen; i++)
		buf_printf(&fp, "%s%02X", i == 0 ? "" : ":", md[i]);
	h->fingerprint = buf_steal(&fp);

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1) {
		set_cause(cause, "cannot write the certificate as PEM");
		goto out;
	}
	pemlen = BIO_get_mem_data(bio, &pem);
	h->cert_pem = xstrndup(pem, (size_t)pemlen);
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return (rc);
}

static void
httpd_free(struct httpd *h)
{
	if (h->listen_fd != -1)
		close(h->listen_fd);
	if (h->wake[0] != -1)
		close(h->wake[0]);
	if (h->wake[1] != -1)
		close(h->wake[1]);
	if (h->ssl_ctx != NULL)
		SSL_CTX_free(h->ssl_ctx);
	pthread_mutex_destroy(&h->lock);
	free(h->fingerprint);
	free(h->cert_pem);
	free(h->name);
	free(h);
}

struct httpd *
httpd_start(const struct httpd_opts *opts, char **cause)
{
	struct httpd		*h;
	struct sockaddr_in	 sin;
	socklen_t		 slen;
	sigset_t		 block, old;
	int			 one = 1, e;

	if (opts->handler == NULL) {
		set_cause(cause, "httpd: no handler");
		return (NULL);
	}
	if (opts->port < 0 || opts->port > 65535) {
		set_cause(cause, "httpd: port %d out of range", opts->port);
		return (NULL);
	}
	h = xcalloc(1, sizeof *h);
	h->listen_fd = h->wake[0] = h->wake[1] = -1;
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->stopping, 0);
	h->name = xstrdup(opts->name != NULL ? opts->name : "httpd");
	h->handler = opts->handler;
	h->arg = opts->arg;
	h->max_body = opts->max_body != 0 ? opts->max_body : HTTPD_MAX_BODY;

	if (opts->tls && tls_setup(h, cause) != 0)
		goto fail;
	if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		set_cause(cause, "httpd: pipe: %s", strerror(errno));
		goto fail;
	}
	h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->listen_fd == -1) {
		set_cause(cause, "httpd: socket: %s", strerror(errno));
		goto fail;
	}
	(void)setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)opts->port);
	if (bind(h->listen_fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		set_cause(cause, "cannot listen on 127.0.0.1:%d: %s",
		    opts->port, strerror(errno));
		goto fail;
	}
	if (listen(h->listen_fd, 64) == -1) {
		set_cause(cause, "httpd: listen: %s", strerror(errno));
		goto fail;
	}
	slen = sizeof sin;
	if (getsockname(h->listen_fd, (struct sockaddr *)&sin, &slen) == -1) {
		set_cause(cause, "httpd: getsockname: %s", strerror(errno));
		goto fail;
	}
	h->port = ntohs(sin.sin_port);

	/* Threads we start inherit a mask that leaves these to main. */
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	e = pthread_create(&h->acceptor, NULL, acceptor_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		set_cause(cause, "httpd: pthread_create: %s", strerror(e));
		goto fail;
	}
	log_debug(h->name, "listening port=%d tls=%d", h->port,
	    h->ssl_ctx != NULL);
	return (h);
fail:
	httpd_free(h);
	return (NULL);
}

void
httpd_stop(struct httpd *h)
{
	struct httpd_conn	*c;

	if (h == NULL)
		return;
	atomic_store(&h->stopping, 1);
	(void)write(h->wake[1], "s", 1);
	pthread_join(h->acceptor, NULL);
	pthread_mutex_lock(&h->lock);
	for (c = h->conns; c != NULL; c = c->next) {
		if (c->fd != -1)
			(void)shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&h->lock);
	reap_conns(h, 1);
	httpd_free(h);
}
