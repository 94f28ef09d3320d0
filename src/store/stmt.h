/*
 * stmt.h - the ends of a statement that many domain functions share
 * (store/alerts.c, store/monitor_state.c): run one that gives no rows,
 * ask one whether it gives a row, read a count, read a column of texts.
 * Each gives the statement back.
 */
#ifndef PVEBOT_STMT_H
#define PVEBOT_STMT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

/* Runs `st` to its end: 0, or -1 on error. */
static inline int
stmt_run(struct store *s, struct db_stmt *st)
{
	int	 rc = db_step(st);

	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

/* 1 when `st` gives a row, 0 when none, -1 on error. */
static inline int
stmt_exists(struct store *s, struct db_stmt *st)
{
	int	 rc = db_step(st);

	db_finish(s, st);
	return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

/* The first column of the one row `st` gives (a COUNT), or -1. */
static inline int64_t
stmt_count(struct store *s, struct db_stmt *st)
{
	int64_t	 n = -1;

	if (db_step(st) == DB_ROW)
		n = db_int(st, 0);
	db_finish(s, st);
	return n;
}

/*
 * The texts of the first column of every row (NULLs left out), copied:
 * 0, or -1 on error with those read before it. Free with strv_free().
 */
static inline int
stmt_texts(struct store *s, struct db_stmt *st, char ***v, size_t *n)
{
	const char	*text;
	int		 rc;

	while ((rc = db_step(st)) == DB_ROW) {
		if ((text = db_text(st, 0)) == NULL)
			continue;
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[(*n)++] = xstrdup(text);
	}
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

#endif
