/*
 * t_chat.h - delivering through the outbox in tests, as pvebot does: a
 * row is written, the connector's sender thread delivers it.
 */
#ifndef PVEBOT_T_CHAT_H
#define PVEBOT_T_CHAT_H

#include <stdint.h>

#include "chat.h"

/*
 * Writes msg for room to the outbox of `db_path` (created in the test's
 * folder when NULL), runs a sender for connector c until the row is
 * delivered or has failed, or timeout_ms passed. Returns the message's
 * ref (caller frees), or NULL when it was not delivered.
 */
char	*t_chat_deliver(struct connector *c, const char *db_path,
	    const char *room, const struct chat_msg *msg, int64_t timeout_ms);

/*
 * Writes n messages (rooms[i], msgs[i]) to the outbox at once, then runs
 * one sender until all are delivered or failed, or timeout_ms passed.
 * Returns how many were delivered.
 */
int	t_chat_deliver_all(struct connector *c, const char *db_path,
	    const char *const *rooms, const struct chat_msg *msgs, size_t n,
	    int64_t timeout_ms);

#endif
