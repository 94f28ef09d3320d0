/*
 * End-to-end tests of the daily digest: its text from the simulator's
 * known cluster (the lines a user reads, each short enough for a
 * phone), the CPU sparkline from samples the monitor kept, the schedule
 * (at digest.time in digest.timezone), catch-up of a digest missed while
 * pvebot was down, and never twice a day.
 */
#include <stdio.h>

#include "test_monitor_env.h"
#include "worker.h"

#define QUIET_MONITOR							\
	"monitor:\n"							\
	"  no_backup_days: 7\n"						\
	"  local_sensors: false\n"

static size_t
utf8_width(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* No line wider than 40 characters (a phone in portrait). */
static void
assert_narrow(const char *text)
{
	const char	*p = text;

	while (*p != '\0') {
		size_t	 len = strcspn(p, "\n");

		if (utf8_width(p, len) > 40)
			t_fail(__FILE__, __LINE__, "line too wide: \"%.*s\"",
			    (int)len, p);
		p += len;
		if (*p == '\n')
			p++;
	}
}

/* 18 hours without samples, then 4% (▁), ending at 80% (▇). */
static void
spark_check(const char *text)
{
	const char	*p = strstr(text, "  CPU 24h ");
	size_t		 len;

	T_OK(p != NULL);
	if (p == NULL)
		return;
	p += strlen("  CPU 24h ");
	len = strcspn(p, "\n");
	T_EQ_INT(utf8_width(p, len), 24);
	T_OK(strncmp(p, "                 ", 17) == 0);
	T_OK(strstr(p, "▁▁▁▁") != NULL && strstr(p, "▁▁▁▁") < p + len);
	/* 80% of the CPUs in the last hour. */
	T_OK(len >= 3 && strncmp(p + len - 3, "▇", 3) == 0);
}

static void
add_job(struct env *e, const char *state, int64_t at)
{
	char	*sql, *cause = NULL;

	sql = xasprintf("INSERT INTO jobs (state, command, cmd_name, action, "
	    "requester, connector, room, created_at, finished_at) VALUES "
	    "('%s', 'start 101', 'start', 'guest.start', 'console:bob', "
	    "'console', 'console', %lld, %lld)", state, (long long)at,
	    (long long)at);
	if (store_exec(e->store, sql, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "%s", cause);
		free(cause);
	}
	free(sql);
}

static void
test_digest_text(void)
{
	struct env	 e;
	int64_t		 now = wall_now();
	char		*text, *cause = NULL;
	int		 i;

	if (env_start(&e, QUIET_MONITOR
	    "  rules:\n"
	    "    - name: storage-full\n"
	    "      metric: storage.usage\n"
	    "      select: [\"storage:*\"]\n"
	    "      threshold: 35\n"
	    "      severity: critical\n"
	    /* Replaces the built-in no-backup alert, for one guest. */
	    "    - name: web-backup\n"
	    "      metric: guest.no_backup\n"
	    "      select: [\"101\"]\n"
	    "      threshold: 7\n"
	    "digest:\n  enabled: false\n") != 0)
		return;
	/* Six hours of samples: quiet, then a load on pve1. */
	for (i = 24; i > 0; i--) {
		env_admin(&e, "metrics", i > 4 ?
		    "{\"node\":\"pve1\",\"cpu\":0.04}" :
		    "{\"node\":\"pve1\",\"cpu\":0.80}");
		env_cycle(&e, now - 900 * i + 1);
	}
	add_job(&e, "succeeded", now - 3600);
	add_job(&e, "succeeded", now - 7200);
	add_job(&e, "failed", now - 600);
	add_job(&e, "denied", now - 60);
	add_job(&e, "succeeded", now - 2 * 86400);	/* older than a day */
	text = monitor_digest_text(&e.app, e.store, now, &cause);
	T_OK(text != NULL);
	T_CONTAINS(text, "Daily digest, ");
	T_CONTAINS(text, "\nCluster homelab: quorate\nNodes: 3/3 online\n");
	T_CONTAINS(text, "\npve1: up 12d0h\n  CPU 80% mem 25% disk 12%\n"
	    "  CPU 24h ");
	T_CONTAINS(text, "\npve2: up 12d1h\n  CPU 7% mem 28% disk 15%\n");
	spark_check(text);
	T_CONTAINS(text, "\nGuests: 6 running, 5 stopped\n");
	T_CONTAINS(text, "Top CPU:\n  dns (103) 5%\n  db-01 (102) 4%\n"
	    "  nextcloud (107) 4%\n  k8s-node-1 (106) 3%\n"
	    "  pvebot (100) 2%\nTop memory:\n  pvebot (100) 50%\n");
	T_CONTAINS(text, "Storage:\n");
	T_CONTAINS(text, "  local@pve1     █░░░░░░░░░  14%\n");
	T_CONTAINS(text, "  local-lvm@pve1 ████░░░░░░  39%\n");
	T_CONTAINS(text, "  nas-backup     ███░░░░░░░  31%\n");
	/*
	 * local-lvm is a local storage, full to a different degree on each
	 * node (the simulator models that): above 35% on pve1 (39%) and
	 * pve2 (57%) fired (one message), not on pve3 (16%).
	 */
	T_CONTAINS(text, "  local-lvm@pve3 ██░░░░░░░░  16%\n");
	T_CONTAINS(text, "Alerts 24h: 2 fired, 0 resolved\n"
	    "  still firing:\n");
	T_CONTAINS(text, "local-lvm@pve1: 39% full\n");
	T_CONTAINS(text, "local-lvm@pve2: 57% full\n");
	T_NOT_CONTAINS(text, "local-lvm@pve3: ");
	T_CONTAINS(text, "Jobs 24h: 2 ok, 1 failed, 1 denied\n");
	T_CONTAINS(text, "No backup in 7 days:\n  pvebot (100) never\n");
	T_CONTAINS(text, "  media (104) never\n");
	T_NOT_CONTAINS(text, "web-01 (101)");	/* 3 days ago */
	T_NOT_CONTAINS(text, "ubuntu-tmpl");	/* templates */
	assert_narrow(text);
	if (getenv("T_SHOW") != NULL)
		fprintf(stderr, "%s", text);
	free(text);
	/* The `digest` command's path builds the same text. */
	text = worker_digest(&e.app, e.store, &cause);
	T_CONTAINS(text, "Jobs 24h: 2 ok, 1 failed, 1 denied\n");
	free(text);
	env_stop(&e);
}

static void
test_digest_offline_node_and_no_quorum(void)
{
	struct env	 e;
	char		*text, *cause = NULL;

	if (env_start(&e, QUIET_MONITOR "digest:\n  enabled: false\n") != 0)
		return;
	env_admin(&e, "fault", "[{\"node\":\"pve2\",\"online\":false},"
	    "{\"quorate\":false}]");
	text = monitor_digest_text(&e.app, e.store, wall_now(), &cause);
	T_CONTAINS(text, "Cluster homelab: NO QUORUM\nNodes: 2/3 online\n");
	T_CONTAINS(text, "\npve2: OFFLINE\n");
	free(text);
	env_stop(&e);
}

static size_t
digests(struct env *e)
{
	size_t	 i, n = 0;

	for (i = 0; i < e->rec.n; i++)
		n += strstr(e->rec.v[i].text, "Daily digest") != NULL;
	return n;
}

static void
test_digest_schedule_never_twice(void)
{
	struct env	 e;

	if (env_start(&e, QUIET_MONITOR
	    "digest:\n  time: \"08:00\"\n  timezone: Europe/Berlin\n") != 0)
		return;
	/* 06:59 UTC is 07:59 in Berlin (winter): not yet. */
	env_cycle(&e, env_today(6, 59));
	T_EQ_INT(digests(&e), 0);
	env_cycle(&e, env_today(7, 0));
	T_EQ_INT(digests(&e), 1);
	T_EQ_STR(rec_last(&e, 0)->room, "console");
	env_cycle(&e, env_today(7, 30));
	env_cycle(&e, env_today(20, 0));
	T_EQ_INT(digests(&e), 1);
	/* A restart the same day does not send it again. */
	env_restart(&e);
	env_cycle(&e, env_today(21, 0));
	T_EQ_INT(digests(&e), 1);
	/* The next day at 08:00 Berlin. */
	env_cycle(&e, env_today(24 + 6, 0));
	T_EQ_INT(digests(&e), 1);
	env_cycle(&e, env_today(24 + 7, 1));
	T_EQ_INT(digests(&e), 2);
	env_stop(&e);
}

static void
test_digest_missed_is_caught_up(void)
{
	struct env	 e;
	char		*last = NULL;

	if (env_start(&e, QUIET_MONITOR "digest:\n  time: \"08:00\"\n") != 0)
		return;
	/* pvebot ran yesterday evening, was down at 08:00 today and starts
	 * again at 15:00: today's digest is sent at start. */
	env_cycle(&e, env_today(-4, 0));
	T_EQ_INT(digests(&e), 0);
	env_restart(&e);
	env_cycle(&e, env_today(15, 0));
	T_EQ_INT(digests(&e), 1);
	store_kv_get(e.store, "digest.last_date", &last);
	T_OK(last != NULL && strlen(last) == 10);
	free(last);
	env_cycle(&e, env_today(15, 1));
	env_restart(&e);
	env_cycle(&e, env_today(23, 59));
	T_EQ_INT(digests(&e), 1);
	env_stop(&e);
}

static void
test_digest_fresh_install_missed_nothing(void)
{
	struct env	 e;

	if (env_start(&e, QUIET_MONITOR "digest:\n  time: \"08:00\"\n") != 0)
		return;
	/* First ever start at 15:00: no digest was missed. */
	env_cycle(&e, env_today(15, 0));
	env_cycle(&e, env_today(23, 0));
	T_EQ_INT(digests(&e), 0);
	env_cycle(&e, env_today(24 + 7, 59));
	T_EQ_INT(digests(&e), 0);
	env_cycle(&e, env_today(24 + 8, 0));
	T_EQ_INT(digests(&e), 1);
	env_stop(&e);
}

int
main(void)
{
	T_RUN(test_digest_text);
	T_RUN(test_digest_offline_node_and_no_quorum);
	T_RUN(test_digest_schedule_never_twice);
	T_RUN(test_digest_missed_is_caught_up);
	T_RUN(test_digest_fresh_install_missed_nothing);
	return t_summary();
}
