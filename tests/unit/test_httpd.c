/*
 * test_httpd.c - the loopback HTTP/1.1 server, driven by libcurl and by
 * raw sockets: requests reach the handler decoded, malformed input gets
 * 400/411/413/431, one slow handler does not stall others, dropped
 * replies, keep-alive, and HTTPS whose fingerprint matches what a TLS
 * client sees; what pvebot's own listener adds: chunked bodies when
 * asked for, refusals reported, a deadline for a whole request, a
 * certificate given as PEM, an explicit listen address.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../src/net/httpd_int.h"
#include "httpd.h"
#include "t.h"
#include "util.h"

/* The server /block waits on, and how many handlers are blocked there. */
static struct httpd *_Atomic	 block_on;
static atomic_int		 blocked;

static void
handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct httpd_kv	*kv;
	size_t		 n, i;
	const char	*v;

	(void)arg;
	if (strcmp(req->path, "/block") == 0) {
		/* A long poll: returns only when the server stops. */
		atomic_fetch_add(&blocked, 1);
		while (!httpd_stopping(atomic_load(&block_on)))
			sleep_ms(10);
		atomic_fetch_sub(&blocked, 1);
		buf_puts(&resp->body, "unblocked");
		resp->content_type = "text/plain";
		return;
	}
	if (strcmp(req->path, "/delay") == 0)
		resp->delay_ms = 400;
	if (strcmp(req->path, "/slow") == 0) {
		int64_t end = now_ms() + 1500;
		while (now_ms() < end)
			sleep_ms(20);
	}
	if (strcmp(req->path, "/drop") == 0) {
		resp->drop = 1;
		return;
	}
	if (strcmp(req->path, "/teapot") == 0) {
		resp->status = 595;
		resp->reason = "no route to host";
		buf_puts(&resp->body, "{\"data\":null}");
		return;
	}
	if (strcmp(req->path, "/form") == 0) {
		if (httpd_parse_form(req->body, req->body_len, &kv, &n) != 0) {
			resp->status = 400;
			return;
		}
		for (i = 0; i < n; i++)
			buf_printf(&resp->body, "%s=%s;", kv[i].key,
			    kv[i].value);
		httpd_kv_free(kv, n);
		resp->content_type = "text/plain";
		return;
	}
	v = httpd_header(req, "x-TEST");
	buf_printf(&resp->body, "method=%s path=%s raw=%s query=%s x=%s "
	    "tls=%d body=%s", req->method, req->path, req->raw_path,
	    req->query, v != NULL ? v : "-", req->tls, req->body);
	buf_puts(&resp->headers_extra, "X-Reply: yes\r\n");
	resp->content_type = "text/plain";
}

static size_t
collect(char *p, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, p, size * nmemb);
	return (size * nmemb);
}

struct get {
	const char	*url;
	const char	*method;	/* NULL = GET */
	const char	*body;
	const char	*header;
	const char	*ca_pem;
	const char	*pin;
	long		 status;
	int		 curl_rc;
	struct buf	 out;
	struct buf	 hdrs;
};

static void
get_run(struct get *g, CURL *reuse)
{
	CURL			*c = reuse != NULL ? reuse : curl_easy_init();
	struct curl_slist	*hl = NULL;
	struct curl_blob	 blob;

	buf_init(&g->out, 1 << 20);
	buf_init(&g->hdrs, 1 << 20);
	curl_easy_setopt(c, CURLOPT_URL, g->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g->out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &g->hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (g->method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, g->method);
	if (g->body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, g->body);
	if (g->header != NULL)
		hl = curl_slist_append(hl, g->header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (g->ca_pem != NULL) {
		blob.data = (void *)g->ca_pem;
		blob.len = strlen(g->ca_pem);
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (g->pin != NULL) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, g->pin);
	}
	g->curl_rc = curl_easy_perform(c);
	g->status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
	curl_slist_free_all(hl);
	if (reuse == NULL)
		curl_easy_cleanup(c);
}

static void
get_free(struct get *g)
{
	buf_release(&g->out);
	buf_release(&g->hdrs);
}

static struct httpd *
start(int tls)
{
	struct httpd_opts	 o;
	struct httpd		*h;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.tls = tls;
	o.handler = handler;
	h = httpd_start(&o, &cause);
	if (h == NULL)
		t_fail(__FILE__, __LINE__, "httpd_start: %s", cause);
	free(cause);
	return (h);
}

/* Sends raw bytes (len 0: a string), returns what came back until close (caller frees). */
static char *
raw_exchange(int port, const char *data, size_t len)
{
	struct sockaddr_in	 sin;
	struct buf		 b;
	struct timeval		 tv = { 5, 0 };
	char			 tmp[4096];
	ssize_t			 n;
	int			 fd;

	if (len == 0)
		len = strlen(data);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	buf_init(&b, 1 << 20);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
		(void)send(fd, data, len, MSG_NOSIGNAL);
		while ((n = recv(fd, tmp, sizeof tmp, 0)) > 0)
			buf_append(&b, tmp, (size_t)n);
	}
	close(fd);
	return (buf_steal(&b));
}

/* Sends a head with Expect: 100-continue, waits for the interim reply,
 * then sends the body; returns everything received (caller frees). */
static char *
expect_continue(int port)
{
	static const char head[] = "PUT /e HTTP/1.1\r\nContent-Length: 2\r\n"
	    "Expect: 100-continue\r\nConnection: close\r\n\r\n";
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 5, 0 };
	struct buf		 b;
	char			 tmp[4096];
	ssize_t			 n;
	int			 fd, sent_body = 0;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	buf_init(&b, 1 << 20);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
		(void)send(fd, head, sizeof head - 1, MSG_NOSIGNAL);
		while ((n = recv(fd, tmp, sizeof tmp, 0)) > 0) {
			buf_append(&b, tmp, (size_t)n);
			if (!sent_body && strstr(buf_cstr(&b),
			    "100 Continue\r\n\r\n") != NULL) {
				(void)send(fd, "ok", 2, MSG_NOSIGNAL);
				sent_body = 1;
			}
		}
	}
	close(fd);
	return (buf_steal(&b));
}

static void
test_get_decodes_path_query_headers(void)
{
	struct httpd	*h = start(0);
	struct get	 g = { 0 };
	char		*url;

	if (h == NULL)
		return;
	T_OK(httpd_port(h) > 0);
	T_OK(httpd_fingerprint(h) == NULL);
	url = xasprintf("http://127.0.0.1:%d/a%%20b/UPID%%3Apve1?x=1&y=%%2F",
	    httpd_port(h));
	g.url = url;
	g.header = "X-Test: hello";
	get_run(&g, NULL);
	T_EQ_INT(g.curl_rc, CURLE_OK);
	T_EQ_INT(g.status, 200);
	T_CONTAINS(g.out.data, "method=GET path=/a b/UPID:pve1 ");
	T_CONTAINS(g.out.data, "raw=/a%20b/UPID%3Apve1 ");
	T_CONTAINS(g.out.data, "query=x=1&y=%2F ");
	T_CONTAINS(g.out.data, "x=hello ");
	T_CONTAINS(g.hdrs.data, "X-Reply: yes");
	T_CONTAINS(g.hdrs.data, "Content-Type: text/plain");
	get_free(&g);
	free(url);
	httpd_stop(h);
}

static void
test_post_form_repeated_keys(void)
{
	struct httpd	*h = start(0);
	struct get	 g = { 0 };
	char		*url;

	if (h == NULL)
		return;
	url = xasprintf("http://127.0.0.1:%d/form", httpd_port(h));
	g.url = url;
	g.body = "a=1&a=2&b=hello+world%21&flag&&c=%C3%A9";
	get_run(&g, NULL);
	T_EQ_INT(g.status, 200);
	T_EQ_STR(g.out.data, "a=1;a=2;b=hello world!;flag=;c=\xc3\xa9;");
	get_free(&g);

	memset(&g, 0, sizeof g);
	g.url = url;
	g.body = "a=%zz";
	get_run(&g, NULL);
	T_EQ_INT(g.status, 400);
	get_free(&g);
	free(url);
	httpd_stop(h);
}

static void
test_parse_form_and_decode(void)
{
	struct httpd_kv	*kv;
	size_t		 n;
	char		*s;

	T_EQ_INT(httpd_parse_form("x=%4", 4, &kv, &n), -1);
	T_OK(kv == NULL);
	T_EQ_INT(httpd_parse_form("x=%00", 5, &kv, &n), -1);
	T_EQ_INT(httpd_parse_form("", 0, &kv, &n), 0);
	T_EQ_INT(n, 0);
	T_EQ_INT(httpd_parse_form("k=v%3D1&k=", 10, &kv, &n), 0);
	T_EQ_INT(n, 2);
	if (n == 2) {
		T_EQ_STR(kv[0].value, "v=1");
		T_EQ_STR(kv[1].key, "k");
		T_EQ_STR(kv[1].value, "");
		T_EQ_STR(httpd_kv_get(kv, n, "k"), "v=1");
		T_OK(httpd_kv_get(kv, n, "z") == NULL);
	}
	httpd_kv_free(kv, n);
	s = httpd_url_decode("a+b%2b", 6, 0);
	T_EQ_STR(s, "a+b+");
	free(s);
	s = httpd_url_decode("a+b", 3, 1);
	T_EQ_STR(s, "a b");
	free(s);
	T_EQ_STR(httpd_reason(404), "Not Found");
}

static void
test_custom_status_reason(void)
{
	struct httpd	*h = start(0);
	struct get	 g = { 0 };
	char		*url;

	if (h == NULL)
		return;
	url = xasprintf("http://127.0.0.1:%d/teapot", httpd_port(h));
	g.url = url;
	get_run(&g, NULL);
	T_EQ_INT(g.status, 595);
	T_CONTAINS(g.hdrs.data, "HTTP/1.1 595 no route to host");
	T_EQ_STR(g.out.data, "{\"data\":null}");
	get_free(&g);
	free(url);
	httpd_stop(h);
}

static void *
slow_thread(void *arg)
{
	get_run(arg, NULL);
	return (NULL);
}

static void
test_slow_handler_does_not_stall_others(void)
{
	struct httpd	*h = start(0);
	struct get	 slow = { 0 }, fast = { 0 };
	pthread_t	 t;
	char		*surl, *furl;
	int64_t		 t0, took;

	if (h == NULL)
		return;
	surl = xasprintf("http://127.0.0.1:%d/slow", httpd_port(h));
	furl = xasprintf("http://127.0.0.1:%d/fast", httpd_port(h));
	slow.url = surl;
	fast.url = furl;
	pthread_create(&t, NULL, slow_thread, &slow);
	sleep_ms(100);
	t0 = now_ms();
	get_run(&fast, NULL);
	took = now_ms() - t0;
	T_EQ_INT(fast.status, 200);
	T_OK(took < 700);
	pthread_join(t, NULL);
	T_EQ_INT(slow.status, 200);
	T_CONTAINS(slow.out.data, "path=/slow");
	get_free(&slow);
	get_free(&fast);
	free(surl);
	free(furl);
	httpd_stop(h);
}

static void
test_drop_closes_without_reply(void)
{
	struct httpd	*h = start(0);
	struct get	 g = { 0 };
	char		*url;

	if (h == NULL)
		return;
	url = xasprintf("http://127.0.0.1:%d/drop", httpd_port(h));
	g.url = url;
	get_run(&g, NULL);
	T_EQ_INT(g.curl_rc, CURLE_GOT_NOTHING);
	T_EQ_INT(g.status, 0);
	get_free(&g);
	free(url);
	httpd_stop(h);
}

static void
test_malformed_requests_refused(void)
{
	struct httpd	*h = start(0);
	char		*r, *big;
	size_t		 i;

	if (h == NULL)
		return;
	r = raw_exchange(httpd_port(h), "GARBAGE\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 400 "));
	free(r);
	r = raw_exchange(httpd_port(h), "GET http://x/ HTTP/1.1\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 400 "));
	free(r);
	r = raw_exchange(httpd_port(h), "GET / HTTP/2.0\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 400 "));
	free(r);
	r = raw_exchange(httpd_port(h),
	    "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 400 "));
	free(r);
	r = raw_exchange(httpd_port(h), "GET /%zz HTTP/1.1\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 400 "));
	free(r);
	r = raw_exchange(httpd_port(h), "POST / HTTP/1.1\r\n"
	    "Content-Length: 2000000\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 413 "));
	free(r);
	r = raw_exchange(httpd_port(h), "POST / HTTP/1.1\r\n"
	    "Content-Length: -1\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 400 "));
	free(r);
	r = raw_exchange(httpd_port(h), "POST / HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 411 "));
	free(r);

	big = xmalloc(20000);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	for (i = 19; i < 20000; i++)
		big[i] = 'a';
	r = raw_exchange(httpd_port(h), big, 20000);
	T_OK(str_has_prefix(r, "HTTP/1.1 431 "));
	free(r);
	free(big);

	/* Expect: 100-continue gets its interim reply, then the answer. */
	r = expect_continue(httpd_port(h));
	T_OK(str_has_prefix(r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"));
	T_CONTAINS(r, "body=ok");
	free(r);

	/* Two requests in one write, both answered (keep-alive). */
	r = raw_exchange(httpd_port(h), "POST /x HTTP/1.1\r\n"
	    "Content-Length: 3\r\n\r\nabcGET /y HTTP/1.1\r\n"
	    "Connection: close\r\n\r\n", 0);
	T_CONTAINS(r, "path=/x raw=/x query= x=- tls=0 body=abc");
	T_CONTAINS(r, "path=/y raw=/y");
	free(r);
	httpd_stop(h);
}

static void
test_keep_alive_reuses_connection(void)
{
	struct httpd	*h = start(0);
	struct get	 g = { 0 };
	CURL		*c;
	long		 nconn = -1;
	char		*url;

	if (h == NULL)
		return;
	url = xasprintf("http://127.0.0.1:%d/one", httpd_port(h));
	c = curl_easy_init();
	g.url = url;
	get_run(&g, c);
	T_EQ_INT(g.status, 200);
	get_free(&g);
	memset(&g, 0, sizeof g);
	g.url = url;
	g.method = "PUT";
	g.body = "z=1";
	get_run(&g, c);
	T_EQ_INT(g.status, 200);
	T_CONTAINS(g.out.data, "method=PUT");
	T_CONTAINS(g.out.data, "body=z=1");
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
	T_EQ_INT(nconn, 0);
	get_free(&g);
	curl_easy_cleanup(c);
	free(url);
	httpd_stop(h);
}

/* "sha256//BASE64" of the certificate's public key, for curl's pin. */
static char *
pin_of_pem(const char *pem)
{
	BIO		*bio = BIO_new_mem_buf(pem, -1);
	X509		*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	unsigned char	*der = NULL, md[32], b64[64];
	int		 len;
	char		*pin;

	len = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
	EVP_EncodeBlock(b64, md, 32);
	pin = xasprintf("sha256//%s", b64);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	return (pin);
}

/* The fingerprint of the certificate a raw TLS client receives. */
static char *
fingerprint_seen(int port)
{
	struct sockaddr_in	 sin;
	SSL_CTX			*ctx = SSL_CTX_new(TLS_client_method());
	SSL			*ssl = SSL_new(ctx);
	X509			*x = NULL;
	unsigned char		 md[32];
	unsigned int		 mdlen = 0, i;
	struct buf		 b;
	int			 fd;

	buf_init(&b, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) == 1)
			x = SSL_get1_peer_certificate(ssl);
	}
	if (x != NULL && X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
		for (i = 0; i < mdlen; i++)
			buf_printf(&b, "%s%02X", i ? ":" : "", md[i]);
	}
	X509_free(x);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return (buf_steal(&b));
}

static void
test_tls_verify_pin_and_fingerprint(void)
{
	struct httpd	*h = start(1), *other = start(1);
	struct get	 g = { 0 };
	char		*url, *pin, *seen;

	if (h == NULL || other == NULL)
		goto out;
	T_OK(httpd_fingerprint(h) != NULL);
	T_EQ_INT(strlen(httpd_fingerprint(h)), 95);
	T_CONTAINS(httpd_cert_pem(h), "-----BEGIN CERTIFICATE-----");
	T_OK(strcmp(httpd_fingerprint(h), httpd_fingerprint(other)) != 0);

	seen = fingerprint_seen(httpd_port(h));
	T_EQ_STR(seen, httpd_fingerprint(h));
	free(seen);

	/* Verified against its own PEM as CA, by IP and by name. */
	url = xasprintf("https://127.0.0.1:%d/secure", httpd_port(h));
	g.url = url;
	g.ca_pem = httpd_cert_pem(h);
	get_run(&g, NULL);
	T_EQ_INT(g.curl_rc, CURLE_OK);
	T_EQ_INT(g.status, 200);
	T_CONTAINS(g.out.data, "tls=1");
	get_free(&g);
	free(url);

	url = xasprintf("https://localhost:%d/secure", httpd_port(h));
	memset(&g, 0, sizeof g);
	g.url = url;
	g.ca_pem = httpd_cert_pem(h);
	get_run(&g, NULL);
	/* localhost may resolve to ::1 first; curl falls back to 127.0.0.1. */
	T_EQ_INT(g.curl_rc, CURLE_OK);
	get_free(&g);
	free(url);

	/* Another server's certificate is refused. */
	url = xasprintf("https://127.0.0.1:%d/secure", httpd_port(h));
	memset(&g, 0, sizeof g);
	g.url = url;
	g.ca_pem = httpd_cert_pem(other);
	get_run(&g, NULL);
	T_EQ_INT(g.curl_rc, CURLE_PEER_FAILED_VERIFICATION);
	T_EQ_INT(g.status, 0);
	get_free(&g);

	/* Public-key pin: right one passes, wrong one fails. */
	pin = pin_of_pem(httpd_cert_pem(h));
	memset(&g, 0, sizeof g);
	g.url = url;
	g.pin = pin;
	get_run(&g, NULL);
	T_EQ_INT(g.curl_rc, CURLE_OK);
	T_EQ_INT(g.status, 200);
	get_free(&g);
	free(pin);
	pin = pin_of_pem(httpd_cert_pem(other));
	memset(&g, 0, sizeof g);
	g.url = url;
	g.pin = pin;
	get_run(&g, NULL);
	T_EQ_INT(g.curl_rc, CURLE_SSL_PINNEDPUBKEYNOTMATCH);
	get_free(&g);
	free(pin);
	free(url);
out:
	httpd_stop(h);
	httpd_stop(other);
}

static void
test_stop_with_open_connections(void)
{
	struct httpd	*h = start(1);
	struct get	 slow = { 0 };
	pthread_t	 t;
	char		*url;
	int64_t		 t0;
	int		 fd;
	struct sockaddr_in sin;

	if (h == NULL)
		return;
	/* An idle connection that never sends anything. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)httpd_port(h));
	T_EQ_INT(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	url = xasprintf("https://127.0.0.1:%d/slow", httpd_port(h));
	slow.url = url;
	slow.ca_pem = httpd_cert_pem(h);
	pthread_create(&t, NULL, slow_thread, &slow);
	sleep_ms(300);
	t0 = now_ms();
	httpd_stop(h);
	T_OK(now_ms() - t0 < 3000);
	pthread_join(t, NULL);
	close(fd);
	get_free(&slow);
	free(url);
}

/* Waits until n handlers block in /block; 0 on time-out. */
static int
wait_blocked(int n)
{
	int64_t	end = now_ms() + 5000;

	while (atomic_load(&blocked) < n) {
		if (now_ms() > end)
			return (0);
		sleep_ms(5);
	}
	return (1);
}

/*
 * Many long polls in flight at once still leave room for another
 * request, and stopping the server ends them promptly: each handler
 * sees httpd_stopping() and its reply still reaches its client, marked
 * Connection: close.
 */
static void
test_long_polls_do_not_stall_and_stop_is_prompt(void)
{
	struct httpd	*h = start(0);
	struct get	 polls[20], fast = { 0 };
	pthread_t	 t[20];
	char		*burl, *furl;
	int64_t		 t0, took;
	size_t		 i;

	if (h == NULL)
		return;
	atomic_store(&block_on, h);
	burl = xasprintf("http://127.0.0.1:%d/block", httpd_port(h));
	furl = xasprintf("http://127.0.0.1:%d/fast", httpd_port(h));
	memset(polls, 0, sizeof polls);
	for (i = 0; i < nitems(polls); i++) {
		polls[i].url = burl;
		pthread_create(&t[i], NULL, slow_thread, &polls[i]);
	}
	T_OK(wait_blocked((int)nitems(polls)));

	fast.url = furl;
	t0 = now_ms();
	get_run(&fast, NULL);
	took = now_ms() - t0;
	T_EQ_INT(fast.status, 200);
	T_OK(took < 1000);

	t0 = now_ms();
	httpd_stop(h);
	took = now_ms() - t0;
	T_OK(took < 1000);
	for (i = 0; i < nitems(polls); i++) {
		pthread_join(t[i], NULL);
		T_EQ_INT(polls[i].status, 200);
		T_EQ_STR(buf_cstr(&polls[i].out), "unblocked");
		T_CONTAINS(buf_cstr(&polls[i].hdrs), "Connection: close");
		get_free(&polls[i]);
	}
	T_EQ_INT(atomic_load(&blocked), 0);
	get_free(&fast);
	free(burl);
	free(furl);
}

/* A delayed reply holds only its own request back. */
static void
test_delay_holds_only_its_reply(void)
{
	struct httpd	*h = start(0);
	struct get	 slow = { 0 }, fast = { 0 };
	pthread_t	 t;
	char		*durl, *furl;
	int64_t		 t0, took;

	if (h == NULL)
		return;
	durl = xasprintf("http://127.0.0.1:%d/delay", httpd_port(h));
	furl = xasprintf("http://127.0.0.1:%d/fast", httpd_port(h));
	slow.url = durl;
	fast.url = furl;
	t0 = now_ms();
	pthread_create(&t, NULL, slow_thread, &slow);
	get_run(&fast, NULL);
	T_EQ_INT(fast.status, 200);
	T_OK(now_ms() - t0 < 350);
	pthread_join(t, NULL);
	took = now_ms() - t0;
	T_EQ_INT(slow.status, 200);
	T_CONTAINS(buf_cstr(&slow.out), "path=/delay");
	T_OK(took >= 400);
	get_free(&slow);
	get_free(&fast);
	free(durl);
	free(furl);
	httpd_stop(h);
}

static int
connect_to(int port)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 5, 0 };
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * HTTPD_MAX_CONNS connections are served; one more is closed at once,
 * and a place freed is usable again.
 */
static void
test_connection_cap(void)
{
	static const char last[] = "GET /last HTTP/1.1\r\n\r\n";
	struct httpd	*h = start(0);
	int		 fds[HTTPD_MAX_CONNS], extra, i;
	char		 c, *r;
	ssize_t		 n;

	if (h == NULL)
		return;
	for (i = 0; i < HTTPD_MAX_CONNS; i++) {
		fds[i] = connect_to(httpd_port(h));
		T_OK(fds[i] != -1);
	}
	/* The last one is served, so all of them were accepted. */
	(void)send(fds[HTTPD_MAX_CONNS - 1], last, strlen(last), MSG_NOSIGNAL);
	n = recv(fds[HTTPD_MAX_CONNS - 1], &c, 1, 0);
	T_EQ_INT(n, 1);
	extra = connect_to(httpd_port(h));
	T_OK(extra != -1);
	n = recv(extra, &c, 1, 0);
	T_EQ_INT(n, 0);
	close(extra);
	close(fds[0]);
	/* Once the server saw the close, a new connection is served. */
	r = NULL;
	for (i = 0; i < 100; i++) {
		free(r);
		r = raw_exchange(httpd_port(h), "GET /again HTTP/1.1\r\n"
		    "Connection: close\r\n\r\n", 0);
		if (str_has_prefix(r, "HTTP/1.1 200 "))
			break;
		sleep_ms(20);
	}
	T_OK(str_has_prefix(r, "HTTP/1.1 200 "));
	free(r);
	for (i = 1; i < HTTPD_MAX_CONNS; i++)
		close(fds[i]);
	httpd_stop(h);
}

/* A reply to HEAD has the headers of the GET reply and no body. */
static void
test_head_reply_has_no_body(void)
{
	struct httpd	*h = start(0);
	char		*r, *body;

	if (h == NULL)
		return;
	r = raw_exchange(httpd_port(h), "HEAD /h HTTP/1.1\r\n"
	    "Connection: close\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 200 "));
	T_NOT_CONTAINS(r, "Content-Length: 0\r\n");
	T_CONTAINS(r, "Content-Length: ");
	body = strstr(r, "\r\n\r\n");
	T_OK(body != NULL && body[4] == '\0');
	free(r);
	httpd_stop(h);
}

/* Pipelined requests are answered in order, the slow one first. */
static void
test_pipelined_replies_in_order(void)
{
	struct httpd	*h = start(0);
	char		*r, *slow, *delay, *fast;

	if (h == NULL)
		return;
	r = raw_exchange(httpd_port(h), "GET /slow HTTP/1.1\r\n\r\n"
	    "GET /delay HTTP/1.1\r\n\r\n"
	    "GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n", 0);
	slow = strstr(r, "path=/slow");
	delay = strstr(r, "path=/delay");
	fast = strstr(r, "path=/fast");
	T_OK(slow != NULL && delay != NULL && fast != NULL);
	T_OK(slow < delay && delay < fast);
	free(r);
	httpd_stop(h);
}

static struct httpd *
start_with(struct httpd_opts *o)
{
	struct httpd	*h;
	char		*cause = NULL;

	o->handler = handler;
	h = httpd_start(o, &cause);
	if (h == NULL)
		t_fail(__FILE__, __LINE__, "httpd_start: %s", cause);
	free(cause);
	return (h);
}

static void
test_chunked_bodies_when_accepted(void)
{
	struct httpd_opts	 o;
	struct httpd		*h;
	char			*r;

	memset(&o, 0, sizeof o);
	o.chunked = 1;
	o.max_body = 64;
	if ((h = start_with(&o)) == NULL)
		return;
	/* Decoded, as Proxmox's webhook client sends a body. */
	r = raw_exchange(httpd_port(h), "POST /c HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 200 "));
	T_CONTAINS(r, "body=hello world");
	free(r);
	/* Under the same cap: 70 bytes in chunks is too much. */
	r = raw_exchange(httpd_port(h), "POST /c HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "23\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
	    "23\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n0\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 413 "));
	free(r);
	/* Other codings are not understood. */
	r = raw_exchange(httpd_port(h), "POST /c HTTP/1.1\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 501 "));
	free(r);
	/* An empty chunked body is an empty body. */
	r = raw_exchange(httpd_port(h), "POST /c HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
	    0);
	T_OK(str_has_prefix(r, "HTTP/1.1 200 "));
	T_CONTAINS(r, "body=");
	free(r);
	httpd_stop(h);
}

static pthread_mutex_t	 refused_lock = PTHREAD_MUTEX_INITIALIZER;
static struct buf	 refused_seen;

static void
on_refused(void *arg, const char *peer, int status, const char *why)
{
	pthread_mutex_lock(&refused_lock);
	buf_printf(&refused_seen, "%s %d %s\n", peer, status, why);
	pthread_mutex_unlock(&refused_lock);
}

static void
test_refusals_reported(void)
{
	struct httpd_opts	 o;
	struct httpd		*h;
	char			*r, *seen;

	buf_init(&refused_seen, 0);
	memset(&o, 0, sizeof o);
	o.refused = on_refused;
	o.max_body = 16;
	if ((h = start_with(&o)) == NULL)
		return;
	r = raw_exchange(httpd_port(h), "GARBAGE\r\n\r\n", 0);
	free(r);
	r = raw_exchange(httpd_port(h), "POST / HTTP/1.1\r\n"
	    "Content-Length: 17\r\n\r\n", 0);
	T_OK(str_has_prefix(r, "HTTP/1.1 413 "));
	free(r);
	r = raw_exchange(httpd_port(h), "POST / HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0);
	free(r);
	httpd_stop(h);
	pthread_mutex_lock(&refused_lock);
	seen = buf_steal(&refused_seen);
	pthread_mutex_unlock(&refused_lock);
	T_CONTAINS(seen, "127.0.0.1:");
	T_CONTAINS(seen, " 400 ");
	T_CONTAINS(seen, " 413 body too large\n");
	T_CONTAINS(seen, " 411 chunked bodies are not supported");
	free(seen);
}

/*
 * A request must arrive whole within timeout_s of its first byte: one
 * that dribbles in a byte at a time (which an idle timer would let live
 * for ever) is closed.
 */
static void
test_request_deadline(void)
{
	struct httpd_opts	 o;
	struct httpd		*h;
	struct sockaddr_in	 sin;
	const char		*req = "GET / HTTP/1.1\r\nX-Slow: "
				    "abcdefghijklmnopqrstuvwxyz0123456789";
	char			 c;
	size_t			 i;
	int64_t			 t0;
	int			 fd, closed = 0;

	memset(&o, 0, sizeof o);
	o.timeout_s = 1;
	if ((h = start_with(&o)) == NULL)
		return;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)httpd_port(h));
	T_EQ_INT(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	t0 = now_ms();
	for (i = 0; i < strlen(req) && !closed; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1) {
			closed = 1;
			break;
		}
		sleep_ms(250);
		if (recv(fd, &c, 1, MSG_DONTWAIT) == 0)
			closed = 1;
	}
	/* 60 bytes at 4 a second would take 15 s: it was cut off. */
	T_OK(closed);
	T_OK(now_ms() - t0 < 10000);
	close(fd);
	httpd_stop(h);
}

static void
test_certificate_given_as_pem_and_address(void)
{
	struct httpd_cert	 cert;
	struct httpd_opts	 o;
	struct httpd		*h;
	struct get		 g = { 0 };
	char			*url, *cause = NULL;

	T_EQ_INT(httpd_cert_generate(&cert, &cause), 0);
	free(cause);
	cause = NULL;
	memset(&o, 0, sizeof o);
	o.address = "127.0.0.1";
	o.cert_pem = cert.cert_pem;
	o.key_pem = cert.key_pem;
	if ((h = start_with(&o)) == NULL) {
		httpd_cert_release(&cert);
		return;
	}
	T_EQ_STR(httpd_cert_pem(h), cert.cert_pem);
	url = xasprintf("https://127.0.0.1:%d/given", httpd_port(h));
	g.url = url;
	g.ca_pem = cert.cert_pem;
	get_run(&g, NULL);
	T_EQ_INT(g.curl_rc, CURLE_OK);
	T_EQ_INT(g.status, 200);
	T_CONTAINS(g.out.data, "tls=1");
	get_free(&g);
	free(url);
	httpd_stop(h);

	/* A key that is not the certificate's does not start. */
	{
		struct httpd_cert	 other;

		T_EQ_INT(httpd_cert_generate(&other, &cause), 0);
		free(cause);
		cause = NULL;
		o.key_pem = other.key_pem;
		o.handler = handler;
		T_OK((h = httpd_start(&o, &cause)) == NULL);
		T_CONTAINS(cause, "the TLS key is not the certificate's key");
		free(cause);
		cause = NULL;
		httpd_stop(h);
		httpd_cert_release(&other);
	}
	/* An address that is not one of this machine's. */
	memset(&o, 0, sizeof o);
	o.address = "192.0.2.1";
	o.handler = handler;
	T_OK((h = httpd_start(&o, &cause)) == NULL);
	T_CONTAINS(cause, "cannot listen on 192.0.2.1:0");
	free(cause);
	httpd_stop(h);
	httpd_cert_release(&cert);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_get_decodes_path_query_headers);
	T_RUN(test_post_form_repeated_keys);
	T_RUN(test_parse_form_and_decode);
	T_RUN(test_custom_status_reason);
	T_RUN(test_slow_handler_does_not_stall_others);
	T_RUN(test_drop_closes_without_reply);
	T_RUN(test_malformed_requests_refused);
	T_RUN(test_keep_alive_reuses_connection);
	T_RUN(test_tls_verify_pin_and_fingerprint);
	T_RUN(test_stop_with_open_connections);
	T_RUN(test_long_polls_do_not_stall_and_stop_is_prompt);
	T_RUN(test_delay_holds_only_its_reply);
	T_RUN(test_connection_cap);
	T_RUN(test_head_reply_has_no_body);
	T_RUN(test_pipelined_replies_in_order);
	T_RUN(test_chunked_bodies_when_accepted);
	T_RUN(test_refusals_reported);
	T_RUN(test_request_deadline);
	T_RUN(test_certificate_given_as_pem_and_address);
	curl_global_cleanup();
	return (t_summary());
}
