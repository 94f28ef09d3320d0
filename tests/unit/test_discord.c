/*
 * Tests of the Discord connector against the fake Discord (REST and a
 * libwebsockets Gateway on 127.0.0.1): the gateway lifecycle (Identify,
 * heartbeats, Resume, op 7, op 9, zombies, fatal close codes), incoming
 * prefix and slash commands and button presses, outgoing sends, edits,
 * interaction replies, rate limits, and the token staying out of logs.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../src/chat/chat_discord.h"
#include "chat.h"
#include "conf.h"
#include "fakes/fake_discord.h"
#include "log.h"
#include "store.h"
#include "t.h"
#include "util.h"

static json_t *
frame_d(const struct fake_frame *f)
{
	json_t	*p = json_loads(f->json, 0, NULL);
	json_t	*d = json_incref(json_object_get(p, "d"));

	json_decref(p);
	return d;
}

/* Log capture: stderr goes to a file for the length of a case. */
static int	 saved_stderr = -1;

static void
log_capture(void)
{
	char	*path = t_path("log");
	int	 fd;

	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	free(path);
	dup2(fd, 2);
	close(fd);
}

static char *
log_release(void)
{
	char	*path = t_path("log"), *s;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	s = t_slurp(path);
	free(path);
	return s;
}

/* ---- gateway ------------------------------------------------------- */

static void
test_identify_and_heartbeat(void)
{
	struct fake_bench	 h;
	struct fake_frame	 id, b1, b2, b3;
	struct fake_call	 gw;
	json_t			*d;
	int64_t			 hello;
	char			*path;

	/*
	 * A 1 s interval: a beat may come late on a loaded machine (up to
	 * 600 ms is taken), but never early, and a client that beat at
	 * twice the interval would still be caught.
	 */
	fake_bench_init(&h, 1000);
	if (fake_bench_start(&h) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_call(h.fd, "GET", "/gateway/bot", 1, 2000,
	    &gw), 0);
	T_EQ_STR(gw.auth, "Bot " TOKEN);
	T_EQ_STR(gw.user_agent,
	    "DiscordBot (https://github.com/pvebot/pvebot, 0.1.0)");
	fake_call_release(&gw);
	T_EQ_INT(fake_discord_wait_frame(h.fd, 2, 1, 3000, &id), 0);
	hello = fake_discord_last_sent(h.fd, 10);
	/* GET /gateway/bot gave a URL without a path, as Discord does. */
	path = fake_discord_conn_path(h.fd, 1);
	T_EQ_STR(path, "/?v=10&encoding=json");
	free(path);
	T_EQ_INT(fake_discord_conn_resume(h.fd, 1), 0);
	T_EQ_INT(fake_discord_refused(h.fd, NULL), 0);
	d = frame_d(&id);
	T_EQ_STR(json_string_value(json_object_get(d, "token")), TOKEN);
	/* GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT */
	T_EQ_INT(json_integer_value(json_object_get(d, "intents")), 37377);
	T_OK(json_is_string(json_object_get(json_object_get(d, "properties"),
	    "os")));
	json_decref(d);
	fake_frame_release(&id);

	T_EQ_INT(fake_discord_wait_frame(h.fd, 1, 1, 4000, &b1), 0);
	T_EQ_INT(fake_discord_wait_frame(h.fd, 1, 2, 4000, &b2), 0);
	T_EQ_INT(fake_discord_wait_frame(h.fd, 1, 3, 4000, &b3), 0);
	/* First beat after interval * jitter, then one per interval. */
	T_OK(b1.at_ms >= hello && b1.at_ms - hello <= 1000 + 600);
	T_OK(b2.at_ms - b1.at_ms >= 900 && b2.at_ms - b1.at_ms <= 1600);
	T_OK(b3.at_ms - b2.at_ms >= 900 && b3.at_ms - b2.at_ms <= 1600);
	/* A beat carries the last sequence number (READY was 1). */
	T_CONTAINS(b3.json, "\"d\":1");
	fake_frame_release(&b1);
	fake_frame_release(&b2);
	fake_frame_release(&b3);
	T_EQ_INT(fake_discord_connections(h.fd), 1);
out:
	fake_bench_done(&h);
}

/* The status line a raw WebSocket handshake to `target` gets. */
static char *
handshake_status(int port, const char *target)
{
	struct sockaddr_in	 sin;
	char			 buf[512], *req;
	ssize_t			 n;
	size_t			 got = 0;
	int			 s;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return xstrdup("no socket");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(s);
		return xstrdup("no connection");
	}
	req = xasprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", target);
	if (write(s, req, strlen(req)) < 0)
		got = 0;
	free(req);
	while (got < sizeof buf - 1 && (n = read(s, buf + got,
	    sizeof buf - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n") != NULL)
			break;
	}
	close(s);
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

/*
 * The fake takes only the documented target: "/" of the URL that GET
 * /gateway/bot gives, with ?v=10&encoding=json - not "//?..." (what a
 * client that glues "/" to an empty path sends) nor another version.
 */
static void
test_fake_gateway_target(void)
{
	struct fake_discord	*fd = fake_discord_start(TOKEN, 5000);
	char			*st, *target = NULL;
	int			 port = fake_discord_gateway_port(fd);

	st = handshake_status(port, "//?v=10&encoding=json");
	T_EQ_STR(st, "HTTP/1.1 404 Not Found");
	free(st);
	T_EQ_INT(fake_discord_refused(fd, &target), 1);
	T_EQ_STR(target, "//?v=10&encoding=json");
	free(target);
	st = handshake_status(port, "/?v=9&encoding=json");
	T_EQ_STR(st, "HTTP/1.1 404 Not Found");
	free(st);
	st = handshake_status(port, "/gateway?v=10&encoding=json");
	T_EQ_STR(st, "HTTP/1.1 404 Not Found");
	free(st);
	st = handshake_status(port, "/?v=10&encoding=json");
	T_EQ_STR(st, "HTTP/1.1 101 Switching Protocols");
	free(st);
	T_EQ_INT(fake_discord_refused(fd, NULL), 3);
	fake_discord_stop(fd);
}

/* Whatever /gateway/bot gives, the target is the documented one. */
static void
test_gateway_url_shapes(void)
{
	static const char *const tails[] = { "/", "/?v=6&encoding=etf" };
	struct fake_bench	 h;
	char			*path;
	size_t			 i;

	for (i = 0; i < nitems(tails); i++) {
		fake_bench_init(&h, 5000);
		fake_discord_gateway_url_tail(h.fd, tails[i]);
		if (fake_bench_start(&h) == 0) {
			T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
			path = fake_discord_conn_path(h.fd, 1);
			T_EQ_STR(path, "/?v=10&encoding=json");
			free(path);
			T_EQ_INT(fake_discord_refused(h.fd, NULL), 0);
		}
		fake_bench_done(&h);
	}
}

static void
test_resume_after_drop(void)
{
	struct fake_bench	 h;
	struct fake_frame	 r;
	struct chat_event	*ev;
	json_t			*d;
	char			*path;

	fake_bench_init(&h, 5000);
	if (fake_bench_start(&h) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
	fake_discord_dispatch(h.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!status 101"));
	T_OK(fake_bench_wait(&h, CHAT_EV_MESSAGE, 1, 2000) != NULL);
	/*
	 * The TCP connection dies; what happens meanwhile is replayed.
	 * "Meanwhile" for sure: reconnects are dropped until the event is
	 * in (a loaded machine could otherwise resume before it, and the
	 * event would come live, not replayed).
	 */
	fake_discord_refuse(h.fd, 1000);
	fake_discord_close(h.fd, 0);
	fake_discord_dispatch(h.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!start 101"));
	fake_discord_refuse(h.fd, 0);
	T_EQ_INT(fake_discord_wait_frame(h.fd, 6, 1, 10000, &r), 0);
	d = frame_d(&r);
	T_EQ_INT(json_integer_value(json_object_get(d, "seq")), 2);
	T_EQ_STR(json_string_value(json_object_get(d, "session_id")),
	    "fakesession1");
	T_EQ_STR(json_string_value(json_object_get(d, "token")), TOKEN);
	json_decref(d);
	/* A new connection: the second, or later if one was dropped. */
	T_OK(r.conn >= 2);
	/* To resume_gateway_url, with the same documented target. */
	path = fake_discord_conn_path(h.fd, r.conn);
	T_EQ_STR(path, "/?v=10&encoding=json");
	free(path);
	T_EQ_INT(fake_discord_conn_resume(h.fd, r.conn), 1);
	fake_frame_release(&r);
	ev = fake_bench_wait(&h, CHAT_EV_MESSAGE, 2, 3000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_EQ_STR(ev->text, "!start 101");
		T_OK(str_has_prefix(ev->offset, "3 fakesession1 ws://"));
	}
	T_EQ_INT(fake_discord_count_frames(h.fd, 2), 1);
	T_EQ_INT(fake_bench_count(&h, CHAT_EV_MESSAGE), 2);
out:
	fake_bench_done(&h);
}

static void
test_op7_reconnect(void)
{
	struct fake_bench	 h;
	struct fake_frame	 r;

	fake_bench_init(&h, 5000);
	if (fake_bench_start(&h) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
	fake_discord_send_op(h.fd, 7, NULL);
	T_EQ_INT(fake_discord_wait_frame(h.fd, 6, 1, 3000, &r), 0);
	T_EQ_INT(r.conn, 2);
	T_CONTAINS(r.json, "\"seq\":1");
	fake_frame_release(&r);
	T_EQ_INT(fake_discord_wait_live(h.fd, 2, 3000), 0);
	T_EQ_INT(fake_discord_count_frames(h.fd, 2), 1);
	T_EQ_INT(fake_discord_connections(h.fd), 2);
out:
	fake_bench_done(&h);
}

static void
test_op9_resumable(void)
{
	struct fake_bench	 h;
	struct fake_frame	 r;

	fake_bench_init(&h, 5000);
	if (fake_bench_start(&h) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
	fake_discord_send_op(h.fd, 9, json_true());
	T_EQ_INT(fake_discord_wait_frame(h.fd, 6, 1, 3000, &r), 0);
	T_CONTAINS(r.json, "\"session_id\":\"fakesession1\"");
	fake_frame_release(&r);
	T_EQ_INT(fake_discord_wait_live(h.fd, 2, 3000), 0);
	T_EQ_INT(fake_discord_count_frames(h.fd, 2), 1);
out:
	fake_bench_done(&h);
}

static void
test_op9_not_resumable(void)
{
	struct fake_bench	 h;
	struct fake_frame	 id2;
	int64_t			 sent;

	fake_bench_init(&h, 5000);
	if (fake_bench_start(&h) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
	fake_discord_send_op(h.fd, 9, json_false());
	sent = now_ms();
	/* A fresh Identify after a random 1-5 s, no Resume. */
	T_EQ_INT(fake_discord_wait_frame(h.fd, 2, 2, 6000, &id2), 0);
	T_OK(id2.at_ms - sent >= 950 && id2.at_ms - sent <= 5200);
	fake_frame_release(&id2);
	T_EQ_INT(fake_discord_count_frames(h.fd, 6), 0);
	T_EQ_INT(fake_discord_wait_live(h.fd, 1, 2000), 0);
	/* The new session's dispatches arrive with its sequence. */
	fake_discord_dispatch(h.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!status"));
	{
		struct chat_event *ev = fake_bench_wait(&h, CHAT_EV_MESSAGE, 1, 2000);

		T_OK(ev != NULL);
		if (ev != NULL)
			T_OK(str_has_prefix(ev->offset, "2 fakesession2 "));
	}
out:
	fake_bench_done(&h);
}

static void
test_zombie_connection(void)
{
	struct fake_bench	 h;
	struct fake_frame	 r;

	fake_bench_init(&h, 200);
	if (fake_bench_start(&h) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
	fake_discord_withhold_acks(h.fd, 1);
	T_EQ_INT(fake_discord_wait_frame(h.fd, 6, 1, 3000, &r), 0);
	fake_discord_withhold_acks(h.fd, 0);
	T_EQ_INT(r.conn, 2);
	fake_frame_release(&r);
	T_EQ_INT(fake_discord_wait_live(h.fd, 2, 3000), 0);
	T_EQ_INT(fake_discord_count_frames(h.fd, 2), 1);
out:
	fake_bench_done(&h);
}

static void
test_close_4009_identifies_again(void)
{
	struct fake_bench	 h;

	fake_bench_init(&h, 5000);
	if (fake_bench_start(&h) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
	fake_discord_close(h.fd, 4009);		/* session timed out */
	T_EQ_INT(fake_discord_wait_frame(h.fd, 2, 2, 3000, NULL), 0);
	T_EQ_INT(fake_discord_count_frames(h.fd, 6), 0);
	T_EQ_INT(fake_discord_wait_live(h.fd, 2, 3000), 0);
	/* and 4000 (unknown error) resumes */
	fake_discord_close(h.fd, 4000);
	T_EQ_INT(fake_discord_wait_frame(h.fd, 6, 1, 3000, NULL), 0);
out:
	fake_bench_done(&h);
}

/* Failed attempts back off with jitter; the first retry is at once. */
static void
test_reconnect_backoff(void)
{
	struct fake_bench	 b;
	int64_t			 t[6];
	int			 i;
	char			*cause = NULL;

	fake_bench_init(&b, 5000);
	b.c = chat_discord_create(&b.ctx, &cause);
	T_OK(b.c != NULL);
	if (b.c == NULL)
		goto out;
	chat_discord_set_backoff(b.c, 200, 800);
	T_EQ_INT(b.c->ops->start(b.c, &cause), 0);
	T_EQ_INT(fake_discord_wait_live(b.fd, 1, 3000), 0);
	fake_discord_refuse(b.fd, 4);
	fake_discord_close(b.fd, 0);
	/* Connection 6 is the one that is let through again. */
	T_EQ_INT(fake_discord_wait_live(b.fd, 6, 8000), 0);
	for (i = 1; i <= 6; i++)
		t[i - 1] = fake_discord_conn_time(b.fd, i);
	/* 2: at once; 3: within [100, 200]; 4: [100, 400]; 5: [100, 800];
	 * 6: [100, 800] (capped). */
	T_OK(t[1] - t[0] >= 0);
	T_OK(t[2] - t[1] >= 90 && t[2] - t[1] <= 200 + 150);
	T_OK(t[3] - t[2] >= 90 && t[3] - t[2] <= 400 + 150);
	T_OK(t[4] - t[3] >= 90 && t[4] - t[3] <= 800 + 150);
	T_OK(t[5] - t[4] >= 90 && t[5] - t[4] <= 800 + 150);
	/* The session survived it all: Resume, not Identify. */
	T_EQ_INT(fake_discord_count_frames(b.fd, 2), 1);
	T_OK(fake_discord_count_frames(b.fd, 6) >= 1);
out:
	free(cause);
	fake_bench_done(&b);
}

static void
test_close_4004_is_fatal(void)
{
	struct fake_bench	 h;
	char		*fatal = NULL, *log;

	fake_bench_init(&h, 5000);
	log_capture();
	if (fake_bench_start(&h) == 0) {
		T_EQ_INT(fake_discord_wait_live(h.fd, 1, 3000), 0);
		fake_discord_close(h.fd, 4004);
		while ((fatal = chat_discord_fatal(h.c)) == NULL &&
		    fake_discord_connections(h.fd) == 1)
			sleep_ms(10);
		sleep_ms(1200);		/* time for a (wrong) reconnect */
	}
	log = log_release();
	T_CONTAINS(fatal, "4004");
	T_CONTAINS(fatal, "token");
	T_EQ_INT(fake_discord_connections(h.fd), 1);
	T_CONTAINS(log, "level=error");
	T_CONTAINS(log, "Authentication failed");
	T_NOT_CONTAINS(log, TOKEN);
	free(fatal);
	free(log);
	fake_bench_done(&h);
}

static void
test_close_4014_is_fatal(void)
{
	struct fake_bench	 h;
	char		*fatal = NULL, *log;
	int64_t		 deadline;

	fake_bench_init(&h, 5000);
	fake_discord_disallow_intents(h.fd, 1);
	log_capture();
	if (fake_bench_start(&h) == 0) {
		deadline = now_ms() + 3000;
		while ((fatal = chat_discord_fatal(h.c)) == NULL &&
		    now_ms() < deadline)
			sleep_ms(10);
		sleep_ms(1200);
	}
	log = log_release();
	T_CONTAINS(fatal, "4014");
	T_CONTAINS(fatal, "enable the MESSAGE CONTENT intent in the "
	    "Developer Portal (Bot > Privileged Gateway Intents)");
	T_CONTAINS(log, "MESSAGE CONTENT");
	T_EQ_INT(fake_discord_connections(h.fd), 1);
	T_EQ_INT(fake_discord_count_frames(h.fd, 2), 1);
	free(fatal);
	free(log);
	fake_bench_done(&h);
}

int
main(void)
{
	T_RUN(test_fake_gateway_target);
	T_RUN(test_identify_and_heartbeat);
	T_RUN(test_gateway_url_shapes);
	T_RUN(test_resume_after_drop);
	T_RUN(test_op7_reconnect);
	T_RUN(test_op9_resumable);
	T_RUN(test_op9_not_resumable);
	T_RUN(test_zombie_connection);
	T_RUN(test_close_4009_identifies_again);
	T_RUN(test_reconnect_backoff);
	T_RUN(test_close_4004_is_fatal);
	T_RUN(test_close_4014_is_fatal);
	return t_summary();
}
