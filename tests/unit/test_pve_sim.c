/*
 * End-to-end tests of the Proxmox client against the Proxmox simulator
 * over real HTTPS on loopback: every read formatter on the simulator's
 * known cluster, every action the command catalogue uses (power actions
 * for qemu and lxc, snapshots, backup with progress, migrate, clone,
 * unlock, tasks), the error lines for 401/403/500/595/garbage, the TLS
 * pin and CA file, fail-over, and which requests are (not) repeated, as
 * the simulator's call log shows.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "conf.h"
#include "exec_proxmox.h"
#include "sim.h"
#include "t.h"
#include "util.h"

#define SECRET	"3a4b5c6d-7e8f-4a1b-9c2d-3e4f5a6b7c8d"
#define TOKEN	"pvebot@pve!bot"

struct env {
	struct sim		*sim;
	char			*urls[2];
	struct conf_proxmox	 cf;
	struct pve		*pve;
};

static int
env_client(struct env *e, int dead_first, const char *secret,
    const char *pin, const char *ca_file)
{
	char	*cause = NULL;
	size_t	 n = 0;

	pve_free(e->pve);
	free(e->urls[0]);
	free(e->urls[1]);
	e->urls[0] = e->urls[1] = NULL;
	if (dead_first)
		e->urls[n++] = xasprintf("https://127.0.0.1:%d/api2/json",
		    t_free_port());
	e->urls[n++] = xasprintf("https://127.0.0.1:%d/api2/json",
	    sim_port(e->sim));
	memset(&e->cf, 0, sizeof e->cf);
	e->cf.urls = e->urls;
	e->cf.nurls = n;
	e->cf.token_id = TOKEN;
	e->cf.secret = (char *)secret;
	e->cf.fingerprint = (char *)pin;
	e->cf.ca_file = (char *)ca_file;
	/* Room for a loaded machine; the slow fault below is longer. */
	e->cf.connect_timeout = 10;
	e->cf.request_timeout = 5;
	e->cf.task_poll = 50;
	e->pve = pve_create(&e->cf, &cause);
	if (e->pve == NULL) {
		t_fail(__FILE__, __LINE__, "pve_create: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static int
env_start(struct env *e, int task_ms)
{
	struct sim_opts	 o;
	char		*cause = NULL;

	memset(e, 0, sizeof *e);
	memset(&o, 0, sizeof o);
	o.tls = 1;
	o.token_id = TOKEN;
	o.secret = SECRET;
	o.task_ms = task_ms;
	e->sim = sim_start(&o, &cause);
	if (e->sim == NULL) {
		t_fail(__FILE__, __LINE__, "sim_start: %s", cause);
		free(cause);
		return -1;
	}
	return env_client(e, 0, SECRET, sim_fingerprint(e->sim), NULL);
}

static void
env_stop(struct env *e)
{
	pve_free(e->pve);
	sim_stop(e->sim);
	free(e->urls[0]);
	free(e->urls[1]);
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

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

/* GET or DELETE an admin endpoint of the simulator (TLS verified). */
static json_t *
sim_http(struct env *e, const char *method, const char *path)
{
	CURL			*h = curl_easy_init();
	struct curl_blob	 blob;
	struct buf		 b;
	char			*url;
	json_t			*j = NULL;

	buf_init(&b, 16 * 1024 * 1024);
	url = xasprintf("https://127.0.0.1:%d%s", sim_port(e->sim), path);
	blob.data = (void *)sim_cert_pem(e->sim);
	blob.len = strlen(sim_cert_pem(e->sim));
	blob.flags = CURL_BLOB_COPY;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(h) == CURLE_OK && b.len > 0)
		j = json_loadb(b.data, b.len, 0, NULL);
	curl_easy_cleanup(h);
	buf_release(&b);
	free(url);
	return j;
}

/* How many calls the simulator saw of `method` to a path ending in
 * `suffix`. */
static int
calls(struct env *e, const char *method, const char *suffix)
{
	json_t		*list, *c;
	const char	*m, *p;
	size_t		 i, ls = strlen(suffix);
	int		 n = 0;

	if ((list = sim_http(e, "GET", "/_sim/calls")) == NULL) {
		t_fail(__FILE__, __LINE__, "GET /_sim/calls failed");
		return -1;
	}
	json_array_foreach(list, i, c) {
		m = json_string_value(json_object_get(c, "method"));
		p = json_string_value(json_object_get(c, "path"));
		if (m == NULL || p == NULL || strcmp(m, method) != 0 ||
		    strlen(p) < ls || strcmp(p + strlen(p) - ls, suffix) != 0)
			continue;
		n++;
	}
	json_decref(list);
	return n;
}

static void
calls_forget(struct env *e)
{
	json_decref(sim_http(e, "DELETE", "/_sim/calls"));
}

/* Waits for a task to end; returns its exit status (caller frees). */
static char *
wait_task(struct env *e, const char *upid, int timeout_ms)
{
	struct pve_task_status	 ts;
	char			*cause = NULL, *exitstatus;
	int64_t			 until = now_ms() + timeout_ms;

	while (now_ms() < until) {
		if (pve_task_status(e->pve, upid, &ts, &cause) != PVE_OK) {
			t_fail(__FILE__, __LINE__, "task status: %s", cause);
			free(cause);
			return NULL;
		}
		if (!ts.running) {
			exitstatus = ts.exitstatus;
			ts.exitstatus = NULL;
			return exitstatus;
		}
		pve_task_status_release(&ts);
		sleep_ms(50);
	}
	t_fail(__FILE__, __LINE__, "task %s did not end", upid);
	return NULL;
}

/* POSTs an action on guest `ref` and returns its UPID (caller frees). */
static char *
act(struct env *e, const char *ref, const char *method, const char *suffix,
    const struct pve_param *p, size_t np, char **cause)
{
	struct pve_guest	 g;
	json_t			*data = NULL;
	char			*path, *upid = NULL;

	if (pve_resolve_guest(e->pve, ref, &g, cause) != PVE_OK)
		return NULL;
	path = pve_guest_path(&g, suffix);
	if (pve_request(e->pve, method, path, p, np, &data, cause) ==
	    PVE_OK) {
		if (json_is_string(data))
			upid = xstrdup(json_string_value(data));
		else
			set_cause(cause, "no UPID in the reply");
	}
	json_decref(data);
	free(path);
	pve_guest_release(&g);
	return upid;
}

/* Runs an action to its end; returns 1 when the task ended OK. */
static int
act_ok(struct env *e, const char *ref, const char *suffix,
    const struct pve_param *p, size_t np)
{
	char	*cause = NULL, *upid, *exitstatus;
	int	 ok;

	upid = act(e, ref, "POST", suffix, p, np, &cause);
	if (upid == NULL) {
		t_fail(__FILE__, __LINE__, "%s %s: %s", ref, suffix, cause);
		free(cause);
		return 0;
	}
	exitstatus = wait_task(e, upid, 10000);
	ok = exitstatus != NULL && strcmp(exitstatus, "OK") == 0;
	if (!ok)
		t_fail(__FILE__, __LINE__, "%s %s ended %s", ref, suffix,
		    exitstatus ? exitstatus : "(null)");
	free(exitstatus);
	free(upid);
	return ok;
}

/* The guest's current status from status/current. */
static char *
current_status(struct env *e, const char *ref)
{
	struct pve_guest	 g;
	json_t			*data = NULL;
	char			*path, *cause = NULL, *s = NULL;
	const char		*q;

	if (pve_resolve_guest(e->pve, ref, &g, &cause) != PVE_OK) {
		free(cause);
		return NULL;
	}
	path = pve_guest_path(&g, "/status/current");
	if (pve_request(e->pve, "GET", path, NULL, 0, &data, &cause) ==
	    PVE_OK) {
		q = json_string_value(json_object_get(data, "qmpstatus"));
		if (q == NULL || strcmp(q, "paused") != 0)
			q = json_string_value(json_object_get(data, "status"));
		s = q != NULL ? xstrdup(q) : NULL;
	}
	free(cause);
	json_decref(data);
	free(path);
	pve_guest_release(&g);
	return s;
}

#define T_STATUS(e, ref, want) do {					\
	char	*t_s_ = current_status(e, ref);				\
	T_EQ_STR(t_s_, want);						\
	free(t_s_);							\
} while (0)

/*
 * Read commands.
 */

static void
test_format_status_nodes_guests(void)
{
	struct env	 e;
	char		*out, *cause = NULL;

	if (env_start(&e, 200) != 0)
		return;
	out = pve_format_status(e.pve, &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "Cluster homelab: quorate\n");
	T_CONTAINS(out, "Nodes: 3/3 online\n");
	T_CONTAINS(out, "Guests: 6 running, 5 stopped, 2 templates\n");
	T_CONTAINS(out, "Top CPU: ");
	/* It says it summarises storage: the fullest ones. */
	T_CONTAINS(out, "Storage: fullest pve2 local-lvm 57%, pve1 local-lvm "
	    "39%, nas-backup 31%");
	free(out);

	out = pve_format_nodes(e.pve, &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "Nodes (3):\n");
	T_CONTAINS(out, "pve1: online, up ");
	T_CONTAINS(out, "pve2: online");
	T_CONTAINS(out, "pve3: online");
	T_CONTAINS(out, "  load ");
	free(out);

	out = pve_format_guests(e.pve, &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "Guests (13):\n");
	T_CONTAINS(out, "100 pvebot (lxc, pve1) running");
	T_CONTAINS(out, "101 web-01 (qemu, pve1) stopped\n");
	T_CONTAINS(out, "112 test (qemu, pve2) stopped\n");
	T_CONTAINS(out, "9000 ubuntu-tmpl (qemu, pve1) template\n");
	/* Sorted by VMID. */
	T_OK(strstr(out, "101 web-01") < strstr(out, "102 db-01"));
	T_OK(strstr(out, "112 test") < strstr(out, "9000 ubuntu-tmpl"));
	free(out);

	/* A node goes away, quorum is lost: status says so. */
	admin(&e, "fault", "{\"node\":\"pve3\",\"online\":false}");
	admin(&e, "fault", "{\"quorate\":false}");
	out = pve_format_status(e.pve, &cause);
	T_CONTAINS(out, "NOT QUORATE");
	T_CONTAINS(out, "Nodes: 2/3 online (offline: pve3)");
	free(out);
	out = pve_format_nodes(e.pve, &cause);
	T_CONTAINS(out, "pve3: offline");
	free(out);
	free(cause);
	env_stop(&e);
}

/* quorum reads /cluster/status through the API: no SSH needed. */
static void
test_format_quorum(void)
{
	struct env	 e;
	char		*out, *cause = NULL;

	if (env_start(&e, 200) != 0)
		return;
	out = pve_format_quorum(e.pve, &cause);
	T_OK(cause == NULL);
	T_EQ_STR(out, "Cluster homelab: quorate, 3 of 3 nodes online\n"
	    "pve1 (id 1): online, answers the API\n"
	    "pve2 (id 2): online\n"
	    "pve3 (id 3): online");
	free(out);
	admin(&e, "fault", "[{\"node\":\"pve2\",\"online\":false},"
	    "{\"node\":\"pve3\",\"online\":false},{\"quorate\":false}]");
	out = pve_format_quorum(e.pve, &cause);
	T_CONTAINS(out, "Cluster homelab: NOT QUORATE (no quorum), 1 of 3 "
	    "nodes online\nWithout quorum Proxmox refuses changes");
	T_CONTAINS(out, "pve2 (id 2): OFFLINE\npve3 (id 3): OFFLINE");
	free(out);
	calls_forget(&e);
	admin(&e, "fault", "{\"kind\":\"error\",\"status\":500,"
	    "\"message\":\"boom\",\"match\":\"GET /cluster/status\"}");
	T_OK(pve_format_quorum(e.pve, &cause) == NULL);
	T_CONTAINS(cause, "boom");
	free(cause);
	env_stop(&e);
}

/* storage: per node with bars, a shared pool once, full ones marked. */
static void
test_format_storage(void)
{
	struct env	 e;
	char		*out, *cause = NULL;

	if (env_start(&e, 200) != 0)
		return;
	admin(&e, "metrics", "{\"storage\":\"local\",\"node\":\"pve3\","
	    "\"disk\":99000000000}");
	out = pve_format_storage(e.pve, &cause);
	T_OK(cause == NULL);
	T_EQ_STR(out, "shared:\n"
	    "  nas-backup (nfs, shared) [\xe2\x96\x88\xe2\x96\x88"
	    "\xe2\x96\x88\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91] 31% "
	    "1.2 TiB of 3.9 TiB\n"
	    "pve1:\n"
	    "  local (dir) [\xe2\x96\x88\xe2\x96\x91\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91] 14% 14.0 GiB of "
	    "100.0 GiB\n"
	    "  local-lvm (lvmthin) [\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
	    "\xe2\x96\x88\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91] 39% 310.0 GiB of "
	    "800.0 GiB\n"
	    "pve2:\n"
	    "  local (dir) [\xe2\x96\x88\xe2\x96\x88\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91] 21% 21.0 GiB of "
	    "100.0 GiB\n"
	    "  local-lvm (lvmthin) [\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
	    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91] 57% 455.0 GiB of "
	    "800.0 GiB\n"
	    "pve3:\n"
	    "  local (dir) [\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
	    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
	    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x91] 92% 92.2 GiB of "
	    "100.0 GiB, almost full\n"
	    "  local-lvm (lvmthin) [\xe2\x96\x88\xe2\x96\x88\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91"
	    "\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91] 16% 128.0 GiB of "
	    "800.0 GiB");
	free(out);
	/* status names the full one first. */
	out = pve_format_status(e.pve, &cause);
	T_CONTAINS(out, "Storage: fullest pve3 local 92% (almost full), pve2 "
	    "local-lvm 57%");
	free(out);
	/* Without Datastore.Audit the API lists no storage: say why. */
	admin(&e, "fault", "{\"token\":\"" TOKEN "\",\"revoke\":"
	    "\"Datastore.Audit\"}");
	out = pve_format_storage(e.pve, &cause);
	T_EQ_STR(out, "No storage is visible to pvebot's token (it needs "
	    "Datastore.Audit)");
	free(out);
	admin(&e, "fault", "{\"token\":\"" TOKEN "\",\"grant\":"
	    "\"Datastore.Audit\"}");
	/* An offline node's storage says so; the shared pool stays. */
	admin(&e, "fault", "{\"node\":\"pve1\",\"online\":false}");
	out = pve_format_storage(e.pve, &cause);
	T_CONTAINS(out, "pve1:\n  local (dir) unknown\n  local-lvm (lvmthin) "
	    "unknown\n");
	T_CONTAINS(out, "nas-backup (nfs, shared) [");
	free(out);
	free(cause);
	env_stop(&e);
}

static void
test_format_guest_by_id_and_name(void)
{
	struct env	 e;
	char		*out, *cause = NULL;

	if (env_start(&e, 200) != 0)
		return;
	out = pve_format_guest(e.pve, "101", &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "101 web-01 (qemu on pve1)\n");
	T_CONTAINS(out, "status: stopped\n");
	T_CONTAINS(out, "\ntags: web, prod");
	T_CONTAINS(out, "\nmem 0 B/4.0 GiB\ndisk 32.0 GiB\n");
	free(out);

	out = pve_format_guest(e.pve, "db-01", &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "102 db-01 (qemu on pve1)\n");
	T_CONTAINS(out, "status: running, up ");
	T_CONTAINS(out, "cpu ");
	free(out);

	out = pve_format_guest(e.pve, "dns", &cause);
	T_CONTAINS(out, "103 dns (lxc on pve2)\n");
	T_CONTAINS(out, "\ntags: infra");
	T_CONTAINS(out, " of 1, mem 128.0 MiB/256.0 MiB\n"
	    "disk 1.3 GiB/4.0 GiB\n");
	free(out);
	free(cause);
	env_stop(&e);
}

static void
test_resolve_unknown_and_ambiguous(void)
{
	struct env		 e;
	struct pve_guest	 g;
	char			*cause = NULL;

	if (env_start(&e, 200) != 0)
		return;
	T_EQ_INT(pve_resolve_guest(e.pve, "999", &g, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "no guest 999 in the cluster");
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_resolve_guest(e.pve, "test", &g, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "name 'test' matches 111 (lxc on pve1), 112 (qemu on "
	    "pve2): use the VMID");
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_resolve_guest(e.pve, "nope", &g, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "no guest named 'nope' in the cluster");
	free(cause);
	cause = NULL;

	T_EQ_INT(pve_resolve_guest(e.pve, "112", &g, &cause), PVE_OK);
	T_EQ_INT(g.vmid, 112);
	T_EQ_STR(g.node, "pve2");
	T_EQ_STR(g.type, "qemu");
	pve_guest_release(&g);
	T_EQ_INT(pve_resolve_guest(e.pve, "monitoring-db", &g, &cause),
	    PVE_OK);
	T_EQ_INT(g.vmid, 105);
	T_EQ_STR(g.type, "lxc");
	T_OK(pve_guest_has_tag(&g, "pvebot-self"));
	T_OK(pve_guest_has_tag(&g, "monitoring"));
	pve_guest_release(&g);
	T_EQ_INT(pve_resolve_guest(e.pve, "ubuntu-tmpl", &g, &cause), PVE_OK);
	T_OK(g.is_template);
	pve_guest_release(&g);
	env_stop(&e);
}

static void
test_format_snapshots_and_backups(void)
{
	struct env	 e;
	char		*out, *cause = NULL;

	if (env_start(&e, 200) != 0)
		return;
	out = pve_format_snapshots(e.pve, "101", &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "Snapshots of 101 web-01 (2):\n");
	T_CONTAINS(out, "pre-upgrade  ");
	T_CONTAINS(out, "safety-1  ");
	T_NOT_CONTAINS(out, "current");
	free(out);
	out = pve_format_snapshots(e.pve, "media", &cause);
	T_EQ_STR(out, "104 media has no snapshots");
	free(out);

	out = pve_format_backups(e.pve, "102", &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "Backups of 102 db-01 (2), newest first:\n");
	T_CONTAINS(out, "nas-backup");
	T_CONTAINS(out, "vzdump-qemu-102-");
	free(out);
	out = pve_format_backups(e.pve, "104", &cause);
	T_EQ_STR(out, "104 media has no backups on pve2");
	free(out);
	T_OK(pve_format_backups(e.pve, "999", &cause) == NULL);
	T_EQ_STR(cause, "no guest 999 in the cluster");
	free(cause);
	env_stop(&e);
}

static void
test_format_partial_failures(void)
{
	struct env	 e;
	char		*out, *cause = NULL;

	if (env_start(&e, 150) != 0)
		return;
	/* One storage failing does not hide the others' backups. */
	admin(&e, "fault", "{\"kind\":\"error\",\"match\":"
	    "\"GET */storage/local/content\",\"status\":500,\"message\":"
	    "\"storage 'local' is not online\"}");
	out = pve_format_backups(e.pve, "102", &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "Backups of 102 db-01 (2), newest first:\n");
	T_CONTAINS(out, "\nnot readable:\nlocal: storage 'local' is not "
	    "online");
	free(out);

	/* One node failing does not hide the others' tasks; asked for by
	 * name, its error is the answer. */
	admin(&e, "fault", "{\"kind\":\"error\",\"match\":"
	    "\"GET */nodes/pve2/tasks\",\"status\":596,\"message\":"
	    "\"Connection timed out\"}");
	T_OK(act_ok(&e, "101", "/status/start", NULL, 0));
	out = pve_format_tasks(e.pve, NULL, &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "qmstart 101 on pve1: OK\n");
	T_CONTAINS(out, "\nnot readable:\nnode pve2 unreachable (596 "
	    "Connection timed out)");
	free(out);
	out = pve_format_tasks(e.pve, "pve2", &cause);
	T_OK(out == NULL);
	T_EQ_STR(cause, "node pve2 unreachable (596 Connection timed out)");
	free(cause);
	cause = NULL;

	/* A node whose status cannot be read still gets its line. */
	admin(&e, "fault", "{\"kind\":\"error\",\"match\":"
	    "\"GET */nodes/pve3/status\",\"status\":596,\"message\":"
	    "\"Connection timed out\"}");
	out = pve_format_nodes(e.pve, &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "pve3: online");
	T_CONTAINS(out, "  (details unavailable: node pve3 unreachable (596 "
	    "Connection timed out))");
	T_CONTAINS(out, "pve1: online");
	free(out);
	env_stop(&e);
}

static void
test_format_failed_task(void)
{
	struct env		 e;
	struct pve_param	 p[] = {
		{ "vmid", "103" },
		{ "storage", "nas-backup" },
		{ "mode", "stop" }
	};
	json_t			*data = NULL;
	char			*cause = NULL, *upid, *st, *out;

	if (env_start(&e, 200) != 0)
		return;
	admin(&e, "fault", "{\"fail_task\":\"vzdump\",\"message\":"
	    "\"job errors\"}");
	T_EQ_INT(pve_request(e.pve, "POST", "/nodes/pve2/vzdump", p,
	    nitems(p), &data, &cause), PVE_OK);
	upid = xstrdup(json_string_value(data));
	json_decref(data);
	st = wait_task(&e, upid, 10000);
	T_EQ_STR(st, "job errors");
	free(st);
	out = pve_format_task(e.pve, upid, &cause);
	T_CONTAINS(out, "vzdump 103 on pve2, started ");
	T_CONTAINS(out, "\nstatus: job errors\n");
	T_CONTAINS(out, "TASK ERROR: job errors");
	free(out);
	free(upid);
	env_stop(&e);
}

/*
 * A log read while the task has written nothing yet is empty, not
 * Proxmox's "no content" placeholder: a reader that counts the lines it
 * got (as the worker does) must not skip the first real line.
 */
static void
test_task_log_placeholder(void)
{
	struct env	 e;
	json_t		*lines = NULL, *l;
	char		*cause = NULL, *upid, *st;
	size_t		 i;
	int		 next = 0;
	struct buf	 seen;

	if (env_start(&e, 1500) != 0)
		return;
	buf_init(&seen, 0);
	upid = act(&e, "101", "POST", "/status/start", NULL, 0, &cause);
	T_OK(upid != NULL);
	if (upid == NULL)
		goto out;
	/* At once: the cloud-init line comes at a fifth of the task. */
	T_EQ_INT(pve_task_log(e.pve, upid, 0, &lines, &cause), PVE_OK);
	T_EQ_INT((int)json_array_size(lines), 0);
	next += (int)json_array_size(lines);
	json_decref(lines);
	st = wait_task(&e, upid, 10000);
	T_EQ_STR(st, "OK");
	free(st);
	T_EQ_INT(pve_task_log(e.pve, upid, next, &lines, &cause), PVE_OK);
	json_array_foreach(lines, i, l)
		buf_printf(&seen, "%s\n", json_string_value(json_object_get(l,
		    "t")));
	json_decref(lines);
	T_EQ_STR(buf_cstr(&seen), "generating cloud-init ISO\nTASK OK\n");
	/* And `task` shows the real lines only. */
	st = pve_format_task(e.pve, upid, &cause);
	T_NOT_CONTAINS(st, "no content");
	T_CONTAINS(st, "last log lines:\ngenerating cloud-init ISO\nTASK OK");
	free(st);
	free(upid);
out:
	free(cause);
	buf_release(&seen);
	env_stop(&e);
}

/*
 * Actions.
 */

static void
test_power_actions_qemu_and_lxc(void)
{
	struct env	 e;

	if (env_start(&e, 150) != 0)
		return;
	/* qemu 101, stopped at start. */
	T_OK(act_ok(&e, "101", "/status/start", NULL, 0));
	T_STATUS(&e, "101", "running");
	T_OK(act_ok(&e, "101", "/status/suspend", NULL, 0));
	T_STATUS(&e, "101", "paused");
	T_OK(act_ok(&e, "101", "/status/resume", NULL, 0));
	T_STATUS(&e, "101", "running");
	T_OK(act_ok(&e, "101", "/status/reboot", NULL, 0));
	T_STATUS(&e, "101", "running");
	T_OK(act_ok(&e, "101", "/status/shutdown", NULL, 0));
	T_STATUS(&e, "101", "stopped");
	T_OK(act_ok(&e, "web-01", "/status/start", NULL, 0));
	T_OK(act_ok(&e, "web-01", "/status/stop", NULL, 0));
	T_STATUS(&e, "101", "stopped");

	/* lxc 111, stopped at start. */
	T_OK(act_ok(&e, "111", "/status/start", NULL, 0));
	T_STATUS(&e, "111", "running");
	T_OK(act_ok(&e, "111", "/status/suspend", NULL, 0));
	T_OK(act_ok(&e, "111", "/status/resume", NULL, 0));
	T_STATUS(&e, "111", "running");
	T_OK(act_ok(&e, "111", "/status/reboot", NULL, 0));
	T_STATUS(&e, "111", "running");
	T_OK(act_ok(&e, "111", "/status/shutdown", NULL, 0));
	T_STATUS(&e, "111", "stopped");
	T_OK(act_ok(&e, "111", "/status/start", NULL, 0));
	T_OK(act_ok(&e, "111", "/status/stop", NULL, 0));
	T_STATUS(&e, "111", "stopped");
	env_stop(&e);
}

static void
test_snapshots_qemu_vmstate_lxc_without(void)
{
	struct env		 e;
	struct pve_param	 qp[] = {
		{ "snapname", "pvebot-1" },
		{ "description", "before upgrade\nof the database" },
		{ "vmstate", "1" }
	};
	struct pve_param	 lp[] = {
		{ "snapname", "pvebot-2" },
		{ "description", "before upgrade" }
	};
	char			*out, *cause = NULL, *upid;

	if (env_start(&e, 150) != 0)
		return;
	/* qemu 102 is running: a snapshot with its RAM. */
	T_OK(act_ok(&e, "102", "/snapshot", qp, nitems(qp)));
	out = pve_format_snapshots(e.pve, "102", &cause);
	T_CONTAINS(out, "Snapshots of 102 db-01 (2):\n");
	T_CONTAINS(out, "pvebot-1  ");
	/* A multi-line description stays on its line. */
	T_CONTAINS(out, "+RAM - before upgrade of the database");
	free(out);
	T_OK(act_ok(&e, "102", "/snapshot/pvebot-1/rollback", NULL, 0));
	upid = act(&e, "102", "DELETE", "/snapshot/pvebot-1", NULL, 0,
	    &cause);
	T_OK(upid != NULL);
	free(wait_task(&e, upid, 10000));
	free(upid);
	out = pve_format_snapshots(e.pve, "102", &cause);
	T_NOT_CONTAINS(out, "pvebot-1");
	free(out);

	/* An LXC snapshot takes no vmstate: the API refuses it. */
	upid = act(&e, "103", "POST", "/snapshot", qp, nitems(qp), &cause);
	T_OK(upid == NULL);
	T_CONTAINS(cause, "bad parameter vmstate: ");
	free(cause);
	cause = NULL;
	T_OK(act_ok(&e, "103", "/snapshot", lp, nitems(lp)));
	out = pve_format_snapshots(e.pve, "dns", &cause);
	T_CONTAINS(out, "pvebot-2  ");
	T_NOT_CONTAINS(out, "+RAM");
	free(out);
	T_OK(act_ok(&e, "103", "/snapshot/pvebot-2/rollback", NULL, 0));
	upid = act(&e, "103", "DELETE", "/snapshot/pvebot-2", NULL, 0,
	    &cause);
	T_OK(upid != NULL);
	free(wait_task(&e, upid, 10000));
	free(upid);
	out = pve_format_snapshots(e.pve, "dns", &cause);
	T_EQ_STR(out, "103 dns has no snapshots");
	free(out);
	free(cause);
	env_stop(&e);
}

static void
test_backup_progress_from_task_log(void)
{
	struct env		 e;
	struct pve_param	 p[] = {
		{ "vmid", "102" },
		{ "mode", "snapshot" },
		{ "storage", "nas-backup" }
	};
	json_t			*data = NULL, *lines, *l;
	struct pve_task_status	 ts;
	char			*cause = NULL, *upid, *out;
	int			 seen[101], distinct = 0, last = -1, pct;
	int			 offset = 0, running = 1;
	size_t			 i;

	if (env_start(&e, 1500) != 0)
		return;
	memset(seen, 0, sizeof seen);
	T_EQ_INT(pve_request(e.pve, "POST", "/nodes/pve1/vzdump", p,
	    nitems(p), &data, &cause), PVE_OK);
	T_OK(json_is_string(data));
	upid = xstrdup(json_string_value(data));
	json_decref(data);
	/* Follow the log as the worker will: new lines since the last. */
	while (running) {
		T_EQ_INT(pve_task_status(e.pve, upid, &ts, &cause), PVE_OK);
		running = ts.running;
		if (!running)
			T_EQ_STR(ts.exitstatus, "OK");
		pve_task_status_release(&ts);
		if (pve_task_log(e.pve, upid, offset, &lines, &cause) !=
		    PVE_OK)
			break;
		json_array_foreach(lines, i, l) {
			pct = pve_progress_percent(json_string_value(
			    json_object_get(l, "t")));
			if (pct >= 0) {
				T_OK(pct >= last);
				last = pct;
				if (!seen[pct]++)
					distinct++;
			}
		}
		offset += (int)json_array_size(lines);
		json_decref(lines);
		sleep_ms(100);
	}
	T_OK(distinct >= 3);
	T_EQ_INT(last, 100);

	out = pve_format_task(e.pve, upid, &cause);
	T_CONTAINS(out, "vzdump 102 on pve1, started ");
	T_CONTAINS(out, "by pvebot@pve!bot\n");
	T_CONTAINS(out, "status: OK\n");
	T_CONTAINS(out, "TASK OK");
	free(out);
	out = pve_format_backups(e.pve, "102", &cause);
	T_CONTAINS(out, "Backups of 102 db-01 (3), newest first:\n");
	free(out);
	out = pve_format_tasks(e.pve, "pve1", &cause);
	T_CONTAINS(out, "Recent tasks on pve1:\n");
	T_CONTAINS(out, "vzdump 102 on pve1: OK\n");
	T_CONTAINS(out, upid);
	free(out);
	free(upid);
	free(cause);
	env_stop(&e);
}

static void
test_live_migration_progress(void)
{
	struct env		 e;
	struct pve_guest	 g;
	struct pve_param	 p[] = {
		{ "target", "pve1" },
		{ "online", "1" }
	};
	json_t			*lines, *l;
	char			*cause = NULL, *upid, *st;
	int			 distinct = 0, last = -1, pct;
	size_t			 i;

	if (env_start(&e, 600) != 0)
		return;
	/* 106 k8s-node-1 runs on pve3. */
	upid = act(&e, "106", "POST", "/migrate", p, nitems(p), &cause);
	T_OK(upid != NULL);
	if (upid == NULL) {
		free(cause);
		env_stop(&e);
		return;
	}
	T_CONTAINS(upid, ":qmigrate:106:");
	st = wait_task(&e, upid, 10000);
	T_EQ_STR(st, "OK");
	free(st);
	T_EQ_INT(pve_task_log(e.pve, upid, 0, &lines, &cause), PVE_OK);
	json_array_foreach(lines, i, l) {
		pct = pve_progress_percent(json_string_value(json_object_get(l,
		    "t")));
		if (pct > last) {
			distinct++;
			last = pct;
		}
	}
	json_decref(lines);
	T_OK(distinct >= 2);
	T_EQ_INT(pve_resolve_guest(e.pve, "106", &g, &cause), PVE_OK);
	T_EQ_STR(g.node, "pve1");
	T_EQ_STR(g.status, "running");
	pve_guest_release(&g);
	free(upid);
	env_stop(&e);
}

static void
test_migrate_clone_unlock(void)
{
	struct env		 e;
	struct pve_guest	 g;
	struct pve_param	 mig[] = { { "target", "pve3" } };
	struct pve_param	 clone[] = {
		{ "newid", "120" },
		{ "name", "web-02" }
	};
	struct pve_param	 unlock[] = { { "delete", "lock" } };
	struct pve_param	 tags[] = { { "tags", "web;prod;pinned" } };
	char			*cause = NULL, *upid;

	if (env_start(&e, 150) != 0)
		return;
	/* 104 media (qemu, stopped) moves from pve2 to pve3. */
	T_OK(act_ok(&e, "104", "/migrate", mig, nitems(mig)));
	T_EQ_INT(pve_resolve_guest(e.pve, "media", &g, &cause), PVE_OK);
	T_EQ_STR(g.node, "pve3");
	pve_guest_release(&g);

	/* A stopped container moves too. */
	T_OK(act_ok(&e, "111", "/migrate", mig, nitems(mig)));
	T_EQ_INT(pve_resolve_guest(e.pve, "111", &g, &cause), PVE_OK);
	T_EQ_STR(g.node, "pve3");
	pve_guest_release(&g);

	/* Tags are config too. */
	T_EQ_INT(pve_request(e.pve, "PUT", "/nodes/pve1/qemu/101/config",
	    tags, 1, NULL, &cause), PVE_OK);
	T_EQ_INT(pve_resolve_guest(e.pve, "101", &g, &cause), PVE_OK);
	T_OK(pve_guest_has_tag(&g, "pinned"));
	T_OK(pve_guest_has_tag(&g, "web"));
	pve_guest_release(&g);

	/* A clone of the template. */
	T_OK(act_ok(&e, "9000", "/clone", clone, nitems(clone)));
	T_EQ_INT(pve_resolve_guest(e.pve, "web-02", &g, &cause), PVE_OK);
	T_EQ_INT(g.vmid, 120);
	T_EQ_STR(g.node, "pve1");
	pve_guest_release(&g);

	/* A stale backup lock: actions fail with the API's sentence until
	 * the lock is removed; an API token cannot remove it (the config
	 * path checks the lock), only `qm unlock` on the node can. */
	admin(&e, "guest", "{\"vmid\":101,\"lock\":\"backup\"}");
	T_EQ_INT(pve_resolve_guest(e.pve, "101", &g, &cause), PVE_OK);
	T_EQ_STR(g.lock, "backup");
	pve_guest_release(&g);
	upid = act(&e, "101", "POST", "/status/start", NULL, 0, &cause);
	T_OK(upid == NULL);
	T_EQ_STR(cause, "VM is locked (backup)");
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_request(e.pve, "PUT", "/nodes/pve1/qemu/101/config",
	    unlock, 1, NULL, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "VM is locked (backup)");
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_resolve_guest(e.pve, "101", &g, &cause), PVE_OK);
	T_EQ_STR(g.lock, "backup");
	pve_guest_release(&g);
	admin(&e, "guest", "{\"vmid\":101,\"lock\":\"\"}");
	T_OK(act_ok(&e, "101", "/status/start", NULL, 0));
	free(cause);
	env_stop(&e);
}

static void
test_tasks_find_and_stop(void)
{
	struct env		 e;
	struct pve_param	 p[] = {
		{ "vmid", "107" },
		{ "storage", "nas-backup" }
	};
	json_t			*data = NULL;
	char			*cause = NULL, *upid, *found = NULL, *st;
	char			*out;
	int64_t			 since = wall_now() - 1;

	if (env_start(&e, 60000) != 0)
		return;
	T_EQ_INT(pve_request(e.pve, "POST", "/nodes/pve3/vzdump", p,
	    nitems(p), &data, &cause), PVE_OK);
	upid = xstrdup(json_string_value(data));
	json_decref(data);

	/* After a crash the UPID is found again in the node's task list. */
	T_EQ_INT(pve_task_find(e.pve, "pve3", "vzdump", 107, TOKEN, since,
	    &found, &cause), PVE_OK);
	T_EQ_STR(found, upid);
	free(found);
	found = NULL;
	T_EQ_INT(pve_task_find(e.pve, "pve3", "vzdump", 107, TOKEN,
	    wall_now() + 60, &found, &cause), PVE_OK);
	T_OK(found == NULL);
	T_EQ_INT(pve_task_find(e.pve, "pve3", "qmstart", 107, TOKEN, since,
	    &found, &cause), PVE_OK);
	T_OK(found == NULL);

	out = pve_format_tasks(e.pve, NULL, &cause);
	T_CONTAINS(out, "vzdump 107 on pve3: running\n");
	free(out);
	out = pve_format_task(e.pve, upid, &cause);
	T_CONTAINS(out, "status: running");
	free(out);

	/* cancel: stop the running task. */
	T_EQ_INT(pve_task_stop(e.pve, upid, &cause), PVE_OK);
	st = wait_task(&e, upid, 5000);
	T_OK(st != NULL && strcmp(st, "OK") != 0);
	free(st);

	T_EQ_INT(pve_task_stop(e.pve, "not-a-upid", &cause), PVE_PERMANENT);
	T_CONTAINS(cause, "is not a Proxmox task id");
	free(cause);
	free(upid);
	env_stop(&e);
}

/*
 * Errors.
 */

static void
test_error_lines_from_the_api(void)
{
	struct env	 e;
	char		*cause = NULL, *upid, *out;
	json_t		*data = NULL;

	if (env_start(&e, 150) != 0)
		return;
	/* 403 naming the missing privilege. */
	admin(&e, "fault", "{\"token\":\"" TOKEN "\",\"revoke\":"
	    "\"VM.PowerMgmt\"}");
	upid = act(&e, "101", "POST", "/status/start", NULL, 0, &cause);
	T_OK(upid == NULL);
	T_EQ_STR(cause, "permission denied: token lacks VM.PowerMgmt on "
	    "/vms/101");
	free(cause);
	cause = NULL;
	admin(&e, "fault", "{\"token\":\"" TOKEN "\",\"grant\":"
	    "\"VM.PowerMgmt\"}");

	/* 500 with the API's message: no quorum, no writes. */
	admin(&e, "fault", "{\"quorate\":false}");
	upid = act(&e, "101", "POST", "/status/start", NULL, 0, &cause);
	T_OK(upid == NULL);
	T_EQ_STR(cause, "cluster not ready - no quorum?");
	free(cause);
	cause = NULL;
	admin(&e, "fault", "{\"quorate\":true}");
	admin(&e, "fault", "{\"kind\":\"error\",\"match\":\"POST *\","
	    "\"status\":500,\"message\":\"got timeout\",\"count\":1}");
	upid = act(&e, "101", "POST", "/status/start", NULL, 0, &cause);
	T_OK(upid == NULL);
	T_EQ_STR(cause, "got timeout");
	free(cause);
	cause = NULL;

	/* 595 from an offline node. */
	admin(&e, "fault", "{\"node\":\"pve3\",\"online\":false}");
	T_EQ_INT(pve_request(e.pve, "GET", "/nodes/pve3/status", NULL, 0,
	    &data, &cause), PVE_TEMPORARY);
	T_CONTAINS(cause, "node pve3 unreachable (595 ");
	free(cause);
	cause = NULL;
	upid = act(&e, "106", "POST", "/status/shutdown", NULL, 0, &cause);
	T_OK(upid == NULL);
	T_CONTAINS(cause, "node pve3 unreachable (595 ");
	free(cause);
	cause = NULL;

	/* Garbage instead of JSON. */
	admin(&e, "fault", "{\"kind\":\"garbage\",\"match\":\"GET *\","
	    "\"count\":1}");
	out = pve_format_guests(e.pve, &cause);
	T_OK(out == NULL);
	T_CONTAINS(cause, "Proxmox sent a reply that is not JSON");
	free(cause);
	cause = NULL;

	/* 401 with a wrong secret, and the secret is in no message. */
	env_client(&e, 0, "00000000-1111-2222-3333-444444444444",
	    sim_fingerprint(e.sim), NULL);
	out = pve_format_status(e.pve, &cause);
	T_OK(out == NULL);
	T_EQ_STR(cause, "Proxmox rejected the API token (401): check token_id "
	    "and secret");
	T_NOT_CONTAINS(cause, "00000000-1111");
	free(cause);
	env_stop(&e);
}

/*
 * TLS, fail-over and retries.
 */

static void
test_tls_pin_and_ca_file(void)
{
	struct env	 e;
	char		*cause = NULL, *out, *want;
	const char	*ca;
	const char	*wrong = "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:"
			    "EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF";

	if (env_start(&e, 150) != 0)
		return;
	out = pve_format_nodes(e.pve, &cause);
	T_CONTAINS(out, "Nodes (3):");
	free(out);

	calls_forget(&e);
	env_client(&e, 0, SECRET, wrong, NULL);
	out = pve_format_nodes(e.pve, &cause);
	T_OK(out == NULL);
	want = xasprintf("TLS fingerprint mismatch for https://127.0.0.1:%d/"
	    "api2/json: expected %s, got %s", sim_port(e.sim), wrong,
	    sim_fingerprint(e.sim));
	T_EQ_STR(cause, want);
	free(want);
	free(cause);
	cause = NULL;
	/* Nothing reached the simulator: no fall-back to no checks. */
	T_EQ_INT(calls(&e, "GET", "/nodes"), 0);

	ca = t_write("sim-ca.pem", sim_cert_pem(e.sim), 0644);
	env_client(&e, 0, SECRET, NULL, ca);
	out = pve_format_nodes(e.pve, &cause);
	T_OK(cause == NULL);
	T_CONTAINS(out, "Nodes (3):");
	free(out);

	env_client(&e, 0, SECRET, NULL, NULL);
	out = pve_format_nodes(e.pve, &cause);
	T_OK(out == NULL);
	T_CONTAINS(cause, "not trusted");
	free(cause);
	env_stop(&e);
}

static void
test_failover_and_retries(void)
{
	struct env	 e;
	char		*cause = NULL, *upid, *out, *url, *want;
	json_t		*data = NULL;

	if (env_start(&e, 150) != 0)
		return;
	/* A dead first URL: the start goes to the simulator, once. */
	env_client(&e, 1, SECRET, sim_fingerprint(e.sim), NULL);
	calls_forget(&e);
	upid = act(&e, "101", "POST", "/status/start", NULL, 0, &cause);
	T_OK(upid != NULL);
	free(wait_task(&e, upid, 5000));
	free(upid);
	T_EQ_INT(calls(&e, "POST", "/nodes/pve1/qemu/101/status/start"), 1);
	url = pve_current_url(e.pve);
	want = xasprintf("https://127.0.0.1:%d/api2/json", sim_port(e.sim));
	T_EQ_STR(url, want);
	free(url);
	free(want);

	/* The server took the POST and dropped the connection: not sent
	 * again, and the caller is told it may have run. */
	calls_forget(&e);
	admin(&e, "fault", "{\"kind\":\"drop\",\"match\":\"POST *\","
	    "\"count\":1}");
	upid = act(&e, "101", "POST", "/status/stop", NULL, 0, &cause);
	T_OK(upid == NULL);
	T_CONTAINS(cause, "no complete reply from Proxmox");
	T_EQ_INT(calls(&e, "POST", "/nodes/pve1/qemu/101/status/stop"), 1);
	free(cause);
	cause = NULL;

	/* A GET is retried after drops, and then succeeds. */
	calls_forget(&e);
	admin(&e, "fault", "{\"kind\":\"drop\",\"match\":\"GET *\","
	    "\"count\":2}");
	T_EQ_INT(pve_request(e.pve, "GET", "/cluster/status", NULL, 0, &data,
	    &cause), PVE_OK);
	T_OK(json_is_array(data));
	json_decref(data);
	T_EQ_INT(calls(&e, "GET", "/cluster/status"), 3);

	/* A slow reply past request_timeout: a POST is not repeated. */
	calls_forget(&e);
	admin(&e, "fault", "{\"kind\":\"slow\",\"match\":\"POST *\","
	    "\"delay_ms\":7000,\"count\":1}");
	upid = act(&e, "102", "POST", "/status/reboot", NULL, 0, &cause);
	T_OK(upid == NULL);
	T_CONTAINS(cause, "no complete reply");
	T_EQ_INT(calls(&e, "POST", "/nodes/pve1/qemu/102/status/reboot"), 1);
	free(cause);
	cause = NULL;
	out = pve_format_status(e.pve, &cause);
	T_CONTAINS(out, "Cluster homelab");
	free(out);
	free(cause);
	env_stop(&e);
}


/*
 * Prune and restore (src/sim/sim_backup.c).
 */

/* A request's data, or NULL with *cause (caller frees both). */
static json_t *
req(struct env *e, const char *method, const char *path,
    const struct pve_param *p, size_t np, char **cause)
{
	json_t	*data = NULL;

	if (pve_request(e->pve, method, path, p, np, &data, cause) != PVE_OK) {
		json_decref(data);
		return NULL;
	}
	return data;
}

/* "keep,keep,remove": the marks of a dry run in its order. */
static char *
marks_of(const json_t *list, int64_t *protected_ctime)
{
	struct buf	 b;
	const json_t	*o;
	size_t		 i;

	buf_init(&b, 0);
	json_array_foreach(list, i, o) {
		const char	*m = json_string_value(json_object_get(o,
				    "mark"));

		buf_printf(&b, "%s%s@%lld", i > 0 ? "," : "", m != NULL ? m :
		    "?", (long long)json_integer_value(json_object_get(o,
		    "ctime")));
		if (m != NULL && strcmp(m, "protected") == 0)
			*protected_ctime = json_integer_value(
			    json_object_get(o, "ctime"));
	}
	return buf_steal(&b);
}

static void
test_prune_dry_run_and_delete(void)
{
	struct env		 e;
	struct pve_param	 p[3];
	json_t			*data;
	char			*cause = NULL, *marks, *exitstatus, *want;
	char			 js[256];
	int64_t			 d0 = 1795136400, prot = 0;	/* 2026-11-20 01:00 */
	int			 i;

	if (env_start(&e, 150) != 0)
		return;
	admin(&e, "backup", "{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"clear\":true}");
	for (i = 0; i <= 5; i++) {
		snprintf(js, sizeof js, "{\"storage\":\"nas-backup\","
		    "\"vmid\":101,\"ctime\":%lld}", (long long)(d0 + i * 86400));
		admin(&e, "backup", js);
	}
	snprintf(js, sizeof js, "[{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"ctime\":%lld},{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"ctime\":%lld,\"protected\":true}]",
	    (long long)(d0 + 5 * 86400 + 12 * 3600),
	    (long long)(d0 - 30 * 86400));
	admin(&e, "backup", js);

	/* keep-last=2 takes both of day 5; keep-daily=3 days 4, 3, 2. */
	p[0] = (struct pve_param){ "prune-backups", "keep-last=2,keep-daily=3" };
	p[1] = (struct pve_param){ "vmid", "101" };
	p[2] = (struct pve_param){ "type", "qemu" };
	data = req(&e, "GET", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p, 3, &cause);
	T_OK(data != NULL && json_array_size(data) == 8);
	marks = marks_of(data, &prot);
	want = xasprintf("keep@%lld,keep@%lld,keep@%lld,keep@%lld,keep@%lld,"
	    "remove@%lld,remove@%lld,protected@%lld",
	    (long long)(d0 + 5 * 86400 + 12 * 3600),
	    (long long)(d0 + 5 * 86400), (long long)(d0 + 4 * 86400),
	    (long long)(d0 + 3 * 86400), (long long)(d0 + 2 * 86400),
	    (long long)(d0 + 86400), (long long)d0,
	    (long long)(d0 - 30 * 86400));
	T_EQ_STR(marks, want);
	free(want);
	free(marks);
	json_decref(data);

	/* keep-weekly=1: the newest of the ISO week (Mon 23 .. Sun 29). */
	p[0] = (struct pve_param){ "prune-backups", "keep-weekly=2" };
	data = req(&e, "GET", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p, 2, &cause);
	marks = marks_of(data, &prot);
	/* d0 is a Friday: days 0-2 are one week, days 3-5 the next. */
	want = xasprintf("keep@%lld,remove@%lld,remove@%lld,remove@%lld,"
	    "keep@%lld,remove@%lld,remove@%lld,protected@%lld",
	    (long long)(d0 + 5 * 86400 + 12 * 3600),
	    (long long)(d0 + 5 * 86400), (long long)(d0 + 4 * 86400),
	    (long long)(d0 + 3 * 86400), (long long)(d0 + 2 * 86400),
	    (long long)(d0 + 86400), (long long)d0,
	    (long long)(d0 - 30 * 86400));
	T_EQ_STR(marks, want);
	free(want);
	free(marks);
	json_decref(data);

	/* As strict as the schema: bad property strings, booleans. */
	p[0] = (struct pve_param){ "prune-backups", "keep-lots=2" };
	T_OK(req(&e, "GET", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p, 1, &cause) == NULL);
	T_CONTAINS(cause, "prune-backups");
	free(cause);
	cause = NULL;
	p[0] = (struct pve_param){ "prune-backups", "keep-last=0" };
	T_OK(req(&e, "GET", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p, 1, &cause) == NULL);
	free(cause);
	cause = NULL;
	p[0] = (struct pve_param){ "prune-backups", "keep-all=1,keep-last=1" };
	T_OK(req(&e, "GET", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p, 1, &cause) == NULL);
	free(cause);
	cause = NULL;
	p[0] = (struct pve_param){ "dry-run", "1" };
	T_OK(req(&e, "GET", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p, 1, &cause) == NULL);
	free(cause);
	cause = NULL;

	/* DELETE removes what the marks say, in a task. */
	p[0] = (struct pve_param){ "prune-backups", "keep-last=2,keep-daily=3" };
	data = req(&e, "DELETE", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p, 3, &cause);
	T_OK(json_is_string(data));
	T_CONTAINS(json_string_value(data), ":prunebackups:nas-backup:");
	exitstatus = wait_task(&e, json_string_value(data), 10000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	{
		char	*log = NULL;

		log = pve_format_task(e.pve, json_string_value(data), &cause);
		T_CONTAINS(log, "removing backup");
		free(log);
	}
	json_decref(data);
	data = req(&e, "GET", "/nodes/pve1/storage/nas-backup/prunebackups",
	    p + 1, 2, &cause);
	/* Without prune-backups: the storage's (keep-all); 6 are left. */
	marks = marks_of(data, &prot);
	want = xasprintf("keep@%lld,keep@%lld,keep@%lld,keep@%lld,keep@%lld,"
	    "protected@%lld", (long long)(d0 + 5 * 86400 + 12 * 3600),
	    (long long)(d0 + 5 * 86400), (long long)(d0 + 4 * 86400),
	    (long long)(d0 + 3 * 86400), (long long)(d0 + 2 * 86400),
	    (long long)(d0 - 30 * 86400));
	T_EQ_STR(marks, want);
	free(want);
	free(marks);
	json_decref(data);
	free(cause);
	env_stop(&e);
}

/* The volid of guest vmid's first backup on nas-backup (caller frees). */
static char *
first_backup(struct env *e, const char *vmid)
{
	struct pve_param	 p[1] = { { "vmid", vmid } };
	json_t			*data;
	char			*cause = NULL, *v = NULL;

	data = req(e, "GET", "/nodes/pve1/storage/nas-backup/content", p, 1,
	    &cause);
	if (json_array_size(data) > 0)
		v = xstrdup(json_string_value(json_object_get(
		    json_array_get(data, 0), "volid")));
	json_decref(data);
	free(cause);
	return v;
}

static void
test_restore_new_existing_and_container(void)
{
	struct env		 e;
	struct pve_param	 p[5];
	struct pve_guest	 g;
	json_t			*data;
	char			*cause = NULL, *vm, *ct, *exitstatus;

	if (env_start(&e, 150) != 0)
		return;
	vm = first_backup(&e, "101");
	ct = first_backup(&e, "103");
	T_OK(vm != NULL && ct != NULL);
	if (vm == NULL || ct == NULL)
		goto out;

	/* A new VMID: a task, then the guest as backed up, stopped. */
	p[0] = (struct pve_param){ "vmid", "150" };
	p[1] = (struct pve_param){ "archive", vm };
	data = req(&e, "POST", "/nodes/pve2/qemu", p, 2, &cause);
	T_OK(json_is_string(data));
	T_CONTAINS(json_string_value(data), ":qmrestore:150:");
	exitstatus = wait_task(&e, json_string_value(data), 10000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	json_decref(data);
	T_OK(pve_resolve_guest(e.pve, "150", &g, &cause) == PVE_OK);
	T_EQ_STR(g.name, "web-01");
	T_EQ_STR(g.node, "pve2");
	T_EQ_STR(g.type, "qemu");
	T_EQ_STR(g.status, "stopped");
	pve_guest_release(&g);

	/* An existing VMID: refused unless force=1. */
	p[0] = (struct pve_param){ "vmid", "101" };
	T_OK(req(&e, "POST", "/nodes/pve1/qemu", p, 2, &cause) == NULL);
	T_CONTAINS(cause, "unable to restore VM 101 - VM 101 already exists "
	    "on node 'pve1'");
	free(cause);
	cause = NULL;
	p[2] = (struct pve_param){ "force", "true" };
	T_OK(req(&e, "POST", "/nodes/pve1/qemu", p, 3, &cause) == NULL);
	free(cause);
	cause = NULL;
	/* force over a running VM: refused. */
	T_OK(act_ok(&e, "101", "/status/start", NULL, 0));
	p[2] = (struct pve_param){ "force", "1" };
	T_OK(req(&e, "POST", "/nodes/pve1/qemu", p, 3, &cause) == NULL);
	T_CONTAINS(cause, "vm is running");
	free(cause);
	cause = NULL;
	T_OK(act_ok(&e, "101", "/status/stop", NULL, 0));
	data = req(&e, "POST", "/nodes/pve1/qemu", p, 3, &cause);
	T_OK(json_is_string(data));
	exitstatus = wait_task(&e, json_string_value(data), 10000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	json_decref(data);

	/* A container from a .tar, and a .vma on the lxc path refused. */
	p[0] = (struct pve_param){ "vmid", "151" };
	p[1] = (struct pve_param){ "ostemplate", ct };
	p[2] = (struct pve_param){ "restore", "1" };
	p[3] = (struct pve_param){ "storage", "local-lvm" };
	data = req(&e, "POST", "/nodes/pve3/lxc", p, 4, &cause);
	T_OK(json_is_string(data));
	T_CONTAINS(json_string_value(data), ":vzrestore:151:");
	exitstatus = wait_task(&e, json_string_value(data), 10000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	json_decref(data);
	T_OK(pve_resolve_guest(e.pve, "151", &g, &cause) == PVE_OK);
	T_EQ_STR(g.type, "lxc");
	T_EQ_STR(g.name, "dns");
	pve_guest_release(&g);
	p[0] = (struct pve_param){ "vmid", "152" };
	p[1] = (struct pve_param){ "ostemplate", vm };
	T_OK(req(&e, "POST", "/nodes/pve3/lxc", p, 3, &cause) == NULL);
	free(cause);
	cause = NULL;
	/* A parameter of plain creation is not a restore's. */
	p[1] = (struct pve_param){ "archive", vm };
	p[2] = (struct pve_param){ "memory", "2048" };
	T_OK(req(&e, "POST", "/nodes/pve3/qemu", p, 3, &cause) == NULL);
	T_CONTAINS(cause, "memory");
out:
	free(cause);
	free(vm);
	free(ct);
	env_stop(&e);
}

/* A restore given a new VMID; the new guest's config (caller decrefs). */
static json_t *
restore_config(struct env *e, const struct pve_param *p, size_t n,
    const char *node, const char *vmid)
{
	json_t	*data;
	char	*cause = NULL, *exitstatus, *path;

	data = req(e, "POST", "/nodes/pve2/qemu", p, n, &cause);
	T_OK(json_is_string(data));
	if (!json_is_string(data)) {
		printf("restore: %s\n", cause);
		free(cause);
		return NULL;
	}
	exitstatus = wait_task(e, json_string_value(data), 10000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	json_decref(data);
	path = xasprintf("/nodes/%s/qemu/%s/config", node, vmid);
	data = req(e, "GET", path, NULL, 0, &cause);
	free(path);
	free(cause);
	return data;
}

/*
 * A restore brings the archive's network configuration back as it was,
 * the original's MAC included; unique=1 gives a new MAC; name= replaces
 * the backed-up name.
 */
static void
test_restore_network_and_unique(void)
{
	struct env		 e;
	struct pve_param	 p[4];
	json_t			*cfg;
	char			*vm;
	const char		*net;

	if (env_start(&e, 150) != 0)
		return;
	vm = first_backup(&e, "101");
	T_OK(vm != NULL);
	if (vm == NULL)
		goto out;
	p[0] = (struct pve_param){ "vmid", "150" };
	p[1] = (struct pve_param){ "archive", vm };
	cfg = restore_config(&e, p, 2, "pve2", "150");
	T_EQ_STR(json_string_value(json_object_get(cfg, "net0")),
	    "virtio=BC:24:11:01:00:65,bridge=vmbr0");
	T_EQ_STR(json_string_value(json_object_get(cfg, "name")), "web-01");
	json_decref(cfg);

	p[0] = (struct pve_param){ "vmid", "153" };
	p[2] = (struct pve_param){ "unique", "1" };
	p[3] = (struct pve_param){ "name", "web-copy" };
	cfg = restore_config(&e, p, 4, "pve2", "153");
	net = json_string_value(json_object_get(cfg, "net0"));
	T_OK(net != NULL && str_has_prefix(net, "virtio=BC:24:11:") &&
	    strcmp(net, "virtio=BC:24:11:01:00:65,bridge=vmbr0") != 0);
	T_OK(net != NULL && strstr(net, ",bridge=vmbr0") != NULL);
	T_EQ_STR(json_string_value(json_object_get(cfg, "name")), "web-copy");
	json_decref(cfg);
out:
	free(vm);
	env_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_format_status_nodes_guests);
	T_RUN(test_format_quorum);
	T_RUN(test_format_storage);
	T_RUN(test_format_guest_by_id_and_name);
	T_RUN(test_resolve_unknown_and_ambiguous);
	T_RUN(test_format_snapshots_and_backups);
	T_RUN(test_format_partial_failures);
	T_RUN(test_format_failed_task);
	T_RUN(test_power_actions_qemu_and_lxc);
	T_RUN(test_snapshots_qemu_vmstate_lxc_without);
	T_RUN(test_backup_progress_from_task_log);
	T_RUN(test_live_migration_progress);
	T_RUN(test_migrate_clone_unlock);
	T_RUN(test_task_log_placeholder);
	T_RUN(test_tasks_find_and_stop);
	T_RUN(test_error_lines_from_the_api);
	T_RUN(test_tls_pin_and_ca_file);
	T_RUN(test_failover_and_retries);
	T_RUN(test_prune_dry_run_and_delete);
	T_RUN(test_restore_new_existing_and_container);
	T_RUN(test_restore_network_and_unique);
	curl_global_cleanup();
	return t_summary();
}
