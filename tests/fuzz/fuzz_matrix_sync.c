/*
 * fuzz_matrix_sync.c - libFuzzer target for the Matrix connector's
 * handling of /sync replies (src/chat/chat_matrix.c through
 * chat_matrix_feed: reading the reply, the initial sync, invites
 * accepted or declined, encrypted rooms and their notice, timeline
 * events in room order: messages, mentions and replies, reactions on
 * pvebot's buttons, edits and notices ignored, malformed events skipped).
 *
 * Input: up to 8 replies separated by "\n@@@\n", fed in order to one
 * connector (one per input, @pvebot:example.org; rooms !ops:example.org
 * with commands, !alerts:example.org without, #lost:example.org an alias
 * never resolved) with a real SQLite store holding one button (✅ on
 * $btnmsg in !ops) and one message pvebot sent ($ours). The first byte
 * of each reply holds flags (bits 0-1: HTTP status 200, 200, 429, 502;
 * bits 2-3: how the homeserver answers the connector's own requests:
 * 200, 403, no reply, 200; bit 4 on the first reply: it is the initial
 * sync, else a fixed initial sync comes first).
 *
 * Beyond "no crash, no leak, no UB": every event passes chat_fuzz.h's
 * checks; within one reply the last event carries the reply's
 * next_batch and each earlier one "since\n$ev..." ending with its own
 * event id, so a restart re-reads exactly what was not handed over; no
 * event id is handed over twice in one reply (across replies the since
 * token is the homeserver's promise); a message comes
 * from an m.text event of someone else in !ops whose body has no NUL and
 * fits 16 KiB; a press is the stored button; pvebot joins only
 * configured room ids, declines (leaves) only others, and posts only in
 * configured rooms.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat.h"
#include "chat_feed.h"
#include "conf.h"
#include "chat_fuzz.h"

#define TEXT_CAP	(16 * 1024)
#define ME		"@pvebot:example.org"
#define OPS		"!ops:example.org"
#define ALERTS		"!alerts:example.org"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int LLVMFuzzerInitialize(int *, char ***);

static struct store	*st;
static struct conf	 conf;
static struct conf_room	 rooms[3];
static struct chat_ctx	 ctx;

/* The reply being fed and what it handed over. */
static json_t		*cur;
static char		*since;		/* the since token of this reply */
static struct chat_event *evs[256];
static size_t		 nevs;
static int		 answer_mode;
/* Event ids handed over as messages or presses in this reply. */
static char		*seen[1024];
static size_t		 nseen;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR);
	st = cf_store("fuzz_matrix");
	if (store_exec(st, "INSERT INTO chat_buttons (connector, room, "
	    "msg_ref, label, data, emoji) VALUES ('matrix', '" OPS "', "
	    "'$btnmsg', 'Approve', 'ap:1:abc', '\xe2\x9c\x85');"
	    "INSERT INTO chat_outbox (id, connector, room, txn_id, body, "
	    "state, ref, created_at) VALUES (1, 'matrix', '" OPS "', 't0', "
	    "'x', 'sent', '$ours', 0)", NULL) != 0)
		abort();
	rooms[0].id = OPS;
	rooms[0].commands = 1;
	rooms[1].id = ALERTS;
	rooms[1].commands = 0;
	rooms[2].id = "#lost:example.org";
	rooms[2].commands = 1;
	conf.database = cf_db;
	conf.chat.max_command_age = 300;
	conf.chat.bot_name = "pvebot";
	conf.chat.matrix.enabled = 1;
	conf.chat.matrix.homeserver = "http://127.0.0.1:9";
	conf.chat.matrix.user_id = ME;
	conf.chat.matrix.token = "fuzz-token";
	conf.chat.matrix.rooms = rooms;
	conf.chat.matrix.nrooms = 3;
	return 0;
}

/* A path segment with %XX decoded (net_http_escape's inverse). */
static char *
unescape(const char *s, size_t len)
{
	char	*out = xmalloc(len + 1), hex[3] = { 0 };
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len) {
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			out[n++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			out[n++] = s[i];
	}
	out[n] = '\0';
	return out;
}

/* The room id of "/_matrix/client/v3/<what>/<room>[/...]", or NULL. */
static char *
room_of(const char *path, const char *what)
{
	char		*prefix = xasprintf("/_matrix/client/v3/%s/", what);
	const char	*p;
	char		*room = NULL;

	if (strncmp(path, prefix, strlen(prefix)) == 0) {
		p = path + strlen(prefix);
		room = unescape(p, strcspn(p, "/?"));
	}
	free(prefix);
	return room;
}

static int
configured(const char *room)
{
	return strcmp(room, OPS) == 0 || strcmp(room, ALERTS) == 0;
}

/* The homeserver, for what the sync path asks on its own. */
static long
http(void *arg, const char *method, const char *path, const char *body,
    char **reply)
{
	static const long	 statuses[] = { 200, 403, 0, 200 };
	char			*room;

	if ((room = room_of(path, "join")) != NULL) {
		if (!configured(room))
			abort();	/* a stranger's room is never joined */
		free(room);
	} else if ((room = room_of(path, "rooms")) != NULL) {
		if (strstr(path, "/leave") != NULL && configured(room))
			abort();	/* a served room is never left */
		if (strstr(path, "/send/") != NULL && !configured(room))
			abort();	/* nothing is posted elsewhere */
		free(room);
	}
	*reply = NULL;
	if (statuses[answer_mode] == 0)
		return 0;
	if (statuses[answer_mode] == 200) {
		*reply = xstrdup(answer_mode == 0 ? "{}" :
		    "{\"event_id\":\"$sent\",\"joined\":{\"" ME "\":{},"
		    "\"@a:x\":{}},\"algorithm\":\"m.megolm.v1.aes-sha2\"}");
		return 200;
	}
	*reply = xstrdup("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"no\"}");
	return 403;
}

/* Could timeline event e of room_id have given ev? */
static int
gives(const struct chat_event *ev, const char *room_id, json_t *e)
{
	json_t		*content = json_object_get(e, "content"), *body;
	const char	*sender = json_string_value(json_object_get(e,
			    "sender")), *type = json_string_value(
			    json_object_get(e, "type")), *msgtype;
	char		*user;
	int		 ok;

	if (sender == NULL || type == NULL || strcmp(sender, ME) == 0)
		return 0;
	user = xasprintf("matrix:%s", sender);
	ok = strcmp(ev->user, user) == 0;
	free(user);
	if (!ok)
		return 0;
	if (ev->kind == CHAT_EV_MESSAGE) {
		body = json_object_get(content, "body");
		msgtype = json_string_value(json_object_get(content,
		    "msgtype"));
		return strcmp(type, "m.room.message") == 0 &&
		    strcmp(room_id, OPS) == 0 && strcmp(ev->room, OPS) == 0 &&
		    json_is_string(body) && json_string_length(body) ==
		    strlen(json_string_value(body)) &&
		    json_string_length(body) <= TEXT_CAP && msgtype != NULL &&
		    strcmp(msgtype, "m.text") == 0;
	}
	return strcmp(type, "m.reaction") == 0 &&
	    strcmp(ev->button_data, "ap:1:abc") == 0 &&
	    strcmp(ev->msg_ref, "$btnmsg") == 0 &&
	    strcmp(ev->room, OPS) == 0 && strcmp(room_id, OPS) == 0;
}

/*
 * A message or press is handed over once per reply and comes from a
 * timeline event of the reply with its id that could give it.
 */
static void
check_message(const struct chat_event *ev)
{
	json_t		*join = json_object_get(json_object_get(cur, "rooms"),
	    "join"), *room, *e;
	const char	*rid, *eid;
	size_t		 i;
	int		 found = 0;

	if (ev->reply_token == NULL || ev->reply_token[0] != '$')
		abort();
	for (i = 0; i < nseen; i++) {
		if (strcmp(seen[i], ev->reply_token) == 0)
			abort();	/* handed over twice */
	}
	if (nseen < nitems(seen))
		seen[nseen++] = xstrdup(ev->reply_token);
	json_object_foreach(join, rid, room) {
		json_array_foreach(json_object_get(json_object_get(room,
		    "timeline"), "events"), i, e) {
			eid = json_string_value(json_object_get(e,
			    "event_id"));
			if (eid != NULL && strcmp(eid, ev->reply_token) == 0 &&
			    gives(ev, rid, e))
				found = 1;
		}
	}
	if (!found)
		abort();
}

static void
submit(void *arg, struct chat_event *ev)
{
	cf_check_event(ev, "matrix", TEXT_CAP);
	if (ev->offset == NULL)
		abort();
	if (ev->kind == CHAT_EV_MESSAGE || ev->kind == CHAT_EV_BUTTON)
		check_message(ev);
	if (nevs < nitems(evs))
		evs[nevs++] = ev;
	else
		chat_event_free(ev);
}

/* The offsets of one reply's events (see the head comment). */
static void
check_offsets(const char *next)
{
	char	*want;
	size_t	 i, len;

	for (i = 0; i < nevs; i++) {
		if (i + 1 == nevs) {
			if (next == NULL || strcmp(evs[i]->offset, next) != 0)
				abort();
			continue;
		}
		if (since == NULL || strncmp(evs[i]->offset, since,
		    strlen(since)) != 0 || evs[i]->reply_token == NULL)
			abort();
		want = xasprintf("\n%s", evs[i]->reply_token);
		len = strlen(evs[i]->offset);
		if (len < strlen(want) || strcmp(evs[i]->offset + len -
		    strlen(want), want) != 0)
			abort();
		free(want);
	}
}

static void
feed(struct connector *c, long status, const char *body, size_t len)
{
	const char	*next;
	size_t		 i;
	int		 rc;

	cur = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
	nevs = 0;
	rc = chat_matrix_feed(c, st, status, body, len);
	if (rc != CHAT_OK && rc != CHAT_TEMPORARY && rc != CHAT_PERMANENT)
		abort();
	next = json_string_value(json_object_get(cur, "next_batch"));
	if (rc == CHAT_OK) {
		if (next == NULL)
			abort();
		check_offsets(next);
		free(since);
		since = xstrdup(next);
	} else if (nevs != 0)
		abort();	/* a failed sync hands nothing over */
	for (i = 0; i < nevs; i++)
		chat_event_free(evs[i]);
	nevs = 0;
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	nseen = 0;
	json_decref(cur);
	cur = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long	 statuses[] = { 200, 200, 429, 502 };
	static const char	 initial[] = "{\"next_batch\":\"s0\"}";
	struct cf_part		 parts[CF_MAX_PARTS];
	struct connector	*c;
	size_t			 n, i;
	char			*cause = NULL;

	if (size > 256 * 1024)
		return 0;
	cf_reset(st, "DELETE FROM kv; DELETE FROM chat_outbox WHERE id <> 1");
	ctx.conf = &conf;
	ctx.submit = submit;
	if ((c = chat_matrix_create(&ctx, &cause)) == NULL) {
		fprintf(stderr, "fuzz_matrix_sync: %s\n", cause);
		abort();
	}
	chat_matrix_feed_http(c, http, NULL);
	n = cf_split(data, size, parts);
	answer_mode = 0;
	if (n == 0 || parts[0].len == 0 || !(parts[0].p[0] & 0x10))
		feed(c, 200, initial, strlen(initial));
	for (i = 0; i < n; i++) {
		int	 flags = parts[i].len > 0 ?
			    (unsigned char)parts[i].p[0] : 0;

		answer_mode = (flags >> 2) & 3;
		feed(c, statuses[flags & 3], parts[i].p + (parts[i].len > 0),
		    parts[i].len > 0 ? parts[i].len - 1 : 0);
	}
	chat_free(c);
	free(since);
	since = NULL;
	return 0;
}
