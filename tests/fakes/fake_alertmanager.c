/*
 * fake_alertmanager.c - a fake Alertmanager API v2 for the tests (see
 * fake_alertmanager.h).
 *
 * POST /api/v2/silences is checked against Alertmanager's OpenAPI,
 * api/v2/openapi.yaml of prometheus/alertmanager (the schema also shown
 * by the reference pages the search tool's docs corpus returns, e.g.
 * docs.aws.amazon.com/prometheus/latest/userguide/
 * AMP-APIReference-PutAlertManagerSilences.md):
 *   postableSilence = allOf({id: string}, silence)
 *   silence: matchers, startsAt (date-time), endsAt (date-time),
 *            createdBy (string), comment (string), all required
 *   matchers: array of matcher, minItems 1
 *   matcher: name, value (strings), isRegex (boolean) required;
 *            isEqual (boolean) optional, default true
 * and what Alertmanager checks beyond the schema before it stores a
 * silence: label names as the model allows them ([a-zA-Z_][a-zA-Z0-9_]*),
 * at least one matcher that does not match the empty string, endsAt
 * after startsAt and not in the past, an id only for a silence it knows
 * (else 404). Stricter than Alertmanager, on purpose: unknown members,
 * an empty createdBy or comment and a date-time that is not RFC 3339
 * are refused too. Answers 200 {"silenceID": "<uuid>"}, 400 with a text
 * body, 401 without the configured bearer token.
 *
 * It binds 127.0.0.1 only (through httpd).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_alertmanager.h"
#include "httpd.h"
#include "util.h"

struct fake_am {
	struct httpd	*httpd;
	char		 url[64];
	char		*bearer;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	size_t		 posts;
	json_t		*silences;	/* accepted, with "id" */
	char		 refusal[256];
	int		 fail_status;
	int		 fail_count;
};

/* RFC 3339 date-time to UNIX seconds; -1 when it is not one. */
static long long
rfc3339(const char *s)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, n = 0, oh, om;
	long long	 t;
	const char	*p;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	p = s + n;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (long long)timegm(&tm);
	if (*p == 'Z' && p[1] == '\0')
		return t;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &oh, &om,
	    &n) == 2 && n == 5 && p[6] == '\0')
		return t - (*p == '+' ? 1 : -1) * (oh * 3600LL + om * 60LL);
	return -1;
}

static int
label_name_ok(const char *s)
{
	if (s == NULL || (!isalpha((unsigned char)*s) && *s != '_'))
		return 0;
	for (s++; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	}
	return 1;
}

static int
refuse(char *why, size_t len, const char *fmt, const char *arg)
{
	snprintf(why, len, fmt, arg != NULL ? arg : "");
	return -1;
}

int
fake_am_check_silence(const char *body, long long now, char *why,
    size_t len)
{
	static const char *const members[] = { "id", "matchers", "startsAt",
	    "endsAt", "createdBy", "comment" };
	static const char *const mmembers[] = { "name", "value", "isRegex",
	    "isEqual" };
	json_t		*o, *m, *v;
	const char	*k;
	long long	 start, end;
	size_t		 i, j, not_empty = 0;
	int		 rc = -1;

	if ((o = json_loads(body, 0, NULL)) == NULL || !json_is_object(o)) {
		json_decref(o);
		return refuse(why, len, "body is not a JSON object%s", NULL);
	}
	json_object_foreach(o, k, v) {
		for (i = 0; i < nitems(members) && strcmp(k, members[i]) != 0;
		    i++)
			;
		if (i == nitems(members)) {
			refuse(why, len, "unknown member %s", k);
			goto out;
		}
	}
	if ((v = json_object_get(o, "id")) != NULL && !json_is_string(v)) {
		refuse(why, len, "id must be a string%s", NULL);
		goto out;
	}
	m = json_object_get(o, "matchers");
	if (!json_is_array(m) || json_array_size(m) < 1) {
		refuse(why, len, "matchers: an array of at least 1 item is "
		    "required%s", NULL);
		goto out;
	}
	json_array_foreach(m, i, v) {
		json_t		*name = json_object_get(v, "name");
		json_t		*value = json_object_get(v, "value");
		json_t		*re = json_object_get(v, "isRegex");
		json_t		*eq = json_object_get(v, "isEqual");

		if (!json_is_object(v)) {
			refuse(why, len, "matchers: items must be objects%s",
			    NULL);
			goto out;
		}
		json_object_foreach(v, k, name) {
			for (j = 0; j < nitems(mmembers) && strcmp(k,
			    mmembers[j]) != 0; j++)
				;
			if (j == nitems(mmembers)) {
				refuse(why, len, "matcher: unknown member %s",
				    k);
				goto out;
			}
		}
		name = json_object_get(v, "name");
		if (!json_is_string(name) || !json_is_string(value) ||
		    !json_is_boolean(re)) {
			refuse(why, len, "matcher: name, value (strings) and "
			    "isRegex (boolean) are required%s", NULL);
			goto out;
		}
		if (eq != NULL && !json_is_boolean(eq)) {
			refuse(why, len, "matcher: isEqual must be a "
			    "boolean%s", NULL);
			goto out;
		}
		if (!label_name_ok(json_string_value(name))) {
			refuse(why, len, "invalid label name \"%s\"",
			    json_string_value(name));
			goto out;
		}
		/* Equal to a non-empty text, or unequal to the empty one. */
		if (!json_is_true(re) && (eq == NULL || json_is_true(eq)) ==
		    (*json_string_value(value) != '\0'))
			not_empty++;
	}
	if (not_empty == 0) {
		refuse(why, len, "at least one matcher must not match the "
		    "empty string%s", NULL);
		goto out;
	}
	start = rfc3339(json_string_value(json_object_get(o, "startsAt")));
	end = rfc3339(json_string_value(json_object_get(o, "endsAt")));
	if (start < 0 || end < 0) {
		refuse(why, len, "startsAt and endsAt must be RFC 3339 "
		    "date-times%s", NULL);
		goto out;
	}
	if (end <= start) {
		refuse(why, len, "start time must be before end time%s", NULL);
		goto out;
	}
	if (end < now) {
		refuse(why, len, "end time can't be in the past%s", NULL);
		goto out;
	}
	if (!json_is_string(json_object_get(o, "createdBy")) ||
	    *json_string_value(json_object_get(o, "createdBy")) == '\0' ||
	    !json_is_string(json_object_get(o, "comment")) ||
	    *json_string_value(json_object_get(o, "comment")) == '\0') {
		refuse(why, len, "createdBy and comment are required%s", NULL);
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static void
reply_text(struct httpd_resp *resp, int status, const char *text)
{
	resp->status = status;
	resp->content_type = "text/plain";
	buf_printf(&resp->body, "%s\n", text);
}

static void
handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct fake_am	*fa = arg;
	const char	*auth = httpd_header(req, "Authorization");
	const char	*ct = httpd_header(req, "Content-Type");
	char		 why[256], id[40], hex[33];
	json_t		*o;
	char		*list;

	if (fa->bearer != NULL && (auth == NULL ||
	    strncmp(auth, "Bearer ", 7) != 0 ||
	    strcmp(auth + 7, fa->bearer) != 0)) {
		reply_text(resp, 401, "unauthorized");
		return;
	}
	if (strcmp(req->path, "/api/v2/silences") != 0) {
		reply_text(resp, 404, "not found");
		return;
	}
	if (strcmp(req->method, "GET") == 0) {
		pthread_mutex_lock(&fa->lock);
		list = json_dumps(fa->silences, JSON_COMPACT);
		pthread_mutex_unlock(&fa->lock);
		buf_puts(&resp->body, list);
		free(list);
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		reply_text(resp, 405, "method not allowed");
		return;
	}
	/* A POST counts once its answer is decided. */
	pthread_mutex_lock(&fa->lock);
	if (fa->fail_count > 0) {
		fa->fail_count--;
		snprintf(fa->refusal, sizeof fa->refusal, "injected %d",
		    fa->fail_status);
		fa->posts++;
		pthread_cond_broadcast(&fa->cond);
		pthread_mutex_unlock(&fa->lock);
		reply_text(resp, fa->fail_status, "injected failure");
		return;
	}
	pthread_mutex_unlock(&fa->lock);
	if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
		snprintf(why, sizeof why, "Content-Type must be "
		    "application/json");
		goto refused;
	}
	if (fake_am_check_silence(req->body, (long long)time(NULL), why,
	    sizeof why) != 0)
		goto refused;
	o = json_loads(req->body, 0, NULL);
	if (json_is_string(json_object_get(o, "id")) &&
	    *json_string_value(json_object_get(o, "id")) != '\0') {
		json_decref(o);
		snprintf(why, sizeof why, "silence not found");
		pthread_mutex_lock(&fa->lock);
		snprintf(fa->refusal, sizeof fa->refusal, "%s", why);
		fa->posts++;
		pthread_cond_broadcast(&fa->cond);
		pthread_mutex_unlock(&fa->lock);
		reply_text(resp, 404, why);
		return;
	}
	random_hex(hex, 16);
	snprintf(id, sizeof id, "%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8,
	    hex + 12, hex + 15, hex + 18);
	json_object_set_new(o, "id", json_string(id));
	pthread_mutex_lock(&fa->lock);
	json_array_append_new(fa->silences, o);
	fa->posts++;
	pthread_cond_broadcast(&fa->cond);
	pthread_mutex_unlock(&fa->lock);
	buf_printf(&resp->body, "{\"silenceID\":\"%s\"}", id);
	return;
refused:
	pthread_mutex_lock(&fa->lock);
	snprintf(fa->refusal, sizeof fa->refusal, "%s", why);
	fa->posts++;
	pthread_cond_broadcast(&fa->cond);
	pthread_mutex_unlock(&fa->lock);
	reply_text(resp, 400, why);
}

struct fake_am *
fake_am_start(const char *bearer)
{
	struct fake_am		*fa = xcalloc(1, sizeof *fa);
	struct httpd_opts	 o;
	char			*cause = NULL;

	pthread_mutex_init(&fa->lock, NULL);
	pthread_cond_init(&fa->cond, NULL);
	fa->silences = json_array();
	fa->bearer = bearer != NULL ? xstrdup(bearer) : NULL;
	memset(&o, 0, sizeof o);
	o.handler = handler;
	o.arg = fa;
	o.name = "fake_alertmanager";
	if ((fa->httpd = httpd_start(&o, &cause)) == NULL) {
		fprintf(stderr, "fake_alertmanager: %s\n", cause);
		free(cause);
		fake_am_stop(fa);
		return NULL;
	}
	snprintf(fa->url, sizeof fa->url, "http://127.0.0.1:%d",
	    httpd_port(fa->httpd));
	return fa;
}

void
fake_am_stop(struct fake_am *fa)
{
	if (fa == NULL)
		return;
	httpd_stop(fa->httpd);
	json_decref(fa->silences);
	free(fa->bearer);
	pthread_mutex_destroy(&fa->lock);
	pthread_cond_destroy(&fa->cond);
	free(fa);
}

const char *
fake_am_url(const struct fake_am *fa)
{
	return fa->url;
}

void
fake_am_fail(struct fake_am *fa, int status, int count)
{
	pthread_mutex_lock(&fa->lock);
	fa->fail_status = status;
	fa->fail_count = count;
	pthread_mutex_unlock(&fa->lock);
}

size_t
fake_am_posts(struct fake_am *fa)
{
	size_t	 n;

	pthread_mutex_lock(&fa->lock);
	n = fa->posts;
	pthread_mutex_unlock(&fa->lock);
	return n;
}

size_t
fake_am_nsilences(struct fake_am *fa)
{
	size_t	 n;

	pthread_mutex_lock(&fa->lock);
	n = json_array_size(fa->silences);
	pthread_mutex_unlock(&fa->lock);
	return n;
}

json_t *
fake_am_silence(struct fake_am *fa, size_t i)
{
	json_t	*o;

	pthread_mutex_lock(&fa->lock);
	o = json_deep_copy(json_array_get(fa->silences, i));
	pthread_mutex_unlock(&fa->lock);
	return o;
}

const char *
fake_am_last_refusal(struct fake_am *fa)
{
	static char	 copy[256];

	pthread_mutex_lock(&fa->lock);
	snprintf(copy, sizeof copy, "%s", fa->refusal);
	pthread_mutex_unlock(&fa->lock);
	return copy;
}

int
fake_am_wait_posts(struct fake_am *fa, size_t n, int timeout_ms)
{
	struct timespec	 ts;
	int64_t		 at = wall_now_ms() + timeout_ms;
	int		 rc;

	ts.tv_sec = at / 1000;
	ts.tv_nsec = (at % 1000) * 1000000;
	pthread_mutex_lock(&fa->lock);
	while (fa->posts < n && pthread_cond_timedwait(&fa->cond, &fa->lock,
	    &ts) == 0)
		;
	rc = fa->posts >= n ? 0 : -1;
	pthread_mutex_unlock(&fa->lock);
	return rc;
}
