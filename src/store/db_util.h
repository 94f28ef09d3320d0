/*
 * db_util.h - the ends of a statement that the domain functions share
 * (src/store/, src/jobs/ only): run one that gives no rows, ask one
 * whether it gives a row, read a count, read a column of texts, gather
 * the rows into an array of plain structs (the rows read before an
 * error kept, or all or none).
 *
 * Each takes a statement prepared and bound (db.h), steps it and gives
 * it back with db_finish(), whatever happens. A NULL statement (one
 * that could not be prepared, logged by db_prepare()) counts as an
 * error, so a statement with no parameters can be passed straight from
 * db_prepare(). None writes a message: the connection's error
 * (db_error()) says why a -1 happened.
 */
#ifndef PVEBOT_DB_UTIL_H
#define PVEBOT_DB_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct db_stmt;

/* Runs `st` to its end: 0, or -1 on error. */
int	db_run(struct store *, struct db_stmt *st);
/* 1 when `st` gives a row, 0 when none, -1 on error. */
int	db_exists(struct store *, struct db_stmt *st);
/* The first column of the first row `st` gives (a COUNT), or -1. */
int64_t	db_count(struct store *, struct db_stmt *st);
/*
 * Appends the texts of the first column of every row (NULLs left out),
 * copied, to *v and *n: 0, or -1 on error with those read before it.
 * Free with strv_free().
 */
int	db_texts(struct store *, struct db_stmt *st, char ***v, size_t *n);

/* Copies the current row of a statement into `elem` (zeroed). */
typedef void	(*db_fill_fn)(struct db_stmt *, void *elem);
/*
 * Steps `st` to its end, appending one element of `size` bytes per row,
 * filled by fill(). Returns the array (caller frees; NULL when there
 * was no row) and its length in *n; *rc is 0, or -1 on an error (the
 * rows read until then are kept).
 */
void	*db_rows(struct store *, struct db_stmt *st, size_t size,
	    db_fill_fn fill, size_t *n, int *rc);
/* Gives back what fill() put in `elem` (not the element itself). */
typedef void	(*db_release_fn)(void *elem);
/*
 * db_rows(), all or none: on an error every row read is given to
 * release(), the array is freed, and NULL comes back with *n 0.
 */
void	*db_rows_all(struct store *, struct db_stmt *st, size_t size,
	    db_fill_fn fill, db_release_fn release, size_t *n, int *rc);

#endif
