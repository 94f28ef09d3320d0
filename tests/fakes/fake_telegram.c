/*
 * fake_telegram.c - a fake Telegram Bot API on loopback (see the header).
 *
 * State lives under one mutex: every update ever queued (pending ones
 * with their payload, forgotten ones as a record), the messages the bot
 * and the users sent (with their keyboards), the callback queries and
 * their answers, the log of every call, and the faults to inject.
 * getUpdates is a real long poll: it waits on a condition variable until
 * an update arrives, the timeout passes or the server stops.
 *
 * Offsets follow the Bot API (getUpdates in
 * /work/shared/api-specs/telegram-bot-api.compact.json: offset Integer,
 * limit 1-100, timeout Integer, allowed_updates Array of String, returns
 * Array of Update; the prose of core.telegram.org/bots/api#getupdates):
 * "an update is considered confirmed as soon as getUpdates is called with
 * an offset higher than its update_id", and confirmed updates are
 * forgotten for good; "the negative offset can be specified to retrieve
 * updates starting from -offset update from the end of the updates
 * queue. All previous updates will be forgotten." The fake confirms as
 * soon as a getUpdates with a valid token arrives, before any injected
 * fault, since a client cannot tell whether a call that failed on the
 * way back reached Telegram: a client may only send an offset once
 * everything below it is safe. allowed_updates, when absent, keeps the
 * previous call's setting, as on Telegram. Out-of-range limits are
 * clamped to 1..100.
 *
 * One consumer at a time, as on Telegram: a getUpdates that arrives
 * while another is held ends the held one with 409 "Conflict: terminated
 * by other getUpdates request; make sure that only one bot instance is
 * running" (what the Bot API answers a second poller; the compact spec
 * has no error texts). fake_telegram_max_pollers() says how many were
 * ever held at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fakes/fake_telegram.h"
#include "httpd.h"
#include "log.h"
#include "util.h"

#define FT_TEXT_MAX	4096
#define FT_DATA_MAX	64
#define FT_ANSWER_MAX	200

struct ft_call {
	char	*method;
	json_t	*params;
	int64_t	 at_ms;
	int	 status;
};

struct ft_msg {
	long long	 chat_id;
	long long	 message_id;
	char		*html;		/* as sent */
	char		*plain;		/* visible text */
	char		*markup;	/* compact JSON or "" */
	int		 from_bot;
	int64_t		 at_us;		/* its request reached the fake */
};

struct ft_query {
	char	*id;
	char	*answer;	/* NULL until answered */
	int	 answered;
};

struct ft_fault {
	char			*method;
	enum fake_telegram_fault kind;
	int			 param;
	int			 count;
};

struct ft_migration {
	long long	 from, to;
};

/* An update: queued, served, then confirmed and forgotten. */
struct ft_update {
	long long	 id;
	const char	*kind;		/* "message", ...; NULL for raw text */
	char		*json;		/* the Update object as sent; NULL
					 * once forgotten */
	int64_t		 delivered_ms;	/* first served, -1 never */
	int		 forgotten;
};

/*
 * Telegram's limits on sending, from the Bot FAQ ("My bot is hitting
 * limits, how do I avoid this?", core.telegram.org/bots/faq): in one
 * chat "avoid sending more than one message per second. We may allow
 * short bursts that go over this limit, but eventually you'll begin
 * receiving 429 errors"; "not more than 30 messages per second or so"
 * in all; "not able to send more than 20 messages per minute to the same
 * group". As token buckets: 1/s per chat with a burst of 3, 20/min per
 * group with a burst of 20, 30/s in all. Sends and edits that went through
 * count (Telegram rate-limits edits too; a call refused for another
 * reason sent nothing); a call over a limit is answered 429 "Too Many
 * Requests: retry after N" with parameters.retry_after N, the whole
 * seconds until it would pass (the Bot API's
 * ResponseParameters.retry_after).
 */
#define FT_CHAT_RATE	1.0		/* per second */
#define FT_CHAT_BURST	3.0
#define FT_GROUP_RATE	(20.0 / 60.0)
#define FT_GROUP_BURST	20.0
#define FT_ALL_RATE	30.0
#define FT_ALL_BURST	30.0

struct ft_bucket {
	double	 tokens;
	int64_t	 at_ms;		/* when tokens was last brought up */
};

struct ft_chat_limit {
	long long	 chat_id;
	struct ft_bucket chat, group;
};

struct fake_telegram {
	struct httpd		*httpd;
	char			 url[64];
	char			*token;
	char			*username;
	long long		 bot_id;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	pthread_cond_t		 sent_cond;	/* a sendMessage went through */
	int64_t			 req_us;	/* the call being handled */
	int			 stopping;
	unsigned		 poll_gen;	/* getUpdates calls so far */
	int			 polls;		/* held right now */
	int			 polls_max;	/* most held at once */

	struct ft_update	*updates;	/* every update, in order */
	size_t			 nupdates;
	size_t			 first_pending;	/* all before are forgotten */
	json_t			*allowed;	/* allowed_updates in force */
	int64_t			 hang_until;	/* now_ms(); 0 = no hang */
	char			*hang_method;	/* NULL = every method */
	long long		 next_update;
	long long		 next_message;
	long long		 next_query;
	long long		 confirmed;

	struct ft_call		*calls;
	size_t			 ncalls;
	struct ft_msg		*msgs;
	size_t			 nmsgs;
	struct ft_query		*queries;
	size_t			 nqueries;
	struct ft_fault		*faults;
	size_t			 nfaults;
	struct ft_migration	*migrations;
	size_t			 nmigrations;
	json_t			*commands;

	int			 limits;	/* Telegram's rate limits on */
	double			 speed;		/* rates times this (tests) */
	struct ft_chat_limit	*chat_limits;
	size_t			 nchat_limits;
	struct ft_bucket	 all;
	size_t			 n429;		/* answered for the limits */
};

/* ------------------------------------------------------------------ */
/* Telegram HTML                                                        */

static const char *ft_tags[] = {
	"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
	"tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji",
};

static size_t
ft_u16len(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		if ((c & 0xc0) != 0x80)
			n += c >= 0xf0 ? 2 : 1;
	}
	return n;
}

static void
ft_put_utf8(struct buf *b, unsigned long cp)
{
	char	 o[4];

	if (cp < 0x80) {
		o[0] = (char)cp;
		buf_append(b, o, 1);
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, o, 2);
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, o, 3);
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, o, 4);
	}
}

int
fake_telegram_parse_html(const char *html, char **plain, size_t *units,
    char **err)
{
	struct buf	 b;
	char		*stack[16];
	size_t		 depth = 0, i;
	const char	*p = html;
	int		 rc = 0;

	*plain = NULL;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	while (*p != '\0' && rc == 0) {
		if (*p == '<') {
			const char	*end = strchr(p, '>'), *name;
			size_t		 nlen;
			int		 closing;

			if (end == NULL) {
				rc = set_cause(err, "Bad Request: can't parse "
				    "entities: Unclosed start tag at byte "
				    "offset %zu", (size_t)(p - html));
				break;
			}
			closing = p[1] == '/';
			name = p + 1 + closing;
			nlen = strcspn(name, " >");
			for (i = 0; i < nitems(ft_tags); i++) {
				if (strlen(ft_tags[i]) == nlen &&
				    strncmp(ft_tags[i], name, nlen) == 0)
					break;
			}
			if (i == nitems(ft_tags)) {
				rc = set_cause(err, "Bad Request: can't parse "
				    "entities: Unsupported start tag \"%.*s\" "
				    "at byte offset %zu", (int)nlen, name,
				    (size_t)(p - html));
				break;
			}
			if (!closing) {
				if (depth == nitems(stack)) {
					rc = set_cause(err, "Bad Request: can't "
					    "parse entities: too deep");
					break;
				}
				stack[depth++] = xstrndup(name, nlen);
			} else {
				if (depth == 0 || strlen(stack[depth - 1]) !=
				    nlen || strncmp(stack[depth - 1], name,
				    nlen) != 0) {
					rc = set_cause(err, "Bad Request: can't "
					    "parse entities: Can't find end tag "
					    "corresponding to start tag");
					break;
				}
				free(stack[--depth]);
			}
			p = end + 1;
		} else if (*p == '&') {
			const char	*semi = strchr(p, ';');
			size_t		 elen = semi != NULL ?
					    (size_t)(semi - p - 1) : 0;

			if (semi == NULL || elen == 0 || elen > 10) {
				rc = set_cause(err, "Bad Request: can't parse "
				    "entities: Character '&' is reserved and "
				    "must be escaped with the preceding '\\'");
				break;
			}
			if (elen == 2 && strncmp(p + 1, "lt", 2) == 0)
				buf_puts(&b, "<");
			else if (elen == 2 && strncmp(p + 1, "gt", 2) == 0)
				buf_puts(&b, ">");
			else if (elen == 3 && strncmp(p + 1, "amp", 3) == 0)
				buf_puts(&b, "&");
			else if (elen == 4 && strncmp(p + 1, "quot", 4) == 0)
				buf_puts(&b, "\"");
			else if (p[1] == '#') {
				char		 num[16], *ep;
				unsigned long	 cp;
				int		 hex = p[2] == 'x' || p[2] == 'X';

				snprintf(num, sizeof num, "%.*s",
				    (int)(elen - 1 - hex), p + 2 + hex);
				cp = strtoul(num, &ep, hex ? 16 : 10);
				if (*ep != '\0' || num[0] == '\0' ||
				    cp == 0 || cp > 0x10ffff) {
					rc = set_cause(err, "Bad Request: "
					    "can't parse entities: bad "
					    "numeric entity");
					break;
				}
				ft_put_utf8(&b, cp);
			} else {
				rc = set_cause(err, "Bad Request: can't parse "
				    "entities: Unsupported HTML entity \"%.*s\"",
				    (int)elen + 2, p);
				break;
			}
			p = semi + 1;
		} else if (*p == '>') {
			rc = set_cause(err, "Bad Request: can't parse entities: "
			    "Character '>' is reserved");
			break;
		} else {
			buf_append(&b, p, 1);
			p++;
		}
	}
	if (rc == 0 && depth > 0)
		rc = set_cause(err, "Bad Request: can't parse entities: Can't "
		    "find end tag corresponding to start tag \"%s\"",
		    stack[depth - 1]);
	for (i = 0; i < depth; i++)
		free(stack[i]);
	if (rc != 0) {
		buf_release(&b);
		return -1;
	}
	*units = ft_u16len(b.data, b.len);
	*plain = buf_steal(&b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers (lock held)                                                  */

static json_t *
ft_user(long long id, int is_bot)
{
	char	*first = xasprintf("User %lld", id);
	char	*uname = xasprintf("user%lld", id);
	json_t	*u;

	u = json_pack("{s:I, s:b, s:s, s:s}", "id", (json_int_t)id,
	    "is_bot", is_bot, "first_name", first, "username", uname);
	free(first);
	free(uname);
	return u;
}

static json_t *
ft_chat(long long id)
{
	const char	*type = "private";

	if (id < -1000000000000LL)
		type = "supergroup";
	else if (id < 0)
		type = "group";
	if (id > 0)
		return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id,
		    "type", type, "first_name", "Someone");
	return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "type",
	    type, "title", "Homelab");
}

static struct ft_msg *
ft_find_msg(struct fake_telegram *f, long long chat, long long id)
{
	size_t	 i;

	for (i = 0; i < f->nmsgs; i++) {
		if (f->msgs[i].chat_id == chat && f->msgs[i].message_id == id)
			return &f->msgs[i];
	}
	return NULL;
}

static struct ft_msg *
ft_add_msg(struct fake_telegram *f, long long chat, const char *html,
    const char *plain, const char *markup)
{
	struct ft_msg	*m;

	f->msgs = xreallocarray(f->msgs, f->nmsgs + 1, sizeof *f->msgs);
	m = &f->msgs[f->nmsgs++];
	m->chat_id = chat;
	m->message_id = f->next_message++;
	m->html = xstrdup(html);
	m->plain = xstrdup(plain);
	m->markup = xstrdup(markup);
	m->from_bot = 0;
	m->at_us = f->req_us;
	return m;
}

/* Appends an update (text of its JSON, which the queue takes). */
static long long
ft_queue_text(struct fake_telegram *f, long long id, const char *kind,
    char *json)
{
	struct ft_update	*u;

	f->updates = xreallocarray(f->updates, f->nupdates + 1,
	    sizeof *f->updates);
	u = &f->updates[f->nupdates++];
	u->id = id;
	u->kind = kind;
	u->json = json;
	u->delivered_ms = -1;
	u->forgotten = 0;
	pthread_cond_broadcast(&f->cond);
	return id;
}

static long long
ft_queue(struct fake_telegram *f, const char *kind, json_t *obj)
{
	long long	 id = f->next_update++;
	json_t		*u;
	char		*text;

	u = json_pack("{s:I, s:o}", "update_id", (json_int_t)id, kind, obj);
	text = json_dumps(u, JSON_COMPACT);
	json_decref(u);
	return ft_queue_text(f, id, kind, text);
}

static void
ft_forget(struct ft_update *u)
{
	u->forgotten = 1;
	free(u->json);
	u->json = NULL;
}

static long long
ft_migrated(struct fake_telegram *f, long long chat)
{
	size_t	 i;

	for (i = 0; i < f->nmigrations; i++) {
		if (f->migrations[i].from == chat)
			return f->migrations[i].to;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Injection                                                            */

static long long
ft_inject(struct fake_telegram *f, long long chat_id, long long user_id,
    int is_bot, const char *text, long long date)
{
	struct ft_msg	*m;
	json_t		*msg;
	long long	 id;

	pthread_mutex_lock(&f->lock);
	m = ft_add_msg(f, chat_id, "", text, "");
	msg = json_pack("{s:I, s:o, s:o, s:I, s:s}", "message_id",
	    (json_int_t)m->message_id, "from", ft_user(user_id, is_bot),
	    "chat", ft_chat(chat_id), "date",
	    (json_int_t)(date != 0 ? date : wall_now()), "text", text);
	if (text[0] == '/')
		json_object_set_new(msg, "entities", json_pack("[{s:s, s:i, "
		    "s:i}]", "type", "bot_command", "offset", 0, "length",
		    (int)strcspn(text, " \n")));
	id = ft_queue(f, "message", msg);
	pthread_mutex_unlock(&f->lock);
	return id;
}

long long
fake_telegram_inject_message(struct fake_telegram *f, long long chat_id,
    long long user_id, const char *text, long long date)
{
	return ft_inject(f, chat_id, user_id, 0, text, date);
}

long long
fake_telegram_inject_bot_message(struct fake_telegram *f, long long chat_id,
    long long bot_user_id, const char *text)
{
	return ft_inject(f, chat_id, bot_user_id, 1, text, 0);
}

long long
fake_telegram_press(struct fake_telegram *f, long long chat_id,
    long long user_id, long long message_id, const char *data,
    char query_id[32])
{
	struct ft_msg	*m;
	struct ft_query	*q;
	json_t		*cq, *msg;
	long long	 id;
	char		 qid[32], inst[32];

	pthread_mutex_lock(&f->lock);
	snprintf(qid, sizeof qid, "%lld", 4000000000000000000LL +
	    f->next_query++);
	snprintf(inst, sizeof inst, "ci%lld", chat_id);
	f->queries = xreallocarray(f->queries, f->nqueries + 1,
	    sizeof *f->queries);
	q = &f->queries[f->nqueries++];
	q->id = xstrdup(qid);
	q->answer = NULL;
	q->answered = 0;
	m = ft_find_msg(f, chat_id, message_id);
	msg = json_pack("{s:I, s:o, s:I, s:s}", "message_id",
	    (json_int_t)message_id, "chat", ft_chat(chat_id), "date",
	    (json_int_t)wall_now(), "text", m != NULL ? m->plain : "");
	if (m != NULL && m->markup[0] != '\0')
		json_object_set_new(msg, "reply_markup", json_loads(m->markup,
		    0, NULL));
	cq = json_pack("{s:s, s:o, s:o, s:s, s:s}", "id", qid, "from",
	    ft_user(user_id, 0), "message", msg, "chat_instance", inst,
	    "data", data);
	id = ft_queue(f, "callback_query", cq);
	pthread_mutex_unlock(&f->lock);
	if (query_id != NULL)
		snprintf(query_id, 32, "%s", qid);
	return id;
}

void
fake_telegram_migrate(struct fake_telegram *f, long long old_chat,
    long long new_chat)
{
	struct ft_msg	*m;
	json_t		*msg;

	pthread_mutex_lock(&f->lock);
	f->migrations = xreallocarray(f->migrations, f->nmigrations + 1,
	    sizeof *f->migrations);
	f->migrations[f->nmigrations].from = old_chat;
	f->migrations[f->nmigrations].to = new_chat;
	f->nmigrations++;
	m = ft_add_msg(f, old_chat, "", "", "");
	msg = json_pack("{s:I, s:o, s:o, s:I, s:I}", "message_id",
	    (json_int_t)m->message_id, "from", ft_user(777, 0), "chat",
	    ft_chat(old_chat), "date", (json_int_t)wall_now(),
	    "migrate_to_chat_id", (json_int_t)new_chat);
	ft_queue(f, "message", msg);
	m = ft_add_msg(f, new_chat, "", "", "");
	msg = json_pack("{s:I, s:o, s:o, s:I, s:I}", "message_id",
	    (json_int_t)m->message_id, "from", ft_user(777, 0), "chat",
	    ft_chat(new_chat), "date", (json_int_t)wall_now(),
	    "migrate_from_chat_id", (json_int_t)old_chat);
	ft_queue(f, "message", msg);
	pthread_mutex_unlock(&f->lock);
}

void
fake_telegram_fault(struct fake_telegram *f, const char *method,
    enum fake_telegram_fault kind, int param, int count)
{
	struct ft_fault	*ft;

	pthread_mutex_lock(&f->lock);
	f->faults = xreallocarray(f->faults, f->nfaults + 1,
	    sizeof *f->faults);
	ft = &f->faults[f->nfaults++];
	ft->method = method != NULL ? xstrdup(method) : NULL;
	ft->kind = kind;
	ft->param = param;
	ft->count = count;
	pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------------ */
/* Request handling                                                     */

static void
ft_reply_ok(struct httpd_resp *resp, json_t *result)
{
	json_t	*root = json_pack("{s:b, s:o}", "ok", 1, "result", result);
	char	*s = json_dumps(root, JSON_COMPACT);

	buf_puts(&resp->body, s);
	free(s);
	json_decref(root);
}

static void
ft_reply_err(struct httpd_resp *resp, int code, const char *desc,
    json_t *parameters)
{
	json_t	*root;
	char	*s;

	root = json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code", code,
	    "description", desc);
	if (parameters != NULL)
		json_object_set_new(root, "parameters", parameters);
	s = json_dumps(root, JSON_COMPACT);
	resp->status = code;
	buf_puts(&resp->body, s);
	free(s);
	json_decref(root);
}

/* An Integer parameter (JSON number, or a decimal string from a form). */
static int
ft_int(json_t *params, const char *key, long long *v)
{
	json_t		*j = json_object_get(params, key);
	const char	*errstr;

	if (json_is_integer(j)) {
		*v = json_integer_value(j);
		return 0;
	}
	if (json_is_string(j)) {
		*v = strtonum(json_string_value(j), -(1LL << 53), 1LL << 53,
		    &errstr);
		return errstr == NULL ? 0 : -1;
	}
	return -1;
}

/* reply_markup may be an object (JSON body) or a JSON string (form). */
static json_t *
ft_markup(json_t *params)
{
	json_t	*j = json_object_get(params, "reply_markup");

	if (json_is_string(j))
		return json_loads(json_string_value(j), 0, NULL);
	if (j != NULL)
		json_incref(j);
	return j;
}

/* Checks an InlineKeyboardMarkup; NULL when fine, else the error text. */
static const char *
ft_check_keyboard(json_t *markup)
{
	json_t	*kb, *row, *btn;
	size_t	 i, j;

	if (markup == NULL)
		return NULL;
	kb = json_object_get(markup, "inline_keyboard");
	if (!json_is_array(kb))
		return "Bad Request: can't parse reply keyboard markup JSON "
		    "object";
	json_array_foreach(kb, i, row) {
		if (!json_is_array(row))
			return "Bad Request: field \"inline_keyboard\" of the "
			    "InlineKeyboardMarkup should be an Array of Arrays";
		json_array_foreach(row, j, btn) {
			const char	*text = json_string_value(
					    json_object_get(btn, "text"));
			json_t		*data = json_object_get(btn,
					    "callback_data");
			const char	*style = json_string_value(
					    json_object_get(btn, "style"));

			if (text == NULL || *text == '\0')
				return "Bad Request: text buttons are "
				    "unallowed in the inline keyboard";
			if (data != NULL && (!json_is_string(data) ||
			    json_string_length(data) < 1 ||
			    json_string_length(data) > FT_DATA_MAX))
				return "Bad Request: BUTTON_DATA_INVALID";
			if (style != NULL && strcmp(style, "danger") != 0 &&
			    strcmp(style, "success") != 0 &&
			    strcmp(style, "primary") != 0)
				return "Bad Request: BUTTON_STYLE_INVALID";
		}
	}
	return NULL;
}

/*
 * The text of sendMessage/editMessageText: checked and parsed. Returns 0
 * with *plain set, or -1 after filling resp.
 */
static int
ft_check_text(json_t *params, struct httpd_resp *resp, char **plain)
{
	const char	*text = json_string_value(json_object_get(params,
			    "text"));
	const char	*mode = json_string_value(json_object_get(params,
			    "parse_mode"));
	char		*err = NULL;
	size_t		 units;

	if (text == NULL || *text == '\0') {
		ft_reply_err(resp, 400, "Bad Request: message text is empty",
		    NULL);
		return -1;
	}
	if (mode != NULL && strcmp(mode, "HTML") != 0 &&
	    strcmp(mode, "MarkdownV2") != 0 && strcmp(mode, "Markdown") != 0) {
		ft_reply_err(resp, 400, "Bad Request: unsupported parse_mode",
		    NULL);
		return -1;
	}
	if (mode != NULL && strcmp(mode, "HTML") == 0) {
		if (fake_telegram_parse_html(text, plain, &units, &err) != 0) {
			ft_reply_err(resp, 400, err, NULL);
			free(err);
			return -1;
		}
	} else {
		*plain = xstrdup(text);
		units = ft_u16len(text, strlen(text));
	}
	if (units == 0) {
		free(*plain);
		ft_reply_err(resp, 400, "Bad Request: message text is empty",
		    NULL);
		return -1;
	}
	if (units > FT_TEXT_MAX) {
		free(*plain);
		ft_reply_err(resp, 400, "Bad Request: message is too long",
		    NULL);
		return -1;
	}
	return 0;
}

/* Resolves chat_id; fills resp and returns -1 for a migrated group. */
static int
ft_chat_id(struct fake_telegram *f, json_t *params, struct httpd_resp *resp,
    long long *chat)
{
	long long	 to;

	if (ft_int(params, "chat_id", chat) != 0) {
		ft_reply_err(resp, 400, "Bad Request: chat not found", NULL);
		return -1;
	}
	if ((to = ft_migrated(f, *chat)) != 0) {
		ft_reply_err(resp, 400, "Bad Request: group chat was upgraded "
		    "to a supergroup chat", json_pack("{s:I}",
		    "migrate_to_chat_id", (json_int_t)to));
		return -1;
	}
	return 0;
}

static json_t *
ft_message_json(struct fake_telegram *f, const struct ft_msg *m)
{
	json_t	*j;

	j = json_pack("{s:I, s:o, s:o, s:I, s:s}", "message_id",
	    (json_int_t)m->message_id, "from", ft_user(f->bot_id, 1), "chat",
	    ft_chat(m->chat_id), "date", (json_int_t)wall_now(), "text",
	    m->plain);
	if (m->markup[0] != '\0')
		json_object_set_new(j, "reply_markup", json_loads(m->markup, 0,
		    NULL));
	return j;
}

static void
ft_send_message(struct fake_telegram *f, json_t *params,
    struct httpd_resp *resp)
{
	json_t		*markup;
	const char	*why;
	struct ft_msg	*m;
	char		*plain, *mk;
	long long	 chat;

	if (ft_chat_id(f, params, resp, &chat) != 0)
		return;
	if (ft_check_text(params, resp, &plain) != 0)
		return;
	markup = ft_markup(params);
	if ((why = ft_check_keyboard(markup)) != NULL) {
		ft_reply_err(resp, 400, why, NULL);
		json_decref(markup);
		free(plain);
		return;
	}
	mk = markup != NULL ? json_dumps(markup, JSON_COMPACT |
	    JSON_SORT_KEYS) : xstrdup("");
	m = ft_add_msg(f, chat, json_string_value(json_object_get(params,
	    "text")), plain, mk);
	m->from_bot = 1;
	ft_reply_ok(resp, ft_message_json(f, m));
	free(mk);
	free(plain);
	json_decref(markup);
}

static void
ft_edit_message(struct fake_telegram *f, json_t *params, int text_too,
    struct httpd_resp *resp)
{
	json_t		*markup;
	const char	*why, *html = NULL;
	struct ft_msg	*m;
	char		*plain = NULL, *mk;
	long long	 chat, id;

	if (ft_chat_id(f, params, resp, &chat) != 0)
		return;
	if (ft_int(params, "message_id", &id) != 0 ||
	    (m = ft_find_msg(f, chat, id)) == NULL) {
		ft_reply_err(resp, 400, "Bad Request: message to edit not "
		    "found", NULL);
		return;
	}
	/* A bot edits only its own messages (the Bot API's edit methods). */
	if (!m->from_bot) {
		ft_reply_err(resp, 400, "Bad Request: message can't be edited",
		    NULL);
		return;
	}
	if (text_too) {
		if (ft_check_text(params, resp, &plain) != 0)
			return;
		html = json_string_value(json_object_get(params, "text"));
	}
	markup = ft_markup(params);
	if ((why = ft_check_keyboard(markup)) != NULL) {
		ft_reply_err(resp, 400, why, NULL);
		json_decref(markup);
		free(plain);
		return;
	}
	/* Without reply_markup an edit removes the keyboard. */
	mk = markup != NULL && json_array_size(json_object_get(markup,
	    "inline_keyboard")) > 0 ? json_dumps(markup, JSON_COMPACT |
	    JSON_SORT_KEYS) : xstrdup("");
	json_decref(markup);
	if ((!text_too || strcmp(m->html, html) == 0) &&
	    strcmp(m->markup, mk) == 0) {
		ft_reply_err(resp, 400, "Bad Request: message is not modified: "
		    "specified new message content and reply markup are "
		    "exactly the same as a current content and reply markup "
		    "of the message", NULL);
		free(mk);
		free(plain);
		return;
	}
	if (text_too) {
		free(m->html);
		m->html = xstrdup(html);
		free(m->plain);
		m->plain = plain;
	}
	free(m->markup);
	m->markup = mk;
	ft_reply_ok(resp, ft_message_json(f, m));
}

static void
ft_answer(struct fake_telegram *f, json_t *params, struct httpd_resp *resp)
{
	const char	*id = json_string_value(json_object_get(params,
			    "callback_query_id"));
	const char	*text = json_string_value(json_object_get(params,
			    "text"));
	size_t		 i;

	if (text != NULL && ft_u16len(text, strlen(text)) > FT_ANSWER_MAX) {
		ft_reply_err(resp, 400, "Bad Request: MESSAGE_TOO_LONG", NULL);
		return;
	}
	for (i = 0; id != NULL && i < f->nqueries; i++) {
		struct ft_query	*q = &f->queries[i];

		if (strcmp(q->id, id) != 0)
			continue;
		if (q->answered)
			break;
		q->answered = 1;
		q->answer = xstrdup(text != NULL ? text : "");
		ft_reply_ok(resp, json_true());
		return;
	}
	ft_reply_err(resp, 400, "Bad Request: query is too old and response "
	    "timeout expired or query ID is invalid", NULL);
}

static void
ft_set_commands(struct fake_telegram *f, json_t *params,
    struct httpd_resp *resp)
{
	json_t	*cmds = json_object_get(params, "commands"), *c;
	size_t	 i, j;

	if (json_is_string(cmds))
		cmds = json_loads(json_string_value(cmds), 0, NULL);
	else
		json_incref(cmds);
	if (!json_is_array(cmds) || json_array_size(cmds) > 100) {
		json_decref(cmds);
		ft_reply_err(resp, 400, "Bad Request: BOT_COMMANDS_TOO_MUCH",
		    NULL);
		return;
	}
	json_array_foreach(cmds, i, c) {
		const char	*name = json_string_value(json_object_get(c,
				    "command"));
		const char	*desc = json_string_value(json_object_get(c,
				    "description"));
		int		 bad = name == NULL || desc == NULL ||
				    strlen(name) < 1 || strlen(name) > 32 ||
				    *desc == '\0' ||
				    ft_u16len(desc, strlen(desc)) > 256;

		for (j = 0; !bad && name[j] != '\0'; j++) {
			char	ch = name[j];

			if (!((ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9') || ch == '_'))
				bad = 1;
		}
		if (bad) {
			json_decref(cmds);
			ft_reply_err(resp, 400, "Bad Request: BOT_COMMAND_"
			    "INVALID", NULL);
			return;
		}
	}
	json_decref(f->commands);
	f->commands = cmds;
	ft_reply_ok(resp, json_true());
}

/*
 * The offset of a getUpdates call confirms what lies below it: those
 * updates are forgotten for good. A negative offset keeps only the last
 * -offset pending updates. Lock held.
 */
static void
ft_confirm(struct fake_telegram *f, json_t *params)
{
	long long	 offset = 0, keep;
	size_t		 i, pending;

	if (ft_int(params, "offset", &offset) != 0 || offset == 0)
		return;
	if (offset > 0) {
		if (offset > f->confirmed)
			f->confirmed = offset;
		for (i = f->first_pending; i < f->nupdates; i++) {
			if (f->updates[i].id >= offset)
				break;
			ft_forget(&f->updates[i]);
		}
		f->first_pending = i;
		return;
	}
	pending = f->nupdates - f->first_pending;
	keep = -offset;
	if ((long long)pending <= keep)
		return;
	for (i = f->first_pending; i < f->nupdates - (size_t)keep; i++)
		ft_forget(&f->updates[i]);
	f->first_pending = i;
	if (f->updates[i - 1].id + 1 > f->confirmed)
		f->confirmed = f->updates[i - 1].id + 1;
}

/* Whether the allowed_updates in force let an update through. */
static int
ft_allowed(struct fake_telegram *f, const struct ft_update *u)
{
	json_t	*a;
	size_t	 k;

	if (u->kind == NULL || !json_is_array(f->allowed) ||
	    json_array_size(f->allowed) == 0)
		return 1;
	json_array_foreach(f->allowed, k, a) {
		if (json_is_string(a) && strcmp(json_string_value(a),
		    u->kind) == 0)
			return 1;
	}
	return 0;
}

/* Long poll; called and returns with the lock held. */
static void
ft_get_updates(struct fake_telegram *f, json_t *params,
    struct httpd_resp *resp)
{
	json_t		*allowed = json_object_get(params, "allowed_updates");
	long long	 timeout = 0, limit = 100, n = 0;
	int64_t		 deadline, now;
	unsigned	 gen;
	size_t		 i;

	if (json_is_string(allowed))
		allowed = json_loads(json_string_value(allowed), 0, NULL);
	else
		json_incref(allowed);
	if (allowed != NULL) {
		json_decref(f->allowed);
		f->allowed = allowed;
	}
	ft_int(params, "timeout", &timeout);
	if (ft_int(params, "limit", &limit) == 0) {
		if (limit < 1)
			limit = 1;
		if (limit > 100)
			limit = 100;
	}
	deadline = now_ms() + timeout * 1000;
	gen = ++f->poll_gen;
	if (++f->polls > f->polls_max)
		f->polls_max = f->polls;
	pthread_cond_broadcast(&f->cond);	/* an older poll ends */

	for (;;) {
		int	 ready = 0;

		if (f->poll_gen != gen) {
			f->polls--;
			ft_reply_err(resp, 409, "Conflict: terminated by other "
			    "getUpdates request; make sure that only one bot "
			    "instance is running", NULL);
			return;
		}

		/* Updates queued while waiting may already be confirmed. */
		ft_confirm(f, params);
		for (i = f->first_pending; i < f->nupdates && !ready; i++)
			ready = !f->updates[i].forgotten &&
			    ft_allowed(f, &f->updates[i]);
		if (ready || now_ms() >= deadline || f->stopping ||
		    httpd_stopping(f->httpd))
			break;
		{
			struct timespec	 ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&f->cond, &f->lock, &ts);
		}
	}
	f->polls--;
	/* Updates are stored as text: raw ones need not be valid JSON. */
	now = now_ms();
	buf_puts(&resp->body, "{\"ok\":true,\"result\":[");
	for (i = f->first_pending; i < f->nupdates && n < limit; i++) {
		struct ft_update	*u = &f->updates[i];

		if (u->forgotten || !ft_allowed(f, u))
			continue;
		if (n++ > 0)
			buf_puts(&resp->body, ",");
		buf_puts(&resp->body, u->json);
		if (u->delivered_ms < 0)
			u->delivered_ms = now;
	}
	buf_puts(&resp->body, "]}");
}

/* Parses the body (JSON or form) and the query string into one object. */
static json_t *
ft_params(const struct httpd_req *req)
{
	const char	*ctype = httpd_header(req, "Content-Type");
	struct httpd_kv	*kv;
	json_t		*params = NULL;
	size_t		 n, i;

	if (req->body_len > 0 && ctype != NULL &&
	    strncasecmp(ctype, "application/json", 16) == 0) {
		params = json_loadb(req->body, req->body_len, 0, NULL);
		if (!json_is_object(params)) {
			json_decref(params);
			return NULL;
		}
		return params;
	}
	params = json_object();
	if (req->body_len > 0 && httpd_parse_form(req->body, req->body_len,
	    &kv, &n) == 0) {
		for (i = 0; i < n; i++)
			json_object_set_new(params, kv[i].key,
			    json_string(kv[i].value));
		httpd_kv_free(kv, n);
	}
	if (req->query[0] != '\0' && httpd_parse_form(req->query,
	    strlen(req->query), &kv, &n) == 0) {
		for (i = 0; i < n; i++)
			json_object_set_new(params, kv[i].key,
			    json_string(kv[i].value));
		httpd_kv_free(kv, n);
	}
	return params;
}

/* Takes a matching fault, if any; returns 1 and fills *out. */
static int
ft_take_fault(struct fake_telegram *f, const char *method,
    struct ft_fault *out)
{
	size_t	 i;

	for (i = 0; i < f->nfaults; i++) {
		struct ft_fault	*ft = &f->faults[i];

		if (ft->count <= 0 || (ft->method != NULL &&
		    strcmp(ft->method, method) != 0))
			continue;
		ft->count--;
		*out = *ft;
		return 1;
	}
	return 0;
}

/* Records a call as it starts (status -1 until it ends); its index. */
static size_t
ft_record(struct fake_telegram *f, const char *method, json_t *params)
{
	struct ft_call	*c;

	f->calls = xreallocarray(f->calls, f->ncalls + 1, sizeof *f->calls);
	c = &f->calls[f->ncalls];
	c->method = xstrdup(method);
	c->params = params != NULL ? json_deep_copy(params) : json_object();
	c->at_ms = now_ms();
	c->status = -1;
	return f->ncalls++;
}

/* Brings a bucket up to now; the seconds until it has a token. */
static double
ft_bucket_wait(struct ft_bucket *b, double rate, double burst, int64_t now)
{
	if (b->at_ms == 0) {
		b->tokens = burst;
		b->at_ms = now;
	}
	b->tokens += (double)(now - b->at_ms) / 1000.0 * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_ms = now;
	return b->tokens >= 1.0 ? 0.0 : (1.0 - b->tokens) / rate;
}

static struct ft_chat_limit *
ft_chat_limit(struct fake_telegram *f, long long chat)
{
	size_t	 i;

	for (i = 0; i < f->nchat_limits; i++) {
		if (f->chat_limits[i].chat_id == chat)
			return &f->chat_limits[i];
	}
	f->chat_limits = xreallocarray(f->chat_limits, f->nchat_limits + 1,
	    sizeof *f->chat_limits);
	memset(&f->chat_limits[f->nchat_limits], 0,
	    sizeof *f->chat_limits);
	f->chat_limits[f->nchat_limits].chat_id = chat;
	return &f->chat_limits[f->nchat_limits++];
}

/*
 * Checks that a send or edit to the chat of `params` has a token; 0 when
 * it may go, else the 429 is written to resp and -1 returned. The token
 * is taken by ft_rate_take() once the call succeeded. Lock held.
 */
static int
ft_rate_limit(struct fake_telegram *f, const char *method, json_t *params,
    struct httpd_resp *resp)
{
	struct ft_chat_limit	*cl;
	long long		 chat;
	int64_t			 now = now_ms();
	double			 wait, w;
	int			 secs;
	char			*d;

	if (!f->limits || (strncmp(method, "send", 4) != 0 &&
	    strncmp(method, "edit", 4) != 0) ||
	    ft_int(params, "chat_id", &chat) != 0)
		return 0;
	cl = ft_chat_limit(f, chat);
	wait = ft_bucket_wait(&f->all, FT_ALL_RATE * f->speed, FT_ALL_BURST,
	    now);
	w = ft_bucket_wait(&cl->chat, FT_CHAT_RATE * f->speed, FT_CHAT_BURST,
	    now);
	if (w > wait)
		wait = w;
	if (chat < 0) {
		w = ft_bucket_wait(&cl->group, FT_GROUP_RATE * f->speed,
		    FT_GROUP_BURST, now);
		if (w > wait)
			wait = w;
	}
	if (wait > 0) {
		secs = (int)wait + ((double)(int)wait < wait ? 1 : 0);
		if (secs < 1)
			secs = 1;
		d = xasprintf("Too Many Requests: retry after %d", secs);
		ft_reply_err(resp, 429, d, json_pack("{s:i}", "retry_after",
		    secs));
		free(d);
		f->n429++;
		return -1;
	}
	return 0;
}

/* A send or edit went through: it takes its tokens. Lock held. */
static void
ft_rate_take(struct fake_telegram *f, const char *method, json_t *params)
{
	struct ft_chat_limit	*cl;
	long long		 chat;

	if (!f->limits || (strncmp(method, "send", 4) != 0 &&
	    strncmp(method, "edit", 4) != 0) ||
	    ft_int(params, "chat_id", &chat) != 0)
		return;
	cl = ft_chat_limit(f, chat);
	f->all.tokens -= 1.0;
	cl->chat.tokens -= 1.0;
	if (chat < 0)
		cl->group.tokens -= 1.0;
}

static void
ft_handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct fake_telegram	*f = arg;
	struct ft_fault		 fault;
	const char		*p = req->path, *slash, *method;
	json_t			*params;
	char			*token;
	size_t			 call;
	int			 faulted;
	int64_t			 arrived = fake_telegram_now_us();

	if (strncmp(p, "/bot", 4) != 0 || (slash = strchr(p + 4, '/')) ==
	    NULL) {
		ft_reply_err(resp, 404, "Not Found", NULL);
		return;
	}
	token = xstrndup(p + 4, (size_t)(slash - p - 4));
	method = slash + 1;
	params = ft_params(req);
	pthread_mutex_lock(&f->lock);
	f->req_us = arrived;
	call = ft_record(f, method, params);
	if (strcmp(token, f->token) != 0) {
		free(token);
		ft_reply_err(resp, 401, "Unauthorized", NULL);
		f->calls[call].status = 401;
		pthread_mutex_unlock(&f->lock);
		json_decref(params);
		return;
	}
	free(token);
	/* What getUpdates confirms is confirmed even if the call fails. */
	if (params != NULL && strcmp(method, "getUpdates") == 0)
		ft_confirm(f, params);
	if (f->hang_until > now_ms() && (f->hang_method == NULL ||
	    strcmp(f->hang_method, method) == 0)) {
		/*
		 * Telegram hangs: the call is held, never handled, and the
		 * connection drops when the hang ends (or the client gives
		 * up first).
		 */
		while (f->hang_until > now_ms() && !f->stopping &&
		    !httpd_stopping(f->httpd)) {
			pthread_mutex_unlock(&f->lock);
			sleep_ms(20);
			pthread_mutex_lock(&f->lock);
		}
		resp->drop = 1;
		f->calls[call].status = 0;
		pthread_mutex_unlock(&f->lock);
		json_decref(params);
		return;
	}
	faulted = ft_take_fault(f, method, &fault);
	if (params == NULL) {
		ft_reply_err(resp, 400, "Bad Request: can't parse JSON",
		    NULL);
	} else if (faulted && fault.kind == FAKE_TG_429) {
		char	*d = xasprintf("Too Many Requests: retry after %d",
			    fault.param);

		ft_reply_err(resp, 429, d, json_pack("{s:i}", "retry_after",
		    fault.param));
		free(d);
	} else if (faulted && fault.kind == FAKE_TG_5XX) {
		ft_reply_err(resp, fault.param, httpd_reason(fault.param),
		    NULL);
	} else if (faulted && fault.kind == FAKE_TG_GARBAGE) {
		resp->content_type = "text/html";
		buf_puts(&resp->body, "<html><body>502 Bad Gateway</body>"
		    "</html>{\"ok\":tru");
	} else if (faulted && fault.kind == FAKE_TG_DROP) {
		resp->drop = 1;
	} else if (ft_rate_limit(f, method, params, resp) != 0) {
		/* 429 written */
	} else {
		if (faulted && fault.kind == FAKE_TG_SLOW)
			resp->delay_ms = fault.param;
		if (strcmp(method, "getMe") == 0)
			ft_reply_ok(resp, json_pack("{s:I, s:b, s:s, s:s, "
			    "s:b, s:b}", "id", (json_int_t)f->bot_id,
			    "is_bot", 1, "first_name", "pvebot", "username",
			    f->username, "can_join_groups", 1,
			    "can_read_all_group_messages", 0));
		else if (strcmp(method, "getUpdates") == 0)
			ft_get_updates(f, params, resp);
		else if (strcmp(method, "sendMessage") == 0)
			ft_send_message(f, params, resp);
		else if (strcmp(method, "editMessageText") == 0)
			ft_edit_message(f, params, 1, resp);
		else if (strcmp(method, "editMessageReplyMarkup") == 0)
			ft_edit_message(f, params, 0, resp);
		else if (strcmp(method, "answerCallbackQuery") == 0)
			ft_answer(f, params, resp);
		else if (strcmp(method, "setMyCommands") == 0)
			ft_set_commands(f, params, resp);
		else
			ft_reply_err(resp, 404, "Not Found: method not found",
			    NULL);
		if (resp->status == 200)
			ft_rate_take(f, method, params);
		if (resp->status == 200 && strcmp(method, "sendMessage") == 0)
			pthread_cond_broadcast(&f->sent_cond);
	}
	f->calls[call].status = resp->drop ? 0 : resp->status;
	pthread_mutex_unlock(&f->lock);
	json_decref(params);
}

/* ------------------------------------------------------------------ */
/* Life cycle and inspection                                            */

void
fake_telegram_limits(struct fake_telegram *f, int on)
{
	pthread_mutex_lock(&f->lock);
	f->limits = on;
	pthread_mutex_unlock(&f->lock);
}

void
fake_telegram_limits_speed(struct fake_telegram *f, double factor)
{
	pthread_mutex_lock(&f->lock);
	f->speed = factor > 0 ? factor : 1.0;
	pthread_mutex_unlock(&f->lock);
}

size_t
fake_telegram_429s(struct fake_telegram *f)
{
	size_t	 n;

	pthread_mutex_lock(&f->lock);
	n = f->n429;
	pthread_mutex_unlock(&f->lock);
	return n;
}

struct fake_telegram *
fake_telegram_start(const char *token, const char *username,
    long long bot_id)
{
	return fake_telegram_start_port(token, username, bot_id, 0);
}

struct fake_telegram *
fake_telegram_start_port(const char *token, const char *username,
    long long bot_id, int port)
{
	struct fake_telegram	*f = xcalloc(1, sizeof *f);
	struct httpd_opts	 opts;
	char			*cause = NULL;

	f->limits = 1;		/* Telegram's rate limits, by default */
	f->speed = 1.0;
	log_add_secret(token);
	f->token = xstrdup(token);
	f->username = xstrdup(username);
	f->bot_id = bot_id;
	f->next_update = 500000;
	f->next_message = 100;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	pthread_cond_init(&f->sent_cond, NULL);
	memset(&opts, 0, sizeof opts);
	opts.port = port;
	opts.handler = ft_handler;
	opts.arg = f;
	opts.name = "fake_telegram";
	opts.max_body = 1024 * 1024;
	f->httpd = httpd_start(&opts, &cause);
	if (f->httpd == NULL) {
		log_error("fake_telegram", "cannot start: %s", cause);
		free(cause);
		fake_telegram_stop(f);
		return NULL;
	}
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d",
	    httpd_port(f->httpd));
	return f;
}

void
fake_telegram_stop(struct fake_telegram *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_cond_broadcast(&f->sent_cond);
	pthread_mutex_unlock(&f->lock);
	httpd_stop(f->httpd);
	for (i = 0; i < f->ncalls; i++) {
		free(f->calls[i].method);
		json_decref(f->calls[i].params);
	}
	free(f->calls);
	for (i = 0; i < f->nmsgs; i++) {
		free(f->msgs[i].html);
		free(f->msgs[i].plain);
		free(f->msgs[i].markup);
	}
	free(f->msgs);
	for (i = 0; i < f->nqueries; i++) {
		free(f->queries[i].id);
		free(f->queries[i].answer);
	}
	free(f->queries);
	for (i = 0; i < f->nfaults; i++)
		free(f->faults[i].method);
	free(f->faults);
	free(f->migrations);
	for (i = 0; i < f->nupdates; i++)
		free(f->updates[i].json);
	free(f->updates);
	json_decref(f->allowed);
	free(f->hang_method);
	free(f->chat_limits);
	json_decref(f->commands);
	pthread_cond_destroy(&f->cond);
	pthread_cond_destroy(&f->sent_cond);
	pthread_mutex_destroy(&f->lock);
	free(f->token);
	free(f->username);
	free(f);
}

const char *
fake_telegram_url(const struct fake_telegram *f)
{
	return f->url;
}

size_t
fake_telegram_ncalls(struct fake_telegram *f, const char *method)
{
	size_t	 i, n = 0;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->ncalls; i++) {
		if (method == NULL || strcmp(f->calls[i].method, method) == 0)
			n++;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

json_t *
fake_telegram_call(struct fake_telegram *f, const char *method, size_t idx,
    int64_t *at_ms, int *status)
{
	json_t	*out = NULL;
	size_t	 i, n = 0;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->ncalls; i++) {
		if (method != NULL && strcmp(f->calls[i].method, method) != 0)
			continue;
		if (n++ != idx)
			continue;
		out = json_deep_copy(f->calls[i].params);
		if (at_ms != NULL)
			*at_ms = f->calls[i].at_ms;
		if (status != NULL)
			*status = f->calls[i].status;
		break;
	}
	pthread_mutex_unlock(&f->lock);
	return out;
}

int
fake_telegram_wait_calls(struct fake_telegram *f, const char *method,
    size_t n, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;

	while (fake_telegram_ncalls(f, method) < n) {
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(10);
	}
	return 0;
}

char *
fake_telegram_message_text(struct fake_telegram *f, long long chat_id,
    long long message_id)
{
	struct ft_msg	*m;
	char		*out = NULL;

	pthread_mutex_lock(&f->lock);
	if ((m = ft_find_msg(f, chat_id, message_id)) != NULL)
		out = xstrdup(m->plain);
	pthread_mutex_unlock(&f->lock);
	return out;
}

char *
fake_telegram_message_markup(struct fake_telegram *f, long long chat_id,
    long long message_id)
{
	struct ft_msg	*m;
	char		*out = NULL;

	pthread_mutex_lock(&f->lock);
	if ((m = ft_find_msg(f, chat_id, message_id)) != NULL)
		out = xstrdup(m->markup);
	pthread_mutex_unlock(&f->lock);
	return out;
}

char *
fake_telegram_answer(struct fake_telegram *f, const char *query_id)
{
	char	*out = NULL;
	size_t	 i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->nqueries; i++) {
		if (strcmp(f->queries[i].id, query_id) == 0 &&
		    f->queries[i].answer != NULL)
			out = xstrdup(f->queries[i].answer);
	}
	pthread_mutex_unlock(&f->lock);
	return out;
}

long long
fake_telegram_find(struct fake_telegram *f, long long chat_id,
    const char *needle)
{
	long long	 id = -1;
	size_t		 i;

	pthread_mutex_lock(&f->lock);
	for (i = f->nmsgs; i > 0; i--) {
		struct ft_msg	*m = &f->msgs[i - 1];

		if (m->from_bot && m->chat_id == chat_id &&
		    strstr(m->plain, needle) != NULL) {
			id = m->message_id;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return id;
}

long long
fake_telegram_confirmed(struct fake_telegram *f)
{
	long long	 v;

	pthread_mutex_lock(&f->lock);
	v = f->confirmed;
	pthread_mutex_unlock(&f->lock);
	return v;
}

char *
fake_telegram_dump(struct fake_telegram *f)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_append(&b, "", 0);
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->ncalls; i++) {
		char	*s = json_dumps(f->calls[i].params, JSON_COMPACT);

		buf_printf(&b, "%s %d %s\n", f->calls[i].method,
		    f->calls[i].status, s);
		free(s);
	}
	pthread_mutex_unlock(&f->lock);
	return buf_steal(&b);
}

long long
fake_telegram_inject_raw(struct fake_telegram *f, const char *tmpl)
{
	const char	*at = strstr(tmpl, "%ID%");
	long long	 id;
	char		*text;

	pthread_mutex_lock(&f->lock);
	id = f->next_update++;
	if (at != NULL)
		text = xasprintf("%.*s%lld%s", (int)(at - tmpl), tmpl, id,
		    at + 4);
	else
		text = xstrdup(tmpl);
	ft_queue_text(f, id, NULL, text);
	pthread_mutex_unlock(&f->lock);
	return id;
}

void
fake_telegram_hang(struct fake_telegram *f, const char *method, int ms)
{
	pthread_mutex_lock(&f->lock);
	free(f->hang_method);
	f->hang_method = method != NULL ? xstrdup(method) : NULL;
	f->hang_until = now_ms() + ms;
	pthread_mutex_unlock(&f->lock);
}

int64_t
fake_telegram_delivered_at(struct fake_telegram *f, long long update_id)
{
	int64_t	 at = -1;
	size_t	 i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->nupdates; i++) {
		if (f->updates[i].id == update_id) {
			at = f->updates[i].delivered_ms;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return at;
}

int
fake_telegram_forgotten(struct fake_telegram *f, long long update_id)
{
	int	 gone = 0;
	size_t	 i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->nupdates; i++) {
		if (f->updates[i].id == update_id) {
			gone = f->updates[i].forgotten;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return gone;
}

int
fake_telegram_count(struct fake_telegram *f, long long chat_id,
    const char *needle)
{
	size_t	 i;
	int	 n = 0;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->nmsgs; i++) {
		if (f->msgs[i].from_bot && f->msgs[i].chat_id == chat_id &&
		    strstr(f->msgs[i].plain, needle) != NULL)
			n++;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

int
fake_telegram_max_pollers(struct fake_telegram *f)
{
	int	 n;

	pthread_mutex_lock(&f->lock);
	n = f->polls_max;
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned long long
fake_telegram_connections(struct fake_telegram *f)
{
	return httpd_accepted(f->httpd);
}

int64_t
fake_telegram_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
fake_telegram_wait_sent(struct fake_telegram *f, const char *needle,
    size_t n, int timeout_ms)
{
	int64_t	 deadline = wall_now_ms() + timeout_ms, at = -1;
	size_t	 i, seen;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		struct timespec	 ts;

		for (i = 0, seen = 0; i < f->nmsgs && seen < n; i++) {
			struct ft_msg	*m = &f->msgs[i];

			if (m->from_bot && strstr(m->plain, needle) != NULL &&
			    ++seen == n)
				at = m->at_us;
		}
		if (at >= 0 || f->stopping || wall_now_ms() >= deadline)
			break;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		pthread_cond_timedwait(&f->sent_cond, &f->lock, &ts);
	}
	pthread_mutex_unlock(&f->lock);
	return at;
}
