/*
 * test_chat_feed.c - replies the connector fuzz targets found mishandled,
 * fed through chat_feed.h exactly as the receiving threads handle them
 * (no network), with a real SQLite store. Each case is a bug the fuzzers
 * (tests/fuzz/fuzz_telegram_updates.c, fuzz_matrix_sync.c,
 * fuzz_discord_dispatch.c) found, as a user would see it: what reaches
 * the router and which offset is saved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "chat_feed.h"
#include "conf.h"
#include "log.h"
#include "store.h"
#include "t.h"
#include "t_store.h"
#include "util.h"

/* The router's stand-in: keeps the events, says each offset is saved. */
struct feed_env {
	struct conf		 conf;
	struct conf_room	 rooms[2];
	char			*users[1];
	struct chat_ctx		 ctx;
	struct store		*st;
	struct chat_event	*evs[32];
	size_t			 nev;
};

static void
feed_submit(void *arg, struct chat_event *ev)
{
	struct feed_env	*e = arg;

	if (ev->saved != NULL)
		ev->saved(ev->saved_arg, ev->offset, 1);
	if (e->nev < nitems(e->evs))
		e->evs[e->nev++] = ev;
	else
		chat_event_free(ev);
}

static void
feed_env_init(struct feed_env *e)
{
	char	*cause = NULL;

	memset(e, 0, sizeof *e);
	e->conf.database = t_store_db("pvebot.db");
	e->st = store_open(e->conf.database, &cause);
	T_OK(e->st != NULL);
	free(cause);
	e->ctx.conf = &e->conf;
	e->ctx.submit = feed_submit;
	e->ctx.submit_arg = e;
}

static void
feed_env_release(struct feed_env *e)
{
	size_t	 i;

	for (i = 0; i < e->nev; i++)
		chat_event_free(e->evs[i]);
	store_close(e->st);
	free(e->conf.database);
}

/*
 * An update_id the Bot API never sends (2^63 - 1): its offset, id + 1,
 * overflowed, the update was handed over with a negative offset and the
 * poller's offset went back below every real update. It is ignored now;
 * the next update is served with its own offset.
 */
static void
test_telegram_update_id_beyond_range(void)
{
	static const char reply[] = "{\"ok\":true,\"result\":["
	    "{\"update_id\":9223372036854775807,\"message\":{\"message_id\":1,"
	    "\"chat\":{\"id\":42,\"type\":\"private\"},\"from\":{\"id\":42,"
	    "\"first_name\":\"A\"},\"date\":1764800000,\"text\":\"help\"}},"
	    "{\"update_id\":10,\"message\":{\"message_id\":2,"
	    "\"chat\":{\"id\":42,\"type\":\"private\"},\"from\":{\"id\":42,"
	    "\"first_name\":\"A\"},\"date\":1764800000,\"text\":\"whoami\"}}]}";
	struct feed_env		 e;
	struct connector	*c;
	long long		 offset = -1;
	char			*cause = NULL;

	feed_env_init(&e);
	e.users[0] = "42";
	e.conf.chat.telegram.token = "123456:test-token";
	e.conf.chat.telegram.users = e.users;
	e.conf.chat.telegram.nusers = 1;
	c = chat_telegram_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	chat_telegram_feed_me(c, "pvebot", 900001);
	T_EQ_INT(chat_telegram_feed(c, e.st, 200, reply, strlen(reply), 0,
	    &offset), CHAT_OK);
	T_EQ_INT(e.nev, 1);
	if (e.nev >= 1) {
		T_EQ_INT(e.evs[0]->kind, CHAT_EV_MESSAGE);
		T_EQ_STR(e.evs[0]->text, "whoami");
		T_EQ_STR(e.evs[0]->offset, "11");
	}
	T_EQ_INT(offset, 11);
	chat_free(c);
	feed_env_release(&e);
}

/*
 * A getUpdates reply that cannot be read whose update_id has more
 * digits than the scanner took: the first 18 were taken as the id of
 * the update to skip and the offset jumped to 461168601842738791, beyond
 * what tg_saved reads back: the poller waited forever for that save
 * (and every real update after it would have been ignored as already
 * seen): pvebot went deaf. Such a number is no update id now; the next
 * readable reply is served.
 */
static void
test_telegram_unreadable_long_update_id(void)
{
	static const char bad[] = "{\"ok\":true,\"result\":[{\"update_id\":"
	    "4611686018427387903,\"message\":{\"text\":\"brok";
	static const char good[] = "{\"ok\":true,\"result\":["
	    "{\"update_id\":31,\"message\":{\"message_id\":2,"
	    "\"chat\":{\"id\":42,\"type\":\"private\"},\"from\":{\"id\":42,"
	    "\"first_name\":\"A\"},\"date\":1764800000,\"text\":\"help\"}}]}";
	struct feed_env		 e;
	struct connector	*c;
	long long		 offset = -1;
	char			*cause = NULL;

	feed_env_init(&e);
	e.users[0] = "42";
	e.conf.chat.telegram.token = "123456:test-token";
	e.conf.chat.telegram.users = e.users;
	e.conf.chat.telegram.nusers = 1;
	c = chat_telegram_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	/* The batch is unreadable: the poller asks for one update... */
	T_EQ_INT(chat_telegram_feed(c, e.st, 200, bad, strlen(bad), 0,
	    &offset), CHAT_TEMPORARY);
	/* ...which is unreadable too, and has no id it can skip. */
	chat_telegram_feed(c, e.st, 200, bad, strlen(bad), 0, &offset);
	T_EQ_INT(offset, 0);
	T_EQ_INT(chat_telegram_feed(c, e.st, 200, good, strlen(good), 0,
	    &offset), CHAT_OK);
	T_EQ_INT(offset, 32);
	T_OK(e.nev >= 1);
	if (e.nev >= 1) {
		T_EQ_INT(e.evs[e.nev - 1]->kind, CHAT_EV_MESSAGE);
		T_EQ_STR(e.evs[e.nev - 1]->text, "help");
		T_EQ_STR(e.evs[e.nev - 1]->offset, "32");
	}
	chat_free(c);
	feed_env_release(&e);
}

/*
 * A string update_id of 2^53 - 1 (skipped: not a number): its offset,
 * 2^53, was more than tg_saved reads back, so the poller waited forever
 * for the router's save and Telegram was never polled again. The
 * largest id taken now has an offset the poller can read back; this one
 * is ignored, and the next update is served.
 */
static void
test_telegram_update_id_at_the_limit(void)
{
	static const char reply[] = "{\"ok\":true,\"result\":["
	    "{\"update_id\":\"9007199254740991\",\"message\":{}},"
	    "{\"update_id\":12,\"message\":{\"message_id\":2,"
	    "\"chat\":{\"id\":42,\"type\":\"private\"},\"from\":{\"id\":42,"
	    "\"first_name\":\"A\"},\"date\":1764800000,\"text\":\"whoami\"}}]}";
	struct feed_env		 e;
	struct connector	*c;
	long long		 offset = -1;
	char			*cause = NULL;

	feed_env_init(&e);
	e.users[0] = "42";
	e.conf.chat.telegram.token = "123456:test-token";
	e.conf.chat.telegram.users = e.users;
	e.conf.chat.telegram.nusers = 1;
	c = chat_telegram_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	/* On the old code this call never returned. */
	T_EQ_INT(chat_telegram_feed(c, e.st, 200, reply, strlen(reply), 0,
	    &offset), CHAT_OK);
	T_EQ_INT(offset, 13);
	T_OK(e.nev >= 1);
	if (e.nev >= 1) {
		T_EQ_STR(e.evs[e.nev - 1]->text, "whoami");
		T_EQ_STR(e.evs[e.nev - 1]->offset, "13");
	}
	chat_free(c);
	feed_env_release(&e);
}

static long
feed_http_refuse(void *arg, const char *method, const char *path,
    const char *body, char **reply)
{
	*reply = NULL;
	return 0;
}

/*
 * A /sync reply naming one event id twice in a room's timeline: the
 * command was handed to the router twice (and ran twice). One event id
 * is one event: it is handed over once.
 */
static void
test_matrix_event_id_twice_in_a_batch(void)
{
	static const char initial[] = "{\"next_batch\":\"s0\"}";
	static const char reply[] = "{\"next_batch\":\"s1\",\"rooms\":"
	    "{\"join\":{\"!ops:example.org\":{\"timeline\":{\"events\":["
	    "{\"type\":\"m.room.message\",\"sender\":\"@alice:example.org\","
	    "\"event_id\":\"$e1\",\"content\":{\"msgtype\":\"m.text\","
	    "\"body\":\"pvebot: start web1\"}},"
	    "{\"type\":\"m.room.message\",\"sender\":\"@alice:example.org\","
	    "\"event_id\":\"$e1\",\"content\":{\"msgtype\":\"m.text\","
	    "\"body\":\"pvebot: start web1\"}}]}}}}}";
	struct feed_env		 e;
	struct connector	*c;
	char			*cause = NULL;
	size_t			 i, messages = 0;

	feed_env_init(&e);
	e.rooms[0].id = "!ops:example.org";
	e.rooms[0].commands = 1;
	e.conf.chat.matrix.homeserver = "http://127.0.0.1:9";
	e.conf.chat.matrix.user_id = "@pvebot:example.org";
	e.conf.chat.matrix.token = "test-token";
	e.conf.chat.matrix.rooms = e.rooms;
	e.conf.chat.matrix.nrooms = 1;
	c = chat_matrix_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	chat_matrix_feed_http(c, feed_http_refuse, NULL);
	T_EQ_INT(chat_matrix_feed(c, e.st, 200, initial, strlen(initial)),
	    CHAT_OK);
	T_EQ_INT(chat_matrix_feed(c, e.st, 200, reply, strlen(reply)),
	    CHAT_OK);
	for (i = 0; i < e.nev; i++) {
		if (e.evs[i]->kind == CHAT_EV_MESSAGE) {
			messages++;
			T_EQ_STR(e.evs[i]->text, "start web1");
		}
	}
	T_EQ_INT(messages, 1);
	/* The batch's last event carries its token. */
	T_OK(e.nev >= 1);
	if (e.nev >= 1)
		T_EQ_STR(e.evs[e.nev - 1]->offset, "s1");
	chat_free(c);
	feed_env_release(&e);
}

/*
 * A /sync reply with an empty next_batch: it was taken as the offset and
 * saved, so the next start did an initial sync and acted on nothing that
 * came in between. It is a failed sync now: nothing saved, tried again.
 */
static void
test_matrix_empty_next_batch(void)
{
	static const char empty[] = "{\"next_batch\":\"\"}";
	static const char initial[] = "{\"next_batch\":\"s0\"}";
	struct feed_env		 e;
	struct connector	*c;
	char			*cause = NULL;

	feed_env_init(&e);
	e.rooms[0].id = "!ops:example.org";
	e.rooms[0].commands = 1;
	e.conf.chat.matrix.homeserver = "http://127.0.0.1:9";
	e.conf.chat.matrix.user_id = "@pvebot:example.org";
	e.conf.chat.matrix.token = "test-token";
	e.conf.chat.matrix.rooms = e.rooms;
	e.conf.chat.matrix.nrooms = 1;
	c = chat_matrix_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	chat_matrix_feed_http(c, feed_http_refuse, NULL);
	T_EQ_INT(chat_matrix_feed(c, e.st, 200, empty, strlen(empty)),
	    CHAT_TEMPORARY);
	T_EQ_INT(e.nev, 0);
	/* Still the initial sync: the next good reply gives the offset. */
	T_EQ_INT(chat_matrix_feed(c, e.st, 200, initial, strlen(initial)),
	    CHAT_OK);
	T_EQ_INT(e.nev, 1);
	if (e.nev == 1)
		T_EQ_STR(e.evs[0]->offset, "s0");
	chat_free(c);
	feed_env_release(&e);
}

static long
feed_http_ack(void *arg, const char *method, const char *path,
    const char *body, char **reply)
{
	*reply = NULL;
	return 204;
}

/*
 * A dispatch whose sequence number is below one already seen (after a
 * frame that could not be read, or a server's mistake) set the session's
 * sequence back: the offset saved with the next command went backwards,
 * and a resume from it replays dispatches already acted on. Within a
 * session the sequence only moves on now.
 */
static void
test_discord_sequence_never_goes_back(void)
{
	static const char *frames[] = {
	    "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"user\":{\"id\":"
	    "\"9001\"},\"session_id\":\"abc\",\"resume_gateway_url\":"
	    "\"wss://r.example\"}}",
	    "{\"op\":0,\"s\":5,\"t\":\"MESSAGE_CREATE\",\"d\":{\"channel_id\":"
	    "\"2001\",\"author\":{\"id\":\"4001\"},\"content\":\"!help\"}}",
	    "{\"op\":0,\"s\":3,\"t\":\"MESSAGE_CREATE\",\"d\":{\"channel_id\":"
	    "\"2001\",\"author\":{\"id\":\"4001\"},\"content\":\"!status\"}}",
	};
	struct feed_env		 e;
	struct connector	*c;
	char			*cause = NULL;
	size_t			 i;

	feed_env_init(&e);
	e.users[0] = "4001";
	e.conf.chat.discord.token = "test.token";
	e.conf.chat.discord.users = e.users;
	e.conf.chat.discord.nusers = 1;
	c = chat_discord_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	chat_discord_feed_http(c, feed_http_ack, NULL);
	for (i = 0; i < nitems(frames); i++)
		T_EQ_INT(chat_discord_feed(c, frames[i], strlen(frames[i])), 0);
	T_EQ_INT(e.nev, 2);
	if (e.nev == 2) {
		T_EQ_STR(e.evs[0]->text, "!help");
		T_EQ_STR(e.evs[0]->offset, "5 abc wss://r.example");
		T_EQ_STR(e.evs[1]->text, "!status");
		T_EQ_STR(e.evs[1]->offset, "5 abc wss://r.example");
	}
	chat_free(c);
	feed_env_release(&e);
}

/*
 * A MESSAGE_CREATE whose timestamp is before 1970: the command was
 * handed over with a negative sent_at (the router's staleness rule and
 * durations read it). A timestamp that is no time falls back to the
 * snowflake's, then to now.
 */
static void
test_discord_timestamp_before_1970(void)
{
	static const char frame[] = "{\"op\":0,\"s\":1,\"t\":"
	    "\"MESSAGE_CREATE\",\"d\":{\"channel_id\":\"2001\",\"author\":"
	    "{\"id\":\"4001\"},\"content\":\"!help\",\"timestamp\":"
	    "\"1900-01-01T00:00:00+00:00\"}}";
	struct feed_env		 e;
	struct connector	*c;
	char			*cause = NULL;

	feed_env_init(&e);
	e.users[0] = "4001";
	e.conf.chat.discord.token = "test.token";
	e.conf.chat.discord.users = e.users;
	e.conf.chat.discord.nusers = 1;
	c = chat_discord_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	chat_discord_feed_http(c, feed_http_ack, NULL);
	T_EQ_INT(chat_discord_feed(c, frame, strlen(frame)), 0);
	T_EQ_INT(e.nev, 1);
	if (e.nev == 1) {
		T_EQ_STR(e.evs[0]->text, "!help");
		T_OK(e.evs[0]->sent_at > 0);
	}
	chat_free(c);
	feed_env_release(&e);
}

/*
 * A READY whose resume URL holds a NUL, or a session id with a space:
 * neither goes into the saved offset ("SEQ SESSION URL" could not be
 * read back); found by fuzz_discord_dispatch.
 */
static void
test_discord_ready_tokens_checked(void)
{
	static const char *frames[] = {
	    "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"user\":{\"id\":"
	    "\"9001\"},\"session_id\":\"a b\",\"resume_gateway_url\":"
	    "\"\\u0000wss://r.example\"}}",
	    "{\"op\":0,\"s\":2,\"t\":\"MESSAGE_CREATE\",\"d\":{\"channel_id\":"
	    "\"2001\",\"author\":{\"id\":\"4001\"},\"content\":\"!help\"}}",
	    "{\"op\":0,\"s\":3,\"t\":\"READY\",\"d\":{\"user\":{\"id\":"
	    "\"9001\"},\"session_id\":\"abc\",\"resume_gateway_url\":"
	    "\"https://r.example\"}}",
	    "{\"op\":0,\"s\":4,\"t\":\"MESSAGE_CREATE\",\"d\":{\"channel_id\":"
	    "\"2001\",\"author\":{\"id\":\"4001\"},\"content\":\"!status\"}}",
	};
	struct feed_env		 e;
	struct connector	*c;
	char			*cause = NULL;
	size_t			 i;

	feed_env_init(&e);
	e.users[0] = "4001";
	e.conf.chat.discord.token = "test.token";
	e.conf.chat.discord.users = e.users;
	e.conf.chat.discord.nusers = 1;
	c = chat_discord_create(&e.ctx, &cause);
	T_OK(c != NULL);
	if (c == NULL) {
		free(cause);
		feed_env_release(&e);
		return;
	}
	chat_discord_feed_http(c, feed_http_ack, NULL);
	for (i = 0; i < nitems(frames); i++)
		T_EQ_INT(chat_discord_feed(c, frames[i], strlen(frames[i])), 0);
	T_EQ_INT(e.nev, 2);
	if (e.nev == 2) {
		T_EQ_STR(e.evs[0]->offset, "2 - -");
		T_EQ_STR(e.evs[1]->offset, "4 abc -");
	}
	chat_free(c);
	feed_env_release(&e);
}

int
main(void)
{
	log_set_level(LOG_ERROR);
	T_RUN(test_telegram_update_id_beyond_range);
	T_RUN(test_telegram_unreadable_long_update_id);
	T_RUN(test_telegram_update_id_at_the_limit);
	T_RUN(test_matrix_event_id_twice_in_a_batch);
	T_RUN(test_matrix_empty_next_batch);
	T_RUN(test_discord_sequence_never_goes_back);
	T_RUN(test_discord_timestamp_before_1970);
	T_RUN(test_discord_ready_tokens_checked);
	return t_summary();
}
