/*
 * store_int.h - what store.c and audit.c share: each connection's audit
 * state (its cached head and prepared statements) hangs off the store.
 */
#ifndef PVEBOT_STORE_INT_H
#define PVEBOT_STORE_INT_H

struct audit_conn;
struct sqlite3;
struct store;

/* The SQLite connection under a store (audit.c's own statements). */
struct sqlite3	*store_sqlite(struct store *);

/* The connection's audit state, created by audit.c on first use. */
struct audit_conn **store_audit_slot(struct store *);
/* Finalizes its statements; store_close() calls it. NULL is fine. */
void	audit_conn_free(struct audit_conn *);

#endif
