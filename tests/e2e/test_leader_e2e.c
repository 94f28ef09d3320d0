/*
 * test_leader_e2e.c - issue 22: two pvebot instances on one PostgreSQL
 * database, the simulator and the fake Telegram (which ends a held
 * getUpdates with 409 when a second consumer polls, as Telegram does).
 *
 * alpha starts and leads; beta starts and stands by. 25 operators send
 * 200 snapshot commands in private chats, each with its own snapshot
 * name. When about half
 * have jobs, alpha is killed with SIGKILL: beta must take over within
 * 10 s, and afterwards every command has exactly one job, one chat
 * message and one snapshot request to Proxmox, and every job ended.
 * While both ran, only one ever polled Telegram.
 *
 * Workers on every instance: a standby's running jobs are adopted by the
 * leader when the standby is killed, and an instance of another site
 * runs none of them; rooms of another site send their commands to that
 * site's instance and cluster (a second simulator).
 *
 * PostgreSQL only (PVEBOT_TEST_DB): on SQLite one process owns the file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim.h"
#include "t.h"
#include "t_db.h"
#include "t_env.h"
#include "util.h"

#define NCMD		200
#define NKILL		40		/* commands of the standby kill */
#define GUESTS		8
#define NUSERS		25		/* pvebot paces each chat: 8 each */
#define FIRST_UID	5001

static const int guests[GUESTS] = { 101, 102, 103, 104, 106, 107, 108, 112 };

/* bot.conf with `from` replaced by `to` (once), written as `name`. */
static char *
conf_variant(const char *path, const char *name, const char *from,
    const char *to)
{
	char	*text = t_slurp(path), *next = t_swap(text, from, to);
	char	*out = xstrdup(t_write(name, next, 0600));

	free(next);
	free(text);
	return out;
}

/* NUSERS operators, each in a private chat, and limits out of the way. */
static void
add_users(struct t_env *e)
{
	struct buf	 b;
	char		*users = t_slurp("policies/users.yaml"), *c;
	int		 i;

	buf_init(&b, 0);
	buf_puts(&b, users != NULL ? users : "");
	for (i = 0; i < NUSERS; i++)
		buf_printf(&b, "  u%d:\n    identities: [telegram:%d]\n"
		    "    roles: [operator]\n", FIRST_UID + i, FIRST_UID + i);
	t_write("policies/users.yaml", buf_cstr(&b), 0644);
	buf_reset(&b);
	buf_puts(&b, "[\"1001\", \"1002\"");
	for (i = 0; i < NUSERS; i++)
		buf_printf(&b, ", \"%d\"", FIRST_UID + i);
	buf_puts(&b, "]");
	c = conf_variant(e->conf_path, "bot.conf", "[\"1001\", \"1002\"]",
	    buf_cstr(&b));
	free(c);
	free(conf_variant(e->conf_path, "bot.conf", "  max_command_age: 5m\n",
	    "  max_command_age: 5m\n  rate_limit: {per_user: 100000, "
	    "user_burst: 100000, per_room: 100000, room_burst: 100000}\n"));
	buf_release(&b);
	free(users);
}

/*
 * beta: alpha's bot.conf under another instance name, started and
 * standing by (argv is kept for a restart). Its config path; caller
 * frees.
 */
static char *
start_beta(struct t_env *e, struct t_proc *beta, char *argv[5])
{
	char	*confb = conf_variant(e->conf_path, "bot-beta.conf",
	    "name: alpha", "name: beta");

	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = confb;
	argv[4] = NULL;
	T_EQ_INT(t_proc_start(beta, argv, 0), 0);
	T_EQ_INT(t_proc_wait_for(beta, "standby instance=beta", 30000), 0);
	return confb;
}

static int64_t
jobs_count(struct t_env *e)
{
	return t_env_db_int(e, "SELECT count(*) FROM jobs", NULL);
}

/*
 * After a kill: every one of the ncmd commands "snapshot G <letter>N"
 * ends, with exactly one job, one chat message (edited in place) and at
 * most one snapshot request to Proxmox (the simulator's call log).
 */
static void
judge(struct t_env *e, char letter, int ncmd)
{
	char		 cmd[64];
	int64_t		 deadline, n, succeeded;
	json_t		*calls;
	size_t		 i, k, posts = 0;
	int		 twice = 0, lost = 0, unended;
	int		*seen = xcalloc(ncmd, sizeof *seen);

	/* Every command ends, with one job each. */
	deadline = now_ms() + 240000;
	do {
		unended = (int)t_env_db_int(e, "SELECT count(*) FROM jobs "
		    "WHERE state IN ('resolving', 'awaiting_approval', "
		    "'queued', 'running')", NULL);
		n = jobs_count(e);
		if (n >= ncmd && unended == 0)
			break;
		sleep_ms(100);
	} while (now_ms() < deadline);
	T_EQ_INT(n, ncmd);
	T_EQ_INT(unended, 0);
	for (i = 0; i < (size_t)ncmd; i++) {
		char	 needle[80];
		int64_t	 jobs, until = now_ms() + 30000;

		snprintf(cmd, sizeof cmd, "snapshot %d %c%zu",
		    guests[i % GUESTS], letter, i);
		jobs = t_env_jobs(e, cmd);
		if (jobs == 0)
			lost++;
		else if (jobs > 1)
			twice++;
		/* One message per command, edited in place, showing how it
		 * ended (the outbox delivers it, maybe after the job). */
		snprintf(needle, sizeof needle, "%s\n", cmd);
		while (fake_telegram_count(e->tg, FIRST_UID + i % NUSERS,
		    needle) < 1 && now_ms() < until)
			sleep_ms(50);
		if (fake_telegram_count(e->tg, FIRST_UID + i % NUSERS,
		    needle) != 1)
			t_fail(__FILE__, __LINE__, "\"%s\": %d messages", cmd,
			    fake_telegram_count(e->tg, FIRST_UID + i % NUSERS,
			    needle));
	}
	/* One snapshot request per name (the simulator's call log). */
	calls = t_env_sim_calls(e);
	for (k = 0; k < json_array_size(calls); k++) {
		json_t		*c = json_array_get(calls, k);
		const char	*m = json_string_value(json_object_get(c,
		    "method"));
		const char	*p = json_string_value(json_object_get(c, "path"));
		const char	*name;
		json_t		*params = json_object_get(c, "params");
		long		 idx;

		if (m == NULL || p == NULL || strcmp(m, "POST") != 0 ||
		    strstr(p, "/snapshot") == NULL ||
		    strstr(p, "/rollback") != NULL)
			continue;
		posts++;
		name = json_string_value(json_object_get(params, "snapname"));
		if (name == NULL || name[0] != letter)
			continue;
		idx = strtol(name + 1, NULL, 10);
		if (idx >= 0 && idx < ncmd && ++seen[idx] > 1)
			twice++;
	}
	json_decref(calls);
	succeeded = t_env_db_int(e, "SELECT count(*) FROM jobs WHERE state = "
	    "'succeeded'", NULL);
	printf("  note: %d commands, %lld jobs (%lld succeeded), %zu snapshot "
	    "requests: %d lost, %d twice\n", ncmd, (long long)n,
	    (long long)succeeded, posts, lost, twice);
	T_EQ_INT(lost, 0);
	T_EQ_INT(twice, 0);
	/* A job cut off between its intent and its request is not sent
	 * again (it ends as interrupted): at most one request each, and
	 * one for each job that succeeded. */
	T_OK((int64_t)posts <= ncmd);
	T_OK((int64_t)posts >= succeeded);
	free(seen);
}

static void
test_standby_takes_over(void)
{
	struct t_env_opts	 o = { .telegram = 1, .task_ms = 200,
	    .extra = "instance:\n  name: alpha\n  site: lab\n" };
	struct t_env		*e;
	struct t_proc		 beta;
	char			*confb, *out, cmd[64];
	char			*argv[5];
	int64_t			 killed, deadline;
	size_t			 i;

	e = t_env_new(&o);
	add_users(e);
	T_EQ_INT(t_env_start(e, "connector started name=telegram", 60000), 0);
	T_EQ_INT(t_env_wait_output(e, 0, "leader instance=alpha epoch=1",
	    10000, NULL) != -1, 1);
	confb = start_beta(e, &beta, argv);

	for (i = 0; i < NCMD; i++) {
		snprintf(cmd, sizeof cmd, "snapshot %d l%zu",
		    guests[i % GUESTS], i);
		fake_telegram_inject_message(e->tg, FIRST_UID + i % NUSERS,
		    FIRST_UID + i % NUSERS, cmd, 0);
	}
	deadline = now_ms() + 120000;
	while (jobs_count(e) < NCMD / 2 && now_ms() < deadline)
		sleep_ms(20);
	/* Both ran until now: one poller. */
	T_EQ_INT(fake_telegram_max_pollers(e->tg), 1);
	T_EQ_INT(t_env_stop(e, SIGKILL), 128 + SIGKILL);
	killed = now_ms();
	T_EQ_INT(t_proc_wait_for(&beta, "leader instance=beta epoch=2",
	    10000), 0);
	printf("  note: beta led %lld ms after alpha was killed\n",
	    (long long)(now_ms() - killed));

	judge(e, 'l', NCMD);
	/* In chat, the new leader says who answers and who leads; alpha
	 * stays listed, last seen before it was killed. */
	fake_telegram_inject_message(e->tg, FIRST_UID, FIRST_UID, "whoami", 0);
	T_OK(t_env_wait_bot(e, FIRST_UID, "pvebot instance beta (site lab), "
	    "the leader, epoch 2", 20000) != -1);
	fake_telegram_inject_message(e->tg, FIRST_UID, FIRST_UID, "status", 0);
	T_OK(t_env_wait_bot(e, FIRST_UID, "pvebot: answered by beta (site "
	    "lab)\nleader: beta (epoch 2, since ", 20000) != -1);
	T_OK(t_env_wait_bot(e, FIRST_UID, "instances: 2\n  alpha  site lab  "
	    "gone  started ", 20000) != -1);
	/* Both ran jobs: beta's workers did not wait to lead. */
	printf("  note: jobs run by alpha %lld, by beta %lld\n",
	    (long long)t_env_db_int(e, "SELECT count(*) FROM jobs WHERE "
	    "runner = 'alpha'", NULL), (long long)t_env_db_int(e,
	    "SELECT count(*) FROM jobs WHERE runner = 'beta'", NULL));
	out = t_proc_output(&beta);
	T_NOT_CONTAINS(out, "Conflict");
	free(out);
	t_proc_stop(&beta, SIGTERM, 30000);
	free(confb);
	t_env_free(e);
}

/*
 * Workers on every instance: beta, standing by, runs jobs beside alpha's
 * workers, and gamma, of another site, runs none. beta is killed with
 * SIGKILL while it runs jobs: alpha adopts them within seconds (its
 * sweep finds the liveness lock of beta's generation free), follows each
 * task by its UPID, and every command ends with one job, one message and
 * at most one request.
 */
static void
test_standby_killed_jobs_adopted(void)
{
	struct t_env_opts	 o = { .telegram = 1, .task_ms = 3000,
	    .extra = "instance:\n  name: alpha\n  site: lab\n"
	    "  home_site: lab\n" };
	struct t_env		*e;
	struct t_proc		 beta, gamma;
	char			*confb, *confg, *tmp, cmd[64];
	char			*argv[5], *argvg[5];
	int64_t			 deadline, killed, on_beta = 0, left;
	int64_t			 followed[8];
	size_t			 i;

	e = t_env_new(&o);
	add_users(e);
	T_EQ_INT(t_env_start(e, "connector started name=telegram", 60000), 0);
	T_EQ_INT(t_env_wait_output(e, 0, "leader instance=alpha epoch=1",
	    10000, NULL) != -1, 1);
	confb = start_beta(e, &beta, argv);
	tmp = conf_variant(e->conf_path, "bot-gamma.conf", "name: alpha",
	    "name: gamma");
	confg = conf_variant(tmp, "bot-gamma.conf", "site: lab", "site: far");
	free(tmp);
	memcpy(argvg, argv, sizeof argvg);
	argvg[3] = confg;
	T_EQ_INT(t_proc_start(&gamma, argvg, 0), 0);
	T_EQ_INT(t_proc_wait_for(&gamma, "standby instance=gamma", 30000), 0);

	for (i = 0; i < NKILL; i++) {
		snprintf(cmd, sizeof cmd, "snapshot %d k%zu",
		    guests[i % GUESTS], i);
		fake_telegram_inject_message(e->tg, FIRST_UID + i % NUSERS,
		    FIRST_UID + i % NUSERS, cmd, 0);
	}
	/* beta's workers take jobs while alpha leads; it is killed once a
	 * task it started runs on Proxmox. */
	deadline = now_ms() + 60000;
	while ((on_beta = t_db_query_ints(e->db_path, "SELECT id FROM jobs "
	    "WHERE state = 'running' AND runner = 'beta' AND upid IS NOT NULL",
	    NULL, NULL, followed, nitems(followed))) < 1 &&
	    now_ms() < deadline)
		sleep_ms(20);
	T_OK(on_beta >= 1);
	T_EQ_INT(t_proc_stop(&beta, SIGKILL, 10000), 128 + SIGKILL);
	killed = now_ms();
	/* alpha adopts what beta left running. */
	deadline = now_ms() + 10000;
	while ((left = t_env_db_int(e, "SELECT count(*) FROM jobs WHERE "
	    "state = 'running' AND runner = 'beta'", NULL)) > 0 &&
	    now_ms() < deadline)
		sleep_ms(20);
	T_EQ_INT(left, 0);
	printf("  note: %lld jobs running on beta when it was killed, all "
	    "adopted %lld ms later\n", (long long)on_beta,
	    (long long)(now_ms() - killed));
	judge(e, 'k', NKILL);
	/* A task beta started is followed to its end by alpha, not sent
	 * again (judge() counted the requests). */
	for (i = 0; i < (size_t)on_beta && i < nitems(followed); i++) {
		char	 id[24];

		snprintf(id, sizeof id, "%lld", (long long)followed[i]);
		T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE id = "
		    "?1 AND state = 'succeeded' AND runner = 'alpha'", id), 1);
	}
	/* gamma serves another site: none of these jobs. */
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE runner = "
	    "'gamma'", NULL), 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE runner IS "
	    "NULL OR runner NOT IN ('alpha', 'beta')", NULL), 0);
	t_proc_stop(&gamma, SIGTERM, 30000);
	free(confb);
	free(confg);
	t_env_free(e);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The snapshot requests of a simulator's call log whose name starts
 * with `letter`, as "name name ..." in name order; caller frees. */
static char *
snapshots_on(struct t_env *e, struct sim *sim, char letter)
{
	struct sim	*keep = e->sim;
	struct buf	 b;
	json_t		*calls, *c;
	const char	*names[64];
	size_t		 k, n = 0;

	e->sim = sim;
	calls = t_env_sim_calls(e);
	e->sim = keep;
	json_array_foreach(calls, k, c) {
		const char	*m = json_string_value(json_object_get(c,
		    "method"));
		const char	*name = json_string_value(json_object_get(
		    json_object_get(c, "params"), "snapname"));

		if (m != NULL && strcmp(m, "POST") == 0 && name != NULL &&
		    name[0] == letter && n < nitems(names))
			names[n++] = name;
	}
	qsort(names, n, sizeof *names, by_name);
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (k = 0; k < n; k++)
		buf_printf(&b, "%s%s", k > 0 ? " " : "", names[k]);
	json_decref(calls);
	return buf_steal(&b);
}

/*
 * Several clusters: alpha serves site lab (the simulator of t_env), gamma
 * site far (a second simulator with the same VMIDs, as two clusters
 * have). Commands from the group marked `site: far` are looked up,
 * decided and run by gamma against its own cluster; those from lab's
 * group by alpha against lab's. Each cluster sees only its own requests.
 * When gamma leads, lab's group still means lab (home_site).
 */
static void
test_rooms_of_another_site(void)
{
	struct t_env_opts	 o = { .telegram = 1, .task_ms = 200,
	    .extra = "instance:\n  name: alpha\n  site: lab\n"
	    "  home_site: lab\n" };
	struct t_env		*e;
	struct sim_opts		 so;
	struct sim		*far;
	struct t_proc		 gamma;
	char			*confg, *tmp, *argv[5], from[128], to[128];
	char			*cause = NULL, *got, cmd[80], *out, *err;
	int64_t			 deadline, unended = -1, n = -1;
	int			 i;

	e = t_env_new(&o);
	/* The same token as t_env's (its secret is in the environment). */
	memset(&so, 0, sizeof so);
	so.tls = 1;
	so.secret = getenv("PVEBOT_T_ENV_PVE_SECRET");
	so.task_ms = 200;
	if ((far = sim_start(&so, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "second simulator: %s", cause);
		free(cause);
		t_env_free(e);
		return;
	}
	free(conf_variant(e->conf_path, "bot.conf",
	    "      - id: \"-100200\"\n        alerts: true\n",
	    "      - id: \"-100200\"\n        alerts: true\n"
	    "      - id: \"-100300\"\n        site: far\n"
	    "      - id: \"-100400\"\n        site: fra\n"));
	T_EQ_INT(t_env_start(e, "connector started name=telegram", 60000), 0);
	T_EQ_INT(t_env_wait_output(e, 0, "leader instance=alpha epoch=1",
	    10000, NULL) != -1, 1);
	/* gamma: the same file, its name, its site and its cluster. */
	tmp = conf_variant(e->conf_path, "bot-gamma.conf", "name: alpha",
	    "name: gamma");
	free(conf_variant(tmp, "bot-gamma.conf", "site: lab", "site: far"));
	snprintf(from, sizeof from, "127.0.0.1:%d/", sim_port(e->sim));
	snprintf(to, sizeof to, "127.0.0.1:%d/", sim_port(far));
	free(conf_variant(tmp, "bot-gamma.conf", from, to));
	snprintf(from, sizeof from, "fingerprint: \"%s\"",
	    sim_fingerprint(e->sim));
	snprintf(to, sizeof to, "fingerprint: \"%s\"", sim_fingerprint(far));
	confg = conf_variant(tmp, "bot-gamma.conf", from, to);
	free(tmp);
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[4] = NULL;
	/* Without a home site, an instance of a second site is refused. */
	argv[3] = conf_variant(confg, "bot-nohome.conf", "  home_site: lab\n",
	    "");
	T_OK(t_spawn(argv, NULL, &out, &err, 30000) != 0);
	T_CONTAINS(err, "instances of sites far and lab share this database: "
	    "set instance.home_site");
	free(out);
	free(err);
	free(argv[3]);
	argv[3] = confg;
	T_EQ_INT(t_proc_start(&gamma, argv, 0), 0);
	T_EQ_INT(t_proc_wait_for(&gamma, "standby instance=gamma", 30000), 0);

	for (i = 0; i < 4; i++) {
		snprintf(cmd, sizeof cmd, "/snapshot@pvebot_test %d f%d",
		    guests[i], i);
		fake_telegram_inject_message(e->tg, -100300, 1001, cmd, 0);
	}
	fake_telegram_inject_message(e->tg, -100200, 1001,
	    "/snapshot@pvebot_test 101 h0", 0);
	/* A misspelt site: no instance serves it, and the room hears so. */
	fake_telegram_inject_message(e->tg, -100400, 1002,
	    "/snapshot@pvebot_test 101 t0", 0);
	T_OK(t_env_wait_bot(e, -100400, "snapshot 101 t0\nno pvebot "
	    "instance of site fra is running, so its cluster cannot be "
	    "reached; nothing was done", 20000) != -1);
	deadline = now_ms() + 60000;
	do {
		unended = t_env_db_int(e, "SELECT count(*) FROM jobs WHERE "
		    "state IN ('resolving', 'awaiting_approval', 'queued', "
		    "'running')", NULL);
		n = jobs_count(e);
		if (n >= 6 && unended == 0)
			break;
		sleep_ms(100);
	} while (now_ms() < deadline);
	T_EQ_INT(n, 6);
	T_EQ_INT(unended, 0);
	/* Who ran what, and where. */
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE site = "
	    "'far' AND runner = 'gamma' AND state = 'succeeded'", NULL), 4);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE site = "
	    "'lab' AND runner = 'alpha' AND state = 'succeeded'", NULL), 1);
	got = snapshots_on(e, far, 'f');
	T_EQ_STR(got, "f0 f1 f2 f3");
	free(got);
	got = snapshots_on(e, far, 'h');
	T_EQ_STR(got, "");
	free(got);
	got = snapshots_on(e, e->sim, 'h');
	T_EQ_STR(got, "h0");
	free(got);
	got = snapshots_on(e, e->sim, 'f');
	T_EQ_STR(got, "");
	free(got);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE site = "
	    "'fra' AND state = 'failed' AND runner IS NULL", NULL), 1);
	/* The group hears how each ended, from the leader's poller. */
	for (i = 0; i < 4; i++) {
		snprintf(cmd, sizeof cmd, "snapshot %d f%d\nsucceeded",
		    guests[i], i);
		T_OK(t_env_wait_bot(e, -100300, cmd, 20000) != -1);
	}
	/*
	 * alpha stops: gamma, of site far, leads now, but a room without a
	 * site still acts on the home site, lab, not on far's guest 101;
	 * with no instance of lab running, it is told so.
	 */
	T_EQ_INT(t_env_stop(e, SIGTERM), 0);
	T_EQ_INT(t_proc_wait_for(&gamma, "leader instance=gamma epoch=2",
	    10000), 0);
	fake_telegram_inject_message(e->tg, -100200, 1002,
	    "/snapshot@pvebot_test 101 h1", 0);
	T_OK(t_env_wait_bot(e, -100200, "snapshot 101 h1\nno pvebot instance "
	    "of site lab is running", 20000) != -1);
	got = snapshots_on(e, far, 'h');
	T_EQ_STR(got, "");
	free(got);
	t_proc_stop(&gamma, SIGTERM, 30000);
	free(confg);
	t_env_free(e);
	sim_stop(far);
}

/*
 * The leader cut off from PostgreSQL (its leader connection killed on
 * the server): it notices at its next check (every second) and stops at
 * once, exit status 75, writing nothing more; the standby takes over.
 */
static void
test_cut_off_leader_stops(void)
{
	struct t_env_opts	 o = { .telegram = 1,
	    .extra = "instance:\n  name: alpha\n" };
	struct t_env		*e = t_env_new(&o);
	struct t_proc		 beta;
	char			*confb, *argv[5], *out;
	int64_t			 cut;

	T_EQ_INT(t_env_start(e, "connector started name=telegram", 60000), 0);
	confb = start_beta(e, &beta, argv);
	/* A standby asked to stop stops cleanly (systemd: no failure). */
	T_EQ_INT(t_proc_stop(&beta, SIGTERM, 20000), 0);
	T_EQ_INT(t_proc_start(&beta, argv, 0), 0);
	T_EQ_INT(t_proc_wait_for(&beta, "standby instance=beta", 30000), 0);
	T_EQ_INT(t_db_cut_leader(e->db_path), 1);
	cut = now_ms();
	T_OK(t_env_wait_output(e, 0, "lost the leader lock (epoch 1): "
	    "stopping at once", 5000, NULL) != -1);
	T_EQ_INT(t_env_stop(e, 0), 75);
	T_EQ_INT(t_proc_wait_for(&beta, "leader instance=beta epoch=2",
	    10000), 0);
	printf("  note: alpha stopped and beta led %lld ms after the cut\n",
	    (long long)(now_ms() - cut));
	/* The poll alpha left held when it stopped is ended by beta's
	 * first (the server cannot tell a dead client); beta itself was
	 * never the one cut off. */
	sleep_ms(1500);
	out = t_proc_output(&beta);
	T_NOT_CONTAINS(out, "Conflict");
	free(out);
	t_proc_stop(&beta, SIGTERM, 30000);
	free(confb);
	t_env_free(e);
}

int
main(void)
{
	if (!t_db_pg()) {
		printf("SKIP test_standby_takes_over, "
		    "test_standby_killed_jobs_adopted, "
		    "test_rooms_of_another_site, "
		    "test_cut_off_leader_stops: PostgreSQL only (set "
		    "PVEBOT_TEST_DB; on SQLite one process owns the file)\n");
		return t_summary();
	}
	T_RUN(test_standby_takes_over);
	T_RUN(test_standby_killed_jobs_adopted);
	T_RUN(test_rooms_of_another_site);
	T_RUN(test_cut_off_leader_stops);
	return t_summary();
}
