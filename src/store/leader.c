/*
 * leader.c - the leader lock, its epoch and the fencing check
 * (store_leader.h).
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "jobs.h"
#include "log.h"
#include "store.h"
#include "store_leader.h"
#include "util.h"

/* The session advisory lock of the leader (not PG_WRITE_LOCK's key). */
#define LEADER_LOCK	7231947

struct leader {
	struct store	*s;		/* the leader's own connection */
	char		*instance;
	int		 pg;
	int		 fd;		/* SQLite: the flock'd file */
	int		 held;
	int64_t		 epoch;
	int64_t		 gen;		/* PostgreSQL: the liveness lock's */
	int64_t		 pid;		/* the backend that holds it */
};

/* Advisory locks of this database only (pg_locks shows every one). */
#define THIS_DATABASE	"database = (SELECT oid FROM pg_database WHERE " \
	"datname = current_database())"

static int
is_pg(const char *database)
{
	return str_has_prefix(database, "postgresql://") ||
	    str_has_prefix(database, "postgres://");
}

/*
 * A new generation and its liveness lock, held for the life of this
 * connection (so of this process), and recorded with the instance.
 */
static int
take_live(struct leader *l, char **cause)
{
	struct db_stmt	*st;
	int		 rc, got = 0;

	if ((l->gen = jobs_next_generation(l->s)) <= 0 || l->gen > INT32_MAX)
		return set_cause(cause, "cannot take a process generation: %s",
		    store_error(l->s));
	if ((st = db_prepare(l->s, "SELECT pg_try_advisory_lock(?1, ?2), "
	    "pg_backend_pid()")) == NULL)
		return set_cause(cause, "cannot take the liveness lock");
	db_bind_int(st, 1, LEADER_LIVE_CLASS);
	db_bind_int(st, 2, l->gen);
	if ((rc = db_step(st)) == DB_ROW) {
		got = db_int(st, 0) != 0;
		l->pid = db_int(st, 1);
	}
	db_finish(l->s, st);
	if (!got)
		return set_cause(cause, "cannot take the liveness lock of "
		    "generation %lld: %s", (long long)l->gen, rc == DB_ROW ?
		    "held by another process" : store_error(l->s));
	if ((st = db_prepare(l->s, "UPDATE instances SET gen = ?1 WHERE "
	    "name = ?2")) == NULL)
		return set_cause(cause, "cannot record the generation");
	db_bind_int(st, 1, l->gen);
	db_bind_text(st, 2, l->instance);
	rc = db_step(st);
	db_finish(l->s, st);
	if (rc != DB_DONE)
		return set_cause(cause, "cannot record the generation: %s",
		    store_error(l->s));
	log_info("leader", "instance=%s generation=%lld", l->instance,
	    (long long)l->gen);
	return 0;
}

struct leader *
leader_open(const char *database, const char *instance, const char *site,
    char **cause)
{
	struct leader	*l = xcalloc(1, sizeof *l);
	struct db_stmt	*st;
	int64_t		 now = wall_now();
	int		 rc;

	l->fd = -1;
	l->pg = is_pg(database);
	l->instance = xstrdup(instance);
	if ((l->s = store_open(database, cause)) == NULL)
		goto fail;
	if (!l->pg) {
		char	*path = xasprintf("%s.leader", database);

		l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (l->fd == -1) {
			set_cause(cause, "%s: %s", path, strerror(errno));
			free(path);
			goto fail;
		}
		free(path);
	}
	if ((st = db_prepare(l->s, "INSERT INTO instances (name, site, "
	    "started_at, seen_at) VALUES (?1, ?2, ?3, ?3) ON CONFLICT (name) "
	    "DO UPDATE SET site = excluded.site, started_at = "
	    "excluded.started_at, seen_at = excluded.seen_at")) == NULL) {
		set_cause(cause, "cannot record the instance");
		goto fail;
	}
	db_bind_text(st, 1, instance);
	db_bind_text(st, 2, site);
	db_bind_int(st, 3, now);
	rc = db_step(st);
	db_finish(l->s, st);
	if (rc != DB_DONE) {
		set_cause(cause, "cannot record the instance: %s",
		    store_error(l->s));
		goto fail;
	}
	if (l->pg && take_live(l, cause) != 0)
		goto fail;
	return l;
fail:
	leader_close(l);
	return NULL;
}

void
leader_close(struct leader *l)
{
	struct db_stmt	*st;

	if (l == NULL)
		return;
	if (l->fd != -1)
		close(l->fd);
	/* Given back before the connection goes: the server frees a
	 * closed session's locks only once its backend has exited, which
	 * a standby trying now could still find held. */
	if (l->pg && l->held && (st = db_prepare(l->s,
	    "SELECT pg_advisory_unlock(?1)")) != NULL) {
		db_bind_int(st, 1, LEADER_LOCK);
		db_step(st);
		db_finish(l->s, st);
	}
	if (l->pg && l->gen > 0 && (st = db_prepare(l->s,
	    "SELECT pg_advisory_unlock(?1, ?2)")) != NULL) {
		db_bind_int(st, 1, LEADER_LIVE_CLASS);
		db_bind_int(st, 2, l->gen);
		db_step(st);
		db_finish(l->s, st);
	}
	store_close(l->s);
	free(l->instance);
	free(l);
}

/* The lock itself: 1 taken, 0 held elsewhere, -1 error. */
static int
take_lock(struct leader *l)
{
	struct db_stmt	*st;
	int		 rc, got = -1;

	if (!l->pg) {
		if (flock(l->fd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		return errno == EWOULDBLOCK ? 0 : -1;
	}
	if ((st = db_prepare(l->s, "SELECT pg_try_advisory_lock(?1)")) ==
	    NULL)
		return -1;
	db_bind_int(st, 1, LEADER_LOCK);
	if ((rc = db_step(st)) == DB_ROW)
		got = db_int(st, 0) != 0;
	db_finish(l->s, st);
	return got;
}

/* Bumps the epoch, as the new leader: 0 and l->epoch, or -1. */
static int
bump_epoch(struct leader *l)
{
	struct db_stmt	*st;
	int		 rc;

	if (store_begin(l->s) != 0)
		return -1;
	if ((st = db_prepare(l->s, "UPDATE leader SET epoch = epoch + 1, "
	    "instance = ?1, since = ?2 WHERE id = 1")) == NULL)
		goto fail;
	db_bind_text(st, 1, l->instance);
	db_bind_int(st, 2, wall_now());
	rc = db_step(st);
	db_finish(l->s, st);
	if (rc != DB_DONE ||
	    (st = db_prepare(l->s, "SELECT epoch FROM leader WHERE id = 1")) ==
	    NULL)
		goto fail;
	rc = db_step(st);
	if (rc == DB_ROW)
		l->epoch = db_int(st, 0);
	db_finish(l->s, st);
	if (rc != DB_ROW || store_commit(l->s) != 0)
		return -1;
	return 0;
fail:
	store_rollback(l->s);
	return -1;
}

int
leader_try(struct leader *l, int64_t *epoch)
{
	int	 rc;

	if (l->held) {
		*epoch = l->epoch;
		return leader_check(l) == 1 ? 1 : -1;
	}
	if ((rc = take_lock(l)) != 1)
		return rc;
	if (bump_epoch(l) != 0) {
		log_error("leader", "won the lock but could not bump the "
		    "epoch: %s", store_error(l->s));
		return -1;
	}
	l->held = 1;
	*epoch = l->epoch;
	log_info("leader", "leader instance=%s epoch=%lld", l->instance,
	    (long long)l->epoch);
	return 1;
}

/*
 * A read, never a write: a check that waited for the write lock would
 * take a long transaction of another instance for a lost connection.
 */
int
leader_check(struct leader *l)
{
	struct db_stmt	*st;
	int		 rc, held = 0;

	if (!l->held)
		return 0;
	if (!l->pg)
		return 1;	/* the flock stays with the open file */
	if ((st = db_prepare(l->s, "SELECT 1 FROM pg_locks WHERE locktype = "
	    "'advisory' AND pid = pg_backend_pid() AND classid = 0 AND "
	    "objid = ?1 AND objsubid = 1 AND granted")) == NULL)
		return l->held = 0;
	db_bind_int(st, 1, LEADER_LOCK);
	rc = db_step(st);
	held = rc == DB_ROW;
	db_finish(l->s, st);
	if (!held)
		log_error("leader", "lost the leader lock: %s", rc ==
		    DB_ERROR ? store_error(l->s) : "no longer held");
	return l->held = held;
}

char *
leader_other_site(struct leader *l, const char *site)
{
	struct db_stmt	*st;
	char		*other = NULL;

	if ((st = db_prepare(l->s, "SELECT site FROM instances WHERE site <> "
	    "?1 ORDER BY site LIMIT 1")) == NULL)
		return NULL;
	db_bind_text(st, 1, site);
	if (db_step(st) == DB_ROW)
		other = db_text_dup(st, 0);
	db_finish(l->s, st);
	return other;
}

int
leader_alive(struct leader *l)
{
	int	 rc;

	if (!l->pg)
		return 1;
	if ((rc = store_alive(l->s, l->gen, l->pid)) != 1)
		log_error("leader", "lost the liveness lock of generation "
		    "%lld: %s", (long long)l->gen, rc == 0 ? "no longer held" :
		    store_error(l->s));
	return rc == 1;
}

int64_t
leader_gen(const struct leader *l)
{
	return l->gen;
}

int64_t
leader_pid(const struct leader *l)
{
	return l->pid;
}

int
store_alive(struct store *s, int64_t gen, int64_t pid)
{
	struct db_stmt	*st;
	int		 rc;

	if ((st = db_prepare(s, "SELECT 1 FROM pg_locks WHERE locktype = "
	    "'advisory' AND classid = ?1 AND objid = ?2 AND objsubid = 2 AND "
	    "pid = ?3 AND granted AND " THIS_DATABASE)) == NULL)
		return -1;
	db_bind_int(st, 1, LEADER_LIVE_CLASS);
	db_bind_int(st, 2, gen);
	db_bind_int(st, 3, pid);
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int
store_fences(struct store *s, int64_t epoch, int64_t gen, int64_t pid)
{
	struct db_stmt	*st;
	int64_t		 now = -1;
	int		 rc, alive = 0;

	if ((st = db_prepare(s, "SELECT (SELECT epoch FROM leader WHERE id = "
	    "1), EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
	    "AND classid = ?1 AND objid = ?2 AND objsubid = 2 AND pid = ?3 "
	    "AND granted AND " THIS_DATABASE ")")) == NULL)
		return -1;
	db_bind_int(st, 1, LEADER_LIVE_CLASS);
	db_bind_int(st, 2, gen);
	db_bind_int(st, 3, pid);
	if ((rc = db_step(st)) == DB_ROW) {
		now = db_int(st, 0);
		alive = db_int(st, 1) != 0;
	}
	db_finish(s, st);
	if (rc != DB_ROW)
		return -1;
	if (epoch != 0 && now != epoch) {
		log_error("leader", "fenced: epoch %lld is no longer the "
		    "leader's (now %lld)", (long long)epoch, (long long)now);
		return 1;
	}
	if (gen != 0 && !alive) {
		log_error("leader", "fenced: the liveness lock of generation "
		    "%lld is lost", (long long)gen);
		return 2;
	}
	return 0;
}

void
leader_seen(struct leader *l)
{
	struct db_stmt	*st;

	if ((st = db_prepare(l->s, "UPDATE instances SET seen_at = ?1 WHERE "
	    "name = ?2")) == NULL)
		return;
	db_bind_int(st, 1, wall_now());
	db_bind_text(st, 2, l->instance);
	if (db_step(st) != DB_DONE)
		log_warn("leader", "instance not marked seen: %s",
		    store_error(l->s));
	db_finish(l->s, st);
}

int
store_fence(struct store *s, int64_t epoch)
{
	struct db_stmt	*st;
	int64_t		 now = -1;
	int		 rc;

	if ((st = db_prepare(s, "SELECT epoch FROM leader WHERE id = 1")) ==
	    NULL)
		return -1;
	if ((rc = db_step(st)) == DB_ROW)
		now = db_int(st, 0);
	db_finish(s, st);
	if (now != epoch) {
		log_error("leader", "fenced: epoch %lld is no longer the "
		    "leader's (now %lld)", (long long)epoch, (long long)now);
		return -1;
	}
	return 0;
}

int
leader_state(struct store *s, struct leader_row *lr,
    struct instance_row **v, size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	memset(lr, 0, sizeof *lr);
	*v = NULL;
	*n = 0;
	if ((st = db_prepare(s, "SELECT epoch, instance, since FROM leader "
	    "WHERE id = 1")) == NULL)
		return -1;
	if ((rc = db_step(st)) == DB_ROW) {
		lr->epoch = db_int(st, 0);
		lr->instance = db_text_dup(st, 1);
		lr->since = db_int(st, 2);
	}
	db_finish(s, st);
	if (rc == DB_ERROR || (st = db_prepare(s, db_is_pg(s) ?
	    "SELECT name, site, started_at, seen_at, EXISTS (SELECT 1 FROM "
	    "pg_locks WHERE locktype = 'advisory' AND classid = ?1 AND "
	    "objid::bigint = instances.gen AND objsubid = 2 AND granted AND "
	    THIS_DATABASE ") FROM instances ORDER BY name" :
	    "SELECT name, site, started_at, seen_at, 1 FROM instances WHERE "
	    "?1 IS NOT NULL ORDER BY name")) == NULL)
		return -1;
	db_bind_int(st, 1, LEADER_LIVE_CLASS);
	while ((rc = db_step(st)) == DB_ROW) {
		struct instance_row	*r;

		*v = xreallocarray(*v, *n + 1, sizeof **v);
		r = &(*v)[(*n)++];
		r->name = db_text_dup(st, 0);
		r->site = db_text_dup(st, 1);
		r->started_at = db_int(st, 2);
		r->seen_at = db_int(st, 3);
		r->alive = db_int(st, 4) != 0;
	}
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

void
leader_state_free(struct leader_row *lr, struct instance_row *v, size_t n)
{
	size_t	 i;

	free(lr->instance);
	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].site);
	}
	free(v);
}

static void
utc(int64_t t, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 at = (time_t)t;

	if (gmtime_r(&at, &tm) == NULL || strftime(out, len,
	    "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, len, "%lld", (long long)t);
}

char *
leader_state_text(struct store *s, int64_t now)
{
	struct leader_row	 lr;
	struct instance_row	*iv;
	struct buf		 b;
	size_t			 n, i;
	char			 t1[40], t2[40];

	if (leader_state(s, &lr, &iv, &n) != 0) {
		leader_state_free(&lr, iv, n);
		return NULL;
	}
	buf_init(&b, 0);
	if (lr.instance != NULL) {
		utc(lr.since, t1, sizeof t1);
		buf_printf(&b, "leader: %s (epoch %lld, since %s)\n",
		    lr.instance, (long long)lr.epoch, t1);
	} else
		buf_printf(&b, "leader: none yet (epoch %lld)\n",
		    (long long)lr.epoch);
	buf_printf(&b, "instances: %zu\n", n);
	for (i = 0; i < n; i++) {
		utc(iv[i].started_at, t1, sizeof t1);
		utc(iv[i].seen_at, t2, sizeof t2);
		buf_printf(&b, "  %s  site %s  %s  started %s  seen %s "
		    "(%llds ago)\n", iv[i].name, iv[i].site, iv[i].alive ?
		    "alive" : "gone", t1, t2,
		    (long long)(now - iv[i].seen_at));
	}
	leader_state_free(&lr, iv, n);
	return buf_steal(&b);
}
