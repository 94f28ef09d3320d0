/*
 * fake_discord.h - a fake Discord on 127.0.0.1 for the connector's
 * tests: the REST API (v10, plain HTTP on its own loopback port, served
 * by a small blocking HTTP/1.1 loop in this file) and the Gateway (a
 * libwebsockets WebSocket server, ws://), both speaking the real
 * payloads. It records every REST call and every gateway frame for
 * assertions and refuses what Discord refuses: a missing or wrong
 * Authorization or User-Agent (401), content over 2000 characters or a
 * custom_id over 100 (400), an interaction callback after 3 seconds or
 * twice (404 Unknown interaction / 400 already acknowledged), a bad
 * token at Identify (close 4004), the message-content intent when it is
 * not enabled (close 4014), more than 50 requests a second (global 429),
 * a gateway connection whose request target is not exactly
 * "/?v=10&encoding=json" (404 at the handshake: the URL of GET
 * /gateway/bot, like Discord's, has no path), and slash command
 * registrations that break Discord's field rules (400, code 50035).
 */
#ifndef PVEBOT_FAKE_DISCORD_H
#define PVEBOT_FAKE_DISCORD_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "chat.h"
#include "conf.h"

#define FAKE_DISCORD_APP_ID	"400000000000000001"
#define FAKE_DISCORD_BOT_ID	"400000000000000002"

/* What the test bench configures (a token is a secret: tests check it
 * never reaches a log). */
#define TOKEN	 \
    "MTE5ODc2NTQzMjEwOTg3NjU0.GfAkEx.pvebot-test-token-7d3e9a1c55"
#define GUILD	 "500000000000000001"
#define CHAN	 "600000000000000001"
#define CHAN2	 "600000000000000002"
#define OTHER	 "600000000000000099"	/* not configured */
#define ALICE	 "700000000000000001"	/* in a guild channel */
#define BOB	 "700000000000000002"
#define DMUSER	 "700000000000000009"	/* configured for DMs */
#define STRANGER "700000000000000066"

struct fake_discord;

struct fake_call {
	int64_t	 at_ms;		/* now_ms() when it arrived */
	char	*method;
	char	*path;		/* after /api/v10, with the query */
	char	*auth;		/* Authorization, NULL when absent */
	char	*user_agent;
	char	*body;		/* "" when none */
	int	 status;	/* what the fake answered */
	char	*reply;		/* and its body, "" when none */
};
void	fake_call_release(struct fake_call *);

struct fake_frame {
	int64_t	 at_ms;
	int	 conn;		/* 1 for the first connection... */
	int	 op;
	char	*json;		/* the payload as sent */
};
void	fake_frame_release(struct fake_frame *);

/* Starts both servers; token is the bot token Identify must carry. */
struct fake_discord *fake_discord_start(const char *token, int heartbeat_ms);
void		 fake_discord_stop(struct fake_discord *);
/* "http://127.0.0.1:PORT/api/v10" */
const char	*fake_discord_api_url(struct fake_discord *);
/* The port of the gateway URL GET /gateway/bot gives. */
int		 fake_discord_gateway_port(struct fake_discord *);
/* Text GET /gateway/bot puts after "ws://127.0.0.1:PORT" ("" by default,
 * like Discord's URL; "/" or "/?v=6" to see that the client still asks
 * for the documented target). */
void		 fake_discord_gateway_url_tail(struct fake_discord *,
		    const char *tail);

/* ---- gateway ---- */
void	fake_discord_withhold_acks(struct fake_discord *, int on);
/*
 * How long an interaction may wait for its first response: Discord's 3 s
 * by default; a test about something else on a loaded machine may widen
 * it (the 404 10062 after it stays).
 */
void	fake_discord_interaction_window(struct fake_discord *, int ms);
/* Identify asking for MESSAGE_CONTENT is closed with 4014. */
void	fake_discord_disallow_intents(struct fake_discord *, int on);
/* Queues a dispatch (t, d stolen) in the session; sent now when a
 * session is live, else kept for a Resume to replay. Returns its seq. */
int64_t	fake_discord_dispatch(struct fake_discord *, const char *type,
	    json_t *d);
/* A dispatch frame of `type` cut short (not JSON); returns its seq. */
int64_t	fake_discord_dispatch_broken(struct fake_discord *, const char *type);
/* Sends {op, d} (d stolen, may be NULL) on the live connection. */
void	fake_discord_send_op(struct fake_discord *, int op, json_t *d);
/* Closes the live connection with a close code; 0 drops the TCP
 * connection without a close frame. */
void	fake_discord_close(struct fake_discord *, int code);
int	fake_discord_connections(struct fake_discord *);
/* The next n gateway connections are dropped as soon as accepted. */
void	fake_discord_refuse(struct fake_discord *, int n);
/* now_ms() when connection n was accepted; 0 if there is none. */
int64_t	fake_discord_conn_time(struct fake_discord *, int n);
/* Path and query of gateway connection n (1-based) as the client sent
 * them; caller frees. */
char	*fake_discord_conn_path(struct fake_discord *, int n);
/* 1 when connection n came in on the resume URL, 0 if not, -1 none. */
int	fake_discord_conn_resume(struct fake_discord *, int n);
/* How many connections were refused for another request target than
 * "/?v=10&encoding=json"; *target (caller frees) the last one's. */
int	fake_discord_refused(struct fake_discord *, char **target);
/* Waits for a live session (READY or RESUMED sent) on connection n. */
int	fake_discord_wait_live(struct fake_discord *, int n, int timeout_ms);
/* Waits for the nth (1-based) client frame with `op`; 0 when found and
 * *out filled (may be NULL). */
int	fake_discord_wait_frame(struct fake_discord *, int op, int nth,
	    int timeout_ms, struct fake_frame *out);
int	fake_discord_count_frames(struct fake_discord *, int op);
/* When the server last sent an op (Hello, dispatch...); 0 if never. */
int64_t	fake_discord_last_sent(struct fake_discord *, int op);
int64_t	fake_discord_seq(struct fake_discord *);

/* ---- payload builders (realistic, with snowflake ids) ---- */
char	*fake_discord_snowflake(void);	/* caller frees */
/* A MESSAGE_CREATE d; guild NULL for a DM. */
json_t	*fake_discord_message(const char *channel, const char *guild,
	    const char *author, int bot, const char *content);
/* An INTERACTION_CREATE d of type 2 for /name with options (stolen). */
json_t	*fake_discord_slash(const char *channel, const char *guild,
	    const char *user, const char *name, json_t *options);
/* An INTERACTION_CREATE d of type 3 for a button press. */
json_t	*fake_discord_press(const char *channel, const char *guild,
	    const char *user, const char *message_id, const char *custom_id);
/* Dispatches an interaction (d stolen) and starts its 3 s clock;
 * *id (caller frees) gets its id. */
int64_t	fake_discord_interaction(struct fake_discord *, json_t *d,
	    char **id);
/* The callback an interaction got: 0 and its type and delay, -1 none. */
int	fake_discord_callback_of(struct fake_discord *, const char *id,
	    int *type, int64_t *delay_ms);

/* ---- REST ---- */
int	fake_discord_wait_call(struct fake_discord *, const char *method,
	    const char *path_prefix, int nth, int timeout_ms,
	    struct fake_call *out);
int	fake_discord_count_calls(struct fake_discord *, const char *method,
	    const char *path_prefix);
/* The next `count` requests matching answer 429 with retry_after. */
void	fake_discord_force_429(struct fake_discord *, const char *method,
	    const char *path_prefix, double retry_after, int global,
	    int count);
/* The next `count` requests matching answer `status` (403: Missing
 * Permissions, else 500). */
void	fake_discord_fail(struct fake_discord *, const char *method,
	    const char *path_prefix, int status, int count);
/* A bucket: at most `limit` requests per `window_ms`, with headers. */
void	fake_discord_bucket(struct fake_discord *, const char *method,
	    const char *path_prefix, int limit, int window_ms);
/* A stored message as JSON text (content, components); caller frees. */
char	*fake_discord_stored_message(struct fake_discord *, const char *id);
/* How many 429s the fake has answered (global ones in *global). */
int	fake_discord_429s(struct fake_discord *, int *global);


/*
 * A test bench: the fake plus a connector configured for it (guild
 * GUILD, channels CHAN and CHAN2, DMs from DMUSER) whose submitted
 * events are kept for the test to look at.
 */
#define FAKE_BENCH_EVENTS 256
struct fake_bench {
	struct fake_discord	*fd;
	struct conf		 conf;
	struct conf_room	 rooms[2];
	char			*guilds[1];
	char			*users[1];
	struct chat_ctx		 ctx;
	struct connector	*c;
	pthread_mutex_t		 lock;
	struct chat_event	*ev[FAKE_BENCH_EVENTS];
	size_t			 nev;
};
void	fake_bench_init(struct fake_bench *, int heartbeat_ms);
/* Creates and starts the connector; -1 (test failed) on error. */
int	fake_bench_start(struct fake_bench *);
void	fake_bench_done(struct fake_bench *);
/* The nth (1-based) event of a kind, waiting up to timeout_ms. */
struct chat_event *fake_bench_wait(struct fake_bench *,
	    enum chat_event_kind, int nth, int timeout_ms);
int	fake_bench_count(struct fake_bench *, enum chat_event_kind);

#endif
