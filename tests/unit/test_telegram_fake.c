/*
 * test_telegram_fake.c - the fake Bot API holds to the real wire format:
 * raw HTTP requests (JSON and form bodies) get the replies and the
 * refusals Telegram gives, so the connector tests that rely on it mean
 * something. pvebot itself refuses most of these before the wire, which
 * is why they are checked here with plain libcurl.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fakes/fake_telegram.h"
#include "t.h"
#include "util.h"

#define TOKEN	"424242:AAFakeTestTokenValue_0123456789abcdef"

static size_t
collect(char *p, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, p, size * nmemb);
	return size * nmemb;
}

/* POSTs body to /bot<token>/<method>; returns the HTTP status. */
static long
post(struct fake_telegram *f, const char *token, const char *method,
    const char *ctype, const char *body, json_t **reply)
{
	struct curl_slist	*h = NULL;
	struct buf		 b;
	CURL			*curl = curl_easy_init();
	char			*url, *hdr;
	long			 status = 0;

	buf_init(&b, 1 << 20);
	url = xasprintf("%s/bot%s/%s", fake_telegram_url(f), token, method);
	hdr = xasprintf("Content-Type: %s", ctype);
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(h);
	*reply = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	free(url);
	free(hdr);
	return status;
}

static const char *
desc(json_t *r)
{
	const char	*d = json_string_value(json_object_get(r,
			    "description"));

	return d != NULL ? d : "";
}

static void
test_wire_format_and_auth(void)
{
	struct fake_telegram	*f = fake_telegram_start(TOKEN, "fakebot", 77);
	json_t			*r = NULL;

	/* A wrong token: 401 in the Bot API's error shape. */
	T_EQ_INT(post(f, "1:wrong", "getMe", "application/json", "{}", &r),
	    401);
	T_OK(json_is_false(json_object_get(r, "ok")));
	T_EQ_INT(json_integer_value(json_object_get(r, "error_code")), 401);
	T_EQ_STR(desc(r), "Unauthorized");
	json_decref(r);

	T_EQ_INT(post(f, TOKEN, "getMe", "application/json", "{}", &r), 200);
	T_OK(json_is_true(json_object_get(r, "ok")));
	T_EQ_STR(json_string_value(json_object_get(json_object_get(r,
	    "result"), "username")), "fakebot");
	json_decref(r);

	/* Form bodies work as JSON ones do. */
	T_EQ_INT(post(f, TOKEN, "sendMessage",
	    "application/x-www-form-urlencoded",
	    "chat_id=42&text=hello+%3Cb%3Eworld%3C%2Fb%3E&parse_mode=HTML",
	    &r), 200);
	T_EQ_STR(json_string_value(json_object_get(json_object_get(r,
	    "result"), "text")), "hello world");
	json_decref(r);
	T_EQ_INT(post(f, TOKEN, "noSuchMethod", "application/json", "{}", &r),
	    404);
	json_decref(r);
	fake_telegram_stop(f);
}

static void
test_refuses_what_telegram_refuses(void)
{
	struct fake_telegram	*f = fake_telegram_start(TOKEN, "fakebot", 77);
	struct buf		 big;
	json_t			*r = NULL, *body;
	char			*s;
	int			 i;

	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"\"}", &r), 400);
	T_CONTAINS(desc(r), "message text is empty");
	json_decref(r);

	buf_init(&big, 0);
	for (i = 0; i < 4097; i++)
		buf_puts(&big, "x");
	body = json_pack("{s:i, s:s}", "chat_id", 42, "text", big.data);
	s = json_dumps(body, 0);
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json", s, &r),
	    400);
	T_CONTAINS(desc(r), "message is too long");
	json_decref(r);
	free(s);
	json_decref(body);
	/* 4096 after entity parsing is fine: &amp; counts as one. */
	buf_reset(&big);
	for (i = 0; i < 4096; i++)
		buf_puts(&big, "&amp;");
	body = json_pack("{s:i, s:s, s:s}", "chat_id", 42, "text", big.data,
	    "parse_mode", "HTML");
	s = json_dumps(body, 0);
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json", s, &r),
	    200);
	json_decref(r);
	free(s);
	json_decref(body);
	buf_release(&big);

	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"a\",\"parse_mode\":\"BBCode\"}", &r),
	    400);
	json_decref(r);
	/* Unescaped text is refused in HTML mode. */
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"<evil> & co\",\"parse_mode\":\"HTML\"}",
	    &r), 400);
	T_CONTAINS(desc(r), "can't parse entities");
	json_decref(r);
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"a & b\",\"parse_mode\":\"HTML\"}",
	    &r), 400);
	json_decref(r);
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"<b>open\",\"parse_mode\":\"HTML\"}",
	    &r), 400);
	json_decref(r);

	/* callback_data of 65 bytes. */
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"a\",\"reply_markup\":{\"inline_keyboard\":"
	    "[[{\"text\":\"b\",\"callback_data\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]]}}", &r), 400);
	T_CONTAINS(desc(r), "BUTTON_DATA_INVALID");
	json_decref(r);

	/* An answer to a query that does not exist. */
	T_EQ_INT(post(f, TOKEN, "answerCallbackQuery", "application/json",
	    "{\"callback_query_id\":\"123\",\"text\":\"x\"}", &r), 400);
	json_decref(r);
	fake_telegram_stop(f);
}

static void
test_offsets_and_long_poll(void)
{
	struct fake_telegram	*f = fake_telegram_start(TOKEN, "fakebot", 77);
	json_t			*r = NULL, *res;
	long long		 u1, u2;
	int64_t			 t0;

	u1 = fake_telegram_inject_message(f, 42, 42, "one", 0);
	u2 = fake_telegram_inject_message(f, 42, 42, "two", 0);
	T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json", "{}", &r),
	    200);
	T_EQ_INT(json_array_size(json_object_get(r, "result")), 2);
	json_decref(r);
	/* Unconfirmed updates come again. */
	T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json", "{}", &r),
	    200);
	T_EQ_INT(json_array_size(json_object_get(r, "result")), 2);
	json_decref(r);
	/* offset = u1 + 1 confirms u1 for good. */
	{
		char	*b = xasprintf("{\"offset\":%lld}", u1 + 1);

		T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json", b,
		    &r), 200);
		free(b);
	}
	res = json_object_get(r, "result");
	T_EQ_INT(json_array_size(res), 1);
	T_EQ_INT(json_integer_value(json_object_get(json_array_get(res, 0),
	    "update_id")), u2);
	json_decref(r);
	T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json", "{}", &r),
	    200);
	T_EQ_INT(json_array_size(json_object_get(r, "result")), 1);
	json_decref(r);
	/* With nothing pending, a long poll waits for its timeout. */
	{
		char	*b = xasprintf("{\"offset\":%lld,\"timeout\":1}", u2 + 1);

		t0 = now_ms();
		T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json", b,
		    &r), 200);
		T_OK(now_ms() - t0 >= 900);
		T_EQ_INT(json_array_size(json_object_get(r, "result")), 0);
		json_decref(r);
		free(b);
	}
	T_EQ_INT(fake_telegram_confirmed(f), u2 + 1);
	fake_telegram_stop(f);
}

/* getUpdates with a JSON body; the number of updates, -1 unreadable. */
static long
get_updates(struct fake_telegram *f, const char *body, long *status)
{
	json_t	*r = NULL;
	long	 n = -1;

	*status = post(f, TOKEN, "getUpdates", "application/json", body, &r);
	if (json_is_array(json_object_get(r, "result")))
		n = (long)json_array_size(json_object_get(r, "result"));
	json_decref(r);
	return n;
}

static void
test_confirmed_updates_are_forgotten_as_on_telegram(void)
{
	struct fake_telegram	*f = fake_telegram_start(TOKEN, "fakebot", 77);
	long long		 u1, u2, u3, u4, raw, press;
	json_t			*r = NULL;
	long			 status;
	char			*b;
	int64_t			 t0;

	u1 = fake_telegram_inject_message(f, 42, 42, "one", 0);
	u2 = fake_telegram_inject_message(f, 42, 42, "two", 0);
	u3 = fake_telegram_inject_message(f, 42, 42, "three", 0);
	u4 = fake_telegram_inject_message(f, 42, 42, "four", 0);
	/* A negative offset keeps the last -offset; the rest is forgotten. */
	T_EQ_INT(get_updates(f, "{\"offset\":-2}", &status), 2);
	T_OK(fake_telegram_forgotten(f, u1) && fake_telegram_forgotten(f, u2));
	T_OK(!fake_telegram_forgotten(f, u3) && !fake_telegram_forgotten(f,
	    u4));
	T_EQ_INT(fake_telegram_delivered_at(f, u1), -1);
	T_OK(fake_telegram_delivered_at(f, u3) >= 0);
	/* An offset confirms even when the call then fails. */
	fake_telegram_fault(f, "getUpdates", FAKE_TG_5XX, 502, 1);
	b = xasprintf("{\"offset\":%lld}", u4 + 1);
	T_EQ_INT(get_updates(f, b, &status), -1);
	T_EQ_INT(status, 502);
	free(b);
	T_OK(fake_telegram_forgotten(f, u3) && fake_telegram_forgotten(f, u4));
	T_EQ_INT(fake_telegram_confirmed(f), u4 + 1);

	/* allowed_updates holds until a call changes it. */
	press = fake_telegram_press(f, 42, 42, 100, "ap:1:x", NULL);
	fake_telegram_inject_message(f, 42, 42, "five", 0);
	T_EQ_INT(get_updates(f, "{\"allowed_updates\":"
	    "[\"callback_query\"]}", &status), 1);
	T_EQ_INT(get_updates(f, "{}", &status), 1);
	T_EQ_INT(get_updates(f, "{\"allowed_updates\":[]}", &status), 2);
	b = xasprintf("{\"offset\":%lld}", press + 2);
	T_EQ_INT(get_updates(f, b, &status), 0);
	free(b);

	/* A raw update is served as it is, and forgotten by its id. */
	raw = fake_telegram_inject_raw(f,
	    "{\"update_id\":%ID%,\"message\":{");
	T_EQ_INT(get_updates(f, "{}", &status), -1);
	T_EQ_INT(status, 200);
	b = xasprintf("{\"offset\":%lld}", raw + 1);
	T_EQ_INT(get_updates(f, b, &status), 0);
	free(b);
	T_OK(fake_telegram_forgotten(f, raw));

	/* A hang holds the call unhandled, then drops it. */
	fake_telegram_hang(f, "sendMessage", 300);
	t0 = now_ms();
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"held\"}", &r), 0);
	json_decref(r);
	T_OK(now_ms() - t0 >= 290);
	T_EQ_INT(fake_telegram_count(f, 42, "held"), 0);
	/* Then Telegram answers again. */
	T_EQ_INT(post(f, TOKEN, "sendMessage", "application/json",
	    "{\"chat_id\":42,\"text\":\"held\"}", &r), 200);
	json_decref(r);
	T_EQ_INT(fake_telegram_count(f, 42, "held"), 1);
	fake_telegram_stop(f);
}

/* sendMessage of "text" to chat; the HTTP status, *id the message id. */
static long
send_to(struct fake_telegram *f, long long chat, const char *text,
    long long *id, int *retry_after)
{
	json_t	*r = NULL;
	char	*body = xasprintf("{\"chat_id\":%lld,\"text\":\"%s\"}", chat,
		    text);
	long	 st = post(f, TOKEN, "sendMessage", "application/json", body,
		    &r);

	if (id != NULL)
		*id = json_integer_value(json_object_get(json_object_get(r,
		    "result"), "message_id"));
	if (retry_after != NULL)
		*retry_after = (int)json_integer_value(json_object_get(
		    json_object_get(r, "parameters"), "retry_after"));
	if (st == 429)
		T_CONTAINS(desc(r), "Too Many Requests: retry after ");
	json_decref(r);
	free(body);
	return st;
}

/*
 * A bot edits only what it sent, in the chat it sent it to: a user's
 * message or another chat's id is refused like Telegram does.
 */
static void
test_edit_only_own_messages(void)
{
	struct fake_telegram	*f = fake_telegram_start(TOKEN, "fakebot", 77);
	json_t			*r = NULL;
	long long		 mine, theirs;
	char			*body;

	T_EQ_INT(send_to(f, 42, "mine", &mine, NULL), 200);
	fake_telegram_inject_message(f, 42, 1001, "a user's words", 0);
	theirs = mine + 1;	/* ids are given out in order */
	body = xasprintf("{\"chat_id\":42,\"message_id\":%lld,\"text\":"
	    "\"edited\"}", theirs);
	T_EQ_INT(post(f, TOKEN, "editMessageText", "application/json", body,
	    &r), 400);
	T_EQ_STR(desc(r), "Bad Request: message can't be edited");
	json_decref(r);
	free(body);
	body = xasprintf("{\"chat_id\":43,\"message_id\":%lld,\"text\":"
	    "\"edited\"}", mine);
	T_EQ_INT(post(f, TOKEN, "editMessageText", "application/json", body,
	    &r), 400);
	T_EQ_STR(desc(r), "Bad Request: message to edit not found");
	json_decref(r);
	free(body);
	body = xasprintf("{\"chat_id\":42,\"message_id\":%lld,\"text\":"
	    "\"edited\"}", mine);
	T_EQ_INT(post(f, TOKEN, "editMessageText", "application/json", body,
	    &r), 200);
	json_decref(r);
	free(body);
	body = fake_telegram_message_text(f, 42, theirs);
	T_EQ_STR(body, "a user's words");
	free(body);
	fake_telegram_stop(f);
}

/*
 * Telegram's limits are on unless a test turns them off: a burst in one
 * chat is cut off with 429 and retry_after; other chats still pass;
 * after retry_after the chat passes again; a group takes 20 a minute.
 */
static void
test_rate_limits_by_default(void)
{
	struct fake_telegram	*f = fake_telegram_start(TOKEN, "fakebot", 77);
	int			 i, ok = 0, ra = 0;
	long			 st;

	/* A short burst passes, then no more than about one a second. */
	for (i = 0, st = 200; i < 50 && st == 200; i++) {
		st = send_to(f, 42, "burst", NULL, &ra);
		if (st == 200)
			ok++;
	}
	T_EQ_INT(st, 429);
	T_OK(ok >= 3);
	T_EQ_INT(ra, 1);
	T_EQ_INT((int)fake_telegram_429s(f), 1);
	T_EQ_INT(send_to(f, 43, "another chat", NULL, NULL), 200);
	sleep_ms(1100);
	T_EQ_INT(send_to(f, 42, "after the wait", NULL, NULL), 200);
	/*
	 * A group: 20 a minute even when each send keeps to the 1/s of a
	 * chat. Time runs 20 times faster here (20 a second per chat, 400
	 * a minute per group) so this takes two seconds, not a minute.
	 */
	fake_telegram_limits_speed(f, 20.0);
	for (i = 0, ok = 0; i < 400; i++) {
		int64_t	 t0 = now_ms();

		st = send_to(f, -1001234, "group", NULL, &ra);
		if (st == 200)
			ok++;
		else
			break;
		while (now_ms() - t0 < 60)	/* under the chat's 20/s */
			sleep_ms(5);
	}
	/* Refused once the group's 20 are used up faster than they come
	 * back (however slow this machine is, the loop keeps under 20/s). */
	T_EQ_INT(st, 429);
	T_OK(ok > 20);
	fake_telegram_limits_speed(f, 1.0);
	/* Off: as fast as a test likes. */
	fake_telegram_limits(f, 0);
	for (i = 0, ok = 0; i < 10; i++)
		ok += send_to(f, 44, "fast", NULL, NULL) == 200;
	T_EQ_INT(ok, 10);
	fake_telegram_stop(f);
}

struct held_poll {
	struct fake_telegram	*f;
	long			 status;
	json_t			*reply;
};

static void *
held_poll(void *arg)
{
	struct held_poll	*hp = arg;

	hp->status = post(hp->f, TOKEN, "getUpdates", "application/json",
	    "{\"timeout\":5}", &hp->reply);
	return NULL;
}

/*
 * One consumer per bot, as on Telegram: a second getUpdates while one is
 * held ends the first with 409 Conflict; polls one after the other are
 * never two at once.
 */
static void
test_second_poller_conflicts(void)
{
	struct fake_telegram	*f = fake_telegram_start(TOKEN, "fakebot", 77);
	struct held_poll	 hp = { f, 0, NULL };
	pthread_t		 th;
	json_t			*r = NULL;
	int64_t			 until = now_ms() + 5000;

	T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json",
	    "{\"timeout\":0}", &r), 200);
	json_decref(r);
	T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json",
	    "{\"timeout\":0}", &r), 200);
	json_decref(r);
	T_EQ_INT(fake_telegram_max_pollers(f), 1);
	T_EQ_INT(pthread_create(&th, NULL, held_poll, &hp), 0);
	/* Recorded means held: the call is registered in the same turn. */
	while (fake_telegram_ncalls(f, "getUpdates") < 3 && now_ms() < until)
		sleep_ms(10);
	T_EQ_INT(post(f, TOKEN, "getUpdates", "application/json",
	    "{\"timeout\":0}", &r), 200);
	json_decref(r);
	pthread_join(th, NULL);
	T_EQ_INT(hp.status, 409);
	T_EQ_INT(json_integer_value(json_object_get(hp.reply, "error_code")),
	    409);
	T_EQ_STR(json_string_value(json_object_get(hp.reply, "description")),
	    "Conflict: terminated by other getUpdates request; make sure that "
	    "only one bot instance is running");
	T_OK(json_is_false(json_object_get(hp.reply, "ok")));
	json_decref(hp.reply);
	T_EQ_INT(fake_telegram_max_pollers(f), 2);
	fake_telegram_stop(f);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_wire_format_and_auth);
	T_RUN(test_refuses_what_telegram_refuses);
	T_RUN(test_offsets_and_long_poll);
	T_RUN(test_second_poller_conflicts);
	T_RUN(test_confirmed_updates_are_forgotten_as_on_telegram);
	T_RUN(test_edit_only_own_messages);
	T_RUN(test_rate_limits_by_default);
	curl_global_cleanup();
	return t_summary();
}
