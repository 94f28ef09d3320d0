/*
 * exec_proxmox.c - the transport of the Proxmox VE client: one HTTPS
 * request to the API with the token header, over the URLs of one cluster.
 *
 * Guarantees:
 * - TLS is verified against the system store or ca_file, or the leaf
 *   certificate's SHA-256 must equal a pinned fingerprint; with a pin the
 *   OpenSSL verify callback accepts nothing else, so a mismatch fails the
 *   handshake before the token is sent. There is no unverified mode.
 * - URLs are tried in order starting with the last one that answered; a
 *   URL that cannot be reached is skipped for the next.
 * - A GET is tried up to three times with backoff. A POST, PUT or DELETE
 *   is tried again (on the next URL or after the backoff) only when it
 *   provably never reached a server: resolving, connecting or the TLS
 *   handshake failed. Once the request was sent it is never repeated.
 * - Reply bodies are capped at PVE_REPLY_MAX; the secret never appears in
 *   a cause or a log line.
 * - One struct pve serves many threads: each call borrows an easy handle
 *   from a small pool (handles keep their connections between calls, so
 *   a run of actions costs one TLS handshake). libcurl
 *   sends a request again by itself when a kept-alive connection dies
 *   before the reply; for an action the second send is refused (the
 *   pre-request callback counts sends), so the caller sees "may have
 *   run" and looks for the task. An action reuses a connection only while
 *   it was idle less than PVE_ACTION_MAXAGE seconds, well inside the time
 *   pveproxy keeps one open.
 * - A replay client (pve_create_replay, for fuzzing and tests) swaps only
 *   the network attempt: its replies take the same path from status line
 *   and body to the caller.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf.h"
#include "exec_proxmox.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define PVE_TRIES		3
#define PVE_BACKOFF_MS		250
#define PVE_POOL_MAX		8
#define PVE_MAX_PINS		8

struct pve {
	char		**urls;		/* without a trailing slash */
	size_t		  nurls;
	char		 *auth_header;	/* holds the secret */
	char		 *ca_file;
	char		  pins[PVE_MAX_PINS][96];
	size_t		  npins;
	long		  connect_timeout;
	long		  request_timeout;

	pthread_mutex_t	  lock;		/* good, pool */
	size_t		  good;		/* index of the URL that last answered */
	CURL		 *pool[PVE_POOL_MAX];
	size_t		  npool;

	pve_guest_observer observer;	/* set before threads start */
	void		 *observer_arg;
	pve_replay_fn	  replay;	/* instead of the network, if set */
	void		 *replay_arg;
};

void
pve_set_guest_observer(struct pve *pve, pve_guest_observer fn, void *arg)
{
	pve->observer = fn;
	pve->observer_arg = arg;
}

void
pve_observe_guests(struct pve *pve, const struct pve_guest *g, size_t n)
{
	if (pve->observer != NULL)
		pve->observer(pve->observer_arg, g, n);
}

/* What one attempt on one URL came to. */
enum attempt {
	ATTEMPT_REPLY,		/* an HTTP status line and body arrived */
	ATTEMPT_NOT_SENT,	/* nothing reached the server */
	ATTEMPT_LOST,		/* sent, but no complete reply */
	ATTEMPT_TLS		/* certificate refused: a configuration fault */
};

struct pve_call {
	struct pve	*pve;
	struct buf	 body;
	long		 status;
	char		 reason[256];
	int		 too_big;
	int		 pin_checked;	/* the verify callback saw the leaf */
	int		 pin_mismatch;
	char		 got[96];	/* fingerprint the server showed */
	int		 sends;		/* requests libcurl sent */
	int		 once;		/* an action: one send only */
};

/* Idle seconds after which an action takes a new connection. */
#define PVE_ACTION_MAXAGE	3L

static pthread_once_t	 pve_once = PTHREAD_ONCE_INIT;
static int		 pve_ctx_index = -1;

static void
pve_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pve_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Pins are "AA:BB:..", several separated by commas or spaces. */
static int
parse_pins(struct pve *pve, const char *text, char **cause)
{
	char	*copy, *word, *save = NULL;
	int	 rc = 0;

	copy = xstrdup(text);
	for (word = strtok_r(copy, ", \t", &save); word != NULL;
	    word = strtok_r(NULL, ", \t", &save)) {
		if (pve->npins == PVE_MAX_PINS) {
			rc = set_cause(cause, "proxmox.fingerprint: at most %d "
			    "fingerprints", PVE_MAX_PINS);
			break;
		}
		if (pve_fingerprint_normalize(word, pve->pins[pve->npins])
		    != 0) {
			rc = set_cause(cause, "proxmox.fingerprint: '%.40s' is "
			    "not a SHA-256 fingerprint (32 hex pairs such as "
			    "AA:BB:...)", word);
			break;
		}
		pve->npins++;
	}
	free(copy);
	if (rc == 0 && pve->npins == 0)
		rc = set_cause(cause, "proxmox.fingerprint is empty");
	return rc;
}

struct pve *
pve_create(const struct conf_proxmox *cf, char **cause)
{
	struct pve	*pve;
	const char	*bang, *at;
	size_t		 i, len;

	pthread_once(&pve_once, pve_global_init);
	if (cf == NULL || cf->nurls == 0) {
		set_cause(cause, "proxmox: no urls configured");
		return NULL;
	}
	for (i = 0; i < cf->nurls; i++) {
		if (!str_has_prefix(cf->urls[i], "https://") ||
		    strlen(cf->urls[i]) <= strlen("https://")) {
			set_cause(cause, "proxmox.urls: '%s' is not an https "
			    "URL (https://HOST:8006/api2/json)", cf->urls[i]);
			return NULL;
		}
	}
	if (cf->token_id == NULL || (at = strchr(cf->token_id, '@')) == NULL ||
	    (bang = strchr(at, '!')) == NULL || bang[1] == '\0' ||
	    at == cf->token_id || strpbrk(cf->token_id, " \t\r\n=") != NULL) {
		set_cause(cause, "proxmox.token_id must look like "
		    "user@realm!tokenid");
		return NULL;
	}
	if (cf->secret == NULL || *cf->secret == '\0' ||
	    strpbrk(cf->secret, "\r\n") != NULL) {
		set_cause(cause, "proxmox: the token secret is missing or "
		    "not one line");
		return NULL;
	}
	if (cf->ca_file != NULL && *cf->ca_file != '\0' &&
	    access(cf->ca_file, R_OK) != 0) {
		set_cause(cause, "proxmox.ca_file: cannot read %s",
		    cf->ca_file);
		return NULL;
	}
	log_add_secret(cf->secret);

	pve = xcalloc(1, sizeof *pve);
	if (cf->fingerprint != NULL && *cf->fingerprint != '\0' &&
	    parse_pins(pve, cf->fingerprint, cause) != 0) {
		free(pve);
		return NULL;
	}
	pve->urls = xcalloc(cf->nurls, sizeof *pve->urls);
	for (i = 0; i < cf->nurls; i++) {
		pve->urls[i] = xstrdup(cf->urls[i]);
		len = strlen(pve->urls[i]);
		while (len > 0 && pve->urls[i][len - 1] == '/')
			pve->urls[i][--len] = '\0';
	}
	pve->nurls = cf->nurls;
	pve->auth_header = xasprintf("Authorization: PVEAPIToken=%s=%s",
	    cf->token_id, cf->secret);
	if (cf->ca_file != NULL && *cf->ca_file != '\0')
		pve->ca_file = xstrdup(cf->ca_file);
	pve->connect_timeout = cf->connect_timeout > 0 ?
	    (long)cf->connect_timeout : 5;
	pve->request_timeout = cf->request_timeout > 0 ?
	    (long)cf->request_timeout : 30;
	pthread_mutex_init(&pve->lock, NULL);
	return pve;
}

struct pve *
pve_create_replay(pve_replay_fn fn, void *arg)
{
	struct pve	*pve;

	pve = xcalloc(1, sizeof *pve);
	pve->urls = xcalloc(1, sizeof *pve->urls);
	pve->urls[0] = xstrdup("replay:");
	pve->nurls = 1;
	pve->replay = fn;
	pve->replay_arg = arg;
	pthread_mutex_init(&pve->lock, NULL);
	return pve;
}

void
pve_free(struct pve *pve)
{
	size_t	i;

	if (pve == NULL)
		return;
	for (i = 0; i < pve->npool; i++)
		curl_easy_cleanup(pve->pool[i]);
	strv_free(pve->urls, pve->nurls);
	if (pve->auth_header != NULL) {
		explicit_bzero(pve->auth_header, strlen(pve->auth_header));
		free(pve->auth_header);
	}
	free(pve->ca_file);
	pthread_mutex_destroy(&pve->lock);
	free(pve);
}

char *
pve_current_url(struct pve *pve)
{
	char	*url;

	if (pve == NULL)
		return xstrdup("");
	pthread_mutex_lock(&pve->lock);
	url = xstrdup(pve->urls[pve->good]);
	pthread_mutex_unlock(&pve->lock);
	return url;
}

static CURL *
handle_get(struct pve *pve)
{
	CURL	*h = NULL;

	pthread_mutex_lock(&pve->lock);
	if (pve->npool > 0)
		h = pve->pool[--pve->npool];
	pthread_mutex_unlock(&pve->lock);
	if (h == NULL)
		h = curl_easy_init();
	else
		curl_easy_reset(h);
	if (h == NULL)
		log_fatal("exec_proxmox", "curl_easy_init failed");
	return h;
}

static void
handle_put(struct pve *pve, CURL *h)
{
	pthread_mutex_lock(&pve->lock);
	if (pve->npool < PVE_POOL_MAX) {
		pve->pool[pve->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&pve->lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

/*
 * Called by libcurl before each request it sends. A second one in the
 * same call is its silent retry on a new connection: never for an
 * action, which may have run.
 */
static int
on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip,
    int conn_primary_port, int conn_local_port)
{
	struct pve_call	*call = arg;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	if (++call->sends > 1 && call->once)
		return CURL_PREREQFUNC_ABORT;
	return CURL_PREREQFUNC_OK;
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct pve_call	*call = arg;

	if (buf_append(&call->body, ptr, size * nmemb) != 0) {
		call->too_big = 1;
		return 0;
	}
	return size * nmemb;
}

/* Keeps the status and reason phrase of the last status line. */
static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct pve_call	*call = arg;
	size_t		 len = size * nmemb, i, n;
	const char	*p, *end = ptr + len;
	long		 status = 0;

	if (len < 12 || strncmp(ptr, "HTTP/", 5) != 0)
		return len;
	p = memchr(ptr, ' ', len);
	if (p == NULL)
		return len;
	p++;
	for (i = 0; i < 3 && p < end && isdigit((unsigned char)*p); i++, p++)
		status = status * 10 + (*p - '0');
	if (i != 3)
		return len;
	call->status = status;
	while (p < end && *p == ' ')
		p++;
	n = 0;
	while (p < end && *p != '\r' && *p != '\n' &&
	    n < sizeof call->reason - 1)
		call->reason[n++] = *p++;
	call->reason[n] = '\0';
	return len;
}

/*
 * The pin check. OpenSSL calls this for each certificate of the chain;
 * only the leaf (depth 0) decides, and it passes only when its SHA-256
 * equals a pinned fingerprint, whatever the chain's own verdict.
 */
static int
pin_verify(int preverify_ok, X509_STORE_CTX *xctx)
{
	SSL		*ssl;
	struct pve_call	*call;
	X509		*cert;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	size_t		 i;

	(void)preverify_ok;
	ssl = X509_STORE_CTX_get_ex_data(xctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL)
		return 0;
	call = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pve_ctx_index);
	if (call == NULL)
		return 0;
	if (X509_STORE_CTX_get_error_depth(xctx) > 0)
		return 1;
	cert = X509_STORE_CTX_get_current_cert(xctx);
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 ||
	    mdlen != 32) {
		call->pin_mismatch = 1;
		return 0;
	}
	pve_fingerprint_format(md, call->got);
	call->pin_checked = 1;
	for (i = 0; i < call->pve->npins; i++) {
		if (strcmp(call->pve->pins[i], call->got) == 0) {
			X509_STORE_CTX_set_error(xctx, X509_V_OK);
			call->pin_mismatch = 0;
			return 1;
		}
	}
	call->pin_mismatch = 1;
	return 0;
}

static CURLcode
on_ssl_ctx(CURL *h, void *sslctx, void *arg)
{
	struct pve_call	*call = arg;
	SSL_CTX		*ctx = sslctx;

	(void)h;
	if (SSL_CTX_set_ex_data(ctx, pve_ctx_index, call) != 1)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, pin_verify);
	/* No resumption: a resumed session would skip the callback. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return CURLE_OK;
}

static int
is_not_sent(CURLcode rc, CURL *h)
{
	curl_off_t	 sent = 0;
	long		 request_size = 0;

	switch (rc) {
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

/*
 * One attempt against URL number `idx`. Sets *cause for everything but a
 * reply (which the caller maps).
 */
static enum attempt
attempt_one(struct pve *pve, size_t idx, const char *method,
    const char *path, const char *query, const char *form,
    struct pve_call *call, char **cause)
{
	CURL			*h;
	struct curl_slist	*headers = NULL;
	char			 errbuf[CURL_ERROR_SIZE];
	char			*url;
	const char		*base = pve->urls[idx];
	CURLcode		 rc;
	long			 nconnects = 0;
	enum attempt		 result;
	int64_t			 started = now_ms();

	buf_release(&call->body);
	buf_init(&call->body, PVE_REPLY_MAX);
	call->status = 0;
	call->reason[0] = '\0';
	call->too_big = call->pin_checked = call->pin_mismatch = 0;
	call->got[0] = '\0';
	errbuf[0] = '\0';

	url = xasprintf("%s%s%s%s", base, path, query != NULL ? "?" : "",
	    query != NULL ? query : "");
	h = handle_get(pve);
	headers = curl_slist_append(headers, pve->auth_header);
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (form != NULL)
		headers = curl_slist_append(headers, "Content-Type: "
		    "application/x-www-form-urlencoded");

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, pve->connect_timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, pve->request_timeout);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pvebot/" PVEBOT_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)PVE_REPLY_MAX);
	call->sends = 0;
	call->once = strcmp(method, "GET") != 0;
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, call);
	if (call->once)
		curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, PVE_ACTION_MAXAGE);
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
		if (strcmp(method, "PUT") == 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
	} else if (strcmp(method, "DELETE") == 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	else
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);

	if (pve->npins > 0) {
		/*
		 * The callback replaces chain and host name checks by the
		 * pin; curl must not add its own verdict on top.
		 */
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, call);
		if (curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) !=
		    CURLE_OK)
			log_fatal("exec_proxmox", "this libcurl cannot pin "
			    "certificates (no OpenSSL backend)");
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (pve->ca_file != NULL)
			curl_easy_setopt(h, CURLOPT_CAINFO, pve->ca_file);
	}

	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconnects);

	if (rc == CURLE_OK && pve->npins > 0 && nconnects > 0 &&
	    !call->pin_checked) {
		/* Cannot happen with OpenSSL; refuse rather than trust. */
		set_cause(cause, "TLS fingerprint of %s was not checked; "
		    "refusing the reply", base);
		result = ATTEMPT_TLS;
	} else if (rc == CURLE_OK) {
		result = ATTEMPT_REPLY;
	} else if (call->pin_mismatch) {
		set_cause(cause, "TLS fingerprint mismatch for %s: expected "
		    "%s, got %s", base, pve->pins[0],
		    call->got[0] != '\0' ? call->got : "no certificate");
		result = ATTEMPT_TLS;
	} else if (rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE) {
		set_cause(cause, "TLS certificate of %s not trusted: %s", base,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		result = ATTEMPT_TLS;
	} else if (call->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		set_cause(cause, "Proxmox reply from %s larger than %d MiB",
		    base, PVE_REPLY_MAX / (1024 * 1024));
		result = ATTEMPT_LOST;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK && call->sends > 1) {
		set_cause(cause, "no complete reply from Proxmox at %s: the "
		    "connection closed before the reply", base);
		result = ATTEMPT_LOST;
	} else if (is_not_sent(rc, h)) {
		set_cause(cause, "cannot reach Proxmox at %s: %s", base,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		result = ATTEMPT_NOT_SENT;
	} else {
		set_cause(cause, "no complete reply from Proxmox at %s: %s",
		    base, errbuf[0] ? errbuf : curl_easy_strerror(rc));
		result = ATTEMPT_LOST;
	}
	if (result == ATTEMPT_REPLY && call->status == 0) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &call->status);
	}
	log_debug("exec_proxmox", "method=%s path=%s url=%s curl=%d "
	    "status=%ld ms=%lld", method, path, base, (int)rc, call->status,
	    (long long)(now_ms() - started));
	metric_observe(M_PVE_LATENCY, NULL, (now_ms() - started) / 1000.0);
	if (result != ATTEMPT_REPLY || call->status >= 400)
		metric_inc(M_PVE_ERRORS, result == ATTEMPT_TLS ? "tls" :
		    result != ATTEMPT_REPLY ? "network" : "http");

	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	handle_put(pve, h);
	free(url);
	return result;
}

/* One attempt answered by the replay function instead of a server. */
static enum attempt
attempt_replay(struct pve *pve, const char *method, const char *path,
    const char *query, struct pve_call *call, char **cause)
{
	char	*target;
	int	 rc;

	buf_release(&call->body);
	buf_init(&call->body, PVE_REPLY_MAX);
	call->status = 0;
	call->reason[0] = '\0';
	target = xasprintf("%s%s%s", path, query != NULL ? "?" : "",
	    query != NULL ? query : "");
	rc = pve->replay(pve->replay_arg, method, target, &call->status,
	    call->reason, sizeof call->reason, &call->body);
	free(target);
	call->reason[sizeof call->reason - 1] = '\0';
	if (rc != 0) {
		set_cause(cause, "cannot reach Proxmox at %s", pve->urls[0]);
		return ATTEMPT_NOT_SENT;
	}
	if (call->body.truncated) {
		set_cause(cause, "Proxmox reply from %s larger than %d MiB",
		    pve->urls[0], PVE_REPLY_MAX / (1024 * 1024));
		return ATTEMPT_LOST;
	}
	return ATTEMPT_REPLY;
}

static void
replace_cause(char **dst, char *src)
{
	free(*dst);
	*dst = src;
}

int
pve_request(struct pve *pve, const char *method, const char *path,
    const struct pve_param *params, size_t nparams, json_t **data,
    char **cause)
{
	struct pve_call	 call;
	char		*epath, *encoded, *query = NULL, *form = NULL;
	char		*last = NULL, *tls = NULL, *one;
	size_t		 start, k, idx;
	int		 idempotent, tryno, rc = PVE_TEMPORARY, done = 0;
	enum attempt	 a;

	if (data != NULL)
		*data = NULL;
	if (pve == NULL) {
		set_cause(cause, "Proxmox is not configured (proxmox: in the "
		    "config)");
		return PVE_PERMANENT;
	}
	if (method == NULL || (strcmp(method, "GET") != 0 &&
	    strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 &&
	    strcmp(method, "DELETE") != 0)) {
		set_cause(cause, "unsupported HTTP method %s",
		    method != NULL ? method : "(none)");
		return PVE_PERMANENT;
	}
	if ((epath = pve_path_encode(path)) == NULL) {
		set_cause(cause, "invalid Proxmox API path");
		return PVE_PERMANENT;
	}
	idempotent = strcmp(method, "GET") == 0;
	encoded = pve_form_encode(params, nparams);
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
		form = encoded;
	else if (*encoded != '\0')
		query = encoded;

	memset(&call, 0, sizeof call);
	call.pve = pve;
	for (tryno = 0; tryno < PVE_TRIES && !done; tryno++) {
		if (tryno > 0 && pve->replay == NULL)
			sleep_ms((int64_t)PVE_BACKOFF_MS << (tryno - 1));
		pthread_mutex_lock(&pve->lock);
		start = pve->good;
		pthread_mutex_unlock(&pve->lock);
		for (k = 0; k < pve->nurls && !done; k++) {
			idx = (start + k) % pve->nurls;
			one = NULL;
			if (pve->replay != NULL)
				a = attempt_replay(pve, method, epath, query,
				    &call, &one);
			else
				a = attempt_one(pve, idx, method, epath, query,
				    form, &call, &one);
			switch (a) {
			case ATTEMPT_REPLY:
				rc = pve_reply_parse(call.status, call.reason,
				    call.body.data, call.body.len, path,
				    idempotent, data, &one);
				if (rc == PVE_TEMPORARY && idempotent &&
				    call.status >= 500) {
					/* A gateway error: another node
					 * may answer. */
					replace_cause(&last, one);
					break;
				}
				pthread_mutex_lock(&pve->lock);
				pve->good = idx;
				pthread_mutex_unlock(&pve->lock);
				replace_cause(&last, one);
				done = 1;
				break;
			case ATTEMPT_TLS:
				log_warn("exec_proxmox", "tls refused: %s",
				    one);
				if (tls == NULL)
					tls = one;
				else
					free(one);
				break;
			case ATTEMPT_NOT_SENT:
				if (pve->nurls > 1)
					log_warn("exec_proxmox", "fail-over: "
					    "%s", one);
				replace_cause(&last, one);
				break;
			case ATTEMPT_LOST:
				replace_cause(&last, one);
				if (!idempotent) {
					/* It may have run: never again, and
					 * the caller finds out. */
					rc = PVE_MAYBE;
					done = 1;
				}
				break;
			}
		}
		if (!done && tls != NULL) {
			/* Retrying cannot change a certificate. */
			rc = PVE_PERMANENT;
			break;
		}
	}
	if (!done && tls == NULL)
		rc = PVE_TEMPORARY;
	if (tls != NULL && rc != PVE_OK) {
		replace_cause(&last, tls);
		tls = NULL;
	}
	free(tls);
	if (rc != PVE_OK) {
		if (last == NULL)
			last = xstrdup("Proxmox request failed");
		one = log_scrub(last);
		free(last);
		log_debug("exec_proxmox", "method=%s path=%s failed: %s",
		    method, path, one);
		if (cause != NULL)
			*cause = one;
		else
			free(one);
	} else
		free(last);
	buf_release(&call.body);
	free(encoded);
	free(epath);
	return rc;
}
