/*
 * net_http.h - pvebot's one HTTP client (src/net/net_http.c), over
 * libcurl, for every API it calls: the Telegram Bot API, the Matrix
 * client-server API, Discord's REST API, the Proxmox VE API, Alertmanager
 * and the dead-man ping. Each API describes only what differs
 * (struct net_http_api): its base URL, its auth header, its TLS options,
 * its caps and timeouts, whether a request may be sent twice, and the
 * classifier that turns a reply into the API's own result code.
 *
 * What it guarantees:
 * - Connections are kept alive and reused per API: a request borrows an
 *   idle client (one easy handle with its connections) from the API's
 *   pool and gives it back, so calls in a row cost one TCP connection
 *   and one TLS handshake. Without pinned certificates the clients of an
 *   API share their TLS sessions and DNS answers, so a second connection
 *   resumes the session. A client whose transfer ended without a
 *   complete reply is closed, not pooled.
 * - A request that is sent once (resend policy below) is never sent a
 *   second time behind the caller's back: libcurl's own resend after a
 *   kept-alive connection died is refused (the pre-request callback
 *   counts sends) and the request ends as NET_LOST. Such a request
 *   reuses a connection only while it was idle less than
 *   action_max_idle_s seconds (when set).
 * - Every reply body is capped (body_max): past it the transfer stops
 *   and ends as NET_TOO_BIG, with what arrived kept (body.truncated).
 *   Every request has a connect timeout and a total timeout.
 * - net_http_cancel() ends every cancellable request of the API at once
 *   (the flag is checked in the progress callback and the waiting thread
 *   is woken), and each one started later, until net_http_resume().
 * - TLS is verified against the system store or ca_file, or the leaf
 *   certificate's SHA-256 must equal one of the pins: then the OpenSSL
 *   verify callback accepts nothing else, a mismatch fails the handshake
 *   before any header (the secret) is sent, and TLS sessions are never
 *   resumed (a resumed session would skip the check).
 * - The auth header is copied, wiped when the API is freed, and never
 *   appears in reply->error; error texts are scrubbed of every
 *   registered secret (log_scrub).
 * - Retry-After is read by libcurl (CURLINFO_RETRY_AFTER: seconds or an
 *   HTTP date), other headers with curl_easy_header(): no hand parsing.
 *
 * Thread safety: one struct net_http serves any number of threads; each
 * request uses its client alone.
 */
#ifndef PVEBOT_NET_HTTP_H
#define PVEBOT_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct net_http;
struct net_reply;

/* When libcurl may send a request again on a new connection. */
enum net_resend {
	NET_RESEND_ALLOWED,	/* curl's default: the API is idempotent */
	NET_RESEND_READS,	/* GET only; every other method is sent once */
	NET_RESEND_NEVER	/* every request is sent once */
};

/* What one request came to, before the API's classifier. */
enum net_result {
	NET_REPLY,		/* a status line and the whole body arrived */
	NET_NOT_SENT,		/* nothing reached the server (resolve,
				 * connect, TLS handshake, timeout before) */
	NET_LOST,		/* sent, but no complete reply */
	NET_TLS,		/* the certificate was refused */
	NET_TOO_BIG,		/* the body passed body_max */
	NET_CANCELLED		/* net_http_cancel() */
};

/* Turns a reply into the API's own result code (net_http_do returns it). */
typedef int (*net_http_classify)(const struct net_reply *, void *arg);

struct net_http_api {
	const char	*name;		/* "telegram": log lines */
	/* Before each request's path; NULL: paths are whole URLs. */
	const char	*base_url;
	/* "Authorization: ..." (a secret) or NULL. */
	const char	*auth_header;
	const char	*username;	/* basic auth by libcurl, or NULL */
	const char	*password;
	const char	*user_agent;	/* NULL: "pvebot/VERSION" */
	/* More fixed headers, NULL-terminated, or NULL. */
	const char	*const *headers;
	int		 https_only;	/* else http and https */
	int		 http11;	/* HTTP/1.1, never HTTP/2 */
	const char	*ca_file;	/* NULL: the system store */
	/* Leaf certificate SHA-256 digests; none: CA verification. */
	const unsigned char (*pins)[32];
	size_t		 npins;
	long		 connect_timeout_ms;	/* 0: 10 s */
	long		 timeout_ms;	/* 0: 30 s; a request may set its own */
	size_t		 body_max;	/* 0: 1 MiB */
	enum net_resend	 resend;
	/* Requests sent once reuse a connection idle less than this; 0:
	 * libcurl's default. */
	long		 action_max_idle_s;
	size_t		 pool_max;	/* idle clients kept; 0: 4 */
	/* NULL: net_http_do returns 0 for NET_REPLY, else -1. */
	net_http_classify classify;
	void		*classify_arg;
};

#define NET_HTTP_WANT_MAX	8	/* headers a request may ask for */

struct net_request {
	const char	*method;	/* GET POST PUT PATCH DELETE */
	const char	*path;		/* appended to base_url */
	const char	*body;		/* NULL: none (an empty one for POST) */
	size_t		 body_len;	/* 0: strlen(body) */
	const char	*content_type;	/* with a body */
	long		 timeout_ms;	/* 0: the API's */
	int		 cancellable;	/* net_http_cancel() ends it */
	/* Reply headers wanted, NULL-terminated (at most NET_HTTP_WANT_MAX);
	 * reply->values[i] is the value of want[i] or NULL. */
	const char	*const *want;
};

struct net_reply {
	enum net_result	 result;
	long		 status;	/* 0: no status line came */
	char		 reason[256];	/* of the status line */
	struct buf	 body;		/* capped at body_max */
	int64_t		 retry_after;	/* seconds (Retry-After); 0: none */
	char		*values[NET_HTTP_WANT_MAX];
	char		 error[256];	/* why, when result != NET_REPLY */
	int		 sends;		/* requests libcurl sent (resends) */
	int		 pin_mismatch;	/* NET_TLS: the leaf is not pinned */
	/* NET_TLS: no pin check ran (never with OpenSSL): refused. */
	int		 pin_unchecked;
	int		 tls_got_set;	/* tls_got holds the leaf's digest */
	unsigned char	 tls_got[32];
};

/* NULL with *cause when libcurl cannot do what the API asks (pins). */
struct net_http	*net_http_create(const struct net_http_api *, char **cause);
void		 net_http_free(struct net_http *);

/*
 * One request; *reply is filled in every case (release it). Returns the
 * classifier's verdict, or 0 for NET_REPLY and -1 for the rest when the
 * API has none.
 */
int		 net_http_do(struct net_http *, const struct net_request *,
		    struct net_reply *);
void		 net_reply_release(struct net_reply *);

/* Ends cancellable requests in flight and refuses new ones ... */
void		 net_http_cancel(struct net_http *);
/* ... until this. */
void		 net_http_resume(struct net_http *);

/* Percent-escapes s for a URL path segment or form value; caller frees. */
char		*net_http_escape(const char *s);

#endif
