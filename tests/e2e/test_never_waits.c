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
 * When the fake received the first successful sendMessage to chat whose
 * text contains needle, among the calls from the from-th on; -1 if none.
 */
static int64_t
sent_at_from(struct t_env *e, long long chat, const char *needle,
    size_t from)
{
	size_t	 n = fake_telegram_ncalls(e->tg, "sendMessage"), i;
	int64_t	 found = -1;

	for (i = from; i < n && found < 0; i++) {
		json_t		*p;
		const char	*html;
		char		*plain = NULL, *err = NULL;
		size_t		 units;
		int64_t		 at = 0;
		int		 status = 0;

		p = fake_telegram_call(e->tg, "sendMessage", i, &at, &status);
		html = json_string_value(json_object_get(p, "text"));
		if (status == 200 && html != NULL &&
		    json_integer_value(json_object_get(p, "chat_id")) ==
		    chat && fake_telegram_parse_html(html, &plain, &units,
		    &err) == 0 && strstr(plain, needle) != NULL)
			found = at;
		free(plain);
		free(err);
		json_decref(p);
	}
	return found;
}

/* The private chat pace of docs/telegram.md. */
#define TG_PRIVATE_PACE_MS	1000

/* When the fake received the last successful sendMessage to chat; -1. */
static int64_t
last_sent_at(struct t_env *e, long long chat)
{
	size_t	 n = fake_telegram_ncalls(e->tg, "sendMessage"), i;
	int64_t	 last = -1;

	for (i = 0; i < n; i++) {
		json_t	*p;
		int64_t	 at = 0;
		int	 status = 0;

		p = fake_telegram_call(e->tg, "sendMessage", i, &at, &status);
		if (status == 200 && json_integer_value(json_object_get(p,
		    "chat_id")) == chat)
			last = at;
		json_decref(p);
	}
	return last;
}

/*
 * bob's `whoami` on the console and on Telegram at once; *console_ms and
 * *tg_ms get how long each took (-1: no answer within a minute). The
 * console: from the line typed to the answer printed. Telegram: from the
 * message sent to the reply received, which holds its arrival at pvebot
 * (the update served by getUpdates) too: a poller that does not ask
 * while the router is stuck does not get to hide the wait.
 */
static void
whoami_both(struct t_env *e, int try, int64_t *console_ms, int64_t *tg_ms)
{
	size_t		 from = t_env_output_size(e);
	size_t		 calls = fake_telegram_ncalls(e->tg, "sendMessage");
	int64_t		 t0, at, sent, deadline;
	long long	 uid;

	*console_ms = *tg_ms = -1;
	/*
	 * Another try: bob's private chat is paced (one message a second,
	 * docs/telegram.md), so the try starts once its last answer is a
	 * second old; what remains is pvebot's own time.
	 */
	if ((at = last_sent_at(e, T_BOB)) >= 0) {
		while (now_ms() < at + TG_PRIVATE_PACE_MS)
			sleep_ms(5);
	}
	t0 = now_ms();
	t_env_type(e, "whoami");
	sent = now_ms();
	uid = fake_telegram_inject_message(e->tg, T_BOB, T_BOB, "whoami", 0);
	at = t_env_wait_output(e, from, "you are console:bob", 60000, NULL);
	if (at >= 0)
		*console_ms = at - t0;
	deadline = now_ms() + 60000;
	while ((at = sent_at_from(e, T_BOB, "you are telegram:1002",
	    calls)) < 0 && now_ms() < deadline)
		sleep_ms(1);
	if (at >= 0)
		*tg_ms = at - sent;
	printf("  note: try %d: whoami answered in %lldms on the console, "
	    "%lldms on Telegram (%lldms from its arrival at pvebot)\n", try,
	    (long long)*console_ms, (long long)*tg_ms,
	    (long long)(at - fake_telegram_delivered_at(e->tg, uid)));
}

/*
 * alice's `start 101` meets a Proxmox that answers after delay_ms; once
 * it waits on Proxmox, bob asks `whoami` on the console and on Telegram:
 * both answered within 100 ms.
 *
 * What is measured is pvebot plus the machine's scheduling: on a loaded
 * machine (2 cores, other test suites) a wake-up alone can take more
 * than 100 ms. So bob asks up to three times, still while the start
 * waits: every answer must come within a second (a router that waits on
 * Proxmox takes the whole delay, 3 s or more), and one try must have
 * both answers within 100 ms.
 */
static void
whoami_while_start_waits(int delay_ms)
{
	struct t_env	*e = env_up(400);
	char		 fault[160];
	int64_t		 console_ms, tg_ms, deadline;
	int		 try, fast = 0;

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

	for (try = 1; try <= 3 && !fast; try++) {
		whoami_both(e, try, &console_ms, &tg_ms);
		T_OK(console_ms >= 0 && console_ms < 1000);
		T_OK(tg_ms >= 0 && tg_ms < 1000);
		if (console_ms < 0 || console_ms >= 1000 || tg_ms < 0 ||
		    tg_ms >= 1000)
			break;
		fast = console_ms < 100 && tg_ms < 100;
	}
	T_OK(fast);
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
 * How long pvebot waited on Proxmox while job `id` ran: the ms=N of its
 * exec_proxmox log lines from "job=ID command=" to "job=ID state=" (the
 * other job's calls in that time too). On a loaded machine the simulator
 * answers slowly, and that time is the job's.
 */
static int64_t
proxmox_wait_ms(struct t_env *e, long long id)
{
	char		*log = t_proc_output(&e->proc), *from, *to, *p;
	char		 start[64], end[64], num[16];
	const char	*errstr;
	int64_t		 total = 0;
	size_t		 n;

	snprintf(start, sizeof start, "part=worker job=%lld command=", id);
	snprintf(end, sizeof end, "part=worker job=%lld state=", id);
	if (log == NULL || (from = strstr(log, start)) == NULL ||
	    (to = strstr(from, end)) == NULL) {
		free(log);
		return -1;
	}
	*to = '\0';
	for (p = from; (p = strstr(p, "part=exec_proxmox ")) != NULL; p++) {
		char	*eol = strchr(p, '\n'), *ms;

		if (eol != NULL)
			*eol = '\0';
		if ((ms = strstr(p, " ms=")) != NULL) {
			ms += strlen(" ms=");
			n = strspn(ms, "0123456789");
			if (n > 0 && n < sizeof num) {
				memcpy(num, ms, n);
				num[n] = '\0';
				total += strtonum(num, 0, 10000000, &errstr);
			}
		}
		if (eol == NULL)
			break;
		p = eol;
	}
	free(log);
	return total;
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
	int64_t		 first, job[2], waited;
	long long	 id;
	char		*text, *p, cmd[64];
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
		id = -1;
		if (text != NULL && (p = strstr(text, "Job #")) != NULL)
			id = strtoll(p + strlen("Job #"), NULL, 10);
		waited = proxmox_wait_ms(e, id);
		job[i] = t_env_sent_at(e, T_GROUP, "sendMessage",
		    commands[i]);
		printf("  note: \"%s\" message sent %lldms after the previous "
		    "reply; reported \"succeeded in %ds\" for a 1s task "
		    "(%lldms waiting on Proxmox)\n", commands[i],
		    (long long)(job[i] - first), secs, (long long)waited);
		/*
		 * The job's time is the task's (1 s) and the time spent
		 * waiting on Proxmox's answers, rounded, with a second for
		 * the polling: never the wait for the group's pace.
		 */
		T_OK(waited >= 0);
		T_OK(secs >= 0 && secs <= (1000 + waited) / 1000 + 1);
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
