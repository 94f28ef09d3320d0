/*
 * rows.c - gathering a statement's rows into an array (see rows.h).
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "rows.h"
#include "util.h"

void *
rows_gather(struct store *s, struct db_stmt *st, size_t size,
    rows_fill_fn fill, size_t *n, int *rc)
{
	char	*v = NULL;
	int	 step;

	*n = 0;
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
