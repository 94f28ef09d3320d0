/*
 * test_never_waits.c - one slow part does not stall everyone (issue 12):
 * `pvebot run` with the console and the fake Telegram, against the
 * Proxmox simulator.
 *
 * - While a `start` waits on a slow or hung Proxmox, another person's
 *   `whoami` is answered within 100 ms, on the console and on Telegram
 *   (from the message's arrival at pvebot to the reply's arrival).
 * - A stranger's 20 messages in a paced group do not delay a known
 *   person's private `whoami` by more than a second.
 * - Group replies that wait 3 s and 6 s for pacing add nothing to the
 *   job durations pvebot reports ("succeeded in Ns" is the task's time).
 *
 * The latency cases run one at a time (not in parallel) so what they
 * measure is pvebot, not the other tests.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/fake_telegram.h"
#include "sim.h"
#include "t.h"
#include "t_env.h"
#include "util.h"

#define STRANGER	4242

static struct t_env *
env_up(int task_ms)
{
	struct t_env_opts	 o = { .telegram = 1, .console = 1,
	    .task_ms = task_ms };
	struct t_env		*e = t_env_new(&o);

	t_env_start(e, "connector started name=telegram", 30000);
	/* Connected: Telegram is polled. The console answers. */
	T_EQ_INT(fake_telegram_wait_calls(e->tg, "getUpdates", 1, 20000), 0);
	t_env_type(e, "whoami");
	T_OK(t_env_wait_output(e, 0, "you are console:bob", 20000, NULL) >=
	    0);
	return e;
}

/* A call the simulator received since its log was cleared, or 0. */
static int
sim_has_calls(struct t_env *e)
{
	json_t	*calls = t_env_sim_calls(e);
	int	 n = (int)json_array_size(calls);

	json_decref(calls);
	return n;
}

/*
 * alice's `start 101` meets a Proxmox that answers after delay_ms; once
 * it waits on Proxmox, bob asks `whoami` on the console and on Telegram.
 */
static void
whoami_while_start_waits(int delay_ms)
{
	struct t_env	*e = env_up(400);
	char		 fault[160];
	long long	 uid;
	int64_t		 t0, at, sent, console_ms = -1, tg_ms = -1, deadline;
	size_t		 from;

	snprintf(fault, sizeof fault, "{\"kind\":\"slow\",\"match\":\"*\","
	    "\"delay_ms\":%d}", delay_ms);
	t_env_sim_fault(e, fault);
	t_env_sim_forget_calls(e);
	fake_telegram_inject_message(e->tg, T_ALICE, T_ALICE, "start 101", 0);
	/* The start is on its way to Proxmox and waits there. */
	deadline = now_ms() + 20000;
	while (!sim_has_calls(e) && now_ms() < deadline)
		sleep_ms(10);
	T_OK(sim_has_calls(e));

	/*
	 * Both at once. The console: from the line typed to the answer
	 * printed. Telegram: from the message sent to the reply received,
	 * which holds its arrival at pvebot (the update served by
	 * getUpdates) too: a poller that does not ask while the router is
	 * stuck does not get to hide the wait.
	 */
	from = t_env_output_size(e);
	t0 = now_ms();
	t_env_type(e, "whoami");
	sent = now_ms();
	uid = fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami", 0);
	at = t_env_wait_output(e, from, "you are console:bob", 60000, NULL);
	T_OK(at >= 0);
	if (at >= 0)
		console_ms = at - t0;
	T_OK(t_env_wait_bot(e, T_BOB, "you are telegram:1002", 60000) != -1);
	at = t_env_sent_at(e, T_BOB, "sendMessage", "you are telegram:1002");
	t0 = fake_telegram_delivered_at(e->tg, uid);
	T_OK(at >= 0 && t0 >= 0);
	if (at >= 0 && t0 >= 0)
		tg_ms = at - sent;

	printf("  note: Proxmox delay %dms: whoami answered in %lldms on the "
	    "console, %lldms on Telegram (%lldms from its arrival at "
	    "pvebot)\n", delay_ms, (long long)console_ms, (long long)tg_ms,
	    (long long)(at - t0));
	T_OK(console_ms >= 0 && console_ms < 100);
	T_OK(tg_ms >= 0 && tg_ms < 100);
	/* The start was still waiting on Proxmox meanwhile. */
	T_EQ_INT(fake_telegram_find(e->tg, T_ALICE, "succeeded"), -1);

	/* A hung Proxmox goes away first, so pvebot stops at once. */
	sim_stop(e->sim);
	e->sim = NULL;
	t_env_free(e);
}

static void
test_whoami_while_start_waits_on_slow_proxmox(void)
{
	whoami_while_start_waits(3000);
}

static void
test_whoami_while_start_waits_on_hung_proxmox(void)
{
	whoami_while_start_waits(600000);
}

/* Chat sends not yet delivered; -1 without an outbox. */
static int64_t
undelivered(struct t_env *e)
{
	return t_env_db_int(e, "SELECT count(*) FROM outbox WHERE state = "
	    "'pending'", NULL);
}

static void
test_stranger_in_paced_group_does_not_delay_others(void)
{
	struct t_env	*e = env_up(400);
	long long	 uid;
	int64_t		 sent, served, answered, deadline, pending;
	int		 i;

	for (i = 0; i < 20; i++)
		fake_telegram_inject_message(e->tg, T_GROUP, STRANGER,
		    "/status@" T_TG_BOT, 0);
	sent = now_ms();
	uid = fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami", 0);
	T_OK(t_env_wait_bot(e, T_BOB, "you are telegram:1002", 90000) != -1);
	answered = t_env_sent_at(e, T_BOB, "sendMessage",
	    "you are telegram:1002");
	served = fake_telegram_delivered_at(e->tg, uid);
	printf("  note: private whoami after 20 stranger messages answered in "
	    "%lldms (%lldms from its arrival at pvebot)\n",
	    (long long)(answered - sent), (long long)(answered - served));
	T_OK(served >= sent && answered >= served);
	T_OK(answered - sent < 1000);
	/*
	 * The stranger got at most one answer in the group for the whole
	 * burst: wait until pvebot has handled all 21 updates, then count.
	 */
	deadline = now_ms() + 90000;
	while (fake_telegram_confirmed(e->tg) <= uid && now_ms() < deadline)
		sleep_ms(20);
	T_OK(fake_telegram_confirmed(e->tg) > uid);
	/*
	 * Their answers were written with them: once the outbox holds
	 * nothing to deliver, every answer there will be has been sent
	 * (-1: no outbox, a pvebot that sends as it goes).
	 */
	while ((pending = undelivered(e)) > 0 && now_ms() < deadline)
		sleep_ms(20);
	T_OK(pending <= 0);
	printf("  note: answers to the stranger in the group: %zu\n",
	    fake_telegram_ncalls(e->tg, "sendMessage") - 1);
	T_OK(fake_telegram_ncalls(e->tg, "sendMessage") <= 2);
	T_EQ_INT(t_env_jobs(e, "status"), 0);
	t_env_free(e);
}

/* N from "succeeded in Ns" in text; -1 when absent. */
static int
succeeded_seconds(const char *text)
{
	const char	*p = text != NULL ? strstr(text, "succeeded in ") :
			    NULL;
	const char	*errstr;
	char		 num[16];
	size_t		 n;

	if (p == NULL)
		return -1;
	p += strlen("succeeded in ");
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof num || p[n] != 's')
		return -1;
	memcpy(num, p, n);
	num[n] = '\0';
	return (int)strtonum(num, 0, 100000, &errstr);
}

/*
 * The text of the newest group message about `command` once it says
 * "succeeded"; NULL after timeout_ms. Caller frees.
 */
static char *
wait_succeeded(struct t_env *e, const char *command, int timeout_ms)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	long long	 id;
	char		*text;

	do {
		id = fake_telegram_find(e->tg, T_GROUP, command);
		text = id != -1 ? fake_telegram_message_text(e->tg, T_GROUP,
		    id) : NULL;
		if (text != NULL && strstr(text, "succeeded") != NULL)
			return text;
		free(text);
		sleep_ms(20);
	} while (now_ms() < deadline);
	return NULL;
}

static void
test_group_pacing_not_in_job_duration(void)
{
	static const char *const commands[2] = { "start 101", "start 104" };
	struct t_env	*e = env_up(1000);
	int64_t		 first, job[2];
	char		*text, cmd[64];
	int		 i, secs;

	/*
	 * A reply in the group, then two jobs at once: their messages wait
	 * 3 s and 6 s for the group's pace, while each task takes 1 s.
	 */
	fake_telegram_inject_message(e->tg, T_GROUP, T_BOB,
	    "/whoami@" T_TG_BOT, 0);
	T_OK(t_env_wait_bot(e, T_GROUP, "you are telegram:1002", 20000) !=
	    -1);
	for (i = 0; i < 2; i++) {
		/* "/start@bot 101", as Telegram clients write it */
		snprintf(cmd, sizeof cmd, "/start@%s %s", T_TG_BOT,
		    commands[i] + strlen("start "));
		fake_telegram_inject_message(e->tg, T_GROUP, T_BOB, cmd, 0);
	}
	first = t_env_sent_at(e, T_GROUP, "sendMessage",
	    "you are telegram:1002");
	for (i = 0; i < 2; i++) {
		text = wait_succeeded(e, commands[i], 60000);
		T_OK(text != NULL);
		secs = succeeded_seconds(text);
		job[i] = t_env_sent_at(e, T_GROUP, "sendMessage",
		    commands[i]);
		printf("  note: \"%s\" message sent %lldms after the previous "
		    "reply; reported \"succeeded in %ds\" for a 1s task\n",
		    commands[i], (long long)(job[i] - first), secs);
		/* The job's time is the task's, not the wait for the pace. */
		T_OK(secs >= 0 && secs <= 2);
		free(text);
	}
	/* The jobs' messages did wait for the group's pace: 3 s, then 6 s. */
	T_OK(first >= 0 && job[0] >= 0 && job[1] >= 0);
	T_OK((job[0] < job[1] ? job[0] : job[1]) - first >= 2900);
	T_OK((job[0] > job[1] ? job[0] : job[1]) - first >= 5900);
	t_env_free(e);
}

int
main(void)
{
	T_RUN(test_whoami_while_start_waits_on_slow_proxmox);
	T_RUN(test_whoami_while_start_waits_on_hung_proxmox);
	T_RUN(test_stranger_in_paced_group_does_not_delay_others);
	T_RUN(test_group_pacing_not_in_job_duration);
	return t_summary();
}
