/*
 * chat.h - the connector interface every chat platform implements
 * (chat_console.c, chat_telegram.c, chat_matrix.c, chat_discord.c).
 *
 * A connector turns platform updates into normalised chat_events and
 * hands them to the router with ctx->submit(); it knows nothing of
 * policy or jobs. Outgoing, nobody calls it directly: the router,
 * workers and monitor write to the durable outbox (outbox.h) and the
 * connector's own sender thread (chat_sender.c) calls send/edit/reply/
 * answer, which make one attempt each and never wait out a rate limit
 * themselves: they report it (retry_after) and the sender waits. Text
 * handed to a connector is plain UTF-8; the connector escapes it for its
 * platform (HTML for Telegram and Matrix, Markdown for Discord).
 */
#ifndef PVEBOT_CHAT_H
#define PVEBOT_CHAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct catalogue;
struct connector;

enum chat_event_kind {
	CHAT_EV_MESSAGE,	/* a text message */
	CHAT_EV_BUTTON,		/* a button press or an approving reaction */
	CHAT_EV_OFFSET,		/* nothing to do but save the offset */
	CHAT_EV_NOTICE,		/* echo ev->text back, in queue order */
	CHAT_EV_SKIPPED,	/* an update that cannot be handled: the
				 * offset is saved, ev->text is audited and
				 * ev->answer (when set) goes to ev->room */
	CHAT_EV_UNSERVED,	/* ev->user wrote in a room pvebot does not
				 * serve: audited once a day per room when
				 * the policy knows the person; ev->answer
				 * (a whoami hint) is sent at most once per
				 * room and rate-limit window */
};

/* A normalised incoming event; every string is owned by the event. */
struct chat_event {
	enum chat_event_kind	 kind;
	char	*connector;	/* "console", "telegram", "matrix", "discord" */
	char	*room;		/* platform room / chat / channel id */
	char	*user;		/* identity: "telegram:123", never a name */
	char	*display;	/* display name, for messages only */
	char	*text;		/* MESSAGE: the text */
	char	*button_data;	/* BUTTON: data of the pressed button */
	char	*msg_ref;	/* BUTTON: the message carrying the buttons */
	char	*reply_token;	/* callback query id, interaction token... */
	int64_t	 sent_at;	/* platform timestamp, UNIX seconds */
	int	 direct;	/* a private conversation with pvebot */
	int	 addressed;	/* explicitly for pvebot: /cmd@bot, slash */
	int	 slash;		/* Discord slash command: text is canonical */
	/* Saved in the same SQLite transaction as the work it produced. */
	char	*offset_key;	/* e.g. "telegram", NULL when none */
	char	*offset;
	/*
	 * Called by the router once the transaction that saved `offset`
	 * committed (or the event was dropped), so a poller never confirms
	 * to the platform what is not saved. May be NULL.
	 */
	void	(*saved)(void *arg, const char *offset, int ok);
	void	*saved_arg;
	char	*answer;	/* SKIPPED, UNSERVED: a short reply */
};

struct chat_event *chat_event_new(enum chat_event_kind, const char *connector,
		    const char *room, const char *user);
void		 chat_event_free(struct chat_event *);

enum chat_button_style { CHAT_BUTTON_PRIMARY, CHAT_BUTTON_SUCCESS,
	CHAT_BUTTON_DANGER };

struct chat_button {
	const char		*label;	/* "Approve" */
	const char		*data;	/* "ap:12:3f9c..." - at most 64 bytes */
	const char		*emoji;	/* reaction for Matrix: "✅" */
	enum chat_button_style	 style;
};

/* An outgoing message; plain text, escaped by the connector. */
struct chat_msg {
	const char			*title;	/* bold first line, or NULL */
	const char			*text;	/* body */
	int				 pre;	/* body is monospace */
	const struct chat_button	*buttons;
	size_t				 nbuttons;
	/*
	 * A person the message is for (an identity, "telegram:42"), shown
	 * as mention_name at its start so the platform notifies them: a
	 * Telegram text mention, a Matrix pill, a Discord user mention.
	 * NULL for none; a connector ignores another platform's identity.
	 */
	const char			*mention;
	const char			*mention_name;
	/*
	 * Names the message across attempts and restarts ("outbox.12",
	 * set by the sender for a new message; NULL otherwise). A
	 * connector whose sends are idempotent (Matrix transaction ids)
	 * sends an unacknowledged first attempt again under the same
	 * transaction even when the content changed since, so a message
	 * the platform took just before a crash is not posted twice.
	 */
	const char			*key;
};

/* Return values of outgoing operations. */
enum chat_result {
	CHAT_OK = 0,
	CHAT_TEMPORARY = -1,	/* worth retrying: network, 5xx, 429 */
	CHAT_PERMANENT = -2,	/* retrying will not help: 400, 403, gone */
};

struct connector_ops {
	const char *name;
	/* Starts the receiving thread. */
	int	(*start)(struct connector *, char **cause);
	/* Stops receiving; returns once the thread has ended. */
	void	(*stop)(struct connector *);
	/* Sends to a room; *ref (caller frees) identifies it for edits. */
	int	(*send)(struct connector *, const char *room,
		    const struct chat_msg *, char **ref, char **cause);
	/* Replaces the text (and buttons) of a sent message. */
	int	(*edit)(struct connector *, const char *room, const char *ref,
		    const struct chat_msg *, char **cause);
	/*
	 * Replies to an event: usually a send to ev->room; Discord answers
	 * an interaction by editing its deferred response. May be NULL.
	 */
	int	(*reply)(struct connector *, const struct chat_event *,
		    const struct chat_msg *, char **ref, char **cause);
	/*
	 * Acknowledges a button press with a short text (Telegram
	 * answerCallbackQuery, Discord ephemeral reply, Matrix reply).
	 * May be NULL when the platform needs nothing.
	 */
	int	(*answer)(struct connector *, const struct chat_event *,
		    const char *text, char **cause);
	void	(*free)(struct connector *);
	/*
	 * The platform's flood limit: least milliseconds between messages
	 * to `room`, or between any two calls when room is NULL. May be
	 * NULL (no limit).
	 */
	int64_t	(*pace_ms)(struct connector *, const char *room);
	/*
	 * After an outgoing call returned CHAT_TEMPORARY: how long the
	 * platform asked to wait (a 429's retry_after) in ms, 0 when it did
	 * not say. Reading clears it. Only the sender thread calls it. May
	 * be NULL.
	 */
	int64_t	(*retry_after)(struct connector *);
	/*
	 * A reload, on the main thread (no network here): the connector
	 * takes the new config's rooms and people and the new catalogue's
	 * command list (copying what it needs: the catalogue may be freed
	 * by a later reload); its own threads publish a changed list to the
	 * platform. Both stay valid until the next call. May be NULL: a
	 * change then needs a restart.
	 */
	void	(*reload)(struct connector *, const struct conf *,
		    const struct catalogue *);
};

/* What a connector gets from the core. */
struct chat_ctx {
	/* bot.conf; a reload swaps in the new one (the old stays valid). */
	const struct conf *_Atomic conf;
	const struct catalogue	*catalogue;	/* for setMyCommands etc. */
	/* Hands an event to the router, which takes ownership. */
	void			(*submit)(void *arg, struct chat_event *);
	void			*submit_arg;
};

struct connector {
	const struct connector_ops	*ops;
	const struct chat_ctx		*ctx;
	void				*priv;
	/* Its sender while one runs (set and cleared by chat_sender.c;
	 * the connector's threads read it while it starts). */
	_Atomic(struct chat_sender *)	 sender;
};

/* Constructors, one per backend; NULL with *cause on a setup error. */
struct connector *chat_console_create(const struct chat_ctx *, int in_fd,
		    int out_fd, char **cause);
/* The console has read all of its input. */
int	chat_console_eof(struct connector *);
/*
 * Lines starting with "/sim " go to this hook (the demo drives its
 * simulator with them); the returned text (caller frees) is printed.
 */
typedef char	*(*chat_console_hook)(void *arg, const char *args);
void	chat_console_set_hook(struct connector *, chat_console_hook, void *);
struct connector *chat_telegram_create(const struct chat_ctx *, char **cause);
struct connector *chat_matrix_create(const struct chat_ctx *, char **cause);
struct connector *chat_discord_create(const struct chat_ctx *, char **cause);

/* Generic helpers over the ops (chat.c). */
int	chat_send(struct connector *, const char *room,
	    const struct chat_msg *, char **ref, char **cause);
int	chat_edit(struct connector *, const char *room, const char *ref,
	    const struct chat_msg *, char **cause);
int	chat_reply(struct connector *, const struct chat_event *,
	    const struct chat_msg *, char **ref, char **cause);
int	chat_answer(struct connector *, const struct chat_event *,
	    const char *text);
void	chat_free(struct connector *);

/*
 * The sender thread of a connector (chat_sender.c): drains its outbox.
 * chat_sender_notify() is the store's outbox hook. Stopping delivers
 * what is due for up to drain_ms, then leaves the rest for the next
 * start.
 */
struct chat_sender;
struct chat_sender *chat_sender_start(struct connector *, const char *db_path,
	    char **cause);
void	chat_sender_notify(const char *connector);
void	chat_sender_stop(struct chat_sender *, int64_t drain_ms);
void	chat_sender_free(struct chat_sender *);
/*
 * Delivers what is due for connector c now, on the caller's thread and
 * store connection, ignoring pacing: how tests drive a recording
 * connector step by step. Returns the number of attempts.
 */
struct store;
int	chat_sender_flush(struct connector *, struct store *);
/* Rows delivered since start (tests). */
int64_t	chat_sender_delivered(struct chat_sender *);
/*
 * Waits until everything written for the sender's connector before the
 * call has been delivered (nothing of it waits: no row due later, no
 * room paced), the sender stops, or `deadline_ms` (monotonic) passes:
 * 1 delivered, -1 the sender stops, 0 the deadline passed. What the
 * console waits on before its next line.
 */
int	chat_sender_settle(struct chat_sender *, int64_t deadline_ms);

/*
 * Shared by all connectors: is a command sent at `sent_at` too old to
 * run (it arrived while pvebot was down)?
 */
int	chat_is_stale(const struct conf *, int64_t sent_at, int64_t now);

/*
 * Backoff with full jitter for attempt n (0-based): a random wait in
 * [base/2, min(cap, base * 2^n)] milliseconds.
 */
int64_t	chat_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms);

#endif
