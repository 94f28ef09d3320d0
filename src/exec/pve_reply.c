/*
 * pve_reply.c - the pure half of the Proxmox client: how a request is
 * written (percent-encoded path, x-www-form-urlencoded parameters) and how
 * a reply is read (the "data" member, or one human line for an error).
 *
 * Proxmox puts an error's message in the reason phrase of the status line
 * ("HTTP/1.1 500 VM is locked (backup)") and, in newer releases, also in
 * a "message" member; a 400 carries per-parameter messages in "errors".
 * Nothing here touches the network, so every mapping is unit-tested.
 *
 * A thread may ask for the "data" of its next 2xx replies to go to a
 * reader instead of a jansson tree (pve_reply_set_reader, for the 3 MB
 * /cluster/resources of a large cluster): the envelope is then checked
 * by the strict scanner (jscan.h), and anything that is not JSON, or not
 * what the reader expects, is a temporary failure naming the byte.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "jscan.h"
#include "net_http.h"
#include "pve_resources.h"
#include "util.h"

/* Messages from the API are copied into chat; keep them one short line. */
#define PVE_MESSAGE_MAX	300
/* Parameters named in one "bad parameter" cause. */
#define PVE_PARAMS_SHOWN	5

char *
pve_form_encode(const struct pve_param *params, size_t nparams)
{
	struct buf	 b;
	size_t		 i;
	char		*k, *v;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (i = 0; i < nparams; i++) {
		if (params[i].key == NULL || params[i].value == NULL)
			continue;
		k = net_http_escape(params[i].key);
		v = net_http_escape(params[i].value);
		buf_printf(&b, "%s%s=%s", b.len ? "&" : "", k, v);
		free(k);
		free(v);
	}
	return buf_steal(&b);
}

char *
pve_path_encode(const char *path)
{
	static const char	 safe[] = "-._~/:@!$'()*+,;=";
	struct buf		 b;
	const unsigned char	*p;

	if (path == NULL || path[0] != '/')
		return NULL;
	if (strstr(path, "/../") != NULL || strstr(path, "/./") != NULL ||
	    strstr(path, "//") != NULL)
		return NULL;
	if ((strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
		return NULL;
	buf_init(&b, 0);
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f)
			goto bad;
		if (isalnum(*p) || strchr(safe, *p) != NULL)
			buf_append(&b, p, 1);
		else
			buf_printf(&b, "%%%02X", *p);
	}
	return buf_steal(&b);
bad:
	buf_release(&b);
	return NULL;
}

/* Copies an API message to one printable line without a trailing dot. */
static char *
clean_message(const char *s)
{
	struct buf	 b;
	const char	*p;
	int		 space = 0;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (p = s; p != NULL && *p != '\0' && b.len < PVE_MESSAGE_MAX; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			space = 1;
			continue;
		}
		if (space && b.len > 0)
			buf_puts(&b, " ");
		space = 0;
		buf_append(&b, p, 1);
	}
	while (b.len > 0 && (b.data[b.len - 1] == ' ' ||
	    b.data[b.len - 1] == '.' || b.data[b.len - 1] == '\n')) {
		b.data[--b.len] = '\0';
	}
	return buf_steal(&b);
}

/* The node a path is about ("/nodes/pve2/..."), or NULL. */
static char *
path_node(const char *path)
{
	const char	*p, *e;

	if (path == NULL || !str_has_prefix(path, "/nodes/"))
		return NULL;
	p = path + strlen("/nodes/");
	e = strchr(p, '/');
	if (e == NULL)
		e = p + strlen(p);
	if (e == p)
		return NULL;
	return xstrndup(p, e - p);
}

/* "VM.Config.Disk|VM.Config.CPU" (any one of them) as words. */
static char *
alternatives(const char *p, size_t len)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (i = 0; i < len; i++) {
		if (p[i] == '|')
			buf_puts(&b, " or ");
		else
			buf_append(&b, &p[i], 1);
	}
	return buf_steal(&b);
}

/*
 * "Permission check failed (/vms/101, VM.PowerMgmt)" names the path and
 * the privilege; say it the way an operator fixes it.
 */
static char *
permission_message(const char *msg)
{
	const char	*p, *comma, *close;
	char		*acl, *priv, *out;

	p = strstr(msg, "Permission check failed (");
	if (p == NULL) {
		if (*msg == '\0')
			return xstrdup("permission denied (403)");
		return xasprintf("permission denied (403): %s", msg);
	}
	p += strlen("Permission check failed (");
	close = strrchr(p, ')');
	comma = strchr(p, ',');
	if (close == NULL)
		return xasprintf("permission denied (403): %s", msg);
	if (comma == NULL || comma > close)
		return xasprintf("permission denied: %.*s", (int)(close - p),
		    p);
	acl = xstrndup(p, comma - p);
	p = comma + 1;
	while (*p == ' ')
		p++;
	priv = alternatives(p, close - p);
	out = xasprintf("permission denied: token lacks %s on %s", priv, acl);
	free(acl);
	free(priv);
	return out;
}

static char *
parameter_message(json_t *errors, const char *msg)
{
	struct buf	 b;
	const char	*key;
	json_t		*v;
	char		*k, *m;
	size_t		 n = 0;

	buf_init(&b, 0);
	json_object_foreach(errors, key, v) {
		/* Keys come from the server too: one line, and a few. */
		if (n++ >= PVE_PARAMS_SHOWN)
			continue;
		k = clean_message(key);
		m = clean_message(json_is_string(v) ? json_string_value(v) :
		    "invalid");
		buf_printf(&b, "%sbad parameter %.64s: %s", b.len ? "; " : "",
		    k, m);
		free(k);
		free(m);
	}
	if (n > PVE_PARAMS_SHOWN)
		buf_printf(&b, "; and %zu more", n - PVE_PARAMS_SHOWN);
	if (b.len == 0)
		buf_printf(&b, "bad request (400): %s",
		    *msg ? msg : "parameter verification failed");
	return buf_steal(&b);
}

/* This thread's reader of "data" (pve_resources.h), or none. */
static _Thread_local pve_data_reader	 data_reader;
static _Thread_local void		*data_reader_arg;

void
pve_reply_set_reader(pve_data_reader fn, void *arg)
{
	data_reader = fn;
	data_reader_arg = arg;
}

/*
 * A 2xx reply read by the thread's reader: the envelope is checked
 * member by member, and "data" goes to the reader without a tree.
 */
static int
reply_read(const char *body, size_t len, int idempotent, json_t **data,
    char **cause)
{
	struct jscan	 js;
	char		 key[8];
	int		 rc, seen = 0;

	jscan_init(&js, body != NULL ? body : "", body != NULL ? len : 0);
	if (jscan_object(&js) != 0)
		goto bad;
	while ((rc = jscan_key(&js, key, sizeof key)) == 1) {
		if (strcmp(key, "data") == 0 && !seen) {
			seen = 1;
			if (data_reader(data_reader_arg, &js) != 0)
				goto bad;
		} else if (jscan_skip(&js) != 0)
			goto bad;
	}
	if (rc != 0 || jscan_end(&js) != 0)
		goto bad;
	if (!seen) {
		jscan_fail(&js, "the reply has no data");
		goto bad;
	}
	if (data != NULL)
		*data = json_null();
	return PVE_OK;
bad:
	set_cause(cause, "Proxmox sent a reply that is not JSON or not "
	    "what was asked for (%s)", jscan_error(&js));
	return idempotent ? PVE_TEMPORARY : PVE_MAYBE;
}

int
pve_reply_parse(long status, const char *reason, const char *body,
    size_t len, const char *path, int idempotent, json_t **data,
    char **cause)
{
	json_t		*root = NULL, *m, *errors;
	json_error_t	 jerr;
	char		*msg, *node, *text = NULL;
	int		 rc;

	if (data != NULL)
		*data = NULL;
	if (status >= 200 && status < 300 && data_reader != NULL)
		return reply_read(body, len, idempotent, data, cause);
	if (body != NULL && len > 0)
		root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);

	if (status >= 200 && status < 300) {
		if (root == NULL || !json_is_object(root)) {
			json_decref(root);
			set_cause(cause, "Proxmox sent a reply that is not JSON");
			/* It was accepted: what it started is unknown. */
			return idempotent ? PVE_TEMPORARY : PVE_MAYBE;
		}
		if (data != NULL) {
			m = json_object_get(root, "data");
			*data = m != NULL ? json_incref(m) : json_null();
		}
		json_decref(root);
		return PVE_OK;
	}

	m = json_is_object(root) ? json_object_get(root, "message") : NULL;
	if (json_is_string(m) && *json_string_value(m) != '\0')
		msg = clean_message(json_string_value(m));
	else
		msg = clean_message(reason != NULL ? reason : "");

	rc = PVE_PERMANENT;
	switch (status) {
	case 400:
		errors = json_is_object(root) ?
		    json_object_get(root, "errors") : NULL;
		text = parameter_message(json_is_object(errors) ? errors :
		    NULL, msg);
		break;
	case 401:
		text = xstrdup("Proxmox rejected the API token (401): check "
		    "token_id and secret");
		break;
	case 403:
		text = permission_message(msg);
		break;
	case 404:
	case 501:
		text = xasprintf("not found on Proxmox (%ld)%s%s", status,
		    *msg ? ": " : "", msg);
		break;
	case 500:
		text = *msg ? xstrdup(msg) :
		    xstrdup("Proxmox failed with an internal error (500)");
		break;
	case 502:
	case 503:
	case 504:
		text = xasprintf("Proxmox is unavailable (%ld%s%s)", status,
		    *msg ? " " : "", msg);
		/* A proxy's answer: the request may have gone through. */
		rc = idempotent ? PVE_TEMPORARY : PVE_MAYBE;
		break;
	case 595:
	case 596:
		node = path_node(path);
		text = xasprintf("node %s unreachable (%ld%s%s)",
		    node != NULL ? node : "of the cluster", status,
		    *msg ? " " : "", msg);
		free(node);
		rc = PVE_TEMPORARY;
		break;
	default:
		text = xasprintf("Proxmox answered %ld%s%s", status,
		    *msg ? ": " : "", msg);
		if (status >= 500 && idempotent)
			rc = PVE_TEMPORARY;
		break;
	}
	free(msg);
	json_decref(root);
	if (cause != NULL)
		*cause = text;
	else
		free(text);
	return rc;
}

void
pve_fingerprint_format(const unsigned char digest[32], char out[96])
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i;

	for (i = 0; i < 32; i++) {
		out[i * 3] = hex[digest[i] >> 4];
		out[i * 3 + 1] = hex[digest[i] & 0xf];
		out[i * 3 + 2] = i == 31 ? '\0' : ':';
	}
}

int
pve_fingerprint_normalize(const char *in, char out[96])
{
	unsigned char	 digest[32];
	size_t		 n = 0;
	int		 hi = -1, v;
	const char	*p;

	for (p = in; *p != '\0'; p++) {
		if (*p == ':' && hi == -1)
			continue;
		if (!isxdigit((unsigned char)*p))
			return -1;
		v = isdigit((unsigned char)*p) ? *p - '0' :
		    tolower((unsigned char)*p) - 'a' + 10;
		if (hi == -1) {
			hi = v;
			continue;
		}
		if (n == sizeof digest)
			return -1;
		digest[n++] = (unsigned char)(hi << 4 | v);
		hi = -1;
	}
	if (n != sizeof digest || hi != -1)
		return -1;
	pve_fingerprint_format(digest, out);
	return 0;
}
