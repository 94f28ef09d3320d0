/*
 * test_matrix.c - the Matrix connector against the fake homeserver over
 * loopback: whoami, the first start that ignores history, messages
 * turned into events (identity, room, text, time, offset), what is
 * ignored (own messages, other rooms, notices), invites, the encrypted
 * room notice, the shape of sends and edits, transaction ids that make a
 * retry post once, reaction buttons, 429 and 5xx handling, offsets that
 * survive a crash in the middle of a batch, and the token kept out of
 * the logs.
 *
 * The submit callback plays the router: it queues the events and saves
 * their offsets in the store, as the router does in its transaction.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "chat.h"
#include "conf.h"
#include "fakes/fake_matrix.h"
#include "log.h"
#include "db.h"
#include "store.h"
#include "t.h"
#include "t_store.h"
#include "t_chat.h"
#include "util.h"

#define BOT	"@pvebot:hs.test"
#define TOKEN	"syt_cHZlYm90_SecretTokenValue_0123456789"
#define ALICE	"@alice:hs.test"
#define BOB	"@bob:hs.test"
#define OPS	"!ops:hs.test"
#define OTHER	"!other:hs.test"
#define CHECK	"\xe2\x9c\x85"		/* ✅ */
#define CROSS	"\xe2\x9d\x8c"		/* ❌ */

struct harness {
	struct fake_matrix	*fm;
	struct conf		 conf;
	struct conf_room	 rooms[4];
	struct chat_ctx		 ctx;
	struct connector	*c;
	struct store		*store;		/* the router's connection */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct chat_event	*evs[128];
	size_t			 head, tail;
	int			 save_limit;	/* offsets saved; -1 all */
	int			 saved;
};

static void
h_submit(void *arg, struct chat_event *ev)
{
	struct harness	*h = arg;

	pthread_mutex_lock(&h->lock);
	if (ev->offset_key != NULL && (h->save_limit < 0 ||
	    h->saved < h->save_limit)) {
		store_offset_set(h->store, ev->offset_key, ev->offset);
		h->saved++;
	}
	if (h->tail < nitems(h->evs))
		h->evs[h->tail++] = ev;
	else
		chat_event_free(ev);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* The next event of any kind but OFFSET (those are counted), or NULL. */
static struct chat_event *
h_next(struct harness *h, int timeout_ms, int *offsets)
{
	int64_t			 deadline = now_ms() + timeout_ms;
	struct chat_event	*ev = NULL;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (h->head < h->tail) {
			ev = h->evs[h->head];
			h->evs[h->head++] = NULL;
			if (ev->kind != CHAT_EV_OFFSET)
				goto out;
			if (offsets != NULL)
				(*offsets)++;
			chat_event_free(ev);
			ev = NULL;
		}
		if (now_ms() >= deadline)
			break;
		pthread_mutex_unlock(&h->lock);
		sleep_ms(10);
		pthread_mutex_lock(&h->lock);
	}
out:
	pthread_mutex_unlock(&h->lock);
	return ev;
}

static char *
h_offset(struct harness *h)
{
	char	*v = NULL;

	pthread_mutex_lock(&h->lock);
	store_offset_get(h->store, "matrix", &v);
	pthread_mutex_unlock(&h->lock);
	return v;
}

/* A fake with room OPS (bot and alice joined) and the conf for it. */
static struct harness *
h_new(const char *token)
{
	struct harness	*h = xcalloc(1, sizeof *h);
	char		*cause = NULL;

	h->fm = fake_matrix_start("hs.test", BOT, TOKEN);
	fake_matrix_room(h->fm, OPS, "#ops:hs.test", ALICE);
	fake_matrix_join(h->fm, OPS, BOT);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->save_limit = -1;
	h->conf.database = t_store_db("pvebot.db");
	h->conf.chat.max_command_age = 300;
	h->conf.chat.bot_name = xstrdup("pvebot");
	h->conf.chat.matrix.enabled = 1;
	h->conf.chat.matrix.homeserver = xstrdup(fake_matrix_url(h->fm));
	h->conf.chat.matrix.user_id = xstrdup(BOT);
	h->conf.chat.matrix.token = xstrdup(token != NULL ? token : TOKEN);
	h->rooms[0].id = xstrdup(OPS);
	h->rooms[0].commands = 1;
	h->conf.chat.matrix.rooms = h->rooms;
	h->conf.chat.matrix.nrooms = 1;
	h->conf.chat.matrix.sync_timeout = 5;
	h->ctx.conf = &h->conf;
	h->ctx.submit = h_submit;
	h->ctx.submit_arg = h;
	h->store = store_open(h->conf.database, &cause);
	if (h->store == NULL)
		t_fail(__FILE__, __LINE__, "store: %s", cause);
	free(cause);
	return h;
}

static void
h_add_room(struct harness *h, const char *name, int commands)
{
	size_t	 n = h->conf.chat.matrix.nrooms;

	h->rooms[n].id = xstrdup(name);
	h->rooms[n].commands = commands;
	h->conf.chat.matrix.nrooms = n + 1;
}

/* Creates and starts the connector; 0 when it runs. */
static int
h_start(struct harness *h, char **cause)
{
	if (h->c == NULL && (h->c = chat_matrix_create(&h->ctx, cause)) ==
	    NULL)
		return -1;
	return h->c->ops->start(h->c, cause);
}

/* Restarts the connector and waits for its first sync request. */
static void
h_restart(struct harness *h)
{
	char	*cause = NULL;
	int	 before = fake_matrix_requests(h->fm, "GET",
	    "/_matrix/client/v3/sync");
	int64_t	 deadline = now_ms() + 5000;

	chat_free(h->c);
	h->c = NULL;
	if (h_start(h, &cause) != 0)
		t_fail(__FILE__, __LINE__, "restart: %s", cause);
	free(cause);
	while (fake_matrix_requests(h->fm, "GET", "/_matrix/client/v3/sync") ==
	    before && now_ms() < deadline)
		sleep_ms(10);
}

/* Starts and waits for the first start's offset event. */
static void
h_running(struct harness *h)
{
	char	*cause = NULL;
	int	 offsets = 0;

	if (h_start(h, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "start: %s", cause);
		free(cause);
		return;
	}
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	T_OK(h_next(h, 50, &offsets) == NULL);
	T_EQ_INT(offsets, 1);
}

static void
h_free(struct harness *h)
{
	size_t	 i;

	chat_free(h->c);
	fake_matrix_stop(h->fm);
	for (i = h->head; i < h->tail; i++)
		chat_event_free(h->evs[i]);
	store_close(h->store);
	for (i = 0; i < h->conf.chat.matrix.nrooms; i++)
		free(h->rooms[i].id);
	free(h->conf.database);
	free(h->conf.chat.bot_name);
	free(h->conf.chat.matrix.homeserver);
	free(h->conf.chat.matrix.user_id);
	free(h->conf.chat.matrix.token);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

static const char *
content_str(json_t *ev, const char *key)
{
	return json_string_value(json_object_get(json_object_get(ev,
	    "content"), key));
}

static void
test_whoami_ok(void)
{
	struct harness	*h = h_new(NULL);
	char		*cause = NULL;

	T_EQ_INT(h_start(h, &cause), 0);
	T_OK(cause == NULL);
	T_OK(fake_matrix_requests(h->fm, "GET",
	    "/_matrix/client/v3/account/whoami") >= 1);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	/* The filter names the configured room and the event types. */
	json_t *f = fake_matrix_last_body(h->fm, "POST",
	    "/_matrix/client/v3/user/" BOT "/filter");
	T_OK(f != NULL);
	T_EQ_STR(json_string_value(json_array_get(json_object_get(
	    json_object_get(f, "room"), "rooms"), 0)), OPS);
	T_EQ_INT(json_array_size(json_object_get(json_object_get(f,
	    "room"), "rooms")), 1);
	json_decref(f);
	T_EQ_INT(fake_matrix_token_in_query(h->fm), 0);
	free(cause);
	h_free(h);
}

static void
test_whoami_rejected(void)
{
	struct harness	*h = h_new("syt_wrong_token_000000000000");
	char		*cause = NULL;

	T_EQ_INT(h_start(h, &cause), -1);
	T_EQ_STR(cause, "Matrix rejected the access token (M_UNKNOWN_TOKEN)");
	T_NOT_CONTAINS(cause, "syt_wrong_token");
	T_EQ_INT(fake_matrix_requests(h->fm, "GET", "/_matrix/client/v3/sync"),
	    0);
	free(cause);
	h_free(h);
}

static void
test_whoami_other_user(void)
{
	struct harness	*h = h_new("syt_someone_else_123456789");
	char		*cause = NULL;

	fake_matrix_add_token(h->fm, "syt_someone_else_123456789",
	    "@x:hs.test");
	T_EQ_INT(h_start(h, &cause), -1);
	T_CONTAINS(cause, "token belongs to @x:hs.test, not " BOT);
	free(cause);
	h_free(h);
}

static void
test_config_errors(void)
{
	struct harness	*h = h_new(NULL);
	char		*cause = NULL;

	free(h->conf.chat.matrix.user_id);
	h->conf.chat.matrix.user_id = xstrdup("pvebot");
	T_OK(chat_matrix_create(&h->ctx, &cause) == NULL);
	T_CONTAINS(cause, "matrix.user_id must look like @pvebot:example.org");
	free(cause);
	cause = NULL;
	free(h->conf.chat.matrix.user_id);
	h->conf.chat.matrix.user_id = xstrdup(BOT);

	h_add_room(h, "ops-room", 1);
	T_OK(chat_matrix_create(&h->ctx, &cause) == NULL);
	T_CONTAINS(cause, "\"ops-room\" is neither a room id");
	free(cause);
	cause = NULL;
	h->conf.chat.matrix.nrooms = 1;
	free(h->rooms[1].id);

	free(h->conf.chat.matrix.homeserver);
	h->conf.chat.matrix.homeserver = xstrdup("matrix.example.org");
	T_OK(chat_matrix_create(&h->ctx, &cause) == NULL);
	T_CONTAINS(cause, "matrix.homeserver must be an http(s) URL");
	free(cause);
	h_free(h);
}

static void
test_first_start_ignores_history(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_event	*ev;
	char			*cause = NULL, *off, *id;
	int			 offsets = 0;

	free(fake_matrix_say(h->fm, OPS, ALICE, "!stop 102"));
	free(fake_matrix_say(h->fm, OPS, ALICE, "pvebot: delete 101"));
	T_EQ_INT(h_start(h, &cause), 0);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	T_OK(h_next(h, 300, &offsets) == NULL);
	T_EQ_INT(offsets, 1);
	off = h_offset(h);
	T_OK(off != NULL && off[0] == 's');
	free(off);

	id = fake_matrix_say(h->fm, OPS, ALICE, "!status");
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->text, "!status");
		T_EQ_STR(ev->reply_token, id);
	}
	/* Nothing else: the history stayed history. */
	T_OK(h_next(h, 300, NULL) == NULL);
	chat_event_free(ev);
	free(id);
	free(cause);
	h_free(h);
}

static void
test_message_event(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_event	*ev;
	char			*id;
	json_t			*evs;

	h_running(h);
	id = fake_matrix_inject(h->fm, OPS, ALICE, "m.room.message",
	    json_pack("{s:s, s:s}", "msgtype", "m.text", "body",
	    "pvebot: start 101"), 1700000000123LL);
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_INT(ev->kind, CHAT_EV_MESSAGE);
		T_EQ_STR(ev->connector, "matrix");
		T_EQ_STR(ev->user, "matrix:" ALICE);
		T_EQ_STR(ev->room, OPS);
		T_EQ_STR(ev->text, "start 101");
		T_EQ_INT(ev->addressed, 1);
		T_EQ_INT(ev->sent_at, 1700000000);
		/* Two joined members: pvebot and alice. */
		T_EQ_INT(ev->direct, 1);
		T_EQ_STR(ev->offset_key, "matrix");
		T_OK(ev->offset != NULL && ev->offset[0] == 's' &&
		    strchr(ev->offset, '\n') == NULL);
	}
	chat_event_free(ev);
	free(id);

	/* A third member: no longer direct; plain text is not addressed. */
	fake_matrix_join(h->fm, OPS, BOB);
	free(fake_matrix_say(h->fm, OPS, BOB, "!status"));
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->user, "matrix:" BOB);
		T_EQ_STR(ev->text, "!status");
		T_EQ_INT(ev->addressed, 0);
		T_EQ_INT(ev->direct, 0);
	}
	chat_event_free(ev);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 0);
	json_decref(evs);

	/* Element's pill mention, whatever pvebot's display name. */
	free(fake_matrix_inject(h->fm, OPS, BOB, "m.room.message",
	    json_pack("{s:s, s:s, s:s, s:s, s:{s:[s]}}", "msgtype", "m.text",
	    "body", "PVE Bot: guests", "format", "org.matrix.custom.html",
	    "formatted_body", "<a href=\"https://matrix.to/#/" BOT "\">PVE "
	    "Bot</a>: guests", "m.mentions", "user_ids", BOT), 0));
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->text, "guests");
		T_EQ_INT(ev->addressed, 1);
	}
	chat_event_free(ev);

	/* A reply to one of pvebot's messages is for pvebot. */
	{
		struct chat_msg	 msg = { .text = "Job 3 failed" };
		char		*ref = NULL, *cause = NULL;

		T_EQ_INT(chat_send(h->c, OPS, &msg, &ref, &cause), CHAT_OK);
		free(fake_matrix_inject(h->fm, OPS, BOB, "m.room.message",
		    json_pack("{s:s, s:s, s:{s:{s:s}}}", "msgtype", "m.text",
		    "body", "> <@pvebot:hs.test> Job 3 failed\n\nlog 3",
		    "m.relates_to", "m.in_reply_to", "event_id", ref), 0));
		ev = h_next(h, 5000, NULL);
		T_OK(ev != NULL);
		if (ev != NULL) {
			T_EQ_STR(ev->text, "log 3");
			T_EQ_INT(ev->addressed, 1);
		}
		chat_event_free(ev);
		free(ref);
		free(cause);
	}
	h_free(h);
}

static void
test_ignored_events(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_event	*ev;
	char			*id;

	fake_matrix_room(h->fm, OTHER, NULL, BOB);
	fake_matrix_join(h->fm, OTHER, BOT);
	h_running(h);
	/* pvebot's own words, a notice from another bot, an edit, an
	 * unconfigured room: none of them is a command. */
	free(fake_matrix_say(h->fm, OPS, BOT, "!stop 101"));
	free(fake_matrix_inject(h->fm, OPS, ALICE, "m.room.message",
	    json_pack("{s:s, s:s}", "msgtype", "m.notice", "body",
	    "!stop 102"), 0));
	free(fake_matrix_inject(h->fm, OPS, ALICE, "m.room.message",
	    json_pack("{s:s, s:s, s:{s:s, s:s}}", "msgtype", "m.text",
	    "body", "* !stop 103", "m.relates_to", "rel_type", "m.replace",
	    "event_id", "$old"), 0));
	free(fake_matrix_say(h->fm, OTHER, BOB, "!stop 104"));
	id = fake_matrix_say(h->fm, OPS, ALICE, "!status");
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->text, "!status");
		T_EQ_STR(ev->reply_token, id);
	}
	chat_event_free(ev);
	T_OK(h_next(h, 300, NULL) == NULL);
	free(id);
	h_free(h);
}

static void
test_invites(void)
{
	struct harness	*h = h_new(NULL);
	int		 joins;
	int64_t		 deadline;
	const char	*m;

	fake_matrix_room(h->fm, "!new:hs.test", "#new:hs.test", ALICE);
	fake_matrix_room(h->fm, OTHER, NULL, BOB);
	h_add_room(h, "#new:hs.test", 1);
	h_running(h);
	fake_matrix_invite(h->fm, OTHER, BOB, BOT);
	fake_matrix_invite(h->fm, "!new:hs.test", ALICE, BOT);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	T_EQ_STR(fake_matrix_membership(h->fm, "!new:hs.test", BOT), "join");
	/* An invite from a room not in the config is declined. */
	T_EQ_STR(fake_matrix_membership(h->fm, OTHER, BOT), "leave");
	T_OK(fake_matrix_requests(h->fm, "POST",
	    "/_matrix/client/v3/rooms/" OTHER "/leave") == 1);
	joins = fake_matrix_requests(h->fm, "POST",
	    "/_matrix/client/v3/join/!new:hs.test");
	T_OK(joins >= 1);
	T_EQ_INT(fake_matrix_requests(h->fm, "POST",
	    "/_matrix/client/v3/join/" OTHER), 0);

	/* The room joined through its alias serves commands. */
	free(fake_matrix_say(h->fm, "!new:hs.test", ALICE, "!status"));
	struct chat_event *ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL)
		T_EQ_STR(ev->room, "#new:hs.test");
	chat_event_free(ev);

	/* Once the room is configured, a new invite is taken. */
	h_add_room(h, OTHER, 1);
	h_restart(h);
	fake_matrix_invite(h->fm, OTHER, BOB, BOT);
	/*
	 * The new connector joins during its setup, before it syncs. Wait
	 * for that, not for idleness alone: the old connector's last sync,
	 * sent before it stopped, may be the poll the fake sees waiting.
	 */
	deadline = now_ms() + 5000;
	while (((m = fake_matrix_membership(h->fm, OTHER, BOT)) == NULL ||
	    strcmp(m, "join") != 0) && now_ms() < deadline)
		sleep_ms(10);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	T_EQ_STR(fake_matrix_membership(h->fm, OTHER, BOT), "join");
	free(fake_matrix_say(h->fm, OTHER, BOB, "!status"));
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL)
		T_EQ_STR(ev->room, OTHER);
	chat_event_free(ev);
	h_free(h);
}

/*
 * A configured alias the directory does not know yet: a stranger's room
 * that invites pvebot and claims that alias in its state is declined, not
 * served; when the alias appears in the directory, pvebot binds it to the
 * room the directory names, joins and serves it.
 */
static void
test_alias_never_bound_by_invite(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_event	*ev;
	int64_t			 deadline;

	fake_matrix_room(h->fm, "!evil:hs.test", NULL, BOB);
	fake_matrix_state(h->fm, "!evil:hs.test", BOB,
	    "m.room.canonical_alias", "", json_pack("{s:s}", "alias",
	    "#team:hs.test"));
	fake_matrix_room(h->fm, "!team:hs.test", NULL, ALICE);
	h_add_room(h, "#team:hs.test", 1);
	h_running(h);
	fake_matrix_invite(h->fm, "!evil:hs.test", BOB, BOT);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	deadline = now_ms() + 5000;
	while (strcmp(fake_matrix_membership(h->fm, "!evil:hs.test", BOT),
	    "invite") == 0 && now_ms() < deadline)
		sleep_ms(10);
	T_EQ_STR(fake_matrix_membership(h->fm, "!evil:hs.test", BOT),
	    "leave");
	T_EQ_INT(fake_matrix_requests(h->fm, "POST",
	    "/_matrix/client/v3/join/!evil:hs.test"), 0);
	/* Nothing said there reaches the router. */
	free(fake_matrix_say(h->fm, "!evil:hs.test", BOB, "!whoami"));
	T_OK(h_next(h, 500, NULL) == NULL);

	/* The real room gets the alias and invites pvebot: it is served. */
	fake_matrix_alias(h->fm, "!team:hs.test", "#team:hs.test");
	fake_matrix_invite(h->fm, "!team:hs.test", ALICE, BOT);
	deadline = now_ms() + 15000;
	while (strcmp(fake_matrix_membership(h->fm, "!team:hs.test", BOT),
	    "join") != 0 && now_ms() < deadline)
		sleep_ms(20);
	T_EQ_STR(fake_matrix_membership(h->fm, "!team:hs.test", BOT), "join");
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	free(fake_matrix_say(h->fm, "!team:hs.test", ALICE, "!status"));
	ev = h_next(h, 10000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->room, "#team:hs.test");
		T_EQ_STR(ev->user, "matrix:" ALICE);
	}
	chat_event_free(ev);
	h_free(h);
}

static void
test_encrypted_room_notice(void)
{
	struct harness	*h = h_new(NULL);
	json_t		*evs;

	fake_matrix_room(h->fm, "!sec:hs.test", NULL, ALICE);
	fake_matrix_encrypt(h->fm, "!sec:hs.test", ALICE);
	fake_matrix_join(h->fm, "!sec:hs.test", BOT);
	h_add_room(h, "!sec:hs.test", 1);
	h_running(h);
	T_EQ_INT(fake_matrix_wait_events(h->fm, "!sec:hs.test", BOT,
	    "m.room.message", 1, 5000), 1);
	free(fake_matrix_inject(h->fm, "!sec:hs.test", ALICE,
	    "m.room.encrypted", json_pack("{s:s, s:s}", "algorithm",
	    "m.megolm.v1.aes-sha2", "ciphertext", "AwgAEnA..."), 0));
	T_OK(h_next(h, 500, NULL) == NULL);
	h_restart(h);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	sleep_ms(200);
	evs = fake_matrix_events(h->fm, "!sec:hs.test", BOT,
	    "m.room.message");
	T_EQ_INT(json_array_size(evs), 1);
	T_CONTAINS(content_str(json_array_get(evs, 0), "body"),
	    "pvebot serves unencrypted rooms only");
	T_EQ_STR(content_str(json_array_get(evs, 0), "msgtype"), "m.notice");
	json_decref(evs);
	/* The unencrypted room got no notice. */
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 0);
	json_decref(evs);
	h_free(h);
}

static void
test_send_shape(void)
{
	struct harness	*h = h_new(NULL);
	struct chat_msg	 msg = { .title = "Job 7 <b>",
	    .text = "started by <script>alert(1)</script> & \"eve\"\nline 2" };
	char		*ref = NULL, *cause = NULL;
	json_t		*evs, *ev;

	h_running(h);
	T_EQ_INT(chat_send(h->c, OPS, &msg, &ref, &cause), CHAT_OK);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 1);
	ev = json_array_get(evs, 0);
	T_EQ_STR(ref, json_string_value(json_object_get(ev, "event_id")));
	T_EQ_STR(content_str(ev, "msgtype"), "m.notice");
	T_EQ_STR(content_str(ev, "format"), "org.matrix.custom.html");
	T_EQ_STR(content_str(ev, "body"), "Job 7 <b>\nstarted by "
	    "<script>alert(1)</script> & \"eve\"\nline 2");
	T_EQ_STR(content_str(ev, "formatted_body"), "<b>Job 7 &lt;b&gt;</b>"
	    "<br>started by &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
	    "&quot;eve&quot;<br>line 2");
	json_decref(evs);
	/* By alias too. */
	free(ref);
	ref = NULL;
	T_EQ_INT(chat_send(h->c, "#ops:hs.test", &msg, &ref, &cause), CHAT_OK);
	T_EQ_INT(fake_matrix_wait_events(h->fm, OPS, BOT, "m.room.message", 2,
	    100), 2);
	free(ref);
	ref = NULL;
	/* A room pvebot is not in: permanent. */
	fake_matrix_room(h->fm, OTHER, NULL, BOB);
	T_EQ_INT(chat_send(h->c, OTHER, &msg, &ref, &cause), CHAT_PERMANENT);
	T_CONTAINS(cause, "M_FORBIDDEN");
	free(cause);
	h_free(h);
}

static void
test_edit_shape(void)
{
	struct harness	*h = h_new(NULL);
	struct chat_msg	 m1 = { .text = "Job 7: starting" };
	struct chat_msg	 m2 = { .text = "Job 7: 50% <done>" };
	char		*ref = NULL, *cause = NULL;
	json_t		*evs, *ev, *nc, *rel;

	h_running(h);
	T_EQ_INT(chat_send(h->c, OPS, &m1, &ref, &cause), CHAT_OK);
	T_EQ_INT(chat_edit(h->c, OPS, ref, &m2, &cause), CHAT_OK);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 2);
	ev = json_array_get(evs, 1);
	rel = json_object_get(json_object_get(ev, "content"), "m.relates_to");
	nc = json_object_get(json_object_get(ev, "content"), "m.new_content");
	T_EQ_STR(json_string_value(json_object_get(rel, "rel_type")),
	    "m.replace");
	T_EQ_STR(json_string_value(json_object_get(rel, "event_id")), ref);
	T_EQ_STR(content_str(ev, "body"), "* Job 7: 50% <done>");
	T_EQ_STR(content_str(ev, "msgtype"), "m.notice");
	T_EQ_STR(json_string_value(json_object_get(nc, "body")),
	    "Job 7: 50% <done>");
	T_EQ_STR(json_string_value(json_object_get(nc, "formatted_body")),
	    "Job 7: 50% &lt;done&gt;");
	T_EQ_STR(json_string_value(json_object_get(nc, "msgtype")),
	    "m.notice");
	json_decref(evs);
	free(ref);
	free(cause);
	h_free(h);
}

/*
 * Events a homeserver should not send (no sender, a body with a NUL):
 * each is skipped with an audit text naming it, the batch's offset
 * still moves, and the next message is served.
 */
static void
test_malformed_events_skipped(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_event	*ev;
	char			*id, *off;
	int			 skipped = 0, i;

	h_running(h);
	free(fake_matrix_inject_raw(h->fm, OPS, json_pack("{s:s, s:s, "
	    "s:{s:s, s:s}}", "type", "m.room.message", "event_id",
	    "$nosender1", "content", "msgtype", "m.text", "body",
	    "!status")));
	free(fake_matrix_inject(h->fm, OPS, ALICE, "m.room.message",
	    json_pack("{s:s, s:s%}", "msgtype", "m.text", "body",
	    "!start 101\0reboot", (size_t)17), 0));
	id = fake_matrix_say(h->fm, OPS, ALICE, "!status");
	for (i = 0; i < 3; i++) {
		ev = h_next(h, 5000, NULL);
		T_OK(ev != NULL);
		if (ev == NULL)
			break;
		if (ev->kind == CHAT_EV_SKIPPED) {
			skipped++;
			T_CONTAINS(ev->text, "matrix event ");
			T_OK(ev->offset != NULL);
			if (strstr(ev->text, "NUL") != NULL) {
				T_EQ_STR(ev->room, OPS);
				T_CONTAINS(ev->answer, "nothing was done");
			} else
				T_CONTAINS(ev->text, "$nosender1");
		} else {
			T_EQ_INT(ev->kind, CHAT_EV_MESSAGE);
			T_EQ_STR(ev->text, "!status");
			T_EQ_STR(ev->reply_token, id);
		}
		chat_event_free(ev);
	}
	T_EQ_INT(skipped, 2);
	off = h_offset(h);
	T_OK(off != NULL);
	free(off);
	free(id);
	h_free(h);
}

/*
 * A new message the homeserver took just before pvebot died (the reply
 * never came back): after the restart the sender delivers the row again,
 * its content moved on meanwhile (a job's "running" became "succeeded").
 * It goes under the first attempt's transaction id, so the homeserver
 * answers with the event it made then (one message in the room, not
 * two), and an edit makes it show the new content.
 */
static void
test_first_send_survives_crash_and_new_content(void)
{
	struct harness	*h = h_new(NULL);
	struct chat_msg	 msg = { .text = "Job #2: start 104\nrunning, 0s",
	    .key = "outbox.2" };
	char		*ref = NULL, *cause = NULL;
	const char	*send = "/_matrix/client/v3/rooms/" OPS "/send/";
	json_t		*evs, *ev;
	size_t		 i;
	int		 originals = 0, edits = 0;

	h_running(h);
	fake_matrix_fault(h->fm, "PUT", send, FM_DROP, 0, 0, 1);
	T_EQ_INT(chat_send(h->c, OPS, &msg, &ref, &cause), CHAT_TEMPORARY);
	free(cause);
	cause = NULL;
	T_EQ_INT(fake_matrix_wait_events(h->fm, OPS, BOT, "m.room.message",
	    1, 5000), 1);
	h_restart(h);
	msg.text = "Job #2: start 104\nsucceeded in 0s";
	T_EQ_INT(chat_send(h->c, OPS, &msg, &ref, &cause), CHAT_OK);
	free(cause);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	json_array_foreach(evs, i, ev) {
		json_t	*c = json_object_get(ev, "content");

		if (json_object_get(c, "m.new_content") == NULL) {
			originals++;
			T_EQ_STR(ref, json_string_value(json_object_get(ev,
			    "event_id")));
			continue;
		}
		edits++;
		T_EQ_STR(json_string_value(json_object_get(json_object_get(c,
		    "m.relates_to"), "event_id")), ref);
		T_CONTAINS(json_string_value(json_object_get(json_object_get(
		    c, "m.new_content"), "body")), "succeeded in 0s");
	}
	T_EQ_INT(originals, 1);
	T_EQ_INT(edits, 1);
	json_decref(evs);
	free(ref);
	free(cause);
	h_free(h);
}

static void
test_retry_same_txn(void)
{
	struct harness	*h = h_new(NULL);
	struct chat_msg	 msg = { .text = "Job 8 finished" };
	char		*ref = NULL, *ref2 = NULL, *cause = NULL;
	const char	*send = "/_matrix/client/v3/rooms/" OPS "/send/";
	json_t		*evs;
	int		 i;

	h_running(h);
	/* The reply is lost after the server stored the event: the
	 * sender's next try reuses the transaction id. */
	fake_matrix_fault(h->fm, "PUT", send, FM_DROP, 0, 0, 1);
	ref = t_chat_deliver(h->c, NULL, OPS, &msg, 10000);
	T_OK(ref != NULL);
	T_EQ_INT(fake_matrix_requests(h->fm, "PUT", send), 2);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 1);
	T_EQ_STR(ref, json_string_value(json_object_get(json_array_get(evs,
	    0), "event_id")));
	json_decref(evs);

	/* Every try of a call lost: the caller's retry reuses the txn. */
	msg.text = "Job 9 finished";
	fake_matrix_fault(h->fm, "PUT", send, FM_DROP, 0, 0, 4);
	for (i = 0; i < 4; i++) {
		T_EQ_INT(chat_send(h->c, OPS, &msg, &ref2, &cause),
		    CHAT_TEMPORARY);
		T_OK(ref2 == NULL);
		T_CONTAINS(cause, "homeserver unreachable");
		free(cause);
		cause = NULL;
	}
	T_EQ_INT(chat_send(h->c, OPS, &msg, &ref2, &cause), CHAT_OK);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 2);
	T_EQ_STR(ref2, json_string_value(json_object_get(json_array_get(evs,
	    1), "event_id")));
	json_decref(evs);
	/* The outbox row was written and finished. The receiving thread
	 * saves offsets on h->store (h_submit): one user at a time, as a
	 * PostgreSQL connection needs. */
	{
		struct db_stmt	*st;

		pthread_mutex_lock(&h->lock);
		st = db_prepare(h->store, "SELECT count(*), min(state), "
		    "max(ref) FROM chat_outbox WHERE connector = 'matrix' AND "
		    "ref = ?1");
		db_bind_text(st, 1, ref2);
		T_EQ_INT(db_step(st), DB_ROW);
		T_EQ_INT((int)db_int(st, 0), 1);
		T_EQ_STR(db_text(st, 1), "sent");
		db_finish(h->store, st);
		pthread_mutex_unlock(&h->lock);
	}
	/* Sending the same text again later is a new message. */
	T_EQ_INT(chat_send(h->c, OPS, &msg, NULL, &cause), CHAT_OK);
	T_EQ_INT(fake_matrix_wait_events(h->fm, OPS, BOT, "m.room.message", 3,
	    100), 3);
	free(ref);
	free(ref2);
	free(cause);
	h_free(h);
}

static const struct chat_button approval_buttons[] = {
	{ "Approve", "ap:7:3f9c", CHECK, CHAT_BUTTON_SUCCESS },
	{ "Deny", "dn:7:3f9c", CROSS, CHAT_BUTTON_DANGER },
};

static void
test_reaction_buttons(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_msg		 msg = { .title = "Approval needed",
	    .text = "bob wants to stop 102", .buttons = approval_buttons,
	    .nbuttons = 2 };
	struct chat_event	*ev;
	char			*ref = NULL, *cause = NULL;
	json_t			*evs;

	h_running(h);
	T_EQ_INT(chat_send(h->c, OPS, &msg, &ref, &cause), CHAT_OK);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.reaction");
	T_EQ_INT(json_array_size(evs), 2);
	if (json_array_size(evs) == 2) {
		json_t	*r0 = json_object_get(json_object_get(json_array_get(
		    evs, 0), "content"), "m.relates_to");
		json_t	*r1 = json_object_get(json_object_get(json_array_get(
		    evs, 1), "content"), "m.relates_to");

		T_EQ_STR(json_string_value(json_object_get(r0, "rel_type")),
		    "m.annotation");
		T_EQ_STR(json_string_value(json_object_get(r0, "event_id")),
		    ref);
		T_EQ_STR(json_string_value(json_object_get(r0, "key")), CHECK);
		T_EQ_STR(json_string_value(json_object_get(r1, "key")), CROSS);
	}
	json_decref(evs);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_CONTAINS(content_str(json_array_get(evs, 0), "body"),
	    CHECK " Approve");
	json_decref(evs);

	/* pvebot's own reactions come back in the sync: not presses. */
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	T_OK(h_next(h, 200, NULL) == NULL);

	free(fake_matrix_react(h->fm, OPS, ALICE, ref, "\xf0\x9f\x91\x8d"));
	free(fake_matrix_react(h->fm, OPS, ALICE, ref, CHECK));
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_INT(ev->kind, CHAT_EV_BUTTON);
		T_EQ_STR(ev->button_data, "ap:7:3f9c");
		T_EQ_STR(ev->msg_ref, ref);
		T_EQ_STR(ev->user, "matrix:" ALICE);
		T_EQ_STR(ev->room, OPS);
		T_EQ_STR(ev->offset_key, "matrix");
	}
	/* The answer is a visible reply under the approval message. */
	T_EQ_INT(h->c->ops->answer(h->c, ev, "you requested this job; "
	    "another approver must decide", &cause), CHAT_OK);
	evs = fake_matrix_events(h->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 2);
	T_EQ_STR(content_str(json_array_get(evs, 1), "body"), ALICE
	    ": you requested this job; another approver must decide");
	T_EQ_STR(content_str(json_array_get(evs, 1), "msgtype"), "m.notice");
	T_EQ_STR(json_string_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(json_array_get(evs, 1),
	    "content"), "m.relates_to"), "m.in_reply_to"), "event_id")), ref);
	json_decref(evs);
	chat_event_free(ev);

	/* After a restart the stored buttons still resolve; ❌ with the
	 * emoji presentation selector is still ❌. */
	h_restart(h);
	free(fake_matrix_react(h->fm, OPS, BOB, ref, CROSS "\xef\xb8\x8f"));
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->button_data, "dn:7:3f9c");
		T_EQ_STR(ev->user, "matrix:" BOB);
	}
	chat_event_free(ev);
	free(ref);
	free(cause);
	h_free(h);
}

static void
test_rate_limit_429(void)
{
	struct harness	*h = h_new(NULL);
	struct chat_msg	 msg = { .text = "hello" };
	const char	*send = "/_matrix/client/v3/rooms/" OPS "/send/";
	char		*cause = NULL, *ref;
	int64_t		*at, t0;
	int		 n, i;

	h_running(h);
	fake_matrix_fault(h->fm, "PUT", send, FM_STATUS, 429, 700, 1);
	ref = t_chat_deliver(h->c, NULL, OPS, &msg, 10000);
	T_OK(ref != NULL);
	free(ref);
	at = fake_matrix_request_times(h->fm, "PUT", send, &n);
	T_EQ_INT(n, 2);
	if (n == 2)
		T_OK(at[1] - at[0] >= 650);
	free(at);

	/* The sync loop honours it too. */
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	t0 = now_ms();
	fake_matrix_fault(h->fm, "GET", "/_matrix/client/v3/sync", FM_STATUS,
	    429, 800, 1);
	free(fake_matrix_say(h->fm, OPS, ALICE, "!status"));
	chat_event_free(h_next(h, 5000, NULL));
	free(fake_matrix_say(h->fm, OPS, ALICE, "!status"));
	chat_event_free(h_next(h, 5000, NULL));
	at = fake_matrix_request_times(h->fm, "GET", "/_matrix/client/v3/sync",
	    &n);
	/*
	 * The request that got the 429 (not simply the first after t0: a
	 * long poll may have arrived just before the fault was set); the
	 * next try came after retry_after_ms.
	 */
	t0 = fake_matrix_fault_time(h->fm, "GET", "/_matrix/client/v3/sync");
	T_OK(t0 >= 0);
	for (i = 0; i < n && at[i] <= t0; i++)
		;
	T_OK(i < n);
	if (i < n)
		T_OK(at[i] - t0 >= 750);
	free(at);
	/* A wait longer than a send may take is reported as temporary. */
	fake_matrix_fault(h->fm, "PUT", send, FM_STATUS, 429, 60000, 1);
	msg.text = "later";
	T_EQ_INT(chat_send(h->c, OPS, &msg, NULL, &cause), CHAT_TEMPORARY);
	T_CONTAINS(cause, "M_LIMIT_EXCEEDED");
	free(cause);
	h_free(h);
}

static void
test_server_errors_recovery(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_event	*ev;
	struct chat_msg		 msg = { .text = "after errors" };
	const char		*sync = "/_matrix/client/v3/sync";
	char			*cause = NULL, *ref;
	int			 before, n;
	int64_t			 t0;

	h_running(h);
	chat_free(h->c);
	h->c = NULL;
	/* The first syncs after a restart fail three ways. */
	before = fake_matrix_requests(h->fm, "GET", sync);
	fake_matrix_fault(h->fm, "GET", sync, FM_STATUS, 500, 0, 1);
	fake_matrix_fault(h->fm, "GET", sync, FM_STATUS, 502, 0, 1);
	fake_matrix_fault(h->fm, "GET", sync, FM_GARBAGE, 0, 0, 1);
	free(fake_matrix_say(h->fm, OPS, ALICE, "!status"));
	h_restart(h);
	ev = h_next(h, 10000, NULL);
	T_OK(ev != NULL);
	if (ev != NULL)
		T_EQ_STR(ev->text, "!status");
	chat_event_free(ev);
	/* Three failures, then success: backoff, not a busy loop. */
	n = fake_matrix_requests(h->fm, "GET", sync) - before;
	T_OK(n >= 4 && n <= 5);

	fake_matrix_fault(h->fm, "PUT", "/_matrix/client/v3/rooms/",
	    FM_STATUS, 503, 0, 2);
	ref = t_chat_deliver(h->c, NULL, OPS, &msg, 10000);
	T_OK(ref != NULL);
	free(ref);
	T_EQ_INT(fake_matrix_wait_events(h->fm, OPS, BOT, "m.room.message", 1,
	    100), 1);

	/* A slow server is waited for, not retried into duplicates. */
	fake_matrix_fault(h->fm, "PUT", "/_matrix/client/v3/rooms/",
	    FM_SLOW, 0, 1500, 1);
	msg.text = "slowly";
	t0 = now_ms();
	T_EQ_INT(chat_send(h->c, OPS, &msg, NULL, &cause), CHAT_OK);
	T_OK(now_ms() - t0 >= 1400);
	T_EQ_INT(fake_matrix_requests(h->fm, "PUT",
	    "/_matrix/client/v3/rooms/"), 4);
	T_EQ_INT(fake_matrix_wait_events(h->fm, OPS, BOT, "m.room.message", 2,
	    100), 2);
	free(cause);
	h_free(h);
}

static void
test_offsets_survive_crash_mid_batch(void)
{
	struct harness		*h = h_new(NULL);
	struct chat_event	*ev;
	char			*off;

	h_running(h);
	chat_free(h->c);
	h->c = NULL;
	free(fake_matrix_say(h->fm, OPS, ALICE, "!start 101"));
	free(fake_matrix_say(h->fm, OPS, ALICE, "!start 103"));
	free(fake_matrix_say(h->fm, OPS, ALICE, "!start 104"));

	/* The "router" saves the first event's work, then dies. */
	h->save_limit = h->saved + 1;
	h_restart(h);
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL && strcmp(ev->text, "!start 101") == 0);
	chat_event_free(ev);
	chat_event_free(h_next(h, 2000, NULL));
	chat_event_free(h_next(h, 2000, NULL));
	chat_free(h->c);
	h->c = NULL;
	off = h_offset(h);
	T_OK(off != NULL && strchr(off, '\n') != NULL);
	free(off);

	/* After the restart: the two not yet done, once each. */
	h->save_limit = -1;
	h_restart(h);
	ev = h_next(h, 5000, NULL);
	T_OK(ev != NULL && strcmp(ev->text, "!start 103") == 0);
	chat_event_free(ev);
	ev = h_next(h, 2000, NULL);
	T_OK(ev != NULL && strcmp(ev->text, "!start 104") == 0);
	chat_event_free(ev);
	T_OK(h_next(h, 300, NULL) == NULL);

	/* And after one more restart, nothing again. */
	h_restart(h);
	T_EQ_INT(fake_matrix_wait_idle(h->fm, 5000), 0);
	T_OK(h_next(h, 300, NULL) == NULL);
	h_free(h);
}

static void
test_stop_is_prompt(void)
{
	struct harness	*h = h_new(NULL);
	char		*cause = NULL;
	int64_t		 t0;

	/* In the middle of a long poll. */
	h_running(h);
	t0 = now_ms();
	chat_free(h->c);
	h->c = NULL;
	T_OK(now_ms() - t0 < 1000);

	/* In the middle of the set-up, the server hanging. */
	fake_matrix_fault(h->fm, "POST", "/_matrix/client/v3/user/",
	    FM_SLOW, 0, 8000, 1);
	T_EQ_INT(h_start(h, &cause), 0);
	while (fake_matrix_requests(h->fm, "POST",
	    "/_matrix/client/v3/user/") < 2)
		sleep_ms(10);
	t0 = now_ms();
	chat_free(h->c);
	h->c = NULL;
	T_OK(now_ms() - t0 < 1000);
	free(cause);
	h_free(h);
}

static void
test_token_absent_from_logs(void)
{
	struct harness	*h;
	struct chat_msg	 msg = { .text = "x" };
	char		*cause = NULL, *logs, *path, *ref;
	int		 saved, fd;

	fflush(stderr);
	path = t_path("stderr.log");
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	log_set_level(LOG_DEBUG);

	h = h_new(NULL);
	h_running(h);
	fake_matrix_fault(h->fm, "GET", "/_matrix/client/v3/sync", FM_STATUS,
	    500, 0, 1);
	fake_matrix_fault(h->fm, "PUT", "/_matrix/client/v3/rooms/",
	    FM_STATUS, 429, 100, 1);
	fake_matrix_fault(h->fm, "PUT", "/_matrix/client/v3/rooms/",
	    FM_DROP, 0, 0, 1);
	free(fake_matrix_say(h->fm, OPS, ALICE, "!status " TOKEN));
	chat_event_free(h_next(h, 5000, NULL));
	ref = t_chat_deliver(h->c, NULL, OPS, &msg, 10000);
	T_OK(ref != NULL);
	free(ref);
	free(cause);
	cause = NULL;
	h_free(h);
	/* A revoked token: errors all the way. */
	h = h_new(NULL);
	fake_matrix_fault(h->fm, NULL, "/_matrix/client/v3/account/whoami",
	    FM_STATUS, 500, 0, 1);
	T_EQ_INT(h_start(h, &cause), 0);
	free(cause);
	cause = NULL;
	sleep_ms(300);
	T_EQ_INT(fake_matrix_token_in_query(h->fm), 0);
	h_free(h);
	h = h_new("syt_wrong_but_secret_9876543210");
	T_EQ_INT(h_start(h, &cause), -1);
	free(cause);
	h_free(h);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_set_level(LOG_INFO);
	logs = t_slurp(path);
	T_OK(logs != NULL && strlen(logs) > 0);
	T_CONTAINS(logs, "part=matrix");
	T_NOT_CONTAINS(logs, TOKEN);
	T_NOT_CONTAINS(logs, "SecretTokenValue");
	T_NOT_CONTAINS(logs, "syt_wrong_but_secret");
	free(logs);
	free(path);
}

/* T_ONLY=test_name runs one case. */
#define RUN(fn) do {							\
	if (getenv("T_ONLY") == NULL || strcmp(getenv("T_ONLY"), #fn) == 0) \
		T_RUN(fn);						\
} while (0)

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("T_DEBUG") != NULL)
		log_set_level(LOG_DEBUG);
	RUN(test_whoami_ok);
	RUN(test_whoami_rejected);
	RUN(test_whoami_other_user);
	RUN(test_config_errors);
	RUN(test_first_start_ignores_history);
	RUN(test_message_event);
	RUN(test_ignored_events);
	RUN(test_invites);
	RUN(test_alias_never_bound_by_invite);
	RUN(test_encrypted_room_notice);
	RUN(test_send_shape);
	RUN(test_edit_shape);
	RUN(test_malformed_events_skipped);
	RUN(test_retry_same_txn);
	RUN(test_first_send_survives_crash_and_new_content);
	RUN(test_reaction_buttons);
	RUN(test_rate_limit_429);
	RUN(test_server_errors_recovery);
	RUN(test_offsets_survive_crash_mid_batch);
	RUN(test_stop_is_prompt);
	RUN(test_token_absent_from_logs);
	curl_global_cleanup();
	return t_summary();
}
