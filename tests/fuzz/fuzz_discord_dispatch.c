/*
 * fuzz_discord_dispatch.c - libFuzzer target for the Discord connector's
 * handling of Gateway frames (src/chat/chat_discord_gateway.c's receive
 * path and src/chat/chat_discord.c's dispatch worker, through
 * chat_discord_feed: hello, heartbeat ACK, reconnect and invalid-session
 * ops, READY, MESSAGE_CREATE, INTERACTION_CREATE with slash commands and
 * button presses, frames that are not payloads), through to the events
 * handed to the router.
 *
 * Input: up to 8 frames separated by "\n@@@\n", fed in order to one
 * connector (one per input; a small catalogue of start, snapshot, job
 * and explain for slash commands; channel 2001 served, 2002 not for commands, user 4001 served
 * in DMs). The first byte of each frame says how Discord answers the
 * interaction acknowledgement it causes (bits 0-1: 204, 200, 400 "already
 * acknowledged" (40060), no reply); the rest is the frame.
 *
 * Beyond "no crash, no leak, no UB": every event passes chat_fuzz.h's
 * checks and carries a "discord" offset "SEQ SESSION URL" whose sequence
 * never goes back within a session (a READY starts one); a frame that is not a payload, and a
 * MESSAGE_CREATE or INTERACTION_CREATE dispatch, gives exactly one event
 * (its offset saved), any other frame none; a message or press names the
 * author of the dispatch, comes from a served place, has no NUL and fits
 * 4000 bytes; an interaction gives a message or press only once its
 * acknowledgement was answered, and only interaction callbacks are sent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat.h"
#include "chat_feed.h"
#include "cmd.h"
#include "conf.h"
#include "chat_fuzz.h"

#define TEXT_CAP	4000

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int LLVMFuzzerInitialize(int *, char ***);

static struct conf	 conf;
static struct conf_room	 channels[2];
static char		*users[1] = { "4001" };
static char		*guilds[1] = { "3001" };
static struct chat_ctx	 ctx;
static struct catalogue	*cat;

/* The frame being fed and what it gave. */
static json_t		*frame;
static int		 events;
static int		 acked;		/* an acknowledgement was answered */
static int		 answer_mode;
static char		*last_session;
static long long	 last_seq;

/*
 * A small catalogue with every kind of slash option pvebot reads (the
 * whole of commands/ would make creating a connector per input too slow).
 */
static const char embedded[] =
    "commands:\n"
    "  - name: start\n"
    "    summary: Start\n"
    "    action: guest.start\n"
    "    args: [{name: guest, type: guest}]\n"
    "    proxmox: {method: POST,\n"
    "      path: \"/nodes/{node}/{type}/{vmid}/start\"}\n"
    "  - name: snapshot\n"
    "    summary: Snap\n"
    "    action: guest.snapshot.create\n"
    "    args:\n"
    "      - {name: guest, type: guest}\n"
    "      - {name: name, type: snapshot}\n"
    "      - {name: reason, type: reason, optional: true}\n"
    "    proxmox:\n"
    "      method: POST\n"
    "      path: /nodes/{node}/{type}/{vmid}/snapshot\n"
    "      params: {snapname: \"{name}\", description: \"{reason}\"}\n"
    "  - name: job\n"
    "    summary: Job\n"
    "    action: job.read\n"
    "    args: [{name: id, type: int, min: 1, max: 1000}]\n"
    "    builtin: job\n"
    "  - name: explain\n"
    "    summary: Explain\n"
    "    action: meta.explain\n"
    "    args: [{name: command, type: command}]\n"
    "    builtin: explain\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	*errors = NULL;

	log_set_level(LOG_ERROR);
	cat = catalogue_load_string("embedded.yaml", embedded,
	    strlen(embedded), &errors);
	if (cat == NULL) {
		fprintf(stderr, "fuzz_discord_dispatch: catalogue: %s\n",
		    errors);
		abort();
	}
	channels[0].id = "2001";
	channels[0].commands = 1;
	channels[1].id = "2002";
	channels[1].commands = 0;
	conf.chat.max_command_age = 300;
	conf.chat.discord.enabled = 1;
	conf.chat.discord.token = "fuzz.token";
	conf.chat.discord.application_id = "1000";
	conf.chat.discord.guilds = guilds;
	conf.chat.discord.nguilds = 1;
	conf.chat.discord.channels = channels;
	conf.chat.discord.nchannels = 2;
	conf.chat.discord.users = users;
	conf.chat.discord.nusers = 1;
	return 0;
}

/* Discord's REST API, for what the worker sends on its own. */
static long
http(void *arg, const char *method, const char *path, const char *body,
    char **reply)
{
	if (strncmp(path, "/interactions/", 14) != 0 ||
	    strcmp(method, "POST") != 0 || strstr(path, "/callback") == NULL)
		abort();	/* the receiving path only acknowledges */
	*reply = NULL;
	switch (answer_mode) {
	case 0:
		acked = 1;
		return 204;
	case 1:
		acked = 1;
		*reply = xstrdup("{}");
		return 200;
	case 2:
		acked = 1;
		*reply = xstrdup("{\"message\":\"Interaction has already been "
		    "acknowledged.\",\"code\":40060}");
		return 400;
	default:
		return 0;
	}
}

/* "SEQ SESSION URL": the sequence never goes back within a session. */
static void
check_offset(const char *offset)
{
	const char	*sp;
	char		*session, *end;
	long long	 seq;

	seq = strtoll(offset, &end, 10);
	if (end == offset || *end != ' ' || seq < 0)
		abort();
	sp = strchr(end + 1, ' ');
	if (sp == NULL || sp == end + 1 || sp[1] == '\0')
		abort();
	session = xstrndup(end + 1, (size_t)(sp - end - 1));
	/* "-": no session (an invalid one was dropped): nothing to resume. */
	if (last_session != NULL && strcmp(session, "-") != 0 &&
	    strcmp(session, last_session) == 0 && seq < last_seq)
		abort();
	free(last_session);
	last_session = session;
	last_seq = seq;
}

static void
submit(void *arg, struct chat_event *ev)
{
	json_t		*d = json_object_get(frame, "d");
	const char	*author;

	cf_check_event(ev, "discord", TEXT_CAP);
	if (ev->offset == NULL)
		abort();
	check_offset(ev->offset);
	events++;
	if (ev->kind == CHAT_EV_MESSAGE || ev->kind == CHAT_EV_BUTTON) {
		if (ev->direct) {
			if (strcmp(ev->user, "discord:4001") != 0)
				abort();
		} else if (strcmp(ev->room, "2001") != 0)
			abort();
		author = json_string_value(json_object_get(json_object_get(d,
		    "author"), "id"));
		if (ev->reply_token != NULL) {
			/* An interaction: acknowledged before it counts. */
			if (!acked)
				abort();
		} else if (author == NULL || strcmp(ev->user + 8, author) != 0)
			abort();
		if (ev->kind == CHAT_EV_MESSAGE && ev->reply_token == NULL &&
		    (!json_is_string(json_object_get(d, "content")) ||
		    json_string_length(json_object_get(d, "content")) !=
		    strlen(json_string_value(json_object_get(d, "content"))) ||
		    json_string_length(json_object_get(d, "content")) >
		    TEXT_CAP))
			abort();
	}
	chat_event_free(ev);
}

/* How many events a frame must give. */
static int
expected(const char *p, size_t len)
{
	const char	*t;

	if (frame == NULL || !json_is_integer(json_object_get(frame, "op")))
		return 1;
	if (json_integer_value(json_object_get(frame, "op")) != 0)
		return 0;
	t = json_string_value(json_object_get(frame, "t"));
	if (t == NULL || (strcmp(t, "MESSAGE_CREATE") != 0 &&
	    strcmp(t, "INTERACTION_CREATE") != 0))
		return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_part		 parts[CF_MAX_PARTS];
	struct connector	*c;
	size_t			 n, i;
	char			*cause = NULL;
	int			 want;

	if (size > 256 * 1024)
		return 0;
	ctx.conf = &conf;
	ctx.catalogue = cat;
	ctx.submit = submit;
	if ((c = chat_discord_create(&ctx, &cause)) == NULL) {
		fprintf(stderr, "fuzz_discord_dispatch: %s\n", cause);
		abort();
	}
	chat_discord_feed_http(c, http, NULL);
	last_seq = 0;
	n = cf_split(data, size, parts);
	for (i = 0; i < n; i++) {
		const char	*p = parts[i].p + (parts[i].len > 0);
		size_t		 len = parts[i].len > 0 ? parts[i].len - 1 : 0;

		answer_mode = parts[i].len > 0 ?
		    (unsigned char)parts[i].p[0] & 3 : 0;
		frame = json_loadb(p, len, JSON_ALLOW_NUL, NULL);
		events = 0;
		acked = 0;
		want = expected(p, len);
		/* A READY starts a session, numbered afresh. */
		if (json_integer_value(json_object_get(frame, "op")) == 0 &&
		    json_is_string(json_object_get(frame, "t")) &&
		    strcmp(json_string_value(json_object_get(frame, "t")),
		    "READY") == 0) {
			free(last_session);
			last_session = NULL;
		}
		if (chat_discord_feed(c, p, len) != 0)
			abort();
		if (events != want)
			abort();
		json_decref(frame);
		frame = NULL;
	}
	chat_free(c);
	free(last_session);
	last_session = NULL;
	return 0;
}
