/*
 * db_util.c - the shared ends of a statement (see db_util.h): each
 * steps, reads what it promises and gives the statement back.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_util.h"
#include "util.h"

int
db_run(struct store *s, struct db_stmt *st)
{
	int	 rc;

	if (st == NULL)
		return -1;
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

int
db_exists(struct store *s, struct db_stmt *st)
{
	int	 rc;

	if (st == NULL)
		return -1;
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_ERROR ? -1 : rc == DB_ROW;
}

int64_t
db_count(struct store *s, struct db_stmt *st)
{
	int64_t	 n = -1;

	if (st == NULL)
		return -1;
	if (db_step(st) == DB_ROW)
		n = db_int(st, 0);
	db_finish(s, st);
	return n;
}

int
db_texts(struct store *s, struct db_stmt *st, char ***v, size_t *n)
{
	const char	*text;
	int		 rc;

	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		if ((text = db_text(st, 0)) == NULL)
			continue;
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[(*n)++] = xstrdup(text);
	}
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

void *
db_rows(struct store *s, struct db_stmt *st, size_t size, db_fill_fn fill,
    size_t *n, int *rc)
{
	char	*v = NULL;
	int	 step;

	*n = 0;
	*rc = -1;
	if (st == NULL)
		return NULL;
	while ((step = db_step(st)) == DB_ROW) {
		v = xreallocarray(v, *n + 1, size);
		memset(v + *n * size, 0, size);
		fill(st, v + *n * size);
		(*n)++;
	}
	db_finish(s, st);
	*rc = step == DB_DONE ? 0 : -1;
	return v;
}

void *
db_rows_all(struct store *s, struct db_stmt *st, size_t size,
    db_fill_fn fill, db_release_fn release, size_t *n, int *rc)
{
	char	*v;
	size_t	 i;

	if ((v = db_rows(s, st, size, fill, n, rc)) == NULL || *rc == 0)
		return v;
	for (i = 0; i < *n; i++)
		release(v + i * size);
	free(v);
	*n = 0;
	return NULL;
}
