/*
 * store.h - the store: one connection per thread to SQLite (the default:
 * WAL mode, busy timeout) or PostgreSQL (store_pg.c: the same schema,
 * writes serialised by one advisory lock as SQLite serialises them), the
 * schema created and upgraded by numbered migrations, the saved chat
 * offsets, a small key/value table, and the append-only, keyed,
 * hash-chained audit log. No backend type shows here: statements run
 * through src/store/db.h, inside src/store/ and src/jobs/ only.
 *
 * Tables (see store.c for the full schema): jobs, approvals, audit,
 * offsets, kv, alerts, silences, outbox (outbox.h), chat_outbox (Matrix
 * transaction ids), chat_buttons, job_steps, the webhooks' tables
 * (hook_events, am_groups, am_alerts, am_silences), prov_alloc
 * (addresses and MACs handed out), and leader and instances (several
 * instances on one database). Their statements live behind domain
 * functions in src/store/ and src/jobs/, declared in jobs.h, outbox.h
 * and include/store_*.h: the webhooks' in src/store/hooks*.c
 * (store_hooks.h), prov_alloc's in src/store/prov.c (store_prov.h),
 * the alerts' and silences' in src/store/alerts.c (store_monitor.h,
 * store_silences.h), the leader's in src/store/leader.c
 * (store_leader.h).
 */
#ifndef PVEBOT_STORE_H
#define PVEBOT_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * Opens (creating and migrating) the database; NULL with *cause. `path`
 * is a SQLite file, or a postgresql:// URL (store_pg.c; its password, if
 * any, from store_set_password(): a URL holding one is refused).
 */
struct store	*store_open(const char *path, char **cause);
void		 store_close(struct store *);
/* The password for connections to `url`, for the whole process (copied;
 * NULL forgets it). Never logged. */
void		 store_set_password(const char *url, const char *password);
const char	*store_path(const struct store *);
int		 store_version(struct store *);	/* schema version */
int		 store_latest_version(void);	/* what this binary knows */
/* Opens migrating only up to `version`, and migrates an open store
 * further: how tests build and upgrade databases of older versions. */
struct store	*store_open_version(const char *path, int version,
		    char **cause);
int		 store_migrate_to(struct store *, int version, char **cause);

/* Transactions: BEGIN IMMEDIATE so writers queue on the busy timeout. */
int	store_begin(struct store *);
/* The same, quiet: -1 with *cause for a caller that reports it. */
int	store_try_begin(struct store *, char **cause);
/* The connection's last error, for messages. */
const char *store_error(struct store *);
int	store_commit(struct store *);
void	store_rollback(struct store *);
/*
 * After a failure: 1 when it was another connection holding the
 * database past the busy timeout (worth waiting for), 0 otherwise.
 */
int	store_busy(struct store *);

/*
 * The outbox wakes senders through this hook, called with a connector's
 * name after a transaction that wrote to its outbox commits (at once for
 * a write outside a transaction). One hook per process.
 */
typedef void	(*store_outbox_hook)(const char *connector);
void	store_set_outbox_hook(store_outbox_hook);
/* Called by outbox.c for each write. */
void	store_note_outbox(struct store *, const char *connector);
/* Called by jobs.c when a job may have become claimable (queued, or a
 * running job ended and unblocks its guest's next). */
void	store_note_jobs(struct store *);

/*
 * PostgreSQL: what other instances on the same database wrote reaches
 * this one as notifications (LISTEN/NOTIFY on the channels below), heard
 * by a thread with a connection of its own: an outbox write calls the
 * outbox hook with its connector, a job that may be claimed now calls
 * `on_jobs(arg)`. A lost connection is opened again, and both hooks are
 * called once it is back (what was said meanwhile is not kept). SQLite
 * (one process per file): NULL and nothing to hear.
 */
#define STORE_CHANNEL_OUTBOX	"pvebot_outbox"
#define STORE_CHANNEL_JOBS	"pvebot_jobs"
struct store_listener;
struct store_listener *store_listen(const char *database,
	    void (*on_jobs)(void *), void *arg, char **cause);
void	store_listen_stop(struct store_listener *);

/* Runs one statement with no result; -1 with *cause on error. */
int	store_exec(struct store *, const char *sql, char **cause);
/* How long a write waits for another connection's transaction, in ms
 * (10 s unless set). */
void	store_set_wait(struct store *, int ms);

/* Chat offsets (Telegram update_id, Matrix since, Discord sequence). */
int	store_offset_get(struct store *, const char *key, char **value);
int	store_offset_set(struct store *, const char *key, const char *value);

/* Key/value state (last digest date, ...). value NULL when absent. */
int	store_kv_get(struct store *, const char *key, char **value);
int	store_kv_set(struct store *, const char *key, const char *value);

/*
 * Audit log: append-only; each row carries a MAC over its content and the
 * previous row's: HMAC-SHA256 under the database's audit key once it has
 * one (see audit.c and docs/security.md). Call inside the caller's
 * transaction when the event belongs to other work, so both land or
 * neither does. One INSERT; the head is kept per connection.
 */
int	audit_append(struct store *, const char *actor, const char *event,
	    const char *detail);

/*
 * The audit key of the database at db_path, for every connection of this
 * process (copied); audit_key_clear() forgets it.
 */
void	audit_key_set(const char *db_path, const char *key, size_t len);
void	audit_key_clear(const char *db_path);
/*
 * Reads the key file with the rules of secret files; with `create`, an
 * absent file is first made (mode 0600, 32 random bytes in hex) and
 * *created set. Caller frees (the value is registered with the logger).
 */
char	*audit_key_load(const char *path, int create, int *created,
	    char **cause);

/* A head: rows, newest id and MAC ("hmac:..." when keyed). */
struct audit_head {
	int64_t	 rows;
	int64_t	 id;
	char	 hash[80];
	int	 keyed;
};
/*
 * Writes a checkpoint of the current head (when the database has a key)
 * and logs it; *head is what the digest shows. 0, or -1 with *cause.
 */
int	audit_checkpoint(struct store *, struct audit_head *, char **cause);
/* The stored checkpoint, its MAC checked: 0, or -1 (none or bad). */
int	audit_stored_checkpoint(struct store *, struct audit_head *);
/*
 * The daemon's start: checks the rows written since the last checkpoint
 * (a break is logged loudly, never fatal), keys the chain when its head
 * is not keyed yet (an "audit.keyed" row), writes a checkpoint.
 */
int	audit_start(struct store *, char **cause);

/*
 * Walks the chain and checks it against the stored checkpoint, and
 * against `checkpoint` ("ID:MAC", 16 or more hex digits of the MAC) when
 * it is not NULL. Returns 0 when intact, *report saying how (keyed or
 * not, which checkpoint); -1 with *report naming the first row that was
 * edited, inserted or deleted. Caller frees *report either way.
 */
int	audit_verify(struct store *, const char *checkpoint, int64_t *rows,
	    char **report);
/* The same from row `from` on (the row before it is the link). */
int	audit_verify_from(struct store *, int64_t from, int64_t *rows,
	    char **report);

#endif
