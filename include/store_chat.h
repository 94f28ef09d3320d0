/*
 * store_chat.h - a connector's own delivery state in the store
 * (src/store/chat.c): the transaction ids it PUT events with
 * (chat_outbox) and the buttons it offered as reactions (chat_buttons).
 * The Matrix connector uses both; `connector` names whose rows they are.
 *
 * Transaction ids: a row is written before the first try of an event
 * and is 'pending' until the homeserver answered ('sent', with the
 * event id as ref) or refused ('failed'). A later try of the same
 * content finds the pending row and reuses its id, so the homeserver's
 * idempotency turns it into the same event. Rows are kept a while
 * after being sent so a sync can tell pvebot's own events apart.
 *
 * Buttons: one row per (message, data), written before pvebot reacts
 * with the button's emoji; a second write of the same button changes
 * nothing, so only the first offer reacts.
 *
 * Each function is one statement; none opens a transaction.
 */
#ifndef PVEBOT_STORE_CHAT_H
#define PVEBOT_STORE_CHAT_H

#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * The oldest pending transaction in `room` made after `since` whose id
 * ends in `suffix` (when not NULL: the sender's key, whatever the
 * content) or else whose body is `body`. 1 found (*txn, caller frees;
 * *same_body whether its body is `body`), 0 none, -1 error (*cause).
 */
int	chat_txn_find(struct store *, const char *connector, const char *room,
	    const char *body, const char *suffix, int64_t since, char **txn,
	    int *same_body, char **cause);
/* Gives a pending transaction new content (it is tried again with it). */
int	chat_txn_set_body(struct store *, const char *txn, const char *body);
/* Records a new pending transaction made at `now`; 0, or -1 (*cause). */
int	chat_txn_add(struct store *, const char *connector, const char *room,
	    const char *txn, const char *body, int64_t now, char **cause);
/* Its outcome: state "sent" or "failed", ref the event id (may be NULL);
 * 0, or -1 (*cause). */
int	chat_txn_finish(struct store *, const char *txn, const char *state,
	    const char *ref, char **cause);
/* Is `ref` an event the connector sent? 1 yes, 0 no or error. */
int	chat_txn_is_ours(struct store *, const char *connector,
	    const char *ref);
/* Forgets the transactions made before `before`; 0, or -1 (*cause). */
int	chat_txn_prune(struct store *, const char *connector, int64_t before,
	    char **cause);

/* One offered button. */
struct chat_button_row {
	char	*data;
	char	*emoji;		/* NULL when none was stored */
};

/*
 * Records a button of message `msg_ref`: 1 recorded now, 0 it was there
 * already (same message and data), -1 error.
 */
int	chat_button_add(struct store *, const char *connector,
	    const char *room, const char *msg_ref, const char *label,
	    const char *data, const char *emoji);
/* The buttons of a message in `room`, in no promised order; 0 or -1.
 * Free with chat_buttons_free(). */
int	chat_buttons_of(struct store *, const char *connector,
	    const char *room, const char *msg_ref,
	    struct chat_button_row **rows, size_t *n);
void	chat_buttons_free(struct chat_button_row *, size_t);

#endif
