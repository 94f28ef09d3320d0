/*
 * The SSH-backed commands through the whole daemon: `pvebot run` with the
 * console as chat room and a real sshd started by the test (stand-ins for
 * pvecm, apt, lvcreate, lvs, systemctl, nvidia-smi and sensors first on
 * its PATH). Proves the catalogue's argv templates, the policy, the
 * worker and the output parsers work together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakes/sshd.h"
#include "sim.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

static char *
write_conf(struct fake_ssh_env *f)
{
	char	 cwd[512], *text, *path, *db, *dbconf;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	dbconf = t_db_conf("p.db", &db);
	text = xasprintf("%scommands: %s/commands\n"
	    "policies: %s/policies\nchat:\n  console: {user: alice}\n"
	    "  rate_limit: {per_user: 1000, user_burst: 1000, per_room: 1000,\n"
	    "    room_burst: 1000}\n"
	    "ssh:\n  timeout: 30s\n  hosts:\n"
	    "    - name: %s\n      node: %s\n      address: %s\n"
	    "      port: %d\n      user: %s\n      sudo: true\n"
	    "      key_file: %s\n"
	    "      known_hosts: %s\n", dbconf, cwd, cwd, f->host.name,
	    f->host.node != NULL ? f->host.node : f->host.name,
	    f->host.address, f->host.port, f->host.user, f->host.key_file,
	    f->host.known_hosts);
	path = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(dbconf);
	free(db);
	return path;
}

static int
run(const char *conf, const char *script, char **out)
{
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", (char *)conf,
	    NULL };
	char	*err = NULL;
	int	 rc = t_spawn(argv, script, out, &err, 120000);

	if (rc != 0)
		printf("pvebot exited %d:\n%s\n", rc, err);
	free(err);
	return rc;
}

static void
test_ssh_commands_through_the_daemon(void)
{
	struct fake_ssh_env	 f;
	char			*cause = NULL, *conf, *out = NULL, *calls;

	if (fake_ssh_env_start(&f, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "cannot run the test sshd: %s",
		    cause);
		free(cause);
		return;
	}
	conf = write_conf(&f);
	{
		char	 cwd[512], *script;

		if (getcwd(cwd, sizeof cwd) == NULL)
			abort();
		script = xasprintf("cat '%s/tests/data/sensors/"
		    "amd-k10temp-nct6798.json'\n", cwd);
		fake_sshd_stub(&f.sshd, "sensors", script);
		free(script);
	}
	T_EQ_INT(run(conf,
	    "pvecm pve1\n"
	    "updates pve1\n"
	    "hostsnap pve1 hostsnap-e2e\n"
	    "hostsnaps pve1\n"
	    "service pve1 pveproxy status\n"
	    "gpu pve1\n"
	    "sensors pve1\n", &out), 0);
	T_CONTAINS(out, "quorate");
	T_CONTAINS(out, "updates");
	T_CONTAINS(out, "Job #3: hostsnap pve1 hostsnap-e2e");
	T_CONTAINS(out, "hostsnap-e2e");
	T_CONTAINS(out, "pveproxy");
	T_CONTAINS(out, "k10temp-pci-00c3: Tctl");
	if (strstr(out, "failed") != NULL)
		printf("%s\n", out);
	T_NOT_CONTAINS(out, "failed");
	calls = fake_sshd_calls(&f.sshd);
	T_CONTAINS(calls, "lvcreate [-s] [-n] [hostsnap-e2e] [-L] [2G] [pve/root]");
	/* The host logs in as a plain user: root commands go through sudo. */
	T_CONTAINS(calls, "sudo [-n] [lvcreate] [-s]");
	T_CONTAINS(calls, "sudo [-n] [pvecm] [status]");
	T_NOT_CONTAINS(calls, "sudo [-n] [apt]");
	free(calls);
	free(out);
	/* Restart needs an admin's approval; the requester confirms. */
	T_EQ_INT(run(conf, "service pve1 pveproxy restart\napprove 8\n",
	    &out), 0);
	T_CONTAINS(out, "Approval needed: job #8");
	T_NOT_CONTAINS(out, "failed");
	calls = fake_sshd_calls(&f.sshd);
	T_CONTAINS(calls, "systemctl [--no-pager] [restart] [pveproxy]");
	free(calls);
	free(out);
	/* Hostile text never reaches the host: refused by its type. */
	T_EQ_INT(run(conf, "service pve1 'x; touch /tmp/pwned' status\n"
	    "hostsnap pve1 '$(reboot)'\n", &out), 0);
	T_NOT_CONTAINS(out, "Job #");
	calls = fake_sshd_calls(&f.sshd);
	T_NOT_CONTAINS(calls, "pwned");
	T_NOT_CONTAINS(calls, "reboot");
	free(calls);
	free(out);
	free(conf);
	fake_ssh_env_stop(&f);
}

/*
 * unlock: `qm unlock` / `pct unlock` on the node the guest is on (the
 * API cannot remove a lock with a token), only when the guest is
 * locked, and a clear refusal when that node has no SSH host.
 */
static void
test_unlock_on_the_guests_node(void)
{
	struct fake_ssh_env	 f;
	struct conf_ssh_host	 h2;
	struct sim_opts		 so = { .tls = 1, .token_id = "pvebot@pve!bot",
	    .secret = "6c1f0e2a-1d3b-4e5f-8a9b-0c1d2e3f4a5b", .task_ms = 200 };
	struct sim		*sim;
	char			*cause = NULL, *conf, *out = NULL, *calls;
	char			*text, cwd[512], *db, *dbconf;

	if (fake_ssh_env_start(&f, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "cannot run the test sshd: %s",
		    cause);
		free(cause);
		return;
	}
	if ((sim = sim_start(&so, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sim_start: %s", cause);
		free(cause);
		fake_ssh_env_stop(&f);
		return;
	}
	setenv("T_UNLOCK_PVE_SECRET", so.secret, 1);
	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	/* Only pve2 has an SSH host. */
	fake_sshd_host(&f.sshd, &h2, "pve2-host", "pve2");
	dbconf = t_db_conf("p.db", &db);
	text = xasprintf("%scommands: %s/commands\n"
	    "policies: %s/policies\nchat:\n  console: {user: alice}\n"
	    "proxmox:\n  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
	    "  token_id: pvebot@pve!bot\n  secret_env: T_UNLOCK_PVE_SECRET\n"
	    "  fingerprint: \"%s\"\n  task_poll_ms: 100\n"
	    "monitor: {enabled: false}\n"
	    "ssh:\n  timeout: 30s\n  hosts:\n"
	    "    - name: %s\n      node: %s\n      address: %s\n"
	    "      port: %d\n      user: %s\n      sudo: true\n"
	    "      key_file: %s\n      known_hosts: %s\n", dbconf, cwd,
	    cwd, sim_port(sim), sim_fingerprint(sim), h2.name, h2.node,
	    h2.address, h2.port, h2.user, h2.key_file, h2.known_hosts);
	conf = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(dbconf);
	free(db);
	T_EQ_INT(sim_admin(sim, "guest", "[{\"vmid\":104,\"lock\":"
	    "\"backup\"},{\"vmid\":103,\"lock\":\"snapshot\"},"
	    "{\"vmid\":101,\"lock\":\"migrate\"}]", &cause), 0);
	T_EQ_INT(run(conf, "unlock media\napprove 1\n"
	    "unlock dns\napprove 2\n"
	    "unlock 108\n"
	    "unlock 101\napprove 3\n", &out), 0);
	T_CONTAINS(out, "Job #1: unlock media");
	T_CONTAINS(out, "Job #2: unlock dns");
	calls = fake_sshd_calls(&f.sshd);
	/* The VM by qm, the container by pct, root through sudo. */
	T_CONTAINS(calls, "sudo [-n] [qm] [unlock] [104]");
	T_CONTAINS(calls, "qm [unlock] [104]");
	T_CONTAINS(calls, "sudo [-n] [pct] [unlock] [103]");
	/* 108 has no lock: refused before anyone is asked, nothing runs. */
	T_CONTAINS(out, "guest 108 is not locked: there is nothing to unlock");
	T_NOT_CONTAINS(out, "Job #4");
	T_NOT_CONTAINS(calls, "[108]");
	/* 101 is on pve1, which has no SSH host. */
	T_CONTAINS(out, "guest 101 is on node pve1, and no SSH host is "
	    "configured for pve1 (ssh: hosts: in bot.conf); unlock runs "
	    "`qm unlock 101` there");
	T_NOT_CONTAINS(calls, "[101]");
	/* Nothing went through the API's config call. */
	T_NOT_CONTAINS(out, "VM is locked");
	free(calls);
	free(out);
	free(conf);
	sim_stop(sim);
	fake_ssh_env_stop(&f);
}

/*
 * `sensors NODE` shows each voltage's and current's limits as the
 * monitor judges them: monitor.sensor_limits where bot.conf sets them
 * (marked so, one side when only one is set), the chip's own min/max
 * otherwise, none when neither has any.
 */
static void
test_sensors_shows_limits(void)
{
	struct fake_ssh_env	 f;
	char			*cause = NULL, *conf, *text, *out = NULL;
	char			*json, *script, *base;
	size_t			 len;

	if (fake_ssh_env_start(&f, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "cannot run the test sshd: %s",
		    cause);
		free(cause);
		return;
	}
	json = fake_sshd_file(&f.sshd, "sensors.json",
	    "{\"nct6798-isa-0290\":{\"Adapter\":\"ISA adapter\","
	    "\"Vcore\":{\"in0_input\":1.20,\"in0_min\":0.0,"
	    "\"in0_max\":1.744},\"+12V\":{\"in1_input\":12.1},"
	    "\"3VCC\":{\"in2_input\":3.36,\"in2_min\":2.98,"
	    "\"in2_max\":3.63},\"AVSB\":{\"in3_input\":3.30},"
	    "\"IBUS\":{\"curr1_input\":1.5,\"curr1_min\":0.0,"
	    "\"curr1_max\":5.0},\"ICPU\":{\"curr2_input\":20.25,"
	    "\"curr2_min\":0.0,\"curr2_max\":60.0}}}\n", 0644);
	script = xasprintf("cat '%s'\n", json);
	fake_sshd_stub(&f.sshd, "sensors", script);
	free(script);
	free(json);
	conf = write_conf(&f);
	base = read_file(conf, 1 << 20, &len, &cause);
	T_OK(base != NULL);
	text = xasprintf("%smonitor:\n  enabled: false\n  sensor_limits:\n"
	    "    - sensor: \"nct6798-*/Vcore\"\n      min: 0.9\n"
	    "      max: 1.4\n"
	    "    - sensor: \"nct6798-*/+12V\"\n      min: 11.4\n"
	    "    - sensor: \"*/IBUS\"\n      max: 4\n",
	    base != NULL ? base : "");
	t_write("bot.conf", text, 0600);
	free(text);
	free(base);
	T_EQ_INT(run(conf, "sensors pve1\n", &out), 0);
	/* Configured: both sides, one side each way. */
	T_CONTAINS(out, "Vcore 1.20 V (0.90-1.40, bot.conf)");
	T_CONTAINS(out, "+12V 12.10 V (min 11.40, bot.conf)");
	T_CONTAINS(out, "IBUS 1.50 A (max 4.00, bot.conf)");
	/* The chip's own where bot.conf says nothing; none without. */
	T_CONTAINS(out, "3VCC 3.36 V (2.98-3.63)");
	T_CONTAINS(out, "ICPU 20.25 A (0.00-60.00)");
	T_CONTAINS(out, "AVSB 3.30 V,");
	T_NOT_CONTAINS(out, "0.00-1.74");
	T_NOT_CONTAINS(out, "0.00-5.00");
	free(out);
	free(conf);
	fake_ssh_env_stop(&f);
}

int
main(void)
{
	T_RUN(test_ssh_commands_through_the_daemon);
	T_RUN(test_unlock_on_the_guests_node);
	T_RUN(test_sensors_shows_limits);
	return t_summary();
}
