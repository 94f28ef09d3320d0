/*
 * store_pg.h - the PostgreSQL backend under db.h (store.c dispatches to
 * it for a database named by a postgresql:// URL).
 *
 * The same SQL as on SQLite: ?N parameters become $N, values travel as
 * text and PostgreSQL types them from their context. An INSERT into a
 * table with a serial id returns it (RETURNING id is added), which is
 * what db_last_id() reads. Writers queue on one transaction-scoped
 * advisory lock per database, taken by every write transaction and by
 * every write outside one, so the writes of all connections of all
 * instances are serialised exactly as SQLite's BEGIN IMMEDIATE
 * serialises them: the store's callers rely on that (a read followed by
 * a write in one transaction sees no other writer in between).
 */
#ifndef PVEBOT_STORE_PG_H
#define PVEBOT_STORE_PG_H

#include <stdint.h>

struct pg_db;
struct pg_stmt;

/* Key of the advisory lock every write holds. */
#define PG_WRITE_LOCK	7231946

/* The URL names PostgreSQL (postgresql:// or postgres://). */
int		 pg_is_url(const char *);

/* `password` may be NULL (then libpq's own rules: PGPASSFILE, ...). */
struct pg_db	*pg_open(const char *url, const char *password,
		    char **cause);
void		 pg_close(struct pg_db *);

/* Runs SQL text (several statements allowed, no parameters). */
int		 pg_exec(struct pg_db *, const char *sql, char **cause);
/* After the migrations: learns which tables have a serial id. */
int		 pg_learn_ids(struct pg_db *, char **cause);
/* SQLite DDL of a migration as PostgreSQL DDL; caller frees. */
char		*pg_ddl(const char *sqlite_ddl);

int		 pg_begin(struct pg_db *, char **cause);
int		 pg_commit(struct pg_db *, char **cause);
void		 pg_rollback(struct pg_db *);
int		 pg_in_tx(struct pg_db *);
/* The last failure was a lock wait running out (lock_timeout). */
int		 pg_busy(struct pg_db *);
void		 pg_set_wait(struct pg_db *, int ms);

struct pg_stmt	*pg_prepare(struct pg_db *, const char *sql);
void		 pg_stmt_free(struct pg_stmt *);
void		 pg_reset(struct pg_stmt *);
void		 pg_bind(struct pg_stmt *, int, const char *);	/* copied */
int		 pg_step(struct pg_stmt *);	/* DB_ROW DB_DONE DB_ERROR */
int		 pg_is_write(const struct pg_stmt *);
int		 pg_executed(const struct pg_stmt *);	/* since reset */
const char	*pg_value(struct pg_stmt *, int);	/* NULL for NULL */

int64_t		 pg_changes(struct pg_db *);
int64_t		 pg_total_changes(struct pg_db *);
int64_t		 pg_last_id(struct pg_db *);
const char	*pg_error(struct pg_db *);

/* LISTEN: the connection's socket, to wait on, and what it heard (fn
 * per notification); -1 when the connection is lost. */
int		 pg_socket(struct pg_db *);
int		 pg_notifications(struct pg_db *, void (*fn)(const char *channel,
		    const char *payload, void *), void *);

#endif
