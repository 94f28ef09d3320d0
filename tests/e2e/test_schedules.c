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
#include <sqlite3.h>

#include "sim.h"
#include "t.h"
#include "util.h"

struct env {
	struct sim	*sim;
	char		*conf;
	char		*db;
	char		*pols;
	char		*sched;
};

static const char *conf_template =
    "database: %s\n"
    "commands: %s/commands\n"
    "policies: %s\n"
    "schedules: %s\n"
    "chat:\n"
    "  console: {user: bob}\n"
    "  rate_limit: {user_burst: 100, per_user: 100}\n"
    "proxmox:\n"
    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
    "  token_id: pvebot@pve!bot\n"
    "  secret_env: T_PVE_SECRET\n"
    "  fingerprint: \"%s\"\n"
    "  task_poll_ms: 100\n"

    "workers: {count: 2, edit_interval: 0s}\n"
    "monitor: {enabled: false}\n";

static void
env_start(struct env *e, int task_ms)
{
	struct sim_opts	 so = { .tls = 1, .token_id = "pvebot@pve!bot",
	    .secret = "0b5c4f52-6d0a-4c4e-9b0e-3d2f3a9d7c11", .task_ms = task_ms };
	char		*cause = NULL, *text, cwd[512], *cmd;

	setenv("T_PVE_SECRET", so.secret, 1);
	memset(e, 0, sizeof *e);
	if ((e->sim = sim_start(&so, &cause)) == NULL) {
		printf("sim_start: %s\n", cause);
		abort();
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	/* The default policy, in a folder the test may change. */
	e->pols = t_path("pols");
	cmd = xasprintf("mkdir -p %s && cp %s/policies/*.yaml %s/", e->pols,
	    cwd, e->pols);
	if (system(cmd) != 0)
		abort();
	free(cmd);
	e->db = t_path("pvebot.db");
	e->sched = t_path("schedules.yaml");
	text = xasprintf(conf_template, e->db, cwd, e->pols, e->sched,
	    sim_port(e->sim), sim_fingerprint(e->sim));
	e->conf = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
}

static void
env_stop(struct env *e)
{
	sim_stop(e->sim);
	free(e->conf);
	free(e->db);
	free(e->pols);
	free(e->sched);
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}


/* Calls the simulator received whose method and path glob match. */
static int
count_calls(struct env *e, const char *method, const char *path_glob)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(e->sim),
	    strlen(sim_cert_pem(e->sim)), CURL_BLOB_COPY };
	struct buf		 b;
	char			*url;
	json_t			*calls, *v;
	size_t			 i;
	int			 n = 0;

	buf_init(&b, 16 << 20);
	buf_append(&b, "", 0);
	url = xasprintf("https://127.0.0.1:%d/_sim/calls", sim_port(e->sim));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	free(url);
	calls = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	json_array_foreach(calls, i, v) {
		const char	*m = json_string_value(json_object_get(v,
		    "method"));
		const char	*p = json_string_value(json_object_get(v,
		    "path"));

		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    glob_match(path_glob, p))
			n++;
	}
	json_decref(calls);
	return n;
}

static char *
job_text(const char *db, int id, const char *col)
{
	sqlite3		*h;
	sqlite3_stmt	*st;
	char		*sql = xasprintf("SELECT %s FROM jobs WHERE id = %d", col,
	    id), *v = NULL;

	if (sqlite3_open(db, &h) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_text(st, 0) != NULL)
			v = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	free(sql);
	return v;
}

static void
type(struct t_proc *p, const char *line)
{
	size_t	 len = strlen(line);

	T_OK(write(p->in_fd, line, len) == (ssize_t)len);
}

/* pvebot running on the console, for a conversation over time. */
static void
start_daemon(struct env *e, struct t_proc *p)
{
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", e->conf, NULL };

	t_proc_start(p, argv, 1);
	T_EQ_INT(t_proc_wait_for(p, "connector started", 15000), 0);
}


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
	sqlite3		*h;
	sqlite3_stmt	*st;
	char		*sql = xasprintf("SELECT count(*) FROM jobs WHERE %s",
	    where);
	int		 n = -1;

	if (sqlite3_open(db, &h) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	free(sql);
	return n;
}

/* Waits until `where` counts n jobs; 1 when it did. */
static int
wait_jobs(struct env *e, const char *where, int n, int timeout_ms)
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
start_at(struct env *e, struct t_proc *p, int64_t fake)
{
	char	*v = xasprintf("%" PRId64, fake);

	setenv("PVEBOT_SCHEDULE_NOW", v, 1);
	free(v);
	start_daemon(e, p);
	unsetenv("PVEBOT_SCHEDULE_NOW");
}

/* The identities the schedules act as, with roles. */
static void
write_schedule_users(struct env *e)
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
	struct env	 e;
	struct t_proc	 p;
	char		*out, *who;

	env_start(&e, 200);
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
	type(&p, "/as alice\napprove 2\n");
	T_OK(wait_jobs(&e, "command LIKE 'backup 102%' AND state = "
	    "'succeeded'", 1, 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	who = job_text(e.db, 1, "requester");
	T_EQ_STR(who, "schedule:start-web");
	free(who);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/100/status/stop"), 0);
	T_EQ_INT(count_calls(&e, "POST", "*/lxc/100/status/stop"), 0);
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
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	env_stop(&e);
}

static void
test_missed_runs_caught_up_or_skipped(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out;

	env_start(&e, 200);
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
	type(&p, "schedules\n");
	T_EQ_INT(t_proc_wait_for(&p, "last Fri 2026-12-04 10:00", 15000), 0);
	/* The digest lists the last day's scheduled runs. */
	type(&p, "digest\n");
	T_EQ_INT(t_proc_wait_for(&p, "Scheduled runs 24h:", 15000), 0);
	T_EQ_INT(t_proc_wait_for(&p, "  start-web: start 101 (succeeded)",
	    15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_NOT_CONTAINS(out, "missed while pvebot was down");
	T_CONTAINS(out, "start-web  [fri 10:00]  start 101");
	free(out);
	T_EQ_INT(count_jobs(e.db, "command = 'start 101'"), 1);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	env_stop(&e);
}

/*
 * A scheduled snapshot named with {time}: the run's minute names it, so
 * each run takes a new auto-* snapshot (what snapshot retention cleans
 * up).
 */
static void
test_scheduled_snapshot_named_by_time(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*path;

	env_start(&e, 200);
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
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/snapshot"), 1);
	env_stop(&e);
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
