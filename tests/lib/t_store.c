/*
 * t_store.c - see t_store.h. Each call opens and closes its own
 * connection, so it never holds the database between calls.
 */
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "store.h"
#include "t_db.h"
#include "t_store.h"
#include "util.h"

char *
t_store_db(const char *name)
{
	char	*path;

	if ((path = t_db_new(name)) == NULL)
		path = xstrdup("postgresql://pvebot@127.0.0.1:1/no-database");
	return path;
}

int64_t
t_store_exec(const char *path, const char *sql, const char *a1,
    const char *a2)
{
	struct store	*s;
	struct db_stmt	*st;
	char		*cause = NULL;
	int64_t		 n = -1;

	if ((s = store_open(path, &cause)) == NULL) {
		printf("t_store_exec: store_open: %s\n", cause);
		free(cause);
		return -1;
	}
	if ((st = db_prepare(s, sql)) != NULL) {
		if (a1 != NULL)
			db_bind_text(st, 1, a1);
		if (a2 != NULL)
			db_bind_text(st, 2, a2);
		if (db_step(st) == DB_ERROR)
			printf("t_store_exec: %s: %s\n", sql, db_error(s));
		else
			n = db_changes(s);
		db_finish(s, st);
	}
	store_close(s);
	return n;
}
