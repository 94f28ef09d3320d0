/*
 * Unit tests for ssh_parse.c (pvecm, apt, nvidia-smi, lvs, systemctl
 * output and snapshot retention) and for the runner's pure parts in
 * exec_ssh.c (quoting, the ssh argv). Quoting is checked by handing the
 * quoted words to a real /bin/sh.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "exec_ssh.h"
#include "t.h"
#include "util.h"

static const char pvecm_ok[] =
	"Cluster information\n"
	"-------------------\n"
	"Name:             homelab\n"
	"Config Version:   5\n"
	"Transport:        knet\n"
	"Secure auth:      on\n"
	"\n"
	"Quorum information\n"
	"------------------\n"
	"Date:             Sun Nov 22 18:20:01 2026\n"
	"Quorum provider:  corosync_votequorum\n"
	"Nodes:            3\n"
	"Node ID:          0x00000001\n"
	"Ring ID:          1.2c\n"
	"Quorate:          Yes\n"
	"\n"
	"Votequorum information\n"
	"----------------------\n"
	"Expected votes:   3\n"
	"Highest expected: 3\n"
	"Total votes:      3\n"
	"Quorum:           2  \n"
	"Flags:            Quorate \n"
	"\n"
	"Membership information\n"
	"----------------------\n"
	"    Nodeid      Votes Name\n"
	"0x00000001          1 10.10.10.11 (local)\n"
	"0x00000002          1 10.10.10.12\n"
	"0x00000003          1 10.10.10.13\n";

static const char pvecm_lost[] =
	"Cluster information\n"
	"-------------------\n"
	"Name:             homelab\n"
	"Config Version:   5\n"
	"Transport:        knet\n"
	"Secure auth:      on\n"
	"\n"
	"Quorum information\n"
	"------------------\n"
	"Date:             Sun Nov 22 18:25:44 2026\n"
	"Quorum provider:  corosync_votequorum\n"
	"Nodes:            1\n"
	"Node ID:          0x00000001\n"
	"Ring ID:          1.30\n"
	"Quorate:          No\n"
	"\n"
	"Votequorum information\n"
	"----------------------\n"
	"Expected votes:   3\n"
	"Highest expected: 3\n"
	"Total votes:      1\n"
	"Quorum:           2 Activity blocked\n"
	"Flags:            \n"
	"\n"
	"Membership information\n"
	"----------------------\n"
	"    Nodeid      Votes Name\n"
	"0x00000001          1 10.10.10.11 (local)\n";

static void
test_pvecm(void)
{
	struct pvecm_status	 st;
	char			*cause = NULL, *s;

	T_EQ_INT(pvecm_parse(pvecm_ok, &st, &cause), 0);
	T_EQ_STR(st.cluster, "homelab");
	T_EQ_INT(st.quorate, 1);
	T_EQ_INT(st.nodes, 3);
	T_EQ_INT(st.expected_votes, 3);
	T_EQ_INT(st.total_votes, 3);
	T_EQ_INT(st.quorum, 2);
	T_EQ_INT(st.nmembers, 3);
	if (st.nmembers == 3) {
		T_EQ_STR(st.members[0].name, "10.10.10.11");
		T_EQ_INT(st.members[0].local, 1);
		T_EQ_STR(st.members[2].nodeid, "0x00000003");
		T_EQ_INT(st.members[2].local, 0);
	}
	s = pvecm_summary(&st);
	T_EQ_STR(s, "cluster homelab: quorate, votes 3/3 (quorum 2), 3 nodes");
	free(s);
	pvecm_release(&st);

	T_EQ_INT(pvecm_parse(pvecm_lost, &st, &cause), 0);
	T_EQ_INT(st.quorate, 0);
	T_EQ_INT(st.quorum, 2);
	s = pvecm_summary(&st);
	T_EQ_STR(s, "cluster homelab: NOT quorate, votes 1/3 (quorum 2), "
	    "1 node");
	free(s);
	pvecm_release(&st);

	/* A node outside a cluster prints an error, not a status. */
	T_EQ_INT(pvecm_parse("Error: Corosync config '/etc/pve/corosync.conf'"
	    " does not exist - is this node part of a cluster?\n", &st,
	    &cause), -1);
	T_CONTAINS(cause, "not pvecm status output");
	T_CONTAINS(cause, "is this node part of a cluster?");
	free(cause);
	pvecm_release(NULL);
}

static void
test_apt(void)
{
	struct apt_updates	 up;
	char			*cause = NULL, *s;

	T_EQ_INT(apt_parse("Listing... Done\n"
	    "libssl3/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: "
	    "3.0.14-1~deb12u2]\n"
	    "N: There is 1 additional version. Please use the '-a' switch to "
	    "see it\n"
	    "pve-manager/stable 8.2.7 all [upgradable from: 8.2.4]\n"
	    "proxmox-kernel-6.8/stable 6.8.12-4 all [upgradable from: "
	    "6.8.12-2]\n", &up, &cause), 0);
	T_EQ_INT(up.n, 3);
	if (up.n == 3) {
		T_EQ_STR(up.v[0].name, "libssl3");
		T_EQ_STR(up.v[0].suite, "stable-security");
		T_EQ_STR(up.v[0].version, "3.0.15-1~deb12u1");
		T_EQ_STR(up.v[0].from, "3.0.14-1~deb12u2");
		T_EQ_STR(up.v[2].name, "proxmox-kernel-6.8");
	}
	s = apt_summary(&up, 2);
	T_EQ_STR(s, "3 updates: libssl3, pve-manager and 1 more");
	free(s);
	s = apt_summary(&up, 0);
	T_EQ_STR(s, "3 updates: libssl3, pve-manager, proxmox-kernel-6.8");
	free(s);
	apt_release(&up);

	T_EQ_INT(apt_parse("Listing... Done\n", &up, &cause), 0);
	T_EQ_INT(up.n, 0);
	s = apt_summary(&up, 10);
	T_EQ_STR(s, "no pending updates");
	free(s);
	apt_release(&up);

	T_EQ_INT(apt_parse("E: Could not open lock file /var/lib/dpkg/lock\n",
	    &up, &cause), -1);
	T_CONTAINS(cause, "not apt list output: \"E: Could not open lock");
	free(cause);
}

static void
test_gpu(void)
{
	struct gpu_list	 gl;
	char		*cause = NULL, *s;

	T_EQ_INT(gpu_parse("NVIDIA GeForce RTX 3060, 47, 12, 1893, 12288\n"
	    "Tesla P4, [N/A], [Not Supported], 0, 7680\n", &gl, &cause), 0);
	T_EQ_INT(gl.n, 2);
	if (gl.n == 2) {
		T_EQ_STR(gl.v[0].name, "NVIDIA GeForce RTX 3060");
		T_EQ_INT(gl.v[0].temp_c, 47);
		T_EQ_INT(gl.v[0].util_pct, 12);
		T_EQ_INT(gl.v[0].mem_used_mib, 1893);
		T_EQ_INT(gl.v[0].mem_total_mib, 12288);
		T_EQ_INT(gl.v[1].temp_c, -1);
		T_EQ_INT(gl.v[1].util_pct, -1);
	}
	s = gpu_format(&gl);
	T_EQ_STR(s, "GPU0 NVIDIA GeForce RTX 3060: 47 C, 12% busy, "
	    "1893/12288 MiB\n"
	    "GPU1 Tesla P4: temperature n/a, 0/7680 MiB\n");
	free(s);
	gpu_release(&gl);

	T_EQ_INT(gpu_parse("NVIDIA-SMI has failed because it couldn't "
	    "communicate with the NVIDIA driver. Make sure that the latest "
	    "NVIDIA driver is installed and running.\n", &gl, &cause), -1);
	T_CONTAINS(cause, "not nvidia-smi CSV output: \"NVIDIA-SMI has "
	    "failed");
	free(cause);
	cause = NULL;
	T_EQ_INT(gpu_parse("A, 40, 1, 2, 3\nB, 40, 1, 2\n", &gl, &cause), -1);
	T_CONTAINS(cause, "line 2");
	free(cause);
	cause = NULL;
	T_EQ_INT(gpu_parse("A, 40, 101, 2, 3\n", &gl, &cause), -1);
	free(cause);
	cause = NULL;
	T_EQ_INT(gpu_parse("No devices were found\n", &gl, &cause), 0);
	T_EQ_INT(gl.n, 0);
	s = gpu_format(&gl);
	T_EQ_STR(s, "no NVIDIA GPU found");
	free(s);
	gpu_release(&gl);
}

static const char lvs_json[] =
	"  {\n"
	"      \"report\": [\n"
	"          {\n"
	"              \"lv\": [\n"
	"                  {\"lv_name\":\"data\", \"origin\":\"\", "
	"\"lv_time\":\"2024-03-02 14:11:09 +0100\", \"lv_size\":\"<319.61g\"},\n"
	"                  {\"lv_name\":\"pre-upgrade-20261101\", "
	"\"origin\":\"root\", \"lv_time\":\"2026-11-01 03:00:00 +0100\", "
	"\"lv_size\":\"8.00g\"},\n"
	"                  {\"lv_name\":\"root\", \"origin\":\"\", "
	"\"lv_time\":\"2024-03-02 14:10:51 +0100\", \"lv_size\":\"96.00g\"},\n"
	"                  {\"lv_name\":\"safety-1\", \"origin\":\"root\", "
	"\"lv_time\":\"2025-06-01 02:00:00 +0200\", \"lv_size\":\"8.00g\"},\n"
	"                  {\"lv_name\":\"pre-upgrade-20261001\", "
	"\"origin\":\"root\", \"lv_time\":\"2026-10-01 03:00:00 +0200\", "
	"\"lv_size\":\"8.00g\"},\n"
	"                  {\"lv_name\":\"pre-upgrade-20261120\", "
	"\"origin\":\"root\", \"lv_time\":\"2026-11-20 03:00:00 -0130\", "
	"\"lv_size\":\"8.00g\"}\n"
	"              ]\n"
	"          }\n"
	"      ]\n"
	"  }\n";

static void
test_lvs(void)
{
	struct lv_snapshots	 ls;
	char			*cause = NULL, *s;

	T_EQ_INT(lvs_parse(lvs_json, &ls, &cause), 0);
	T_EQ_INT(ls.n, 4);
	if (ls.n == 4) {
		/* Oldest first, whatever order lvs printed. */
		T_EQ_STR(ls.v[0].name, "safety-1");
		T_EQ_INT(ls.v[0].time, 1748736000);	/* 2025-06-01 00:00Z */
		T_EQ_STR(ls.v[1].name, "pre-upgrade-20261001");
		T_EQ_STR(ls.v[3].name, "pre-upgrade-20261120");
		T_EQ_INT(ls.v[3].time, 1795149000);
		T_EQ_STR(ls.v[3].origin, "root");
		T_EQ_STR(ls.v[3].size, "8.00g");
	}
	s = lvs_format(&ls);
	T_CONTAINS(s, "safety-1 of root, 8.00g, 2025-06-01 00:00 UTC\n");
	T_CONTAINS(s, "pre-upgrade-20261120 of root, 8.00g, 2026-11-20 "
	    "04:30 UTC\n");
	free(s);
	lvs_release(&ls);

	T_EQ_INT(lvs_parse("  Volume group \"pve\" not found\n", &ls, &cause),
	    -1);
	T_CONTAINS(cause, "lvs output is not JSON");
	T_CONTAINS(cause, "Volume group");
	free(cause);
	cause = NULL;
	T_EQ_INT(lvs_parse("{\"report\": 5}", &ls, &cause), -1);
	T_CONTAINS(cause, "no \"report\" array");
	free(cause);
	lvs_release(NULL);
}

static void
test_retention(void)
{
	struct lv_snapshots	 ls;
	char			*cause = NULL;
	size_t			 rm[8], n;
	int64_t			 now = 1795149000 + 86400;	/* 2026-11-21 */

	T_EQ_INT(lvs_parse(lvs_json, &ls, &cause), 0);
	if (ls.n != 4) {
		lvs_release(&ls);
		return;
	}
	/* No limits: nothing goes. */
	T_EQ_INT(lvs_retention(&ls, 0, 0, now, rm), 0);
	/* Keep 1: the two older pre-upgrade ones go; safety-1 stays and
	 * does not count. */
	n = lvs_retention(&ls, 1, 0, now, rm);
	T_EQ_INT(n, 2);
	T_EQ_STR(ls.v[rm[0]].name, "pre-upgrade-20261001");
	T_EQ_STR(ls.v[rm[1]].name, "pre-upgrade-20261101");
	/* Max age 30 days: only the October one is older. */
	n = lvs_retention(&ls, 0, 30 * 86400, now, rm);
	T_EQ_INT(n, 1);
	T_EQ_STR(ls.v[rm[0]].name, "pre-upgrade-20261001");
	/* Both: age removes October, count 1 removes November 1st. */
	n = lvs_retention(&ls, 1, 30 * 86400, now, rm);
	T_EQ_INT(n, 2);
	/* Max age 1 hour: all but safety-1 go, even the newest. */
	n = lvs_retention(&ls, 5, 3600, now, rm);
	T_EQ_INT(n, 3);
	for (size_t i = 0; i < n; i++)
		T_OK(strcmp(ls.v[rm[i]].name, "safety-1") != 0);
	lvs_release(&ls);
}

static void
test_systemctl(void)
{
	char	*s;

	s = systemctl_summary("pveproxy.service",
	    "\xe2\x97\x8f pveproxy.service - PVE API Proxy Server\n"
	    "     Loaded: loaded (/lib/systemd/system/pveproxy.service; "
	    "enabled; preset: enabled)\n"
	    "     Active: active (running) since Sun 2026-11-22 09:12:01 UTC; "
	    "9h ago\n"
	    "   Main PID: 1240 (pveproxy)\n");
	T_EQ_STR(s, "pveproxy.service: active (running) since Sun 2026-11-22 "
	    "09:12:01 UTC; 9h ago");
	free(s);
	T_OK(systemctl_summary("x", "Unit x.service could not be found.\n") ==
	    NULL);
}

static void
test_quote(void)
{
	const char	*words[] = { "echo", "a b", "it's", "", "$(touch /tmp/y)",
	    "`id`", "*", "~", ";", "|", "&", "\"q\"", "'; touch /tmp/x; '" };
	char		*q, *cmd, *out = NULL;
	char		*argv[4];

	q = ssh_quote("it's");
	T_EQ_STR(q, "'it'\\''s'");
	free(q);
	q = ssh_quote("");
	T_EQ_STR(q, "''");
	free(q);
	cmd = ssh_remote_command(words, 2);
	T_EQ_STR(cmd, "'echo' 'a b'");
	free(cmd);

	/* A real shell splits the joined words back into the originals. */
	q = ssh_remote_command(words + 1, nitems(words) - 1);
	cmd = xasprintf("printf '[%%s]\\n' %s", q);
	free(q);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = cmd;
	argv[3] = NULL;
	T_EQ_INT(t_spawn(argv, NULL, &out, NULL, 5000), 0);
	T_EQ_STR(out, "[a b]\n[it's]\n[]\n[$(touch /tmp/y)]\n[`id`]\n[*]\n"
	    "[~]\n[;]\n[|]\n[&]\n[\"q\"]\n['; touch /tmp/x; ']\n");
	free(out);
	free(cmd);
}

static void
test_argv(void)
{
	struct conf_ssh_host	 h = { "pve1", "127.0.0.1", 2222, "pvebot",
	    "/etc/pvebot/id_ed25519", "/etc/pvebot/known_hosts", "pve1", 0 };
	struct conf_ssh		 cs = { NULL, 7, 60, 0, &h, 1 };
	const char		*cmd[] = { "pvecm", "status" };
	char			**v, *joined;
	struct buf		 b;
	char			 size[32];

	v = ssh_build_argv(&cs, &h, cmd, 2);
	buf_init(&b, 0);
	for (size_t i = 0; v[i] != NULL; i++)
		buf_printf(&b, "%s%s", i ? " " : "", v[i]);
	joined = buf_steal(&b);
	T_EQ_STR(joined, "/usr/bin/ssh -F /dev/null -T -o BatchMode=yes "
	    "-o StrictHostKeyChecking=yes "
	    "-o UserKnownHostsFile=/etc/pvebot/known_hosts "
	    "-o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no "
	    "-o ConnectTimeout=7 -o IdentitiesOnly=yes -o IdentityAgent=none "
	    "-o ControlMaster=no -o ControlPath=none "
	    "-o ClearAllForwardings=yes -o LogLevel=ERROR "
	    "-i /etc/pvebot/id_ed25519 -p 2222 -l pvebot -- 127.0.0.1 "
	    "'pvecm' 'status'");
	free(joined);
	ssh_argv_free(v);
	ssh_argv_free(NULL);

	T_OK(ssh_host_lookup(&cs, "pve1") == &h);
	T_OK(ssh_host_lookup(&cs, "pve9") == NULL);
	T_EQ_STR(ssh_format_size(256 * 1024, size, sizeof size), "256 KiB");
	T_EQ_STR(ssh_format_size(2 << 20, size, sizeof size), "2 MiB");
	T_EQ_STR(ssh_format_size(1000, size, sizeof size), "1000 bytes");
	T_OK(ssh_error_temporary(SSH_ERR_UNREACHABLE));
	T_OK(ssh_error_temporary(SSH_ERR_TIMEOUT));
	T_OK(!ssh_error_temporary(SSH_ERR_HOSTKEY_CHANGED));
	T_OK(!ssh_error_temporary(SSH_ERR_KEY));
	T_OK(!ssh_error_temporary(SSH_ERR_AUTH));
	T_OK(!ssh_error_temporary(SSH_ERR_CONFIG));
}

int
main(void)
{
	T_RUN(test_pvecm);
	T_RUN(test_apt);
	T_RUN(test_gpu);
	T_RUN(test_lvs);
	T_RUN(test_retention);
	T_RUN(test_systemctl);
	T_RUN(test_quote);
	T_RUN(test_argv);
	return t_summary();
}
