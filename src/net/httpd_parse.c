/*
 * httpd_parse.c - one connection's request parser for httpd_lws.c.
 *
 * The HTTP/1.1 syntax is Node's http_parser (Debian's libhttp-parser):
 * request line, header lines, Content-Length bodies, pipelining. On top
 * of it this file keeps what include/httpd.h promises, so a handler only
 * ever sees a well-formed request:
 * - the head (request line and headers) is capped at HTTPD_MAX_HEAD and
 *   HTTPD_MAX_HEADERS lines (431), the body at max_body (413);
 * - bodies need Content-Length: Transfer-Encoding gets 411, unless the
 *   server accepts chunked bodies (Proxmox's webhook client sends them),
 *   then "Transfer-Encoding: chunked" alone is decoded, under the same
 *   cap, and any other coding gets 501;
 * - only HTTP/1.0 and 1.1, origin-form targets ("/..."), header names
 *   that are tokens and values without control characters (400).
 * The parser stops after each complete request, so the caller answers
 * one request before it reads the next.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "httpd.h"
#include "httpd_int.h"
#include "util.h"

#define HTTPD_MAX_HEADERS	100

struct httpd_parse {
	http_parser		 parser;
	size_t			 max_body;
	int			 chunked_ok;	/* accept chunked bodies */
	int			 chunked;	/* this request's body is */
	struct buf		 target;
	struct buf		 field;
	struct buf		 value;
	int			 in_value;
	struct httpd_kv		*headers;
	size_t			 nheaders;
	char			*body;
	size_t			 body_len;
	struct buf		 chunks;	/* a chunked body, decoded */
	int			 done;
	int			 expect_continue;
	int			 refuse_status;
	const char		*refuse_why;
};

static void
parse_reset(struct httpd_parse *hp)
{
	buf_reset(&hp->target);
	buf_reset(&hp->field);
	buf_reset(&hp->value);
	hp->in_value = 0;
	httpd_kv_free(hp->headers, hp->nheaders);
	hp->headers = NULL;
	hp->nheaders = 0;
	free(hp->body);
	hp->body = NULL;
	hp->body_len = 0;
	buf_release(&hp->chunks);
	hp->chunked = 0;
	hp->done = 0;
	hp->refuse_status = 0;
	hp->refuse_why = NULL;
}

static int
parse_refuse(struct httpd_parse *hp, int status, const char *why)
{
	hp->refuse_status = status;
	hp->refuse_why = why;
	return (-1);
}

static int
is_tchar(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
on_message_begin(http_parser *p)
{
	parse_reset(p->data);
	return (0);
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct httpd_parse	*hp = p->data;

	buf_append(&hp->target, at, len);
	return (0);
}

static int
header_push(struct httpd_parse *hp)
{
	if (hp->nheaders >= HTTPD_MAX_HEADERS)
		return (parse_refuse(hp, 431, "too many header lines"));
	hp->headers = xreallocarray(hp->headers, hp->nheaders + 1,
	    sizeof *hp->headers);
	hp->headers[hp->nheaders].key = buf_steal(&hp->field);
	hp->headers[hp->nheaders].value = buf_steal(&hp->value);
	hp->nheaders++;
	hp->in_value = 0;
	return (0);
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct httpd_parse	*hp = p->data;

	if (hp->in_value && header_push(hp) != 0)
		return (-1);
	buf_append(&hp->field, at, len);
	return (0);
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct httpd_parse	*hp = p->data;

	hp->in_value = 1;
	buf_append(&hp->value, at, len);
	return (0);
}

/* What include/httpd.h refuses beyond HTTP syntax; 0 or -1. */
static int
head_check(struct httpd_parse *hp)
{
	http_parser	*p = &hp->parser;
	const char	*s;
	char		*v, *e;
	size_t		 i;

	if (p->http_major != 1 || p->http_minor > 1)
		return (parse_refuse(hp, 400, "unsupported HTTP version"));
	s = buf_cstr(&hp->target);
	if (s[0] != '/')
		return (parse_refuse(hp, 400,
		    "request target must start with /"));
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return (parse_refuse(hp, 400,
			    "control character in request target"));
	}
	for (i = 0; i < hp->nheaders; i++) {
		for (s = hp->headers[i].key; *s != '\0'; s++) {
			if (!is_tchar((unsigned char)*s))
				return (parse_refuse(hp, 400,
				    "bad header name"));
		}
		/* Blanks around a value are not part of it (RFC 9110 5.5). */
		v = hp->headers[i].value;
		e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		for (s = v; *s != '\0'; s++) {
			if (((unsigned char)*s < 0x20 && *s != '\t') ||
			    (unsigned char)*s == 0x7f)
				return (parse_refuse(hp, 400,
				    "control character in header value"));
		}
		if (strcasecmp(hp->headers[i].key, "Transfer-Encoding") != 0)
			continue;
		if (!hp->chunked_ok)
			return (parse_refuse(hp, 411, "chunked bodies are "
			    "not supported; send Content-Length"));
		if (strcasecmp(v, "chunked") != 0 || hp->chunked)
			return (parse_refuse(hp, 501, "only Transfer-Encoding: "
			    "chunked is understood"));
		hp->chunked = 1;
	}
	if ((p->flags & F_CHUNKED) != 0 && !hp->chunked)
		return (parse_refuse(hp, 411, "chunked bodies are not "
		    "supported; send Content-Length"));
	if (p->method == HTTP_CONNECT)
		return (parse_refuse(hp, 400, "CONNECT is not served"));
	if ((p->flags & F_CONTENTLENGTH) != 0 &&
	    p->content_length > hp->max_body)
		return (parse_refuse(hp, 413, "body too large"));
	return (0);
}

static int
on_headers_complete(http_parser *p)
{
	struct httpd_parse	*hp = p->data;
	size_t			 i, len;

	if (hp->in_value && header_push(hp) != 0)
		return (-1);
	if (head_check(hp) != 0)
		return (-1);
	len = (p->flags & F_CONTENTLENGTH) != 0 ? p->content_length : 0;
	hp->body = xmalloc(len + 1);
	hp->body_len = 0;
	buf_init(&hp->chunks, hp->max_body);
	for (i = 0; (len > 0 || hp->chunked) && i < hp->nheaders; i++) {
		if (strcasecmp(hp->headers[i].key, "Expect") == 0 &&
		    strcasecmp(hp->headers[i].value, "100-continue") == 0)
			hp->expect_continue = 1;
	}
	return (0);
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct httpd_parse	*hp = p->data;

	/* A chunked body grows up to the cap. */
	if (hp->chunked) {
		if (buf_append(&hp->chunks, at, len) != 0)
			return (parse_refuse(hp, 413, "body too large"));
		return (0);
	}
	/* Never past Content-Length, which head_check() capped. */
	memcpy(hp->body + hp->body_len, at, len);
	hp->body_len += len;
	return (0);
}

static int
on_message_complete(http_parser *p)
{
	struct httpd_parse	*hp = p->data;

	if (hp->chunked) {
		free(hp->body);
		hp->body_len = hp->chunks.len;
		hp->body = buf_steal(&hp->chunks);
	}
	hp->body[hp->body_len] = '\0';
	hp->done = 1;
	http_parser_pause(p, 1);
	return (0);
}

static const http_parser_settings parse_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

struct httpd_parse *
httpd_parse_new(size_t max_body, int chunked_ok)
{
	struct httpd_parse	*hp;

	/* Process-wide; only this file uses http_parser. */
	http_parser_set_max_header_size(HTTPD_MAX_HEAD);
	hp = xcalloc(1, sizeof *hp);
	hp->max_body = max_body;
	hp->chunked_ok = chunked_ok;
	buf_init(&hp->chunks, max_body);
	buf_init(&hp->target, 0);
	buf_init(&hp->field, 0);
	buf_init(&hp->value, 0);
	http_parser_init(&hp->parser, HTTP_REQUEST);
	hp->parser.data = hp;
	return (hp);
}

void
httpd_parse_free(struct httpd_parse *hp)
{
	if (hp == NULL)
		return;
	parse_reset(hp);
	buf_release(&hp->target);
	buf_release(&hp->field);
	buf_release(&hp->value);
	free(hp);
}

enum httpd_parse_result
httpd_parse_feed(struct httpd_parse *hp, const char *data, size_t len,
    size_t *used, struct httpd_request *out, int *status, const char **why,
    int *expect_continue)
{
	http_parser	*p = &hp->parser;
	enum http_errno	 err;

	*used = 0;
	*expect_continue = 0;
	if (len == 0)
		return (HTTPD_PARSE_MORE);
	hp->expect_continue = 0;
	*used = http_parser_execute(p, &parse_settings, data, len);
	*expect_continue = hp->expect_continue;
	err = HTTP_PARSER_ERRNO(p);
	if (err == HPE_PAUSED && hp->done) {
		http_parser_pause(p, 0);
		memset(out, 0, sizeof *out);
		out->method = http_method_str(p->method);
		out->target = buf_steal(&hp->target);
		out->headers = hp->headers;
		out->nheaders = hp->nheaders;
		out->body = hp->body;
		out->body_len = hp->body_len;
		out->close_after = p->http_minor == 0 ||
		    !http_should_keep_alive(p) || p->upgrade;
		out->head_only = p->method == HTTP_HEAD;
		hp->headers = NULL;
		hp->nheaders = 0;
		hp->body = NULL;
		hp->done = 0;
		return (HTTPD_PARSE_DONE);
	}
	if (err == HPE_OK)
		return (HTTPD_PARSE_MORE);
	if (hp->refuse_status != 0) {
		*status = hp->refuse_status;
		*why = hp->refuse_why;
	} else if (err == HPE_HEADER_OVERFLOW) {
		*status = 431;
		*why = "request head too large";
	} else {
		*status = 400;
		*why = http_errno_description(err);
	}
	return (HTTPD_PARSE_REFUSE);
}

void
httpd_parse_release_request(struct httpd_request *r)
{
	free(r->target);
	httpd_kv_free(r->headers, r->nheaders);
	free(r->body);
	memset(r, 0, sizeof *r);
}
