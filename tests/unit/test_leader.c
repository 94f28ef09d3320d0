/*
 * Leader lock, epoch and fencing (store_leader.h), on the backend the
 * run uses (SQLite, or PostgreSQL with PVEBOT_TEST_DB): one leader at a
 * time, each new leader a higher epoch, and an old leader's write fenced
 * off in its own transaction. On PostgreSQL the old leader's connection
 * is killed on the server, as when it is cut off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_leader.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

static char *
fresh_db(const char *name)
{
	char		*path = t_db_new(name), *cause = NULL;
	struct store	*s = store_open(path, &cause);

	T_OK(s != NULL);
	free(cause);
	store_close(s);
	return path;
}

/* A write a leader makes: fenced by its epoch, in one transaction. */
static int
leader_write(struct store *s, int64_t epoch, const char *value)
{
	if (store_begin(s) != 0)
		return -1;
	if (store_fence(s, epoch) != 0 ||
	    store_kv_set(s, "leader_write", value) != 0) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s);
}

static void
test_one_leader_at_a_time(void)
{
	char		*db = fresh_db("one.db"), *cause = NULL;
	struct leader	*a, *b;
	int64_t		 ea = 0, eb = 0;

	a = leader_open(db, "alpha", "site1", &cause);
	b = leader_open(db, "beta", "site2", &cause);
	T_OK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		goto out;
	T_EQ_INT(leader_try(a, &ea), 1);
	T_EQ_INT(ea, 1);
	T_EQ_INT(leader_try(b, &eb), 0);
	T_EQ_INT(leader_try(b, &eb), 0);
	/* Asking again keeps the same epoch. */
	T_EQ_INT(leader_try(a, &ea), 1);
	T_EQ_INT(ea, 1);
	T_EQ_INT(leader_check(a), 1);
	T_EQ_INT(leader_check(b), 0);
	/* The leader goes away: the other takes over, one epoch on. */
	leader_close(a);
	a = NULL;
	T_EQ_INT(leader_try(b, &eb), 1);
	T_EQ_INT(eb, 2);
out:
	leader_close(a);
	leader_close(b);
	free(cause);
	free(db);
}

static void
test_old_leader_fenced(void)
{
	char			*db = fresh_db("fence.db"), *cause = NULL;
	char			*v = NULL;
	struct leader		*a, *b;
	struct store		*aw, *bw;
	struct leader_row	 lr;
	struct instance_row	*iv;
	size_t			 n;
	int64_t			 ea = 0, eb = 0, t0;

	a = leader_open(db, "alpha", "site1", &cause);
	b = leader_open(db, "beta", "site1", &cause);
	aw = store_open(db, &cause);	/* alpha's worker connection */
	bw = store_open(db, &cause);
	T_OK(a != NULL && b != NULL && aw != NULL && bw != NULL);
	if (a == NULL || b == NULL || aw == NULL || bw == NULL)
		goto out;
	T_EQ_INT(leader_try(a, &ea), 1);
	T_EQ_INT(leader_write(aw, ea, "alpha 1"), 0);
	if (t_db_pg()) {
		/* alpha is cut off: the server drops its leader connection
		 * (and with it the session lock). */
		T_EQ_INT(t_db_cut_leader(db), 1);
		/* alpha notices at its next check, not at a timeout. */
		t0 = now_ms();
		T_EQ_INT(leader_check(a), 0);
		T_OK(now_ms() - t0 < 2000);
	} else {
		leader_close(a);
		a = NULL;
	}
	T_EQ_INT(leader_try(b, &eb), 1);
	T_EQ_INT(eb, ea + 1);
	/* alpha's other connection is alive, but its epoch is old: its
	 * write does not commit... */
	T_EQ_INT(leader_write(aw, ea, "alpha 2"), -1);
	/* ...and beta's does. */
	T_EQ_INT(leader_write(bw, eb, "beta 1"), 0);
	T_EQ_INT(store_kv_get(bw, "leader_write", &v), 0);
	T_EQ_STR(v, "beta 1");
	free(v);
	/* What `pvebot status --cluster` reads. */
	T_EQ_INT(leader_state(bw, &lr, &iv, &n), 0);
	T_EQ_INT(lr.epoch, eb);
	T_EQ_STR(lr.instance, "beta");
	T_EQ_INT(n, 2);
	if (n == 2) {
		T_EQ_STR(iv[0].name, "alpha");
		T_EQ_STR(iv[1].site, "site1");
	}
	leader_state_free(&lr, iv, n);
out:
	store_close(aw);
	store_close(bw);
	leader_close(a);
	leader_close(b);
	free(cause);
	free(db);
}

int
main(void)
{
	T_RUN(test_one_leader_at_a_time);
	T_RUN(test_old_leader_fenced);
	return t_summary();
}
