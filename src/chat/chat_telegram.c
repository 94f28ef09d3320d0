/*
 * chat_telegram.c - the Telegram Bot API connector: long polling with
 * getUpdates, HTML replies split at 4096 characters, edits in place,
 * inline-keyboard buttons and callback-query answers.
 *
 * What it guarantees:
 * - Nothing is lost or repeated across a crash. Telegram forgets an
 *   update as soon as getUpdates is called with a higher offset, so the
 *   poller hands every update to the router with offset update_id+1 and
 *   does not ask for the next batch until the router has saved that
 *   offset (it reads it back from the offsets table). Filtered updates
 *   become CHAT_EV_OFFSET events so their offset is saved too.
 * - Only configured chats are served; in a private chat only configured
 *   users. Commands for other bots (/cmd@otherbot) and messages from bots
 *   are ignored. /cmd@thisbot is delivered as /cmd with `addressed` set.
 * - A group upgraded to a supergroup keeps working: the new chat id is
 *   remembered in the kv table ("telegram.migrated.<old id>") and the
 *   configured (old) id stays the room's name towards the router, so
 *   approvals and alerts still match the configuration.
 * - Text is plain UTF-8 until here and is HTML-escaped for every message;
 *   a message longer than 4096 characters is split at line boundaries.
 *   The ref of a sent message is the message id of its last part (the one
 *   that carries the buttons).
 * - Sends are paced per chat (1 s, 3 s in groups); a 429 holds every send
 *   back for retry_after seconds; network errors and 5xx back off with
 *   jitter; the poll loop never spins. Results are CHAT_TEMPORARY for
 *   network, 429 and 5xx, CHAT_PERMANENT for the rest.
 * - The token is part of every URL; it is registered with the logger and
 *   error messages are built from method names only.
 * - Calls go through the one HTTP client (net_http.h) and keep their
 *   connection alive: each borrows a client from the API's small pool
 *   (the poller's long poll holds one, the sender another), so a reply
 *   costs no new TCP (or TLS) connection. Every call is sent once:
 *   libcurl's own resend, when a kept-alive connection dies before the
 *   reply, is refused, so such a call fails as it did on a connection of
 *   its own and the caller's retry decides, as for any lost reply. A
 *   client whose call failed in transport is closed, not pooled.
 *   stop() cancels the poller's calls at once (its long poll too).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "chat.h"
#include "chat_feed.h"
#include "cmd.h"
#include "conf.h"
#include "jscan.h"
#include "log.h"
#include "metrics.h"
#include "net_http.h"
#include "store.h"
#include "util.h"

#define TG_DEFAULT_URL		"https://api.telegram.org"
#define TG_BODY_MAX		(4 * 1024 * 1024)
#define TG_TEXT_MAX		4096	/* UTF-16 units after entity parsing */
#define TG_DATA_MAX		64	/* callback_data, bytes */
#define TG_ANSWER_MAX		200	/* answerCallbackQuery text, chars */
#define TG_TITLE_MAX		256
#define TG_IN_TEXT_MAX		(16 * 1024)	/* incoming text, bytes */
#define TG_CONNECT_TIMEOUT	10
#define TG_CALL_TIMEOUT		30
#define TG_PACE_PRIVATE_MS	1000	/* about one message a second */
#define TG_PACE_GROUP_MS	3000	/* 20 a minute in a group */
#define TG_PACE_GLOBAL_MS	34	/* 30 a second in all */
#define TG_MIN_POLL_MS		500
#define TG_START_TIMEOUT	5	/* the first getMe, seconds */
#define TG_BATCH		100	/* getUpdates limit */
#define TG_POOL_MAX		4	/* idle easy handles kept */
#define TG_SCAN_MAX		(64 * 1024)	/* of a reply we cannot parse */
/* The largest update_id taken: its offset (id + 1) is 2^53 - 1 at most,
 * what tg_parse_id reads back when the router has saved it. */
#define TG_UPDATE_ID_MAX	(9007199254740991LL - 1)

struct tg_migration {
	char	*from;		/* the configured chat id */
	char	*to;		/* the supergroup it became */
};

struct tg {
	const struct chat_ctx		*ctx;
	/* Chats and users: a reload swaps it (tg_reload); read it once. */
	const struct conf_telegram *_Atomic conf;
	struct net_http			*http;	/* token in its base URL */
	char				*username;	/* from getMe */
	long long			 bot_id;
	int64_t				 poll_timeout;
	int64_t				 retry_after_ms; /* sender thread */

	pthread_mutex_t			 lock;	/* migrations, menu */
	struct tg_migration		*migrations;
	size_t				 nmigrations;
	json_t				*menu;	/* setMyCommands' list */
	atomic_int			 republish;	/* menu changed */

	pthread_t			 thread;
	int				 running;
	atomic_int			 stopping;
	struct store			*store;	/* poller thread only */
	long long			 offset;
	int				 connected;	/* getMe worked */
	int				 one_by_one;	/* after a bad reply */

	/* What the router saved: the poller confirms nothing beyond. */
	pthread_mutex_t			 saved_lock;
	pthread_cond_t			 saved_cond;
	long long			 saved_offset;
	int				 saved_failed;
};

/* What a failed call said, beyond its result code. */
struct tg_fail {
	long		 code;		/* error_code or HTTP status; 0 = none */
	int64_t		 retry_after;	/* seconds */
	long long	 migrate_to;
	char		 description[256];
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static int
tg_parse_id(const char *s, long long *id)
{
	const char	*errstr;

	if (s == NULL || *s == '\0')
		return -1;
	*id = strtonum(s, -9007199254740991LL, 9007199254740991LL, &errstr);
	return errstr == NULL ? 0 : -1;
}

static char *
tg_id_string(long long id)
{
	return xasprintf("%lld", id);
}

/* Telegram counts text length in UTF-16 code units. */
static size_t
tg_u16len(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if ((c & 0xc0) == 0x80)
			continue;
		n += c >= 0xf0 ? 2 : 1;
	}
	return n;
}

/* Bytes of s that hold at most `units` UTF-16 units, whole characters. */
static size_t
tg_u16prefix(const char *s, size_t len, size_t units)
{
	size_t	 i = 0, n = 0;

	while (i < len) {
		unsigned char	c = (unsigned char)s[i];
		size_t		w = c >= 0xf0 ? 2 : 1, clen = 1;

		if (c >= 0xf0)
			clen = 4;
		else if (c >= 0xe0)
			clen = 3;
		else if (c >= 0xc0)
			clen = 2;
		if (n + w > units || i + clen > len)
			break;
		n += w;
		i += clen;
	}
	return i;
}

static const char *
tg_json_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
tg_json_int(json_t *o, const char *key, long long *v)
{
	json_t	*j = json_object_get(o, key);

	if (!json_is_integer(j))
		return -1;
	*v = json_integer_value(j);
	return 0;
}

static int
tg_sleep(struct tg *tg, int64_t ms)
{
	int64_t	 until = now_ms() + ms;

	while (!atomic_load(&tg->stopping)) {
		int64_t	 left = until - now_ms();

		if (left <= 0)
			return 0;
		sleep_ms(left < 50 ? left : 50);
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* The HTTP layer                                                       */

/*
 * One HTTP call of a Bot API method with JSON parameters. The reply body
 * (capped at TG_BODY_MAX; *truncated says it was cut) goes to *body
 * (caller releases). Returns CHAT_OK when a reply arrived (any status),
 * CHAT_TEMPORARY with *cause when none did; the cause names the method,
 * never the URL.
 */
static int
tg_http(struct tg *tg, const char *method, json_t *params, long timeout_s,
    int interruptible, struct buf *body_out, long *status, int *truncated,
    char **cause)
{
	struct net_request	 req;
	struct net_reply	 r;
	char			*path, *body;
	int			 rc = CHAT_OK;

	*truncated = 0;
	path = xasprintf("/%s", method);
	if (params != NULL)
		body = json_dumps(params, JSON_COMPACT);
	else
		body = xstrdup("{}");
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.path = path;
	req.body = body;
	req.content_type = "application/json";
	req.timeout_ms = timeout_s * 1000;
	req.cancellable = interruptible;
	net_http_do(tg->http, &req, &r);
	free(path);
	free(body);
	*status = r.status;
	if (r.result == NET_REPLY || r.result == NET_TOO_BIG) {
		/* A reply larger than we read: what arrived is kept. */
		*truncated = r.result == NET_TOO_BIG;
		*body_out = r.body;
		buf_init(&r.body, 0);
	} else {
		set_cause(cause, "Telegram %s failed: %s", method, r.error);
		rc = CHAT_TEMPORARY;
	}
	net_reply_release(&r);
	return rc;
}

/*
 * A Bot API reply read with the strict scanner, without a tree:
 * {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":
 * "...","parameters":{"retry_after":N,"migrate_to_chat_id":N}}. Of the
 * result only a message's message_id is kept. -1 when the reply is not
 * such an object.
 */
struct tg_reply {
	int		 ok;
	long long	 error_code;	/* 0: none given */
	long long	 retry_after;
	long long	 migrate_to;
	long long	 message_id;	/* 0: none */
	char		*description;	/* NULL: none given */
};

/* An integer member's value; another type leaves *v as it is. */
static int
tg_scan_int(struct jscan *js, long long *v)
{
	int64_t	 i;

	if (jscan_peek(js) != JSCAN_NUMBER)
		return jscan_skip(js);
	if (jscan_number(js, NULL, &i) != 0)
		return -1;
	*v = i;
	return 0;
}

/* The members of an object, each handed to fn (which consumes it). */
static int
tg_scan_object(struct jscan *js, int (*fn)(struct jscan *, const char *,
    struct tg_reply *, char *, size_t), struct tg_reply *r, char *scratch,
    size_t size)
{
	char	 key[32];
	int	 k;

	if (jscan_object(js) != 0)
		return -1;
	while ((k = jscan_key(js, key, sizeof key)) == 1) {
		if (fn(js, key, r, scratch, size) != 0)
			return -1;
	}
	return k;
}

static int
tg_scan_parameters(struct jscan *js, const char *key, struct tg_reply *r,
    char *scratch, size_t size)
{
	if (strcmp(key, "retry_after") == 0)
		return tg_scan_int(js, &r->retry_after);
	if (strcmp(key, "migrate_to_chat_id") == 0)
		return tg_scan_int(js, &r->migrate_to);
	return jscan_skip(js);
}

static int
tg_scan_result(struct jscan *js, const char *key, struct tg_reply *r,
    char *scratch, size_t size)
{
	if (strcmp(key, "message_id") == 0)
		return tg_scan_int(js, &r->message_id);
	return jscan_skip(js);
}

static int
tg_scan_top(struct jscan *js, const char *key, struct tg_reply *r,
    char *scratch, size_t size)
{
	enum jscan_type	 t = jscan_peek(js);
	size_t		 len;

	if (strcmp(key, "ok") == 0 && (t == JSCAN_TRUE || t == JSCAN_FALSE)) {
		r->ok = t == JSCAN_TRUE ? 1 : 0;
		return jscan_skip(js);
	}
	if (strcmp(key, "error_code") == 0)
		return tg_scan_int(js, &r->error_code);
	if (strcmp(key, "description") == 0 && t == JSCAN_STRING) {
		if (jscan_string(js, scratch, size, &len) != 0)
			return -1;
		free(r->description);
		r->description = xstrndup(scratch, len);
		return 0;
	}
	if (strcmp(key, "parameters") == 0 && t == JSCAN_OBJECT)
		return tg_scan_object(js, tg_scan_parameters, r, scratch, size);
	if (strcmp(key, "result") == 0 && t == JSCAN_OBJECT)
		return tg_scan_object(js, tg_scan_result, r, scratch, size);
	return jscan_skip(js);
}

static int
tg_reply_read(const char *body, size_t len, struct tg_reply *r)
{
	struct jscan	 js;
	char		*scratch = xmalloc(len + 1);
	int		 rc;

	memset(r, 0, sizeof *r);
	r->ok = -1;
	jscan_init(&js, body, len);
	rc = tg_scan_object(&js, tg_scan_top, r, scratch, len + 1);
	free(scratch);
	if (rc != 0 || jscan_end(&js) != 0 || r->ok == -1) {
		free(r->description);
		r->description = NULL;
		return -1;
	}
	return 0;
}

/*
 * Calls a Bot API method with JSON parameters. On success *result (may
 * be NULL) gets the "result" value (caller decrefs) and *message_id (may
 * be NULL) the result's message_id (0 when it has none). Failures fill
 * *fail and *cause; the cause names the method, never the URL.
 */
static int
tg_call(struct tg *tg, const char *method, json_t *params, long timeout_s,
    int interruptible, json_t **result, long long *message_id,
    struct tg_fail *fail, char **cause)
{
	struct tg_reply	 r;
	struct buf	 body;
	long		 status = 0;
	int		 rc, truncated;

	memset(fail, 0, sizeof *fail);
	if (result != NULL)
		*result = NULL;
	if (message_id != NULL)
		*message_id = 0;
	rc = tg_http(tg, method, params, timeout_s, interruptible, &body,
	    &status, &truncated, cause);
	if (rc != CHAT_OK)
		return rc;
	if (truncated) {
		buf_release(&body);
		set_cause(cause, "Telegram %s failed: reply larger than %d "
		    "bytes", method, TG_BODY_MAX);
		return CHAT_TEMPORARY;
	}
	if (tg_reply_read(body.data != NULL ? body.data : "", body.len,
	    &r) != 0) {
		buf_release(&body);
		fail->code = status;
		set_cause(cause, "Telegram %s failed: HTTP %ld with an "
		    "unreadable reply", method, status);
		/* A proxy's error page is passing; a 404 page is not. */
		if (status >= 400 && status < 500 && status != 429)
			return CHAT_PERMANENT;
		return CHAT_TEMPORARY;
	}
	if (r.ok) {
		if (result != NULL) {
			/* The whole result as a tree (getMe, rarely). */
			json_t	*root = json_loadb(body.data, body.len, 0,
			    NULL);

			*result = json_object_get(root, "result");
			json_incref(*result);
			json_decref(root);
		}
		if (message_id != NULL)
			*message_id = r.message_id;
		buf_release(&body);
		free(r.description);
		return CHAT_OK;
	}
	buf_release(&body);

	/* {"ok":false,"error_code":N,"description":"...","parameters":{}} */
	{
		char	*clean;

		fail->code = r.error_code != 0 ? (long)r.error_code : status;
		if (r.retry_after > 0)
			fail->retry_after = r.retry_after;
		fail->migrate_to = r.migrate_to;
		clean = log_scrub(r.description != NULL ? r.description :
		    "no description");
		snprintf(fail->description, sizeof fail->description, "%s",
		    clean);
		free(clean);
		free(r.description);
	}

	if (fail->code == 429) {
		int64_t	 wait = fail->retry_after > 0 ? fail->retry_after : 1;

		log_warn("telegram", "rate limited method=%s retry_after=%lld",
		    method, (long long)wait);
		set_cause(cause, "Telegram %s failed: 429 %s (retry after "
		    "%llds)", method, fail->description, (long long)wait);
		return CHAT_TEMPORARY;
	}
	set_cause(cause, "Telegram %s failed: %ld %s", method, fail->code,
	    fail->description);
	return fail->code >= 500 ? CHAT_TEMPORARY : CHAT_PERMANENT;
}

/* ------------------------------------------------------------------ */
/* Chats, users, migrations                                             */

/* The configured room a chat id belongs to (itself or migrated); or NULL. */
static const struct conf_room *
tg_room_of(struct tg *tg, const char *chat_id)
{
	const struct conf_telegram	*tc = tg->conf;
	const char			*configured = chat_id;
	size_t		 i;

	pthread_mutex_lock(&tg->lock);
	for (i = 0; i < tg->nmigrations; i++) {
		if (strcmp(tg->migrations[i].to, chat_id) == 0) {
			configured = tg->migrations[i].from;
			break;
		}
	}
	pthread_mutex_unlock(&tg->lock);
	for (i = 0; i < tc->nchats; i++) {
		if (strcmp(tc->chats[i].id, configured) == 0)
			return &tc->chats[i];
	}
	return NULL;
}

/* The chat id to send to for a room: the supergroup it became, if any. */
static char *
tg_chat_for_room(struct tg *tg, const char *room)
{
	char	*out = NULL;
	size_t	 i;

	pthread_mutex_lock(&tg->lock);
	for (i = 0; i < tg->nmigrations; i++) {
		if (strcmp(tg->migrations[i].from, room) == 0) {
			out = xstrdup(tg->migrations[i].to);
			break;
		}
	}
	pthread_mutex_unlock(&tg->lock);
	return out != NULL ? out : xstrdup(room);
}

static int
tg_user_allowed(struct tg *tg, const char *user_id)
{
	const struct conf_telegram	*tc = tg->conf;
	size_t				 i;

	for (i = 0; i < tc->nusers; i++) {
		if (strcmp(tc->users[i], user_id) == 0)
			return 1;
	}
	return 0;
}

/* Remembers that configured room `from` is now chat `to`. */
static void
tg_add_migration(struct tg *tg, const char *from, const char *to)
{
	size_t	 i;

	pthread_mutex_lock(&tg->lock);
	for (i = 0; i < tg->nmigrations; i++) {
		if (strcmp(tg->migrations[i].from, from) == 0) {
			free(tg->migrations[i].to);
			tg->migrations[i].to = xstrdup(to);
			break;
		}
	}
	if (i == tg->nmigrations) {
		tg->migrations = xreallocarray(tg->migrations,
		    tg->nmigrations + 1, sizeof *tg->migrations);
		tg->migrations[i].from = xstrdup(from);
		tg->migrations[i].to = xstrdup(to);
		tg->nmigrations++;
	}
	pthread_mutex_unlock(&tg->lock);
}

/* Records a migration seen by the poller, in memory and in the kv table. */
static void
tg_migrate(struct tg *tg, struct store *st, const char *from,
    const char *to)
{
	char	*key;

	log_info("telegram", "group migrated to a supergroup chat=%s "
	    "new_chat=%s: serving the new chat as %s", from, to, from);
	tg_add_migration(tg, from, to);
	if (st == NULL)
		return;
	key = xasprintf("telegram.migrated.%s", from);
	if (store_kv_set(st, key, to) != 0)
		log_warn("telegram", "cannot save migration chat=%s", from);
	free(key);
}

static void
tg_load_migrations(struct tg *tg, struct store *st)
{
	const struct conf_telegram	*tc = tg->conf;
	size_t				 i;

	for (i = 0; i < tc->nchats; i++) {
		char	*key, *value = NULL;

		key = xasprintf("telegram.migrated.%s", tc->chats[i].id);
		if (store_kv_get(st, key, &value) == 0 && value != NULL) {
			tg_add_migration(tg, tc->chats[i].id, value);
			log_info("telegram", "chat=%s is served as supergroup "
			    "%s", tc->chats[i].id, value);
		}
		free(value);
		free(key);
	}
}

/* ------------------------------------------------------------------ */
/* Incoming updates                                                     */

/*
 * `whoami` in a chat pvebot does not serve gets the ids to put in
 * bot.conf and nothing else: it is how an operator finds them. The
 * answer rides on the unserved-room event: the router writes it to the
 * outbox (at most one per chat per window) and saves the offset with it.
 */
static struct chat_event *
tg_whoami_hint(struct tg *tg, json_t *chat, const char *user_id,
    const char *text)
{
	struct chat_event	*ev;
	const char		*type = tg_json_str(chat, "type");
	long long		 chat_id;
	size_t			 wlen = strcspn(text, " \t\n");
	char			*room;

	if (*text == '/')
		text++, wlen--;
	if (wlen != 6 || strncasecmp(text, "whoami", 6) != 0 ||
	    tg_json_int(chat, "id", &chat_id) != 0)
		return NULL;
	room = tg_id_string(chat_id);
	ev = chat_event_new(CHAT_EV_UNSERVED, "telegram", room, NULL);
	ev->user = xasprintf("telegram:%s", user_id);
	ev->answer = xasprintf("pvebot does not serve this %s yet.\n"
	    "chat id: %s (telegram.chats in bot.conf)\n"
	    "your user id: %s (telegram.users for private chats; identity "
	    "telegram:%s in the policy)", type != NULL &&
	    strcmp(type, "private") == 0 ? "private chat" : "chat", room,
	    user_id, user_id);
	log_info("telegram", "whoami from an unconfigured chat=%s "
	    "user=telegram:%s", room, user_id);
	free(room);
	return ev;
}

/*
 * Rewrites "/cmd@bot args" to "/cmd args". Returns 1 when the command
 * names this bot or no bot, 0 when it names another bot.
 */
static int
tg_strip_botname(struct tg *tg, char *text)
{
	size_t	 word = strcspn(text, " \t\n");
	char	*at = memchr(text, '@', word);
	size_t	 nlen;

	if (at == NULL)
		return 1;
	nlen = word - (size_t)(at - text) - 1;
	if (tg->username == NULL || strlen(tg->username) != nlen ||
	    strncasecmp(at + 1, tg->username, nlen) != 0)
		return 0;
	memmove(at, text + word, strlen(text + word) + 1);
	return 1;
}

/* Strips a leading "@bot" mention; 1 when there was one. */
static int
tg_strip_mention(struct tg *tg, char *text)
{
	size_t	 nlen;
	char	*p;

	if (tg->username == NULL || text[0] != '@')
		return 0;
	nlen = strlen(tg->username);
	if (strncasecmp(text + 1, tg->username, nlen) != 0)
		return 0;
	p = text + 1 + nlen;
	if (*p != '\0' && *p != ' ' && *p != ',' && *p != ':' && *p != '\n')
		return 0;
	while (*p == ' ' || *p == ',' || *p == ':' || *p == '\n')
		p++;
	memmove(text, p, strlen(p) + 1);
	return 1;
}

/*
 * Works out whether an update's chat is served. Returns the room name to
 * give the router (caller frees) or NULL. A chat with `commands: false`
 * still serves button presses: its alerts carry Ack and Silence buttons.
 */
static char *
tg_served_room(struct tg *tg, json_t *chat, const char *user_id,
    int buttons, int *direct)
{
	const struct conf_room	*room;
	const char		*type = tg_json_str(chat, "type");
	long long		 chat_id;
	char			*id;

	*direct = 0;
	if (tg_json_int(chat, "id", &chat_id) != 0 || type == NULL)
		return NULL;
	id = tg_id_string(chat_id);
	if (strcmp(type, "private") == 0) {
		*direct = 1;
		if (user_id != NULL && tg_user_allowed(tg, user_id))
			return id;
		free(id);
		return NULL;
	}
	room = tg_room_of(tg, id);
	free(id);
	if (room == NULL || (!room->commands && !buttons))
		return NULL;
	return xstrdup(room->id);
}

static struct chat_event *
tg_message_event(struct tg *tg, struct store *st, json_t *msg)
{
	json_t			*chat = json_object_get(msg, "chat");
	json_t			*from = json_object_get(msg, "from");
	json_t			*reply_to;
	struct chat_event	*ev;
	const char		*text, *name;
	long long		 v, date = 0, from_id;
	char			*room, *user_id, *chat_id, *copy;
	int			 direct, addressed = 0;

	if (tg_json_int(chat, "id", &v) != 0)
		return NULL;
	chat_id = tg_id_string(v);

	/* The old group says where it went; the new one where it came from. */
	if (tg_json_int(msg, "migrate_to_chat_id", &v) == 0) {
		const struct conf_room	*r = tg_room_of(tg, chat_id);
		char			*to = tg_id_string(v);

		if (r != NULL)
			tg_migrate(tg, st, r->id, to);
		free(to);
		free(chat_id);
		return NULL;
	}
	if (tg_json_int(msg, "migrate_from_chat_id", &v) == 0) {
		char			*old = tg_id_string(v);
		const struct conf_room	*r = tg_room_of(tg, old);

		if (r != NULL)
			tg_migrate(tg, st, r->id, chat_id);
		free(old);
		free(chat_id);
		return NULL;
	}
	free(chat_id);

	/* Channel posts and anonymous admins have no user: not served. */
	if (!json_is_object(from) || tg_json_int(from, "id", &from_id) != 0)
		return NULL;
	if (json_is_true(json_object_get(from, "is_bot")))
		return NULL;
	text = tg_json_str(msg, "text");
	if (text == NULL || *text == '\0')
		return NULL;
	user_id = tg_id_string(from_id);
	room = tg_served_room(tg, chat, user_id, 0, &direct);
	if (room == NULL) {
		ev = NULL;
		copy = xstrdup(text);
		if (strlen(text) == json_string_length(json_object_get(msg,
		    "text")) && tg_strip_botname(tg, copy) &&
		    (direct || copy[0] == '/'))
			ev = tg_whoami_hint(tg, chat, user_id, copy);
		free(copy);
		if (ev == NULL && tg_json_int(chat, "id", &v) == 0) {
			/* Audited by the router (once a day per room) when
			 * the sender is someone the policy knows. */
			chat_id = tg_id_string(v);
			ev = chat_event_new(CHAT_EV_UNSERVED, "telegram",
			    chat_id, NULL);
			ev->user = xasprintf("telegram:%s", user_id);
			free(chat_id);
		}
		log_debug("telegram", "message ignored: chat or user not "
		    "configured user=telegram:%s", user_id);
		free(user_id);
		return ev;
	}
	/* Telegram never sends these; a message that has them is refused
	 * whole rather than cut at the NUL or truncated. */
	if (strlen(text) != json_string_length(json_object_get(msg, "text")) ||
	    strlen(text) > TG_IN_TEXT_MAX) {
		size_t	 len = json_string_length(json_object_get(msg, "text"));

		ev = chat_event_new(CHAT_EV_SKIPPED, "telegram", room, NULL);
		ev->user = xasprintf("telegram:%s", user_id);
		if (strlen(text) != len) {
			ev->text = xstrdup("a NUL byte in the text");
			ev->answer = xstrdup("That message contains a NUL "
			    "character; nothing was done.");
		} else {
			ev->text = xasprintf("a text of %zu bytes (limit %d)",
			    len, TG_IN_TEXT_MAX);
			ev->answer = xasprintf("That message is too long (%zu "
			    "bytes; commands are at most %d KiB); nothing was "
			    "done.", len, TG_IN_TEXT_MAX / 1024);
		}
		ev->direct = direct;
		free(room);
		free(user_id);
		return ev;
	}

	copy = xstrdup(text);
	if (copy[0] == '/') {
		if (!tg_strip_botname(tg, copy)) {
			log_debug("telegram", "command for another bot ignored "
			    "room=%s", room);
			free(copy);
			free(room);
			free(user_id);
			return NULL;
		}
		addressed = 1;
		/* Telegram sends a bare /start when a chat with the bot opens. */
		if (strcmp(copy, "/start") == 0) {
			free(copy);
			copy = xstrdup("help");
		}
	} else if (tg_strip_mention(tg, copy))
		addressed = 1;
	reply_to = json_object_get(msg, "reply_to_message");
	if (json_is_object(reply_to) && tg_json_int(json_object_get(reply_to,
	    "from"), "id", &v) == 0 && v == tg->bot_id)
		addressed = 1;

	ev = chat_event_new(CHAT_EV_MESSAGE, "telegram", room, NULL);
	ev->user = xasprintf("telegram:%s", user_id);
	ev->text = copy;
	name = tg_json_str(from, "username");
	if (name == NULL)
		name = tg_json_str(from, "first_name");
	ev->display = xstrdup(name != NULL ? name : user_id);
	if (tg_json_int(msg, "date", &date) == 0 && date > 0)
		ev->sent_at = date;
	ev->direct = direct;
	ev->addressed = addressed || direct;
	free(room);
	free(user_id);
	return ev;
}

static struct chat_event *
tg_callback_event(struct tg *tg, json_t *cq)
{
	json_t			*from = json_object_get(cq, "from");
	json_t			*msg = json_object_get(cq, "message");
	struct chat_event	*ev;
	const char		*id = tg_json_str(cq, "id");
	const char		*data = tg_json_str(cq, "data");
	const char		*name;
	long long		 from_id, msg_id;
	char			*user_id, *room;
	int			 direct;

	if (id == NULL || data == NULL || !json_is_object(msg) ||
	    tg_json_int(from, "id", &from_id) != 0 ||
	    tg_json_int(msg, "message_id", &msg_id) != 0)
		return NULL;
	if (strlen(data) > TG_DATA_MAX || strlen(data) !=
	    json_string_length(json_object_get(cq, "data")))
		return NULL;
	user_id = tg_id_string(from_id);
	room = tg_served_room(tg, json_object_get(msg, "chat"), user_id, 1,
	    &direct);
	if (room == NULL) {
		log_debug("telegram", "button press ignored: chat or user not "
		    "configured user=telegram:%s", user_id);
		free(user_id);
		return NULL;
	}
	ev = chat_event_new(CHAT_EV_BUTTON, "telegram", room, NULL);
	ev->user = xasprintf("telegram:%s", user_id);
	name = tg_json_str(from, "username");
	if (name == NULL)
		name = tg_json_str(from, "first_name");
	ev->display = xstrdup(name != NULL ? name : user_id);
	ev->button_data = xstrdup(data);
	ev->msg_ref = tg_id_string(msg_id);
	ev->reply_token = xstrdup(id);
	/* A press has no date of its own: it happens now. */
	ev->sent_at = wall_now();
	ev->direct = direct;
	ev->addressed = 1;
	free(room);
	free(user_id);
	return ev;
}

/* The router saved (or gave up on) an offset. */
static void
tg_saved(void *arg, const char *offset, int ok)
{
	struct tg	*tg = arg;
	long long	 off;

	pthread_mutex_lock(&tg->saved_lock);
	if (!ok)
		tg->saved_failed = 1;
	else if (offset != NULL && tg_parse_id(offset, &off) == 0 &&
	    off > tg->saved_offset)
		tg->saved_offset = off;
	pthread_cond_broadcast(&tg->saved_cond);
	pthread_mutex_unlock(&tg->saved_lock);
}

/* Hands one event to the router with the offset that follows it. */
static void
tg_submit(struct tg *tg, struct chat_event *ev, long long next_offset)
{
	ev->offset_key = xstrdup("telegram");
	ev->offset = xasprintf("%lld", next_offset);
	ev->saved = tg_saved;
	ev->saved_arg = tg;
	tg->ctx->submit(tg->ctx->submit_arg, ev);
}

/* An update pvebot cannot use: skipped with an audit row, never retried. */
static void
tg_skip(struct tg *tg, long long update_id, const char *why,
    const char *room, const char *answer)
{
	struct chat_event	*ev;

	log_warn("telegram", "update %lld skipped: %s", update_id, why);
	ev = chat_event_new(CHAT_EV_SKIPPED, "telegram", room, NULL);
	ev->text = xasprintf("telegram update %lld skipped: %s", update_id,
	    why);
	if (answer != NULL && room != NULL)
		ev->answer = xstrdup(answer);
	tg_submit(tg, ev, update_id + 1);
}

static void
tg_handle_update(struct tg *tg, struct store *st, json_t *u,
    long long next_offset)
{
	struct chat_event	*ev = NULL;
	json_t			*msg;

	if ((msg = json_object_get(u, "message")) != NULL &&
	    json_is_object(msg))
		ev = tg_message_event(tg, st, msg);
	else if ((msg = json_object_get(u, "callback_query")) != NULL &&
	    json_is_object(msg))
		ev = tg_callback_event(tg, msg);
	if (ev == NULL)
		ev = chat_event_new(CHAT_EV_OFFSET, "telegram", NULL, NULL);
	else if (ev->kind == CHAT_EV_SKIPPED) {
		/* Its audit row names the update, as tg_skip()'s do. */
		char	*why = ev->text;

		log_warn("telegram", "update %lld skipped: %s",
		    next_offset - 1, why);
		ev->text = xasprintf("telegram update %lld skipped: %s",
		    next_offset - 1, why);
		free(why);
	}
	tg_submit(tg, ev, next_offset);
}

/*
 * Waits until the router has saved `offset`, so that the next getUpdates
 * (which makes Telegram forget everything below it) cannot lose work.
 * There is no time limit: an update Telegram forgets must be saved. A
 * save the router gave up on stops waiting (the update is lost; the
 * router logged it) so one bad write does not deafen pvebot.
 */
static int
tg_wait_saved(struct tg *tg, long long offset)
{
	int	 ok = 1;

	pthread_mutex_lock(&tg->saved_lock);
	while (tg->saved_offset < offset && !tg->saved_failed &&
	    !atomic_load(&tg->stopping)) {
		struct timespec	 ts;
		int64_t		 at = wall_now_ms() + 200;

		ts.tv_sec = at / 1000;
		ts.tv_nsec = (at % 1000) * 1000000;
		pthread_cond_timedwait(&tg->saved_cond, &tg->saved_lock, &ts);
	}
	if (tg->saved_offset < offset && !tg->saved_failed)
		ok = 0;		/* stopping */
	tg->saved_failed = 0;
	pthread_mutex_unlock(&tg->saved_lock);
	return ok;
}

/* The first "update_id": N in text (a reply we cannot parse); -1 if none. */
static long long
tg_scan_update_id(const char *text, size_t len, const char **at)
{
	const char	*p = text, *end = text + len;
	static const char key[] = "\"update_id\"";

	while (p < end) {
		const char	*k = memmem(p, (size_t)(end - p), key,
		    sizeof key - 1);
		long long	 id = 0;
		int		 digits = 0;

		if (k == NULL)
			return -1;
		p = k + sizeof key - 1;
		while (p < end && (*p == ' ' || *p == ':' || *p == '"'))
			p++;
		/* All the digits: a number cut short is another update's id. */
		while (p < end && *p >= '0' && *p <= '9') {
			if (digits < 17)
				id = id * 10 + (*p - '0');
			p++;
			digits++;
		}
		/* Beyond 2^53 it is no id the Bot API gives. */
		if (digits > 0 && digits < 17 && id <= TG_UPDATE_ID_MAX) {
			if (at != NULL)
				*at = k;
			return id;
		}
	}
	return -1;
}

/* The number after `"key":{"id":` in text, or 0. */
static long long
tg_scan_id_after(const char *text, size_t len, const char *key)
{
	const char	*p, *end = text + len;
	char		*pat = xasprintf("\"%s\":{\"id\":", key);
	long long	 id = 0;
	int		 neg = 0, digits = 0;

	p = memmem(text, len, pat, strlen(pat));
	if (p != NULL) {
		p += strlen(pat);
		if (p < end && *p == '-') {
			neg = 1;
			p++;
		}
		while (p < end && *p >= '0' && *p <= '9' && digits < 18) {
			id = id * 10 + (*p - '0');
			p++;
			digits++;
		}
	}
	free(pat);
	return digits > 0 ? (neg ? -id : id) : 0;
}

/*
 * A getUpdates reply that cannot be read as a whole (an update too large
 * for the cap, broken JSON): the first update is isolated by asking for
 * it alone and skipped with an audit row. Its sender, when the chat is
 * served, is told. Returns 0 when the offset moved past it.
 */
static int
tg_skip_unreadable(struct tg *tg, const char *body, size_t len,
    int truncated)
{
	long long	 id, chat_id, from_id;
	const char	*at = NULL;
	char		*room = NULL, *why, *answer;
	int		 direct;
	size_t		 scan = len < TG_SCAN_MAX ? len : TG_SCAN_MAX;

	/*
	 * No update id at all: not an update we fail to read but a reply
	 * that is not Telegram's (a proxy's page). Nothing is skipped: the
	 * caller backs off and asks again.
	 */
	if ((id = tg_scan_update_id(body, scan, &at)) < 0 || id < tg->offset)
		return -1;
	chat_id = tg_scan_id_after(at, scan - (size_t)(at - body), "chat");
	from_id = tg_scan_id_after(at, scan - (size_t)(at - body), "from");
	if (chat_id != 0 && from_id != 0) {
		json_t	*chat = json_pack("{s:I, s:s}", "id",
		    (json_int_t)chat_id, "type", chat_id > 0 ? "private" :
		    "group");
		char	*uid = tg_id_string(from_id);

		room = tg_served_room(tg, chat, uid, 0, &direct);
		json_decref(chat);
		free(uid);
	}
	if (truncated)
		answer = xasprintf("That message is too large (over %d MiB); "
		    "nothing was done.", TG_BODY_MAX / (1024 * 1024));
	else
		answer = xstrdup("pvebot could not read that message; nothing "
		    "was done.");
	why = xasprintf("%s update", truncated ? "oversize" : "unreadable");
	tg_skip(tg, id, why, room, answer);
	tg->offset = id + 1;
	free(why);
	free(answer);
	free(room);
	return 0;
}

/*
 * getUpdates once. A reply that cannot be read as a whole (over the size
 * cap, broken JSON) makes the next polls read one update at a time: the
 * update that is at fault is then skipped (with its audit row) and the
 * batches resume. Returns CHAT_OK with *result (an array) or with
 * nothing to handle (NULL).
 */
static int	tg_read_updates(struct tg *, int, struct buf *, long, int,
		    json_t **, struct tg_fail *, char **);

static int
tg_get_updates(struct tg *tg, json_t **result, struct tg_fail *fail,
    char **cause)
{
	json_t		*params;
	struct buf	 body;
	long		 status;
	int		 rc, truncated, limit = tg->one_by_one ? 1 : TG_BATCH;

	*result = NULL;
	memset(fail, 0, sizeof *fail);
	params = json_pack("{s:I, s:I, s:[ss]}", "timeout",
	    (json_int_t)(limit == 1 ? 0 : tg->poll_timeout), "limit",
	    (json_int_t)limit, "allowed_updates", "message",
	    "callback_query");
	if (tg->offset > 0)
		json_object_set_new(params, "offset", json_integer(tg->offset));
	rc = tg_http(tg, "getUpdates", params, (long)tg->poll_timeout +
	    TG_CALL_TIMEOUT, 1, &body, &status, &truncated, cause);
	json_decref(params);
	if (rc != CHAT_OK)
		return rc;
	return tg_read_updates(tg, limit, &body, status, truncated, result,
	    fail, cause);
}

/*
 * The reply of a getUpdates asked with `limit` (body released here):
 * see tg_get_updates.
 */
static int
tg_read_updates(struct tg *tg, int limit, struct buf *bodyp, long status,
    int truncated, json_t **result, struct tg_fail *fail, char **cause)
{
	struct buf	 body = *bodyp;
	json_t		*root;
	int		 rc;

	root = truncated ? NULL : json_loadb(body.data != NULL ? body.data :
	    "", body.len, JSON_ALLOW_NUL, NULL);
	if (root == NULL && status == 200) {
		rc = CHAT_TEMPORARY;
		if (limit > 1) {
			log_warn("telegram", "getUpdates reply %s; reading "
			    "updates one at a time", truncated ? "over the "
			    "size cap" : "unreadable");
			tg->one_by_one = 1;
		} else if (tg_skip_unreadable(tg, body.data != NULL ?
		    body.data : "", body.len, truncated) == 0)
			rc = CHAT_OK;
		if (rc != CHAT_OK)
			set_cause(cause, "Telegram getUpdates: %s reply",
			    truncated ? "an oversize" : "an unreadable");
		buf_release(&body);
		return rc;
	}
	buf_release(&body);
	if (!json_is_object(root) || !json_is_true(json_object_get(root,
	    "ok")) || !json_is_array(json_object_get(root, "result"))) {
		long long	 v;
		const char	*desc = tg_json_str(root, "description");

		fail->code = status;
		if (tg_json_int(root, "error_code", &v) == 0)
			fail->code = (long)v;
		if (tg_json_int(json_object_get(root, "parameters"),
		    "retry_after", &v) == 0 && v > 0)
			fail->retry_after = v;
		set_cause(cause, "Telegram getUpdates failed: HTTP %ld%s%s",
		    status, desc != NULL ? " " : "", desc != NULL ? desc : "");
		json_decref(root);
		return fail->code == 401 || fail->code == 404 ?
		    CHAT_PERMANENT : CHAT_TEMPORARY;
	}
	*result = json_incref(json_object_get(root, "result"));
	json_decref(root);
	/* A reply read whole again: back to batches. */
	tg->one_by_one = 0;
	return CHAT_OK;
}

/* getMe until it works: Telegram may be unreachable when pvebot starts. */
static int	tg_get_me(struct tg *, long, int *, char **);
static void	tg_publish_commands(struct tg *);

static int
tg_connect(struct tg *tg)
{
	int	 attempt = 0, rejected;

	while (!tg->connected && !atomic_load(&tg->stopping)) {
		char	*cause = NULL;
		int64_t	 wait;

		if (tg_get_me(tg, TG_CALL_TIMEOUT, &rejected, &cause) == 0) {
			tg->connected = 1;
			break;
		}
		wait = chat_backoff_ms(attempt++, 1000, 60000);
		if (rejected)
			log_error("telegram", "%s; retrying in %lldms", cause,
			    (long long)wait);
		else
			log_warn("telegram", "cannot reach Telegram, retrying "
			    "in %lldms: %s", (long long)wait, cause);
		free(cause);
		tg_sleep(tg, wait);
	}
	if (!tg->connected)
		return -1;
	log_info("telegram", "connected bot=@%s offset=%lld chats=%zu",
	    tg->username, tg->offset, tg->conf->nchats);
	tg_publish_commands(tg);
	return 0;
}

/* Every update of a getUpdates result, in order, each with its offset. */
static void
tg_handle_batch(struct tg *tg, struct store *st, json_t *result)
{
	json_t	*u;
	size_t	 i;

	json_array_foreach(result, i, u) {
		long long	 uid;
		json_t		*idv = json_object_get(u, "update_id");
		const char	*errstr;

		/* Beyond 2^53 it is no id the Bot API gives (nor one whose
		 * offset, id + 1, can be asked for and read back). */
		if (json_is_integer(idv) && json_integer_value(idv) >= 0 &&
		    json_integer_value(idv) <= TG_UPDATE_ID_MAX)
			uid = json_integer_value(idv);
		else if (json_is_string(idv) &&
		    (uid = strtonum(json_string_value(idv), 0,
		    TG_UPDATE_ID_MAX, &errstr), errstr == NULL)) {
			/* Not what the Bot API sends: skipped. */
			if (uid >= tg->offset) {
				tg_skip(tg, uid, "update_id is not a "
				    "number", NULL, NULL);
				tg->offset = uid + 1;
			}
			continue;
		} else {
			log_warn("telegram", "an update without a "
			    "usable update_id ignored");
			continue;
		}
		if (uid < tg->offset)
			continue;
		if (!json_is_object(u)) {
			tg_skip(tg, uid, "not an object", NULL, NULL);
			tg->offset = uid + 1;
			continue;
		}
		tg_handle_update(tg, st, u, uid + 1);
		tg->offset = uid + 1;
	}
}

static void *
tg_poll_main(void *arg)
{
	struct tg	*tg = arg;
	int		 attempt = 0;

	if (tg_connect(tg) != 0)
		return NULL;
	while (!atomic_load(&tg->stopping)) {
		json_t		*result = NULL;
		struct tg_fail	 fail;
		char		*cause = NULL;
		int64_t		 started = now_ms();
		long long	 first = tg->offset;
		int		 rc;

		/* A reload changed the commands: at most one poll later. */
		if (atomic_exchange(&tg->republish, 0))
			tg_publish_commands(tg);
		rc = tg_get_updates(tg, &result, &fail, &cause);
		if (atomic_load(&tg->stopping)) {
			free(cause);
			json_decref(result);
			break;
		}
		metric_connector("telegram", rc == CHAT_OK);
		if (rc != CHAT_OK) {
			int64_t	 wait;

			if (fail.retry_after > 0)
				wait = fail.retry_after * 1000;
			else
				wait = chat_backoff_ms(attempt++, 1000, 60000);
			log_warn("telegram", "poll failed, retrying in %lldms: "
			    "%s", (long long)wait, cause);
			free(cause);
			json_decref(result);
			tg_sleep(tg, wait);
			continue;
		}
		attempt = 0;
		tg_handle_batch(tg, tg->store, result);
		json_decref(result);
		if (tg->offset > first)
			tg_wait_saved(tg, tg->offset);
		else if (now_ms() - started < TG_MIN_POLL_MS)
			tg_sleep(tg, TG_MIN_POLL_MS - (now_ms() - started));
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Outgoing messages                                                    */

/*
 * Splits plain text into chunks of at most `first` (first chunk) and
 * `rest` UTF-16 units, at line boundaries when a line fits, hard within a
 * line that does not.
 */
static char **
tg_split(const char *text, size_t first, size_t rest, size_t *n)
{
	char		**parts = NULL;
	struct buf	  cur;
	size_t		  budget = first, used = 0, len = strlen(text);
	const char	 *p = text, *end = text + len;

	*n = 0;
	buf_init(&cur, 0);
	buf_append(&cur, "", 0);
	while (p < end) {
		const char	*nl = memchr(p, '\n', (size_t)(end - p));
		size_t		 llen = nl != NULL ? (size_t)(nl - p) :
				    (size_t)(end - p);
		size_t		 lunits = tg_u16len(p, llen);
		size_t		 need = lunits + (cur.len > 0 ? 1 : 0);

		if (used + need <= budget) {
			if (cur.len > 0)
				buf_append(&cur, "\n", 1);
			buf_append(&cur, p, llen);
			used += need;
			p += llen + (nl != NULL ? 1 : 0);
			continue;
		}
		if (cur.len > 0) {
			/* Flush what we have; the line starts the next part. */
			parts = xreallocarray(parts, *n + 1, sizeof *parts);
			parts[(*n)++] = buf_steal(&cur);
			buf_append(&cur, "", 0);
			budget = rest;
			used = 0;
			continue;
		}
		/* One line longer than a whole message: cut it. */
		{
			size_t	 take = tg_u16prefix(p, llen, budget);

			if (take == 0)
				take = 1;	/* cannot happen with sane budgets */
			buf_append(&cur, p, take);
			parts = xreallocarray(parts, *n + 1, sizeof *parts);
			parts[(*n)++] = buf_steal(&cur);
			buf_append(&cur, "", 0);
			budget = rest;
			used = 0;
			p += take;
		}
	}
	if (cur.len > 0 || *n == 0) {
		parts = xreallocarray(parts, *n + 1, sizeof *parts);
		parts[(*n)++] = buf_steal(&cur);
	} else
		buf_release(&cur);
	return parts;
}

/* The HTML parts of a message: title on the first, body chunked. */
static char **
tg_format(const struct chat_msg *msg, size_t *n)
{
	const char	*text = msg->text != NULL ? msg->text : "";
	char		*title = NULL, **chunks, **html, *mention = NULL;
	size_t		 first = TG_TEXT_MAX, i;
	long long	 uid;

	/* A text mention notifies the person even without a username. */
	if (msg->mention != NULL && str_has_prefix(msg->mention,
	    "telegram:") && tg_parse_id(msg->mention + 9, &uid) == 0 &&
	    uid > 0) {
		const char	*name = msg->mention_name != NULL ?
		    msg->mention_name : msg->mention + 9;
		char		*cut = xstrndup(name, tg_u16prefix(name,
		    strlen(name), 64));
		char		*esc = html_escape(cut);

		mention = xasprintf("<a href=\"tg://user?id=%lld\">%s</a>",
		    uid, esc);
		first -= tg_u16len(cut, strlen(cut)) + 1;
		free(esc);
		free(cut);
	}
	if (msg->title != NULL && *msg->title != '\0') {
		size_t	 tlen = strlen(msg->title);
		size_t	 cut = tg_u16prefix(msg->title, tlen, TG_TITLE_MAX);

		title = xstrndup(msg->title, cut);
		first -= tg_u16len(title, strlen(title)) + 1;
	}
	chunks = tg_split(text, first, TG_TEXT_MAX, n);
	html = xcalloc(*n, sizeof *html);
	for (i = 0; i < *n; i++) {
		struct buf	 b;
		char		*esc;

		buf_init(&b, 0);
		buf_append(&b, "", 0);
		if (i == 0 && mention != NULL)
			buf_printf(&b, "%s ", mention);
		if (i == 0 && title != NULL) {
			esc = html_escape(title);
			buf_printf(&b, "<b>%s</b>", esc);
			free(esc);
			if (chunks[i][0] != '\0')
				buf_puts(&b, "\n");
		}
		if (chunks[i][0] != '\0') {
			esc = html_escape(chunks[i]);
			if (msg->pre)
				buf_printf(&b, "<pre>%s</pre>", esc);
			else
				buf_puts(&b, esc);
			free(esc);
		}
		html[i] = buf_steal(&b);
	}
	strv_free(chunks, *n);
	free(title);
	free(mention);
	return html;
}

static int
tg_check_msg(const struct chat_msg *msg, char **cause)
{
	size_t	 i;

	if ((msg->text == NULL || *msg->text == '\0') &&
	    (msg->title == NULL || *msg->title == '\0'))
		return set_cause(cause, "Telegram cannot send an empty "
		    "message");
	for (i = 0; i < msg->nbuttons; i++) {
		const struct chat_button	*b = &msg->buttons[i];

		if (b->data == NULL || *b->data == '\0' ||
		    strlen(b->data) > TG_DATA_MAX)
			return set_cause(cause, "button \"%s\": data must be "
			    "1 to %d bytes", b->label != NULL ? b->label : "",
			    TG_DATA_MAX);
		if (b->label == NULL || *b->label == '\0')
			return set_cause(cause, "a button has no label");
	}
	return 0;
}

/* {"inline_keyboard":[[...]]}; an empty keyboard removes the buttons. */
static json_t *
tg_keyboard(const struct chat_msg *msg)
{
	json_t	*row = json_array(), *kb;
	size_t	 i;

	for (i = 0; i < msg->nbuttons; i++) {
		const struct chat_button	*b = &msg->buttons[i];
		json_t				*btn;
		char				*label;

		if (b->emoji != NULL && *b->emoji != '\0')
			label = xasprintf("%s %s", b->emoji, b->label);
		else
			label = xstrdup(b->label);
		btn = json_pack("{s:s, s:s}", "text", label, "callback_data",
		    b->data);
		free(label);
		if (b->style == CHAT_BUTTON_SUCCESS)
			json_object_set_new(btn, "style", json_string("success"));
		else if (b->style == CHAT_BUTTON_DANGER)
			json_object_set_new(btn, "style", json_string("danger"));
		json_array_append_new(row, btn);
	}
	kb = json_object();
	if (json_array_size(row) > 0)
		json_object_set_new(kb, "inline_keyboard", json_pack("[o]",
		    row));
	else {
		json_decref(row);
		json_object_set_new(kb, "inline_keyboard", json_array());
	}
	return kb;
}

static json_t *
tg_chat_id_json(const char *chat)
{
	long long	 id;

	if (tg_parse_id(chat, &id) == 0)
		return json_integer(id);
	return json_string(chat);
}

/*
 * One outgoing call to a chat, a migrated group followed. No waiting
 * here: a 429's retry_after is left for the sender (tg_op_retry_after).
 * *message_id (may be NULL) gets the message a send made.
 */
static int
tg_chat_call(struct tg *tg, const char *room, const char *method,
    json_t *params, long long *message_id, char **cause)
{
	struct tg_fail	 fail;
	char		*chat = tg_chat_for_room(tg, room);
	int		 tries, rc = CHAT_PERMANENT;

	for (tries = 0; tries < 2; tries++) {
		char	*why = NULL;

		json_object_set_new(params, "chat_id", tg_chat_id_json(chat));
		rc = tg_call(tg, method, params, TG_CALL_TIMEOUT, 0, NULL,
		    message_id, &fail, &why);
		if (rc == CHAT_OK) {
			free(chat);
			return CHAT_OK;
		}
		if (strstr(fail.description, "message is not modified") !=
		    NULL) {
			free(why);
			free(chat);
			return CHAT_OK;
		}
		if (fail.migrate_to != 0) {
			free(chat);
			chat = tg_id_string(fail.migrate_to);
			tg_add_migration(tg, room, chat);
			log_info("telegram", "group migrated to a supergroup "
			    "chat=%s new_chat=%s", room, chat);
			free(why);
			continue;
		}
		if (fail.code == 429)
			tg->retry_after_ms = (fail.retry_after > 0 ?
			    fail.retry_after : 1) * 1000;
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		break;
	}
	free(chat);
	return rc;
}

/*
 * Sends a message, or with edit_ref edits that message into the first
 * part and sends the rest. *ref gets the message id of the last part.
 */
static int
tg_deliver(struct tg *tg, const char *room, const char *edit_ref,
    const struct chat_msg *msg, char **ref, char **cause)
{
	char		**parts;
	size_t		  nparts, i;
	long long	  msg_id = 0;
	int		  rc = CHAT_OK;

	if (ref != NULL)
		*ref = NULL;
	if (tg_check_msg(msg, cause) != 0)
		return CHAT_PERMANENT;
	if (edit_ref != NULL && tg_parse_id(edit_ref, &msg_id) != 0) {
		set_cause(cause, "Telegram edit: \"%s\" is not a message id",
		    edit_ref);
		return CHAT_PERMANENT;
	}
	parts = tg_format(msg, &nparts);
	for (i = 0; i < nparts && rc == CHAT_OK; i++) {
		json_t		*params;
		int		 last = i + 1 == nparts, editing;
		long long	 sent_id;

		editing = i == 0 && edit_ref != NULL;
		params = json_pack("{s:s, s:s}", "text", parts[i],
		    "parse_mode", "HTML");
		json_object_set_new(params, "link_preview_options",
		    json_pack("{s:b}", "is_disabled", 1));
		if (editing) {
			json_object_set_new(params, "message_id",
			    json_integer(msg_id));
			/* An edit without buttons removes them. */
			if (last)
				json_object_set_new(params, "reply_markup",
				    tg_keyboard(msg));
			else
				json_object_set_new(params, "reply_markup",
				    json_pack("{s:[]}", "inline_keyboard"));
		} else if (last && msg->nbuttons > 0)
			json_object_set_new(params, "reply_markup",
			    tg_keyboard(msg));
		rc = tg_chat_call(tg, room, editing ? "editMessageText" :
		    "sendMessage", params, &sent_id, cause);
		json_decref(params);
		if (rc == CHAT_OK && ref != NULL) {
			free(*ref);
			if (editing)
				*ref = xstrdup(edit_ref);
			else if (sent_id != 0)
				*ref = tg_id_string(sent_id);
			else
				*ref = NULL;
		}
	}
	strv_free(parts, nparts);
	if (rc != CHAT_OK && ref != NULL) {
		free(*ref);
		*ref = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Connector operations                                                 */

/*
 * getMe, once, within timeout_s. -1 with *cause when it failed; then
 * *rejected says the token itself was refused (401, 404): trying again
 * will not help.
 */
static int
tg_get_me(struct tg *tg, long timeout_s, int *rejected, char **cause)
{
	struct tg_fail	 fail;
	json_t		*me = NULL;
	const char	*username;
	char		*why = NULL;
	int		 rc;

	*rejected = 0;
	rc = tg_call(tg, "getMe", NULL, timeout_s, 1, &me, NULL, &fail,
	    &why);
	if (rc != CHAT_OK) {
		if (fail.code == 401 || fail.code == 404) {
			*rejected = 1;
			set_cause(cause, "Telegram rejected the bot token (%ld "
			    "%s): check telegram.token", fail.code,
			    fail.code == 401 ? "Unauthorized" : "Not Found");
		} else
			set_cause(cause, "%s", why);
		free(why);
		return -1;
	}
	free(why);
	username = tg_json_str(me, "username");
	if (username == NULL || tg_json_int(me, "id", &tg->bot_id) != 0) {
		json_decref(me);
		return set_cause(cause, "Telegram getMe returned no bot "
		    "username");
	}
	free(tg->username);
	tg->username = xstrdup(username);
	json_decref(me);
	return 0;
}

/* setMyCommands with a list of BotCommand objects. */
static int
tg_set_commands(struct tg *tg, json_t *commands, char **cause)
{
	struct tg_fail	 fail;
	json_t		*params;
	int		 rc;

	params = json_pack("{s:O}", "commands", commands);
	rc = tg_call(tg, "setMyCommands", params, TG_CALL_TIMEOUT, 1, NULL,
	    NULL, &fail, cause);
	json_decref(params);
	return rc;
}

/*
 * The catalogue as the bot's command menu, on the poller thread: at the
 * first connection and after a reload changed it. A failure only warns.
 */
static void
tg_publish_commands(struct tg *tg)
{
	json_t	*commands;
	char	*cause = NULL;

	pthread_mutex_lock(&tg->lock);
	commands = json_incref(tg->menu);
	pthread_mutex_unlock(&tg->lock);
	if (commands == NULL)
		return;
	if (tg_set_commands(tg, commands, &cause) != CHAT_OK) {
		log_warn("telegram", "setMyCommands failed: %s", cause);
		free(cause);
	} else
		log_info("telegram", "commands published count=%zu",
		    json_array_size(commands));
	json_decref(commands);
}

static int
tg_start(struct connector *c, char **cause)
{
	struct tg	*tg = c->priv;
	char		*value = NULL, *why = NULL;
	long long	 off;
	int		 rejected;

	if (tg->running)
		return 0;
	/* The catalogue given since create (before any thread runs). */
	pthread_mutex_lock(&tg->lock);
	if (tg->menu == NULL && tg->ctx->catalogue != NULL)
		tg->menu = cmd_export_telegram(tg->ctx->catalogue);
	pthread_mutex_unlock(&tg->lock);
	atomic_store(&tg->stopping, 0);
	net_http_resume(tg->http);
	if (tg->ctx->conf->database == NULL)
		return set_cause(cause, "Telegram needs a database for its "
		    "offsets");
	tg->store = store_open(tg->ctx->conf->database, cause);
	if (tg->store == NULL)
		return -1;
	if (store_offset_get(tg->store, "telegram", &value) == 0 &&
	    value != NULL && tg_parse_id(value, &off) == 0)
		tg->offset = off;
	free(value);
	tg_load_migrations(tg, tg->store);
	tg->saved_offset = tg->offset;

	/*
	 * One quick getMe: a token Telegram refuses is a configuration
	 * error and stops pvebot at once. Any other failure is left to the
	 * thread, which retries while Telegram is unreachable: pvebot
	 * serves its other chats meanwhile.
	 */
	tg->connected = 0;
	if (tg_get_me(tg, TG_START_TIMEOUT, &rejected, &why) == 0)
		tg->connected = 1;
	else if (rejected) {
		set_cause(cause, "%s", why);
		free(why);
		store_close(tg->store);
		tg->store = NULL;
		return -1;
	} else {
		log_warn("telegram", "Telegram is not reachable yet, "
		    "connecting in the background: %s", why);
		free(why);
	}
	if (pthread_create(&tg->thread, NULL, tg_poll_main, tg) != 0) {
		store_close(tg->store);
		tg->store = NULL;
		return set_cause(cause, "cannot start the Telegram thread");
	}
	tg->running = 1;
	return 0;
}

static void
tg_stop(struct connector *c)
{
	struct tg	*tg = c->priv;

	if (!tg->running)
		return;
	atomic_store(&tg->stopping, 1);
	net_http_cancel(tg->http);
	pthread_join(tg->thread, NULL);
	tg->running = 0;
	store_close(tg->store);
	tg->store = NULL;
}

static int
tg_send(struct connector *c, const char *room, const struct chat_msg *msg,
    char **ref, char **cause)
{
	return tg_deliver(c->priv, room, NULL, msg, ref, cause);
}

static int
tg_edit(struct connector *c, const char *room, const char *ref,
    const struct chat_msg *msg, char **cause)
{
	return tg_deliver(c->priv, room, ref, msg, NULL, cause);
}

static int
tg_answer(struct connector *c, const struct chat_event *ev,
    const char *text, char **cause)
{
	struct tg	*tg = c->priv;
	struct tg_fail	 fail;
	json_t		*params;
	int		 rc;

	if (ev->reply_token == NULL)
		return CHAT_OK;	/* a message, not a press: nothing to do */
	params = json_pack("{s:s}", "callback_query_id", ev->reply_token);
	if (text != NULL && *text != '\0') {
		size_t	 cut = tg_u16prefix(text, strlen(text),
			    TG_ANSWER_MAX);
		char	*t = xstrndup(text, cut);

		json_object_set_new(params, "text", json_string(t));
		free(t);
	}
	rc = tg_call(tg, "answerCallbackQuery", params, TG_CALL_TIMEOUT, 0,
	    NULL, NULL, &fail, cause);
	json_decref(params);
	if (rc == CHAT_TEMPORARY && fail.code == 429)
		tg->retry_after_ms = (fail.retry_after > 0 ? fail.retry_after :
		    1) * 1000;
	/* A press answered too late is not worth another try. */
	if (rc != CHAT_OK && strstr(fail.description, "query is too old") !=
	    NULL)
		rc = CHAT_PERMANENT;
	return rc;
}

/* Telegram's flood limits: a chat, a group, the bot as a whole. */
static int64_t
tg_pace_ms(struct connector *c, const char *room)
{
	long long	 id;

	if (room == NULL)
		return TG_PACE_GLOBAL_MS;
	if (tg_parse_id(room, &id) == 0 && id < 0)
		return TG_PACE_GROUP_MS;
	return TG_PACE_PRIVATE_MS;
}

static int64_t
tg_retry_after(struct connector *c)
{
	struct tg	*tg = c->priv;
	int64_t		 ms = tg->retry_after_ms;

	tg->retry_after_ms = 0;
	return ms;
}

static void
tg_free(struct connector *c)
{
	struct tg	*tg;
	size_t		 i;

	if (c == NULL)
		return;
	tg = c->priv;
	tg_stop(c);
	for (i = 0; i < tg->nmigrations; i++) {
		free(tg->migrations[i].from);
		free(tg->migrations[i].to);
	}
	free(tg->migrations);
	pthread_mutex_destroy(&tg->lock);
	pthread_mutex_destroy(&tg->saved_lock);
	pthread_cond_destroy(&tg->saved_cond);
	net_http_free(tg->http);
	json_decref(tg->menu);
	free(tg->username);
	free(tg);
	free(c);
}

static int	tg_check_conf(const struct conf_telegram *, char **);

/*
 * A reload (main thread): the new chats and users once they pass the
 * same checks as at start, and the new menu, which the poller publishes
 * when it differs from the last one.
 */
static void
tg_reload(struct connector *c, const struct conf *conf,
    const struct catalogue *cat)
{
	struct tg	*tg = c->priv;
	json_t		*menu = cat != NULL ? cmd_export_telegram(cat) : NULL;
	char		*cause = NULL;

	if (tg_check_conf(&conf->chat.telegram, &cause) != 0) {
		log_error("telegram", "reload: chats and users kept as they "
		    "were: %s", cause);
		free(cause);
	} else
		tg->conf = &conf->chat.telegram;
	pthread_mutex_lock(&tg->lock);
	if (menu != NULL && (tg->menu == NULL || !json_equal(menu,
	    tg->menu))) {
		json_decref(tg->menu);
		tg->menu = menu;
		menu = NULL;
		atomic_store(&tg->republish, 1);
	}
	pthread_mutex_unlock(&tg->lock);
	json_decref(menu);
}

static const struct connector_ops tg_ops = {
	.name = "telegram",
	.start = tg_start,
	.stop = tg_stop,
	.send = tg_send,
	.edit = tg_edit,
	.reply = NULL,
	.answer = tg_answer,
	.free = tg_free,
	.pace_ms = tg_pace_ms,
	.retry_after = tg_retry_after,
	.reload = tg_reload,
};

static int
tg_check_conf(const struct conf_telegram *tc, char **cause)
{
	long long	 id;
	size_t		 i;

	if (tc->token == NULL || *tc->token == '\0')
		return set_cause(cause, "telegram: no bot token (set "
		    "telegram.token_file or telegram.token_env)");
	if (strcspn(tc->token, "/?#% \t\r\n") != strlen(tc->token))
		return set_cause(cause, "telegram: the bot token has an "
		    "invalid format (it looks like 123456:ABC-DEF...)");
	if (tc->api_url != NULL && !str_has_prefix(tc->api_url, "http://") &&
	    !str_has_prefix(tc->api_url, "https://"))
		return set_cause(cause, "telegram.api_url must start with "
		    "https:// or http://");
	for (i = 0; i < tc->nchats; i++) {
		if (tc->chats[i].id == NULL ||
		    tg_parse_id(tc->chats[i].id, &id) != 0)
			return set_cause(cause, "telegram.chats: \"%s\" is not "
			    "a chat id (a number such as -1001234567890; ask "
			    "the bot `whoami` in the chat)",
			    tc->chats[i].id != NULL ? tc->chats[i].id : "");
	}
	for (i = 0; i < tc->nusers; i++) {
		if (tg_parse_id(tc->users[i], &id) != 0 || id <= 0)
			return set_cause(cause, "telegram.users: \"%s\" is not "
			    "a user id (a positive number; ask the bot "
			    "`whoami`)", tc->users[i]);
	}
	return 0;
}

struct connector *
chat_telegram_create(const struct chat_ctx *ctx, char **cause)
{
	const struct conf_telegram	*tc = &ctx->conf->chat.telegram;
	struct connector		*c;
	struct tg			*tg;
	struct net_http_api		 api;
	char				*base, *url;
	size_t				 len;

	if (tc->token != NULL)
		log_add_secret(tc->token);
	if (tg_check_conf(tc, cause) != 0)
		return NULL;
	tg = xcalloc(1, sizeof *tg);
	tg->ctx = ctx;
	tg->conf = tc;
	tg->menu = ctx->catalogue != NULL ?
	    cmd_export_telegram(ctx->catalogue) : NULL;
	base = xstrdup(tc->api_url != NULL && *tc->api_url != '\0' ?
	    tc->api_url : TG_DEFAULT_URL);
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		base[--len] = '\0';
	url = xasprintf("%s/bot%s", base, tc->token);
	memset(&api, 0, sizeof api);
	api.name = "telegram";
	api.base_url = url;
	api.connect_timeout_ms = TG_CONNECT_TIMEOUT * 1000L;
	api.timeout_ms = TG_CALL_TIMEOUT * 1000L;
	api.body_max = TG_BODY_MAX;
	api.resend = NET_RESEND_NEVER;	/* Telegram may have handled it */
	api.pool_max = TG_POOL_MAX;
	tg->http = net_http_create(&api, cause);
	explicit_bzero(url, strlen(url));
	free(url);
	free(base);
	if (tg->http == NULL) {
		free(tg);
		return NULL;
	}
	tg->poll_timeout = tc->poll_timeout > 0 ? tc->poll_timeout : 30;
	if (tg->poll_timeout > 50)
		tg->poll_timeout = 50;
	pthread_mutex_init(&tg->lock, NULL);
	pthread_mutex_init(&tg->saved_lock, NULL);
	pthread_cond_init(&tg->saved_cond, NULL);
	atomic_init(&tg->stopping, 0);

	c = xcalloc(1, sizeof *c);
	c->ops = &tg_ops;
	c->ctx = ctx;
	c->priv = tg;
	return c;
}

/* ------------------------------------------------------------------ */
/* For tests and fuzzing (chat_feed.h)                                  */

/*
 * One getUpdates reply through what tg_poll_main does after its
 * tg_http: the same reading (tg_read_updates, with the limit the poller
 * would have asked with), the same batch handling and the same wait for
 * the router's save. Nothing is sent.
 */
int
chat_telegram_feed(struct connector *c, struct store *st, long status,
    const char *body, size_t len, int truncated, long long *offset)
{
	struct tg	*tg = c->priv;
	struct tg_fail	 fail;
	struct buf	 b;
	json_t		*result = NULL;
	char		*cause = NULL;
	long long	 first = tg->offset;
	int		 rc, limit = tg->one_by_one ? 1 : TG_BATCH;

	if (tg->running)
		return CHAT_PERMANENT;
	/* As net_http: what fits under the cap is kept. */
	buf_init(&b, TG_BODY_MAX);
	if (buf_append(&b, body != NULL ? body : "", len) != 0)
		truncated = 1;
	rc = tg_read_updates(tg, limit, &b, status, truncated, &result,
	    &fail, &cause);
	if (rc == CHAT_OK)
		tg_handle_batch(tg, st, result);
	else
		log_debug("telegram", "fed reply refused: %s", cause);
	free(cause);
	json_decref(result);
	if (tg->offset > first)
		tg_wait_saved(tg, tg->offset);
	if (offset != NULL)
		*offset = tg->offset;
	return rc;
}

void
chat_telegram_feed_me(struct connector *c, const char *username,
    long long id)
{
	struct tg	*tg = c->priv;

	free(tg->username);
	tg->username = username != NULL ? xstrdup(username) : NULL;
	tg->bot_id = id;
}
