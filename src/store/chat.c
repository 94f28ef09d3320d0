/*
 * chat.c - a connector's transaction ids and offered buttons in the
 * store (see store_chat.h): chat_outbox and chat_buttons.
 *
 * Every function is one statement and joins the caller's transaction
 * if there is one. A duplicate button is refused by the table's primary
 * key (connector, msg_ref, data) with ON CONFLICT DO NOTHING, so the
 * caller learns from the count of changed rows whether it was new.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_util.h"
#include "store.h"
#include "store_chat.h"
#include "util.h"

int
chat_txn_find(struct store *s, const char *connector, const char *room,
    const char *body, const char *suffix, int64_t since, char **txn,
    int *same_body, char **cause)
{
	struct db_stmt	*st;
	int		 rc;

	*txn = NULL;
	*same_body = 0;
	/*
	 * The suffix is compared from the id's length (a negative substr
	 * start is SQLite's alone); an id shorter than it never matches.
	 */
	if (suffix != NULL)
		st = db_prepare(s, "SELECT txn_id, CASE WHEN body = ?2 THEN 1 "
		    "ELSE 0 END FROM chat_outbox WHERE connector = ?5 AND "
		    "room = ?1 AND state = 'pending' AND created_at > ?3 AND "
		    "length(txn_id) >= length(?4) AND substr(txn_id, "
		    "length(txn_id) - length(?4) + 1) = ?4 ORDER BY id "
		    "LIMIT 1");
	else
		st = db_prepare(s, "SELECT txn_id, 1 FROM chat_outbox "
		    "WHERE connector = ?5 AND room = ?1 AND body = ?2 "
		    "AND state = 'pending' AND created_at > ?3 ORDER BY id "
		    "LIMIT 1");
	if (st == NULL)
		return set_cause(cause, "outbox lookup failed");
	db_bind_text(st, 1, room);
	db_bind_text(st, 2, body);
	db_bind_int(st, 3, since);
	if (suffix != NULL)
		db_bind_text(st, 4, suffix);
	db_bind_text(st, 5, connector);
	if ((rc = db_step(st)) == DB_ROW) {
		*txn = xstrdup(db_text(st, 0));
		*same_body = db_int(st, 1) != 0;
	} else if (rc == DB_ERROR)
		set_cause(cause, "outbox lookup failed: %s", db_error(s));
	db_finish(s, st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int
chat_txn_set_body(struct store *s, const char *txn, const char *body)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "UPDATE chat_outbox SET body = ?1 WHERE "
	    "txn_id = ?2")) == NULL)
		return -1;
	db_bind_text(st, 1, body);
	db_bind_text(st, 2, txn);
	return db_run(s, st);
}

int
chat_txn_add(struct store *s, const char *connector, const char *room,
    const char *txn, const char *body, int64_t now, char **cause)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO chat_outbox (connector, room, "
	    "txn_id, body, state, created_at) VALUES (?5, ?1, ?2, ?3, "
	    "'pending', ?4)");
	if (st == NULL)
		return set_cause(cause, "outbox insert failed");
	db_bind_text(st, 1, room);
	db_bind_text(st, 2, txn);
	db_bind_text(st, 3, body);
	db_bind_int(st, 4, now);
	db_bind_text(st, 5, connector);
	if (db_run(s, st) != 0)
		return set_cause(cause, "outbox insert failed: %s",
		    db_error(s));
	return 0;
}

int
chat_txn_finish(struct store *s, const char *txn, const char *state,
    const char *ref, char **cause)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "UPDATE chat_outbox SET state = ?1, "
	    "ref = ?2 WHERE txn_id = ?3")) == NULL)
		return set_cause(cause, "cannot prepare the update");
	db_bind_text(st, 1, state);
	db_bind_text(st, 2, ref);
	db_bind_text(st, 3, txn);
	if (db_run(s, st) != 0)
		return set_cause(cause, "%s", db_error(s));
	return 0;
}

int
chat_txn_is_ours(struct store *s, const char *connector, const char *ref)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "SELECT 1 FROM chat_outbox WHERE "
	    "connector = ?2 AND ref = ?1")) == NULL)
		return 0;
	db_bind_text(st, 1, ref);
	db_bind_text(st, 2, connector);
	return db_exists(s, st) == 1;
}

int
chat_txn_prune(struct store *s, const char *connector, int64_t before,
    char **cause)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "DELETE FROM chat_outbox WHERE "
	    "connector = ?1 AND created_at < ?2")) == NULL)
		return set_cause(cause, "cannot prepare the cleanup");
	db_bind_text(st, 1, connector);
	db_bind_int(st, 2, before);
	if (db_run(s, st) != 0)
		return set_cause(cause, "%s", db_error(s));
	return 0;
}

int
chat_button_add(struct store *s, const char *connector, const char *room,
    const char *msg_ref, const char *label, const char *data,
    const char *emoji)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "INSERT INTO chat_buttons (connector, room, "
	    "msg_ref, label, data, emoji) VALUES (?6, ?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT DO NOTHING")) == NULL)
		return -1;
	db_bind_text(st, 1, room);
	db_bind_text(st, 2, msg_ref);
	db_bind_text(st, 3, label);
	db_bind_text(st, 4, data);
	db_bind_text(st, 5, emoji);
	db_bind_text(st, 6, connector);
	if (db_run(s, st) != 0)
		return -1;
	return db_changes(s) > 0;
}

static void
button_fill(struct db_stmt *st, void *elem)
{
	struct chat_button_row	*b = elem;

	b->data = db_text_dup(st, 0);
	b->emoji = db_text_dup(st, 1);
}

int
chat_buttons_of(struct store *s, const char *connector, const char *room,
    const char *msg_ref, struct chat_button_row **rows, size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*rows = NULL;
	*n = 0;
	if ((st = db_prepare(s, "SELECT data, emoji FROM chat_buttons WHERE "
	    "connector = ?3 AND room = ?1 AND msg_ref = ?2")) == NULL)
		return -1;
	db_bind_text(st, 1, room);
	db_bind_text(st, 2, msg_ref);
	db_bind_text(st, 3, connector);
	*rows = db_rows(s, st, sizeof **rows, button_fill, n, &rc);
	return rc;
}

void
chat_buttons_free(struct chat_button_row *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].data);
		free(v[i].emoji);
	}
	free(v);
}
