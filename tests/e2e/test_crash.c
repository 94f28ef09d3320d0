/*
 * test_crash.c - issue 13's crash test: nothing lost, nothing run twice,
 * every outcome and every approval request shown, across SIGKILLs.
 *
 * `pvebot run` (t_env: the fake Telegram, which redelivers what was not
 * confirmed and forgets what was, as Telegram does; the simulator, which
 * records every call) gets 100 commands, each from its own Telegram user
 * in a private chat, so every job is tied to the message that asked for
 * it: snapshots with unique names, power actions (one per guest), node
 * listings, and backups and rollbacks that need an admin's approval
 * (posted to the group, pressed by button as they appear; rollbacks take
 * a safety snapshot first). Between batches pvebot is killed with SIGKILL
 * at a random moment and started again: 15 kills, three of them aimed
 * with PVEBOT_CRASH_AT, between a step's intent and its request
 * (step.intent), while a rollback's safety snapshot runs
 * (step.snapshot), and when Telegram took a message that the outbox does
 * not know was sent yet (send.done).
 *
 * Judged afterwards from the simulator's call log, the database and the
 * fake's chats:
 *   lost        a user whose command has no job and no answer
 *   twice       a user with two jobs, or a Proxmox action asked more
 *               often than jobs that may ask it
 *   unreported  a job whose chat message does not show its final state
 *   unseen      a job that waited for approval with no request in the
 *               group
 * Each count must be 0. The run prints them, with the jobs' final states.
 *
 * On PostgreSQL (issue 22) a second run does the same with two instances
 * on one database: 500 commands in 20 batches, and in each the leader is
 * killed at a random moment; the standby must lead within 10 s, and the
 * killed instance comes back as the standby. Judged the same way.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "t.h"
#include "t_db.h"
#include "t_env.h"
#include "util.h"

#define NUSERS		100	/* one instance, killed and restarted */
#define NPAIR		500	/* two instances, the leader killed */
#define MAXCMDS		NPAIR
#define PAIR_ROUNDS	20	/* leader kills of the two-instance run */
#define FIRST_UID	3001
#define ROUNDS		15
#define AIM_INTENT	5	/* round started with step.intent armed */
#define AIM_SNAPSHOT	10	/* round started with step.snapshot armed */
#define AIM_SEND	12	/* round started with send.done armed */

struct cmd {
	long long	 uid;
	char		 text[64];
	int		 approval;	/* needs an admin */
	const char	*post;		/* path part of its Proxmox POST */
};

static struct cmd	 cmds[MAXCMDS];
static size_t		 ncmds;

/* n commands: unique per user, each Proxmox action countable. */
static void
make_commands(size_t nc)
{
	static const int snap_guests[] = { 101, 102, 103, 104, 106, 107,
	    108, 111, 112 };
	static const struct { const char *text, *post; } power[] = {
		{ "start 104", "/qemu/104/status/start" },
		{ "start 108", "/qemu/108/status/start" },
		{ "start 111", "/lxc/111/status/start" },
		{ "start 112", "/qemu/112/status/start" },
		{ "shutdown 106", "/qemu/106/status/shutdown" },
		{ "reboot 103", "/lxc/103/status/reboot" },
	};
	static const struct { const char *text, *post; } risky[] = {
		{ "backup 102", "/vzdump" },
		{ "backup 107", "/vzdump" },
		{ "backup 111", "/vzdump" },
		{ "rollback 101 pre-upgrade", "/qemu/101/snapshot/pre-upgrade/"
		    "rollback" },
	};
	static struct cmd	 all[MAXCMDS];
	size_t			 i, k = 0, n;

	ncmds = nc;
	for (n = 0; n < nitems(power); n++, k++) {
		snprintf(all[k].text, sizeof all[k].text, "%s", power[n].text);
		all[k].post = power[n].post;
	}
	for (n = 0; n < 6; n++, k++) {
		snprintf(all[k].text, sizeof all[k].text, "%s",
		    risky[n % nitems(risky)].text);
		all[k].post = risky[n % nitems(risky)].post;
		all[k].approval = 1;
	}
	for (n = 0; n < 20; n++, k++)
		snprintf(all[k].text, sizeof all[k].text, "nodes");
	/* Snapshots, at most 24 a guest (the simulator keeps 32, some
	 * exist), then reads of one guest. */
	for (n = 0; k < ncmds && n < 24 * nitems(snap_guests); n++, k++)
		snprintf(all[k].text, sizeof all[k].text, "snapshot %d k%zu",
		    snap_guests[n % nitems(snap_guests)], n);
	for (n = 0; k < ncmds; n++, k++)
		snprintf(all[k].text, sizeof all[k].text, "guest %d",
		    snap_guests[n % nitems(snap_guests)]);
	/* Mixed, so each batch has several kinds (the same every run:
	 * 37 is coprime with 100 and 500). */
	for (i = 0; i < ncmds; i++) {
		cmds[i] = all[(i * 37 + 11) % ncmds];
		cmds[i].uid = FIRST_UID + (long long)i;
	}
}

/* The whole people file: alice approves, one operator per command. */
static void
write_people(struct t_env *e)
{
	struct buf	 b;
	char		*conf, *users, *next;
	size_t		 i;

	buf_init(&b, 0);
	buf_puts(&b, "users:\n"
	    "  alice:\n"
	    "    identities: [telegram:1001, console:alice]\n"
	    "    roles: [admin]\n"
	    "  bob:\n"
	    "    identities: [telegram:1002, console:bob]\n"
	    "    roles: [operator]\n");
	for (i = 0; i < ncmds; i++)
		buf_printf(&b, "  u%lld:\n    identities: [telegram:%lld]\n"
		    "    roles: [operator]\n", cmds[i].uid, cmds[i].uid);
	t_write("policies/users.yaml", buf_cstr(&b), 0644);
	buf_release(&b);
	/* Rollbacks take a safety snapshot first. */
	users = t_slurp("policies/default.yaml");
	next = t_swap(users, "    # snapshot_before: yes",
	    "    snapshot_before: yes");
	t_write("policies/default.yaml", next, 0644);
	free(next);
	free(users);
	/* Everyone may use a private chat; no rate limit gets in the way. */
	conf = t_slurp(e->conf_path);
	buf_init(&b, 0);
	buf_puts(&b, "[\"1001\", \"1002\"");
	for (i = 0; i < ncmds; i++)
		buf_printf(&b, ", \"%lld\"", cmds[i].uid);
	buf_puts(&b, "]");
	next = t_swap(conf, "[\"1001\", \"1002\"]", buf_cstr(&b));
	free(conf);
	conf = t_swap(next, "  max_command_age: 5m\n", "  max_command_age: "
	    "5m\n  rate_limit: {per_room: 100000, room_burst: 100000}\n");
	t_write("bot.conf", conf, 0600);
	free(next);
	buf_release(&b);
	free(conf);
}

/* Ids of the jobs `sql` selects (one integer column). */
static size_t
db_ids(struct t_env *e, const char *sql, int64_t *ids, size_t max)
{
	int	 n = t_db_ints(e->db_path, sql, NULL, NULL, ids, max);

	return n > 0 ? (size_t)n : 0;
}

/* Presses Approve, as alice in the group, on every request shown. */
static void
approve_shown(struct t_env *e)
{
	int64_t	 ids[MAXCMDS * 2];
	size_t	 n, i;

	n = db_ids(e, "SELECT id FROM jobs WHERE state = 'awaiting_approval'",
	    ids, nitems(ids));
	for (i = 0; i < n; i++) {
		char		 needle[48], *markup;
		long long	 msg;
		json_t		*root, *row, *btn;
		size_t		 r, c;

		snprintf(needle, sizeof needle, "Approval needed: job #%lld\n",
		    (long long)ids[i]);
		if ((msg = fake_telegram_find(e->tg, T_GROUP, needle)) == -1)
			continue;
		markup = fake_telegram_message_markup(e->tg, T_GROUP, msg);
		root = json_loads(markup != NULL ? markup : "", 0, NULL);
		json_array_foreach(json_object_get(root, "inline_keyboard"), r,
		    row) {
			json_array_foreach(row, c, btn) {
				const char *d = json_string_value(
				    json_object_get(btn, "callback_data"));

				if (d != NULL && str_has_prefix(d, "ap:"))
					fake_telegram_press(e->tg, T_GROUP,
					    T_ALICE, msg, d, NULL);
			}
		}
		json_decref(root);
		free(markup);
	}
}

/*
 * Starts pvebot with a crash point armed (NULL: none). An armed start
 * waits only until the point is armed: work left from the round before
 * may reach it before the Telegram connector is up.
 */
static void
start(struct t_env *e, const char *crash_at)
{
	if (crash_at != NULL) {
		setenv("PVEBOT_CRASH_AT", crash_at, 1);
		t_env_start(e, "crash point armed", 60000);
	} else
		t_env_start(e, "connector started name=telegram", 60000);
	unsetenv("PVEBOT_CRASH_AT");
}

/* Has the process ended (gone, or a zombie not reaped yet)? */
static int
exited(pid_t pid)
{
	char	 path[64], *stat, *paren;
	int	 gone;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((stat = t_slurp(path)) == NULL)
		return 1;
	paren = strrchr(stat, ')');
	gone = paren == NULL || paren[1] == '\0' || paren[2] == 'Z' ||
	    paren[2] == 'X';
	free(stat);
	return gone;
}

/*
 * Waits until pvebot ended by itself (the armed crash point: it exits
 * at once, so its log says nothing more); 1 if it did.
 */
static int
ended_by_itself(struct t_env *e, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		if (exited(e->proc.pid))
			return 1;
		approve_shown(e);
		sleep_ms(50);
	}
	return 0;
}

static int
final_text(const char *s)
{
	static const char *const words[] = { "succeeded", "failed",
	    "refused", "interrupted", "unknown", "denied", "expired",
	    "cancelled", "nothing was done", "pve1" };
	size_t	 i;

	/* What a job in progress says under its title. */
	if (s == NULL || strstr(s, "\nrunning") != NULL ||
	    strstr(s, "\nqueued") != NULL || strstr(s, "following the task") !=
	    NULL || strstr(s, "\nwaiting") != NULL)
		return 0;
	for (i = 0; i < nitems(words); i++) {
		if (strstr(s, words[i]) != NULL)
			return 1;
	}
	return 0;
}

/*
 * Waits until everything settled (approvals pressed, jobs ended, the
 * outbox sent), then judges the run from the simulator's call log, the
 * database and the fake's chats; prints the counts.
 */
static void
settle_and_judge(struct t_env *e, int kills, int aimed)
{
	int64_t			 ids[MAXCMDS * 2], deadline;
	size_t			 i, n, njobs;
	int			 lost = 0, twice = 0, unreported = 0;
	int			 unseen = 0, busy;
	json_t			*calls;
	char			 sql[256];

	/* Everything settles: approvals pressed, jobs ended, outbox sent. */
	deadline = now_ms() + 120000;
	do {
		approve_shown(e);
		sleep_ms(200);
		busy = (int)t_env_db_int(e, "SELECT count(*) FROM jobs WHERE "
		    "state IN ('resolving', 'awaiting_approval', 'queued', "
		    "'running')", NULL);
		busy += (int)t_env_db_int(e, "SELECT count(*) FROM outbox "
		    "WHERE state = 'pending'", NULL);
	} while (busy > 0 && now_ms() < deadline);
	T_EQ_INT(busy, 0);

	/* Lost or twice, per user. */
	for (i = 0; i < ncmds; i++) {
		char	 who[32];

		snprintf(who, sizeof who, "telegram:%lld", cmds[i].uid);
		snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE "
		    "requester = '%s'", who);
		n = db_ids(e, sql, ids, nitems(ids));
		if (n > 1) {
			printf("  twice: %s has %zu jobs for '%s'\n", who, n,
			    cmds[i].text);
			twice++;
		}
		if (n == 0 && fake_telegram_find(e->tg, cmds[i].uid, "") ==
		    -1) {
			printf("  lost: '%s' of %s\n", cmds[i].text, who);
			lost++;
		}
	}
	/* An action asked of Proxmox more often than jobs could ask it. */
	calls = t_env_sim_calls(e);
	T_OK(json_array_size(calls) < 5000);	/* the log kept them all */
	for (i = 0; i < ncmds; i++) {
		size_t		 asked = 0, may = 0, c;
		json_t		*call;

		if (cmds[i].post == NULL)
			continue;
		json_array_foreach(calls, c, call) {
			const char *m = json_string_value(json_object_get(call,
			    "method"));
			const char *p = json_string_value(json_object_get(call,
			    "path"));
			const char *v = json_string_value(json_object_get(
			    json_object_get(call, "params"), "vmid"));

			if (m == NULL || p == NULL || strcmp(m, "POST") != 0 ||
			    strstr(p, cmds[i].post) == NULL)
				continue;
			/* A backup names its guest in a parameter. */
			if (strcmp(cmds[i].post, "/vzdump") == 0 &&
			    (v == NULL || strcmp(v, cmds[i].text + 7) != 0))
				continue;
			asked++;
		}
		/* The job keeps the canonical line: defaults spelt out. */
		snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE "
		    "(command = '%s' OR command LIKE '%s %%') AND state NOT IN "
		    "('refused', 'denied', 'expired')", cmds[i].text,
		    cmds[i].text);
		may = db_ids(e, sql, ids, nitems(ids));
		if (asked > may) {
			printf("  twice: %s asked %zu times for %zu jobs\n",
			    cmds[i].text, asked, may);
			twice++;
		}
		/* The same command text counts once. */
		for (c = i + 1; c < ncmds; c++) {
			if (strcmp(cmds[c].text, cmds[i].text) == 0)
				cmds[c].post = NULL;
		}
	}
	json_decref(calls);
	/* Every job's message shows how it ended; approvals were shown. */
	njobs = db_ids(e, "SELECT id FROM jobs ORDER BY id", ids,
	    nitems(ids));
	for (i = 0; i < njobs; i++) {
		char		 needle[48], *text = NULL, *requester = NULL;
		long long	 chat, msg;

		snprintf(needle, sizeof needle, "Job #%lld:", (long long)ids[i]);
		snprintf(sql, sizeof sql, "SELECT CAST(substr(requester, 10) "
		    "AS INTEGER) FROM jobs WHERE id = %lld", (long long)ids[i]);
		chat = t_env_db_int(e, sql, NULL);
		msg = fake_telegram_find(e->tg, chat, needle);
		if (msg == -1)
			msg = fake_telegram_find(e->tg, T_GROUP, needle),
			    chat = T_GROUP;
		text = msg != -1 ? fake_telegram_message_text(e->tg, chat,
		    msg) : NULL;
		if (!final_text(text)) {
			snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs "
			    "WHERE id = %lld AND kind = 'read'",
			    (long long)ids[i]);
			/* A read's answer is its listing. */
			if (t_env_db_int(e, sql, NULL) != 1 || text == NULL ||
			    strstr(text, "pve") == NULL) {
				printf("  unreported: job %lld: %s\n",
				    (long long)ids[i], text != NULL ? text :
				    "(no message)");
				unreported++;
			}
		}
		free(text);
		free(requester);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM approvals "
		    "WHERE job_id = %lld", (long long)ids[i]);
		snprintf(needle, sizeof needle, "Approval needed: job #%lld\n",
		    (long long)ids[i]);
		if (t_env_db_int(e, sql, NULL) > 0 &&
		    fake_telegram_find(e->tg, T_GROUP, needle) == -1) {
			printf("  unseen: job %lld was approved without a "
			    "request in the group\n", (long long)ids[i]);
			unseen++;
		}
	}
	printf("  %zu commands, %zu jobs, %d kills (%d aimed): %d lost, "
	    "%d twice, %d unreported, %d approvals unseen\n", ncmds,
	    njobs, kills, aimed, lost, twice, unreported, unseen);
	{
		static const char *const states[] = { "succeeded", "failed",
		    "refused", "interrupted", "unknown", "denied", "expired",
		    "cancelled" };

		printf("  job states:");
		for (i = 0; i < nitems(states); i++) {
			snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs "
			    "WHERE state = '%s'", states[i]);
			printf(" %s %lld", states[i], (long long)t_env_db_int(e,
			    sql, NULL));
		}
		printf("\n");
	}
	T_EQ_INT(lost, 0);
	T_EQ_INT(twice, 0);
	T_EQ_INT(unreported, 0);
	T_EQ_INT(unseen, 0);
}

static void
test_kills_lose_and_repeat_nothing(void)
{
	struct t_env_opts	 o = { .telegram = 1, .task_ms = 300 };
	struct t_env		*e;
	size_t			 i, k = 0;
	int			 round, aimed = 0;

	make_commands(NUSERS);
	e = t_env_new(&o);
	write_people(e);
	start(e, NULL);
	for (round = 0; round < ROUNDS; round++) {
		size_t	 batch = NUSERS / ROUNDS + (round < NUSERS % ROUNDS);
		const char *aim = round == AIM_INTENT ? "step.intent:2" :
		    round == AIM_SNAPSHOT ? "step.snapshot" :
		    round == AIM_SEND ? "send.done:3" : NULL;

		if (aim != NULL) {
			t_env_stop(e, SIGKILL);
			start(e, aim);
		}
		for (i = 0; i < batch && k < NUSERS; i++, k++)
			fake_telegram_inject_message(e->tg, cmds[k].uid,
			    cmds[k].uid, cmds[k].text, 0);
		if (round == AIM_SNAPSHOT)
			fake_telegram_inject_message(e->tg, 1002, 1002,
			    "rollback 101 pre-upgrade", 0);
		if (aim != NULL) {
			/* The process ends at the point, as SIGKILL would. */
			aimed += ended_by_itself(e, 30000);
		} else {
			sleep_ms(200 + (int)(random_u64() % 1300));
			approve_shown(e);
			sleep_ms((int)(random_u64() % 400));
		}
		t_env_stop(e, SIGKILL);
		start(e, NULL);
	}
	T_EQ_INT(aimed, 3);
	settle_and_judge(e, ROUNDS, aimed);
	t_env_free(e);
}

/*
 * Two instances on one PostgreSQL database: alpha (t_env's process) and
 * beta, both running jobs (workers on every instance). Each round a batch
 * of commands arrives, and at a random moment one instance is killed
 * with SIGKILL: the leader in even rounds (the standby must take over
 * within 10 s and adopt the jobs it left running), the standby in odd
 * ones (the leader adopts its jobs); the killed one is started again as
 * the standby.
 */
struct inst {
	const char	*name;
	struct t_proc	*proc;
	char		*argv[5];
};

static void
inst_start(struct t_env *e, struct inst *in, const char *ready)
{
	T_EQ_INT(t_proc_start(in->proc, in->argv, 0), 0);
	if (in->proc == &e->proc)
		e->running = 1;
	if (t_proc_wait_for(in->proc, ready, 60000) != 0)
		t_fail(__FILE__, __LINE__, "%s did not say \"%s\"", in->name,
		    ready);
}

static void
test_leader_kills_lose_and_repeat_nothing(void)
{
	struct t_env_opts	 o = { .telegram = 1, .task_ms = 300,
	    .extra = "instance:\n  name: alpha\n" };
	struct t_env		*e;
	struct t_proc		 beta_proc;
	struct inst		 in[2];
	char			*conf, *confb, needle[64];
	size_t			 i, k = 0;
	int			 round, lead = 0, epoch = 1;
	int64_t			 killed, took, slowest = 0;
	int64_t			 busy[2] = { 0, 0 };	/* standby, leader */

	make_commands(NPAIR);
	e = t_env_new(&o);
	write_people(e);
	conf = t_slurp(e->conf_path);
	confb = t_swap(conf, "name: alpha", "name: beta");
	free(conf);
	conf = xstrdup(t_write("bot-beta.conf", confb, 0600));
	free(confb);
	in[0] = (struct inst){ "alpha", &e->proc, { (char *)t_pvebot(),
	    "run", "-c", e->conf_path, NULL } };
	in[1] = (struct inst){ "beta", &beta_proc, { (char *)t_pvebot(),
	    "run", "-c", conf, NULL } };
	inst_start(e, &in[0], "connector started name=telegram");
	inst_start(e, &in[1], "standby instance=beta");
	for (round = 0; round < PAIR_ROUNDS; round++) {
		size_t	 batch = NPAIR / PAIR_ROUNDS + (round < NPAIR %
		    PAIR_ROUNDS);
		int	 kill_leader = round % 2 == 0;
		struct inst	*dead = &in[kill_leader ? lead : !lead];
		struct inst	*next = &in[kill_leader ? !lead : lead];

		for (i = 0; i < batch && k < ncmds; i++, k++)
			fake_telegram_inject_message(e->tg, cmds[k].uid,
			    cmds[k].uid, cmds[k].text, 0);
		sleep_ms(200 + (int)(random_u64() % 2300));
		approve_shown(e);
		sleep_ms((int)(random_u64() % 400));
		snprintf(needle, sizeof needle, "%s", dead->name);
		busy[kill_leader] += t_env_db_int(e, "SELECT count(*) FROM jobs "
		    "WHERE state = 'running' AND runner = ?1", needle);
		T_EQ_INT(t_proc_stop(dead->proc, SIGKILL, 20000),
		    128 + SIGKILL);
		killed = now_ms();
		if (dead->proc == &e->proc)
			e->running = 0;
		if (kill_leader) {
			epoch++;
			snprintf(needle, sizeof needle, "leader instance=%s "
			    "epoch=%d", next->name, epoch);
			if (t_proc_wait_for(next->proc, needle, 10000) != 0) {
				t_fail(__FILE__, __LINE__, "%s killed: %s did "
				    "not take over within 10 s", dead->name,
				    next->name);
				break;
			}
			took = now_ms() - killed;
			if (took > slowest)
				slowest = took;
			lead = !lead;
		}
		snprintf(needle, sizeof needle, "standby instance=%s",
		    dead->name);
		inst_start(e, dead, needle);
	}
	printf("  note: %d leader kills (%lld jobs running on it), the "
	    "slowest takeover %lld ms; %d standby kills (%lld jobs running "
	    "on it)\n", (PAIR_ROUNDS + 1) / 2, (long long)busy[1],
	    (long long)slowest, PAIR_ROUNDS / 2, (long long)busy[0]);
	printf("  note: jobs run by alpha %lld, by beta %lld\n",
	    (long long)t_env_db_int(e, "SELECT count(*) FROM jobs WHERE "
	    "runner = 'alpha'", NULL), (long long)t_env_db_int(e,
	    "SELECT count(*) FROM jobs WHERE runner = 'beta'", NULL));
	/* The standby kills hit running jobs too (else they test nothing). */
	T_OK(busy[0] > 0);
	settle_and_judge(e, PAIR_ROUNDS, 0);
	t_proc_stop(&beta_proc, SIGTERM, 30000);
	free(conf);
	t_env_free(e);
}

int
main(void)
{
	T_RUN(test_kills_lose_and_repeat_nothing);
	if (t_db_pg())
		T_RUN(test_leader_kills_lose_and_repeat_nothing);
	else
		printf("SKIP test_leader_kills_lose_and_repeat_nothing: "
		    "PostgreSQL only (set PVEBOT_TEST_DB)\n");
	return t_summary();
}
