/*
 * test_consent.c - issue 14's promises that hold when something changes
 * between a request and its run, with `pvebot run` on the console and
 * the Proxmox simulator:
 *
 *   - an approval given after a reload made the action prohibited does
 *     not run it: the policy is asked again at dispatch;
 *   - an approval given after the guest became pvebot's own (tagged
 *     pvebot-self) does not run it;
 *   - a person's own earlier job on a guest is not an outside change: the
 *     expected state is what that job leaves;
 *   - an outcome that cannot be written is not reported until it is.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
};

static const char *conf_template =
    "database: %s\n"
    "commands: %s/commands\n"
    "policies: %s\n"
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
	text = xasprintf(conf_template, e->db, cwd, e->pols, sim_port(e->sim),
	    sim_fingerprint(e->sim));
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

static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
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

/* Issue 14 item 1: a reload prohibits it before the approval comes. */
static void
test_reload_between_request_and_approval(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *state, *path;

	env_start(&e, 300);
	start_daemon(&e, &p);
	type(&p, "backup 107\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	/* Someone decides backups of 107 are not to be made from chat. */
	path = xasprintf("%s/zz-no-backup-107.yaml", e.pols);
	t_write(path, "rules:\n  - name: no-backup-107\n    effect: prohibit\n"
	    "    why: 107 is backed up by its own tool\n"
	    "    action: backup.create\n    target:\n      vmid: [\"107\"]\n",
	    0600);
	free(path);
	kill(p.pid, SIGHUP);
	T_EQ_INT(t_proc_wait_for(&p, "reloaded", 10000), 0);
	type(&p, "/as alice\napprove 1\n");
	T_EQ_INT(t_proc_wait_for(&p, "refused when it was about to run",
	    15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	state = job_text(e.db, 1, "state");
	T_EQ_STR(state, "refused");
	T_CONTAINS(out, "the policy now says prohibit");
	T_CONTAINS(out, "107 is backed up by its own tool");
	/* The requester and the approver are told. */
	T_CONTAINS(out, "@bob");
	T_CONTAINS(out, "your job #1 (backup 107");
	T_CONTAINS(out, "approved by alice");
	T_EQ_INT(count_calls(&e, "POST", "*/vzdump"), 0);
	free(state);
	free(out);
	env_stop(&e);
}

/* Issue 14 item 2: the guest becomes pvebot's own before the approval. */
static void
test_guest_tagged_self_before_approval(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *state;

	env_start(&e, 300);
	start_daemon(&e, &p);
	type(&p, "migrate 106 pve1\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	admin(&e, "guest", "{\"vmid\":106,\"tags\":\"pvebot-self\"}");
	type(&p, "/as alice\napprove 1\n");
	T_EQ_INT(t_proc_wait_for(&p, "refused when it was about to run",
	    15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	state = job_text(e.db, 1, "state");
	T_EQ_STR(state, "refused");
	T_CONTAINS(out, "self_protect");
	T_EQ_INT(count_calls(&e, "POST", "*/migrate"), 0);
	free(state);
	free(out);
	env_stop(&e);
}

/* Issue 14 item 15: my own earlier job is not an outside change. */
static void
test_own_earlier_job_is_expected(void)
{
	struct env	 e;
	char		*argv[5], *out = NULL, *err = NULL, *s1, *s2;

	env_start(&e, 300);
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	T_EQ_INT(t_spawn(argv, "start 101\nsnapshot 101 after-start\n", &out,
	    &err, 60000), 0);
	s1 = job_text(e.db, 1, "state");
	s2 = job_text(e.db, 2, "state");
	T_EQ_STR(s1, "succeeded");
	T_EQ_STR(s2, "succeeded");
	T_NOT_CONTAINS(out, "changed from");
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/snapshot"), 1);
	free(s1);
	free(s2);
	free(out);
	free(err);
	env_stop(&e);
}

/*
 * Issue 14 item 9: the disk is full when the task ends. The outcome is
 * written again until it can be (loudly in the log), the chat says it
 * only then, and the next job on that guest waits for it.
 */
static void
test_outcome_written_before_it_is_told(void)
{
	struct env	 e;
	char		*argv[5], *out = NULL, *err = NULL, *s;

	env_start(&e, 300);
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	setenv("PVEBOT_FAIL_AT", "worker.finish:3", 1);
	T_EQ_INT(t_spawn(argv, "start 101\nstop 101\n", &out, &err, 60000),
	    0);
	unsetenv("PVEBOT_FAIL_AT");
	/* Three refused writes, each said in the log. */
	T_EQ_INT(count(err, "could not be saved"), 3);
	T_CONTAINS(out, "recorded late: the database refused writes");
	s = job_text(e.db, 1, "state");
	T_EQ_STR(s, "succeeded");
	free(s);
	/* The stop ran after the start was recorded, and found it running. */
	s = job_text(e.db, 2, "state");
	T_EQ_STR(s, "succeeded");
	free(s);
	T_EQ_INT(count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	free(out);
	free(err);
	env_stop(&e);
}

/*
 * Issue 14 item 16: requests that cannot work are answered at once,
 * before anyone is asked to approve them.
 */
static void
test_impossible_requests_refused_before_approval(void)
{
	struct env	 e;
	char		*argv[5], *out = NULL, *err = NULL, *n;

	env_start(&e, 300);
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	T_EQ_INT(t_spawn(argv,
	    "migrate 101 pve9\n"
	    "migrate 101 pve1\n"
	    "clone 9000 102 copy\n"
	    "clone 9000 9500 copy\n"
	    "backup 102 snapshot nosuch\n"
	    "unlock 101\n", &out, &err, 60000), 0);
	T_CONTAINS(out, "there is no node pve9 in the cluster");
	T_CONTAINS(out, "guest 101 is already on pve1");
	T_CONTAINS(out, "VMID 102 is in use by db-01");
	T_CONTAINS(out, "a guest with VMID 9500 could never be started");
	T_CONTAINS(out, "there is no storage nosuch on node pve1");
	T_CONTAINS(out, "guest 101 is not locked");
	/* No job, and so no approval request, for any of them. */
	T_NOT_CONTAINS(out, "Approval needed");
	n = job_text(e.db, 1, "id");
	T_OK(n == NULL);
	free(n);
	free(out);
	free(err);
	env_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_reload_between_request_and_approval);
	T_RUN(test_guest_tagged_self_before_approval);
	T_RUN(test_own_earlier_job_is_expected);
	T_RUN(test_outcome_written_before_it_is_told);
	T_RUN(test_impossible_requests_refused_before_approval);
	curl_global_cleanup();
	return t_summary();
}
