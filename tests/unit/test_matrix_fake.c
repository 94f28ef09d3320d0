/*
 * test_matrix_fake.c - the fake homeserver holds pvebot to what a real
 * one accepts: raw HTTP requests (libcurl, no pvebot code) get the real
 * refusals (401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN, 400 for a message
 * without msgtype or body, 403 outside a room, 400 for the same reaction
 * twice), transaction ids are idempotent, /sync applies since, the
 * filter's rooms and types and the timeline limit, and a long poll waits.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fakes/fake_matrix.h"
#include "t.h"
#include "util.h"

#define BOT	"@pvebot:hs.test"
#define TOKEN	"syt_fake_test_token_0123456789"
#define ALICE	"@alice:hs.test"
#define OPS	"!ops:hs.test"

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* One request; returns the status and the parsed body (caller decrefs). */
static long
req(struct fake_matrix *fm, const char *method, const char *path,
    const char *token, const char *body, json_t **out)
{
	CURL			*c = curl_easy_init();
	struct curl_slist	*h = NULL;
	struct buf		 b;
	char			*url, *auth = NULL;
	long			 status = 0;

	buf_init(&b, 1 << 20);
	url = xasprintf("%s%s", fake_matrix_url(fm), path);
	if (token != NULL) {
		auth = xasprintf("Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*out = json_loads(buf_cstr(&b), 0, NULL);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	buf_release(&b);
	free(url);
	free(auth);
	return status;
}

static const char *
str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static struct fake_matrix *
fake(void)
{
	struct fake_matrix	*fm = fake_matrix_start("hs.test", BOT, TOKEN);

	fake_matrix_room(fm, OPS, "#ops:hs.test", ALICE);
	fake_matrix_join(fm, OPS, BOT);
	return fm;
}

static void
test_tokens(void)
{
	struct fake_matrix	*fm = fake();
	json_t			*j;

	T_EQ_INT(req(fm, "GET", "/_matrix/client/v3/account/whoami", NULL,
	    NULL, &j), 401);
	T_EQ_STR(str(j, "errcode"), "M_MISSING_TOKEN");
	json_decref(j);
	T_EQ_INT(req(fm, "GET", "/_matrix/client/v3/account/whoami",
	    "syt_nope", NULL, &j), 401);
	T_EQ_STR(str(j, "errcode"), "M_UNKNOWN_TOKEN");
	T_OK(json_is_false(json_object_get(j, "soft_logout")));
	json_decref(j);
	T_EQ_INT(req(fm, "GET", "/_matrix/client/v3/account/whoami", TOKEN,
	    NULL, &j), 200);
	T_EQ_STR(str(j, "user_id"), BOT);
	json_decref(j);
	/* The query form works, as on a real server, and is counted. */
	T_EQ_INT(req(fm, "GET", "/_matrix/client/v3/account/whoami?"
	    "access_token=" TOKEN, NULL, NULL, &j), 200);
	json_decref(j);
	T_EQ_INT(fake_matrix_token_in_query(fm), 1);
	fake_matrix_stop(fm);
}

static void
test_send_rules(void)
{
	struct fake_matrix	*fm = fake();
	const char		*p = "/_matrix/client/v3/rooms/%21ops%3Ahs.test"
	    "/send/m.room.message/";
	char			*path, *id1;
	json_t			*j, *evs;

	path = xasprintf("%stx1", p);
	T_EQ_INT(req(fm, "PUT", path, TOKEN, "{\"body\":\"no msgtype\"}", &j),
	    400);
	T_EQ_STR(str(j, "errcode"), "M_BAD_JSON");
	json_decref(j);
	T_EQ_INT(req(fm, "PUT", path, TOKEN, "{\"msgtype\":\"m.text\"}", &j),
	    400);
	json_decref(j);
	T_EQ_INT(req(fm, "PUT", path, TOKEN, "not json", &j), 400);
	T_EQ_STR(str(j, "errcode"), "M_NOT_JSON");
	json_decref(j);
	/* The same transaction twice: one event, the same id. */
	T_EQ_INT(req(fm, "PUT", path, TOKEN, "{\"msgtype\":\"m.notice\","
	    "\"body\":\"hi\"}", &j), 200);
	id1 = xstrdup(str(j, "event_id"));
	json_decref(j);
	T_EQ_INT(req(fm, "PUT", path, TOKEN, "{\"msgtype\":\"m.notice\","
	    "\"body\":\"hi\"}", &j), 200);
	T_EQ_STR(str(j, "event_id"), id1);
	json_decref(j);
	evs = fake_matrix_events(fm, OPS, BOT, "m.room.message");
	T_EQ_INT(json_array_size(evs), 1);
	json_decref(evs);
	free(path);

	/* The same reaction twice is refused. */
	path = xasprintf("/_matrix/client/v3/rooms/%%21ops%%3Ahs.test/send/"
	    "m.reaction/r1");
	j = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to", "rel_type",
	    "m.annotation", "event_id", id1, "key", "x");
	{
		char	*body = json_dumps(j, JSON_COMPACT);
		json_t	*r;

		T_EQ_INT(req(fm, "PUT", path, TOKEN, body, &r), 200);
		json_decref(r);
		free(path);
		path = xasprintf("/_matrix/client/v3/rooms/%%21ops%%3Ahs.test/"
		    "send/m.reaction/r2");
		T_EQ_INT(req(fm, "PUT", path, TOKEN, body, &r), 400);
		T_EQ_STR(str(r, "errcode"), "M_DUPLICATE_ANNOTATION");
		json_decref(r);
		free(body);
	}
	json_decref(j);
	free(path);
	/* Another key on the same event is a different annotation; the
	 * same key from another sender too. */
	{
		const char	*pre = "/_matrix/client/v3/rooms/"
		    "%21ops%3Ahs.test/send/m.reaction/";
		char		*body, *rp;
		json_t		*r;

		fake_matrix_join(fm, OPS, ALICE);
		fake_matrix_add_token(fm, "syt_alice", ALICE);
		j = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to",
		    "rel_type", "m.annotation", "event_id", id1, "key", "y");
		body = json_dumps(j, JSON_COMPACT);
		rp = xasprintf("%sr3", pre);
		T_EQ_INT(req(fm, "PUT", rp, TOKEN, body, &r), 200);
		json_decref(r);
		free(rp);
		free(body);
		json_decref(j);
		j = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to",
		    "rel_type", "m.annotation", "event_id", id1, "key", "x");
		body = json_dumps(j, JSON_COMPACT);
		rp = xasprintf("%sr4", pre);
		T_EQ_INT(req(fm, "PUT", rp, "syt_alice", body, &r), 200);
		json_decref(r);
		free(rp);
		rp = xasprintf("%sr5", pre);
		T_EQ_INT(req(fm, "PUT", rp, "syt_alice", body, &r), 400);
		T_EQ_STR(str(r, "errcode"), "M_DUPLICATE_ANNOTATION");
		json_decref(r);
		free(rp);
		free(body);
		/* The same sender, event and key is a duplicate whatever
		 * else the relation carries. */
		json_object_set_new(json_object_get(j, "m.relates_to"),
		    "org.example.note", json_string("again"));
		body = json_dumps(j, JSON_COMPACT);
		rp = xasprintf("%sr6", pre);
		T_EQ_INT(req(fm, "PUT", rp, "syt_alice", body, &r), 400);
		T_EQ_STR(str(r, "errcode"), "M_DUPLICATE_ANNOTATION");
		json_decref(r);
		free(rp);
		free(body);
		json_decref(j);
	}

	/* Not in the room: 403. */
	fake_matrix_room(fm, "!x:hs.test", NULL, ALICE);
	T_EQ_INT(req(fm, "PUT", "/_matrix/client/v3/rooms/%21x%3Ahs.test/"
	    "send/m.room.message/t9", TOKEN, "{\"msgtype\":\"m.notice\","
	    "\"body\":\"hi\"}", &j), 403);
	T_EQ_STR(str(j, "errcode"), "M_FORBIDDEN");
	json_decref(j);
	free(id1);
	fake_matrix_stop(fm);
}

static void
test_sync_filter_and_wait(void)
{
	struct fake_matrix	*fm = fake();
	json_t			*j, *tl;
	char			*path, *next;
	int64_t			 t0;
	int			 i;

	fake_matrix_room(fm, "!x:hs.test", NULL, ALICE);
	fake_matrix_join(fm, "!x:hs.test", BOT);
	for (i = 0; i < 5; i++)
		free(fake_matrix_say(fm, OPS, ALICE, "old"));
	T_EQ_INT(req(fm, "POST", "/_matrix/client/v3/user/%40pvebot%3Ahs.test/"
	    "filter", TOKEN, "{\"room\":{\"rooms\":[\"" OPS "\"],"
	    "\"timeline\":{\"types\":[\"m.room.message\"],\"limit\":3}}}", &j),
	    200);
	path = xasprintf("/_matrix/client/v3/sync?filter=%s",
	    str(j, "filter_id"));
	json_decref(j);
	T_EQ_INT(req(fm, "POST", "/_matrix/client/v3/user/%40alice%3Ahs.test/"
	    "filter", TOKEN, "{}", &j), 403);
	json_decref(j);

	T_EQ_INT(req(fm, "GET", path, TOKEN, NULL, &j), 200);
	T_OK(json_object_get(json_object_get(json_object_get(j, "rooms"),
	    "join"), "!x:hs.test") == NULL);
	tl = json_object_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(j, "rooms"), "join"), OPS), "timeline"), "events");
	T_EQ_INT(json_array_size(tl), 3);
	T_OK(json_is_true(json_object_get(json_object_get(json_object_get(
	    json_object_get(json_object_get(j, "rooms"), "join"), OPS),
	    "timeline"), "limited")));
	T_EQ_STR(str(json_array_get(tl, 0), "type"), "m.room.message");
	next = xstrdup(str(j, "next_batch"));
	json_decref(j);

	/* A long poll waits for the timeout when nothing happens. */
	{
		char	*p2 = xasprintf("%s&since=%s&timeout=400", path, next);

		t0 = now_ms();
		T_EQ_INT(req(fm, "GET", p2, TOKEN, NULL, &j), 200);
		T_OK(now_ms() - t0 >= 380);
		T_EQ_INT(json_object_size(json_object_get(json_object_get(j,
		    "rooms"), "join")), 0);
		json_decref(j);
		free(p2);
	}
	free(next);
	free(path);
	fake_matrix_stop(fm);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_tokens);
	T_RUN(test_send_rules);
	T_RUN(test_sync_filter_and_wait);
	curl_global_cleanup();
	return t_summary();
}
