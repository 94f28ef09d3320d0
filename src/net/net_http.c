/*
 * net_http.c - the one HTTP client (include/net_http.h has its
 * guarantees): a pool of kept-alive clients per API, each one libcurl
 * easy handle driven by its own multi handle, so a waiting request can
 * be woken (curl_multi_wakeup) the moment it is cancelled.
 *
 * The options that never change for an API are set once, when a client
 * is made; a request sets only its URL, method, body, headers and
 * timeout. The callbacks point at the client, which one thread holds
 * for the whole request: the transfer's state (the reply being filled,
 * the sends counted, what the pin check saw) lives there.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "net_http.h"
#include "util.h"

#define NET_CONNECT_TIMEOUT_MS	10000L
#define NET_TIMEOUT_MS		30000L
#define NET_BODY_MAX		(1024 * 1024)
#define NET_POOL_MAX		4
#define NET_VALUE_MAX		256	/* a wanted header's value, bytes */

struct net_client {
	struct net_http		*http;
	CURL			*easy;
	CURLM			*multi;
	struct net_client	*next;		/* pool or busy list */

	/* Headers of the last request: rebuilt when its content type
	 * differs. */
	struct curl_slist	*headers;
	char			*headers_type;

	/* The transfer in hand. */
	const struct net_request *req;
	struct net_reply	*reply;
	int			 once;
	int			 pin_checked;
	int			 pin_mismatch;
	char			 errbuf[CURL_ERROR_SIZE];
};

struct net_http {
	char			*name;
	char			*base_url;
	char			*auth_header;	/* secret */
	char			*username;
	char			*password;	/* secret */
	char			*user_agent;
	char			**headers;
	size_t			 nheaders;
	int			 https_only;
	int			 http11;
	char			*ca_file;
	unsigned char		(*pins)[32];
	size_t			 npins;
	long			 connect_timeout_ms;
	long			 timeout_ms;
	size_t			 body_max;
	enum net_resend		 resend;
	long			 action_max_idle_s;
	size_t			 pool_max;
	net_http_classify	 classify;
	void			*classify_arg;

	/* TLS sessions and DNS answers, shared by the clients. */
	CURLSH			*share;
	pthread_mutex_t		 share_lock[CURL_LOCK_DATA_LAST];

	pthread_mutex_t		 lock;		/* pool, busy */
	struct net_client	*pool;
	size_t			 npool;
	struct net_client	*busy;
	atomic_int		 cancelled;
};

static pthread_once_t	 net_once = PTHREAD_ONCE_INIT;
static int		 net_ctx_index = -1;

static void
net_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	net_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct net_http	*http = arg;

	pthread_mutex_lock(&http->share_lock[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct net_http	*http = arg;

	pthread_mutex_unlock(&http->share_lock[data]);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

struct net_http *
net_http_create(const struct net_http_api *api, char **cause)
{
	struct net_http	*http;
	size_t		 i, n = 0;

	pthread_once(&net_once, net_global_init);
	if (api->npins > 0 && net_ctx_index < 0) {
		set_cause(cause, "%s: cannot pin certificates (OpenSSL "
		    "refused an index)", api->name);
		return NULL;
	}
	http = xcalloc(1, sizeof *http);
	http->name = xstrdup(api->name != NULL ? api->name : "http");
	http->base_url = dup_or_null(api->base_url);
	http->auth_header = dup_or_null(api->auth_header);
	http->username = dup_or_null(api->username);
	http->password = dup_or_null(api->password);
	http->user_agent = xstrdup(api->user_agent != NULL ?
	    api->user_agent : "pvebot/" PVEBOT_VERSION);
	while (api->headers != NULL && api->headers[n] != NULL)
		n++;
	http->headers = xcalloc(n + 1, sizeof *http->headers);
	for (i = 0; i < n; i++)
		http->headers[i] = xstrdup(api->headers[i]);
	http->nheaders = n;
	http->https_only = api->https_only;
	http->http11 = api->http11;
	http->ca_file = dup_or_null(api->ca_file);
	if (api->npins > 0) {
		http->pins = xcalloc(api->npins, sizeof *http->pins);
		memcpy(http->pins, api->pins, api->npins * sizeof *http->pins);
		http->npins = api->npins;
	}
	http->connect_timeout_ms = api->connect_timeout_ms > 0 ?
	    api->connect_timeout_ms : NET_CONNECT_TIMEOUT_MS;
	http->timeout_ms = api->timeout_ms > 0 ? api->timeout_ms :
	    NET_TIMEOUT_MS;
	http->body_max = api->body_max > 0 ? api->body_max : NET_BODY_MAX;
	http->resend = api->resend;
	http->action_max_idle_s = api->action_max_idle_s;
	http->pool_max = api->pool_max > 0 ? api->pool_max : NET_POOL_MAX;
	http->classify = api->classify;
	http->classify_arg = api->classify_arg;
	pthread_mutex_init(&http->lock, NULL);

	/* A pinned API never resumes a session: the pin is checked on a
	 * full handshake only. */
	if (http->npins == 0 && (http->share = curl_share_init()) != NULL) {
		for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_init(&http->share_lock[i], NULL);
		curl_share_setopt(http->share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(http->share, CURLSHOPT_UNLOCKFUNC,
		    share_unlock);
		curl_share_setopt(http->share, CURLSHOPT_USERDATA, http);
		curl_share_setopt(http->share, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_SSL_SESSION);
		curl_share_setopt(http->share, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_DNS);
	}
	return http;
}

static void
client_free(struct net_client *c)
{
	if (c == NULL)
		return;
	curl_multi_cleanup(c->multi);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->headers_type);
	free(c);
}

void
net_http_free(struct net_http *http)
{
	struct net_client	*c;
	size_t			 i;

	if (http == NULL)
		return;
	while ((c = http->pool) != NULL) {
		http->pool = c->next;
		client_free(c);
	}
	if (http->share != NULL) {
		curl_share_cleanup(http->share);
		for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&http->share_lock[i]);
	}
	for (i = 0; i < http->nheaders; i++)
		free(http->headers[i]);
	free(http->headers);
	free(http->name);
	wipe_free(http->base_url);	/* may hold a token */
	wipe_free(http->auth_header);
	free(http->username);
	wipe_free(http->password);
	free(http->user_agent);
	free(http->ca_file);
	free(http->pins);
	pthread_mutex_destroy(&http->lock);
	free(http);
}

void
net_http_cancel(struct net_http *http)
{
	struct net_client	*c;

	pthread_mutex_lock(&http->lock);
	atomic_store(&http->cancelled, 1);
	for (c = http->busy; c != NULL; c = c->next)
		curl_multi_wakeup(c->multi);
	pthread_mutex_unlock(&http->lock);
}

void
net_http_resume(struct net_http *http)
{
	atomic_store(&http->cancelled, 0);
}

char *
net_http_escape(const char *s)
{
	char	*e, *out;

	pthread_once(&net_once, net_global_init);
	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		log_fatal("net_http", "curl_easy_escape failed");
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/* ---- callbacks ------------------------------------------------------ */

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct net_client	*c = arg;

	if (buf_append(&c->reply->body, ptr, size * nmemb) != 0)
		return 0;	/* past the cap: the transfer fails */
	return size * nmemb;
}

/* Keeps the reason phrase of the last status line (Proxmox puts its
 * error there). */
static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct net_client	*c = arg;
	size_t			 len = size * nmemb, n = 0;
	const char		*p, *end = ptr + len;

	if (len < 12 || memcmp(ptr, "HTTP/", 5) != 0)
		return len;
	if ((p = memchr(ptr, ' ', len)) == NULL || end - p < 4)
		return len;
	for (p += 4; p < end && *p == ' '; p++)
		;
	while (p < end && *p != '\r' && *p != '\n' &&
	    n < sizeof c->reply->reason - 1)
		c->reply->reason[n++] = *p++;
	c->reply->reason[n] = '\0';
	return len;
}

/*
 * Called by libcurl before each request it sends: a second one in the
 * same call is its silent resend after a kept-alive connection died,
 * refused for a request that may only be sent once.
 */
static int
on_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
    int local_port)
{
	struct net_client	*c = arg;

	if (++c->reply->sends > 1 && c->once)
		return CURL_PREREQFUNC_ABORT;
	return CURL_PREREQFUNC_OK;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct net_client	*c = arg;

	return c->req->cancellable && atomic_load(&c->http->cancelled);
}

/*
 * The pin check. OpenSSL calls this for each certificate of the chain;
 * only the leaf (depth 0) decides, and it passes only when its SHA-256
 * equals a pin, whatever the chain's own verdict.
 */
static int
pin_verify(int preverify_ok, X509_STORE_CTX *xctx)
{
	SSL			*ssl;
	struct net_client	*c;
	X509			*cert;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	size_t			 i;

	ssl = X509_STORE_CTX_get_ex_data(xctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL)
		return 0;
	c = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), net_ctx_index);
	if (c == NULL)
		return 0;
	if (X509_STORE_CTX_get_error_depth(xctx) > 0)
		return 1;
	cert = X509_STORE_CTX_get_current_cert(xctx);
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 ||
	    mdlen != 32) {
		c->pin_mismatch = 1;
		return 0;
	}
	memcpy(c->reply->tls_got, md, 32);
	c->reply->tls_got_set = 1;
	c->pin_checked = 1;
	for (i = 0; i < c->http->npins; i++) {
		if (memcmp(c->http->pins[i], md, 32) == 0) {
			X509_STORE_CTX_set_error(xctx, X509_V_OK);
			c->pin_mismatch = 0;
			return 1;
		}
	}
	c->pin_mismatch = 1;
	return 0;
}

static CURLcode
on_ssl_ctx(CURL *h, void *sslctx, void *arg)
{
	SSL_CTX	*ctx = sslctx;

	if (SSL_CTX_set_ex_data(ctx, net_ctx_index, arg) != 1)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, pin_verify);
	/* No resumption: a resumed session would skip the callback. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return CURLE_OK;
}

/* ---- clients -------------------------------------------------------- */

/* A new client with every option of its API set. */
static struct net_client *
client_new(struct net_http *http)
{
	struct net_client	*c;
	CURL			*h;

	c = xcalloc(1, sizeof *c);
	c->http = http;
	if ((c->easy = h = curl_easy_init()) == NULL ||
	    (c->multi = curl_multi_init()) == NULL)
		log_fatal("net_http", "cannot start libcurl");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, http->https_only ?
	    "https" : "http,https");
	if (http->http11)
		curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
		    CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, http->user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    http->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, c);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	if (http->username != NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, http->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, http->password != NULL ?
		    http->password : "");
	}
	if (http->share != NULL)
		curl_easy_setopt(h, CURLOPT_SHARE, http->share);
	if (http->npins > 0) {
		/* The callback replaces chain and host name checks by the
		 * pin; curl must not add its own verdict on top. */
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c);
		if (curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) !=
		    CURLE_OK)
			log_fatal("net_http", "this libcurl cannot pin "
			    "certificates (no OpenSSL backend)");
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (http->ca_file != NULL)
			curl_easy_setopt(h, CURLOPT_CAINFO, http->ca_file);
	}
	return c;
}

static struct net_client *
client_get(struct net_http *http)
{
	struct net_client	*c;

	pthread_mutex_lock(&http->lock);
	if ((c = http->pool) != NULL) {
		http->pool = c->next;
		http->npool--;
	}
	pthread_mutex_unlock(&http->lock);
	return c != NULL ? c : client_new(http);
}

static void
client_put(struct net_http *http, struct net_client *c, int keep)
{
	pthread_mutex_lock(&http->lock);
	if (keep && http->npool < http->pool_max) {
		c->next = http->pool;
		http->pool = c;
		http->npool++;
		c = NULL;
	}
	pthread_mutex_unlock(&http->lock);
	client_free(c);
}

static void
busy_add(struct net_http *http, struct net_client *c)
{
	pthread_mutex_lock(&http->lock);
	c->next = http->busy;
	http->busy = c;
	pthread_mutex_unlock(&http->lock);
}

static void
busy_remove(struct net_http *http, struct net_client *c)
{
	struct net_client	**p;

	pthread_mutex_lock(&http->lock);
	for (p = &http->busy; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	c->next = NULL;
	pthread_mutex_unlock(&http->lock);
}

/* The header list for a content type (NULL: none), kept between calls. */
static struct curl_slist *
client_headers(struct net_client *c, const char *content_type)
{
	struct net_http		*http = c->http;
	struct curl_slist	*l = NULL;
	char			*h;
	size_t			 i;

	if (c->headers != NULL && (content_type == NULL ?
	    c->headers_type == NULL : c->headers_type != NULL &&
	    strcmp(content_type, c->headers_type) == 0))
		return c->headers;
	curl_slist_free_all(c->headers);
	free(c->headers_type);
	if (http->auth_header != NULL)
		l = curl_slist_append(l, http->auth_header);
	for (i = 0; i < http->nheaders; i++)
		l = curl_slist_append(l, http->headers[i]);
	if (content_type != NULL) {
		h = xasprintf("Content-Type: %s", content_type);
		l = curl_slist_append(l, h);
		free(h);
	}
	/* No "Expect: 100-continue" wait on a large body. */
	l = curl_slist_append(l, "Expect:");
	if (l == NULL)
		log_fatal("net_http", "cannot build a header list");
	c->headers = l;
	c->headers_type = dup_or_null(content_type);
	return l;
}

/* Runs the transfer; woken at once by net_http_cancel(). */
static CURLcode
client_perform(struct net_client *c, int *cancelled)
{
	struct net_http	*http = c->http;
	CURLMsg		*msg;
	CURLcode	 cc = CURLE_ABORTED_BY_CALLBACK;
	int		 running = 1, left, done = 0;

	*cancelled = 0;
	curl_multi_add_handle(c->multi, c->easy);
	if (c->req->cancellable)
		busy_add(http, c);
	for (;;) {
		if (curl_multi_perform(c->multi, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
			if (msg->msg == CURLMSG_DONE) {
				cc = msg->data.result;
				done = 1;
			}
		}
		if (done || !running)
			break;
		if (c->req->cancellable && atomic_load(&http->cancelled)) {
			*cancelled = 1;
			break;
		}
		if (curl_multi_poll(c->multi, NULL, 0, 1000, NULL) !=
		    CURLM_OK)
			break;
	}
	if (c->req->cancellable)
		busy_remove(http, c);
	curl_multi_remove_handle(c->multi, c->easy);
	/* Ended by the loop, or by the progress callback. */
	if (c->req->cancellable && atomic_load(&http->cancelled) &&
	    (!done || cc == CURLE_ABORTED_BY_CALLBACK))
		*cancelled = 1;
	return cc;
}

/* Resolving, connecting or the handshake failed: nothing was sent. */
static int
not_sent(CURLcode cc, CURL *h)
{
	curl_off_t	 sent = 0;
	long		 request_size = 0;

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return 1;
	case CURLE_OPERATION_TIMEDOUT:
		/* A timeout before the request went out: still unsent. */
		curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
		curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &sent);
		return request_size == 0 && sent == 0;
	default:
		return 0;
	}
}

/* libcurl's sentence, scrubbed of every registered secret. */
static void
reply_error(struct net_reply *r, const char *text)
{
	char	*clean = log_scrub(text);

	snprintf(r->error, sizeof r->error, "%s", clean);
	free(clean);
}

/* What the transfer came to. */
static enum net_result
client_result(struct net_client *c, CURLcode cc, int cancelled)
{
	struct net_http		*http = c->http;
	struct net_reply	*r = c->reply;
	const char		*why = c->errbuf[0] != '\0' ? c->errbuf :
				    curl_easy_strerror(cc);
	long			 nconnects = 0;

	if (cancelled) {
		snprintf(r->error, sizeof r->error, "cancelled");
		return NET_CANCELLED;
	}
	if (cc == CURLE_OK && http->npins > 0) {
		curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &nconnects);
		if (nconnects > 0 && !c->pin_checked) {
			/* Cannot happen with OpenSSL; refuse, not trust. */
			snprintf(r->error, sizeof r->error, "the TLS "
			    "fingerprint was not checked");
			r->pin_unchecked = 1;
			return NET_TLS;
		}
	}
	if (cc == CURLE_OK)
		return NET_REPLY;
	if (c->pin_mismatch) {
		snprintf(r->error, sizeof r->error, "TLS fingerprint "
		    "mismatch");
		r->pin_mismatch = 1;
		return NET_TLS;
	}
	if (cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CACERT_BADFILE) {
		reply_error(r, why);
		return NET_TLS;
	}
	if (r->body.truncated) {
		snprintf(r->error, sizeof r->error, "reply larger than %zu "
		    "bytes", http->body_max);
		return NET_TOO_BIG;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && r->sends > 1) {
		snprintf(r->error, sizeof r->error, "the connection closed "
		    "before the reply");
		return NET_LOST;
	}
	reply_error(r, why);
	return not_sent(cc, c->easy) ? NET_NOT_SENT : NET_LOST;
}

/* The wanted headers, read with curl_easy_header(). */
static void
reply_values(struct net_client *c)
{
	const char *const	*want = c->req->want;
	struct curl_header	*h;
	size_t			 i;

	for (i = 0; want != NULL && want[i] != NULL && i < NET_HTTP_WANT_MAX;
	    i++) {
		if (curl_easy_header(c->easy, want[i], 0, CURLH_HEADER, -1,
		    &h) == CURLHE_OK && h->value != NULL)
			c->reply->values[i] = xstrndup(h->value,
			    NET_VALUE_MAX);
	}
}

int
net_http_do(struct net_http *http, const struct net_request *req,
    struct net_reply *r)
{
	struct net_client	*c;
	CURL			*h;
	CURLcode		 cc;
	curl_off_t		 retry_after = 0;
	char			*url;
	const char		*method = req->method;
	int			 cancelled, is_get, is_post;

	memset(r, 0, sizeof *r);
	buf_init(&r->body, http->body_max);
	if (req->cancellable && atomic_load(&http->cancelled)) {
		r->result = NET_CANCELLED;
		snprintf(r->error, sizeof r->error, "cancelled");
		goto classify;
	}
	c = client_get(http);
	h = c->easy;
	c->req = req;
	c->reply = r;
	c->pin_checked = c->pin_mismatch = 0;
	c->errbuf[0] = '\0';
	is_get = strcmp(method, "GET") == 0;
	is_post = strcmp(method, "POST") == 0;
	c->once = http->resend == NET_RESEND_NEVER ||
	    (http->resend == NET_RESEND_READS && !is_get);

	if (http->base_url != NULL) {
		url = xasprintf("%s%s", http->base_url, req->path);
		curl_easy_setopt(h, CURLOPT_URL, url);
		explicit_bzero(url, strlen(url));	/* may hold a token */
		free(url);
	} else
		curl_easy_setopt(h, CURLOPT_URL, req->path);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, client_headers(c,
	    req->content_type));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ?
	    req->timeout_ms : http->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, c->once &&
	    http->action_max_idle_s > 0 ? http->action_max_idle_s : 118L);
	if (is_get) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	} else if (req->body != NULL || is_post) {
		const char	*body = req->body != NULL ? req->body : "";

		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)
		    (req->body_len > 0 ? req->body_len : strlen(body)));
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, is_post ? NULL :
		    method);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}

	cc = client_perform(c, &cancelled);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	r->result = client_result(c, cc, cancelled);
	if (r->status != 0) {
		if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) ==
		    CURLE_OK && retry_after > 0)
			r->retry_after = retry_after;
		reply_values(c);
	}
	/* The request's body and this frame's pointers must not outlive
	 * the call. */
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	c->req = NULL;
	c->reply = NULL;
	client_put(http, c, r->result == NET_REPLY ||
	    r->result == NET_NOT_SENT || r->result == NET_TLS);

classify:
	if (http->classify != NULL)
		return http->classify(r, http->classify_arg);
	return r->result == NET_REPLY ? 0 : -1;
}

void
net_reply_release(struct net_reply *r)
{
	size_t	i;

	if (r == NULL)
		return;
	buf_release(&r->body);
	for (i = 0; i < NET_HTTP_WANT_MAX; i++) {
		free(r->values[i]);
		r->values[i] = NULL;
	}
}
