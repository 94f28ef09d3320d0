/*
 * The SSH-backed commands' happy paths against a real sshd (see
 * tests/fakes/sshd.h): each runs the argv template of commands/ssh.yaml
 * through ssh_run() to a stand-in that prints what the real program
 * prints, and reads the result through its parser.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "exec_ssh.h"
#include "fakes/sshd.h"
#include "sensors.h"
#include "t.h"
#include "util.h"

struct env {
	struct fake_ssh_env	 f;
};

static int
setup(struct env *e)
{
	char	*cause = NULL;

	memset(e, 0, sizeof *e);
	if (fake_ssh_env_start(&e->f, &cause) == -1) {
		t_fail(__FILE__, __LINE__, "cannot run the test sshd: %s",
		    cause);
		free(cause);
		return -1;
	}
	return 0;
}

static void
teardown(struct env *e)
{
	fake_ssh_env_stop(&e->f);
}

static int
run(struct env *e, const char *host, const char *const *argv, size_t argc,
    struct ssh_result *res, char **cause)
{
	*cause = NULL;
	return ssh_run(&e->f.cs, host, argv, argc, 0, NULL, NULL, res, cause);
}

static void
test_hostsnap_commands(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct lv_snapshots	 ls;
	const char		*create[] = { "lvcreate", "-s", "-n",
	    "hostsnap-pre-upgrade", "-L", "2G", "pve/root" };
	const char		*list[] = { "lvs", "--reportformat", "json",
	    "-o", "lv_name,origin,lv_time,lv_size", "pve" };
	char			*cause = NULL, *text, *vol;
	size_t			 rm[8], n;

	if (setup(&e) == -1)
		return;
	T_EQ_INT(run(&e, "pve1", create, nitems(create), &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	T_EQ_STR(res.out, "  Logical volume \"hostsnap-pre-upgrade\" "
	    "created.\n");
	ssh_result_release(&res);
	/* The same name twice is refused by LVM, and said so. */
	T_EQ_INT(run(&e, "pve1", create, nitems(create), &res, &cause), 0);
	T_EQ_INT(res.exit_status, 5);
	T_CONTAINS(res.err, "already exists in volume group \"pve\"");
	ssh_result_release(&res);

	T_EQ_INT(run(&e, "pve1", list, nitems(list), &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	T_EQ_INT(lvs_parse(res.out, &ls, &cause), 0);
	ssh_result_release(&res);
	T_EQ_INT(ls.n, 3);
	if (ls.n != 3) {
		lvs_release(&ls);
		teardown(&e);
		return;
	}
	T_EQ_STR(ls.v[0].name, "safety-1");
	T_EQ_STR(ls.v[1].name, "hostsnap-20261001-010000");
	T_EQ_STR(ls.v[2].name, "hostsnap-pre-upgrade");
	T_EQ_STR(ls.v[2].origin, "root");
	T_EQ_STR(ls.v[2].size, "2.00g");
	T_OK(ls.v[2].time > wall_now() - 120 && ls.v[2].time <= wall_now());
	text = lvs_format(&ls);
	T_CONTAINS(text, "hostsnap-pre-upgrade of root, 2.00g, ");
	free(text);

	/* Retention keeps 1: the October one goes, never safety-1. */
	n = lvs_retention(&ls, 1, 0, wall_now(), rm);
	T_EQ_INT(n, 1);
	vol = xasprintf("pve/%s", ls.v[rm[0]].name);
	T_EQ_STR(vol, "pve/hostsnap-20261001-010000");
	{
		const char	*remove[] = { "lvremove", "-y", vol };

		T_EQ_INT(run(&e, "pve1", remove, 3, &res, &cause), 0);
		T_EQ_INT(res.exit_status, 0);
		T_EQ_STR(res.out, "  Logical volume \"hostsnap-20261001-010000\""
		    " successfully removed.\n");
		ssh_result_release(&res);
	}
	free(vol);
	lvs_release(&ls);
	T_EQ_INT(run(&e, "pve1", list, nitems(list), &res, &cause), 0);
	T_EQ_INT(lvs_parse(res.out, &ls, &cause), 0);
	T_EQ_INT(ls.n, 2);
	if (ls.n == 2) {
		T_EQ_STR(ls.v[0].name, "safety-1");
		T_EQ_STR(ls.v[1].name, "hostsnap-pre-upgrade");
	}
	lvs_release(&ls);
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_quorum_command(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct pvecm_status	 st;
	const char		*argv[] = { "pvecm", "status" };
	char			*cause = NULL, *s, *path;

	if (setup(&e) == -1)
		return;
	path = fake_sshd_file(&e.f.sshd, "pvecm.lost", "", 0644);
	free(path);
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), 0);
	T_EQ_INT(pvecm_parse(res.out, &st, &cause), 0);
	s = pvecm_summary(&st);
	T_EQ_STR(s, "cluster homelab: NOT quorate, votes 1/3 (quorum 2), "
	    "1 node");
	free(s);
	T_EQ_INT(st.nmembers, 1);
	pvecm_release(&st);
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_service_command(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*status[] = { "systemctl", "--no-pager",
	    "status", "pveproxy" };
	const char		*restart[] = { "systemctl", "--no-pager",
	    "restart", "pveproxy" };
	char			*cause = NULL, *s, *calls;

	if (setup(&e) == -1)
		return;
	T_EQ_INT(run(&e, "pve1", status, 4, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	s = systemctl_summary("pveproxy.service", res.out);
	T_EQ_STR(s, "pveproxy.service: active (running) since Sun 2026-11-22 "
	    "09:12:01 UTC; 9h ago");
	free(s);
	ssh_result_release(&res);
	T_EQ_INT(run(&e, "pve1", restart, 4, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	ssh_result_release(&res);
	T_EQ_INT(run(&e, "pve1", status, 4, &res, &cause), 0);
	s = systemctl_summary("pveproxy.service", res.out);
	T_CONTAINS(s, "active (running) since ");
	T_CONTAINS(s, "; 1s ago");
	free(s);
	ssh_result_release(&res);
	calls = fake_sshd_calls(&e.f.sshd);
	T_EQ_STR(calls, "systemctl [--no-pager] [status] [pveproxy]\n"
	    "systemctl [--no-pager] [restart] [pveproxy]\n"
	    "systemctl [--no-pager] [status] [pveproxy]\n");
	free(calls);
	teardown(&e);
}

static void
test_updates_command(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct apt_updates	 up;
	const char		*argv[] = { "apt", "list", "--upgradable" };
	char			*cause = NULL, *s;

	if (setup(&e) == -1)
		return;
	T_EQ_INT(run(&e, "pve1", argv, 3, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	/* apt's warning stays on stderr, apart from the list. */
	T_CONTAINS(res.err, "apt does not have a stable CLI interface");
	T_NOT_CONTAINS(res.out, "WARNING");
	T_EQ_INT(apt_parse(res.out, &up, &cause), 0);
	s = apt_summary(&up, 10);
	T_EQ_STR(s, "4 updates: libssl3, openssl, proxmox-kernel-6.8, "
	    "pve-manager");
	free(s);
	apt_release(&up);
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_sensors_command(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct sensor_list	 sl;
	const char		*argv[] = { "sensors", "-j" };
	char			*cause = NULL, *json, *path, *s;

	if (setup(&e) == -1)
		return;
	json = t_slurp("tests/data/sensors/amd-k10temp-nct6798.json");
	T_OK(json != NULL);
	if (json == NULL) {
		teardown(&e);
		return;
	}
	path = fake_sshd_file(&e.f.sshd, "sensors.json", json, 0644);
	free(path);
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	T_EQ_STR(res.out, json);
	T_EQ_INT(sensors_parse_json(res.out, NULL, NULL, &sl, &cause), 0);
	T_EQ_INT(sl.n, 19);
	T_EQ_INT(sl.nnotes, 3);
	s = sensors_format(&sl);
	T_CONTAINS(s, "k10temp-pci-00c3: Tctl 48.6 C, Tccd1 43.2 C, Tccd2 "
	    "41.0 C\n");
	T_CONTAINS(s, "nct6798-isa-0290: in0 0.33 V (0.00-1.74), in1 1.01 V, "
	    "fan2 1064 RPM, fan3 842 RPM, SYSTIN 31.0 C");
	T_NOT_CONTAINS(s, "216");
	free(s);
	sensor_list_release(&sl);
	free(json);
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_gpu_command(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct gpu_list		 gl;
	const char		*argv[] = { "nvidia-smi",
	    "--query-gpu=name,temperature.gpu,utilization.gpu,memory.used,"
	    "memory.total", "--format=csv,noheader,nounits" };
	char			*cause = NULL, *s;

	if (setup(&e) == -1)
		return;
	T_EQ_INT(run(&e, "pve1", argv, 3, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	T_EQ_INT(gpu_parse(res.out, &gl, &cause), 0);
	s = gpu_format(&gl);
	T_EQ_STR(s, "GPU0 NVIDIA GeForce RTX 3060: 47 C, 12% busy, "
	    "1893/12288 MiB\nGPU1 Tesla P4: 38 C, 0% busy, 0/7680 MiB\n");
	free(s);
	gpu_release(&gl);
	ssh_result_release(&res);
	teardown(&e);
}

int
main(void)
{
	T_RUN(test_hostsnap_commands);
	T_RUN(test_quorum_command);
	T_RUN(test_service_command);
	T_RUN(test_updates_command);
	T_RUN(test_sensors_command);
	T_RUN(test_gpu_command);
	return t_summary();
}
