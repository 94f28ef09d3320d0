/*
 * t_chat.c - see t_chat.h. A delivery without a database uses one per
 * test (t_store_db(): SQLite, or PostgreSQL when the tests run there).
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"

#include "chat.h"
#include "outbox.h"
#include "store.h"
#include "t.h"
#include "t_chat.h"
#include "t_store.h"
#include "util.h"

/*
 * The database a delivery without one uses: one per test (its folder),
 * on the backend t_db.h says.
 */
static char *
deliver_db(void)
{
	static char	*dir, *db;

	if (dir == NULL || strcmp(dir, t_tmpdir()) != 0) {
		free(dir);
		free(db);
		dir = xstrdup(t_tmpdir());
		db = t_store_db("deliver.db");
	}
	return xstrdup(db);
}

char *
t_chat_deliver(struct connector *c, const char *db_path, const char *room,
    const struct chat_msg *msg, int64_t timeout_ms)
{
	struct chat_sender	*snd;
	struct store		*s;
	struct db_stmt		*st;
	char			*cause = NULL, *path, *ref = NULL;
	int64_t			 id, deadline = now_ms() + timeout_ms;
	int			 done = 0;

	path = db_path != NULL ? xstrdup(db_path) : deliver_db();
	if ((s = store_open(path, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "store_open: %s", cause);
		free(cause);
		free(path);
		return NULL;
	}
	store_set_outbox_hook(chat_sender_notify);
	id = outbox_send(s, c->ops->name, room, msg, NULL);
	if ((snd = chat_sender_start(c, path, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sender: %s", cause);
		free(cause);
		store_close(s);
		free(path);
		return NULL;
	}
	while (!done && now_ms() < deadline) {
		st = db_prepare(s, "SELECT state, ref FROM outbox WHERE "
		    "id = ?1");
		db_bind_int(st, 1, id);
		if (db_step(st) == DB_ROW &&
		    strcmp(db_text(st, 0),
		    "pending") != 0) {
			done = 1;
			if (strcmp(db_text(st, 0),
			    "done") == 0 && db_text(st, 1) != NULL)
				ref = xstrdup(db_text(st, 1));
		}
		db_finish(s, st);
		if (!done)
			sleep_ms(20);
	}
	chat_sender_free(snd);
	store_close(s);
	free(path);
	return ref;
}

int
t_chat_deliver_all(struct connector *c, const char *db_path,
    const char *const *rooms, const struct chat_msg *msgs, size_t n,
    int64_t timeout_ms)
{
	struct chat_sender	*snd;
	struct store		*s;
	struct db_stmt		*st;
	char			*cause = NULL, *path;
	int64_t			 deadline = now_ms() + timeout_ms, waiting = -1;
	int			 delivered = 0;
	size_t			 i;

	path = db_path != NULL ? xstrdup(db_path) : deliver_db();
	if ((s = store_open(path, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "store_open: %s", cause);
		free(cause);
		free(path);
		return 0;
	}
	store_set_outbox_hook(chat_sender_notify);
	store_begin(s);
	for (i = 0; i < n; i++)
		outbox_send(s, c->ops->name, rooms[i], &msgs[i], NULL);
	store_commit(s);
	if ((snd = chat_sender_start(c, path, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sender: %s", cause);
		free(cause);
		store_close(s);
		free(path);
		return 0;
	}
	while (waiting != 0 && now_ms() < deadline) {
		sleep_ms(20);
		waiting = outbox_pending(s, c->ops->name);
	}
	chat_sender_free(snd);
	st = db_prepare(s, "SELECT COUNT(*) FROM outbox WHERE state = "
	    "'done'");
	if (db_step(st) == DB_ROW)
		delivered = (int)db_int(st, 0);
	db_finish(s, st);
	store_close(s);
	free(path);
	return delivered;
}
