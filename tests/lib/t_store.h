/*
 * t_store.h - writes a test makes to a database behind pvebot's back,
 * through the store (either backend: the database comes from t_db.h).
 * Tests use them to let time pass (an expiry in the past) or to play
 * an attacker who edits rows.
 */
#ifndef PVEBOT_T_STORE_H
#define PVEBOT_T_STORE_H

#include <stdint.h>

/*
 * t_db_new(name), never NULL: when the server refused (the reason
 * printed), a URL no connection reaches, so the test fails on it.
 */
char	*t_store_db(const char *name);

/*
 * Runs `sql` (?1, ?2 bound to the texts a1, a2 when not NULL) on the
 * database at `path` in a connection of its own: the rows it changed,
 * or -1 with the error printed.
 */
int64_t	 t_store_exec(const char *path, const char *sql, const char *a1,
	    const char *a2);

#endif
