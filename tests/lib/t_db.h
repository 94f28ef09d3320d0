/*
 * t_db.h - the database a test runs on: a SQLite file in the test's
 * directory, or, when PVEBOT_TEST_DB names a PostgreSQL server
 * (postgresql://..., password in the file PVEBOT_TEST_DB_PASSWORD_FILE;
 * tests/pg.sh starts one), a database of its own on that server,
 * created for the test and dropped when the process exits.
 */
#ifndef PVEBOT_T_DB_H
#define PVEBOT_T_DB_H

/* 1 when the tests run on PostgreSQL. */
int	 t_db_pg(void);
/*
 * A new, empty database for `name`: its path or URL (caller frees), the
 * password registered with store_set_password(). NULL when the server
 * refused (the reason printed).
 */
char	*t_db_new(const char *name);

#endif
