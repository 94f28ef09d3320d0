/*
 * httpd_int.h - what the files of src/net/ share behind include/httpd.h.
 * Not for use outside src/net/.
 */
#ifndef PVEBOT_HTTPD_INT_H
#define PVEBOT_HTTPD_INT_H

#include <stddef.h>

#include "httpd.h"

/* A fresh self-signed certificate and its key, all PEM or text. */
struct httpd_cert {
	char	*cert_pem;
	char	*key_pem;	/* secret: httpd_cert_release() wipes it */
	char	*fingerprint;	/* "AA:BB:...", SHA-256 of the DER */
};

/*
 * Generates an EC P-256 key and a certificate for CN 127.0.0.1 with SAN
 * IP:127.0.0.1 and DNS:localhost, valid from an hour ago for a year.
 */
int	httpd_cert_generate(struct httpd_cert *, char **cause);
void	httpd_cert_release(struct httpd_cert *);
/* 0 when the PEM key belongs to the PEM certificate; -1 with *cause. */
int	httpd_cert_check(const char *cert_pem, const char *key_pem,
	    char **cause);

/*
 * One connection's request parser (httpd_parse.c): HTTP/1.1 syntax from
 * http_parser, plus what include/httpd.h promises on top of it.
 */
struct httpd_parse;

/* A complete, checked request; every pointer is owned. */
struct httpd_request {
	const char		*method;	/* static text */
	char			*target;	/* origin-form, as sent */
	struct httpd_kv		*headers;	/* names as sent */
	size_t			 nheaders;
	char			*body;		/* NUL-terminated */
	size_t			 body_len;
	int			 close_after;	/* HTTP/1.0, Connection: close */
	int			 head_only;	/* HEAD: reply without body */
};

enum httpd_parse_result {
	HTTPD_PARSE_MORE,	/* all bytes taken, request not complete */
	HTTPD_PARSE_DONE,	/* a request is complete */
	HTTPD_PARSE_REFUSE,	/* reply *status and close */
};

/* chunked_ok: "Transfer-Encoding: chunked" bodies are decoded. */
struct httpd_parse	*httpd_parse_new(size_t max_body, int chunked_ok);
void			 httpd_parse_free(struct httpd_parse *);
/*
 * Parses up to len bytes; *used says how many were taken (the rest
 * belongs to the next request). DONE fills *out (release it with
 * httpd_parse_release_request()); REFUSE sets *status and *why (static
 * text). *expect_continue becomes 1 when a head asks for an interim
 * "100 Continue" before its body.
 */
enum httpd_parse_result	 httpd_parse_feed(struct httpd_parse *,
			    const char *, size_t len, size_t *used,
			    struct httpd_request *out, int *status,
			    const char **why, int *expect_continue);
void			 httpd_parse_release_request(struct httpd_request *);

#endif
