/*
 * test_backup_ops.c - issue 20's backup retention and restore with
 * `pvebot run` on the console and the Proxmox simulator:
 *
 *   - prune shows Proxmox's dry run (what is removed, kept, protected)
 *     in the approval request, deletes nothing before the approval, then
 *     exactly the approved backups: the storage keeps what the
 *     retention says;
 *   - a backup made between the approval and the run changes the list:
 *     nothing is deleted and the chat says what changed;
 *   - without a retention in the command, bot.conf's default for the
 *     storage applies;
 *   - restore to a new VMID creates the guest; an existing VMID is
 *     refused (at once when named, by the worker when it is the
 *     backup's own) unless `force`; a container restores too.
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
    "  index_max_age: 2s\n"
    "workers:\n"
    "  count: 2\n"
    "  edit_interval: 0s\n"
    "  retention:\n"
    "    - {storage: nas-backup, keep_last: 1, keep_weekly: 2}\n"
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


/* The simulator's calls of method, as "path params" lines, in order. */
static char *
calls_of(struct env *e, const char *method)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(e->sim),
	    strlen(sim_cert_pem(e->sim)), CURL_BLOB_COPY };
	struct buf		 b, out;
	char			*url, *ps;
	json_t			*calls, *v;
	size_t			 i;

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
	buf_init(&out, 1 << 20);
	buf_puts(&out, "");
	json_array_foreach(calls, i, v) {
		const char	*m = json_string_value(json_object_get(v,
		    "method"));

		if (m == NULL || strcmp(m, method) != 0)
			continue;
		ps = json_dumps(json_object_get(v, "params"), JSON_COMPACT |
		    JSON_SORT_KEYS);
		buf_printf(&out, "%s %s\n", json_string_value(
		    json_object_get(v, "path")), ps != NULL ? ps : "");
		free(ps);
	}
	json_decref(calls);
	return buf_steal(&out);
}

/* The status of a node or guest in /cluster/resources, by its id. */
static char *
resource_status(struct env *e, const char *id)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(e->sim),
	    strlen(sim_cert_pem(e->sim)), CURL_BLOB_COPY };
	struct curl_slist	*hl = NULL;
	struct buf		 b;
	char			*url, *auth, *st = NULL;
	json_t			*doc, *v;
	size_t			 i;

	buf_init(&b, 16 << 20);
	buf_append(&b, "", 0);
	url = xasprintf("https://127.0.0.1:%d/api2/json/cluster/resources",
	    sim_port(e->sim));
	auth = xasprintf("Authorization: PVEAPIToken=pvebot@pve!bot=%s",
	    getenv("T_PVE_SECRET"));
	hl = curl_slist_append(hl, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	free(url);
	free(auth);
	doc = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	json_array_foreach(json_object_get(doc, "data"), i, v) {
		const char *k = json_string_value(json_object_get(v, "id"));

		if (k != NULL && strcmp(k, id) == 0)
			st = xstrdup(json_string_value(json_object_get(v,
			    "status")));
	}
	json_decref(doc);
	return st != NULL ? st : xstrdup("?");
}

static int
wait_status(struct env *e, const char *id, const char *want, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*st;
	int	 ok;

	for (;;) {
		st = resource_status(e, id);
		ok = strcmp(st, want) == 0;
		free(st);
		if (ok || now_ms() > end)
			return ok;
		sleep_ms(50);
	}
}

/* Waits until job id is in state want; 1 when it got there. */
static int
wait_job(struct env *e, int id, const char *want, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*st;
	int	 ok;

	for (;;) {
		st = job_text(e->db, id, "state");
		ok = st != NULL && strcmp(st, want) == 0;
		free(st);
		if (ok || now_ms() > end)
			return ok;
		sleep_ms(50);
	}
}



/* The data of a GET on the simulator's API, as pvebot's token. */
static json_t *
api_get(struct env *e, const char *path)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(e->sim),
	    strlen(sim_cert_pem(e->sim)), CURL_BLOB_COPY };
	struct curl_slist	*hl = NULL;
	struct buf		 b;
	char			*url, *auth;
	json_t			*doc, *data;

	buf_init(&b, 16 << 20);
	buf_append(&b, "", 0);
	url = xasprintf("https://127.0.0.1:%d/api2/json%s", sim_port(e->sim),
	    path);
	auth = xasprintf("Authorization: PVEAPIToken=pvebot@pve!bot=%s",
	    getenv("T_PVE_SECRET"));
	hl = curl_slist_append(hl, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	free(url);
	free(auth);
	doc = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	data = json_incref(json_object_get(doc, "data"));
	json_decref(doc);
	return data;
}

/* "volid\nvolid\n": guest 101's backups on nas-backup now, newest first. */
static char *
backups_of(struct env *e, int vmid)
{
	json_t		*list, *o;
	struct buf	 b;
	char		*path;
	size_t		 i, j, n;
	const char	*v[64];

	path = xasprintf("/nodes/pve1/storage/nas-backup/content?vmid=%d",
	    vmid);
	list = api_get(e, path);
	free(path);
	n = 0;
	json_array_foreach(list, i, o) {
		if (n < 64)
			v[n++] = json_string_value(json_object_get(o, "volid"));
	}
	/* The names hold the time: sort them, newest first. */
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && strcmp(v[j - 1], v[j]) < 0; j--) {
			const char *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	}
	buf_init(&b, 1 << 20);
	buf_puts(&b, "");
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s\n", v[i]);
	json_decref(list);
	return buf_steal(&b);
}

#define D0	1795136400	/* Fri 2026-11-20 01:00 UTC */

/* Guest 101's backups: daily at 01:00 on days 0..5, and a protected one
 * 30 days before day 0. */
static void
seed_backups(struct env *e)
{
	char	js[256];
	int	i;

	admin(e, "backup", "{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"clear\":true}");
	for (i = 0; i <= 5; i++) {
		snprintf(js, sizeof js, "{\"storage\":\"nas-backup\","
		    "\"vmid\":101,\"ctime\":%lld}", (long long)D0 + i * 86400);
		admin(e, "backup", js);
	}
	snprintf(js, sizeof js, "{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"ctime\":%lld,\"protected\":true}", (long long)D0 - 30 * 86400);
	admin(e, "backup", js);
}

#define VOL(d)	"nas-backup:backup/vzdump-qemu-101-2026_11_" d \
	"-01_00_00.vma.zst"

/*
 * The approver sees the dry run; nothing is deleted before the
 * approval; after it exactly the listed backups are gone.
 */
static void
test_prune_dry_run_then_approval(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *deletes, *left, *state;

	env_start(&e, 200);
	seed_backups(&e);
	start_daemon(&e, &p);
	type(&p, "/as alice\nprune nas-backup 101 keep-last=2 keep-daily=2\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	out = t_proc_output(&p);
	/* keep-last=2: days 5 and 4; keep-daily=2: two more days, 3 and
	 * 2 (days already kept count for nothing, as in PVE::Storage). */
	T_CONTAINS(out, "dry run on nas-backup for 101 web-01 (keep-last=2 "
	    "keep-daily=2): 7 backups, 2 to remove, 5 kept");
	T_CONTAINS(out, "keep      2026-11-22 01:00 UTC  " VOL("22"));
	T_CONTAINS(out, "remove    2026-11-21 01:00 UTC  " VOL("21"));
	T_CONTAINS(out, "remove    2026-11-20 01:00 UTC  " VOL("20"));
	T_CONTAINS(out, "keep      2026-11-25 01:00 UTC  " VOL("25"));
	T_CONTAINS(out, "keep      2026-11-23 01:00 UTC  " VOL("23"));
	T_CONTAINS(out, "protected 2026-10-21 01:00 UTC");
	free(out);
	/* Asked, not done. */
	deletes = calls_of(&e, "DELETE");
	T_NOT_CONTAINS(deletes, "prunebackups");
	free(deletes);
	state = job_text(e.db, 1, "state");
	T_EQ_STR(state, "awaiting_approval");
	free(state);
	left = backups_of(&e, 101);
	T_CONTAINS(left, VOL("20"));
	free(left);

	type(&p, "approve 1\n");
	T_OK(wait_job(&e, 1, "succeeded", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "removed 2 backups of 101 on nas-backup");
	deletes = calls_of(&e, "DELETE");
	T_EQ_INT(count(deletes, "prunebackups"), 1);
	T_CONTAINS(deletes, "/nodes/pve1/storage/nas-backup/prunebackups "
	    "{\"prune-backups\":\"keep-last=2,keep-daily=2\",\"type\":\"qemu\","
	    "\"vmid\":\"101\"}");
	free(deletes);
	/* What the retention keeps: days 5 to 2 and the protected one. */
	left = backups_of(&e, 101);
	T_EQ_STR(left, VOL("25") "\n" VOL("24") "\n" VOL("23") "\n"
	    VOL("22") "\n" "nas-backup:backup/vzdump-qemu-101-2026_10_21-01_00_00.vma.zst\n");
	free(left);
	free(out);
	env_stop(&e);
}

/*
 * A backup made after the approval changes what the retention removes:
 * the worker sees it, deletes nothing and says what changed.
 */
static void
test_prune_list_changed_before_run(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *deletes, *left, *state, js[256];

	env_start(&e, 200);
	seed_backups(&e);
	start_daemon(&e, &p);
	type(&p, "/as alice\nprune nas-backup 101 keep-last=3\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	/* Day 6: day 3, kept in the dry run, would now go too. */
	snprintf(js, sizeof js, "{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"ctime\":%lld}", (long long)D0 + 6 * 86400);
	admin(&e, "backup", js);
	type(&p, "approve 1\n");
	T_OK(wait_job(&e, 1, "failed", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "the backups changed since the dry run that was "
	    "approved:");
	T_CONTAINS(out, "would now also remove " VOL("23"));
	T_CONTAINS(out, "nothing was deleted");
	deletes = calls_of(&e, "DELETE");
	T_NOT_CONTAINS(deletes, "prunebackups");
	free(deletes);
	state = job_text(e.db, 1, "state");
	T_EQ_STR(state, "failed");
	free(state);
	left = backups_of(&e, 101);
	T_EQ_INT(count(left, "\n"), 8);
	free(left);
	free(out);
	env_stop(&e);
}

/* No retention typed: bot.conf's for the storage (keep_last 1,
 * keep_weekly 2). */
static void
test_prune_default_retention_from_conf(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *left;

	env_start(&e, 200);
	seed_backups(&e);
	start_daemon(&e, &p);
	type(&p, "/as alice\nprune nas-backup web-01\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	out = t_proc_output(&p);
	T_CONTAINS(out, "(keep-last=1 keep-weekly=2): 7 backups, 4 to remove");
	free(out);
	type(&p, "approve 1\n");
	T_OK(wait_job(&e, 1, "succeeded", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	/* Day 5 (last), day 2 (newest of the week before), protected. */
	left = backups_of(&e, 101);
	T_EQ_STR(left, VOL("25") "\n" VOL("22") "\n"
	    "nas-backup:backup/vzdump-qemu-101-2026_10_21-01_00_00.vma.zst\n");
	free(left);
	env_stop(&e);
}

/* A retention that removes nothing: said at once, nobody is asked. */
static void
test_prune_nothing_to_remove(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *deletes, *state, *left;

	env_start(&e, 200);
	seed_backups(&e);
	start_daemon(&e, &p);
	type(&p, "/as alice\nprune nas-backup 101 keep-last=10\n");
	T_OK(wait_job(&e, 1, "succeeded", 20000));
	T_EQ_INT(t_proc_wait_for(&p, "nothing to remove", 15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "7 backups, 0 to remove, 7 kept");
	T_NOT_CONTAINS(out, "Approval needed");
	deletes = calls_of(&e, "DELETE");
	T_NOT_CONTAINS(deletes, "prunebackups");
	free(deletes);
	state = job_text(e.db, 1, "approvals_needed");
	T_EQ_STR(state, "0");
	free(state);
	left = backups_of(&e, 101);
	T_EQ_INT(count(left, "\n"), 7);
	free(left);
	free(out);
	env_stop(&e);
}

/* A restore to a new VMID: approved, followed, the guest exists. */
static void
test_restore_new_vmid(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *posts, *st;

	env_start(&e, 300);
	seed_backups(&e);
	start_daemon(&e, &p);
	type(&p, "/as alice\nrestore " VOL("24") " 150\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	type(&p, "approve 1\n");
	T_OK(wait_job(&e, 1, "succeeded", 20000));
	T_OK(wait_status(&e, "qemu/150", "stopped", 5000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "restoring " VOL("24") " to VM 150 on pve1");
	T_CONTAINS(out, "restored VM 150 on pve1 from " VOL("24"));
	posts = calls_of(&e, "POST");
	T_CONTAINS(posts, "/nodes/pve1/qemu {\"archive\":\"" VOL("24")
	    "\",\"vmid\":\"150\"}");
	free(posts);
	st = job_text(e.db, 1, "upid");
	free(st);
	free(out);
	env_stop(&e);
}

/*
 * An existing VMID: named, refused at once; the backup's own, refused
 * by the worker; with force, restored over the stopped guest.
 */
static void
test_restore_refuses_existing(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *posts, *state;

	env_start(&e, 200);
	seed_backups(&e);
	start_daemon(&e, &p);
	type(&p, "/as alice\nrestore " VOL("24") " 102\n");
	T_EQ_INT(t_proc_wait_for(&p, "VMID 102 is in use by db-01", 15000),
	    0);
	type(&p, "restore " VOL("24") "\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	type(&p, "approve 1\n");
	T_OK(wait_job(&e, 1, "refused", 20000));
	posts = calls_of(&e, "POST");
	T_NOT_CONTAINS(posts, "/qemu {");
	free(posts);

	type(&p, "restore " VOL("24") " 101 force\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 2]", 15000), 0);
	type(&p, "approve 2\n");
	T_OK(wait_job(&e, 2, "succeeded", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "guest 101 web-01 (qemu on pve1) exists: restore to "
	    "a new VMID");
	T_CONTAINS(out, "(the old guest was overwritten)");
	state = job_text(e.db, 2, "action");
	T_EQ_STR(state, "backup.restore.force");
	free(state);
	posts = calls_of(&e, "POST");
	T_EQ_INT(count(posts, "/nodes/pve1/qemu {"), 1);
	T_CONTAINS(posts, "/nodes/pve1/qemu {\"archive\":\"" VOL("24")
	    "\",\"force\":\"1\",\"vmid\":\"101\"}");
	free(posts);
	free(out);
	env_stop(&e);
}

/* A container's backup restores as a container, on the storage named. */
static void
test_restore_container(void)
{
	struct env	 e;
	struct t_proc	 p;
	char		*out, *posts;

	env_start(&e, 200);
	admin(&e, "backup", "{\"storage\":\"nas-backup\",\"vmid\":103,"
	    "\"clear\":true}");
	admin(&e, "backup", "{\"storage\":\"nas-backup\",\"vmid\":103,"
	    "\"ctime\":1795136400}");
	start_daemon(&e, &p);
	type(&p, "/as alice\nrestore nas-backup:backup/vzdump-lxc-103-"
	    "2026_11_20-01_00_00.tar.zst 151 local-lvm\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	type(&p, "approve 1\n");
	T_OK(wait_job(&e, 1, "succeeded", 20000));
	T_OK(wait_status(&e, "lxc/151", "stopped", 5000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "restored CT 151 on pve2");
	posts = calls_of(&e, "POST");
	T_CONTAINS(posts, "/nodes/pve2/lxc {\"ostemplate\":\"nas-backup:"
	    "backup/vzdump-lxc-103-2026_11_20-01_00_00.tar.zst\",\"restore\":"
	    "\"1\",\"storage\":\"local-lvm\",\"vmid\":\"151\"}");
	free(posts);
	free(out);
	env_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_prune_dry_run_then_approval);
	T_RUN(test_prune_list_changed_before_run);
	T_RUN(test_prune_default_retention_from_conf);
	T_RUN(test_prune_nothing_to_remove);
	T_RUN(test_restore_new_vmid);
	T_RUN(test_restore_refuses_existing);
	T_RUN(test_restore_container);
	curl_global_cleanup();
	return t_summary();
}
