/*
 * End-to-end tests of GPU temperatures in the monitor: nvidia-smi run
 * over SSH on a real sshd on loopback (a stand-in printing what
 * nvidia-smi prints), each GPU's temperature going through the built-in
 * temperature-high rule (above 85 C for 2 minutes, clears below 80 C):
 * it fires naming the node and the GPU, [N/A] neither fires nor
 * resolves, a cool reading resolves, and the day's temperature high in
 * the digest counts the GPU. A host where nvidia-smi fails, or that
 * cannot be reached, raises no alert and is logged once.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fakes/sshd.h"
#include "test_monitor_env.h"

/* What nvidia-smi prints with the monitor's query, from gpu.csv; no
 * gpu.csv: the driver is not loaded (what a host without a GPU says). */
#define NVIDIA_SMI							\
	"case \"$*\" in\n"						\
	"'--query-gpu=name,temperature.gpu,utilization.gpu,memory.used,"\
	"memory.total --format=csv,noheader,nounits') ;;\n"		\
	"*) echo 'stand-in: unexpected arguments' >&2; exit 2 ;;\n"	\
	"esac\n"							\
	"if [ -f @DIR@/gpu.csv ]; then cat @DIR@/gpu.csv; else\n"	\
	"  echo \"NVIDIA-SMI has failed because it couldn't communicate "\
	"with the NVIDIA driver. Make sure that the latest NVIDIA driver "\
	"is installed and running.\"\n"					\
	"  exit 9\n"							\
	"fi\n"

#define GPU_HOT								\
	"NVIDIA GeForce RTX 3060, 91, 40, 1893, 12288\n"		\
	"Tesla P4, 38, 0, 0, 7680\n"
#define GPU_NA								\
	"NVIDIA GeForce RTX 3060, [N/A], 40, 1893, 12288\n"		\
	"Tesla P4, 38, 0, 0, 7680\n"
#define GPU_COOL							\
	"NVIDIA GeForce RTX 3060, 62, 3, 1024, 12288\n"			\
	"Tesla P4, 38, 0, 0, 7680\n"

static char *
gpu_conf(const struct fake_sshd *fs, const char *extra_hosts,
    const char *gpu_hosts)
{
	return xasprintf(
	    "ssh:\n"
	    "  hosts:\n"
	    "    - name: pve1-ssh\n"
	    "      address: 127.0.0.1\n"
	    "      port: %d\n"
	    "      user: %s\n"
	    "      key_file: %s\n"
	    "      known_hosts: %s\n"
	    "      node: pve1\n"
	    "%s"
	    "monitor:\n"
	    "  no_backup_days: 0\n"
	    "  local_sensors: false\n"
	    "  gpu_hosts: [%s]\n"
	    "digest:\n  enabled: false\n", fs->port, fs->user, fs->user_key,
	    fs->known_hosts, extra_hosts, gpu_hosts);
}

static void
test_hot_gpu_fires_and_resolves(void)
{
	struct fake_sshd	 fs;
	struct env		 e;
	char			*cause = NULL, *conf = NULL, *calls, *text;
	int64_t			 t = wall_now() - 600;

	if (fake_sshd_start(&fs, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sshd: %s", cause);
		free(cause);
		return;
	}
	fake_sshd_stub(&fs, "nvidia-smi", NVIDIA_SMI);
	free(fake_sshd_file(&fs, "gpu.csv", GPU_HOT, 0644));
	conf = gpu_conf(&fs, "", "pve1-ssh");
	if (env_start(&e, conf) != 0)
		goto out;
	/* 91 C: pending for the rule's 2 minutes, then firing. */
	env_cycle(&e, t);
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 0);
	env_cycle(&e, t + 130);
	T_EQ_INT(rec_count(&e, 0), 1);
	text = rec_last(&e, 0)->text;
	T_CONTAINS(text, "pve1: NVIDIA GeForce RTX 3060 91.0 C (nvidia-gpu0)");
	T_CONTAINS(text, "temperature-high, warning");
	/* The cool Tesla P4 next to it is no alert. */
	T_NOT_CONTAINS(text, "Tesla");
	T_EQ_INT(env_int(&e, "SELECT count(*) FROM alerts WHERE target = "
	    "'sensor:pve1-ssh/nvidia-gpu0/NVIDIA GeForce RTX 3060' AND "
	    "state = 'firing'"), 1);
	calls = fake_sshd_calls(&fs);
	T_CONTAINS(calls, "nvidia-smi [--query-gpu=name,temperature.gpu,"
	    "utilization.gpu,memory.used,memory.total] "
	    "[--format=csv,noheader,nounits]");
	free(calls);

	/* [N/A]: not measured, so the alert neither resolves nor repeats. */
	free(fake_sshd_file(&fs, "gpu.csv", GPU_NA, 0644));
	env_cycle(&e, t + 190);
	env_cycle(&e, t + 250);
	T_EQ_INT(e.rec.n, 1);
	T_EQ_INT(env_int(&e, "SELECT count(*) FROM alerts WHERE "
	    "state = 'firing'"), 1);

	/* 62 C: below the 80 C clear level, resolved. */
	free(fake_sshd_file(&fs, "gpu.csv", GPU_COOL, 0644));
	env_cycle(&e, t + 310);
	T_EQ_INT(env_int(&e, "SELECT count(*) FROM alerts WHERE "
	    "state = 'firing'"), 0);
	T_OK(e.rec.n >= 2);
	text = e.rec.v[e.rec.n - 1].text;
	T_CONTAINS(text, "#1 pve1: NVIDIA GeForce RTX 3060 62.0 C "
	    "(nvidia-gpu0)\n   temperature-high, resolved after 3m00s");

	/* The day's temperature high of pve1 is the GPU's 91 C. */
	text = monitor_digest_text(&e.app, e.store, wall_now(), &cause);
	T_CONTAINS(text, "  temp high 91.0 C\n");
	free(text);
	env_stop(&e);
out:
	free(conf);
	fake_sshd_stop(&fs);
}

/* Runs `n` cycles with stderr in a file; returns what was logged. */
static char *
cycles_logged(struct env *e, int64_t t, int n)
{
	const char	*path = t_write("stderr.log", "", 0600);
	int		 saved, fd, i;
	char		*text;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_APPEND);
	if (saved == -1 || fd == -1) {
		t_fail(__FILE__, __LINE__, "cannot redirect stderr");
		return xstrdup("");
	}
	dup2(fd, STDERR_FILENO);
	close(fd);
	for (i = 0; i < n; i++)
		env_cycle(e, t + 60 * i);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	text = t_slurp(path);
	return text != NULL ? text : xstrdup("");
}

static size_t
count_of(const char *text, const char *what)
{
	size_t	 n = 0;

	while ((text = strstr(text, what)) != NULL) {
		n++;
		text += strlen(what);
	}
	return n;
}

static void
test_failing_nvidia_smi_no_alert(void)
{
	struct fake_sshd	 fs;
	struct env		 e;
	char			*cause = NULL, *conf = NULL, *hosts, *log;
	int64_t			 t = wall_now() - 600;

	if (fake_sshd_start(&fs, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sshd: %s", cause);
		free(cause);
		return;
	}
	/* pve1-ssh has no driver; pve2-ssh is a port nobody listens on. */
	fake_sshd_stub(&fs, "nvidia-smi", NVIDIA_SMI);
	hosts = xasprintf(
	    "    - name: pve2-ssh\n"
	    "      address: 127.0.0.1\n"
	    "      port: %d\n"
	    "      user: %s\n"
	    "      key_file: %s\n"
	    "      known_hosts: %s\n"
	    "      node: pve2\n", t_free_port(), fs.user, fs.user_key,
	    fs.known_hosts);
	conf = gpu_conf(&fs, hosts, "pve1-ssh, pve2-ssh");
	free(hosts);
	if (env_start(&e, conf) != 0)
		goto out;
	log = cycles_logged(&e, t, 4);
	T_EQ_INT(e.rec.n, 0);
	T_EQ_INT(env_int(&e, "SELECT count(*) FROM alerts"), 0);
	/* Each host's failure is logged once, not every cycle. */
	T_EQ_INT(count_of(log, "nvidia-smi failed host=pve1-ssh"), 1);
	T_CONTAINS(log, "couldn't communicate with the NVIDIA driver");
	T_EQ_INT(count_of(log, "nvidia-smi failed host=pve2-ssh"), 1);
	free(log);
	/* The driver comes back: read again, said once, and a hot GPU
	 * alerts as usual. */
	free(fake_sshd_file(&fs, "gpu.csv", GPU_HOT, 0644));
	log = cycles_logged(&e, t + 240, 3);
	T_EQ_INT(count_of(log, "nvidia-smi reads again host=pve1-ssh"), 1);
	T_EQ_INT(count_of(log, "nvidia-smi failed host=pve1-ssh"), 0);
	T_EQ_INT(count_of(log, "nvidia-smi failed host=pve2-ssh"), 0);
	free(log);
	T_EQ_INT(rec_count(&e, 0), 1);
	T_CONTAINS(rec_last(&e, 0)->text, "(nvidia-gpu0)");
	env_stop(&e);
out:
	free(conf);
	fake_sshd_stop(&fs);
}

static void
test_gpu_hosts_must_be_ssh_hosts(void)
{
	char		*errors = NULL, *path;
	struct conf	*c;

	path = xstrdup(t_write("bad.conf",
	    "monitor:\n"
	    "  gpu_hosts: [pve9]\n", 0644));
	c = conf_load(path, &errors);
	T_OK(c == NULL);
	T_CONTAINS(errors, "monitor.gpu_hosts: 'pve9' is not a host in "
	    "ssh.hosts");
	conf_free(c);
	free(errors);
	free(path);
}

int
main(void)
{
	T_RUN(test_hot_gpu_fires_and_resolves);
	T_RUN(test_failing_nvidia_smi_no_alert);
	T_RUN(test_gpu_hosts_must_be_ssh_hosts);
	return t_summary();
}
