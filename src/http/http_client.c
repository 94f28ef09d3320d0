/*
 * http_client.c - one outgoing request with libcurl, for the endpoint's
 * own threads: a silence to Alertmanager, the dead-man ping. Bounded in
 * every way: the timeout covers the whole request, the reply is kept up
 * to HTTP_CALL_MAX_REPLY, redirects are not followed (a push URL that
 * redirects is a mistake to see, not to follow), TLS is verified, and
 * only http and https are spoken. Credentials go in headers curl builds,
 * never in the URL, and no error text carries them.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_int.h"
#include "log.h"
#include "util.h"

static size_t
collect(char *p, size_t size, size_t nmemb, void *arg)
{
	struct buf	*b = arg;

	/* Past the cap the rest is dropped, and the call still ends. */
	buf_append(b, p, size * nmemb);
	return size * nmemb;
}

int
http_call(struct http_call *c, char **cause)
{
	struct curl_slist	*headers = NULL;
	CURL			*curl;
	CURLcode		 cc;
	char			 err[CURL_ERROR_SIZE], *h;
	long			 status = 0;

	buf_init(&c->reply, HTTP_CALL_MAX_REPLY);
	c->status = 0;
	if ((curl = curl_easy_init()) == NULL)
		return set_cause(cause, "cannot start libcurl");
	err[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_URL, c->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->timeout_s > 0 ?
	    c->timeout_s : 10L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, c->timeout_s > 0 ?
	    c->timeout_s : 10L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c->reply);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "pvebot/" PVEBOT_VERSION);
	if (c->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	if (strcmp(c->method, "POST") == 0) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, c->body != NULL ?
		    c->body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)(c->body !=
		    NULL ? strlen(c->body) : 0));
	} else
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	if (c->content_type != NULL) {
		h = xasprintf("Content-Type: %s", c->content_type);
		headers = curl_slist_append(headers, h);
		free(h);
	}
	if (c->bearer != NULL) {
		h = xasprintf("Authorization: Bearer %s", c->bearer);
		headers = curl_slist_append(headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	} else if (c->username != NULL) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, c->password != NULL ?
		    c->password : "");
	}
	/* No "Expect: 100-continue" wait on a small body. */
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	cc = curl_easy_perform(curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (cc != CURLE_OK) {
		char	*scrubbed = log_scrub(*err != '\0' ? err :
			    curl_easy_strerror(cc));

		set_cause(cause, "%s", scrubbed);
		free(scrubbed);
		return -1;
	}
	c->status = status;
	return 0;
}

void
http_call_release(struct http_call *c)
{
	buf_release(&c->reply);
}
