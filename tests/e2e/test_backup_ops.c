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
#include "t_sim.h"
#include "util.h"

/* bot.conf: a quick guest index, and a default retention for nas-backup. */
#define INDEX_2S	"  index_max_age: 2s\n"
#define RETENTION	"  retention:\n" \
			"    - {storage: nas-backup, keep_last: 1, keep_weekly: 2}\n"

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}


/* The data of a GET on the simulator's API, as pvebot's token. */
static json_t *
api_get(struct t_sim *e, const char *path)
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
backups_of(struct t_sim *e, int vmid)
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
seed_backups(struct t_sim *e)
{
	char	js[256];
	int	i;

	t_sim_admin(e, "backup", "{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"clear\":true}");
	for (i = 0; i <= 5; i++) {
		snprintf(js, sizeof js, "{\"storage\":\"nas-backup\","
		    "\"vmid\":101,\"ctime\":%lld}", (long long)D0 + i * 86400);
		t_sim_admin(e, "backup", js);
	}
	snprintf(js, sizeof js, "{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"ctime\":%lld,\"protected\":true}", (long long)D0 - 30 * 86400);
	t_sim_admin(e, "backup", js);
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
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *deletes, *left, *state;

	t_sim_start(&e, 200, 0, INDEX_2S, RETENTION);
	seed_backups(&e);
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nprune nas-backup 101 keep-last=2 keep-daily=2\n");
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
	deletes = t_sim_calls_of(e.sim, "DELETE");
	T_NOT_CONTAINS(deletes, "prunebackups");
	free(deletes);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "awaiting_approval");
	free(state);
	left = backups_of(&e, 101);
	T_CONTAINS(left, VOL("20"));
	free(left);

	t_type(&p, "approve 1\n");
	T_OK(t_sim_wait_job(&e, 1, "succeeded", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "removed 2 backups of 101 on nas-backup");
	deletes = t_sim_calls_of(e.sim, "DELETE");
	T_EQ_INT(t_count(deletes, "prunebackups"), 1);
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
	t_sim_stop(&e);
}

/*
 * A backup made after the approval changes what the retention removes:
 * the worker sees it, deletes nothing and says what changed.
 */
static void
test_prune_list_changed_before_run(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *deletes, *left, *state, js[256];

	t_sim_start(&e, 200, 0, INDEX_2S, RETENTION);
	seed_backups(&e);
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nprune nas-backup 101 keep-last=3\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	/* Day 6: day 3, kept in the dry run, would now go too. */
	snprintf(js, sizeof js, "{\"storage\":\"nas-backup\",\"vmid\":101,"
	    "\"ctime\":%lld}", (long long)D0 + 6 * 86400);
	t_sim_admin(&e, "backup", js);
	t_type(&p, "approve 1\n");
	T_OK(t_sim_wait_job(&e, 1, "failed", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "the backups changed since the dry run that was "
	    "approved:");
	T_CONTAINS(out, "would now also remove " VOL("23"));
	T_CONTAINS(out, "nothing was deleted");
	deletes = t_sim_calls_of(e.sim, "DELETE");
	T_NOT_CONTAINS(deletes, "prunebackups");
	free(deletes);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "failed");
	free(state);
	left = backups_of(&e, 101);
	T_EQ_INT(t_count(left, "\n"), 8);
	free(left);
	free(out);
	t_sim_stop(&e);
}

/* No retention typed: bot.conf's for the storage (keep_last 1,
 * keep_weekly 2). */
static void
test_prune_default_retention_from_conf(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *left;

	t_sim_start(&e, 200, 0, INDEX_2S, RETENTION);
	seed_backups(&e);
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nprune nas-backup web-01\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	out = t_proc_output(&p);
	T_CONTAINS(out, "(keep-last=1 keep-weekly=2): 7 backups, 4 to remove");
	free(out);
	t_type(&p, "approve 1\n");
	T_OK(t_sim_wait_job(&e, 1, "succeeded", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	/* Day 5 (last), day 2 (newest of the week before), protected. */
	left = backups_of(&e, 101);
	T_EQ_STR(left, VOL("25") "\n" VOL("22") "\n"
	    "nas-backup:backup/vzdump-qemu-101-2026_10_21-01_00_00.vma.zst\n");
	free(left);
	t_sim_stop(&e);
}

/* A retention that removes nothing: said at once, nobody is asked. */
static void
test_prune_nothing_to_remove(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *deletes, *state, *left;

	t_sim_start(&e, 200, 0, INDEX_2S, RETENTION);
	seed_backups(&e);
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nprune nas-backup 101 keep-last=10\n");
	T_OK(t_sim_wait_job(&e, 1, "succeeded", 20000));
	T_EQ_INT(t_proc_wait_for(&p, "nothing to remove", 15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "7 backups, 0 to remove, 7 kept");
	T_NOT_CONTAINS(out, "Approval needed");
	deletes = t_sim_calls_of(e.sim, "DELETE");
	T_NOT_CONTAINS(deletes, "prunebackups");
	free(deletes);
	state = t_job_text(e.db, 1, "approvals_needed");
	T_EQ_STR(state, "0");
	free(state);
	left = backups_of(&e, 101);
	T_EQ_INT(t_count(left, "\n"), 7);
	free(left);
	free(out);
	t_sim_stop(&e);
}

/* A restore to a new VMID: approved, followed, the guest exists. */
static void
test_restore_new_vmid(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts, *st;

	t_sim_start(&e, 300, 0, INDEX_2S, RETENTION);
	seed_backups(&e);
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nrestore " VOL("24") " 150\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_type(&p, "approve 1\n");
	T_OK(t_sim_wait_job(&e, 1, "succeeded", 20000));
	T_OK(t_sim_wait_status(&e, "qemu/150", "stopped", 5000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "restoring " VOL("24") " to VM 150 on pve1");
	T_CONTAINS(out, "restored VM 150 on pve1 from " VOL("24"));
	posts = t_sim_calls_of(e.sim, "POST");
	T_CONTAINS(posts, "/nodes/pve1/qemu {\"archive\":\"" VOL("24")
	    "\",\"vmid\":\"150\"}");
	free(posts);
	st = t_job_text(e.db, 1, "upid");
	free(st);
	free(out);
	t_sim_stop(&e);
}

/*
 * An existing VMID: named, refused at once; the backup's own, refused
 * by the worker; with force, restored over the stopped guest.
 */
static void
test_restore_refuses_existing(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts, *state;

	t_sim_start(&e, 200, 0, INDEX_2S, RETENTION);
	seed_backups(&e);
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nrestore " VOL("24") " 102\n");
	T_EQ_INT(t_proc_wait_for(&p, "VMID 102 is in use by db-01", 15000),
	    0);
	t_type(&p, "restore " VOL("24") "\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_type(&p, "approve 1\n");
	T_OK(t_sim_wait_job(&e, 1, "refused", 20000));
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/qemu {");
	free(posts);

	t_type(&p, "restore " VOL("24") " 101 force\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 2]", 15000), 0);
	t_type(&p, "approve 2\n");
	T_OK(t_sim_wait_job(&e, 2, "succeeded", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "guest 101 web-01 (qemu on pve1) exists: restore to "
	    "a new VMID");
	T_CONTAINS(out, "(the old guest was overwritten)");
	state = t_job_text(e.db, 2, "action");
	T_EQ_STR(state, "backup.restore.force");
	free(state);
	posts = t_sim_calls_of(e.sim, "POST");
	T_EQ_INT(t_count(posts, "/nodes/pve1/qemu {"), 1);
	T_CONTAINS(posts, "/nodes/pve1/qemu {\"archive\":\"" VOL("24")
	    "\",\"force\":\"1\",\"vmid\":\"101\"}");
	free(posts);
	free(out);
	t_sim_stop(&e);
}

/* A container's backup restores as a container, on the storage named. */
static void
test_restore_container(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts;

	t_sim_start(&e, 200, 0, INDEX_2S, RETENTION);
	t_sim_admin(&e, "backup", "{\"storage\":\"nas-backup\",\"vmid\":103,"
	    "\"clear\":true}");
	t_sim_admin(&e, "backup", "{\"storage\":\"nas-backup\",\"vmid\":103,"
	    "\"ctime\":1795136400}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nrestore nas-backup:backup/vzdump-lxc-103-"
	    "2026_11_20-01_00_00.tar.zst 151 local-lvm\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_type(&p, "approve 1\n");
	T_OK(t_sim_wait_job(&e, 1, "succeeded", 20000));
	T_OK(t_sim_wait_status(&e, "lxc/151", "stopped", 5000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "restored CT 151 on pve2");
	posts = t_sim_calls_of(e.sim, "POST");
	T_CONTAINS(posts, "/nodes/pve2/lxc {\"ostemplate\":\"nas-backup:"
	    "backup/vzdump-lxc-103-2026_11_20-01_00_00.tar.zst\",\"restore\":"
	    "\"1\",\"storage\":\"local-lvm\",\"vmid\":\"151\"}");
	free(posts);
	free(out);
	t_sim_stop(&e);
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
