/*
 * End-to-end tests of the monitor's alerts: the Proxmox simulator on
 * loopback HTTPS with scripted metrics, real SQLite, time fast-forwarded
 * by passing it to monitor_cycle(), and what a chat room sees recorded
 * by a connector. One behaviour per test.
 */
#include <stdio.h>

#include "test_monitor_env.h"

#define CPU_RULE							\
	"monitor:\n"							\
	"  no_backup_days: 0\n"						\
	"  local_sensors: false\n"					\
	"  rules:\n"							\
	"    - name: node-cpu-high\n"					\
	"      metric: node.cpu\n"					\
	"      select: [\"node:*\"]\n"					\
	"      threshold: 90\n"						\
	"      clear: 80\n"						\
	"      for: %s\n"						\
	"      repeat: 1h\n"						\
	"      severity: warning\n"

#define NO_DIGEST "digest:\n  enabled: false\n"

static int
start_cpu(struct env *e, const char *for_s, const char *extra)
{
	char	*text = xasprintf(CPU_RULE "%s" NO_DIGEST, for_s, extra);
	int	 rc = env_start(e, text);

	free(text);
	return rc;
}

static void
cpu(struct env *e, const char *node, double v)
{
	char	*json = xasprintf("{\"node\":\"%s\",\"cpu\":%.2f}", node, v);

	env_admin(e, "metrics", json);
	free(json);
}

static int64_t
alert_id(struct env *e, const char *rule, const char *target)
{
	char	*sql = xasprintf("SELECT id FROM alerts WHERE rule = '%s' AND "
	    "target = '%s'", rule, target);
	int64_t	 id = env_int(e, sql);

	free(sql);
	return id;
}

static void
test_for_holds_spike_fires_once_repeats_resolves(void)
{
	struct env		 e;
	const struct rec_msg	*m;
	int64_t			 t = env_today(12, 0), id;
	char			*ref, *want;
	int			 i;

	if (start_cpu(&e, "5m", "") != 0)
		return;
	env_cycle(&e, t);
	/* A 60-second spike: pending, never posted. */
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t + 30);
	env_cycle(&e, t + 60);
	cpu(&e, "pve1", 0.30);
	env_cycle(&e, t + 90);
	T_EQ_INT(e.rec.n, 0);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE state = "
	    "'firing'"), 0);
	/* Sustained load: one message once 5 minutes have passed. */
	cpu(&e, "pve1", 0.95);
	for (i = 4; i <= 13; i++)
		env_cycle(&e, t + 30 * i);
	T_EQ_INT(e.rec.n, 0);
	env_cycle(&e, t + 30 * 14);	/* 300 s after t + 120 */
	T_EQ_INT(rec_count(&e, 0), 1);
	m = rec_last(&e, 0);
	T_EQ_STR(m->room, "console");
	T_CONTAINS(m->title, "1 alert firing");
	T_CONTAINS(m->text, "pve1: CPU 95%");
	T_CONTAINS(m->text, "node-cpu-high, warning");
	id = alert_id(&e, "node-cpu-high", "node:pve1");
	want = xasprintf("ack:%lld sil:%lld:1h sil:%lld:4h sil:%lld:24h",
	    (long long)id, (long long)id, (long long)id, (long long)id);
	T_EQ_STR(m->buttons, want);
	free(want);
	ref = xstrdup(m->ref);
	/* Still high: nothing more until the repeat interval (1h). */
	for (i = 1; i <= 10; i++)
		env_cycle(&e, t + 420 + 300 * i);
	T_EQ_INT(e.rec.n, 1);
	env_cycle(&e, t + 420 + 3600);
	T_EQ_INT(rec_count(&e, 0), 2);
	T_CONTAINS(rec_last(&e, 0)->text, "still firing after 1h");
	env_cycle(&e, t + 420 + 3630);
	T_EQ_INT(rec_count(&e, 0), 2);
	/* 85%: above the clear level, not resolved (hysteresis). */
	cpu(&e, "pve1", 0.85);
	env_cycle(&e, t + 420 + 3660);
	T_EQ_INT(e.rec.n, 2);
	/* 50%: resolved, by editing the first message. */
	cpu(&e, "pve1", 0.50);
	env_cycle(&e, t + 420 + 3690);
	T_EQ_INT(rec_count(&e, 0), 2);
	T_EQ_INT(rec_count(&e, 1), 1);
	m = rec_last(&e, 1);
	T_EQ_STR(m->ref, ref);
	T_CONTAINS(m->title, "resolved");
	T_CONTAINS(m->text, "pve1: CPU 50%");
	T_CONTAINS(m->text, "resolved after 1h");
	T_EQ_STR(m->buttons, "");
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alert_events WHERE kind "
	    "IN ('fired', 'resolved')"), 2);
	env_cycle(&e, t + 420 + 3720);
	T_EQ_INT(e.rec.n, 3);
	free(ref);
	env_stop(&e);
}

static void
test_hysteresis_oscillation_does_not_refire(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	int		 i;

	if (start_cpu(&e, "0s", "") != 0)
		return;
	cpu(&e, "pve2", 0.93);
	env_cycle(&e, t);
	T_EQ_INT(rec_count(&e, 0), 1);
	for (i = 1; i <= 20; i++) {
		cpu(&e, "pve2", i % 2 ? 0.86 : 0.92);
		env_cycle(&e, t + 30 * i);
	}
	T_EQ_INT(e.rec.n, 1);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alert_events"), 1);
	env_stop(&e);
}

static void
test_grouping_one_message_per_cycle(void)
{
	struct env		 e;
	const struct rec_msg	*m;
	int64_t			 t = env_today(12, 0);

	if (start_cpu(&e, "0s",
	    "    - name: guest-cpu-high\n"
	    "      metric: guest.cpu\n"
	    "      select: [\"100-199\"]\n"
	    "      threshold: 80\n"
	    "      severity: critical\n") != 0)
		return;
	env_cycle(&e, t);
	cpu(&e, "pve1", 0.95);
	cpu(&e, "pve3", 0.97);
	env_admin(&e, "metrics", "{\"vmid\":102,\"cpu\":0.9}");
	env_cycle(&e, t + 30);
	T_EQ_INT(e.rec.n, 1);
	m = rec_last(&e, 0);
	T_CONTAINS(m->title, "3 alerts firing");
	T_CONTAINS(m->text, "pve1: CPU 95%");
	T_CONTAINS(m->text, "pve3: CPU 97%");
	T_CONTAINS(m->text, "db-01 (102): CPU 90%");
	/* One of the group resolves: the group's message is edited and
	 * still carries the others. */
	cpu(&e, "pve3", 0.10);
	env_cycle(&e, t + 60);
	T_EQ_INT(rec_count(&e, 0), 1);
	T_EQ_INT(rec_count(&e, 1), 1);
	m = rec_last(&e, 1);
	T_CONTAINS(m->title, "2 alerts firing");
	T_CONTAINS(m->text, "pve3: CPU 10%\n   node-cpu-high, resolved");
	T_CONTAINS(m->text, "pve1: CPU 95%");
	T_OK(strlen(m->buttons) > 0);
	env_stop(&e);
}

static void
test_restart_keeps_state(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	char		*ref;

	if (start_cpu(&e, "5m", "") != 0)
		return;
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t);
	env_restart(&e);
	/* Pending survives: fires 5 minutes after the first breach. */
	env_cycle(&e, t + 270);
	T_EQ_INT(e.rec.n, 0);
	env_cycle(&e, t + 300);
	T_EQ_INT(e.rec.n, 1);
	ref = xstrdup(rec_last(&e, 0)->ref);
	/* Firing survives: no second message after a restart. */
	env_restart(&e);
	env_cycle(&e, t + 330);
	env_cycle(&e, t + 360);
	T_EQ_INT(e.rec.n, 1);
	/* And the message it was posted in is still known. */
	env_restart(&e);
	cpu(&e, "pve1", 0.20);
	env_cycle(&e, t + 390);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_EQ_STR(rec_last(&e, 1)->ref, ref);
	free(ref);
	env_stop(&e);
}

static void
test_flapping_held_with_one_message(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	int		 i;

	if (start_cpu(&e, "0s", "  flap_count: 2\n  flap_window: 30m\n") != 0)
		return;
	for (i = 0; i < 10; i++) {
		cpu(&e, "pve1", i % 2 ? 0.20 : 0.95);
		env_cycle(&e, t + 30 * i);
	}
	/* fire, resolve (edit), then the third flip: one flapping line. */
	T_EQ_INT(rec_count(&e, 0), 2);
	T_EQ_INT(rec_count(&e, 1), 2);
	T_CONTAINS(e.rec.v[0].text, "pve1: CPU 95%");
	T_CONTAINS(e.rec.v[1].title, "resolved");
	T_CONTAINS(rec_last(&e, 0)->text, "flapping: held until it settles");
	T_CONTAINS(rec_last(&e, 1)->text, "flapping: notices held");
	/* More flips: nothing more is said. */
	for (i = 10; i < 16; i++) {
		cpu(&e, "pve1", i % 2 ? 0.20 : 0.95);
		env_cycle(&e, t + 30 * i);
	}
	T_EQ_INT(e.rec.n, 4);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE state = "
	    "'flapping'"), 1);
	/* Calm and high for a whole window: settles as firing. */
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t + 600);
	env_cycle(&e, t + 600 + 1800);
	/* Said by editing its message, not by a new one. */
	T_EQ_INT(rec_count(&e, 0), 2);
	T_EQ_INT(rec_count(&e, 1), 3);
	T_CONTAINS(rec_last(&e, 1)->title, "1 alert firing");
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE state = "
	    "'firing'"), 1);
	env_stop(&e);
}

static void
test_backup_lock_mutes(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);

	if (start_cpu(&e, "0s",
	    "    - name: guest-cpu-high\n"
	    "      metric: guest.cpu\n"
	    "      threshold: 80\n") != 0)
		return;
	env_cycle(&e, t);
	/* A snapshot-mode backup: the guest works hard, locked. */
	env_admin(&e, "guest", "{\"vmid\":102,\"lock\":\"backup\"}");
	env_admin(&e, "metrics", "{\"vmid\":102,\"cpu\":0.99}");
	env_cycle(&e, t + 30);
	env_cycle(&e, t + 60);
	/* A stop-mode backup of another guest: stopped, locked. */
	env_admin(&e, "guest", "{\"vmid\":103,\"status\":\"stopped\","
	    "\"lock\":\"backup\"}");
	env_cycle(&e, t + 90);
	T_EQ_INT(e.rec.n, 0);
	/* Tracked all the same. */
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE rule = "
	    "'guest-cpu-high' AND state = 'firing'"), 1);
	/* The backups end: no recovery notice for what was never said. */
	env_admin(&e, "guest", "{\"vmid\":102,\"lock\":\"\"}");
	env_admin(&e, "metrics", "{\"vmid\":102,\"cpu\":0.05}");
	env_admin(&e, "guest", "{\"vmid\":103,\"status\":\"running\","
	    "\"lock\":\"\"}");
	env_cycle(&e, t + 120);
	T_EQ_INT(e.rec.n, 0);
	/* Without the lock the same load is an alert. */
	env_admin(&e, "metrics", "{\"vmid\":102,\"cpu\":0.99}");
	env_cycle(&e, t + 150);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "db-01 (102): CPU 99%");
	env_stop(&e);
}

static void
test_backup_window_mutes(void)
{
	struct env	 e;
	int64_t		 t = env_today(1, 30);

	if (start_cpu(&e, "0s",
	    "  backup_windows:\n"
	    "    - days: \"*\"\n"
	    "      start: \"01:00\"\n"
	    "      end: \"03:00\"\n") != 0)
		return;
	env_cycle(&e, t);
	cpu(&e, "pve1", 0.97);
	env_admin(&e, "guest", "{\"vmid\":107,\"status\":\"stopped\"}");
	env_cycle(&e, t + 30);
	T_EQ_INT(e.rec.n, 0);
	/* Back to normal inside the window: nothing to say. */
	cpu(&e, "pve1", 0.10);
	env_admin(&e, "guest", "{\"vmid\":107,\"status\":\"running\"}");
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 0);
	/* After the window the same load alerts. */
	cpu(&e, "pve1", 0.97);
	env_cycle(&e, env_today(3, 5));
	T_EQ_INT(e.rec.n, 1);
	env_stop(&e);
}

static void
test_ack_and_silence_buttons(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0), id;
	char		*answer = NULL, *data;
	int		 i;

	if (start_cpu(&e, "0s", "") != 0)
		return;
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t);
	T_EQ_INT(e.rec.n, 1);
	id = alert_id(&e, "node-cpu-high", "node:pve1");
	/* Ack: no repeats until it resolves. */
	data = xasprintf("ack:%lld", (long long)id);
	T_EQ_INT(monitor_button(e.store, "console:alice", data, t + 60,
	    &answer), 1);
	T_CONTAINS(answer, "no repeats until resolved");
	free(answer);
	T_EQ_INT(monitor_button(e.store, "console:bob", data, t + 61,
	    &answer), 1);
	T_CONTAINS(answer, "already acked");
	free(answer);
	free(data);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM audit WHERE event = "
	    "'alert.ack' AND actor = 'console:alice'"), 1);
	/* The message says so (an edit), once. */
	env_cycle(&e, t + 90);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->text, "node-cpu-high, warning, acked by "
	    "console:alice");
	for (i = 1; i <= 5; i++)
		env_cycle(&e, t + 3600 * i);
	T_EQ_INT(e.rec.n, 2);
	/* Resolve, fire again: a new message that repeats. */
	cpu(&e, "pve1", 0.10);
	env_cycle(&e, t + 20000);
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t + 20030);
	T_EQ_INT(rec_count(&e, 0), 2);
	T_NOT_CONTAINS(rec_last(&e, 0)->text, "acked");
	/* Silence 1h from its button. */
	data = xasprintf("sil:%lld:1h", (long long)id);
	T_EQ_INT(monitor_button(e.store, "console:alice", data, t + 20040,
	    &answer), 1);
	T_CONTAINS(answer, "for 1h00m");
	free(answer);
	free(data);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM silences WHERE matcher = "
	    "'rule=node-cpu-high,target=node:pve1' AND created_by = "
	    "'console:alice'"), 1);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM audit WHERE event = "
	    "'silence.create'"), 1);
	/* The repeat due within the hour is not posted; after, it is. */
	env_cycle(&e, t + 20030 + 3600 - 60);
	T_EQ_INT(rec_count(&e, 0), 2);
	cpu(&e, "pve1", 0.10);
	env_cycle(&e, t + 20030 + 3600 - 30);
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t + 20030 + 3600 - 20);	/* re-fires, silenced */
	T_EQ_INT(rec_count(&e, 0), 2);
	env_cycle(&e, t + 20040 + 3600);		/* expired */
	T_EQ_INT(rec_count(&e, 0), 3);
	/* Bad and foreign data. */
	T_EQ_INT(monitor_button(e.store, "console:alice", "ap:1:x", t,
	    &answer), 0);
	T_EQ_INT(monitor_button(e.store, "console:alice", "ack:999", t,
	    &answer), 1);
	T_EQ_STR(answer, "there is no alert #999");
	free(answer);
	T_EQ_INT(monitor_button(e.store, "console:alice", "sil:1:forever", t,
	    &answer), 1);
	T_CONTAINS(answer, "not valid");
	free(answer);
	T_EQ_INT(monitor_button(e.store, "console:alice", "ack:x1", t,
	    &answer), 1);
	T_CONTAINS(answer, "not valid");
	free(answer);
	env_stop(&e);
}

static void
test_silence_from_command_row(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	char		*sql, *cause = NULL;

	if (start_cpu(&e, "0s", "") != 0)
		return;
	/* What `silence rule=node-cpu-high,node=pve1 2h` writes. */
	sql = xasprintf("INSERT INTO silences (matcher, created_by, reason, "
	    "starts_at, ends_at, created_at) VALUES ('rule=node-cpu-high,"
	    "node=pve1', 'console:alice', 'kernel build', %lld, %lld, %lld)",
	    (long long)t, (long long)t + 7200, (long long)t);
	T_EQ_INT(store_exec(e.store, sql, &cause), 0);
	free(sql);
	cpu(&e, "pve1", 0.95);
	cpu(&e, "pve2", 0.95);
	env_cycle(&e, t + 30);
	/* pve2 is posted, pve1 is silenced (and tracked). */
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "pve2: CPU 95%");
	T_NOT_CONTAINS(rec_last(&e, 0)->text, "pve1");
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE target = "
	    "'node:pve1' AND state = 'firing'"), 1);
	/* Ended early by `unsilence`: posted at the next cycle. */
	T_EQ_INT(store_exec(e.store, "UPDATE silences SET ended_by = "
	    "'console:bob'", &cause), 0);
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 2);
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: CPU 95%");
	env_stop(&e);
}

static void
test_quiet_hours(void)
{
	struct env	 e;
	int64_t		 t = env_today(23, 0);

	if (start_cpu(&e, "0s",
	    "  quiet_hours:\n"
	    "    - days: \"*\"\n"
	    "      start: \"22:00\"\n"
	    "      end: \"07:00\"\n"
	    "      severity: warning\n") != 0)
		return;
	env_cycle(&e, t);
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t + 30);
	T_EQ_INT(e.rec.n, 0);
	/* Critical passes: quorum lost (built-in rule). */
	env_admin(&e, "fault", "{\"quorate\":false}");
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "cluster has lost quorum");
	T_NOT_CONTAINS(rec_last(&e, 0)->text, "pve1");
	env_cycle(&e, t + 3600 * 4);
	T_EQ_INT(e.rec.n, 1);
	/* 07:00: the held warning goes out. */
	env_cycle(&e, t + 3600 * 8);
	T_EQ_INT(rec_count(&e, 0), 2);
	T_CONTAINS(rec_last(&e, 0)->text, "pve1: CPU 95%");
	env_stop(&e);
}

static void
test_quiet_hours_per_room(void)
{
	struct env	 e;
	int64_t		 t = env_today(23, 0);

	if (start_cpu(&e, "0s",
	    "  quiet_hours:\n"
	    "    - start: \"22:00\"\n"
	    "      end: \"07:00\"\n"
	    "      room: \"telegram:-100123\"\n"
	    "    - start: \"22:00\"\n"
	    "      end: \"07:00\"\n"
	    "      severity: info\n"
	    "      room: \"console:console\"\n") != 0)
		return;
	/* Quiet elsewhere, or only for info here: a warning passes. */
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t);
	T_EQ_INT(e.rec.n, 1);
	env_stop(&e);
}

static void
test_resolved_during_quiet_hours_says_nothing(void)
{
	struct env	 e;
	int64_t		 t = env_today(23, 0);

	if (start_cpu(&e, "0s",
	    "  quiet_hours:\n"
	    "    - start: \"22:00\"\n"
	    "      end: \"07:00\"\n") != 0)
		return;
	cpu(&e, "pve1", 0.95);
	env_cycle(&e, t);
	cpu(&e, "pve1", 0.10);
	env_cycle(&e, t + 600);
	env_cycle(&e, t + 3600 * 9);
	T_EQ_INT(e.rec.n, 0);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alert_events"), 2);
	env_stop(&e);
}

static void
test_node_offline_and_quorum_lost(void)
{
	struct env		 e;
	const struct rec_msg	*m;
	int64_t			 t = env_today(12, 0);

	if (start_cpu(&e, "0s", "") != 0)
		return;
	cpu(&e, "pve3", 0.95);
	env_cycle(&e, t);
	T_EQ_INT(e.rec.n, 1);
	rec_clear(&e.rec);
	env_admin(&e, "fault", "[{\"node\":\"pve3\",\"online\":false},"
	    "{\"quorate\":false}]");
	env_cycle(&e, t + 30);
	/* A new message; the CPU alert of pve3 is not resolved by the
	 * node going dark. */
	T_EQ_INT(e.rec.n, 1);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE rule = "
	    "'node-cpu-high' AND state = 'firing'"), 1);
	m = rec_last(&e, 0);
	T_CONTAINS(m->title, "2 alerts firing");
	T_CONTAINS(m->text, "pve3 is offline\n   node-offline, critical");
	T_CONTAINS(m->text, "cluster has lost quorum");
	/* Guests of the offline node are unknown, not stopped. */
	T_NOT_CONTAINS(m->text, "stopped");
	env_cycle(&e, t + 60);
	T_EQ_INT(e.rec.n, 1);
	env_admin(&e, "fault", "[{\"node\":\"pve3\",\"online\":true},"
	    "{\"quorate\":true}]");
	env_cycle(&e, t + 90);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->title, "resolved");
	T_CONTAINS(rec_last(&e, 1)->text, "pve3 is online");
	T_CONTAINS(rec_last(&e, 1)->text, "cluster is quorate");
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE rule = "
	    "'node-cpu-high' AND state = 'firing'"), 1);
	env_stop(&e);
}

static void
test_guest_stopped_outside_pvebot(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);
	char		*cause = NULL, *sql;

	if (start_cpu(&e, "0s", "") != 0)
		return;
	env_cycle(&e, t);
	/*
	 * Stopped by a pvebot job: not an alert. The job ends between the
	 * two cycles on the test's clock (t is noon today: wall time would
	 * put it before the cycle that saw 107 running in the morning).
	 */
	sql = xasprintf("INSERT INTO jobs (state, command, cmd_name, action, "
	    "requester, connector, room, created_at, finished_at, "
	    "target_vmid) VALUES ('succeeded', 'stop 107', 'stop', "
	    "'guest.stop', 'console:bob', 'console', 'console', %lld, %lld, "
	    "107)", (long long)t + 10, (long long)t + 10);
	T_EQ_INT(store_exec(e.store, sql, &cause), 0);
	free(sql);
	env_admin(&e, "guest", "{\"vmid\":107,\"status\":\"stopped\"}");
	/* Stopped by someone else. */
	env_admin(&e, "guest", "{\"vmid\":102,\"status\":\"stopped\"}");
	env_cycle(&e, t + 30);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "db-01 (102) stopped, not by "
	    "pvebot");
	T_NOT_CONTAINS(rec_last(&e, 0)->text, "107");
	/* Stays firing while stopped, across a restart. */
	env_restart(&e);
	env_cycle(&e, t + 60);
	env_cycle(&e, t + 90);
	T_EQ_INT(e.rec.n, 1);
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE target = "
	    "'guest:102' AND state = 'firing'"), 1);
	/* Started again: resolved. */
	env_admin(&e, "guest", "{\"vmid\":102,\"status\":\"running\"}");
	env_cycle(&e, t + 120);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->text, "db-01 (102) is running");
	env_stop(&e);
}

static void
test_overrides_and_exclusions(void)
{
	struct env	 e;
	int64_t		 t = env_today(12, 0);

	if (env_start(&e,
	    "monitor:\n"
	    "  no_backup_days: 0\n"
	    "  local_sensors: false\n"
	    "  rules:\n"
	    "    - name: guest-memory-high\n"
	    "      metric: guest.memory\n"
	    "      select: [\"100-199\"]\n"
	    "      threshold: 90\n"
	    "      clear: 85\n"
	    "      overrides:\n"
	    "        - target: \"102\"\n"
	    "          threshold: 98\n"
	    "        - target: \"103\"\n"
	    "          exclude: true\n"
	    NO_DIGEST) != 0)
		return;
	/* maxmem of 102, 103, 107: 95% of it each. */
	env_admin(&e, "metrics", "[{\"vmid\":102,\"mem\":7650000000,"
	    "\"maxmem\":8000000000},{\"vmid\":103,\"mem\":950,"
	    "\"maxmem\":1000},{\"vmid\":107,\"mem\":950,\"maxmem\":1000}]");
	env_cycle(&e, t);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->title, "1 alert firing");
	T_CONTAINS(rec_last(&e, 0)->text, "nextcloud (107): memory 95%");
	env_stop(&e);
}

static void
test_no_backup_for_days(void)
{
	struct env		 e;
	struct pve_param	 p[] = { { "vmid", "101" },
	    { "storage", "nas-backup" }, { "mode", "snapshot" } };
	json_t			*upid = NULL;
	char			*cause = NULL;
	int			 i;

	if (env_start(&e, "monitor:\n  no_backup_days: 2\n"
	    "  local_sensors: false\n" NO_DIGEST) != 0)
		return;
	/* The simulator's web-01 was backed up 3 days ago, db-01, dns and
	 * nextcloud yesterday; the others never (left to the digest). */
	env_cycle(&e, wall_now());
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->title, "1 alert firing");
	T_CONTAINS(rec_last(&e, 0)->text, "web-01 (101): no backup for 3 "
	    "days\n   no-backup, warning");
	/* A backup is made; the storages are listed again within the
	 * hour, and the alert resolves. */
	T_EQ_INT(pve_request(e.pve, "POST", "/nodes/pve1/vzdump", p, 3,
	    &upid, &cause), PVE_OK);
	for (i = 0; i < 100 && json_is_string(upid); i++) {
		struct pve_task_status	 ts;

		memset(&ts, 0, sizeof ts);
		if (pve_task_status(e.pve, json_string_value(upid), &ts,
		    &cause) == PVE_OK && !ts.running) {
			T_EQ_STR(ts.exitstatus, "OK");
			pve_task_status_release(&ts);
			break;
		}
		pve_task_status_release(&ts);
		sleep_ms(20);
	}
	json_decref(upid);
	env_cycle(&e, wall_now() + 60);
	T_EQ_INT(e.rec.n, 1);
	env_cycle(&e, wall_now() + 3700);
	T_EQ_INT(rec_count(&e, 1), 1);
	T_CONTAINS(rec_last(&e, 1)->title, "resolved");
	T_EQ_INT(env_int(&e, "SELECT COUNT(*) FROM alerts WHERE state = "
	    "'firing'"), 0);
	env_stop(&e);
}

static void
test_thread_runs_cycles(void)
{
	struct env		 e;
	struct chat_sender	*snd;
	char			*cause = NULL;
	int			 i;

	if (start_cpu(&e, "0s", "") != 0)
		return;
	cpu(&e, "pve2", 0.99);
	/* The monitor thread writes; a sender thread delivers. */
	store_set_outbox_hook(chat_sender_notify);
	snd = chat_sender_start(&e.conn, e.conf->database, &cause);
	T_OK(snd != NULL);
	T_EQ_INT(monitor_start(e.mon, &cause), 0);
	for (i = 0; i < 100; i++) {
		pthread_mutex_lock(&e.rec.lock);
		if (e.rec.n > 0)
			i = 1000;
		pthread_mutex_unlock(&e.rec.lock);
		if (i < 1000)
			sleep_ms(50);
	}
	monitor_stop(e.mon);
	monitor_stop(e.mon);
	chat_sender_free(snd);
	T_EQ_INT(e.rec.n, 1);
	T_CONTAINS(rec_last(&e, 0)->text, "pve2: CPU 99%");
	env_stop(&e);
}

int
main(void)
{
	T_RUN(test_for_holds_spike_fires_once_repeats_resolves);
	T_RUN(test_hysteresis_oscillation_does_not_refire);
	T_RUN(test_grouping_one_message_per_cycle);
	T_RUN(test_restart_keeps_state);
	T_RUN(test_flapping_held_with_one_message);
	T_RUN(test_backup_lock_mutes);
	T_RUN(test_backup_window_mutes);
	T_RUN(test_ack_and_silence_buttons);
	T_RUN(test_silence_from_command_row);
	T_RUN(test_quiet_hours);
	T_RUN(test_quiet_hours_per_room);
	T_RUN(test_resolved_during_quiet_hours_says_nothing);
	T_RUN(test_node_offline_and_quorum_lost);
	T_RUN(test_guest_stopped_outside_pvebot);
	T_RUN(test_overrides_and_exclusions);
	T_RUN(test_no_backup_for_days);
	T_RUN(test_thread_runs_cycles);
	return t_summary();
}
