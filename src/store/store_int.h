/*
 * store_int.h - what store.c and audit.c share: each connection's audit
 * state (its cached head and prepared statements) hangs off the store.
 */
#ifndef PVEBOT_STORE_INT_H
#define PVEBOT_STORE_INT_H

#include <stdint.h>

struct audit_conn;
struct store;

/*
 * SQLite's count of commits by other connections (PRAGMA data_version):
 * 0 and *dv, or -1 when the backend has none (PostgreSQL: then anything
 * cached from the database must be read again).
 */
int	db_data_version(struct store *, int64_t *dv);
/* The connection's transaction was rolled back: audit.c forgets the
 * head it cached. NULL is fine. */
void	audit_conn_rolled_back(struct audit_conn *);

/* The connection's audit state, created by audit.c on first use. */
struct audit_conn **store_audit_slot(struct store *);
/* Finalizes its statements; store_close() calls it. NULL is fine. */
void	audit_conn_free(struct audit_conn *);

/* The hook outbox writes call (store_set_outbox_hook), or NULL. */
void	store_run_outbox_hook(const char *connector);
/* The password set for a PostgreSQL URL, a copy, or NULL; freed (and
 * wiped) with store_free_password(). */
char	*store_password_of(const char *url);
void	 store_free_password(char *);

#endif
