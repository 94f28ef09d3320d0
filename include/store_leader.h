/*
 * store_leader.h - one leader among the pvebot instances that share a
 * database, without home-made consensus: the database's own lock.
 *
 * On PostgreSQL the leader holds a session advisory lock on a connection
 * of its own (TCP keepalives, user timeout: a leader cut off from the
 * server loses the lock when the server notices, and notices itself
 * that its connection is gone). The instance that wins bumps the epoch
 * in table `leader`; every leader-only write checks that epoch in its
 * own transaction (store_fence()), so a leader that lost the lock cannot
 * commit with its old epoch even on its other connections. On SQLite the
 * lock is an exclusive flock(2) on DATABASE.leader: one leader per file.
 *
 * Every instance, leader or not, is also alive or dead to the others: on
 * PostgreSQL each process takes a generation (one more than any before)
 * and holds a second session advisory lock, (LEADER_LIVE_CLASS, gen),
 * on the same connection. Jobs it claims carry that generation; a
 * running job whose generation's lock nobody holds has lost its owner
 * and is adopted by a live worker of its site (jobs_adopt_dead()). Its
 * writes check in their own transaction that it still holds that lock
 * (store_set_alive()), so a process whose jobs were adopted cannot write
 * to them any more.
 */
#ifndef PVEBOT_STORE_LEADER_H
#define PVEBOT_STORE_LEADER_H

#include <stddef.h>
#include <stdint.h>

#include "jobs.h"

struct store;
struct leader;

/* Opens the leader's own connection and records the instance (name,
 * site) in table `instances`. NULL with *cause. */
struct leader	*leader_open(const char *database, const char *instance,
		    const char *site, char **cause);
void		 leader_close(struct leader *);

/*
 * Tries to take the lock: 1 won (*epoch is the new epoch, one more than
 * any before), 0 another instance holds it, -1 the connection failed.
 * Holding it already: 1 and the same epoch.
 */
int		 leader_try(struct leader *, int64_t *epoch);
/* Still the leader: 1; 0 when the connection (so the lock) is lost. */
int		 leader_check(struct leader *);
/* A site other than `site` that an instance on the database has
 * recorded, or NULL; caller frees. */
char		*leader_other_site(struct leader *, const char *site);
/* This process's liveness lock is still held: 1; 0 when lost (every
 * instance checks it, and stops at once when it is gone). */
int		 leader_alive(struct leader *);
/* This process's generation (PostgreSQL; 0 on SQLite), and the backend
 * that holds its liveness lock. */
int64_t		 leader_gen(const struct leader *);
int64_t		 leader_pid(const struct leader *);

/* The class of the liveness locks: (LEADER_LIVE_CLASS, gen). */
#define LEADER_LIVE_CLASS	JOBS_LIVE_CLASS

/*
 * Inside the caller's transaction: 1 when the liveness lock of `gen` is
 * held by backend `pid` (this process's own), 0 when not, -1 on error.
 */
int		 store_alive(struct store *, int64_t gen, int64_t pid);
/*
 * Both checks in one statement (what every write transaction of a
 * fenced process runs): 0 fine, 1 the epoch is not `epoch` (unless 0),
 * 2 the liveness lock of `gen` is lost (unless gen is 0), -1 error.
 */
int		 store_fences(struct store *, int64_t epoch, int64_t gen,
		    int64_t pid);
/*
 * From now on every write of this process to `database` on PostgreSQL
 * checks that it still holds its liveness lock (gen, held by backend
 * pid). 0 turns it off.
 */
void		 store_set_alive(const char *database, int64_t gen,
		    int64_t pid);
/* Marks the instance seen now (best effort, a write). */
void		 leader_seen(struct leader *);

/*
 * Inside the caller's write transaction: 0 when `epoch` is still the
 * current one, -1 when another instance has won since (the caller rolls
 * back: it is no longer the leader).
 */
int		 store_fence(struct store *, int64_t epoch);

/*
 * From now on every write of this process to `database` on PostgreSQL
 * (each write transaction, each write on its own) checks `epoch` under
 * the write lock and fails when another instance has won since: the
 * leader's fencing token, for all its connections. 0 turns it off.
 */
void		 store_set_fence(const char *database, int64_t epoch);

/* What `pvebot status --cluster` shows. */
struct instance_row {
	char	*name;
	char	*site;
	int64_t	 started_at;
	int64_t	 seen_at;
	int	 alive;		/* its liveness lock is held */
};
struct leader_row {
	int64_t	 epoch;
	char	*instance;	/* NULL before any leader */
	int64_t	 since;
};
int	leader_state(struct store *, struct leader_row *,
	    struct instance_row **, size_t *n);
void	leader_state_free(struct leader_row *, struct instance_row *,
	    size_t n);
/*
 * What leader_state() reads, as the CLI and chat show it: a line for the
 * leader ("leader: NAME (epoch N, since TIME)"), then "instances: N" and
 * a line per instance (`now` says how long ago each was seen). Caller
 * frees; NULL on a database error.
 */
char	*leader_state_text(struct store *, int64_t now);

#endif
