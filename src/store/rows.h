/*
 * rows.h - gathering the rows of a statement into an array of plain
 * structs (src/store/ only): the loop every listing function would
 * otherwise repeat.
 */
#ifndef PVEBOT_ROWS_H
#define PVEBOT_ROWS_H

#include <stddef.h>

struct store;
struct db_stmt;

/* Copies the current row of a statement into `elem` (zeroed). */
typedef void	(*rows_fill_fn)(struct db_stmt *, void *elem);

/*
 * Steps `st` (prepared and bound) to its end, appending one element of
 * `size` bytes per row, filled by fill(), and gives the statement back.
 * Returns the array (caller frees; NULL when there was no row) and its
 * length in *n; *rc is 0, or -1 on an error (the rows read until then
 * are kept).
 */
void	*rows_gather(struct store *, struct db_stmt *st, size_t size,
	    rows_fill_fn fill, size_t *n, int *rc);

#endif
