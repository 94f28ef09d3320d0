/*
 * test_telegram_faults.c - Telegram misbehaving, end to end (issue 12):
 * `pvebot run` as a child process with the fake Bot API and the Proxmox
 * simulator on loopback.
 *
 * - Poison updates (a NUL in the text, a truncated object, a string
 *   update_id) are skipped, each with an audit row that names it; the
 *   updates after them are handled and the offset moves past.
 * - A 10 MB and a 1 MB message: each sender is answered, the next update
 *   is served.
 * - The router held for 60 s (the database locked by another process,
 *   or a Proxmox that hangs on the guest lookup), then pvebot killed: no
 *   update the fake forgot (as Telegram forgets what an offset confirms)
 *   is missing from the database, and after a restart every command is
 *   one job.
 * - A reply hit by a 502, a garbage body, a 429 with retry_after 30 s
 *   four times, or a 45 s hang reaches the chat once the fake recovers,
 *   exactly once.
 * - Telegram down at start (nothing listening, or 502 to getMe): pvebot
 *   runs, serves the console and connects when Telegram comes back.
 *
 * Most of these wait (60 s, 4 x 30 s, 45 s, backoffs), so they run in
 * parallel, each case in a process of its own (t_run_parallel): the
 * binary takes about as long as its longest case, the 429 one (~2 min).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "fakes/fake_telegram.h"
#include "sim.h"
#include "store.h"
#include "t.h"
#include "t_env.h"
#include "util.h"

#define HOLD_MS		60000
#define WHOAMI_BOB	"you are telegram:1002"

static struct t_env *
env_up(int console)
{
	struct t_env_opts	 o = { .telegram = 1, .console = console };
	struct t_env		*e = t_env_new(&o);

	t_env_start(e, "connector started name=telegram", 30000);
	T_EQ_INT(fake_telegram_wait_calls(e->tg, "getUpdates", 1, 30000), 0);
	return e;
}

/* Audit rows of event whose detail names Telegram and update id. */
static int64_t
audit_rows(struct t_env *e, const char *event, long long id)
{
	char	*sql, *like;
	int64_t	 n;

	sql = xasprintf("SELECT count(*) FROM audit WHERE event = '%s' AND "
	    "detail LIKE ?1", event);
	like = xasprintf("%%telegram%%%lld%%", id);
	n = t_env_db_int(e, sql, like);
	free(like);
	free(sql);
	return n;
}

static int64_t
saved_offset(struct t_env *e)
{
	return t_env_db_int(e, "SELECT CAST(value AS INTEGER) FROM offsets "
	    "WHERE key = 'telegram'", NULL);
}

/* Waits until Telegram was told to forget everything up to `id`. */
static int
wait_confirmed(struct t_env *e, long long id, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;

	while (fake_telegram_confirmed(e->tg) <= id && now_ms() < deadline)
		sleep_ms(20);
	return fake_telegram_confirmed(e->tg) > id ? 0 : -1;
}

static int
wait_jobs(struct t_env *e, const char *command, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;

	while (t_env_jobs(e, command) < 1 && now_ms() < deadline)
		sleep_ms(50);
	return t_env_jobs(e, command) >= 1 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Poison updates                                                       */

/* A message from bob as Telegram sends it; %ID% is its update_id. */
#define RAW_BOB_MSG(id, msg_id, text) \
	"{\"update_id\":" id ",\"message\":{\"message_id\":" msg_id "," \
	"\"from\":{\"id\":1002,\"is_bot\":false,\"first_name\":\"Bob\"}," \
	"\"chat\":{\"id\":1002,\"type\":\"private\",\"first_name\":\"Bob\"}," \
	"\"date\":DATE,\"text\":" text

/* The template with DATE replaced by now (commands must not be late). */
static char *
dated(const char *tmpl)
{
	const char	*at = strstr(tmpl, "DATE");
	char		*s;

	s = xasprintf("%.*s%lld%s", (int)(at - tmpl), tmpl,
	    (long long)wall_now(), at + 4);
	return s;
}

static void
test_poison_updates_skipped(void)
{
	struct t_env_opts	 o = { .telegram = 1 };
	struct t_env		*e = t_env_new(&o);
	long long		 u_nul, u_cut, u_str, u_after, u_last;
	char			*t;

	/* One batch, queued before pvebot asks. */
	fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami", 0);
	t = dated(RAW_BOB_MSG("%ID%", "9001",
	    "\"start 101\\u0000; reboot\"}}"));
	u_nul = fake_telegram_inject_raw(e->tg, t);
	free(t);
	t = dated(RAW_BOB_MSG("%ID%", "9002", "\"start 1"));
	u_cut = fake_telegram_inject_raw(e->tg, t);
	free(t);
	t = dated(RAW_BOB_MSG("\"%ID%\"", "9003", "\"start 102\"}}"));
	u_str = fake_telegram_inject_raw(e->tg, t);
	free(t);
	u_after = fake_telegram_inject_message(e->tg, T_BOB, T_BOB,
	    "guest 103", 0);
	u_last = fake_telegram_inject_message(e->tg, T_ALICE, T_ALICE,
	    "whoami", 0);
	t_env_start(e, "connector started name=telegram", 30000);

	/* The updates after the poison are handled. */
	T_OK(t_env_wait_bot(e, T_ALICE, "you are telegram:1001", 60000) != -1);
	T_EQ_INT(wait_jobs(e, "guest 103", 30000), 0);
	T_OK(t_env_wait_bot(e, T_BOB, WHOAMI_BOB, 30000) != -1);
	/* The offset moved past all of them, in the database and at
	 * Telegram. */
	T_EQ_INT(wait_confirmed(e, u_last, 30000), 0);
	T_OK(saved_offset(e) > u_last);
	/* Each skipped update is named by one audit row. */
	T_EQ_INT(audit_rows(e, "chat.skipped", u_nul), 1);
	T_EQ_INT(audit_rows(e, "chat.skipped", u_cut), 1);
	T_EQ_INT(audit_rows(e, "chat.skipped", u_str), 1);
	T_EQ_INT(audit_rows(e, "chat.skipped", u_after), 0);
	/* Bob is told about the two messages of his that were refused. */
	T_OK(t_env_wait_bot(e, T_BOB, "NUL", 10000) != -1);
	T_OK(t_env_wait_bot(e, T_BOB, "could not read", 10000) != -1);
	/* None of the poison ran. */
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE command "
	    "LIKE 'start%'", NULL), 0);
	T_EQ_INT(t_env_sim_count(e, "POST", "/status/start"), 0);
	printf("  note: poison updates %lld %lld %lld skipped; offset now "
	    "%lld\n", u_nul, u_cut, u_str, (long long)saved_offset(e));
	t_env_free(e);
}

/* ------------------------------------------------------------------ */
/* Big messages                                                         */

static char *
text_of(size_t len)
{
	char	*s = xmalloc(len + 1);

	memset(s, 'x', len);
	memcpy(s, "status ", 7);
	s[len] = '\0';
	return s;
}

static void
test_big_messages_answered(void)
{
	struct t_env	*e = env_up(0);
	char		*ten = text_of(10 * 1024 * 1024);
	char		*one = text_of(1024 * 1024);
	long long	 u10, u1, u_next;

	u10 = fake_telegram_inject_message(e->tg, T_BOB, T_BOB, ten, 0);
	u1 = fake_telegram_inject_message(e->tg, T_ALICE, T_ALICE, one, 0);
	u_next = fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami",
	    0);
	free(ten);
	free(one);
	/* Each sender is answered; the next update is served. */
	T_OK(t_env_wait_bot(e, T_BOB, "too large", 60000) != -1);
	T_OK(t_env_wait_bot(e, T_ALICE, "too long", 60000) != -1);
	T_OK(t_env_wait_bot(e, T_BOB, WHOAMI_BOB, 60000) != -1);
	T_EQ_INT(wait_confirmed(e, u_next, 30000), 0);
	T_EQ_INT(audit_rows(e, "chat.skipped", u10), 1);
	T_EQ_INT(audit_rows(e, "chat.skipped", u1), 1);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs", NULL), 0);
	t_env_free(e);
}

/* ------------------------------------------------------------------ */
/* The router held, pvebot killed                                       */

struct cmd {
	long long	 chat, user;
	char		 text[64];	/* as typed */
	char		 command[32];	/* its job's command */
	long long	 update_id;
};

/*
 * Twelve commands that each become a job: four each from alice and bob
 * in private, four from carol in the group.
 */
static void
send_commands(struct t_env *e, struct cmd c[12])
{
	static const char *const commands[12] = { "guest 101", "guest 102",
	    "guest 103", "guest 104", "guest 105", "guest 106", "guest 107",
	    "guest 108", "guest 100", "guest 111", "guest 112", "status" };
	int	 i;

	for (i = 0; i < 12; i++) {
		c[i].user = i < 4 ? T_ALICE : i < 8 ? T_BOB : T_CAROL;
		c[i].chat = c[i].user == T_CAROL ? T_GROUP : c[i].user;
		if (c[i].chat == T_GROUP)
			snprintf(c[i].text, sizeof c[i].text, "/%s",
			    commands[i]);
		else
			snprintf(c[i].text, sizeof c[i].text, "%s",
			    commands[i]);
		snprintf(c[i].command, sizeof c[i].command, "%s",
		    commands[i]);
		c[i].update_id = fake_telegram_inject_message(e->tg,
		    c[i].chat, c[i].user, c[i].text, 0);
	}
}

/*
 * What Telegram forgot must be in the database: the job of each
 * forgotten command. Returns how many were forgotten.
 */
static int
check_forgotten_saved(struct t_env *e, struct cmd c[12], const char *when)
{
	int	 i, forgotten = 0;

	for (i = 0; i < 12; i++) {
		if (!fake_telegram_forgotten(e->tg, c[i].update_id))
			continue;
		forgotten++;
		if (t_env_jobs(e, c[i].command) < 1)
			t_fail(__FILE__, __LINE__, "%s: update %lld (\"%s\") "
			    "was confirmed to Telegram but is not in the "
			    "database", when, c[i].update_id, c[i].text);
	}
	return forgotten;
}

/* Holds the router for HOLD_MS, kills pvebot, restarts it. */
static void
hold_kill_restart(struct t_env *e, struct cmd c[12], struct store *lock)
{
	int64_t	 until = now_ms() + HOLD_MS, deadline;
	int	 i, forgotten;

	send_commands(e, c);
	while (now_ms() < until) {
		check_forgotten_saved(e, c, "while held");
		sleep_ms(250);
	}
	T_EQ_INT(t_env_stop(e, SIGKILL), 128 + SIGKILL);
	forgotten = check_forgotten_saved(e, c, "after the kill");
	printf("  note: after %ds held and a kill, Telegram had forgotten %d "
	    "of 12 updates; %lld jobs saved\n", HOLD_MS / 1000, forgotten,
	    (long long)t_env_db_int(e, "SELECT count(*) FROM jobs", NULL));
	if (lock != NULL) {
		/* Held means held: nothing got through the lock. */
		T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs", NULL), 0);
		store_rollback(lock);
		store_close(lock);
	} else
		t_env_sim_fault(e, "{\"clear\":true}");

	/* Restarted: every command is one job, none lost, none twice. */
	t_env_start(e, "connector started name=telegram", 30000);
	deadline = now_ms() + 60000;
	for (i = 0; i < 12; i++) {
		while (t_env_jobs(e, c[i].command) < 1 && now_ms() < deadline)
			sleep_ms(50);
	}
	T_EQ_INT(wait_confirmed(e, c[11].update_id, 30000), 0);
	for (i = 0; i < 12; i++) {
		if (t_env_jobs(e, c[i].command) != 1)
			t_fail(__FILE__, __LINE__, "\"%s\" became %lld jobs",
			    c[i].text, (long long)t_env_jobs(e, c[i].command));
	}
}

static void
test_router_held_by_locked_database(void)
{
	struct t_env	*e = env_up(0);
	struct cmd	 c[12];
	struct store	*lock;
	char		*cause = NULL;

	/* Someone else writes to the database and keeps it for a minute
	 * (a long manual transaction, a backup tool): on SQLite the write
	 * lock, on PostgreSQL the lock every pvebot write takes. */
	lock = store_open(e->db_path, &cause);
	T_OK(lock != NULL);
	free(cause);
	if (lock == NULL) {
		t_env_free(e);
		return;
	}
	store_set_wait(lock, 20000);
	T_EQ_INT(store_begin(lock), 0);
	hold_kill_restart(e, c, lock);
	t_env_free(e);
}

static void
test_router_held_by_hung_lookup(void)
{
	struct t_env	*e = env_up(0);
	struct cmd	 c[12];

	/* Proxmox hangs: the guest lookups (and the jobs) wait on it. */
	t_env_sim_fault(e, "{\"kind\":\"slow\",\"match\":\"*\","
	    "\"delay_ms\":600000}");
	hold_kill_restart(e, c, NULL);
	t_env_free(e);
}

/* ------------------------------------------------------------------ */
/* Replies that meet a failing Telegram                                 */

enum reply_fault { RF_502, RF_GARBAGE, RF_429, RF_HANG };

static void
reply_survives(enum reply_fault kind)
{
	struct t_env	*e = env_up(0);
	int64_t		 deadline, at, first_at = 0, prev = 0, min_gap = -1;
	int64_t		 hang_end = 0;
	size_t		 n, i;

	switch (kind) {
	case RF_502:
		fake_telegram_fault(e->tg, "sendMessage", FAKE_TG_5XX, 502, 1);
		break;
	case RF_GARBAGE:
		fake_telegram_fault(e->tg, "sendMessage", FAKE_TG_GARBAGE, 0,
		    1);
		break;
	case RF_429:
		fake_telegram_fault(e->tg, "sendMessage", FAKE_TG_429, 30, 4);
		break;
	case RF_HANG:
		hang_end = now_ms() + 45000;
		fake_telegram_hang(e->tg, "sendMessage", 45000);
		break;
	}
	fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami", 0);
	T_OK(t_env_wait_bot(e, T_BOB, WHOAMI_BOB, 200000) != -1);
	/* Nothing left to deliver: no second copy is on its way. */
	deadline = now_ms() + 60000;
	while (t_env_db_int(e, "SELECT count(*) FROM outbox WHERE state = "
	    "'pending'", NULL) != 0 && now_ms() < deadline)
		sleep_ms(50);
	if (t_env_db_int(e, "SELECT count(*) FROM outbox", NULL) < 0)
		sleep_ms(3000);	/* a pvebot without an outbox table */
	T_EQ_INT(fake_telegram_count(e->tg, T_BOB, WHOAMI_BOB), 1);

	/*
	 * The fault did hit the reply (a failed attempt stores nothing),
	 * and the waits were honoured.
	 */
	n = fake_telegram_ncalls(e->tg, "sendMessage");
	for (i = 0; i < n; i++) {
		json_decref(fake_telegram_call(e->tg, "sendMessage", i, &at,
		    NULL));
		if (i == 0)
			first_at = at;
		else if (min_gap < 0 || at - prev < min_gap)
			min_gap = at - prev;
		prev = at;
	}
	printf("  note: %zu attempts, delivered %lldms after the first; "
	    "shortest gap between attempts %lldms\n", n,
	    (long long)(prev - first_at), (long long)min_gap);
	switch (kind) {
	case RF_502:
	case RF_GARBAGE:
		T_EQ_INT(n, 2);
		break;
	case RF_429:
		T_EQ_INT(n, 5);
		T_OK(min_gap >= 29900);
		break;
	case RF_HANG:
		/* Calls during the hang were held, not handled. */
		T_OK(n >= 2);
		T_OK(prev >= hang_end);
		break;
	}
	t_env_free(e);
}

static void
test_reply_after_502(void)
{
	reply_survives(RF_502);
}

static void
test_reply_after_garbage(void)
{
	reply_survives(RF_GARBAGE);
}

static void
test_reply_after_429_four_times(void)
{
	reply_survives(RF_429);
}

static void
test_reply_after_45s_hang(void)
{
	reply_survives(RF_HANG);
}

/* ------------------------------------------------------------------ */
/* Telegram down at start                                               */

static void
console_answers(struct t_env *e)
{
	size_t	 from = t_env_output_size(e);

	t_env_type(e, "whoami");
	T_OK(t_env_wait_output(e, from, "you are console:bob", 20000, NULL) >=
	    0);
}

static void
test_telegram_unreachable_at_start(void)
{
	struct t_env_opts	 o = { .telegram = 1, .no_fake = 1,
	    .console = 1 };
	struct t_env		*e = t_env_new(&o);

	/* Nothing listens where Telegram should be. */
	t_env_start(e, "connector started name=telegram", 30000);
	console_answers(e);
	T_OK(t_proc_wait_for(&e->proc, "connecting in the background",
	    10000) == 0 || t_proc_wait_for(&e->proc, "cannot reach Telegram",
	    10000) == 0);
	console_answers(e);
	/* Telegram comes back. */
	if (t_env_start_fake(e) == 0) {
		fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami", 0);
		T_OK(t_env_wait_bot(e, T_BOB, WHOAMI_BOB, 90000) != -1);
	}
	console_answers(e);
	t_env_free(e);
}

static void
test_telegram_502_at_start(void)
{
	struct t_env_opts	 o = { .telegram = 1, .console = 1 };
	struct t_env		*e = t_env_new(&o);

	/* Telegram answers 502 to the first three getMe. */
	fake_telegram_fault(e->tg, "getMe", FAKE_TG_5XX, 502, 3);
	t_env_start(e, "connector started name=telegram", 30000);
	console_answers(e);
	fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami", 0);
	T_OK(t_env_wait_bot(e, T_BOB, WHOAMI_BOB, 90000) != -1);
	T_OK(fake_telegram_ncalls(e->tg, "getMe") >= 4);
	console_answers(e);
	t_env_free(e);
}

/* Runs every case, or with arguments those whose name has one of them. */
int
main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T_CASE(test_poison_updates_skipped),
		T_CASE(test_big_messages_answered),
		T_CASE(test_router_held_by_locked_database),
		T_CASE(test_router_held_by_hung_lookup),
		T_CASE(test_reply_after_502),
		T_CASE(test_reply_after_garbage),
		T_CASE(test_reply_after_429_four_times),
		T_CASE(test_reply_after_45s_hang),
		T_CASE(test_telegram_unreachable_at_start),
		T_CASE(test_telegram_502_at_start),
	};

	struct t_case	 chosen[nitems(cases)];
	size_t		 i, n = 0;
	int		 a;

	for (i = 0; i < nitems(cases); i++) {
		for (a = 1; a < argc; a++) {
			if (strstr(cases[i].name, argv[a]) != NULL)
				break;
		}
		if (argc == 1 || a < argc)
			chosen[n++] = cases[i];
	}
	t_run_parallel(chosen, n, 280000);
	return t_summary();
}
