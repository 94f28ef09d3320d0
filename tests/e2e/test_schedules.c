/*
 * test_schedules.c - issue 20's schedules with `pvebot run` on the
 * console and the Proxmox simulator, the scheduler's clock moved with
 * PVEBOT_SCHEDULE_NOW (the rest of pvebot keeps the real time):
 *
 *   - a schedule fires once at its time as schedule:NAME, and the policy
 *     judges it: one allowed, one needing approval, one refused;
 *   - a restart within that minute does not run it again;
 *   - a run missed while pvebot was down is run once (missed: run) or
 *     skipped with a message (missed: skip);
 *   - `schedules` lists them, the digest shows the last day's runs.
 */
#include <sys/stat.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "sim.h"
#include "t.h"
#include "t_env.h"
#include "t_sim.h"
#include "util.h"

/* UNIX time of a UTC date. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static int
count_jobs(const char *db, const char *where)
{
	char	*sql = xasprintf("SELECT count(*) FROM jobs WHERE %s", where);
	int64_t	 n = -1;

	if (t_db_ints(db, sql, NULL, NULL, &n, 1) != 1)
		n = -1;
	free(sql);
	return (int)n;
}

/* Waits until `where` counts n jobs; 1 when it did. */
static int
wait_jobs(struct t_sim *e, const char *where, int n, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;

	for (;;) {
		if (count_jobs(e->db, where) == n)
			return 1;
		if (now_ms() > end)
			return 0;
		sleep_ms(50);
	}
}

/* pvebot with the scheduler's clock at `fake` (UNIX seconds). */
static void
start_at(struct t_sim *e, struct t_proc *p, int64_t fake)
{
	char	*v = xasprintf("%" PRId64, fake);

	setenv("PVEBOT_SCHEDULE_NOW", v, 1);
	free(v);
	t_sim_daemon(e, p);
	unsetenv("PVEBOT_SCHEDULE_NOW");
}

/* The identities the schedules act as, with roles. */
static void
write_schedule_users(struct t_sim *e)
{
	char	*path = xasprintf("%s/schedule-users.yaml", e->pols);

	t_write(path,
	    "users:\n"
	    "  start-web:\n"
	    "    identities: [schedule:start-web]\n"
	    "    roles: [operator]\n"
	    "  backup-db:\n"
	    "    identities: [schedule:backup-db]\n"
	    "    roles: [operator]\n"
	    "  stop-self:\n"
	    "    identities: [schedule:stop-self]\n"
	    "    roles: [operator]\n"
	    "  marker:\n"
	    "    identities: [schedule:marker]\n"
	    "    roles: [operator]\n", 0600);
	free(path);
}

/* Friday 2026-12-04 10:00 UTC. */
#define FRI_10	utc(2026, 12, 4, 10, 0, 0)

static void
test_fires_once_judged_by_policy_not_twice_after_restart(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *who;

	t_sim_start(&e, 200, T_SIM_SCHEDULES, NULL, NULL);
	write_schedule_users(&e);
	t_write(e.sched,
	    "schedules:\n"
	    "  - name: start-web\n"
	    "    on: \"mon..fri 10:00\"\n"
	    "    command: start 101\n"
	    "    room: console:console\n"
	    "  - name: backup-db\n"
	    "    on: \"fri 10:00\"\n"
	    "    command: backup 102\n"
	    "    room: console:console\n"
	    "  - name: stop-self\n"
	    "    on: \"fri 10:00\"\n"
	    "    command: stop 100\n"
	    "    room: console:console\n"
	    "  - name: marker\n"
	    "    on: \"fri 10:01\"\n"
	    "    command: snapshot 101 marker\n"
	    "    room: console:console\n", 0600);
	/* Three seconds before its time. */
	start_at(&e, &p, FRI_10 - 3);
	T_OK(wait_jobs(&e, "command = 'start 101' AND state = 'succeeded'",
	    1, 20000));
	T_OK(wait_jobs(&e, "command LIKE 'backup 102%' AND state = "
	    "'awaiting_approval'", 1, 20000));
	T_EQ_INT(t_proc_wait_for(&p, "Refused (self-protection)", 15000), 0);
	/* An admin approves the scheduled backup like any request. */
	t_type(&p, "/as alice\napprove 2\n");
	T_OK(wait_jobs(&e, "command LIKE 'backup 102%' AND state = "
	    "'succeeded'", 1, 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	who = t_job_text(e.db, 1, "requester");
	T_EQ_STR(who, "schedule:start-web");
	free(who);
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/qemu/100/status/stop"), 0);
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/lxc/100/status/stop"), 0);
	free(out);

	/* Started again within that minute: 10:00 is not run again; the
	 * marker at 10:01 shows the scheduler did turn. */
	start_at(&e, &p, FRI_10 + 58);
	T_OK(wait_jobs(&e, "command = 'snapshot 101 marker'", 1, 20000));
	T_OK(wait_jobs(&e, "command = 'snapshot 101 marker' AND state = "
	    "'succeeded'", 1, 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	T_EQ_INT(count_jobs(e.db, "command = 'start 101'"), 1);
	T_EQ_INT(count_jobs(e.db, "command LIKE 'backup 102%'"), 1);
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	t_sim_stop(&e);
}

static void
test_missed_runs_caught_up_or_skipped(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out;

	t_sim_start(&e, 200, T_SIM_SCHEDULES, NULL, NULL);
	write_schedule_users(&e);
	t_write(e.sched,
	    "schedules:\n"
	    "  - name: start-web\n"
	    "    on: \"fri 10:00\"\n"
	    "    command: start 101\n"
	    "    room: console:console\n"
	    "    missed: run\n"
	    "  - name: backup-db\n"
	    "    on: \"fri 10:00\"\n"
	    "    command: backup 102\n"
	    "    room: console:console\n"
	    "    missed: skip\n", 0600);
	/* pvebot knows the schedules on Thursday, then is down. */
	start_at(&e, &p, FRI_10 - 86400);
	T_EQ_INT(t_proc_wait_for(&p, "schedule started schedules=2", 15000),
	    0);
	t_proc_stop(&p, SIGTERM, 10000);
	/* Back on Friday at 10:20: one catch-up, one skip said. */
	start_at(&e, &p, FRI_10 + 20 * 60);
	T_EQ_INT(t_proc_wait_for(&p, "is skipped (missed: skip)", 15000), 0);
	T_OK(wait_jobs(&e, "command = 'start 101' AND state = 'succeeded'",
	    1, 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "schedule start-web: the run of Fri 2026-12-04 10:00 "
	    "was missed while pvebot was down; running it once now: start "
	    "101");
	T_CONTAINS(out, "schedule backup-db: the run of Fri 2026-12-04 10:00 "
	    "(backup 102) was missed while pvebot was down and is skipped");
	free(out);
	T_EQ_INT(count_jobs(e.db, "command LIKE 'backup 102%'"), 0);

	/* Started again: neither is done or said a second time. */
	start_at(&e, &p, FRI_10 + 21 * 60);
	T_EQ_INT(t_proc_wait_for(&p, "schedule started schedules=2", 15000),
	    0);
	t_type(&p, "schedules\n");
	T_EQ_INT(t_proc_wait_for(&p, "last Fri 2026-12-04 10:00", 15000), 0);
	/* The digest lists the last day's scheduled runs. */
	t_type(&p, "digest\n");
	T_EQ_INT(t_proc_wait_for(&p, "Scheduled runs 24h:", 15000), 0);
	T_EQ_INT(t_proc_wait_for(&p, "  start-web: start 101 (succeeded)",
	    15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_NOT_CONTAINS(out, "missed while pvebot was down");
	T_CONTAINS(out, "start-web  [fri 10:00]  start 101");
	free(out);
	T_EQ_INT(count_jobs(e.db, "command = 'start 101'"), 1);
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	t_sim_stop(&e);
}

/*
 * A scheduled snapshot named with {time}: the run's minute names it, so
 * each run takes a new auto-* snapshot (what snapshot retention cleans
 * up).
 */
static void
test_scheduled_snapshot_named_by_time(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*path;

	t_sim_start(&e, 200, T_SIM_SCHEDULES, NULL, NULL);
	path = xasprintf("%s/snap-users.yaml", e.pols);
	t_write(path,
	    "users:\n"
	    "  snap-web:\n"
	    "    identities: [schedule:snap-web]\n"
	    "    roles: [operator]\n", 0600);
	free(path);
	t_write(e.sched,
	    "schedules:\n"
	    "  - name: snap-web\n"
	    "    on: \"fri 10:00\"\n"
	    "    command: snapshot 101 auto-{time}\n"
	    "    room: console:console\n", 0600);
	start_at(&e, &p, FRI_10 - 3);
	T_OK(wait_jobs(&e, "command = 'snapshot 101 auto-20261204-1000' AND "
	    "state = 'succeeded' AND requester = 'schedule:snap-web'", 1,
	    20000));
	t_proc_stop(&p, SIGTERM, 10000);
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/qemu/101/snapshot"), 1);
	t_sim_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_fires_once_judged_by_policy_not_twice_after_restart);
	T_RUN(test_missed_runs_caught_up_or_skipped);
	T_RUN(test_scheduled_snapshot_named_by_time);
	curl_global_cleanup();
	return t_summary();
}
