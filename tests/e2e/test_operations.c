/*
 * test_operations.c - issue 20's operations pvebot starts on its own
 * (operations: in bot.conf), end to end: the daemon's parts built and
 * started in this process as `pvebot run` does (conf_load, app_create,
 * app_start) with the console on a pipe and the Proxmox simulator on
 * loopback; the monitor is the test's own, its cycles run with injected
 * time (monitor_cycle), while the router, the policy, the workers and
 * the simulator run for real.
 *
 *   - idle shutdown: a node where only safe-shutdown guests run is
 *     asked to shut down (as idle:NODE, judged by the policy) once the
 *     grace is over, not before; a guest without the tag starting
 *     cancels the waiting request (and one that starts unseen between
 *     two polls is found by the worker's check at run time); no second
 *     request within the flap window, even after a restart;
 *   - expected running: an onboot guest stopped outside pvebot fires
 *     the expected-running alert, one stopped by a pvebot job does not;
 *   - snapshot retention: auto-* snapshots beyond max_count or max_age
 *     are deleted through delsnap jobs, no other snapshot is touched,
 *     and the policy's prohibition of deleting safety-* still holds.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "monitor.h"
#include "sim.h"
#include "t.h"
#include "t_db.h"
#include "t_sim.h"
#include "util.h"

#define SECRET	"0b5c4f52-6d0a-4c4e-9b0e-3d2f3a9d7c11"
#define MIN	60

struct env {
	struct sim	*sim;
	struct conf	*conf;
	struct app	*app;
	struct monitor	*mon;
	char		*db;
	char		*out;		/* the console's output file */
	int		 in[2];		/* the console's input pipe */
	int		 out_fd;
};

/* Policy for the operations' identities. */
static const char *ops_users =
    "users:\n"
    "  idle-pve3:\n"
    "    identities: [idle:pve3]\n"
    "    roles: [admin]\n"
    "  retention:\n"
    "    identities: [retention:snapshots]\n"
    "    roles: [operator]\n";

/*
 * Starts the simulator and pvebot with `ops` as its operations: section.
 * `no_approval`: the default policy's node-power rule applies to people
 * only (role admin), so idle:pve3 (role idler) shuts down unasked.
 */
static int
env_start(struct env *e, const char *ops, int no_approval)
{
	struct sim_opts	 so = { .tls = 1, .token_id = "pvebot@pve!bot",
	    .secret = SECRET, .task_ms = 50 };
	char		*cause = NULL, *errors = NULL, *text, *path, *cmd;
	char		*dbconf;
	char		 cwd[512];

	memset(e, 0, sizeof *e);
	setenv("T_OPS_PVE_SECRET", SECRET, 1);
	if ((e->sim = sim_start(&so, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sim_start: %s", cause);
		free(cause);
		return -1;
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	path = t_path("pols");
	cmd = xasprintf("mkdir -p %s && cp %s/policies/*.yaml %s/", path, cwd,
	    path);
	if (system(cmd) != 0)
		abort();
	free(cmd);
	if (no_approval) {
		cmd = xasprintf("sed -i 's/^  - name: node-power$/  - name: "
		    "node-power\\n    role: admin/' %s/default.yaml", path);
		if (system(cmd) != 0)
			abort();
		free(cmd);
		text = xasprintf("%s/ops.yaml", path);
		t_write(text,
		    "roles:\n"
		    "  idler:\n"
		    "    request: [node.shutdown]\n"
		    "    approve: []\n"
		    "users:\n"
		    "  idle-pve3:\n"
		    "    identities: [idle:pve3]\n"
		    "    roles: [idler]\n"
		    "rules:\n"
		    "  - name: idle-shutdown\n"
		    "    effect: allow\n"
		    "    action: [node.shutdown]\n"
		    "    role: idler\n", 0600);
		free(text);
	} else {
		text = xasprintf("%s/ops.yaml", path);
		t_write(text, ops_users, 0600);
		free(text);
	}
	dbconf = t_db_conf("pvebot.db", &e->db);
	text = xasprintf(
	    "%s"
	    "commands: %s/commands\n"
	    "policies: %s\n"
	    "chat:\n"
	    "  console: {user: bob}\n"
	    "  rate_limit: {user_burst: 100, per_user: 100}\n"
	    "proxmox:\n"
	    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
	    "  token_id: pvebot@pve!bot\n"
	    "  secret_env: T_OPS_PVE_SECRET\n"
	    "  fingerprint: \"%s\"\n"
	    "  task_poll_ms: 50\n"
	    "  index_max_age: 2s\n"
	    "workers: {count: 2, edit_interval: 0s}\n"
	    "monitor: {enabled: false}\n"
	    "digest: {enabled: false}\n"
	    "http: {enabled: false}\n"
	    "operations:\n"
	    "  room: console:console\n"
	    "%s",
	    dbconf, cwd, path, sim_port(e->sim), sim_fingerprint(e->sim), ops);
	free(dbconf);
	free(path);
	path = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	e->conf = conf_load(path, &errors);
	free(path);
	if (e->conf == NULL) {
		t_fail(__FILE__, __LINE__, "conf: %s", errors);
		free(errors);
		return -1;
	}
	e->out = t_path("console.out");
	if (pipe(e->in) != 0 || (e->out_fd = open(e->out, O_WRONLY |
	    O_CREAT | O_TRUNC | O_APPEND, 0600)) < 0)
		abort();
	if ((e->app = app_create(e->conf, e->in[0], e->out_fd,
	    &cause)) == NULL || app_start(e->app, &cause) != 0 ||
	    (e->mon = monitor_create(e->app, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "pvebot did not start: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static void
env_stop(struct env *e)
{
	monitor_free(e->mon);
	if (e->in[1] > 0)
		close(e->in[1]);
	app_free(e->app);
	conf_free(e->conf);
	sim_stop(e->sim);
	if (e->in[0] > 0)
		close(e->in[0]);
	if (e->out_fd > 0)
		close(e->out_fd);
	free(e->db);
	free(e->out);
}

static void
admin(struct env *e, const char *what, const char *json)
{
	char	*cause = NULL;

	if (sim_admin(e->sim, what, json, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim_admin %s %s: %s", what, json,
		    cause);
		free(cause);
	}
}

static void
type(struct env *e, const char *line)
{
	size_t	 len = strlen(line);

	T_OK(write(e->in[1], line, len) == (ssize_t)len);
}

static char *
output(struct env *e)
{
	char	*text, *cause = NULL;
	size_t	 len;

	if ((text = read_file(e->out, 16 << 20, &len, &cause)) == NULL) {
		free(cause);
		return xstrdup("");
	}
	return text;
}

static int
wait_output(struct env *e, const char *needle, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*out;
	int	 ok;

	for (;;) {
		out = output(e);
		ok = strstr(out, needle) != NULL;
		free(out);
		if (ok || now_ms() > end)
			return ok;
		sleep_ms(20);
	}
}

/* One integer from the database; -1 when there is none. */
static int64_t
db_int(struct env *e, const char *sql)
{
	int64_t		 v = -1;

	if (t_db_query_ints(e->db, sql, NULL, NULL, &v, 1) != 1)
		v = -1;
	return v;
}

static int
wait_int(struct env *e, const char *sql, int64_t want, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;

	for (;;) {
		if (db_int(e, sql) == want)
			return 1;
		if (now_ms() > end)
			return 0;
		sleep_ms(20);
	}
}

/* The router has handled everything handed to it. */
static void
settle(struct env *e)
{
	router_drain(e->app->router);
}

/* A GET on the simulator's API; caller decrefs. */
static json_t *
api_get(struct env *e, const char *path)
{
	json_t	*data = NULL;
	char	*cause = NULL;

	if (pve_request(e->app->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK) {
		t_fail(__FILE__, __LINE__, "GET %s: %s", path, cause);
		free(cause);
		return NULL;
	}
	return data;
}

/* "a,b,c": the names of a guest's snapshots, sorted. */
static char *
snap_names(struct env *e, const char *node, const char *type, int vmid)
{
	char	*path = xasprintf("/nodes/%s/%s/%d/snapshot", node, type,
	    vmid);
	json_t	*data = api_get(e, path), *o;
	char	*names[64], *tmp;
	size_t	 i, n = 0, j;
	struct buf b;

	free(path);
	json_array_foreach(data, i, o) {
		const char *name = json_string_value(json_object_get(o,
		    "name"));

		if (name != NULL && n < 64)
			names[n++] = xstrdup(name);
	}
	json_decref(data);
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			tmp = names[j];
			names[j] = names[j - 1];
			names[j - 1] = tmp;
		}
	}
	buf_init(&b, 1 << 16);
	buf_puts(&b, "");
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
	return buf_steal(&b);
}

static char *
node_status(struct env *e, const char *node)
{
	json_t		*data = api_get(e, "/cluster/resources"), *o;
	char		*st = NULL, *id = xasprintf("node/%s", node);
	size_t		 i;

	json_array_foreach(data, i, o) {
		const char *k = json_string_value(json_object_get(o, "id"));

		if (k != NULL && strcmp(k, id) == 0)
			st = xstrdup(json_string_value(json_object_get(o,
			    "status")));
	}
	json_decref(data);
	free(id);
	return st != NULL ? st : xstrdup("?");
}

static int
wait_node(struct env *e, const char *node, const char *want, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*st;
	int	 ok;

	for (;;) {
		st = node_status(e, node);
		ok = strcmp(st, want) == 0;
		free(st);
		if (ok || now_ms() > end)
			return ok;
		sleep_ms(50);
	}
}

static const char *idle_ops =
    "  expected_running: {onboot: true}\n"
    "  idle_shutdown:\n"
    "    - node: pve3\n"
    "      grace: 30m\n"
    "      flap_window: 6h\n";

/* pve3 with only its safe-shutdown guest running: 107 tagged, 106
 * stopped. */
static void
pve3_idle(struct env *e)
{
	admin(e, "guest", "{\"vmid\":107,\"tags\":\"prod;safe-shutdown\"}");
	admin(e, "guest", "{\"vmid\":106,\"status\":\"stopped\"}");
}

#define IDLE_JOBS	"SELECT count(*) FROM jobs WHERE requester = " \
	"'idle:pve3'"

/*
 * After the grace, once: the request is judged by the default policy
 * (node-power: an admin approves), approved, and the safe shutdown
 * runs: the tagged guest, then the node.
 */
static void
test_idle_shutdown_after_grace(void)
{
	struct env	 e;
	/* The grace ends a minute ago: the monitor's clock never runs
	 * ahead of the jobs' (real) timestamps. */
	int64_t		 t0 = wall_now() - 31 * MIN;
	char		*out;

	if (env_start(&e, idle_ops, 0) != 0)
		goto out;
	pve3_idle(&e);
	T_EQ_INT(monitor_cycle(e.mon, t0), 0);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 29 * MIN), 0);
	settle(&e);
	T_EQ_INT(db_int(&e, IDLE_JOBS), 0);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 30 * MIN), 0);
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE requester = "
	    "'idle:pve3' AND command = 'shutdown-node pve3 safe' AND "
	    "state = 'awaiting_approval'", 1, 10000));
	/* Still idle a minute later: not asked again. */
	T_EQ_INT(monitor_cycle(e.mon, t0 + 31 * MIN), 0);
	settle(&e);
	T_EQ_INT(db_int(&e, IDLE_JOBS), 1);
	T_OK(wait_output(&e, "[approve 1]", 10000));
	type(&e, "/as alice\napprove 1\n");
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE id = 1 AND "
	    "state = 'succeeded'", 1, 20000));
	T_OK(wait_output(&e, "shut down in order: 107 nextcloud", 10000));
	T_OK(wait_node(&e, "pve3", "offline", 10000));
	T_EQ_INT(monitor_cycle(e.mon, wall_now()), 0);
	/* Back online, 107 (onboot=1) stopped by the idle shutdown: not an
	 * expected-running alert. */
	admin(&e, "fault", "{\"node\":\"pve3\",\"online\":true}");
	T_EQ_INT(monitor_cycle(e.mon, wall_now() + 1), 0);
	/* 106 was stopped outside pvebot before: that one does fire. */
	T_EQ_INT(db_int(&e, "SELECT count(*) FROM alerts WHERE rule = "
	    "'expected-running' AND state = 'firing' AND target = "
	    "'guest:107'"), 0);
	T_EQ_INT(db_int(&e, "SELECT count(*) FROM alerts WHERE rule = "
	    "'expected-running' AND state = 'firing' AND target = "
	    "'guest:106'"), 1);
	T_EQ_INT(db_int(&e, "SELECT count(*) FROM kv WHERE key = "
	    "'monitor.stopped_on_purpose' AND value = '107'"), 1);
	if (t_case_failed) {
		out = output(&e);
		printf("console:\n%s\n", out);
		free(out);
	}
out:
	env_stop(&e);
}

/*
 * A guest without the tag starting: before the grace it restarts the
 * count; after the request it cancels the request still waiting.
 */
static void
test_idle_shutdown_cancelled_by_a_guest(void)
{
	struct env	 e;
	int64_t		 t0 = wall_now();
	char		*st, *out, *posts;

	if (env_start(&e, idle_ops, 0) != 0)
		goto out;
	pve3_idle(&e);
	T_EQ_INT(monitor_cycle(e.mon, t0), 0);
	/* 106 runs for a while in the middle of the grace. */
	admin(&e, "guest", "{\"vmid\":106,\"status\":\"running\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + 10 * MIN), 0);
	admin(&e, "guest", "{\"vmid\":106,\"status\":\"stopped\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + 15 * MIN), 0);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 35 * MIN), 0);
	settle(&e);
	T_EQ_INT(db_int(&e, IDLE_JOBS), 0);
	/* 30 minutes from 15: asked. */
	T_EQ_INT(monitor_cycle(e.mon, t0 + 45 * MIN), 0);
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE requester = "
	    "'idle:pve3' AND state = 'awaiting_approval'", 1, 10000));
	T_OK(wait_output(&e, "[approve 1]", 10000));
	/* Before anyone approves, 106 starts: the request is cancelled. */
	admin(&e, "guest", "{\"vmid\":106,\"status\":\"running\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + 46 * MIN), 0);
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE id = 1 AND state "
	    "= 'cancelled'", 1, 10000));
	T_OK(wait_output(&e, "idle shutdown of pve3 cancelled: node pve3 is "
	    "no longer idle (106 k8s-node-1 running without the "
	    "safe-shutdown tag)", 10000));
	/* Its request lost its buttons. */
	T_OK(wait_output(&e, "~ cancelled: node pve3 is no longer idle",
	    10000));
	/* An approval that comes too late changes nothing. */
	type(&e, "/as alice\napprove 1\n");
	T_OK(wait_output(&e, "job 1 is cancelled, not awaiting approval", 10000));
	settle(&e);
	T_EQ_INT(db_int(&e, "SELECT count(*) FROM jobs WHERE id = 1 AND "
	    "state = 'cancelled'"), 1);
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/status/shutdown");
	T_NOT_CONTAINS(posts, "/nodes/pve3/status ");
	free(posts);
	st = node_status(&e, "pve3");
	T_EQ_STR(st, "online");
	free(st);
	if (t_case_failed) {
		out = output(&e);
		printf("console:\n%s\n", out);
		free(out);
	}
out:
	env_stop(&e);
}

/*
 * A guest starts between two polls, after the request: the approval
 * reaches the worker, which looks at the guests again and refuses.
 */
static void
test_idle_shutdown_checked_at_run(void)
{
	struct env	 e;
	int64_t		 t0 = wall_now() - 31 * MIN;
	char		*posts, *out;

	if (env_start(&e, idle_ops, 0) != 0)
		goto out;
	pve3_idle(&e);
	T_EQ_INT(monitor_cycle(e.mon, t0), 0);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 30 * MIN), 0);
	T_OK(wait_output(&e, "[approve 1]", 10000));
	admin(&e, "guest", "{\"vmid\":106,\"status\":\"running\"}");
	type(&e, "/as alice\napprove 1\n");
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE id = 1 AND state "
	    "= 'refused'", 1, 20000));
	T_OK(wait_output(&e, "1 running guest on pve3 lacks the safe-shutdown "
	    "tag: 106 k8s-node-1", 10000));
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/status/shutdown");
	T_NOT_CONTAINS(posts, "/nodes/pve3/status ");
	free(posts);
	if (t_case_failed) {
		out = output(&e);
		printf("console:\n%s\n", out);
		free(out);
	}
out:
	env_stop(&e);
}

/*
 * Allowed without approval: the node goes down; woken and idle again
 * within the flap window, it is not asked again (not after a restart of
 * the monitor either); past the window it is.
 */
static void
test_idle_shutdown_does_not_flap(void)
{
	struct env	 e;
	int64_t		 t0 = wall_now();
	char		*out;

	if (env_start(&e, idle_ops, 1) != 0)
		goto out;
	pve3_idle(&e);
	T_EQ_INT(monitor_cycle(e.mon, t0), 0);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 30 * MIN), 0);
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE requester = "
	    "'idle:pve3' AND state = 'succeeded'", 1, 20000));
	T_OK(wait_node(&e, "pve3", "offline", 10000));
	/* Someone wakes it; only the tagged guest comes back. */
	admin(&e, "fault", "{\"node\":\"pve3\",\"online\":true}");
	pve3_idle(&e);
	admin(&e, "guest", "{\"vmid\":107,\"status\":\"running\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + 40 * MIN), 0);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 80 * MIN), 0);
	/* A restart forgets the idle period, not the last request. */
	monitor_free(e.mon);
	e.mon = monitor_create(e.app, NULL);
	T_OK(e.mon != NULL);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 90 * MIN), 0);
	T_EQ_INT(monitor_cycle(e.mon, t0 + 5 * 3600), 0);
	settle(&e);
	T_EQ_INT(db_int(&e, IDLE_JOBS), 1);
	/* Six hours after the request: asked again. */
	T_EQ_INT(monitor_cycle(e.mon, t0 + 30 * MIN + 6 * 3600), 0);
	T_OK(wait_int(&e, IDLE_JOBS, 2, 10000));
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE requester = "
	    "'idle:pve3' AND state = 'succeeded'", 2, 20000));
	if (t_case_failed) {
		out = output(&e);
		printf("console:\n%s\n", out);
		free(out);
	}
out:
	env_stop(&e);
}

static int64_t
alert_count(struct env *e, const char *target, const char *states)
{
	char	*sql = xasprintf("SELECT count(*) FROM alerts WHERE rule = "
	    "'expected-running' AND target = '%s' AND state IN (%s)", target,
	    states);
	int64_t	 n = db_int(e, sql);

	free(sql);
	return n;
}

#define OPEN	"'pending', 'firing', 'flapping'"

/*
 * 102 stopped by a pvebot job: no alert, not even after the job is long
 * done. 106 (onboot=1) stopped outside pvebot: fires, and resolves when
 * it runs. 103 with onboot=0 stopped: nothing. 104, never seen running,
 * with the configured tag: fires.
 */
static void
test_expected_running(void)
{
	struct env	 e;
	int64_t		 t0 = wall_now();
	char		*out;

	if (env_start(&e, "  expected_running:\n    onboot: true\n"
	    "    tag: always-on\n", 0) != 0)
		goto out;
	T_EQ_INT(monitor_cycle(e.mon, t0), 0);
	T_EQ_INT(db_int(&e, "SELECT count(*) FROM alerts WHERE rule = "
	    "'expected-running' AND state IN (" OPEN ")"), 0);
	type(&e, "stop 102\n");
	T_OK(wait_int(&e, "SELECT count(*) FROM jobs WHERE command = "
	    "'stop 102' AND state = 'succeeded'", 1, 20000));
	admin(&e, "guest", "{\"vmid\":106,\"status\":\"stopped\"}");
	admin(&e, "guest", "{\"vmid\":103,\"onboot\":false,"
	    "\"status\":\"stopped\"}");
	admin(&e, "guest", "{\"vmid\":104,\"tags\":\"media;always-on\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + MIN), 0);
	T_EQ_INT(alert_count(&e, "guest:106", "'firing'"), 1);
	T_EQ_INT(alert_count(&e, "guest:104", "'firing'"), 1);
	T_EQ_INT(alert_count(&e, "guest:102", OPEN), 0);
	T_EQ_INT(alert_count(&e, "guest:103", OPEN), 0);
	T_EQ_INT(alert_count(&e, "guest:101", OPEN), 0);
	T_OK(wait_output(&e, "k8s-node-1 (106) is stopped but expected to "
	    "run (onboot=1)", 10000));
	T_OK(wait_output(&e, "media (104) is stopped but expected to run "
	    "(tagged)", 10000));
	/* Long after the job: 102 is still known as stopped on purpose. */
	T_EQ_INT(monitor_cycle(e.mon, t0 + 40 * MIN), 0);
	T_EQ_INT(alert_count(&e, "guest:102", OPEN), 0);
	T_EQ_INT(alert_count(&e, "guest:106", "'firing'"), 1);
	/* 106 runs again: resolved. */
	admin(&e, "guest", "{\"vmid\":106,\"status\":\"running\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + 41 * MIN), 0);
	T_EQ_INT(alert_count(&e, "guest:106", "'resolved'"), 1);
	/* 102 runs again, then stops outside pvebot: now it fires. */
	admin(&e, "guest", "{\"vmid\":102,\"status\":\"running\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + 42 * MIN), 0);
	admin(&e, "guest", "{\"vmid\":102,\"status\":\"stopped\"}");
	T_EQ_INT(monitor_cycle(e.mon, t0 + 60 * MIN), 0);
	T_EQ_INT(alert_count(&e, "guest:102", "'firing'"), 1);
	if (t_case_failed) {
		out = output(&e);
		printf("console:\n%s\n", out);
		free(out);
	}
out:
	env_stop(&e);
}

static void
snapshot_at(struct env *e, int vmid, const char *name, int64_t t)
{
	char	*json = xasprintf("{\"vmid\":%d,\"name\":\"%s\","
	    "\"snaptime\":%" PRId64 "}", vmid, name, t);

	admin(e, "snapshot", json);
	free(json);
}

#define DAY	86400
#define RETENTION_JOBS	"SELECT count(*) FROM jobs WHERE requester = " \
	"'retention:snapshots'"

static int
count_lines(const char *text)
{
	int	 n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

/*
 * auto-* beyond the newest two, or older than 7 days, are deleted, each
 * by its own delsnap job; pre-upgrade, safety-1, nightly and manual-old
 * are not touched, however old.
 */
static void
test_snapshot_retention(void)
{
	struct env	 e;
	int64_t		 now = wall_now();
	char		*names, *dels, *out;

	if (env_start(&e, "  snapshot_retention:\n    prefix: auto-\n"
	    "    max_age: 7d\n    max_count: 2\n", 0) != 0)
		goto out;
	snapshot_at(&e, 101, "auto-a", now - 10 * DAY);
	snapshot_at(&e, 101, "auto-b", now - 3 * DAY);
	snapshot_at(&e, 101, "auto-c", now - 2 * DAY);
	snapshot_at(&e, 101, "auto-d", now - DAY);
	snapshot_at(&e, 102, "auto-x", now - 3600);
	snapshot_at(&e, 103, "manual-old", now - 30 * DAY);
	snapshot_at(&e, 103, "auto-old", now - 8 * DAY);
	T_EQ_INT(monitor_cycle(e.mon, now), 0);
	T_OK(wait_int(&e, RETENTION_JOBS " AND state = 'succeeded'", 3,
	    20000));
	T_EQ_INT(db_int(&e, RETENTION_JOBS " AND command IN ('delsnap 101 "
	    "auto-a', 'delsnap 101 auto-b', 'delsnap 103 auto-old')"), 3);
	names = snap_names(&e, "pve1", "qemu", 101);
	T_EQ_STR(names, "auto-c,auto-d,current,pre-upgrade,safety-1");
	free(names);
	names = snap_names(&e, "pve1", "qemu", 102);
	T_EQ_STR(names, "auto-x,current,nightly");
	free(names);
	names = snap_names(&e, "pve2", "lxc", 103);
	T_EQ_STR(names, "current,manual-old");
	free(names);
	/* Within the interval nothing is looked at; after it nothing is
	 * left to delete. */
	T_EQ_INT(monitor_cycle(e.mon, now + 30 * MIN), 0);
	T_EQ_INT(monitor_cycle(e.mon, now + 2 * 3600), 0);
	settle(&e);
	T_EQ_INT(db_int(&e, RETENTION_JOBS), 3);
	dels = t_sim_calls_of(e.sim, "DELETE");
	T_EQ_INT(count_lines(dels), 3);
	T_NOT_CONTAINS(dels, "safety-1");
	T_NOT_CONTAINS(dels, "pre-upgrade");
	T_NOT_CONTAINS(dels, "nightly");
	T_NOT_CONTAINS(dels, "manual-old");
	free(dels);
	if (t_case_failed) {
		out = output(&e);
		printf("console:\n%s\n", out);
		free(out);
	}
out:
	env_stop(&e);
}

/*
 * A prefix that reaches the safety snapshots: the clean-up asks, and
 * the policy's prohibition refuses; the snapshot stays.
 */
#define REFUSALS	"SELECT count(*) FROM audit WHERE actor = " \
	"'retention:snapshots' AND event = 'command.refused' AND detail " \
	"LIKE '%command=delsnap 101 safety-1 decision=prohibit%'"

static void
test_snapshot_retention_keeps_prohibitions(void)
{
	struct env	 e;
	int64_t		 now = wall_now();
	char		*names, *dels, *out;

	if (env_start(&e, "  snapshot_retention:\n    prefix: safety-\n"
	    "    max_age: 1d\n", 0) != 0)
		goto out;
	T_EQ_INT(monitor_cycle(e.mon, now), 0);
	T_OK(wait_output(&e, "Prohibited: snapshots named safety-* are the "
	    "way back", 10000));
	/* Refused by the router: audited, no job. */
	T_EQ_INT(db_int(&e, REFUSALS), 1);
	T_EQ_INT(db_int(&e, RETENTION_JOBS), 0);
	/* The next clean-up does not ask again the same day. */
	T_EQ_INT(monitor_cycle(e.mon, now + 2 * 3600), 0);
	settle(&e);
	T_EQ_INT(db_int(&e, REFUSALS), 1);
	names = snap_names(&e, "pve1", "qemu", 101);
	T_EQ_STR(names, "current,pre-upgrade,safety-1");
	free(names);
	dels = t_sim_calls_of(e.sim, "DELETE");
	T_EQ_STR(dels, "");
	free(dels);
	if (t_case_failed) {
		out = output(&e);
		printf("console:\n%s\n", out);
		free(out);
	}
out:
	env_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_idle_shutdown_after_grace);
	T_RUN(test_idle_shutdown_cancelled_by_a_guest);
	T_RUN(test_idle_shutdown_checked_at_run);
	T_RUN(test_idle_shutdown_does_not_flap);
	T_RUN(test_expected_running);
	T_RUN(test_snapshot_retention);
	T_RUN(test_snapshot_retention_keeps_prohibitions);
	curl_global_cleanup();
	return t_summary();
}
