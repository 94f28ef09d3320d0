/*
 * End to end through the console connector: pvebot demo (the Proxmox
 * simulator over real HTTPS with a pinned certificate, real SQLite) fed a
 * scripted conversation through a pipe, exactly as a user would type it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "util.h"

static int
run_demo_ms(const char *script, const char *db, const char *task_ms,
    char **out, char **err)
{
	char	*argv[8];
	int	 i = 0;

	argv[i++] = (char *)t_pvebot();
	argv[i++] = "demo";
	argv[i++] = "--task-ms";
	argv[i++] = (char *)task_ms;
	if (db != NULL) {
		argv[i++] = "--db";
		argv[i++] = (char *)db;
	}
	argv[i] = NULL;
	return t_spawn(argv, script, out, err, 60000);
}

static int
run_demo(const char *script, const char *db, char **out, char **err)
{
	return run_demo_ms(script, db, "600", out, err);
}

/* The block of console message `ref` after its last edit. */
static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void
test_help_and_whoami(void)
{
	char	*out = NULL, *err = NULL;

	T_EQ_INT(run_demo("help\nwhoami\n", NULL, &out, &err), 0);
	T_CONTAINS(out, "pvebot[1]> Commands (help COMMAND for details):");
	T_CONTAINS(out, "rollback GUEST SNAPSHOT");
	T_CONTAINS(out, "pvebot[2]> you are console:bob in room "
	    "console:console");
	T_CONTAINS(out, "roles: operator");
	free(out);
	free(err);
}

static void
test_status_start_backup(void)
{
	char	*out = NULL, *err = NULL;

	/* Backups need an admin's approval in the default policy. */
	T_EQ_INT(run_demo_ms("status\nstart 101\nbackup 102\n/as alice\n"
	    "approve 3\n", NULL, "4000", &out, &err), 0);
	T_CONTAINS(out, "Cluster homelab: quorate");
	T_CONTAINS(out, "Nodes: 3/3 online");
	T_CONTAINS(out, "Job #2: start 101 (web-01 on pve1)");
	T_CONTAINS(out, "pvebot[3]> backup 102 snapshot (db-01 on pve1)");
	/* The backup's message is edited in place up to 100%. */
	T_CONTAINS(out, "pvebot[3]~ running [");
	T_OK(count(out, "pvebot[3]~ running [") >= 3);
	T_CONTAINS(out, "pvebot[3]~ succeeded in");
	T_CONTAINS(out, "] 100%");
	T_OK(count(out, "succeeded in") >= 2);
	T_NOT_CONTAINS(out, "failed");
	free(out);
	free(err);
}

static void
test_approval_flow(void)
{
	char	*out = NULL, *err = NULL;

	T_EQ_INT(run_demo(
	    "rollback 101 pre-upgrade\n"
	    "approve 1\n"
	    "/as carol\n"
	    "approve 1\n"
	    "/as alice\n"
	    "approve 1\n"
	    "approve 1\n", NULL, &out, &err), 0);
	T_CONTAINS(out, "pvebot[1]> Approval needed: job #1");
	T_CONTAINS(out, "pvebot[1]> [approve 1] [deny 1]");
	/* The requester cannot approve their own request. */
	T_CONTAINS(out, "pvebot[2]> you requested this job; another "
	    "approver must approve it");
	/* A viewer may not approve. */
	T_CONTAINS(out, "pvebot[4]> Refused: your role viewer may not "
	    "request job.approve");
	/* People by name; the identity is for the audit log. */
	T_CONTAINS(out, "approved by alice; queued");
	/* A second approval changes nothing. */
	T_CONTAINS(out, ", not awaiting approval");
	T_CONTAINS(out, "pvebot[1]~ succeeded in");
	free(out);
	free(err);
}

static void
test_refusals_and_explain(void)
{
	char	*out = NULL, *err = NULL;

	T_EQ_INT(run_demo(
	    "delsnap 101 safety-1\n"
	    "stop 100\n"
	    "explain rollback 101 pre-upgrade\n"
	    "strat 101\n"
	    "/as eve\n"
	    "status\n"
	    "strat 101\n"
	    "start 101; rm -rf /\n", NULL, &out, &err), 0);
	T_CONTAINS(out, "Prohibited: snapshots named safety-*");
	T_CONTAINS(out, "policies/default.yaml:");
	T_CONTAINS(out, "Refused (self-protection)");
	T_CONTAINS(out, "decision: require_approval by ");
	T_CONTAINS(out, "console:eve is not a known user");
	T_CONTAINS(out, "Did you mean 'start'?");
	/* Someone nobody knows gets one answer per room and window. */
	T_NOT_CONTAINS(strstr(out, "not a known user"), "Did you mean");
	T_NOT_CONTAINS(out, "Job #");
	free(out);
	free(err);
}

static void
test_alert_fires_repeats_resolves_and_digest(void)
{
	char	*argv[] = { (char *)t_pvebot(), "demo", "--monitor-interval",
	    "1s", NULL };
	char	*out = NULL, *err = NULL;

	/* Fires after 3 cycles, repeats 12 cycles later; the load drops
	 * right after the repeat, long before a second one is due. */
	T_EQ_INT(t_spawn(argv,
	    "/sim load pve1 95\n"
	    "/sim until node-cpu-high firing\n"
	    "/sim until node-cpu-high repeated\n"
	    "/sim load pve1 20\n"
	    "/sim until node-cpu-high resolved\n"
	    "/as alice\n"
	    "digest\n", &out, &err, 150000), 0);
	T_NOT_CONTAINS(out, "still not");
	T_CONTAINS(out, "simulator: node-cpu-high is repeated");
	/* Once after the for-duration, again after repeat, then resolved. */
	T_EQ_INT(count(out, "> \xe2\x9a\xa0\xef\xb8\x8f 1 alert firing"), 1);
	T_CONTAINS(out, "#1 pve1: CPU 95%");
	T_CONTAINS(out, "[ack 1] [silence alert=1 1h]");
	T_EQ_INT(count(out, "still firing after"), 1);
	T_CONTAINS(out, "node-cpu-high, resolved after");
	T_CONTAINS(out, "Cluster homelab");
	free(out);
	free(err);
}

static void
test_ack_and_silence_from_the_console(void)
{
	char	*argv[] = { (char *)t_pvebot(), "demo", "--monitor-interval",
	    "1s", NULL };
	char	*out = NULL, *err = NULL;

	/* ack waits for the alert to fire, however slow the machine. */
	T_EQ_INT(t_spawn(argv,
	    "/sim load pve2 97\n"
	    "/sim until node-cpu-high firing\n"
	    "/as carol\n"
	    "ack 1\n"
	    "/as bob\n"
	    "ack 1\n"
	    "silence node=pve2 1h noisy\n"
	    "alerts\n"
	    "unsilence 1\n"
	    "unsilence 1\n", &out, &err, 90000), 0);
	T_CONTAINS(out, "simulator: node-cpu-high is firing");
	T_CONTAINS(out, "#1 pve2: CPU 97%");
	T_CONTAINS(out, "Refused: your role viewer may not request "
	    "alert.silence");
	T_CONTAINS(out, "acked #1: no repeats until resolved");
	T_CONTAINS(out, "silence 1: node=pve2 for 1h");
	T_CONTAINS(out, "acked by console:bob");
	T_CONTAINS(out, "silence 1: node=pve2 for");
	/* Ended early once; a second time there is none to end. */
	T_CONTAINS(out, "silence 1 ended");
	T_CONTAINS(out, "there is no active silence 1");
	free(out);
	free(err);
}

/* /sim lines script what the monitor watches through the API. */
static void
test_sim_lines_provoke_health_alerts(void)
{
	char	*argv[] = { (char *)t_pvebot(), "demo", "--monitor-interval",
	    "1s", NULL };
	char	*help[] = { (char *)t_pvebot(), "demo", "--help", NULL };
	char	*out = NULL, *err = NULL;

	T_EQ_INT(t_spawn(argv,
	    "/sim disk pve1 sdb failed\n"
	    "/sim pool pve1 tank degraded\n"
	    "/sim cert pve2 5\n"
	    "/sim node pve4 join\n"
	    "/sim replication 102-0 fail\n"
	    "/sim ceph warn\n"
	    "/sim updates pve2 3 security\n"
	    "/sim kernel pve3\n"
	    "/sim disk pve1 sda wear 95\n"
	    "/sim backup 102 fail\n"
	    "/sim until disk-failing firing\n"
	    /* After a disk read has stored sdc's count (0): the rule is a
	     * gain within the window, which needs a count before it. */
	    "/sim disk pve1 sdc sectors 8\n"
	    "/sim until zfs-unhealthy firing\n"
	    "/sim until certificate-expiring firing\n"
	    "/sim until replication-failed firing\n"
	    "/sim until ceph-health firing\n"
	    "/sim until security-updates firing\n"
	    "/sim until reboot-required firing\n"
	    "/sim until disk-worn firing\n"
	    "/sim until disk-sectors firing\n"
	    "/sim until backup-failed firing\n"
	    "/sim node pve4 leave\n"
	    "/sim backup 104 nojob\n"
	    "/sim quorum lost\n"
	    "/sim until node-left firing\n"
	    "/sim until backup-missing firing\n"
	    "/sim until quorum-lost firing\n"
	    "/sim disk pve1 sdb ok\n"
	    "/sim quorum back\n"
	    "/sim until disk-failing resolved\n"
	    "/sim until quorum-lost resolved\n"
	    "/sim disk pve9 sdb failed\n"
	    "/sim bogus\n"
	    "/sim pool pve1 ta\"nk degraded\n", &out, &err, 150000), 0);
	/* Every wait ended on its condition, none on its time limit. */
	T_NOT_CONTAINS(out, "still not");
	T_CONTAINS(out, "simulator: SMART health set");
	T_CONTAINS(out, "pve1: disk sdb (WDC WD40EFRX-68N32N0, ");
	T_CONTAINS(out, "SMART FAILED!");
	T_CONTAINS(out, "pve1: ZFS pool tank DEGRADED: ");
	T_CONTAINS(out, "pve2: certificate pveproxy-ssl.pem "
	    "(CN=pve2.example.org) expires in 5 days");
	T_CONTAINS(out, "pve4 left the cluster");
	T_CONTAINS(out, "media (104) is in no backup job");
	T_CONTAINS(out, "replication 102-0 of db-01 (102) pve1->pve2 failed 3 "
	    "times: no space left on device");
	T_CONTAINS(out, "Ceph HEALTH_WARN: OSD_DOWN 1 osds down");
	T_CONTAINS(out, "pve2: 3 security updates pending (of 3)");
	T_CONTAINS(out, "pve3: reboot required (kernel 6.17.9-1-pve "
	    "installed, ");
	T_CONTAINS(out, "pve1: disk sda (Samsung SSD 870 EVO 1TB, ");
	T_CONTAINS(out, ") 95% worn out");
	T_CONTAINS(out, ") 8 more bad sectors within 7 days (8 in all)");
	T_CONTAINS(out, "db-01 (102): backup on pve1 failed: No space left "
	    "on device");
	T_CONTAINS(out, "cluster has lost quorum");
	T_CONTAINS(out, "quorum-lost, resolved after");
	T_CONTAINS(out, "disk-failing, resolved after");
	/* A node that is not there, a line that is not one, a name that
	 * is not a name. */
	T_CONTAINS(out, "simulator: health: no node pve9");
	T_EQ_INT(count(out, "/sim disk NODE DEV failed|ok|wear PERCENT|"
	    "sectors N"), 2);
	T_NOT_CONTAINS(out, "bad JSON");
	free(out);
	free(err);
	T_EQ_INT(t_spawn(help, "", &out, &err, 30000), 0);
	T_CONTAINS(out, "/sim pool pve1 tank degraded|online");
	free(out);
	free(err);
}

/* A backup job that fails before any guest, and the ignore tag that
 * ends a guest's backup alert, scripted with /sim lines. */
static void
test_sim_backup_job_and_ignore_tag(void)
{
	char	*argv[] = { (char *)t_pvebot(), "demo", "--monitor-interval",
	    "1s", NULL };
	char	*help[] = { (char *)t_pvebot(), "demo", "--help", NULL };
	char	*out = NULL, *err = NULL;

	T_EQ_INT(t_spawn(argv,
	    "/sim backup 104 nojob\n"
	    "/sim backupjob pve1 fail\n"
	    "/sim until backup-missing firing\n"
	    "/sim until backup-job-failed firing\n"
	    "/sim tag 104 scratch-1\n"
	    "/sim until backup-missing resolved\n"
	    "/sim tag 104 x;y\n", &out, &err, 150000), 0);
	T_NOT_CONTAINS(out, "still not");
	T_CONTAINS(out, "simulator: backup job failed");
	T_CONTAINS(out, "pve1: backup job failed: could not activate storage "
	    "'nas-backup', storage is offline (task UPID:pve1:");
	T_CONTAINS(out, "media (104) is in no backup job");
	T_CONTAINS(out, "simulator: tags set");
	T_CONTAINS(out, "media (104) needs no backup (tag scratch-1)");
	T_CONTAINS(out, "backup-missing, resolved after");
	/* Only names reach the simulator. */
	T_CONTAINS(out, "/sim backupjob NODE fail | /sim tag VMID TAG|none");
	free(out);
	free(err);
	T_EQ_INT(t_spawn(help, "", &out, &err, 30000), 0);
	T_CONTAINS(out, "/sim backupjob pve1 fail");
	T_CONTAINS(out, "/sim tag 104 scratch-1");
	free(out);
	free(err);
}

/*
 * /sim sensor lines change pve1's board, which the monitor reads every
 * interval through the `sensors -j` parser and the chip's limits: each
 * sensor rule fires, naming the input, and resolves.
 */
static void
test_sim_sensor_lines_provoke_sensor_alerts(void)
{
	char	*argv[] = { (char *)t_pvebot(), "demo", "--monitor-interval",
	    "1s", NULL };
	char	*help[] = { (char *)t_pvebot(), "demo", "--help", NULL };
	char	*out = NULL, *err = NULL;

	/* fan2 stalls only once the monitor saw it spin: after the
	 * temperature alert, which takes three readings. */
	T_EQ_INT(t_spawn(argv,
	    "sensors\n"
	    "/sim sensor k10temp/Tctl 95\n"
	    "/sim sensor nct6798/Vcore 1.6\n"
	    "/sim sensor ltc2945/curr1 9.5\n"
	    "/sim until temperature-high firing\n"
	    "/sim sensor nct6798/fan2 0\n"
	    "/sim until fan-stall firing\n"
	    "/sim until voltage-out-of-range firing\n"
	    "/sim until current-out-of-range firing\n"
	    "/sim sensor k10temp/Tctl 50\n"
	    "/sim sensor nct6798/fan2 1064\n"
	    "/sim sensor nct6798/Vcore 1.21\n"
	    "/sim sensor ltc2945/curr1 2\n"
	    "/sim until temperature-high resolved\n"
	    "/sim until fan-stall resolved\n"
	    "/sim until voltage-out-of-range resolved\n"
	    "/sim until current-out-of-range resolved\n"
	    "/sim sensor\n"
	    "/sim sensor nct6798/Vsoc 1\n"
	    "/sim sensor nct6798/Vcore 1,2\n"
	    "/sim sensor k10temp/Tctl \"95\"\n"
	    "/sim sensor nct6798/Vcore 1.32\n"
	    "sensors pve1\n", &out, &err, 150000), 0);
	/* `sensors` shows the readings with the limits the rules use (a
	 * job: the lines after it may already have changed some). The
	 * last one runs after the last change, before the demo ends. */
	T_EQ_INT(count(out, "pve1 (simulated by the demo):"), 2);
	T_CONTAINS(out, "+12V 12.10 V (11.40-12.60), fan1 812 RPM");
	T_CONTAINS(out, "ltc2945-i2c-1-6f: curr1 ");
	T_CONTAINS(out, " A (0.50-8.00)");
	T_CONTAINS(out, "k10temp-pci-00c3: Tctl 50.0 C");
	T_CONTAINS(out, "nct6798-isa-0290: Vcore 1.32 V (0.90-1.40), +12V "
	    "12.10 V (11.40-12.60), fan1 812 RPM, fan2 1064 RPM");
	T_CONTAINS(out, "ltc2945-i2c-1-6f: curr1 2.00 A (0.50-8.00)");
	T_CONTAINS(out, "simulator: pve1 Tctl now reads 95 C");
	/* Each rule fires, naming the input, and resolves. */
	T_CONTAINS(out, "simulator: temperature-high is firing");
	T_CONTAINS(out, "simulator: fan-stall is firing");
	T_CONTAINS(out, "simulator: voltage-out-of-range is firing");
	T_CONTAINS(out, "simulator: current-out-of-range is firing");
	T_CONTAINS(out, "pve1: Tctl 95.0 C (k10temp)");
	T_CONTAINS(out, "temperature-high, warning");
	T_CONTAINS(out, "pve1: fan2 stalled, 0 RPM (nct6798)");
	T_CONTAINS(out, "pve1: Vcore 1.60 V outside 0.90-1.40 V (nct6798)");
	T_CONTAINS(out, "pve1: curr1 9.50 A outside 0.50-8.00 A (ltc2945)");
	T_CONTAINS(out, "simulator: temperature-high is resolved");
	T_CONTAINS(out, "simulator: fan-stall is resolved");
	T_CONTAINS(out, "simulator: voltage-out-of-range is resolved");
	T_CONTAINS(out, "simulator: current-out-of-range is resolved");
	T_CONTAINS(out, "temperature-high, resolved after");
	T_CONTAINS(out, "pve1: fan2 spinning (nct6798)");
	T_CONTAINS(out, "fan-stall, resolved after");
	T_CONTAINS(out, "voltage-out-of-range, resolved after");
	T_CONTAINS(out, "current-out-of-range, resolved after");
	/* Only inputs on the board, only numbers. */
	T_CONTAINS(out, "simulator: pve1 has no sensor input nct6798/Vsoc");
	/* The /sim help says how to provoke each sensor rule. */
	T_CONTAINS(out, "/sim sensor CHIP/INPUT VALUE on pve1: k10temp/Tctl 95 "
	    "(temperature-high),");
	T_CONTAINS(out, "nct6798/fan2 0 (fan-stall), nct6798/Vcore 1.6 "
	    "(voltage-out-of-range),");
	T_CONTAINS(out, "ltc2945/curr1 9.5 (current-out-of-range)");
	T_EQ_INT(count(out, "usage: /sim sensor CHIP/INPUT VALUE (a number"),
	    2);
	free(out);
	free(err);
	T_EQ_INT(t_spawn(help, "", &out, &err, 30000), 0);
	T_CONTAINS(out, "/sim sensor k10temp/Tctl 95: temperature-high");
	T_CONTAINS(out, "/sim sensor nct6798/fan2 0: fan-stall");
	T_CONTAINS(out, "/sim sensor nct6798/Vcore 1.6: voltage-out-of-range");
	T_CONTAINS(out, "/sim sensor ltc2945/curr1 9.5: current-out-of-range");
	T_CONTAINS(out, "/sim until RULE firing|repeated|resolved");
	free(out);
	free(err);
}

static void
test_second_run_continues(void)
{
	char	*db = t_path("demo.db"), *out = NULL, *err = NULL;

	T_EQ_INT(run_demo("start 101\n", db, &out, &err), 0);
	free(out);
	free(err);
	T_EQ_INT(run_demo("jobs\n", db, &out, &err), 0);
	T_CONTAINS(out, "#1 succeeded: start 101 (by console:bob");
	free(out);
	free(err);
	free(db);
}

int
main(void)
{
	T_RUN(test_help_and_whoami);
	T_RUN(test_status_start_backup);
	T_RUN(test_approval_flow);
	T_RUN(test_refusals_and_explain);
	T_RUN(test_alert_fires_repeats_resolves_and_digest);
	T_RUN(test_ack_and_silence_from_the_console);
	T_RUN(test_sim_lines_provoke_health_alerts);
	T_RUN(test_sim_backup_job_and_ignore_tag);
	T_RUN(test_sim_sensor_lines_provoke_sensor_alerts);
	T_RUN(test_second_run_continues);
	return t_summary();
}
