/*
 * Leader lock, epoch and fencing (store_leader.h), on the backend the
 * run uses (SQLite, or PostgreSQL with PVEBOT_TEST_DB): one leader at a
 * time, each new leader a higher epoch, and an old leader's write fenced
 * off in its own transaction. On PostgreSQL the old leader's connection
 * is killed on the server, as when it is cut off.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "outbox.h"
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

/* A queued job of `site`, claimed by `by` (so running, owned by it). */
static int64_t
running_job(struct store *s, const char *site, int vmid,
    const struct job_claimer *by)
{
	struct job	 j, got;
	char		*cause = NULL;
	int64_t		 id = -1;

	memset(&j, 0, sizeof j);
	j.state = JOB_QUEUED;
	j.command = "start 101";
	j.cmd_name = "start";
	j.action = "guest.start";
	j.requester = "console:bob";
	j.connector = "console";
	j.room = "console";
	j.target_vmid = vmid;
	j.site = (char *)site;
	T_EQ_INT(jobs_insert(s, &j, &cause), 0);
	if (jobs_claim(s, "action", 1, by, &got) == 1) {
		id = got.id;
		job_release(&got);
	}
	free(cause);
	T_EQ_INT(id, j.id);
	return id;
}

/*
 * Workers on every instance (PostgreSQL): a running job whose owner is
 * alive is nobody else's; once the owner's connection is cut, a live
 * instance of the same site adopts it (one of another site does not),
 * and the cut-off owner can no longer write, even on its other
 * connections. `status --cluster` says who is alive.
 */
static void
test_dead_owner_adopted(void)
{
	char			*db, *cause = NULL, *text;
	struct leader		*a, *b, *c;
	struct store		*s;
	struct job_claimer	 ba, bb, bc;
	struct job		 j;
	int64_t			*ids = NULL, id;
	size_t			 n = 0;

	db = fresh_db("adopt.db");
	a = leader_open(db, "alpha", "site1", &cause);
	b = leader_open(db, "beta", "site1", &cause);
	c = leader_open(db, "gamma", "site2", &cause);
	s = store_open(db, &cause);
	T_OK(a != NULL && b != NULL && c != NULL && s != NULL);
	if (a == NULL || b == NULL || c == NULL || s == NULL)
		goto out;
	ba = (struct job_claimer){ leader_gen(a), "alpha", "site1" };
	bb = (struct job_claimer){ leader_gen(b), "beta", "site1" };
	bc = (struct job_claimer){ leader_gen(c), "gamma", "site2" };
	T_OK(ba.gen > 0 && bb.gen > ba.gen && bc.gen > bb.gen);
	id = running_job(s, "site1", 101, &ba);
	/* alpha is alive: its job is nobody else's. */
	T_EQ_INT(jobs_adopt(s, &bb, &ids, &n), 0);
	T_EQ_INT(n, 0);
	free(ids);
	/* alpha is cut off. */
	T_EQ_INT(t_db_cut_instance(db, ba.gen), 1);
	T_EQ_INT(leader_alive(a), 0);
	/* Its writes are fenced on every connection of its process. */
	store_set_alive(db, ba.gen, leader_pid(a));
	T_EQ_INT(store_begin(s), -1);
	T_EQ_INT(store_kv_set(s, "alpha", "after the cut"), -1);
	store_set_alive(db, 0, 0);
	/* gamma is alive but of another site: not its job. */
	T_EQ_INT(jobs_adopt(s, &bc, &ids, &n), 0);
	T_EQ_INT(n, 0);
	free(ids);
	/* beta adopts it, once. */
	T_EQ_INT(jobs_adopt(s, &bb, &ids, &n), 0);
	T_EQ_INT(n, 1);
	if (n == 1)
		T_EQ_INT(ids[0], id);
	free(ids);
	T_EQ_INT(jobs_adopt(s, &bb, &ids, &n), 0);
	T_EQ_INT(n, 0);
	free(ids);
	T_EQ_INT(jobs_get(s, id, &j), 0);
	T_EQ_STR(j.runner, "beta");
	T_EQ_INT(j.state, JOB_RUNNING);
	job_release(&j);
	text = leader_state_text(s, wall_now());
	T_CONTAINS(text, "  alpha  site site1  gone  ");
	T_CONTAINS(text, "  beta  site site1  alive  ");
	T_CONTAINS(text, "  gamma  site site2  alive  ");
	free(text);
out:
	store_close(s);
	leader_close(a);
	leader_close(b);
	leader_close(c);
	free(cause);
	free(db);
}

static atomic_int	 jobs_heard;
static char		 outbox_heard[64];
static pthread_mutex_t	 heard_lock = PTHREAD_MUTEX_INITIALIZER;

static void
on_jobs(void *arg)
{
	(void)arg;
	atomic_fetch_add(&jobs_heard, 1);
}

static void
on_outbox(const char *connector)
{
	pthread_mutex_lock(&heard_lock);
	snprintf(outbox_heard, sizeof outbox_heard, "%s", connector);
	pthread_mutex_unlock(&heard_lock);
}

static int
heard_outbox(const char *want, int64_t within_ms)
{
	int64_t	 until = now_ms() + within_ms;
	int	 got;

	do {
		pthread_mutex_lock(&heard_lock);
		got = strcmp(outbox_heard, want) == 0;
		pthread_mutex_unlock(&heard_lock);
		if (got)
			return 1;
		sleep_ms(10);
	} while (now_ms() < until);
	return 0;
}

static int
heard_jobs(int at_least, int64_t within_ms)
{
	int64_t	 until = now_ms() + within_ms;

	while (atomic_load(&jobs_heard) < at_least && now_ms() < until)
		sleep_ms(10);
	return atomic_load(&jobs_heard) >= at_least;
}

/*
 * What another instance writes reaches this one without polling: a job
 * queued and an outbox row, each once its transaction commits; a rolled
 * back write says nothing.
 */
static void
test_listener_hears_other_instances(void)
{
	char			*db, *cause = NULL;
	struct store_listener	*l;
	struct store		*other;
	struct chat_msg		 m = { .text = "hello" };
	struct job_claimer	 by = { .gen = 1 };

	if (!t_db_pg()) {
		T_EQ_INT(store_listen("x.db", on_jobs, NULL, &cause) == NULL,
		    1);
		T_OK(cause == NULL);
		return;
	}
	db = fresh_db("listen.db");
	store_set_outbox_hook(on_outbox);
	l = store_listen(db, on_jobs, NULL, &cause);
	other = store_open(db, &cause);
	T_OK(l != NULL && other != NULL);
	if (l == NULL || other == NULL)
		goto out;
	sleep_ms(200);		/* LISTEN is in place */
	atomic_store(&jobs_heard, 0);
	/* Rolled back: nothing heard. */
	T_EQ_INT(store_begin(other), 0);
	outbox_send(other, "matrix", "!room", &m, "t");
	store_rollback(other);
	T_EQ_INT(heard_outbox("matrix", 500), 0);
	/* Committed: heard with its connector. */
	T_EQ_INT(store_begin(other), 0);
	outbox_send(other, "telegram", "42", &m, "t");
	T_EQ_INT(heard_outbox("telegram", 300), 0);	/* not before */
	T_EQ_INT(store_commit(other), 0);
	T_EQ_INT(heard_outbox("telegram", 5000), 1);
	/* A queued job, and the end of a running one. */
	running_job(other, NULL, 101, &by);
	T_OK(heard_jobs(1, 5000));
	T_EQ_INT(jobs_transition(other, 1, JOB_RUNNING, JOB_SUCCEEDED, "w",
	    "done", NULL, &cause), 0);
	T_OK(heard_jobs(2, 5000));
out:
	store_listen_stop(l);
	store_set_outbox_hook(NULL);
	store_close(other);
	free(cause);
	free(db);
}

int
main(void)
{
	T_RUN(test_one_leader_at_a_time);
	T_RUN(test_old_leader_fenced);
	if (t_db_pg())
		T_RUN(test_dead_owner_adopted);
	else
		printf("SKIP test_dead_owner_adopted: PostgreSQL only (set "
		    "PVEBOT_TEST_DB)\n");
	T_RUN(test_listener_hears_other_instances);
	return t_summary();
}
