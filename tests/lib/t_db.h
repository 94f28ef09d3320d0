/*
 * t_db.h - the database a test runs on: a SQLite file in the test's
 * directory, or, when PVEBOT_TEST_DB names a PostgreSQL server
 * (postgresql://..., password in the file PVEBOT_TEST_DB_PASSWORD_FILE;
 * tests/pg.sh starts one), a database of its own on that server,
 * created for the test and dropped when the process exits.
 */
#ifndef PVEBOT_T_DB_H
#define PVEBOT_T_DB_H

#include <stddef.h>
#include <stdint.h>

/* 1 when the tests run on PostgreSQL. */
int	 t_db_pg(void);
/*
 * A new, empty database for `name`: its path or URL (caller frees), the
 * password registered with store_set_password(). NULL when the server
 * refused (the reason printed).
 */
char	*t_db_new(const char *name);
/*
 * bot.conf's lines for a new database `name` (caller frees): `database:`,
 * and on PostgreSQL its password file and an audit key file in the
 * test's folder (required there). *path gets the path or URL.
 */
char	*t_db_conf(const char *name, char **path);
/*
 * Runs `sql` (?1 and ?2 bound to a1 and a2 when not NULL) on the
 * database at `path` and stores up to `max` integers of its first
 * column in out: how many, or -1 on error.
 */
int	 t_db_query_ints(const char *path, const char *sql, const char *a1,
	    const char *a2, int64_t *out, size_t max);
/*
 * PostgreSQL: the server drops the connection that holds the leader lock
 * (src/store/leader.c) in the database at `path`, as when the leader is
 * cut off; other tests' databases on the server are left alone. How many
 * connections it dropped, or -1.
 */
int	 t_db_cut_leader(const char *path);
/* The same for the connection that holds the liveness lock of process
 * generation `gen` (an instance, leader or not). */
int	 t_db_cut_instance(const char *path, int64_t gen);
/* The text of the first column of the first row, or NULL; caller frees. */
char	*t_db_query_text(const char *path, const char *sql);

#endif
