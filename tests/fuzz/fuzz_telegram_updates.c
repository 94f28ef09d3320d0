/*
 * fuzz_telegram_updates.c - libFuzzer target for the Telegram poller's
 * handling of getUpdates replies (src/chat/chat_telegram.c through
 * chat_telegram_feed: reading the reply, one-at-a-time recovery from an
 * unreadable or oversize reply, update_id handling, tg_handle_update for
 * messages and callback queries, group migrations, NUL and oversize
 * text refused, whoami hints in unserved chats).
 *
 * Input: up to 8 replies separated by "\n@@@\n", fed in order to one
 * connector (one per input, the bot known as @pvebot, id 900001; group
 * -100200 served, group -100300 served for buttons only, user 42 served
 * in private) with a real SQLite store. The first byte of each reply
 * holds flags (bit 0: the body was cut at the size cap; bits 1-2: HTTP
 * status 200, 200, 401, 502), the rest is the body.
 *
 * Beyond "no crash, no leak, no UB, no hang" (a poller waiting for a save
 * that never comes hangs): every event passes chat_fuzz.h's checks and
 * carries a "telegram" offset that is a number, strictly greater than
 * the one before (nothing is handed over twice, the offset never goes
 * back); the poller's next offset is the last one handed over; a message
 * or a button press belongs to an update of the reply with that id, its
 * user is the update's sender (never a bot), its text had no NUL and
 * fits the 16 KiB cap, and it comes from a served chat (a private chat
 * only from user 42; the buttons-only group never gives a message).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "chat.h"
#include "chat_feed.h"
#include "conf.h"
#include "chat_fuzz.h"

#define TEXT_CAP	(16 * 1024)
#define DATA_CAP	64

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int LLVMFuzzerInitialize(int *, char ***);

static struct store	*st;
static struct conf	 conf;
static struct conf_room	 rooms[2];
static char		*users[1] = { "42" };
static struct chat_ctx	 ctx;

/* What the current input has handed over so far. */
static long long	 last_offset;
static int		 submitted;
static json_t		*cur;	/* the result array of the reply being fed */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	st = cf_store("fuzz_telegram");
	rooms[0].id = "-100200";
	rooms[0].commands = 1;
	rooms[1].id = "-100300";
	rooms[1].commands = 0;
	conf.database = cf_db;
	conf.chat.max_command_age = 300;
	conf.chat.telegram.enabled = 1;
	conf.chat.telegram.token = "123456:fuzz-token";
	conf.chat.telegram.chats = rooms;
	conf.chat.telegram.nchats = 2;
	conf.chat.telegram.users = users;
	conf.chat.telegram.nusers = 1;
	return 0;
}

/* The first update of the reply with this integer update_id. */
static json_t *
find_update(long long id)
{
	json_t	*u;
	size_t	 i;

	json_array_foreach(cur, i, u) {
		json_t	*v = json_object_get(u, "update_id");

		if (json_is_integer(v) && json_integer_value(v) == id)
			return u;
	}
	return NULL;
}

static void
check_sender(const struct chat_event *ev, json_t *from)
{
	char	*want;

	if (!json_is_integer(json_object_get(from, "id")) ||
	    json_is_true(json_object_get(from, "is_bot")))
		abort();
	want = xasprintf("telegram:%lld",
	    (long long)json_integer_value(json_object_get(from, "id")));
	if (strcmp(ev->user, want) != 0)
		abort();
	free(want);
	/* Served: a private chat of user 42, or a configured group. */
	if (ev->direct) {
		if (strcmp(ev->user, "telegram:42") != 0)
			abort();
	} else if (strcmp(ev->room, "-100200") != 0 &&
	    (ev->kind == CHAT_EV_MESSAGE || strcmp(ev->room,
	    "-100300") != 0))
		abort();
}

static void
check_against_reply(const struct chat_event *ev, long long id)
{
	json_t	*u, *msg, *text, *cq, *data;

	if (cur == NULL)
		return;
	if ((u = find_update(id)) == NULL)
		abort();
	if (ev->kind == CHAT_EV_MESSAGE) {
		msg = json_object_get(u, "message");
		text = json_object_get(msg, "text");
		if (!json_is_string(text) || json_string_length(text) !=
		    strlen(json_string_value(text)) ||
		    json_string_length(text) > TEXT_CAP)
			abort();
		/* Cut only by a bot name or mention, or /start is help. */
		if (strlen(ev->text) > json_string_length(text))
			abort();
		check_sender(ev, json_object_get(msg, "from"));
	} else {
		cq = json_object_get(u, "callback_query");
		data = json_object_get(cq, "data");
		if (!json_is_string(data) || strcmp(json_string_value(data),
		    ev->button_data) != 0 || strlen(ev->button_data) > DATA_CAP ||
		    json_string_length(data) != strlen(ev->button_data))
			abort();
		check_sender(ev, json_object_get(cq, "from"));
	}
}

static void
submit(void *arg, struct chat_event *ev)
{
	const char	*errstr;
	long long	 off;

	cf_check_event(ev, "telegram", TEXT_CAP);
	if (ev->offset == NULL || ev->saved == NULL)
		abort();
	off = strtonum(ev->offset, 1, 9007199254740992LL, &errstr);
	if (errstr != NULL || off <= last_offset)
		abort();
	last_offset = off;
	submitted++;
	if (ev->kind == CHAT_EV_MESSAGE || ev->kind == CHAT_EV_BUTTON)
		check_against_reply(ev, off - 1);
	/* As the router does once its transaction committed. */
	ev->saved(ev->saved_arg, ev->offset, 1);
	chat_event_free(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long	 statuses[] = { 200, 200, 401, 502 };
	struct cf_part		 parts[CF_MAX_PARTS];
	struct connector	*c;
	long long		 offset, before = 0;
	size_t			 n, i;
	char			*cause = NULL;
	int			 rc;

	if (size > 256 * 1024)
		return 0;
	cf_reset(st, "DELETE FROM kv");
	ctx.conf = &conf;
	ctx.submit = submit;
	ctx.submit_arg = NULL;
	if ((c = chat_telegram_create(&ctx, &cause)) == NULL) {
		fprintf(stderr, "fuzz_telegram_updates: %s\n", cause);
		abort();
	}
	chat_telegram_feed_me(c, "pvebot", 900001);
	last_offset = 0;
	n = cf_split(data, size, parts);
	for (i = 0; i < n; i++) {
		const char	*body = parts[i].p + (parts[i].len > 0);
		size_t		 blen = parts[i].len > 0 ? parts[i].len - 1 : 0;
		int		 flags = parts[i].len > 0 ?
				    (unsigned char)parts[i].p[0] : 0;
		json_t		*root;

		root = json_loadb(body, blen, JSON_ALLOW_NUL, NULL);
		cur = (flags & 1) ? NULL : json_object_get(root, "result");
		if (!json_is_array(cur))
			cur = NULL;
		submitted = 0;
		rc = chat_telegram_feed(c, st, statuses[(flags >> 1) & 3],
		    body, blen, flags & 1, &offset);
		if (rc != CHAT_OK && rc != CHAT_TEMPORARY &&
		    rc != CHAT_PERMANENT)
			abort();
		/* The next poll asks for what follows the last handed over. */
		if (offset < before || (submitted > 0 ? offset != last_offset :
		    offset != before))
			abort();
		before = offset;
		cur = NULL;
		json_decref(root);
	}
	chat_free(c);
	return 0;
}
