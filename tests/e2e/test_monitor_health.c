/*
 * End-to-end tests of what homelabs lose quietly, watched through the
 * Proxmox API: backup coverage and failed backups, disks (SMART health,
 * wear, bad sectors as a stored trend), ZFS pools, Ceph, replication,
 * certificates, security updates and reboots, cluster membership, and
 * voltages; alerts that go stale (never resolved) when nothing measures
 * them. The simulator scripts each failure (POST /_sim/health), time is
 * injected, a recording connector shows what a room sees.
 */
#include <stdio.h>

#include <curl/curl.h>

#include "test_monitor_env.h"

#define NO_DIGEST	"digest:\n  enabled: false\n"
/* Every kind read each minute, so a test steps one minute at a time;
 * the trend window of bad sectors and what else `backups` holds are
 * the test's. */
#define EVERY_MINUTE_FMT						\
	"  backups:\n    interval: 1m\n%s"				\
	"  disks:\n    interval: 1m\n    trend_window: %s\n"		\
	"  zfs:\n    interval: 1m\n"					\
	"  ceph:\n    interval: 1m\n"					\
	"  replication:\n    interval: 1m\n"				\
	"  certificates:\n    interval: 1m\n"				\
	"  updates:\n    interval: 1m\n"
#define DAY	86400

static int
start_with(struct env *e, const char *extra, const char *backups,
    const char *window)
{
	char	*text = xasprintf("monitor:\n  no_backup_days: 0\n"
	    "  local_sensors: false\n" EVERY_MINUTE_FMT "%s" NO_DIGEST,
	    backups != NULL ? backups : "", window != NULL ? window : "1d",
	    extra);
	int	 rc = env_start(e, text);

	free(text);
	return rc;
}

static int
start(struct env *e, const char *extra)
{
	return start_with(e, extra, NULL, NULL);
}

static void
health(struct env *e, const char *json)
{
	env_admin(e, "health", json);
}

static int64_t
id_of(struct env *e, const char *rule)
{
	char	*sql = xasprintf("SELECT id FROM alerts WHERE rule = '%s'",
	    rule);
	int64_t	 id = env_int(e, sql);

	free(sql);
	return id;
}

static char *
state_of(struct env *e, const char *rule)
{
	char		*sql = xasprintf("SELECT state FROM alerts WHERE rule = "
	    "'%s'", rule);
	struct db_stmt	*st = db_prepare(e->store, sql);
	char		*v = NULL;

	if (st != NULL && db_step(st) == DB_ROW)
		v = xstrdup(db_text(st, 0));
	db_finish(e->store, st);
	free(sql);
	return v != NULL ? v : xstrdup("(none)");
}

#define T_STATE(e, rule, want) do {					\
	char	*st_ = state_of(e, rule);				\
	T_EQ_STR(st_, want);						\
	free(st_);							\
} while (0)

static void
press(struct env *e, const char *data, int64_t now, const char *want)
{
	char	*answer = NULL;

	T_EQ_INT(monitor_button(e->store, "console:alice", data, now,
	    &answer), 1);
	T_CONTAINS(answer, want);
	free(answer);
}

/*
 * One item's whole life, as a room sees it: nothing while healthy; the
 * failure fires one message naming the thing; it repeats after
 * `repeat`; an ack stops repeats (and shows who); the fix resolves it by
 * editing that message; fired again under a silence it is tracked but
 * not posted until the silence ends.
 *
 * A state (setup, breaks, fix, rebreak) is a /_sim/health request, or
 * "guest {...}" (the simulator's guest admin: tags, status), or
 * "vzdump N" (a real backup of guest N through the API, waited for); a
 * NULL fix changes nothing (a trend ends by itself). With `feed` the
 * states are not sent anywhere: feed() gets the state in force before
 * every cycle (sensor readings).
 */
struct item {
	const char	*rule;
	const char	*setup;		/* applied before the first cycle */
	const char	*breaks;	/* the failure */
	const char	*fix;
	const char	*fired;		/* in the firing message */
	const char	*resolved;	/* in the resolved edit */
	int64_t		 repeat;
	const char	*rebreak;	/* the failure again, if not breaks */
	int64_t		 fire_after;	/* the rule's `for` */
	int64_t		 resolve_after;	/* a trend: its window after the fix */
	const char	*backups;	/* more lines under monitor.backups */
	const char	*window;	/* disks.trend_window, "1d" if NULL */
	void		(*feed)(struct env *, const char *);
};

/* The first eight fields, for the items that need no more. */
#define ITEM(r, su, br, fx, fd, rs, rp, rb) { .rule = (r), .setup = (su), \
	.breaks = (br), .fix = (fx), .fired = (fd), .resolved = (rs),	\
	.repeat = (rp), .rebreak = (rb) }

/* When the last "vzdump N" state's backup was made, and when the last
 * failed one was left: a later one starts in a later second, as the
 * task list and the storages tell time in seconds. */
static int64_t	 backup_made_at, backup_failed_at;

static void backup_now(struct env *, int);

static void
apply(struct env *e, const struct item *it, const char *state)
{
	const char	*errstr;
	int		 vmid;

	if (state == NULL || it->feed != NULL)
		return;
	if (str_has_prefix(state, "guest ")) {
		env_admin(e, "guest", state + 6);
		return;
	}
	if (str_has_prefix(state, "vzdump ")) {
		vmid = (int)strtonum(state + 7, 100, 999999999, &errstr);
		T_OK(errstr == NULL);
		while (wall_now() <= backup_failed_at)
			sleep_ms(50);
		backup_now(e, vmid);
		return;
	}
	if (strstr(state, "\"backup_failed\"") != NULL) {
		while (wall_now() <= backup_made_at)
			sleep_ms(50);
		health(e, state);
		backup_failed_at = wall_now();
		return;
	}
	health(e, state);
}

/* A cycle with the state in force fed first, when the item feeds. */
static void
step(struct env *e, const struct item *it, const char *state, int64_t t)
{
	if (it->feed != NULL && state != NULL)
		it->feed(e, state);
	env_cycle(e, t);
}

static void
lifecycle(const struct item *it, const char *extra, int64_t t)
{
	struct env		 e;
	const struct rec_msg	*m;
	const char		*now_st;
	char			*ref, *data, *sql, *cause = NULL;
	int64_t			 id, b, f;
	size_t			 edits;

	if (start_with(&e, extra, it->backups, it->window) != 0)
		return;
	apply(&e, it, it->setup);
	step(&e, it, it->setup, t);
	step(&e, it, it->setup, t + 60);
	/* The simulator's cluster is healthy: nothing to say. */
	T_EQ_INT(e.rec.n, 0);

	apply(&e, it, it->breaks);
	now_st = it->breaks;
	b = t + 120;
	if (it->fire_after > 0) {
		/* Seen, but not yet for as long as the rule wants. */
		step(&e, it, now_st, b);
		T_EQ_INT(e.rec.n, 0);
		b += it->fire_after;
	}
	step(&e, it, now_st, b);
	T_EQ_INT(rec_count(&e, 0), 1);
	m = rec_last(&e, 0);
	T_CONTAINS(m->title, "1 alert firing");
	T_CONTAINS(m->text, it->fired);
	T_CONTAINS(m->text, it->rule);
	ref = xstrdup(m->ref);
	id = id_of(&e, it->rule);
	T_OK(id > 0);

	/* Still broken: one reminder after `repeat`, not before. */
	step(&e, it, now_st, b + it->repeat - 60);
	T_EQ_INT(e.rec.n, 1);
	step(&e, it, now_st, b + it->repeat);
	T_EQ_INT(rec_count(&e, 0), 2);
	T_CONTAINS(rec_last(&e, 0)->text, "still firing");

	/* Acked: the message says who, and no more reminders. */
	data = xasprintf("ack:%lld", (long long)id);
	press(&e, data, b + 60 + it->repeat, "no repeats until resolved");
	free(data);
	step(&e, it, now_st, b + 60 + it->repeat);
	T_CONTAINS(rec_last(&e, 1)->text, "acked by console:alice");
	step(&e, it, now_st, b + 60 + 3 * it->repeat);
	T_EQ_INT(rec_count(&e, 0), 2);

	/* Fixed: the first message is edited to say so. */
	apply(&e, it, it->fix);
	if (it->fix != NULL)
		now_st = it->fix;
	f = b + 120 + 3 * it->repeat;
	if (it->resolve_after > 0) {
		/* A trend: over only once its window has passed. */
		edits = rec_count(&e, 1);
		step(&e, it, now_st, f);
		T_STATE(&e, it->rule, "firing");
		T_EQ_INT(rec_count(&e, 1), edits);
		f += it->resolve_after;
	}
	step(&e, it, now_st, f);
	m = rec_last(&e, 1);
	T_EQ_STR(m->ref, ref);
	T_CONTAINS(m->title, "resolved");
	T_CONTAINS(m->text, it->resolved);
	T_STATE(&e, it->rule, "resolved");
	T_EQ_INT(rec_count(&e, 0), 2);

	/* Silenced, then broken again: tracked, said when it ends. */
	t = f + 60;
	sql = xasprintf("INSERT INTO silences (matcher, created_by, reason, "
	    "starts_at, ends_at, created_at) VALUES ('rule=%s', "
	    "'console:alice', 'maintenance', %lld, %lld, %lld)", it->rule,
	    (long long)t, (long long)t + 3600, (long long)t);
	T_EQ_INT(store_exec(e.store, sql, &cause), 0);
	free(sql);
	now_st = it->rebreak != NULL ? it->rebreak : it->breaks;
	apply(&e, it, now_st);
	step(&e, it, now_st, t + 60);
	if (it->fire_after > 0)
		step(&e, it, now_st, t + 60 + it->fire_after);
	T_STATE(&e, it->rule, "firing");
	T_EQ_INT(rec_count(&e, 0), 2);
	step(&e, it, now_st, t + 3660);
	T_EQ_INT(rec_count(&e, 0), 3);
	T_CONTAINS(rec_last(&e, 0)->text, it->rule);
	free(ref);
	env_stop(&e);
}

static void
test_disk_smart_failed(void)
{
	static const struct item it = ITEM("disk-failing", NULL,
	    "{\"node\":\"pve1\",\"disk\":\"/dev/sdb\",\"health\":\"FAILED!\"}",
	    "{\"node\":\"pve1\",\"disk\":\"/dev/sdb\",\"health\":\"PASSED\"}",
	    "pve1: disk sdb (WDC WD40EFRX-68N32N0, WD-WCC7K",
	    "SMART PASSED", DAY, NULL );

	lifecycle(&it, "", env_today(12, 0));
}

static void
test_disk_worn_out(void)
{
	static const struct item it = ITEM("disk-worn", NULL,
	    "{\"node\":\"pve2\",\"disk\":\"/dev/nvme0n1\",\"wearout\":7}",
	    "{\"node\":\"pve2\",\"disk\":\"/dev/nvme0n1\",\"wearout\":60}",
	    "pve2: disk nvme0n1 (Samsung SSD 980 PRO 1TB, S5GXNF0R",
	    "40% worn out", 7 * DAY, NULL );

	lifecycle(&it, "", env_today(12, 0));
}

static void
test_zfs_pool_degraded(void)
{
	static const struct item it = ITEM("zfs-unhealthy", NULL,
	    "{\"node\":\"pve1\",\"pool\":\"tank\",\"device\":\"sdc\","
	    "\"device_state\":\"FAULTED\"}",
	    "{\"node\":\"pve1\",\"pool\":\"tank\",\"device\":\"sdc\","
	    "\"device_state\":\"ONLINE\"}",
	    "pve1: ZFS pool tank DEGRADED: WD-WCC7K",
	    "pve1: ZFS pool tank ONLINE", DAY, NULL );

	lifecycle(&it, "", env_today(12, 0));
}

static void
test_ceph_warning(void)
{
	static const struct item it = ITEM("ceph-health", NULL,
	    "{\"ceph\":\"HEALTH_WARN\",\"checks\":[{\"code\":\"OSD_DOWN\","
	    "\"message\":\"1 osds down\"}]}",
	    "{\"ceph\":\"HEALTH_OK\"}",
	    "Ceph HEALTH_WARN: OSD_DOWN 1 osds down",
	    "Ceph HEALTH_OK", DAY, NULL );

	lifecycle(&it, "", env_today(12, 0));
}

static void
test_replication_failed(void)
{
	static const struct item it = ITEM("replication-failed",
	    "{\"replication\":\"102-0\",\"target\":\"pve2\"}",
	    "{\"replication\":\"102-0\",\"fail_count\":3,\"error\":\"command "
	    "'zfs snapshot rpool/data/vm-102-disk-0@__replicate_102-0_' "
	    "failed: exit code 1\"}",
	    "{\"replication\":\"102-0\",\"fail_count\":0}",
	    "replication 102-0 of db-01 (102) pve1->pve2 failed 3 times: "
	    "command 'zfs snapshot",
	    "replication 102-0 of db-01 (102) pve1->pve2 syncs again", DAY, NULL );

	/* Syncs are minutes old on the wall clock; lag has its own test. */
	lifecycle(&it, "  rules:\n    - name: lag\n"
	    "      metric: replication.lag\n      threshold: 100000000\n",
	    env_today(12, 0));
}

static void
test_certificate_expiring(void)
{
	struct item	 it = ITEM("certificate-expiring", NULL, NULL, NULL,
	    "pve1: certificate pveproxy-ssl.pem (CN=pve1.example.org) expires "
	    "in 9 days", "expires in 8", DAY, NULL );
	int64_t		 t = wall_now();
	char		*breaks, *fix;

	/* Nine days and an hour left at the first reading. */
	breaks = xasprintf("{\"node\":\"pve1\",\"certificate\":"
	    "\"pveproxy-ssl.pem\",\"notafter\":%lld}", (long long)(t + 120 +
	    9 * DAY + 3600));
	fix = xasprintf("{\"node\":\"pve1\",\"certificate\":"
	    "\"pveproxy-ssl.pem\",\"notafter\":%lld}", (long long)(t +
	    95 * DAY));
	it.breaks = breaks;
	it.fix = fix;
	it.resolved = "pve1: certificate pveproxy-ssl.pem (CN=pve1.example.org)"
	    " expires in 92 days";
	lifecycle(&it, "", t);
	free(breaks);
	free(fix);
}

static void
test_security_updates(void)
{
	static const struct item it = ITEM("security-updates", NULL,
	    "[{\"node\":\"pve2\",\"update\":\"openssl\",\"version\":"
	    "\"3.5.4-1~deb13u2\",\"old\":\"3.5.4-1~deb13u1\",\"security\":"
	    "true},{\"node\":\"pve2\",\"update\":\"tzdata\",\"version\":"
	    "\"2026b-0+deb13u1\",\"old\":\"2026a-0+deb13u1\"}]",
	    "{\"node\":\"pve2\",\"updates\":\"none\"}",
	    "pve2: 1 security update pending (of 2)",
	    "pve2: 0 security updates pending (of 0)", 7 * DAY, NULL );

	lifecycle(&it, "", env_today(12, 0));
}

static void
test_reboot_required(void)
{
	static const struct item it = ITEM("reboot-required", NULL,
	    "{\"node\":\"pve3\",\"kernel_installed\":\"6.17.4-1-pve\"}",
	    "{\"node\":\"pve3\",\"kernel_running\":\"6.17.4-1-pve\"}",
	    "pve3: reboot required (kernel 6.17.4-1-pve installed, "
	    "6.17.2-1-pve running)",
	    "pve3: running the newest kernel (6.17.4-1-pve)", 7 * DAY,
	    "{\"node\":\"pve3\",\"kernel_installed\":\"6.17.10-2-pve\"}" );

	lifecycle(&it, "", env_today(12, 0));
}

static void
test_guest_in_no_backup_job(void)
{
	static const struct item it = ITEM("backup-missing", NULL,
	    "{\"backup_jobs\":[{\"id\":\"nightly\",\"all\":true,"
	    "\"exclude\":\"104,9000\"}]}",
	    "{\"backup_jobs\":[{\"id\":\"nightly\",\"all\":true}]}",
	    "media (104) is in no backup job", "backup-missing, resolved",
	    7 * DAY, NULL );

	/* Template 9000 is left out too, but templates need no backup. */
	lifecycle(&it, "", env_today(12, 0));
}

static void
test_node_leaves_the_cluster(void)
{
	static const struct item it = ITEM("node-left",
	    "{\"join\":\"pve4\"}", "{\"leave\":\"pve4\"}",
	    "{\"join\":\"pve4\"}", "pve4 left the cluster",
	    "pve4 is a member of the cluster", DAY, NULL );

	lifecycle(&it, "", env_today(12, 0));
}

/* A backup of `vmid` through the API, as a user's `backup` does; it
 * returns when the task has ended. */
static void
backup_now(struct env *e, int vmid)
{
	char			 id[16];
	struct pve_param	 p[] = { { "vmid", id },
	    { "storage", "nas-backup" }, { "mode", "snapshot" } };
	json_t			*upid = NULL;
	char			*cause = NULL;
	int64_t			 deadline = now_ms() + 10000;
	int			 done = 0;

	snprintf(id, sizeof id, "%d", vmid);
	T_EQ_INT(pve_request(e->pve, "POST", "/nodes/pve1/vzdump", p, 3,
	    &upid, &cause), PVE_OK);
	while (json_is_string(upid) && !done && now_ms() < deadline) {
		struct pve_task_status	 ts;

		memset(&ts, 0, sizeof ts);
		if (pve_task_status(e->pve, json_string_value(upid), &ts,
		    &cause) == PVE_OK && !ts.running) {
			T_EQ_STR(ts.exitstatus, "OK");
			done = 1;
		}
		pve_task_status_release(&ts);
		free(cause);
		cause = NULL;
		if (!done)
			sleep_ms(20);
	}
	T_OK(done);
	json_decref(upid);
	backup_made_at = wall_now();
}

/* Bad sectors gained: fires at once, over when a window passes with no
 * new ones (the trend window is longer than the reminders here). */
static void
test_disk_sectors_lifecycle(void)
{
	static const struct item it = { .rule = "disk-sectors",
	    .breaks = "{\"node\":\"pve1\",\"disk\":\"/dev/sdc\","
	    "\"reallocated\":8,\"pending\":2}",
	    .fired = "pve1: disk sdc (WDC WD40EFRX-68N32N0, WD-WCC7K",
	    .resolved = "no new bad sectors within 7 days",
	    .repeat = DAY,
	    .rebreak = "{\"node\":\"pve1\",\"disk\":\"/dev/sdc\","
	    "\"pending\":5}",
	    .resolve_after = 7 * DAY, .window = "7d" };

	lifecycle(&it, "", env_today(12, 0));
}

/* A replication job that has not synced for hours; it syncs again. */
static void
test_replication_lag_lifecycle(void)
{
	struct item	 it = { .rule = "replication-lag",
	    .setup = "{\"replication\":\"107-0\",\"target\":\"pve1\"}",
	    .fired = "replication 107-0 of nextcloud (107) pve3->pve1: last "
	    "sync 3h02m ago",
	    .resolved = "replication 107-0 of nextcloud (107) pve3->pve1: "
	    "last sync 1m00s ago",
	    .repeat = DAY };
	int64_t		 t = wall_now();
	char		*breaks, *fix;

	breaks = xasprintf("{\"replication\":\"107-0\",\"last_sync\":%lld}",
	    (long long)(t - 3 * 3600));
	/* The fix is read at t + 240 + 3 days (see lifecycle()). */
	fix = xasprintf("{\"replication\":\"107-0\",\"last_sync\":%lld}",
	    (long long)(t + 180 + 3 * DAY));
	it.breaks = breaks;
	it.fix = fix;
	lifecycle(&it, "", t);
	free(breaks);
	free(fix);
}

/* A guest's failed backup; a good backup of it ends the alert. */
static void
test_backup_failed_lifecycle(void)
{
	static const struct item it = { .rule = "backup-failed",
	    .breaks = "{\"backup_failed\":{\"node\":\"pve1\",\"vmids\":"
	    "[102],\"message\":\"unable to create temporary directory "
	    "'/mnt/pve/nas-backup/dump' - No space left on device\"}}",
	    .fix = "vzdump 102",
	    .fired = "db-01 (102): backup on pve1 failed: unable to create "
	    "temporary directory '/mnt/pve/nas-backup/dump' - No space left "
	    "on device",
	    .resolved = "db-01 (102) backed up again after a failed backup",
	    .repeat = DAY,
	    .rebreak = "{\"backup_failed\":{\"node\":\"pve1\",\"vmids\":"
	    "[102],\"message\":\"job errors\"}}" };

	/* Tasks are listed since now - failed_window: wall time. */
	lifecycle(&it, "", wall_now());
}

/*
 * A backup job that failed before it named any guest (its storage was
 * offline): the node's alert names the task, so `task UPID` shows its
 * log; a later backup on that node that works ends it.
 */
static void
test_backup_job_failed_lifecycle(void)
{
	static const struct item it = { .rule = "backup-job-failed",
	    .breaks = "{\"backup_failed\":{\"node\":\"pve1\",\"vmids\":"
	    "[]}}",
	    .fix = "vzdump 102",
	    .fired = "pve1: backup job failed: could not activate storage "
	    "'nas-backup', storage is offline (task UPID:pve1:",
	    .resolved = "pve1: backup jobs work",
	    .repeat = DAY };

	lifecycle(&it, "", wall_now());
}

/* A guest whose backup failed is tagged to need none: the alert ends
 * and says why (it was left stale for ever); untagged, it fires again. */
static void
test_backup_failed_ignore_tag_lifecycle(void)
{
	static const struct item it = { .rule = "backup-failed",
	    .breaks = "{\"backup_failed\":{\"node\":\"pve1\",\"vmids\":"
	    "[102],\"message\":\"job errors\"}}",
	    .fix = "guest {\"vmid\":102,\"tags\":\"scratch-1\"}",
	    .fired = "db-01 (102): backup on pve1 failed: job errors",
	    .resolved = "db-01 (102) needs no backup (tag scratch-1)",
	    .repeat = DAY,
	    .rebreak = "guest {\"vmid\":102,\"tags\":\"\"}",
	    .backups = "    ignore_tags: [\"scratch*\"]\n" };

	lifecycle(&it, "", wall_now());
}

static const char *const sensors_good = "{\"nct6798-isa-0290\":"
    "{\"Adapter\":\"ISA adapter\",\"Vcore\":{\"in0_input\":1.20,"
    "\"in0_min\":0.0,\"in0_max\":1.744},\"IBUS\":{\"curr1_input\":1.5,"
    "\"curr1_min\":0.0,\"curr1_max\":5.0}}}";

static void
feed_pve1(struct env *e, const char *json)
{
	char	*cause = NULL;

	if (monitor_sensors_input(e->mon, "pve1", json, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sensors input: %s", cause);
		free(cause);
	}
}

/* A voltage outside its configured limits for two minutes. */
static void
test_voltage_lifecycle(void)
{
	struct item	 it = { .rule = "voltage-out-of-range",
	    .setup = sensors_good,
	    .breaks = "{\"nct6798-isa-0290\":{\"Adapter\":\"ISA adapter\","
	    "\"Vcore\":{\"in0_input\":1.52,\"in0_min\":0.0,"
	    "\"in0_max\":1.744},\"IBUS\":{\"curr1_input\":1.5,"
	    "\"curr1_min\":0.0,\"curr1_max\":5.0}}}",
	    .fix = sensors_good,
	    .fired = "pve1: Vcore 1.52 V outside 0.90-1.40 V (nct6798)",
	    .resolved = "pve1: Vcore 1.20 V within 0.90-1.40 V (nct6798)",
	    .repeat = DAY,
	    .rebreak = "{\"nct6798-isa-0290\":{\"Vcore\":"
	    "{\"in0_input\":0.71}}}",
	    .fire_after = 120, .feed = feed_pve1 };

	lifecycle(&it, "  sensor_limits:\n    - sensor: \"nct6798-*/Vcore\"\n"
	    "      min: 0.9\n      max: 1.4\n", env_today(12, 0));
}

/* A current above the chip's own limit for two minutes. */
static void
test_current_lifecycle(void)
{
	struct item	 it = { .rule = "current-out-of-range",
	    .setup = sensors_good,
	    .breaks = "{\"nct6798-isa-0290\":{\"Adapter\":\"ISA adapter\","
	    "\"Vcore\":{\"in0_input\":1.20,\"in0_min\":0.0,"
	    "\"in0_max\":1.744},\"IBUS\":{\"curr1_input\":6.5,"
	    "\"curr1_min\":0.0,\"curr1_max\":5.0}}}",
	    .fix = sensors_good,
	    .fired = "pve1: IBUS 6.50 A outside 0.00-5.00 A (nct6798)",
	    .resolved = "pve1: IBUS 1.50 A within 0.00-5.00 A (nct6798)",
	    .repeat = DAY, .fire_after = 120, .feed = feed_pve1 };

	lifecycle(&it, "", env_today(12, 0));
}

/*
 * Backup coverage and the ignore tag: a guest left out of every job
 * fires; tagged with an ignored tag it needs no backup, which ends the
 * alert (a measurement, not a lost one) and says why; untagged, it
 * fires again.
 */
static void
test_backup_missing_ignore_tag_lifecycle(void)
{
	static const struct item it = { .rule = "backup-missing",
	    .setup = "{\"backup_jobs\":[{\"id\":\"nightly\",\"all\":true}]}",
	    .breaks = "{\"backup_jobs\":[{\"id\":\"nightly\",\"all\":true,"
	    "\"exclude\":\"104\"}]}",
	    .fix = "guest {\"vmid\":104,\"tags\":\"media;scratch-1\"}",
	    .fired = "media (104) is in no backup job",
	    .resolved = "media (104) needs no backup (tag scratch-1)",
	    .repeat = 7 * DAY,
	    .rebreak = "guest {\"vmid\":104,\"tags\":\"media\"}",
	    .backups = "    ignore_tags: [\"desktop\", \"scratch*\"]\n" };

	lifecycle(&it, "", env_today(12, 0));
}

static void
test_replication_lag(void)
{
	struct env		 e;
	int64_t			 t = wall_now();
	char			*json;

	if (start(&e, "") != 0)
		return;
	health(&e, "{\"replication\":\"107-0\",\"target\":\"pve1\"}");
	json = xasprintf("{\"replication\":\"107-0\",\"last_sync\":%lld}",
	    (long long)t);
	health(&e, json);
	free(json);
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 0);
	/* No sync for two hours: fine; past two hours: an alert. */
	env_cycle(&e, t + 7200);
	T_EQ_INT(e.rec.n, 0);
	env_cycle(&e, t + 7260 + 60);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "replication 107-0 of nextcloud "
	    "(107) pve3->pve1: last sync 2h02m ago\n   replication-lag");
	/* It syncs: resolved. */
	json = xasprintf("{\"replication\":\"107-0\",\"last_sync\":%lld}",
	    (long long)t + 7380);
	health(&e, json);
	free(json);
	env_cycle(&e, t + 7440);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->text, "last sync 1m00s ago");
	T_STATE(&e, "replication-lag", "resolved");
	env_stop(&e);
}

/* Bad sectors are a trend: the count gained within the window. */
static void
test_disk_sectors_rising(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);

	if (start(&e, "") != 0)
		return;
	env_cycle(&e, t);
	health(&e, "{\"node\":\"pve1\",\"disk\":\"/dev/sdc\",\"reallocated\":8,"
	    "\"pending\":2}");
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: disk sdc (WDC WD40EFRX-"
	    "68N32N0, WD-WCC7K");
	T_CONTAINS(rec_last(&e, 0)->text, "10 more bad sectors within 1 day "
	    "(10 in all)\n   disk-sectors, warning");
	/* A restart keeps the trend: it is stored, not in memory. */
	env_restart(&e);
	env_cycle(&e, t + 7200);
	T_EQ_INT(e.rec.n, 1);
	T_STATE(&e, "disk-sectors", "firing");
	/* Stable for a whole window: no longer rising, resolved. */
	env_cycle(&e, t + DAY + 3600);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->text, "no new bad sectors within 1 day");
	/* Rising again: a new alert. */
	health(&e, "{\"node\":\"pve1\",\"disk\":\"/dev/sdc\",\"pending\":5}");
	env_cycle(&e, t + DAY + 3660);
	T_EQ_INT(rec_count(&e, 0), 2);
	T_CONTAINS(rec_last(&e, 0)->text, "3 more bad sectors within 1 day "
	    "(13 in all)");
	env_stop(&e);
}

static void
test_failed_backup(void)
{
	struct env		 e;
	struct pve_param	 p[] = { { "vmid", "102" },
	    { "storage", "nas-backup" }, { "mode", "snapshot" } };
	json_t			*upid = NULL;
	char			*cause = NULL;
	int64_t			 t = wall_now();
	int			 i;

	if (start(&e, "") != 0)
		return;
	env_cycle(&e, t);
	health(&e, "{\"backup_failed\":{\"node\":\"pve1\",\"vmids\":[102,"
	    "101],\"message\":\"unable to create temporary directory "
	    "'/mnt/pve/nas-backup/dump' - No space left on device\"}}");
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->title, "2 alerts firing");
	T_CONTAINS(rec_last(&e, 0)->text, "db-01 (102): backup on pve1 "
	    "failed: unable to create temporary directory "
	    "'/mnt/pve/nas-backup/dump' - No space left on device\n"
	    "   backup-failed, warning");
	T_CONTAINS(rec_last(&e, 0)->text, "web-01 (101): backup on pve1");
	/* A job that failed before naming any guest: its node's alert. */
	env_admin(&e, "fault", "{\"fail_task\":\"vzdump\",\"message\":"
	    "\"could not activate storage 'nas-backup'\"}");
	/* 102 is backed up again: its alert is over, 101's is not. */
	T_EQ_INT(pve_request(e.pve, "POST", "/nodes/pve1/vzdump", p, 3,
	    &upid, &cause), PVE_OK);
	json_decref(upid);
	upid = NULL;
	env_admin(&e, "fault", "{\"clear\":true}");
	T_EQ_INT(pve_request(e.pve, "POST", "/nodes/pve1/vzdump", p, 3,
	    &upid, &cause), PVE_OK);
	for (i = 0; i < 200 && json_is_string(upid); i++) {
		struct pve_task_status	 ts;

		memset(&ts, 0, sizeof ts);
		if (pve_task_status(e.pve, json_string_value(upid), &ts,
		    &cause) == PVE_OK && !ts.running) {
			pve_task_status_release(&ts);
			break;
		}
		pve_task_status_release(&ts);
		sleep_ms(20);
	}
	json_decref(upid);
	/* Backups are listed from the storages hourly by default; here
	 * every minute. */
	env_cycle(&e, t + 180);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->title, "1 alert firing");
	T_CONTAINS(rec_last(&e, 1)->text, "db-01 (102) backed up again after "
	    "a failed backup\n   backup-failed, resolved");
	T_CONTAINS(rec_last(&e, 1)->text, "web-01 (101): backup on pve1");
	env_stop(&e);
}

/* Voltages and currents: limits from the chip, or configured. */
static void
test_voltage_out_of_range(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	char		*cause = NULL;
	const char	*good = "{\"nct6798-isa-0290\":{\"Adapter\":\"ISA "
	    "adapter\",\"Vcore\":{\"in0_input\":1.20,\"in0_min\":0.0,"
	    "\"in0_max\":1.744},\"+12V\":{\"in1_input\":12.1},"
	    "\"IBUS\":{\"curr1_input\":1.5,\"curr1_min\":0.0,"
	    "\"curr1_max\":5.0}}}";
	const char	*bad = "{\"nct6798-isa-0290\":{\"Adapter\":\"ISA "
	    "adapter\",\"Vcore\":{\"in0_input\":1.52,\"in0_min\":0.0,"
	    "\"in0_max\":1.744},\"+12V\":{\"in1_input\":10.9},"
	    "\"IBUS\":{\"curr1_input\":6.5,\"curr1_min\":0.0,"
	    "\"curr1_max\":5.0}}}";

	if (start(&e, "  sensor_limits:\n"
	    "    - sensor: \"nct6798-*/Vcore\"\n      min: 0.9\n      max: 1.4\n"
	    "    - sensor: \"nct6798-*/+12V\"\n      min: 11.4\n") != 0)
		return;
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", good, &cause), 0);
	env_cycle(&e, t);
	T_EQ_INT(e.rec.n, 0);
	/* Out of range for two minutes (the built-in's `for`). */
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", bad, &cause), 0);
	env_cycle(&e, t + 60);
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", bad, &cause), 0);
	env_cycle(&e, t + 120);
	T_EQ_INT(e.rec.n, 0);
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", bad, &cause), 0);
	env_cycle(&e, t + 180);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->title, "3 alerts firing");
	/* Configured limits win over the chip's 0-1.744. */
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: Vcore 1.52 V outside "
	    "0.90-1.40 V (nct6798)\n   voltage-out-of-range, warning");
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: +12V 10.90 V outside at "
	    "least 11.40 V (nct6798)");
	/* The chip's limit for the current. */
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: IBUS 6.50 A outside "
	    "0.00-5.00 A (nct6798)\n   current-out-of-range");
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", good, &cause), 0);
	env_cycle(&e, t + 240);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->title, "resolved");
	T_CONTAINS(rec_last(&e, 1)->text, "pve1: Vcore 1.20 V within "
	    "0.90-1.40 V (nct6798)");
	env_stop(&e);
}

/* Templates and guests with an ignored tag need no backup. */
static void
test_backup_ignore_tags(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);

	if (env_start(&e, "monitor:\n  local_sensors: false\n"
	    "  backups:\n    interval: 1m\n"
	    "    ignore_tags: [\"desktop\", \"scratch*\"]\n" NO_DIGEST) != 0)
		return;
	health(&e, "{\"backup_jobs\":[{\"id\":\"few\",\"vmid\":"
	    "\"100,101,102,103,105,106,107,111,112\"}]}");
	env_admin(&e, "guest", "{\"vmid\":111,\"tags\":\"scratch-1\"}");
	env_cycle(&e, t);
	/* 104 (media) only: 108 is a desktop, 112 in a job, 9000/9001 are
	 * templates. */
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->title, "1 alert firing");
	T_CONTAINS(rec_last(&e, 0)->text, "media (104) is in no backup job");
	T_NOT_CONTAINS(rec_last(&e, 0)->text, "win11");
	T_NOT_CONTAINS(rec_last(&e, 0)->text, "tmpl");
	env_stop(&e);
}

/*
 * Stale: a firing alert whose source stops answering is not resolved;
 * after stale_after cycles it says it is not measured, and it keeps
 * saying so; only a real reading back below the clear level resolves.
 */
static void
test_stale_never_resolves(void)
{
	struct env		 e;
	const struct rec_msg	*m;
	int64_t			 t = env_today(12, 0);
	char			*ref;
	int			 i;

	if (start(&e, "") != 0)
		return;
	env_cycle(&e, t);
	health(&e, "{\"node\":\"pve1\",\"disk\":\"/dev/sdb\",\"health\":"
	    "\"FAILED!\"}");
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 1);
	ref = xstrdup(rec_last(&e, 0)->ref);
	/* The disk list cannot be read any more. */
	env_admin(&e, "fault", "{\"kind\":\"error\",\"match\":\"GET "
	    "/nodes/pve1/disks/*\",\"status\":500,\"message\":\"smartctl "
	    "hung\"}");
	env_cycle(&e, t + 120);
	env_cycle(&e, t + 180);
	T_EQ_INT(e.rec.n, 1);
	T_STATE(&e, "disk-failing", "firing");
	/* The third cycle without a reading: stale, said by an edit. */
	env_cycle(&e, t + 240);
	T_EQ_INT(rec_count(&e, 0), 1);
	T_EQ_INT(rec_count(&e, 1), 1);
	m = rec_last(&e, 1);
	T_EQ_STR(m->ref, ref);
	T_CONTAINS(m->title, "1 alert not measured (stale)");
	T_CONTAINS(m->text, "disk-failing, stale: not measured since 12:01");
	T_OK(strlen(m->buttons) > 0);
	T_STATE(&e, "disk-failing", "stale");
	/* Hours of silence from the source: still stale, never resolved,
	 * no reminders. */
	for (i = 1; i <= 30; i++)
		env_cycle(&e, t + 240 + 600 * i);
	env_cycle(&e, t + 2 * DAY);
	T_EQ_INT(e.rec.n, 2);
	T_STATE(&e, "disk-failing", "stale");
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alert_events WHERE kind = "
	    "'resolved'"), 0);
	/* Readable again and still failed: firing again, same message. */
	env_admin(&e, "fault", "{\"clear\":true}");
	env_cycle(&e, t + 2 * DAY + 600);
	T_EQ_INT(rec_count(&e, 0), 1);
	m = rec_last(&e, 1);
	T_EQ_STR(m->ref, ref);
	T_CONTAINS(m->title, "1 alert firing");
	T_CONTAINS(m->text, "SMART FAILED!\n   disk-failing, critical");
	T_STATE(&e, "disk-failing", "firing");
	/* Stale again, then a real reading below the threshold: resolved. */
	env_admin(&e, "fault", "{\"kind\":\"error\",\"match\":\"GET "
	    "/nodes/pve1/disks/*\",\"status\":500,\"message\":\"x\"}");
	for (i = 1; i <= 4; i++)
		env_cycle(&e, t + 2 * DAY + 600 + 300 * i);
	T_STATE(&e, "disk-failing", "stale");
	env_admin(&e, "fault", "{\"clear\":true}");
	health(&e, "{\"node\":\"pve1\",\"disk\":\"/dev/sdb\",\"health\":"
	    "\"PASSED\"}");
	env_cycle(&e, t + 3 * DAY);
	m = rec_last(&e, 1);
	T_CONTAINS(m->title, "resolved");
	T_CONTAINS(m->text, "SMART PASSED\n   disk-failing, resolved");
	T_EQ_INT(rec_count(&e, 0), 1);
	free(ref);
	env_stop(&e);
}

/* A sensor that stops reporting goes stale; its alert can be acked. */
static void
test_stale_sensor_and_ack(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0), id;
	char		*cause = NULL, *data;
	const char	*hot = "{\"k10temp-pci-00c3\":{\"Adapter\":\"PCI "
	    "adapter\",\"Tctl\":{\"temp1_input\":95.0},\"Tccd1\":"
	    "{\"temp3_input\":50.0}}}";
	const char	*gone = "{\"k10temp-pci-00c3\":{\"Adapter\":\"PCI "
	    "adapter\",\"Tccd1\":{\"temp3_input\":50.0}}}";
	int		 i;

	if (start(&e, "  rules:\n    - name: hot\n      metric: sensor.temp\n"
	    "      threshold: 85\n      clear: 80\n      repeat: 1h\n") != 0)
		return;
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", hot, &cause), 0);
	env_cycle(&e, t);
	T_EQ_INT(e.rec.n, 1);
	/* The host is read, but Tctl is no longer in it. */
	for (i = 1; i <= 3; i++) {
		T_EQ_INT(monitor_sensors_input(e.mon, "pve1", gone, &cause),
		    0);
		env_cycle(&e, t + 30 * i);
	}
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->text, "pve1: Tctl 95.0 C (k10temp)\n"
	    "   hot, stale: not measured since 12:00");
	id = id_of(&e, "hot");
	data = xasprintf("ack:%lld", (long long)id);
	press(&e, data, t + 100, "no repeats until resolved");
	free(data);
	env_cycle(&e, t + 120);
	T_CONTAINS(rec_last(&e, 1)->text, "acked by console:alice");
	/* No reminders while stale, even an hour later. */
	env_cycle(&e, t + 3 * 3600);
	T_EQ_INT(rec_count(&e, 0), 1);
	T_STATE(&e, "hot", "stale");
	/* Read again at 70 C: resolved. */
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", "{\"k10temp-pci-00c3\":"
	    "{\"Tctl\":{\"temp1_input\":70.0}}}", &cause), 0);
	env_cycle(&e, t + 3 * 3600 + 30);
	T_CONTAINS(rec_last(&e, 1)->title, "resolved");
	T_CONTAINS(rec_last(&e, 1)->text, "pve1: Tctl 70.0 C (k10temp)");
	env_stop(&e);
}

/* A node that stays offline: its alerts are unknown, not resolved. */
static void
test_unknown_while_node_offline(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	int		 i;

	if (start(&e, "") != 0)
		return;
	env_cycle(&e, t);
	health(&e, "{\"node\":\"pve2\",\"pool\":\"rpool\",\"device_state\":"
	    "\"FAULTED\"}");
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "pve2: ZFS pool rpool FAULTED");
	env_admin(&e, "fault", "{\"node\":\"pve2\",\"online\":false}");
	for (i = 2; i <= 4; i++)
		env_cycle(&e, t + 60 * i);
	T_STATE(&e, "zfs-unhealthy", "unknown");
	T_CONTAINS(rec_last(&e, 1)->text, "zfs-unhealthy, unknown: cannot be "
	    "measured since 12:01");
	T_STATE(&e, "node-offline", "firing");
	env_admin(&e, "fault", "{\"node\":\"pve2\",\"online\":true}");
	health(&e, "{\"node\":\"pve2\",\"pool\":\"rpool\",\"device_state\":"
	    "\"ONLINE\"}");
	env_cycle(&e, t + 600);
	T_STATE(&e, "zfs-unhealthy", "resolved");
	T_STATE(&e, "node-offline", "resolved");
	env_stop(&e);
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

/* Per-node endpoints are read per their interval, not every cycle. */
static void
test_slow_kinds_not_read_every_cycle(void)
{
	struct env	 e;
	json_t		*calls;
	int64_t		 t = env_today(12, 0);
	size_t		 i, disks = 0, certs = 0, apt = 0, zfs = 0, res = 0;
	int		 k;
	json_t		*c;

	if (env_start(&e, "monitor:\n  local_sensors: false\n" NO_DIGEST) !=
	    0)
		return;
	/* An hour of 30-second cycles with the default intervals. */
	for (k = 0; k < 120; k++)
		env_cycle(&e, t + 30 * k);
	calls = sim_calls(&e);
	json_array_foreach(calls, i, c) {
		const char	*path = json_string_value(json_object_get(c,
		    "path"));

		if (path == NULL)
			continue;
		disks += strstr(path, "/disks/list") != NULL;
		certs += strstr(path, "/certificates/info") != NULL;
		apt += strstr(path, "/apt/update") != NULL;
		zfs += strcmp(path + strlen(path) - 10, "/disks/zfs") == 0;
		res += strcmp(path, "/cluster/resources") == 0;
	}
	/* SMART, certificates and updates: once per node in the hour;
	 * ZFS every five minutes; the resources every cycle. */
	T_EQ_INT(res, 120);
	T_EQ_INT(disks, 3);
	T_EQ_INT(certs, 3);
	T_EQ_INT(apt, 3);
	T_EQ_INT(zfs, 3 * 12);
	json_decref(calls);
	env_stop(&e);
}

/* The digest shows what the monitor read, per node and for backups. */
static void
test_digest_health(void)
{
	struct env	 e;
	int64_t		 t = wall_now();
	char		*cause = NULL, *text;

	if (start(&e, "") != 0)
		return;
	health(&e, "[{\"node\":\"pve1\",\"disk\":\"/dev/sdb\",\"health\":"
	    "\"FAILED!\"},{\"node\":\"pve1\",\"pool\":\"tank\",\"device\":"
	    "\"sdc\",\"device_state\":\"FAULTED\"},"
	    "{\"node\":\"pve2\",\"update\":\"openssl\",\"version\":\"3.5.4-1~"
	    "deb13u2\",\"old\":\"3.5.4-1~deb13u1\",\"security\":true},"
	    "{\"node\":\"pve3\",\"kernel_installed\":\"6.17.4-1-pve\"},"
	    "{\"backup_jobs\":[{\"id\":\"n\",\"all\":true,\"exclude\":"
	    "\"104\"}]},{\"backup_failed\":{\"node\":\"pve2\",\"vmids\":[103],"
	    "\"message\":\"no space left\"}},{\"backup_failed\":{\"node\":"
	    "\"pve3\",\"vmids\":[]}},{\"ceph\":\"HEALTH_WARN\","
	    "\"checks\":[{\"code\":\"MON_DISK_LOW\",\"message\":\"mon pve1 is "
	    "low on available space\"}]}]");
	env_cycle(&e, t);
	text = monitor_digest_text(&e.app, e.store, t + 60, &cause);
	T_OK(text != NULL);
	if (text == NULL) {
		env_stop(&e);
		return;
	}
	T_CONTAINS(text, "Ceph: HEALTH_WARN MON_DISK_LOW mon pve1 is low on "
	    "available space\n");
	/* pve1: a failed disk, a degraded pool, certificates, updates. */
	T_CONTAINS(text, "  disk sdb SMART FAILED!\n"
	    "  ZFS tank DEGRADED: WD-WCC7K");
	T_CONTAINS(text, " FAULTED (too many errors)\n"
	    "  cert pveproxy-ssl.pem: 75 days left\n"
	    "  3 updates (0 security)\n");
	/* pve2: healthy disks and pool, a security update. */
	T_CONTAINS(text, "  disks: 2 healthy\n  ZFS rpool ONLINE\n"
	    "  cert pveproxy-ssl.pem: 75 days left\n"
	    "  1 update (1 security)\n");
	/* pve3: the kernel waits for a reboot. */
	T_CONTAINS(text, "  no updates, reboot required\n"
	    "    kernel 6.17.4-1-pve, running 6.17.2-1-pve\n");
	T_CONTAINS(text, "In no backup job:\n  media (104)\n");
	T_CONTAINS(text, "Backups failed:\n  dns (103): no space left\n"
	    "  job on pve3: could not activate storage 'nas-back\n");
	T_CONTAINS(text, "still firing:\n");
	free(text);
	env_stop(&e);
}

/* The simulator's health endpoints ask what Proxmox asks. */
static void
test_privileges_like_proxmox(void)
{
	struct env	 e;
	json_t		*data = NULL;
	char		*cause = NULL;
	struct pve_param p[] = { { "disk", "/dev/sd;b" } };

	if (start(&e, "") != 0)
		return;
	T_EQ_INT(pve_request(e.pve, "GET", "/nodes/pve1/disks/smart", p, 1,
	    &data, &cause), PVE_PERMANENT);
	T_CONTAINS(cause, "disk");
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_request(e.pve, "GET", "/cluster/ceph/status", NULL, 0,
	    &data, &cause), PVE_PERMANENT);
	T_CONTAINS(cause, "binary not installed: /usr/bin/ceph-mon");
	free(cause);
	cause = NULL;
	env_admin(&e, "fault", "{\"token\":\"" ENV_TOKEN "\",\"revoke\":"
	    "\"Sys.Modify\"}");
	T_EQ_INT(pve_request(e.pve, "GET", "/nodes/pve1/apt/update", NULL, 0,
	    &data, &cause), PVE_PERMANENT);
	T_CONTAINS(cause, "Sys.Modify");
	free(cause);
	cause = NULL;
	/* Without it the monitor still reads the rest: kernels need only
	 * Sys.Audit. */
	health(&e, "{\"node\":\"pve3\",\"kernel_installed\":\"6.17.4-1-pve\"}");
	env_cycle(&e, env_today(12, 0));
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "pve3: reboot required");
	env_stop(&e);
}

int
main(void)
{
	T_RUN(test_disk_smart_failed);
	T_RUN(test_disk_worn_out);
	T_RUN(test_disk_sectors_rising);
	T_RUN(test_zfs_pool_degraded);
	T_RUN(test_ceph_warning);
	T_RUN(test_replication_failed);
	T_RUN(test_replication_lag);
	T_RUN(test_certificate_expiring);
	T_RUN(test_security_updates);
	T_RUN(test_reboot_required);
	T_RUN(test_guest_in_no_backup_job);
	T_RUN(test_backup_ignore_tags);
	T_RUN(test_failed_backup);
	T_RUN(test_node_leaves_the_cluster);
	T_RUN(test_disk_sectors_lifecycle);
	T_RUN(test_replication_lag_lifecycle);
	T_RUN(test_backup_failed_lifecycle);
	T_RUN(test_backup_failed_ignore_tag_lifecycle);
	T_RUN(test_backup_job_failed_lifecycle);
	T_RUN(test_voltage_lifecycle);
	T_RUN(test_current_lifecycle);
	T_RUN(test_backup_missing_ignore_tag_lifecycle);
	T_RUN(test_voltage_out_of_range);
	T_RUN(test_stale_never_resolves);
	T_RUN(test_stale_sensor_and_ack);
	T_RUN(test_unknown_while_node_offline);
	T_RUN(test_slow_kinds_not_read_every_cycle);
	T_RUN(test_digest_health);
	T_RUN(test_privileges_like_proxmox);
	return t_summary();
}
