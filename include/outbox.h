/*
 * outbox.h - the durable chat outbox (store/outbox.c): every message,
 * edit and button answer pvebot sends is a row written in the same
 * transaction as the state it reports, and one sender thread per
 * connector (chat/chat_sender.c) delivers it.
 *
 * A row is one logical message. Writers post it (outbox_send,
 * outbox_reply) and later replace its content (outbox_edit); each change
 * bumps the row's version. The sender sends the newest content it finds,
 * so when several edits of one message wait only the latest goes out
 * (coalescing), and a message not yet sent is sent with its newest
 * content. A row is done when the version the platform acknowledged is
 * the newest one. Rows survive a crash: the next start sends what is
 * still pending.
 *
 * Writers name rows by id: a job keeps the id of its message, an alert
 * the ids of the messages it was posted in. The platform's own reference
 * (message id, event id) is only known to the sender.
 */
#ifndef PVEBOT_OUTBOX_H
#define PVEBOT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"

struct store;

enum outbox_kind {
	OUTBOX_MESSAGE,		/* a message, sent then edited */
	OUTBOX_ANSWER,		/* a button press acknowledged, once */
};

/*
 * A new message to a room; the id of its row, or -1. Part of the
 * caller's transaction. `label` (may be NULL) is how a replacement
 * names the message when the original can no longer be edited
 * ("job #42").
 */
int64_t	outbox_send(struct store *, const char *connector, const char *room,
	    const struct chat_msg *, const char *label);
/*
 * A reply to an incoming event: threaded under it where the platform
 * threads, the response of a Discord slash command.
 */
int64_t	outbox_reply(struct store *, const struct chat_event *,
	    const struct chat_msg *, const char *label);
/* New content for message `id`; only the newest content is sent. */
int	outbox_edit(struct store *, int64_t id, const struct chat_msg *);
/* Acknowledges a button press with a short text (may be empty). */
int	outbox_answer(struct store *, const struct chat_event *,
	    const char *text);

/* What the sender reads: one row with its newest content. */
struct outbox_item {
	int64_t			 id;
	enum outbox_kind	 kind;
	char			*connector;
	char			*room;
	char			*ref;		/* NULL: not sent yet */
	char			*label;
	int64_t			 version;
	int			 attempts;
	int64_t			 created_at;	/* UNIX seconds */
	int			 more;		/* rows of its room wait behind */
	/* The content. */
	struct chat_msg		 msg;
	char			*title, *text, *mention, *mention_name;
	struct chat_button	*buttons;
	char			**button_strings;
	/* A reply or an answer: the event it answers (room, user,
	 * reply_token, msg_ref, slash); NULL for a plain message. */
	struct chat_event	*ev;
};

/*
 * The rows of `connector` that wait: in each room the oldest one (rooms
 * are independent, messages of one room go in order), and every answer.
 * Only rows whose next attempt is due at `now_ms`; *next_ms gets the
 * earliest later attempt (0 when none). Caller frees with
 * outbox_items_free().
 */
int	outbox_due(struct store *, const char *connector, int64_t now_ms,
	    struct outbox_item **, size_t *n, int64_t *next_ms);
void	outbox_items_free(struct outbox_item *, size_t n);
/* The platform took version item->version; ref is the message's ref. */
int	outbox_sent(struct store *, const struct outbox_item *,
	    const char *ref);
/* A temporary failure: try again at `next_ms` (wall clock ms). */
int	outbox_retry(struct store *, const struct outbox_item *,
	    int64_t next_ms, const char *error);
/*
 * The message can no longer be edited (deleted, too old): the next
 * attempt sends its newest content as a new message.
 */
int	outbox_forget_ref(struct store *, const struct outbox_item *);
/* Given up: logged and audited by the caller. */
int	outbox_failed(struct store *, const struct outbox_item *,
	    const char *error);
/* Rows still waiting for `connector` (NULL: all). */
int64_t	outbox_pending(struct store *, const char *connector);
/* The platform ref of row `id` once sent (caller frees), else NULL. */
char	*outbox_ref(struct store *, int64_t id);

#endif
