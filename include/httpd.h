/*
 * httpd.h - a small HTTP/1.1 server for the Proxmox simulator, the fake
 * servers in tests/fakes/ and pvebot's own endpoint (src/http/), built
 * on libwebsockets (sockets, TLS, event loop, timers) and http_parser
 * (HTTP/1.1 syntax); see src/net/httpd_lws.c.
 *
 * What it guarantees:
 * - It binds 127.0.0.1 unless opts.address names another IP literal
 *   (pvebot's listener; tests never do); port 0 picks a free port
 *   (httpd_port()).
 * - At most HTTPD_MAX_CONNS connections at once (more are closed at
 *   once). Each request runs its handler on a thread of its own (a pool
 *   of at most HTTPD_MAX_CONNS), so a handler may block for a long time
 *   (a long poll) without stalling other requests. Handlers run
 *   concurrently: a handler that touches shared state takes its own
 *   lock. Replies on one connection go out in request order.
 * - Input is capped: request line plus headers 16 KiB and 100 header
 *   lines (431 past it), body opts.max_body (default 1 MiB, 413 past
 *   it). A body needs Content-Length; chunked request bodies are refused
 *   with 411 unless opts.chunked, then they are decoded under the same
 *   cap. Malformed requests get 400 and the connection is closed. The
 *   handler only ever sees a well-formed request. Every refusal is
 *   reported to opts.refused (when set) with the peer and the reason.
 * - Keep-alive is supported for HTTP/1.1 (a handler may force
 *   `Connection: close` with resp->close). A request must arrive whole
 *   within opts.timeout_s (default 15) of its first byte, an idle
 *   connection is closed after as long, and so is one not reading its
 *   reply; no timeout runs while a handler works.
 * - With opts.cert_pem and opts.key_pem it serves HTTPS with that
 *   certificate (pvebot's listener reads them from files).
 * - With opts.tls it generates a self-signed EC P-256 certificate
 *   (CN 127.0.0.1, SAN IP:127.0.0.1 and DNS:localhost) in memory at start;
 *   httpd_fingerprint() gives its SHA-256 in the form Proxmox shows it
 *   ("AA:BB:..."), httpd_cert_pem() its PEM (usable as a CA file).
 * - httpd_stop() raises httpd_stopping(), waits for every handler to
 *   return (their replies still go out, with Connection: close), then
 *   closes the listener and every connection and frees everything. A
 *   handler that blocks must poll httpd_stopping() (or be woken by its
 *   owner) so stop does not wait for its full timeout.
 */
#ifndef PVEBOT_HTTPD_H
#define PVEBOT_HTTPD_H

#include <stddef.h>

#include "util.h"

#define HTTPD_MAX_HEAD		(16 * 1024)
#define HTTPD_MAX_BODY		(1024 * 1024)
#define HTTPD_MAX_CONNS		64
#define HTTPD_MAX_RESP_BODY	(32 * 1024 * 1024)

struct httpd;

/* A key/value pair (a header, a query or form parameter). */
struct httpd_kv {
	char	*key;
	char	*value;
};

/* One request, valid only during the handler call. */
struct httpd_req {
	const char	*method;	/* "GET", "POST", ... as sent */
	const char	*path;		/* percent-decoded, without the query */
	const char	*raw_path;	/* as sent, without the query */
	const char	*query;		/* raw text after '?', "" if none */
	struct httpd_kv	*headers;	/* names as sent */
	size_t		 nheaders;
	const char	*body;		/* NUL-terminated; "" if none */
	size_t		 body_len;
	const char	*peer;		/* "127.0.0.1:PORT", "[::1]:PORT" */
	int		 tls;		/* 1 when it came over TLS */
};

/*
 * The reply a handler fills. Before the call: status 200, empty body,
 * content_type "application/json;charset=UTF-8", both buffers
 * initialised (body capped at HTTPD_MAX_RESP_BODY).
 */
struct httpd_resp {
	int		 status;
	const char	*reason;	/* status text; NULL = the standard one */
	const char	*content_type;	/* NULL = no Content-Type header */
	struct buf	 headers_extra;	/* extra "Name: value\r\n" lines */
	struct buf	 body;
	int		 drop;		/* close without replying (faults) */
	int		 delay_ms;	/* wait this long before replying */
	int		 close;		/* send Connection: close and close */
};

typedef void (*httpd_handler)(void *arg, const struct httpd_req *,
    struct httpd_resp *);
/*
 * A request the server refused before any handler saw it (400, 408,
 * 411, 413, 431, 501...): the peer, the status and why. Called on the
 * service thread; it must not block.
 */
typedef void (*httpd_refused_fn)(void *arg, const char *peer, int status,
    const char *why);

struct httpd_opts {
	const char	*address;	/* IP literal; NULL = 127.0.0.1 */
	int		 port;		/* 0 = a free port */
	int		 tls;		/* 1 = HTTPS with a fresh certificate */
	const char	*cert_pem;	/* HTTPS with this certificate... */
	const char	*key_pem;	/* ...and key (copied, then wiped) */
	httpd_handler	 handler;
	void		*arg;		/* passed to the handler */
	size_t		 max_body;	/* 0 = HTTPD_MAX_BODY */
	int		 chunked;	/* accept chunked request bodies */
	int		 timeout_s;	/* 0 = 15 */
	httpd_refused_fn refused;	/* may be NULL */
	const char	*name;		/* log prefix; NULL = "httpd" */
};

/* Starts listening and serving; NULL with *cause on failure. */
struct httpd	*httpd_start(const struct httpd_opts *, char **cause);
/* Stops, joins every thread and frees; NULL is fine. */
void		 httpd_stop(struct httpd *);
int		 httpd_port(const struct httpd *);
/* Connections accepted so far: over TLS, one handshake each. */
unsigned long long httpd_accepted(struct httpd *);
/* "AA:BB:..." (SHA-256 of the DER certificate); NULL without a
 * generated certificate. */
const char	*httpd_fingerprint(const struct httpd *);
/* The certificate as PEM; NULL without TLS. */
const char	*httpd_cert_pem(const struct httpd *);
/* 1 once httpd_stop() has begun: blocking handlers return early. */
int		 httpd_stopping(const struct httpd *);

/* A request header by name, case-insensitive; NULL if absent. */
const char	*httpd_header(const struct httpd_req *, const char *name);

/*
 * Percent-decodes s[0..len) into a new string (caller frees); with
 * plus_space '+' becomes ' ' (form and query encoding). NULL when an
 * escape is malformed or decodes to NUL.
 */
char		*httpd_url_decode(const char *s, size_t len, int plus_space);

/*
 * Parses application/x-www-form-urlencoded text (also a query string)
 * into *out (caller frees with httpd_kv_free). Repeated keys are kept in
 * order; "k" alone gives value "". At most 1024 pairs. Returns 0, or -1
 * on a malformed escape or too many pairs (nothing is returned then).
 */
int		 httpd_parse_form(const char *s, size_t len,
		    struct httpd_kv **out, size_t *n);
void		 httpd_kv_free(struct httpd_kv *, size_t);
/* First value for key in a list; NULL if absent. */
const char	*httpd_kv_get(const struct httpd_kv *, size_t n,
		    const char *key);

/* The standard reason phrase of a status code ("OK", "Not Found"). */
const char	*httpd_reason(int status);

#endif
