/*
 * End-to-end tests of the monitor's hardware path: `sensors -j` output
 * of real hardware types (tests/data/sensors/) read over SSH from a real
 * sshd on loopback and handed to the monitor, filtered (sane range,
 * ignore list), turned into temperature and fan-stall alerts; libsensors
 * on this machine; the temperature high and pending updates in the
 * digest.
 */
#include <stdio.h>

#include "fakes/sshd.h"
#include "sensors_local.h"
#include "test_monitor_env.h"

static char *
fixture(const char *name)
{
	char	*path = xasprintf("tests/data/sensors/%s", name);
	char	*text = t_slurp(path);

	if (text == NULL)
		t_fail(__FILE__, __LINE__, "fixture %s is missing", path);
	free(path);
	return text != NULL ? text : xstrdup("{}");
}

#define TEMP_RULES							\
	"  rules:\n"							\
	"    - name: hot\n"						\
	"      metric: sensor.temp\n"					\
	"      threshold: 46\n"						\
	"      severity: warning\n"

static void
test_fixtures_through_the_monitor(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	char		*amd = fixture("amd-k10temp-nct6798.json");
	char		*intel = fixture("intel-coretemp-nct6775.json");
	char		*stalled, *at, *cause = NULL;
	const char	*text;

	if (env_start(&e,
	    "monitor:\n"
	    "  no_backup_days: 0\n"
	    "  local_sensors: false\n"
	    "  sensor_ignore: [\"nct6775-*/AUXTIN\", \"acpitz-*/*\"]\n"
	    TEMP_RULES
	    "digest:\n  enabled: false\n") != 0)
		goto out;
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", amd, &cause), 0);
	T_EQ_INT(monitor_sensors_input(e.mon, "pve2", intel, &cause), 0);
	env_cycle(&e, t);
	T_EQ_INT(e.rec.n, 1);
	text = rec_last(&e, 0)->text;
	/* Above 46 C: Tctl 48.6 (AMD), NVMe sensor 2 46.9, the Intel
	 * package 54 and its cores. */
	T_CONTAINS(text, "pve1: Tctl 48.6 C (k10temp)");
	T_CONTAINS(text, "pve1: Sensor 2 46.9 C (nvme)");
	T_CONTAINS(text, "pve2: Package id 0 54.0 C (coretemp)");
	T_NOT_CONTAINS(text, "Composite");
	/* The bogus 216 C temp5 is dropped, and the ignored 127 C AUXTIN. */
	T_NOT_CONTAINS(text, "temp5");
	T_NOT_CONTAINS(text, "216");
	T_NOT_CONTAINS(text, "AUXTIN");
	/* No reading next cycle: not measured, so nothing resolves. */
	env_cycle(&e, t + 30);
	T_EQ_INT(e.rec.n, 1);
	/* fan2 spun; now it reads 0 RPM: a critical fan stall. */
	stalled = xstrdup(amd);
	at = strstr(stalled, "\"fan2_input\": 1064.000");
	T_OK(at != NULL);
	if (at != NULL)
		memcpy(at, "\"fan2_input\":    0.000", 22);
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", stalled, &cause), 0);
	env_cycle(&e, t + 60);
	T_EQ_INT(rec_count(&e, 0), 2);
	T_CONTAINS(rec_last(&e, 0)->title, "\xf0\x9f\x9a\xa8 1 alert firing");
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: fan2 stalled, 0 RPM "
	    "(nct6798)\n   fan-stall, critical");
	/* Not sensors output: refused, nothing changes. */
	T_EQ_INT(monitor_sensors_input(e.mon, "pve1", "No sensors found!",
	    &cause), -1);
	T_CONTAINS(cause, "not JSON");
	free(cause);
	free(stalled);
	env_stop(&e);
out:
	free(amd);
	free(intel);
}

static void
test_local_libsensors(void)
{
	struct sensor_list	 l;
	struct env		 e;
	char			*cause = NULL;

	/* This machine may have no chips: that is not an error. */
	T_EQ_INT(sensors_local_read(NULL, NULL, &l, &cause), 0);
	T_OK(cause == NULL);
	sensor_list_release(&l);
	if (env_start(&e,
	    "monitor:\n"
	    "  no_backup_days: 0\n"
	    "  local_sensors: true\n"
	    "digest:\n  enabled: false\n") != 0)
		return;
	T_EQ_INT(env_cycle(&e, env_today(12, 0)), 0);
	T_EQ_INT(e.rec.n, 0);
	env_stop(&e);
}

static void
test_sensors_over_ssh_and_digest(void)
{
	struct fake_sshd	 fs;
	struct env		 e;
	char			*cause = NULL, *conf, *amd, *json, *text;
	int64_t			 now = wall_now();

	if (fake_sshd_start(&fs, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sshd: %s", cause);
		free(cause);
		return;
	}
	amd = fixture("amd-k10temp-nct6798.json");
	free(fake_sshd_file(&fs, "sensors.json", amd, 0644));
	conf = xasprintf(
	    "ssh:\n"
	    "  hosts:\n"
	    "    - name: pve1-ssh\n"
	    "      address: 127.0.0.1\n"
	    "      port: %d\n"
	    "      user: %s\n"
	    "      key_file: %s\n"
	    "      known_hosts: %s\n"
	    "      node: pve1\n"
	    "monitor:\n"
	    "  no_backup_days: 0\n"
	    "  local_sensors: false\n"
	    "  sensor_hosts: [pve1-ssh]\n"
	    TEMP_RULES
	    "digest:\n  enabled: false\n", fs.port, fs.user, fs.user_key,
	    fs.known_hosts);
	if (env_start(&e, conf) != 0)
		goto out;
	env_cycle(&e, now - 60);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: Tctl 48.6 C (k10temp)");
	json = fake_sshd_calls(&fs);
	T_CONTAINS(json, "sensors [-j]");
	free(json);
	/* The digest: the day's temperature high of pve1 and its pending
	 * updates, as the monitor read them through the API: no SSH. */
	text = monitor_digest_text(&e.app, e.store, now, &cause);
	T_CONTAINS(text, "\npve1: up ");
	T_CONTAINS(text, "  temp high 48.6 C\n");
	T_CONTAINS(text, "  temp high 48.6 C\n  CPU 24h ");
	T_CONTAINS(text, "  3 updates (0 security)\n");
	free(text);
	json = fake_sshd_calls(&fs);
	T_NOT_CONTAINS(json, "apt");
	free(json);
	env_stop(&e);
out:
	free(conf);
	free(amd);
	fake_sshd_stop(&fs);
}

int
main(void)
{
	T_RUN(test_fixtures_through_the_monitor);
	T_RUN(test_local_libsensors);
	T_RUN(test_sensors_over_ssh_and_digest);
	return t_summary();
}
