/*
 * chat_feed.h - for tests and fuzzing only: hands a connector what its
 * receiving thread would have read from the network, and runs the same
 * code that thread runs on it, on the caller's thread. Nothing here is
 * used by pvebot itself.
 *
 * The connector must not be started (no receiving thread runs beside a
 * feed) and is used by one thread at a time. A feed never touches the
 * network: requests the receiving path makes on its own (Matrix joins
 * and notices, Discord acknowledgements) go to a chat_feed_http callback
 * instead, and a feed without one refuses to run. Events go to the
 * connector's ctx->submit as usual; a poller that waits for the router
 * to save an offset (Telegram) waits for ev->saved exactly as it does
 * when running, so the callback must call it.
 */
#ifndef PVEBOT_CHAT_FEED_H
#define PVEBOT_CHAT_FEED_H

#include <stddef.h>

struct connector;
struct store;

/*
 * Answers one request in place of the homeserver or API: returns the
 * HTTP status, 0 for "no reply" (the network failed), and sets *reply to
 * the body (malloc'd; NULL for none). `body` is the JSON sent, or NULL.
 */
typedef long	(*chat_feed_http)(void *arg, const char *method,
		    const char *path, const char *body, char **reply);

/*
 * Telegram: one getUpdates reply (HTTP status, body, and whether the
 * body was cut at the size cap) handled as the poller handles it:
 * unreadable replies switch to one-update-at-a-time and then skip the
 * update at fault, every update becomes one event with its offset, and
 * the call returns once the router saved the last one. `st` stands in
 * for the poller's store (migrations are recorded there). Returns the
 * poll's chat_result (CHAT_OK when there was something to handle or
 * nothing was wrong); *offset gets the offset the next getUpdates would
 * send.
 */
int	chat_telegram_feed(struct connector *, struct store *, long status,
	    const char *body, size_t len, int truncated, long long *offset);
/* What getMe would have said: the bot's username and user id. */
void	chat_telegram_feed_me(struct connector *, const char *username,
	    long long id);

/*
 * Matrix: one /sync reply (HTTP status and body) handled as the sync
 * loop handles it: invites, encrypted rooms, timeline events with their
 * offsets; the next since-token is kept for the next feed (the first
 * feed is the initial sync). `st` stands in for the sync thread's store
 * and the outbox store. Returns CHAT_OK when the reply was a sync
 * reply, else CHAT_TEMPORARY or CHAT_PERMANENT as mx_classify says
 * (-1 without an http callback).
 */
int	chat_matrix_feed(struct connector *, struct store *, long status,
	    const char *body, size_t len);
void	chat_matrix_feed_http(struct connector *, chat_feed_http, void *);

/*
 * Discord: one Gateway frame as received on the WebSocket, handled as
 * the gateway thread handles it, then every dispatch it queued handled
 * as the worker thread does (acknowledgements through the http
 * callback) before the call returns. There is no connection: what the
 * gateway would send (heartbeats, identify) is dropped and its timers
 * are not run. Slash commands count as registered (no thread starts).
 * Returns 0, or -1 without an http callback.
 */
int	chat_discord_feed(struct connector *, const char *frame, size_t len);
void	chat_discord_feed_http(struct connector *, chat_feed_http, void *);

#endif
