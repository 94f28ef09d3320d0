/*
 * httpd_form.c - the text side of include/httpd.h that needs no socket:
 * status reason phrases, percent-decoding, form and query parsing, and
 * header lookup. Pure functions; every result the caller frees is
 * allocated with the xmalloc family.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "util.h"

#define HTTPD_MAX_FORM_PAIRS	1024

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
