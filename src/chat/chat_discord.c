/*
 * chat_discord.c - the Discord connector (API v10): REST through net_http,
 * the dispatch worker, slash commands, buttons as message components.
 * The Gateway client is in chat_discord_gateway.c.
 *
 * Threads: the gateway thread only queues MESSAGE_CREATE and
 * INTERACTION_CREATE dispatches; the worker thread takes them in order,
 * acknowledges interactions at once (deferred response, type 5; deferred
 * update, type 6: well within Discord's 3 seconds) and submits events to
 * the router. Slash commands are registered by their own thread so a
 * slow or rate-limited registration never delays an acknowledgement.
 * send/edit/reply/answer may be called from any thread.
 *
 * REST guarantees: every request carries `Authorization: Bot TOKEN` and
 * the `User-Agent: DiscordBot (url, version)` Discord requires; rate
 * limits are kept per bucket (X-RateLimit-Bucket, -Remaining,
 * -Reset-After: a request waits while its bucket is empty), a 429 holds
 * its bucket - or every request when it is global - for retry_after and
 * is retried; requests start at least 20 ms apart (never more than 50 a
 * second). Interaction endpoints are exempt from a global hold, as on
 * Discord, so an acknowledgement is never late because of one. 5xx, network
 * errors and 429s are CHAT_TEMPORARY, other 4xx CHAT_PERMANENT. The token
 * is registered as a secret and no cause or log line carries a URL.
 * Requests go through the one HTTP client (net_http.h) on kept-alive
 * connections; a write is sent once (libcurl's own resend after a
 * kept-alive connection died is refused: a message must not post twice),
 * so such a call fails and its caller's retry decides.
 *
 * Offsets: each event carries "discord" = "SEQ SESSION_ID RESUME_URL";
 * on start the saved value lets the gateway resume where the last run
 * stopped (a dispatch is never acted on twice, nor lost while Discord
 * still holds the session).
 */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "chat.h"
#include "chat_discord.h"
#include "chat_feed.h"
#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "net_http.h"
#include "store.h"
#include "util.h"

#define DC_USER_AGENT	"DiscordBot (https://github.com/pvebot/pvebot, " \
			PVEBOT_VERSION ")"
#define DC_GATEWAY	"wss://gateway.discord.gg"
#define DC_BODY_MAX	(4 * 1024 * 1024)
#define DC_CONTENT_MAX	2000
#define DC_MIN_SPACING	20	/* ms between requests: 50 a second */
#define DC_RETRY_MAX	3	/* 429s retried per request */
/* Longer 429 waits are left to the callers (CHAT_TEMPORARY). */
#define DC_RETRY_WAIT	30000
#define DC_BUCKETS	64
#define DC_QUEUE_WARN	1024	/* a backlog worth a log line */

#define DC_REST_NOGLOBAL	0x1	/* interaction endpoints */
#define DC_REST_ACK		0x2	/* useless after Discord's 3 s */
#define DC_REST_SENDER		0x4	/* the sender thread: never wait out
					 * a bucket or a 429, report it */

struct dc_route {
	char	*route;	/* "PATCH /channels/1/messages/:id" */
	char	*bucket;	/* X-RateLimit-Bucket + major parameter */
	int64_t	 used;
};

struct dc_bucket {
	char	*key;
	int	 remaining;	/* -1 = unknown */
	int64_t	 reset_at;	/* now_ms() when it refills */
	int64_t	 used;
};

struct dc_cmdspec;

/* A queue item that is no dispatch: apply a reload (dc_reload). */
#define DC_RELOAD	"PVEBOT_RELOAD"

struct dc_item {
	struct dc_item	*next;
	char		*type;
	json_t		*data;
	char		*offset;
};

struct dc {
	struct connector	 conn;
	const struct chat_ctx	*ctx;
	/* Channels, users, guilds: a reload swaps it; read it once. */
	const struct conf_discord *_Atomic conf;
	char			*api_url;
	char			*token;
	struct net_http		*http;	/* REST: token header, kept alive */

	pthread_mutex_t		 lock;	/* everything below */
	char			*app_id;
	char			*bot_id;
	json_t			*commands;
	int			 registered;
	pthread_t		 reg_thread;
	int			 reg_started;

	/* Rate limits. */
	struct dc_route		 routes[DC_BUCKETS];
	struct dc_bucket	 buckets[DC_BUCKETS];
	int64_t			 global_until;
	int64_t			 next_slot;
	int64_t			 retry_after_ms;	/* sender thread */
	int64_t			 lru;

	/* The worker queue. */
	pthread_cond_t		 cond;
	struct dc_item		*head, **tail;
	size_t			 queued;
	pthread_t		 worker;
	int			 worker_started;
	atomic_int		 stopping;

	struct dc_gateway	*gw;
	struct dc_cmdspec	*specs;	/* the catalogue's, worker only */
	size_t			 nspecs;
	/* A reload's, under lock until the worker takes them. */
	struct dc_cmdspec	*pending_specs;
	size_t			 npending_specs;
	json_t			*pending_commands;

	/* Tests and fuzzing (chat_feed.h): requests answered here. */
	chat_feed_http		 feed_http;
	void			*feed_arg;
};


/* ---- rate limits --------------------------------------------------- */

/*
 * The route of a path: major parameters (channel, guild, webhook and
 * its token) stay, other ids become ":id" so that one channel's edits
 * share a route and two channels do not.
 */
static char *
dc_route_of(const char *method, const char *path)
{
	struct buf	 b;
	char		*copy, *save = NULL, *tok, *q;
	const char	*seg;
	int		 keep = 0, hide = 0;

	buf_init(&b, 0);
	buf_printf(&b, "%s ", method);
	copy = xstrdup(path);
	if ((q = strchr(copy, '?')) != NULL)
		*q = '\0';
	for (tok = strtok_r(copy, "/", &save); tok != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		seg = tok;
		if (keep > 0)
			keep--;
		else if (hide > 0) {
			hide--;
			seg = ":id";
		} else if (isdigit((unsigned char)tok[0]))
			seg = ":id";
		else if (strcmp(tok, "channels") == 0 ||
		    strcmp(tok, "guilds") == 0)
			keep = 1;
		else if (strcmp(tok, "webhooks") == 0)
			keep = 2;
		else if (strcmp(tok, "interactions") == 0)
			hide = 2;
		buf_printf(&b, "/%s", seg);
	}
	free(copy);
	return buf_steal(&b);
}

/* Major parameter of a route: what a bucket hash is qualified with. */
static char *
dc_major_of(const char *route)
{
	const char	*p;

	if ((p = strstr(route, "/channels/")) != NULL ||
	    (p = strstr(route, "/guilds/")) != NULL ||
	    (p = strstr(route, "/webhooks/")) != NULL) {
		const char	*end = strchr(p + 1, '/');

		if (end != NULL) {
			end = strchr(end + 1, '/');
			return end != NULL ? xstrndup(p, (size_t)(end - p)) :
			    xstrdup(p);
		}
	}
	return xstrdup("");
}

static struct dc_route *
dc_route_find(struct dc *dc, const char *route, int create)
{
	struct dc_route	*r, *old = &dc->routes[0];
	size_t		 i;

	for (i = 0; i < DC_BUCKETS; i++) {
		r = &dc->routes[i];
		if (r->route != NULL && strcmp(r->route, route) == 0) {
			r->used = ++dc->lru;
			return r;
		}
		if (r->route == NULL || r->used < old->used)
			old = r;
	}
	if (!create)
		return NULL;
	free(old->route);
	free(old->bucket);
	old->route = xstrdup(route);
	old->bucket = xstrdup(route);	/* until a header names it */
	old->used = ++dc->lru;
	return old;
}

static struct dc_bucket *
dc_bucket_find(struct dc *dc, const char *key, int create)
{
	struct dc_bucket	*b, *old = &dc->buckets[0];
	size_t			 i;

	for (i = 0; i < DC_BUCKETS; i++) {
		b = &dc->buckets[i];
		if (b->key != NULL && strcmp(b->key, key) == 0) {
			b->used = ++dc->lru;
			return b;
		}
		if (b->key == NULL || b->used < old->used)
			old = b;
	}
	if (!create)
		return NULL;
	free(old->key);
	old->key = xstrdup(key);
	old->remaining = -1;
	old->reset_at = 0;
	old->used = ++dc->lru;
	return old;
}

/*
 * Waits until the route's bucket, the global hold and the pace allow.
 * With DC_REST_SENDER a bucket or global wait is not slept: its length
 * is returned (the sender comes back later); 0 means go.
 */
static int64_t
dc_rate_wait(struct dc *dc, const char *route, int flags)
{
	struct dc_route		*r;
	struct dc_bucket	*b;
	int64_t			 now, wait, limit;

	pthread_mutex_lock(&dc->lock);
	for (;;) {
		now = now_ms();
		limit = 0;
		if (!(flags & DC_REST_NOGLOBAL) && dc->global_until > now)
			limit = dc->global_until - now;
		b = NULL;
		if ((r = dc_route_find(dc, route, 0)) != NULL &&
		    (b = dc_bucket_find(dc, r->bucket, 0)) != NULL &&
		    b->remaining == 0 && b->reset_at > now &&
		    b->reset_at - now > limit)
			limit = b->reset_at - now;
		if (limit > 0 && (flags & DC_REST_SENDER)) {
			pthread_mutex_unlock(&dc->lock);
			return limit;
		}
		wait = limit;
		if (dc->next_slot > now && dc->next_slot - now > wait)
			wait = dc->next_slot - now;
		if (wait == 0)
			break;
		pthread_mutex_unlock(&dc->lock);
		sleep_ms(wait > 100 ? 100 : wait);
		pthread_mutex_lock(&dc->lock);
	}
	if (b != NULL && b->remaining > 0)
		b->remaining--;
	else if (b != NULL && b->reset_at <= now)
		b->remaining = -1;
	/* A feed (tests, fuzzing) has no network to space requests on. */
	dc->next_slot = now + (dc->feed_http != NULL ? 0 : DC_MIN_SPACING);
	pthread_mutex_unlock(&dc->lock);
	return 0;
}

struct dc_headers {
	char	 bucket[128];
	int	 has_remaining;
	int	 remaining;
	double	 reset_after;
	int	 has_reset;
	int	 global;
	double	 retry_after;	/* the Retry-After header, seconds */
};

/* The rate-limit headers a REST reply is read for. */
static const char *const dc_rate_headers[] = { "X-RateLimit-Bucket",
	"X-RateLimit-Remaining", "X-RateLimit-Reset-After",
	"X-RateLimit-Global", NULL };

/* Reads them (curl_easy_header's values, in dc_rate_headers' order)
 * and Retry-After (CURLINFO_RETRY_AFTER). */
static void
dc_headers_read(struct dc_headers *h, const struct net_reply *r)
{
	long	 n;

	memset(h, 0, sizeof *h);
	if (r->values[0] != NULL)
		snprintf(h->bucket, sizeof h->bucket, "%s", r->values[0]);
	if (r->values[1] != NULL) {
		n = strtol(r->values[1], NULL, 10);
		h->remaining = n < 0 ? 0 : n > 1000000 ? 1000000 : (int)n;
		h->has_remaining = 1;
	}
	if (r->values[2] != NULL) {
		h->reset_after = strtod(r->values[2], NULL);
		h->has_reset = 1;
	}
	if (r->values[3] != NULL)
		h->global = strcasecmp(r->values[3], "true") == 0;
	h->retry_after = (double)r->retry_after;
}

/* Seconds (from a header or a body) to milliseconds, bounded. */
static int64_t
dc_seconds_ms(double s)
{
	if (!(s > 0))
		return 0;
	if (s > 86400)
		s = 86400;
	return (int64_t)(s * 1000.0 + 0.999);
}

static void
dc_rate_update(struct dc *dc, const char *route, const struct dc_headers *h)
{
	struct dc_route		*r;
	struct dc_bucket	*b;
	char			*major, *key;

	if (h->bucket[0] == '\0' && !h->has_remaining)
		return;
	pthread_mutex_lock(&dc->lock);
	r = dc_route_find(dc, route, 1);
	if (h->bucket[0] != '\0') {
		major = dc_major_of(route);
		key = xasprintf("%s%s", h->bucket, major);
		free(major);
		free(r->bucket);
		r->bucket = key;
	}
	b = dc_bucket_find(dc, r->bucket, 1);
	if (h->has_remaining)
		b->remaining = h->remaining;
	if (h->has_reset)
		b->reset_at = now_ms() + dc_seconds_ms(h->reset_after);
	pthread_mutex_unlock(&dc->lock);
}

static void
dc_rate_hold(struct dc *dc, const char *route, int global, int64_t ms)
{
	struct dc_route		*r;
	struct dc_bucket	*b;
	int64_t			 until = now_ms() + ms;

	pthread_mutex_lock(&dc->lock);
	if (global) {
		if (until > dc->global_until)
			dc->global_until = until;
	} else {
		r = dc_route_find(dc, route, 1);
		b = dc_bucket_find(dc, r->bucket, 1);
		b->remaining = 0;
		if (until > b->reset_at)
			b->reset_at = until;
	}
	pthread_mutex_unlock(&dc->lock);
}

static void	dc_rest_feed(struct dc *, const char *, const char *,
		    const char *, struct net_reply *);

/*
 * One REST request. `what` names it in causes ("create message"): never
 * the URL, which may hold an interaction token. `body` is borrowed;
 * *out (may be NULL) gets the parsed JSON reply. Returns a chat_result.
 */
static int
dc_rest(struct dc *dc, const char *what, const char *method,
    const char *path, json_t *body, int flags, json_t **out, char **cause)
{
	char			*route, *payload = NULL, *clean;
	struct dc_headers	 h;
	struct net_request	 req;
	struct net_reply	 r;
	long			 status;
	json_t			*reply;
	int			 attempt, rc = CHAT_TEMPORARY;
	const char		*msg;

	if (out != NULL)
		*out = NULL;
	route = dc_route_of(method, path);
	if (body != NULL)
		payload = json_dumps(body, JSON_COMPACT);
	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	/* A write without a body still says Content-Length: 0. */
	req.body = payload != NULL ? payload : strcmp(method, "GET") != 0 ?
	    "" : NULL;
	req.content_type = payload != NULL ? "application/json" : NULL;
	req.timeout_ms = (flags & DC_REST_ACK) ? 3000L : 30000L;
	req.want = dc_rate_headers;
	for (attempt = 0;; attempt++) {
		int64_t	 held = dc_rate_wait(dc, route, flags);

		if (held > 0) {
			dc->retry_after_ms = held;
			set_cause(cause, "Discord %s: rate limited for %.1f s",
			    what, (double)held / 1000);
			rc = CHAT_TEMPORARY;
			break;
		}
		if (dc->feed_http != NULL)
			dc_rest_feed(dc, method, path, payload, &r);
		else
			net_http_do(dc->http, &req, &r);
		if (r.result != NET_REPLY) {
			set_cause(cause, "Discord %s: %s", what,
			    r.result == NET_TOO_BIG ? "reply too large" :
			    r.error);
			rc = r.result == NET_TOO_BIG ? CHAT_PERMANENT :
			    CHAT_TEMPORARY;
			net_reply_release(&r);
			break;
		}
		status = r.status;
		dc_headers_read(&h, &r);
		dc_rate_update(dc, route, &h);
		reply = r.body.len > 0 ? json_loadb(r.body.data, r.body.len, 0,
		    NULL) : NULL;
		net_reply_release(&r);
		if (status == 429) {
			double	 ra = h.retry_after;
			int	 global = h.global;

			if (json_is_number(json_object_get(reply,
			    "retry_after")))
				ra = json_number_value(json_object_get(reply,
				    "retry_after"));
			if (json_is_true(json_object_get(reply, "global")))
				global = 1;
			json_decref(reply);
			dc_rate_hold(dc, route, global, dc_seconds_ms(ra));
			log_warn("discord", "rate limited request=\"%s\" "
			    "retry_after=%.3f global=%d", what, ra, global);
			if (!(flags & DC_REST_SENDER) &&
			    attempt + 1 < DC_RETRY_MAX &&
			    dc_seconds_ms(ra) <= DC_RETRY_WAIT)
				continue;
			if (flags & DC_REST_SENDER)
				dc->retry_after_ms = dc_seconds_ms(ra);
			rc = CHAT_TEMPORARY;
			set_cause(cause, "Discord %s: rate limited for %.1f s",
			    what, ra);
			break;
		}
		if (status >= 200 && status < 300) {
			if (out != NULL)
				*out = reply;
			else
				json_decref(reply);
			rc = CHAT_OK;
			break;
		}
		msg = json_string_value(json_object_get(reply, "message"));
		clean = log_scrub(msg != NULL ? msg : "no message");
		if (status == 401)
			set_cause(cause, "Discord %s: the bot token was "
			    "refused (401 %s)", what, clean);
		else
			set_cause(cause, "Discord %s: HTTP %ld %s (code %lld)",
			    what, status, clean, (long long)json_integer_value(
			    json_object_get(reply, "code")));
		free(clean);
		json_decref(reply);
		rc = status >= 500 ? CHAT_TEMPORARY : CHAT_PERMANENT;
		break;
	}
	free(payload);
	free(route);
	return rc;
}

/* ---- formatting ---------------------------------------------------- */

static int
dc_valid_id(const char *s)
{
	size_t	 i;

	if (s == NULL || *s == '\0' || strlen(s) > 24)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

char *
chat_discord_escape(const char *s)
{
	struct buf	 b;
	int		 line_start = 1;

	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (; *s != '\0'; s++) {
		/* Quotes, headings and lists only work at a line start. */
		if (strchr("\\*_`~|[]", *s) != NULL ||
		    (line_start && strchr(">#-", *s) != NULL))
			buf_append(&b, "\\", 1);
		buf_append(&b, s, 1);
		if (*s == '\n')
			line_start = 1;
		else if (*s != ' ')
			line_start = 0;
	}
	return buf_steal(&b);
}

/* Backticks cannot be escaped inside a code block: break the fence. */
static char *
dc_pre_body(const char *s)
{
	struct buf	 b;

	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (; *s != '\0'; s++) {
		buf_append(&b, s, 1);
		if (*s == '`' && s[1] == '`')
			buf_puts(&b, "\xe2\x80\x8b");	/* zero width */
	}
	return buf_steal(&b);
}

/* Length of at most `max` bytes of s that ends on a UTF-8 boundary. */
static size_t
dc_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/*
 * Splits text into pieces of at most `max` bytes, on line breaks where
 * it can. Returns the number of pieces; *pieces (caller frees each and
 * the array).
 */
static size_t
dc_split(const char *text, size_t max, char ***pieces)
{
	char		**out = NULL;
	size_t		  n = 0, len = strlen(text), take, nl;
	const char	 *p = text, *end = text + len;

	while (p < end || n == 0) {
		take = dc_utf8_cut(p, (size_t)(end - p), max);
		if (take < (size_t)(end - p)) {
			/* Prefer the last line break inside the piece. */
			for (nl = take; nl > 0 && p[nl - 1] != '\n'; nl--)
				;
			if (nl > 0)
				take = nl;
		}
		out = xreallocarray(out, n + 1, sizeof *out);
		out[n] = xstrndup(p, take);
		/* A break that ends a piece is not needed by the next. */
		if (take > 0 && out[n][take - 1] == '\n' && p + take < end)
			out[n][take - 1] = '\0';
		n++;
		p += take;
		if (take == 0)
			break;
	}
	*pieces = out;
	return n;
}

/* The content pieces of a message, each within Discord's limit. */
static size_t
dc_format(const struct chat_msg *m, char ***pieces)
{
	char	*title = NULL, *body, **parts, **out;
	size_t	 n, i, tlen, max;

	if (m->title != NULL) {
		char	*e = chat_discord_escape(m->title);

		title = xasprintf("**%s**\n", e);
		free(e);
	}
	if (m->mention != NULL && str_has_prefix(m->mention, "discord:") &&
	    dc_valid_id(m->mention + 8)) {
		char	*t = xasprintf("<@%s> %s", m->mention + 8,
		    title != NULL ? title : "");

		free(title);
		title = t;
	}
	tlen = title != NULL ? strlen(title) : 0;
	body = m->pre ? dc_pre_body(m->text != NULL ? m->text : "") :
	    chat_discord_escape(m->text != NULL ? m->text : "");
	max = DC_CONTENT_MAX - tlen - (m->pre ? 8 : 0);
	n = dc_split(body, max, &parts);
	out = xcalloc(n, sizeof *out);
	for (i = 0; i < n; i++) {
		out[i] = xasprintf("%s%s%s%s", i == 0 && title != NULL ?
		    title : "", m->pre ? "```\n" : "", parts[i],
		    m->pre ? "\n```" : "");
		free(parts[i]);
	}
	free(parts);
	free(body);
	free(title);
	*pieces = out;
	return n;
}

/* One action row (type 1) of buttons (type 2) per five buttons. */
static json_t *
dc_components(const struct chat_msg *m)
{
	json_t	*rows = json_array(), *row = NULL, *btn;
	size_t	 i;
	int	 style;

	for (i = 0; i < m->nbuttons && i < 25; i++) {
		const struct chat_button *cb = &m->buttons[i];

		if (i % 5 == 0) {
			row = json_pack("{s:i, s:[]}", "type", 1,
			    "components");
			json_array_append_new(rows, row);
		}
		switch (cb->style) {
		case CHAT_BUTTON_SUCCESS: style = 3; break;
		case CHAT_BUTTON_DANGER: style = 4; break;
		default: style = 1; break;
		}
		btn = json_pack("{s:i, s:i, s:s, s:s%}", "type", 2, "style",
		    style, "label", cb->label != NULL ? cb->label : "?",
		    "custom_id", cb->data, strnlen(cb->data, 100));
		if (cb->emoji != NULL)
			json_object_set_new(btn, "emoji",
			    json_pack("{s:s}", "name", cb->emoji));
		json_array_append_new(json_object_get(row, "components"),
		    btn);
	}
	return rows;
}

static json_t *
dc_message_body(const char *content, const struct chat_msg *m,
    int with_components)
{
	json_t	*o;

	o = json_pack("{s:s, s:{s:[]}}", "content", content,
	    "allowed_mentions", "parse");
	/* Only the person the message is for is pinged. */
	if (m->mention != NULL && str_has_prefix(m->mention, "discord:") &&
	    dc_valid_id(m->mention + 8))
		json_object_set_new(json_object_get(o, "allowed_mentions"),
		    "users", json_pack("[s]", m->mention + 8));
	if (with_components)
		json_object_set_new(o, "components", dc_components(m));
	return o;
}

/* ---- outgoing ------------------------------------------------------ */


static int
dc_send(struct connector *c, const char *room, const struct chat_msg *m,
    char **ref, char **cause)
{
	struct dc	*dc = c->priv;
	char		**pieces, *path;
	size_t		  n, i;
	json_t		 *body, *reply;
	int		  rc = CHAT_OK;

	if (ref != NULL)
		*ref = NULL;
	if (!dc_valid_id(room)) {
		set_cause(cause, "Discord channel id \"%s\" is not a "
		    "snowflake", room != NULL ? room : "");
		return CHAT_PERMANENT;
	}
	path = xasprintf("/channels/%s/messages", room);
	n = dc_format(m, &pieces);
	for (i = 0; i < n && rc == CHAT_OK; i++) {
		/* Buttons ride on the last piece, the one ref names. */
		body = dc_message_body(pieces[i], m,
		    i + 1 == n && m->nbuttons > 0);
		rc = dc_rest(dc, "create message", "POST", path, body,
		    DC_REST_SENDER, &reply, cause);
		json_decref(body);
		if (rc == CHAT_OK && ref != NULL && i + 1 == n) {
			const char *id = json_string_value(
			    json_object_get(reply, "id"));

			*ref = id != NULL ? xstrdup(id) : NULL;
		}
		json_decref(reply);
	}
	strv_free(pieces, n);
	free(path);
	return rc;
}

/* An edit is one message: content past the limit is cut with an ellipsis. */
static char *
dc_single(const struct chat_msg *m)
{
	char	**pieces, *s;
	size_t	  n;

	n = dc_format(m, &pieces);
	if (n == 1) {
		s = pieces[0];
		pieces[0] = NULL;
	} else {
		size_t	 len = dc_utf8_cut(pieces[0], strlen(pieces[0]),
		    DC_CONTENT_MAX - 8);

		s = xasprintf("%.*s%s\n\xe2\x80\xa6", (int)len, pieces[0],
		    m->pre ? "\n```" : "");
	}
	strv_free(pieces, n);
	return s;
}

static int
dc_edit(struct connector *c, const char *room, const char *ref,
    const struct chat_msg *m, char **cause)
{
	struct dc	*dc = c->priv;
	char		*path, *content;
	json_t		*body;
	int		 rc;

	if (!dc_valid_id(room) || !dc_valid_id(ref)) {
		set_cause(cause, "Discord message reference \"%s\" in channel "
		    "\"%s\" is not valid", ref != NULL ? ref : "",
		    room != NULL ? room : "");
		return CHAT_PERMANENT;
	}
	content = dc_single(m);
	/* components: [] removes buttons that were there. */
	body = dc_message_body(content, m, 1);
	path = xasprintf("/channels/%s/messages/%s", room, ref);
	rc = dc_rest(dc, "edit message", "PATCH", path, body, DC_REST_SENDER,
	    NULL, cause);
	json_decref(body);
	free(path);
	free(content);
	return rc;
}

/* Splits "interaction id:token" from an event's reply_token. */
static int
dc_interaction_of(const struct chat_event *ev, char **id, char **token)
{
	const char	*colon;

	if (ev->reply_token == NULL ||
	    (colon = strchr(ev->reply_token, ':')) == NULL ||
	    colon == ev->reply_token || colon[1] == '\0')
		return -1;
	*id = xstrndup(ev->reply_token, (size_t)(colon - ev->reply_token));
	*token = xstrdup(colon + 1);
	return 0;
}

static char *
dc_app_id(struct dc *dc)
{
	char	*s;

	pthread_mutex_lock(&dc->lock);
	s = dc->app_id != NULL ? xstrdup(dc->app_id) : NULL;
	pthread_mutex_unlock(&dc->lock);
	return s;
}

static int
dc_reply(struct connector *c, const struct chat_event *ev,
    const struct chat_msg *m, char **ref, char **cause)
{
	struct dc	*dc = c->priv;
	char		*id, *token, *app, *path, **pieces;
	json_t		*body, *reply;
	size_t		 n, i;
	int		 rc;

	if (ref != NULL)
		*ref = NULL;
	if (!ev->slash || dc_interaction_of(ev, &id, &token) != 0)
		return dc_send(c, ev->room, m, ref, cause);
	if ((app = dc_app_id(dc)) == NULL) {
		free(id);
		free(token);
		set_cause(cause, "Discord application id unknown");
		return CHAT_TEMPORARY;
	}
	/* The deferred response becomes the first piece; more follow. */
	n = dc_format(m, &pieces);
	body = dc_message_body(pieces[0], m, n == 1);
	path = xasprintf("/webhooks/%s/%s/messages/@original", app, token);
	rc = dc_rest(dc, "edit interaction response", "PATCH", path, body,
	    DC_REST_NOGLOBAL | DC_REST_SENDER, &reply, cause);
	json_decref(body);
	free(path);
	if (rc == CHAT_OK && ref != NULL && n == 1) {
		const char *mid = json_string_value(json_object_get(reply,
		    "id"));

		*ref = mid != NULL ? xstrdup(mid) : NULL;
	}
	json_decref(reply);
	for (i = 1; i < n && rc == CHAT_OK; i++) {
		body = dc_message_body(pieces[i], m,
		    i + 1 == n && m->nbuttons > 0);
		path = xasprintf("/channels/%s/messages", ev->room);
		rc = dc_rest(dc, "create message", "POST", path, body,
		    DC_REST_SENDER, &reply, cause);
		json_decref(body);
		free(path);
		if (rc == CHAT_OK && ref != NULL && i + 1 == n) {
			const char *mid = json_string_value(
			    json_object_get(reply, "id"));

			*ref = mid != NULL ? xstrdup(mid) : NULL;
		}
		json_decref(reply);
	}
	strv_free(pieces, n);
	free(app);
	free(id);
	free(token);
	return rc;
}

/* An ephemeral follow-up (flags 64): only the presser sees it. */
static int
dc_answer(struct connector *c, const struct chat_event *ev, const char *text,
    char **cause)
{
	struct dc	*dc = c->priv;
	char		*id, *token, *app, *path, *content;
	struct chat_msg	 m = { .text = text };
	json_t		*body;
	int		 rc;

	if (text == NULL || *text == '\0')
		return CHAT_OK;
	if (dc_interaction_of(ev, &id, &token) != 0)
		return dc_send(c, ev->room, &m, NULL, cause);
	if ((app = dc_app_id(dc)) == NULL) {
		free(id);
		free(token);
		set_cause(cause, "Discord application id unknown");
		return CHAT_TEMPORARY;
	}
	content = dc_single(&m);
	body = json_pack("{s:s, s:i, s:{s:[]}}", "content", content,
	    "flags", 64, "allowed_mentions", "parse");
	path = xasprintf("/webhooks/%s/%s", app, token);
	rc = dc_rest(dc, "interaction follow-up", "POST", path, body,
	    DC_REST_NOGLOBAL | DC_REST_SENDER, NULL, cause);
	json_decref(body);
	free(path);
	free(content);
	free(app);
	free(id);
	free(token);
	return rc;
}

/* ---- incoming ------------------------------------------------------ */

int64_t
chat_discord_snowflake_ms(const char *id)
{
	const char	*err;
	long long	 v;

	if (!dc_valid_id(id))
		return 0;
	v = strtonum(id, 1, LLONG_MAX, &err);
	if (err != NULL)
		return 0;
	return (int64_t)((unsigned long long)v >> 22) + DC_EPOCH_MS;
}

/* "2026-11-22T18:00:00.123000+00:00" to UNIX seconds; 0 if not that. */
static int64_t
dc_timestamp(const char *s)
{
	struct tm	 tm;
	const char	*p;
	int		 sign, oh = 0, om = 0;
	int64_t		 t;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof tm);
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return 0;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	t = (int64_t)timegm(&tm);
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return 0;
		t -= sign * (oh * 3600 + om * 60);
	} else if (*p != 'Z' && *p != '\0')
		return 0;
	/* Before 1970 is no time a message was sent. */
	return t > 0 ? t : 0;
}

static int
dc_in_list(char **list, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* Does pvebot serve commands here: a configured channel, or a DM from a
 * configured user? */
static int
dc_room_allowed(struct dc *dc, const char *guild, const char *channel,
    const char *user)
{
	const struct conf_discord	*cf = dc->conf;
	size_t				 i;

	if (guild == NULL)
		return dc_in_list(cf->users, cf->nusers, user);
	for (i = 0; channel != NULL && i < cf->nchannels; i++) {
		const struct conf_room *r = &cf->channels[i];

		if (strcmp(r->id, channel) == 0)
			return r->commands;
	}
	return 0;
}

static void
dc_submit(struct dc *dc, struct chat_event *ev, const char *offset)
{
	if (offset != NULL) {
		ev->offset_key = xstrdup("discord");
		ev->offset = xstrdup(offset);
	}
	dc->ctx->submit(dc->ctx->submit_arg, ev);
}

static void
dc_skip(struct dc *dc, const char *offset)
{
	dc_submit(dc, chat_event_new(CHAT_EV_OFFSET, "discord", NULL, NULL),
	    offset);
}

/*
 * A dispatch that cannot be handled (malformed, or not what Discord
 * sends): skipped with its offset, and audited with its sequence and
 * why. `room` and `answer`, when given, tell the sender.
 */
static void
dc_skip_bad(struct dc *dc, const char *offset, const char *type,
    const char *why, const char *room, const char *answer)
{
	struct chat_event	*ev;
	long long		 seq = offset != NULL ? strtoll(offset, NULL,
	    10) : 0;

	log_warn("discord", "dispatch seq=%lld %s skipped: %s", seq, type,
	    why);
	ev = chat_event_new(CHAT_EV_SKIPPED, "discord", room, NULL);
	ev->text = xasprintf("discord dispatch seq %lld %s skipped: %s", seq,
	    type, why);
	if (room != NULL && answer != NULL)
		ev->answer = xstrdup(answer);
	dc_submit(dc, ev, offset);
}

static const char *
dc_str(json_t *o, const char *path1, const char *path2)
{
	json_t	*v = json_object_get(o, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static void
dc_on_message(struct dc *dc, json_t *d, const char *offset)
{
	const char		*author, *channel, *guild, *content, *text;
	const char		*display;
	char			*bot, *mention1, *mention2;
	struct chat_event	*ev;
	int			 addressed = 0;
	int64_t			 ms;

	author = dc_str(d, "author", "id");
	channel = dc_str(d, "channel_id", NULL);
	guild = dc_str(d, "guild_id", NULL);
	content = dc_str(d, "content", NULL);
	if (!json_is_object(d) || author == NULL || channel == NULL ||
	    content == NULL || !dc_valid_id(author) || !dc_valid_id(channel)) {
		dc_skip_bad(dc, offset, "MESSAGE_CREATE", "no author, channel "
		    "or content", NULL, NULL);
		return;
	}
	pthread_mutex_lock(&dc->lock);
	bot = dc->bot_id != NULL ? xstrdup(dc->bot_id) : NULL;
	pthread_mutex_unlock(&dc->lock);
	if (json_is_true(json_object_get(json_object_get(d, "author"),
	    "bot")) || (bot != NULL && strcmp(bot, author) == 0)) {
		free(bot);
		dc_skip(dc, offset);
		return;
	}
	if (!dc_room_allowed(dc, guild, channel, author)) {
		free(bot);
		/* A command where pvebot does not serve: the router audits
		 * it (once a day per room) when the person is known. */
		if (content[0] == '!' || strstr(content, "<@") != NULL) {
			ev = chat_event_new(CHAT_EV_UNSERVED, "discord",
			    channel, NULL);
			ev->user = xasprintf("discord:%s", author);
			dc_submit(dc, ev, offset);
		} else
			dc_skip(dc, offset);
		return;
	}
	/* Refused whole, never cut at the NUL or truncated. */
	if (strlen(content) != json_string_length(json_object_get(d,
	    "content")) || strlen(content) > 4000) {
		free(bot);
		dc_skip_bad(dc, offset, "MESSAGE_CREATE", strlen(content) > 4000 ?
		    "content over 4000 bytes" : "content with a NUL byte",
		    channel, "That message cannot be read as a command "
		    "(too long, or a NUL character); nothing was done.");
		return;
	}
	/*
	 * "!cmd" stays as it is: the parser knows the prefix, and since
	 * other bots share '!' an unknown "!x" must not count as addressed
	 * to pvebot. A mention of the bot does, and is removed.
	 */
	text = content;
	while (*text == ' ')
		text++;
	mention1 = xasprintf("<@%s>", bot != NULL ? bot : "-");
	mention2 = xasprintf("<@!%s>", bot != NULL ? bot : "-");
	if (str_has_prefix(text, mention1)) {
		text += strlen(mention1);
		addressed = 1;
	} else if (str_has_prefix(text, mention2)) {
		text += strlen(mention2);
		addressed = 1;
	}
	free(mention1);
	free(mention2);
	free(bot);
	while (*text == ' ')
		text++;
	/* In channels only "!cmd" and mentions can be commands. */
	if ((guild != NULL && !addressed && *text != '!') || *text == '\0') {
		dc_skip(dc, offset);
		return;
	}
	ev = chat_event_new(CHAT_EV_MESSAGE, "discord", channel, NULL);
	ev->user = xasprintf("discord:%s", author);
	ev->text = xstrdup(text);
	if ((display = dc_str(d, "member", "nick")) == NULL &&
	    (display = dc_str(d, "author", "global_name")) == NULL)
		display = dc_str(d, "author", "username");
	if (display != NULL)
		ev->display = xstrdup(display);
	ev->direct = guild == NULL;
	ev->addressed = addressed;
	if ((ev->sent_at = dc_timestamp(dc_str(d, "timestamp", NULL))) == 0 &&
	    (ms = chat_discord_snowflake_ms(dc_str(d, "id", NULL))) > 0)
		ev->sent_at = ms / 1000;
	if (ev->sent_at == 0)
		ev->sent_at = wall_now();
	dc_submit(dc, ev, offset);
}

/* Appends one option value, the way a user would type it. */
static void
dc_option_value(struct buf *b, json_t *v)
{
	if (json_is_string(v))
		buf_printf(b, " %s", json_string_value(v));
	else if (json_is_integer(v))
		buf_printf(b, " %lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		buf_printf(b, " %g", json_real_value(v));
	else if (json_is_true(v))
		buf_puts(b, " yes");
	else if (json_is_false(v))
		buf_puts(b, " no");
}

static json_t *
dc_find_named(json_t *array, const char *name)
{
	size_t	 i;
	json_t	*o;

	json_array_foreach(array, i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));

		if (n != NULL && name != NULL && strcmp(n, name) == 0)
			return o;
	}
	return NULL;
}

/*
 * Walks the options of one level: subcommands (types 1, 2) add their
 * name and descend; values follow the order of the definition `def`
 * (the registered command), then any the definition does not know.
 */
static void
dc_options_text(struct buf *b, json_t *opts, json_t *def)
{
	json_t		*o, *d;
	json_t		*defopts = json_object_get(def, "options");
	size_t		 i;
	json_int_t	 type;

	json_array_foreach(opts, i, o) {
		type = json_integer_value(json_object_get(o, "type"));
		if (type == 1 || type == 2) {
			buf_printf(b, " %s", json_string_value(
			    json_object_get(o, "name")));
			dc_options_text(b, json_object_get(o, "options"),
			    dc_find_named(defopts, json_string_value(
			    json_object_get(o, "name"))));
			return;
		}
	}
	json_array_foreach(defopts, i, d) {
		o = dc_find_named(opts, json_string_value(json_object_get(d,
		    "name")));
		if (o != NULL)
			dc_option_value(b, json_object_get(o, "value"));
	}
	json_array_foreach(opts, i, o) {
		if (dc_find_named(defopts, json_string_value(
		    json_object_get(o, "name"))) == NULL)
			dc_option_value(b, json_object_get(o, "value"));
	}
}

char *
chat_discord_slash_text(json_t *data, json_t *commands)
{
	struct buf	 b;
	const char	*name = json_string_value(json_object_get(data,
			    "name"));

	if (name == NULL)
		return NULL;
	buf_init(&b, 8192);
	buf_puts(&b, name);
	dc_options_text(&b, json_object_get(data, "options"),
	    dc_find_named(commands, name));
	if (b.truncated) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * What a slash command line needs from the catalogue, copied at create
 * time: the catalogue can be swapped by a reload while the worker runs,
 * and the commands registered with Discord are the ones of that moment.
 */
struct dc_cmdspec {
	char	 *name;
	char	**args;
	int	 *rest;		/* takes the rest of the line */
	size_t	  nargs;
};

static struct dc_cmdspec *
dc_specs_build(const struct catalogue *cat, size_t *count)
{
	size_t			 i, k, n = catalogue_count(cat);
	const struct cmd_def	*d;
	struct dc_cmdspec	*specs, *sp;

	specs = xcalloc(n + 1, sizeof *specs);
	*count = 0;
	for (i = 0; i < n; i++) {
		d = catalogue_get(cat, i);
		sp = &specs[(*count)++];
		sp->name = xstrdup(d->name);
		sp->nargs = d->nargs;
		sp->args = xcalloc(d->nargs + 1, sizeof *sp->args);
		sp->rest = xcalloc(d->nargs + 1, sizeof *sp->rest);
		for (k = 0; k < d->nargs; k++) {
			sp->args[k] = xstrdup(d->args[k].name);
			sp->rest[k] = d->args[k].type == ARG_REASON ||
			    d->args[k].type == ARG_COMMAND;
		}
	}
	return specs;
}

static void
dc_specs_release(struct dc_cmdspec *specs, size_t n)
{
	size_t	 i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < specs[i].nargs; k++)
			free(specs[i].args[k]);
		free(specs[i].args);
		free(specs[i].rest);
		free(specs[i].name);
	}
	free(specs);
}

/*
 * The command line of a slash command in the catalogue's argument
 * order, values quoted as the parser expects; NULL when the catalogue
 * does not know the command.
 */
static char *
dc_catalogue_line(struct dc *dc, json_t *data)
{
	const struct dc_cmdspec	*sp = NULL;
	const char		*name = dc_str(data, "name", NULL);
	json_t			*opt;
	struct buf		 b;
	char			*v;
	size_t			 i, k;

	for (i = 0; name != NULL && i < dc->nspecs; i++)
		if (strcmp(dc->specs[i].name, name) == 0)
			sp = &dc->specs[i];
	if (sp == NULL)
		return NULL;
	buf_init(&b, 8192);
	buf_puts(&b, sp->name);
	for (k = 0; k < sp->nargs; k++) {
		opt = json_object_get(dc_find_named(json_object_get(data,
		    "options"), sp->args[k]), "value");
		if (json_is_string(opt))
			v = xstrdup(json_string_value(opt));
		else if (json_is_integer(opt))
			v = xasprintf("%lld",
			    (long long)json_integer_value(opt));
		else if (json_is_real(opt))
			v = xasprintf("%g", json_real_value(opt));
		else if (json_is_boolean(opt))
			v = xstrdup(json_is_true(opt) ? "yes" : "no");
		else
			continue;
		buf_puts(&b, " ");
		cmd_append_value(&b, v, sp->rest[k]);
		free(v);
	}
	if (b.truncated) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static int
dc_callback(struct dc *dc, const char *id, const char *token, json_t *body,
    char **cause)
{
	char	*path;
	int	 rc;

	path = xasprintf("/interactions/%s/%s/callback", id, token);
	rc = dc_rest(dc, "interaction callback", "POST", path, body,
	    DC_REST_NOGLOBAL | DC_REST_ACK, NULL, cause);
	free(path);
	return rc;
}

static void
dc_on_interaction(struct dc *dc, json_t *d, const char *offset)
{
	const char		*id, *token, *channel, *guild, *user;
	json_int_t		 type;
	json_t			*data = json_object_get(d, "data"), *cmds;
	struct chat_event	*ev;
	char			*cause = NULL, *text;
	int			 rc;

	id = dc_str(d, "id", NULL);
	token = dc_str(d, "token", NULL);
	channel = dc_str(d, "channel_id", NULL);
	guild = dc_str(d, "guild_id", NULL);
	type = json_integer_value(json_object_get(d, "type"));
	if ((user = dc_str(json_object_get(d, "member"), "user", "id")) ==
	    NULL)
		user = dc_str(d, "user", "id");
	if (type == 1) {	/* PING: for webhook endpoints only */
		dc_skip(dc, offset);
		return;
	}
	if (id == NULL || token == NULL || channel == NULL || user == NULL ||
	    (type != 2 && type != 3) || strchr(token, '/') != NULL ||
	    strlen(token) != json_string_length(json_object_get(d, "token")) ||
	    !dc_valid_id(id) || !dc_valid_id(channel) || !dc_valid_id(user)) {
		dc_skip_bad(dc, offset, "INTERACTION_CREATE", "no usable id, "
		    "token, channel, user or type", NULL, NULL);
		return;
	}
	if (!dc_room_allowed(dc, guild, channel, user)) {
		json_t	*refuse;

		refuse = json_pack("{s:i, s:{s:s, s:i}}", "type", 4,
		    "data", "content", "pvebot does not take commands here.",
		    "flags", 64);
		rc = dc_callback(dc, id, token, refuse, &cause);
		json_decref(refuse);
		if (rc != CHAT_OK)
			log_warn("discord", "refusal failed: %s", cause);
		free(cause);
		dc_skip(dc, offset);
		return;
	}
	/* Acknowledge first: Discord allows 3 seconds. */
	{
		json_t	*ack;

		ack = json_pack("{s:i}", "type", type == 2 ? 5 : 6);
		rc = dc_callback(dc, id, token, ack, &cause);
		json_decref(ack);
	}
	/* Replayed after a crash between our ack and the router's commit. */
	if (rc == CHAT_PERMANENT && cause != NULL &&
	    strstr(cause, "(code 40060)") != NULL)
		rc = CHAT_OK;
	if (rc != CHAT_OK) {
		log_warn("discord", "interaction not acknowledged, dropped: "
		    "%s", cause);
		free(cause);
		dc_skip(dc, offset);
		return;
	}
	free(cause);
	ev = chat_event_new(type == 2 ? CHAT_EV_MESSAGE : CHAT_EV_BUTTON,
	    "discord", channel, NULL);
	ev->user = xasprintf("discord:%s", user);
	ev->reply_token = xasprintf("%s:%s", id, token);
	ev->direct = guild == NULL;
	ev->addressed = 1;
	ev->sent_at = chat_discord_snowflake_ms(id) / 1000;
	if (type == 2) {
		text = dc_catalogue_line(dc, data);
		if (text == NULL) {
			pthread_mutex_lock(&dc->lock);
			cmds = json_incref(dc->commands);
			pthread_mutex_unlock(&dc->lock);
			text = chat_discord_slash_text(data, cmds);
			json_decref(cmds);
		}
		if (text == NULL) {
			chat_event_free(ev);
			dc_skip_bad(dc, offset, "INTERACTION_CREATE", "a slash "
			    "command pvebot cannot read", NULL, NULL);
			return;
		}
		ev->text = text;
		ev->slash = 1;
	} else {
		const char *cid = dc_str(data, "custom_id", NULL);
		const char *mid = dc_str(d, "message", "id");

		if (cid == NULL || mid == NULL) {
			chat_event_free(ev);
			dc_skip_bad(dc, offset, "INTERACTION_CREATE", "a button "
			    "press without custom_id or message", NULL, NULL);
			return;
		}
		ev->button_data = xstrdup(cid);
		ev->msg_ref = xstrdup(mid);
	}
	if (json_is_string(json_object_get(json_object_get(d, "member"),
	    "nick")))
		ev->display = xstrdup(dc_str(json_object_get(d, "member"),
		    "nick", NULL));
	dc_submit(dc, ev, offset);
}

/*
 * On the worker: a reload's command specs replace the old ones, and a
 * changed command list is registered again (once; a failure warns, the
 * next reload or restart tries again).
 */
static void
dc_apply_reload(struct dc *dc)
{
	struct dc_cmdspec	*specs;
	size_t			 nspecs;
	json_t			*cmds;
	char			*cause = NULL;
	int			 changed, known;

	pthread_mutex_lock(&dc->lock);
	specs = dc->pending_specs;
	nspecs = dc->npending_specs;
	cmds = dc->pending_commands;
	dc->pending_specs = NULL;
	dc->npending_specs = 0;
	dc->pending_commands = NULL;
	changed = cmds != NULL && (dc->commands == NULL ||
	    !json_equal(cmds, dc->commands));
	known = dc->app_id != NULL;
	if (changed && !known) {
		/* READY registers them when it comes. */
		json_decref(dc->commands);
		dc->commands = json_incref(cmds);
	}
	pthread_mutex_unlock(&dc->lock);
	if (specs != NULL) {
		dc_specs_release(dc->specs, dc->nspecs);
		dc->specs = specs;
		dc->nspecs = nspecs;
	}
	if (changed && known &&
	    chat_discord_register(&dc->conn, cmds, &cause) != CHAT_OK) {
		log_warn("discord", "slash commands not registered again "
		    "after the reload: %s", cause);
		free(cause);
	}
	json_decref(cmds);
}

/* One item of the worker's queue, handled and freed. */
static void
dc_work(struct dc *dc, struct dc_item *it)
{
	if (strcmp(it->type, DC_RELOAD) == 0)
		dc_apply_reload(dc);
	else if (strcmp(it->type, "INTERACTION_CREATE") == 0)
		dc_on_interaction(dc, it->data, it->offset);
	else if (strcmp(it->type, GW_UNREADABLE) == 0)
		dc_skip_bad(dc, it->offset, "frame", "not a JSON "
		    "payload", NULL, NULL);
	else
		dc_on_message(dc, it->data, it->offset);
	free(it->type);
	free(it->offset);
	json_decref(it->data);
	free(it);
}

static void *
dc_worker(void *arg)
{
	struct dc	*dc = arg;
	struct dc_item	*it;

	for (;;) {
		pthread_mutex_lock(&dc->lock);
		while (dc->head == NULL && !atomic_load(&dc->stopping))
			pthread_cond_wait(&dc->cond, &dc->lock);
		if (atomic_load(&dc->stopping)) {
			pthread_mutex_unlock(&dc->lock);
			break;
		}
		it = dc->head;
		if ((dc->head = it->next) == NULL)
			dc->tail = &dc->head;
		dc->queued--;
		pthread_mutex_unlock(&dc->lock);
		dc_work(dc, it);
	}
	return NULL;
}

/* ---- slash command registration ------------------------------------ */

int
chat_discord_register(struct connector *c, json_t *commands, char **cause)
{
	struct dc			*dc = c->priv;
	const struct conf_discord	*cf = dc->conf;
	char				*app, *path;
	size_t				 i;
	int				 rc = CHAT_OK;

	if (!json_is_array(commands)) {
		set_cause(cause, "slash commands must be a JSON array");
		return CHAT_PERMANENT;
	}
	if ((app = dc_app_id(dc)) == NULL) {
		set_cause(cause, "Discord application id unknown");
		return CHAT_TEMPORARY;
	}
	/*
	 * These commands are being registered now: the registration at
	 * READY, which runs only when nobody did it yet, must not send them
	 * a second time (it did, when READY came during or after an explicit
	 * call).
	 */
	pthread_mutex_lock(&dc->lock);
	if (commands != dc->commands) {
		json_decref(dc->commands);
		dc->commands = json_incref(commands);
	}
	dc->registered = 1;
	pthread_mutex_unlock(&dc->lock);
	for (i = 0; i < cf->nguilds && rc == CHAT_OK; i++) {
		if (!dc_valid_id(cf->guilds[i]))
			continue;
		path = xasprintf("/applications/%s/guilds/%s/commands", app,
		    cf->guilds[i]);
		rc = dc_rest(dc, "register slash commands", "PUT", path,
		    commands, 0, NULL, cause);
		free(path);
		if (rc == CHAT_OK)
			log_info("discord", "slash commands registered "
			    "guild=%s count=%zu", cf->guilds[i],
			    json_array_size(commands));
	}
	free(app);
	return rc;
}

void
chat_discord_set_commands(struct connector *c, json_t *commands)
{
	struct dc	*dc = c->priv;

	pthread_mutex_lock(&dc->lock);
	json_decref(dc->commands);
	dc->commands = json_incref(commands);
	pthread_mutex_unlock(&dc->lock);
}

static void *
dc_register_thread(void *arg)
{
	struct dc	*dc = arg;
	json_t		*cmds;
	char		*cause = NULL;
	int		 attempt;
	int64_t		 deadline;

	pthread_mutex_lock(&dc->lock);
	cmds = json_incref(dc->commands);
	pthread_mutex_unlock(&dc->lock);
	for (attempt = 0; cmds != NULL && !atomic_load(&dc->stopping);
	    attempt++) {
		int rc = chat_discord_register(&dc->conn, cmds, &cause);

		if (rc == CHAT_OK)
			break;
		log_warn("discord", "slash command registration failed: %s",
		    cause);
		free(cause);
		cause = NULL;
		if (rc == CHAT_PERMANENT || attempt >= 4)
			break;
		deadline = now_ms() + chat_backoff_ms(attempt, 1000, 10000);
		while (now_ms() < deadline && !atomic_load(&dc->stopping))
			sleep_ms(50);
	}
	json_decref(cmds);
	return NULL;
}

/* ---- gateway glue -------------------------------------------------- */

static char *
dc_offset_string(const struct dc_session *s)
{
	return xasprintf("%lld %s %s", (long long)s->seq,
	    s->session_id != NULL ? s->session_id : "-",
	    s->resume_url != NULL ? s->resume_url : "-");
}

/* Appends an item for the worker; dc->lock held. */
static void
dc_enqueue(struct dc *dc, struct dc_item *it)
{
	*dc->tail = it;
	dc->tail = &it->next;
	dc->queued++;
	pthread_cond_signal(&dc->cond);
}

/* On the gateway thread: no REST here, only the queue. */
static void
dc_on_dispatch(void *arg, const char *type, json_t *d,
    const struct dc_session *s)
{
	struct dc	*dc = arg;
	struct dc_item	*it;

	if (strcmp(type, "READY") == 0) {
		const char *bot = dc_str(d, "user", "id");
		const char *app = dc_str(d, "application", "id");

		pthread_mutex_lock(&dc->lock);
		if (bot != NULL) {
			free(dc->bot_id);
			dc->bot_id = xstrdup(bot);
		}
		if (dc->app_id == NULL && app != NULL)
			dc->app_id = xstrdup(app);
		if (!dc->registered && dc->commands != NULL &&
		    dc->app_id != NULL) {
			dc->registered = 1;
			dc->reg_started = pthread_create(&dc->reg_thread, NULL,
			    dc_register_thread, dc) == 0;
		}
		pthread_mutex_unlock(&dc->lock);
		return;
	}
	if (strcmp(type, "MESSAGE_CREATE") != 0 &&
	    strcmp(type, "INTERACTION_CREATE") != 0 &&
	    strcmp(type, GW_UNREADABLE) != 0)
		return;
	/*
	 * No cap that drops: the worker hands every item to the router
	 * (whose queue pushes back). A long queue is only said.
	 */
	it = xcalloc(1, sizeof *it);
	it->type = xstrdup(type);
	it->data = d != NULL ? json_incref(d) : NULL;
	it->offset = dc_offset_string(s);
	pthread_mutex_lock(&dc->lock);
	if (dc->queued > 0 && dc->queued % DC_QUEUE_WARN == 0)
		log_warn("discord", "%zu dispatches wait for the router",
		    dc->queued);
	dc_enqueue(dc, it);
	pthread_mutex_unlock(&dc->lock);
}

/* The saved "SEQ SESSION RESUME_URL" offset, if the store has one. */
static void
dc_saved_session(struct dc *dc, struct dc_session *s)
{
	struct store	*st;
	char		*cause = NULL, *value = NULL, *p, *save = NULL;
	char		*seq, *sid, *url;
	const char	*err;

	memset(s, 0, sizeof *s);
	if (dc->ctx->conf == NULL || dc->ctx->conf->database == NULL)
		return;
	if ((st = store_open(dc->ctx->conf->database, &cause)) == NULL) {
		log_warn("discord", "cannot read the saved offset: %s", cause);
		free(cause);
		return;
	}
	if (store_offset_get(st, "discord", &value) == 0 && value != NULL) {
		p = value;
		seq = strtok_r(p, " ", &save);
		sid = strtok_r(NULL, " ", &save);
		url = strtok_r(NULL, " ", &save);
		if (seq != NULL && sid != NULL && url != NULL &&
		    strcmp(sid, "-") != 0 && strcmp(url, "-") != 0) {
			s->seq = strtonum(seq, 0, LLONG_MAX, &err);
			if (err == NULL) {
				s->session_id = xstrdup(sid);
				s->resume_url = xstrdup(url);
			}
		}
	}
	free(value);
	store_close(st);
}

/* ---- connector ops ------------------------------------------------- */

static int
dc_start(struct connector *c, char **cause)
{
	struct dc		*dc = c->priv;
	struct dc_session	 saved;
	json_t			*reply = NULL;
	const char		*url;
	char			*why = NULL;
	int			 rc;

	rc = dc_rest(dc, "get gateway", "GET", "/gateway/bot", NULL, 0,
	    &reply, &why);
	if (rc == CHAT_TEMPORARY &&
	    strcmp(dc->api_url, "https://discord.com/api/v10") == 0) {
		/* Discord's documented URL; the gateway retries by itself. */
		log_warn("discord", "%s; connecting to %s", why, DC_GATEWAY);
		reply = json_pack("{s:s}", "url", DC_GATEWAY);
	} else if (rc != CHAT_OK) {
		set_cause(cause, "%s", why);
		free(why);
		return -1;
	}
	free(why);
	if ((url = json_string_value(json_object_get(reply, "url"))) ==
	    NULL) {
		json_decref(reply);
		return set_cause(cause, "Discord get gateway: no url in the "
		    "reply");
	}
	atomic_store(&dc->stopping, 0);
	if (!dc->worker_started) {
		if (pthread_create(&dc->worker, NULL, dc_worker, dc) != 0) {
			json_decref(reply);
			return set_cause(cause, "cannot start the Discord "
			    "worker thread");
		}
		dc->worker_started = 1;
	}
	dc_saved_session(dc, &saved);
	rc = dc_gateway_start(dc->gw, url, &saved, cause);
	free(saved.session_id);
	free(saved.resume_url);
	json_decref(reply);
	return rc;
}

static void
dc_stop(struct connector *c)
{
	struct dc	*dc = c->priv;
	struct dc_item	*it;

	dc_gateway_stop(dc->gw);
	pthread_mutex_lock(&dc->lock);
	atomic_store(&dc->stopping, 1);
	pthread_cond_broadcast(&dc->cond);
	pthread_mutex_unlock(&dc->lock);
	if (dc->worker_started) {
		pthread_join(dc->worker, NULL);
		dc->worker_started = 0;
	}
	if (dc->reg_started) {
		pthread_join(dc->reg_thread, NULL);
		dc->reg_started = 0;
	}
	pthread_mutex_lock(&dc->lock);
	while ((it = dc->head) != NULL) {
		dc->head = it->next;
		free(it->type);
		free(it->offset);
		json_decref(it->data);
		free(it);
	}
	dc->tail = &dc->head;
	dc->queued = 0;
	pthread_mutex_unlock(&dc->lock);
}

static void
dc_free(struct connector *c)
{
	struct dc	*dc;
	size_t		 i;

	if (c == NULL)
		return;
	dc = c->priv;
	dc_stop(c);
	dc_gateway_free(dc->gw);
	for (i = 0; i < DC_BUCKETS; i++) {
		free(dc->routes[i].route);
		free(dc->routes[i].bucket);
		free(dc->buckets[i].key);
	}
	json_decref(dc->commands);
	dc_specs_release(dc->specs, dc->nspecs);
	dc_specs_release(dc->pending_specs, dc->npending_specs);
	json_decref(dc->pending_commands);
	free(dc->app_id);
	free(dc->bot_id);
	net_http_free(dc->http);
	free(dc->api_url);
	free(dc->token);
	pthread_cond_destroy(&dc->cond);
	pthread_mutex_destroy(&dc->lock);
	free(dc);
}

void
chat_discord_set_backoff(struct connector *c, int64_t base_ms,
    int64_t cap_ms)
{
	struct dc	*dc = c->priv;

	dc_gateway_set_backoff(dc->gw, base_ms, cap_ms);
}

char *
chat_discord_fatal(struct connector *c)
{
	struct dc	*dc = c->priv;

	return dc_gateway_fatal(dc->gw);
}

/* Discord's limits are per bucket, kept inside dc_rest(). */
static int64_t
dc_pace_ms(struct connector *c, const char *room)
{
	return room == NULL ? DC_MIN_SPACING : 0;
}

static int64_t
dc_retry_after(struct connector *c)
{
	struct dc	*dc = c->priv;
	int64_t		 ms = dc->retry_after_ms;

	dc->retry_after_ms = 0;
	return ms;
}

/*
 * A reload (main thread): the new channels, users and guilds at once;
 * the new commands through the worker's queue, which registers them.
 */
static void
dc_reload(struct connector *c, const struct conf *conf,
    const struct catalogue *cat)
{
	struct dc	*dc = c->priv;
	struct dc_item	*it;

	dc->conf = &conf->chat.discord;
	if (cat == NULL)
		return;
	pthread_mutex_lock(&dc->lock);
	dc_specs_release(dc->pending_specs, dc->npending_specs);
	json_decref(dc->pending_commands);
	dc->pending_specs = dc_specs_build(cat, &dc->npending_specs);
	dc->pending_commands = cmd_export_discord(cat);
	it = xcalloc(1, sizeof *it);
	it->type = xstrdup(DC_RELOAD);
	dc_enqueue(dc, it);
	pthread_mutex_unlock(&dc->lock);
}

int64_t
chat_discord_global_until(struct connector *c)
{
	struct dc	*dc = c->priv;
	int64_t		 until;

	pthread_mutex_lock(&dc->lock);
	until = dc->global_until;
	pthread_mutex_unlock(&dc->lock);
	return until;
}

static const struct connector_ops dc_ops = {
	.name = "discord",
	.start = dc_start,
	.stop = dc_stop,
	.pace_ms = dc_pace_ms,
	.retry_after = dc_retry_after,
	.send = dc_send,
	.edit = dc_edit,
	.reply = dc_reply,
	.answer = dc_answer,
	.free = dc_free,
	.reload = dc_reload,
};

struct connector *
chat_discord_create(const struct chat_ctx *ctx, char **cause)
{
	const struct conf_discord	*conf;
	struct dc			*dc;
	struct net_http_api		 api;
	char				*auth;
	size_t				 i, n;

	if (ctx == NULL || ctx->conf == NULL) {
		set_cause(cause, "discord: no configuration");
		return NULL;
	}
	conf = &ctx->conf->chat.discord;
	if (conf->token == NULL || *conf->token == '\0') {
		set_cause(cause, "discord: token is not set (token_file or "
		    "token_env)");
		return NULL;
	}
	for (i = 0; conf->token[i] != '\0'; i++) {
		if (conf->token[i] <= ' ' || conf->token[i] == 0x7f) {
			set_cause(cause, "discord: the token contains spaces "
			    "or control characters");
			return NULL;
		}
	}
	if (conf->application_id != NULL &&
	    !dc_valid_id(conf->application_id)) {
		set_cause(cause, "discord: application_id \"%s\" is not a "
		    "snowflake", conf->application_id);
		return NULL;
	}
	for (i = 0; i < conf->nchannels; i++) {
		if (!dc_valid_id(conf->channels[i].id)) {
			set_cause(cause, "discord: channel id \"%s\" is not a "
			    "snowflake", conf->channels[i].id);
			return NULL;
		}
	}
	for (i = 0; i < conf->nguilds; i++) {
		if (!dc_valid_id(conf->guilds[i])) {
			set_cause(cause, "discord: guild id \"%s\" is not a "
			    "snowflake", conf->guilds[i]);
			return NULL;
		}
	}
	for (i = 0; i < conf->nusers; i++) {
		if (!dc_valid_id(conf->users[i])) {
			set_cause(cause, "discord: user id \"%s\" is not a "
			    "snowflake", conf->users[i]);
			return NULL;
		}
	}
	log_add_secret(conf->token);

	dc = xcalloc(1, sizeof *dc);
	dc->ctx = ctx;
	dc->conf = conf;
	dc->token = xstrdup(conf->token);
	dc->api_url = xstrdup(conf->api_url != NULL && *conf->api_url != '\0' ?
	    conf->api_url : "https://discord.com/api/v10");
	n = strlen(dc->api_url);
	while (n > 0 && dc->api_url[n - 1] == '/')
		dc->api_url[--n] = '\0';
	auth = xasprintf("Authorization: Bot %s", dc->token);
	memset(&api, 0, sizeof api);
	api.name = "discord";
	api.base_url = dc->api_url;
	api.auth_header = auth;
	api.user_agent = DC_USER_AGENT;
	api.connect_timeout_ms = 10000;
	api.body_max = DC_BODY_MAX;
	/* A message created twice shows twice: writes are sent once. */
	api.resend = NET_RESEND_READS;
	dc->http = net_http_create(&api, cause);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	if (dc->http == NULL) {
		free(dc->api_url);
		free(dc->token);
		free(dc);
		return NULL;
	}
	if (conf->application_id != NULL)
		dc->app_id = xstrdup(conf->application_id);
	pthread_mutex_init(&dc->lock, NULL);
	pthread_cond_init(&dc->cond, NULL);
	dc->tail = &dc->head;
	atomic_init(&dc->stopping, 0);
	/* Slash commands from the catalogue, registered at READY. */
	if (ctx->catalogue != NULL) {
		dc->commands = cmd_export_discord(ctx->catalogue);
		dc->specs = dc_specs_build(ctx->catalogue, &dc->nspecs);
	}
	dc->gw = dc_gateway_create(dc->token, dc_on_dispatch, dc);
	dc->conn.ops = &dc_ops;
	dc->conn.ctx = ctx;
	dc->conn.priv = dc;
	return &dc->conn;
}

/* ---- for tests and fuzzing (chat_feed.h) --------------------------- */

void
chat_discord_feed_http(struct connector *c, chat_feed_http fn, void *arg)
{
	struct dc	*dc = c->priv;

	dc->feed_http = fn;
	dc->feed_arg = arg;
}

/* dc_rest's transfer, answered by feed_http; capped as net_http caps. */
static void
dc_rest_feed(struct dc *dc, const char *method, const char *path,
    const char *payload, struct net_reply *r)
{
	char	*reply = NULL;

	memset(r, 0, sizeof *r);
	buf_init(&r->body, DC_BODY_MAX);
	r->status = dc->feed_http(dc->feed_arg, method, path, payload, &reply);
	if (r->status == 0) {
		r->result = NET_NOT_SENT;
		snprintf(r->error, sizeof r->error, "no reply (fed)");
	} else if (reply != NULL && buf_append(&r->body, reply,
	    strlen(reply)) != 0)
		r->result = NET_TOO_BIG;
	free(reply);
}

/*
 * One frame through the gateway thread's receive path, then the queue
 * through dc_work, as the worker would, on the caller's thread.
 */
int
chat_discord_feed(struct connector *c, const char *frame, size_t len)
{
	struct dc	*dc = c->priv;
	struct dc_item	*it;

	if (dc->worker_started || dc->feed_http == NULL)
		return -1;
	pthread_mutex_lock(&dc->lock);
	dc->registered = 1;
	pthread_mutex_unlock(&dc->lock);
	if (dc_gateway_feed(dc->gw, frame, len) != 0)
		return -1;
	for (;;) {
		pthread_mutex_lock(&dc->lock);
		if ((it = dc->head) == NULL) {
			pthread_mutex_unlock(&dc->lock);
			break;
		}
		if ((dc->head = it->next) == NULL)
			dc->tail = &dc->head;
		dc->queued--;
		pthread_mutex_unlock(&dc->lock);
		dc_work(dc, it);
	}
	return 0;
}
