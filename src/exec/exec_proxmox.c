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
 * - One struct pve serves many threads through the one HTTP client
 *   (net_http.h): each call borrows a kept-alive client from the API's
 *   pool, so a run of actions costs one TLS handshake. libcurl sends a
 *   request again by itself when a kept-alive connection dies before
 *   the reply; for an action the second send is refused, so the caller
 *   sees "may have run" and looks for the task. An action reuses a
 *   connection only while it was idle less than PVE_ACTION_MAXAGE
 *   seconds, well inside the time pveproxy keeps one open.
 * - A replay client (pve_create_replay, for fuzzing and tests) swaps only
 *   the network attempt: its replies take the same path from status line
 *   and body to the caller.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "exec_proxmox.h"
#include "log.h"
#include "metrics.h"
#include "net_http.h"
#include "util.h"

#define PVE_TRIES		3
#define PVE_BACKOFF_MS		250
#define PVE_POOL_MAX		8	/* idle clients kept */
#define PVE_MAX_PINS		8

struct pve {
	char		**urls;		/* without a trailing slash */
	size_t		  nurls;
	struct net_http	 *http;		/* NULL for a replay client */
	char		  pins[PVE_MAX_PINS][96];	/* for causes */
	size_t		  npins;

	pthread_mutex_t	  lock;		/* good */
	size_t		  good;		/* index of the URL that last answered */

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
	struct buf	 body;
	long		 status;
	char		 reason[256];
};

/* Idle seconds after which an action takes a new connection. */
#define PVE_ACTION_MAXAGE	3L

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

/* The digest of a normalised pin "AA:BB:..". */
static void
pin_digest(const char *pin, unsigned char digest[32])
{
	size_t	 i;
	char	 hex[3];

	for (i = 0; i < 32; i++) {
		hex[0] = pin[i * 3];
		hex[1] = pin[i * 3 + 1];
		hex[2] = '\0';
		digest[i] = (unsigned char)strtoul(hex, NULL, 16);
	}
}

struct pve *
pve_create(const struct conf_proxmox *cf, char **cause)
{
	struct pve		*pve;
	struct net_http_api	 api;
	unsigned char		 digests[PVE_MAX_PINS][32];
	const char		*bang, *at;
	char			*auth;
	size_t			 i, len;

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
	for (i = 0; i < pve->npins; i++)
		pin_digest(pve->pins[i], digests[i]);
	auth = xasprintf("Authorization: PVEAPIToken=%s=%s", cf->token_id,
	    cf->secret);
	memset(&api, 0, sizeof api);
	api.name = "exec_proxmox";
	api.auth_header = auth;	/* URLs differ per node: no base URL */
	api.headers = (const char *const []){ "Accept: application/json",
	    NULL };
	api.https_only = 1;
	api.http11 = 1;
	api.ca_file = cf->ca_file != NULL && *cf->ca_file != '\0' ?
	    cf->ca_file : NULL;
	api.pins = (const unsigned char (*)[32])digests;
	api.npins = pve->npins;
	api.connect_timeout_ms = (cf->connect_timeout > 0 ?
	    (long)cf->connect_timeout : 5L) * 1000;
	api.timeout_ms = (cf->request_timeout > 0 ?
	    (long)cf->request_timeout : 30L) * 1000;
	api.body_max = PVE_REPLY_MAX;
	api.resend = NET_RESEND_READS;
	api.action_max_idle_s = PVE_ACTION_MAXAGE;
	api.pool_max = PVE_POOL_MAX;
	pve->http = net_http_create(&api, cause);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	if (pve->http == NULL) {
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
	if (pve == NULL)
		return;
	net_http_free(pve->http);
	strv_free(pve->urls, pve->nurls);
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

/*
 * One attempt against URL number `idx`. Sets *cause for everything but a
 * reply (which the caller maps).
 */
static enum attempt
attempt_one(struct pve *pve, size_t idx, const char *method,
    const char *path, const char *query, const char *form,
    struct pve_call *call, char **cause)
{
	struct net_request	 req;
	struct net_reply	 r;
	char			*url, got[96];
	const char		*base = pve->urls[idx];
	enum attempt		 result;
	int64_t			 started = now_ms();

	buf_release(&call->body);
	call->status = 0;
	call->reason[0] = '\0';

	url = xasprintf("%s%s%s%s", base, path, query != NULL ? "?" : "",
	    query != NULL ? query : "");
	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = url;
	if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		req.body = form;
		req.content_type = "application/x-www-form-urlencoded";
	}
	net_http_do(pve->http, &req, &r);
	free(url);

	switch (r.result) {
	case NET_REPLY:
		result = ATTEMPT_REPLY;
		break;
	case NET_TLS:
		if (r.pin_unchecked)
			set_cause(cause, "TLS fingerprint of %s was not "
			    "checked; refusing the reply", base);
		else if (r.pin_mismatch) {
			if (r.tls_got_set)
				pve_fingerprint_format(r.tls_got, got);
			set_cause(cause, "TLS fingerprint mismatch for %s: "
			    "expected %s, got %s", base, pve->pins[0],
			    r.tls_got_set ? got : "no certificate");
		} else
			set_cause(cause, "TLS certificate of %s not trusted: "
			    "%s", base, r.error);
		result = ATTEMPT_TLS;
		break;
	case NET_TOO_BIG:
		set_cause(cause, "Proxmox reply from %s larger than %d MiB",
		    base, PVE_REPLY_MAX / (1024 * 1024));
		result = ATTEMPT_LOST;
		break;
	case NET_NOT_SENT:
		set_cause(cause, "cannot reach Proxmox at %s: %s", base,
		    r.error);
		result = ATTEMPT_NOT_SENT;
		break;
	default:
		set_cause(cause, "no complete reply from Proxmox at %s: %s",
		    base, r.error);
		result = ATTEMPT_LOST;
		break;
	}
	if (result == ATTEMPT_REPLY) {
		call->status = r.status;
		snprintf(call->reason, sizeof call->reason, "%s", r.reason);
		call->body = r.body;
		buf_init(&r.body, 0);
	}
	log_debug("exec_proxmox", "method=%s path=%s url=%s result=%d "
	    "status=%ld ms=%lld", method, path, base, (int)r.result, r.status,
	    (long long)(now_ms() - started));
	metric_observe(M_PVE_LATENCY, NULL, (now_ms() - started) / 1000.0);
	if (result != ATTEMPT_REPLY || call->status >= 400)
		metric_inc(M_PVE_ERRORS, result == ATTEMPT_TLS ? "tls" :
		    result != ATTEMPT_REPLY ? "network" : "http");
	net_reply_release(&r);
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
