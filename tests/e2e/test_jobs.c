/*
 * Jobs that really run: `pvebot run` with the console as chat room,
 * against the Proxmox simulator over real HTTPS (certificate pinned),
 * with a real database (SQLite, or PostgreSQL: t_db.h). The simulator
 * runs in this test process so the test can inject faults and read the
 * calls it received.
 */
#include <sys/stat.h>

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
#include "t_db.h"
#include "t_sim.h"
#include "t_store.h"
#include "util.h"

struct env {
	struct sim	*sim;
	char		*conf;
	char		*db;
};

static const char *conf_template =
    "%s"
    "commands: %s/commands\n"
    "policies: %s\n"
    "chat:\n"
    "  console: {user: %s}\n"
    /* One person gives many commands in a row here. */
    "  rate_limit: {per_user: 1000, user_burst: 1000, per_room: 1000,\n"
    "    room_burst: 1000}\n"
    "proxmox:\n"
    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
    "  token_id: pvebot@pve!bot\n"
    "  secret_env: T_PVE_SECRET\n"
    "  fingerprint: \"%s\"\n"
    "  task_poll_ms: 100\n"
    "workers: {count: 2, edit_interval: 0s}\n"
    "monitor: {enabled: false}\n";

static void
env_start(struct env *e, int task_ms, const char *policies,
    const char *fingerprint, const char *user)
{
	struct sim_opts	 so = { .tls = 1, .token_id = "pvebot@pve!bot",
	    .secret = "0b5c4f52-6d0a-4c4e-9b0e-3d2f3a9d7c11", .task_ms = task_ms };
	char		*cause = NULL, *text, cwd[512], *pol, *dbconf;

	setenv("T_PVE_SECRET", so.secret, 1);
	memset(e, 0, sizeof *e);
	e->sim = sim_start(&so, &cause);
	if (e->sim == NULL) {
		printf("sim_start: %s\n", cause);
		abort();
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	pol = policies != NULL ? xstrdup(policies) :
	    xasprintf("%s/policies", cwd);
	dbconf = t_db_conf("pvebot.db", &e->db);
	text = xasprintf(conf_template, dbconf, cwd, pol, user != NULL ? user :
	    "alice", sim_port(e->sim), fingerprint != NULL ? fingerprint :
	    sim_fingerprint(e->sim));
	e->conf = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(pol);
	free(dbconf);
}

static void
env_stop(struct env *e)
{
	sim_stop(e->sim);
	free(e->conf);
	free(e->db);
}

/* Runs pvebot on a console script; returns the exit status. */
static int
env_run(struct env *e, const char *script, char **out)
{
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", e->conf, NULL };
	char	*err = NULL;
	int	 rc = t_spawn(argv, script, out, &err, 90000);

	if (rc != 0)
		printf("pvebot exited %d; stderr:\n%s\n", rc, err);
	free(err);
	return rc;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* The API calls the simulator received, as JSON. */
static json_t *
sim_calls(struct env *e)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(e->sim),
	    strlen(sim_cert_pem(e->sim)), CURL_BLOB_COPY };
	struct buf		 b;
	char			*url;
	json_t			*j;

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
	j = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	return j;
}

static int
count_calls(struct env *e, const char *method, const char *path_glob)
{
	json_t	*calls = sim_calls(e), *c;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(calls, i, c) {
		const char	*m = json_string_value(json_object_get(c,
		    "method"));
		const char	*p = json_string_value(json_object_get(c,
		    "path"));

		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    glob_match(path_glob, p))
			n++;
	}
	json_decref(calls);
	return n;
}

/* Where the nth (from 1) call matching method and path_glob is, or -1. */
static int
call_index(struct env *e, const char *method, const char *path_glob, int nth)
{
	json_t	*calls = sim_calls(e), *c;
	size_t	 i;
	int	 at = -1;

	json_array_foreach(calls, i, c) {
		const char	*m = json_string_value(json_object_get(c,
		    "method"));
		const char	*p = json_string_value(json_object_get(c,
		    "path"));

		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    glob_match(path_glob, p) && --nth == 0) {
			at = (int)i;
			break;
		}
	}
	json_decref(calls);
	return at;
}

static void
admin(struct env *e, const char *what, const char *json)
{
	char	*cause = NULL;

	if (sim_admin(e->sim, what, json, &cause) != 0) {
		printf("sim_admin %s %s: %s\n", what, json, cause);
		t_case_failed++;
	}
	free(cause);
}

static void
test_every_command_happy_path(void)
{
	struct env	 e;
	char		*out = NULL;

	env_start(&e, 300, NULL, NULL, "alice");
	T_EQ_INT(env_run(&e,
	    "status\n"
	    "nodes\n"
	    "guests\n"
	    "guest web-01\n"
	    "snapshots 101\n"
	    "backups 102\n"
	    "tasks pve1\n"
	    "start 101\n"
	    "suspend 102\n"
	    "resume 102\n"
	    "reboot 103\n"
	    "shutdown 107\n"
	    "stop 106\n"
	    "snapshot 108 before-test\n"
	    "delsnap 102 nightly\n"
	    "rollback 108 before-test\n"
	    "approve 16\n"
	    "backup 103 snapshot nas-backup\n"
	    "approve 17\n"
	    "migrate 104 pve3\n"
	    "approve 18\n"
	    "clone 9000 150 new-vm\n"
	    "approve 19\n", &out), 0);
	T_CONTAINS(out, "Cluster homelab: quorate");
	T_CONTAINS(out, "pve1");
	T_CONTAINS(out, "web-01");
	T_CONTAINS(out, "pre-upgrade");
	T_CONTAINS(out, "vzdump-qemu-102");
	T_CONTAINS(out, "Job #8: start 101 (web-01 on pve1)");
	T_NOT_CONTAINS(out, "failed");
	T_NOT_CONTAINS(out, "Refused");
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/101/"
	    "status/start"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/102/"
	    "status/suspend"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/102/"
	    "status/resume"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve2/lxc/103/"
	    "status/reboot"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve3/lxc/107/"
	    "status/shutdown"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve3/qemu/106/"
	    "status/stop"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve2/qemu/108/"
	    "snapshot"), 1);
	T_EQ_INT(count_calls(&e, "DELETE", "/nodes/pve1/qemu/102/"
	    "snapshot/nightly"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve2/qemu/108/"
	    "snapshot/before-test/rollback"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve2/vzdump"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve2/qemu/104/"
	    "migrate"), 1);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/9000/"
	    "clone"), 1);
	free(out);
	env_stop(&e);
}

/* quorum, storage and status through the API alone, no SSH at all. */
static void
test_quorum_storage_status_without_ssh(void)
{
	struct env	 e;
	char		*out = NULL;

	env_start(&e, 300, NULL, NULL, "carol");	/* a viewer */
	T_EQ_INT(env_run(&e, "quorum\nstorage\nstatus\n", &out), 0);
	T_CONTAINS(out, "Cluster homelab: quorate, 3 of 3 nodes online");
	T_CONTAINS(out, "pve3 (id 3): online");
	T_CONTAINS(out, "~ pve2:\n");
	T_CONTAINS(out, "~   local (dir) [");
	T_CONTAINS(out, "local-lvm (lvmthin) [");
	T_CONTAINS(out, "nas-backup (nfs, shared) [");
	T_CONTAINS(out, "Storage: fullest pve2 local-lvm 57%");
	T_NOT_CONTAINS(out, "failed");
	T_NOT_CONTAINS(out, "SSH");
	T_EQ_INT(count_calls(&e, "GET", "/cluster/status"), 2);
	free(out);
	env_stop(&e);
}

/*
 * unlock runs `qm unlock` on the guest's node over SSH (no API token can
 * remove a lock): without an SSH host for that node it says so, and
 * sends nothing to the API; the guest stays locked and start refuses.
 */
static void
test_unlock_needs_an_ssh_host(void)
{
	struct env	 e;
	char		*out = NULL;

	env_start(&e, 300, NULL, NULL, "alice");
	admin(&e, "guest", "{\"vmid\":104,\"lock\":\"backup\"}");
	T_EQ_INT(env_run(&e, "unlock 104\napprove 1\nstart 104\n", &out), 0);
	T_CONTAINS(out, "Job #1: unlock 104");
	T_CONTAINS(out, "guest 104 is on node pve2, and no SSH host is "
	    "configured for pve2");
	T_EQ_INT(count_calls(&e, "PUT", "/nodes/pve2/qemu/104/"
	    "config"), 0);
	T_CONTAINS(out, "guest 104 is locked (backup); nothing was done");
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve2/qemu/104/"
	    "status/start"), 0);
	free(out);
	env_stop(&e);
}

static void
test_api_errors_become_one_line(void)
{
	struct env	 e;
	char		*out = NULL;

	env_start(&e, 300, NULL, NULL, "alice");
	admin(&e, "fault", "{\"token\":\"pvebot@pve!bot\","
	    "\"revoke\":\"VM.PowerMgmt\"}");
	T_EQ_INT(env_run(&e, "start 101\n", &out), 0);
	T_CONTAINS(out, "VM.PowerMgmt");
	T_CONTAINS(out, "failed after");
	free(out);
	admin(&e, "fault", "{\"token\":\"pvebot@pve!bot\","
	    "\"grant\":\"VM.PowerMgmt\"}");
	admin(&e, "fault", "{\"kind\":\"error\",\"match\":\"POST */status/"
	    "start\",\"status\":500,\"message\":\"VM is locked (backup)\"}");
	T_EQ_INT(env_run(&e, "start 101\n", &out), 0);
	T_CONTAINS(out, "VM is locked (backup)");
	free(out);
	admin(&e, "fault", "{\"clear\":true}");
	admin(&e, "fault", "{\"node\":\"pve2\",\"online\":false}");
	T_EQ_INT(env_run(&e, "start 104\nsnapshots 104\n", &out), 0);
	/* The re-check sees the node is gone; a read gets the 595. */
	T_CONTAINS(out, "node pve2 is not reachable");
	T_CONTAINS(out, "unreachable");
	free(out);
	admin(&e, "fault", "{\"clear\":true}");
	admin(&e, "fault", "{\"node\":\"pve2\",\"online\":true}");
	admin(&e, "fault", "{\"kind\":\"garbage\",\"match\":\"GET "
	    "*cluster/resources*\"}");
	T_EQ_INT(env_run(&e, "status\n", &out), 0);
	T_CONTAINS(out, "not JSON");
	free(out);
	env_stop(&e);
}

static void
test_fingerprint_mismatch_refused(void)
{
	struct env	 e;
	char		*out = NULL;

	env_start(&e, 300, NULL, "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
	    "EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", "alice");
	T_EQ_INT(env_run(&e, "status\n", &out), 0);
	T_CONTAINS(out, "fingerprint mismatch");
	T_EQ_INT(count_calls(&e, "GET", "*"), 0);
	free(out);
	env_stop(&e);
}

static int64_t
job_time(const char *db, int id, const char *col)
{
	char		*sql = xasprintf("SELECT %s FROM jobs WHERE id = %d", col,
	    id);
	int64_t		 v = -1;

	if (t_db_query_ints(db, sql, NULL, NULL, &v, 1) != 1)
		v = -1;
	free(sql);
	return v;
}

static void
test_jobs_on_one_guest_serialised(void)
{
	struct env	 e;
	char		*out = NULL;

	env_start(&e, 1500, NULL, NULL, "alice");
	T_EQ_INT(env_run(&e, "snapshot 102 first\nsnapshot 102 second\n"
	    "start 104\n", &out), 0);
	/* The second snapshot started only after the first ended... */
	T_OK(job_time(e.db, 2, "started_at") >= job_time(e.db, 1,
	    "finished_at"));
	/*
	 * ...while a job on another guest ran alongside the first: its
	 * request reached Proxmox before the second snapshot's did. (Not
	 * from started_at and finished_at: they are whole seconds, and a
	 * start 0.6 s after the first job's can fall in the second the
	 * first one ends in.)
	 */
	T_OK(call_index(&e, "POST", "*/qemu/104/status/start", 1) != -1);
	T_OK(call_index(&e, "POST", "*/qemu/104/status/start", 1) <
	    call_index(&e, "POST", "*/qemu/102/snapshot", 2));
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/102/snapshot"), 2);
	free(out);
	env_stop(&e);
}

static void
test_cancel_queued_and_running(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*argv[5], *out;

	env_start(&e, 6000, NULL, NULL, "alice");
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	t_proc_start(&p, argv, 1);
	T_OK(write(p.in_fd, "backup 102\napprove 1\nsnapshot 102 later\n",
	    40) == 40);
	T_EQ_INT(t_proc_wait_for(&p, "running [", 20000), 0);
	/* Job 2 waits behind the backup of the same guest. */
	T_OK(write(p.in_fd, "cancel 2\ncancel 1\n", 18) == 18);
	T_EQ_INT(t_proc_wait_for(&p, "cancelled after", 20000), 0);
	t_proc_stop(&p, 0, 20000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "job #2 cancelled");
	T_CONTAINS(out, "job #1 is running; stopping its task");
	T_EQ_INT(count_calls(&e, "DELETE", "/nodes/pve1/tasks/*"),
	    1);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/102/snapshot"), 0);
	free(out);
	env_stop(&e);
}

static const char *snap_policy =
    "roles:\n"
    "  admin: {request: [\"*\"], approve: [\"*\"]}\n"
    "users:\n"
    "  alice: {identities: [console:alice], roles: [admin]}\n"
    "rules:\n"
    "  - name: migrate-with-safety-net\n"
    "    effect: require_approval\n"
    "    action: guest.migrate\n"
    "    approvers: [admin]\n"
    "    self_approve: yes\n"
    "    snapshot_before: yes\n"
    "  - name: the-rest\n"
    "    effect: allow\n"
    "    action: [\"*\"]\n";

static void
test_snapshot_before_and_roll_back_offer(void)
{
	struct env	 e;
	char		*out = NULL, *dir = t_path("pol");

	T_EQ_INT(mkdir(dir, 0700), 0);
	t_write("pol/test.yaml", snap_policy, 0600);
	env_start(&e, 300, dir, NULL, "alice");
	admin(&e, "fault", "{\"fail_task\":\"qmigrate\",\"message\":"
	    "\"migration aborted: target storage full\"}");
	T_EQ_INT(env_run(&e, "migrate 101 pve2\napprove 1\n", &out), 0);
	/* The safety snapshot was taken before the action... */
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/101/"
	    "snapshot"), 1);
	T_CONTAINS(out, "taking safety snapshot first");
	/* ...the action failed, and a roll back is offered. */
	T_CONTAINS(out, "migration aborted: target storage full");
	T_CONTAINS(out, "[Roll back]");
	T_CONTAINS(out, "rollback 101 pvebot-1");
	free(out);
	free(dir);
	env_stop(&e);
}

static void
test_approval_expires_by_timer(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*argv[5], *out, *dir = t_path("pol"), *sql;

	T_EQ_INT(mkdir(dir, 0700), 0);
	t_write("pol/test.yaml", snap_policy, 0600);
	env_start(&e, 300, dir, NULL, "alice");
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	t_proc_start(&p, argv, 1);
	T_OK(write(p.in_fd, "migrate 101 pve2\n", 17) == 17);
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	/* Fifteen minutes pass (the policy's shortest expiry is 1m)... */
	sql = xasprintf("UPDATE jobs SET expires_at = %lld WHERE id = 1",
	    (long long)time(NULL) - 1);
	T_EQ_INT(t_store_exec(e.db, sql, NULL, NULL), 1);
	free(sql);
	/* ...nobody looked: the timer ends it and tells the requester. */
	T_EQ_INT(t_proc_wait_for(&p, "expired without approval", 15000), 0);
	T_OK(write(p.in_fd, "approve 1\n", 10) == 10);
	/*
	 * Wait for the answer to that approve itself: "expired" is in the
	 * output already, and a stop sent before the line is read loses it.
	 */
	T_EQ_INT(t_proc_wait_for(&p, "not awaiting approval", 15000), 0);
	T_EQ_INT(t_proc_wait_for(&p, "pvebot[1]~ expired", 15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "pvebot[1]~ expired: nobody approved it in time");
	T_CONTAINS(out, "job 1 is expired, not awaiting approval");
	T_EQ_INT(count_calls(&e, "POST", "*/migrate"), 0);
	free(out);
	free(dir);
	env_stop(&e);
}

static void
test_kill_9_reattaches_once(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*argv[5], *out = NULL;

	env_start(&e, 5000, NULL, NULL, "alice");
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	t_proc_start(&p, argv, 1);
	T_OK(write(p.in_fd, "start 101\n", 10) == 10);
	T_EQ_INT(t_proc_wait_for(&p, "running", 20000), 0);
	T_EQ_INT(t_proc_stop(&p, SIGKILL, 5000), 128 + SIGKILL);
	T_EQ_INT(job_time(e.db, 1, "finished_at"), 0);
	/* A new pvebot finds the job running, follows its task to the end. */
	T_EQ_INT(env_run(&e, "", &out), 0);
	T_CONTAINS(out, "following the task again");
	T_CONTAINS(out, "succeeded in");
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/101/"
	    "status/start"), 1);
	T_OK(job_time(e.db, 1, "finished_at") > 0);
	free(out);
	/* A third start finds nothing to do. */
	T_EQ_INT(env_run(&e, "", &out), 0);
	T_NOT_CONTAINS(out, "following the task again");
	T_EQ_INT(count_calls(&e, "POST", "*/status/start"), 1);
	free(out);
	env_stop(&e);
}

/* ---- crashes at the worst moments (PVEBOT_CRASH_AT, util/fault.c) ---- */

static const char *rollback_policy =
    "roles:\n"
    "  admin: {request: [\"*\"], approve: [\"*\"]}\n"
    "users:\n"
    "  alice: {identities: [console:alice], roles: [admin]}\n"
    "rules:\n"
    "  - name: rollback-with-safety-net\n"
    "    effect: require_approval\n"
    "    action: guest.snapshot.rollback\n"
    "    approvers: [admin]\n"
    "    self_approve: yes\n"
    "    snapshot_before: yes\n"
    "  - name: the-rest\n"
    "    effect: allow\n"
    "    action: [\"*\"]\n";

/* pvebot on a script, killed (as by SIGKILL) at crash point `at`. */
static int
crash_run(struct env *e, const char *at, const char *script)
{
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", e->conf, NULL };
	int	 rc;

	setenv("PVEBOT_CRASH_AT", at, 1);
	rc = t_spawn(argv, script, NULL, NULL, 60000);
	unsetenv("PVEBOT_CRASH_AT");
	return rc;
}

/*
 * Killed after the intent is stored, before the request went out: no
 * task exists, so the outcome is unknown, said plainly, and nothing is
 * sent again.
 */
static void
test_crash_between_intent_and_request(void)
{
	struct env	 e;
	char		*out = NULL, *state;

	env_start(&e, 300, NULL, NULL, "alice");
	T_EQ_INT(crash_run(&e, "step.intent", "start 101\n"), 137);
	T_EQ_INT(count_calls(&e, "POST", "*/status/start"), 0);
	T_EQ_INT(env_run(&e, "", &out), 0);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "unknown");
	T_CONTAINS(out, "outcome unknown");
	T_CONTAINS(out, "Proxmox shows no task for it");
	T_EQ_INT(count_calls(&e, "POST", "*/status/start"), 0);
	free(state);
	free(out);
	env_stop(&e);
}

/*
 * Killed after Proxmox took the request, before its UPID was stored:
 * the next start finds exactly that task and follows it; it runs once.
 */
static void
test_crash_before_upid_stored(void)
{
	struct env	 e;
	char		*out = NULL, *state, *upid;

	env_start(&e, 1500, NULL, NULL, "alice");
	T_EQ_INT(crash_run(&e, "step.sent", "start 101\n"), 137);
	T_EQ_INT(count_calls(&e, "POST", "*/status/start"), 1);
	T_EQ_INT(env_run(&e, "", &out), 0);
	state = t_job_text(e.db, 1, "state");
	upid = t_job_text(e.db, 1, "upid");
	T_EQ_STR(state, "succeeded");
	T_OK(upid != NULL && strstr(upid, ":qmstart:101:") != NULL);
	T_CONTAINS(out, "succeeded in");
	T_EQ_INT(count_calls(&e, "POST", "*/status/start"), 1);
	free(state);
	free(upid);
	free(out);
	env_stop(&e);
}

/*
 * A rollback with a safety snapshot, killed while the snapshot runs:
 * the next start follows the snapshot to its end and says the rollback
 * itself was never sent; it is not reported done from the snapshot.
 */
static void
test_crash_during_safety_snapshot(void)
{
	struct env	 e;
	char		*out = NULL, *state, *dir = t_path("pol");

	T_EQ_INT(mkdir(dir, 0700), 0);
	t_write("pol/test.yaml", rollback_policy, 0600);
	env_start(&e, 1500, dir, NULL, "alice");
	T_EQ_INT(crash_run(&e, "step.snapshot", "rollback 101 pre-upgrade\n"
	    "approve 1\n"), 137);
	T_EQ_INT(env_run(&e, "", &out), 0);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "interrupted");
	T_CONTAINS(out, "the action itself was not sent");
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/101/snapshot"), 1);
	T_EQ_INT(count_calls(&e, "POST", "*/rollback"), 0);
	free(state);
	free(out);
	free(dir);
	env_stop(&e);
}

/*
 * Killed after the rollback's intent, before its request: its safety
 * snapshot's task is on the same guest, by the same token, a moment
 * earlier, and must never be taken for the rollback's.
 */
static void
test_rollback_never_adopts_its_snapshot(void)
{
	struct env	 e;
	char		*out = NULL, *state, *dir = t_path("pol");

	T_EQ_INT(mkdir(dir, 0700), 0);
	t_write("pol/test.yaml", rollback_policy, 0600);
	env_start(&e, 300, dir, NULL, "alice");
	T_EQ_INT(crash_run(&e, "step.intent:2", "rollback 101 pre-upgrade\n"
	    "approve 1\n"), 137);
	T_EQ_INT(count_calls(&e, "POST", "/nodes/pve1/qemu/101/snapshot"), 1);
	T_EQ_INT(env_run(&e, "", &out), 0);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "unknown");
	T_NOT_CONTAINS(out, "succeeded");
	T_EQ_INT(count_calls(&e, "POST", "*/rollback"), 0);
	free(state);
	free(out);

	/* Killed after the rollback's request: its own task is found. */
	T_EQ_INT(crash_run(&e, "step.sent:2", "rollback 101 pre-upgrade\n"
	    "approve 2\n"), 137);
	T_EQ_INT(env_run(&e, "", &out), 0);
	state = t_job_text(e.db, 2, "state");
	T_EQ_STR(state, "succeeded");
	T_EQ_INT(count_calls(&e, "POST", "*/rollback"), 1);
	free(state);
	state = t_job_text(e.db, 2, "upid");
	T_OK(state != NULL && strstr(state, ":qmrollback:101:") != NULL);
	free(state);
	free(out);
	free(dir);
	env_stop(&e);
}

/*
 * The request reached Proxmox but its answer did not come back (the
 * connection broke, a proxy said 502): the job looks its task up and
 * follows it, instead of saying "failed" for an action that ran.
 */
static void
test_lost_reply_finds_the_task(void)
{
	struct env	 e;
	char		*out = NULL, *state;

	/*
	 * The start goes over the connection the worker's reads opened:
	 * libcurl would send it again on a new one by itself when that
	 * connection closes without a reply; the count of 1 says it did not.
	 */
	env_start(&e, 300, NULL, NULL, "alice");
	admin(&e, "fault", "[{\"kind\":\"lost\",\"match\":\"POST "
	    "*/status/start\",\"count\":1},{\"kind\":\"lost\",\"status\":"
	    "502,\"message\":\"Bad Gateway\",\"match\":\"POST "
	    "*/snapshot\",\"count\":1}]");
	T_EQ_INT(env_run(&e, "start 101\nsnapshot 102 before-x\n", &out), 0);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "succeeded");
	free(state);
	state = t_job_text(e.db, 2, "state");
	T_EQ_STR(state, "succeeded");
	free(state);
	T_NOT_CONTAINS(out, "failed");
	T_EQ_INT(count_calls(&e, "POST", "*/status/start"), 1);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/102/snapshot"), 1);
	free(out);

	/* The status endpoint fails on and on: the log's last line tells. */
	admin(&e, "fault", "{\"kind\":\"error\",\"status\":500,"
	    "\"match\":\"GET */tasks/*/status\",\"count\":60}");
	T_EQ_INT(env_run(&e, "stop 101\n", &out), 0);
	state = t_job_text(e.db, 3, "state");
	T_EQ_STR(state, "succeeded");
	free(state);
	free(out);
	env_stop(&e);
}

/*
 * Actions in a row share one kept-alive connection (one TLS handshake),
 * and each is still sent exactly once.
 */
static void
test_actions_share_a_connection(void)
{
	struct env		 e;
	struct buf		 script;
	char			*out = NULL;
	unsigned long long	 before, used;
	int			 i;

	env_start(&e, 50, NULL, NULL, "alice");
	buf_init(&script, 4096);
	for (i = 0; i < 10; i++)
		buf_puts(&script, "start 101\nstop 101\n");
	before = sim_connections(e.sim);
	T_EQ_INT(env_run(&e, buf_cstr(&script), &out), 0);
	used = sim_connections(e.sim) - before;
	printf("connections for 20 actions: %llu\n", used);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/status/start"), 10);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/status/stop"), 10);
	T_NOT_CONTAINS(out, "failed");
	/* Two workers may each hold one. */
	T_OK(used <= 2);
	free(out);
	buf_release(&script);
	env_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_every_command_happy_path);
	T_RUN(test_unlock_needs_an_ssh_host);
	T_RUN(test_quorum_storage_status_without_ssh);
	T_RUN(test_api_errors_become_one_line);
	T_RUN(test_fingerprint_mismatch_refused);
	T_RUN(test_jobs_on_one_guest_serialised);
	T_RUN(test_cancel_queued_and_running);
	T_RUN(test_snapshot_before_and_roll_back_offer);
	T_RUN(test_approval_expires_by_timer);
	T_RUN(test_kill_9_reattaches_once);
	T_RUN(test_crash_between_intent_and_request);
	T_RUN(test_crash_before_upid_stored);
	T_RUN(test_crash_during_safety_snapshot);
	T_RUN(test_rollback_never_adopts_its_snapshot);
	T_RUN(test_lost_reply_finds_the_task);
	T_RUN(test_actions_share_a_connection);
	curl_global_cleanup();
	return t_summary();
}
