/*
 * db.h - the statements under the store's domain functions (src/store/,
 * src/jobs/ only): one SQL text per statement, run by the connection's
 * backend, with no backend type in sight.
 *
 * The SQL is the common subset of SQLite and PostgreSQL: numbered
 * parameters (?1, ?2, ...), INSERT ... ON CONFLICT ... DO NOTHING or DO
 * UPDATE (never INSERT OR IGNORE/REPLACE), COALESCE (never IFNULL),
 * times and booleans as integers bound from C (never strftime() or
 * now()), lower() for case-blind comparisons (never COLLATE NOCASE or a
 * case-blind LIKE), and explicit id columns (never rowid).
 *
 * db_prepare() hands out a cached statement (prepared on first use),
 * db_finish() resets it for the next use; a statement asked for while
 * its cached copies are all in use is prepared afresh and released by
 * db_finish(), so nesting and early returns stay correct.
 */
#ifndef PVEBOT_DB_H
#define PVEBOT_DB_H

#include <stdint.h>

struct store;
struct db_stmt;

enum {
	DB_ERROR = -1,
	DB_DONE = 0,
	DB_ROW = 1
};

/* NULL on error (logged with the SQL: a bug, not input). */
struct db_stmt	*db_prepare(struct store *, const char *sql);
void		 db_finish(struct store *, struct db_stmt *);

/* Parameters count from 1; text is copied only when the backend must. */
void		 db_bind_int(struct db_stmt *, int, int64_t);
void		 db_bind_double(struct db_stmt *, int, double);
void		 db_bind_text(struct db_stmt *, int, const char *); /* NULL: NULL */
/* The same for text freed before the statement runs. */
void		 db_bind_text_copy(struct db_stmt *, int, const char *);
void		 db_bind_null(struct db_stmt *, int);

/* DB_ROW, DB_DONE or DB_ERROR (db_error() says why). */
int		 db_step(struct db_stmt *);

/* Columns count from 0; valid until the next db_step() or db_finish(). */
int64_t		 db_int(struct db_stmt *, int);
double		 db_double(struct db_stmt *, int);
const char	*db_text(struct db_stmt *, int);	/* NULL for NULL */
int		 db_null(struct db_stmt *, int);
/* A copy of a text column, NULL for NULL; caller frees. */
char		*db_text_dup(struct db_stmt *, int);

/* Rows changed by the connection's last statement, and the id its last
 * INSERT made. */
int64_t		 db_changes(struct store *);
int64_t		 db_last_id(struct store *);
/* Rows changed since the connection opened. */
int64_t		 db_total_changes(struct store *);
/* The connection's last error message. */
const char	*db_error(struct store *);
/* Outside any transaction right now. */
int		 db_autocommit(struct store *);
/* The store is PostgreSQL (for the few statements written for each). */
int		 db_is_pg(const struct store *);

#endif
