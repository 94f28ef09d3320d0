/*
 * test_telegram.c - the Telegram connector against the fake Bot API over
 * loopback HTTP: updates become the right chat events (or only offsets),
 * sends are escaped, split and paced, edits and buttons reach the wire
 * in the shape the real API accepts, and failures (401, 429, 5xx,
 * garbage, dropped connections, group migration) are handled as a user
 * would expect. The token never shows in a cause or a log line.
 *
 * The submit callback stands in for the router: it queues the events and
 * saves each offset in the real SQLite store, as the router does.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "fakes/fake_telegram.h"
#include "log.h"
#include "store.h"
#include "t.h"
#include "t_store.h"
#include "t_chat.h"
#include "util.h"

#define TOKEN		"123456789:AAHsecretTOKENvalue-xyz_0123456789"
#define BOT		"pvebot_test"
#define BOT_ID		900001
#define USER		42		/* configured user */
#define GROUP		-100200		/* configured group */
#define GROUP2		-100300		/* configured group, commands off */

struct env {
	struct fake_telegram	*fake;
	struct conf		 conf;
	struct conf_room	 rooms[2];
	char			*users[1];
	struct chat_ctx		 ctx;
	struct connector	*c;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct chat_event	*evs[128];
	size_t			 nev, next;
	struct store		*st;	/* the poller thread's, via submit */
	int			 hold_offsets;	/* do not save offsets */
};

static void
submit(void *arg, struct chat_event *ev)
{
	struct env	*e = arg;
	char		*cause = NULL;

	pthread_mutex_lock(&e->lock);
	if (!e->hold_offsets && ev->offset != NULL) {
		if (e->st == NULL)
			e->st = store_open(e->conf.database, &cause);
		free(cause);
		if (e->st != NULL)
			store_offset_set(e->st, ev->offset_key, ev->offset);
		/* As the router does after its commit. */
		if (ev->saved != NULL)
			ev->saved(ev->saved_arg, ev->offset, 1);
	}
	if (e->nev < nitems(e->evs))
		e->evs[e->nev++] = ev;
	else
		chat_event_free(ev);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* The next event, or NULL after timeout_ms. */
static struct chat_event *
next_event(struct env *e, int timeout_ms)
{
	struct chat_event	*ev = NULL;
	int64_t			 deadline = now_ms() + timeout_ms;

	pthread_mutex_lock(&e->lock);
	while (e->next == e->nev && now_ms() < deadline) {
		pthread_mutex_unlock(&e->lock);
		sleep_ms(10);
		pthread_mutex_lock(&e->lock);
	}
	if (e->next < e->nev)
		ev = e->evs[e->next++];
	pthread_mutex_unlock(&e->lock);
	return ev;
}

static void
env_conf(struct env *e, const char *token)
{
	memset(&e->conf, 0, sizeof e->conf);
	e->conf.database = t_store_db("pvebot.db");
	e->conf.chat.max_command_age = 300;
	e->conf.chat.bot_name = (char *)"pvebot";
	e->rooms[0].id = (char *)"-100200";
	e->rooms[0].commands = 1;
	e->rooms[1].id = (char *)"-100300";
	e->rooms[1].commands = 0;
	e->users[0] = (char *)"42";
	e->conf.chat.telegram.enabled = 1;
	e->conf.chat.telegram.api_url = (char *)fake_telegram_url(e->fake);
	e->conf.chat.telegram.token = (char *)token;
	e->conf.chat.telegram.chats = e->rooms;
	e->conf.chat.telegram.nchats = 2;
	e->conf.chat.telegram.users = e->users;
	e->conf.chat.telegram.nusers = 1;
	e->conf.chat.telegram.poll_timeout = 5;
}

/* A fake, a config and a connector (started when `start`). */
static struct env *
env_new(int start)
{
	struct env	*e = xcalloc(1, sizeof *e);
	char		*cause = NULL;

	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->fake = fake_telegram_start(TOKEN, BOT, BOT_ID);
	T_OK(e->fake != NULL);
	env_conf(e, TOKEN);
	e->ctx.conf = &e->conf;
	e->ctx.submit = submit;
	e->ctx.submit_arg = e;
	e->c = chat_telegram_create(&e->ctx, &cause);
	T_OK(e->c != NULL);
	if (cause != NULL)
		printf("  cause: %s\n", cause);
	free(cause);
	if (start && e->c != NULL) {
		T_EQ_INT(e->c->ops->start(e->c, &cause), 0);
		if (cause != NULL)
			printf("  cause: %s\n", cause);
		free(cause);
	}
	return e;
}

static void
env_free(struct env *e)
{
	size_t	 i;

	if (t_case_failed) {
		char	*d = fake_telegram_dump(e->fake);

		printf("  fake calls:\n%s", d);
		free(d);
	}
	chat_free(e->c);
	fake_telegram_stop(e->fake);
	for (i = 0; i < e->nev; i++)
		chat_event_free(e->evs[i]);
	store_close(e->st);
	free(e->conf.database);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* The i-th recorded call's parameter as text (caller frees). */
static char *
call_param(struct env *e, const char *method, size_t i, const char *key)
{
	json_t	*p = fake_telegram_call(e->fake, method, i, NULL, NULL);
	json_t	*v = json_object_get(p, key);
	char	*out = NULL;

	if (json_is_string(v))
		out = xstrdup(json_string_value(v));
	else if (v != NULL)
		out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_SORT_KEYS);
	json_decref(p);
	return out;
}

static long long
ref_id(const char *ref)
{
	const char	*errstr;

	if (ref == NULL)
		return -1;
	return strtonum(ref, 1, 1LL << 53, &errstr);
}

/* ------------------------------------------------------------------ */

static void
test_message_becomes_event(void)
{
	struct env		*e = env_new(1);
	struct chat_event	*ev;
	long long		 uid, date = wall_now() - 1000;

	uid = fake_telegram_inject_message(e->fake, USER, USER, "status",
	    date);
	ev = next_event(e, 5000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		char	*off = xasprintf("%lld", uid + 1);

		T_EQ_INT(ev->kind, CHAT_EV_MESSAGE);
		T_EQ_STR(ev->connector, "telegram");
		T_EQ_STR(ev->room, "42");
		T_EQ_STR(ev->user, "telegram:42");
		T_EQ_STR(ev->text, "status");
		T_EQ_INT(ev->sent_at, date);
		T_EQ_INT(ev->direct, 1);
		T_EQ_INT(ev->addressed, 1);
		T_EQ_STR(ev->offset_key, "telegram");
		T_EQ_STR(ev->offset, off);
		free(off);
	}

	/* In a group: /cmd@thisbot is for us, delivered as /cmd. */
	fake_telegram_inject_message(e->fake, GROUP, 7, "/start@PveBot_Test 101",
	    0);
	ev = next_event(e, 5000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_INT(ev->kind, CHAT_EV_MESSAGE);
		T_EQ_STR(ev->room, "-100200");
		T_EQ_STR(ev->user, "telegram:7");
		T_EQ_STR(ev->text, "/start 101");
		T_EQ_INT(ev->direct, 0);
		T_EQ_INT(ev->addressed, 1);
	}
	/* The bare /start that opens a chat with the bot means help. */
	fake_telegram_inject_message(e->fake, USER, USER, "/start", 0);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_MESSAGE);
	if (ev != NULL)
		T_EQ_STR(ev->text, "help");
	/* A mention addresses pvebot too; the mention is dropped. */
	fake_telegram_inject_message(e->fake, GROUP, 7, "@pvebot_test status",
	    0);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_MESSAGE);
	if (ev != NULL) {
		T_EQ_STR(ev->text, "status");
		T_EQ_INT(ev->addressed, 1);
	}
	/* Plain chatter in a group is passed on, but not as addressed. */
	fake_telegram_inject_message(e->fake, GROUP, 7, "lunch anyone?", 0);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_MESSAGE && !ev->addressed);
	/* getUpdates asked only for what pvebot handles. */
	{
		char	*allowed = call_param(e, "getUpdates", 0,
			    "allowed_updates");

		T_EQ_STR(allowed, "[\"message\",\"callback_query\"]");
		free(allowed);
	}
	env_free(e);
}

static void
test_filtered_updates_only_move_the_offset(void)
{
	struct env		*e = env_new(1);
	struct chat_event	*ev;
	long long		 last;
	int			 i;

	fake_telegram_inject_message(e->fake, -555, USER, "/start 101", 0);
	fake_telegram_inject_message(e->fake, GROUP, 7, "/start@otherbot 101",
	    0);
	fake_telegram_inject_bot_message(e->fake, GROUP, 31337, "/start 101");
	fake_telegram_inject_message(e->fake, 99, 99, "start 101", 0);
	fake_telegram_inject_message(e->fake, GROUP2, 7, "/start 101", 0);
	last = fake_telegram_inject_message(e->fake, GROUP, 7, "/status", 0);

	for (i = 0; i < 5; i++) {
		char	*off;

		ev = next_event(e, 5000);
		T_OK(ev != NULL);
		if (ev == NULL)
			break;
		off = xasprintf("%lld", last - 5 + i + 1);
		/* Unserved chats are named (the router may audit them);
		 * nothing of them is a command. */
		T_OK(ev->kind == CHAT_EV_OFFSET || ev->kind == CHAT_EV_UNSERVED);
		T_OK(ev->text == NULL && ev->answer == NULL);
		T_EQ_STR(ev->offset, off);
		free(off);
	}
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_MESSAGE);
	if (ev != NULL)
		T_EQ_STR(ev->text, "/status");
	/* Nothing else came through, and nobody was answered. */
	T_OK(next_event(e, 300) == NULL);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 0);
	/* The next poll confirms everything to Telegram. */
	fake_telegram_inject_message(e->fake, USER, USER, "help", 0);
	T_OK(next_event(e, 5000) != NULL);
	T_OK(fake_telegram_confirmed(e->fake) >= last + 1);
	env_free(e);
}

static void
test_whoami_in_an_unconfigured_chat(void)
{
	struct env		*e = env_new(1);
	struct chat_event	*ev;

	/* How an operator finds the ids before they are in bot.conf. */
	fake_telegram_inject_message(e->fake, -100777, 5150,
	    "/whoami@pvebot_test", 0);
	ev = next_event(e, 5000);
	/* The hint rides on the event: the router answers (outbox). */
	T_OK(ev != NULL && ev->kind == CHAT_EV_UNSERVED);
	if (ev != NULL) {
		T_EQ_STR(ev->room, "-100777");
		T_EQ_STR(ev->user, "telegram:5150");
		T_CONTAINS(ev->answer, "chat id: -100777");
		T_CONTAINS(ev->answer, "your user id: 5150");
	}
	/* Other commands there get nothing, nor whoami for another bot. */
	fake_telegram_inject_message(e->fake, -100777, 5150, "/start 101", 0);
	fake_telegram_inject_message(e->fake, -100777, 5150,
	    "/whoami@otherbot", 0);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->answer == NULL);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->answer == NULL);
	/* A private chat from an unknown user works the same way. */
	fake_telegram_inject_message(e->fake, 5150, 5150, "whoami", 0);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_UNSERVED);
	if (ev != NULL)
		T_CONTAINS(ev->answer, "private chat");
	/* The connector itself never sends. */
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 0);
	env_free(e);
}

static void
test_offset_waits_for_the_router(void)
{
	struct env	*e;
	struct store	*st;
	char		*cause = NULL, *off;
	long long	 uid;

	/* A saved offset is where polling resumes. */
	e = env_new(0);
	st = store_open(e->conf.database, &cause);
	T_OK(st != NULL);
	free(cause);
	store_offset_set(st, "telegram", "499990");
	store_close(st);
	T_EQ_INT(e->c->ops->start(e->c, NULL), 0);
	T_EQ_INT(fake_telegram_wait_calls(e->fake, "getUpdates", 1, 3000), 0);
	off = call_param(e, "getUpdates", 0, "offset");
	T_EQ_STR(off, "499990");
	free(off);

	/*
	 * While the router has not saved an update's offset, Telegram is not
	 * told to forget it (so a crash now loses nothing).
	 */
	pthread_mutex_lock(&e->lock);
	e->hold_offsets = 1;
	pthread_mutex_unlock(&e->lock);
	uid = fake_telegram_inject_message(e->fake, USER, USER, "status", 0);
	T_OK(next_event(e, 5000) != NULL);
	sleep_ms(800);
	T_OK(fake_telegram_confirmed(e->fake) <= uid);
	/* Once saved, polling goes on past it. */
	pthread_mutex_lock(&e->lock);
	e->hold_offsets = 0;
	pthread_mutex_unlock(&e->lock);
	st = store_open(e->conf.database, &cause);
	free(cause);
	off = xasprintf("%lld", uid + 1);
	store_offset_set(st, "telegram", off);
	store_close(st);
	{
		struct chat_event	*held = e->evs[e->nev - 1];

		held->saved(held->saved_arg, off, 1);
	}
	free(off);
	{
		int64_t	 deadline = now_ms() + 3000;

		while (fake_telegram_confirmed(e->fake) < uid + 1 &&
		    now_ms() < deadline)
			sleep_ms(10);
	}
	T_EQ_INT(fake_telegram_confirmed(e->fake), uid + 1);
	env_free(e);
}

static void
test_send_escapes_html(void)
{
	struct env	*e = env_new(0);
	struct chat_msg	 msg = { 0 };
	char		*ref = NULL, *cause = NULL, *text, *html, *mode;
	int		 rc;

	msg.title = "Guest <b>&evil</b>";
	msg.text = "name: <b>&evil</b> \"quoted\"\n<script>x</script>";
	rc = chat_send(e->c, "42", &msg, &ref, &cause);
	T_EQ_INT(rc, CHAT_OK);
	T_OK(ref != NULL);
	text = fake_telegram_message_text(e->fake, USER, ref_id(ref));
	T_EQ_STR(text, "Guest <b>&evil</b>\nname: <b>&evil</b> \"quoted\"\n"
	    "<script>x</script>");
	html = call_param(e, "sendMessage", 0, "text");
	T_CONTAINS(html, "<b>Guest &lt;b&gt;&amp;evil&lt;/b&gt;</b>");
	T_NOT_CONTAINS(html, "<script>");
	mode = call_param(e, "sendMessage", 0, "parse_mode");
	T_EQ_STR(mode, "HTML");
	free(text);
	free(html);
	free(mode);
	free(ref);
	free(cause);

	/* Monospace bodies go in <pre>, still escaped. */
	msg.title = NULL;
	msg.text = "vmid  name\n101   <web-01>";
	msg.pre = 1;
	ref = NULL;
	T_EQ_INT(chat_send(e->c, "42", &msg, &ref, NULL), CHAT_OK);
	html = call_param(e, "sendMessage", 1, "text");
	T_EQ_STR(html, "<pre>vmid  name\n101   &lt;web-01&gt;</pre>");
	free(html);
	free(ref);

	/* Nothing to say is refused before the wire. */
	msg.text = "";
	cause = NULL;
	T_EQ_INT(chat_send(e->c, "42", &msg, NULL, &cause), CHAT_PERMANENT);
	T_CONTAINS(cause, "empty");
	free(cause);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 2);
	env_free(e);
}

static void
test_long_message_split_at_lines(void)
{
	struct env	*e = env_new(0);
	struct chat_msg	 msg = { 0 };
	struct buf	 b, joined;
	char		*ref = NULL, *cause = NULL;
	size_t		 n, i;
	int		 line;

	buf_init(&b, 0);
	for (line = 0; line < 150; line++)
		buf_printf(&b, "line %03d: guest <%d> is running fine ok\n",
		    line, 100 + line);
	msg.title = "Report";
	msg.text = buf_cstr(&b);
	msg.buttons = (struct chat_button[]){ { "Ack", "ack:1", NULL,
	    CHAT_BUTTON_PRIMARY } };
	msg.nbuttons = 1;
	T_EQ_INT(chat_send(e->c, "42", &msg, &ref, &cause), CHAT_OK);
	n = fake_telegram_ncalls(e->fake, "sendMessage");
	T_EQ_INT(n, 2);		/* ~6,150 characters */
	buf_init(&joined, 0);
	for (i = 0; i < n; i++) {
		json_t		*p = fake_telegram_call(e->fake, "sendMessage",
				    i, NULL, NULL);
		const char	*html = json_string_value(json_object_get(p,
				    "text"));
		char		*plain = NULL, *err = NULL;
		size_t		 units = 0;

		T_EQ_INT(fake_telegram_parse_html(html, &plain, &units, &err),
		    0);
		T_OK(units <= 4096);
		/* Every part starts at the beginning of a line. */
		T_OK(plain != NULL && (i == 0 ?
		    str_has_prefix(plain, "Report\nline 000") :
		    str_has_prefix(plain, "line ")));
		/* ...and ends at the end of one. */
		T_OK(plain != NULL && strlen(plain) > 2 &&
		    strcmp(plain + strlen(plain) - 2, "ok") == 0);
		/* Only the last part carries the button. */
		T_EQ_INT(json_object_get(p, "reply_markup") != NULL,
		    i + 1 == n);
		if (plain != NULL)
			buf_printf(&joined, "%s\n", plain);
		free(plain);
		free(err);
		json_decref(p);
	}
	/* Nothing lost or doubled. */
	T_OK(joined.data != NULL && strcmp(joined.data + strlen("Report\n"),
	    b.data) == 0);
	/* The ref is the last part, the one with the buttons. */
	{
		char	*markup = fake_telegram_message_markup(e->fake, USER,
			    ref_id(ref));

		T_CONTAINS(markup, "ack:1");
		free(markup);
	}
	buf_release(&joined);
	free(ref);
	free(cause);

	/* One line longer than a message is cut, not refused. */
	buf_reset(&b);
	for (i = 0; i < 5000; i++)
		buf_puts(&b, "é");
	msg.title = NULL;
	msg.text = buf_cstr(&b);
	msg.nbuttons = 0;
	ref = NULL;
	T_EQ_INT(chat_send(e->c, "43", &msg, &ref, NULL), CHAT_OK);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), n + 2);
	free(ref);
	buf_release(&b);
	env_free(e);
}

static void
test_edit_and_not_modified(void)
{
	struct env		*e = env_new(0);
	struct chat_button	 btns[] = {
		{ "Approve", "ap:12:3f9c", "✅", CHAT_BUTTON_SUCCESS },
		{ "Deny", "dn:12:3f9c", "❌", CHAT_BUTTON_DANGER },
	};
	struct chat_msg		 msg = { 0 };
	char			*ref = NULL, *cause = NULL, *text, *markup;
	int			 status = 0;
	json_t			*p;

	msg.text = "Job 12: snapshot 101 - waiting for approval";
	msg.buttons = btns;
	msg.nbuttons = 2;
	T_EQ_INT(chat_send(e->c, "42", &msg, &ref, &cause), CHAT_OK);

	/* The decision edits the message and the buttons go away. */
	msg.text = "Job 12: approved by telegram:7";
	msg.nbuttons = 0;
	T_EQ_INT(chat_edit(e->c, "42", ref, &msg, &cause), CHAT_OK);
	text = fake_telegram_message_text(e->fake, USER, ref_id(ref));
	T_EQ_STR(text, "Job 12: approved by telegram:7");
	free(text);
	markup = fake_telegram_message_markup(e->fake, USER, ref_id(ref));
	T_EQ_STR(markup, "");
	free(markup);
	markup = call_param(e, "editMessageText", 0, "reply_markup");
	T_EQ_STR(markup, "{\"inline_keyboard\":[]}");
	free(markup);

	/* The same edit again: Telegram says "not modified"; that is fine. */
	T_EQ_INT(chat_edit(e->c, "42", ref, &msg, &cause), CHAT_OK);
	p = fake_telegram_call(e->fake, "editMessageText", 1, NULL, &status);
	T_OK(p != NULL);
	T_EQ_INT(status, 400);
	json_decref(p);

	/* Editing a message that does not exist is a permanent error. */
	T_EQ_INT(chat_edit(e->c, "43", "999999", &msg, &cause),
	    CHAT_PERMANENT);
	T_CONTAINS(cause, "message to edit not found");
	free(cause);
	free(ref);
	env_free(e);
}

static void
test_buttons_and_press(void)
{
	struct env		*e = env_new(1);
	struct chat_button	 btns[] = {
		{ "Approve", "ap:12:3f9c0a", "✅", CHAT_BUTTON_SUCCESS },
		{ "Deny", "dn:12:3f9c0a", "❌", CHAT_BUTTON_DANGER },
	};
	struct chat_msg		 msg = { 0 };
	struct chat_event	*ev;
	char			*ref = NULL, *cause = NULL, *markup, *ans;
	char			 qid[32], long_data[80], long_text[400];

	msg.title = "Approval needed";
	msg.text = "bob asks: rollback 101 pre-upgrade";
	msg.buttons = btns;
	msg.nbuttons = 2;
	T_EQ_INT(chat_send(e->c, "-100200", &msg, &ref, &cause), CHAT_OK);
	markup = call_param(e, "sendMessage", 0, "reply_markup");
	T_EQ_STR(markup, "{\"inline_keyboard\":[[{\"callback_data\":"
	    "\"ap:12:3f9c0a\",\"style\":\"success\",\"text\":\"✅ Approve\"},"
	    "{\"callback_data\":\"dn:12:3f9c0a\",\"style\":\"danger\","
	    "\"text\":\"❌ Deny\"}]]}");
	free(markup);

	fake_telegram_press(e->fake, GROUP, 7, ref_id(ref), "ap:12:3f9c0a",
	    qid);
	ev = next_event(e, 5000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_INT(ev->kind, CHAT_EV_BUTTON);
		T_EQ_STR(ev->user, "telegram:7");
		T_EQ_STR(ev->room, "-100200");
		T_EQ_STR(ev->button_data, "ap:12:3f9c0a");
		T_EQ_STR(ev->msg_ref, ref);
		T_EQ_STR(ev->reply_token, qid);
		T_OK(ev->sent_at >= wall_now() - 5);
		/* The answer stops the spinner. */
		T_EQ_INT(chat_answer(e->c, ev, "Approved. Job 12 is queued."),
		    0);
		ans = fake_telegram_answer(e->fake, qid);
		T_EQ_STR(ans, "Approved. Job 12 is queued.");
		free(ans);
	}

	/* A long answer is cut to what Telegram takes (200 characters). */
	memset(long_text, 'x', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	fake_telegram_press(e->fake, GROUP, 8, ref_id(ref), "dn:12:3f9c0a",
	    qid);
	ev = next_event(e, 5000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_INT(chat_answer(e->c, ev, long_text), 0);
		ans = fake_telegram_answer(e->fake, qid);
		T_OK(ans != NULL && strlen(ans) == 200);
		free(ans);
	}

	/* An alert-only chat (commands: false) still takes button presses. */
	fake_telegram_press(e->fake, GROUP2, 7, 4242, "ack:3", qid);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_BUTTON);
	if (ev != NULL) {
		T_EQ_STR(ev->room, "-100300");
		T_EQ_STR(ev->button_data, "ack:3");
	}

	/* A press in a chat pvebot does not serve is not an event. */
	fake_telegram_press(e->fake, -777, 7, ref_id(ref), "ap:12:3f9c0a",
	    NULL);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_OFFSET);

	/* Button data over 64 bytes is refused before the wire. */
	memset(long_data, 'a', 65);
	long_data[65] = '\0';
	btns[0].data = long_data;
	T_EQ_INT(chat_send(e->c, "-100200", &msg, NULL, &cause),
	    CHAT_PERMANENT);
	T_CONTAINS(cause, "64 bytes");
	free(cause);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 1);
	free(ref);
	env_free(e);
}

/* The gap between the i-th and j-th sendMessage calls, ms. */
static int64_t
send_gap(struct env *e, size_t i, size_t j)
{
	int64_t	 a = 0, b = 0;

	json_decref(fake_telegram_call(e->fake, "sendMessage", i, &a, NULL));
	json_decref(fake_telegram_call(e->fake, "sendMessage", j, &b, NULL));
	return b - a;
}

static void
test_sends_are_paced_per_chat(void)
{
	struct env	*e = env_new(0);
	struct chat_msg	 msg = { 0 };

	struct chat_msg	 msgs[4];
	const char	*rooms[] = { "-100200", "42", "42", "-100200" };
	int		 i;

	msg.text = "tick";
	for (i = 0; i < 4; i++)
		msgs[i] = msg;
	/* group, private, private, group, written at once: the sender
	 * spaces them about 1 s in a private chat, 3 s in a group. */
	T_EQ_INT(t_chat_deliver_all(e->c, NULL, rooms, msgs, 4, 15000), 4);
	/* Another chat was not held back by the first. */
	T_OK(send_gap(e, 0, 1) < 500);
	T_OK(send_gap(e, 1, 2) >= 950);
	T_OK(send_gap(e, 0, 3) >= 2950);
	env_free(e);
}

static void
test_429_retry_after_is_honoured(void)
{
	struct env	*e = env_new(0);
	struct chat_msg	 msg = { 0 };
	char		*cause = NULL, *ref;
	int64_t		 t0 = 0, t2 = 0;
	int		 st0 = 0, st1 = 0;
	json_t		*p;

	msg.text = "hello";
	fake_telegram_fault(e->fake, "sendMessage", FAKE_TG_429, 2, 1);
	ref = t_chat_deliver(e->c, NULL, "42", &msg, 10000);
	T_OK(ref != NULL);
	free(ref);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 2);
	p = fake_telegram_call(e->fake, "sendMessage", 0, NULL, &st0);
	json_decref(p);
	p = fake_telegram_call(e->fake, "sendMessage", 1, NULL, &st1);
	json_decref(p);
	T_EQ_INT(st0, 429);
	T_EQ_INT(st1, 200);
	T_OK(send_gap(e, 0, 1) >= 1950);
	/* One attempt never waits: a 60 s retry_after is handed back at
	 * once, for the sender to honour. */
	fake_telegram_fault(e->fake, "sendMessage", FAKE_TG_429, 60, 1);
	t0 = now_ms();
	T_EQ_INT(chat_send(e->c, "43", &msg, NULL, &cause), CHAT_TEMPORARY);
	t2 = now_ms();
	T_OK(t2 - t0 < 1000);
	T_EQ_INT(e->c->ops->retry_after(e->c), 60000);
	T_EQ_INT(e->c->ops->retry_after(e->c), 0);
	T_CONTAINS(cause, "429");
	free(cause);
	env_free(e);
}

static void
test_poll_recovers_from_5xx_garbage_and_drops(void)
{
	struct env		*e;
	struct chat_event	*ev;
	int64_t			 t0, t1;
	int			 st = 0;
	size_t			 n, i;

	e = env_new(0);
	fake_telegram_fault(e->fake, "getUpdates", FAKE_TG_5XX, 502, 1);
	fake_telegram_fault(e->fake, "getUpdates", FAKE_TG_GARBAGE, 0, 1);
	fake_telegram_fault(e->fake, "getUpdates", FAKE_TG_DROP, 0, 1);
	fake_telegram_inject_message(e->fake, USER, USER, "status", 0);
	t0 = now_ms();
	T_EQ_INT(e->c->ops->start(e->c, NULL), 0);
	ev = next_event(e, 15000);
	t1 = now_ms();
	T_OK(ev != NULL && ev->kind == CHAT_EV_MESSAGE);
	/* Three failures then success, never spinning: backoff >= 1.5 s. */
	n = fake_telegram_ncalls(e->fake, "getUpdates");
	T_OK(n >= 4);
	T_OK(t1 - t0 >= 1500);
	{
		static const int want[] = { 502, 200, 0 };	/* 0: dropped */

		for (i = 0; i < 3 && i < n; i++) {
			json_decref(fake_telegram_call(e->fake, "getUpdates",
			    i, NULL, &st));
			T_EQ_INT(st, want[i]);
		}
	}
	env_free(e);

	/* A send that meets a 5xx is temporary: chat_deliver retries it. */
	e = env_new(0);
	{
		struct chat_msg	 msg = { 0 };
		char		*cause = NULL, *ref = NULL;

		msg.text = "Job 3 done";
		fake_telegram_fault(e->fake, "sendMessage", FAKE_TG_5XX, 500,
		    1);
		T_EQ_INT(chat_send(e->c, "42", &msg, NULL, &cause),
		    CHAT_TEMPORARY);
		T_CONTAINS(cause, "sendMessage");
		free(cause);
		fake_telegram_fault(e->fake, "sendMessage", FAKE_TG_5XX, 503,
		    2);
		ref = t_chat_deliver(e->c, NULL, "42", &msg, 20000);
		T_OK(ref != NULL);
		T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 4);
		free(ref);
	}
	env_free(e);
}

static void
test_stop_is_prompt_and_slow_replies_wait(void)
{
	struct env	*e = env_new(1);
	struct chat_msg	 msg = { 0 };
	int64_t		 t0;

	/* A slow reply is waited for, not treated as a failure. */
	msg.text = "slow";
	fake_telegram_fault(e->fake, "sendMessage", FAKE_TG_SLOW, 1500, 1);
	t0 = now_ms();
	T_EQ_INT(chat_send(e->c, "42", &msg, NULL, NULL), CHAT_OK);
	T_OK(now_ms() - t0 >= 1400);
	/* Stopping does not wait for a long poll's timeout (5 s here). */
	T_EQ_INT(fake_telegram_wait_calls(e->fake, "getUpdates", 1, 3000), 0);
	sleep_ms(300);
	t0 = now_ms();
	e->c->ops->stop(e->c);
	T_OK(now_ms() - t0 < 1000);
	/* Sends still work after the receiving side stopped. */
	T_EQ_INT(chat_send(e->c, "43", &msg, NULL, NULL), CHAT_OK);
	env_free(e);
}

static void
test_getme_401_is_clear(void)
{
	struct env	*e = xcalloc(1, sizeof *e);
	char		*cause = NULL;
	const char	*wrong = "987654321:AAWrongWrongWrongWrongWrong_12345";

	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->fake = fake_telegram_start(TOKEN, BOT, BOT_ID);
	env_conf(e, wrong);
	e->ctx.conf = &e->conf;
	e->ctx.submit = submit;
	e->ctx.submit_arg = e;
	e->c = chat_telegram_create(&e->ctx, &cause);
	T_OK(e->c != NULL);
	T_EQ_INT(e->c->ops->start(e->c, &cause), -1);
	T_EQ_STR(cause, "Telegram rejected the bot token (401 Unauthorized): "
	    "check telegram.token");
	T_NOT_CONTAINS(cause, wrong);
	free(cause);
	cause = NULL;
	/* One try: a rejected token is not retried. */
	T_EQ_INT(fake_telegram_ncalls(e->fake, "getMe"), 1);
	env_free(e);

	/* A token that cannot be part of a URL is refused at once. */
	e = xcalloc(1, sizeof *e);
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->fake = fake_telegram_start(TOKEN, BOT, BOT_ID);
	env_conf(e, "12345:abc/../def");
	e->ctx.conf = &e->conf;
	e->c = chat_telegram_create(&e->ctx, &cause);
	T_OK(e->c == NULL);
	T_CONTAINS(cause, "invalid format");
	T_NOT_CONTAINS(cause, "abc/../def");
	free(cause);
	env_free(e);
}

static void
test_supergroup_migration(void)
{
	struct env		*e = env_new(1);
	struct chat_event	*ev;
	struct chat_msg		 msg = { 0 };
	struct store		*st;
	char			*chat, *value = NULL, *cause = NULL;
	long long		 newid = -1001999888777LL;

	fake_telegram_migrate(e->fake, GROUP, newid);
	T_OK((ev = next_event(e, 5000)) != NULL &&
	    ev->kind == CHAT_EV_OFFSET);
	T_OK((ev = next_event(e, 5000)) != NULL &&
	    ev->kind == CHAT_EV_OFFSET);
	/* Messages in the supergroup are served under the configured id. */
	fake_telegram_inject_message(e->fake, newid, 7, "/status", 0);
	ev = next_event(e, 5000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_MESSAGE);
	if (ev != NULL)
		T_EQ_STR(ev->room, "-100200");
	/* Sends to the configured room reach the supergroup. */
	msg.text = "ok";
	T_EQ_INT(chat_send(e->c, "-100200", &msg, NULL, NULL), CHAT_OK);
	chat = call_param(e, "sendMessage", 0, "chat_id");
	T_EQ_STR(chat, "-1001999888777");
	free(chat);
	e->c->ops->stop(e->c);
	/* The mapping survives a restart. */
	st = store_open(e->conf.database, &cause);
	T_OK(st != NULL);
	T_EQ_INT(store_kv_get(st, "telegram.migrated.-100200", &value), 0);
	T_EQ_STR(value, "-1001999888777");
	free(value);
	store_close(st);
	chat_free(e->c);
	e->c = chat_telegram_create(&e->ctx, &cause);
	T_EQ_INT(e->c->ops->start(e->c, &cause), 0);
	T_EQ_INT(chat_send(e->c, "-100200", &msg, NULL, NULL), CHAT_OK);
	chat = call_param(e, "sendMessage", 1, "chat_id");
	T_EQ_STR(chat, "-1001999888777");
	free(chat);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 2);
	env_free(e);

	/* Learnt from a send's 400 + migrate_to_chat_id, without polling. */
	e = env_new(0);
	fake_telegram_migrate(e->fake, GROUP2, newid);
	T_EQ_INT(chat_send(e->c, "-100300", &msg, NULL, NULL), CHAT_OK);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), 2);
	chat = call_param(e, "sendMessage", 1, "chat_id");
	T_EQ_STR(chat, "-1001999888777");
	free(chat);
	env_free(e);
}

static void
test_token_absent_from_logs_and_causes(void)
{
	struct env		*e;
	struct chat_msg		 msg = { 0 };
	char			*cause = NULL, *log, *path, room[16];
	struct buf		 causes;
	int			 saved, fd;
	size_t			 i;

	path = t_path("stderr.log");
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	log_set_level(LOG_DEBUG);

	buf_init(&causes, 0);
	buf_append(&causes, "", 0);
	e = env_new(0);
	fake_telegram_fault(e->fake, "getUpdates", FAKE_TG_5XX, 500, 1);
	T_EQ_INT(e->c->ops->start(e->c, &cause), 0);
	fake_telegram_inject_message(e->fake, USER, USER, "status", 0);
	T_OK(next_event(e, 15000) != NULL);
	msg.text = "x";
	cause = NULL;
	T_EQ_INT(chat_edit(e->c, "42", "12345", &msg, &cause), CHAT_PERMANENT);
	buf_printf(&causes, "%s\n", cause != NULL ? cause : "");
	free(cause);
	for (i = 0; i < 4; i++) {
		static const enum fake_telegram_fault kinds[] = {
			FAKE_TG_5XX, FAKE_TG_GARBAGE, FAKE_TG_DROP, FAKE_TG_429
		};

		fake_telegram_fault(e->fake, "sendMessage", kinds[i],
		    kinds[i] == FAKE_TG_5XX ? 500 : 30, 1);
		cause = NULL;
		snprintf(room, sizeof room, "%zu", 50 + i);
		T_EQ_INT(chat_send(e->c, room, &msg, NULL, &cause),
		    CHAT_TEMPORARY);
		buf_printf(&causes, "%s\n", cause != NULL ? cause : "");
		free(cause);
	}
	env_free(e);

	log_set_level(LOG_INFO);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log = t_slurp(path);
	T_OK(log != NULL);
	/* The log did capture the failures... */
	T_CONTAINS(log, "getUpdates");
	T_CONTAINS(log, "level=warn");
	/* ...and neither the log nor any cause holds the token. */
	T_NOT_CONTAINS(log, TOKEN);
	T_NOT_CONTAINS(log, "AAHsecretTOKEN");
	T_CONTAINS(causes.data, "sendMessage");
	T_NOT_CONTAINS(causes.data, TOKEN);
	T_NOT_CONTAINS(causes.data, "AAHsecretTOKEN");
	T_NOT_CONTAINS(causes.data, "/bot");
	buf_release(&causes);
	free(log);
	free(path);
}

/*
 * Calls keep their connection: a start and twenty replies while the
 * poller long-polls cost a connection for the poll and one for the
 * sends, not one per call. A kept connection that drops a call fails
 * that call (libcurl's silent resend is refused: Telegram may have
 * handled it) and the next call works on a new connection.
 */
static void
test_calls_keep_their_connection(void)
{
	struct env		*e = env_new(1);
	struct chat_msg		 msg = { 0 };
	struct chat_event	*ev;
	char			*ref, *cause = NULL;
	unsigned long long	 conns;
	size_t			 i, sends;

	/* Twenty sends in a row to one chat: pacing is the sender's part
	 * (test_sends_are_paced_per_chat), the limits would only 429. */
	fake_telegram_limits(e->fake, 0);
	T_EQ_INT(fake_telegram_wait_calls(e->fake, "getUpdates", 1, 10000),
	    0);
	fake_telegram_inject_message(e->fake, USER, USER, "status", 0);
	ev = next_event(e, 10000);
	T_OK(ev != NULL && ev->kind == CHAT_EV_MESSAGE);
	msg.text = "Job 7 done";
	for (i = 0; i < 20; i++) {
		ref = NULL;
		T_EQ_INT(chat_send(e->c, "42", &msg, &ref, NULL), CHAT_OK);
		free(ref);
	}
	/* getMe, setMyCommands, getUpdates twice, 20 sendMessage. */
	conns = fake_telegram_connections(e->fake);
	printf("  note: %llu connections for %zu calls\n", conns,
	    fake_telegram_ncalls(e->fake, NULL));
	T_OK(conns >= 1 && conns <= 3);

	sends = fake_telegram_ncalls(e->fake, "sendMessage");
	fake_telegram_fault(e->fake, "sendMessage", FAKE_TG_DROP, 0, 1);
	T_EQ_INT(chat_send(e->c, "42", &msg, NULL, &cause), CHAT_TEMPORARY);
	T_CONTAINS(cause, "sendMessage");
	free(cause);
	/* Sent once: no second copy went out behind the caller's back. */
	T_EQ_INT(fake_telegram_ncalls(e->fake, "sendMessage"), sends + 1);
	ref = NULL;
	T_EQ_INT(chat_send(e->c, "42", &msg, &ref, NULL), CHAT_OK);
	T_OK(ref != NULL);
	free(ref);
	/* On a new connection: the dropped one is gone. */
	T_OK(fake_telegram_connections(e->fake) > conns);
	env_free(e);
}

static void
test_commands_published_at_start(void)
{
	struct env		*e = env_new(0);
	struct catalogue	*cat;
	char			*errors = NULL;
	json_t			*p, *cmds, *c;
	int			 status = 0, found_start = 0;
	size_t			 i;

	cat = catalogue_load("commands", &errors);
	T_OK(cat != NULL);
	if (errors != NULL)
		printf("  %s\n", errors);
	free(errors);
	e->ctx.catalogue = cat;
	T_EQ_INT(e->c->ops->start(e->c, NULL), 0);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "getMe"), 1);
	/* Published by the connector's thread, once connected. */
	T_EQ_INT(fake_telegram_wait_calls(e->fake, "setMyCommands", 1, 5000),
	    0);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "setMyCommands"), 1);
	p = fake_telegram_call(e->fake, "setMyCommands", 0, NULL, &status);
	T_EQ_INT(status, 200);
	cmds = json_object_get(p, "commands");
	T_OK(json_array_size(cmds) > 10);
	json_array_foreach(cmds, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "command")),
		    "start") == 0)
			found_start = 1;
	}
	T_OK(found_start);
	json_decref(p);
	e->c->ops->stop(e->c);
	env_free(e);
	catalogue_free(cat);
}

int
main(void)
{
	T_RUN(test_message_becomes_event);
	T_RUN(test_commands_published_at_start);
	T_RUN(test_filtered_updates_only_move_the_offset);
	T_RUN(test_whoami_in_an_unconfigured_chat);
	T_RUN(test_offset_waits_for_the_router);
	T_RUN(test_send_escapes_html);
	T_RUN(test_long_message_split_at_lines);
	T_RUN(test_edit_and_not_modified);
	T_RUN(test_buttons_and_press);
	T_RUN(test_sends_are_paced_per_chat);
	T_RUN(test_429_retry_after_is_honoured);
	T_RUN(test_poll_recovers_from_5xx_garbage_and_drops);
	T_RUN(test_stop_is_prompt_and_slow_replies_wait);
	T_RUN(test_getme_401_is_clear);
	T_RUN(test_supergroup_migration);
	T_RUN(test_token_absent_from_logs_and_causes);
	T_RUN(test_calls_keep_their_connection);
	return t_summary();
}
