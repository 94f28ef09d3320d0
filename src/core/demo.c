/*
 * demo.c - `pvebot demo`: pvebot on its embedded default, with no
 * Proxmox and no chat account. The Proxmox simulator runs in-process on
 * a loopback port with a fresh self-signed certificate, pinned by its
 * fingerprint; the console is the chat room; SQLite lives in a fresh
 * temporary folder unless --db names a database, so a second run can
 * continue the first.
 *
 * The demo starts as bob (operator); alice is an admin who may approve,
 * carol a viewer; anyone else (/as eve) is unknown and refused.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "conf.h"
#include "demo.h"
#include "log.h"
#include "sim.h"
#include "util.h"

#define DEMO_SECRET_ENV	"PVEBOT_DEMO_PROXMOX_SECRET"

static const char *demo_conf_template =
    "database: %s\n"
    "commands: %s/commands\n"
    "policies: %s/policies\n"
    "schedules: %s\n"
    "log_level: %s\n"
    "chat:\n"
    "  max_command_age: 5m\n"
    "  console:\n"
    "    user: bob\n"
    "    alerts: true\n"
    "proxmox:\n"
    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
    "  token_id: pvebot@pve!bot\n"
    "  secret_env: " DEMO_SECRET_ENV "\n"
    "  fingerprint: \"%s\"\n"
    "  task_poll_ms: 250\n"
    "workers:\n"
    "  count: 2\n"
    "  edit_interval: 1s\n"
    "monitor:\n"
    "  interval: %s\n"
    "  local_sensors: false\n"
    "  rules:\n"
    "    - name: node-cpu-high\n"
    "      metric: node.cpu\n"
    "      select: [\"node:*\"]\n"
    "      threshold: 90\n"
    "      clear: 70\n"
    "      for: %llds\n"
    "      repeat: %llds\n"
    "      severity: warning\n"
    /* The sensor rules of monitor.c's table, their `for` scaled to the
     * demo's interval like node-cpu-high's (2 minutes at the default
     * 30 s would keep a /sim sensor line waiting). */
    "    - name: temperature-high\n"
    "      metric: sensor.temp\n"
    "      threshold: 85\n"
    "      clear: 80\n"
    "      for: %llds\n"
    "      severity: warning\n"
    "    - name: voltage-out-of-range\n"
    "      metric: sensor.voltage_out\n"
    "      threshold: 0.5\n"
    "      for: %llds\n"
    "      repeat: 1d\n"
    "      severity: warning\n"
    "    - name: current-out-of-range\n"
    "      metric: sensor.current_out\n"
    "      threshold: 0.5\n"
    "      for: %llds\n"
    "      repeat: 1d\n"
    "      severity: warning\n"
    "  backups:\n    interval: %s\n"
    "    ignore_tags: [\"scratch*\"]\n"
    "  disks:\n    interval: %s\n"
    "  zfs:\n    interval: %s\n"
    "  ceph:\n    interval: %s\n"
    "  replication:\n    interval: %s\n"
    "  certificates:\n    interval: %s\n"
    "  updates:\n    interval: %s\n"
    "digest:\n"
    "  time: \"08:00\"\n"
    "  timezone: UTC\n";

/*
 * The demo's schedules: `jobs` every five minutes (answered by the
 * router, so it adds no job of its own), and a safe shutdown
 * of pve3 on weeknights (its guests 106 and 107 are tagged
 * safe-shutdown in the demo's cluster). Their identities are in
 * policies/users.yaml.
 */
static const char *demo_schedules =
    "schedules:\n"
    "  - name: jobs-report\n"
    "    on: \"*:0/5\"\n"
    "    command: jobs\n"
    "    room: console:console\n"
    "  - name: pve3-night\n"
    "    on: \"mon..fri 23:30\"\n"
    "    command: shutdown-node pve3\n"
    "    room: console:console\n"
    "    missed: skip\n";

/* The demo's cluster: pve3's guests may be shut down with the node. */
static const char *demo_guests =
    "[{\"vmid\":106,\"tags\":\"k8s;safe-shutdown\","
    "\"startup\":\"order=2\"},"
    "{\"vmid\":107,\"tags\":\"prod;safe-shutdown\","
    "\"startup\":\"order=1\"}]";

/* Where an install keeps the catalogue and policies (the Makefile's). */
#ifndef PVEBOT_PKGDATADIR
#define PVEBOT_PKGDATADIR "/usr/local/share/pvebot"
#endif

/* Whether dir holds a catalogue and policies to run the demo on. */
static int
is_share(const char *dir)
{
	struct stat	 st;
	char		*a, *b;
	int		 ok;

	a = xasprintf("%s/commands/meta.yaml", dir);
	b = xasprintf("%s/policies/default.yaml", dir);
	ok = stat(a, &st) == 0 && stat(b, &st) == 0;
	free(a);
	free(b);
	return ok;
}

/*
 * Where commands/ and policies/ are, first found: $PVEBOT_SHARE; the
 * checkout we run in (bin/pvebot demo, tests); beside the binary (a
 * checkout's bin/ or build/), or ../share/pvebot from it (an install
 * moved to another prefix); the install's PVEBOT_PKGDATADIR.
 */
static char *
find_share(const char *argv0)
{
	const char	*env = getenv("PVEBOT_SHARE");
	char		 exe[PATH_MAX], *copy, *cand;
	const char	*rel[] = { "..", "../..", "../share/pvebot" };
	size_t		 i;
	ssize_t		 n;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if (is_share("."))
		return xstrdup(".");
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		copy = xstrdup(exe);
		for (i = 0; i < nitems(rel); i++) {
			cand = xasprintf("%s/%s", dirname(copy), rel[i]);
			if (is_share(cand)) {
				free(copy);
				return cand;
			}
			free(cand);
			free(copy);
			copy = xstrdup(exe);
		}
		free(copy);
	}
	return xstrdup(PVEBOT_PKGDATADIR);
}

/* The /sim lines that script a failure, and what they send. */
static const char demo_sim_usage[] =
    "usage: /sim load NODE PERCENT | /sim wait SECONDS |\n"
    "  /sim until RULE firing|repeated|resolved [SECONDS] |\n"
    "  /sim wedge router SECONDS |\n"
    "  /sim disk NODE DEV failed|ok|wear PERCENT|sectors N |\n"
    "  /sim pool NODE POOL degraded|online | /sim cert NODE DAYS |\n"
    "  /sim replication JOB fail|ok|lag HOURS |\n"
    "  /sim node NODE join|leave|offline|online | /sim quorum lost|back |\n"
    "  /sim ceph ok|warn|err|absent |\n"
    "  /sim updates NODE COUNT [security] | /sim kernel NODE |\n"
    "  /sim reboot NODE | /sim backup VMID fail|nojob|job |\n"
    "  /sim backupjob NODE fail | /sim tag VMID TAG|none |\n"
    "  /sim sensor CHIP/INPUT VALUE on pve1: k10temp/Tctl 95 "
    "(temperature-high),\n"
    "  nct6798/fan2 0 (fan-stall), nct6798/Vcore 1.6 "
    "(voltage-out-of-range),\n"
    "  ltc2945/curr1 9.5 (current-out-of-range)";

static char *
sim_send(struct app *app, const char *what, char *json, const char *done)
{
	char	*cause = NULL, *msg;

	if (sim_admin(app->sim, what, json, &cause) != 0) {
		msg = xasprintf("simulator: %s", cause);
		free(cause);
	} else
		msg = xasprintf("simulator: %s", done);
	free(json);
	return msg;
}

/*
 * Splits a /sim line into at most five words of letters, digits, '-',
 * '.' and '_' (node, disk, pool and job names), so nothing typed can
 * reach the JSON sent to the simulator but a name. -1 otherwise.
 */
static int
words(const char *args, char w[5][64])
{
	static const char	 ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._";
	int			 n = 0;
	size_t			 len;

	while (*args != '\0' && n < 5) {
		while (*args == ' ')
			args++;
		if (*args == '\0')
			break;
		len = strcspn(args, " ");
		if (len >= 64 || strspn(args, ok) < len)
			return -1;
		memcpy(w[n], args, len);
		w[n++][len] = '\0';
		args += len;
	}
	while (*args == ' ')
		args++;
	return *args == '\0' ? n : -1;
}

static int
number(const char *s, long long lo, long long hi, long long *out)
{
	const char	*errstr;

	*out = strtonum(s, lo, hi, &errstr);
	return errstr == NULL ? 0 : -1;
}

/*
 * The failures the monitor watches for, scripted in the simulator:
 * a disk, a pool, a certificate, replication, membership, quorum, Ceph,
 * updates and kernels, backups. NULL when the line is none of them.
 */
static char *
demo_health(struct app *app, char w[5][64], int n)
{
	long long	 v;
	char		*json;

	if (n == 4 && strcmp(w[0], "disk") == 0 &&
	    (strcmp(w[3], "failed") == 0 || strcmp(w[3], "ok") == 0)) {
		json = xasprintf("{\"node\":\"%s\",\"disk\":\"/dev/%s\","
		    "\"health\":\"%s\"}", w[1], w[2], strcmp(w[3], "ok") == 0 ?
		    "PASSED" : "FAILED!");
		return sim_send(app, "health", json, "SMART health set");
	}
	if (n == 5 && strcmp(w[0], "disk") == 0 &&
	    strcmp(w[3], "wear") == 0 && number(w[4], 0, 100, &v) == 0) {
		json = xasprintf("{\"node\":\"%s\",\"disk\":\"/dev/%s\","
		    "\"wearout\":%lld}", w[1], w[2], 100 - v);
		return sim_send(app, "health", json, "wear-out set");
	}
	if (n == 5 && strcmp(w[0], "disk") == 0 &&
	    strcmp(w[3], "sectors") == 0 && number(w[4], 0, 1000000, &v) ==
	    0) {
		json = xasprintf("{\"node\":\"%s\",\"disk\":\"/dev/%s\","
		    "\"reallocated\":%lld}", w[1], w[2], v);
		return sim_send(app, "health", json, "reallocated sectors set");
	}
	if (n == 4 && strcmp(w[0], "pool") == 0 &&
	    (strcmp(w[3], "degraded") == 0 || strcmp(w[3], "online") == 0)) {
		json = xasprintf("{\"node\":\"%s\",\"pool\":\"%s\",\"device\":"
		    "\"last\",\"device_state\":\"%s\"}", w[1], w[2],
		    strcmp(w[3], "online") == 0 ? "ONLINE" : "FAULTED");
		return sim_send(app, "health", json, "pool state set");
	}
	if (n == 3 && strcmp(w[0], "cert") == 0 &&
	    number(w[2], -3650, 36500, &v) == 0) {
		json = xasprintf("{\"node\":\"%s\",\"certificate\":"
		    "\"pveproxy-ssl.pem\",\"days_left\":%lld}", w[1], v);
		return sim_send(app, "health", json, "certificate expiry set");
	}
	if (n >= 3 && strcmp(w[0], "replication") == 0) {
		if (n == 3 && strcmp(w[2], "fail") == 0)
			json = xasprintf("{\"replication\":\"%s\",\"fail_count\""
			    ":3,\"error\":\"no space left on device\"}", w[1]);
		else if (n == 3 && strcmp(w[2], "ok") == 0)
			json = xasprintf("{\"replication\":\"%s\",\"fail_count\""
			    ":0}", w[1]);
		else if (n == 4 && strcmp(w[2], "lag") == 0 &&
		    number(w[3], 0, 10000, &v) == 0)
			json = xasprintf("{\"replication\":\"%s\","
			    "\"last_sync_ago\":%lld}", w[1], v * 3600);
		else
			return NULL;
		return sim_send(app, "health", json, "replication job set");
	}
	if (n == 3 && strcmp(w[0], "node") == 0) {
		if (strcmp(w[2], "join") == 0 || strcmp(w[2], "leave") == 0) {
			json = xasprintf("{\"%s\":\"%s\"}", w[2], w[1]);
			return sim_send(app, "health", json, strcmp(w[2],
			    "join") == 0 ? "node joined" : "node left");
		}
		if (strcmp(w[2], "offline") == 0 ||
		    strcmp(w[2], "online") == 0) {
			json = xasprintf("{\"node\":\"%s\",\"online\":%s}", w[1],
			    strcmp(w[2], "online") == 0 ? "true" : "false");
			return sim_send(app, "fault", json, "node state set");
		}
		return NULL;
	}
	if (n == 2 && strcmp(w[0], "quorum") == 0 &&
	    (strcmp(w[1], "lost") == 0 || strcmp(w[1], "back") == 0)) {
		json = xasprintf("{\"quorate\":%s}", strcmp(w[1], "back") == 0 ?
		    "true" : "false");
		return sim_send(app, "fault", json, "quorum set");
	}
	if (n == 2 && strcmp(w[0], "ceph") == 0) {
		if (strcmp(w[1], "ok") == 0 || strcmp(w[1], "absent") == 0)
			json = xasprintf("{\"ceph\":\"%s\"}", strcmp(w[1],
			    "ok") == 0 ? "HEALTH_OK" : "absent");
		else if (strcmp(w[1], "warn") == 0 || strcmp(w[1], "err") == 0)
			json = xasprintf("{\"ceph\":\"HEALTH_%s\",\"checks\":"
			    "[{\"code\":\"%s\",\"message\":\"%s\"}]}",
			    strcmp(w[1], "warn") == 0 ? "WARN" : "ERR",
			    strcmp(w[1], "warn") == 0 ? "OSD_DOWN" :
			    "PG_DAMAGED", strcmp(w[1], "warn") == 0 ?
			    "1 osds down" : "Possible data damage: 1 pg "
			    "inconsistent");
		else
			return NULL;
		return sim_send(app, "health", json, "Ceph health set");
	}
	if (n >= 3 && strcmp(w[0], "updates") == 0 &&
	    number(w[2], 0, 50, &v) == 0 && (n == 3 || (n == 4 &&
	    strcmp(w[3], "security") == 0))) {
		struct buf	 b;
		long long	 i;

		buf_init(&b, 0);
		buf_printf(&b, "[{\"node\":\"%s\",\"updates\":\"none\"}", w[1]);
		for (i = 0; i < v; i++)
			buf_printf(&b, ",{\"node\":\"%s\",\"update\":"
			    "\"demo-pkg%lld\",\"version\":\"1.%lld-1\",\"old\":"
			    "\"1.0-1\",\"security\":%s}", w[1], i, i + 1,
			    n == 4 ? "true" : "false");
		buf_puts(&b, "]");
		return sim_send(app, "health", buf_steal(&b), "updates set");
	}
	if (n == 2 && strcmp(w[0], "kernel") == 0) {
		json = xasprintf("{\"node\":\"%s\",\"kernel_installed\":"
		    "\"6.17.9-1-pve\"}", w[1]);
		return sim_send(app, "health", json, "kernel 6.17.9-1-pve "
		    "installed");
	}
	if (n == 2 && strcmp(w[0], "reboot") == 0) {
		json = xasprintf("{\"node\":\"%s\",\"kernel_running\":"
		    "\"6.17.9-1-pve\"}", w[1]);
		return sim_send(app, "health", json, "rebooted into "
		    "6.17.9-1-pve");
	}
	if (n == 3 && strcmp(w[0], "backup") == 0 &&
	    number(w[1], 100, 999999999, &v) == 0) {
		if (strcmp(w[2], "fail") == 0)
			json = xasprintf("{\"backup_failed\":{\"vmids\":[%lld],"
			    "\"message\":\"No space left on device\"}}", v);
		else if (strcmp(w[2], "nojob") == 0)
			json = xasprintf("{\"backup_exclude\":%lld}", v);
		else if (strcmp(w[2], "job") == 0)
			json = xasprintf("{\"backup_include\":%lld}", v);
		else
			return NULL;
		return sim_send(app, "health", json, "backup scripted");
	}
	return NULL;
}

/*
 * More of what the monitor watches: "/sim backupjob NODE fail" leaves a
 * vzdump task on NODE that failed before it named a guest (its storage
 * offline: backup-job-failed); "/sim tag VMID TAG|none" sets a guest's
 * tags (the demo ignores "scratch*" for backups, which ends that guest's
 * backup alerts). NULL when the line is none of them.
 */
static char *
demo_health_more(struct app *app, char w[5][64], int n)
{
	long long	 v;
	char		*json;

	if (n == 3 && strcmp(w[0], "backupjob") == 0 &&
	    strcmp(w[2], "fail") == 0) {
		json = xasprintf("{\"backup_failed\":{\"node\":\"%s\","
		    "\"vmids\":[]}}", w[1]);
		return sim_send(app, "health", json, "backup job failed");
	}
	if (n == 3 && strcmp(w[0], "tag") == 0 &&
	    number(w[1], 100, 999999999, &v) == 0) {
		json = xasprintf("{\"vmid\":%lld,\"tags\":\"%s\"}", v,
		    strcmp(w[2], "none") == 0 ? "" : w[2]);
		return sim_send(app, "guest", json, "tags set");
	}
	return NULL;
}

/*
 * "/sim load NODE PERCENT" sets a node's CPU in the simulator (a load
 * spike for the monitor to see); "/sim wait SECONDS" pauses the script;
 * "/sim wedge router SECONDS" holds pvebot's own router loop still, as a
 * hung call would, so the systemd watchdog (and /healthz) can be seen to
 * notice; the others script what the monitor watches (demo_health).
 */
static char *
demo_hook(void *arg, const char *args)
{
	struct app	*app = arg;
	struct sim	*sim = app->sim;
	char		 node[64], *json, *cause = NULL, *msg, w[5][64];
	const char	*errstr;
	int		 pct, secs, n;

	if (sscanf(args, "load %63[a-z0-9-] %d%n", node, &pct, &n) == 2 &&
	    args[n] == '\0') {
		if (pct < 0 || pct > 100)
			return xstrdup("usage: /sim load NODE PERCENT (0-100)");
		json = xasprintf("{\"node\":\"%s\",\"cpu\":%.2f}", node,
		    pct / 100.0);
		if (sim_admin(sim, "metrics", json, &cause) != 0) {
			msg = xasprintf("simulator: %s", cause);

			free(cause);
			free(json);
			return msg;
		}
		free(json);
		return xasprintf("simulator: %s now at %d%% CPU", node, pct);
	}
	if (str_has_prefix(args, "wait ")) {
		secs = (int)strtonum(args + 5, 1, 600, &errstr);
		if (errstr == NULL) {
			sleep_ms((int64_t)secs * 1000);
			return xasprintf("simulator: waited %ds", secs);
		}
	}
	if (str_has_prefix(args, "wedge router ")) {
		secs = (int)strtonum(args + 13, 1, 600, &errstr);
		if (errstr == NULL) {
			app_wedge_router(app, (int64_t)secs * 1000);
			return xasprintf("simulator: router wedged for %ds",
			    secs);
		}
	}
	if (str_has_prefix(args, "sensor ") && app->sensor_feed_arg != NULL)
		return demo_sensors_set(app->sensor_feed_arg, args + 7);
	if ((n = words(args, w)) >= 3 && n <= 4 && strcmp(w[0], "until") ==
	    0) {
		long long	 v = 60;

		if (n == 4 && number(w[3], 1, 600, &v) != 0)
			return xstrdup("usage: /sim until RULE "
			    "firing|repeated|resolved [SECONDS] (1-600)");
		return demo_until(app, w[1], w[2], v);
	}
	if (n > 0 && ((msg = demo_health(app, w, n)) !=
	    NULL || (msg = demo_health_more(app, w, n)) != NULL))
		return msg;
	return xstrdup(demo_sim_usage);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int
demo_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "task-ms", required_argument, NULL, 't' },
		{ "monitor-interval", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_opts	 so;
	struct sim	*sim;
	struct conf	*c;
	struct app	*app;
	struct demo_sensors *sensors;
	const char	*db = NULL, *errstr, *level, *interval = "5s";
	int64_t		 every = 5;
	char		 tmp[] = "/tmp/pvebot-demo-XXXXXX", secret[33];
	char		 slow[32];
	char		*dbpath, *share, *text, *errors = NULL, *cause = NULL;
	char		*schedpath = NULL;
	int		 ch, task_ms = 3000, rc = 0, made_tmp = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:t:m:h", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 't':
			task_ms = (int)strtonum(optarg, 10, 600000, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "pvebot demo: --task-ms %s: "
				    "%s\n", optarg, errstr);
				return 2;
			}
			break;
		case 'm':
			interval = optarg;
			if (parse_duration(interval, &every, &cause) != 0 ||
			    every < 1 || every > 3600) {
				fprintf(stderr, "pvebot demo: --monitor-interval "
				    "%s: %s\n", optarg, cause != NULL ? cause :
				    "out of range (1s to 1h)");
				free(cause);
				return 2;
			}
			break;
		case 'h':
			printf("usage: pvebot demo [--db PATH] [--task-ms N] "
			    "[--monitor-interval DURATION]\n"
			    "Runs pvebot with the console as chat room, the "
			    "Proxmox simulator and SQLite.\nType commands on "
			    "standard input (help, status, start 101, "
			    "rollback 101 pre-upgrade);\n/as NAME switches "
			    "user: bob (operator, the start), alice (admin), "
			    "carol (viewer).\n/sim load NODE PERCENT sets a "
			    "node's CPU in the simulator (the monitor alerts "
			    "above 90%%\nfor 3 intervals, repeats every 12, "
			    "resolves below 70%%); /sim wait SECONDS pauses;\n"
			    "/sim until RULE firing|repeated|resolved [SECONDS] "
			    "waits for an alert\n(node-cpu-high firing), 60 s "
			    "at most.\n"
			    "/sim wedge router SECONDS holds the router still "
			    "(the systemd watchdog notices).\n"
			    "Failures the monitor watches, read through the "
			    "API every other interval:\n"
			    "  /sim disk pve1 sdb failed|ok, /sim disk pve1 "
			    "sda wear 95, /sim disk pve1 sdc sectors 8\n"
			    "  /sim pool pve1 tank degraded|online, /sim cert "
			    "pve1 9 (days left)\n"
			    "  /sim replication 102-0 fail|ok|lag 3 (hours)\n"
			    "  /sim node pve4 join|leave, /sim node pve3 "
			    "offline|online, /sim quorum lost|back\n"
			    "  /sim ceph warn|err|ok|absent, /sim updates pve2 "
			    "3 security, /sim kernel pve3, /sim reboot pve3\n"
			    "  /sim backup 104 nojob|job, /sim backup 102 fail, "
			    "/sim backupjob pve1 fail\n"
			    "  /sim tag 104 scratch-1 (backups ignore "
			    "scratch*: its alerts end), /sim tag 104 none\n"
			    "pve1's sensors, read every interval (`sensors` "
			    "shows them with their limits):\n"
			    "  /sim sensor k10temp/Tctl 95: temperature-high "
			    "(above 85 C; below 80 clears)\n"
			    "  /sim sensor nct6798/fan2 0: fan-stall (a fan "
			    "that spun; 1064 spins it)\n"
			    "  /sim sensor nct6798/Vcore 1.6: "
			    "voltage-out-of-range (0.90-1.40 V)\n"
			    "  /sim sensor ltc2945/curr1 9.5: "
			    "current-out-of-range (0.50-8.00 A)\n"
			    "  and nct6798/+12V (11.40-12.60 V), nct6798/fan1, "
			    "nct6798/SYSTIN, k10temp/Tccd1\n"
			    "Schedules: `schedules` lists the demo's; "
			    "jobs-report runs `jobs` every 5 minutes\n"
			    "as schedule:jobs-report. Safe shutdown: /as "
			    "alice, shutdown-node pve3, approve N: 106\n"
			    "and 107 (tagged safe-shutdown) stop in reverse "
			    "startup order, then pve3 powers off;\n"
			    "wake pve3 powers it on again. shutdown-node pve1 "
			    "is refused: pvebot runs\nthere "
			    "(self-protection).\n"
			    "With --db the database is kept, "
			    "so a second run continues the first.\nExit "
			    "codes: 0 ok, 1 runtime failure, 2 usage "
			    "error.\n");
			return 0;
		default:
			return 2;
		}
	}
	level = getenv("PVEBOT_LOG") != NULL ? getenv("PVEBOT_LOG") : "warn";
	{
		enum log_level	 l;

		if (log_parse_level(level, &l) == 0)
			log_set_level(l);
	}
	random_hex(secret, 16);
	setenv(DEMO_SECRET_ENV, secret, 1);
	memset(&so, 0, sizeof so);
	so.tls = 1;
	so.token_id = "pvebot@pve!bot";
	so.secret = secret;
	so.task_ms = task_ms;
	if ((sim = sim_start(&so, &cause)) == NULL) {
		fprintf(stderr, "pvebot demo: simulator: %s\n", cause);
		free(cause);
		return 1;
	}
	if (sim_admin(sim, "guest", demo_guests, &cause) != 0) {
		fprintf(stderr, "pvebot demo: simulator: %s\n", cause);
		free(cause);
		sim_stop(sim);
		return 1;
	}
	/* A folder of its own for the schedules (and the database). */
	if (mkdtemp(tmp) == NULL) {
		perror("pvebot demo: mkdtemp");
		sim_stop(sim);
		return 1;
	}
	made_tmp = 1;
	dbpath = db == NULL ? xasprintf("%s/pvebot.db", tmp) : xstrdup(db);
	schedpath = xasprintf("%s/schedules.yaml", tmp);
	{
		FILE	*f = fopen(schedpath, "w");

		if (f == NULL || fputs(demo_schedules, f) == EOF ||
		    fclose(f) != 0) {
			perror("pvebot demo: schedules");
			rc = 1;
			share = NULL;
			goto out;
		}
	}
	share = find_share(argv[0]);
	/* The health kinds are read every other interval, not hourly, so
	 * a /sim line shows within seconds. */
	snprintf(slow, sizeof slow, "%llds", (long long)(2 * every));
	text = xasprintf(demo_conf_template, dbpath, share, share, schedpath,
	    level,
	    sim_port(sim), sim_fingerprint(sim), interval,
	    (long long)(3 * every), (long long)(12 * every),
	    (long long)(3 * every), (long long)(3 * every),
	    (long long)(3 * every), slow, slow, slow,
	    slow, slow, slow, slow);
	c = conf_load_string("(demo)", text, &errors);
	free(text);
	if (c == NULL) {
		fprintf(stderr, "pvebot demo: %s", errors);
		free(errors);
		rc = 2;
		goto out;
	}
	fprintf(stderr, "pvebot demo: Proxmox simulator on 127.0.0.1:%d "
	    "(cluster homelab: pve1-pve3, guests 100-112)\n"
	    "pvebot demo: you are bob (operator); /as alice (admin) to "
	    "approve, /as carol (viewer)\n"
	    "pvebot demo: try: help, status, guests, start 101, backup 102, "
	    "rollback 101 pre-upgrade\n"
	    "pvebot demo: schedules lists the schedules; as alice, "
	    "shutdown-node pve3 shows a safe shutdown (--help)\n",
	    sim_port(sim));
	if ((app = app_create(c, STDIN_FILENO, STDOUT_FILENO, &cause)) ==
	    NULL) {
		fprintf(stderr, "pvebot demo: %s\n", cause);
		free(cause);
		conf_free(c);
		rc = 2;
		goto out;
	}
	app->sim = sim;
	/* pve1's board, read every cycle instead of lm-sensors or SSH. */
	sensors = demo_sensors_create("pve1");
	app->sensor_feed = demo_sensors_json;
	app->sensor_feed_arg = sensors;
	app->sensor_feed_host = demo_sensors_host(sensors);
	if (app->console != NULL)
		chat_console_set_hook(app->console, demo_hook, app);
	if (app_start(app, &cause) != 0) {
		fprintf(stderr, "pvebot demo: %s\n", cause);
		free(cause);
		rc = 1;
	} else
		rc = app_run(app) == 0 ? 0 : 1;
	app_free(app);
	demo_sensors_free(sensors);
	conf_free(c);
out:
	sim_stop(sim);
	if (made_tmp)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dbpath);
	free(schedpath);
	free(share);
	return rc;
}
