/*
 * fake_telegram.h - a fake Telegram Bot API server on 127.0.0.1 for
 * tests. It speaks the real wire format (POST /bot<TOKEN>/<method>, JSON
 * or form bodies, {"ok":...} replies), serves injected user messages and
 * button presses (and raw, even broken, updates) through getUpdates with
 * real offset semantics, records
 * every call, rejects what the real API rejects (text over 4096
 * characters, empty text, callback_data over 64 bytes, unknown
 * parse_mode, malformed HTML, identical edits, an edit of a message the
 * bot did not send or of another chat's) and fails on demand.
 *
 * Telegram's rate limits are on by default, as on Telegram (Bot FAQ): in
 * one chat about one message a second (short bursts of 3 pass), 20 a
 * minute in a group, 30 a second in all; sends and edits count, and a
 * call over a limit gets 429 with parameters.retry_after. A test that
 * must send faster turns them off with fake_telegram_limits(f, 0) and
 * says why.
 */
#ifndef PVEBOT_FAKE_TELEGRAM_H
#define PVEBOT_FAKE_TELEGRAM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct fake_telegram;

enum fake_telegram_fault {
	FAKE_TG_429,		/* param: retry_after seconds */
	FAKE_TG_5XX,		/* param: status (500..599) */
	FAKE_TG_GARBAGE,	/* 200 with a body that is not JSON */
	FAKE_TG_SLOW,		/* param: delay in ms, then a normal reply */
	FAKE_TG_DROP,		/* close the connection without a reply */
};

/* Starts on a free port; the bot is @username with id bot_id. */
struct fake_telegram *fake_telegram_start(const char *token,
		    const char *username, long long bot_id);
/* The same on a given port (0 = a free one); NULL when it is taken. */
struct fake_telegram *fake_telegram_start_port(const char *token,
		    const char *username, long long bot_id, int port);
void		 fake_telegram_stop(struct fake_telegram *);
/* "http://127.0.0.1:PORT" (static storage in the fake). */
const char	*fake_telegram_url(const struct fake_telegram *);

/*
 * Queues a text message from user_id in chat_id (a positive id is a
 * private chat, a negative one a group; below -1000000000000 a
 * supergroup). Returns the update_id. date 0 means now.
 */
long long	 fake_telegram_inject_message(struct fake_telegram *,
		    long long chat_id, long long user_id, const char *text,
		    long long date);
/* The same from a bot account. */
long long	 fake_telegram_inject_bot_message(struct fake_telegram *,
		    long long chat_id, long long bot_user_id,
		    const char *text);
/*
 * Queues a callback query: user_id pressed a button with `data` on
 * message message_id of chat_id. The data is not checked against the
 * keyboard (a test may forge it). Returns the update_id; *query_id (may
 * be NULL) gets the callback query id (static storage per call: copy).
 */
long long	 fake_telegram_press(struct fake_telegram *, long long chat_id,
		    long long user_id, long long message_id, const char *data,
		    char query_id[32]);
/*
 * A group upgrading to a supergroup: queues the service message in the
 * old chat ("migrate_to_chat_id") and in the new one
 * ("migrate_from_chat_id"); from then on sends to the old chat fail with
 * 400 and parameters.migrate_to_chat_id.
 */
void		 fake_telegram_migrate(struct fake_telegram *,
		    long long old_chat, long long new_chat);

/*
 * Queues an update given as raw text, which need not be valid JSON (a
 * poison update): the first "%ID%" in tmpl becomes its update_id, which
 * is returned. It is served like any other update and forgotten by the
 * offset like any other (by that id, whatever the text says).
 */
long long	 fake_telegram_inject_raw(struct fake_telegram *,
		    const char *tmpl);

/*
 * Telegram hangs for ms milliseconds: every call of `method` (NULL =
 * any) arriving meanwhile is held without being handled (nothing is
 * sent or stored) and its connection is dropped when the hang ends.
 */
void		 fake_telegram_hang(struct fake_telegram *, const char *method,
		    int ms);
/* Telegram's rate limits on (the default) or off. */
void		 fake_telegram_limits(struct fake_telegram *, int on);
/* Every limit's rate times factor (bursts unchanged): for the test of
 * the limits themselves, which would otherwise take minutes. */
void		 fake_telegram_limits_speed(struct fake_telegram *,
		    double factor);
/* How many calls the rate limits refused with 429. */
size_t		 fake_telegram_429s(struct fake_telegram *);

/* The next `count` calls of `method` (NULL = any) fail as told. */
void		 fake_telegram_fault(struct fake_telegram *, const char *method,
		    enum fake_telegram_fault, int param, int count);

/* Calls made to `method` (NULL = all, including failed ones). */
size_t		 fake_telegram_ncalls(struct fake_telegram *,
		    const char *method);
/* Parameters of the i-th call of `method` (caller decrefs); NULL if none. */
json_t		*fake_telegram_call(struct fake_telegram *, const char *method,
		    size_t i, int64_t *at_ms, int *status);
/* Waits until `method` has been called n times; 0 when it has. */
int		 fake_telegram_wait_calls(struct fake_telegram *,
		    const char *method, size_t n, int timeout_ms);
/* The visible text of a message (HTML parsed); caller frees; NULL if none. */
char		*fake_telegram_message_text(struct fake_telegram *,
		    long long chat_id, long long message_id);
/* Its reply_markup as compact JSON ("" when none); caller frees. */
char		*fake_telegram_message_markup(struct fake_telegram *,
		    long long chat_id, long long message_id);
/* Answer text given to a callback query; NULL while unanswered. */
char		*fake_telegram_answer(struct fake_telegram *,
		    const char *query_id);
/*
 * The newest message pvebot sent (or edited) in chat whose visible text
 * contains needle: its message id, or -1.
 */
long long	 fake_telegram_find(struct fake_telegram *, long long chat_id,
		    const char *needle);
/* The highest offset a getUpdates has confirmed. */
long long	 fake_telegram_confirmed(struct fake_telegram *);
/* now_ms() when a getUpdates reply first carried the update; -1 never. */
int64_t		 fake_telegram_delivered_at(struct fake_telegram *,
		    long long update_id);
/* 1 when the update was confirmed and forgotten. */
int		 fake_telegram_forgotten(struct fake_telegram *,
		    long long update_id);
/* Messages from the bot stored in chat whose visible text has needle. */
int		 fake_telegram_count(struct fake_telegram *, long long chat_id,
		    const char *needle);
/* All calls as text lines "method status params" (caller frees). */
char		*fake_telegram_dump(struct fake_telegram *);

/*
 * For benchmarks: waits until the bot has sent n messages (sendMessage
 * answered 200, any chat) whose visible text contains needle. Returns
 * when the n-th of them reached the fake (its request complete, on
 * fake_telegram_now_us()'s clock), or -1 after timeout_ms. The send
 * itself wakes the waiter: nothing polls.
 */
int64_t		 fake_telegram_wait_sent(struct fake_telegram *,
		    const char *needle, size_t n, int timeout_ms);
/* The most getUpdates calls held at once (a second poller makes 2). */
int		 fake_telegram_max_pollers(struct fake_telegram *);
/* TCP connections accepted so far. */
unsigned long long fake_telegram_connections(struct fake_telegram *);
/* The monotonic clock, in microseconds. */
int64_t		 fake_telegram_now_us(void);

/* Visible text and UTF-16 length of Telegram HTML; -1 and *err on error. */
int		 fake_telegram_parse_html(const char *html, char **plain,
		    size_t *units, char **err);

#endif
