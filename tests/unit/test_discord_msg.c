/*
 * Tests of the Discord connector's messages against the fake Discord:
 * prefix commands and what is filtered out, slash commands (deferred
 * acknowledgement within 3 s, the reply edits the original response),
 * buttons and presses with ephemeral answers, sends, progress edits,
 * long messages, Markdown escaping, 429s and buckets, the token kept
 * out of logs and causes, and resuming a saved session after a restart.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../../src/chat/chat_discord.h"
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "fakes/fake_discord.h"
#include "log.h"
#include "store.h"
#include "t.h"
#include "t_store.h"
#include "t_chat.h"
#include "util.h"

static json_t *
call_json(const struct fake_call *c)
{
	return json_loads(c->body, 0, NULL);
}

static int
start_live(struct fake_bench *b)
{
	fake_bench_init(b, 5000);
	if (fake_bench_start(b) != 0)
		return -1;
	if (fake_discord_wait_live(b->fd, 1, 3000) != 0) {
		t_fail(__FILE__, __LINE__, "no gateway session");
		return -1;
	}
	return 0;
}

/* The slash command catalogue as cmd_export_discord() shapes it. */
static json_t *
catalogue(void)
{
	return json_pack("[{s:s, s:s, s:i, s:[{s:s, s:s, s:i, s:b}, "
	    "{s:s, s:s, s:i, s:b}]}, {s:s, s:s, s:i}]",
	    "name", "snapshot", "description", "Take a snapshot", "type", 1,
	    "options",
	    "name", "vmid", "description", "Guest id", "type", 4,
	    "required", 1,
	    "name", "name", "description", "Snapshot name", "type", 3,
	    "required", 1,
	    "name", "status", "description", "Cluster status", "type", 1);
}

/* ---- incoming messages --------------------------------------------- */

static void
test_prefix_command_and_reply(void)
{
	struct fake_bench	 b;
	struct chat_event	*ev;
	struct fake_call	 post;
	struct chat_msg		 m = { .text = "Snapshot pre-upgrade of 101 "
				    "done." };
	char			*cause = NULL, *ref = NULL;
	json_t			*body;

	if (start_live(&b) != 0)
		goto out;
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!snapshot 101 pre-upgrade"));
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 2000);
	T_OK(ev != NULL);
	if (ev == NULL)
		goto out;
	T_EQ_STR(ev->connector, "discord");
	/* The parser knows "!"; other bots use it too: not addressed. */
	T_EQ_STR(ev->text, "!snapshot 101 pre-upgrade");
	T_EQ_STR(ev->user, "discord:" ALICE);
	T_EQ_STR(ev->room, CHAN);
	T_EQ_INT(ev->addressed, 0);
	T_EQ_INT(ev->direct, 0);
	T_EQ_INT(ev->slash, 0);
	T_OK(ev->sent_at >= wall_now() - 2 && ev->sent_at <= wall_now());
	T_EQ_STR(ev->offset_key, "discord");
	T_OK(str_has_prefix(ev->offset, "2 fakesession1 ws://127.0.0.1:"));

	T_EQ_INT(chat_reply(b.c, ev, &m, &ref, &cause), CHAT_OK);
	T_OK(ref != NULL);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/" CHAN
	    "/messages", 1, 2000, &post), 0);
	T_EQ_INT(post.status, 200);
	body = call_json(&post);
	T_EQ_STR(json_string_value(json_object_get(body, "content")),
	    "Snapshot pre-upgrade of 101 done.");
	T_EQ_INT(json_array_size(json_object_get(json_object_get(body,
	    "allowed_mentions"), "parse")), 0);
	T_OK(json_is_array(json_object_get(json_object_get(body,
	    "allowed_mentions"), "parse")));
	json_decref(body);
	fake_call_release(&post);
	/* A mention of the bot addresses it. */
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN2, GUILD, ALICE, 0, "<@" FAKE_DISCORD_BOT_ID "> status"));
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 2, 2000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->text, "status");
		T_EQ_INT(ev->addressed, 1);
		T_EQ_STR(ev->room, CHAN2);
	}
	free(ref);
	free(cause);
out:
	fake_bench_done(&b);
}

static void
test_messages_filtered(void)
{
	struct fake_bench	 b;
	struct chat_event	*ev;
	json_t			*self;

	if (start_live(&b) != 0)
		goto out;
	/* Another bot, pvebot itself, an unconfigured channel, chatter,
	 * a DM from an unconfigured user: none is a command. */
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 1, "!stop 101"));
	self = fake_discord_message(CHAN, GUILD, FAKE_DISCORD_BOT_ID, 0,
	    "!stop 102");
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", self);
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    OTHER, GUILD, ALICE, 0, "!stop 103"));
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "stop 104 is what I would do"));
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    "800000000000000001", NULL, STRANGER, 0, "stop 105"));
	/* Then one that counts: a DM from the configured user. */
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    "800000000000000002", NULL, DMUSER, 0, "status"));
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 2000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->text, "status");
		T_EQ_STR(ev->user, "discord:" DMUSER);
		T_EQ_INT(ev->direct, 1);
		T_EQ_STR(ev->room, "800000000000000002");
		T_OK(str_has_prefix(ev->offset, "7 "));
	}
	T_EQ_INT(fake_bench_count(&b, CHAT_EV_MESSAGE), 1);
	/* Filtered updates still move the saved offset; the command in an
	 * unconfigured channel is named for the audit. */
	T_EQ_INT(fake_bench_count(&b, CHAT_EV_OFFSET), 4);
	T_EQ_INT(fake_bench_count(&b, CHAT_EV_UNSERVED), 1);
	ev = fake_bench_wait(&b, CHAT_EV_UNSERVED, 1, 100);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_OK(str_has_prefix(ev->offset, "4 "));
		T_EQ_STR(ev->user, "discord:" ALICE);
	}
	ev = fake_bench_wait(&b, CHAT_EV_OFFSET, 4, 100);
	T_OK(ev != NULL && str_has_prefix(ev->offset, "6 "));
out:
	fake_bench_done(&b);
}

/*
 * Dispatches Discord would not send (a broken frame, a message with no
 * author, content with a NUL, an interaction with no token): each is
 * skipped with its sequence saved and a row for the audit, and the
 * connector goes on with the next one.
 */
static void
test_malformed_dispatches_skipped(void)
{
	struct fake_bench	 b;
	struct chat_event	*ev;
	json_t			*m, *in;
	int64_t			 broken, noauthor, nul, notoken, last;
	int			 i;

	if (start_live(&b) != 0)
		goto out;
	broken = fake_discord_dispatch_broken(b.fd, "MESSAGE_CREATE");
	m = fake_discord_message("800000000000000002", NULL, DMUSER, 0, "x");
	json_object_del(m, "author");
	noauthor = fake_discord_dispatch(b.fd, "MESSAGE_CREATE", m);
	m = fake_discord_message("800000000000000002", NULL, DMUSER, 0, "x");
	json_object_set_new(m, "content", json_stringn("start 101\0reboot",
	    17));
	nul = fake_discord_dispatch(b.fd, "MESSAGE_CREATE", m);
	in = fake_discord_slash(CHAN, GUILD, ALICE, "status", NULL);
	json_object_del(in, "token");
	notoken = fake_discord_dispatch(b.fd, "INTERACTION_CREATE", in);
	last = fake_discord_dispatch(b.fd, "MESSAGE_CREATE",
	    fake_discord_message("800000000000000002", NULL, DMUSER, 0,
	    "status"));
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 3000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		char	*want = xasprintf("%lld ", (long long)last);

		T_EQ_STR(ev->text, "status");
		T_OK(str_has_prefix(ev->offset, want));
		free(want);
	}
	T_EQ_INT(fake_bench_count(&b, CHAT_EV_SKIPPED), 4);
	for (i = 1; i <= 4; i++) {
		int64_t	 seq[] = { broken, noauthor, nul, notoken };
		char	*name;

		ev = fake_bench_wait(&b, CHAT_EV_SKIPPED, i, 100);
		T_OK(ev != NULL);
		if (ev == NULL)
			continue;
		name = xasprintf("discord dispatch seq %lld ",
		    (long long)seq[i - 1]);
		T_CONTAINS(ev->text, name);
		T_OK(ev->offset != NULL);
		free(name);
	}
	/* The one with a NUL is answered where it came from. */
	ev = fake_bench_wait(&b, CHAT_EV_SKIPPED, 3, 100);
	if (ev != NULL) {
		T_EQ_STR(ev->room, "800000000000000002");
		T_CONTAINS(ev->answer, "nothing was done");
	}
out:
	fake_bench_done(&b);
}

/* ---- slash commands ------------------------------------------------ */

static void
test_slash_command(void)
{
	struct fake_bench	 b;
	struct chat_event	*ev;
	struct fake_call	 put, patch;
	struct chat_msg		 m = { .title = "Snapshot",
				    .text = "Created pre-upgrade on web-01." };
	json_t			*cat = catalogue(), *opts, *body;
	char			*id = NULL, *cause = NULL, *ref = NULL;
	char			*want;
	int			 type = 0;
	int64_t			 delay = -1;

	fake_bench_init(&b, 5000);
	if (fake_bench_start(&b) != 0)
		goto out;
	/* Registration at READY (the application id comes from READY). */
	T_EQ_INT(fake_discord_wait_live(b.fd, 1, 3000), 0);
	chat_discord_set_commands(b.c, cat);
	fake_discord_close(b.fd, 4009);	/* a new session: a new READY */
	T_EQ_INT(fake_discord_wait_call(b.fd, "PUT", "/applications/"
	    FAKE_DISCORD_APP_ID "/guilds/" GUILD "/commands", 1, 3000, &put),
	    0);
	T_EQ_INT(put.status, 200);
	body = call_json(&put);
	T_OK(json_equal(body, cat));
	json_decref(body);
	fake_call_release(&put);
	T_EQ_INT(fake_discord_wait_live(b.fd, 2, 3000), 0);

	/* Options arrive in any order; the text follows the catalogue. */
	opts = json_pack("[{s:s, s:i, s:s}, {s:s, s:i, s:i}]",
	    "name", "name", "type", 3, "value", "pre-upgrade",
	    "name", "vmid", "type", 4, "value", 101);
	fake_discord_interaction(b.fd, fake_discord_slash(CHAN, GUILD, ALICE,
	    "snapshot", opts), &id);
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 3000);
	T_OK(ev != NULL);
	if (ev == NULL)
		goto out;
	T_EQ_STR(ev->text, "snapshot 101 pre-upgrade");
	T_EQ_INT(ev->slash, 1);
	T_EQ_INT(ev->addressed, 1);
	T_EQ_STR(ev->user, "discord:" ALICE);
	T_EQ_STR(ev->room, CHAN);
	T_OK(str_has_prefix(ev->reply_token, id));
	T_OK(ev->sent_at >= wall_now() - 2 && ev->sent_at <= wall_now());
	/* Deferred (type 5) well within Discord's 3 seconds. */
	T_EQ_INT(fake_discord_callback_of(b.fd, id, &type, &delay), 0);
	T_EQ_INT(type, 5);
	T_OK(delay >= 0 && delay < 1000);

	T_EQ_INT(chat_reply(b.c, ev, &m, &ref, &cause), CHAT_OK);
	want = xasprintf("/webhooks/%s/%s/messages/@original",
	    FAKE_DISCORD_APP_ID, strchr(ev->reply_token, ':') + 1);
	T_EQ_INT(fake_discord_wait_call(b.fd, "PATCH", want, 1, 2000, &patch),
	    0);
	T_EQ_INT(patch.status, 200);
	T_CONTAINS(patch.body, "\"content\":\"**Snapshot**\\nCreated "
	    "pre-upgrade on web-01.\"");
	fake_call_release(&patch);
	free(want);
	/* The response can be edited later like any message. */
	T_OK(ref != NULL);
	want = fake_discord_stored_message(b.fd, ref);
	T_CONTAINS(want, "Created pre-upgrade");
	free(want);
	/* A status command without options. */
	fake_discord_interaction(b.fd, fake_discord_slash(CHAN, GUILD, ALICE,
	    "status", NULL), NULL);
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 2, 3000);
	T_OK(ev != NULL && strcmp(ev->text, "status") == 0);
out:
	json_decref(cat);
	free(id);
	free(ref);
	free(cause);
	fake_bench_done(&b);
}

/* With the real catalogue: its export is registered, and a slash
 * command becomes the line the parser reads back. */
static void
test_slash_with_catalogue(void)
{
	struct fake_bench	 b;
	struct catalogue	*cat;
	struct chat_event	*ev;
	struct fake_call	 put;
	json_t			*want, *got, *opts;
	char			*errors = NULL;

	cat = catalogue_load("commands", &errors);
	T_OK(cat != NULL);
	if (cat == NULL) {
		free(errors);
		return;
	}
	fake_bench_init(&b, 5000);
	b.ctx.catalogue = cat;
	b.conf.chat.discord.application_id = FAKE_DISCORD_APP_ID;
	if (fake_bench_start(&b) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_call(b.fd, "PUT", "/applications/"
	    FAKE_DISCORD_APP_ID "/guilds/" GUILD "/commands", 1, 3000, &put),
	    0);
	want = cmd_export_discord(cat);
	got = json_loads(put.body != NULL ? put.body : "", 0, NULL);
	/* The shipped catalogue passes Discord's rules (the fake's). */
	T_EQ_INT(put.status, 200);
	T_OK(json_array_size(want) > 5);
	T_OK(json_equal(want, got));
	json_decref(want);
	json_decref(got);
	fake_call_release(&put);
	T_EQ_INT(fake_discord_wait_live(b.fd, 1, 3000), 0);
	opts = json_pack("[{s:s, s:i, s:s}, {s:s, s:i, s:s}, {s:s, s:i, "
	    "s:s}]", "name", "reason", "type", 3, "value", "before the kernel "
	    "update", "name", "name", "type", 3, "value", "pre-upgrade",
	    "name", "guest", "type", 3, "value", "101");
	fake_discord_interaction(b.fd, fake_discord_slash(CHAN, GUILD, ALICE,
	    "snapshot", opts), NULL);
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 3000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		struct cmd_parse_opts	 po = { NULL, 0, 1, 0 };
		struct cmd_call		 call;
		char			*cause = NULL;

		T_OK(str_has_prefix(ev->text, "snapshot 101 pre-upgrade "));
		T_EQ_INT(cmd_parse(cat, ev->text, &po, &call, &cause),
		    CMD_PARSE_OK);
		T_EQ_STR(cmd_call_value(&call, "guest"), "101");
		T_EQ_STR(cmd_call_value(&call, "name"), "pre-upgrade");
		T_EQ_STR(cmd_call_value(&call, "reason"),
		    "before the kernel update");
		cmd_call_release(&call);
		free(cause);
	}
out:
	fake_bench_done(&b);
	catalogue_free(cat);
}

static void
test_register_commands_directly(void)
{
	struct fake_bench	 b;
	json_t			*cat = catalogue();
	char			*cause = NULL;

	fake_bench_init(&b, 5000);
	b.conf.chat.discord.application_id = FAKE_DISCORD_APP_ID;
	if (fake_bench_start(&b) != 0)
		goto out;
	T_EQ_INT(chat_discord_register(b.c, cat, &cause), CHAT_OK);
	T_EQ_INT(fake_discord_count_calls(b.fd, "PUT", "/applications/"
	    FAKE_DISCORD_APP_ID "/guilds/" GUILD "/commands"), 1);
	/*
	 * A READY after it (here a new session; on a fresh machine the
	 * first READY often came just after the call) does not register
	 * the same commands again: that second PUT made this test flaky.
	 */
	T_EQ_INT(fake_discord_wait_live(b.fd, 1, 3000), 0);
	fake_discord_close(b.fd, 4009);
	T_EQ_INT(fake_discord_wait_live(b.fd, 2, 3000), 0);
	T_EQ_INT(fake_discord_wait_call(b.fd, "PUT", "/applications/"
	    FAKE_DISCORD_APP_ID "/guilds/" GUILD "/commands", 2, 1000, NULL),
	    -1);
	/* Not an array: refused before any request. */
	T_EQ_INT(chat_discord_register(b.c, json_object_get(json_array_get(
	    cat, 0), "name"), &cause), CHAT_PERMANENT);
	T_CONTAINS(cause, "JSON array");
	T_EQ_INT(fake_discord_count_calls(b.fd, "PUT", "/applications/"), 1);
out:
	free(cause);
	json_decref(cat);
	fake_bench_done(&b);
}

/* "path CODE" of the first error in a Discord 50035 errors tree. */
static void
first_error(json_t *o, struct buf *path, struct buf *out)
{
	const char	*key;
	json_t		*v;
	size_t		 mark = path->len;

	if ((v = json_object_get(o, "_errors")) != NULL) {
		buf_printf(out, "%s %s", path->len > 0 ? path->data : "-",
		    json_string_value(json_object_get(json_array_get(v, 0),
		    "code")));
		return;
	}
	json_object_foreach(o, key, v) {
		buf_printf(path, "%s%s", path->len > 0 ? "." : "", key);
		first_error(v, path, out);
		return;
	}
	(void)mark;
}

/* Registers `cmds` (JSON text); "ok" or "path CODE" of the refusal. */
static char *
register_result(struct fake_bench *b, const char *cmds)
{
	struct fake_call	 put;
	json_t			*j = json_loads(cmds, 0, NULL), *reply;
	struct buf		 path, out;
	char			*cause = NULL;
	int			 rc, n;

	if (j == NULL)
		return xstrdup("bad test JSON");
	n = fake_discord_count_calls(b->fd, "PUT", "/applications/");
	rc = chat_discord_register(b->c, j, &cause);
	json_decref(j);
	if (rc == CHAT_OK) {
		free(cause);
		return xstrdup("ok");
	}
	buf_init(&out, 0);
	buf_puts(&out, "");
	if (fake_discord_wait_call(b->fd, "PUT", "/applications/", n + 1, 2000,
	    &put) == 0) {
		reply = json_loads(put.reply, 0, NULL);
		buf_init(&path, 0);
		buf_puts(&path, "");
		if (put.status == 400 && json_integer_value(json_object_get(
		    reply, "code")) == 50035)
			first_error(json_object_get(reply, "errors"), &path,
			    &out);
		else
			buf_printf(&out, "HTTP %d", put.status);
		buf_release(&path);
		json_decref(reply);
		fake_call_release(&put);
	}
	free(cause);
	return buf_steal(&out);
}

#define T_REG(b, cmds, want) do {					\
	char	*t_r_ = register_result(b, cmds);			\
	T_EQ_STR(t_r_, want);						\
	free(t_r_);							\
} while (0)

/*
 * The fake holds a registration to Discord's rules field by field, so a
 * catalogue pvebot cannot register is caught here, not by Discord.
 */
static void
test_command_registration_rules(void)
{
	struct fake_bench	 b;
	struct buf		 many;
	int			 i;

	fake_bench_init(&b, 5000);
	b.conf.chat.discord.application_id = FAKE_DISCORD_APP_ID;
	if (fake_bench_start(&b) != 0)
		goto out;
	T_REG(&b, "[{\"name\":\"status\",\"type\":1,\"description\":"
	    "\"Cluster status\"}]", "ok");
	T_REG(&b, "[{\"name\":\"Status\",\"description\":\"x\"}]",
	    "0.name APPLICATION_COMMAND_INVALID_NAME");
	T_REG(&b, "[{\"name\":\"has space\",\"description\":\"x\"}]",
	    "0.name APPLICATION_COMMAND_INVALID_NAME");
	T_REG(&b, "[{\"name\":\"abcdefghijklmnopqrstuvwxyz0123456\","
	    "\"description\":\"x\"}]", "0.name BASE_TYPE_BAD_LENGTH");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"\"}]",
	    "0.description BASE_TYPE_BAD_LENGTH");
	T_REG(&b, "[{\"name\":\"a\"}]", "0.description BASE_TYPE_REQUIRED");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"0123456789012345678"
	    "901234567890123456789012345678901234567890123456789012345678901234"
	    "56789012345678901\"}]", "0.description BASE_TYPE_BAD_LENGTH");
	/* A user command has no description; a slash command one. */
	T_REG(&b, "[{\"name\":\"Who Is\",\"type\":2,\"description\":\"\"}]",
	    "ok");
	T_REG(&b, "[{\"name\":\"Who Is\",\"type\":2,\"description\":"
	    "\"x\"}]", "0.description APPLICATION_COMMAND_INVALID");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\"},"
	    "{\"name\":\"a\",\"description\":\"y\"}]",
	    "1.name APPLICATION_COMMANDS_DUPLICATE_NAME");
	/* Options. */
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":12}]}]",
	    "0.options.0.type BASE_TYPE_CHOICES");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":3},"
	    "{\"name\":\"p\",\"description\":\"d\",\"type\":3,"
	    "\"required\":true}]}]",
	    "0.options.1.required "
	    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"\",\"type\":3}]}]",
	    "0.options.0.description BASE_TYPE_BAD_LENGTH");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":3},"
	    "{\"name\":\"o\",\"description\":\"d\",\"type\":4}]}]",
	    "0.options.1.name APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":5,"
	    "\"choices\":[{\"name\":\"y\",\"value\":\"y\"}]}]}]",
	    "0.options.0.choices APPLICATION_COMMAND_OPTION_INVALID");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":3,"
	    "\"min_value\":1}]}]",
	    "0.options.0.min_value APPLICATION_COMMAND_OPTION_INVALID");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":3,"
	    "\"max_length\":6001}]}]",
	    "0.options.0.max_length NUMBER_TYPE_MAX");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":4,"
	    "\"max_value\":9007199254740992}]}]",
	    "0.options.0.max_value NUMBER_TYPE_COERCE");
	T_REG(&b, "[{\"name\":\"a\",\"description\":\"x\",\"options\":"
	    "[{\"name\":\"o\",\"description\":\"d\",\"type\":4,"
	    "\"choices\":[{\"name\":\"one\",\"value\":\"1\"}]}]}]",
	    "0.options.0.choices.0.value NUMBER_TYPE_COERCE");
	/* 26 choices, 26 options, 101 commands. */
	buf_init(&many, 0);
	buf_puts(&many, "[{\"name\":\"a\",\"description\":\"x\","
	    "\"options\":[{\"name\":\"o\",\"description\":\"d\","
	    "\"type\":3,\"choices\":[");
	for (i = 0; i < 26; i++)
		buf_printf(&many, "%s{\"name\":\"c%d\",\"value\":\"c%d\"}",
		    i ? "," : "", i, i);
	buf_puts(&many, "]}]}]");
	T_REG(&b, many.data, "0.options.0.choices BASE_TYPE_MAX_LENGTH");
	buf_reset(&many);
	buf_puts(&many, "[{\"name\":\"a\",\"description\":\"x\","
	    "\"options\":[");
	for (i = 0; i < 26; i++)
		buf_printf(&many, "%s{\"name\":\"o%d\",\"description\":"
		    "\"d\",\"type\":3}", i ? "," : "", i);
	buf_puts(&many, "]}]");
	T_REG(&b, many.data, "0.options BASE_TYPE_MAX_LENGTH");
	buf_reset(&many);
	buf_puts(&many, "[");
	for (i = 0; i < 101; i++)
		buf_printf(&many, "%s{\"name\":\"c%d\",\"description\":"
		    "\"d\"}", i ? "," : "", i);
	buf_puts(&many, "]");
	T_REG(&b, many.data, "- BASE_TYPE_MAX_LENGTH");
	/* More than 4000 characters in one command. */
	buf_reset(&many);
	buf_puts(&many, "[{\"name\":\"a\",\"description\":\"x\","
	    "\"options\":[");
	for (i = 0; i < 25; i++) {
		buf_printf(&many, "%s{\"name\":\"o%d\",\"description\":"
		    "\"%0100d\",\"type\":3,\"choices\":[", i ? "," : "", i,
		    0);
		buf_printf(&many, "{\"name\":\"%060d\",\"value\":"
		    "\"%060d\"}]}", 0, 0);
	}
	buf_puts(&many, "]}]");
	T_REG(&b, many.data, "0 APPLICATION_COMMAND_TOO_LARGE");
	buf_release(&many);
out:
	fake_bench_done(&b);
}

static void
test_slash_in_unconfigured_channel(void)
{
	struct fake_bench	 b;
	char			*id = NULL;
	int			 type = 0;
	int64_t			 delay;
	struct fake_call	 cb;

	if (start_live(&b) != 0)
		goto out;
	fake_discord_interaction(b.fd, fake_discord_slash(OTHER, GUILD, ALICE,
	    "status", NULL), &id);
	T_OK(fake_bench_wait(&b, CHAT_EV_OFFSET, 1, 2000) != NULL);
	T_EQ_INT(fake_bench_count(&b, CHAT_EV_MESSAGE), 0);
	T_EQ_INT(fake_discord_callback_of(b.fd, id, &type, &delay), 0);
	T_EQ_INT(type, 4);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/interactions/", 1,
	    100, &cb), 0);
	T_CONTAINS(cb.body, "\"flags\":64");
	T_CONTAINS(cb.body, "does not take commands here");
	fake_call_release(&cb);
out:
	free(id);
	fake_bench_done(&b);
}

struct sender {
	struct connector	*c;
	const char		*room;
	char			*db;
	char			*ref;	/* delivered */
};

/* pvebot's way out: an outbox row and the connector's sender thread. */
static void *
sender_thread(void *arg)
{
	struct sender	*s = arg;
	struct chat_msg	 m = { .text = "held back" };

	s->ref = t_chat_deliver(s->c, s->db, s->room, &m, 15000);
	return NULL;
}

/* A global rate limit must not delay the 3 s acknowledgement. */
static void
test_ack_while_rate_limited(void)
{
	struct fake_bench	 b;
	struct sender		 s;
	pthread_t		 t;
	char			*id = NULL;
	int			 type = 0;
	int64_t			 delay = -1;

	if (start_live(&b) != 0)
		goto out;
	fake_discord_force_429(b.fd, "POST", "/channels/", 2.5, 1, 1);
	s.c = b.c;
	s.room = CHAN;
	s.db = t_store_db("out.db");
	s.ref = NULL;
	pthread_create(&t, NULL, sender_thread, &s);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/", 1, 2000,
	    NULL), 0);
	fake_discord_interaction(b.fd, fake_discord_slash(CHAN, GUILD, ALICE,
	    "status", NULL), &id);
	T_OK(fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 3000) != NULL);
	T_EQ_INT(fake_discord_callback_of(b.fd, id, &type, &delay), 0);
	T_EQ_INT(type, 5);
	T_OK(delay < 1000);
	pthread_join(t, NULL);
	/* The message itself went out once the hold was over. */
	T_OK(s.ref != NULL);
	free(s.ref);
	free(s.db);
out:
	free(id);
	fake_bench_done(&b);
}

/* ---- buttons ------------------------------------------------------- */

static void
test_buttons_press_and_answer(void)
{
	struct fake_bench	 b;
	struct chat_button	 btn[2] = {
		{ "Approve", "ap:12:3f9c0a", "\xe2\x9c\x85",
		    CHAT_BUTTON_SUCCESS },
		{ "Deny", "dn:12:3f9c0a", "\xe2\x9d\x8c", CHAT_BUTTON_DANGER },
	};
	struct chat_msg		 ask = { .title = "Approval needed",
				    .text = "alice asks: stop 102 (db-01)",
				    .buttons = btn, .nbuttons = 2 };
	struct chat_msg		 done = { .title = "Approved", .text = "by bob" };
	struct chat_event	*ev;
	struct fake_call	 post, follow, patch;
	char			*ref = NULL, *cause = NULL, *id = NULL, *stored;
	json_t			*body, *row, *b0, *b1;
	int			 type = 0;
	int64_t			 delay = -1;

	fake_bench_init(&b, 5000);
	b.conf.chat.discord.application_id = FAKE_DISCORD_APP_ID;
	if (fake_bench_start(&b) != 0 ||
	    fake_discord_wait_live(b.fd, 1, 3000) != 0)
		goto out;
	T_EQ_INT(chat_send(b.c, CHAN, &ask, &ref, &cause), CHAT_OK);
	T_OK(ref != NULL);
	if (ref == NULL)
		goto out;
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/" CHAN
	    "/messages", 1, 100, &post), 0);
	body = call_json(&post);
	row = json_array_get(json_object_get(body, "components"), 0);
	T_EQ_INT(json_integer_value(json_object_get(row, "type")), 1);
	b0 = json_array_get(json_object_get(row, "components"), 0);
	b1 = json_array_get(json_object_get(row, "components"), 1);
	T_EQ_INT(json_integer_value(json_object_get(b0, "type")), 2);
	T_EQ_INT(json_integer_value(json_object_get(b0, "style")), 3);
	T_EQ_STR(json_string_value(json_object_get(b0, "custom_id")),
	    "ap:12:3f9c0a");
	T_EQ_STR(json_string_value(json_object_get(b0, "label")), "Approve");
	T_EQ_INT(json_integer_value(json_object_get(b1, "style")), 4);
	T_EQ_STR(json_string_value(json_object_get(b1, "custom_id")),
	    "dn:12:3f9c0a");
	json_decref(body);
	fake_call_release(&post);

	/* Bob presses Approve. */
	fake_discord_interaction(b.fd, fake_discord_press(CHAN, GUILD, BOB,
	    ref, "ap:12:3f9c0a"), &id);
	ev = fake_bench_wait(&b, CHAT_EV_BUTTON, 1, 3000);
	T_OK(ev != NULL);
	if (ev == NULL)
		goto out;
	T_EQ_STR(ev->button_data, "ap:12:3f9c0a");
	T_EQ_STR(ev->msg_ref, ref);
	T_EQ_STR(ev->room, CHAN);
	T_EQ_STR(ev->user, "discord:" BOB);
	T_OK(str_has_prefix(ev->reply_token, id));
	T_EQ_INT(fake_discord_callback_of(b.fd, id, &type, &delay), 0);
	T_EQ_INT(type, 6);
	T_OK(delay < 1000);

	/* The answer is an ephemeral follow-up only bob sees. */
	T_EQ_INT(chat_answer(b.c, ev, "Approved: job 12 starts."), CHAT_OK);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/webhooks/"
	    FAKE_DISCORD_APP_ID "/", 1, 2000, &follow), 0);
	T_EQ_INT(follow.status, 200);
	T_CONTAINS(follow.body, "\"flags\":64");
	T_CONTAINS(follow.body, "Approved: job 12 starts.");
	fake_call_release(&follow);

	/* The request is edited and its buttons removed. */
	T_EQ_INT(chat_edit(b.c, CHAN, ref, &done, &cause), CHAT_OK);
	T_EQ_INT(fake_discord_wait_call(b.fd, "PATCH", "/channels/" CHAN
	    "/messages/", 1, 2000, &patch), 0);
	T_CONTAINS(patch.body, "\"components\":[]");
	fake_call_release(&patch);
	stored = fake_discord_stored_message(b.fd, ref);
	T_CONTAINS(stored, "\"components\":[]");
	T_CONTAINS(stored, "**Approved**\\nby bob");
	free(stored);
out:
	free(id);
	free(ref);
	free(cause);
	fake_bench_done(&b);
}

/* ---- outgoing ------------------------------------------------------ */

static void
test_progress_edits(void)
{
	struct fake_bench	 b;
	struct chat_msg		 m = { .title = "Backup 101", .text = "queued" };
	char			*ref = NULL, *cause = NULL, *stored, text[64];
	int			 i;

	if (start_live(&b) != 0)
		goto out;
	T_EQ_INT(chat_send(b.c, CHAN, &m, &ref, &cause), CHAT_OK);
	for (i = 1; i <= 3; i++) {
		snprintf(text, sizeof text, "INFO: %d%% (%d GiB of 3 GiB)",
		    i * 33, i);
		m.text = text;
		m.pre = 1;
		T_EQ_INT(chat_edit(b.c, CHAN, ref, &m, &cause), CHAT_OK);
	}
	T_EQ_INT(fake_discord_count_calls(b.fd, "POST", "/channels/"), 1);
	T_EQ_INT(fake_discord_count_calls(b.fd, "PATCH", "/channels/" CHAN
	    "/messages/"), 3);
	stored = fake_discord_stored_message(b.fd, ref);
	T_CONTAINS(stored, "**Backup 101**\\n```\\nINFO: 99% (3 GiB of 3 "
	    "GiB)\\n```");
	free(stored);
	/* A message that is not ours cannot be edited: permanent. */
	T_EQ_INT(chat_edit(b.c, CHAN, "123456789012345678", &m, &cause),
	    CHAT_PERMANENT);
	T_CONTAINS(cause, "Unknown Message");
out:
	free(ref);
	free(cause);
	fake_bench_done(&b);
}

static void
test_long_message_split(void)
{
	struct fake_bench	 b;
	struct chat_msg		 m = { .title = "Tasks", .pre = 1 };
	struct buf		 text;
	struct fake_call	 c;
	char			*ref = NULL, *cause = NULL;
	int			 i, n;

	buf_init(&text, 0);
	for (i = 0; i < 120; i++)
		buf_printf(&text, "UPID:pve1:%08X:vzdump:101:root@pam: OK\n",
		    i);
	m.text = buf_cstr(&text);
	if (start_live(&b) != 0)
		goto out;
	T_EQ_INT(chat_send(b.c, CHAN, &m, &ref, &cause), CHAT_OK);
	n = fake_discord_count_calls(b.fd, "POST", "/channels/");
	T_EQ_INT(n, 3);		/* 120 lines of 41 bytes in 2000-byte parts */
	for (i = 1; i <= n; i++) {
		json_t	*body;

		T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/", i,
		    100, &c), 0);
		T_EQ_INT(c.status, 200);
		body = call_json(&c);
		T_OK(json_string_length(json_object_get(body, "content")) <=
		    2000);
		T_OK(str_has_prefix(json_string_value(json_object_get(body,
		    "content")), i == 1 ? "**Tasks**\n```\n" : "```\nUPID:"));
		json_decref(body);
		fake_call_release(&c);
	}
	/* An edit is one message: cut, still accepted. */
	T_EQ_INT(chat_edit(b.c, CHAN, ref, &m, &cause), CHAT_OK);
out:
	buf_release(&text);
	free(ref);
	free(cause);
	fake_bench_done(&b);
}

static void
test_markdown_escaped(void)
{
	struct fake_bench	 b;
	struct chat_msg		 m = { .text = "*bold* _it_ `code` ~~s~~ "
				    "||spoil|| > quote @everyone <@1>\n> q" };
	struct fake_call	 c;
	json_t			*body;
	char			*cause = NULL;

	if (start_live(&b) != 0)
		goto out;
	T_EQ_INT(chat_send(b.c, CHAN, &m, NULL, &cause), CHAT_OK);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/", 1, 100,
	    &c), 0);
	body = call_json(&c);
	T_EQ_STR(json_string_value(json_object_get(body, "content")),
	    "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~ \\|\\|spoil\\|\\| "
	    "> quote @everyone <@1>\n\\> q");
	/* Mentions stay text: no ping. */
	T_OK(json_array_size(json_object_get(json_object_get(body,
	    "allowed_mentions"), "parse")) == 0);
	json_decref(body);
	fake_call_release(&c);
out:
	free(cause);
	fake_bench_done(&b);
}

static void
test_429_retry_after(void)
{
	struct fake_bench	 b;
	struct fake_call	 c1, c2;
	struct chat_msg		 m = { .text = "hello" };
	char			*cause = NULL, *ref;

	if (start_live(&b) != 0)
		goto out;
	fake_discord_force_429(b.fd, "POST", "/channels/" CHAN, 0.6, 0, 1);
	/* One attempt reports the limit; the sender waits it out. */
	T_EQ_INT(chat_send(b.c, CHAN, &m, NULL, &cause), CHAT_TEMPORARY);
	T_EQ_INT(b.c->ops->retry_after(b.c), 600);
	ref = t_chat_deliver(b.c, NULL, CHAN, &m, 5000);
	T_OK(ref != NULL);
	free(ref);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/", 1, 100,
	    &c1), 0);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/", 2, 100,
	    &c2), 0);
	T_EQ_INT(c1.status, 429);
	T_EQ_INT(c2.status, 200);
	T_OK(c2.at_ms - c1.at_ms >= 600);
	/* Not held for long after it (a loaded machine adds a little). */
	T_OK(c2.at_ms - c1.at_ms < 3000);
	fake_call_release(&c1);
	fake_call_release(&c2);
out:
	free(cause);
	fake_bench_done(&b);
}

static void
test_429_global_holds_everything(void)
{
	struct fake_bench	 b;
	struct sender		 s;
	pthread_t		 t;
	struct fake_call	 c1, c2;
	struct chat_msg		 m = { .text = "other channel" };
	char			*cause = NULL;
	int64_t			 deadline;

	if (start_live(&b) != 0)
		goto out;
	fake_discord_force_429(b.fd, "POST", "/channels/" CHAN, 0.5, 1, 1);
	s.c = b.c;
	s.room = CHAN;
	s.db = t_store_db("out.db");
	s.ref = NULL;
	pthread_create(&t, NULL, sender_thread, &s);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/" CHAN, 1,
	    2000, &c1), 0);
	/*
	 * The fake records the call before its 429 reaches the sender
	 * thread: wait until the connector has taken the hold in, or a
	 * loaded machine sends the other route first (flaky 2 in 20).
	 */
	deadline = now_ms() + 2000;
	while (chat_discord_global_until(b.c) == 0 && now_ms() < deadline)
		sleep_ms(5);
	T_OK(chat_discord_global_until(b.c) != 0);
	/* Another route is held too: the limit was global. */
	T_EQ_INT(chat_send(b.c, CHAN2, &m, NULL, &cause), CHAT_TEMPORARY);
	T_OK(b.c->ops->retry_after(b.c) > 0);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/" CHAN2, 1,
	    100, NULL), -1);
	pthread_join(t, NULL);
	T_OK(s.ref != NULL);
	T_EQ_INT(chat_send(b.c, CHAN2, &m, NULL, &cause), CHAT_OK);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/" CHAN2, 1,
	    100, &c2), 0);
	T_EQ_INT(c1.status, 429);
	T_OK(c2.at_ms - c1.at_ms >= 480);
	free(s.ref);
	free(s.db);
	fake_call_release(&c1);
	fake_call_release(&c2);
out:
	free(cause);
	fake_bench_done(&b);
}

static void
test_bucket_waits_for_reset(void)
{
	struct fake_bench	 b;
	struct chat_msg		 m = { .text = "progress" };
	struct fake_call	 c1, c3;
	char			*ref = NULL, *cause = NULL;
	int			 i, n429;

	if (start_live(&b) != 0)
		goto out;
	T_EQ_INT(chat_send(b.c, CHAN, &m, &ref, &cause), CHAT_OK);
	fake_discord_bucket(b.fd, "PATCH", "/channels/", 2, 700);
	/* An empty bucket is reported, not slept on: the sender waits. */
	for (i = 0; i < 4; i++) {
		int	 rc, tries = 0;

		while ((rc = chat_edit(b.c, CHAN, ref, &m, &cause)) ==
		    CHAT_TEMPORARY && tries++ < 20) {
			int64_t	 wait = b.c->ops->retry_after(b.c);

			T_OK(wait > 0 && wait <= 700);
			free(cause);
			cause = NULL;
			sleep_ms(wait);
		}
		T_EQ_INT(rc, CHAT_OK);
	}
	n429 = fake_discord_429s(b.fd, NULL);
	T_EQ_INT(n429, 0);	/* it waited instead of hitting the limit */
	T_EQ_INT(fake_discord_wait_call(b.fd, "PATCH", "/channels/", 1, 100,
	    &c1), 0);
	T_EQ_INT(fake_discord_wait_call(b.fd, "PATCH", "/channels/", 3, 100,
	    &c3), 0);
	T_OK(c3.at_ms - c1.at_ms >= 650);
	fake_call_release(&c1);
	fake_call_release(&c3);
out:
	free(ref);
	free(cause);
	fake_bench_done(&b);
}

static void
test_fifty_per_second(void)
{
	struct fake_bench	 b;
	struct chat_msg		 m = { .text = "x" };
	struct fake_call	 first, last;
	char			*cause = NULL;
	int			 i, global = 0;

	if (start_live(&b) != 0)
		goto out;
	for (i = 0; i < 60; i++)
		T_EQ_INT(chat_send(b.c, i % 2 ? CHAN : CHAN2, &m, NULL,
		    &cause), CHAT_OK);
	fake_discord_429s(b.fd, &global);
	T_EQ_INT(global, 0);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/", 1, 100,
	    &first), 0);
	T_EQ_INT(fake_discord_wait_call(b.fd, "POST", "/channels/", 60, 100,
	    &last), 0);
	T_OK(last.at_ms - first.at_ms >= 59 * 20 - 5);
	fake_call_release(&first);
	fake_call_release(&last);
out:
	free(cause);
	fake_bench_done(&b);
}

/* ---- secrets and errors -------------------------------------------- */

static void
test_token_absent_from_logs(void)
{
	struct fake_bench	 b;
	struct chat_msg		 m = { .text = "x" };
	char			*cause = NULL, *cause2 = NULL, *log, *path;
	char			*fatal = NULL;
	struct connector	*bad;
	int			 saved, fd;
	const char		*wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Wr0nG.wrong-token";

	path = t_path("log");
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	dup2(fd, 2);
	close(fd);
	log_set_level(LOG_DEBUG);

	fake_bench_init(&b, 200);
	if (fake_bench_start(&b) == 0 &&
	    fake_discord_wait_live(b.fd, 1, 3000) == 0) {
		/* Heartbeats, a zombie, a resume, a 4004 ending. */
		fake_discord_withhold_acks(b.fd, 1);
		fake_discord_wait_frame(b.fd, 6, 1, 3000, NULL);
		fake_discord_withhold_acks(b.fd, 0);
		fake_discord_wait_live(b.fd, 2, 3000);
		T_EQ_INT(chat_send(b.c, OTHER, &m, NULL, &cause), CHAT_OK);
		fake_discord_close(b.fd, 4004);
		while ((fatal = chat_discord_fatal(b.c)) == NULL)
			sleep_ms(10);
	}
	/* A connector whose token is refused: 401 on every request. */
	b.conf.chat.discord.token = (char *)wrong;
	bad = chat_discord_create(&b.ctx, &cause);
	T_OK(bad != NULL);
	if (bad != NULL) {
		T_EQ_INT(bad->ops->start(bad, &cause2), -1);
		T_CONTAINS(cause2, "token was refused");
		T_NOT_CONTAINS(cause2, wrong);
		T_EQ_INT(chat_send(bad, CHAN, &m, NULL, &cause),
		    CHAT_PERMANENT);
		T_NOT_CONTAINS(cause, wrong);
		log_warn("test", "cause: %s / %s", cause, cause2);
		chat_free(bad);
	}
	fflush(stderr);
	log_set_level(LOG_INFO);
	dup2(saved, 2);
	close(saved);
	log = t_slurp(path);
	T_CONTAINS(log, "gateway identify");	/* the log is not empty */
	T_CONTAINS(log, "4004");
	T_CONTAINS(log, "token was refused");
	T_NOT_CONTAINS(log, TOKEN);
	T_NOT_CONTAINS(log, wrong);
	T_NOT_CONTAINS(log, "Authorization");
	free(log);
	free(path);
	free(fatal);
	free(cause);
	free(cause2);
	fake_bench_done(&b);
}

static void
test_bad_config(void)
{
	struct fake_bench	 b;
	struct connector	*c;
	char			*cause = NULL;
	struct conf_room	 bad = { .id = "general", .commands = 1 };

	fake_bench_init(&b, 5000);
	b.conf.chat.discord.token = NULL;
	c = chat_discord_create(&b.ctx, &cause);
	T_OK(c == NULL);
	T_CONTAINS(cause, "token is not set");
	free(cause);
	cause = NULL;
	b.conf.chat.discord.token = TOKEN;
	b.conf.chat.discord.channels = &bad;
	b.conf.chat.discord.nchannels = 1;
	c = chat_discord_create(&b.ctx, &cause);
	T_OK(c == NULL);
	T_CONTAINS(cause, "channel id \"general\" is not a snowflake");
	free(cause);
	fake_bench_done(&b);
}

static void
test_helpers(void)
{
	json_t	*data;
	char	*s;

	/* 175928847299117063 is Discord's documented example: 2016-04-30
	 * 11:18:25.796 UTC. */
	T_EQ_INT(chat_discord_snowflake_ms("175928847299117063"),
	    1462015105796LL);
	T_EQ_INT(chat_discord_snowflake_ms("12a"), 0);
	data = json_pack("{s:s, s:[{s:s, s:i, s:[{s:s, s:i, s:s}]}]}",
	    "name", "vm", "options", "name", "start", "type", 1, "options",
	    "name", "target", "type", 3, "value", "web-01");
	s = chat_discord_slash_text(data, NULL);
	T_EQ_STR(s, "vm start web-01");
	free(s);
	json_decref(data);
	s = chat_discord_escape("a_b*c");
	T_EQ_STR(s, "a\\_b\\*c");
	free(s);
}

/* ---- a saved session survives a restart ----------------------------- */

static void
test_resume_saved_session(void)
{
	struct fake_bench	 b;
	struct chat_event	*ev;
	struct store		*st;
	struct fake_frame	 r;
	char			*cause = NULL, *db = t_store_db("pvebot.db");

	fake_bench_init(&b, 5000);
	b.conf.database = db;
	if (fake_bench_start(&b) != 0 ||
	    fake_discord_wait_live(b.fd, 1, 3000) != 0)
		goto out;
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!start 101"));
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 2000);
	T_OK(ev != NULL);
	if (ev == NULL)
		goto out;
	/* What the router does with the job the event produced. */
	st = store_open(db, &cause);
	T_OK(st != NULL);
	if (st == NULL)
		goto out;
	T_EQ_INT(store_offset_set(st, ev->offset_key, ev->offset), 0);
	store_close(st);
	/* pvebot stops; Discord keeps the session and the events. */
	b.c->ops->stop(b.c);
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!stop 102"));
	chat_free(b.c);
	b.c = NULL;
	/* The next start resumes and gets what was missed, once. */
	if (fake_bench_start(&b) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_frame(b.fd, 6, 1, 3000, &r), 0);
	T_CONTAINS(r.json, "\"seq\":2");
	fake_frame_release(&r);
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 2, 3000);
	T_OK(ev != NULL && strcmp(ev->text, "!stop 102") == 0);
	sleep_ms(200);
	T_EQ_INT(fake_bench_count(&b, CHAT_EV_MESSAGE), 2);
	T_EQ_INT(fake_discord_count_frames(b.fd, 2), 1);
out:
	free(cause);
	free(db);
	fake_bench_done(&b);
}

static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* A raw request to the fake, to show it refuses what Discord refuses. */
static int
raw(struct fake_discord *fd, const char *method, const char *path,
    const char *body, int with_auth, int with_ua)
{
	CURL			*curl = curl_easy_init();
	struct curl_slist	*h = NULL;
	char			*url = xasprintf("%s%s",
				    fake_discord_api_url(fd), path);
	long			 status = 0;

	if (with_auth)
		h = curl_slist_append(h, "Authorization: Bot " TOKEN);
	h = curl_slist_append(h, with_ua ? "User-Agent: DiscordBot "
	    "(https://example.org, 1.0)" : "User-Agent:");
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(h);
	free(url);
	return (int)status;
}

static void
test_fake_is_strict(void)
{
	struct fake_discord	*fd = fake_discord_start(TOKEN, 5000);
	struct buf		 big;
	char			*id = NULL, *path;
	json_t			*d;
	int			 i;

	T_EQ_INT(raw(fd, "POST", "/channels/" CHAN "/messages",
	    "{\"content\":\"hi\"}", 1, 1), 200);
	T_EQ_INT(raw(fd, "POST", "/channels/" CHAN "/messages",
	    "{\"content\":\"hi\"}", 0, 1), 401);
	T_EQ_INT(raw(fd, "POST", "/channels/" CHAN "/messages",
	    "{\"content\":\"hi\"}", 1, 0), 401);
	buf_init(&big, 0);
	buf_puts(&big, "{\"content\":\"");
	for (i = 0; i < 2001; i++)
		buf_puts(&big, "x");
	buf_puts(&big, "\"}");
	T_EQ_INT(raw(fd, "POST", "/channels/" CHAN "/messages",
	    buf_cstr(&big), 1, 1), 400);
	buf_release(&big);
	/* An interaction acknowledged after 3 s is unknown. */
	d = fake_discord_slash(CHAN, GUILD, ALICE, "status", NULL);
	path = xasprintf("/interactions/%s/%s/callback",
	    json_string_value(json_object_get(d, "id")),
	    json_string_value(json_object_get(d, "token")));
	fake_discord_interaction(fd, d, &id);
	sleep_ms(3100);
	T_EQ_INT(raw(fd, "POST", path, "{\"type\":5}", 0, 1), 404);
	free(path);
	free(id);
	fake_discord_stop(fd);
}

/*
 * pvebot dies after acknowledging an interaction but before the router
 * committed its work: after the restart the interaction is replayed,
 * Discord says it was acknowledged already, and the command still runs.
 */
static void
test_replayed_interaction_after_crash(void)
{
	struct fake_bench	 b;
	struct chat_event	*ev;
	struct store		*st;
	char			*cause = NULL, *db = t_store_db("pvebot.db");
	char			*id = NULL, *token = NULL;

	fake_bench_init(&b, 5000);
	b.conf.database = db;
	if (fake_bench_start(&b) != 0 ||
	    fake_discord_wait_live(b.fd, 1, 3000) != 0)
		goto out;
	/* The replay is the point, not Discord's 3 s: a loaded machine may
	 * take longer than that to start again. */
	fake_discord_interaction_window(b.fd, 60000);
	fake_discord_dispatch(b.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!status"));
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 1, 2000);
	T_OK(ev != NULL);
	if (ev == NULL || (st = store_open(db, &cause)) == NULL)
		goto out;
	T_EQ_INT(store_offset_set(st, ev->offset_key, ev->offset), 0);
	store_close(st);
	fake_discord_interaction(b.fd, fake_discord_slash(CHAN, GUILD, ALICE,
	    "status", NULL), &id);
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 2, 2000);
	T_OK(ev != NULL && ev->slash);
	if (ev == NULL)
		goto out;
	token = xstrdup(ev->reply_token);
	/* The crash: nothing of the slash command was committed. */
	b.c->ops->stop(b.c);
	chat_free(b.c);
	b.c = NULL;
	if (fake_bench_start(&b) != 0)
		goto out;
	ev = fake_bench_wait(&b, CHAT_EV_MESSAGE, 3, 3000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_INT(ev->slash, 1);
		T_EQ_STR(ev->reply_token, token);
		T_EQ_STR(ev->text, "status");
	}
	/* One acknowledgement accepted, the replayed one refused. */
	T_EQ_INT(fake_discord_count_calls(b.fd, "POST", "/interactions/"), 2);
out:
	free(token);
	free(id);
	free(cause);
	free(db);
	fake_bench_done(&b);
}

/* Callers retry what may pass later and give up on what will not. */
static void
test_temporary_and_permanent(void)
{
	struct fake_bench	 b;
	struct chat_msg		 m = { .text = "hello" };
	char			*cause = NULL, *ref = NULL;

	if (start_live(&b) != 0)
		goto out;
	fake_discord_fail(b.fd, "POST", "/channels/" CHAN, 500, 1);
	T_EQ_INT(chat_send(b.c, CHAN, &m, NULL, &cause), CHAT_TEMPORARY);
	T_CONTAINS(cause, "HTTP 500");
	free(cause);
	cause = NULL;
	fake_discord_fail(b.fd, "POST", "/channels/" CHAN2, 403, 1);
	T_EQ_INT(chat_send(b.c, CHAN2, &m, NULL, &cause), CHAT_PERMANENT);
	T_CONTAINS(cause, "Missing Permissions");
	free(cause);
	cause = NULL;
	/* The sender retries the temporary one until it passes. */
	fake_discord_fail(b.fd, "POST", "/channels/" CHAN, 502, 1);
	ref = t_chat_deliver(b.c, NULL, CHAN, &m, 10000);
	T_OK(ref != NULL);
	T_EQ_INT(fake_discord_count_calls(b.fd, "POST", "/channels/" CHAN),
	    3);
	/* Not a channel id: refused before any request. */
	T_EQ_INT(chat_send(b.c, "general", &m, NULL, &cause), CHAT_PERMANENT);
	T_CONTAINS(cause, "not a snowflake");
out:
	free(ref);
	free(cause);
	fake_bench_done(&b);
}

int
main(void)
{
	T_RUN(test_helpers);
	T_RUN(test_fake_is_strict);
	T_RUN(test_bad_config);
	T_RUN(test_prefix_command_and_reply);
	T_RUN(test_messages_filtered);
	T_RUN(test_malformed_dispatches_skipped);
	T_RUN(test_slash_command);
	T_RUN(test_slash_with_catalogue);
	T_RUN(test_register_commands_directly);
	T_RUN(test_command_registration_rules);
	T_RUN(test_slash_in_unconfigured_channel);
	T_RUN(test_ack_while_rate_limited);
	T_RUN(test_buttons_press_and_answer);
	T_RUN(test_progress_edits);
	T_RUN(test_long_message_split);
	T_RUN(test_markdown_escaped);
	T_RUN(test_temporary_and_permanent);
	T_RUN(test_429_retry_after);
	T_RUN(test_429_global_holds_everything);
	T_RUN(test_bucket_waits_for_reset);
	T_RUN(test_fifty_per_second);
	T_RUN(test_token_absent_from_logs);
	T_RUN(test_resume_saved_session);
	T_RUN(test_replayed_interaction_after_crash);
	return t_summary();
}
